//! OpenID Federation 1.0 registries (`oidf`): the trust anchor's entity configuration (a
//! self-signed entity statement, or one signed by keys the operator pinned), then the issuer's
//! subordinate statement from the anchor's fetch endpoint, signed by an anchor key.
//!
//! Owns: decoding entity statements (compact JWS, strict and bounded JSON), choosing the
//! verification key (from the anchor's `jwks` or the pinned keys only: `jwk`, `jku`, `x5c` and
//! `x5u` headers are ignored), the claim checks (`iss`, `sub`, `exp`, `typ`) and reading
//! `metadata.federation_entity` of a verified statement. Every failure is an [`OidfError`]; the
//! caller reports it as "unchecked", never as "not listed". A 404 from the fetch endpoint is the
//! one way to learn that the anchor does not list the DID.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::codec::json::JsonLimits;
use crate::credential::proofs::{self, JWT_ALGS};
use crate::did::{DidResolver, ResolveError};
use crate::fetch::FetchError;
use crate::keys::PublicKey;

use super::{digest, VerifiedCache};

/// The `typ` an entity statement carries, when it carries one.
pub const ENTITY_STATEMENT_TYP: &str = "entity-statement+jwt";

/// Largest entity statement read (bytes): far above a real one, small enough to bound the work.
pub const MAX_STATEMENT_BYTES: usize = 256 * 1024;

