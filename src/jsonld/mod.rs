//! JSON-LD: from a compacted JSON document to RDF quads, and RDF Dataset Canonicalization.
//!
//! Owns: the bundled contexts and the offline loader that serves only them ([`contexts`]); the
//! fast expansion path ([`expand`]); the bridge to the json-ld crate, which is the reference the
//! fast path falls back to and is checked against ([`reference`]); RDFC-1.0 with a work bound
//! ([`canon`]); shape rules for compacted nodes read without expanding ([`node`]).
//! May use: `codec`. Used by: `did`, `status`, `credential`, `service`. It never fetches: a
//! context that is not bundled is an error, not a network request.

pub mod canon;
pub mod contexts;
pub mod expand;
pub mod node;
pub mod reference;

pub use reference::{
    canonical_nquads, fast_path_enabled, fast_quads, reference_quads, set_fast_path, to_quads, JsonLdError,
};
