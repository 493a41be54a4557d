//! The service functions behind the HTTP API: issuing, verifying, records, profiles, DIDs.
//! Handlers parse and respond; everything they decide on happens here.
//!
//! Owns: every operation the edges offer and the rules they apply. May use: everything in layers
//! 0-2 (`credential`, `status`, `did`, `jsonld`, `fetch`, `store`, `keys`, `codec`). Used by:
//! `http`, `cli`. It knows no HTTP types and no command-line types.

use std::sync::Arc;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::credential::issue::{self, IssueError};
use crate::credential::model::{self, CredentialKind, FieldProblem};
use crate::credential::proofs::{Format, ProofError, Secured};
use crate::credential::verify::{Report, Verifier};
use crate::did::{self, KeyFormat, ResolveError};
use crate::keys::{KeyPair, KeyType};
use crate::store::{CredentialRecord, Store, StoreError};

/// Name of the Ed25519 issuer key created on first start.
pub const ISSUER_KEY: &str = "issuer";
/// Name of the P-256 key made the first time an ecdsa-rdfc-2019 credential is requested.
pub const ISSUER_P256_KEY: &str = "issuer-p256";
const ADMIN_TOKEN_HASH: &str = "admin_token_sha256";

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    BadRequest(String, Vec<FieldProblem>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    fn bad(detail: impl Into<String>) -> ServiceError {
        ServiceError::BadRequest(detail.into(), vec![])
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(_) => ServiceError::Conflict(e.to_string()),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<IssueError> for ServiceError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Invalid(problems) => {
                ServiceError::BadRequest("the credential is invalid".into(), problems)
            }
            IssueError::NotIssuer { .. } => ServiceError::bad(e.to_string()),
            IssueError::Proof(ProofError::Transformation(t)) => ServiceError::bad(t.to_string()),
            IssueError::Proof(p) => ServiceError::bad(p.to_string()),
        }
    }
}

/// What a first start created, for the operator.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub issuer_did: String,
    /// Set only when a token was generated on this start.
    pub generated_token: Option<String>,
}

/// Settings the service functions need.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Public base URL (status list URLs are built from it), without a trailing slash.
    pub base_url: String,
    /// Entries per status list (at least the spec's 131 072).
    pub status_list_size: u32,
    /// `ttl` of status list credentials, in milliseconds.
    pub status_ttl_ms: u64,
    /// The issuer's did:web DID, when it has one; its keys are then `<did>#<key name>`.
    pub did_web: Option<String>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            base_url: "http://127.0.0.1:8080".into(),
            status_list_size: crate::status::MIN_LIST_ENTRIES as u32,
            status_ttl_ms: 300_000,
            did_web: None,
        }
    }
}

