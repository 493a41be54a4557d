//! Presentations: a valid one verifies; every way it can be wrong fails with its own code;
//! interop with Digital Bazaar's vc library both ways; embedded endorsements.

mod common;

use std::sync::Arc;

use common::{http_client, temp_data_dir, ServerProcess};
use laurel::credential::issue::{build_badge, issue, BadgeRequest};
use laurel::credential::presentation::{present, ChallengeRegistry, PresentationOptions, PresentationReport};
use laurel::credential::proofs::{Format, SignOptions};
use laurel::credential::verify::{Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use laurel::keys::{KeyPair, KeyType};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn verifier() -> Verifier {
    Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default())
}

fn codes(report: &PresentationReport) -> Vec<&str> {
    report.errors.iter().map(|e| e.code.as_str()).collect()
}

async fn badge_for(issuer: &KeyPair, subject: Option<String>, email: Option<&str>) -> Value {
    let request = BadgeRequest {
        subject_id: subject,
        recipient_email: email.map(str::to_string),
        achievement_name: "Presented".into(),
        ..BadgeRequest::default()
    };
    issue(build_badge(&request), issuer, Format::EddsaRdfc2022).await.unwrap().to_json_value()
}

fn expect(challenge: &str, domain: &str) -> PresentationOptions {
    PresentationOptions {
        challenge: Some(challenge.into()),
        domain: Some(domain.into()),
        recipient_identifier: None,
    }
}

#[tokio::test]
async fn a_valid_presentation_verifies_and_every_fault_has_its_code() {
    let issuer = KeyPair::generate(KeyType::Ed25519).unwrap();
    let holder = KeyPair::generate(KeyType::Ed25519).unwrap();
    let credential = badge_for(&issuer, Some(holder.did()), None).await;
    let vp = present(
        std::slice::from_ref(&credential),
        &holder,
        Some("c-1".into()),
        Some("verifier.example".into()),
    )
    .await
    .unwrap();
    let report = verifier().verify_presentation(&vp, &expect("c-1", "verifier.example"), None).await;
    assert!(report.verified, "{:#?}", report.errors);
    assert_eq!(report.credentials.len(), 1);
    assert!(report.credentials[0].verified);
    assert_eq!(report.holder.as_deref(), Some(holder.did().as_str()));

    // Wrong expectations.
    assert_eq!(
        codes(&verifier().verify_presentation(&vp, &expect("c-2", "verifier.example"), None).await),
        ["INVALID_CHALLENGE_ERROR"]
    );
    assert_eq!(
        codes(&verifier().verify_presentation(&vp, &expect("c-1", "evil.example"), None).await),
        ["INVALID_DOMAIN_ERROR"]
    );
    // The challenge changed after signing: the holder's signature breaks.
    let mut tampered = vp.clone();
    tampered["proof"]["challenge"] = json!("c-2");
    assert_eq!(
        codes(&verifier().verify_presentation(&tampered, &expect("c-2", "verifier.example"), None).await),
        ["PROOF_VERIFICATION_ERROR"]
    );
    // No challenge in the proof at all.
    let unbound = present(std::slice::from_ref(&credential), &holder, None, Some("verifier.example".into()))
        .await
        .unwrap();
    assert_eq!(
        codes(&verifier().verify_presentation(&unbound, &expect("c-1", "verifier.example"), None).await),
        ["INVALID_CHALLENGE_ERROR"]
    );
    // Unsigned.
    let mut unsigned = vp.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    assert_eq!(
        codes(&verifier().verify_presentation(&unsigned, &expect("c-1", "verifier.example"), None).await),
        ["PROOF_VERIFICATION_ERROR"]
    );
    // A forged credential inside a validly signed presentation.
    let mut forged = credential.clone();
    forged["credentialSubject"]["achievement"]["name"] = json!("Forged");
    let vp_forged =
        present(&[forged], &holder, Some("c-1".into()), Some("verifier.example".into())).await.unwrap();
    let report = verifier().verify_presentation(&vp_forged, &expect("c-1", "verifier.example"), None).await;
    assert_eq!(codes(&report), ["CREDENTIAL_VERIFICATION_ERROR"]);
    assert!(!report.credentials[0].verified);
    // A holder who is not the recipient.
    let thief = KeyPair::generate(KeyType::Ed25519).unwrap();
    let vp_thief = present(
        std::slice::from_ref(&credential),
        &thief,
        Some("c-1".into()),
        Some("verifier.example".into()),
    )
    .await
    .unwrap();
    assert_eq!(
        codes(&verifier().verify_presentation(&vp_thief, &expect("c-1", "verifier.example"), None).await),
        ["HOLDER_MISMATCH_ERROR"]
    );
    // Signed by someone other than the named holder.
    let mut other_holder = vp.clone();
    other_holder.as_object_mut().unwrap().remove("proof");
    other_holder["holder"] = json!(thief.did());
    let options = SignOptions {
        proof_purpose: "authentication".into(),
        challenge: Some("c-1".into()),
        domain: Some("verifier.example".into()),
        created: None,
    };
    let resigned =
        Format::EddsaRdfc2022.signer().sign(&other_holder, &holder, &options).await.unwrap().to_json_value();
    assert!(codes(
        &verifier().verify_presentation(&resigned, &expect("c-1", "verifier.example"), None).await
    )
    .contains(&"HOLDER_MISMATCH_ERROR"));
    // A P-256 holder and an assertionMethod proof instead of authentication.
    let ec_holder = KeyPair::generate(KeyType::P256).unwrap();
    let ec_credential = badge_for(&issuer, Some(ec_holder.did()), None).await;
    let ec_vp = present(&[ec_credential], &ec_holder, Some("c-1".into()), Some("verifier.example".into()))
        .await
        .unwrap();
    assert!(verifier().verify_presentation(&ec_vp, &expect("c-1", "verifier.example"), None).await.verified);
    let mut wrong_purpose = vp.clone();
    wrong_purpose.as_object_mut().unwrap().remove("proof");
    let options = SignOptions { proof_purpose: "assertionMethod".into(), ..options };
    let wrong_purpose =
        Format::EddsaRdfc2022.signer().sign(&wrong_purpose, &holder, &options).await.unwrap().to_json_value();
    assert_eq!(
        codes(
            &verifier().verify_presentation(&wrong_purpose, &expect("c-1", "verifier.example"), None).await
        ),
        ["PROOF_VERIFICATION_ERROR"]
    );
}

