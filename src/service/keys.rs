//! Issuer keys: the active key per type, rotation and revocation, the JWKS, the did:web
//! document they make, and DID resolution for the API.

use super::*;

impl Service {
    /// The active Ed25519 signing key.
    pub fn issuer_key(&self) -> Result<KeyPair, ServiceError> {
        active_key_with(self.store.as_ref(), KeyType::Ed25519, |name| self.parsed_key(name))?
            .map(|(_, key)| key)
            .ok_or_else(|| ServiceError::Internal("no active Ed25519 issuer key".into()))
    }

    /// A stored key with its identity, parsed once.
    pub(super) fn parsed_key(&self, name: &str) -> Result<KeyPair, ServiceError> {
        if let Some(key) = self.parsed_keys.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(key.clone());
        }
        let key = load_key(self.store.as_ref(), &self.settings, name)?;
        self.parsed_keys.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), key.clone());
        Ok(key)
    }

    /// The key that signs a request, with its store name (status lists are kept per key).
    pub(super) fn key_for(
        &self,
        format: Format,
        requested: Option<&str>,
    ) -> Result<(String, KeyPair), ServiceError> {
        let store = self.store.as_ref();
        if let Some(name) = requested {
            return match issuer_keys(store)?.iter().find(|k| k.name == name) {
                Some(k) if k.state != KeyState::Active => Err(ServiceError::bad(
                    format!("key {name:?} is {:?} and signs nothing new", k.state).to_lowercase(),
                )),
                // Under did:web the issuer's document lists only registered keys; a credential
                // signed with any other would name a method the document does not have.
                None if self.settings.did_web.is_some() && store.get(name).is_ok() => {
                    Err(ServiceError::bad(format!(
                        "key {name:?} is not in the DID document of {}, so what it signed would not verify; \
                     keys made with `laurel key new` while the issuer runs as did:web are listed there",
                        self.settings.did_web.as_deref().unwrap_or_default()
                    )))
                }
                _ => store
                    .get(name)
                    .map(|key| (name.to_string(), with_identity(&self.settings, name, key)))
                    .map_err(|e| match e {
                        crate::keys::KeyError::Sealed(_) | crate::keys::KeyError::WrongPassphrase => {
                            key_error(e)
                        }
                        _ => ServiceError::bad(format!("no key named {name:?}")),
                    }),
            };
        }
        let key_type = if format == Format::EcdsaRdfc2019 { KeyType::P256 } else { KeyType::Ed25519 };
        if let Some(active) = active_key_with(store, key_type, |name| self.parsed_key(name))? {
            return Ok(active);
        }
        if key_type == KeyType::Ed25519 {
            return Err(ServiceError::Internal("no active Ed25519 issuer key".into()));
        }
        // The first ecdsa-rdfc-2019 request creates the P-256 key.
        let key = KeyPair::generate(KeyType::P256).map_err(|e| ServiceError::Internal(e.to_string()))?;
        if store.put(ISSUER_P256_KEY, &key).is_ok() {
            let mut keys = issuer_keys(store)?;
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            keys.push(IssuerKey { name: ISSUER_P256_KEY.into(), state: KeyState::Active, changed: now });
            let audit = crate::store::AuditEntry::now("key-create", ISSUER_P256_KEY, None);
            save_issuer_keys(store, &keys, &audit)?;
        }
        // Whether this request or a concurrent one created it, the stored key is the one.
        let stored = store.get(ISSUER_P256_KEY).map_err(key_error)?;
        Ok((ISSUER_P256_KEY.to_string(), with_identity(&self.settings, ISSUER_P256_KEY, stored)))
    }

    /// The issuer's public keys as a JWK set (OB 3.0 JWT key provenance).
    pub fn jwks(&self) -> Result<Value, ServiceError> {
        let mut keys = Vec::new();
        for entry in issuer_keys(self.store.as_ref())?.into_iter().filter(|k| k.state != KeyState::Revoked) {
            let key = load_key(self.store.as_ref(), &self.settings, &entry.name)?;
            let mut jwk = key.public_key().to_jwk();
            jwk.insert("kid".into(), json!(key.verification_method()));
            jwk.insert("use".into(), json!("sig"));
            jwk.insert("alg".into(), json!(key.key_type().jws_alg()));
            keys.push(Value::Object(jwk));
        }
        Ok(json!({"keys": keys}))
    }
}

/// Where an issuer key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Signs new credentials.
    Active,
    /// Signs nothing new; what it signed still verifies (it stays in assertionMethod).
    Retired,
    /// Compromised: removed from the DID document, so what it signed no longer verifies.
    Revoked,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IssuerKey {
    pub name: String,
    pub state: KeyState,
    pub changed: String,
}

