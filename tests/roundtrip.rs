//! Every proof format issues and verifies; every kind of tampering fails with the right code.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use laurel::credential::issue::{build_badge, issue, BadgeRequest, IssueError};
use laurel::credential::proofs::{Format, Secured};
use laurel::credential::verify::{Report, Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use laurel::keys::{KeyPair, KeyType};
use serde_json::{json, Value};

fn request() -> BadgeRequest {
    BadgeRequest {
        subject_id: Some("did:example:recipient".into()),
        achievement_name: "Round trip".into(),
        achievement_id: Some("urn:example:achievement".into()),
        issuer_name: Some("Laurel Test".into()),
        ..BadgeRequest::default()
    }
}

async fn verify(value: &Value) -> Report {
    Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default()).verify_value(value).await
}

fn codes(report: &Report) -> Vec<&str> {
    report.errors.iter().map(|e| e.code.as_str()).collect()
}

async fn signed_json(format: Format, key: &KeyPair) -> Value {
    match issue(build_badge(&request()), key, format).await.unwrap() {
        Secured::Json(v) => v,
        Secured::Jwt(_) => unreachable!(),
    }
}

#[tokio::test]
async fn every_format_and_key_type_round_trips() {
    let cases = [
        (Format::EddsaRdfc2022, KeyType::Ed25519, "eddsa-rdfc-2022"),
        (Format::EcdsaRdfc2019, KeyType::P256, "ecdsa-rdfc-2019"),
        (Format::Jwt, KeyType::Ed25519, "jwt-eddsa"),
        (Format::Jwt, KeyType::P256, "jwt-es256"),
        (Format::Jwt, KeyType::Rsa, "jwt-rs256"),
    ];
    for (format, key_type, name) in cases {
        let key = KeyPair::generate(key_type).unwrap();
        let secured = issue(build_badge(&request()), &key, format).await.unwrap();
        let report = verify(&secured.to_json_value()).await;
        assert!(report.verified, "{name}: {:#?}", report.errors);
        assert_eq!(report.proofs[0].format, name);
        assert_eq!(report.issuer.as_deref(), Some(key.did().as_str()));
    }
}

#[tokio::test]
async fn tampering_with_a_data_integrity_credential_fails() {
    for (format, key_type) in
        [(Format::EddsaRdfc2022, KeyType::Ed25519), (Format::EcdsaRdfc2019, KeyType::P256)]
    {
        let key = KeyPair::generate(key_type).unwrap();
        let signed = signed_json(format, &key).await;
        assert!(verify(&signed).await.verified);

        let mut changed = signed.clone();
        changed["credentialSubject"]["achievement"]["name"] = json!("Something else");
        assert_eq!(codes(&verify(&changed).await), ["PROOF_VERIFICATION_ERROR"], "{format:?} signed field");

        let mut changed = signed.clone();
        changed["credentialSubject"]["extraClaim"] = json!("added after signing");
        assert!(!verify(&changed).await.verified, "{format:?} added term");

        let mut changed = signed.clone();
        let value = changed["proof"]["proofValue"].as_str().unwrap().to_string();
        let flipped = if value.ends_with('A') { 'B' } else { 'A' };
        changed["proof"]["proofValue"] = json!(format!("{}{flipped}", &value[..value.len() - 1]));
        assert!(!verify(&changed).await.verified, "{format:?} proof value");

        let other = KeyPair::generate(key_type).unwrap();
        let mut changed = signed.clone();
        changed["proof"]["verificationMethod"] = json!(other.verification_method());
        let report = verify(&changed).await;
        assert!(
            codes(&report).contains(&"PROOF_VERIFICATION_ERROR"),
            "{format:?} method: {:#?}",
            report.errors
        );

        let mut changed = signed.clone();
        changed["proof"]["proofPurpose"] = json!("authentication");
        let report = verify(&changed).await;
        assert_eq!(codes(&report), ["PROOF_VERIFICATION_ERROR"]);
        assert!(report.errors[0].detail.contains("proofPurpose"));
    }
}

#[tokio::test]
async fn dates_are_checked_against_the_clock_with_skew() {
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let mut expired = build_badge(&request());
    expired["validFrom"] = json!("2020-01-01T00:00:00Z");
    expired["validUntil"] = json!("2021-01-01T00:00:00Z");
    let signed = issue(expired, &key, Format::EddsaRdfc2022).await.unwrap().to_json_value();
    assert_eq!(codes(&verify(&signed).await), ["CREDENTIAL_EXPIRED"]);

    let mut future = build_badge(&request());
    future["validFrom"] = json!("2099-01-01T00:00:00Z");
    for format in [Format::EddsaRdfc2022, Format::Jwt] {
        let signed = issue(future.clone(), &key, format).await.unwrap().to_json_value();
        let report = verify(&signed).await;
        assert!(
            codes(&report).iter().all(|c| *c == "CREDENTIAL_NOT_YET_VALID"),
            "{format:?}: {:#?}",
            report.errors
        );
        assert!(!report.verified);
        // Verified at a given instant instead of now.
        let at =
            chrono::DateTime::parse_from_rfc3339("2099-06-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let options = VerifyOptions { now: Some(at), ..VerifyOptions::default() };
        let report = Verifier::new(Arc::new(LocalResolver::default()), options).verify_value(&signed).await;
        assert!(report.verified, "{format:?}: {:#?}", report.errors);
    }
}

#[tokio::test]
async fn signing_for_another_issuer_is_refused() {
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let mut credential = build_badge(&request());
    credential["issuer"]["id"] = json!("did:example:someone-else");
    let err = issue(credential, &key, Format::EddsaRdfc2022).await.unwrap_err();
    assert!(matches!(err, IssueError::NotIssuer { .. }), "{err}");
}

#[tokio::test]
async fn invalid_credentials_are_not_signed_and_every_problem_is_named() {
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let mut credential = build_badge(&request());
    credential["credentialSubject"]["achievement"].as_object_mut().unwrap().remove("name");
    credential["validFrom"] = json!("not a date");
    let IssueError::Invalid(problems) = issue(credential, &key, Format::EddsaRdfc2022).await.unwrap_err()
    else {
        panic!("expected validation errors")
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"$.credentialSubject.achievement.name"), "{paths:?}");
    assert!(paths.contains(&"$.validFrom"), "{paths:?}");
}

