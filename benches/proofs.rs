//! Sign and verify of the typical OB credential in each proof format, plus the JSON-LD steps.
//! `cargo bench --bench proofs`; medians are criterion's middle estimate.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use laurel::dids::LocalResolver;
use laurel::keys::{KeyPair, KeyType};
use laurel::proofs::Format;
use laurel::verify::{Verifier, VerifyOptions};
use serde_json::Value;

fn typical_credential(key: &KeyPair) -> Value {
    let mut credential: Value = serde_json::from_str(include_str!("typical-credential.json")).unwrap();
    credential["issuer"]["id"] = Value::String(key.did());
    credential
}

fn bench_formats(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let verifier = Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default());
    let cases = [
        ("eddsa-rdfc-2022", Format::EddsaRdfc2022, KeyType::Ed25519),
        ("ecdsa-rdfc-2019", Format::EcdsaRdfc2019, KeyType::P256),
        ("jwt-eddsa", Format::Jwt, KeyType::Ed25519),
        ("jwt-es256", Format::Jwt, KeyType::P256),
        ("jwt-rs256", Format::Jwt, KeyType::Rsa),
    ];
    for (name, format, key_type) in cases {
        let key = KeyPair::generate(key_type).unwrap();
        let credential = typical_credential(&key);
        let signer = format.signer();
        let options = laurel::proofs::SignOptions::default();
        let signed = rt.block_on(signer.sign(&credential, &key, &options)).unwrap().to_json_value();
        assert!(
            rt.block_on(verifier.verify_value(&signed)).verified,
            "{name} must verify before it is measured"
        );
        c.bench_function(&format!("{name} sign"), |b| {
            b.iter(|| rt.block_on(signer.sign(&credential, &key, &options)).unwrap())
        });
        c.bench_function(&format!("{name} verify"), |b| {
            b.iter(|| {
                let report = rt.block_on(verifier.verify_value(&signed));
                assert!(report.verified);
            })
        });
    }
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let credential = typical_credential(&key);
    c.bench_function("json-ld expansion + toRdf", |b| {
        b.iter(|| rt.block_on(laurel::jsonld::to_quads(&credential)).unwrap())
    });
    let quads = rt.block_on(laurel::jsonld::to_quads(&credential)).unwrap();
    c.bench_function("rdfc-1.0 canonicalization", |b| {
        b.iter(|| laurel::canon::canonicalize(&quads, laurel::canon::Limits::default()).unwrap())
    });
    let message = [7u8; 64];
    c.bench_function("ed25519 signature alone", |b| b.iter(|| key.sign_raw(&message).unwrap()));
}

criterion_group!(benches, bench_formats);
criterion_main!(benches);