pub struct Service {
    pub store: Arc<dyn Store>,
    pub verifier: Verifier,
    pub settings: ServiceSettings,
    pub challenges: crate::credential::presentation::ChallengeRegistry,
    admin_token_hash: [u8; 32],
    /// Parsed signing keys by name. A name's key material never changes, so this never goes
    /// stale; which keys are active is still read from the store on every issue.
    parsed_keys: std::sync::Mutex<std::collections::HashMap<String, KeyPair>>,
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

impl Service {
    /// Opens the service on `store`, creating the issuer key and admin token on first start.
    pub fn open(
        store: Arc<dyn Store>,
        verifier: Verifier,
        settings: ServiceSettings,
        admin_token: Option<&str>,
    ) -> Result<(Service, Bootstrap), ServiceError> {
        let issuer = match store.get(ISSUER_KEY) {
            Ok(key) => key,
            Err(crate::keys::KeyError::NotFound(_)) => {
                let key =
                    KeyPair::generate(KeyType::Ed25519).map_err(|e| ServiceError::Internal(e.to_string()))?;
                store.put(ISSUER_KEY, &key).map_err(|e| ServiceError::Internal(e.to_string()))?;
                key
            }
            Err(e) => return Err(ServiceError::Internal(e.to_string())),
        };
        let mut generated_token = None;
        let admin_token_hash = match admin_token {
            Some(token) => sha256(token.as_bytes()),
            None => match store.get_meta(ADMIN_TOKEN_HASH)? {
                Some(hex_hash) => hex::decode(&hex_hash)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| ServiceError::Internal("stored admin token hash is corrupt".into()))?,
                None => {
                    let mut bytes = [0u8; 32];
                    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
                    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
                    let hash = sha256(token.as_bytes());
                    store.put_meta(ADMIN_TOKEN_HASH, &hex::encode(hash))?;
                    generated_token = Some(token);
                    hash
                }
            },
        };
        let mut verifier = verifier;
        verifier.resolver = Arc::new(OwnStatusLists {
            store: store.clone(),
            settings: settings.clone(),
            inner: verifier.resolver.clone(),
        });
        let challenges = crate::credential::presentation::ChallengeRegistry::new(
            std::time::Duration::from_secs(300),
            100_000,
        );
        let service = Service {
            store,
            verifier,
            settings,
            challenges,
            admin_token_hash,
            parsed_keys: Default::default(),
        };
        if service.store.get_meta(ISSUER_KEYS)?.is_none() {
            let keys = issuer_keys(service.store.as_ref())?;
            save_issuer_keys(
                service.store.as_ref(),
                &keys,
                &crate::store::AuditEntry::now("key-create", ISSUER_KEY, None),
            )?;
        }
        let issuer_did = with_identity(&service.settings, ISSUER_KEY, issuer).did();
        Ok((service, Bootstrap { issuer_did, generated_token }))
    }

