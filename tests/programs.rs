//! Badge programs on the real server (issue 16): the Python pathway walkthrough end to end
//! (79 -> nothing, 80 -> badge, a duplicate event -> nothing new, every level -> the certificate
//! exactly once), a Caliper GradeEvent envelope, webhook signatures, malformed rules, unknown
//! achievements, idempotent awards, and a kill -9 while events stream in.

mod common;

use common::{http_client, temp_data_dir, ServerProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(server: &ServerProcess) -> Api {
        Api { client: http_client(), base: server.base.clone(), token: server.token.clone() }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut request =
            self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn achievement(&self, name: &str, kind: &str) -> String {
        let body = json!({
            "type": ["Achievement"], "name": name, "description": format!("{name}, a step of the Data Science pathway"),
            "criteria": {"narrative": "Pass the final assessment with a score of 80 or more."},
            "achievementType": kind,
            "alignment": [{"targetName": name, "targetUrl": "https://example.edu/skills/data", "targetFramework": "Example Skills"}],
            "resultDescription": [{"id": "urn:example:score", "type": ["ResultDescription"], "name": "Score", "resultType": "Percent", "valueMin": "0", "valueMax": "100"}]
        });
        let (status, stored) = self.post("/achievements", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{stored}");
        assert!(
            stored["id"].as_str().unwrap().starts_with(&format!("{}/achievements/", self.base)),
            "{stored}"
        );
        stored["id"].as_str().unwrap().to_string()
    }

    /// Waits until the event has been processed; its record.
    async fn processed(&self, id: &str) -> Value {
        for _ in 0..200 {
            let (status, event) = self.get(&format!("/events/{id}")).await;
            if status == StatusCode::OK && event["state"] == "done" {
                return event;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("event {id} was not processed");
    }

    async fn verify(&self, credential: &Value) -> Value {
        self.post("/credentials/verify", &json!({"verifiableCredential": credential})).await.1
    }
}

/// Validates against 1EdTech's OB 3.0 AchievementCredential JSON Schema (from ../shared/spec;
/// says SKIP when it is absent).
fn assert_schema_valid(credential: &Value) {
    let Some(spec) = common::spec_dir("assert_schema_valid") else { return };
    let schema = common::read_json(&spec.join("ob-v3p0/schema/achievementcredential.json"));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft201909)
        .build(&schema)
        .expect("the schema compiles");
    // 1EdTech's strict schema types `proof` as an array; VC DM 2.0 (and the schema's JSON-LD
    // compaction-tolerant variant the OB spec points validators to) also allow one object,
    // which is what Laurel writes. Everything else is checked as the strict schema says.
    let mut credential = credential.clone();
    if credential["proof"].is_object() {
        credential["proof"] = json!([credential["proof"].clone()]);
    }
    let errors: Vec<String> =
        validator.iter_errors(&credential).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    assert!(errors.is_empty(), "not valid against the OB 3.0 schema: {errors:?}\n{credential}");
}

fn lms_event(id: &str, email: &str, course: &str, score: u32) -> Value {
    json!({"id": id, "type": "assessment_passed", "occurredAt": "2026-11-30T10:00:00Z",
           "learner": {"email": email, "name": "Ada Lovelace"}, "course": course, "score": score, "maxScore": 100,
           "evidence": [{"url": format!("https://lms.example.edu/attempts/{id}"), "name": "Final assessment"}]})
}

#[tokio::test]
async fn the_python_pathway_walkthrough_issues_exactly_what_it_should() {
    let data = temp_data_dir("programs-walkthrough");
    let server = ServerProcess::start(&data, &[]);
    let api = Api::new(&server);
    let basics = api.achievement("Python Basics", "Badge").await;
    let analysis = api.achievement("Data Analysis", "Badge").await;
    let ml = api.achievement("Machine Learning", "Badge").await;
    let certificate = api.achievement("Data Science Professional Certificate", "Certificate").await;
    for (course, achievement) in [("py-101", &basics), ("da-201", &analysis), ("ml-301", &ml)] {
        let rule = json!({"event": "assessment_passed", "condition": format!("course == \"{course}\" and score >= 80"), "award": achievement});
        let (status, body) = api.post("/rules", &rule).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) =
        api.post("/pathways", &json!({"achievement": certificate, "requires": [basics, analysis, ml]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let email = "Ada@Example.edu";
    let send = |event: Value| {
        let api = &api;
        async move { api.post("/events", &event).await }
    };
    // 79: no badge.
    let (status, answer) = send(lms_event("e-79", email, "py-101", 79)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let event = api.processed("e-79").await;
    assert_eq!(event["outcome"]["rules"][0]["matched"], json!(false), "{event}");
    assert!(
        event["outcome"]["rules"].as_array().unwrap().iter().all(|r| r.get("issued").is_none()),
        "{event}"
    );
    // 80: the badge.
    send(lms_event("e-80", email, "py-101", 80)).await;
    let event = api.processed("e-80").await;
    let matched: Vec<&Value> = event["outcome"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["matched"] == json!(true))
        .collect();
    assert_eq!(matched.len(), 1, "{event}");
    let badge_id = matched[0]["issued"].as_str().expect("a badge was issued").to_string();
    // The same event again: a duplicate, nothing new.
    let (status, answer) = send(lms_event("e-80", email, "py-101", 80)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["duplicates"], json!(["e-80"]), "{answer}");
    // A second passing event for the same course: the learner already holds the badge.
    send(lms_event("e-95", email, "py-101", 95)).await;
    let event = api.processed("e-95").await;
    assert!(event["outcome"]["rules"].to_string().contains("alreadyHeld"), "{event}");

    let (_, record) = api.get(&format!("/credentials/{badge_id}")).await;
    let badge = record["verifiableCredential"].clone();
    let report = api.verify(&badge).await;
    assert_eq!(report["verified"], json!(true), "{report}");
    assert_eq!(badge["credentialSubject"]["achievement"]["id"], json!(basics));
    assert_eq!(badge["credentialSubject"]["result"][0]["value"], json!("80"));
    assert!(badge["evidence"][0]["id"].as_str().unwrap().ends_with("/attempts/e-80"), "{badge}");
    assert!(badge["credentialSubject"]["identifier"][0]["identityHash"]
        .as_str()
        .unwrap()
        .starts_with("sha256$"));
    assert!(!badge.to_string().to_lowercase().contains("ada@example.edu"), "the email is never published");
    assert_schema_valid(&badge);

    // Progress: one of three; awarding the certificate directly is refused.
    let (_, progress) = api.get("/learners/ada@example.edu/progress").await;
    assert_eq!(progress["pathways"][0]["earned"].as_array().unwrap().len(), 1, "{progress}");
    assert_eq!(progress["pathways"][0]["missing"].as_array().unwrap().len(), 2, "{progress}");
    let (status, problem) = api
        .post(
            &format!("{certificate}/awards").replace(&api.base, ""),
            &json!({"recipient": {"email": email}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("lacks the prerequisites"), "{problem}");

    // The other two levels: the certificate, once.
    send(lms_event("e-da", email, "da-201", 88)).await;
    api.processed("e-da").await;
    send(lms_event("e-ml", email, "ml-301", 91)).await;
    let event = api.processed("e-ml").await;
    let certificates = event["outcome"]["pathwayCredentials"].as_array().cloned().unwrap_or_default();
    assert_eq!(certificates.len(), 1, "{event}");
    let (_, progress) = api.get("/learners/ada@example.edu/progress").await;
    assert_eq!(progress["pathways"][0]["complete"], json!(true), "{progress}");
    assert_eq!(progress["pathways"][0]["credential"], certificates[0], "{progress}");
    let (_, record) = api.get(&format!("/credentials/{}", certificates[0].as_str().unwrap())).await;
    let certificate_vc = record["verifiableCredential"].clone();
    assert_eq!(api.verify(&certificate_vc).await["verified"], json!(true));
    assert_schema_valid(&certificate_vc);
    assert_eq!(certificate_vc["evidence"].as_array().unwrap().len(), 3, "it references its components");
    assert_eq!(certificate_vc["credentialSubject"]["achievement"]["related"].as_array().unwrap().len(), 3);
    // Another event after completion issues no second certificate.
    send(lms_event("e-again", email, "ml-301", 99)).await;
    let event = api.processed("e-again").await;
    assert!(event["outcome"].get("pathwayCredentials").is_none(), "{event}");

    // The learner's badges, by email: four, one each.
    let (_, listing) = api.get("/credentials?recipient=ada@example.edu").await;
    let listed =
        listing["items"].as_array().or(listing["credentials"].as_array()).cloned().unwrap_or_default();
    assert_eq!(listed.len(), 4, "{listing}");
}

#[tokio::test]
async fn catalog_rules_awards_and_event_authentication_refuse_what_they_should() {
    let data = temp_data_dir("programs-refusals");
    let server = ServerProcess::start(&data, &[]);
    let api = Api::new(&server);
    let badge = api.achievement("Statistics", "Badge").await;
    let short = badge.rsplit('/').next().unwrap().to_string();

    // Malformed rule: 400 pointing at the position.
    let (status, problem) = api
        .post(
            "/rules",
            &json!({"event": "assessment_passed", "condition": "score >= \"80\"", "award": badge}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem.to_string().contains("column 10"), "{problem}");
    let (status, _) = api.post("/rules", &json!({"event": "assessment_passed", "condition": "score >= 80", "award": "no-such-achievement"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .post("/achievements/no-such-achievement/awards", &json!({"recipient": {"email": "x@example.org"}}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, problem) =
        api.post("/achievements", &json!({"name": "No criteria", "description": "d"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");

    // Awards are idempotent by key, and one per learner.
    let award = |key: &'static str, email: &'static str| {
        let api = &api;
        let path = format!("/achievements/{short}/awards");
        async move {
            let response = api
                .client
                .post(format!("{}{path}", api.base))
                .bearer_auth(&api.token)
                .header("idempotency-key", key)
                .json(
                    &json!({"recipient": {"email": email}, "results": [{"type": ["Result"], "value": "92"}]}),
                )
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, first) = award("k-1", "bob@example.org").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = award("k-1", "bob@example.org").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    let (status, _) = award("k-1", "carol@example.org").await;
    assert_eq!(status, StatusCode::CONFLICT, "a key reused for another award");
    let (status, _) = award("k-2", "bob@example.org").await;
    assert_eq!(status, StatusCode::CONFLICT, "one badge per learner and achievement");
    assert_eq!(api.verify(&first["verifiableCredential"]).await["verified"], json!(true));
    assert_schema_valid(&first["verifiableCredential"]);
    // Retired: no new awards; the issued badge stays valid.
    let (status, _) = api.post(&format!("/achievements/{short}/retire"), &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = award("k-3", "dave@example.org").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(api.verify(&first["verifiableCredential"]).await["verified"], json!(true));

    // Events: no credentials -> 401; a sender's token and its signed webhooks are accepted.
    let event = json!({"id": "w-1", "type": "assessment_passed", "learner": {"email": "eve@example.org"}, "score": 90});
    let unauthenticated = api.client.post(format!("{}/events", api.base)).json(&event).send().await.unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let (status, sender) = api.post("/senders", &json!({"name": "canvas"})).await;
    assert_eq!(status, StatusCode::CREATED, "{sender}");
    let secret = sender["webhookSecret"].as_str().unwrap();
    let body = serde_json::to_vec(&event).unwrap();
    let signed = |id: &str, at: i64, body: &[u8]| {
        let signature = laurel::program::inbound::sign_webhook(secret, id, at, body).unwrap();
        api.client
            .post(format!("{}/events", api.base))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", at.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(signed("msg-1", now, &body).send().await.unwrap().status(), StatusCode::ACCEPTED);
    assert_eq!(
        signed("msg-2", now - 301, &body).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "stale"
    );
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let forged = signed("msg-3", now, &body).body(tampered).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "a signature over another body");
    let by_token = api
        .client
        .post(format!("{}/events", api.base))
        .bearer_auth(sender["token"].as_str().unwrap())
        .json(&json!({"id": "w-2", "type": "assessment_passed", "learner": {"email": "eve@example.org"}, "score": 90}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), StatusCode::ACCEPTED);
    let (status, problem) = api.post("/events", &json!({"id": "x", "type": "t", "learner": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
}

#[tokio::test]
async fn a_caliper_grade_event_awards_the_badge() {
    let data = temp_data_dir("programs-caliper");
    let server = ServerProcess::start(&data, &[]);
    let api = Api::new(&server);
    let badge = api.achievement("Assessment 1", "Badge").await;
    let rule = json!({"event": "GradeEvent", "condition": "score / max_score >= 0.8", "award": badge});
    assert_eq!(api.post("/rules", &rule).await.0, StatusCode::CREATED);
    let envelope = json!({
        "sensor": "https://example.edu/sensors/1", "sendTime": "2026-11-30T10:00:00.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "data": [{
            "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
            "id": "urn:uuid:a50ca17f-5971-47bb-8fca-4e6e6879001d", "type": "GradeEvent",
            "actor": {"id": "https://example.edu/autograder", "type": "SoftwareApplication"},
            "action": "Graded",
            "object": {"id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1/users/554433/attempts/1", "type": "Attempt",
                       "assignee": {"id": "https://example.edu/users/554433", "type": "Person", "email": "grace@example.edu"},
                       "assignable": {"id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1", "type": "Assessment"},
                       "count": 1},
            "generated": {"id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1/users/554433/attempts/1/scores/1",
                          "type": "Score", "scoreGiven": 85.0, "maxScore": 100.0},
            "eventTime": "2026-11-30T09:59:00.000Z"
        }]
    });
    let (status, answer) = api.post("/events", &envelope).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let event = api.processed("urn:uuid:a50ca17f-5971-47bb-8fca-4e6e6879001d").await;
    let issued = event["outcome"]["rules"][0]["issued"].as_str().expect("issued").to_string();
    let (_, record) = api.get(&format!("/credentials/{issued}")).await;
    assert_eq!(api.verify(&record["verifiableCredential"]).await["verified"], json!(true));
    assert_schema_valid(&record["verifiableCredential"]);
}

/// kill -9 while events stream in: after restart every acknowledged event is processed exactly
/// once, and no learner holds two copies of one badge. `LAUREL_PROGRAM_CRASH_CYCLES` (default 2).
#[tokio::test]
async fn acknowledged_events_survive_kill_9_and_award_exactly_once() {
    let cycles: usize =
        std::env::var("LAUREL_PROGRAM_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let data = temp_data_dir("programs-crash");
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let start = || ServerProcess::start_on(&data, &listen, &["--admin-token", "crash-token"]);
    let mut server = start();
    let api_of = |server: &ServerProcess| Api { token: "crash-token".into(), ..Api::new(server) };
    let mut api = api_of(&server);
    let badge = api.achievement("Crash course", "Badge").await;
    let rule = json!({"event": "assessment_passed", "condition": "score >= 50", "award": badge});
    assert_eq!(api.post("/rules", &rule).await.0, StatusCode::CREATED);
    let mut acknowledged = Vec::new();
    let mut n = 0;
    for cycle in 0..cycles {
        let deadline =
            std::time::Instant::now() + std::time::Duration::from_millis(300 + 137 * cycle as u64 % 400);
        while std::time::Instant::now() < deadline {
            n += 1;
            // Learners repeat, so duplicates of one badge would show.
            let event = json!({"id": format!("c-{n}"), "type": "assessment_passed", "learner": {"email": format!("l{}@example.org", n % 7)}, "score": 60});
            if let Ok(response) = api
                .client
                .post(format!("{}/events", api.base))
                .bearer_auth("crash-token")
                .json(&event)
                .send()
                .await
            {
                if response.status() == StatusCode::ACCEPTED {
                    acknowledged.push(format!("c-{n}"));
                }
            }
        }
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        server = start();
        api = api_of(&server);
    }
    for id in &acknowledged {
        let event = api.processed(id).await;
        assert_eq!(event["state"], "done", "{event}");
    }
    let (_, listing) = api.get("/credentials?limit=1000").await;
    let items =
        listing["items"].as_array().or(listing["credentials"].as_array()).cloned().unwrap_or_default();
    let mut recipients: Vec<String> =
        items.iter().map(|r| r["recipient"].as_str().unwrap_or_default().to_string()).collect();
    recipients.sort();
    let before = recipients.len();
    recipients.dedup();
    assert_eq!(before, recipients.len(), "a learner holds two copies of one badge: {listing}");
    assert!(before <= 7, "at most one badge per learner: {before}");
    assert!(!acknowledged.is_empty());
    println!("{} events acknowledged over {cycles} kill -9 cycles; {before} badges", acknowledged.len());
}

/// The README's "Run a badge program" walkthrough: examples/badge-program.sh against a real
/// server prints what the README says it prints (ids aside). Needs bash, curl and python3.
#[test]
fn the_readme_badge_program_script_prints_what_the_readme_says() {
    for tool in ["bash", "curl", "python3"] {
        if std::process::Command::new(tool).arg("--version").output().is_err() {
            eprintln!("SKIP the_readme_badge_program_script_prints_what_the_readme_says: {tool} is missing; this test did not run");
            return;
        }
    }
    // As the README runs it: from the folder holding the quick start's laurel-data/, whose
    // admin token the script reads (only the test server's URL differs from the default).
    let folder = temp_data_dir("programs-readme");
    let data = folder.join("laurel-data");
    let server = ServerProcess::start(&data, &[]);
    let out = std::process::Command::new("bash")
        .arg(common::repo_path("examples/badge-program.sh"))
        .current_dir(&folder)
        .env("LAUREL_URL", &server.base)
        .env_remove("LAUREL_ADMIN_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let readme = std::fs::read_to_string(common::repo_path("README.md")).unwrap();
    let after = &readme[readme.find("the last lines it prints").expect("the README section")..];
    let expected = after.split("```\n").nth(1).expect("the printed lines");
    let ids = regex_free_ids(&stdout);
    assert_eq!(
        ids.trim_end().lines().rev().take(8).collect::<Vec<_>>(),
        expected.trim_end().lines().rev().collect::<Vec<_>>()
    );
}

/// The script's output with each `urn:uuid:<uuid>` shortened to `urn:uuid:...`, as the README writes it.
fn regex_free_ids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("urn:uuid:") {
        out.push_str(&rest[..at + 9]);
        out.push_str("...");
        rest = rest[at + 9..].trim_start_matches(|c: char| c.is_ascii_hexdigit() || c == '-');
    }
    out.push_str(rest);
    out
}

/// The CLI edge over the same service calls, on a data folder with no server running.
#[test]
fn the_cli_manages_the_catalog_rules_and_pathways() {
    let data = temp_data_dir("programs-cli");
    let laurel = |args: &[&str]| common::laurel_cli(&data, args);
    let json_of = |out: &std::process::Output| -> Value {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let level = json_of(&laurel(&["achievement", "add", "--name", "Level 1", "--criteria", "Pass level 1."]));
    let level = level["id"].as_str().unwrap().to_string();
    let file = data.join("certificate.toml");
    std::fs::write(&file, "name = \"Certificate\"\ndescription = \"All levels\"\nachievementType = \"Certificate\"\n[criteria]\nnarrative = \"Earn every level.\"\n").unwrap();
    let certificate = json_of(&laurel(&["achievement", "add", "--file", &file.display().to_string()]));
    assert_eq!(certificate["achievementType"], json!("Certificate"));
    let certificate = certificate["id"].as_str().unwrap().to_string();
    assert_eq!(json_of(&laurel(&["achievement", "list"])).as_array().unwrap().len(), 2);

    let bad = laurel(&[
        "rule",
        "add",
        "--event",
        "assessment_passed",
        "--condition",
        "score >> 80",
        "--award",
        &level,
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("column"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let rules = data.join("rules.toml");
    std::fs::write(
        &rules,
        format!(
            "[[rule]]\nevent = \"assessment_passed\"\ncondition = \"score >= 80\"\naward = \"{level}\"\n"
        ),
    )
    .unwrap();
    assert_eq!(
        json_of(&laurel(&["rule", "add", "--file", &rules.display().to_string()])).as_array().unwrap().len(),
        1
    );
    json_of(&laurel(&["pathway", "add", "--achievement", &certificate, "--requires", &level]));

    let awarded = json_of(&laurel(&[
        "achievement",
        "award",
        &level,
        "--email",
        "lin@example.org",
        "--idempotency-key",
        "cli-1",
    ]));
    assert!(awarded["id"].as_str().unwrap().starts_with("urn:uuid:"));
    let progress = json_of(&laurel(&["progress", "lin@example.org"]));
    assert_eq!(progress["pathways"][0]["complete"], json!(true), "{progress}");
    assert!(
        progress["pathways"][0]["credential"].is_string(),
        "the pathway credential was issued: {progress}"
    );
    json_of(&laurel(&["achievement", "retire", &level]));
    assert!(!laurel(&["achievement", "award", &level, "--email", "mo@example.org"]).status.success());
}

/// Levels: a pathway with `automatic: false` only gates an award (Level 2 needs its own
/// assessment), refusing it early, or with `queue` holding it until Level 1 arrives.
#[tokio::test]
async fn manual_pathways_gate_awards_and_queued_ones_release_them() {
    let data = temp_data_dir("programs-levels");
    let server = ServerProcess::start(&data, &[]);
    let api = Api::new(&server);
    let level1 = api.achievement("Level 1", "Badge").await;
    let level2 = api.achievement("Level 2", "Badge").await;
    let level3 = api.achievement("Level 3", "Badge").await;
    let path = |id: &str| format!("{}/awards", id.replace(&api.base, ""));
    assert_eq!(
        api.post("/pathways", &json!({"achievement": level2, "requires": [level1], "automatic": false}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        api.post(
            "/pathways",
            &json!({"achievement": level3, "requires": [level2], "automatic": false, "queue": true})
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let (status, _) =
        api.post("/pathways", &json!({"achievement": level1, "requires": [level3], "queue": true})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "queue needs a manual pathway");
    let learner = json!({"recipient": {"email": "kim@example.org"}});
    // Level 2 before Level 1: refused. Level 3 before Level 2: held.
    assert_eq!(api.post(&path(&level2), &learner).await.0, StatusCode::CONFLICT);
    let (status, held) = api.post(&path(&level3), &learner).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{held}");
    let held_id = held["id"].as_str().unwrap().to_string();
    assert_eq!(api.get(&format!("/credentials/{held_id}")).await.0, StatusCode::NOT_FOUND);
    // Level 1: Level 2 is not issued by itself (it needs its own award)...
    assert_eq!(api.post(&path(&level1), &learner).await.0, StatusCode::CREATED);
    let (_, progress) = api.get("/learners/kim@example.org/progress").await;
    assert!(progress.to_string().contains("\"complete\":true"), "{progress}");
    assert_eq!(api.get(&format!("/credentials/{held_id}")).await.0, StatusCode::NOT_FOUND);
    // ...and once awarded, the held Level 3 is released.
    assert_eq!(api.post(&path(&level2), &learner).await.0, StatusCode::CREATED);
    let (status, record) = api.get(&format!("/credentials/{held_id}")).await;
    assert_eq!(status, StatusCode::OK, "the held award was issued: {record}");
    assert_eq!(api.verify(&record["verifiableCredential"]).await["verified"], json!(true));
}

/// `GET /api/verify/{id}`: public, CORS-open, verified live: valid, then revoked after a
/// revocation (with the reason), 404 for an unknown id, and never the learner's email.
#[tokio::test]
async fn the_public_verify_api_answers_live() {
    let data = temp_data_dir("programs-api-verify");
    let server = ServerProcess::start(&data, &[]);
    let api = Api::new(&server);
    let achievement = api.achievement("Public badge", "Badge").await;
    let path = format!("{}/awards", achievement.replace(&api.base, ""));
    let (status, issued) =
        api.post(&path, &json!({"recipient": {"email": "pat@example.org", "name": "Pat"}, "evidence": ["https://example.org/work/1"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let id = issued["id"].as_str().unwrap().to_string();
    let public = |id: String| {
        let client = api.client.clone();
        let url = format!("{}/api/verify/{id}", api.base);
        async move { client.get(url).send().await.unwrap() }
    };
    let response = public(id.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["state"], json!("valid"), "{body}");
    assert_eq!(body["verification"]["verified"], json!(true));
    assert_eq!(body["achievement"]["name"], json!("Public badge"));
    assert_eq!(body["recipient"]["name"], json!("Pat"));
    assert_eq!(body["evidence"][0]["id"], json!("https://example.org/work/1"));
    assert!(!body.to_string().contains("pat@example.org"), "never the email: {body}");
    let revoke = json!({"credentialId": id, "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}, "status": true});
    assert_eq!(api.post("/credentials/status", &revoke).await.0, StatusCode::OK);
    let body: Value = public(id.clone()).await.json().await.unwrap();
    assert_eq!(body["state"], json!("revoked"), "{body}");
    assert!(body["verification"]["errors"].to_string().contains("REVOKED"), "{body}");
    assert_eq!(
        public("urn:uuid:00000000-0000-0000-0000-000000000000".into()).await.status(),
        StatusCode::NOT_FOUND
    );
}
