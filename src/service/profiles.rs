//! Issuer profiles and the badge images baked into credentials.

use super::*;

impl Service {
    /// The issuer as it appears in credentials: the stored profile for the DID, if any.
    pub(super) fn issuer_profile(&self, did: &str) -> Result<Map<String, Value>, ServiceError> {
        let mut profile = self.store.get_profile(did)?.unwrap_or_default();
        profile.insert("id".into(), json!(did));
        profile.entry("type").or_insert_with(|| json!(["Profile"]));
        Ok(profile)
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
}
