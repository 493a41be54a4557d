//! Credentials: issuing (`POST /credentials/issue`, `laurel issue` via the same checks),
//! verifying, the issued records, and baked badges of them.

use super::*;

impl Service {
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
}
