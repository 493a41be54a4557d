//! JWT key binding and algorithms (issue 15): a `jwk` header selects one of the issuer's own
//! keys and is refused when it is not one; ES384, ES512, RS384, RS512 and PS256 verify; JWT-
//! secured status lists are checked like Data Integrity ones. Offline: every document is pinned.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use laurel::credential::issue::{build_badge, BadgeRequest};
use laurel::credential::verify::{Report, Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use laurel::keys::{KeyPair, KeyType, PublicKey};
use serde_json::{json, Map, Value};

/// A signing key of any JWS algorithm, as josekit holds it, with its public JWK.
struct JoseKey {
    alg: &'static str,
    private: josekit::jwk::Jwk,
    public: Map<String, Value>,
}

fn jose_key(alg: &'static str) -> JoseKey {
    use josekit::jws;
    let private = match alg {
        "ES384" => jws::ES384.generate_key_pair().unwrap().to_jwk_key_pair(),
        "ES512" => jws::ES512.generate_key_pair().unwrap().to_jwk_key_pair(),
        "ES256" => jws::ES256.generate_key_pair().unwrap().to_jwk_key_pair(),
        "EdDSA" => {
            jws::EdDSA.generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519).unwrap().to_jwk_key_pair()
        }
        _ => jws::RS256.generate_key_pair(2048).unwrap().to_jwk_key_pair(),
    };
    // josekit binds a generated JWK to one algorithm ("alg"); the same RSA key signs them all.
    let mut private = private.as_ref().clone();
    private.remove("alg");
    let private = josekit::jwk::Jwk::from_map(private).unwrap();
    let public: Map<String, Value> = private
        .as_ref()
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "kty" | "crv" | "x" | "y" | "n" | "e"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    JoseKey { alg, private, public }
}

impl JoseKey {
    fn did_jwk(&self) -> String {
        format!("did:jwk:{}", B64URL.encode(Value::Object(self.public.clone()).to_string()))
    }

    fn public_key(&self) -> PublicKey {
        PublicKey::from_jwk(&self.public).unwrap()
    }

    /// Signs `payload` under `header` (alg added) with this key.
    fn sign(&self, mut header: Map<String, Value>, payload: &Value) -> String {
        use josekit::jws::{self, JwsSigner};
        header.insert("alg".into(), json!(self.alg));
        let signer: Box<dyn JwsSigner> = match self.alg {
            "EdDSA" => Box::new(jws::EdDSA.signer_from_jwk(&self.private).unwrap()),
            "ES256" => Box::new(jws::ES256.signer_from_jwk(&self.private).unwrap()),
            "ES384" => Box::new(jws::ES384.signer_from_jwk(&self.private).unwrap()),
            "ES512" => Box::new(jws::ES512.signer_from_jwk(&self.private).unwrap()),
            "RS256" => Box::new(jws::RS256.signer_from_jwk(&self.private).unwrap()),
            "RS384" => Box::new(jws::RS384.signer_from_jwk(&self.private).unwrap()),
            "RS512" => Box::new(jws::RS512.signer_from_jwk(&self.private).unwrap()),
            "PS256" => Box::new(jws::PS256.signer_from_jwk(&self.private).unwrap()),
            other => panic!("no signer for {other}"),
        };
        let input = format!(
            "{}.{}",
            B64URL.encode(Value::Object(header).to_string()),
            B64URL.encode(payload.to_string())
        );
        let signature = signer.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", B64URL.encode(signature))
    }
}

/// An OB 3.0 §8.2 JWT payload: the credential, issued by `issuer`, with the registered claims.
fn badge_payload(issuer: &str, status: Option<Value>) -> Value {
    let request = BadgeRequest {
        subject_id: Some("did:example:learner".into()),
        achievement_name: "JWT keys".into(),
        achievement_id: Some("urn:example:jwt-keys".into()),
        ..BadgeRequest::default()
    };
    let mut credential = build_badge(&request);
    credential["issuer"] = json!({"id": issuer, "type": ["Profile"], "name": "Peer issuer"});
    credential["validFrom"] = json!("2025-01-01T00:00:00Z");
    if let Some(status) = status {
        credential["credentialStatus"] = status;
    }
    let mut payload = credential.as_object().unwrap().clone();
    payload.insert("iss".into(), json!(issuer));
    payload.insert("nbf".into(), json!(1735689600));
    payload.insert("sub".into(), json!("did:example:learner"));
    Value::Object(payload)
}

fn header(members: Value) -> Map<String, Value> {
    let mut header = members.as_object().unwrap().clone();
    header.insert("typ".into(), json!("JWT"));
    header
}

async fn verify_with(resolver: LocalResolver, token: &str) -> Report {
    Verifier::new(Arc::new(resolver), VerifyOptions::default()).verify_value(&json!(token)).await
}

