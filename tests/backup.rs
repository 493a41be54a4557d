//! Backup, restore and sealed keys against the real binary: `laurel backup` through a running
//! server while issues go on, `laurel restore` into a fresh folder and a server on it; a
//! corrupt backup refused by name; an occupied folder refused without --force; private keys
//! sealed with LAUREL_KEY_PASSPHRASE(_FILE), and clear errors without it or with a wrong one.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{http_client, temp_data_dir, ServerProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};

const TOKEN: &str = "backup-test-admin-token";

fn request(id: &str) -> Value {
    json!({
        "credential": {
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
            "id": id,
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": "Backups 101",
            "issuer": {"type": ["Profile"], "name": "Backup Academy"},
            "credentialSubject": {
                "id": "did:example:learner",
                "type": ["AchievementSubject"],
                "achievement": {"type": ["Achievement"], "name": "Backups 101", "description": "d", "criteria": {"narrative": "n"}}
            }
        },
        "options": {"statusPurposes": ["revocation", "suspension"]}
    })
}

fn start(data: &Path, env: &[(&str, &str)]) -> ServerProcess {
    let data_arg = data.to_string_lossy().to_string();
    let args = [
        "--data",
        &data_arg,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--allow-private-network",
        "--admin-token",
        TOKEN,
    ];
    let mut server = ServerProcess::start_args_env(data, &args, env);
    server.token = TOKEN.to_string();
    server
}

fn issuer_did(server: &ServerProcess) -> String {
    server.banner.lines().find_map(|l| l.strip_prefix("issuer DID: ")).unwrap().trim().to_string()
}

async fn post(client: &reqwest::Client, server: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = client.post(format!("{server}{path}")).bearer_auth(TOKEN).json(body).send().await.unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

async fn state_of(client: &reqwest::Client, server: &str, id: &str) -> (StatusCode, Value) {
    let response = client.get(format!("{server}/credentials/{id}")).bearer_auth(TOKEN).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["currentStatus"]["state"].clone())
}

