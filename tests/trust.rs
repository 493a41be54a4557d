//! Issuer and holder binding: a key speaks for an issuer (or a holder) only when the issuer's
//! own controller document lists it, under `assertionMethod` (or `authentication`), with the
//! document's id as its controller. The forged inputs are built with Laurel's own signing code
//! and checked through the real `laurel verify --offline`, the attacker's documents pinned with
//! `--preload` exactly as a verifier that fetched them would see them.

mod common;

use std::path::PathBuf;

use laurel::credential::issue::{build_badge, complete, BadgeRequest};
use laurel::credential::proofs::{Format, SignOptions};
use laurel::keys::{KeyPair, KeyType};
use serde_json::{json, Value};

const ATTACKER_KEY_DOC: &str = "https://attacker.example/keys/1";
const ATTACKER_METHOD: &str = "https://attacker.example/keys/1#k";
const ATTACKER_DID: &str = "did:web:attacker.example";
const ATTACKER_DID_URL: &str = "https://attacker.example/.well-known/did.json";

/// A scratch folder for one test: the data folder, the credential and the pinned documents.
struct Scratch {
    dir: PathBuf,
    files: usize,
}

impl Scratch {
    fn new(tag: &str) -> Scratch {
        Scratch { dir: common::temp_data_dir(tag), files: 0 }
    }

    fn write(&mut self, content: &str) -> PathBuf {
        self.files += 1;
        let path = self.dir.join(format!("input-{}.json", self.files));
        std::fs::write(&path, content).unwrap();
        path
    }