async fn verify(token: &str) -> Report {
    verify_with(LocalResolver::default(), token).await
}

fn errors(report: &Report) -> String {
    report.errors.iter().map(|e| format!("{} {}", e.code, e.detail)).collect::<Vec<_>>().join("; ")
}

#[tokio::test]
async fn a_jwk_header_without_kid_selects_the_issuers_own_key_in_every_algorithm() {
    for alg in ["EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256"] {
        let key = jose_key(alg);
        let issuer = key.did_jwk();
        let token = key.sign(header(json!({"jwk": key.public})), &badge_payload(&issuer, None));
        let report = verify(&token).await;
        assert!(report.verified, "{alg}: {}", errors(&report));
        assert_eq!(report.proofs[0].format, format!("jwt-{}", alg.to_ascii_lowercase()), "{alg}");
        assert_eq!(report.proofs[0].verification_method, format!("{issuer}#0"), "{alg}");

        // The same JWT with the signature of another key of the same kind fails.
        let other = jose_key(alg);
        let forged = other.sign(header(json!({"jwk": key.public})), &badge_payload(&issuer, None));
        let report = verify(&forged).await;
        assert!(!report.verified, "{alg}: a signature by another key verified");
    }
}

#[tokio::test]
async fn p384_and_p521_did_keys_verify_es384_and_es512() {
    for alg in ["ES384", "ES512"] {
        let key = jose_key(alg);
        let multikey = key.public_key().to_multikey().unwrap();
        let issuer = format!("did:key:{multikey}");
        assert_eq!(key.public_key().key_type(), if alg == "ES384" { KeyType::P384 } else { KeyType::P521 });
        for members in [json!({"kid": format!("{issuer}#{multikey}")}), json!({"jwk": key.public}), json!({})]
        {
            let token = key.sign(header(members.clone()), &badge_payload(&issuer, None));
            let report = verify(&token).await;
            assert!(report.verified, "{alg} {members}: {}", errors(&report));
        }
        // Laurel verifies these curves; it does not issue with them.
        assert!(KeyPair::generate(key.public_key().key_type()).is_err());
    }
}

#[tokio::test]
async fn a_jwk_the_issuer_does_not_control_is_refused_with_and_without_kid() {
    let issuer_key = jose_key("ES256");
    let attacker = jose_key("ES256");
    let issuer = issuer_key.did_jwk();
    // The attacker signs a badge in the issuer's name and ships their own key in `jwk`.
    let token = attacker.sign(header(json!({"jwk": attacker.public})), &badge_payload(&issuer, None));
    let report = verify(&token).await;
    assert!(!report.verified);
    assert!(
        report.errors.iter().any(|e| e.code == "CRYPTOGRAPHIC_SECURITY_ERROR"
            && e.detail.contains("not the issuer's key")
            && e.detail.contains(&attacker.public_key().thumbprint())),
        "{}",
        errors(&report)
    );
    // With a kid naming the issuer's method, the header key must still be that method's.
    let with_kid = attacker.sign(
        header(json!({"jwk": attacker.public, "kid": format!("{issuer}#0")})),
        &badge_payload(&issuer, None),
    );
    let report = verify(&with_kid).await;
    assert!(
        report.errors.iter().any(|e| e.code == "CRYPTOGRAPHIC_SECURITY_ERROR" && e.detail.contains("which its \"kid\" names")),
        "{}",
        errors(&report)
    );
}

#[tokio::test]
async fn a_kid_and_a_jwk_that_disagree_are_refused_even_when_the_issuer_signed() {
    let key = jose_key("EdDSA");
    let other = jose_key("EdDSA");
    let issuer = key.did_jwk();
    let payload = badge_payload(&issuer, None);
    let agreeing = key.sign(header(json!({"kid": format!("{issuer}#0"), "jwk": key.public})), &payload);
    assert!(verify(&agreeing).await.verified);
    let disagreeing = key.sign(header(json!({"kid": format!("{issuer}#0"), "jwk": other.public})), &payload);
    let report = verify(&disagreeing).await;
    assert!(!report.verified);
    assert!(report.errors.iter().any(|e| e.code == "CRYPTOGRAPHIC_SECURITY_ERROR"), "{}", errors(&report));
    // A private key in the header is refused outright.
    let leaked = key.sign(header(json!({"jwk": key.private.as_ref()})), &payload);
    assert!(errors(&verify(&leaked).await).contains("private key"));
}