/// Most keys tried from one `jwks` (each costs a signature check).
pub const MAX_KEYS: usize = 16;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum OidfError {
    #[error("{0}")]
    Fetch(#[from] ResolveError),
    #[error("{url}: not an entity statement: {detail}")]
    Malformed { url: String, detail: String },
    #[error("{url}: JWT alg {alg:?} is refused (allowed: {allowed}; never \"none\" or an HMAC)")]
    Algorithm { url: String, alg: String, allowed: String },
    #[error("{url}: the signature verifies with none of the {keys}: {detail}")]
    Signature { url: String, keys: &'static str, detail: String },
    #[error("{url}: the statement expired at {exp}")]
    Expired { url: String, exp: i64 },
    #[error("{url}: the statement's \"{claim}\" is {actual:?}, expected {expected:?}")]
    Claim { url: String, claim: &'static str, actual: String, expected: String },
    #[error("invalid pinned jwks: {0}")]
    PinnedKeys(String),
}

/// An entity statement split and decoded, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct Statement {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Statement {
    /// Decodes a compact JWS entity statement, refusing anything malformed, `alg: none`, an HMAC
    /// or another `typ` before any cryptography runs.
    pub fn decode(url: &str, token: &str) -> Result<Statement, OidfError> {
        let malformed =
            |detail: &str| OidfError::Malformed { url: url.to_string(), detail: detail.to_string() };
        let token = token.trim();
        if token.len() > MAX_STATEMENT_BYTES {
            return Err(malformed(&format!("larger than {MAX_STATEMENT_BYTES} bytes")));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
            return Err(malformed("a compact JWS has 3 dot-separated parts"));
        };
        let limits = JsonLimits { max_bytes: MAX_STATEMENT_BYTES, max_depth: 32 };
        let object = |part: &str, what: &str| -> Result<Map<String, Value>, OidfError> {
            let bytes =
                B64URL.decode(part).map_err(|_| malformed(&format!("the {what} is not base64url")))?;
            match crate::codec::json::from_slice_limited(&bytes, &limits) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err(malformed(&format!("the {what} is not a JSON object"))),
                Err(e) => Err(malformed(&format!("the {what}: {e}"))),
            }
        };
        let header = object(header_b64, "header")?;
        let payload = object(payload_b64, "payload")?;
        let signature =
            B64URL.decode(signature_b64).map_err(|_| malformed("the signature is not base64url"))?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
        if !JWT_ALGS.contains(&alg) {
            return Err(OidfError::Algorithm {
                url: url.to_string(),
                alg: alg.to_string(),
                allowed: JWT_ALGS.join(", "),
            });
        }
        match header.get("typ") {
            None => {}
            Some(Value::String(typ)) if typ.eq_ignore_ascii_case(ENTITY_STATEMENT_TYP) => {}
            Some(other) => {
                return Err(OidfError::Claim {
                    url: url.to_string(),
                    claim: "typ",
                    actual: other.to_string(),
                    expected: ENTITY_STATEMENT_TYP.to_string(),
                })
            }
        }
        if header.contains_key("crit") {
            return Err(malformed("the header has \"crit\" extensions Laurel does not understand"));
        }
        Ok(Statement { header, payload, signing_input: format!("{header_b64}.{payload_b64}"), signature })
    }

    fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or_default()
    }

    /// Verifies the signature with one of `keys`: the key whose `kid` the header names, or, when
    /// none matches (or there is no `kid`), each key in turn. Keys in the header are never used.
    pub fn verify(&self, url: &str, keys: &Keys, which: &'static str) -> Result<(), OidfError> {
        let kid = self.header.get("kid").and_then(Value::as_str);
        let named: Vec<&(Option<String>, PublicKey)> =
            keys.0.iter().filter(|(k, _)| kid.is_some() && k.as_deref() == kid).collect();
        let candidates: Vec<&(Option<String>, PublicKey)> =
            if named.is_empty() { keys.0.iter().collect() } else { named };
        let mut last = "no usable key".to_string();
        for (_, key) in candidates {
            match proofs::verify_jws_signature(
                self.alg(),
                key,
                self.signing_input.as_bytes(),
                &self.signature,
            ) {
                Ok(_) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
        }
        Err(OidfError::Signature { url: url.to_string(), keys: which, detail: last })
    }

    fn string(&self, claim: &str) -> Option<&str> {
        self.payload.get(claim).and_then(Value::as_str)
    }

    /// `iss` and `sub` as expected, `exp` present and not passed (a number or a digit string).
    fn check_claims(
        &self,
        url: &str,
        iss: &str,
        sub: &str,
        now: DateTime<Utc>,
        skew: chrono::Duration,
    ) -> Result<i64, OidfError> {
        for (claim, expected) in [("iss", iss), ("sub", sub)] {
            let actual = self.string(claim).unwrap_or_default();
            if actual != expected {
                return Err(OidfError::Claim {
                    url: url.to_string(),
                    claim,
                    actual: actual.to_string(),
                    expected: expected.to_string(),
                });
            }
        }
        let exp = numeric_date(self.payload.get("exp")).ok_or_else(|| OidfError::Malformed {
            url: url.to_string(),
            detail: "\"exp\" must be a number of seconds (or a string of digits)".into(),
        })?;
        if exp + skew.num_seconds() < now.timestamp() {
            return Err(OidfError::Expired { url: url.to_string(), exp });
        }
        Ok(exp)
    }
}

/// A NumericDate: a number, or (as a live registry signs it) a string of digits.
pub fn numeric_date(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// Verification keys from a JWK Set, each with its `kid`.
#[derive(Debug, Clone, Default)]
pub struct Keys(Vec<(Option<String>, PublicKey)>);

impl Keys {
    /// The usable public keys of `{"keys": [...]}`; private members and keys of unknown types
    /// are skipped, and a set with no usable key is an error.
    pub fn from_jwks(jwks: &Value) -> Result<Keys, String> {
        let list = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| "a JWK Set is {\"keys\": [...]}".to_string())?;
        let mut keys = Vec::new();
        for jwk in list.iter().take(MAX_KEYS) {
            let Some(jwk) = jwk.as_object() else { continue };
            if jwk.contains_key("d") {
                continue;
            }
            if let Ok(key) = PublicKey::from_jwk(jwk) {
                keys.push((jwk.get("kid").and_then(Value::as_str).map(str::to_string), key));
            }
        }
        if keys.is_empty() {
            return Err("the JWK Set has no usable public key (EdDSA, ES256/384/512 or RSA)".into());
        }
        Ok(Keys(keys))
    }
}

async fn fetch_statement(resolver: &dyn DidResolver, url: &str) -> Result<String, OidfError> {
    match resolver.fetch_document(url).await? {
        Value::String(jwt) => Ok(jwt),
        _ => Err(OidfError::Malformed {
            url: url.to_string(),
            detail: "the response is JSON, not a JWT".into(),
        }),
    }
}

/// The entity configuration at `ec_url`, verified: the anchor's entity id, its keys, its fetch
/// endpoint and expiry.
pub struct Anchor {
    pub entity_id: String,
    pub keys: Keys,
    pub fetch_endpoint: String,
    pub exp: i64,
}

/// Verifies the anchor's entity configuration `text` (fetched from `ec_url`): signed by a key
/// of its own `jwks` (self-signed) or, when the operator pinned keys, by one of those; `iss` =
/// `sub`, unexpired, with a fetch endpoint.
pub fn anchor(
    ec_url: &str,
    text: &str,
    pinned: Option<&Value>,
    now: DateTime<Utc>,
    skew: chrono::Duration,
) -> Result<Anchor, OidfError> {
    let ec = Statement::decode(ec_url, text)?;
    let own = ec.payload.get("jwks").ok_or_else(|| OidfError::Malformed {
        url: ec_url.to_string(),
        detail: "the entity configuration has no \"jwks\"".into(),
    })?;
    let own = Keys::from_jwks(own).map_err(|detail| OidfError::Malformed {
        url: ec_url.to_string(),
        detail: format!("jwks: {detail}"),
    })?;
    match pinned {
        Some(pinned) => {
            let pinned = Keys::from_jwks(pinned).map_err(OidfError::PinnedKeys)?;
            ec.verify(ec_url, &pinned, "pinned anchor keys")?;
        }
        None => ec.verify(ec_url, &own, "keys of its own jwks")?,
    }
    let entity_id = ec.string("iss").unwrap_or_default().to_string();
    if entity_id.is_empty() {
        return Err(OidfError::Malformed { url: ec_url.to_string(), detail: "no \"iss\"".into() });
    }
    let exp = ec.check_claims(ec_url, &entity_id, &entity_id, now, skew)?;
    let fetch_endpoint = ec
        .payload
        .get("metadata")
        .and_then(|m| m.get("federation_entity"))
        .and_then(|m| m.get("federation_fetch_endpoint"))
        .and_then(Value::as_str)
        .ok_or_else(|| OidfError::Malformed {
            url: ec_url.to_string(),
            detail: "metadata.federation_entity.federation_fetch_endpoint is missing".into(),
        })?
        .to_string();
    Ok(Anchor { entity_id, keys: own, fetch_endpoint, exp })
}

/// The fetch endpoint's URL for `sub` (`?sub=`, URL-encoded, after any query it already has).
pub fn fetch_url(endpoint: &str, sub: &str) -> Result<String, OidfError> {
    let mut url = url::Url::parse(endpoint).map_err(|e| OidfError::Malformed {
        url: endpoint.to_string(),
        detail: format!("the fetch endpoint is not a URL: {e}"),
    })?;
    url.query_pairs_mut().append_pair("sub", sub);
    Ok(url.to_string())
}

/// Looks `did` up under the anchor at `ec_url`: the `metadata.federation_entity` of its
/// verified subordinate statement, or `None` when the fetch endpoint answers 404. Documents are
/// fetched each time (through the fetcher's cache, bounded by their `exp`); verifying them is
/// skipped only for the very texts that verified before, within their `exp` (`cache`).
pub async fn lookup(
    resolver: &dyn DidResolver,
    ec_url: &str,
    pinned: Option<&Value>,
    did: &str,
    now: DateTime<Utc>,
    skew: chrono::Duration,
    cache: &VerifiedCache,
) -> Result<Option<Arc<Value>>, OidfError> {
    let ec_text = fetch_statement(resolver, ec_url).await?;
    let pinned_text = pinned.map(Value::to_string).unwrap_or_default();
    let ec_key = digest(&[b"oidf-ec", ec_url.as_bytes(), ec_text.as_bytes(), pinned_text.as_bytes()]);
    let (entity_id, endpoint) = match cache.get(&ec_key, now) {
        Some(known) => (
            known["entityId"].as_str().unwrap_or_default().to_string(),
            known["fetchEndpoint"].as_str().unwrap_or_default().to_string(),
        ),
        None => {
            let anchor = anchor(ec_url, &ec_text, pinned, now, skew)?;
            let known = json!({"entityId": anchor.entity_id, "fetchEndpoint": anchor.fetch_endpoint});
            cache.insert(ec_key, now, Some(anchor.exp + skew.num_seconds()), known);
            (anchor.entity_id, anchor.fetch_endpoint)
        }
    };
    let url = fetch_url(&endpoint, did)?;
    let text = match fetch_statement(resolver, &url).await {
        Ok(text) => text,
        Err(OidfError::Fetch(ResolveError::Fetch(FetchError::Status(_, 404)))) => return Ok(None),
        Err(e) => return Err(e),
    };
    let key = digest(&[b"oidf-sub", &ec_key, url.as_bytes(), did.as_bytes(), text.as_bytes()]);
    if let Some(entity) = cache.get(&key, now) {
        return Ok(Some(entity));
    }
    // The anchor's keys as its verified entity configuration lists them (vouched for by the
    // pinned keys, when pinned).
    let anchor = anchor(ec_url, &ec_text, pinned, now, skew)?;
    let statement = Statement::decode(&url, &text)?;
    statement.verify(&url, &anchor.keys, "trust anchor's keys")?;
    let exp = statement.check_claims(&url, &entity_id, did, now, skew)?;
    let entity = match statement.payload.get("metadata").and_then(|m| m.get("federation_entity")) {
        Some(Value::Object(entity)) => Value::Object(entity.clone()),
        _ => json!({}),
    };
    cache.insert(key, now, Some(exp.min(anchor.exp) + skew.num_seconds()), entity.clone());
    Ok(Some(Arc::new(entity)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::LocalResolver;
    use crate::keys::{KeyPair, KeyType};

    const EC: &str = "https://anchor.example/.well-known/openid-federation";
    const ANCHOR: &str = "https://anchor.example";

    fn sign(key: &KeyPair, header: Value, payload: Value) -> String {
        let input = format!("{}.{}", B64URL.encode(header.to_string()), B64URL.encode(payload.to_string()));
        let signature = key.sign_raw(input.as_bytes()).unwrap();
        format!("{input}.{}", B64URL.encode(signature))
    }

    fn jwk(key: &KeyPair, kid: &str) -> Value {
        let mut jwk = key.public_key().to_jwk();
        jwk.insert("kid".into(), json!(kid));
        Value::Object(jwk)
    }

    struct Federation {
        anchor: KeyPair,
        resolver: LocalResolver,
    }

    fn federation(anchor: KeyPair, exp: i64) -> Federation {
        let alg = anchor.key_type().jws_alg();
        let ec = sign(
            &anchor,
            json!({"alg": alg, "kid": "a1", "typ": ENTITY_STATEMENT_TYP}),
            json!({"iss": ANCHOR, "sub": ANCHOR, "exp": exp, "iat": 0, "jwks": {"keys": [jwk(&anchor, "a1")]},
                   "metadata": {"federation_entity": {"federation_fetch_endpoint": format!("{ANCHOR}/fetch")}}}),
        );
        let mut resolver = LocalResolver::default();
        resolver.pinned.insert(EC, Value::String(ec));
        Federation { anchor, resolver }
    }

    fn statement(f: &mut Federation, signer: Option<&KeyPair>, header: Value, payload: Value, did: &str) {
        let token = sign(signer.unwrap_or(&f.anchor), header, payload);
        f.resolver.pinned.insert(fetch_url(&format!("{ANCHOR}/fetch"), did).unwrap(), Value::String(token));
    }

    fn far() -> i64 {
        Utc::now().timestamp() + 3600
    }

    async fn run(f: &Federation, pinned: Option<&Value>, did: &str) -> Result<Option<Arc<Value>>, OidfError> {
        let cache = VerifiedCache::default();
        let result =
            lookup(&f.resolver, EC, pinned, did, Utc::now(), chrono::Duration::seconds(0), &cache).await;
        // The same answer from the cache of verified statements.
        let again =
            lookup(&f.resolver, EC, pinned, did, Utc::now(), chrono::Duration::seconds(0), &cache).await;
        assert_eq!(result, again, "{did}");
        result
    }

    #[tokio::test]
    async fn a_subordinate_statement_signed_by_the_anchor_lists_the_did() {
        for key_type in [KeyType::Ed25519, KeyType::P256] {
            let mut f = federation(KeyPair::generate(key_type).unwrap(), far());
            let alg = key_type.jws_alg();
            let did = "did:web:uni.example";
            let entity = json!({"organization_name": "Uni", "homepage_uri": "https://uni.example"});
            statement(
                &mut f,
                None,
                json!({"alg": alg, "kid": "a1"}),
                json!({"iss": ANCHOR, "sub": did, "exp": far().to_string(), "metadata": {"federation_entity": entity}}),
                did,
            );
            assert_eq!(run(&f, None, did).await.unwrap().as_deref(), Some(&entity), "{key_type}");
            // The same with the anchor's keys pinned, and no kid: each pinned key is tried.
            let pinned = json!({"keys": [jwk(&KeyPair::generate(KeyType::Ed25519).unwrap(), "other"), jwk(&f.anchor, "zz")]});
            assert!(run(&f, Some(&pinned), did).await.unwrap().is_some());
            // Not pinned: an entity configuration signed by a key outside the pinned set fails.
            let stranger = json!({"keys": [jwk(&KeyPair::generate(key_type).unwrap(), "a1")]});
            let err = run(&f, Some(&stranger), did).await.unwrap_err();
            assert!(matches!(err, OidfError::Signature { keys: "pinned anchor keys", .. }), "{err}");
        }
    }

    #[tokio::test]
    async fn statements_that_fail_a_check_are_errors_never_listings() {
        let mut f = federation(KeyPair::generate(KeyType::Ed25519).unwrap(), far());
        let other = KeyPair::generate(KeyType::Ed25519).unwrap();
        let ok = |did: &str| json!({"iss": ANCHOR, "sub": did, "exp": far()});
        let h = json!({"alg": "EdDSA", "kid": "a1"});
        statement(&mut f, Some(&other), h.clone(), ok("did:x:forged"), "did:x:forged");
        statement(
            &mut f,
            None,
            h.clone(),
            json!({"iss": ANCHOR, "sub": "did:x:expired", "exp": 1}),
            "did:x:expired",
        );
        statement(&mut f, None, h.clone(), ok("did:x:someone-else"), "did:x:a");
        statement(&mut f, None, json!({"alg": "EdDSA", "typ": "JWT"}), ok("did:x:typ"), "did:x:typ");
        statement(
            &mut f,
            None,
            h.clone(),
            json!({"iss": "https://evil.example", "sub": "did:x:iss", "exp": far()}),
            "did:x:iss",
        );
        statement(&mut f, None, h.clone(), json!({"iss": ANCHOR, "sub": "did:x:noexp"}), "did:x:noexp");
        // A key in the header is never used: the forged statement carries its own key.
        let mut with_jwk = h.clone();
        with_jwk["jwk"] = jwk(&other, "a1");
        statement(&mut f, Some(&other), with_jwk, ok("did:x:jwk"), "did:x:jwk");
        let none = format!(
            "{}.{}.",
            B64URL.encode(r#"{"alg":"none"}"#),
            B64URL.encode(ok("did:x:none").to_string())
        );
        f.resolver
            .pinned
            .insert(fetch_url(&format!("{ANCHOR}/fetch"), "did:x:none").unwrap(), Value::String(none));
        let hs = format!(
            "{}.{}.c2ln",
            B64URL.encode(r#"{"alg":"HS256"}"#),
            B64URL.encode(ok("did:x:hs").to_string())
        );
        f.resolver
            .pinned
            .insert(fetch_url(&format!("{ANCHOR}/fetch"), "did:x:hs").unwrap(), Value::String(hs));
        for (did, expected) in [
            ("did:x:forged", "Signature"),
            ("did:x:expired", "Expired"),
            ("did:x:a", "Claim"),
            ("did:x:typ", "Claim"),
            ("did:x:iss", "Claim"),
            ("did:x:noexp", "Malformed"),
            ("did:x:jwk", "Signature"),
            ("did:x:none", "Algorithm"),
            ("did:x:hs", "Algorithm"),
            ("did:x:unpinned", "Fetch"),
        ] {
            let err = run(&f, None, did).await.unwrap_err();
            assert!(format!("{err:?}").starts_with(expected), "{did}: {err:?}");
        }
        // An expired entity configuration: nothing under it is read.
        let mut f = federation(KeyPair::generate(KeyType::Ed25519).unwrap(), 1000);
        statement(&mut f, None, h, ok("did:x:a"), "did:x:a");
        assert!(matches!(run(&f, None, "did:x:a").await, Err(OidfError::Expired { .. })));
    }

    #[test]
    fn numeric_dates_and_fetch_urls() {
        assert_eq!(numeric_date(Some(&json!(12))), Some(12));
        assert_eq!(numeric_date(Some(&json!("1700000000"))), Some(1_700_000_000));
        assert_eq!(numeric_date(Some(&json!("17e8"))), None);
        assert_eq!(numeric_date(Some(&json!("-1"))), None);
        assert_eq!(
            fetch_url("https://a.example/fetch?x=1", "did:web:u.example#k").unwrap(),
            "https://a.example/fetch?x=1&sub=did%3Aweb%3Au.example%23k"
        );
    }

    #[test]
    fn huge_and_deep_statements_are_refused_before_any_signature_check() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let token = format!("{}.{}.c2ln", B64URL.encode(r#"{"alg":"EdDSA"}"#), B64URL.encode(deep));
        assert!(matches!(Statement::decode(EC, &token), Err(OidfError::Malformed { .. })));
        let huge = "a".repeat(MAX_STATEMENT_BYTES + 1);
        assert!(matches!(Statement::decode(EC, &huge), Err(OidfError::Malformed { .. })));
    }
}
