//! Bulk awards from a spreadsheet (issue 19) on the real binary and server: every kind of bad
//! row reported with nothing issued; `--skip-invalid` issuing exactly the good rows; the HTTP
//! batch with progress polling and CSV outcomes; kill -9 in the middle of a 5,000-row batch,
//! from the CLI and from the server, then a rerun: exactly 5,000 badges, each verifying.

mod common;

use common::{http_client, laurel_cli, temp_data_dir, ServerProcess};
use serde_json::{json, Value};

/// Adds an achievement through the CLI; its id.
fn add_achievement(data: &std::path::Path, name: &str) -> String {
    let out = laurel_cli(data, &["achievement", "add", "--name", name, "--criteria", "Pass the assessment."]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let achievement: Value = serde_json::from_slice(&out.stdout).expect("the achievement as JSON");
    achievement["id"].as_str().expect("an id").to_string()
}

fn credential_count(data: &std::path::Path) -> usize {
    let out = laurel_cli(data, &["credentials", "list", "--limit", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page: Value = serde_json::from_slice(&out.stdout).expect("a page as JSON");
    page["total"].as_u64().expect("a total") as usize
}

fn rows_csv(achievement: &str, count: usize) -> String {
    let mut csv = String::from("email,name,achievement,score,issued_on,evidence_url\n");
    for n in 0..count {
        csv.push_str(&format!(
            "learner{n}@example.edu,\"Learner {n}, Jr.\",{achievement},{},2026-06-01,https://lms.example.edu/evidence/{n}\n",
            80 + n % 20
        ));
    }
    csv
}

const BAD_ROWS: &str = "email,did,name,achievement,issued_on,valid_until,score,evidence_url\n\
not-an-email,,A,ACH,,,,\n\
,did:not a did,B,ACH,,,,\n\
,,C,ACH,,,,\n\
d@example.edu,,D,no-such-achievement,,,,\n\
e@example.edu,,E,ACH,2026-02-30,,,\n\
f@example.edu,,F,ACH,2026-06-01,2026-01-01,,\n\
g@example.edu,,G,ACH,,,ninety,\n\
h@example.edu,,H,ACH,,,,ftp://files.example.edu/e\n\
i@example.edu,,I\n\
good1@example.edu,,Good One,ACH,2026-06-01,2030-06-01,95,https://lms.example.edu/e/1\n\
,did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK,Good Two,ACH,,,,\n";

#[test]
fn bad_rows_are_reported_by_line_and_nothing_is_issued_unless_skipped() {
    let data = temp_data_dir("bulk-bad");
    let achievement = add_achievement(&data, "Python Basics");
    let file = data.join("bad.csv");
    std::fs::write(&file, BAD_ROWS.replace("ACH", &achievement)).unwrap();
    let path = file.to_string_lossy().to_string();

    let out = laurel_cli(&data, &["award", "--csv", &path, "--json"]);
    assert_eq!(out.status.code(), Some(1), "bad rows without --skip-invalid fail");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let problems = answer["report"]["problems"].as_array().expect("problems").clone();
    let lines: Vec<u64> = problems.iter().map(|p| p["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, (2..=10).collect::<Vec<u64>>(), "every bad row, by line: {answer}");
    for (line, words) in [
        (2, "not an email"),
        (3, "not a DID"),
        (4, "no recipient"),
        (5, "no achievement \"no-such-achievement\""),
        (6, "not a date"),
        (7, "not after"),
        (8, "not a number"),
        (9, "http(s) URL"),
        (10, "fields where the header has"),
    ] {
        let reason = problems.iter().find(|p| p["line"] == json!(line)).unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(reason.contains(words), "line {line}: {reason}");
    }
    assert_eq!(answer["report"]["valid"], json!(2));
    assert_eq!(credential_count(&data), 0, "nothing issued");

    let out = laurel_cli(&data, &["award", "--csv", &path, "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(credential_count(&data), 0, "a dry run issues nothing");

    let out = laurel_cli(&data, &["award", "--csv", &path, "--skip-invalid", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(answer["job"]["done"], json!(2), "{answer}");
    assert_eq!(credential_count(&data), 2, "exactly the good rows");
    // The same file again is the same job: nothing new.
    let out = laurel_cli(&data, &["award", "--csv", &path, "--skip-invalid"]);
    assert!(out.status.success());
    assert_eq!(credential_count(&data), 2);
}

#[tokio::test]
async fn the_http_batch_reports_progress_and_every_row_outcome() {
    let data = temp_data_dir("bulk-http");
    let achievement = add_achievement(&data, "Data Analysis");
    let server = ServerProcess::start(&data, &[]);
    let client = http_client();
    let post = |body: String, query: &str, media: &str| {
        client
            .post(format!("{}/awards/batch{query}", server.base))
            .bearer_auth(&server.token)
            .header("content-type", media)
            .body(body)
            .send()
    };
    // Bad rows: 422 with the report; nothing issued.
    let response = post(BAD_ROWS.replace("ACH", &achievement), "", "text/csv").await.unwrap();
    assert_eq!(response.status().as_u16(), 422);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["report"]["invalid"], json!(9), "{problem}");
    let response = post(BAD_ROWS.replace("ACH", &achievement), "?dryRun=true", "text/csv").await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // No token: 401.
    let response = client
        .post(format!("{}/awards/batch", server.base))
        .header("content-type", "text/csv")
        .body("email,achievement\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    // Not CSV or JSON Lines: 415.
    assert_eq!(post("{}".into(), "", "application/json").await.unwrap().status().as_u16(), 415);

    // JSON Lines, 300 rows (more than one chunk), polled until done.
    let jsonl: String = (0..300)
        .map(|n| format!("{}\n", json!({"email": format!("jl{n}@example.edu"), "achievement": achievement, "score": 90, "row_id": format!("r{n}")})))
        .collect();
    let response = post(jsonl.clone(), "", "application/jsonl").await.unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let job: Value = response.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    let mut seen_states = Vec::new();
    let job = loop {
        let job: Value = client
            .get(format!("{}/jobs/{id}", server.base))
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen_states.push(job["state"].as_str().unwrap_or_default().to_string());
        if job["state"] == "done" {
            break job;
        }
        assert!(job["remaining"].as_u64().is_some(), "{job}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        (job["done"].clone(), job["failed"].clone(), job["remaining"].clone()),
        (json!(300), json!(0), json!(0)),
        "{job}"
    );
    let outcomes = job["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 300);
    assert!(outcomes.iter().all(|o| o["credential"].as_str().is_some_and(|c| c.starts_with("urn:uuid:"))));
    // The same body again: the same job, nothing new.
    let again: Value = post(jsonl, "", "application/jsonl").await.unwrap().json().await.unwrap();
    assert_eq!(again["id"], json!(id));
    let csv = client
        .get(format!("{}/jobs/{id}?format=csv", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("line,row_id,achievement,outcome,credential,error"), "{csv}");
    assert_eq!(csv.lines().count(), 301);
    assert_eq!(csv.lines().filter(|l| l.contains(",issued,urn:uuid:")).count(), 300);
    // A badge from the batch verifies and carries its row's score.
    let first = outcomes[0]["credential"].as_str().unwrap();
    let record: Value = client
        .get(format!("{}/credentials/{first}", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let report: Value = client
        .post(format!("{}/credentials/verify", server.base))
        .json(&json!({"verifiableCredential": record["verifiableCredential"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["verified"], json!(true), "{report}");
    assert_eq!(record["verifiableCredential"]["credentialSubject"]["result"][0]["value"], json!("90"));
}

/// Every stored badge verifies: all of them, through the server's verifier, 16 at a time.
async fn all_verify(server: &ServerProcess, expected: usize) {
    let client = http_client();
    let mut items = Vec::new();
    loop {
        let page: Value = client
            .get(format!("{}/credentials?limit=1000&offset={}", server.base, items.len()))
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let got = page["credentials"].as_array().cloned().unwrap_or_default();
        if got.is_empty() {
            break;
        }
        items.extend(got);
    }
    assert_eq!(items.len(), expected, "exactly {expected} badges");
    let mut recipients: Vec<String> =
        items.iter().map(|r| r["recipient"].as_str().unwrap_or_default().to_string()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), expected, "one badge per learner, no duplicates");
    let mut tasks = tokio::task::JoinSet::new();
    let mut failures = 0;
    for item in items {
        if tasks.len() >= 16 {
            failures += tasks.join_next().await.unwrap().unwrap();
        }
        let (client, base) = (client.clone(), server.base.clone());
        tasks.spawn(async move {
            let report: Value = client
                .post(format!("{base}/credentials/verify"))
                .json(&json!({"verifiableCredential": item["verifiableCredential"]}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            usize::from(report["verified"] != json!(true))
        });
    }
    while let Some(result) = tasks.join_next().await {
        failures += result.unwrap();
    }
    assert_eq!(failures, 0, "every badge verifies");
}

#[tokio::test]
async fn kill_9_mid_batch_then_rerun_gives_exactly_5000_badges_from_the_cli_and_from_the_server() {
    const ROWS: usize = 5000;
    // The CLI on the data folder, killed mid-run and run again.
    let data = temp_data_dir("bulk-crash-cli");
    let achievement = add_achievement(&data, "Crash course");
    let file = data.join("rows.csv");
    std::fs::write(&file, rows_csv(&achievement, ROWS)).unwrap();
    let path = file.to_string_lossy().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_laurel"))
        .arg("--data")
        .arg(&data)
        .args(["award", "--csv", &path])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed a moment in (a debug build awards 5,000 rows in tens of seconds).
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let _ = child.kill();
    let _ = child.wait();
    let partial = credential_count(&data);
    println!("the CLI was killed with {partial} of {ROWS} badges stored");
    let out = laurel_cli(&data, &["award", "--csv", &path]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(credential_count(&data), ROWS);

    // The server: the batch posted, the server killed mid-batch, restarted: its worker
    // finishes the job by itself; posting the same file again changes nothing.
    let data = temp_data_dir("bulk-crash-server");
    let achievement = add_achievement(&data, "Crash course");
    let body = rows_csv(&achievement, ROWS);
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let start = || ServerProcess::start_on(&data, &listen, &["--admin-token", "bulk-token"]);
    let mut server = start();
    let client = http_client();
    let response = client
        .post(format!("{}/awards/batch", server.base))
        .bearer_auth("bulk-token")
        .header("content-type", "text/csv")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    // A new client per poll: a pooled connection to the killed server would be reused.
    let job_of = |base: String| {
        let client = http_client();
        let id = id.clone();
        async move {
            client
                .get(format!("{base}/jobs/{id}"))
                .bearer_auth("bulk-token")
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    loop {
        let job = job_of(server.base.clone()).await;
        if job["done"].as_u64().unwrap_or(0) > 0 || job["state"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.kill9();
    server = start();
    server.token = "bulk-token".into();
    let job = loop {
        let job = job_of(server.base.clone()).await;
        if job["state"] == "done" {
            break job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(job["done"], json!(ROWS), "{job}");
    let again = http_client()
        .post(format!("{}/awards/batch", server.base))
        .bearer_auth("bulk-token")
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 202);
    all_verify(&server, ROWS).await;
}