    /// Constant-time check of a bearer token.
    pub fn authorized(&self, token: &str) -> bool {
        let presented = sha256(token.as_bytes());
        presented.iter().zip(self.admin_token_hash.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    /// The active Ed25519 signing key.
    pub fn issuer_key(&self) -> Result<KeyPair, ServiceError> {
        active_key_with(self.store.as_ref(), KeyType::Ed25519, |name| self.parsed_key(name))?
            .map(|(_, key)| key)
            .ok_or_else(|| ServiceError::Internal("no active Ed25519 issuer key".into()))
    }

    /// The key that signs a request, with its store name (status lists are kept per key).
    /// A stored key with its identity, parsed once.
    fn parsed_key(&self, name: &str) -> Result<KeyPair, ServiceError> {
        if let Some(key) = self.parsed_keys.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(key.clone());
        }
        let key = load_key(self.store.as_ref(), &self.settings, name)?;
        self.parsed_keys.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), key.clone());
        Ok(key)
    }

    fn key_for(&self, format: Format, requested: Option<&str>) -> Result<(String, KeyPair), ServiceError> {
        let store = self.store.as_ref();
        if let Some(name) = requested {
            return match issuer_keys(store)?.iter().find(|k| k.name == name) {
                Some(k) if k.state != KeyState::Active => Err(ServiceError::bad(
                    format!("key {name:?} is {:?} and signs nothing new", k.state).to_lowercase(),
                )),
                _ => store
                    .get(name)
                    .map(|key| (name.to_string(), with_identity(&self.settings, name, key)))
                    .map_err(|_| ServiceError::bad(format!("no key named {name:?}"))),
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
        let stored = store.get(ISSUER_P256_KEY).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok((ISSUER_P256_KEY.to_string(), with_identity(&self.settings, ISSUER_P256_KEY, stored)))
    }

    /// The issuer as it appears in credentials: the stored profile for the DID, if any.
    fn issuer_profile(&self, did: &str) -> Result<Map<String, Value>, ServiceError> {
        let mut profile = self.store.get_profile(did)?.unwrap_or_default();
        profile.insert("id".into(), json!(did));
        profile.entry("type").or_insert_with(|| json!(["Profile"]));
        Ok(profile)
    }

    /// VC-API issue: `{credential, options}` -> the stored record of the signed credential.
    pub async fn issue(&self, body: &Value) -> Result<CredentialRecord, ServiceError> {
        let body =
            body.as_object().ok_or_else(|| ServiceError::bad("the request body must be a JSON object"))?;
        let mut credential = match (body.get("credential"), body.get("verifiableCredential")) {
            (Some(Value::Object(c)), _) => Value::Object(c.clone()),
            (Some(_), _) => return Err(ServiceError::bad("\"credential\" must be a JSON object")),
            (None, Some(_)) => {
                return Err(ServiceError::bad(
                    "send the credential to issue as \"credential\", not \"verifiableCredential\"",
                ))
            }
            (None, None) => return Err(ServiceError::bad("the request has no \"credential\" to issue")),
        };
        let options = match body.get("options") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(o)) => o.clone(),
            Some(_) => return Err(ServiceError::bad("\"options\" must be a JSON object")),
        };
        let option_str = |name: &str| -> Result<Option<&str>, ServiceError> {
            match options.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(ServiceError::bad(format!("options.{name} must be a string"))),
            }
        };
        let format: Format = option_str("format")?.unwrap_or("di").parse().map_err(ServiceError::bad)?;
        let (key_name, key) = self.key_for(format, option_str("key")?)?;
        if let Some(id) = option_str("credentialId")? {
            credential["id"] = json!(id);
        }
        let did = key.did();
        let kind = model::credential_kind(&credential);
        match credential.get("issuer") {
            None => {
                // The W3C VC-API issuer suite requires a missing issuer to be an error; an
                // issuer object without an id ({} or a Profile) asks the server to fill it in.
                return Err(ServiceError::BadRequest(
                    "the credential has no issuer".into(),
                    vec![FieldProblem {
                        path: "$.issuer".into(),
                        message: "\"issuer\" is required; send {} or a Profile without \"id\" to have the server fill in its own".into(),
                    }],
                ));
            }
            Some(Value::Object(profile)) if !profile.contains_key("id") => {
                let filled = if kind == CredentialKind::Other {
                    let mut object = profile.clone();
                    object.insert("id".into(), json!(did));
                    object
                } else {
                    let mut object = self.issuer_profile(&did)?;
                    object.extend(profile.clone());
                    object.insert("id".into(), json!(did));
                    object
                };
                credential["issuer"] = Value::Object(filled);
            }
            _ => {}
        }
        issue::complete(&mut credential, &did);
        let opted_out = options.get("credentialStatus") == Some(&Value::Bool(false));
        let status_entries =
            if credential.get("credentialStatus").is_some() || key.key_type() == KeyType::Rsa || opted_out {
                // The issuer manages its own status, asked for none, or the key cannot sign a
                // Data Integrity list.
                None
            } else {
                let legacy = credential.pointer("/@context/0").and_then(Value::as_str)
                    == Some(crate::jsonld::contexts::CREDENTIALS_V1);
                let purposes = status_purposes(&options, legacy)?;
                let id = credential.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                (!purposes.is_empty())
                    .then(|| self.attach_status(&mut credential, &key_name, &purposes, &id))
                    .transpose()?
            };
        let issued = issue::issue_full(credential, &key, format).await?;
        let id = issued.credential.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let recipient = issued
            .credential
            .pointer("/credentialSubject/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                issued
                    .credential
                    .pointer("/credentialSubject/identifier/0/identityHash")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        let format_name = match (&issued.secured, format) {
            (Secured::Jwt(_), _) => format!(
                "jwt-{}",
                match key.key_type() {
                    KeyType::Ed25519 => "eddsa",
                    KeyType::P256 => "es256",
                    KeyType::Rsa => "rs256",
                }
            ),
            (_, Format::EcdsaRdfc2019) => "ecdsa-rdfc-2019".to_string(),
            _ => "eddsa-rdfc-2022".to_string(),
        };
        let record = CredentialRecord {
            id,
            issued_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            format: format_name,
            issuer: did,
            recipient,
            credential: issued.secured.to_json_value(),
            status: status_entries,
        };
        durable(|| self.store.insert_credential(&record))?;
        Ok(record)
    }

    /// Allocates an index per purpose and adds `credentialStatus`. The allocation becomes
    /// durable with the credential record, before the credential is returned.
    fn attach_status(
        &self,
        credential: &mut Value,
        key_name: &str,
        purposes: &[String],
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
            entries.push(json!({
                "id": format!("{list_url}#{index}"),
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListIndex": index.to_string(),
                "statusListCredential": list_url,
            }));
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

    /// VC-API status update: `{credentialId, credentialStatus: {type, statusPurpose}, status}`.
    pub fn update_status(&self, body: &Value) -> Result<Value, ServiceError> {
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
        set_status(self.store.as_ref(), credential_id, &purpose, value)
    }

    /// The signed BitstringStatusListCredential for `list_id`, re-signed only when bits changed.
    pub async fn status_list_credential(&self, list_id: &str) -> Result<Value, ServiceError> {
        signed_status_list(self.store.as_ref(), &self.settings, list_id).await
    }

    /// Registers the badge image for `key` (`issuer` or an achievement id).
    pub fn put_image(
        &self,
        key: &str,
        content_type: Option<&str>,
        bytes: &[u8],
    ) -> Result<Value, ServiceError> {
        if bytes.len() > crate::credential::baking::MAX_IMAGE_BYTES {
            return Err(ServiceError::bad(format!(
                "images are limited to {} bytes",
                crate::credential::baking::MAX_IMAGE_BYTES
            )));
        }
        let format = crate::credential::baking::detect(bytes)
            .ok_or_else(|| ServiceError::bad("the body is not a PNG or SVG image"))?;
        if let Some(declared) = content_type {
            if !declared.starts_with(format.content_type()) {
                return Err(ServiceError::bad(format!(
                    "the body is {} but Content-Type says {declared}",
                    format.content_type()
                )));
            }
        }
        // A broken image is refused now rather than at baking time.
        match crate::credential::baking::extract(bytes) {
            Ok(_) | Err(crate::credential::baking::BakeError::NoCredential) => {}
            Err(e) => return Err(ServiceError::bad(format!("the image is not usable: {e}"))),
        }
        self.store.put_image(key, format.content_type(), bytes)?;
        Ok(json!({"key": key, "contentType": format.content_type(), "bytes": bytes.len()}))
    }

    /// The issued credential baked into its achievement's image (or the issuer's, or the default).
    pub fn baked_badge(
        &self,
        id: &str,
        format: crate::credential::baking::ImageFormat,
    ) -> Result<Vec<u8>, ServiceError> {
        let record = self.credential(id)?;
        let credential = match &record.credential {
            Value::String(jwt) => jwt.clone(),
            other => serde_json::to_string(other).unwrap_or_default(),
        };
        let achievement = match &record.credential {
            Value::Object(_) => record
                .credential
                .pointer("/credentialSubject/achievement/id")
                .and_then(Value::as_str)
                .map(str::to_string),
            Value::String(jwt) => crate::credential::proofs::decode_jwt(jwt, "vc").ok().and_then(|d| {
                d.credential
                    .pointer("/credentialSubject/achievement/id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
            _ => None,
        };
        let mut image = None;
        for key in achievement.iter().map(String::as_str).chain(["issuer"]) {
            if let Some((content_type, bytes)) = self.store.get_image(key)? {
                if content_type == format.content_type() {
                    image = Some(bytes);
                    break;
                }
            }
        }
        let image = image.unwrap_or_else(|| crate::credential::baking::default_image(format));
        let (_, baked) = crate::credential::baking::bake(&image, &credential)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(baked)
    }

    /// A fresh single-use challenge for a presentation.
    pub fn challenge(&self) -> Result<Value, ServiceError> {
        let (challenge, expires) = self
            .challenges
            .issue()
            .ok_or_else(|| ServiceError::Internal("too many outstanding challenges".into()))?;
        Ok(
            json!({"challenge": challenge, "expires": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
        )
    }

    /// VC-API presentation verify: `{verifiablePresentation, options: {challenge, domain}}`.
    pub async fn verify_presentation(
        &self,
        body: &Value,
    ) -> Result<crate::credential::presentation::PresentationReport, ServiceError> {
        let body =
            body.as_object().ok_or_else(|| ServiceError::bad("the request body must be a JSON object"))?;
        let presentation = body
            .get("verifiablePresentation")
            .ok_or_else(|| ServiceError::bad("the request has no \"verifiablePresentation\""))?;
        let options = match body.get("options") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(o)) => o.clone(),
            Some(_) => return Err(ServiceError::bad("\"options\" must be a JSON object")),
        };
        let text = |name: &str| -> Result<Option<String>, ServiceError> {
            match options.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ServiceError::bad(format!("options.{name} must be a string"))),
            }
        };
        let expected = crate::credential::presentation::PresentationOptions {
            challenge: text("challenge")?,
            domain: text("domain")?,
            recipient_identifier: text("recipientIdentifier")?,
        };
        Ok(self.verifier.verify_presentation(presentation, &expected, Some(&self.challenges)).await)
    }

    /// VC-API verify: `{verifiableCredential, options}` -> the report.
    pub async fn verify(&self, body: &Value) -> Result<Report, ServiceError> {
        let body =
            body.as_object().ok_or_else(|| ServiceError::bad("the request body must be a JSON object"))?;
        let credential = body
            .get("verifiableCredential")
            .ok_or_else(|| ServiceError::bad("the request has no \"verifiableCredential\""))?;
        if let Some(options) = body.get("options") {
            if !options.is_object() && !options.is_null() {
                return Err(ServiceError::bad("\"options\" must be a JSON object"));
            }
        }
        Ok(self.verifier.verify_value(credential).await)
    }

    pub fn credential(&self, id: &str) -> Result<CredentialRecord, ServiceError> {
        self.store
            .get_credential(id)?
            .ok_or_else(|| ServiceError::NotFound(format!("no credential with id {id:?}")))
    }

    pub fn credentials(&self, offset: usize, limit: usize) -> Result<Value, ServiceError> {
        let (records, total) = self.store.list_credentials(offset, limit)?;
        Ok(json!({"total": total, "offset": offset, "limit": limit, "credentials": records}))
    }

    /// Stores issuer profile data; `id` defaults to the issuer DID.
    pub fn put_profile(&self, body: &Value) -> Result<Map<String, Value>, ServiceError> {
        let body = body.as_object().ok_or_else(|| ServiceError::bad("a profile must be a JSON object"))?;
        let mut problems = Vec::new();
        for (name, value) in body {
            match name.as_str() {
                "id" | "name" | "url" | "email" | "description" | "phone" => {
                    if !value.is_string() {
                        problems.push(FieldProblem {
                            path: format!("$.{name}"),
                            message: format!("\"{name}\" must be a string"),
                        });
                    }
                }
                "image" => {
                    let ok = value.is_string() || value.get("id").and_then(Value::as_str).is_some();
                    if !ok {
                        problems.push(FieldProblem {
                            path: "$.image".into(),
                            message: "\"image\" must be a URL or an Image object with an id".into(),
                        });
                    }
                }
                "type" => {}
                other => problems.push(FieldProblem {
                    path: format!("$.{other}"),
                    message: format!("unknown profile property \"{other}\""),
                }),
            }
        }
        if !problems.is_empty() {
            return Err(ServiceError::BadRequest("the profile is invalid".into(), problems));
        }
        let did = self.issuer_key()?.did();
        let id = body.get("id").and_then(Value::as_str).unwrap_or(&did).to_string();
        let mut keys = Vec::new();
        for entry in issuer_keys(self.store.as_ref())? {
            keys.push(load_key(self.store.as_ref(), &self.settings, &entry.name)?.did());
        }
        if !keys.contains(&id) {
            return Err(ServiceError::bad(format!(
                "profiles describe this server's issuer DIDs; {id} is not one"
            )));
        }
        let mut profile = body.clone();
        profile.insert("id".into(), json!(id));
        profile.insert("type".into(), json!(["Profile"]));
        if let Some(Value::String(url)) = profile.get("image").cloned() {
            profile.insert("image".into(), json!({"id": url, "type": "Image"}));
        }
        self.store.put_profile(&id, &profile)?;
        Ok(profile)
    }

    pub fn profile(&self, id: &str) -> Result<Map<String, Value>, ServiceError> {
        self.store
            .get_profile(id)?
            .ok_or_else(|| ServiceError::NotFound(format!("no profile with id {id:?}")))
    }

    /// The issuer's public keys as a JWK set (OB 3.0 JWT key provenance).
    pub fn jwks(&self) -> Result<Value, ServiceError> {
        let mut keys = Vec::new();
        for entry in issuer_keys(self.store.as_ref())?.into_iter().filter(|k| k.state != KeyState::Revoked) {
            let key = load_key(self.store.as_ref(), &self.settings, &entry.name)?;
            let mut jwk = key.public_key().to_jwk();
            jwk.insert("kid".into(), json!(key.verification_method()));
            jwk.insert("use".into(), json!("sig"));
            jwk.insert(
                "alg".into(),
                json!(match key.key_type() {
                    KeyType::Ed25519 => "EdDSA",
                    KeyType::P256 => "ES256",
                    KeyType::Rsa => "RS256",
                }),
            );
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

const ISSUER_KEYS: &str = "issuer_keys";

/// The issuer keys and their states (the first start's key is `issuer`, active).
/// Runs a store call that may block (waiting for the disk or a lock). On the multi-threaded runtime the worker hands
/// its other tasks on while it waits, so concurrent requests keep running and their writes can
/// share one sync (the store's group commit).
fn durable<T>(write: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(write)
        }
        _ => write(),
    }
}

pub fn issuer_keys(store: &dyn Store) -> Result<Vec<IssuerKey>, ServiceError> {
    match store.get_meta(ISSUER_KEYS)? {
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| ServiceError::Internal(format!("issuer key states: {e}")))
        }
        None => {
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let mut keys = Vec::new();
            for name in [ISSUER_KEY, ISSUER_P256_KEY] {
                if store.get(name).is_ok() {
                    keys.push(IssuerKey { name: name.into(), state: KeyState::Active, changed: now.clone() });
                }
            }
            Ok(keys)
        }
    }
}

