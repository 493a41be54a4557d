//! What anyone may learn about a badge this issuer holds: `GET /api/verify/{id}`, the JSON that
//! LMS and HR systems integrate with. Its metadata, and a verification run now (signature,
//! issuer binding, status, dates), never the recipient's email. Also what the public pages
//! (`crate::web`) are built from: the same view plus the stored credential, each badge's
//! visibility (`PUT /badges/{id}/visibility`) and the issuer's public catalog.

use super::*;

/// Store document kind of a badge's visibility choice (absent: public, name shown).
const VISIBILITY: &str = "badge-visibility";

/// What the learner lets the public see of one badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Visibility {
    /// `false`: the badge page, its downloads and `/api/verify/{id}` answer 404.
    pub public: bool,
    /// `false`: the recipient's name is left out of the page and `/api/verify/{id}` (and the
    /// signed credential, which carries it, is not offered for download or embedded).
    pub show_name: bool,
}

impl Default for Visibility {
    fn default() -> Self {
        Visibility { public: true, show_name: true }
    }
}

/// One badge as the public sees it: the `/api/verify/{id}` view, and what the badge page adds.
#[derive(Debug, Clone)]
pub struct PublicBadge {
    /// Exactly the JSON of `GET /api/verify/{id}`.
    pub view: Value,
    /// The credential as issued (the decoded payload for a JWT); `None` when the name is hidden.
    pub credential: Option<Value>,
    /// The compact JWT, for a badge issued as one (and the name shown).
    pub jwt: Option<String>,
    pub visibility: Visibility,
    /// The live verification the view summarises.
    pub report: Report,
}

/// The issuer's public page: its profile and its achievements that are not retired.
#[derive(Debug, Clone)]
pub struct PublicIssuer {
    pub profile: Map<String, Value>,
    pub achievements: Vec<Value>,
}

impl Service {
    /// The public view of a stored badge with a live verification result. `NotFound` for an
    /// unknown id. A revoked or suspended badge is answered (200) with `state` and the reason,
    /// so an integration still sees what it was.
    pub async fn public_verification(&self, id: &str) -> Result<Value, ServiceError> {
        Ok(self.public_badge(id).await?.view)
    }

    /// A badge's visibility (the default when never set). `NotFound` for an unknown id.
    pub fn badge_visibility(&self, id: &str) -> Result<Visibility, ServiceError> {
        self.credential(id)?;
        Ok(self.stored_visibility(id)?)
    }

