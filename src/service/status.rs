//! Status: status entries on issue, flips (`POST /credentials/status`, `laurel status`), and the
//! signed status list credentials the service serves (also to its own verifier).

use super::*;

impl Service {
    /// Allocates an index per purpose and adds `credentialStatus`. The allocation becomes
    /// durable with the credential record, before the credential is returned.
    pub(super) fn attach_status(
        &self,
        credential: &mut Value,
        key_name: &str,
        purposes: &[String],
        message_fields: &Map<String, Value>,
        credential_id: &str,
    ) -> Result<Value, ServiceError> {
        let mut entries = Vec::new();
        for purpose in purposes {
            // Serialized across requests (and sled may wait on its log buffers): measured faster
            // off the two async workers than on them.
            let (list, index) = durable(|| {
                self.store.allocate_status_index(
                    key_name,
                    purpose,
                    self.settings.status_list_size,
                    credential_id,
                )
            })?;
            let list_url = format!("{}/status/{}", self.settings.base_url, list.id);
            let mut entry = json!({
                "id": format!("{list_url}#{index}"),
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListIndex": index.to_string(),
                "statusListCredential": list_url,
            });
            if purpose == "message" {
                if let Value::Object(entry) = &mut entry {
                    entry.extend(message_fields.clone());
                }
            }
            entries.push(entry);
        }
        let value = if entries.len() == 1 { entries.remove(0) } else { Value::Array(entries) };
        if let Some(Value::Array(contexts)) = credential.get_mut("@context") {
            let legacy =
                contexts.first().and_then(Value::as_str) == Some(crate::jsonld::contexts::CREDENTIALS_V1);
            if legacy
                && !contexts.iter().any(|c| c.as_str() == Some(crate::jsonld::contexts::BITSTRING_STATUS_V1))
            {
                contexts.push(json!(crate::jsonld::contexts::BITSTRING_STATUS_V1));
            }
        }
        credential["credentialStatus"] = value.clone();
        Ok(value)
    }

    /// Applies a status update (`POST /credentials/status` reads one with
    /// [`StatusUpdate::from_json`]).
    pub fn update_status(&self, update: &StatusUpdate) -> Result<Value, ServiceError> {
        set_status(self.store.as_ref(), update)
    }

    /// The signed BitstringStatusListCredential for `list_id`, re-signed only when bits changed.
    pub async fn status_list_credential(&self, list_id: &str, form: ListForm) -> Result<Value, ServiceError> {
        signed_status_list_as(self.store.as_ref(), &self.settings, list_id, form).await
    }
}

/// How a status list credential is secured: with a Data Integrity proof (the default), or as a
/// JWT (OB 3.0 §8.2 form) for verifiers that check JWT-secured lists only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListForm {
    #[default]
    DataIntegrity,
    /// A compact JWT, as a JSON string.
    Jwt,
}

/// The signed BitstringStatusListCredential for `list_id` with a Data Integrity proof.
pub async fn signed_status_list(
    store: &dyn Store,
    settings: &ServiceSettings,
    list_id: &str,
) -> Result<Value, ServiceError> {
    signed_status_list_as(store, settings, list_id, ListForm::DataIntegrity).await
}

/// The signed BitstringStatusListCredential for `list_id` in `form`, re-signed only when bits
/// changed.
pub async fn signed_status_list_as(
    store: &dyn Store,
    settings: &ServiceSettings,
    list_id: &str,
    form: ListForm,
) -> Result<Value, ServiceError> {
    let (meta, bits) = store
        .status_list(list_id)?
        .ok_or_else(|| ServiceError::NotFound(format!("no status list {list_id:?}")))?;
    // A did:web issuer signs its lists with its current key (same DID); a did:key list can only
    // be signed by the key it belongs to.
    let key = match &settings.did_web {
        Some(_) => match active_key(store, settings, KeyType::Ed25519)? {
            Some((_, key)) => key,
            None => load_key(store, settings, &meta.key)?,
        },
        None => load_key(store, settings, &meta.key)?,
    };
    // The cache is keyed by what the list says and who signs it, read just now: a list signed
    // from other bits (before the latest flip, or by a key since rotated out) is never served.
    let fingerprint = {
        let mut hasher = Sha256::new();
        hasher.update(key.verification_method().as_bytes());
        hasher.update([0]);
        hasher.update(settings.base_url.as_bytes());
        hasher.update([0]);
        hasher.update(&bits);
        if form == ListForm::Jwt {
            hasher.update(b"\0jwt");
        }
        hex::encode(hasher.finalize())
    };
    if let Some(cached) = store.cached_list_credential(list_id, &fingerprint)? {
        return Ok(cached);
    }
    let url = format!("{}/status/{}", settings.base_url, meta.id);
    let unsigned =
        crate::status::list_credential(&url, &key.did(), &meta.purpose, &bits, settings.status_ttl_ms);
    let format = match form {
        ListForm::Jwt => Format::Jwt,
        ListForm::DataIntegrity if key.key_type() == KeyType::P256 => Format::EcdsaRdfc2019,
        ListForm::DataIntegrity => Format::EddsaRdfc2022,
    };
    let signed = format
        .signer()
        .sign(&unsigned, &key, &crate::credential::proofs::SignOptions::default())
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .to_json_value();
    store.cache_list_credential(list_id, &fingerprint, &signed)?;
    Ok(signed)
}