/// The CLI with the admin token and extra environment (standard input closed).
fn cli(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_laurel"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("LAUREL_ADMIN_TOKEN", TOKEN)
        .env_remove("LAUREL_KEY_PASSPHRASE")
        .env_remove("LAUREL_KEY_PASSPHRASE_FILE")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the laurel binary runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn backup_dir(tag: &str) -> PathBuf {
    temp_data_dir(tag).join("backup")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_restores_into_a_working_server() {
    let data = temp_data_dir("backup-src");
    let server = start(&data, &[]);
    let client = http_client();
    let base = server.base.clone();
    let mut before: Vec<String> = Vec::new();
    for n in 0..5 {
        let id = format!("urn:example:b{n}");
        let (status, body) = post(&client, &base, "/credentials/issue", &request(&id)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        before.push(id);
    }
    let revoked = json!({"credentialId": "urn:example:b0", "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}, "status": true});
    assert_eq!(post(&client, &base, "/credentials/status", &revoked).await.0, StatusCode::OK);

    // A burst of issues runs while the backup is taken; each records when it was acknowledged.
    let started = std::time::Instant::now();
    let mut burst = Vec::new();
    for worker in 0..4 {
        let (client, base) = (client.clone(), base.clone());
        burst.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0..25 {
                let id = format!("urn:example:burst-{worker}-{n}");
                let (status, body) = post(&client, &base, "/credentials/issue", &request(&id)).await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                acknowledged.push((id, started.elapsed()));
            }
            acknowledged
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let dir = backup_dir("backup-out");
    let backup_started = started.elapsed();
    let output = {
        let (data, dir) = (data.clone(), dir.clone());
        tokio::task::spawn_blocking(move || cli(&data, &["backup", dir.to_str().unwrap()], &[]))
            .await
            .unwrap()
    };
    assert!(output.status.success(), "{}", text(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["trees"].as_array().unwrap().len(), 13, "{report}");
    let mut after = 0;
    for handle in burst {
        for (id, at) in handle.await.unwrap() {
            if at < backup_started {
                before.push(id);
            } else {
                after += 1;
            }
        }
    }
    assert!(after > 0, "the burst ended before the backup started: nothing ran concurrently");
    // A relative path is refused over HTTP.
    let (status, body) = post(&client, &base, "/admin/backup", &json!({"dir": "relative/dir"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("absolute"), "{body}");
    let did = issuer_did(&server);
    drop(server);

    let target = temp_data_dir("backup-dst");
    let output = cli(&target, &["restore", dir.to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", text(&output));
    let restored = start(&target, &[]);
    assert_eq!(issuer_did(&restored), did);
    assert!(before.len() > 5, "the burst acknowledged nothing before the backup started");
    for id in &before {
        let (status, state) = state_of(&client, &restored.base, id).await;
        assert_eq!(status, StatusCode::OK, "{id} acknowledged before the backup is missing");
        let expected = if id == "urn:example:b0" { "revoked" } else { "active" };
        assert_eq!(state, json!(expected), "{id}");
    }
    // The restored key signs, and what it signs verifies.
    let (status, issued) =
        post(&client, &restored.base, "/credentials/issue", &request("urn:example:after")).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let (status, report) = post(&client, &restored.base, "/credentials/verify", &issued).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(report["errors"].as_array().is_none_or(|e| e.is_empty()), "{report}");
    assert!(issued.to_string().contains(&did));
}

#[test]
fn a_corrupt_backup_is_refused_by_name_and_an_occupied_folder_needs_force() {
    let source = temp_data_dir("backup-corrupt-src");
    // Any command on a new folder creates the issuer key and the admin token.
    assert!(cli(&source, &["key", "list"], &[]).status.success());
    let dir = backup_dir("backup-corrupt");
    let output = cli(&source, &["backup", dir.to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", text(&output));
    let refused = cli(&source, &["backup", dir.to_str().unwrap()], &[]);
    assert!(!refused.status.success() && text(&refused).contains("already exists"), "{}", text(&refused));

    // One byte flipped in a tree file: refused, naming the file; the target is untouched.
    let corrupt = dir.with_file_name("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, corrupt.join(path.file_name().unwrap())).unwrap();
    }
    let file = corrupt.join("keys.records");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    let target = temp_data_dir("backup-corrupt-dst");
    let output = cli(&target, &["restore", corrupt.to_str().unwrap()], &[]);
    assert!(!output.status.success());
    assert!(text(&output).contains("keys.records is corrupt"), "{}", text(&output));
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0, "the target folder was written to");

    // An occupied folder: refused without --force; with it the old database is kept aside.
    let occupied = temp_data_dir("backup-occupied");
    assert!(cli(&occupied, &["key", "list"], &[]).status.success());
    let output = cli(&occupied, &["restore", dir.to_str().unwrap()], &[]);
    assert!(!output.status.success() && text(&output).contains("--force"), "{}", text(&output));
    let output = cli(&occupied, &["restore", dir.to_str().unwrap(), "--force"], &[]);
    assert!(output.status.success(), "{}", text(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let aside = PathBuf::from(report["previousMovedTo"].as_str().unwrap());
    assert!(aside.file_name().unwrap().to_string_lossy().starts_with("db.before-restore-"));
    assert!(aside.join("conf").exists(), "the old database is not kept at {}", aside.display());
    // The restored folder is the source's: same issuer.
    let listed = |data: &Path| text(&cli(data, &["key", "list"], &[]));
    assert_eq!(listed(&occupied), listed(&source));
}

/// Every file under `dir`, read.
fn all_bytes(dir: &Path, out: &mut Vec<u8>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_bytes(&path, out);
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_sealed_at_rest_with_a_passphrase() {
    use base64::Engine;
    let data = temp_data_dir("sealed");
    let seed = [7u8; 32];
    let key = laurel::keys::KeyPair::ed25519_from_seed(seed);
    let d = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seed);
    {
        // The issuer key is made here (its `d` is known), sealed as it is first stored.
        let passphrase = zeroize::Zeroizing::new(b"correct horse".to_vec());
        let store = laurel::store::SledStore::open_with(&data, Some(&passphrase)).unwrap();
        laurel::keys::KeyStore::put(&store, "issuer", &key).unwrap();
    }
    let client = http_client();
    let passphrase_file = data.join("passphrase");
    std::fs::write(&passphrase_file, "correct horse\n").unwrap();
    let file_env = [("LAUREL_KEY_PASSPHRASE_FILE", passphrase_file.to_str().unwrap())];
    let server = wait_for_unlock(|| start(&data, &[("LAUREL_KEY_PASSPHRASE", "correct horse")]));
    assert_eq!(issuer_did(&server), key.did());
    let (status, body) = post(&client, &server.base, "/credentials/issue", &request("urn:example:s1")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    drop(server);

    let mut raw = Vec::new();
    all_bytes(&data.join("db"), &mut raw);
    assert!(!raw.is_empty());
    assert!(!contains(&raw, d.as_bytes()), "the private key's d is in the database files");
    assert!(!contains(&raw, &seed), "the raw private key is in the database files");
    // Backups carry the key sealed, too.
    let dir = backup_dir("sealed-backup");
    let output = cli(&data, &["backup", dir.to_str().unwrap()], &file_env);
    assert!(output.status.success(), "{}", text(&output));
    let mut raw = Vec::new();
    all_bytes(&dir, &mut raw);
    assert!(!contains(&raw, d.as_bytes()) && contains(&raw, b"argon2id+xchacha20poly1305"));

    // Without the passphrase: the server runs, records read, issuing says what to set.
    let server = start(&data, &[]);
    assert_eq!(issuer_did(&server), key.did());
    assert!(server.banner.contains("WARNING: issuing is unavailable: keys are sealed"), "{}", server.banner);
    assert_eq!(state_of(&client, &server.base, "urn:example:s1").await, (StatusCode::OK, json!("active")));
    let (status, body) = post(&client, &server.base, "/credentials/issue", &request("urn:example:s2")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("keys are sealed: set LAUREL_KEY_PASSPHRASE"), "{detail}");
    drop(server);

    // A wrong passphrase stops the server at startup.
    let output = wait_for_unlock(|| {
        let output = Command::new(env!("CARGO_BIN_EXE_laurel"))
            .arg("--data")
            .arg(&data)
            .args(["serve", "--listen", "127.0.0.1:0", "--admin-token", TOKEN])
            .env("LAUREL_KEY_PASSPHRASE", "wrong horse")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!text(&output).contains("locked"), "{}", text(&output));
        output
    });
    assert!(!output.status.success());
    assert!(text(&output).contains("wrong passphrase"), "{}", text(&output));

    // The passphrase from a file (trailing newline trimmed) works.
    let server = wait_for_unlock(|| start(&data, &file_env));
    let (status, body) = post(&client, &server.base, "/credentials/issue", &request("urn:example:s3")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// sled lets go of its lock a moment after a process ends: retry what needs the folder.
fn wait_for_unlock<T>(action: impl Fn() -> T) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&action)) {
            Ok(value) => return value,
            Err(panic) if std::time::Instant::now() > deadline => std::panic::resume_unwind(panic),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
}
