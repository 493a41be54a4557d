//! Trust registries of the kinds `oidf` and `vc-recognition` (issue 25), through the real binary:
//!
//! - An OpenID Federation made with `jose` (vectors/registries, see its README): every case of its
//!   MANIFEST (listed with EdDSA and ES256 statements, pinned anchor keys; an expired statement or
//!   entity configuration, one signed by another key, one about another `sub`, `alg: none`,
//!   HS256, an entity configuration signed by a key outside the pinned ones) gets the answer the
//!   manifest calls for, offline with the documents pinned. Only a listing names an institution;
//!   every failure is "unchecked", never "not listed".
//! - Recognition credentials issued by Laurel itself: by an accepted issuer (its subjects are
//!   listed), by another issuer, expired, tampered: unchecked.
//! - A live federation on a loopback HTTP server (JWTs made by `jose` at test time for the
//!   server's address; needs node and `npm ci` in vectors/registries/gen, else SKIP): the CLI and
//!   `POST /credentials/verify` of `laurel serve`, a 404 from the fetch endpoint is "not listed",
//!   documents are fetched once while valid and never cached past their `exp`; hostile
//!   registries (huge, deep, slow, redirecting to a private address) are unchecked in bounded time.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::{repo_path, temp_data_dir};
use serde_json::{json, Value};

fn laurel(args: &[String]) -> (i32, Value, String) {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_laurel")).args(args).output().expect("laurel runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, stderr)
}

fn codes(report: &Value, field: &str) -> Vec<String> {
    report[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["code"].as_str())
        .map(str::to_string)
        .collect()
}

fn fetch_url(endpoint: &str, sub: &str) -> String {
    let mut url = url::Url::parse(endpoint).unwrap();
    url.query_pairs_mut().append_pair("sub", sub);
    url.to_string()
}

fn write_json(path: &Path, value: &Value) -> String {
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path.display().to_string()
}

/// `laurel verify FILE --json --registries CONFIG` plus `extra`.
fn verify(credential: &Path, config: &str, extra: &[String]) -> (i32, Value, String) {
    let mut args = vec![
        "verify".to_string(),
        credential.display().to_string(),
        "--json".into(),
        "--registries".into(),
        config.to_string(),
    ];
    args.extend(extra.iter().cloned());
    laurel(&args)
}

/// The answer a case calls for: listed with the registry's name for the institution, or
/// unchecked with a reason naming what failed (and then no "not registered" warning).
fn assert_answer(case: &str, report: &Value, expect: &Value) {
    let registry = &report["registry"];
    if expect["listed"] == json!(true) {
        assert_eq!(registry["listed"], json!(true), "{case}: {report}");
        assert_eq!(registry["matches"][0]["name"], expect["name"], "{case}: {report}");
        assert!(registry["unchecked"].as_array().unwrap().is_empty(), "{case}: {report}");
    } else {
        assert_eq!(registry["listed"], json!(false), "{case}: {report}");
        assert_eq!(registry["checked"], json!(false), "{case}: unchecked, never 'not listed': {report}");
        assert!(registry["matches"].as_array().unwrap().is_empty(), "{case}: {report}");
        let reason = registry["unchecked"][0]["reason"].as_str().unwrap_or_default().to_lowercase();
        let wanted = expect["reason"].as_str().unwrap().to_lowercase();
        assert!(reason.contains(&wanted), "{case}: the reason should name {wanted:?}: {reason}");
        assert!(
            !codes(report, "warnings").contains(&"ISSUER_NOT_REGISTERED".to_string()),
            "{case}: {report}"
        );
    }
}