pub(super) const ISSUER_KEYS: &str = "issuer_keys";

/// The issuer keys and their states (the first start's key is `issuer`, active).
pub fn issuer_keys(store: &dyn Store) -> Result<Vec<IssuerKey>, ServiceError> {
    match store.get_meta(ISSUER_KEYS)? {
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| ServiceError::Internal(format!("issuer key states: {e}")))
        }
        None => {
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let mut keys = Vec::new();
            for name in [ISSUER_KEY, ISSUER_P256_KEY] {
                if !matches!(store.get(name), Err(crate::keys::KeyError::NotFound(_))) {
                    keys.push(IssuerKey { name: name.into(), state: KeyState::Active, changed: now.clone() });
                }
            }
            Ok(keys)
        }
    }
}

pub(super) fn save_issuer_keys(
    store: &dyn Store,
    keys: &[IssuerKey],
    audit: &crate::store::AuditEntry,
) -> Result<(), ServiceError> {
    let text = serde_json::to_string(keys).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(store.put_meta_audited(ISSUER_KEYS, &text, audit)?)
}

/// The key as it signs: under the did:web DID when there is one, else its own did:key/did:jwk.
pub fn with_identity(settings: &ServiceSettings, name: &str, key: KeyPair) -> KeyPair {
    match &settings.did_web {
        Some(did) => key.with_identity(did, &format!("{did}#{name}")),
        None => key,
    }
}

pub(super) fn load_key(
    store: &dyn Store,
    settings: &ServiceSettings,
    name: &str,
) -> Result<KeyPair, ServiceError> {
    let key = store.get(name).map_err(|e| match key_error(e) {
        ServiceError::Internal(detail) => ServiceError::Internal(format!("key {name}: {detail}")),
        other => other,
    })?;
    Ok(with_identity(settings, name, key))
}

/// The active key of a type, with its name.
pub fn active_key(
    store: &dyn Store,
    settings: &ServiceSettings,
    key_type: KeyType,
) -> Result<Option<(String, KeyPair)>, ServiceError> {
    active_key_with(store, key_type, |name| load_key(store, settings, name))
}

/// The active key of a type, read with `load` (the service passes its parsed-key cache).
pub(super) fn active_key_with(
    store: &dyn Store,
    key_type: KeyType,
    load: impl Fn(&str) -> Result<KeyPair, ServiceError>,
) -> Result<Option<(String, KeyPair)>, ServiceError> {
    for entry in issuer_keys(store)?.into_iter().filter(|k| k.state == KeyState::Active) {
        let key = load(&entry.name)?;
        if key.key_type() == key_type {
            return Ok(Some((entry.name, key)));
        }
    }
    Ok(None)
}

