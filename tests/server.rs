//! The real `laurel serve` binary on an ephemeral loopback port: issue/verify, auth, bad input,
//! restarts, and SIGKILL during a burst of issues.

mod common;

use common::{http_client, temp_data_dir, ServerProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn vc11() -> Value {
    json!({
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": {},
        "credentialSubject": {"id": "did:example:subject"}
    })
}

fn badge() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Server badge",
        "issuer": {"type": ["Profile"]},
        "credentialSubject": {
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "achievement": {"id": "https://example.com/a/1", "type": ["Achievement"], "name": "Server", "description": "Issued over HTTP", "criteria": {"narrative": "Ask."}}
        }
    })
}

async fn post(
    server: &ServerProcess,
    path: &str,
    body: &Value,
    token: Option<&str>,
) -> (StatusCode, Value, String) {
    let mut request = http_client().post(format!("{}{path}", server.base)).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body, content_type)
}

async fn get(server: &ServerProcess, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = http_client().get(format!("{}{path}", server.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn issue_then_verify_in_every_format() {
    let data = temp_data_dir("srv-formats");
    let server = ServerProcess::start(&data, &[]);
    for (format, credential) in [("di", badge()), ("ecdsa", badge()), ("jwt", badge()), ("di", vc11())] {
        let (status, body, content_type) = post(
            &server,
            "/credentials/issue",
            &json!({"credential": credential, "options": {"format": format}}),
            Some(&server.token),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{format}: {body}");
        assert!(content_type.contains("json"));
        let vc = body["verifiableCredential"].clone();
        let (status, report, _) = post(
            &server,
            "/credentials/verify",
            &json!({"verifiableCredential": vc, "options": {"checks": ["proof"]}}),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{format}: {report}");
        assert_eq!(report["verified"], json!(true));
        assert_eq!(report["errors"], json!([]));
        // Tampered: 400 with the same shape.
        if let Value::Object(_) = vc {
            let mut tampered = vc.clone();
            tampered["credentialSubject"]["id"] = json!("did:example:mallory");
            let (status, report, _) =
                post(&server, "/credentials/verify", &json!({"verifiableCredential": tampered}), None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(report["verified"], json!(false));
            assert!(report["errors"][0]["type"].is_string() && report["errors"][0]["title"].is_string());
        }
    }
}

#[tokio::test]
async fn issuing_needs_the_admin_token() {
    let data = temp_data_dir("srv-auth");
    let server = ServerProcess::start(&data, &[]);
    let (status, body, content_type) =
        post(&server, "/credentials/issue", &json!({"credential": vc11()}), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(content_type.contains("problem+json"), "{content_type}");
    assert_eq!(body["status"], json!(401));
    let (status, _, _) =
        post(&server, "/credentials/issue", &json!({"credential": vc11()}), Some("wrong-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&server, "/credentials", None).await.0, StatusCode::UNAUTHORIZED);
    // The configured token replaces the stored one.
    drop(server);
    let server = ServerProcess::start(&data, &["--admin-token", "configured-secret"]);
    let (status, _, _) =
        post(&server, "/credentials/issue", &json!({"credential": vc11()}), Some("configured-secret")).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_issue_requests_get_400_problem_details() {
    let data = temp_data_dir("srv-bad");
    let server = ServerProcess::start(&data, &[]);
    let mut cases: Vec<(String, Value)> =
        vec![("verifiableCredential instead of credential".into(), json!({"verifiableCredential": vc11()}))];
    for (field, values) in [
        ("@context", vec![Value::Null, json!(4), json!({}), json!(false)]),
        ("type", vec![Value::Null, json!(true), json!(4), json!([])]),
        ("issuer", vec![Value::Null, json!(true), json!(4), json!([])]),
        ("credentialSubject", vec![Value::Null, json!(true), json!(4), json!([]), json!("did:example:1234")]),
    ] {
        let mut missing = vc11();
        missing.as_object_mut().unwrap().remove(field);
        cases.push((format!("{field} missing"), json!({"credential": missing})));
        for value in values {
            let mut c = vc11();
            c[field] = value.clone();
            cases.push((format!("{field} = {value}"), json!({"credential": c})));
        }
    }
    let mut undefined = vc11();
    undefined["credentialSubject"]["undefinedTerm"] = json!("dropped when signing");
    cases.push(("undefined term".into(), json!({"credential": undefined})));
    let mut undefined_type = vc11();
    undefined_type["type"] = json!(["VerifiableCredential", "InvalidType"]);
    cases.push(("undefined type".into(), json!({"credential": undefined_type})));
    cases.push(("options not an object".into(), json!({"credential": vc11(), "options": 5})));
    cases.push(("unknown format".into(), json!({"credential": vc11(), "options": {"format": "pgp"}})));
    for (name, body) in cases {
        let (status, problem, content_type) =
            post(&server, "/credentials/issue", &body, Some(&server.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {problem}");
        assert!(content_type.contains("json"), "{name}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{name}: {problem}");
    }
    // Not JSON, wrong content type, oversized, truncated.
    let client = http_client();
    let url = format!("{}/credentials/issue", server.base);
    let response = client
        .post(&url)
        .bearer_auth(&server.token)
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = client
        .post(&url)
        .bearer_auth(&server.token)
        .header("content-type", "application/json")
        .body("{\"credential\": {")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let big = format!("{{\"credential\": \"{}\"}}", "x".repeat(2 << 20));
    let response = client
        .post(&url)
        .bearer_auth(&server.token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.headers()["content-type"].to_str().unwrap().contains("json"));
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let response = client
        .post(&url)
        .bearer_auth(&server.token)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Verify endpoint: bad shapes.
    for body in [
        json!({}),
        json!({"verifiableCredential": 5}),
        json!({"verifiableCredential": serde_json::to_string(&vc11()).unwrap()}),
        json!([1]),
    ] {
        let (status, _, content_type) = post(&server, "/credentials/verify", &body, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(content_type.contains("json"));
    }
}

#[tokio::test]
async fn records_profiles_dids_and_operations_endpoints() {
    let data = temp_data_dir("srv-records");
    let server = ServerProcess::start(&data, &[]);
    let (status, profile, _) = post(&server, "/profiles", &json!({"name": "Laurel Academy", "url": "https://academy.example", "email": "badges@academy.example", "image": "https://academy.example/logo.png", "description": "Test issuer"}), Some(&server.token)).await;
    assert_eq!(status, StatusCode::CREATED, "{profile}");
    let did = profile["id"].as_str().unwrap().to_string();
    let (status, body, _) =
        post(&server, "/profiles", &json!({"name": 5, "bogus": true}), Some(&server.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    let (status, body) = get(&server, &format!("/profiles/{did}"), Some(&server.token)).await;
    assert_eq!((status, body["name"].clone()), (StatusCode::OK, json!("Laurel Academy")));

    let mut ids = Vec::new();
    for i in 0..3 {
        let (status, body, _) = post(
            &server,
            "/credentials/issue",
            &json!({"credential": badge(), "options": {"credentialId": format!("urn:example:cred-{i}")}}),
            Some(&server.token),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // The stored profile is the issuer of the badge.
        assert_eq!(body["verifiableCredential"]["issuer"]["name"], json!("Laurel Academy"));
        ids.push(format!("urn:example:cred-{i}"));
    }
    let (status, _, _) = post(
        &server,
        "/credentials/issue",
        &json!({"credential": badge(), "options": {"credentialId": "urn:example:cred-0"}}),
        Some(&server.token),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, opted_out, _) = post(
        &server,
        "/credentials/issue",
        &json!({"credential": badge(), "options": {"credentialStatus": false}}),
        Some(&server.token),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(opted_out["verifiableCredential"].get("credentialStatus").is_none());
    let (_, with_status, _) =
        post(&server, "/credentials/issue", &json!({"credential": badge()}), Some(&server.token)).await;
    assert_eq!(
        with_status["verifiableCredential"]["credentialStatus"]["type"],
        json!("BitstringStatusListEntry")
    );
    let (status, record) = get(&server, "/credentials/urn:example:cred-1", Some(&server.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["verifiableCredential"]["id"], json!("urn:example:cred-1"));
    assert_eq!(record["recipient"], json!("did:example:learner"));
    assert_eq!(
        get(&server, "/credentials/urn:example:nope", Some(&server.token)).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, page) = get(&server, "/credentials?limit=2&offset=1", Some(&server.token)).await;
    assert_eq!(page["total"], json!(5));
    let listed: Vec<&str> =
        page["credentials"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ["urn:example:cred-1", "urn:example:cred-2"]);
    assert_eq!(get(&server, "/credentials?limit=0", Some(&server.token)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get(&server, "/credentials?limit=abc", Some(&server.token)).await.0, StatusCode::BAD_REQUEST);

    let (status, resolution) = get(&server, &format!("/1.0/identifiers/{did}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resolution["didDocument"]["id"], json!(did));
    let (status, resolution) = get(&server, "/1.0/identifiers/did:example:123", None).await;
    assert!(!status.is_success());
    assert_eq!(resolution["didResolutionMetadata"]["error"], json!("methodNotSupported"));
    let (status, resolution) = get(&server, "/1.0/identifiers/not-a-did", None).await;
    assert_eq!(
        (status, resolution["didResolutionMetadata"]["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalidDid"))
    );

    let (status, jwks) = get(&server, "/.well-known/jwks.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(jwks["keys"].as_array().unwrap().iter().all(|k| k.get("d").is_none()));
    assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"].as_str().unwrap().starts_with(&did)));
    assert_eq!(get(&server, "/healthz", None).await.0, StatusCode::OK);
    let (status, openapi) = get(&server, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/credentials/issue",
        "/credentials/verify",
        "/credentials/status",
        "/presentations/verify",
        "/challenges",
        "/status/{listId}",
        "/keys/rotate",
        "/images/{key}",
        "/1.0/identifiers/{did}",
        "/achievements",
        "/achievements/{id}/awards",
        "/rules",
        "/pathways",
        "/events",
        "/learners/{id}/progress",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} missing from /openapi.json");
    }
    let (status, body) = get(&server, "/no/such/thing", None).await;
    assert_eq!((status, body["status"].clone()), (StatusCode::NOT_FOUND, json!(404)));
    let (status, body) = get(&server, "/credentials/issue", None).await;
    assert_eq!((status, body["status"].clone()), (StatusCode::METHOD_NOT_ALLOWED, json!(405)));
}

#[tokio::test]
async fn a_restart_keeps_credentials_and_the_issuer_key() {
    let data = temp_data_dir("srv-restart");
    let server = ServerProcess::start(&data, &[]);
    let (_, body, _) =
        post(&server, "/credentials/issue", &json!({"credential": badge()}), Some(&server.token)).await;
    let vc = body["verifiableCredential"].clone();
    let id = vc["id"].as_str().unwrap().to_string();
    let token = server.token.clone();
    drop(server);
    let server = ServerProcess::start(&data, &[]);
    assert_eq!(server.token, token);
    let (status, record) = get(&server, &format!("/credentials/{id}"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["verifiableCredential"], vc);
    let (_, again, _) =
        post(&server, "/credentials/issue", &json!({"credential": badge()}), Some(&token)).await;
    assert_eq!(
        again["verifiableCredential"]["issuer"]["id"], vc["issuer"]["id"],
        "same issuer key after restart"
    );
}

#[tokio::test]
async fn https_with_a_self_signed_certificate() {
    let data = temp_data_dir("srv-tls");
    let server = ServerProcess::start(&data, &["--self-signed"]);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    assert!(data.join("self-signed-cert.pem").exists());
    let (status, body, _) =
        post(&server, "/credentials/issue", &json!({"credential": vc11()}), Some(&server.token)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, _) = post(
        &server,
        "/credentials/verify",
        &json!({"verifiableCredential": body["verifiableCredential"]}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_same_data_folder_cannot_be_served_twice() {
    let data = temp_data_dir("srv-lock");
    let _first = ServerProcess::start(&data, &[]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_laurel"))
        .arg("--data")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Kills the server with SIGKILL during a burst of concurrent issues, restarts it, and checks
/// that every credential whose 201 reached the client is there. `LAUREL_CRASH_CYCLES` sets the
/// number of kill/reopen cycles (CI: 3; the slow tier runs 50).
#[tokio::test]
async fn sigkill_during_a_burst_loses_no_acknowledged_credential() {
    let cycles: usize = std::env::var("LAUREL_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let data = temp_data_dir("srv-crash");
    let mut acknowledged: Vec<String> = Vec::new();
    for cycle in 0..cycles {
        let mut server = ServerProcess::start(&data, &["--admin-token", "crash-test"]);
        // Everything acknowledged in earlier cycles must be here.
        for id in &acknowledged {
            let (status, _) = get(&server, &format!("/credentials/{id}"), Some("crash-test")).await;
            assert_eq!(status, StatusCode::OK, "cycle {cycle}: acknowledged {id} lost");
        }
        let base = server.base.clone();
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..8 {
            let base = base.clone();
            tasks.spawn(async move {
                let client = http_client();
                let mut mine = Vec::new();
                for n in 0..1000 {
                    let id = format!("urn:crash:{cycle}-{worker}-{n}");
                    let sent = client
                        .post(format!("{base}/credentials/issue"))
                        .bearer_auth("crash-test")
                        .json(&json!({"credential": vc11(), "options": {"credentialId": id}}))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == StatusCode::CREATED => mine.push(id),
                        _ => break,
                    }
                }
                mine
            });
        }
        // Kill at a random moment of the burst.
        let delay = 50 + (rand_u64() % 400);
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        server.kill9();
        while let Some(result) = tasks.join_next().await {
            acknowledged.extend(result.unwrap());
        }
    }
    let server = ServerProcess::start(&data, &["--admin-token", "crash-test"]);
    for id in &acknowledged {
        let (status, _) = get(&server, &format!("/credentials/{id}"), Some("crash-test")).await;
        assert_eq!(status, StatusCode::OK, "acknowledged {id} lost after the last kill");
    }
    let (_, page) = get(&server, "/credentials?limit=1", Some("crash-test")).await;
    assert!(page["total"].as_u64().unwrap() as usize >= acknowledged.len());
    eprintln!("{cycles} SIGKILL cycles, {} acknowledged credentials, none lost", acknowledged.len());
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish()
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_and_flushes() {
    let data = temp_data_dir("srv-term");
    let mut server = ServerProcess::start(&data, &["--admin-token", "t"]);
    let (status, body, _) =
        post(&server, "/credentials/issue", &json!({"credential": vc11()}), Some("t")).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = body["verifiableCredential"]["id"].as_str().unwrap().to_string();
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let started = std::time::Instant::now();
    let exit = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "did not stop on SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    let server = ServerProcess::start(&data, &["--admin-token", "t"]);
    assert_eq!(get(&server, &format!("/credentials/{id}"), Some("t")).await.0, StatusCode::OK);
}

/// VC DM 2.0 §5.3 over HTTP: the issuer refuses a relatedResource whose digest is not the
/// resource's (before a status index is spent); the verifier reports a tampered one as an
/// error, and an unobtainable one as a warning.
#[tokio::test]
async fn related_resource_digests_are_checked_when_issuing_and_verifying() {
    let data = temp_data_dir("srv-related");
    let server = ServerProcess::start(&data, &[]);
    let token = Some(server.token.as_str());
    // The digest VC DM 2.0 (B.1) publishes for its base context, as a bare SHA-256 multibase.
    let published = "uWZVc7WaX1h4D8rJVb-vlMIqxaEKEb1tYbX8fet7JJzQ";
    let with = |resource: Value| {
        let mut credential = badge();
        credential["relatedResource"] = resource;
        json!({"credential": credential})
    };
    let good = json!([{"id": "https://www.w3.org/ns/credentials/v2", "digestMultibase": published}]);
    let (status, issued, _) = post(&server, "/credentials/issue", &with(good), token).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");

    let wrong = json!([{"id": "https://www.w3.org/ns/credentials/v2", "digestMultibase": "uM4RgWQc3RUDtjJCSgTJtTfvpZ7SPEg_LNO0ESlovQC0"}]);
    let (status, problem, content_type) =
        post(&server, "/credentials/issue", &with(wrong.clone()), token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(content_type.starts_with("application/problem+json"));
    assert!(problem["detail"].as_str().unwrap().contains("does not match"), "{problem}");

    // Verifying: the signed credential with its resource's digest changed after signing.
    let mut tampered = issued["verifiableCredential"].clone();
    tampered["relatedResource"] = wrong;
    let (_, report, _) =
        post(&server, "/credentials/verify", &json!({"verifiableCredential": tampered}), None).await;
    assert!(
        report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["detail"].as_str().unwrap().contains("relatedResource")),
        "{report}"
    );

    let (_, report, _) = post(
        &server,
        "/credentials/verify",
        &json!({"verifiableCredential": issued["verifiableCredential"]}),
        None,
    )
    .await;
    assert_eq!(report["verified"], json!(true), "{report}");
    assert!(report["checks"].as_array().unwrap().contains(&json!("related-resources")), "{report}");
}