/// The service's resolver: its own status lists come straight from the store (always current,
/// no HTTP round trip to itself); everything else goes to the configured resolver.
pub(super) struct OwnStatusLists {
    pub(super) store: Arc<dyn Store>,
    pub(super) settings: ServiceSettings,
    pub(super) inner: Arc<dyn crate::did::DidResolver>,
}

#[async_trait::async_trait]
impl crate::did::DidResolver for OwnStatusLists {
    async fn resolve(&self, did: &str) -> Result<Value, ResolveError> {
        self.inner.resolve(did).await
    }

    async fn fetch(&self, url: &str) -> Result<crate::fetch::Fetched, ResolveError> {
        let prefix = format!("{}/status/", self.settings.base_url);
        if let Some(list_id) = url.strip_prefix(&prefix) {
            if let Ok(document) = signed_status_list(self.store.as_ref(), &self.settings, list_id).await {
                return Ok(crate::fetch::Fetched {
                    document,
                    fetched_at: chrono::Utc::now(),
                    source: "local",
                });
            }
        }
        self.inner.fetch(url).await
    }

    async fn fetch_bytes(&self, url: &str) -> Result<Vec<u8>, ResolveError> {
        self.inner.fetch_bytes(url).await
    }
}

/// The status purposes requested in issue options (`statusPurposes` or `credentialStatus`).
/// VC DM 2.0 credentials get a revocation entry unless asked otherwise; VC DM 1.1 ones (whose
/// context has no Bitstring Status List terms) only when purposes are named.
pub(super) fn status_purposes(
    options: &Map<String, Value>,
    legacy: bool,
) -> Result<Vec<String>, ServiceError> {
    let mut purposes = Vec::new();
    let named = options.contains_key("statusPurposes")
        || options.get("credentialStatus").is_some_and(Value::is_object);
    match options.get("statusPurposes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for p in list {
                purposes.push(
                    p.as_str()
                        .ok_or_else(|| ServiceError::bad("options.statusPurposes must be strings"))?
                        .to_string(),
                );
            }
        }
        Some(_) => return Err(ServiceError::bad("options.statusPurposes must be an array")),
    }
    if let Some(status) = options.get("credentialStatus") {
        let status = status
            .as_object()
            .ok_or_else(|| ServiceError::bad("options.credentialStatus must be an object"))?;
        if let Some(t) = status.get("type") {
            if t != "BitstringStatusListEntry" {
                return Err(ServiceError::bad(
                    "options.credentialStatus.type must be BitstringStatusListEntry",
                ));
            }
        }
        if let Some(p) = status.get("statusPurpose").and_then(Value::as_str) {
            purposes.push(p.to_string());
        }
    }
    if purposes.is_empty() && !named && !legacy {
        purposes.push("revocation".into());
    }
    purposes.dedup();
    for p in &purposes {
        if !matches!(p.as_str(), "revocation" | "suspension" | "message") {
            return Err(ServiceError::bad(format!(
                "status purpose {p:?} is not supported (revocation, suspension, message)"
            )));
        }
    }
    Ok(purposes)
}

/// The fields a `message` entry carries (Bitstring Status List §2.1): `statusSize` 1, the
/// `statusMessage` for both values of its bit, and `statusReference` if given. Read from
/// `statusMessage`/`statusReference` in the options or in `options.credentialStatus`. A message
/// status means nothing without its messages, so they are required.
pub(super) fn message_entry_fields(
    options: &Map<String, Value>,
    purposes: &[String],
) -> Result<Map<String, Value>, ServiceError> {
    let entry = options.get("credentialStatus").and_then(Value::as_object);
    let field = |name: &str| options.get(name).or_else(|| entry.and_then(|e| e.get(name)));
    let mut fields = Map::new();
    if !purposes.iter().any(|p| p == "message") {
        for name in ["statusMessage", "statusReference", "statusSize"] {
            if field(name).is_some() {
                return Err(ServiceError::bad(format!("{name} is only for the \"message\" status purpose")));
            }
        }
        return Ok(fields);
    }
    match field("statusSize") {
        None => {}
        Some(size) if size.as_u64() == Some(1) => {}
        Some(size) => {
            return Err(ServiceError::bad(format!(
                "statusSize {size} is not supported: Laurel's message lists hold one bit per credential (statusSize 1)"
            )))
        }
    }
    let messages = field("statusMessage").ok_or_else(|| {
        ServiceError::bad(
            "the \"message\" purpose needs statusMessage: [{\"status\": \"0x0\", \"message\": ...}, {\"status\": \"0x1\", \"message\": ...}]",
        )
    })?;
    let messages = messages.as_array().ok_or_else(|| ServiceError::bad("statusMessage must be an array"))?;
    let mut statuses = Vec::new();
    for message in messages {
        let status = message.get("status").and_then(Value::as_str);
        let text = message.get("message").and_then(Value::as_str);
        match (status, text) {
            (Some(status), Some(text)) if !text.trim().is_empty() => {
                statuses.push(status.to_ascii_lowercase())
            }
            _ => {
                return Err(ServiceError::bad(
                    "each statusMessage entry needs \"status\" (hex, 0x...) and a non-empty \"message\"",
                ))
            }
        }
    }
    statuses.sort();
    if statuses != ["0x0", "0x1"] {
        return Err(ServiceError::bad(
            "statusMessage must give exactly the values 0x0 and 0x1 (statusSize 1 has 2 values)",
        ));
    }
    if let Some(reference) = field("statusReference") {
        let urls: Vec<&Value> = match reference {
            Value::Array(list) => list.iter().collect(),
            one => vec![one],
        };
        if urls.is_empty() || !urls.iter().all(|u| u.as_str().is_some_and(|u| url::Url::parse(u).is_ok())) {
            return Err(ServiceError::bad("statusReference must be a URL or an array of URLs"));
        }
        fields.insert("statusReference".into(), reference.clone());
    }
    fields.insert("statusSize".into(), json!(1));
    fields.insert("statusMessage".into(), Value::Array(messages.clone()));
    Ok(fields)
}

