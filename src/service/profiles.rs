//! Issuer profiles: the name, url, email and image that issued badges carry.

use super::*;

impl Service {
    /// The issuer as it appears in credentials signed by `did`: the stored profile, if any.
    /// The profile belongs to the issuer, not to one key: with did:key issuers every rotation
    /// makes a new DID, and the name, url and email must carry over. Profiles stored by earlier
    /// versions under a key's DID are still read.
    pub(super) fn issuer_profile(&self, did: &str) -> Result<Map<String, Value>, ServiceError> {
        let mut profile = match self.store.get_profile(ISSUER_PROFILE)? {
            Some(profile) => profile,
            None => self.legacy_profile()?.unwrap_or_default(),
        };
        profile.insert("id".into(), json!(did));
        profile.entry("type").or_insert_with(|| json!(["Profile"]));
        Ok(profile)
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
        if let Some(id) = body.get("id").and_then(Value::as_str) {
            if !self.issuer_dids()?.iter().any(|did| did == id) {
                return Err(ServiceError::bad(format!(
                    "profiles describe this server's issuer; {id} is not one of its DIDs"
                )));
            }
        }
        let mut profile = body.clone();
        // The id is filled in with the signing DID at issue time.
        profile.remove("id");
        profile.insert("type".into(), json!(["Profile"]));
        if let Some(Value::String(url)) = profile.get("image").cloned() {
            profile.insert("image".into(), json!({"id": url, "type": "Image"}));
        }
        self.store.put_profile(ISSUER_PROFILE, &profile)?;
        self.issuer_profile(&self.issuer_key()?.did())
    }

    /// The issuer's profile, asked for by `issuer` or by any of its DIDs (active, retired or
    /// revoked keys), as new credentials will carry it (`id` = the active key's DID).
    pub fn profile(&self, id: &str) -> Result<Map<String, Value>, ServiceError> {
        let ours = id == ISSUER_PROFILE || self.issuer_dids()?.iter().any(|did| did == id);
        let stored = self.store.get_profile(ISSUER_PROFILE)?.is_some() || self.legacy_profile()?.is_some();
        if !ours || !stored {
            return Err(ServiceError::NotFound(format!("no profile with id {id:?}")));
        }
        self.issuer_profile(&self.issuer_key()?.did())
    }

    /// Every DID the issuer has signed as, oldest first.
    pub(super) fn issuer_dids(&self) -> Result<Vec<String>, ServiceError> {
        let mut dids = Vec::new();
        for entry in issuer_keys(self.store.as_ref())? {
            let did = self.parsed_key(&entry.name)?.did();
            if !dids.contains(&did) {
                dids.push(did);
            }
        }
        Ok(dids)
    }

    /// A profile an earlier version stored under one of the issuer's DIDs (the newest one).
    fn legacy_profile(&self) -> Result<Option<Map<String, Value>>, ServiceError> {
        for did in self.issuer_dids()?.iter().rev() {
            if let Some(profile) = self.store.get_profile(did)? {
                return Ok(Some(profile));
            }
        }
        Ok(None)
    }
}
