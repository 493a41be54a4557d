//! Laurel: Open Badges 3.0 credentials, issued and verified with DID keys.

pub mod canon;
pub mod contexts;
pub mod jsonld;
pub mod keys;
pub mod dids;
pub mod model;
pub mod proofs;
pub mod verify;
pub mod issue;
