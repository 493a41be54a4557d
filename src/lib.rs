//! Laurel: Open Badges 3.0 credentials, issued and verified with DID keys.
//!
//! # Layout
//!
//! Folders by concept, in layers. A module may use modules in its own layer or below, never
//! above, and no two modules may use each other (`tests/architecture.rs` fails on either):
//!
//! | layer | modules | owns |
//! |---|---|---|
//! | 4 edges | [`http`], [`cli`], [`web`] | HTTP(S) routes, auth, limits, problem details; the command line, exit codes, `laurel bench`; the public HTML pages (`http` serves what `web` renders) |
//! | 3 operations | [`service`] | the operations both edges call: issuing, status, keys, profiles, presentations |
//! | 2 domain | [`credential`], [`status`], [`did`], [`program`], [`oid4vci`] | the OB 3.0 model, issuing, proofs, verification, presentations, baking; status lists; DID resolution; badge programs (award conditions, LMS events); OpenID4VCI (metadata, offers, key proofs) |
//! | 1 infrastructure | [`jsonld`], [`fetch`], [`store`] | contexts, expansion, RDFC-1.0; the safe fetcher; persistence |
//! | 0 foundation | [`codec`], [`keys`] | strict, limited JSON and bitstrings; signing keys and their encodings |
//!
//! Within layer 2, `credential` uses `status` and `did`, and `status` uses `did`: a verifier
//! checks status and resolves keys, never the other way round. Types two siblings share live in
//! the lowest module that needs them (`codec::json::JsonLimits`, `codec::bits`,
//! `jsonld::node`), so siblings never import each other.

/// JSON-LD processing is allocation-bound (the json-ld crate clones whole active contexts);
/// mimalloc makes those allocations markedly cheaper than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod cli;
pub mod codec;
pub mod credential;
pub mod did;
pub mod fetch;
pub mod http;
pub mod jsonld;
pub mod keys;
pub mod oid4vci;
pub mod program;
pub mod service;
pub mod status;
pub mod store;
pub mod web;
