//! Interoperability both ways with Digital Bazaar's vc library (vectors/interop, made by
//! vectors/interop/gen): their credentials verify in Laurel, and Laurel's verify in theirs.

mod common;

use std::sync::Arc;

use laurel::credential::issue::{build_badge, issue, BadgeRequest};
use laurel::credential::proofs::{Format, Secured};
use laurel::credential::verify::{Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use laurel::keys::{KeyPair, KeyType};

fn verifier() -> Verifier {
    Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default())
}

#[tokio::test]
async fn digital_bazaar_vectors_give_their_expected_results_in_laurel() {
    let dir = common::repo_path("vectors/interop");
    let manifest = common::read_json(&dir.join("MANIFEST.json"));
    let mut checked = 0;
    for entry in manifest["files"].as_array().unwrap() {
        if entry["kind"] != "VerifiableCredential" {
            continue;
        }
        let file = entry["file"].as_str().unwrap();
        let credential = common::read_json(&dir.join(file));
        let report = verifier().verify_value(&credential).await;
        let expected = entry["expected"]["verified"].as_bool().unwrap();
        assert_eq!(report.verified, expected, "{file}: {:#?}", report.errors);
        if !expected {
            assert_eq!(report.errors[0].code, "PROOF_VERIFICATION_ERROR", "{file}");
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} vectors checked");
}

/// Runs Digital Bazaar's verifier (vectors/interop/gen/verify.mjs) on Laurel's credentials.
/// Needs node and `npm ci` in vectors/interop/gen (.ci/run does it); otherwise says SKIP.
#[tokio::test]
async fn laurel_credentials_verify_in_digital_bazaar_vc() {
    let gen = common::repo_path("vectors/interop/gen");
    if !gen.join("node_modules/@digitalbazaar/vc").is_dir() {
        eprintln!(
            "SKIP laurel_credentials_verify_in_digital_bazaar_vc: run `npm ci` in {} first",
            gen.display()
        );
        return;
    }
    let out = std::env::temp_dir().join(format!("laurel-interop-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&out).unwrap();
    let mut files = Vec::new();
    for (format, key_type) in
        [(Format::EddsaRdfc2022, KeyType::Ed25519), (Format::EcdsaRdfc2019, KeyType::P256)]
    {
        let key = KeyPair::generate(key_type).unwrap();
        let mut request = BadgeRequest { achievement_name: "Interop".into(), ..BadgeRequest::default() };
        request.subject_id = Some("did:example:recipient".into());
        request.recipient_email = Some("bob@example.com".into());
        request.issuer_name = Some("Laurel".into());
        let mut unsigned = build_badge(&request);
        // A base direction (VC DM 2.0 §11.1) is signed as the i18n datatype, as jsonld.js does.
        unsigned["name"] = serde_json::json!({"@value": "شارة", "@language": "ar", "@direction": "rtl"});
        let Secured::Json(signed) = issue(unsigned, &key, format).await.unwrap() else { unreachable!() };
        let path = out.join(format!("laurel-{format:?}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&signed).unwrap()).unwrap();
        files.push(path.clone());
        // A tampered copy must fail there too, so the check is not vacuous.
        let mut tampered = signed.clone();
        tampered["credentialSubject"]["achievement"]["name"] = "Forged".into();
        let mut flipped = signed.clone();
        flipped["name"]["@direction"] = "ltr".into();
        for (label, forged) in [("tampered", tampered), ("direction-flipped", flipped)] {
            let forged_path = out.join(format!("laurel-{format:?}-{label}.json"));
            std::fs::write(&forged_path, serde_json::to_vec_pretty(&forged).unwrap()).unwrap();
            let status = std::process::Command::new("node")
                .current_dir(&gen)
                .arg("verify.mjs")
                .arg(&forged_path)
                .output()
                .expect("node runs");
            assert!(!status.status.success(), "{label} {format:?} verified in Digital Bazaar vc");
        }
    }
    let output = std::process::Command::new("node")
        .current_dir(&gen)
        .arg("verify.mjs")
        .args(&files)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "Digital Bazaar vc rejected Laurel's credentials:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.matches("\"verified\":true").count(), files.len(), "{stdout}");
    std::fs::remove_dir_all(out).ok();
}
