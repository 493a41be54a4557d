//! OpenID for Verifiable Credential Issuance 1.0 (pre-authorized code flow): the protocol's
//! own rules, without storage or HTTP.
//!
//! Owns: the credential configurations Laurel offers (`OpenBadgeCredential` as `ldp_vc` and
//! `jwt_vc_json`), the issuer and authorization server metadata documents, the credential offer
//! object and its `openid-credential-offer://` URI and QR code, reading a credential request
//! (1.0 `proofs` and the draft-13 `proof` form), checking a key proof JWT (`typ`, `alg`, key by
//! `kid` or `jwk`, `aud`, `iat`, signature) down to the holder's DID, and the spec's error codes
//! ([`ProtocolError`]). May use: `did` (did:key / did:jwk resolution), `keys`, `credential`
//! (JWS signature checks). Used by: `service` (offers, tokens, nonces, issuing on redemption).

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::credential::proofs::verify_jws_signature;
use crate::did::DidResolver;
use crate::keys::PublicKey;

/// The grant type of the pre-authorized code flow.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// `typ` of a key proof JWT (OID4VCI 1.0 Appendix F.1).
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";
/// The key proof algorithms accepted.
pub const PROOF_ALGS: [&str; 2] = ["EdDSA", "ES256"];
/// How far a proof's `iat` may lie in the future (clock skew) or in the past.
pub const PROOF_IAT_FUTURE_SECS: i64 = 60;
pub const PROOF_IAT_PAST_SECS: i64 = 300;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// An error named by OAuth 2.0 / OID4VCI, answered as `{"error", "error_description"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Token endpoint: malformed request, a `tx_code` missing or not expected.
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// Token endpoint: unknown, spent, expired or locked code, wrong `tx_code`.
    #[error("{0}")]
    InvalidGrant(String),
    /// Credential endpoint: missing, unknown, expired or used access token.
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    InvalidCredentialRequest(String),
    #[error("{0}")]
    UnknownCredentialConfiguration(String),
    #[error("{0}")]
    InvalidProof(String),
    /// The proof's `nonce` is not a fresh, unused `c_nonce` of this issuer.
    #[error("{0}")]
    InvalidNonce(String),
}

impl ProtocolError {
    /// The `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::InvalidRequest(_) => "invalid_request",
            ProtocolError::UnsupportedGrantType(_) => "unsupported_grant_type",
            ProtocolError::InvalidGrant(_) => "invalid_grant",
            ProtocolError::InvalidToken(_) => "invalid_token",
            ProtocolError::InvalidCredentialRequest(_) => "invalid_credential_request",
            ProtocolError::UnknownCredentialConfiguration(_) => "unknown_credential_configuration",
            ProtocolError::InvalidProof(_) => "invalid_proof",
            ProtocolError::InvalidNonce(_) => "invalid_nonce",
        }
    }
}

/// A credential configuration this issuer offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configuration {
    /// `ldp_vc`: a Data Integrity proof, eddsa-rdfc-2022.
    LdpVc,
    /// `jwt_vc_json`: a compact VC-JWT (EdDSA or ES256).
    JwtVcJson,
}

pub const CONFIGURATIONS: [Configuration; 2] = [Configuration::LdpVc, Configuration::JwtVcJson];

impl Configuration {
    pub fn id(self) -> &'static str {
        match self {
            Configuration::LdpVc => "OpenBadgeCredential_ldp_vc",
            Configuration::JwtVcJson => "OpenBadgeCredential_jwt_vc_json",
        }
    }
    pub fn format(self) -> &'static str {
        match self {
            Configuration::LdpVc => "ldp_vc",
            Configuration::JwtVcJson => "jwt_vc_json",
        }
    }
    /// The issue format (`IssueOptions.format`) that produces it.
    pub fn issue_format(self) -> &'static str {
        match self {
            Configuration::LdpVc => "di",
            Configuration::JwtVcJson => "jwt",
        }
    }
    pub fn from_id(id: &str) -> Option<Configuration> {
        CONFIGURATIONS.into_iter().find(|c| c.id() == id)
    }
}

