//! did:web: a Laurel issuer served as did:web by one instance, verified by another and by the
//! library; key rotation that keeps old badges valid; key revocation that invalidates exactly
//! what the key signed; and a resolver that refuses unsafe targets without sending a packet
//! anywhere but loopback.

mod common;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{free_port, get_json, http_client, temp_data_dir, ServerProcess};
use laurel::credential::verify::{Verifier, VerifyOptions};
use laurel::did::{DidResolver, LocalResolver};
use laurel::fetch::{CheckedResolver, FetchPolicy, Fetcher};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn fresh_verifier() -> Verifier {
    let policy = FetchPolicy { allow_private_network: true, ..FetchPolicy::default() };
    let resolver =
        LocalResolver { fetcher: Some(Arc::new(Fetcher::new(policy, None))), ..LocalResolver::default() };
    Verifier::new(Arc::new(resolver), VerifyOptions::default())
}

fn badge(n: usize) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": format!("urn:example:web-{n}"),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"type": ["Profile"], "name": "Web Issuer"},
        "credentialSubject": {"id": "did:example:learner", "type": ["AchievementSubject"],
            "achievement": {"id": "https://example.com/a/web", "type": ["Achievement"], "name": "Web", "description": "did:web badge", "criteria": {"narrative": "Ask."}}}
    })
}

