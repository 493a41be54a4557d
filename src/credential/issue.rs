//! Issuing: build an OB 3.0 credential from a few facts or take one as JSON, complete it, check
//! it, and sign it in the requested format. The CLI and the HTTP service both call `issue`.

use serde_json::{json, Value};

use crate::credential::model::{self, FieldProblem, IdentityObject};
use crate::credential::proofs::{Format, ProofError, Secured, SignOptions};
use crate::jsonld;
use crate::jsonld::contexts;
use crate::keys::KeyPair;

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the credential is invalid: {}", describe(.0))]
    Invalid(Vec<FieldProblem>),
    #[error("the signing key's DID {key_did} is not the credential's issuer {issuer}; refusing to sign")]
    NotIssuer { key_did: String, issuer: String },
    #[error(transparent)]
    Proof(#[from] ProofError),
}

fn describe(problems: &[FieldProblem]) -> String {
    problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect::<Vec<_>>().join("; ")
}

/// The facts of a badge given on the command line or in a simple request.
#[derive(Debug, Clone, Default)]
pub struct BadgeRequest {
    /// The recipient's DID or URL.
    pub subject_id: Option<String>,
    /// The recipient's email, stored hashed with a random salt.
    pub recipient_email: Option<String>,
    pub achievement_id: Option<String>,
    pub achievement_name: String,
    pub achievement_description: Option<String>,
    pub criteria: Option<String>,
    pub issuer_name: Option<String>,
    pub valid_until: Option<String>,
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Builds an unsigned OpenBadgeCredential; `issuer_id` is filled in by `issue` when `None`.
pub fn build_badge(request: &BadgeRequest) -> Value {
    let mut subject = json!({"type": ["AchievementSubject"]});
    if let Some(id) = &request.subject_id {
        subject["id"] = json!(id);
    }
    if let Some(email) = &request.recipient_email {
        subject["identifier"] = json!([IdentityObject::hashed("emailAddress", email)]);
    }
    subject["achievement"] = json!({
        "id": request.achievement_id.clone().unwrap_or_else(|| format!("urn:uuid:{}", uuid::Uuid::new_v4())),
        "type": ["Achievement"],
        "name": request.achievement_name,
        "description": request.achievement_description.clone().unwrap_or_else(|| request.achievement_name.clone()),
        "criteria": {"narrative": request.criteria.clone().unwrap_or_else(|| format!("Awarded for {}.", request.achievement_name))},
    });
    let mut issuer = json!({"type": ["Profile"]});
    if let Some(name) = &request.issuer_name {
        issuer["name"] = json!(name);
    }
    let mut credential = json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::OB_V3P0_3_0_3],
        "id": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": request.achievement_name,
        "issuer": issuer,
        "validFrom": now_rfc3339(),
        "credentialSubject": subject,
    });
    if let Some(until) = &request.valid_until {
        credential["validUntil"] = json!(until);
    }
    credential
}

/// Fills in what an issuer may leave out: the issuer (the key's DID), an id and the issue date.
pub fn complete(credential: &mut Value, issuer_id: &str) {
    let Some(object) = credential.as_object_mut() else {
        return;
    };
    match object.get_mut("issuer") {
        None => {
            object.insert("issuer".into(), json!(issuer_id));
        }
        Some(Value::Object(profile)) if !profile.contains_key("id") => {
            profile.insert("id".into(), json!(issuer_id));
        }
        _ => {}
    }
    object.entry("id").or_insert_with(|| json!(format!("urn:uuid:{}", uuid::Uuid::new_v4())));
    let legacy = object.get("@context").and_then(|c| c.get(0)).and_then(Value::as_str)
        == Some(contexts::CREDENTIALS_V1);
    if legacy {
        object.entry("issuanceDate").or_insert_with(|| json!(now_rfc3339()));
    } else if model::credential_kind(credential) != model::CredentialKind::Other {
        credential.as_object_mut().map(|o| o.entry("validFrom").or_insert_with(|| json!(now_rfc3339())));
    }
}

/// A signed credential and the completed credential it secures.
#[derive(Debug, Clone)]
pub struct Issued {
    pub secured: Secured,
    pub credential: Value,
}

/// Checks and signs `credential` with `key` in `format`. The key's DID must be the issuer.
pub async fn issue(credential: Value, key: &KeyPair, format: Format) -> Result<Secured, IssueError> {
    Ok(issue_full(credential, key, format).await?.secured)
}

/// `issue`, also returning the completed unsigned credential (its id, issuer, dates).
pub async fn issue_full(mut credential: Value, key: &KeyPair, format: Format) -> Result<Issued, IssueError> {
    if !credential.is_object() {
        return Err(IssueError::Invalid(vec![FieldProblem {
            path: "$".into(),
            message: "a credential must be a JSON object".into(),
        }]));
    }
    if credential.get("proof").is_some() {
        return Err(IssueError::Invalid(vec![FieldProblem {
            path: "$.proof".into(),
            message: "the credential to issue must not already have a proof".into(),
        }]));
    }
    complete(&mut credential, &key.did());
    let validation = model::validate(&credential);
    // Issue strictly: what a verifier would only tolerate is not signed here.
    let mut refused = validation.errors;
    refused.extend(validation.tolerated.into_iter().map(|(_, problem)| problem));
    if !refused.is_empty() {
        return Err(IssueError::Invalid(refused));
    }
    let issuer = model::issuer_id(&credential).unwrap_or_default().to_string();
    if issuer != key.did() {
        return Err(IssueError::NotIssuer { key_did: key.did(), issuer });
    }
    if format == Format::Jwt {
        // Data Integrity signing expands the document anyway; a JWT must meet the same bar.
        jsonld::to_quads(&credential).await.map_err(ProofError::from)?;
    }
    let secured = format.signer().sign(&credential, key, &SignOptions::default()).await?;
    Ok(Issued { secured, credential })
}
