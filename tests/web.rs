//! The public pages (issue 17) in a real headless Chromium: `tests/browser/web.mjs` drives
//! Debian's `chromium` through playwright-core against a `laurel serve` this test starts, with
//! badges it issues here (a good one, a revoked one, one named with HTML and script). It
//! checks the badge page (content, sharing meta tags, JSON-LD, Copy link, the LinkedIn link),
//! downloads the baked PNG and verifies it on the verify page (then a tampered copy, then three
//! badges at once, a dropped file and a badge link), the revoked and hostile badges, the issuer
//! page, and runs axe-core on each page. Screenshots go to `target/screenshots/`.
//!
//! Without chromium, node or `npm ci` in tests/browser the browser test says SKIP loudly and
//! returns, unless `LAUREL_REQUIRE_BROWSER` is set (`.ci/run` sets it, after installing them):
//! then it fails. The checks that need no browser (headers, visibility, limits) always run.

mod common;

use std::path::{Path, PathBuf};

use common::{http_client, repo_path, temp_data_dir, ServerProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};

const ACHIEVEMENT: &str = "Data Analysis Foundations";
const HOSTILE: &str =
    "<script>window.__xss=1;alert(1)</script><img src=x onerror=\"window.__xss=2\"> & \"quotes\"";
const ISSUER: &str = "Example University";
/// The issuer's name as the test's trust registry lists it.
const REGISTERED: &str = "Example University of Testing";

struct Fixture {
    server: ServerProcess,
    client: reqwest::Client,
    good: String,
    revoked: String,
    xss: String,
}

