//! DID resolution (did:key, did:jwk, pinned documents) and verification method lookup.
//!
//! Owns: the `DidResolver` trait, did:key / did:jwk computation, did:web URLs, and typed DID
//! documents. May use: `fetch` (did:web and controller documents), `jsonld` (contexts), `keys`,
//! `codec`. Used by: `status`, `credential`, `service`, the edges.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::jsonld::contexts;
use crate::keys::{
    decode_base58_bounded, Base58Error, PublicKey, ED25519_PUB_CODEC, P256_PUB_CODEC, P384_PUB_CODEC,
    P521_PUB_CODEC,
};

/// DID resolution errors, named as in DID Resolution (`didResolutionMetadata.error`).
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ResolveError {
    #[error("invalid DID {0:?}: {1}")]
    InvalidDid(String, String),
    #[error("DID method of {0:?} is not supported (Laurel resolves did:key, did:jwk and did:web)")]
    MethodNotSupported(String),
    #[error("invalid public key length in {0:?}: {1}")]
    InvalidPublicKeyLength(String, String),
    #[error("unsupported public key type in {0:?}")]
    UnsupportedPublicKeyType(String),
    #[error("{0} could not be fetched offline; pin it with --preload URL=FILE")]
    Offline(String),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("verification method {0:?} was not found in its controller document")]
    MethodNotFound(String),
    #[error("verification method {0:?} is not listed under {1} in its controller document")]
    NotAuthorized(String, String),
    #[error(
        "the controller document for {url} has id {id}: a controller document must carry the id \
         it is found at"
    )]
    DocumentIdMismatch { url: String, id: String },
    #[error(
        "verification method {method:?} names {claimed} as its controller, but it is in the \
         document of {document}; a key is {claimed}'s only if {claimed}'s own document lists it"
    )]
    ControllerMismatch { method: String, claimed: String, document: String },
    #[error("verification method {0:?} is malformed: {1}")]
    MalformedMethod(String, String),
    #[error(
        "the key given with the proof (JWK thumbprint {thumbprint}) is not one {controller} lists \
         under {purpose} in its own document"
    )]
    KeyNotListed { controller: String, thumbprint: String, purpose: String },
}

impl ResolveError {
    /// The DID Resolution error code.
    pub fn code(&self) -> &'static str {
        match self {
            ResolveError::InvalidDid(..) => "invalidDid",
            ResolveError::MethodNotSupported(_) => "methodNotSupported",
            ResolveError::InvalidPublicKeyLength(..) => "invalidPublicKeyLength",
            ResolveError::UnsupportedPublicKeyType(_) => "unsupportedPublicKeyType",
            ResolveError::Offline(_) | ResolveError::MethodNotFound(_) | ResolveError::Fetch(_) => "notFound",
            ResolveError::NotAuthorized(..)
            | ResolveError::MalformedMethod(..)
            | ResolveError::KeyNotListed { .. } => "invalidDidUrl",
            ResolveError::DocumentIdMismatch { .. } | ResolveError::ControllerMismatch { .. } => {
                "invalidDidDocument"
            }
        }
    }
}

/// Public-key representation requested of a did:key document (`?publicKeyFormat=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyFormat {
    #[default]
    Multikey,
    JsonWebKey2020,
    Ed25519VerificationKey2020,
}

/// Resolves DIDs to DID documents, and fetches the other documents verification needs.
#[async_trait]
pub trait DidResolver: Send + Sync {
    async fn resolve(&self, did: &str) -> Result<Value, ResolveError>;
    /// A non-DID document (a controller document, a status list) by URL, with its age.
    async fn fetch(&self, url: &str) -> Result<Fetched, ResolveError>;
    async fn fetch_document(&self, url: &str) -> Result<Value, ResolveError> {
        Ok(self.fetch(url).await?.document)
    }
    /// A resource's bytes exactly as published (a `relatedResource` whose digest is checked).
    async fn fetch_bytes(&self, url: &str) -> Result<Vec<u8>, ResolveError> {
        Err(ResolveError::Offline(url.to_string()))
    }
}