#[tokio::test]
async fn undefined_terms_are_refused_at_issue_time() {
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    // VC DM 1.1 has no @vocab: an undefined term would silently vanish from the signature.
    let credential = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": key.did(),
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:1", "undefinedThing": true}
    });
    for format in [Format::EddsaRdfc2022, Format::Jwt] {
        let err = issue(credential.clone(), &key, format).await.unwrap_err();
        assert!(err.to_string().contains("undefinedThing"), "{format:?}: {err}");
    }
}

fn forge_jwt(header: Value, payload: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(payload.to_string()),
        B64URL.encode(signature)
    )
}

fn jwt_parts(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    (
        serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap(),
        serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn hostile_jwts_are_refused() {
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let Secured::Jwt(token) = issue(build_badge(&request()), &key, Format::Jwt).await.unwrap() else {
        unreachable!()
    };
    let (header, payload) = jwt_parts(&token);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(payload["iss"], json!(key.did()));
    assert_eq!(payload["sub"], json!("did:example:recipient"));
    assert!(payload["nbf"].is_i64() && payload["jti"].is_string());

    let check = |name: &str, token: String, code: &str| {
        let name = name.to_string();
        let code = code.to_string();
        async move {
            let report = verify(&json!(token)).await;
            assert!(!report.verified, "{name} verified");
            assert!(codes(&report).contains(&code.as_str()), "{name}: {:#?}", report.errors);
        }
    };
    check(
        "alg none",
        forge_jwt(json!({"alg": "none", "typ": "JWT", "kid": key.verification_method()}), &payload, b""),
        "CRYPTOGRAPHIC_SECURITY_ERROR",
    )
    .await;
    check(
        "HS256",
        forge_jwt(
            json!({"alg": "HS256", "typ": "JWT", "kid": key.verification_method()}),
            &payload,
            &[0; 32],
        ),
        "CRYPTOGRAPHIC_SECURITY_ERROR",
    )
    .await;
    let attacker = KeyPair::generate(KeyType::Ed25519).unwrap();
    let jwk = attacker.public_key().to_jwk();
    check(
        "embedded jwk",
        forge_jwt(json!({"alg": "EdDSA", "kid": key.verification_method(), "jwk": jwk}), &payload, &[0; 64]),
        "CRYPTOGRAPHIC_SECURITY_ERROR",
    )
    .await;
    check(
        "jku",
        forge_jwt(
            json!({"alg": "EdDSA", "kid": key.verification_method(), "jku": "https://evil.example/jwks"}),
            &payload,
            &[0; 64],
        ),
        "CRYPTOGRAPHIC_SECURITY_ERROR",
    )
    .await;
    check(
        "x5u",
        forge_jwt(
            json!({"alg": "EdDSA", "kid": key.verification_method(), "x5u": "https://evil.example/cert"}),
            &payload,
            &[0; 64],
        ),
        "CRYPTOGRAPHIC_SECURITY_ERROR",
    )
    .await;
    // Signed by the attacker with kid naming the attacker's own DID: a valid signature, wrong signer.
    let mut forged = build_badge(&request());
    forged["issuer"]["id"] = json!(attacker.did());
    let Secured::Jwt(attacker_token) = issue(forged, &attacker, Format::Jwt).await.unwrap() else {
        unreachable!()
    };
    let (attacker_header, _) = jwt_parts(&attacker_token);
    let attacker_sig = B64URL.decode(attacker_token.split('.').nth(2).unwrap()).unwrap();
    check(
        "kid of another DID",
        forge_jwt(attacker_header, &payload, &attacker_sig),
        "PROOF_VERIFICATION_ERROR",
    )
    .await;
    // ES256 claimed over an Ed25519 key.
    check(
        "wrong key type",
        forge_jwt(
            json!({"alg": "ES256", "typ": "JWT", "kid": key.verification_method()}),
            &payload,
            &[1; 64],
        ),
        "CRYPTOGRAPHIC_SECURITY_ERROR",
    )
    .await;
    // Payload changed after signing.
    let mut changed = payload.clone();
    changed["credentialSubject"]["achievement"]["name"] = json!("Forged");
    let sig = B64URL.decode(token.split('.').nth(2).unwrap()).unwrap();
    check("payload changed", forge_jwt(header.clone(), &changed, &sig), "PROOF_VERIFICATION_ERROR").await;
    // A claim that contradicts the credential.
    let mut mismatch = payload.clone();
    mismatch["jti"] = json!("urn:uuid:something-else");
    check("jti mismatch", forge_jwt(header.clone(), &mismatch, &sig), "MALFORMED_VALUE_ERROR").await;
    check("garbage", "eyJ.eyJ.!!".to_string(), "PARSING_ERROR").await;
}
