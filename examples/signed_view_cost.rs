//! What the signed-data check (`signed::disagreements`) costs on the benchmark credential, next
//! to the expansion it reads and a whole verification: the check must stay a small share.
use std::sync::Arc;
use std::time::Instant;

use laurel::credential::proofs::{Format, SignOptions};
use laurel::credential::verify::{Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use laurel::keys::{KeyPair, KeyType};
use serde_json::json;

fn median_us(mut run: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..500)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let mut credential: serde_json::Value =
        serde_json::from_str(laurel::cli::bench::TYPICAL_CREDENTIAL).unwrap();
    credential["issuer"]["id"] = json!(key.did());
    let signed = rt
        .block_on(Format::EddsaRdfc2022.signer().sign(&credential, &key, &SignOptions::default()))
        .unwrap()
        .to_json_value();
    let mut unsecured = signed.clone();
    unsecured.as_object_mut().unwrap().remove("proof");
    let quads = rt.block_on(laurel::jsonld::to_quads(&unsecured)).unwrap();
    let verifier = Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default());
    assert!(rt.block_on(verifier.verify_value(&signed)).verified);
    let check = median_us(|| {
        assert!(laurel::credential::signed::disagreements(
            &signed,
            &quads,
            laurel::credential::signed::TopLevel::Credential
        )
        .is_empty())
    });
    let expand = median_us(|| {
        rt.block_on(laurel::jsonld::to_quads(&unsecured)).unwrap();
    });
    let verify = median_us(|| {
        rt.block_on(verifier.verify_value(&signed));
    });
    println!("signed-data check: median {check:.1} us ({} quads)", quads.len());
    println!("expansion to quads: median {expand:.1} us");
    println!("whole verification: median {verify:.1} us (check = {:.1}% of it)", 100.0 * check / verify);
}
