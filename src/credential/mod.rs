//! Credentials: the Open Badges 3.0 model, issuing, proof formats, verification, presentations
//! and baked badges.
//!
//! Owns: the typed model and its structural checks ([`model`]); building and signing a badge
//! ([`issue`]); the proof formats, Data Integrity and JWT ([`proofs`]); what a signature covers
//! ([`signed`]); the verifier and its report ([`verify`]); related resources' digests
//! ([`related`]); trust registries listing issuers ([`registry`]); presentations ([`presentation`]);
//! baking into PNG/SVG ([`baking`]) and the images generated for badges without one
//! ([`badge_image`]).
//! May use: `status` (a verifier checks `credentialStatus`), `did` (keys come from DID
//! documents), `jsonld`, `keys`, `codec`. Used by: `service` and the edges. Nothing
//! below may use it: shared shapes go down (`jsonld::node`, `codec::json`).

pub mod badge_image;
pub mod baking;
pub mod issue;
pub mod model;
pub mod presentation;
pub mod proofs;
pub mod registry;
pub mod related;
pub mod signed;
pub mod verify;