/// A status change as both edges ask for it: `laurel revoke` / `laurel suspend` build one from
/// their arguments, `POST /credentials/status` reads one from its VC-API body with
/// [`StatusUpdate::from_json`]; [`set_status`] applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub credential_id: String,
    /// `revocation` or `suspension`.
    pub purpose: String,
    /// `true` sets the bit (revoked, suspended), `false` clears it.
    pub value: bool,
}

impl StatusUpdate {
    /// Reads a VC-API status update: `{credentialId, credentialStatus?: {type?, statusPurpose?},
    /// status?}`. Parsed by hand rather than by a serde derive so that each refusal keeps its
    /// message (serde would say "missing field" or "invalid type" instead).
    pub fn from_json(body: &Value) -> Result<StatusUpdate, ServiceError> {
        let credential_id = body
            .get("credentialId")
            .and_then(Value::as_str)
            .ok_or_else(|| ServiceError::bad("\"credentialId\" (a string) is required"))?;
        let purpose = match body.get("credentialStatus") {
            Some(Value::Object(status)) => {
                if let Some(t) = status.get("type") {
                    if t != "BitstringStatusListEntry" {
                        return Err(ServiceError::bad(
                            "credentialStatus.type must be BitstringStatusListEntry",
                        ));
                    }
                }
                status.get("statusPurpose").and_then(Value::as_str).unwrap_or("revocation").to_string()
            }
            None => "revocation".to_string(),
            Some(_) => return Err(ServiceError::bad("\"credentialStatus\" must be an object")),
        };
        // VC-API clients may omit `status` to mean "set".
        let value = match body.get("status") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ServiceError::bad("\"status\" must be true or false")),
        };
        Ok(StatusUpdate { credential_id: credential_id.to_string(), purpose, value })
    }
}

/// Sets or clears a credential's status bit for `purpose` (HTTP and CLI both call this).
pub fn set_status(store: &dyn Store, update: &StatusUpdate) -> Result<Value, ServiceError> {
    let (credential_id, purpose, value) =
        (update.credential_id.as_str(), update.purpose.as_str(), update.value);
    let record = store
        .get_credential(credential_id)?
        .ok_or_else(|| ServiceError::NotFound(format!("no credential with id {credential_id:?}")))?;
    let entries: Vec<Value> = match &record.status {
        Some(Value::Array(list)) => list.clone(),
        Some(one) => vec![one.clone()],
        None => vec![],
    };
    let entry = entries
        .iter()
        .find(|e| e.get("statusPurpose").and_then(Value::as_str) == Some(purpose))
        .ok_or_else(|| ServiceError::bad(format!("credential {credential_id:?} has no {purpose} status")))?;
    let list_url = entry.get("statusListCredential").and_then(Value::as_str).unwrap_or_default();
    let list_id = list_url.rsplit('/').next().unwrap_or_default();
    let index: u32 = entry
        .get("statusListIndex")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ServiceError::Internal("stored status entry is malformed".into()))?;
    if purpose == "revocation" && !value && store.status_bit(list_id, index)? {
        return Err(ServiceError::bad("revocation is final: a revoked credential cannot be reinstated"));
    }
    let action = match (purpose, value) {
        ("revocation", true) => "revoke",
        ("suspension", true) => "suspend",
        ("suspension", false) => "unsuspend",
        _ => "status",
    };
    let audit = crate::store::AuditEntry::now(
        action,
        credential_id,
        Some(json!({"list": list_id, "index": index, "purpose": purpose, "status": value})),
    );
    let previous = durable(|| store.set_status_bit(list_id, index, value, &audit))?;
    Ok(
        json!({"credentialId": credential_id, "statusPurpose": purpose, "status": value, "changed": previous != value}),
    )
}
