//! Issue 12 items 2-5 and 10: every check reads what was signed. Each attack keeps the signed
//! RDF identical (so the signature holds) while moving a checked value away from the JSON key
//! the checks read; each must be refused through the real `laurel verify`, on the fast
//! JSON-LD path and on the json-ld crate path (`LAUREL_JSONLD_FAST=0`). Each test first checks
//! the unmodified input fails for its real reason (revoked, expired, wrong holder), so the
//! attack is shown to be what changes the answer. Nothing here touches the network.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use laurel::credential::issue::{build_badge, issue, BadgeRequest};
use laurel::credential::proofs::{Format, SignOptions};
use laurel::keys::{KeyPair, KeyType};
use laurel::status::{list_credential, write_bit, MIN_LIST_ENTRIES};
use serde_json::{json, Value};

const LIST_URL: &str = "https://status.example/lists/7";

/// `laurel verify FILE --json` with extra arguments, on both JSON-LD paths; the reports.
fn verify_both_paths(dir: &Path, file: &Path, extra: &[&str]) -> Vec<(Option<i32>, Value)> {
    [("1", "fast path"), ("0", "json-ld crate")]
        .iter()
        .map(|(fast, _)| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_laurel"))
                .arg("--data")
                .arg(dir.join("data"))
                .args(["verify", file.to_str().unwrap(), "--json", "--offline"])
                .args(extra)
                .env("LAUREL_JSONLD_FAST", fast)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("laurel runs");
            let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
                json!({"unparsed": String::from_utf8_lossy(&out.stdout), "stderr": String::from_utf8_lossy(&out.stderr)})
            });
            (out.status.code(), report)
        })
        .collect()
}

