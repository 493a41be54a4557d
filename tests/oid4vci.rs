//! Wallet delivery over OpenID4VCI 1.0 (pre-authorized code flow), against the real server on a
//! loopback port:
//! - an independent wallet client from npm (Animo's `@openid4vc/openid4vci`, tests/wallet)
//!   redeems offers with and without a `tx_code`, in `ldp_vc` and `jwt_vc_json`, with a did:key
//!   and a `jwk` key; the badges verify in Laurel and (the Data Integrity one) in Digital
//!   Bazaar's vc, and are bound to the wallet's DID;
//! - every protocol failure the spec names, each answered with its error and issuing nothing;
//! - kill -9 during a burst of redemptions: no offer yields two badges, none acknowledged is lost.

mod common;

use base64::Engine;
use common::{http_client, temp_data_dir, ServerProcess};
use laurel::keys::{KeyPair, KeyType};
use reqwest::StatusCode;
use serde_json::{json, Value};

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const LDP: &str = "OpenBadgeCredential_ldp_vc";
const JWT: &str = "OpenBadgeCredential_jwt_vc_json";

fn unsigned_badge(name: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name,
        "issuer": {},
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {"type": ["Achievement"], "name": name, "description": "Wallet delivery", "criteria": {"narrative": "Took part."}}
        }
    })
}

