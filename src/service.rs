//! The service functions behind the HTTP API: issuing, verifying, records, profiles, DIDs.
//! Handlers parse and respond; everything they decide on happens here.

use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::dids::{self, KeyFormat, ResolveError};
use crate::issue::{self, IssueError};
use crate::keys::{KeyPair, KeyType};
use crate::model::{self, CredentialKind, FieldProblem};
use crate::proofs::{Format, ProofError, Secured};
use crate::store::{CredentialRecord, Store, StoreError};
use crate::verify::{Report, Verifier};

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

pub struct Service {
    pub store: Arc<dyn Store>,
    pub verifier: Verifier,
    admin_token_hash: [u8; 32],
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

impl Service {
    /// Opens the service on `store`, creating the issuer key and admin token on first start.
    pub fn open(
        store: Arc<dyn Store>,
        verifier: Verifier,
        admin_token: Option<&str>,
    ) -> Result<(Service, Bootstrap), ServiceError> {
        let issuer = match store.get(ISSUER_KEY) {
            Ok(key) => key,
            Err(crate::keys::KeyError::NotFound(_)) => {
                let key = KeyPair::generate(KeyType::Ed25519)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                store
                    .put(ISSUER_KEY, &key)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
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
                    .ok_or_else(|| {
                        ServiceError::Internal("stored admin token hash is corrupt".into())
                    })?,
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
        let service = Service {
            store,
            verifier,
            admin_token_hash,
        };
        Ok((
            service,
            Bootstrap {
                issuer_did: issuer.did(),
                generated_token,
            },
        ))
    }

    /// Constant-time check of a bearer token.
    pub fn authorized(&self, token: &str) -> bool {
        let presented = sha256(token.as_bytes());
        presented
            .iter()
            .zip(self.admin_token_hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    pub fn issuer_key(&self) -> Result<KeyPair, ServiceError> {
        self.store
            .get(ISSUER_KEY)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    fn key_for(&self, format: Format, requested: Option<&str>) -> Result<KeyPair, ServiceError> {
        if let Some(name) = requested {
            return self
                .store
                .find(name)
                .map_err(|_| ServiceError::bad(format!("no key named {name:?}")));
        }
        if format != Format::EcdsaRdfc2019 {
            return self.issuer_key();
        }
        match self.store.get(ISSUER_P256_KEY) {
            Ok(key) => Ok(key),
            Err(_) => {
                let key = KeyPair::generate(KeyType::P256)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                match self.store.put(ISSUER_P256_KEY, &key) {
                    Ok(_) => Ok(key),
                    // Another request created it first.
                    Err(_) => self
                        .store
                        .get(ISSUER_P256_KEY)
                        .map_err(|e| ServiceError::Internal(e.to_string())),
                }
            }
        }
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
        let body = body
            .as_object()
            .ok_or_else(|| ServiceError::bad("the request body must be a JSON object"))?;
        let mut credential = match (body.get("credential"), body.get("verifiableCredential")) {
            (Some(Value::Object(c)), _) => Value::Object(c.clone()),
            (Some(_), _) => return Err(ServiceError::bad("\"credential\" must be a JSON object")),
            (None, Some(_)) => {
                return Err(ServiceError::bad(
                    "send the credential to issue as \"credential\", not \"verifiableCredential\"",
                ))
            }
            (None, None) => {
                return Err(ServiceError::bad(
                    "the request has no \"credential\" to issue",
                ))
            }
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
                Some(_) => Err(ServiceError::bad(format!(
                    "options.{name} must be a string"
                ))),
            }
        };
        let format: Format = option_str("format")?
            .unwrap_or("di")
            .parse()
            .map_err(ServiceError::bad)?;
        let key = self.key_for(format, option_str("key")?)?;
        if let Some(id) = option_str("credentialId")? {
            credential["id"] = json!(id);
        }
        let did = key.did();
        let kind = model::credential_kind(&credential);
        match credential.get("issuer") {
            None => {
                credential["issuer"] = if kind == CredentialKind::Other {
                    json!(did)
                } else {
                    Value::Object(self.issuer_profile(&did)?)
                };
            }
            Some(Value::Object(profile)) if !profile.contains_key("id") => {
                let mut filled = self.issuer_profile(&did)?;
                filled.extend(profile.clone());
                credential["issuer"] = Value::Object(filled);
            }
            _ => {}
        }
        let issued = issue::issue_full(credential, &key, format).await?;
        let id = issued
            .credential
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
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
            status: None,
        };
        self.store.insert_credential(&record)?;
        Ok(record)
    }

    /// VC-API verify: `{verifiableCredential, options}` -> the report.
    pub async fn verify(&self, body: &Value) -> Result<Report, ServiceError> {
        let body = body
            .as_object()
            .ok_or_else(|| ServiceError::bad("the request body must be a JSON object"))?;
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
        let body = body
            .as_object()
            .ok_or_else(|| ServiceError::bad("a profile must be a JSON object"))?;
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
            return Err(ServiceError::BadRequest(
                "the profile is invalid".into(),
                problems,
            ));
        }
        let did = self.issuer_key()?.did();
        let id = body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(&did)
            .to_string();
        let keys: Vec<String> = self
            .store
            .list()
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .into_iter()
            .map(|k| k.did)
            .collect();
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
        for info in self
            .store
            .list()
            .map_err(|e| ServiceError::Internal(e.to_string()))?
        {
            let key = self
                .store
                .get(&info.name)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let mut jwk = key.public_key().to_jwk();
            jwk.insert("kid".into(), json!(info.verification_method));
            jwk.insert("use".into(), json!("sig"));
            jwk.insert(
                "alg".into(),
                json!(match info.key_type {
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

/// A DID resolution result (W3C DID Resolution), or the error code and HTTP status for it.
pub fn resolve_did(did: &str, public_key_format: Option<&str>) -> Result<Value, (u16, Value)> {
    let error = |status: u16, code: &str, message: String| {
        (
            status,
            json!({
                "@context": "https://w3id.org/did-resolution/v1",
                "didDocument": null,
                "didDocumentMetadata": {},
                "didResolutionMetadata": {"error": code, "errorMessage": message}
            }),
        )
    };
    let format = match public_key_format {
        None | Some("Multikey") => KeyFormat::Multikey,
        Some("JsonWebKey2020") | Some("JsonWebKey") => KeyFormat::JsonWebKey2020,
        Some("Ed25519VerificationKey2020") => KeyFormat::Ed25519VerificationKey2020,
        Some(other) => {
            return Err(error(
                400,
                "unsupportedPublicKeyType",
                format!("publicKeyFormat {other:?} is not supported"),
            ))
        }
    };
    match dids::resolve_computed(did, format) {
        Ok(document) => Ok(json!({
            "@context": "https://w3id.org/did-resolution/v1",
            "didDocument": document,
            "didDocumentMetadata": {},
            "didResolutionMetadata": {"contentType": "application/did+ld+json"}
        })),
        Err(e) => {
            let status = match e {
                ResolveError::MethodNotSupported(_) => 501,
                ResolveError::Offline(_) | ResolveError::MethodNotFound(_) => 404,
                _ => 400,
            };
            Err(error(status, e.code(), e.to_string()))
        }
    }
}
