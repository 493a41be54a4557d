//! Who is the issuer? Trust registries that list institutions by DID (DCC's `knownDIDRegistries`
//! configuration shape). A listing is looked up only for a credential whose proof is the
//! issuer's own; the result names every registry that lists it, as the registry publishes it.
//!
//! Owns: the configuration, the lookup over every registry and its report (`listed`, every
//! match, every registry that could not be checked and why), and the cache of verified registry
//! documents (never kept past their own validity). Kinds: `dcc-legacy` (a JSON file
//! `{"registry": {"<DID>": {"name", "location", "url"}}}`), `oidf` (OpenID Federation 1.0,
//! [`oidf`]) and `vc-recognition` (a credential of an accepted issuer whose subjects are the
//! recognized DIDs, verified as a nested verification). A registry that cannot be reached or
//! fails a check is "unchecked", never "not listed".

pub mod oidf;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::credential::model;
use crate::credential::verify::Verifier;
use crate::did::DidResolver;

/// One configured registry (`[{"name", "type", "url" | "trustAnchorEC", "acceptedIssuers"?,
/// "jwks"?}]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(
        default,
        rename = "trustAnchorEC",
        alias = "trustAnchorEc",
        skip_serializing_if = "Option::is_none"
    )]
    pub trust_anchor_ec: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_issuers: Vec<String>,
    /// An `oidf` anchor's keys, pinned (a JWK Set): its entity configuration must verify
    /// against them, so trust does not rest on one HTTPS fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
}

/// Parses the configuration array, refusing what could never be checked.
pub fn parse_registries(value: &Value) -> Result<Vec<RegistryConfig>, String> {
    let registries: Vec<RegistryConfig> = serde_json::from_value(value.clone())
        .map_err(|e| format!("the registries must be a JSON array of {{name, type, url}}: {e}"))?;
    for r in &registries {
        match r.kind.as_str() {
            "dcc-legacy" if r.url.is_none() => {
                return Err(format!("registry {:?}: a dcc-legacy registry needs a \"url\"", r.name))
            }
            "oidf" if r.trust_anchor_ec.is_none() => {
                return Err(format!("registry {:?}: an oidf registry needs \"trustAnchorEC\"", r.name))
            }
            "vc-recognition" if r.url.is_none() => {
                return Err(format!("registry {:?}: a vc-recognition registry needs a \"url\"", r.name))
            }
            "vc-recognition" if r.accepted_issuers.is_empty() => {
                return Err(format!(
                    "registry {:?}: a vc-recognition registry needs \"acceptedIssuers\"",
                    r.name
                ))
            }
            "dcc-legacy" | "oidf" | "vc-recognition" => {}
            other => {
                return Err(format!(
                    "registry {:?}: unknown type {other:?} (dcc-legacy, oidf, vc-recognition)",
                    r.name
                ))
            }
        }
    }
    for r in &registries {
        if let Some(jwks) = &r.jwks {
            if r.kind != "oidf" {
                return Err(format!("registry {:?}: \"jwks\" pins an oidf anchor's keys", r.name));
            }
            oidf::Keys::from_jwks(jwks).map_err(|e| format!("registry {:?}: jwks: {e}", r.name))?;
        }
    }
    Ok(registries)
}

/// How long a verified registry document is trusted without verifying it again, at most (its
/// own validity bounds it further; a recognition credential's status can change).
const VERIFIED_TTL_SECONDS: i64 = 60;
const VERIFIED_LIMIT: usize = 256;

/// Registry documents that verified recently, by SHA-256 of what was verified: each entry holds
/// the match (or the recognized subjects) and the instant it stops being trusted, never later
/// than the documents' own `exp` or `validUntil`.
#[derive(Default)]
pub struct VerifiedCache {
    entries: Mutex<HashMap<[u8; 32], Trusted>>,
}

/// What verified, and until when it is trusted.
type Trusted = (DateTime<Utc>, Arc<Value>);

impl VerifiedCache {
    pub(crate) fn get(&self, key: &[u8; 32], now: DateTime<Utc>) -> Option<Arc<Value>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(key).filter(|(until, _)| *until > now).map(|(_, v)| v.clone())
    }

    pub(crate) fn insert(&self, key: [u8; 32], now: DateTime<Utc>, valid_until: Option<i64>, value: Value) {
        let mut until = now + chrono::Duration::seconds(VERIFIED_TTL_SECONDS);
        if let Some(end) = valid_until.and_then(|t| DateTime::from_timestamp(t, 0)) {
            until = until.min(end);
        }
        if until <= now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= VERIFIED_LIMIT {
            entries.retain(|_, (u, _)| *u > now);
            if entries.len() >= VERIFIED_LIMIT {
                entries.clear();
            }
        }
        entries.insert(key, (until, Arc::new(value)));
    }
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// SHA-256 of a label, a URL and a document's JSON, serialized straight into the hash.
fn document_digest(label: &str, url: &str, document: &Value) -> [u8; 32] {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    for part in [label, url] {
        hashing.0.update((part.len() as u64).to_be_bytes());
        hashing.0.update(part.as_bytes());
    }
    // A `Value` always serializes (string keys) and the hash never refuses bytes: no error.
    let _ = serde_json::to_writer(&mut hashing, document);
    hashing.0.finalize().into()
}

