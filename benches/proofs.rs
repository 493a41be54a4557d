//! Sign and verify of the typical OB credential in each proof format, plus the JSON-LD steps.
//! `cargo bench --bench proofs`; medians are criterion's middle estimate.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use laurel::cli::bench::{typical_credential, FORMATS};
use laurel::credential::proofs::Format;
use laurel::credential::verify::{Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use laurel::keys::{KeyPair, KeyType};

fn bench_formats(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let verifier = Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default());
    // "(json-ld crate)" rows: the same operation with Laurel's expansion switched off, i.e. the
    // path before it existed (context cache and mimalloc included).
    for ((name, format, key_type), fast) in FORMATS.into_iter().flat_map(|c| [(c, true), (c, false)]) {
        if !fast && format == Format::Jwt {
            continue;
        }
        laurel::jsonld::set_fast_path(fast);
        let name = if fast { name.to_string() } else { format!("{name} (json-ld crate)") };
        let key = KeyPair::generate(key_type).unwrap();
        let credential = typical_credential(&key);
        let signer = format.signer();
        let options = laurel::credential::proofs::SignOptions::default();
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
    laurel::jsonld::set_fast_path(true);
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let credential = typical_credential(&key);
    c.bench_function("json-ld expansion + toRdf", |b| {
        b.iter(|| laurel::jsonld::fast_quads(&credential).unwrap())
    });
    c.bench_function("json-ld expansion + toRdf (json-ld crate)", |b| {
        b.iter(|| rt.block_on(laurel::jsonld::reference_quads(&credential)).unwrap())
    });
    let quads = laurel::jsonld::fast_quads(&credential).unwrap();
    c.bench_function("rdfc-1.0 canonicalization", |b| {
        b.iter(|| {
            laurel::jsonld::canon::canonicalize(&quads, laurel::jsonld::canon::Limits::default()).unwrap()
        })
    });
    bench_raw_signatures(c);
}

/// The signature primitives alone: the floor a proof's cost is compared against.
fn bench_raw_signatures(c: &mut Criterion) {
    use p256::ecdsa::signature::{Signer, Verifier as _};
    let message = [7u8; 64];
    let ed_key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let ed_signature = ed_key.sign(&message);
    let ed_public = ed_key.verifying_key();
    c.bench_function("ed25519 sign alone", |b| b.iter(|| ed_key.sign(&message)));
    c.bench_function("ed25519 verify alone", |b| {
        b.iter(|| ed_public.verify_strict(&message, &ed_signature).unwrap())
    });
    let p256_key = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
    let p256_signature: p256::ecdsa::Signature = p256_key.sign(&message);
    let p256_public = *p256_key.verifying_key();
    c.bench_function("p-256 sign alone", |b| {
        b.iter(|| -> p256::ecdsa::Signature { p256_key.sign(&message) })
    });
    c.bench_function("p-256 verify alone", |b| {
        b.iter(|| p256_public.verify(&message, &p256_signature).unwrap())
    });
}

criterion_group!(benches, bench_formats);
criterion_main!(benches);
