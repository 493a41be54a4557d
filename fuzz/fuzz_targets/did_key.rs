//! Multibase base58btc and base64url decoding through DID resolution: did:key (and the same text
//! as a Multikey or publicKeyBase58 verification method) and did:jwk.
#![no_main]

use laurel::did::{method_public_key, resolve_computed, KeyFormat};
use laurel::keys::PublicKey;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let key = PublicKey::from_multikey(text);
    if let Ok(key) = &key {
        assert_eq!(key.to_multikey().as_deref(), Some(text));
    }
    for format in [KeyFormat::Multikey, KeyFormat::JsonWebKey2020, KeyFormat::Ed25519VerificationKey2020] {
        if resolve_computed(&format!("did:key:{text}"), format).is_ok() {
            assert!(key.is_ok());
        }
    }
    let _ = resolve_computed(&format!("did:jwk:{text}"), KeyFormat::Multikey);
    let _ = method_public_key(&json!({"id": "did:example:1#k", "publicKeyBase58": text}));
});
