//! Credentials: issuing (`POST /credentials/issue` and `laurel issue`, both through
//! [`Service::issue`] with an [`IssueRequest`]), verifying, the issued records, and baked badges.

use super::*;

/// An issue request, the same for both edges: the JSON body of `POST /credentials/issue`, and
/// what `laurel issue` builds from its flags (or reads from `--request FILE`).
///
/// `{"credential": {...}, "options": {...}, "recipient": {"email": ...}}`. Unknown keys are
/// refused (a misspelt option would otherwise be silently ignored).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueRequest {
    /// The unsigned credential. Its `issuer` may be `{}` or a Profile without `id`: the server
    /// fills in its own DID and stored profile.
    pub credential: Map<String, Value>,
    #[serde(default)]
    pub options: IssueOptions,
    /// Who receives the badge, when not already named in `credentialSubject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
}

/// `options` of an issue request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueOptions {
    /// `di` (eddsa-rdfc-2022, default), `ecdsa` (ecdsa-rdfc-2019) or `jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The credential's `id` (default: a new `urn:uuid:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// Name of the stored key to sign with (default: the active key for the format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Status entries to attach: `revocation` (default), `suspension`, `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_purposes: Option<Vec<String>>,
    /// For the `message` purpose: what each value of its bit means, `[{status: "0x0", message},
    /// {status: "0x1", message}]` (Bitstring Status List `statusMessage`; `statusSize` is 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<Vec<StatusMessage>>,
    /// For the `message` purpose: a URL (or URLs) explaining the status (`statusReference`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reference: Option<Value>,
    /// `false`: no status entry; `{type: BitstringStatusListEntry, statusPurpose}`: one for that
    /// purpose (the VC-API form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_status: Option<Value>,
    /// Sign an `identifier` that carries an email address, phone number or national identity
    /// number in clear (`hashed: false`). Refused unless set: see [`Service::issue`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub publish_plain_identifier: bool,
}

/// One value of a `message` status and what it means.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatusMessage {
    /// The value as hex with `0x` (`0x0`, `0x1`).
    pub status: String,
    pub message: String,
}

/// The recipient of an issue request, added to `credentialSubject` as a salted hash.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recipient {
    /// The learner's email: signed only as `sha256$hex(email + salt)` with a random salt, so the
    /// badge does not publish the address, yet whoever knows it can check it.
    pub email: String,
}

/// Identity types that are personal contact or government data: published in clear only when
/// the issuer says so (`options.publishPlainIdentifier`).
const PRIVATE_IDENTITY_TYPES: [&str; 3] = ["emailAddress", "phoneNumber", "nationalIdentityNumber"];

impl IssueRequest {
    /// Reads a request body, with a precise message for each way it can be wrong.
    pub fn from_json(body: &Value) -> Result<IssueRequest, ServiceError> {
        let object =
            body.as_object().ok_or_else(|| ServiceError::bad("the request body must be a JSON object"))?;
        match (object.get("credential"), object.get("verifiableCredential")) {
            (Some(Value::Object(_)), _) => {}
            (Some(_), _) => return Err(ServiceError::bad("\"credential\" must be a JSON object")),
            (None, Some(_)) => {
                return Err(ServiceError::bad(
                    "send the credential to issue as \"credential\", not \"verifiableCredential\"",
                ))
            }
            (None, None) => return Err(ServiceError::bad("the request has no \"credential\" to issue")),
        }
        if let Some(unknown) =
            object.keys().find(|k| !matches!(k.as_str(), "credential" | "options" | "recipient"))
        {
            return Err(ServiceError::bad(format!(
                "unknown request member {unknown:?}: an issue request has credential, options and recipient"
            )));
        }
        // Each part is read on its own so that serde's message ("unknown field `x`, expected
        // one of ...", "invalid type: ...") can say which part it is about.
        fn part<T: serde::de::DeserializeOwned + Default>(
            object: &Map<String, Value>,
            name: &str,
        ) -> Result<T, ServiceError> {
            match object.get(name) {
                None | Some(Value::Null) => Ok(T::default()),
                Some(value @ Value::Object(_)) => serde_json::from_value(value.clone())
                    .map_err(|e| ServiceError::bad(format!("\"{name}\": {e}"))),
                Some(_) => Err(ServiceError::bad(format!("\"{name}\" must be a JSON object"))),
            }
        }
        let credential = object["credential"].as_object().cloned().unwrap_or_default();
        let options: IssueOptions = part(object, "options")?;
        let recipient = match object.get("recipient") {
            None | Some(Value::Null) => None,
            Some(_) => Some(part::<Recipient>(object, "recipient")?),
        };
        Ok(IssueRequest { credential, options, recipient })
    }
}

