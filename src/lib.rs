//! Laurel: Open Badges 3.0 credentials, issued and verified with DID keys.

/// JSON-LD processing is allocation-bound (the json-ld crate clones whole active contexts);
/// mimalloc makes those allocations markedly cheaper than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod baking;
pub mod bench;
pub mod canon;
pub mod cli;
pub mod connections;
pub mod contexts;
pub mod dids;
pub mod expand;
pub mod fetch;
pub mod issue;
pub mod jsonld;
pub mod keys;
pub mod model;
pub mod presentation;
pub mod proofs;
pub mod server;
pub mod service;
pub mod signed;
pub mod status;
pub mod store;
pub mod strict_json;
pub mod verify;