fn save_issuer_keys(
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

fn load_key(store: &dyn Store, settings: &ServiceSettings, name: &str) -> Result<KeyPair, ServiceError> {
    let key = store.get(name).map_err(|e| ServiceError::Internal(format!("key {name}: {e}")))?;
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
fn active_key_with(
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

/// The signed BitstringStatusListCredential for `list_id`, re-signed only when bits changed.
pub async fn signed_status_list(
    store: &dyn Store,
    settings: &ServiceSettings,
    list_id: &str,
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
        hex::encode(hasher.finalize())
    };
    if let Some(cached) = store.cached_list_credential(list_id, &fingerprint)? {
        return Ok(cached);
    }
    let url = format!("{}/status/{}", settings.base_url, meta.id);
    let unsigned =
        crate::status::list_credential(&url, &key.did(), &meta.purpose, &bits, settings.status_ttl_ms);
    let format = if key.key_type() == KeyType::P256 { Format::EcdsaRdfc2019 } else { Format::EddsaRdfc2022 };
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
struct OwnStatusLists {
    store: Arc<dyn Store>,
    settings: ServiceSettings,
    inner: Arc<dyn crate::did::DidResolver>,
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
}

/// The status purposes requested in issue options (`statusPurposes` or `credentialStatus`).
/// VC DM 2.0 credentials get a revocation entry unless asked otherwise; VC DM 1.1 ones (whose
/// context has no Bitstring Status List terms) only when purposes are named.
fn status_purposes(options: &Map<String, Value>, legacy: bool) -> Result<Vec<String>, ServiceError> {
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
        if !matches!(p.as_str(), "revocation" | "suspension") {
            return Err(ServiceError::bad(format!(
                "status purpose {p:?} is not supported (revocation, suspension)"
            )));
        }
    }
    Ok(purposes)
}

/// Sets or clears a credential's status bit for `purpose` (HTTP and CLI both call this).
pub fn set_status(
    store: &dyn Store,
    credential_id: &str,
    purpose: &str,
    value: bool,
) -> Result<Value, ServiceError> {
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
