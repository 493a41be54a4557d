//! Baseline: what stock `ssi` 0.16 takes to sign and verify a Data Integrity
//! `eddsa-rdfc-2022` proof over a typical Open Badges 3.0 credential.
//!
//! Run with `cargo bench --bench ssi_baseline`.

use std::collections::HashMap;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ssi::claims::data_integrity::{AnySuite, CryptographicSuite, ProofOptions};
use ssi::claims::vc::v2::JsonCredential;
use ssi::claims::{SignatureEnvironment, VerificationParameters};
use ssi::dids::{DIDKey, VerificationMethodDIDResolver};
use ssi::json_ld::ContextLoader;
use ssi::jwk::{Base64urlUInt, OctetParams, Params};
use ssi::verification_methods::{AnyMethod, SingleSecretSigner};
use ssi::JWK;

const TYPICAL_CREDENTIAL: &str = include_str!("typical-credential.json");

/// Laurel's bundled contexts (see contexts/SOURCES.md). ssi's static loader is
/// consulted first, so only the ones it lacks (OB 3.0.x, extensions, status
/// list v1, citizenship v4rc1) are actually served from here.
const BUNDLED_CONTEXTS: &[(&str, &str)] = &[
    ("https://www.w3.org/2018/credentials/v1", include_str!("../contexts/credentials-v1.jsonld")),
    ("https://www.w3.org/ns/credentials/v2", include_str!("../contexts/credentials-v2.jsonld")),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        include_str!("../contexts/ob-context-3.0.0.json"),
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        include_str!("../contexts/ob-context-3.0.1.json"),
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        include_str!("../contexts/ob-context-3.0.2.json"),
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        include_str!("../contexts/ob-context-3.0.3.json"),
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        include_str!("../contexts/ob-extensions.json"),
    ),
    ("https://w3id.org/security/data-integrity/v1", include_str!("../contexts/data-integrity-v1.jsonld")),
    ("https://w3id.org/security/data-integrity/v2", include_str!("../contexts/data-integrity-v2.jsonld")),
    (
        "https://www.w3.org/ns/credentials/status/v1",
        include_str!("../contexts/bitstring-status-list-v1.jsonld"),
    ),
    (
        "https://w3id.org/security/suites/ed25519-2020/v1",
        include_str!("../contexts/ed25519-signature-2020-v1.jsonld"),
    ),
    ("https://w3id.org/security/multikey/v1", include_str!("../contexts/multikey-v1.jsonld")),
    ("https://www.w3.org/ns/did/v1", include_str!("../contexts/did-v1.jsonld")),
    ("https://w3id.org/security/v1", include_str!("../contexts/security-v1.jsonld")),
    ("https://w3id.org/security/v2", include_str!("../contexts/security-v2.jsonld")),
    ("https://w3id.org/citizenship/v4rc1", include_str!("../contexts/citizenship-v4rc1.jsonld")),
];

fn context_loader() -> ContextLoader {
    let map: HashMap<String, String> =
        BUNDLED_CONTEXTS.iter().map(|(url, doc)| (url.to_string(), doc.to_string())).collect();
    ContextLoader::empty().with_static_loader().with_context_map_from(map).expect("bundled contexts parse")
}

/// Ed25519 key from a fixed 32-byte seed, as an ssi JWK.
fn fixed_ed25519_jwk() -> JWK {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    JWK::from(Params::OKP(OctetParams {
        curve: "Ed25519".to_string(),
        public_key: Base64urlUInt(sk.verifying_key().to_bytes().to_vec()),
        private_key: Some(Base64urlUInt(sk.to_bytes().to_vec())),
    }))
}

fn bench_ssi(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    let jwk = fixed_ed25519_jwk();
    let vm_url = DIDKey::generate_url(&jwk).expect("did:key URL");
    let did = vm_url.did().to_string();

    let mut doc: serde_json::Value = serde_json::from_str(TYPICAL_CREDENTIAL).unwrap();
    doc["issuer"]["id"] = serde_json::Value::String(did);
    let credential: JsonCredential = serde_json::from_value(doc).expect("credential parses");

    let loader = context_loader();
    let resolver = VerificationMethodDIDResolver::<_, AnyMethod>::new(DIDKey);
    let signer = SingleSecretSigner::new(jwk).into_local();
    let options = ProofOptions::from_method(vm_url.into_iri().into());
    let suite = AnySuite::EdDsaRdfc2022;

    let sign = |vc: JsonCredential| {
        suite.sign_with(
            SignatureEnvironment { json_ld_loader: &loader, eip712_loader: () },
            vc,
            &resolver,
            &signer,
            options.clone(),
            Default::default(),
        )
    };

    let signed = rt.block_on(sign(credential.clone())).expect("signing");
    let params = VerificationParameters::from_resolver(&resolver).with_json_ld_loader(&loader);

    // Guard: never benchmark a failing path.
    let outcome = rt.block_on(signed.verify(&params)).expect("verification ran");
    assert!(outcome.is_ok(), "proof invalid: {outcome:?}");
    let signed_json = serde_json::to_value(&signed).unwrap();
    assert_eq!(signed_json["proof"]["cryptosuite"], "eddsa-rdfc-2022");

    c.bench_function("ssi/eddsa-rdfc-2022 sign", |b| {
        b.iter_batched(|| credential.clone(), |vc| rt.block_on(sign(vc)).unwrap(), BatchSize::SmallInput)
    });

    c.bench_function("ssi/eddsa-rdfc-2022 verify", |b| {
        b.iter(|| rt.block_on(signed.verify(&params)).unwrap().unwrap())
    });
}

criterion_group!(benches, bench_ssi);
criterion_main!(benches);
