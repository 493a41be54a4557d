//! Byte-level encodings every layer shares, with no knowledge of credentials.
//!
//! Owns: strict JSON parsing (duplicate keys refused) with size and depth caps
//! ([`json::JsonLimits`]), telling a compact JWS from JSON, and the big-endian bitstring of status lists ([`bits`]).
//! May use: nothing in the crate. Used by: everything above (`fetch` and `credential` parse
//! untrusted JSON with the same caps; `store` and `status` read and write the same bits).

pub mod bits;
pub mod json;

/// Whether `text` has the shape of a compact JWS (three base64url parts): how a document that
/// is not JSON (a JWT-secured credential or status list) is told from garbage.
pub fn looks_like_compact_jws(text: &str) -> bool {
    let text = text.trim();
    text.split('.').count() == 3
        && !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}