/// Makes a new Ed25519 signing key and retires the current one (it keeps verifying).
pub fn rotate_key(store: &dyn Store, settings: &ServiceSettings) -> Result<Value, ServiceError> {
    let mut keys = issuer_keys(store)?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let name = format!("issuer-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
    let key = KeyPair::generate(KeyType::Ed25519).map_err(|e| ServiceError::Internal(e.to_string()))?;
    store.put(&name, &key).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut retired = Vec::new();
    for entry in keys.iter_mut().filter(|k| k.state == KeyState::Active) {
        if store.get(&entry.name).map(|k| k.key_type() == KeyType::Ed25519).unwrap_or(false) {
            entry.state = KeyState::Retired;
            entry.changed = now.clone();
            retired.push(entry.name.clone());
        }
    }
    keys.push(IssuerKey { name: name.clone(), state: KeyState::Active, changed: now });
    let audit = crate::store::AuditEntry::now("key-rotate", &name, Some(json!({"retired": retired})));
    save_issuer_keys(store, &keys, &audit)?;
    let key = with_identity(settings, &name, key);
    Ok(
        json!({"active": name, "verificationMethod": key.verification_method(), "did": key.did(), "retired": retired}),
    )
}

/// Revokes a retired key: it leaves the DID document, so every credential it signed stops
/// verifying. Only meaningful for did:web issuers (a did:key cannot be revoked).
pub fn revoke_key(store: &dyn Store, settings: &ServiceSettings, name: &str) -> Result<Value, ServiceError> {
    if settings.did_web.is_none() {
        return Err(ServiceError::bad(
            "key revocation needs a did:web issuer: a did:key is its own DID document and cannot be revoked; rotate instead",
        ));
    }
    let mut keys = issuer_keys(store)?;
    let entry = keys
        .iter_mut()
        .find(|k| k.name == name)
        .ok_or_else(|| ServiceError::NotFound(format!("no issuer key named {name:?}")))?;
    match entry.state {
        KeyState::Active => {
            return Err(ServiceError::bad(format!(
                "{name} is the active signing key; rotate first, then revoke it"
            )))
        }
        KeyState::Revoked => return Err(ServiceError::Conflict(format!("{name} is already revoked"))),
        KeyState::Retired => {}
    }
    entry.state = KeyState::Revoked;
    entry.changed = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let audit = crate::store::AuditEntry::now("key-revoke", name, None);
    save_issuer_keys(store, &keys, &audit)?;
    Ok(json!({"revoked": name, "note": "every credential this key signed now fails verification"}))
}

/// The did:web DID document: every active and retired key, and assertionMethod for them.
pub fn did_document(store: &dyn Store, settings: &ServiceSettings) -> Result<Value, ServiceError> {
    let did = settings
        .did_web
        .clone()
        .ok_or_else(|| ServiceError::NotFound("this issuer has no did:web DID".into()))?;
    let mut methods = Vec::new();
    let mut assertion = Vec::new();
    let mut authentication = Vec::new();
    for entry in issuer_keys(store)?.into_iter().filter(|k| k.state != KeyState::Revoked) {
        let key = load_key(store, settings, &entry.name)?;
        let id = key.verification_method();
        let method = match key.public_key().to_multikey() {
            Some(multikey) => {
                json!({"id": id, "type": "Multikey", "controller": did, "publicKeyMultibase": multikey})
            }
            None => {
                json!({"id": id, "type": "JsonWebKey", "controller": did, "publicKeyJwk": Value::Object(key.public_key().to_jwk())})
            }
        };
        methods.push(method);
        assertion.push(json!(id));
        if entry.state == KeyState::Active {
            authentication.push(json!(id));
        }
    }
    Ok(json!({
        "@context": [crate::jsonld::contexts::DID_V1, crate::jsonld::contexts::MULTIKEY_V1, "https://w3id.org/security/jwk/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": assertion,
        "authentication": authentication,
    }))
}

/// A DID resolution result (W3C DID Resolution) or, for a DID URL with a fragment, the
/// dereferenced verification method; on failure the HTTP status and the error body.
pub async fn resolve_did(
    resolver: &dyn crate::did::DidResolver,
    input: &str,
    public_key_format: Option<&str>,
) -> Result<Value, (u16, Value)> {
    let (did, fragment) = match input.split_once('#') {
        Some((did, fragment)) => (did, Some(fragment)),
        None => (input, None),
    };
    let dereferencing = fragment.is_some() || did.contains(['/', '?']);
    let metadata_key = if dereferencing { "didDereferencingMetadata" } else { "didResolutionMetadata" };
    let error = |status: u16, code: &str, message: String| {
        let mut body = json!({
            "@context": "https://w3id.org/did-resolution/v1",
            "didDocument": {},
            "didDocumentMetadata": {},
            "didResolutionMetadata": {},
        });
        body[metadata_key] = json!({"error": code, "errorMessage": message});
        (status, body)
    };
    if did.contains(['/', '?']) {
        return Err(error(
            400,
            "invalidDidUrl",
            format!("{input:?}: DID URL paths and queries are not supported"),
        ));
    }
    let format = match public_key_format {
        None | Some("Multikey") => KeyFormat::Multikey,
        Some("JsonWebKey2020") | Some("JsonWebKey") => KeyFormat::JsonWebKey2020,
        Some("Ed25519VerificationKey2020") => KeyFormat::Ed25519VerificationKey2020,
        Some(other) => {
            let code = if dereferencing { "invalidPublicKeyType" } else { "unsupportedPublicKeyType" };
            return Err(error(400, code, format!("publicKeyFormat {other:?} is not supported")));
        }
    };
    let resolved = if did.starts_with("did:web:") {
        resolver.resolve(did).await
    } else {
        did::resolve_computed(did, format)
    };
    let document = resolved.map_err(|e| {
        let status = match e {
            ResolveError::MethodNotSupported(_) => 501,
            ResolveError::Offline(_) | ResolveError::MethodNotFound(_) => 404,
            _ => 400,
        };
        let code = if dereferencing && e.code() == "invalidDid" { "invalidDidUrl" } else { e.code() };
        error(status, code, e.to_string())
    })?;
    let Some(fragment) = fragment else {
        return Ok(json!({
            "@context": "https://w3id.org/did-resolution/v1",
            "didDocument": document,
            "didDocumentMetadata": {},
            "didResolutionMetadata": {"contentType": "application/did+ld+json"}
        }));
    };
    let wanted = format!("{did}#{fragment}");
    let method = document
        .get("verificationMethod")
        .and_then(Value::as_array)
        .and_then(|methods| {
            methods.iter().find(|m| m.get("id").and_then(Value::as_str) == Some(wanted.as_str()))
        })
        .cloned()
        .ok_or_else(|| error(404, "notFound", format!("{wanted} is not in the DID document")))?;
    let mut method = method;
    method["@context"] = document["@context"].clone();
    Ok(json!({
        "@context": "https://w3id.org/did-resolution/v1",
        "didDocument": method,
        "didDocumentMetadata": {},
        "didDereferencingMetadata": {"contentType": "application/did+ld+json"},
        "contentMetadata": {}
    }))
}

/// A stored key as `laurel key list` and `GET /keys` show it: public facts only.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KeyListing {
    pub name: String,
    pub key_type: KeyType,
    /// The DID it signs as (the did:web DID for issuer keys of a did:web issuer).
    pub did: String,
    pub verification_method: String,
    pub created: String,
    /// `active`, `retired` or `revoked` for the issuer's keys; `standalone` for a key made
    /// with `key new`, which signs only when named (`--key`, `options.key`, `present --holder`).
    pub state: String,
    /// When the state last changed (issuer keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<String>,
}

/// Every stored key with its state, in creation order.
pub fn list_keys(store: &dyn Store, settings: &ServiceSettings) -> Result<Vec<KeyListing>, ServiceError> {
    let issuer = issuer_keys(store)?;
    let mut listed = Vec::new();
    for info in store.list().map_err(|e| ServiceError::Internal(e.to_string()))? {
        let entry = issuer.iter().find(|k| k.name == info.name);
        let (did, verification_method) = match entry {
            Some(_) => {
                let key = load_key(store, settings, &info.name)?;
                (key.did(), key.verification_method())
            }
            None => (info.did.clone(), info.verification_method.clone()),
        };
        listed.push(KeyListing {
            state: match entry.map(|k| k.state) {
                Some(KeyState::Active) => "active",
                Some(KeyState::Retired) => "retired",
                Some(KeyState::Revoked) => "revoked",
                None => "standalone",
            }
            .to_string(),
            changed: entry.map(|k| k.changed.clone()),
            name: info.name,
            key_type: info.key_type,
            did,
            verification_method,
            created: info.created,
        });
    }
    listed.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)));
    Ok(listed)
}

