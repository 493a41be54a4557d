//! Hostile and malformed input: a clear error every time, never a panic, bounded work.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use laurel::credential::issue::{build_badge, issue, BadgeRequest};
use laurel::credential::proofs::Format;
use laurel::credential::verify::{Report, Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use laurel::keys::{KeyPair, KeyType};
use serde_json::{json, Value};

async fn verify_bytes(bytes: &[u8]) -> Report {
    Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default()).verify_bytes(bytes).await
}

async fn signed() -> Value {
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let request = BadgeRequest {
        subject_id: Some("did:example:r".into()),
        achievement_name: "Hostile".into(),
        achievement_id: Some("urn:example:achievement".into()),
        ..Default::default()
    };
    issue(build_badge(&request), &key, Format::EddsaRdfc2022).await.unwrap().to_json_value()
}

fn first(report: &Report) -> (&str, &str) {
    let e = report.errors.first().expect("an error");
    (e.code.as_str(), e.detail.as_str())
}

#[tokio::test]
async fn truncated_json_is_a_parsing_error() {
    let text = serde_json::to_string(&signed().await).unwrap();
    let report = verify_bytes(&text.as_bytes()[..text.len() / 2]).await;
    assert_eq!(first(&report).0, "PARSING_ERROR");
}

#[tokio::test]
async fn a_50_mb_body_is_refused_by_size_before_parsing() {
    let big = vec![b' '; 50 << 20];
    let report = verify_bytes(&big).await;
    assert_eq!(first(&report).0, "PARSING_ERROR");
    assert!(first(&report).1.contains("limit"));
}

#[tokio::test]
async fn deep_nesting_is_refused() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let report = verify_bytes(deep.as_bytes()).await;
    assert!(first(&report).1.contains("nested deeper"), "{:?}", first(&report));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    assert_eq!(first(&verify_bytes(deep_object.as_bytes()).await).0, "PARSING_ERROR");
}

#[tokio::test]
async fn unknown_contexts_are_named_and_never_fetched() {
    let mut credential = signed().await;
    credential["@context"].as_array_mut().unwrap().push(json!("https://evil.example/context.jsonld"));
    let report = verify_bytes(credential.to_string().as_bytes()).await;
    assert!(!report.verified);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.code == "PARSING_ERROR" && e.detail.contains("https://evil.example/context.jsonld")),
        "{:#?}",
        report.errors
    );
}

#[tokio::test]
async fn redefining_a_protected_term_is_an_error() {
    let mut credential = signed().await;
    credential["@context"].as_array_mut().unwrap().push(json!({"name": "https://evil.example/name"}));
    let report = verify_bytes(credential.to_string().as_bytes()).await;
    assert!(!report.verified);
    let detail = report.errors.iter().map(|e| e.detail.clone()).collect::<Vec<_>>().join(" | ");
    assert!(detail.to_lowercase().contains("protected"), "{detail}");
}

#[tokio::test]
async fn malformed_proof_values_are_malformed_value_errors() {
    let credential = signed().await;
    for (value, why) in
        [("zNotBase58!!0OIl", "base58"), ("z3vQB7B6MrGQZaxCuFg4oh", "bytes"), ("u123", "multibase")]
    {
        let mut c = credential.clone();
        c["proof"]["proofValue"] = json!(value);
        let report = verify_bytes(c.to_string().as_bytes()).await;
        assert_eq!(first(&report).0, "MALFORMED_VALUE_ERROR", "{value}");
        assert!(first(&report).1.contains(why), "{value}: {}", first(&report).1);
    }
    let mut c = credential.clone();
    c["proof"]["verificationMethod"] = json!("did:key:z6MkGarbage0OIl#x");
    let report = verify_bytes(c.to_string().as_bytes()).await;
    assert!(report.errors.iter().any(|e| e.detail.contains("invalid DID")), "{:#?}", report.errors);
    let mut c = credential.clone();
    c["proof"]["verificationMethod"] = json!("did:key:zDnaezZQfDkpRzSE1YBYxkGn6KkNad4bJxmKEodoHpbK2N63i#zDnaezZQfDkpRzSE1YBYxkGn6KkNad4bJxmKEodoHpbK2N63i");
    let report = verify_bytes(c.to_string().as_bytes()).await;
    assert_eq!(first(&report).0, "CRYPTOGRAPHIC_SECURITY_ERROR", "a P-256 key for an EdDSA proof");
}