#[test]
fn an_openid_federation_made_with_jose_gets_the_answers_its_manifest_calls_for() {
    let dir = repo_path("vectors/registries");
    let manifest = common::read_json(&dir.join("MANIFEST.json"));
    let data = temp_data_dir("oidf");
    let cases = manifest["cases"].as_array().unwrap();
    assert!(cases.len() >= 10, "the manifest lists every case");
    for (i, case) in cases.iter().enumerate() {
        let name = case["case"].as_str().unwrap();
        let did = case["did"].as_str().unwrap();
        let credential = repo_path("vectors/interop").join(manifest["credentials"][did].as_str().unwrap());
        let mut registry = json!({"name": "Test Federation", "type": "oidf", "trustAnchorEC": manifest["entityConfiguration"]});
        if let Some(jwks) = case["jwks"].as_str() {
            registry["jwks"] = common::read_json(&dir.join(jwks));
        }
        let config = write_json(&data.join(format!("registries-{i}.json")), &json!([registry]));
        let pins = [
            format!(
                "{}={}",
                manifest["entityConfiguration"].as_str().unwrap(),
                dir.join(case["ec"].as_str().unwrap()).display()
            ),
            format!(
                "{}={}",
                fetch_url(manifest["fetchEndpoint"].as_str().unwrap(), did),
                dir.join(case["statement"].as_str().unwrap()).display()
            ),
        ];
        let mut extra = vec!["--offline".to_string()];
        for pin in pins {
            extra.extend(["--preload".to_string(), pin]);
        }
        let (code, report, stderr) = verify(&credential, &config, &extra);
        assert_eq!(code, 0, "{name}: a registry's answer alone never fails verification: {report} {stderr}");
        assert_answer(name, &report, &case["expect"]);
        if case["expect"]["listed"] == json!(true) {
            let found = &report["registry"]["matches"][0];
            assert_eq!(
                (found["registry"].as_str(), found["type"].as_str()),
                (Some("Test Federation"), Some("oidf"))
            );
            assert!(found["url"].as_str().unwrap().starts_with("https://"), "{name}: {found}");
            assert!(found["logo"].as_str().unwrap().ends_with("/logo.png"), "{name}: {found}");
        } else {
            // Required registration: an issuer no registry could confirm fails.
            extra.push("--require-registered".into());
            let (code, report, _) = verify(&credential, &config, &extra);
            assert_eq!(code, 1, "{name}: {report}");
            assert!(
                codes(&report, "errors").contains(&"ISSUER_NOT_REGISTERED".to_string()),
                "{name}: {report}"
            );
        }
    }
}