/// One registry's answer.
enum Outcome {
    Listed(Value),
    NotListed,
    Unchecked(String),
}

/// Looks `issuer` up in every registry: `{checked, listed, matches: [...], unchecked: [...]}`.
/// `verifier` verifies recognition credentials (nested: no registry lookup inside them).
pub async fn lookup(issuer: &str, registries: &[RegistryConfig], verifier: &Verifier) -> Value {
    let (mut matches, mut unchecked, mut checked) = (Vec::new(), Vec::new(), 0);
    for registry in registries {
        let outcome = match registry.kind.as_str() {
            "dcc-legacy" => dcc_legacy(registry, issuer, verifier.resolver.as_ref()).await,
            "oidf" => oidf_registry(registry, issuer, verifier).await,
            "vc-recognition" => recognition(registry, issuer, verifier).await,
            other => Outcome::Unchecked(format!("{other} registries are not supported")),
        };
        match outcome {
            Outcome::Listed(found) => {
                checked += 1;
                matches.push(found);
            }
            Outcome::NotListed => checked += 1,
            Outcome::Unchecked(reason) => {
                unchecked.push(json!({"registry": registry.name, "type": registry.kind, "reason": reason}))
            }
        }
    }
    json!({"checked": checked > 0, "listed": !matches.is_empty(), "matches": matches, "unchecked": unchecked})
}

fn listed(
    registry: &RegistryConfig,
    name: Option<&Value>,
    url: Option<&Value>,
    location: Option<&Value>,
    logo: Option<&Value>,
) -> Outcome {
    Outcome::Listed(json!({
        "registry": registry.name, "type": registry.kind,
        "name": name, "url": url, "location": location, "logo": logo,
    }))
}

async fn dcc_legacy(registry: &RegistryConfig, issuer: &str, resolver: &dyn DidResolver) -> Outcome {
    let url = registry.url.as_deref().unwrap_or_default();
    match resolver.fetch_document(url).await {
        Ok(document) => match document.get("registry").and_then(Value::as_object) {
            Some(entries) => match entries.get(issuer) {
                Some(entry) => listed(
                    registry,
                    entry.get("name"),
                    entry.get("url"),
                    entry.get("location"),
                    entry.get("logo"),
                ),
                None => Outcome::NotListed,
            },
            None => Outcome::Unchecked(format!("{url} has no \"registry\" object")),
        },
        Err(e) => Outcome::Unchecked(e.to_string()),
    }
}

async fn oidf_registry(registry: &RegistryConfig, issuer: &str, verifier: &Verifier) -> Outcome {
    let ec_url = registry.trust_anchor_ec.as_deref().unwrap_or_default();
    let (now, skew) = (verifier.options.now(), verifier.options.skew);
    let resolver = verifier.resolver.as_ref();
    let pinned = registry.jwks.as_ref();
    match oidf::lookup(resolver, ec_url, pinned, issuer, now, skew, &verifier.registry_cache).await {
        Err(e) => Outcome::Unchecked(e.to_string()),
        Ok(Some(entity)) => listed(
            registry,
            entity.get("organization_name"),
            entity.get("homepage_uri"),
            None,
            entity.get("logo_uri"),
        ),
        Ok(None) => Outcome::NotListed,
    }
}