/// A blank-node clique inside a credential (the RDFC-1.0 poison graph shape) fails fast.
#[tokio::test]
async fn poison_graphs_fail_fast() {
    let mut credential = signed().await;
    let n = 12;
    let nodes: Vec<Value> = (0..n)
        .map(|i| {
            let links: Vec<Value> =
                (0..n).filter(|j| *j != i).map(|j| json!({"@id": format!("_:n{j}")})).collect();
            json!({"@id": format!("_:n{i}"), "https://example.org/knows": links})
        })
        .collect();
    credential["credentialSubject"]["https://example.org/graph"] = json!(nodes);
    let start = Instant::now();
    let report = verify_bytes(credential.to_string().as_bytes()).await;
    let elapsed = start.elapsed();
    assert!(report.errors.iter().any(|e| e.detail.contains("too symmetric")), "{:#?}", report.errors);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

fn laurel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_laurel"))
}

#[tokio::test]
async fn cli_exit_codes_distinguish_verified_unverified_and_bad_input() {
    let dir = std::env::temp_dir().join(format!("laurel-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    let credential = signed().await;
    std::fs::write(&good, credential.to_string()).unwrap();
    let mut bad = credential.clone();
    bad["name"] = json!("changed");
    let tampered = dir.join("tampered.json");
    std::fs::write(&tampered, bad.to_string()).unwrap();
    let truncated = dir.join("truncated.json");
    std::fs::write(&truncated, &credential.to_string()[..100]).unwrap();

    let status = |args: &[&str]| laurel().args(args).output().unwrap();
    assert_eq!(status(&["verify", good.to_str().unwrap()]).status.code(), Some(0));
    let out = status(&["verify", tampered.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], json!(false));
    assert_eq!(status(&["verify", truncated.to_str().unwrap()]).status.code(), Some(2));
    assert_eq!(status(&["verify", "/nonexistent/file.json"]).status.code(), Some(2));
    assert_eq!(status(&["verify", good.to_str().unwrap(), "--now", "yesterday"]).status.code(), Some(2));
    assert_eq!(
        status(&["verify", good.to_str().unwrap(), "--preload", "no-equals-sign"]).status.code(),
        Some(2)
    );
    assert_eq!(
        status(&["verify", good.to_str().unwrap(), "--now", "2000-01-01T00:00:00Z"]).status.code(),
        Some(1)
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn cli_issue_and_verify_round_trip_through_the_key_store() {
    let dir = std::env::temp_dir().join(format!("laurel-cli-{}", uuid::Uuid::new_v4()));
    let data = dir.to_str().unwrap();
    let run = |args: &[&str]| laurel().arg("--data").arg(data).args(args).output().unwrap();
    assert!(run(&["key", "new", "--name", "main"]).status.success());
    assert!(run(&["key", "new", "--type", "p256", "--name", "ec"]).status.success());
    let listed = String::from_utf8(run(&["key", "list", "--json"]).stdout).unwrap();
    assert!(listed.contains("\"name\": \"main\"") && !listed.contains("\"d\""), "{listed}");
    for (format, key) in [("di", "main"), ("ecdsa", "ec"), ("jwt", "main")] {
        let out = dir.join(format!("{format}.out"));
        let issued = run(&[
            "issue",
            "--key",
            key,
            "--format",
            format,
            "--achievement",
            "CLI",
            "--subject",
            "did:example:x",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
        let verified = run(&["verify", out.to_str().unwrap()]);
        assert_eq!(
            verified.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&verified.stdout)
        );
        let inspected = run(&["inspect", out.to_str().unwrap()]);
        assert!(String::from_utf8_lossy(&inspected.stdout).contains("CLI"));
    }
    let wrong = run(&[
        "issue",
        "--key",
        "main",
        "--format",
        "ecdsa",
        "--achievement",
        "X",
        "--subject",
        "did:example:x",
    ]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("needs a p256 key"));
    std::fs::remove_dir_all(dir).ok();
}