/// What the issuer metadata's `display` shows: the issuer's name and logo.
#[derive(Debug, Clone, Default)]
pub struct IssuerDisplay {
    pub name: String,
    pub logo: Option<String>,
}

fn display_entry(name: &str, logo: Option<&str>, description: Option<&str>) -> Value {
    let mut entry = json!({"name": name, "locale": "en"});
    if let Some(logo) = logo {
        entry["logo"] = json!({"uri": logo, "alt_text": name});
    }
    if let Some(description) = description {
        entry["description"] = json!(description);
    }
    entry
}

/// `/.well-known/openid-credential-issuer` (OID4VCI 1.0 §12.2).
pub fn issuer_metadata(issuer: &str, display: &IssuerDisplay) -> Value {
    let mut configurations = Map::new();
    let proof_types = json!({"jwt": {"proof_signing_alg_values_supported": PROOF_ALGS}});
    let binding = json!(["did:key", "did:jwk", "jwk"]);
    let badge_display = display_entry(
        "Open Badge",
        display.logo.as_deref(),
        Some(&format!("An Open Badges 3.0 credential from {}", display.name)),
    );
    for configuration in CONFIGURATIONS {
        let mut entry = json!({
            "format": configuration.format(),
            "scope": "OpenBadgeCredential",
            "cryptographic_binding_methods_supported": binding,
            "proof_types_supported": proof_types,
            "credential_metadata": {"display": [badge_display]},
        });
        match configuration {
            Configuration::LdpVc => {
                entry["credential_signing_alg_values_supported"] = json!(["eddsa-rdfc-2022"]);
                entry["credential_definition"] = json!({
                    "@context": [crate::jsonld::contexts::CREDENTIALS_V2, crate::jsonld::contexts::OB_V3P0_3_0_3],
                    "type": ["VerifiableCredential", "OpenBadgeCredential"],
                });
            }
            Configuration::JwtVcJson => {
                entry["credential_signing_alg_values_supported"] = json!(["EdDSA", "ES256"]);
                entry["credential_definition"] =
                    json!({"type": ["VerifiableCredential", "OpenBadgeCredential"]});
            }
        }
        configurations.insert(configuration.id().into(), entry);
    }
    json!({
        "credential_issuer": issuer,
        "authorization_servers": [issuer],
        "credential_endpoint": format!("{issuer}/oid4vci/credential"),
        "nonce_endpoint": format!("{issuer}/oid4vci/nonce"),
        "display": [display_entry(&display.name, display.logo.as_deref(), None)],
        "credential_configurations_supported": configurations,
    })
}

/// `/.well-known/oauth-authorization-server` (RFC 8414) for the pre-authorized code flow.
pub fn authorization_server_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oid4vci/token"),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": true,
    })
}

/// The `tx_code` a wallet asks its user for: six digits.
pub const TX_CODE_LENGTH: usize = 6;

/// The credential offer object (§4.1.1).
pub fn credential_offer(issuer: &str, pre_authorized_code: &str, tx_code: bool) -> Value {
    let mut grant = json!({"pre-authorized_code": pre_authorized_code});
    if tx_code {
        grant["tx_code"] = json!({
            "input_mode": "numeric",
            "length": TX_CODE_LENGTH,
            "description": "The PIN sent to you separately with this offer",
        });
    }
    json!({
        "credential_issuer": issuer,
        "credential_configuration_ids": CONFIGURATIONS.map(Configuration::id),
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    })
}

/// `openid-credential-offer://?credential_offer_uri=...`.
pub fn offer_uri(credential_offer_uri: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("credential_offer_uri", credential_offer_uri)
        .finish();
    format!("openid-credential-offer://?{query}")
}

/// A QR code of `text` as SVG.
pub fn qr_svg(text: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(256, 256).quiet_zone(true).build())
}

