//! What anyone may learn about a badge this issuer holds: `GET /api/verify/{id}`, the JSON that
//! LMS and HR systems integrate with. Its metadata, and a verification run now (signature,
//! issuer binding, status, dates), never the recipient's email.

use super::*;

impl Service {
    /// The public view of a stored badge with a live verification result. `NotFound` for an
    /// unknown id. A revoked or suspended badge is answered (200) with `state` and the reason,
    /// so an integration still sees what it was.
    pub async fn public_verification(&self, id: &str) -> Result<Value, ServiceError> {
        let record = self
            .store
            .get_credential(id)?
            .ok_or_else(|| ServiceError::NotFound(format!("no badge {id:?} on this issuer")))?;
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
        Ok(json!({
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
            "recipient": {"name": model::subjects(&credential).first().and_then(|s| s.get("name")).cloned()},
            "issuedOn": credential.get("validFrom").or(credential.get("issuanceDate")),
            "expires": credential.get("validUntil").or(credential.get("expirationDate")),
            "evidence": evidence,
            "verification": {
                "verified": report.verified,
                "checks": report.checks,
                "errors": report.errors,
                "warnings": report.warnings,
                "status": report.status,
                "checkedAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            },
        }))
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