async fn create_offer(client: &reqwest::Client, server: &ServerProcess, body: Value) -> Value {
    let response = client
        .post(format!("{}/offers", server.base))
        .bearer_auth(&server.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn credential_count(client: &reqwest::Client, server: &ServerProcess) -> u64 {
    let page: Value = client
        .get(format!("{}/credentials?limit=1", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["total"].as_u64().unwrap()
}

/// The pre-authorized code inside an offer (what a wallet reads from the offer object).
async fn offer_code(client: &reqwest::Client, offer: &Value) -> String {
    let object: Value =
        client.get(offer["credentialOfferUri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    object["grants"][PRE_AUTH]["pre-authorized_code"].as_str().unwrap().to_string()
}

async fn token_request(client: &reqwest::Client, base: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = client.post(format!("{base}/oid4vci/token")).form(form).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn access_token(client: &reqwest::Client, base: &str, code: &str) -> String {
    let (status, body) =
        token_request(client, base, &[("grant_type", PRE_AUTH), ("pre-authorized_code", code)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn fresh_nonce(client: &reqwest::Client, base: &str) -> String {
    let body: Value =
        client.post(format!("{base}/oid4vci/nonce")).send().await.unwrap().json().await.unwrap();
    body["c_nonce"].as_str().unwrap().to_string()
}

fn key_proof(key: &KeyPair, header: Value, payload: Value) -> String {
    let h = B64URL.encode(header.to_string());
    let p = B64URL.encode(payload.to_string());
    let signature = key.sign_raw(format!("{h}.{p}").as_bytes()).unwrap();
    format!("{h}.{p}.{}", B64URL.encode(signature))
}

fn did_key_proof(key: &KeyPair, aud: &str, nonce: &str) -> String {
    key_proof(
        key,
        json!({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": key.public_key().verification_method()}),
        json!({"aud": aud, "iat": chrono::Utc::now().timestamp(), "nonce": nonce}),
    )
}

async fn credential_request(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = client.post(format!("{base}/oid4vci/credential")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

fn wallet_installed() -> Option<std::path::PathBuf> {
    let dir = common::repo_path("tests/wallet");
    if dir.join("node_modules/@openid4vc/openid4vci").is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP oid4vci wallet interop: run `npm ci` in {} first (.ci/run does it)", dir.display());
        None
    }
}

/// Runs the npm wallet on one offer; returns its JSON line.
fn run_wallet(
    dir: &std::path::Path,
    offer_uri: &str,
    configuration: &str,
    key: &str,
    tx_code: Option<&str>,
) -> Value {
    let mut command = std::process::Command::new("node");
    command.current_dir(dir).arg("wallet.mjs").args([offer_uri, configuration, key]);
    if let Some(code) = tx_code {
        command.arg(code);
    }
    let output = command.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("wallet output: {stdout}\n{}", String::from_utf8_lossy(&output.stderr)))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_independent_wallet_receives_badges_in_both_formats() {
    let Some(wallet) = wallet_installed() else { return };
    let data = temp_data_dir("oid4vci-wallet");
    let server = ServerProcess::start(&data, &[]);
    let client = http_client();

    // The metadata the wallet reads.
    let metadata =
        common::get_json(&client, format!("{}/.well-known/openid-credential-issuer", server.base)).await;
    assert_eq!(metadata["credential_issuer"], json!(server.base));
    assert_eq!(metadata["credential_configurations_supported"][LDP]["format"], "ldp_vc");
    assert_eq!(metadata["credential_configurations_supported"][JWT]["format"], "jwt_vc_json");
    let oauth =
        common::get_json(&client, format!("{}/.well-known/oauth-authorization-server", server.base)).await;
    assert_eq!(oauth["pre-authorized_grant_anonymous_access_supported"], json!(true));

    // Data Integrity, did:key, behind a tx_code; the learner's email stays hashed in the badge.
    let with_pin = create_offer(
        &client,
        &server,
        json!({"credential": unsigned_badge("Wallet badge"), "recipient": {"email": "Learner@Example.org"}, "txCode": true}),
    )
    .await;
    let pin = with_pin["txCode"].as_str().unwrap();
    assert_eq!(pin.len(), 6);
    let got = run_wallet(&wallet, with_pin["offerUri"].as_str().unwrap(), LDP, "did-key", Some(pin));
    assert!(got["error"].is_null(), "wallet failed: {got}");
    let badge = &got["credential"];
    assert_eq!(badge["credentialSubject"]["id"], got["holder"]);
    assert!(got["holder"].as_str().unwrap().starts_with("did:key:z6Mk"));
    assert_eq!(badge["credentialSubject"]["identifier"][0]["hashed"], json!(true));
    assert_eq!(badge["id"], with_pin["credentialId"]);
    assert!(badge["credentialStatus"]["statusListIndex"].is_string(), "the badge has its status entry");
    let report: Value = client
        .post(format!("{}/credentials/verify", server.base))
        .json(&json!({"verifiableCredential": badge}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["verified"], json!(true), "{report}");
    // The stored record is what the wallet got.
    let stored: Value = client
        .get(format!("{}/credentials/{}", server.base, urlencoding(badge["id"].as_str().unwrap())))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stored.to_string().contains(got["holder"].as_str().unwrap()), "{stored}");
    // Spent: the offer object is gone and the state says so.
    let state: Value = client
        .get(format!("{}/offers/{}", server.base, with_pin["id"].as_str().unwrap()))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["state"], "redeemed");
    assert_eq!(state["holder"], got["holder"]);
    let again = run_wallet(&wallet, with_pin["offerUri"].as_str().unwrap(), LDP, "did-key", Some(pin));
    assert_eq!(again["step"], "resolve offer", "a spent offer cannot be resolved again: {again}");

    // Digital Bazaar's vc verifies the received badge's proof (vectors/interop/gen) and its
    // status (@digitalbazaar/vc-bitstring-status-list, vectors/status/gen/check.mjs).
    let (proof_checker, status_checker) =
        (common::repo_path("vectors/interop/gen"), common::repo_path("vectors/status/gen"));
    if proof_checker.join("node_modules/@digitalbazaar/vc").is_dir()
        && status_checker.join("node_modules/@digitalbazaar/vc-bitstring-status-list").is_dir()
    {
        let file = data.join("wallet-badge.json");
        std::fs::write(&file, serde_json::to_vec(badge).unwrap()).unwrap();
        let node = |dir: &std::path::Path, args: Vec<String>| {
            let output =
                std::process::Command::new("node").current_dir(dir).args(args).output().expect("node runs");
            (output.status.success(), String::from_utf8_lossy(&output.stdout).to_string())
        };
        let (ok, stdout) = node(
            &proof_checker,
            vec!["verify.mjs".into(), "--status-checked-elsewhere".into(), file.display().to_string()],
        );
        assert!(ok && stdout.contains("\"verified\":true"), "Digital Bazaar vc, the proof: {stdout}");
        let list_url = badge["credentialStatus"]["statusListCredential"].as_str().unwrap();
        let list = client
            .get(list_url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let list_file = data.join("wallet-badge-list.json");
        std::fs::write(&list_file, &list).unwrap();
        let (ok, stdout) = node(
            &status_checker,
            vec![
                "check.mjs".into(),
                "--no-credential-verify".into(),
                format!("{list_url}={}", list_file.display()),
                file.display().to_string(),
            ],
        );
        assert!(ok && stdout.contains("\"status\":false"), "Digital Bazaar vc, the status: {stdout}");
    } else {
        eprintln!("SKIP Digital Bazaar check of the wallet badge: run `npm ci` in vectors/interop/gen and vectors/status/gen");
    }

    // VC-JWT, a P-256 key given as `jwk`, no tx_code.
    let plain = create_offer(
        &client,
        &server,
        json!({"credential": unsigned_badge("JWT badge"), "recipient": {"email": "jwt@example.org"}}),
    )
    .await;
    assert!(plain["txCode"].is_null());
    let got = run_wallet(&wallet, plain["offerUri"].as_str().unwrap(), JWT, "jwk-p256", None);
    assert!(got["error"].is_null(), "wallet failed: {got}");
    let jwt = got["credential"].as_str().expect("jwt_vc_json is a compact JWT");
    let payload: Value =
        serde_json::from_slice(&B64URL.decode(jwt.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let subject = payload["credentialSubject"]["id"].as_str().unwrap();
    assert!(subject.starts_with("did:jwk:"), "{subject}");
    let subject_jwk: Value =
        serde_json::from_slice(&B64URL.decode(&subject["did:jwk:".len()..]).unwrap()).unwrap();
    let wallet_jwk: Value =
        serde_json::from_slice(&B64URL.decode(&got["holder"].as_str().unwrap()["did:jwk:".len()..]).unwrap())
            .unwrap();
    for member in ["kty", "crv", "x", "y"] {
        assert_eq!(subject_jwk[member], wallet_jwk[member], "the JWT badge is bound to the wallet's key");
    }
    let report: Value = client
        .post(format!("{}/credentials/verify", server.base))
        .json(&json!({"verifiableCredential": jwt}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["verified"], json!(true), "{report}");

    // An achievement from the catalog, offered with the CLI, redeemed by the wallet.
    let achievement: Value = client
        .post(format!("{}/achievements", server.base))
        .bearer_auth(&server.token)
        .json(&json!({"name": "Catalog badge", "description": "From the catalog", "criteria": {"narrative": "Pass."}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let qr = data.join("offer.png");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_laurel"))
        .arg("--data")
        .arg(&data)
        .args(["offer", achievement["id"].as_str().unwrap(), "--recipient-email", "cli@example.org", "--qr"])
        .arg(&qr)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "laurel offer: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    let uri = stdout
        .lines()
        .find(|l| l.starts_with("openid-credential-offer://"))
        .expect("the offer URI is printed");
    assert!(std::fs::read(&qr).unwrap().starts_with(b"\x89PNG"));
    let got = run_wallet(&wallet, uri, LDP, "did-key", None);
    assert!(got["error"].is_null(), "wallet failed: {got}");
    assert_eq!(got["credential"]["credentialSubject"]["achievement"]["name"], "Catalog badge");
    assert_eq!(got["credential"]["credentialSubject"]["id"], got["holder"]);
    std::fs::remove_dir_all(&data).ok();
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_protocol_failure_gets_its_error_and_issues_nothing() {
    let data = temp_data_dir("oid4vci-negative");
    let server = ServerProcess::start(&data, &[]);
    let client = http_client();
    let base = server.base.clone();
    let offer_body =
        || json!({"credential": unsigned_badge("Negative"), "recipient": {"email": "n@example.org"}});

    // Offers are admin-only, and a credential with a subject id is refused (the wallet's goes there).
    let anonymous = client.post(format!("{base}/offers")).json(&offer_body()).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let mut bound = unsigned_badge("Bound");
    bound["credentialSubject"]["id"] = json!("did:example:someone");
    let refused = client
        .post(format!("{base}/offers"))
        .bearer_auth(&server.token)
        .json(&json!({"credential": bound, "recipient": {"email": "n@example.org"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let before = credential_count(&client, &server).await;

    // Wrong grant type, unknown code.
    let (status, body) =
        token_request(&client, &base, &[("grant_type", "authorization_code"), ("code", "x")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
    let (status, body) =
        token_request(&client, &base, &[("grant_type", PRE_AUTH), ("pre-authorized_code", "nope.nope")])
            .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    // tx_code: missing, wrong (attempts counted), then locked even for the right one.
    let mut with_pin = offer_body();
    with_pin["txCode"] = json!(true);
    let offer = create_offer(&client, &server, with_pin).await;
    let code = offer_code(&client, &offer).await;
    let pin = offer["txCode"].as_str().unwrap().to_string();
    let (_, body) =
        token_request(&client, &base, &[("grant_type", PRE_AUTH), ("pre-authorized_code", &code)]).await;
    assert_eq!(body["error"], "invalid_request", "a missing tx_code: {body}");
    let wrong = if pin == "000000" { "000001" } else { "000000" };
    for attempt in 1..=5 {
        let (status, body) = token_request(
            &client,
            &base,
            &[("grant_type", PRE_AUTH), ("pre-authorized_code", &code), ("tx_code", wrong)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "attempt {attempt}"
        );
    }
    let (_, body) = token_request(
        &client,
        &base,
        &[("grant_type", PRE_AUTH), ("pre-authorized_code", &code), ("tx_code", &pin)],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].as_str().unwrap().contains("locked"), "{body}");

    // An expired offer.
    let mut short = offer_body();
    short["expiresIn"] = json!(1);
    let offer = create_offer(&client, &server, short).await;
    let code = offer_code(&client, &offer).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (_, body) =
        token_request(&client, &base, &[("grant_type", PRE_AUTH), ("pre-authorized_code", &code)]).await;
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].as_str().unwrap().contains("expired"), "{body}");

    // A code is traded once.
    let offer = create_offer(&client, &server, offer_body()).await;
    let code = offer_code(&client, &offer).await;
    let token = access_token(&client, &base, &code).await;
    let (_, body) =
        token_request(&client, &base, &[("grant_type", PRE_AUTH), ("pre-authorized_code", &code)]).await;
    assert_eq!(body["error"], "invalid_grant", "a second trade of the code: {body}");

    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let request = |jwt: String| json!({"credential_configuration_id": LDP, "proofs": {"jwt": [jwt]}});
    // No token, a bad token.
    let nonce = fresh_nonce(&client, &base).await;
    let (status, body) =
        credential_request(&client, &base, None, request(did_key_proof(&key, &base, &nonce))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    let (status, _) =
        credential_request(&client, &base, Some("x.y"), request(did_key_proof(&key, &base, &nonce))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Unknown configuration.
    let (status, body) = credential_request(
        &client,
        &base,
        Some(&token),
        json!({"credential_configuration_id": "mDL", "proofs": {"jwt": [did_key_proof(&key, &base, &nonce)]}}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_credential_configuration"))
    );
    // Wrong audience.
    let (_, body) = credential_request(
        &client,
        &base,
        Some(&token),
        request(did_key_proof(&key, "https://other.example", &nonce)),
    )
    .await;
    assert_eq!(body["error"], "invalid_proof", "{body}");
    // Signed by a different key than its kid names.
    let other = KeyPair::generate(KeyType::Ed25519).unwrap();
    let forged = key_proof(
        &other,
        json!({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": key.public_key().verification_method()}),
        json!({"aud": base, "iat": chrono::Utc::now().timestamp(), "nonce": nonce}),
    );
    let (_, body) = credential_request(&client, &base, Some(&token), request(forged)).await;
    assert_eq!(body["error"], "invalid_proof", "{body}");
    // alg none.
    let none = format!(
        "{}.{}.",
        B64URL.encode(json!({"typ": "openid4vci-proof+jwt", "alg": "none", "kid": key.public_key().verification_method()}).to_string()),
        B64URL.encode(json!({"aud": base, "iat": chrono::Utc::now().timestamp(), "nonce": nonce}).to_string())
    );
    let (_, body) = credential_request(&client, &base, Some(&token), request(none)).await;
    assert_eq!(body["error"], "invalid_proof", "{body}");
    // A nonce this issuer never made, and none at all: invalid_nonce with a fresh one.
    let (status, body) = credential_request(
        &client,
        &base,
        Some(&token),
        request(did_key_proof(&key, &base, "1999999999.abc.def")),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_nonce")));
    assert!(body["c_nonce"].is_string(), "invalid_nonce carries a fresh nonce: {body}");
    // A proof with an iat an hour old.
    let stale = key_proof(
        &key,
        json!({"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": key.public_key().verification_method()}),
        json!({"aud": base, "iat": chrono::Utc::now().timestamp() - 3600, "nonce": nonce}),
    );
    let (_, body) = credential_request(&client, &base, Some(&token), request(stale)).await;
    assert_eq!(body["error"], "invalid_proof", "{body}");
    assert_eq!(credential_count(&client, &server).await, before, "no failure issued anything");

    // The good request, then the same nonce again (with another offer's token): invalid_nonce.
    let (status, body) =
        credential_request(&client, &base, Some(&token), request(did_key_proof(&key, &base, &nonce))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["credentials"][0]["credential"]["credentialSubject"]["id"],
        json!(key.public_key().did())
    );
    let (status, body) =
        credential_request(&client, &base, Some(&token), request(did_key_proof(&key, &base, &nonce))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token")),
        "a spent token: {body}"
    );
    let second = create_offer(&client, &server, offer_body()).await;
    let second_token = access_token(&client, &base, &offer_code(&client, &second).await).await;
    let (_, body) =
        credential_request(&client, &base, Some(&second_token), request(did_key_proof(&key, &base, &nonce)))
            .await;
    assert_eq!(body["error"], "invalid_nonce", "a reused nonce: {body}");
    // An offer for a given DID refuses another wallet's key.
    let pinned = create_offer(
        &client,
        &server,
        json!({"credential": unsigned_badge("Pinned"), "recipient": {"did": other.public_key().did()}}),
    )
    .await;
    let pinned_token = access_token(&client, &base, &offer_code(&client, &pinned).await).await;
    let nonce = fresh_nonce(&client, &base).await;
    let (_, body) =
        credential_request(&client, &base, Some(&pinned_token), request(did_key_proof(&key, &base, &nonce)))
            .await;
    assert_eq!(body["error"], "invalid_proof", "{body}");
    assert_eq!(credential_count(&client, &server).await, before + 1, "only the one good request issued");

    // The claim page and its QR codes; a spent offer's page says it is gone.
    let page = client.get(format!("{base}/claim/{}", second["id"].as_str().unwrap())).send().await.unwrap();
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("openid-credential-offer://") && html.contains("qr.svg"), "{html}");
    let png =
        client.get(format!("{base}/claim/{}/qr.png", second["id"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let spent = client.get(format!("{base}/claim/{}", offer["id"].as_str().unwrap())).send().await.unwrap();
    assert!(spent.text().await.unwrap().contains("can no longer be claimed"));
    std::fs::remove_dir_all(&data).ok();
}

/// kill -9 while redemptions are in flight, restart, redeem again: each offer has exactly one
/// badge, and every badge a wallet was answered with is stored.
#[tokio::test(flavor = "multi_thread")]
async fn a_crash_during_a_redemption_burst_loses_nothing_and_doubles_nothing() {
    const OFFERS: usize = 30;
    let data = temp_data_dir("oid4vci-crash");
    let listen = format!("127.0.0.1:{}", common::free_port());
    let mut server = ServerProcess::start_on(&data, &listen, &[]);
    let base = server.base.clone();
    let token = server.token.clone();
    let client = http_client();
    let mut redemptions = Vec::new();
    for _ in 0..OFFERS {
        let offer = create_offer(
            &client,
            &server,
            json!({"credential": unsigned_badge("Burst"), "recipient": {"email": "b@example.org"}}),
        )
        .await;
        let access = access_token(&client, &base, &offer_code(&client, &offer).await).await;
        redemptions.push((offer["credentialId"].as_str().unwrap().to_string(), access));
    }
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let mut tasks = Vec::new();
    for (credential_id, access) in redemptions.clone() {
        let (client, base) = (client.clone(), base.clone());
        let key_proof = did_key_proof(&key, &base, &fresh_nonce(&client, &base).await);
        tasks.push(tokio::spawn(async move {
            // Twice at once for the same offer: at most one may win.
            let body = json!({"credential_configuration_id": LDP, "proofs": {"jwt": [key_proof]}});
            let first =
                client.post(format!("{base}/oid4vci/credential")).bearer_auth(&access).json(&body).send();
            let second =
                client.post(format!("{base}/oid4vci/credential")).bearer_auth(&access).json(&body).send();
            let (a, b) = tokio::join!(first, second);
            let mut acknowledged = Vec::new();
            for response in [a, b].into_iter().flatten() {
                if response.status() == StatusCode::OK {
                    if let Ok(body) = response.json::<Value>().await {
                        acknowledged.push(
                            body["credentials"][0]["credential"]["id"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                        );
                    }
                }
            }
            assert!(acknowledged.len() <= 1, "one offer answered two badges");
            acknowledged
                .into_iter()
                .map(|id| {
                    assert_eq!(id, credential_id);
                    id
                })
                .collect::<Vec<_>>()
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    server.kill9();
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    let server = ServerProcess::start_on(&data, &listen, &[]);
    let client = http_client();
    for id in &acknowledged {
        let response = client
            .get(format!("{base}/credentials/{}", urlencoding(id)))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "acknowledged badge {id} was lost");
    }
    // Finish the rest: each offer ends with exactly one badge.
    for (credential_id, access) in &redemptions {
        let nonce = fresh_nonce(&client, &base).await;
        let (status, body) = credential_request(
            &client,
            &base,
            Some(access),
            json!({"credential_configuration_id": LDP, "proofs": {"jwt": [did_key_proof(&key, &base, &nonce)]}}),
        )
        .await;
        let stored = client
            .get(format!("{base}/credentials/{}", urlencoding(credential_id)))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(stored.status(), StatusCode::OK, "offer {credential_id} has no badge: {status} {body}");
        if acknowledged.contains(credential_id) {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "an acknowledged offer redeemed twice: {body}");
        }
    }
    assert_eq!(credential_count(&client, &server).await, OFFERS as u64, "exactly one badge per offer");
    eprintln!("oid4vci crash: {} of {OFFERS} redemptions acknowledged before kill -9", acknowledged.len());
    std::fs::remove_dir_all(&data).ok();
}