/// A recognition credential, verified (cached by its digest within its validity), issued by an
/// accepted issuer: the subjects it recognizes, as signed.
async fn recognition(registry: &RegistryConfig, issuer: &str, verifier: &Verifier) -> Outcome {
    let url = registry.url.as_deref().unwrap_or_default();
    let document = match verifier.resolver.fetch_document(url).await {
        Ok(document) => document,
        Err(e) => return Outcome::Unchecked(e.to_string()),
    };
    let now = verifier.options.now();
    let key = document_digest("vc-recognition", url, &document);
    // What verified: its issuer (bound to the proof) and its subjects as signed, by id. Whether
    // that issuer is accepted is asked every time: two registries may share a URL.
    let verified = match verifier.registry_cache.get(&key, now) {
        Some(verified) => verified,
        None => {
            let report = verifier.verify_nested(&document).await;
            if !report.verified {
                let codes: Vec<String> =
                    report.errors.iter().map(|e| format!("{}: {}", e.code, e.detail)).collect();
                return Outcome::Unchecked(format!(
                    "the recognition credential at {url} does not verify: {}",
                    codes.join("; ")
                ));
            }
            let (Some(credential), Some(signer)) = (report.credential, report.issuer) else {
                return Outcome::Unchecked(format!("{url} carries no credential with an issuer"));
            };
            let valid_until = ["validUntil", "expirationDate"]
                .iter()
                .filter_map(|f| credential.get(*f)?.as_str())
                .filter_map(|d| DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.timestamp())
                .min();
            // Every subject with an id is a recognition (the first one wins for a repeated id).
            let mut subjects = serde_json::Map::new();
            for subject in model::subjects(&credential) {
                if let Some(id) = subject.get("id").and_then(Value::as_str) {
                    if !subjects.contains_key(id) {
                        subjects.insert(id.to_string(), subject.clone());
                    }
                }
            }
            let verified = json!({"issuer": signer, "subjects": subjects});
            verifier.registry_cache.insert(key, now, valid_until, verified);
            match verifier.registry_cache.get(&key, now) {
                Some(verified) => verified,
                // Not kept (already past its validity, which verification would have refused).
                None => {
                    return Outcome::Unchecked(format!("the recognition credential at {url} has expired"))
                }
            }
        }
    };
    let signer = verified["issuer"].as_str().unwrap_or_default();
    if !registry.accepted_issuers.iter().any(|a| a == signer) {
        return Outcome::Unchecked(format!(
            "the recognition credential at {url} is issued by {signer}, not by an accepted issuer ({})",
            registry.accepted_issuers.join(", ")
        ));
    }
    match verified["subjects"].get(issuer) {
        Some(subject) => listed(
            registry,
            subject.get("name"),
            subject.get("url"),
            subject.get("location").or_else(|| subject.get("address")),
            subject.get("image").or_else(|| subject.get("logo")),
        ),
        None => Outcome::NotListed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_documents_are_trusted_within_their_validity_and_never_past_it() {
        let cache = VerifiedCache::default();
        let now = Utc::now();
        let key = digest(&[b"a"]);
        cache.insert(key, now, Some(now.timestamp() + 5), json!(1));
        assert_eq!(cache.get(&key, now).as_deref(), Some(&json!(1)));
        assert_eq!(cache.get(&key, now + chrono::Duration::seconds(6)), None, "past its exp");
        let long = digest(&[b"b"]);
        cache.insert(long, now, Some(now.timestamp() + 86_400), json!(2));
        let later = now + chrono::Duration::seconds(VERIFIED_TTL_SECONDS + 1);
        assert_eq!(cache.get(&long, later), None, "verified again after {VERIFIED_TTL_SECONDS} s");
        let expired = digest(&[b"c"]);
        cache.insert(expired, now, Some(now.timestamp() - 1), json!(3));
        assert_eq!(cache.get(&expired, now - chrono::Duration::seconds(10)), None, "never stored");
        // Length-prefixed parts: ("ab", "c") and ("a", "bc") are different keys.
        assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]));
        let doc = json!({"a": [1, 2]});
        let mut expected = Sha256::new();
        for part in ["x", "u"] {
            expected.update(1u64.to_be_bytes());
            expected.update(part);
        }
        expected.update(doc.to_string());
        assert_eq!(document_digest("x", "u", &doc), <[u8; 32]>::from(expected.finalize()));
        assert_ne!(document_digest("x", "u", &doc), document_digest("x", "u", &json!({"a": [2, 1]})));
    }

    #[test]
    fn configurations_that_could_never_be_checked_are_refused() {
        for (config, wanted) in [
            (json!([{"name": "x", "type": "oidf"}]), "trustAnchorEC"),
            (json!([{"name": "x", "type": "vc-recognition", "url": "https://r.example"}]), "acceptedIssuers"),
            (json!([{"name": "x", "type": "vc-recognition", "acceptedIssuers": ["did:x"]}]), "url"),
            (
                json!([{"name": "x", "type": "dcc-legacy", "url": "https://r.example", "jwks": {"keys": []}}]),
                "oidf",
            ),
            (
                json!([{"name": "x", "type": "oidf", "trustAnchorEC": "https://a.example", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}]),
                "no usable public key",
            ),
            (json!([{"name": "x", "type": "ldap", "url": "https://r.example"}]), "unknown type"),
        ] {
            let err = parse_registries(&config).unwrap_err();
            assert!(err.contains(wanted), "{config}: {err}");
        }
        let ok = json!([{"name": "x", "type": "oidf", "trustAnchorEC": "https://a.example/.well-known/openid-federation"}]);
        assert_eq!(
            parse_registries(&ok).unwrap()[0].trust_anchor_ec.as_deref(),
            Some("https://a.example/.well-known/openid-federation")
        );
    }
}