/// A QR code of `text` as a greyscale PNG, `scale` pixels a module, with a 4-module quiet zone.
pub fn qr_png(text: &str, scale: usize) -> Result<Vec<u8>, String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    let width = code.width();
    let quiet = 4;
    let size = (width + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; size * size];
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            for dy in 0..scale {
                let row = (y * scale + dy) * size;
                pixels[row + x * scale..row + (x + 1) * scale].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, size as u32, size as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&pixels).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// A credential request, read: the configuration and the one key proof JWT.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRequest {
    pub configuration: Configuration,
    pub proof_jwt: String,
}

/// Reads a credential request body: `credential_configuration_id` and `proofs: {jwt: [JWT]}`
/// (1.0), or the draft-13 `format` (+ `credential_definition`) and `proof: {proof_type, jwt}`.
pub fn read_credential_request(body: &Value) -> Result<CredentialRequest, ProtocolError> {
    let bad = |d: &str| ProtocolError::InvalidCredentialRequest(d.to_string());
    let object = body.as_object().ok_or_else(|| bad("the request body must be a JSON object"))?;
    let configuration = match (object.get("credential_configuration_id"), object.get("format")) {
        (Some(Value::String(id)), _) => Configuration::from_id(id).ok_or_else(|| {
            ProtocolError::UnknownCredentialConfiguration(format!(
                "this issuer offers no credential configuration {id:?}"
            ))
        })?,
        (Some(_), _) => return Err(bad("credential_configuration_id must be a string")),
        (None, Some(Value::String(format))) => {
            CONFIGURATIONS.into_iter().find(|c| c.format() == format).ok_or_else(|| {
                ProtocolError::UnknownCredentialConfiguration(format!("unsupported format {format:?}"))
            })?
        }
        (None, _) => return Err(bad("the request names no credential_configuration_id")),
    };
    let proof_jwt = match (object.get("proofs"), object.get("proof")) {
        (Some(_), Some(_)) => return Err(bad("send either proofs or proof, not both")),
        (Some(proofs), None) => {
            let proofs = proofs.as_object().ok_or_else(|| bad("proofs must be an object"))?;
            if let Some(other) = proofs.keys().find(|k| *k != "jwt") {
                return Err(ProtocolError::InvalidProof(format!("unsupported proof type {other:?}")));
            }
            match proofs.get("jwt").and_then(Value::as_array).map(Vec::as_slice) {
                Some([Value::String(jwt)]) => jwt.clone(),
                Some([]) | None => {
                    return Err(ProtocolError::InvalidProof("proofs.jwt holds no proof".into()))
                }
                Some([_]) => return Err(ProtocolError::InvalidProof("a proof JWT must be a string".into())),
                Some(_) => return Err(bad("this issuer issues one credential per request: send one proof")),
            }
        }
        (None, Some(proof)) => {
            if proof.get("proof_type").and_then(Value::as_str) != Some("jwt") {
                return Err(ProtocolError::InvalidProof("proof.proof_type must be \"jwt\"".into()));
            }
            proof
                .get("jwt")
                .and_then(Value::as_str)
                .ok_or_else(|| ProtocolError::InvalidProof("proof.jwt is missing".into()))?
                .to_string()
        }
        (None, None) => return Err(ProtocolError::InvalidProof("the request carries no key proof".into())),
    };
    Ok(CredentialRequest { configuration, proof_jwt })
}

/// A key proof that checked out: whose key it is and the nonce it was made for.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedProof {
    /// The holder's DID: the `kid`'s DID, or the did:jwk of the `jwk` header.
    pub holder: String,
    pub nonce: Option<String>,
}

