//! Laurel: Open Badges 3.0 credentials, issued and verified with DID keys.

pub mod baking;
pub mod bench;
pub mod canon;
pub mod cli;
pub mod contexts;
pub mod dids;
pub mod fetch;
pub mod issue;
pub mod jsonld;
pub mod keys;
pub mod model;
pub mod presentation;
pub mod proofs;
pub mod server;
pub mod service;
pub mod status;
pub mod store;
pub mod verify;