#[tokio::test]
async fn rotation_keeps_old_badges_and_revocation_invalidates_exactly_one_generation() {
    let port = free_port();
    let host = format!("127.0.0.1%3A{port}");
    let did = format!("did:web:{host}");
    let issuer_data = temp_data_dir("web-issuer");
    let issuer = ServerProcess::start_on(
        &issuer_data,
        &format!("127.0.0.1:{port}"),
        &["--self-signed", "--did-web", &host, "--admin-token", "t"],
    );
    let verifier_data = temp_data_dir("web-verifier");
    let verifier_server = ServerProcess::start(&verifier_data, &[]);
    let client = http_client();
    let issue = |n: usize| {
        let client = client.clone();
        let base = issuer.base.clone();
        async move {
            let r = client
                .post(format!("{base}/credentials/issue"))
                .bearer_auth("t")
                .json(&json!({"credential": badge(n)}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["verifiableCredential"].clone()
        }
    };
    let verify_remote = |credential: Value| {
        let client = client.clone();
        let base = verifier_server.base.clone();
        async move {
            let r = client
                .post(format!("{base}/credentials/verify"))
                .json(&json!({"verifiableCredential": credential}))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let rotate = || {
        let client = client.clone();
        let base = issuer.base.clone();
        async move {
            let r = client.post(format!("{base}/keys/rotate")).bearer_auth("t").send().await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()
        }
    };

    let first = issue(1).await;
    assert_eq!(first["issuer"]["id"], json!(did));
    assert!(first["proof"]["verificationMethod"].as_str().unwrap().starts_with(&format!("{did}#")));
    let report = verify_remote(first.clone()).await;
    assert_eq!(report["verified"], json!(true), "{report}");

    let second_generation = rotate().await;
    let second = issue(2).await;
    assert_ne!(first["proof"]["verificationMethod"], second["proof"]["verificationMethod"]);
    for credential in [&first, &second] {
        let report = fresh_verifier().verify_value(credential).await;
        assert!(report.verified, "{:#?}", report.errors);
    }
    rotate().await;
    let third = issue(3).await;
    for credential in [&first, &second, &third] {
        let report = fresh_verifier().verify_value(credential).await;
        assert!(report.verified, "after two rotations: {:#?}", report.errors);
    }
    // The DID document lists every key, all in assertionMethod; the JWKS has the same keys.
    let document: Value = get_json(&client, format!("{}/.well-known/did.json", issuer.base)).await;
    assert_eq!(document["id"], json!(did));
    assert_eq!(document["verificationMethod"].as_array().unwrap().len(), 3);
    assert_eq!(document["assertionMethod"].as_array().unwrap().len(), 3);
    let jwks: Value = get_json(&client, format!("{}/.well-known/jwks.json", issuer.base)).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
    // The resolver endpoint answers for did:web too (the DID's %3A is encoded once more in a URL).
    let encoded = did.replace('%', "%25");
    let resolution: Value =
        get_json(&client, format!("{}/1.0/identifiers/{encoded}", verifier_server.base)).await;
    assert_eq!(resolution["didDocument"]["id"], json!(did), "{resolution}");

    // Revoking needs confirmation, and the active key cannot be revoked.
    let second_key = second_generation["active"].as_str().unwrap().to_string();
    let r = client
        .post(format!("{}/keys/{second_key}/revoke", issuer.base))
        .bearer_auth("t")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let active = document["authentication"][0].as_str().unwrap().rsplit('#').next().unwrap().to_string();
    let r = client
        .post(format!("{}/keys/{active}/revoke", issuer.base))
        .bearer_auth("t")
        .json(&json!({"confirm": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = client
        .post(format!("{}/keys/{second_key}/revoke", issuer.base))
        .bearer_auth("t")
        .json(&json!({"confirm": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Exactly the credential the revoked key signed fails.
    let results: Vec<bool> = futures_verify(&[&first, &second, &third]).await;
    assert_eq!(results, [true, false, true]);
    let report = fresh_verifier().verify_value(&second).await;
    assert!(
        report.errors.iter().any(|e| e.detail.contains("not authorized") || e.detail.contains("not found")),
        "{:#?}",
        report.errors
    );
}

async fn futures_verify(credentials: &[&Value]) -> Vec<bool> {
    let mut out = Vec::new();
    for credential in credentials {
        out.push(fresh_verifier().verify_value(credential).await.verified);
    }
    out
}

#[tokio::test]
async fn the_resolver_refuses_private_targets_by_dns_answer_and_by_literal() {
    let ranges = ["10.1.2.3", "172.16.5.4", "192.168.1.1", "127.0.0.1", "::1", "fc00::1", "169.254.169.254"];
    let mut overrides = HashMap::new();
    for (i, ip) in ranges.iter().enumerate() {
        overrides.insert(format!("host{i}.example"), vec![ip.parse::<IpAddr>().unwrap()]);
    }
    let resolver = CheckedResolver { allow_private_network: false, overrides: Arc::new(overrides) };
    let fetcher = Fetcher::with_resolver(FetchPolicy::default(), None, resolver);
    let did_resolver = LocalResolver { fetcher: Some(Arc::new(fetcher)), ..LocalResolver::default() };
    for (i, ip) in ranges.iter().enumerate() {
        let err = did_resolver.resolve(&format!("did:web:host{i}.example")).await.unwrap_err();
        assert!(err.to_string().contains("private address"), "{ip}: {err}");
    }
    for literal in ["10.0.0.1", "192.168.0.1", "127.0.0.1%3A8443", "169.254.169.254"] {
        let err = did_resolver.resolve(&format!("did:web:{literal}")).await.unwrap_err();
        assert!(err.to_string().contains("private"), "{literal}: {err}");
    }
    // Offline mode never touches the network.
    let offline = LocalResolver {
        fetcher: Some(Arc::new(Fetcher::new(FetchPolicy { offline: true, ..FetchPolicy::default() }, None))),
        ..LocalResolver::default()
    };
    assert!(offline.resolve("did:web:example.com").await.unwrap_err().to_string().contains("offline"));
}

/// A loopback HTTPS server whose /.well-known/did.json does what the test needs.
async fn hostile_server(body: Vec<u8>, delay: Duration) -> u16 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem(
        cert.cert.pem().into_bytes(),
        cert.key_pair.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let app = axum::Router::new().route(
        "/.well-known/did.json",
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                tokio::time::sleep(delay).await;
                ([("content-type", "application/json")], body)
            }
        }),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum_server::from_tcp_rustls(listener, config).serve(app.into_make_service()).await.unwrap();
    });
    port
}

fn loopback_resolver(timeout: Duration) -> LocalResolver {
    let policy = FetchPolicy { allow_private_network: true, timeout, ..FetchPolicy::default() };
    LocalResolver { fetcher: Some(Arc::new(Fetcher::new(policy, None))), ..LocalResolver::default() }
}

#[tokio::test]
async fn oversized_slow_and_mismatched_documents_are_refused() {
    let big = format!("{{\"id\": \"x\", \"pad\": \"{}\"}}", "a".repeat(2 << 20)).into_bytes();
    let port = hostile_server(big, Duration::ZERO).await;
    let err = loopback_resolver(Duration::from_secs(5))
        .resolve(&format!("did:web:127.0.0.1%3A{port}"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");

    let port = hostile_server(b"{}".to_vec(), Duration::from_secs(30)).await;
    let started = std::time::Instant::now();
    let err = loopback_resolver(Duration::from_millis(500))
        .resolve(&format!("did:web:127.0.0.1%3A{port}"))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "the timeout did not bound the wait");
    assert!(err.to_string().to_lowercase().contains("time"), "{err}");

    let port = hostile_server(br#"{"id": "did:web:someone-else.example"}"#.to_vec(), Duration::ZERO).await;
    let err = loopback_resolver(Duration::from_secs(5))
        .resolve(&format!("did:web:127.0.0.1%3A{port}"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not this DID"), "{err}");
}

#[test]
fn cli_rotate_and_revoke_with_confirmation() {
    let data = temp_data_dir("web-cli");
    let laurel = |args: &[&str]| common::laurel_cli(&data, args);
    // First start creates the issuer key; stop it and rotate offline.
    {
        let _server = ServerProcess::start(&data, &["--did-web", "issuer.example"]);
    }
    let out = laurel(&["key", "rotate", "--did-web", "issuer.example"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotated["retired"], json!(["issuer"]));
    assert!(rotated["verificationMethod"].as_str().unwrap().starts_with("did:web:issuer.example#issuer-"));
    // Without --yes and without a typed confirmation nothing happens.
    let out = laurel(&["key", "revoke", "issuer", "--did-web", "issuer.example"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("EVERY credential"));
    let out = laurel(&["key", "revoke", "issuer", "--did-web", "issuer.example", "--yes"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // did:key issuers cannot revoke.
    let out = laurel(&["key", "revoke", "issuer", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A key signs for a did:web issuer only if the issuer's DID document lists it: a key made while
/// the issuer runs as did:web (RSA too, as a JsonWebKey) is listed and verifies; a standalone key
/// made before is refused rather than signed under a method the document does not have.
#[tokio::test]
async fn only_keys_in_the_did_document_sign_for_a_did_web_issuer() {
    let port = free_port();
    let host = format!("127.0.0.1%3A{port}");
    let data = temp_data_dir("web-keys");
    let made = common::laurel_cli(&data, &["key", "new", "--type", "rsa", "--name", "standalone"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let issuer = ServerProcess::start_on(
        &data,
        &format!("127.0.0.1:{port}"),
        &["--self-signed", "--did-web", &host, "--admin-token", "t"],
    );
    let client = http_client();
    let r = client
        .post(format!("{}/keys", issuer.base))
        .bearer_auth("t")
        .json(&json!({"type": "rsa", "name": "rsa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let p384 = client
        .post(format!("{}/keys", issuer.base))
        .bearer_auth("t")
        .json(&json!({"type": "p384"}))
        .send()
        .await
        .unwrap();
    assert_eq!(p384.status(), StatusCode::BAD_REQUEST, "P-384 is verified, never issued with");
    let issue = |key: &str| {
        let request = json!({"credential": badge(9), "options": {"format": "jwt", "key": key}});
        let client = client.clone();
        let url = format!("{}/credentials/issue", issuer.base);
        async move { client.post(url).bearer_auth("t").json(&request).send().await.unwrap() }
    };
    let r = issue("rsa").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let jwt = r.json::<Value>().await.unwrap()["verifiableCredential"].clone();
    let report = fresh_verifier().verify_value(&jwt).await;
    assert!(report.verified, "{:#?}", report.errors);
    assert_eq!(report.proofs[0].verification_method, format!("did:web:{host}#rsa"));
    let document: Value = get_json(&client, format!("{}/.well-known/did.json", issuer.base)).await;
    let rsa = document["verificationMethod"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == json!(format!("did:web:{host}#rsa")));
    assert_eq!(rsa.unwrap()["type"], json!("JsonWebKey"), "{document}");

    let r = issue("standalone").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let problem: Value = r.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("not in the DID document"), "{problem}");
}
