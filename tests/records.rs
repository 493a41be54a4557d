//! The issuer's records over HTTP against the real `laurel serve` on a loopback port:
//! `GET /credentials/{id}` says whether a badge is revoked or suspended, `GET /credentials`
//! filters by recipient (also a hashed email), achievement, status and issue date, refuses
//! unknown parameters, and `GET /credentials.csv` exports with spreadsheet formulas defused.

mod common;

use common::{http_client, laurel_cli, temp_data_dir, ServerProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// `recipient` is an email (hashed by the service) or a DID (the subject's id).
fn request(id: &str, achievement: &str, recipient: &str) -> Value {
    let mut request = json!({
        "credential": {
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
            "id": id,
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": achievement,
            "issuer": {"type": ["Profile"], "name": "Records Academy"},
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "achievement": {"type": ["Achievement"], "name": achievement, "description": "d", "criteria": {"narrative": "n"}}
            }
        },
        "options": {"statusPurposes": ["revocation", "suspension"]}
    });
    if recipient.starts_with("did:") {
        request["credential"]["credentialSubject"]["id"] = json!(recipient);
    } else {
        request["recipient"] = json!({"email": recipient});
    }
    request
}

async fn get(server: &ServerProcess, path: &str) -> (StatusCode, Value) {
    let response =
        http_client().get(format!("{}{path}", server.base)).bearer_auth(&server.token).send().await.unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

async fn post(server: &ServerProcess, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = http_client()
        .post(format!("{}{path}", server.base))
        .bearer_auth(&server.token)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

fn ids(page: &Value) -> Vec<String> {
    page["credentials"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn records_show_current_status_filter_and_export() {
    let data = temp_data_dir("records");
    let server = ServerProcess::start(&data, &[]);
    let issued = [
        ("urn:example:r1", "Rust 101", "Ada@Example.com"),
        ("urn:example:r2", "Rust 101", "did:example:bob"),
        ("urn:example:r3", "=HYPERLINK(\"http://evil\")", "ada@example.com"),
    ];
    for (id, achievement, recipient) in &issued {
        let (status, body) = post(&server, "/credentials/issue", &request(id, achievement, recipient)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    let (status, record) = get(&server, "/credentials/urn:example:r1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["currentStatus"]["state"], json!("active"), "{record}");
    assert_eq!(record["currentStatus"]["managed"], json!(true));
    assert_eq!(record["achievement"]["name"], json!("Rust 101"));

    for (id, purpose) in [("urn:example:r1", "revocation"), ("urn:example:r2", "suspension")] {
        let (status, body) = post(
            &server,
            "/credentials/status",
            &json!({"credentialId": id, "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": purpose}, "status": true}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, record) = get(&server, "/credentials/urn:example:r1").await;
    assert_eq!(record["currentStatus"]["state"], json!("revoked"));
    assert_eq!(record["currentStatus"]["revoked"], json!(true));
    let (_, record) = get(&server, "/credentials/urn:example:r2").await;
    assert_eq!(record["currentStatus"]["state"], json!("suspended"));
    assert_eq!(record["currentStatus"]["revoked"], json!(false));

    // The email matches the hashed identity whatever its case; the DID matches the subject id.
    let (status, page) = get(&server, "/credentials?recipient=ADA%40example.com").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), ["urn:example:r1", "urn:example:r3"]);
    assert_eq!(page["total"], json!(2));
    let (_, page) = get(&server, "/credentials?recipient=did:example:bob").await;
    assert_eq!(ids(&page), ["urn:example:r2"]);
    let (_, page) = get(&server, "/credentials?recipient=nobody%40example.com").await;
    assert_eq!(ids(&page), Vec::<String>::new());
    let (_, page) = get(&server, "/credentials?achievement=Rust%20101").await;
    assert_eq!(ids(&page), ["urn:example:r1", "urn:example:r2"]);
    let achievement_id = page["credentials"][0]["achievement"]["id"].as_str().unwrap().to_string();
    let (_, page) = get(&server, &format!("/credentials?achievement={achievement_id}")).await;
    assert_eq!(ids(&page).len(), 2, "achievement by its id: {page}");
    let (_, page) = get(&server, "/credentials?status=active").await;
    assert_eq!(ids(&page), ["urn:example:r3"]);
    let (_, page) = get(&server, "/credentials?status=revoked&recipient=ada%40example.com").await;
    assert_eq!(ids(&page), ["urn:example:r1"]);
    let (_, page) =
        get(&server, "/credentials?issuedAfter=2000-01-01&issuedBefore=2999-01-01T00:00:00Z").await;
    assert_eq!(page["total"], json!(3));
    let (_, page) = get(&server, "/credentials?issuedAfter=2999-01-01").await;
    assert_eq!(page["total"], json!(0));
    let (_, page) = get(&server, "/credentials?limit=1&offset=1&achievement=Rust%20101").await;
    assert_eq!((ids(&page), page["total"].clone()), (vec!["urn:example:r2".to_string()], json!(2)));

    for bad in ["/credentials?recipent=x", "/credentials?status=gone", "/credentials?issuedAfter=yesterday"] {
        let (status, problem) = get(&server, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{bad}: {problem}");
    }

    let response = http_client()
        .get(format!("{}/credentials.csv?recipient=ada%40example.com", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[0].starts_with("id,issued_at,format,issuer,recipient,achievement_id,achievement_name,status")
    );
    assert!(lines[1].starts_with("urn:example:r1,") && lines[1].contains(",revoked,"), "{}", lines[1]);
    // The formula is quoted (it holds a quote and a comma-free payload) and defused with a '.
    assert!(lines[2].contains("\"'=HYPERLINK(\"\"http://evil\"\")\""), "{}", lines[2]);

    let unauthenticated = http_client().get(format!("{}/credentials.csv", server.base)).send().await.unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

    // The CLI shares the service functions: over HTTP while the server runs, then directly.
    let remote = laurel_cli(&data, &["credentials", "list", "--recipient", "ada@example.com", "--csv"]);
    assert!(remote.status.success(), "{}", String::from_utf8_lossy(&remote.stderr));
    assert_eq!(
        String::from_utf8(remote.stdout).unwrap(),
        csv,
        "CLI over HTTP and GET /credentials.csv differ"
    );
    drop(server);
    let local = laurel_cli(&data, &["credentials", "list", "--status", "suspended"]);
    assert!(local.status.success(), "{}", String::from_utf8_lossy(&local.stderr));
    let page: Value = serde_json::from_slice(&local.stdout).unwrap();
    assert_eq!(ids(&page), ["urn:example:r2"]);
    let shown = laurel_cli(&data, &["credentials", "show", "urn:example:r1"]);
    let record: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(record["currentStatus"]["state"], json!("revoked"));
    let missing = laurel_cli(&data, &["credentials", "show", "urn:example:none"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("urn:example:none"));
}