/// Issues with Laurel (the data folder's own issuer) a credential recognizing `subjects`.
fn issue_recognition(data: &Path, subjects: &[(&str, &str)], valid_until: &str) -> Value {
    let unsigned = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "name": "Recognized institutions (test)",
        "issuer": {},
        "validFrom": "2019-01-01T00:00:00Z",
        "validUntil": valid_until,
        "credentialSubject": subjects.iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>(),
    });
    let file = data.join("recognition-unsigned.json");
    write_json(&file, &unsigned);
    let out =
        common::laurel_cli(data, &["issue", "--credential", &file.display().to_string(), "--no-status"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn issuer_of(credential: &Value) -> String {
    credential["issuer"]["id"].as_str().or(credential["issuer"].as_str()).unwrap().to_string()
}

const ED: &str = "did:key:z6MkjGx6b3g1XQMSfnHNDUvuGh8d3THZw4fvc7xkMmL29U1W";
const P: &str = "did:key:zDnaeUz5Z96FteDrzfSnuCghpLFneeAN3EPUwoTdcPt22hZBZ";

#[test]
fn recognition_credentials_list_their_subjects_only_when_an_accepted_issuer_signed_them() {
    let accepted = temp_data_dir("recognition-accepted");
    let other = temp_data_dir("recognition-other");
    let recognition = issue_recognition(&accepted, &[(ED, "Ed University")], "2099-01-01T00:00:00Z");
    let by_other = issue_recognition(&other, &[(ED, "Ed University")], "2099-01-01T00:00:00Z");
    let expired = issue_recognition(&accepted, &[(ED, "Ed University")], "2020-01-01T00:00:00Z");
    let mut tampered = recognition.clone();
    tampered["credentialSubject"][0]["id"] = json!(P);
    let url = "https://recognition.example/registry.json";
    let config = write_json(
        &accepted.join("registries.json"),
        &json!([{"name": "Recognized", "type": "vc-recognition", "url": url, "acceptedIssuers": [issuer_of(&recognition)]}]),
    );
    let ed_badge = repo_path("vectors/interop/ob-eddsa-rdfc-2022.json");
    let p_badge = repo_path("vectors/interop/ob-ecdsa-rdfc-2019.json");
    let with = |document: &Value, badge: &Path| {
        let file = write_json(&accepted.join("pinned-recognition.json"), document);
        verify(badge, &config, &["--offline".into(), "--preload".into(), format!("{url}={file}")])
    };
    let (code, report, _) = with(&recognition, &ed_badge);
    assert_eq!(code, 0, "{report}");
    assert_answer("accepted issuer", &report, &json!({"listed": true, "name": "Ed University"}));
    assert_eq!(report["registry"]["matches"][0]["type"], json!("vc-recognition"));
    // Two registries at the same URL: the second does not accept that issuer, and the first
    // one's verified (cached) credential does not change that.
    let shared = write_json(
        &accepted.join("registries-shared.json"),
        &json!([
            {"name": "Recognized", "type": "vc-recognition", "url": url, "acceptedIssuers": [issuer_of(&recognition)]},
            {"name": "Other", "type": "vc-recognition", "url": url, "acceptedIssuers": [issuer_of(&by_other)]},
        ]),
    );
    let pinned = write_json(&accepted.join("pinned-shared.json"), &recognition);
    let (_, report, _) =
        verify(&ed_badge, &shared, &["--offline".into(), "--preload".into(), format!("{url}={pinned}")]);
    assert_eq!(report["registry"]["matches"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["registry"]["unchecked"][0]["registry"], json!("Other"), "{report}");
    // The text report names the registry and its name for the issuer.
    let file = write_json(&accepted.join("pinned-text.json"), &recognition);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_laurel"))
        .args(["verify", &ed_badge.display().to_string(), "--registries", &config, "--offline"])
        .args(["--preload", &format!("{url}={file}")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#"registry: listed as "Ed University" by Recognized (vc-recognition)"#), "{text}");
    // The same credential does not name P's issuer: checked, not listed, a warning.
    let (code, report, _) = with(&recognition, &p_badge);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        (report["registry"]["checked"].clone(), report["registry"]["listed"].clone()),
        (json!(true), json!(false))
    );
    assert!(codes(&report, "warnings").contains(&"ISSUER_NOT_REGISTERED".to_string()), "{report}");
    for (case, document, reason) in [
        ("another issuer", &by_other, "not by an accepted issuer"),
        ("expired", &expired, "CREDENTIAL_EXPIRED"),
        ("tampered (P written in after signing)", &tampered, "does not verify"),
    ] {
        let badge = if case.starts_with("tampered") { &p_badge } else { &ed_badge };
        let (code, report, _) = with(document, badge);
        assert_eq!(code, 0, "{case}: {report}");
        assert_answer(case, &report, &json!({"listed": false, "reason": reason}));
    }
}

/// A tiny registry host: files by path (and `?sub=` for the fetch endpoint), request counts,
/// and hostile answers.
#[derive(Clone, Default)]
struct Host {
    files: Arc<Mutex<HashMap<String, (String, &'static str)>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// The `Accept` header of the last request for each path.
    accept: Arc<Mutex<HashMap<String, String>>>,
}

impl Host {
    fn put(&self, path: &str, body: String, content_type: &'static str) {
        self.files.lock().unwrap().insert(path.to_string(), (body, content_type));
    }
    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

async fn serve_host(host: Host) -> String {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    async fn answer(
        axum::extract::State(host): axum::extract::State<Host>,
        uri: axum::http::Uri,
        headers: axum::http::HeaderMap,
    ) -> axum::response::Response {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        host.accept.lock().unwrap().insert(uri.path().to_string(), accept.to_string());
        let key = match uri.query() {
            Some(q) => format!("{}?{q}", uri.path()),
            None => uri.path().to_string(),
        };
        *host.hits.lock().unwrap().entry(key.clone()).or_default() += 1;
        match uri.path() {
            "/huge" => {
                let body = format!("{{\"registry\": {{\"x\": \"{}\"}}}}", "a".repeat(3 << 20));
                return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
            }
            "/deep" => {
                let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
                return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
            }
            "/slow" => {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                return "{}".into_response();
            }
            "/redirect" => {
                return (StatusCode::FOUND, [(header::LOCATION, "http://169.254.169.254/registry.json")])
                    .into_response()
            }
            _ => {}
        }
        match host.files.lock().unwrap().get(&key) {
            Some((body, content_type)) => {
                ([(header::CONTENT_TYPE, *content_type)], body.clone()).into_response()
            }
            None => (StatusCode::NOT_FOUND, "{\"error\": \"not_found\"}").into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(answer).with_state(host);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn jose_available(test: &str) -> Option<PathBuf> {
    let gen = repo_path("vectors/registries/gen");
    let node = std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !node || !gen.join("node_modules/jose").is_dir() {
        eprintln!(
            "SKIP {test}: needs node and `npm ci` in {} (.ci/run does it); THIS TEST DID NOT RUN",
            gen.display()
        );
        return None;
    }
    Some(gen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_federation_on_a_loopback_server_through_the_cli_and_the_server() {
    let Some(gen) = jose_available("a_live_federation_on_a_loopback_server_through_the_cli_and_the_server")
    else {
        return;
    };
    let host = Host::default();
    let base = serve_host(host.clone()).await;
    let fixtures = temp_data_dir("oidf-live");
    let generated = std::process::Command::new("node")
        .arg(gen.join("generate.mjs"))
        .args(["--base", &base, "--out", &fixtures.display().to_string()])
        .output()
        .expect("node runs");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let read = |file: &str| std::fs::read_to_string(fixtures.join(file)).unwrap().trim().to_string();
    const JWT: &str = "application/entity-statement+jwt";
    host.put("/.well-known/openid-federation", read("entity-configuration.jwt"), JWT);
    host.put("/expired/.well-known/openid-federation", read("entity-configuration-expired.jwt"), JWT);
    let fetch = |did: &str| fetch_url(&format!("{base}/fetch"), did).trim_start_matches(&base).to_string();
    host.put(&fetch(ED), read("statements/ed-university.jwt"), JWT);
    host.put(&fetch(P), read("statements/p-college.jwt"), JWT);
    // A recognition credential of an accepted issuer, recognizing P's issuer.
    let data = temp_data_dir("registries-live");
    let recognition = issue_recognition(&data, &[(P, "P College")], "2099-01-01T00:00:00Z");
    host.put("/recognition.json", recognition.to_string(), "application/vc+ld+json");
    let config = json!([
        {"name": "Live Federation", "type": "oidf", "trustAnchorEC": format!("{base}/.well-known/openid-federation")},
        {"name": "Live Recognition", "type": "vc-recognition", "url": format!("{base}/recognition.json"), "acceptedIssuers": [issuer_of(&recognition)]},
    ]);
    let config_file = write_json(&data.join("registries.json"), &config);
    let private = ["--allow-private-network".to_string()];
    let ed_badge = repo_path("vectors/interop/ob-eddsa-rdfc-2022.json");
    let p_badge = repo_path("vectors/interop/ob-ecdsa-rdfc-2019.json");

    // CLI: ED listed by the federation only; P by both (all matching registries, not the first).
    let run = |badge: PathBuf, config: String, extra: Vec<String>| {
        tokio::task::spawn_blocking(move || verify(&badge, &config, &extra))
    };
    let (code, report, stderr) = run(ed_badge.clone(), config_file.clone(), private.to_vec()).await.unwrap();
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["registry"]["matches"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["registry"]["matches"][0]["name"], json!("Ed University"), "{report}");
    let (_, report, _) = run(p_badge.clone(), config_file.clone(), private.to_vec()).await.unwrap();
    let names: Vec<&str> = report["registry"]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["registry"].as_str())
        .collect();
    assert_eq!(names, ["Live Federation", "Live Recognition"], "{report}");
    // An issuer the anchor does not know: the fetch endpoint's 404 is "not listed", a warning.
    let unknown =
        issue_recognition(&temp_data_dir("registries-unknown"), &[(P, "x")], "2099-01-01T00:00:00Z");
    let unknown_file = PathBuf::from(write_json(&data.join("unknown.json"), &unknown));
    let only_oidf = write_json(&data.join("oidf-only.json"), &json!([config[0]]));
    let (code, report, _) = run(unknown_file.clone(), only_oidf.clone(), private.to_vec()).await.unwrap();
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        (report["registry"]["checked"].clone(), report["registry"]["listed"].clone()),
        (json!(true), json!(false)),
        "{report}"
    );
    assert!(codes(&report, "warnings").contains(&"ISSUER_NOT_REGISTERED".to_string()), "{report}");
    assert_eq!(host.hits(&fetch(&issuer_of(&unknown))), 1, "the fetch endpoint was asked about the issuer");
    // Without the private-network switch, the loopback anchor is refused: unchecked.
    let (_, report, _) = run(ed_badge.clone(), only_oidf.clone(), vec![]).await.unwrap();
    assert_eq!(report["registry"]["checked"], json!(false), "{report}");
    assert!(report["registry"]["unchecked"][0]["reason"].as_str().unwrap().contains("https"), "{report}");

    let accept =
        host.accept.lock().unwrap().get("/.well-known/openid-federation").cloned().unwrap_or_default();
    assert!(accept.contains("application/entity-statement+jwt"), "{accept}");
    // Cached for offline use as status lists are (`laurel fetch-status` into --cache DIR).
    let cache = data.join("cache").display().to_string();
    for url in [format!("{base}/.well-known/openid-federation"), fetch_url(&format!("{base}/fetch"), ED)] {
        let (code, _, stderr) = tokio::task::spawn_blocking({
            let cache = cache.clone();
            move || {
                laurel(&[
                    "fetch-status".into(),
                    url,
                    "--cache".into(),
                    cache,
                    "--allow-private-network".into(),
                ])
            }
        })
        .await
        .unwrap();
        assert_eq!(code, 0, "{stderr}");
    }
    let offline = vec!["--offline".to_string(), "--cache".into(), cache];
    let (code, report, _) = run(ed_badge.clone(), only_oidf.clone(), offline).await.unwrap();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["registry"]["matches"][0]["name"], json!("Ed University"), "{report}");

    // Hostile registries: bounded, refused, never a match, each named as unchecked.
    let hostile = json!([
        {"name": "Huge", "type": "dcc-legacy", "url": format!("{base}/huge")},
        {"name": "Deep", "type": "dcc-legacy", "url": format!("{base}/deep")},
        {"name": "Redirect", "type": "dcc-legacy", "url": format!("{base}/redirect")},
        {"name": "Slow", "type": "oidf", "trustAnchorEC": format!("{base}/slow")},
        {"name": "Not a JWT", "type": "oidf", "trustAnchorEC": format!("{base}/recognition.json")},
    ]);
    let hostile_file = write_json(&data.join("hostile.json"), &hostile);
    let started = std::time::Instant::now();
    // Without the switch, every loopback URL and a link-local literal are refused before any
    // request is made (only ever run without the switch: nothing may be sent there).
    let mut refused = hostile.clone();
    refused.as_array_mut().unwrap().push(json!({"name": "Private", "type": "oidf", "trustAnchorEC": "https://169.254.169.254/.well-known/openid-federation"}));
    let refused_file = write_json(&data.join("refused.json"), &refused);
    let (code, report, _) = run(ed_badge.clone(), refused_file, vec![]).await.unwrap();
    assert_eq!(code, 0, "{report}");
    let unchecked = report["registry"]["unchecked"].as_array().unwrap();
    assert_eq!(unchecked.len(), 6, "{report}");
    assert!(unchecked[5]["reason"].as_str().unwrap().contains("private"), "{report}");
    let before = host.hits("/huge");
    let (code, report, _) = run(ed_badge.clone(), hostile_file, private.to_vec()).await.unwrap();
    assert_eq!(code, 0, "{report}");
    let unchecked = report["registry"]["unchecked"].as_array().unwrap();
    let reason = |name: &str| {
        unchecked
            .iter()
            .find(|u| u["registry"] == json!(name))
            .and_then(|u| u["reason"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(unchecked.len(), 5, "{report}");
    assert!(report["registry"]["matches"].as_array().unwrap().is_empty(), "{report}");
    assert!(reason("Huge").contains("larger than"), "{}", reason("Huge"));
    assert!(
        reason("Deep").to_lowercase().contains("deep") || reason("Deep").contains("depth"),
        "{}",
        reason("Deep")
    );
    assert!(reason("Redirect").contains("302"), "a redirect is not followed: {}", reason("Redirect"));
    assert!(reason("Slow").to_lowercase().contains("time"), "{}", reason("Slow"));
    assert!(reason("Not a JWT").contains("not a JWT"), "{}", reason("Not a JWT"));
    assert_eq!(host.hits("/huge"), before + 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(40), "bounded: {:?}", started.elapsed());

    // The server: POST /credentials/verify, with documents fetched once while valid.
    let server =
        common::ServerProcess::start(&temp_data_dir("registries-server"), &["--registries", &config_file]);
    let client = common::http_client();
    let ec_hits = host.hits("/.well-known/openid-federation");
    for badge in [&p_badge, &p_badge, &ed_badge] {
        let body: Value = common::read_json(badge);
        let response = client
            .post(format!("{}/credentials/verify", server.base))
            .json(&json!({"verifiableCredential": body}))
            .send()
            .await
            .unwrap();
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["verified"], json!(true), "{report}");
        assert_eq!(report["registry"]["listed"], json!(true), "{report}");
    }
    assert_eq!(
        host.hits("/.well-known/openid-federation"),
        ec_hits + 1,
        "the entity configuration is cached within its exp"
    );
    assert_eq!(
        host.hits("/recognition.json"),
        4,
        "three CLI runs (two verifications, the 'Not a JWT' anchor), then one for the server's three"
    );
    drop(server);
    // An expired entity configuration is never cached: fetched again each time, unchecked.
    let expired_config = json!([{"name": "Expired Anchor", "type": "oidf", "trustAnchorEC": format!("{base}/expired/.well-known/openid-federation")}]);
    let expired_file = write_json(&data.join("expired.json"), &expired_config);
    let server = common::ServerProcess::start(
        &temp_data_dir("registries-server-expired"),
        &["--registries", &expired_file],
    );
    for _ in 0..2 {
        let body: Value = common::read_json(&ed_badge);
        let report: Value = client
            .post(format!("{}/credentials/verify", server.base))
            .json(&json!({"verifiableCredential": body}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(report["registry"]["checked"], json!(false), "{report}");
        assert!(
            report["registry"]["unchecked"][0]["reason"].as_str().unwrap().contains("expired"),
            "{report}"
        );
    }
    assert_eq!(host.hits("/expired/.well-known/openid-federation"), 2);
}

/// The README's example (DCC's registries) is a valid configuration; offline, with nothing
/// pinned, each registry is unchecked (never "not listed") and no request leaves the machine.
#[test]
fn the_example_registries_file_is_dccs_list_and_reads_offline_as_unchecked() {
    let example = repo_path("examples/registries.json");
    let registries = common::read_json(&example);
    let kinds: Vec<&str> = registries.as_array().unwrap().iter().filter_map(|r| r["type"].as_str()).collect();
    assert!(kinds.contains(&"oidf") && kinds.contains(&"dcc-legacy"), "{kinds:?}");
    let badge = repo_path("vectors/interop/ob-eddsa-rdfc-2022.json");
    let (code, report, stderr) = verify(&badge, &example.display().to_string(), &["--offline".to_string()]);
    assert_eq!(code, 0, "{report} {stderr}");
    let unchecked = report["registry"]["unchecked"].as_array().unwrap();
    assert_eq!(unchecked.len(), kinds.len(), "{report}");
    assert!(unchecked.iter().all(|u| u["reason"].as_str().unwrap().contains("offline")), "{report}");
    assert_eq!(report["registry"]["checked"], json!(false));
}