fn codes(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .map(|e| e.iter().map(|p| p["code"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

fn details(report: &Value) -> String {
    report["errors"].to_string()
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

fn add_context(credential: &mut Value, entry: Value) {
    credential["@context"].as_array_mut().unwrap().push(entry);
}

fn rename(credential: &mut Value, from: &str, to: &str) {
    let object = credential.as_object_mut().unwrap();
    let value = object.remove(from).unwrap();
    object.insert(to.into(), value);
}

async fn sign(unsigned: &Value, key: &KeyPair) -> Value {
    Format::EddsaRdfc2022.signer().sign(unsigned, key, &SignOptions::default()).await.unwrap().to_json_value()
}

/// A credential with bit 5 of a revocation list set, and the list signed by the issuer.
async fn revoked_credential_and_list(dir: &Path) -> (Value, PathBuf) {
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let mut bits = vec![0u8; MIN_LIST_ENTRIES / 8];
    write_bit(&mut bits, 5, true);
    let list = sign(&list_credential(LIST_URL, &key.did(), "revocation", &bits, 60_000), &key).await;
    let list_file = write(dir, "list.json", &list);
    let credential = sign(
        &json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:6f1e4c1a-1111-4c7a-9e01-000000000012",
            "type": ["VerifiableCredential"],
            "issuer": key.did(),
            "credentialSubject": {"id": "did:example:holder"},
            "credentialStatus": {"id": format!("{LIST_URL}#5"), "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation", "statusListIndex": "5", "statusListCredential": LIST_URL}
        }),
        &key,
    )
    .await;
    (credential, list_file)
}

fn assert_refused_as_unsigned(runs: &[(Option<i32>, Value)], key: &str) {
    for (code, report) in runs {
        assert_eq!(*code, Some(1), "{report}");
        assert_eq!(report["verified"], json!(false), "{report}");
        assert!(
            details(report).contains(key) && details(report).contains("signed"),
            "the refusal names {key} and the signed data: {report}"
        );
    }
}

#[tokio::test]
async fn a_renamed_credential_status_is_refused_not_skipped() {
    let dir = common::temp_data_dir("trust-status-rename");
    let (credential, list_file) = revoked_credential_and_list(&dir).await;
    let preload = format!("{LIST_URL}={}", list_file.display());
    let plain = write(&dir, "revoked.json", &credential);
    for (code, report) in verify_both_paths(&dir, &plain, &["--preload", &preload]) {
        assert_eq!(code, Some(1));
        assert!(codes(&report).contains(&"REVOKED".to_string()), "{report}");
    }
    let mut renamed = credential.clone();
    add_context(
        &mut renamed,
        json!({"cs": {"@id": "https://www.w3.org/2018/credentials#credentialStatus", "@type": "@id"}}),
    );
    rename(&mut renamed, "credentialStatus", "cs");
    let renamed_file = write(&dir, "renamed.json", &renamed);
    assert_refused_as_unsigned(
        &verify_both_paths(&dir, &renamed_file, &["--preload", &preload]),
        "credentialStatus",
    );
}

#[tokio::test]
async fn a_renamed_valid_until_is_refused_not_ignored() {
    let dir = common::temp_data_dir("trust-expiry-rename");
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let expired = sign(
        &json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": key.did(),
            "validUntil": "2020-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:holder"}
        }),
        &key,
    )
    .await;
    let plain = write(&dir, "expired.json", &expired);
    for (_, report) in verify_both_paths(&dir, &plain, &[]) {
        assert!(codes(&report).contains(&"CREDENTIAL_EXPIRED".to_string()), "{report}");
    }
    let mut renamed = expired.clone();
    add_context(
        &mut renamed,
        json!({"vu": {"@id": "https://www.w3.org/2018/credentials#validUntil", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"}}),
    );
    rename(&mut renamed, "validUntil", "vu");
    let renamed_file = write(&dir, "renamed.json", &renamed);
    assert_refused_as_unsigned(&verify_both_paths(&dir, &renamed_file, &[]), "validUntil");
    // The same date as an explicit value object: the same RDF, a value the checks cannot read.
    let mut value_object = expired.clone();
    value_object["validUntil"] =
        json!({"@value": "2020-01-01T00:00:00Z", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"});
    let file = write(&dir, "value-object.json", &value_object);
    assert_refused_as_unsigned(&verify_both_paths(&dir, &file, &[]), "validUntil");
}

#[tokio::test]
async fn a_subject_id_written_as_at_id_cannot_be_presented_by_someone_else() {
    let dir = common::temp_data_dir("trust-holder");
    let issuer = KeyPair::generate(KeyType::Ed25519).unwrap();
    let bob = KeyPair::generate(KeyType::Ed25519).unwrap();
    let mallory = KeyPair::generate(KeyType::Ed25519).unwrap();
    let request = BadgeRequest {
        subject_id: Some(bob.did()),
        achievement_name: "Welding".into(),
        ..BadgeRequest::default()
    };
    let badge = issue(build_badge(&request), &issuer, Format::EddsaRdfc2022).await.unwrap().to_json_value();
    let present = |credential: Value| {
        let mallory = &mallory;
        async move {
            laurel::credential::presentation::present(
                &[credential],
                mallory,
                Some("c-1".into()),
                Some("v.example".into()),
            )
            .await
            .unwrap()
        }
    };
    let args = ["--challenge", "c-1", "--domain", "v.example"];
    let honest = write(&dir, "honest.json", &present(badge.clone()).await);
    for (_, report) in verify_both_paths(&dir, &honest, &args) {
        assert!(codes(&report).contains(&"HOLDER_MISMATCH_ERROR".to_string()), "{report}");
    }
    let mut disguised = badge.clone();
    let subject = disguised["credentialSubject"].as_object_mut().unwrap();
    let id = subject.remove("id").unwrap();
    subject.insert("@id".into(), id);
    subject.insert("identifier".into(), json!([]));
    let file = write(&dir, "disguised.json", &present(disguised).await);
    for (code, report) in verify_both_paths(&dir, &file, &args) {
        assert_eq!(code, Some(1), "{report}");
        assert!(report.to_string().contains("credentialSubject"), "{report}");
    }
}

#[tokio::test]
async fn data_under_a_term_mapped_to_null_is_refused() {
    let dir = common::temp_data_dir("trust-null-term");
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let credential = sign(
        &json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": key.did(),
            "credentialSubject": {"id": "did:example:holder"}
        }),
        &key,
    )
    .await;
    let mut junk = credential.clone();
    add_context(&mut junk, json!({"junk": null}));
    junk["junk"] = json!({"claim": "unsigned data"});
    let file = write(&dir, "junk.json", &junk);
    for (code, report) in verify_both_paths(&dir, &file, &[]) {
        assert_eq!(code, Some(1), "{report}");
        assert!(details(&report).contains("junk") && details(&report).contains("not be signed"), "{report}");
    }
    // The issuer side refuses to sign such a document in the first place.
    let mut unsigned = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", {"junk": {"@id": null}}],
        "type": ["VerifiableCredential"],
        "issuer": key.did(),
        "junk": "x",
        "credentialSubject": {"id": "did:example:holder"}
    });
    let error =
        Format::EddsaRdfc2022.signer().sign(&unsigned, &key, &SignOptions::default()).await.unwrap_err();
    assert!(error.to_string().contains("junk"), "{error}");
    unsigned["@context"][1] =
        json!({"cs": {"@id": "https://www.w3.org/2018/credentials#credentialStatus", "@type": "@id"}});
    unsigned.as_object_mut().unwrap().remove("junk");
    unsigned["cs"] = json!({"id": "https://status.example/1#1", "type": "BitstringStatusListEntry"});
    let error =
        Format::EddsaRdfc2022.signer().sign(&unsigned, &key, &SignOptions::default()).await.unwrap_err();
    assert!(error.to_string().contains("credentialStatus"), "{error}");
}

/// Item 10: a context that makes the json-ld crate's expansion quadratic (a 1,000-term
/// type-scoped context applied to 2,000 nodes, sent to the crate by `@base`) is refused by the
/// work bound up front: answered within a second, also with eight proofs.
#[tokio::test]
async fn the_json_ld_fallback_cpu_bomb_is_refused_within_a_second() {
    let dir = common::temp_data_dir("trust-fallback-bomb");
    let mut scoped = serde_json::Map::new();
    for i in 0..1000 {
        scoped.insert(format!("t{i}"), json!(format!("https://example.org/t{i}")));
    }
    let nodes: Vec<Value> = (0..2000).map(|i| json!({"type": "Heavy", "t1": format!("v{i}")})).collect();
    let proof = json!({"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "created": "2025-01-01T00:00:00Z",
        "verificationMethod": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "proofPurpose": "assertionMethod", "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a22gkfUKKiAoVXq1Ux2nCf7u"});
    let bomb = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2",
            {"@base": "https://example.org/", "Heavy": {"@id": "https://example.org/Heavy", "@context": scoped}}],
        "type": ["VerifiableCredential"],
        "issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "credentialSubject": {"id": "did:example:holder", "https://example.org/items": nodes},
        "proof": vec![proof; 8]
    });
    let file = write(&dir, "bomb.json", &bomb);
    for fast in ["1", "0"] {
        let started = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_laurel"))
            .arg("--data")
            .arg(dir.join("data"))
            .args(["verify", file.to_str().unwrap(), "--json", "--offline"])
            .env("LAUREL_JSONLD_FAST", fast)
            .output()
            .unwrap();
        let elapsed = started.elapsed();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["verified"], json!(false));
        assert!(details(&report).contains("more work than Laurel allows"), "{report}");
        assert!(elapsed < Duration::from_secs(1), "answered in {elapsed:?} (LAUREL_JSONLD_FAST={fast})");
    }
}