    /// `laurel verify --offline --json` of `input` with `pins` preloaded: exit code and report.
    fn verify(&mut self, input: &Value, pins: &[(&str, &Value)]) -> (Option<i32>, Value) {
        let text = match input {
            Value::String(jwt) => jwt.clone(),
            other => other.to_string(),
        };
        let input = self.write(&text);
        let mut args =
            vec!["verify".to_string(), input.display().to_string(), "--offline".into(), "--json".into()];
        for (url, document) in pins {
            let file = self.write(&document.to_string());
            args.push("--preload".into());
            args.push(format!("{url}={}", file.display()));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = common::laurel_cli(&self.dir, &args);
        let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code(), report)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn codes(report: &Value) -> Vec<String> {
    report["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_string()).collect()
}

fn details(report: &Value) -> String {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts the forged credential is refused, and for the reason that matters: the key is not
/// the issuer's (refused when dereferenced, or refused when bound to the issuer).
fn assert_forgery_refused(case: &str, exit: Option<i32>, report: &Value) {
    assert_eq!(report["verified"], json!(false), "{case}: a forged issuer verified: {report:#}");
    assert_eq!(exit, Some(1), "{case}: {report:#}");
    let codes = codes(report);
    assert!(
        codes.iter().any(|c| c == "ISSUER_MISMATCH_ERROR" || c == "PROOF_VERIFICATION_ERROR"),
        "{case}: {codes:?}"
    );
    assert!(
        !codes.iter().any(|c| c == "PARSING_ERROR" || c == "MALFORMED_VALUE_ERROR"),
        "{case}: refused for the wrong reason: {report:#}"
    );
}

/// An unsigned Open Badge naming `issuer`.
fn badge_from(issuer: &str, subject: &str) -> Value {
    let mut credential = build_badge(&BadgeRequest {
        subject_id: Some(subject.to_string()),
        achievement_name: "Trusted".into(),
        issuer_name: Some("Victim University".into()),
        ..BadgeRequest::default()
    });
    complete(&mut credential, issuer);
    credential
}

/// Signs `credential` with `key` in `format`, naming the verification method `method` (the
/// library's signers take it from the key's identity).
async fn sign_as(credential: &Value, key: &KeyPair, method: &str, format: Format) -> Value {
    let issuer = laurel::credential::model::issuer_id(credential).unwrap();
    let key = key.clone().with_identity(issuer, method);
    format.signer().sign(credential, &key, &SignOptions::default()).await.unwrap().to_json_value()
}

fn multikey_method(id: &str, controller: &str, key: &KeyPair) -> Value {
    json!({"id": id, "type": "Multikey", "controller": controller, "publicKeyMultibase": key.public_key().to_multikey().unwrap()})
}

fn ed25519() -> KeyPair {
    KeyPair::generate(KeyType::Ed25519).unwrap()
}

const FORMATS: [Format; 2] = [Format::Jwt, Format::EddsaRdfc2022];

/// (a) A JWT whose kid names the attacker's key, in a key document claiming the victim's
/// did:key as its controller.
#[tokio::test]
async fn jwt_kid_in_a_key_document_claiming_the_victim_as_controller_is_not_the_issuers() {
    key_document_claiming_the_victim(Format::Jwt).await;
}

/// (b) The same with a Data Integrity proof (eddsa-rdfc-2022).
#[tokio::test]
async fn data_integrity_key_in_a_key_document_claiming_the_victim_as_controller_is_not_the_issuers() {
    key_document_claiming_the_victim(Format::EddsaRdfc2022).await;
}

async fn key_document_claiming_the_victim(format: Format) {
    let victim = ed25519().did();
    let attacker = ed25519();
    let mut scratch = Scratch::new("trust-keydoc");
    let method = multikey_method(ATTACKER_METHOD, &victim, &attacker);
    let key_documents = [
        // Exactly the document of the report: no relationship lists.
        json!({"id": ATTACKER_KEY_DOC, "verificationMethod": [method]}),
        // The same, listing the key under assertionMethod.
        json!({"id": ATTACKER_KEY_DOC, "verificationMethod": [method], "assertionMethod": [ATTACKER_METHOD]}),
        // A document served at the attacker's URL that calls itself the victim's.
        json!({"id": victim, "verificationMethod": [method], "assertionMethod": [ATTACKER_METHOD]}),
    ];
    let forged =
        sign_as(&badge_from(&victim, "did:example:learner"), &attacker, ATTACKER_METHOD, format).await;
    if format == Format::Jwt {
        let header = forged.as_str().unwrap().split('.').next().unwrap();
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
        )
        .unwrap();
        assert_eq!(header["kid"], json!(ATTACKER_METHOD));
    }
    for (i, document) in key_documents.iter().enumerate() {
        let (exit, report) = scratch.verify(&forged, &[(ATTACKER_KEY_DOC, document)]);
        assert_forgery_refused(&format!("{format:?}, key document {i}"), exit, &report);
    }
    // An honest key document (the key controlled by its own document) names its real
    // controller, and that is not the issuer.
    let honest = json!({"id": ATTACKER_KEY_DOC, "verificationMethod": [multikey_method(ATTACKER_METHOD, ATTACKER_KEY_DOC, &attacker)], "assertionMethod": [ATTACKER_METHOD]});
    let (exit, report) = scratch.verify(&forged, &[(ATTACKER_KEY_DOC, &honest)]);
    assert_forgery_refused(&format!("{format:?}, honest key document"), exit, &report);
    assert_eq!(codes(&report), ["ISSUER_MISMATCH_ERROR"], "{format:?}: {report:#}");
}

/// (c) The attacker's own did:web document lists the attacker's key with the victim's DID as its
/// controller; a Data Integrity proof names that key.
#[tokio::test]
async fn data_integrity_key_in_a_did_web_document_claiming_the_victim_as_controller_is_not_the_issuers() {
    did_web_document_claiming_the_victim(Format::EddsaRdfc2022).await;
}

/// (c) The same with a JWT whose kid names that key.
#[tokio::test]
async fn jwt_kid_in_a_did_web_document_claiming_the_victim_as_controller_is_not_the_issuers() {
    did_web_document_claiming_the_victim(Format::Jwt).await;
}

async fn did_web_document_claiming_the_victim(format: Format) {
    let attacker = ed25519();
    let method_id = format!("{ATTACKER_DID}#k");
    let mut scratch = Scratch::new("trust-didweb");
    // The victim a did:key, then a did:web: the attacker's document speaks for neither.
    for victim in [ed25519().did(), "did:web:victim.example".to_string()] {
        let document = json!({
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": ATTACKER_DID,
            "verificationMethod": [multikey_method(&method_id, &victim, &attacker)],
            "assertionMethod": [method_id],
            "authentication": [method_id],
        });
        let forged =
            sign_as(&badge_from(&victim, "did:example:learner"), &attacker, &method_id, format).await;
        for pin in [ATTACKER_DID_URL, ATTACKER_DID] {
            let (exit, report) = scratch.verify(&forged, &[(pin, &document)]);
            assert_forgery_refused(&format!("{format:?}, {victim}, pinned as {pin}"), exit, &report);
        }
    }
}

/// The holder side: Mallory presents the victim's badge as the victim, signing the presentation
/// with her own key through a key document that names the victim as its controller.
#[tokio::test]
async fn a_key_document_claiming_the_victim_as_controller_does_not_make_its_key_the_holders() {
    let issuer = ed25519();
    let victim = ed25519().did();
    let mallory = ed25519();
    let badge =
        laurel::credential::issue::issue(badge_from(&issuer.did(), &victim), &issuer, Format::EddsaRdfc2022)
            .await
            .unwrap()
            .to_json_value();
    let forger = mallory.clone().with_identity(&victim, ATTACKER_METHOD);
    let presentation =
        laurel::credential::presentation::present(&[badge], &forger, None, None).await.unwrap();
    assert_eq!(presentation["holder"], json!(victim));
    let method = multikey_method(ATTACKER_METHOD, &victim, &mallory);
    let mut scratch = Scratch::new("trust-holder");
    for document in [
        json!({"id": ATTACKER_KEY_DOC, "verificationMethod": [method]}),
        json!({"id": ATTACKER_KEY_DOC, "verificationMethod": [method], "authentication": [ATTACKER_METHOD]}),
    ] {
        let (exit, report) = scratch.verify(&presentation, &[(ATTACKER_KEY_DOC, &document)]);
        assert_eq!(report["verified"], json!(false), "a forged holder verified: {report:#}");
        assert_eq!(exit, Some(1));
        let codes = codes(&report);
        assert!(
            codes.iter().any(|c| c == "HOLDER_MISMATCH_ERROR" || c == "PROOF_VERIFICATION_ERROR"),
            "{codes:?}"
        );
    }
}

/// What must keep working: keys in the issuer's own document, however it is obtained.
#[tokio::test]
async fn keys_listed_in_the_issuers_own_document_still_verify() {
    let mut scratch = Scratch::new("trust-legit");
    // did:key issuers (the document is computed from the DID).
    let key = ed25519();
    for format in FORMATS {
        let signed =
            sign_as(&badge_from(&key.did(), "did:example:learner"), &key, &key.verification_method(), format)
                .await;
        let (exit, report) = scratch.verify(&signed, &[]);
        assert_eq!(report["verified"], json!(true), "did:key {format:?}: {report:#}");
        assert_eq!(exit, Some(0));
        assert_eq!(report["issuer"], json!(key.did()));
    }
    // A did:web issuer, with a current and a retired key (retired: still in assertionMethod,
    // no longer in authentication), its document pinned at its did:web URL.
    let (current, retired) = (ed25519(), ed25519());
    let did = "did:web:issuer.example";
    let (current_id, retired_id) = (format!("{did}#current"), format!("{did}#retired"));
    let document = json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [multikey_method(&current_id, did, &current), multikey_method(&retired_id, did, &retired)],
        "assertionMethod": [current_id, retired_id],
        "authentication": [current_id],
    });
    for format in FORMATS {
        for (key, method) in [(&current, &current_id), (&retired, &retired_id)] {
            let signed = sign_as(&badge_from(did, "did:example:learner"), key, method, format).await;
            let (exit, report) =
                scratch.verify(&signed, &[("https://issuer.example/.well-known/did.json", &document)]);
            assert_eq!(report["verified"], json!(true), "did:web {format:?} {method}: {report:#}");
            assert_eq!(exit, Some(0));
        }
    }
    // An https issuer whose profile lists its key under assertionMethod.
    let profile_id = "https://issuer.example/profile";
    let method_id = format!("{profile_id}#key-1");
    let profile = json!({
        "id": profile_id,
        "type": "Profile",
        "verificationMethod": [multikey_method(&method_id, profile_id, &current)],
        "assertionMethod": [method_id],
    });
    for format in FORMATS {
        let signed =
            sign_as(&badge_from(profile_id, "did:example:learner"), &current, &method_id, format).await;
        let (exit, report) = scratch.verify(&signed, &[(profile_id, &profile)]);
        assert_eq!(report["verified"], json!(true), "https profile {format:?}: {report:#}");
        assert_eq!(exit, Some(0));
        // A profile that does not list the key under assertionMethod does not authorize it.
        let mut unlisted = profile.clone();
        unlisted.as_object_mut().unwrap().remove("assertionMethod");
        let (_, report) = scratch.verify(&signed, &[(profile_id, &unlisted)]);
        assert_eq!(report["verified"], json!(false), "unlisted key {format:?}: {report:#}");
        assert!(details(&report).contains("assertionMethod"), "{report:#}");
    }
}