/// Documents pinned by URL or DID (`--preload URL=FILE`), so verification needs no network.
#[derive(Debug, Default, Clone)]
pub struct Pinned {
    documents: HashMap<String, Arc<Value>>,
    /// The files' bytes too, where known: a digest is over the bytes, not the parsed document.
    bytes: HashMap<String, Arc<Vec<u8>>>,
}

impl Pinned {
    pub fn insert(&mut self, url: impl Into<String>, document: Value) {
        self.documents.insert(url.into(), Arc::new(document));
    }
    /// Pins a document with the bytes it was read from.
    pub fn insert_with_bytes(&mut self, url: impl Into<String>, document: Value, bytes: Vec<u8>) {
        let url = url.into();
        self.bytes.insert(url.clone(), Arc::new(bytes));
        self.insert(url, document);
    }
    pub fn get(&self, url: &str) -> Option<Arc<Value>> {
        self.documents.get(url).cloned()
    }
    pub fn get_bytes(&self, url: &str) -> Option<Arc<Vec<u8>>> {
        self.bytes.get(url).cloned()
    }
}

/// The resolver Laurel uses everywhere: did:key and did:jwk computed locally; other documents
/// from pins, then (when a fetcher is configured) the safe fetcher and its caches.
#[derive(Default, Clone)]
pub struct LocalResolver {
    pub pinned: Pinned,
    pub fetcher: Option<Arc<Fetcher>>,
}

impl std::fmt::Debug for LocalResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalResolver")
            .field("pinned", &self.pinned)
            .field("online", &self.fetcher.is_some())
            .finish()
    }
}

#[async_trait]
impl DidResolver for LocalResolver {
    async fn resolve(&self, did: &str) -> Result<Value, ResolveError> {
        // A did:key or did:jwk document is computed from the DID itself: a pinned document could
        // only disagree with it (and put someone else's key in it).
        if did.starts_with("did:key:") || did.starts_with("did:jwk:") {
            return resolve_computed(did, KeyFormat::Multikey);
        }
        if let Some(doc) = self.pinned.get(did) {
            return Ok((*doc).clone());
        }
        if did.starts_with("did:web:") {
            let url = did_web_url(did)?;
            let document = self.fetch(&url).await?.document;
            if document.get("id").and_then(Value::as_str) != Some(did) {
                return Err(ResolveError::InvalidDid(
                    did.to_string(),
                    format!(
                        "the document at {url} has id {}, not this DID",
                        document.get("id").unwrap_or(&Value::Null)
                    ),
                ));
            }
            return Ok(document);
        }
        resolve_computed(did, KeyFormat::Multikey)
    }

    async fn fetch(&self, url: &str) -> Result<Fetched, ResolveError> {
        if let Some(document) = self.pinned.get(url) {
            return Ok(Fetched {
                document: (*document).clone(),
                fetched_at: chrono::Utc::now(),
                source: "pinned",
            });
        }
        match &self.fetcher {
            Some(fetcher) => Ok(fetcher.fetch_json(url).await?),
            None => Err(ResolveError::Offline(url.to_string())),
        }
    }

    async fn fetch_bytes(&self, url: &str) -> Result<Vec<u8>, ResolveError> {
        if let Some(bytes) = self.pinned.get_bytes(url) {
            return Ok((*bytes).clone());
        }
        match &self.fetcher {
            Some(fetcher) => Ok(fetcher.fetch_bytes(url).await?),
            None => Err(ResolveError::Offline(url.to_string())),
        }
    }
}

/// The HTTPS URL of a did:web DID document (did:web spec §3.2: `:` separates path segments,
/// `%3A` encodes a port).
pub fn did_web_url(did: &str) -> Result<String, ResolveError> {
    let invalid = |why: &str| ResolveError::InvalidDid(did.to_string(), why.to_string());
    let specific = did.strip_prefix("did:web:").ok_or_else(|| invalid("not a did:web DID"))?;
    if did.contains(['#', '?', '/']) {
        return Err(invalid("a DID has no path, query or fragment"));
    }
    let mut segments = specific.split(':');
    let host = segments.next().unwrap_or_default().replace("%3A", ":").replace("%3a", ":");
    let host_ok = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        && !host.starts_with(['.', '-', ':']);
    if !host_ok {
        return Err(invalid("the host part must be a domain name (with an optional %3A port)"));
    }
    let path: Vec<&str> = segments.collect();
    if path.iter().any(|p| p.is_empty() || p.contains('%') || *p == "." || *p == "..") {
        return Err(invalid("empty, encoded or relative path segments are not allowed"));
    }
    Ok(if path.is_empty() {
        format!("https://{host}/.well-known/did.json")
    } else {
        format!("https://{host}/{}/did.json", path.join("/"))
    })
}

