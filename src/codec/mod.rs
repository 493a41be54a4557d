//! Byte-level encodings every layer shares, with no knowledge of credentials.
//!
//! Owns: strict JSON parsing (duplicate keys refused) with size and depth caps
//! ([`json::JsonLimits`]), and the big-endian bitstring of status lists ([`bits`]).
//! May use: nothing in the crate. Used by: everything above (`fetch` and `credential` parse
//! untrusted JSON with the same caps; `store` and `status` read and write the same bits).

pub mod bits;
pub mod json;