#[tokio::test]
async fn remote_keys_none_and_hmac_stay_refused() {
    let key = jose_key("RS256");
    let issuer = key.did_jwk();
    let payload = badge_payload(&issuer, None);
    for members in [
        json!({"jku": "https://evil.example/jwks"}),
        json!({"x5u": "https://evil.example/c"}),
        json!({"x5c": ["MIIB"]}),
    ] {
        let report = verify(&key.sign(header(members.clone()), &payload)).await;
        assert!(errors(&report).contains("CRYPTOGRAPHIC_SECURITY_ERROR"), "{members}: {}", errors(&report));
    }
    for alg in ["none", "HS256", "HS512"] {
        let token = format!(
            "{}.{}.{}",
            B64URL.encode(json!({"alg": alg, "jwk": key.public}).to_string()),
            B64URL.encode(payload.to_string()),
            B64URL.encode([0u8; 32])
        );
        let report = verify(&token).await;
        assert!(errors(&report).contains("is not allowed"), "{alg}: {}", errors(&report));
    }
}

/// An https issuer: the 1EdTech validator's JWT fixture carries its RSA key in `jwk`, no kid.
#[tokio::test]
async fn an_https_issuer_profile_must_list_the_header_key() {
    let spec =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/ob-v3p0/examples-validator");
    let Ok(bytes) = std::fs::read(spec.join("simple-jwt.png")) else {
        eprintln!("SKIP an_https_issuer_profile_must_list_the_header_key: ../shared/spec is not here");
        return;
    };
    let token = laurel::credential::baking::extract(&bytes).unwrap().credential;
    let header: Value =
        serde_json::from_slice(&B64URL.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    let issuer = "https://1edtech.edu/issuers/565049";
    let profile = |jwk: &Value| {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/security/jwk/v1"],
            "id": issuer, "type": "Profile",
            "verificationMethod": [{"id": format!("{issuer}#key-1"), "type": "JsonWebKey", "controller": issuer, "publicKeyJwk": jwk}],
            "assertionMethod": [format!("{issuer}#key-1")]
        })
    };
    let mut resolver = LocalResolver::default();
    resolver.pinned.insert(issuer, profile(&header["jwk"]));
    let report = verify_with(resolver, &token).await;
    assert!(report.verified, "{}", errors(&report));
    assert_eq!(report.proofs[0].verification_method, format!("{issuer}#key-1"));

    let mut resolver = LocalResolver::default();
    resolver.pinned.insert(issuer, profile(&Value::Object(jose_key("RS256").public)));
    let report = verify_with(resolver, &token).await;
    assert!(errors(&report).contains("not the issuer's key"), "{}", errors(&report));
}

/// A JWT-secured Bitstring status list, pinned: its bits decide, and it must be the issuer's.
#[tokio::test]
async fn jwt_status_lists_are_verified_and_must_be_the_credentials_issuers() {
    let key = jose_key("EdDSA");
    let issuer = key.did_jwk();
    let url = "https://issuer.example/status/1";
    let status = json!({
        "id": format!("{url}#42"), "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
        "statusListIndex": "42", "statusListCredential": url
    });
    let badge = key.sign(header(json!({"jwk": key.public})), &badge_payload(&issuer, Some(status)));
    let list_jwt = |signer: &JoseKey, list_issuer: &str, revoked: bool| {
        let mut bits = vec![0u8; 16 * 1024];
        if revoked {
            bits[42 / 8] |= 0x80 >> (42 % 8);
        }
        let mut list = laurel::status::list_credential(url, list_issuer, "revocation", &bits, 300_000);
        list["validFrom"] = json!("2025-01-01T00:00:00Z");
        let mut payload = list.as_object().unwrap().clone();
        payload.insert("iss".into(), json!(list_issuer));
        signer.sign(header(json!({"jwk": signer.public})), &Value::Object(payload))
    };
    let with_list = |list: String| {
        let mut resolver = LocalResolver::default();
        resolver.pinned.insert(url, Value::String(list));
        resolver
    };

    let report = verify_with(with_list(list_jwt(&key, &issuer, false)), &badge).await;
    assert!(report.verified, "{}", errors(&report));
    assert_eq!(report.status[0].value, Some(0));

    let report = verify_with(with_list(list_jwt(&key, &issuer, true)), &badge).await;
    assert!(report.errors.iter().any(|e| e.code == "REVOKED"), "{}", errors(&report));

    // Another issuer's list, validly signed by that issuer, decides nothing for this badge.
    let stranger = jose_key("EdDSA");
    let report = verify_with(with_list(list_jwt(&stranger, &stranger.did_jwk(), false)), &badge).await;
    assert!(!report.verified);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.code == "STATUS_VERIFICATION_ERROR"
                && e.detail.contains("not by the credential's issuer")),
        "{}",
        errors(&report)
    );
    // A list naming the badge's issuer but signed by a stranger fails its own verification.
    let report = verify_with(with_list(list_jwt(&stranger, &issuer, false)), &badge).await;
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.code == "STATUS_VERIFICATION_ERROR" && e.detail.contains("does not verify")),
        "{}",
        errors(&report)
    );
}