/// Resolves the DID methods whose documents are computed from the DID itself.
pub fn resolve_computed(did: &str, format: KeyFormat) -> Result<Value, ResolveError> {
    let invalid = |why: &str| ResolveError::InvalidDid(did.to_string(), why.to_string());
    let mut parts = did.splitn(3, ':');
    let (scheme, method, specific) = (parts.next(), parts.next(), parts.next());
    if scheme != Some("did") || method.is_none_or(str::is_empty) || specific.is_none_or(str::is_empty) {
        return Err(invalid("a DID has the form did:<method>:<identifier>"));
    }
    if did.contains(['#', '?', '/']) {
        return Err(invalid("a DID has no path, query or fragment"));
    }
    match method {
        Some("key") => did_key_document(did, specific.unwrap_or_default(), format),
        Some("jwk") => did_jwk_document(did, specific.unwrap_or_default()),
        _ => Err(ResolveError::MethodNotSupported(did.to_string())),
    }
}

/// Largest decoded did:key identifier looked at (multicodec and key), far above any real key.
const MAX_DID_KEY_BYTES: usize = 1024;

/// Decodes the public key of a did:key identifier, with did:key test-suite error codes.
pub fn did_key_public_key(did: &str, specific: &str) -> Result<PublicKey, ResolveError> {
    let invalid = |why: &str| ResolveError::InvalidDid(did.to_string(), why.to_string());
    let encoded =
        specific.strip_prefix('z').ok_or_else(|| invalid("did:key must be base58btc multibase ('z')"))?;
    // Base58 decoding time grows with the square of the length: measure first. The bound is
    // generous (no registered did:key type is longer: RSA-4096 is about 530 bytes) so that any
    // real key still gets its precise code below, unsupported type or wrong length.
    let bytes = decode_base58_bounded(encoded, MAX_DID_KEY_BYTES).map_err(|e| match e {
        Base58Error::TooLong { .. } => ResolveError::InvalidPublicKeyLength(
            did.to_string(),
            format!("the identifier is too long for any did:key public key: {e}"),
        ),
        Base58Error::Invalid(_) => invalid("not valid base58btc"),
    })?;
    let (expected, codec_len) = if bytes.starts_with(&ED25519_PUB_CODEC) {
        (32, 2)
    } else if bytes.starts_with(&P256_PUB_CODEC) {
        (33, 2)
    } else if bytes.starts_with(&P384_PUB_CODEC) {
        (49, 2)
    } else if bytes.starts_with(&P521_PUB_CODEC) {
        (67, 2)
    } else {
        return Err(ResolveError::UnsupportedPublicKeyType(did.to_string()));
    };
    let raw_len = bytes.len() - codec_len;
    if raw_len != expected {
        return Err(ResolveError::InvalidPublicKeyLength(
            did.to_string(),
            format!("expected {expected} bytes, got {raw_len}"),
        ));
    }
    PublicKey::from_multikey(specific).map_err(|e| invalid(&e.to_string()))
}