    fn stored_visibility(&self, id: &str) -> Result<Visibility, StoreError> {
        Ok(self
            .store
            .get_document(VISIBILITY, id)?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    /// Sets what the public sees of a badge (durably, audited). `NotFound` for an unknown id.
    pub fn set_badge_visibility(&self, id: &str, body: &Value) -> Result<Visibility, ServiceError> {
        self.credential(id)?;
        let visibility: Visibility = serde_json::from_value(body.clone()).map_err(|e| {
            ServiceError::bad(format!("the body must be {{\"public\": bool, \"showName\": bool}}: {e}"))
        })?;
        let document = serde_json::to_value(visibility).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let audit = crate::store::AuditEntry::now("badge-visibility", id, Some(document.clone()));
        durable(|| self.store.put_document(VISIBILITY, id, &document, &audit))?;
        Ok(visibility)
    }

    /// The public view of a badge, as [`Service::public_verification`] and the badge page show
    /// it. `NotFound` for an unknown id and for a badge its holder made private.
    pub async fn public_badge(&self, id: &str) -> Result<PublicBadge, ServiceError> {
        let not_found = || ServiceError::NotFound(format!("no badge {id:?} on this issuer"));
        let record = self.store.get_credential(id)?.ok_or_else(not_found)?;
        let visibility = self.stored_visibility(id)?;
        if !visibility.public {
            return Err(not_found());
        }
        let credential = crate::credential::proofs::credential_of(&record.credential)
            .map(std::borrow::Cow::into_owned)
            .unwrap_or(Value::Null);
        let report = self.verifier.verify_value(&record.credential).await;
        let achievement = model::first_achievement(&credential).cloned().unwrap_or(Value::Null);
        let issuer = match credential.get("issuer") {
            Some(Value::String(id)) => json!({"id": id}),
            Some(Value::Object(profile)) => {
                json!({"id": profile.get("id"), "name": profile.get("name"), "url": profile.get("url")})
            }
            _ => Value::Null,
        };
        let codes: Vec<&str> = report.errors.iter().map(|e| e.code.as_str()).collect();
        let state = if codes.contains(&"REVOKED") {
            "revoked"
        } else if codes.contains(&"SUSPENDED") {
            "suspended"
        } else if codes.contains(&"CREDENTIAL_EXPIRED") {
            "expired"
        } else if report.verified {
            "valid"
        } else {
            "invalid"
        };
        let evidence: Vec<Value> = match credential.get("evidence") {
            Some(Value::Array(items)) => items.iter().map(public_evidence).collect(),
            Some(one @ Value::Object(_)) => vec![public_evidence(one)],
            _ => vec![],
        };
        let image = achievement.get("image").and_then(|i| i.get("id").or(Some(i))).cloned();
        let recipient_name = if visibility.show_name {
            model::subjects(&credential).first().and_then(|s| s.get("name")).cloned()
        } else {
            None
        };
        let view = json!({
            "id": record.id,
            "state": state,
            "name": credential.get("name").or(achievement.get("name")),
            "achievement": {
                "id": achievement.get("id"),
                "name": achievement.get("name"),
                "description": achievement.get("description"),
                "criteria": achievement.get("criteria"),
                "achievementType": achievement.get("achievementType"),
                "alignment": achievement.get("alignment"),
                "image": image,
            },
            "issuer": issuer,
            // Never an email; a name only where the credential itself publishes one.
            "recipient": {"name": recipient_name},
            "issuedOn": credential.get("validFrom").or(credential.get("issuanceDate")),
            "expires": credential.get("validUntil").or(credential.get("expirationDate")),
            "evidence": evidence,
            "verification": {
                "verified": report.verified,
                "checks": report.checks,
                "errors": report.errors,
                "warnings": report.warnings,
                "status": report.status,
                "registry": report.registry,
                "checkedAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            },
        });
        let jwt = match &record.credential {
            Value::String(jwt) if visibility.show_name => Some(jwt.clone()),
            _ => None,
        };
        let credential = if visibility.show_name && !credential.is_null() { Some(credential) } else { None };
        Ok(PublicBadge { view, credential, jwt, visibility, report })
    }

    /// A public badge of this server verified as stored (the verify page's badge links): the
    /// report and what the holder lets the public see. `NotFound` when unknown or private.
    pub async fn verify_stored_badge(&self, id: &str) -> Result<(Report, Visibility), ServiceError> {
        let not_found = || ServiceError::NotFound(format!("no badge {id:?} on this issuer"));
        let record = self.store.get_credential(id)?.ok_or_else(not_found)?;
        let visibility = self.stored_visibility(id)?;
        if !visibility.public {
            return Err(not_found());
        }
        Ok((self.verifier.verify_value(&record.credential).await, visibility))
    }

    /// The issuer's public page: `id` is `issuer` or one of the DIDs it has signed as.
    pub fn public_issuer(&self, id: &str) -> Result<PublicIssuer, ServiceError> {
        let dids = self.issuer_dids()?;
        let did = if id == ISSUER_PROFILE {
            self.issuer_key()?.did()
        } else if dids.iter().any(|d| d == id) {
            id.to_string()
        } else {
            return Err(ServiceError::NotFound(format!("no issuer {id:?} on this server")));
        };
        let profile = self.issuer_profile(&did)?;
        let achievements = self
            .list_achievements()?
            .into_iter()
            .filter(|a| a["laurel"]["retired"].as_bool() != Some(true))
            .collect();
        Ok(PublicIssuer { profile, achievements })
    }
}

impl Service {
    /// What a registry operator needs to list this issuer, in the `dcc-legacy` shape:
    /// `{"registry": {"<DID>": {"name", "url", "location"}}}` from the issuer profile.
    pub fn registry_entry(&self) -> Result<Value, ServiceError> {
        let did = match &self.settings.did_web {
            Some(did) => did.clone(),
            None => self.issuer_key()?.did(),
        };
        let profile = self.issuer_profile(&did)?;
        let address = profile.get("address");
        let location: Vec<&str> = ["addressLocality", "addressRegion", "addressCountry"]
            .iter()
            .filter_map(|field| address.and_then(|a| a.get(*field)).and_then(Value::as_str))
            .collect();
        let mut entry = serde_json::Map::new();
        entry.insert("name".into(), profile.get("name").cloned().unwrap_or(Value::Null));
        entry.insert("url".into(), profile.get("url").cloned().unwrap_or(Value::Null));
        entry.insert(
            "location".into(),
            if location.is_empty() { Value::Null } else { json!(location.join(", ")) },
        );
        Ok(json!({"registry": {did: entry}}))
    }
}

/// Evidence as published: links and descriptions only.
fn public_evidence(item: &Value) -> Value {
    json!({"id": item.get("id"), "name": item.get("name"), "narrative": item.get("narrative")})
}
