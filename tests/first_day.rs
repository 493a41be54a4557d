//! Issue 14, the first day as an issuer: one issuing path for the CLI and HTTP. Each test runs
//! the real binary (and, where it says so, the real server on a loopback port).

mod common;

use common::{laurel_cli, temp_data_dir, ServerProcess};
use serde_json::{json, Value};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}
fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn ob_credential() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Day one",
        "issuer": {"type": ["Profile"]},
        "credentialSubject": {"type": ["AchievementSubject"], "id": "did:example:bob",
            "achievement": {"type": ["Achievement"], "name": "Day one", "description": "d", "criteria": {"narrative": "n"}}}
    })
}

async fn post(server: &ServerProcess, path: &str, body: &Value) -> (u16, Value) {
    let response = common::http_client()
        .post(format!("{}{path}", server.base))
        .bearer_auth(&server.token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Items 7 and 9: a CLI badge is stored, has a status entry and can be revoked; key names never
/// collide; `key list` shows each key's state; the achievement id is stable per name.
#[test]
fn a_cli_badge_is_stored_and_revocable_and_keys_show_their_state() {
    let data = temp_data_dir("day-cli");
    let laurel = |args: &[&str]| laurel_cli(&data, args);
    let first = laurel(&["key", "new"]);
    let second = laurel(&["key", "new"]);
    assert!(first.status.success() && second.status.success(), "{}", stderr(&second));
    assert_ne!(stdout(&first).split('\t').next(), stdout(&second).split('\t').next());
    let list = stdout(&laurel(&["key", "list"]));
    assert!(list.contains("\tactive\t") && list.contains("\tstandalone\t"), "{list}");

    let badge = data.join("badge.json");
    // No server has run on this folder: asked for, the entry uses the default base URL.
    let out = laurel(&[
        "issue",
        "--achievement",
        "Rust 101",
        "--subject",
        "did:example:bob",
        "--status",
        "revocation",
        "-o",
        badge.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let credential: Value = serde_json::from_slice(&std::fs::read(&badge).unwrap()).unwrap();
    assert!(credential["credentialStatus"].is_object(), "{credential}");
    let again = laurel(&["issue", "--achievement", "Rust 101", "--subject", "did:example:carol"]);
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        credential["credentialSubject"]["achievement"]["id"], again["credentialSubject"]["achievement"]["id"],
        "the same achievement name keeps its id"
    );
    let id = credential["id"].as_str().unwrap();
    let out = laurel(&["revoke", id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = laurel(&["revoke", "urn:example:never-issued"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no credential with id"), "{}", stderr(&out));
}

/// Item 8: both edges treat a missing issuer alike (refused), and `{}` alike (filled in).
#[test]
fn the_cli_refuses_a_missing_issuer_like_http_and_fills_in_an_empty_one() {
    let data = temp_data_dir("day-issuer");
    let file = data.join("unsigned.json");
    let mut credential = ob_credential();
    credential.as_object_mut().unwrap().remove("issuer");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(&file, credential.to_string()).unwrap();
    let out = laurel_cli(&data, &["issue", "--credential", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("$.issuer"), "{}", stderr(&out));
    credential["issuer"] = json!({});
    std::fs::write(&file, credential.to_string()).unwrap();
    let out = laurel_cli(&data, &["issue", "--credential", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Item 6 and the CLI-over-HTTP path: with the server running, CLI commands go to it; the
/// profile survives a did:key rotation; the CLI signs with the active key; after a restart the
/// banner names the active key's DID.
#[tokio::test(flavor = "multi_thread")]
async fn rotation_keeps_the_profile_and_the_cli_talks_to_the_running_server() {
    let data = temp_data_dir("day-rotate");
    let mut server = ServerProcess::start(&data, &[]);
    let (status, _) =
        post(&server, "/profiles", &json!({"name": "Laurel Academy", "url": "https://academy.example"}))
            .await;
    assert_eq!(status, 201, "profile stored");
    let out = laurel_cli(&data, &["key", "rotate"]);
    assert!(out.status.success(), "the CLI rotates through the running server: {}", stderr(&out));
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let out =
        laurel_cli(&data, &["issue", "--achievement", "After rotation", "--subject", "did:example:bob"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let credential: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(credential["issuer"]["id"], rotated["did"], "signed with the active key");
    assert_eq!(credential["issuer"]["name"], json!("Laurel Academy"), "the profile carried over");
    let response = common::http_client()
        .get(format!("{}/credentials/{}", server.base, credential["id"].as_str().unwrap()))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "the CLI badge is in the server's records");
    server.kill9();
    let restarted = ServerProcess::start(&data, &[]);
    let (status, issued) =
        post(&restarted, "/credentials/issue", &json!({"credential": ob_credential()})).await;
    assert_eq!(status, 201, "{issued}");
    assert_eq!(issued["verifiableCredential"]["issuer"]["id"], rotated["did"]);
    drop(restarted);
}

/// Item 13: HTTP hashes `recipient.email` and refuses a plain email identifier unless asked.
#[tokio::test(flavor = "multi_thread")]
async fn http_hashes_recipient_email_and_refuses_a_plain_one() {
    let data = temp_data_dir("day-recipient");
    let server = ServerProcess::start(&data, &[]);
    let mut credential = ob_credential();
    credential["credentialSubject"].as_object_mut().unwrap().remove("id");
    let (status, issued) = post(
        &server,
        "/credentials/issue",
        &json!({"credential": credential, "recipient": {"email": "bob@example.com"}}),
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    let identity = &issued["verifiableCredential"]["credentialSubject"]["identifier"][0];
    assert_eq!(identity["hashed"], json!(true));
    assert!(!issued.to_string().contains("bob@example.com"), "the address is not published");
    credential["credentialSubject"]["identifier"] = json!([{"type": "IdentityObject", "hashed": false, "identityHash": "bob@example.com", "identityType": "emailAddress"}]);
    let (status, problem) = post(&server, "/credentials/issue", &json!({"credential": credential})).await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem.to_string().contains("publishPlainIdentifier"), "{problem}");
    let (status, _) = post(
        &server,
        "/credentials/issue",
        &json!({"credential": credential, "options": {"publishPlainIdentifier": true}}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, problem) =
        post(&server, "/credentials/issue", &json!({"credential": credential, "optoins": {}})).await;
    assert_eq!(status, 400);
    assert!(problem["detail"].as_str().unwrap().contains("optoins"), "{problem}");
}

/// Items 11 and 12: `--recipient-identifier` checks a bare credential's recipient; the CLI
/// unwraps `{"verifiableCredential": ...}` (the HTTP answer saved to a file).
#[test]
fn verify_checks_the_recipient_and_unwraps_http_answers() {
    let data = temp_data_dir("day-verify");
    let badge = data.join("badge.json");
    let out = laurel_cli(
        &data,
        &[
            "issue",
            "--achievement",
            "Mail",
            "--recipient-email",
            "bob@example.com",
            "--no-status",
            "-o",
            badge.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let path = badge.to_str().unwrap();
    let ok = laurel_cli(&data, &["verify", path, "--recipient-identifier", "bob@example.com"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let wrong = laurel_cli(&data, &["verify", path, "--recipient-identifier", "eve@example.com"]);
    assert_eq!(wrong.status.code(), Some(1), "{}", stdout(&wrong));
    assert!(stdout(&wrong).contains("RECIPIENT_MISMATCH_ERROR"));
    let credential: Value = serde_json::from_slice(&std::fs::read(&badge).unwrap()).unwrap();
    let wrapped = data.join("answer.json");
    std::fs::write(&wrapped, json!({"verifiableCredential": credential}).to_string()).unwrap();
    let out = laurel_cli(&data, &["verify", wrapped.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// Item 3: without a public --base-url the server warns at startup that status URLs will not
/// be reachable by outside verifiers; with one it does not.
#[test]
fn startup_warns_when_status_urls_are_not_public() {
    use std::io::BufRead;
    let banner = |extra: &[&str]| -> String {
        let data = temp_data_dir("day-banner");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_laurel"))
            .arg("--data")
            .arg(&data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("LAUREL_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut text = String::new();
        // The banner ends with the admin token line, or the warning after it.
        for _ in 0..4 {
            match lines.next() {
                Some(Ok(line)) => {
                    text.push_str(&line);
                    text.push('\n');
                    if line.starts_with("admin token") && !extra.is_empty() {
                        break;
                    }
                }
                _ => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        text
    };
    let default = banner(&[]);
    assert!(default.contains("WARNING") && default.contains("--base-url"), "{default}");
    let public = banner(&["--base-url", "https://badges.example.org"]);
    assert!(!public.contains("WARNING"), "{public}");
}
