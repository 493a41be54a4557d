//! `proofs::decode_jwt` on untrusted tokens: the raw input as a token, and (so the fuzzer reaches
//! the JSON and header checks) the input split at NUL bytes into header, payload and signature,
//! each base64url-encoded.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        if let Ok(decoded) = laurel::credential::proofs::decode_jwt(token, "vc") {
            assert!(matches!(decoded.alg(), "EdDSA" | "ES256" | "RS256"));
            let _ = decoded.claim_mismatches();
        }
    }
    let parts: Vec<String> = data.splitn(3, |&b| b == 0).map(|part| B64URL.encode(part)).collect();
    if let Ok(decoded) = laurel::credential::proofs::decode_jwt(&parts.join("."), "vc") {
        assert!(matches!(decoded.alg(), "EdDSA" | "ES256" | "RS256"));
        let _ = decoded.claim_mismatches();
    }
});
