//! The 1EdTech validator fixtures in ../shared/spec: what verifies offline, and the exact reason
//! for what does not.

mod common;

use std::sync::Arc;

use laurel::credential::verify::{Report, Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use serde_json::json;

async fn verify_with(resolver: LocalResolver, path: &std::path::Path) -> Report {
    let bytes = std::fs::read(path).unwrap();
    Verifier::new(Arc::new(resolver), VerifyOptions::default()).verify_bytes(&bytes).await
}

fn codes(report: &Report) -> Vec<&str> {
    report.errors.iter().map(|e| e.code.as_str()).collect()
}

/// The issuer profile the fixtures' https key URL points at, rebuilt from the OB test vector's
/// published public key (see shared/spec/SOURCES.md) and pinned, as `--preload` does.
fn pinned_issuer_profile() -> LocalResolver {
    let mut resolver = LocalResolver::default();
    resolver.pinned.insert(
        "https://example.com/issuers/876543",
        json!({
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": "https://example.com/issuers/876543",
            "verificationMethod": [{
                "id": "https://example.com/issuers/876543#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi",
                "type": "Multikey",
                "controller": "https://example.com/issuers/876543",
                "publicKeyMultibase": "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
            }],
            "assertionMethod": ["https://example.com/issuers/876543#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"]
        }),
    );
    resolver
}

#[tokio::test]
async fn https_key_fixtures_say_why_they_cannot_verify_offline() {
    let Some(spec) = common::spec_dir("https_key_fixtures_say_why_they_cannot_verify_offline") else {
        return;
    };
    let dir = spec.join("ob-v3p0/examples-validator");
    for name in ["simple.json", "simple-eddsa-2022.json"] {
        let report = verify_with(LocalResolver::default(), &dir.join(name)).await;
        assert!(!report.verified, "{name}");
        assert_eq!(codes(&report), ["PROOF_VERIFICATION_ERROR"], "{name}: {:#?}", report.errors);
        assert!(
            report.errors[0]
                .detail
                .contains("https://example.com/issuers/876543 could not be fetched offline"),
            "{name}: {}",
            report.errors[0].detail
        );
    }
}

#[tokio::test]
async fn https_key_fixtures_verify_once_the_issuer_profile_is_pinned() {
    let Some(spec) = common::spec_dir("https_key_fixtures_verify_once_the_issuer_profile_is_pinned") else {
        return;
    };
    let dir = spec.join("ob-v3p0/examples-validator");
    let report = verify_with(pinned_issuer_profile(), &dir.join("simple.json")).await;
    assert!(report.verified, "{:#?}", report.errors);
    // VC DM 1.1 + deprecated "eddsa-2022" name: valid, with warnings (as the 1EdTech validator says).
    let report = verify_with(pinned_issuer_profile(), &dir.join("simple-eddsa-2022.json")).await;
    assert!(report.verified, "{:#?}", report.errors);
    assert!(report.warnings.iter().any(|w| w.detail.contains("eddsa-2022")));
    // Exactly one error: the second proof's unknown type.
    let report = verify_with(pinned_issuer_profile(), &dir.join("simple-multiple-proofs.json")).await;
    assert_eq!(codes(&report), ["PROOF_VERIFICATION_ERROR"], "{:#?}", report.errors);
    assert!(report.errors[0].detail.contains("SomeProofType"));
}

#[tokio::test]
async fn did_key_fixture_signature_verifies_but_its_issuer_is_not_the_signer() {
    let Some(spec) = common::spec_dir("did_key_fixture_signature_verifies_but_its_issuer_is_not_the_signer")
    else {
        return;
    };
    // simple-did-key-method.json is signed by did:key:z6MkjZRZ... but names urn:uuid:... as its
    // issuer. The signature is good; Laurel refuses the credential because nothing binds that
    // key to that issuer (the 1EdTech validator does not check this).
    let report = verify_with(
        LocalResolver::default(),
        &spec.join("ob-v3p0/examples-validator/simple-did-key-method.json"),
    )
    .await;
    assert_eq!(codes(&report), ["ISSUER_MISMATCH_ERROR"], "{:#?}", report.errors);
    assert_eq!(report.proofs.len(), 1, "the proof itself verified");
}

#[tokio::test]
async fn fixtures_without_a_usable_proof_fail_clearly() {
    let Some(spec) = common::spec_dir("fixtures_without_a_usable_proof_fail_clearly") else {
        return;
    };
    let dir = spec.join("ob-v3p0/examples-validator");
    let report = verify_with(LocalResolver::default(), &dir.join("simple-noproof.json")).await;
    assert!(report.errors.iter().any(|e| e.detail.contains("no proof")), "{:#?}", report.errors);
    // simple.jwt: a VC-JWT 1.1 whose issuer is an https URL and whose context is a pre-release
    // OB URL that is not bundled.
    let report = verify_with(LocalResolver::default(), &dir.join("simple.jwt")).await;
    assert!(!report.verified);
    assert!(report.errors.iter().any(|e| e.detail.contains("imsglobal.github.io")), "{:#?}", report.errors);
}

#[tokio::test]
async fn endorsement_fixture_is_checked_as_an_endorsement() {
    let Some(spec) = common::spec_dir("endorsement_fixture_is_checked_as_an_endorsement") else {
        return;
    };
    let report = verify_with(
        LocalResolver::default(),
        &spec.join("ob-v3p0/examples-validator/endorsement-valid.json"),
    )
    .await;
    // Its key is an https URL: the failure must be resolution, not schema.
    assert!(report.errors.iter().all(|e| e.code != "MALFORMED_VALUE_ERROR"), "{:#?}", report.errors);
    // ...and there is one: without it this test could pass on a report with no errors at all.
    assert!(
        report.errors.iter().any(|e| e.detail.contains("could not be fetched offline")),
        "{:#?}",
        report.errors
    );
}