fn did_key_document(did: &str, specific: &str, format: KeyFormat) -> Result<Value, ResolveError> {
    let key = did_key_public_key(did, specific)?;
    let vm_id = format!("{did}#{specific}");
    let (context, method) = match format {
        KeyFormat::Multikey => (
            contexts::MULTIKEY_V1,
            json!({"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": specific}),
        ),
        KeyFormat::JsonWebKey2020 => (
            "https://w3id.org/security/suites/jws-2020/v1",
            json!({"id": vm_id, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": Value::Object(key.to_jwk())}),
        ),
        KeyFormat::Ed25519VerificationKey2020 => {
            if !matches!(key, PublicKey::Ed25519(_)) {
                return Err(ResolveError::UnsupportedPublicKeyType(did.to_string()));
            }
            (
                contexts::ED25519_2020_V1,
                json!({"id": vm_id, "type": "Ed25519VerificationKey2020", "controller": did, "publicKeyMultibase": specific}),
            )
        }
    };
    Ok(json!({
        "@context": [contexts::DID_V1, context],
        "id": did,
        "verificationMethod": [method],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityDelegation": [vm_id],
        "capabilityInvocation": [vm_id],
    }))
}

fn did_jwk_document(did: &str, specific: &str) -> Result<Value, ResolveError> {
    let invalid = |why: &str| ResolveError::InvalidDid(did.to_string(), why.to_string());
    let bytes = B64URL.decode(specific).map_err(|_| invalid("did:jwk must be base64url"))?;
    let jwk: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| invalid("did:jwk must encode a JSON object"))?;
    if jwk.contains_key("d") {
        return Err(invalid("did:jwk must not contain a private key"));
    }
    let key =
        PublicKey::from_jwk(&jwk).map_err(|_| ResolveError::UnsupportedPublicKeyType(did.to_string()))?;
    let vm_id = format!("{did}#0");
    Ok(json!({
        "@context": [contexts::DID_V1, "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": [{"id": vm_id, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": Value::Object(key.to_jwk())}],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityDelegation": [vm_id],
        "capabilityInvocation": [vm_id],
    }))
}

/// The DID part of a DID URL (without path, query or fragment).
pub fn did_of(did_url: &str) -> &str {
    did_url.split(['#', '?', '/']).next().unwrap_or(did_url)
}

/// A verification method found and authorized for a proof purpose.
#[derive(Debug, Clone)]
pub struct VerificationMethod {
    pub id: String,
    pub controller: String,
    pub public_key: PublicKey,
    /// Set when the method was taken from a DID document because the URL had no fragment.
    pub inferred: bool,
}

/// Extracts the public key of a verification method object.
pub fn method_public_key(method: &Value) -> Result<PublicKey, ResolveError> {
    let id = method.get("id").and_then(Value::as_str).unwrap_or("(no id)").to_string();
    let malformed = |why: String| ResolveError::MalformedMethod(id.clone(), why);
    if let Some(multibase) = method.get("publicKeyMultibase").and_then(Value::as_str) {
        return PublicKey::from_multikey(multibase).map_err(|e| malformed(e.to_string()));
    }
    if let Some(jwk) = method.get("publicKeyJwk").and_then(Value::as_object) {
        if jwk.contains_key("d") {
            return Err(malformed("publicKeyJwk contains a private key".into()));
        }
        return PublicKey::from_jwk(jwk).map_err(|e| malformed(e.to_string()));
    }
    if let Some(b58) = method.get("publicKeyBase58").and_then(Value::as_str) {
        let raw = decode_base58_bounded(b58, 32).map_err(|e| match e {
            Base58Error::TooLong { .. } => {
                malformed(format!("publicKeyBase58 is too long for an Ed25519 key: {e}"))
            }
            Base58Error::Invalid(_) => malformed("publicKeyBase58 is not base58".into()),
        })?;
        let raw: [u8; 32] = raw.try_into().map_err(|_| malformed("an Ed25519 key is 32 bytes".into()))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|_| malformed("not an Ed25519 point".into()))?;
        return Ok(PublicKey::Ed25519(key));
    }
    Err(malformed("no publicKeyMultibase, publicKeyJwk or publicKeyBase58".into()))
}

fn absolute_id(id: &str, base: &str) -> String {
    if id.starts_with('#') {
        format!("{base}{id}")
    } else {
        id.to_string()
    }
}

fn as_list(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => vec![],
    }
}

/// Finds `method_url` in the controller document `document`, obtained for `document_url` (the
/// method URL without its fragment), and checks the links that make the method the document's
/// (Controlled Identifiers 1.0, "Retrieve Verification Method"): the document's `id` is
/// `document_url`, the method's `id` is under it, its `controller` is that id, and the document
/// lists it under `purpose`. The controller a method claims is never taken on its word: a key
/// in one document naming another identifier as its controller is refused, since only that
/// identifier's own document could make the key its own. So the returned `controller` is always
/// the id of the document that lists the key, which is what issuer and holder binding compare.
fn method_in_document(
    document: &Value,
    document_url: &str,
    method_url: &str,
    purpose: &str,
    inferred: bool,
) -> Result<VerificationMethod, ResolveError> {
    match document.get("id").and_then(Value::as_str) {
        Some(id) if id == document_url => {}
        other => {
            return Err(ResolveError::DocumentIdMismatch {
                url: document_url.to_string(),
                id: other.map_or_else(|| "(none)".to_string(), |id| format!("{id:?}")),
            })
        }
    }
    if method_url.split_once('#').map(|(document, _)| document) != Some(document_url) {
        return Err(ResolveError::MethodNotFound(method_url.to_string()));
    }
    let mut candidates: Vec<&Value> = as_list(document.get("verificationMethod"));
    candidates.extend(as_list(document.get(purpose)).into_iter().filter(|v| v.is_object()));
    let method = candidates
        .into_iter()
        .find(|m| {
            m.get("id").and_then(Value::as_str).map(|id| absolute_id(id, document_url)).as_deref()
                == Some(method_url)
        })
        .ok_or_else(|| ResolveError::MethodNotFound(method_url.to_string()))?;
    // DID Core requires `controller`; a method without one can only be the document's.
    let controller = match method.get("controller") {
        None => document_url.to_string(),
        Some(Value::String(controller)) => absolute_id(controller, document_url),
        Some(_) => {
            return Err(ResolveError::MalformedMethod(
                method_url.to_string(),
                "controller must be a string".into(),
            ))
        }
    };
    if controller != document_url {
        return Err(ResolveError::ControllerMismatch {
            method: method_url.to_string(),
            claimed: controller,
            document: document_url.to_string(),
        });
    }
    // Every document must list the method under the proof purpose, DID documents and https
    // issuer profiles alike: a profile that merely contains a key has not said what it is for
    // (and a retired key stays in assertionMethod exactly as long as what it signed is valid).
    let authorized = as_list(document.get(purpose)).into_iter().any(|entry| match entry {
        Value::String(id) => absolute_id(id, document_url) == method_url,
        Value::Object(_) => {
            entry.get("id").and_then(Value::as_str).map(|id| absolute_id(id, document_url)).as_deref()
                == Some(method_url)
        }
        _ => false,
    });
    if !authorized {
        return Err(ResolveError::NotAuthorized(method_url.to_string(), purpose.to_string()));
    }
    Ok(VerificationMethod {
        id: method_url.to_string(),
        controller,
        public_key: method_public_key(method)?,
        inferred,
    })
}

/// Dereferences a verification method URL in its controller's own document (a DID resolved, any
/// other URL fetched or pinned) and checks it may be used for `purpose` (`assertionMethod`,
/// `authentication`). The document is obtained once per proof; binding a proof to an issuer is
/// then a comparison of the returned controller with the issuer's id.
pub async fn resolve_verification_method(
    resolver: &dyn DidResolver,
    method_url: &str,
    purpose: &str,
) -> Result<VerificationMethod, ResolveError> {
    let (document_url, fragment) = match method_url.split_once('#') {
        Some((document_url, fragment)) => (document_url, Some(fragment)),
        None => (method_url, None),
    };
    let document = if method_url.starts_with("did:") {
        resolver.resolve(document_url).await?
    } else {
        resolver.fetch_document(document_url).await?
    };
    if fragment.is_some() {
        return method_in_document(&document, document_url, method_url, purpose, false);
    }
    // Some issuers name themselves instead of their key; accept it only when unambiguous.
    match as_list(document.get("verificationMethod")).as_slice() {
        [only] => match only.get("id").and_then(Value::as_str) {
            Some(id) => {
                method_in_document(&document, document_url, &absolute_id(id, document_url), purpose, true)
            }
            None => Err(ResolveError::MalformedMethod(method_url.to_string(), "the method has no id".into())),
        },
        _ => Err(ResolveError::MethodNotFound(method_url.to_string())),
    }
}

/// Finds, in `controller`'s own document, the method authorized for `purpose` whose key is
/// `key` (compared as keys, whatever encoding each side uses): how a JWT that carries its key in
/// a `jwk` header and names no `kid` is bound to its issuer. A key the header carries is never
/// trusted for itself; it only selects one of the keys the controller already lists.
pub async fn resolve_method_by_key(
    resolver: &dyn DidResolver,
    controller: &str,
    key: &PublicKey,
    purpose: &str,
) -> Result<VerificationMethod, ResolveError> {
    let document = if controller.starts_with("did:") {
        resolver.resolve(controller).await?
    } else {
        resolver.fetch_document(controller).await?
    };
    let mut candidates: Vec<&Value> = as_list(document.get("verificationMethod"));
    candidates.extend(as_list(document.get(purpose)).into_iter().filter(|v| v.is_object()));
    for candidate in candidates {
        let Some(id) = candidate.get("id").and_then(Value::as_str) else { continue };
        // Every link is checked as for a named method; a candidate that fails any is skipped.
        if let Ok(method) =
            method_in_document(&document, controller, &absolute_id(id, controller), purpose, false)
        {
            if &method.public_key == key {
                return Ok(method);
            }
        }
    }
    Err(ResolveError::KeyNotListed {
        controller: controller.to_string(),
        thumbprint: key.thumbprint(),
        purpose: purpose.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyPair, KeyType};

    #[tokio::test]
    async fn did_key_methods_resolve_for_assertion() {
        for key_type in [KeyType::Ed25519, KeyType::P256] {
            let key = KeyPair::generate(key_type).unwrap();
            let vm = resolve_verification_method(
                &LocalResolver::default(),
                &key.verification_method(),
                "assertionMethod",
            )
            .await
            .unwrap();
            assert_eq!(vm.controller, key.did());
            assert_eq!(vm.public_key, key.public_key());
        }
    }

    #[tokio::test]
    async fn did_jwk_resolves_for_rsa() {
        let key = KeyPair::generate(KeyType::Rsa).unwrap();
        assert!(key.did().starts_with("did:jwk:"));
        let vm = resolve_verification_method(
            &LocalResolver::default(),
            &key.verification_method(),
            "assertionMethod",
        )
        .await
        .unwrap();
        assert_eq!(vm.public_key, key.public_key());
    }

    #[test]
    fn did_web_urls_follow_the_spec() {
        assert_eq!(did_web_url("did:web:example.com").unwrap(), "https://example.com/.well-known/did.json");
        assert_eq!(
            did_web_url("did:web:example.com:user:alice").unwrap(),
            "https://example.com/user/alice/did.json"
        );
        assert_eq!(
            did_web_url("did:web:localhost%3A8443").unwrap(),
            "https://localhost:8443/.well-known/did.json"
        );
        for bad in [
            "did:web:",
            "did:web:exa mple.com",
            "did:web:example.com:..:etc",
            "did:web:example.com#x",
            "did:web:a.com::b",
        ] {
            assert!(did_web_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn did_key_errors_use_the_test_suite_codes() {
        let code = |did: &str| resolve_computed(did, KeyFormat::Multikey).unwrap_err().code();
        assert_eq!(code("did:key:abc"), "invalidDid");
        assert_eq!(code("did:example:123"), "methodNotSupported");
        assert_eq!(code("notadid"), "invalidDid");
        let short = format!("z{}", bs58::encode([0xed, 0x01, 1, 2, 3]).into_string());
        assert_eq!(code(&format!("did:key:{short}")), "invalidPublicKeyLength");
        let unknown = format!("z{}", bs58::encode([0x99, 0x01, 1, 2, 3]).into_string());
        assert_eq!(code(&format!("did:key:{unknown}")), "unsupportedPublicKeyType");
    }

    #[test]
    fn overlong_base58_keys_are_refused_before_decoding() {
        let started = std::time::Instant::now();
        let did = format!("did:key:z6Mk{}", "x".repeat(200_000));
        let err = resolve_computed(&did, KeyFormat::Multikey).unwrap_err();
        assert_eq!(err.code(), "invalidPublicKeyLength", "{err}");
        assert!(err.to_string().contains("too long"), "{err}");
        let method = json!({"id": "x#k", "publicKeyBase58": "3".repeat(100_000)});
        let err = method_public_key(&method).unwrap_err();
        assert!(err.to_string().contains("too long"), "{err}");
        let method = json!({"id": "x#k", "publicKeyMultibase": format!("z{}", "3".repeat(100_000))});
        assert!(method_public_key(&method).unwrap_err().to_string().contains("too long"));
        assert!(started.elapsed() < std::time::Duration::from_millis(100), "{:?}", started.elapsed());
        // A real key type Laurel does not support still gets its precise code, not "too long".
        let rsa_sized =
            format!("did:key:z{}", bs58::encode([&[0x85, 0x24][..], &[7u8; 270]].concat()).into_string());
        assert_eq!(
            resolve_computed(&rsa_sized, KeyFormat::Multikey).unwrap_err().code(),
            "unsupportedPublicKeyType"
        );
    }

    const ATTACKER_DOC: &str = "https://attacker.example/keys/1";
    const ATTACKER_METHOD: &str = "https://attacker.example/keys/1#k";

    fn multikey(id: &str, controller: &str, key: &KeyPair) -> Value {
        json!({"id": id, "type": "Multikey", "controller": controller, "publicKeyMultibase": key.public_key().to_multikey().unwrap()})
    }

    fn pinned(url: &str, document: Value) -> LocalResolver {
        let mut resolver = LocalResolver::default();
        resolver.pinned.insert(url, document);
        resolver
    }

    async fn lookup(
        resolver: &LocalResolver,
        method: &str,
        purpose: &str,
    ) -> Result<VerificationMethod, ResolveError> {
        resolve_verification_method(resolver, method, purpose).await
    }

    #[tokio::test]
    async fn a_method_naming_another_controller_is_not_that_controllers() {
        let victim = KeyPair::generate(KeyType::Ed25519).unwrap().did();
        let attacker = KeyPair::generate(KeyType::Ed25519).unwrap();
        for relationships in [json!(null), json!([ATTACKER_METHOD])] {
            let mut document = json!({"id": ATTACKER_DOC, "verificationMethod": [multikey(ATTACKER_METHOD, &victim, &attacker)]});
            if !relationships.is_null() {
                document["assertionMethod"] = relationships;
            }
            let err = lookup(&pinned(ATTACKER_DOC, document), ATTACKER_METHOD, "assertionMethod")
                .await
                .unwrap_err();
            assert!(
                matches!(&err, ResolveError::ControllerMismatch { claimed, .. } if *claimed == victim),
                "{err}"
            );
        }
        // The same in a did:web document (pinned by DID or by its URL).
        let did = "did:web:attacker.example";
        let method = format!("{did}#k");
        let document = json!({"id": did, "verificationMethod": [multikey(&method, &victim, &attacker)], "assertionMethod": [method]});
        for pin in [did, "https://attacker.example/.well-known/did.json"] {
            let err = lookup(&pinned(pin, document.clone()), &method, "assertionMethod").await.unwrap_err();
            assert!(matches!(err, ResolveError::ControllerMismatch { .. }), "{pin}: {err}");
        }
        // A controller that is not a string is malformed, not silently replaced.
        let document = json!({"id": ATTACKER_DOC, "verificationMethod": [{"id": ATTACKER_METHOD, "type": "Multikey", "controller": [victim], "publicKeyMultibase": attacker.public_key().to_multikey()}], "assertionMethod": [ATTACKER_METHOD]});
        let err =
            lookup(&pinned(ATTACKER_DOC, document), ATTACKER_METHOD, "assertionMethod").await.unwrap_err();
        assert!(matches!(err, ResolveError::MalformedMethod(..)), "{err}");
    }

    #[tokio::test]
    async fn a_document_must_carry_the_id_it_is_found_at() {
        let victim = KeyPair::generate(KeyType::Ed25519).unwrap().did();
        let attacker = KeyPair::generate(KeyType::Ed25519).unwrap();
        let document = json!({"id": victim, "verificationMethod": [multikey(ATTACKER_METHOD, &victim, &attacker)], "assertionMethod": [ATTACKER_METHOD]});
        let err =
            lookup(&pinned(ATTACKER_DOC, document), ATTACKER_METHOD, "assertionMethod").await.unwrap_err();
        assert!(matches!(err, ResolveError::DocumentIdMismatch { .. }), "{err}");
        // A method whose id is outside the document (here: named without a fragment and inferred).
        let document = json!({"id": ATTACKER_DOC, "verificationMethod": [multikey(&format!("{victim}#x"), ATTACKER_DOC, &attacker)], "assertionMethod": [format!("{victim}#x")]});
        let err = lookup(&pinned(ATTACKER_DOC, document), ATTACKER_DOC, "assertionMethod").await.unwrap_err();
        assert!(matches!(err, ResolveError::MethodNotFound(_)), "{err}");
    }

    #[tokio::test]
    async fn a_pinned_document_cannot_replace_a_computed_did() {
        let victim = KeyPair::generate(KeyType::Ed25519).unwrap();
        let attacker = KeyPair::generate(KeyType::Ed25519).unwrap();
        let method = victim.verification_method();
        let forged = json!({"id": victim.did(), "verificationMethod": [multikey(&method, &victim.did(), &attacker)], "assertionMethod": [method]});
        let vm = lookup(&pinned(&victim.did(), forged), &method, "assertionMethod").await.unwrap();
        assert_eq!(vm.public_key, victim.public_key());
    }

    #[tokio::test]
    async fn a_key_must_be_listed_under_the_purpose_in_its_own_document() {
        let (current, retired) =
            (KeyPair::generate(KeyType::Ed25519).unwrap(), KeyPair::generate(KeyType::P256).unwrap());
        let profile = "https://issuer.example/profile";
        let (current_id, retired_id) = (format!("{profile}#current"), format!("{profile}#retired"));
        let document = json!({
            "id": profile,
            "verificationMethod": [multikey("#current", profile, &current), multikey(&retired_id, profile, &retired)],
            "assertionMethod": ["#current", retired_id],
            "authentication": [current_id],
        });
        let resolver = pinned(profile, document.clone());
        for (method, key) in [(&current_id, &current), (&retired_id, &retired)] {
            let vm = lookup(&resolver, method, "assertionMethod").await.unwrap();
            assert_eq!((vm.controller.as_str(), vm.public_key.clone()), (profile, key.public_key()));
        }
        // Retired: no longer for authentication.
        let err = lookup(&resolver, &retired_id, "authentication").await.unwrap_err();
        assert!(matches!(err, ResolveError::NotAuthorized(..)), "{err}");
        // A profile that lists no relationships authorizes nothing (older OB profiles included).
        let mut unlisted = document;
        unlisted.as_object_mut().unwrap().retain(|k, _| k == "id" || k == "verificationMethod");
        let err = lookup(&pinned(profile, unlisted), &current_id, "assertionMethod").await.unwrap_err();
        assert!(matches!(err, ResolveError::NotAuthorized(..)), "{err}");
        assert!(err.to_string().contains("assertionMethod"), "{err}");
    }

    #[tokio::test]
    async fn a_profile_named_without_a_key_uses_its_only_key() {
        let key = KeyPair::generate(KeyType::Ed25519).unwrap();
        let profile = "https://issuer.example/profile";
        let document = json!({"id": profile, "verificationMethod": [multikey("#k", profile, &key)], "assertionMethod": ["#k"]});
        let vm = lookup(&pinned(profile, document), profile, "assertionMethod").await.unwrap();
        assert!(vm.inferred);
        assert_eq!(vm.id, format!("{profile}#k"));
        assert_eq!(vm.controller, profile);
    }

    #[tokio::test]
    async fn https_methods_need_a_pinned_document() {
        let err = resolve_verification_method(
            &LocalResolver::default(),
            "https://example.com/issuers/1#key",
            "assertionMethod",
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ResolveError::Offline(_)), "{err}");
    }
}