#[tokio::test]
async fn challenges_are_single_use_and_expire() {
    let issuer = KeyPair::generate(KeyType::Ed25519).unwrap();
    let holder = KeyPair::generate(KeyType::Ed25519).unwrap();
    let credential = badge_for(&issuer, Some(holder.did()), None).await;
    let registry = ChallengeRegistry::new(std::time::Duration::from_secs(60), 10);
    let (challenge, _) = registry.issue().unwrap();
    let vp = present(std::slice::from_ref(&credential), &holder, Some(challenge.clone()), Some("d".into()))
        .await
        .unwrap();
    let options = expect(&challenge, "d");
    assert!(verifier().verify_presentation(&vp, &options, Some(&registry)).await.verified);
    assert_eq!(
        codes(&verifier().verify_presentation(&vp, &options, Some(&registry)).await),
        ["CHALLENGE_REPLAYED"]
    );
    let short = ChallengeRegistry::new(std::time::Duration::from_millis(20), 10);
    let (challenge, _) = short.issue().unwrap();
    let vp = present(std::slice::from_ref(&credential), &holder, Some(challenge.clone()), Some("d".into()))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        codes(&verifier().verify_presentation(&vp, &expect(&challenge, "d"), Some(&short)).await),
        ["CHALLENGE_EXPIRED"]
    );
}

#[tokio::test]
async fn hashed_recipients_are_checked_against_a_supplied_identifier() {
    let issuer = KeyPair::generate(KeyType::Ed25519).unwrap();
    let holder = KeyPair::generate(KeyType::Ed25519).unwrap();
    let credential = badge_for(&issuer, None, Some("bob@example.com")).await;
    let vp = present(&[credential], &holder, Some("c".into()), Some("d".into())).await.unwrap();
    let mut options = expect("c", "d");
    let report = verifier().verify_presentation(&vp, &options, None).await;
    assert!(report.verified && report.warnings.iter().any(|w| w.code == "RECIPIENT_NOT_CHECKED"));
    options.recipient_identifier = Some("bob@example.com".into());
    assert!(verifier().verify_presentation(&vp, &options, None).await.warnings.is_empty());
    options.recipient_identifier = Some("eve@example.com".into());
    assert_eq!(
        codes(&verifier().verify_presentation(&vp, &options, None).await),
        ["RECIPIENT_MISMATCH_ERROR"]
    );
}