/// Adds `recipient.email` to the (single) subject as a salted, hashed IdentityObject.
fn add_hashed_recipient(credential: &mut Value, recipient: &Recipient) -> Result<(), ServiceError> {
    let email = recipient.email.trim();
    if email.is_empty() || !email.contains('@') || email.chars().any(char::is_whitespace) {
        return Err(ServiceError::bad(format!("recipient.email {email:?} is not an email address")));
    }
    let subject = match credential.get_mut("credentialSubject") {
        Some(Value::Object(subject)) => subject,
        Some(_) => {
            return Err(ServiceError::bad(
                "recipient needs a single credentialSubject object to add the identifier to",
            ))
        }
        None => return Err(ServiceError::bad("the credential has no credentialSubject")),
    };
    let identity = serde_json::to_value(IdentityObject::hashed("emailAddress", email))
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    match subject.get_mut("identifier") {
        None => {
            subject.insert("identifier".into(), json!([identity]));
        }
        Some(Value::Array(list)) => list.push(identity),
        Some(one) => *one = json!([one.clone(), identity]),
    }
    Ok(())
}

/// Refuses a subject identifier that publishes personal data in clear (see [`Service::issue`]).
fn refuse_plain_identifiers(credential: &Value) -> Result<(), ServiceError> {
    let subjects = model::subjects(credential);
    let mut problems = Vec::new();
    for (s, subject) in subjects.iter().enumerate() {
        let identifiers: Vec<&Value> = match subject.get("identifier") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
            None => vec![],
        };
        for (i, identifier) in identifiers.iter().enumerate() {
            let kind = identifier.get("identityType").and_then(Value::as_str).unwrap_or_default();
            if identifier.get("hashed") == Some(&Value::Bool(false)) && PRIVATE_IDENTITY_TYPES.contains(&kind)
            {
                let subject_path = if subjects.len() > 1 {
                    format!("$.credentialSubject[{s}]")
                } else {
                    "$.credentialSubject".into()
                };
                problems.push(FieldProblem {
                    path: format!("{subject_path}.identifier[{i}]"),
                    message: format!(
                        "an unhashed {kind} would be published in the badge for anyone to read; send \"recipient\": {{\"email\": ...}} (or a hashed identityHash) instead, or set options.publishPlainIdentifier to publish it"
                    ),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::BadRequest("the recipient identifier is not hashed".into(), problems))
    }
}

impl Service {
    /// Issues a credential: fills in the issuer (DID and stored profile), id, dates, recipient
    /// and status entries, checks it strictly, signs it with the active key for the format,
    /// stores it durably, and returns the record. Both edges call this.
    ///
    /// A subject `identifier` with `hashed: false` naming an email address, phone number or
    /// national identity number is refused unless `options.publishPlainIdentifier` is set: a
    /// badge is shared publicly and lives forever, so a plain address in it is a privacy leak
    /// the learner cannot undo; `recipient: {email}` hashes it instead.
    pub async fn issue(&self, request: IssueRequest) -> Result<CredentialRecord, ServiceError> {
        let record = self.sign_for_issue(request).await?;
        durable(|| self.store.insert_credential(&record))?;
        Ok(record)
    }

    /// Everything issuing does but storing the record: the caller stores it (alone, or in one
    /// write with what else must land with it, as an event's badges and its done marker).
    /// Status indices are allocated; one whose record is never stored stays unused.
    pub(super) async fn sign_for_issue(
        &self,
        request: IssueRequest,
    ) -> Result<CredentialRecord, ServiceError> {
        let IssueRequest { credential, options, recipient } = request;
        let mut credential = Value::Object(credential);
        let format: Format = options.format.as_deref().unwrap_or("di").parse().map_err(ServiceError::bad)?;
        let (key_name, key) = self.key_for(format, options.key.as_deref())?;
        if let Some(id) = &options.credential_id {
            credential["id"] = json!(id);
        }
        if let Some(recipient) = &recipient {
            add_hashed_recipient(&mut credential, recipient)?;
        }
        if !options.publish_plain_identifier {
            refuse_plain_identifiers(&credential)?;
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
        self.complete_achievement_ids(&mut credential)?;
        if kind != CredentialKind::Other {
            self.add_image_references(&mut credential)?;
        }
        // Issue strictly: a related resource whose digest is not the resource's is refused before
        // a status index is spent (one that cannot be obtained is the verifier's warning).
        let mismatched: Vec<String> =
            crate::credential::related::check(&credential, self.verifier.resolver.as_ref())
                .await
                .into_iter()
                .filter(|problem| problem.error)
                .map(|problem| problem.detail)
                .collect();
        if !mismatched.is_empty() {
            return Err(ServiceError::BadRequest(
                mismatched.join("; "),
                mismatched
                    .iter()
                    .map(|message| FieldProblem {
                        path: "$.relatedResource".into(),
                        message: message.clone(),
                    })
                    .collect(),
            ));
        }
        let mut status_options = Map::new();
        if let Some(purposes) = &options.status_purposes {
            status_options.insert("statusPurposes".into(), json!(purposes));
        }
        if let Some(status) = &options.credential_status {
            status_options.insert("credentialStatus".into(), status.clone());
        }
        if let Some(messages) = &options.status_message {
            status_options.insert("statusMessage".into(), json!(messages));
        }
        if let Some(reference) = &options.status_reference {
            status_options.insert("statusReference".into(), reference.clone());
        }
        let opted_out = options.credential_status == Some(Value::Bool(false));
        let status_entries =
            if credential.get("credentialStatus").is_some() || key.key_type() == KeyType::Rsa || opted_out {
                // The issuer manages its own status, asked for none, or the key cannot sign a
                // Data Integrity list.
                None
            } else {
                let legacy = credential.pointer("/@context/0").and_then(Value::as_str)
                    == Some(crate::jsonld::contexts::CREDENTIALS_V1);
                let purposes = status_purposes(&status_options, legacy)?;
                let message_fields = message_entry_fields(&status_options, &purposes)?;
                let id = credential.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                (!purposes.is_empty())
                    .then(|| self.attach_status(&mut credential, &key_name, &purposes, &message_fields, &id))
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
            (Secured::Jwt(_), _) => format!("jwt-{}", key.key_type().jws_alg().to_ascii_lowercase()),
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
        Ok(record)
    }

    /// Gives each subject's achievement that has a name but no `id` a stable one: a UUID (v5)
    /// of its name in this issuer's own namespace, so the same achievement issued twice (from
    /// the CLI's `--achievement NAME`, or a request without an id) is recognisably the same,
    /// while another issuer's achievement of the same name is not.
    fn complete_achievement_ids(&self, credential: &mut Value) -> Result<(), ServiceError> {
        let namespace = self.achievement_namespace()?;
        for subject in model::subjects_mut(credential) {
            if let Some(Value::Object(achievement)) = subject.get_mut("achievement") {
                if achievement.contains_key("id") {
                    continue;
                }
                if let Some(name) = achievement.get("name").and_then(Value::as_str) {
                    let id = uuid::Uuid::new_v5(&namespace, name.trim().as_bytes());
                    achievement.insert("id".into(), json!(format!("urn:uuid:{id}")));
                }
            }
        }
        Ok(())
    }

    /// This issuer's namespace for achievement ids, made once.
    pub(super) fn achievement_namespace(&self) -> Result<uuid::Uuid, ServiceError> {
        const META: &str = "achievement_namespace";
        if let Some(text) = self.store.get_meta(META)? {
            return uuid::Uuid::parse_str(&text)
                .map_err(|e| ServiceError::Internal(format!("stored achievement namespace: {e}")));
        }
        let namespace = uuid::Uuid::new_v4();
        durable(|| self.store.put_meta(META, &namespace.to_string()))?;
        // A concurrent first issue may have stored its own: the stored one wins.
        let stored = self.store.get_meta(META)?.unwrap_or_else(|| namespace.to_string());
        uuid::Uuid::parse_str(&stored).map_err(|e| ServiceError::Internal(e.to_string()))
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
}
