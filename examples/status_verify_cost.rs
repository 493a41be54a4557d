//! Verification cost of a credential with a Bitstring Status List entry (list pinned), against the
//! same credential's proof alone: how much the status check adds.
use std::sync::Arc;
use std::time::Instant;

use laurel::credential::proofs::{Format, SignOptions};
use laurel::credential::verify::{Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use laurel::keys::{KeyPair, KeyType};
use serde_json::json;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let url = "https://status.example/lists/1";
    let sign = |doc: serde_json::Value| {
        rt.block_on(Format::EddsaRdfc2022.signer().sign(&doc, &key, &SignOptions::default()))
            .unwrap()
            .to_json_value()
    };
    let bits = vec![0u8; laurel::status::MIN_LIST_ENTRIES / 8];
    let list = sign(laurel::status::list_credential(url, &key.did(), "revocation", &bits, 300_000));
    let mut credential: serde_json::Value =
        serde_json::from_str(laurel::cli::bench::TYPICAL_CREDENTIAL).unwrap();
    credential["issuer"]["id"] = json!(key.did());
    let plain = sign(credential.clone());
    credential["credentialStatus"] = json!({"id": format!("{url}#5"), "type": "BitstringStatusListEntry", "statusPurpose": "revocation", "statusListIndex": "5", "statusListCredential": url});
    let with_status = sign(credential);
    let mut resolver = LocalResolver::default();
    resolver.pinned.insert(url, list);
    let verifier = Verifier::new(Arc::new(resolver), VerifyOptions::default());
    for (name, doc) in [("without status", &plain), ("with status", &with_status)] {
        assert!(rt.block_on(verifier.verify_value(doc)).verified);
        let mut samples = Vec::new();
        for _ in 0..300 {
            let start = Instant::now();
            rt.block_on(verifier.verify_value(doc));
            samples.push(start.elapsed().as_secs_f64() * 1e6);
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        println!("verify {name}: median {:.0} us", samples[150]);
    }
}
