//! The Open Badges 3.0 data model: typed structs, structural validation, recipient hashing.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::jsonld::contexts;

/// A JSON value that may be a single item or an array of them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        match self {
            OneOrMany::One(item) => std::slice::from_ref(item).iter(),
            OneOrMany::Many(items) => items.iter(),
        }
    }
}

/// OpenBadgeCredential / AchievementCredential. Unknown properties are kept in `extra`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementCredential {
    #[serde(rename = "@context")]
    pub context: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub types: OneOrMany<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub issuer: ProfileRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awarded_date: Option<String>,
    pub credential_subject: AchievementSubject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<OneOrMany<Evidence>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endorsement: Option<OneOrMany<EndorsementCredential>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_status: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<OneOrMany<Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An issuer: a bare IRI or an embedded Profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProfileRef {
    Id(String),
    Profile(Box<Profile>),
}

impl ProfileRef {
    pub fn id(&self) -> Option<&str> {
        match self {
            ProfileRef::Id(id) => Some(id),
            ProfileRef::Profile(p) => p.id.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub types: OneOrMany<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for OneOrMany<String> {
    fn default() -> Self {
        OneOrMany::Many(vec![])
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementSubject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub types: OneOrMany<String>,
    pub achievement: Achievement,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<OneOrMany<IdentityObject>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<OneOrMany<ResultEntry>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Achievement {
    pub id: String,
    #[serde(rename = "type")]
    pub types: OneOrMany<String>,
    pub name: String,
    pub description: String,
    pub criteria: Criteria,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub achievement_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alignment: Option<OneOrMany<Alignment>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_description: Option<OneOrMany<ResultDescription>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Criteria {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityObject {
    #[serde(rename = "type")]
    pub types: String,
    pub hashed: bool,
    pub identity_hash: String,
    pub identity_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

impl IdentityObject {
    /// A hashed recipient identifier with a fresh random salt (OB 3.0 IdentityObject). Email
    /// addresses are hashed trimmed and lowercased, so that the learner's address matches
    /// however the learning system or the learner capitalises it later.
    pub fn hashed(identity_type: &str, identifier: &str) -> IdentityObject {
        let identifier = &normalized_identifier(identity_type, identifier);
        let mut salt_bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt_bytes);
        let salt = hex::encode(salt_bytes);
        IdentityObject {
            types: "IdentityObject".into(),
            hashed: true,
            identity_hash: hash_identifier(identifier, &salt),
            identity_type: identity_type.into(),
            salt: Some(salt),
        }
    }

    /// Whether `identifier` is the one this object names (hashed or plain). An email address
    /// matches as given or normalized: other issuers hash the address as they received it.
    pub fn matches(&self, identifier: &str) -> bool {
        let normalized = normalized_identifier(&self.identity_type, identifier);
        let candidates = [identifier, normalized.as_str()];
        candidates.iter().any(|candidate| {
            if self.hashed {
                hash_identifier(candidate, self.salt.as_deref().unwrap_or_default())
                    .eq_ignore_ascii_case(&self.identity_hash)
            } else if self.identity_type == "emailAddress" {
                self.identity_hash.eq_ignore_ascii_case(candidate)
            } else {
                self.identity_hash == *candidate
            }
        })
    }
}

/// The form an identifier is hashed in: email addresses trimmed and lowercased, others as given.
fn normalized_identifier(identity_type: &str, identifier: &str) -> String {
    if identity_type == "emailAddress" {
        identifier.trim().to_lowercase()
    } else {
        identifier.to_string()
    }
}

/// `sha256$` + hex(sha256(identifier + salt)), as OB 3.0 defines identityHash.
pub fn hash_identifier(identifier: &str, salt: &str) -> String {
    let digest = Sha256::digest(format!("{identifier}{salt}").as_bytes());
    format!("sha256${}", hex::encode(digest))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub types: OneOrMany<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultEntry {
    #[serde(rename = "type")]
    pub types: OneOrMany<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultDescription {
    pub id: String,
    #[serde(rename = "type")]
    pub types: OneOrMany<String>,
    pub name: String,
    pub result_type: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alignment {
    #[serde(rename = "type")]
    pub types: OneOrMany<String>,
    pub target_name: String,
    pub target_url: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    #[serde(rename = "type")]
    pub types: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// An endorsement: a credential of its own, kept as JSON (it is verified separately).
pub type EndorsementCredential = Value;

/// A structural problem found in a credential, located by a JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub path: String,
    pub message: String,
}

/// What validation found: errors make a credential invalid, warnings do not. `tolerated` are
/// deviations from a MUST that leave every check intact (authenticity, issuer, dates, status):
/// the verifier reports each as a warning with its own code, the issuer refuses to sign them.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Validation {
    pub errors: Vec<FieldProblem>,
    pub warnings: Vec<FieldProblem>,
    pub tolerated: Vec<(&'static str, FieldProblem)>,
}

/// The warning for a subject that names no recipient (no `id`, no `identifier`): OB 3.0 requires
/// one, VC DM 2.0 and OB's JSON Schema do not, and the field issues such badges (DCC).
pub const NO_RECIPIENT: &str = "NO_RECIPIENT";

impl Validation {
    fn tolerate(&mut self, code: &'static str, path: &str, message: impl Into<String>) {
        self.tolerated.push((code, FieldProblem { path: path.to_string(), message: message.into() }));
    }
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(FieldProblem { path: path.to_string(), message: message.into() });
    }
    fn warning(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(FieldProblem { path: path.to_string(), message: message.into() });
    }
}

/// Which kind of credential a document claims to be, from its `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    OpenBadge,
    Endorsement,
    Other,
}

// The shape rule lives in `jsonld` so that `status` can use it without importing the model.
pub use crate::jsonld::node::types_of;

pub fn credential_kind(credential: &Value) -> CredentialKind {
    let types = types_of(credential.get("type"));
    if types.iter().any(|t| *t == "OpenBadgeCredential" || *t == "AchievementCredential") {
        CredentialKind::OpenBadge
    } else if types.contains(&"EndorsementCredential") {
        CredentialKind::Endorsement
    } else {
        CredentialKind::Other
    }
}

/// The issuer's id: `issuer` as a string, or `issuer.id`.
/// The credential's subjects: `credentialSubject` as one object or a list of them.
pub fn subjects(credential: &Value) -> Vec<&Value> {
    match credential.get("credentialSubject") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => vec![],
    }
}

/// [`subjects`], to complete them.
pub fn subjects_mut(credential: &mut Value) -> Vec<&mut Value> {
    match credential.get_mut("credentialSubject") {
        Some(Value::Array(list)) => list.iter_mut().collect(),
        Some(one) => vec![one],
        None => vec![],
    }
}

/// The first subject's `achievement`: what a badge is for.
pub fn first_achievement(credential: &Value) -> Option<&Value> {
    subjects(credential).first()?.get("achievement")
}

pub fn issuer_id(credential: &Value) -> Option<&str> {
    credential.get("issuer").and_then(crate::jsonld::node::node_id)
}

/// An absolute URL or URN, with no whitespace.
pub fn is_url(value: &str) -> bool {
    !value.chars().any(char::is_whitespace) && url::Url::parse(value).is_ok()
}

pub fn is_rfc3339(value: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(value).is_ok()
}

fn items(value: &Value) -> Vec<(String, &Value)> {
    match value {
        Value::Array(list) => list.iter().enumerate().map(|(i, v)| (format!("[{i}]"), v)).collect(),
        other => vec![(String::new(), other)],
    }
}

fn require_string(v: &mut Validation, object: &Map<String, Value>, path: &str, name: &str) {
    match object.get(name) {
        None => v.error(&format!("{path}.{name}"), format!("\"{name}\" is required")),
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(_) => v.error(&format!("{path}.{name}"), format!("\"{name}\" must be a non-empty string")),
    }
}

fn require_type(v: &mut Validation, object: &Map<String, Value>, path: &str, wanted: &str) {
    let types = types_of(object.get("type"));
    if object.get("type").is_none() {
        v.error(&format!("{path}.type"), "\"type\" is required");
    } else if !types.contains(&wanted) {
        v.error(&format!("{path}.type"), format!("\"type\" must include \"{wanted}\""));
    }
}

fn each_object<'a>(
    v: &mut Validation,
    parent: &'a Map<String, Value>,
    path: &str,
    name: &str,
    mut check: impl FnMut(&mut Validation, &'a Map<String, Value>, &str),
) {
    if let Some(value) = parent.get(name) {
        for (suffix, item) in items(value) {
            let item_path = format!("{path}.{name}{suffix}");
            match item.as_object() {
                Some(object) => check(v, object, &item_path),
                None => v.error(&item_path, format!("\"{name}\" must be an object")),
            }
        }
    }
}

fn check_date(v: &mut Validation, object: &Map<String, Value>, path: &str, name: &str) {
    if let Some(value) = object.get(name) {
        match value.as_str() {
            Some(s) if is_rfc3339(s) => {}
            _ => v.error(
                &format!("{path}.{name}"),
                format!("\"{name}\" must be an RFC 3339 date-time with a time zone"),
            ),
        }
    }
}

/// Validates the VC Data Model shape every credential needs, and the OB 3.0 schema's required
/// properties for Open Badges and endorsements. Every problem is reported, with its JSON path.
pub fn validate(credential: &Value) -> Validation {
    let mut v = Validation::default();
    let Some(root) = credential.as_object() else {
        v.error("$", "a credential must be a JSON object");
        return v;
    };
    let kind = credential_kind(credential);
    let contexts: Vec<&Value> = match root.get("@context") {
        Some(Value::Array(list)) if !list.is_empty() => list.iter().collect(),
        Some(Value::String(_)) => {
            v.error("$.@context", "\"@context\" must be an array starting with the VC context");
            vec![]
        }
        Some(_) => {
            v.error("$.@context", "\"@context\" must be a non-empty array");
            vec![]
        }
        None => {
            v.error("$.@context", "\"@context\" is required");
            vec![]
        }
    };
    for (i, entry) in contexts.iter().enumerate() {
        if !entry.is_string() && !entry.is_object() {
            v.error(&format!("$.@context[{i}]"), "each @context entry must be a URL or an object");
        }
    }
    let first = contexts.first().and_then(|c| c.as_str());
    let legacy = first == Some(contexts::CREDENTIALS_V1);
    match first {
        Some(contexts::CREDENTIALS_V2) => {}
        Some(contexts::CREDENTIALS_V1) if kind != CredentialKind::Other => v.warning(
            "$.@context[0]",
            "VC Data Model 1.1 credential: OB 3.0 requires https://www.w3.org/ns/credentials/v2",
        ),
        Some(contexts::CREDENTIALS_V1) => {}
        _ if !contexts.is_empty() => {
            v.error("$.@context[0]", format!("\"@context[0]\" must be {}", contexts::CREDENTIALS_V2))
        }
        _ => {}
    }
    if kind != CredentialKind::Other {
        let second = contexts.get(1).and_then(|c| c.as_str());
        if !second.is_some_and(|c| contexts::OB_CONTEXTS.contains(&c)) {
            v.error(
                "$.@context[1]",
                "\"@context[1]\" must be an Open Badges 3.0 context (e.g. context-3.0.3.json)",
            );
        } else if second != Some(contexts::OB_V3P0_3_0_3) {
            v.warning("$.@context[1]", "an older Open Badges 3.0 context; context-3.0.3.json is current");
        }
    }
    match root.get("type") {
        None => v.error("$.type", "\"type\" is required"),
        Some(Value::String(_)) | Some(Value::Array(_)) => {
            let types = types_of(root.get("type"));
            if types.is_empty()
                || matches!(root.get("type"), Some(Value::Array(a)) if a.iter().any(|t| !t.is_string()))
            {
                v.error("$.type", "\"type\" must be a string or an array of strings");
            }
            if !types.contains(&"VerifiableCredential") {
                v.error("$.type", "\"type\" must include \"VerifiableCredential\"");
            }
        }
        Some(_) => v.error("$.type", "\"type\" must be a string or an array of strings"),
    }
    if let Some(id) = root.get("id") {
        if !id.as_str().is_some_and(is_url) {
            v.error("$.id", "\"id\" must be a URL");
        }
    } else if kind != CredentialKind::Other {
        v.error("$.id", "\"id\" is required");
    }
    match root.get("issuer") {
        None => v.error("$.issuer", "\"issuer\" is required"),
        Some(Value::String(id)) if id.contains(':') => {}
        Some(Value::Object(profile)) => {
            match profile.get("id") {
                Some(Value::String(id)) if id.contains(':') => {}
                _ => v.error("$.issuer.id", "\"issuer.id\" must be a URL"),
            }
            if kind != CredentialKind::Other {
                require_type(&mut v, profile, "$.issuer", "Profile");
            }
        }
        Some(_) => v.error("$.issuer", "\"issuer\" must be a URL or an object with an \"id\""),
    }
    for name in ["validFrom", "validUntil", "issuanceDate", "expirationDate", "awardedDate"] {
        check_date(&mut v, root, "$", name);
    }
    if legacy {
        if !root.contains_key("issuanceDate") {
            v.error("$.issuanceDate", "\"issuanceDate\" is required in a VC Data Model 1.1 credential");
        }
    } else if kind != CredentialKind::Other && !root.contains_key("validFrom") {
        v.error("$.validFrom", "\"validFrom\" is required");
    }
    match root.get("credentialSubject") {
        None => v.error("$.credentialSubject", "\"credentialSubject\" is required"),
        Some(Value::Object(subject)) => {
            if subject.is_empty() {
                v.error("$.credentialSubject", "\"credentialSubject\" must not be empty");
            }
            match kind {
                CredentialKind::OpenBadge => validate_achievement_subject(&mut v, subject),
                CredentialKind::Endorsement => {
                    require_string(&mut v, subject, "$.credentialSubject", "id");
                    require_type(&mut v, subject, "$.credentialSubject", "EndorsementSubject");
                }
                CredentialKind::Other => {}
            }
        }
        Some(Value::Array(subjects)) if kind == CredentialKind::Other && !subjects.is_empty() => {
            for (i, s) in subjects.iter().enumerate() {
                if !s.is_object() {
                    v.error(&format!("$.credentialSubject[{i}]"), "each credentialSubject must be an object");
                }
            }
        }
        Some(_) => v.error("$.credentialSubject", "\"credentialSubject\" must be an object"),
    }
    if kind == CredentialKind::Endorsement {
        require_string(&mut v, root, "$", "name");
    }
    if kind != CredentialKind::Other {
        each_object(&mut v, root, "$", "image", validate_image);
        each_object(&mut v, root, "$", "evidence", |v, o, p| require_type(v, o, p, "Evidence"));
        each_object(&mut v, root, "$", "credentialStatus", |v, o, p| require_string(v, o, p, "id"));
    }
    validate_vc_members(&mut v, root);
    if let Some(proofs) = root.get("proof") {
        for (suffix, proof) in items(proofs) {
            let path = format!("$.proof{suffix}");
            match proof.as_object() {
                Some(p) => {
                    require_string(&mut v, p, &path, "type");
                    check_date(&mut v, p, &path, "created");
                }
                None => v.error(&path, "\"proof\" must be an object"),
            }
        }
    }
    v
}

/// VC DM 2.0 rules for the optional members every credential may carry.
fn validate_vc_members(v: &mut Validation, root: &Map<String, Value>) {
    for name in ["credentialStatus", "termsOfUse", "evidence", "refreshService", "credentialSchema"] {
        if let Some(value) = root.get(name) {
            for (suffix, item) in items(value) {
                let path = format!("$.{name}{suffix}");
                let Some(object) = item.as_object() else {
                    v.error(&path, format!("\"{name}\" must be an object"));
                    continue;
                };
                if !object.contains_key("type") {
                    v.error(&format!("{path}.type"), format!("each {name} needs a \"type\""));
                }
                if name == "credentialSchema" && !object.contains_key("id") {
                    v.error(&format!("{path}.id"), "each credentialSchema needs an \"id\"");
                }
                if let Some(id) = object.get("id") {
                    if !id.as_str().is_some_and(is_url) {
                        v.error(&format!("{path}.id"), "\"id\" must be a URL");
                    }
                }
            }
        }
    }
    if let Some(Value::Array(subjects)) = root.get("credentialSubject") {
        for (i, subject) in subjects.iter().enumerate() {
            if subject.as_object().is_none_or(Map::is_empty) {
                v.error(
                    &format!("$.credentialSubject[{i}]"),
                    "each credentialSubject must be a non-empty object",
                );
            }
        }
    }
    if let Some(resources) = root.get("relatedResource") {
        let mut seen = Vec::new();
        for (suffix, item) in items(resources) {
            let path = format!("$.relatedResource{suffix}");
            let Some(object) = item.as_object() else {
                v.error(&path, "each relatedResource must be an object");
                continue;
            };
            match object.get("id").and_then(Value::as_str) {
                Some(id) if is_url(id) => {
                    if seen.contains(&id) {
                        v.error(&format!("{path}.id"), format!("relatedResource id {id} appears twice"));
                    }
                    seen.push(id);
                }
                _ => v.error(&format!("{path}.id"), "each relatedResource needs an \"id\" URL"),
            }
            if !object.contains_key("digestSRI") && !object.contains_key("digestMultibase") {
                v.error(&path, "each relatedResource needs \"digestSRI\" or \"digestMultibase\"");
            }
        }
    }
}

fn validate_image(v: &mut Validation, image: &Map<String, Value>, path: &str) {
    require_string(v, image, path, "id");
    require_type(v, image, path, "Image");
}

fn validate_achievement_subject(v: &mut Validation, subject: &Map<String, Value>) {
    let path = "$.credentialSubject";
    require_type(v, subject, path, "AchievementSubject");
    if !subject.contains_key("id") && !subject.contains_key("identifier") {
        v.tolerate(
            NO_RECIPIENT,
            path,
            "the badge names no recipient (no \"id\" or \"identifier\"): it cannot be tied to a holder",
        );
    }
    each_object(v, subject, path, "identifier", |v, o, p| {
        require_type(v, o, p, "IdentityObject");
        match o.get("hashed") {
            Some(Value::Bool(_)) => {}
            _ => v.error(&format!("{p}.hashed"), "\"hashed\" is required and must be a boolean"),
        }
        require_string(v, o, p, "identityHash");
        require_string(v, o, p, "identityType");
        if o.get("hashed") == Some(&Value::Bool(true)) {
            let hash = o.get("identityHash").and_then(Value::as_str).unwrap_or_default();
            let hex_part = hash.strip_prefix("sha256$").unwrap_or_default();
            if hex_part.len() != 64 || !hex_part.chars().all(|c| c.is_ascii_hexdigit()) {
                v.error(
                    &format!("{p}.identityHash"),
                    "a hashed identityHash must be \"sha256$\" followed by 64 hex digits",
                );
            }
        }
    });
    each_object(v, subject, path, "result", |v, o, p| require_type(v, o, p, "Result"));
    each_object(v, subject, path, "image", validate_image);
    for name in ["activityStartDate", "activityEndDate"] {
        check_date(v, subject, path, name);
    }
    match subject.get("achievement") {
        None => v.error(&format!("{path}.achievement"), "\"achievement\" is required"),
        Some(Value::Object(achievement)) => {
            let path = "$.credentialSubject.achievement";
            require_string(v, achievement, path, "id");
            require_type(v, achievement, path, "Achievement");
            require_string(v, achievement, path, "name");
            require_string(v, achievement, path, "description");
            match achievement.get("criteria") {
                Some(Value::Object(_)) => {}
                Some(_) => v.error(&format!("{path}.criteria"), "\"criteria\" must be an object"),
                None => v.error(&format!("{path}.criteria"), "\"criteria\" is required"),
            }
            each_object(v, achievement, path, "image", validate_image);
            each_object(v, achievement, path, "alignment", |v, o, p| {
                require_type(v, o, p, "Alignment");
                require_string(v, o, p, "targetName");
                require_string(v, o, p, "targetUrl");
            });
            each_object(v, achievement, path, "resultDescription", |v, o, p| {
                require_string(v, o, p, "id");
                require_type(v, o, p, "ResultDescription");
                require_string(v, o, p, "name");
                require_string(v, o, p, "resultType");
            });
        }
        Some(_) => v.error(&format!("{path}.achievement"), "\"achievement\" must be an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "@context": [contexts::CREDENTIALS_V2, contexts::OB_V3P0_3_0_3],
            "id": "urn:uuid:1",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": "did:key:z6Mk", "type": ["Profile"], "name": "Issuer"},
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:bob", "type": ["AchievementSubject"],
                "achievement": {"id": "https://e/a", "type": ["Achievement"], "name": "N", "description": "D", "criteria": {"narrative": "x"}}}
        })
    }

    #[test]
    fn a_minimal_badge_is_valid_and_round_trips_through_the_structs() {
        let v = validate(&minimal());
        assert!(v.errors.is_empty(), "{:?}", v.errors);
        let typed: AchievementCredential = serde_json::from_value(minimal()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), minimal());
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut c = minimal();
        c["@context"][1] = json!("https://example.com/ctx");
        c["validFrom"] = json!("yesterday");
        c["credentialSubject"].as_object_mut().unwrap().remove("id");
        c["credentialSubject"]["achievement"].as_object_mut().unwrap().remove("criteria");
        let validation = validate(&c);
        let paths: Vec<String> = validation.errors.into_iter().map(|p| p.path).collect();
        for expected in ["$.@context[1]", "$.validFrom", "$.credentialSubject.achievement.criteria"] {
            assert!(paths.iter().any(|p| p == expected), "{expected} missing from {paths:?}");
        }
        // No recipient is tolerated (a warning when verifying, refused when issuing).
        assert_eq!(validation.tolerated.len(), 1);
        assert_eq!(
            (validation.tolerated[0].0, validation.tolerated[0].1.path.as_str()),
            (NO_RECIPIENT, "$.credentialSubject")
        );
    }

    #[test]
    fn hashed_identifiers_match_only_their_identifier() {
        let identity = IdentityObject::hashed("emailAddress", "bob@example.com");
        assert!(identity.identity_hash.starts_with("sha256$"));
        assert!(identity.matches("bob@example.com"));
        assert!(!identity.matches("eve@example.com"));
        // Issued from a capitalised address, matched by any capitalisation.
        let identity = IdentityObject::hashed("emailAddress", " Bob@Example.COM ");
        assert!(identity.matches("bob@example.com") && identity.matches("BOB@example.com"));
        // Another issuer hashed the address as typed: it still matches exactly.
        let salt = "s".to_string();
        let foreign = IdentityObject {
            types: "IdentityObject".into(),
            hashed: true,
            identity_hash: hash_identifier("Bob@Example.com", &salt),
            identity_type: "emailAddress".into(),
            salt: Some(salt),
        };
        assert!(foreign.matches("Bob@Example.com") && !foreign.matches("eve@example.com"));
        assert_eq!(
            hash_identifier("test@example.com", "abc"),
            format!("sha256${}", hex::encode(Sha256::digest(b"test@example.comabc")))
        );
    }

    #[test]
    fn unknown_properties_are_preserved() {
        let mut c = minimal();
        c["extraThing"] = json!({"a": 1});
        let typed: AchievementCredential = serde_json::from_value(c.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap()["extraThing"], json!({"a": 1}));
    }
}