fn part(segment: &str, what: &str) -> Result<Map<String, Value>, ProtocolError> {
    let bytes = B64URL
        .decode(segment)
        .map_err(|_| ProtocolError::InvalidProof(format!("the proof's {what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ProtocolError::InvalidProof(format!("the proof's {what} is not a JSON object"))),
    }
}

/// Checks a key proof JWT (Appendix F.1/F.4): `typ`, `alg` (EdDSA or ES256, never `none`),
/// exactly one of `kid` (a did:key or did:jwk DID URL, resolved by `resolver`) and `jwk` (no
/// private part), the signature with that key, `aud` = `issuer`, and `iat` within the window
/// around `now` (Unix seconds). The `nonce` is returned for the caller to spend.
pub async fn check_proof(
    jwt: &str,
    issuer: &str,
    now: i64,
    resolver: &dyn DidResolver,
) -> Result<CheckedProof, ProtocolError> {
    let invalid = |d: String| ProtocolError::InvalidProof(d);
    if jwt.len() > 16 * 1024 {
        return Err(invalid("the proof JWT is too long".into()));
    }
    let segments: Vec<&str> = jwt.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = segments.as_slice() else {
        return Err(invalid("the proof is not a compact JWS (three segments)".into()));
    };
    let header = part(header_b64, "header")?;
    let payload = part(payload_b64, "payload")?;
    let signature =
        B64URL.decode(signature_b64).map_err(|_| invalid("the proof's signature is not base64url".into()))?;
    if header.get("typ").and_then(Value::as_str) != Some(PROOF_TYP) {
        return Err(invalid(format!("the proof's typ must be {PROOF_TYP:?}")));
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
    if !PROOF_ALGS.contains(&alg) {
        return Err(invalid(format!("proof alg {alg:?} is not accepted (EdDSA or ES256)")));
    }
    let (holder, key) = match (header.get("kid"), header.get("jwk"), header.get("x5c")) {
        (_, _, Some(_)) => return Err(invalid("x5c key proofs are not accepted".into())),
        (Some(Value::String(kid)), None, None) => {
            if !(kid.starts_with("did:key:") || kid.starts_with("did:jwk:")) || !kid.contains('#') {
                return Err(invalid(format!(
                    "kid {kid:?} must be a did:key or did:jwk DID URL naming a verification method"
                )));
            }
            let method = crate::did::resolve_verification_method(resolver, kid, "authentication")
                .await
                .map_err(|e| invalid(format!("kid {kid:?} does not resolve: {e}")))?;
            (crate::did::did_of(kid).to_string(), method.public_key)
        }
        (None, Some(Value::Object(jwk)), None) => {
            if jwk.contains_key("d") {
                return Err(invalid("the proof's jwk carries a private key".into()));
            }
            let key = PublicKey::from_jwk(jwk).map_err(|e| invalid(format!("the proof's jwk: {e}")))?;
            let did = format!("did:jwk:{}", B64URL.encode(Value::Object(key.to_jwk()).to_string()));
            (did, key)
        }
        (Some(_), Some(_), _) => {
            return Err(invalid("the proof names its key by kid or jwk, not both".into()))
        }
        _ => return Err(invalid("the proof names no key (kid or jwk)".into())),
    };
    let signing_input = format!("{header_b64}.{payload_b64}");
    verify_jws_signature(alg, &key, signing_input.as_bytes(), &signature)
        .map_err(|e| invalid(format!("the proof's signature does not verify with its key: {e}")))?;
    let audience_ok = match payload.get("aud") {
        Some(Value::String(aud)) => aud == issuer,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(issuer)),
        _ => false,
    };
    if !audience_ok {
        return Err(invalid(format!("the proof's aud must be the credential issuer {issuer:?}")));
    }
    let iat =
        payload.get("iat").and_then(Value::as_i64).ok_or_else(|| invalid("the proof has no iat".into()))?;
    if iat > now + PROOF_IAT_FUTURE_SECS || iat < now - PROOF_IAT_PAST_SECS {
        return Err(invalid(format!("the proof's iat {iat} is not recent (now {now})")));
    }
    let nonce = payload.get("nonce").and_then(Value::as_str).map(str::to_string);
    Ok(CheckedProof { holder, nonce })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::LocalResolver;
    use crate::keys::{KeyPair, KeyType};

    fn proof(key: &KeyPair, header: Value, payload: Value) -> String {
        let h = B64URL.encode(header.to_string());
        let p = B64URL.encode(payload.to_string());
        let sig = key.sign_raw(format!("{h}.{p}").as_bytes()).unwrap();
        format!("{h}.{p}.{}", B64URL.encode(sig))
    }

    const ISSUER: &str = "https://badges.example";

    #[tokio::test]
    async fn a_did_key_proof_checks_out_and_names_its_holder() {
        let key = KeyPair::generate(KeyType::Ed25519).unwrap();
        let now = chrono::Utc::now().timestamp();
        let jwt = proof(
            &key,
            json!({"typ": PROOF_TYP, "alg": "EdDSA", "kid": key.public_key().verification_method()}),
            json!({"aud": ISSUER, "iat": now, "nonce": "n1"}),
        );
        let checked = check_proof(&jwt, ISSUER, now, &LocalResolver::default()).await.unwrap();
        assert_eq!(checked.holder, key.public_key().did());
        assert_eq!(checked.nonce.as_deref(), Some("n1"));
        // Wrong audience, old iat, a kid of another key: each an invalid_proof.
        for (header, payload) in [
            (
                json!({"typ": PROOF_TYP, "alg": "EdDSA", "kid": key.public_key().verification_method()}),
                json!({"aud": "https://other.example", "iat": now}),
            ),
            (
                json!({"typ": PROOF_TYP, "alg": "EdDSA", "kid": key.public_key().verification_method()}),
                json!({"aud": ISSUER, "iat": now - 3600}),
            ),
            (
                json!({"typ": PROOF_TYP, "alg": "EdDSA", "kid": KeyPair::generate(KeyType::Ed25519).unwrap().public_key().verification_method()}),
                json!({"aud": ISSUER, "iat": now}),
            ),
            (
                json!({"typ": "JWT", "alg": "EdDSA", "jwk": key.public_key().to_jwk()}),
                json!({"aud": ISSUER, "iat": now}),
            ),
        ] {
            let jwt = proof(&key, header, payload);
            let error = check_proof(&jwt, ISSUER, now, &LocalResolver::default()).await.unwrap_err();
            assert_eq!(error.code(), "invalid_proof", "{error}");
        }
    }

    #[tokio::test]
    async fn a_jwk_proof_binds_to_the_did_jwk_of_the_key() {
        let key = KeyPair::generate(KeyType::P256).unwrap();
        let now = chrono::Utc::now().timestamp();
        let jwt = proof(
            &key,
            json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": key.public_key().to_jwk()}),
            json!({"aud": ISSUER, "iat": now}),
        );
        let checked = check_proof(&jwt, ISSUER, now, &LocalResolver::default()).await.unwrap();
        assert!(checked.holder.starts_with("did:jwk:"));
    }

    #[test]
    fn requests_in_both_forms_are_read_and_unknown_configurations_named() {
        let one = read_credential_request(
            &json!({"credential_configuration_id": "OpenBadgeCredential_ldp_vc", "proofs": {"jwt": ["a.b.c"]}}),
        )
        .unwrap();
        assert_eq!(one, CredentialRequest { configuration: Configuration::LdpVc, proof_jwt: "a.b.c".into() });
        let draft = read_credential_request(
            &json!({"format": "jwt_vc_json", "proof": {"proof_type": "jwt", "jwt": "x.y.z"}}),
        )
        .unwrap();
        assert_eq!(draft.configuration, Configuration::JwtVcJson);
        let unknown =
            read_credential_request(&json!({"credential_configuration_id": "mDL", "proofs": {"jwt": ["a"]}}));
        assert_eq!(unknown.unwrap_err().code(), "unknown_credential_configuration");
    }

    #[test]
    fn the_offer_uri_and_qr_codes_are_made() {
        let uri = offer_uri("https://badges.example/offers/1/credential-offer");
        assert_eq!(
            uri,
            "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fbadges.example%2Foffers%2F1%2Fcredential-offer"
        );
        assert!(qr_png(&uri, 4).unwrap().starts_with(b"\x89PNG"));
        assert!(qr_svg(&uri).unwrap().contains("<svg"));
    }
}