async fn post(f: &(reqwest::Client, String, String), path: &str, body: &Value) -> Value {
    let response = f.0.post(format!("{}{path}", f.1)).bearer_auth(&f.2).json(body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// A server with an issuer profile, two achievements and three badges (one revoked).
async fn fixture(tag: &str, extra: &[&str]) -> Fixture {
    let data = temp_data_dir(tag);
    let server = ServerProcess::start(&data, extra);
    let client = http_client();
    let api = (client.clone(), server.base.clone(), server.token.clone());
    post(&api, "/profiles", &json!({"name": ISSUER, "url": "https://example.edu/", "description": "A university that issues Open Badges."})).await;
    let mut ids = Vec::new();
    for name in [ACHIEVEMENT, HOSTILE] {
        let achievement = post(&api, "/achievements", &json!({
            "type": ["Achievement"], "name": name, "description": format!("{name}: analysing data sets."),
            "criteria": {"narrative": "Pass the final assessment with a score of 80 or more."},
            "achievementType": "Badge",
            "alignment": [{"targetName": "Data wrangling", "targetUrl": "https://example.edu/skills/data", "targetFramework": "Example Skills"}],
        }))
        .await;
        ids.push(achievement["id"].as_str().unwrap().replace(&server.base, ""));
    }
    let award = |path: &str| format!("{path}/awards");
    let body = json!({"recipient": {"email": "pat@example.org", "name": "Pat Learner"}, "evidence": ["https://example.org/work/1"], "validUntil": "2031-06-30T00:00:00Z"});
    let good = post(&api, &award(&ids[0]), &body).await["id"].as_str().unwrap().to_string();
    let mut other = body.clone();
    other["recipient"] = json!({"email": "sam@example.org", "name": "Sam Other"});
    let revoked = post(&api, &award(&ids[0]), &other).await["id"].as_str().unwrap().to_string();
    let xss = post(&api, &award(&ids[1]), &body).await["id"].as_str().unwrap().to_string();
    post(&api, "/credentials/status", &json!({"credentialId": revoked, "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}, "status": true})).await;
    Fixture { server, client, good, revoked, xss }
}

/// A loopback HTTP server answering every request with the JSON `body` holds at that moment:
/// a `dcc-legacy` trust registry for the test (filled once the issuer's DID is known).
async fn registry_server() -> (String, std::sync::Arc<std::sync::Mutex<String>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/registry.json", listener.local_addr().unwrap());
    let body = std::sync::Arc::new(std::sync::Mutex::new(String::from("{}")));
    let served = body.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let json = served.lock().unwrap().clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: max-age=0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                    json.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, body)
}

/// The fixture's server with two registries configured: one (served here) that lists the
/// issuer as `REGISTERED`, one that cannot be reached.
async fn fixture_with_registries(tag: &str) -> Fixture {
    let (url, body) = registry_server().await;
    let dir = temp_data_dir(&format!("{tag}-registries"));
    let file = dir.join("registries.json");
    let unreachable = format!("http://127.0.0.1:{}/gone.json", common::free_port());
    std::fs::write(
        &file,
        json!([
            {"name": "Test Member Registry", "type": "dcc-legacy", "url": url},
            {"name": "Offline Registry", "type": "dcc-legacy", "url": unreachable},
        ])
        .to_string(),
    )
    .unwrap();
    let f = fixture(tag, &["--registries", file.to_str().unwrap()]).await;
    let entry: Value =
        f.client.get(format!("{}/registry-entry", f.server.base)).send().await.unwrap().json().await.unwrap();
    let did = entry["registry"].as_object().unwrap().keys().next().unwrap().clone();
    *body.lock().unwrap() = json!({"meta": {"name": "Test Member Registry"}, "registry": {did: {"name": REGISTERED, "url": "https://example.edu/", "location": "Testville"}}}).to_string();
    f
}

/// A badge from another issuer (a second server, unlisted anywhere) that names itself "MIT";
/// with that server, which publishes the badge's status list.
async fn foreign_badge(tag: &str) -> (Value, ServerProcess) {
    let data = temp_data_dir(tag);
    let server = ServerProcess::start(&data, &[]);
    let api = (http_client(), server.base.clone(), server.token.clone());
    post(&api, "/profiles", &json!({"name": "MIT", "url": "https://mit.example/"})).await;
    let achievement = post(&api, "/achievements", &json!({"type": ["Achievement"], "name": "Totally Real Degree", "description": "Self-issued.", "criteria": {"narrative": "None."}})).await;
    let path = format!("{}/awards", achievement["id"].as_str().unwrap().replace(&server.base, ""));
    let issued = post(&api, &path, &json!({"recipient": {"email": "x@example.org", "name": "Alex"}})).await;
    let record: Value = api
        .0
        .get(format!("{}/credentials/{}", server.base, issued["id"].as_str().unwrap()))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (record["verifiableCredential"].clone(), server)
}

fn browser_tools() -> Result<(PathBuf, PathBuf), String> {
    let chromium = std::env::var_os("LAUREL_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
        })
        .ok_or("no chromium (apt-get install chromium, or set LAUREL_CHROMIUM)")?;
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.map(|o| o.status.success()).unwrap_or(false) {
        return Err("no node on PATH".into());
    }
    let dir = repo_path("tests/browser");
    for module in ["playwright-core", "axe-core"] {
        if !dir.join("node_modules").join(module).is_dir() {
            return Err(format!("{module} is not installed: run `npm ci` in {}", dir.display()));
        }
    }
    Ok((chromium, dir))
}

#[tokio::test(flavor = "multi_thread")]
async fn public_pages_in_headless_chromium() {
    let (chromium, dir) = match browser_tools() {
        Ok(tools) => tools,
        Err(why) if std::env::var_os("LAUREL_REQUIRE_BROWSER").is_none() => {
            eprintln!(
                "\n*** SKIP public_pages_in_headless_chromium: {why}. The browser test did NOT run. ***\n"
            );
            return;
        }
        Err(why) => panic!("LAUREL_REQUIRE_BROWSER is set but {why}"),
    };
    let f = fixture_with_registries("web-browser").await;
    let work = temp_data_dir("web-browser-files");
    let foreign = work.join("mit.json");
    let (mit, _mit_server) = foreign_badge("web-browser-mit").await;
    std::fs::write(&foreign, mit.to_string()).unwrap();
    let screenshots = repo_path("target/screenshots");
    let config = json!({
        "base": f.server.base, "chromium": chromium, "screenshots": screenshots, "work": work,
        "good": f.good, "revoked": f.revoked, "xss": f.xss, "xssName": HOSTILE,
        "achievement": ACHIEVEMENT, "recipient": "Pat Learner", "issuerName": ISSUER,
        "registeredName": REGISTERED, "foreignFile": foreign,
    });
    let config_file = work.join("config.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(dir.join("web.mjs"))
            .arg(&config_file)
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser test failed:\n{stderr}\n{stdout}");
    eprintln!("browser saw: {stdout}\nscreenshots in {}", screenshots.display());
    for name in [
        "badge",
        "verify-good",
        "verify-tampered",
        "verify-three",
        "badge-revoked",
        "badge-hostile",
        "issuer",
    ] {
        assert!(Path::new(&screenshots).join(format!("{name}.png")).is_file(), "screenshot {name}");
    }
}

/// Headers, escaping, visibility and upload limits, without a browser.
#[tokio::test(flavor = "multi_thread")]
async fn pages_are_escaped_strict_and_respect_visibility() {
    let f = fixture("web-http", &["--max-body", "65536"]).await;
    let base = &f.server.base;
    let get = |path: String| {
        let client = f.client.clone();
        let url = format!("{base}{path}");
        async move {
            let response = client.get(url).send().await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            (status, headers, response.text().await.unwrap())
        }
    };
    let (status, headers, page) = get(format!("/badges/{}", f.xss)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
    assert!(!page.contains("<script>window"), "the hostile name is escaped");
    assert!(page.contains("&lt;script&gt;window.__xss=1;alert(1)&lt;/script&gt;"), "{page}");
    assert!(!page.contains("<img src=x"), "no injected element");
    assert!(!page.contains("style=") && !page.contains("onclick"), "no inline style or handler");
    assert_eq!(page.matches("<script").count(), 2, "app.js and the JSON-LD block, nothing else");
    for asset in ["/assets/style.css", "/assets/app.js"] {
        let (status, headers, _) = get(asset.into()).await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(headers["cache-control"].to_str().unwrap().contains("max-age"));
    }
    let (status, headers, page) = get("/issuers/issuer".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key("content-security-policy"));
    assert!(page.contains(ISSUER) && page.contains("&lt;script&gt;"), "catalog, escaped");
    let (status, _, _) = get("/issuers/did:key:z6MkNotOurs".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Visibility: admin only; hide the name, then make the badge private.
    let url = format!("{base}/badges/{}/visibility", f.good);
    let put = |body: Value, token: Option<&str>| {
        let mut request = f.client.put(&url).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let response = put(json!({"public": false, "showName": true}), None).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = put(json!({"public": true}), Some(&f.server.token)).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "both fields are required");
    let response = put(json!({"public": true, "showName": false}), Some(&f.server.token)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, _, api) = get(format!("/api/verify/{}", f.good)).await;
    let api: Value = serde_json::from_str(&api).unwrap();
    assert_eq!(api["recipient"]["name"], Value::Null, "{api}");
    assert_eq!(api["state"], "valid");
    let (status, _, page) = get(format!("/badges/{}", f.good)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Pat Learner"), "the hidden name is nowhere on the page");
    assert!(page.contains("chose not to show their name"));
    assert!(!page.contains("application/ld+json"), "no credential (which carries the name) embedded");
    for file in ["credential.json"] {
        assert_eq!(get(format!("/badges/{}/{file}", f.good)).await.0, StatusCode::NOT_FOUND);
    }
    assert_eq!(get(format!("/credentials/{}/badge.png", f.good)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(format!("/badges/{}/image.png", f.good)).await.0, StatusCode::OK);

    let response = put(json!({"public": false, "showName": true}), Some(&f.server.token)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, headers, page) = get(format!("/badges/{}", f.good)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["x-robots-tag"], "noindex");
    assert!(page.contains(r#"<meta name="robots" content="noindex, nofollow">"#));
    assert!(!page.contains(ACHIEVEMENT), "a private badge's 404 says nothing about it");
    let (status, headers, _) = get(format!("/api/verify/{}", f.good)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers["content-type"].to_str().unwrap().contains("problem+json"));
    assert_eq!(get(format!("/badges/{}/image.png", f.good)).await.0, StatusCode::NOT_FOUND);

    // A badge issued as a JWT: the page offers the JWT, and the JWT pasted in verifies.
    let mut request = common::read_json(&repo_path("examples/requests/issue.json"));
    let jwt_id = "urn:uuid:3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b";
    request["options"] = json!({"format": "jwt", "credentialId": jwt_id});
    let api = (f.client.clone(), base.clone(), f.server.token.clone());
    let jwt = post(&api, "/credentials/issue", &request).await["verifiableCredential"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _, page) = get(format!("/badges/{jwt_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("/badges/{jwt_id}/credential.jwt")), "the JWT is offered");
    assert!(page.contains("application/ld+json") && page.contains("Rust 101"));
    let (status, headers, body) = get(format!("/badges/{jwt_id}/credential.jwt")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/vc+jwt");
    assert_eq!(body, jwt);
    let (status, _, body) = get(format!("/badges/{jwt_id}/credential.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["id"], jwt_id);
    assert_eq!(
        get(format!("/badges/{}/credential.jwt", f.xss)).await.0,
        StatusCode::NOT_FOUND,
        "no JWT form"
    );
    let form = reqwest::multipart::Form::new().text("text", jwt.clone());
    let page =
        f.client.post(format!("{base}/verify")).multipart(form).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("1 badge checked: 1 verified, 0 not verified."), "{page}");
    assert!(page.contains("Rust 101"));
    // A badge naming no recipient (DCC's fixtures have many) verifies and says it is tied to nobody.
    let unnamed = std::fs::read_to_string(common::repo_path(
        "vectors/dcc/verifiableCredentials/v1/bothSignatureTypes/didKey/fourRegistry-noStatus-noExpiry.json",
    ))
    .unwrap();
    let form = reqwest::multipart::Form::new().text("text", unnamed);
    let page =
        f.client.post(format!("{base}/verify")).multipart(form).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("1 badge checked: 1 verified, 0 not verified."), "{page}");
    assert!(page.contains("Not tied to a named recipient"), "{page}");

    // The verify page: bounded, precise errors, links to private badges refused.
    let verify =
        |form: reqwest::multipart::Form| f.client.post(format!("{base}/verify")).multipart(form).send();
    let big = reqwest::multipart::Part::bytes(vec![b'x'; 100_000]).file_name("big.json");
    let response = verify(reqwest::multipart::Form::new().part("files", big)).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let page = response.text().await.unwrap();
    assert!(page.contains("larger than this server accepts (64 KiB, 65536 bytes, in all)"), "{page}");
    let response = verify(reqwest::multipart::Form::new().text("text", "")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = verify(
        reqwest::multipart::Form::new()
            .text("urls", format!("{base}/badges/{}\nhttps://elsewhere.example/badges/1", f.good)),
    )
    .await
    .unwrap();
    let page = response.text().await.unwrap();
    assert!(page.contains("2 badges checked: 0 verified, 2 not verified."), "{page}");
    assert!(page.contains("there is no public badge"), "{page}");
    assert!(page.contains("is not a badge link of this server"), "{page}");
    let response =
        verify(reqwest::multipart::Form::new().text("text", "{\"not\": \"a badge\"")).await.unwrap();
    let page = response.text().await.unwrap();
    assert!(page.contains("1 badge checked: 0 verified, 1 not verified."), "{page}");
    let response = f.client.post(format!("{base}/verify")).body("x").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}