/// Makes and stores a standalone key. Without a name it is called `<type>-<UTC time>`, with a
/// suffix when that is taken (two keys made in the same millisecond); a name given that is
/// taken is refused.
pub fn create_key(
    store: &dyn Store,
    settings: &ServiceSettings,
    key_type: KeyType,
    name: Option<&str>,
) -> Result<KeyListing, ServiceError> {
    // P-384 and P-521 are verified only: asking for one is the caller's mistake, not a fault.
    let key = KeyPair::generate(key_type).map_err(|e| ServiceError::bad(e.to_string()))?;
    let stored_name = match name {
        Some(name) => {
            valid_key_name(name)?;
            if store.get(name).is_ok() {
                return Err(ServiceError::Conflict(format!("a key named {name:?} already exists")));
            }
            store.put(name, &key).map_err(|e| ServiceError::Conflict(e.to_string()))?;
            name.to_string()
        }
        None => {
            let base = format!("{key_type}-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
            let mut stored = None;
            for attempt in 1..=1000 {
                let candidate = if attempt == 1 { base.clone() } else { format!("{base}-{attempt}") };
                // put refuses a taken name atomically, so two concurrent calls cannot share one.
                if store.put(&candidate, &key).is_ok() {
                    stored = Some(candidate);
                    break;
                }
            }
            stored.ok_or_else(|| ServiceError::Internal("no free key name".into()))?
        }
    };
    // Without did:web a new key is standalone: it signs as its own did:key/did:jwk, whose
    // document is the key itself. Under did:web it can only sign as the issuer, so it becomes one
    // of the issuer's keys: the DID document and the JWKS list it, and what it signs verifies.
    if settings.did_web.is_some() {
        let mut keys = issuer_keys(store)?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        keys.push(IssuerKey { name: stored_name.clone(), state: KeyState::Active, changed: now });
        let detail = json!({"type": key_type.to_string()});
        let audit = crate::store::AuditEntry::now("key-create", &stored_name, Some(detail));
        save_issuer_keys(store, &keys, &audit)?;
    }
    list_keys(store, settings)?
        .into_iter()
        .find(|k| k.name == stored_name)
        .ok_or_else(|| ServiceError::Internal(format!("key {stored_name} vanished after it was stored")))
}

/// Key names are used in URLs (`/keys/{name}/revoke`) and did:web fragments.
fn valid_key_name(name: &str) -> Result<(), ServiceError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::bad(format!("key name {name:?}: use 1-64 letters, digits, '-', '_' or '.'")))
    }
}