#[tokio::test]
async fn digital_bazaar_presentations_verify_in_laurel() {
    let dir = common::repo_path("vectors/interop");
    let manifest = common::read_json(&dir.join("MANIFEST.json"));
    for entry in
        manifest["files"].as_array().unwrap().iter().filter(|e| e["kind"] == "VerifiablePresentation")
    {
        let file = entry["file"].as_str().unwrap();
        let vp = common::read_json(&dir.join(file));
        let options = expect(entry["challenge"].as_str().unwrap(), entry["domain"].as_str().unwrap());
        let report = verifier().verify_presentation(&vp, &options, None).await;
        if file == "vp-eddsa-rdfc-2022.json" {
            // Its badge is issued to did:example:recipient, not to the holder who presents it.
            assert_eq!(codes(&report), ["HOLDER_MISMATCH_ERROR"], "{file}");
            assert!(report.credentials[0].verified);
        } else {
            assert!(report.verified, "{file}: {:#?}", report.errors);
        }
    }
}

#[tokio::test]
async fn laurel_presentations_verify_in_digital_bazaar_vc() {
    let gen = common::repo_path("vectors/interop/gen");
    if !gen.join("node_modules/@digitalbazaar/vc").is_dir() {
        eprintln!("SKIP laurel_presentations_verify_in_digital_bazaar_vc: run `npm ci` in {}", gen.display());
        return;
    }
    let issuer = KeyPair::generate(KeyType::Ed25519).unwrap();
    let holder = KeyPair::generate(KeyType::Ed25519).unwrap();
    let credential = badge_for(&issuer, Some(holder.did()), None).await;
    let vp = present(&[credential], &holder, Some("laurel-challenge".into()), Some("laurel.example".into()))
        .await
        .unwrap();
    let file = temp_data_dir("vp-interop").join("vp.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&vp).unwrap()).unwrap();
    let run = |challenge: &str| {
        std::process::Command::new("node")
            .current_dir(&gen)
            .args([
                "verify.mjs",
                "--challenge",
                challenge,
                "--domain",
                "laurel.example",
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let ok = run("laurel-challenge");
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(!run("other-challenge").status.success(), "Digital Bazaar must refuse the wrong challenge");
}

#[tokio::test]
async fn endorsements_are_verified_and_reported_separately() {
    let issuer = KeyPair::generate(KeyType::Ed25519).unwrap();
    let endorser = KeyPair::generate(KeyType::Ed25519).unwrap();
    let endorsement = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:uuid:0c8b2a32-1111-4c7a-9e01-00000000e001",
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": "Endorsement of the achievement",
        "issuer": {"id": endorser.did(), "type": ["Profile"], "name": "Endorser"},
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "https://example.com/achievements/endorsed", "type": ["EndorsementSubject"], "endorsementComment": "Rigorous."}
    });
    let signed_endorsement =
        issue(endorsement, &endorser, Format::EddsaRdfc2022).await.unwrap().to_json_value();
    let mut badge = build_badge(&BadgeRequest {
        subject_id: Some("did:example:r".into()),
        achievement_name: "Endorsed".into(),
        ..Default::default()
    });
    badge["credentialSubject"]["achievement"]["endorsement"] = json!([signed_endorsement.clone()]);
    let signed = issue(badge.clone(), &issuer, Format::EddsaRdfc2022).await.unwrap().to_json_value();
    let report = verifier().verify_value(&signed).await;
    assert!(report.verified, "{:#?}", report.errors);
    assert_eq!(report.endorsements.len(), 1);
    assert!(report.endorsements[0].verified, "{:#?}", report.endorsements[0].errors);
    // A broken endorsement does not break the badge but is reported.
    let mut broken = signed_endorsement;
    broken["name"] = json!("Changed");
    badge["credentialSubject"]["achievement"]["endorsement"] = json!([broken]);
    let signed = issue(badge, &issuer, Format::EddsaRdfc2022).await.unwrap().to_json_value();
    let report = verifier().verify_value(&signed).await;
    assert!(report.verified);
    assert!(!report.endorsements[0].verified);
    assert!(report.warnings.iter().any(|w| w.code == "ENDORSEMENT_INVALID"));
}

#[tokio::test]
async fn the_service_issues_challenges_and_refuses_replays_and_revoked_credentials() {
    let data = temp_data_dir("vp-server");
    let server = ServerProcess::start(&data, &["--admin-token", "t"]);
    let client = http_client();
    let holder = KeyPair::generate(KeyType::Ed25519).unwrap();
    let issued: Value = client
        .post(format!("{}/credentials/issue", server.base))
        .bearer_auth("t")
        .json(&json!({"credential": {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:example:vp-1", "type": ["VerifiableCredential"], "issuer": {}, "credentialSubject": {"id": holder.did()}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential = issued["verifiableCredential"].clone();
    let challenge: Value =
        client.post(format!("{}/challenges", server.base)).send().await.unwrap().json().await.unwrap();
    let challenge = challenge["challenge"].as_str().unwrap().to_string();
    let vp = present(
        std::slice::from_ref(&credential),
        &holder,
        Some(challenge.clone()),
        Some("laurel.test".into()),
    )
    .await
    .unwrap();
    let body =
        json!({"verifiablePresentation": vp, "options": {"challenge": challenge, "domain": "laurel.test"}});
    let verify = |body: Value| {
        let client = client.clone();
        let url = format!("{}/presentations/verify", server.base);
        async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (status, report) = verify(body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["errors"], json!([]));
    let (status, report) = verify(body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(report["errors"][0]["code"], json!("CHALLENGE_REPLAYED"));
    // Revoke, then present again with a new challenge.
    let revoke = json!({"credentialId": "urn:example:vp-1", "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}, "status": true});
    assert_eq!(
        client
            .post(format!("{}/credentials/status", server.base))
            .bearer_auth("t")
            .json(&revoke)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let challenge: Value =
        client.post(format!("{}/challenges", server.base)).send().await.unwrap().json().await.unwrap();
    let challenge = challenge["challenge"].as_str().unwrap().to_string();
    let vp = present(&[credential], &holder, Some(challenge.clone()), None).await.unwrap();
    let (status, report) =
        verify(json!({"verifiablePresentation": vp, "options": {"challenge": challenge}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(report["errors"][0]["code"], json!("REVOKED"), "{report}");
    assert_eq!(report["credentials"][0]["verified"], json!(false));
    // Bad shapes.
    let (status, _) = verify(json!({"verifiablePresentation": 5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = verify(json!({"options": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[test]
fn cli_present_and_verify() {
    let data = temp_data_dir("vp-cli");
    let laurel = |args: &[&str]| common::laurel_cli(&data, args);
    assert!(laurel(&["key", "new", "--name", "school"]).status.success());
    let out = laurel(&["key", "new", "--name", "holder"]);
    let holder_did = String::from_utf8_lossy(&out.stdout).split('\t').nth(2).unwrap().trim().to_string();
    let cred = data.join("cred.json");
    assert!(laurel(&[
        "issue",
        "--key",
        "issuer",
        "--achievement",
        "CLI VP",
        "--subject",
        &holder_did,
        "-o",
        cred.to_str().unwrap()
    ])
    .status
    .success());
    let vp = data.join("vp.json");
    let out = laurel(&[
        "present",
        "--holder",
        "holder",
        "--challenge",
        "abc",
        "--domain",
        "d.example",
        "-o",
        vp.to_str().unwrap(),
        cred.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        laurel(&["verify", vp.to_str().unwrap(), "--challenge", "abc", "--domain", "d.example"])
            .status
            .code(),
        Some(0)
    );
    let out =
        laurel(&["verify", vp.to_str().unwrap(), "--challenge", "xyz", "--domain", "d.example", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["errors"][0]["code"], json!("INVALID_CHALLENGE_ERROR"));
}
