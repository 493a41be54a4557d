//! Events that learning systems send, read into Laurel's terms, and the Standard Webhooks
//! signatures that authenticate them.
//!
//! Owns: reading a request body into [`LmsEvent`]s ([`parse_events`]) — either one generic JSON
//! event or 1EdTech Caliper 1.2 `GradeEvent`s (in a Caliper envelope, or one bare event) — with
//! every refusal naming the JSON path it is about ([`InboundError`]); and Standard Webhooks
//! (<https://www.standardwebhooks.com>) HMAC-SHA256 signatures: verifying ([`verify_webhook`]),
//! signing like a sender ([`sign_webhook`]) and making secrets ([`new_webhook_secret`]).
//!
//! Does not own: storing events, deduplicating them by id, evaluating award conditions over
//! [`LmsEvent::fields`] (that is [`super::condition`]), or issuing badges (`service`).
//!
//! # Generic event
//!
//! ```json
//! {"id": "evt-1", "type": "assessment_passed", "occurredAt": "2026-01-02T03:04:05Z",
//!  "learner": {"email": "ada@example.org", "did": "did:key:z6Mk...", "name": "Ada"},
//!  "course": "py-101", "assessment": "quiz-3", "score": 80, "maxScore": 100,
//!  "attempt": 1, "passed": true,
//!  "evidence": [{"url": "https://lms.example/sub/9", "name": "Quiz 3", "narrative": "..."}]}
//! ```
//!
//! Multiword keys are accepted in camelCase or snake_case (`occurredAt`/`occurred_at`,
//! `maxScore`/`max_score`); giving both spellings is refused. A JSON `null` counts as absent.
//! A learner's `did` must be a DID (`did:...`) or an `https://` URL (recipient by URL).
//!
//! # Caliper 1.2
//!
//! An envelope (`{"sensor", "sendTime", "dataVersion", "data": [...]}`: an object with `data`
//! and no `type`) may hold only `GradeEvent`s: any other entry refuses the whole envelope,
//! naming its index. A bare object whose `type` is `"GradeEvent"` is read as one Caliper event.
//! The learner is `object.assignee`: its `email` and `name` are read when present; its `id`
//! becomes [`Learner::did`] when it is a DID, or when it is an `https://` URL (Caliper names
//! people by URL; the badge is then issued to that URL). Any other `id` (e.g. `http://`, a
//! bare string) is not a recipient, and without an email the event is refused.
//! Caliper events bring no [`LmsEvent::evidence`].

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// At most this many events in one envelope.
pub const MAX_EVENTS: usize = 1000;
/// At most this many bytes in any string read from an event.
pub const MAX_STRING_BYTES: usize = 2048;
/// At most this many bytes in an event id.
pub const MAX_ID_BYTES: usize = 256;
/// At most this many evidence items in one event.
pub const MAX_EVIDENCE: usize = 100;
/// Webhook timestamps further than this from now, either way, are refused.
pub const WEBHOOK_TOLERANCE_SECONDS: i64 = 300;

const CALIPER_GRADE_EVENT: &str = "GradeEvent";

/// Who the event is about.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Learner {
    /// The learner's email, trimmed and lowercased.
    pub email: Option<String>,
    /// A DID, or an `https://` URL naming the learner (recipient by URL).
    pub did: Option<String>,
    /// A display name.
    pub name: Option<String>,
}

impl Learner {
    /// The learner's key: the email trimmed and lowercased, else the DID (or URL); None if neither.
    pub fn key(&self) -> Option<String> {
        if let Some(email) = self.email.as_deref() {
            let email = email.trim();
            if !email.is_empty() {
                return Some(email.to_lowercase());
            }
        }
        match self.did.as_deref().map(str::trim) {
            Some(did) if !did.is_empty() => Some(did.to_string()),
            _ => None,
        }
    }
}

/// One event from a learning system, in Laurel's terms.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LmsEvent {
    /// The sender's event id (the dedup key).
    pub id: String,
    /// The event type, e.g. `"assessment_passed"`; a Caliper GradeEvent is `"GradeEvent"`.
    pub event_type: String,
    /// When it happened (RFC 3339, as the sender wrote it), if given.
    pub occurred_at: Option<String>,
    /// Who it is about.
    pub learner: Learner,
    /// The fields conditions read: score, max_score, course, assessment, attempt, type (= event_type), passed, learner.email ... as a flat JSON object (numbers as numbers).
    pub fields: Map<String, Value>,
    /// OB 3.0 Evidence objects to put in the badge ({id?, type: ["Evidence"], name?, narrative?}).
    pub evidence: Vec<Value>,
}

/// Why a request body holds no events Laurel can read. Each names the JSON path concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// The body is not a JSON object.
    #[error("the body must be a JSON object")]
    NotObject,
    /// A required member is absent (or null).
    #[error("{path} is required")]
    Required {
        /// The JSON path of the member.
        path: String,
    },
    /// A member has the wrong JSON type.
    #[error("{path}: must be {expected}")]
    WrongType {
        /// The JSON path of the member.
        path: String,
        /// What it must be, e.g. "a number".
        expected: &'static str,
    },
    /// A string member is empty (or only whitespace).
    #[error("{path}: must not be empty")]
    Empty {
        /// The JSON path of the member.
        path: String,
    },
    /// A string is longer than allowed.
    #[error("{path}: longer than {max} bytes")]
    TooLong {
        /// The JSON path of the member.
        path: String,
        /// The limit in bytes.
        max: usize,
    },
    /// Both the camelCase and the snake_case spelling of a key are given.
    #[error("{path}: both \"{first}\" and \"{second}\" are given; use one")]
    Conflict {
        /// The JSON path of the object holding both.
        path: String,
        /// One spelling.
        first: &'static str,
        /// The other spelling.
        second: &'static str,
    },
    /// The learner yields no key: no email and no DID or https URL.
    #[error("{path}: needs an email or a did")]
    NoLearnerKey {
        /// The JSON path of the learner (or Caliper assignee).
        path: String,
    },
    /// An email address is not of the form local@domain.
    #[error("{path}: must be an email address")]
    BadEmail {
        /// The JSON path of the member.
        path: String,
    },
    /// A learner's `did` is neither a DID nor an https URL.
    #[error("{path}: must be a DID (did:...) or an https URL")]
    BadDid {
        /// The JSON path of the member.
        path: String,
    },
    /// A date-time is not RFC 3339.
    #[error("{path}: must be an RFC 3339 date-time")]
    BadDateTime {
        /// The JSON path of the member.
        path: String,
    },
    /// An evidence URL is not an absolute URL.
    #[error("{path}: must be an absolute URL")]
    BadUrl {
        /// The JSON path of the member.
        path: String,
    },
    /// An evidence item has no url, id, name or narrative.
    #[error("{path}: evidence needs a url, name or narrative")]
    EmptyEvidence {
        /// The JSON path of the evidence item.
        path: String,
    },
    /// An entry in a Caliper envelope (or a bare Caliper event) is not a GradeEvent.
    #[error("{path}: Caliper event type {found:?} is not a GradeEvent")]
    NotGradeEvent {
        /// The JSON path of the entry, e.g. `$.data[2]`.
        path: String,
        /// Its `type`.
        found: String,
    },
    /// An envelope holds more than [`MAX_EVENTS`] events.
    #[error("$.data: too many events ({count}); at most {MAX_EVENTS} per envelope")]
    TooManyEvents {
        /// How many it holds.
        count: usize,
    },
    /// An array holds more items than allowed.
    #[error("{path}: too many items ({count}); at most {max}")]
    TooManyItems {
        /// The JSON path of the array.
        path: String,
        /// How many it holds.
        count: usize,
        /// The limit.
        max: usize,
    },
}

/// Why a webhook request is not authentic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A header is absent or empty (`webhook-id`, `webhook-timestamp` or `webhook-signature`).
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not unix seconds (decimal digits).
    #[error("the webhook-timestamp header must be unix seconds")]
    BadTimestamp,
    /// The timestamp is too far from now; the age is negative for a timestamp in the future.
    #[error("the webhook timestamp is {age_seconds} s from now (at most {WEBHOOK_TOLERANCE_SECONDS} s either way)")]
    Stale {
        /// `now - timestamp`, in seconds.
        age_seconds: i64,
    },
    /// No `v1` signature matches.
    #[error("no webhook signature matches")]
    BadSignature,
    /// The secret is not "whsec_" + base64 (or bare base64) of a non-empty key.
    #[error("the webhook secret must be \"whsec_\" followed by base64")]
    BadSecret,
}

// ---------------------------------------------------------------------------------------------
// Reading events
// ---------------------------------------------------------------------------------------------

/// The events in a request body: one generic event, or a Caliper 1.2 envelope.
pub fn parse_events(body: &Value) -> Result<Vec<LmsEvent>, InboundError> {
    let obj = body.as_object().ok_or(InboundError::NotObject)?;
    if obj.contains_key("data") && !obj.contains_key("type") {
        return parse_envelope(obj);
    }
    match obj.get("type").and_then(Value::as_str) {
        Some(CALIPER_GRADE_EVENT) => Ok(vec![parse_grade_event(obj, "$")?]),
        // A bare Caliper event of another type (it has Caliper's actor, action and object).
        Some(other) if ["actor", "action", "object"].iter().all(|k| obj.contains_key(*k)) => {
            Err(InboundError::NotGradeEvent { path: "$".into(), found: other.to_string() })
        }
        _ => Ok(vec![parse_generic(obj)?]),
    }
}

fn parse_envelope(obj: &Map<String, Value>) -> Result<Vec<LmsEvent>, InboundError> {
    for key in ["sensor", "sendTime", "dataVersion"] {
        opt_str(obj, "$", &[key], MAX_STRING_BYTES)?;
    }
    let data = match obj.get("data") {
        Some(Value::Array(data)) => data,
        Some(Value::Null) | None => return Err(required("$.data")),
        Some(_) => return Err(wrong_type("$.data", "an array")),
    };
    if data.len() > MAX_EVENTS {
        return Err(InboundError::TooManyEvents { count: data.len() });
    }
    data.iter()
        .enumerate()
        .map(|(i, entry)| {
            let path = format!("$.data[{i}]");
            let entry = entry.as_object().ok_or_else(|| wrong_type(&path, "an object"))?;
            parse_grade_event(entry, &path)
        })
        .collect()
}

fn parse_generic(obj: &Map<String, Value>) -> Result<LmsEvent, InboundError> {
    let id = req_str(obj, "$", "id", MAX_ID_BYTES)?;
    let event_type = req_str(obj, "$", "type", MAX_STRING_BYTES)?;
    let occurred_at = opt_datetime(obj, "$", &["occurredAt", "occurred_at"])?;

    let learner_obj = match obj.get("learner") {
        Some(Value::Object(o)) => o,
        Some(Value::Null) | None => return Err(required("$.learner")),
        Some(_) => return Err(wrong_type("$.learner", "an object")),
    };
    let email = match opt_str(learner_obj, "$.learner", &["email"], MAX_STRING_BYTES)? {
        Some((_, email)) => Some(normalize_email(&email, "$.learner.email")?),
        None => None,
    };
    let did = match opt_str(learner_obj, "$.learner", &["did"], MAX_STRING_BYTES)? {
        Some((_, did)) => {
            let did = did.trim().to_string();
            if !is_did(&did) && !is_https_url(&did) {
                return Err(InboundError::BadDid { path: "$.learner.did".into() });
            }
            Some(did)
        }
        None => None,
    };
    let name = opt_str(learner_obj, "$.learner", &["name"], MAX_STRING_BYTES)?.map(|(_, n)| n);
    let learner = Learner { email, did, name };
    if learner.key().is_none() {
        return Err(InboundError::NoLearnerKey { path: "$.learner".into() });
    }

    let mut fields = Map::new();
    if let Some(v) = opt_num(obj, "$", &["score"])? {
        fields.insert("score".into(), v);
    }
    if let Some(v) = opt_num(obj, "$", &["maxScore", "max_score"])? {
        fields.insert("max_score".into(), v);
    }
    if let Some((_, v)) = opt_str(obj, "$", &["course"], MAX_STRING_BYTES)? {
        fields.insert("course".into(), Value::String(v));
    }
    if let Some((_, v)) = opt_str(obj, "$", &["assessment"], MAX_STRING_BYTES)? {
        fields.insert("assessment".into(), Value::String(v));
    }
    if let Some(v) = opt_num(obj, "$", &["attempt"])? {
        fields.insert("attempt".into(), v);
    }
    if let Some(v) = opt_bool(obj, "$", &["passed"])? {
        fields.insert("passed".into(), Value::Bool(v));
    }
    insert_common_fields(&mut fields, &event_type, &learner);

    let evidence = parse_evidence(obj)?;
    Ok(LmsEvent { id, event_type, occurred_at, learner, fields, evidence })
}

fn parse_evidence(obj: &Map<String, Value>) -> Result<Vec<Value>, InboundError> {
    let items = match obj.get("evidence") {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => return Ok(Vec::new()),
        Some(_) => return Err(wrong_type("$.evidence", "an array")),
    };
    if items.len() > MAX_EVIDENCE {
        return Err(InboundError::TooManyItems {
            path: "$.evidence".into(),
            count: items.len(),
            max: MAX_EVIDENCE,
        });
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("$.evidence[{i}]");
        let item = item.as_object().ok_or_else(|| wrong_type(&path, "an object"))?;
        let url = match opt_str(item, &path, &["url", "id"], MAX_STRING_BYTES)? {
            Some((key, url)) => {
                if url::Url::parse(&url).is_err() {
                    return Err(InboundError::BadUrl { path: format!("{path}.{key}") });
                }
                Some(url)
            }
            None => None,
        };
        let name = opt_str(item, &path, &["name"], MAX_STRING_BYTES)?.map(|(_, v)| v);
        let narrative = opt_str(item, &path, &["narrative"], MAX_STRING_BYTES)?.map(|(_, v)| v);
        if url.is_none() && name.is_none() && narrative.is_none() {
            return Err(InboundError::EmptyEvidence { path });
        }
        let mut ev = Map::new();
        if let Some(url) = url {
            ev.insert("id".into(), Value::String(url));
        }
        ev.insert("type".into(), Value::Array(vec![Value::String("Evidence".into())]));
        if let Some(name) = name {
            ev.insert("name".into(), Value::String(name));
        }
        if let Some(narrative) = narrative {
            ev.insert("narrative".into(), Value::String(narrative));
        }
        out.push(Value::Object(ev));
    }
    Ok(out)
}

fn parse_grade_event(obj: &Map<String, Value>, path: &str) -> Result<LmsEvent, InboundError> {
    let event_type = req_str(obj, path, "type", MAX_STRING_BYTES)?;
    if event_type != CALIPER_GRADE_EVENT {
        return Err(InboundError::NotGradeEvent { path: path.to_string(), found: event_type });
    }
    let id = req_str(obj, path, "id", MAX_ID_BYTES)?;
    let occurred_at = opt_datetime(obj, path, &["eventTime"])?;

    let object_path = format!("{path}.object");
    let object = req_obj(obj, path, "object")?;
    let assignee_path = format!("{object_path}.assignee");
    let assignee = req_obj(object, &object_path, "assignee")?;
    let assignee_id =
        opt_str(assignee, &assignee_path, &["id"], MAX_STRING_BYTES)?.map(|(_, v)| v.trim().to_string());
    let did = assignee_id.filter(|id| is_did(id) || is_https_url(id));
    let email = match opt_str(assignee, &assignee_path, &["email"], MAX_STRING_BYTES)? {
        Some((_, email)) => Some(normalize_email(&email, &format!("{assignee_path}.email"))?),
        None => None,
    };
    let name = opt_str(assignee, &assignee_path, &["name"], MAX_STRING_BYTES)?.map(|(_, v)| v);
    let learner = Learner { email, did, name };
    if learner.key().is_none() {
        return Err(InboundError::NoLearnerKey { path: assignee_path });
    }

    let mut fields = Map::new();
    if let Some(generated) = opt_obj(obj, path, "generated")? {
        let generated_path = format!("{path}.generated");
        if let Some(v) = opt_num(generated, &generated_path, &["scoreGiven"])? {
            fields.insert("score".into(), v);
        }
        if let Some(v) = opt_num(generated, &generated_path, &["maxScore"])? {
            fields.insert("max_score".into(), v);
        }
    }
    let mut course = None;
    if let Some(assignable) = opt_obj(object, &object_path, "assignable")? {
        let assignable_path = format!("{object_path}.assignable");
        let assessment = req_str(assignable, &assignable_path, "id", MAX_STRING_BYTES)?;
        fields.insert("assessment".into(), Value::String(assessment));
        if let Some(part_of) = opt_obj(assignable, &assignable_path, "isPartOf")? {
            let part_of_path = format!("{assignable_path}.isPartOf");
            course = Some(req_str(part_of, &part_of_path, "id", MAX_STRING_BYTES)?);
        }
    }
    if course.is_none() {
        if let Some(group) = opt_obj(obj, path, "group")? {
            course = Some(req_str(group, &format!("{path}.group"), "id", MAX_STRING_BYTES)?);
        }
    }
    if let Some(course) = course {
        fields.insert("course".into(), Value::String(course));
    }
    if let Some(count @ Value::Number(_)) = object.get("count") {
        fields.insert("attempt".into(), count.clone());
    }
    insert_common_fields(&mut fields, &event_type, &learner);

    Ok(LmsEvent { id, event_type, occurred_at, learner, fields, evidence: Vec::new() })
}

fn insert_common_fields(fields: &mut Map<String, Value>, event_type: &str, learner: &Learner) {
    fields.insert("type".into(), Value::String(event_type.to_string()));
    if let Some(email) = &learner.email {
        fields.insert("learner.email".into(), Value::String(email.clone()));
    }
    if let Some(did) = &learner.did {
        fields.insert("learner.did".into(), Value::String(did.clone()));
    }
}

fn required(path: &str) -> InboundError {
    InboundError::Required { path: path.to_string() }
}

fn wrong_type(path: &str, expected: &'static str) -> InboundError {
    InboundError::WrongType { path: path.to_string(), expected }
}

fn is_did(s: &str) -> bool {
    s.len() > 4 && s.starts_with("did:")
}

fn is_https_url(s: &str) -> bool {
    matches!(url::Url::parse(s), Ok(u) if u.scheme() == "https" && u.host().is_some())
}

fn normalize_email(email: &str, path: &str) -> Result<String, InboundError> {
    let email = email.trim().to_lowercase();
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(email)
    } else {
        Err(InboundError::BadEmail { path: path.to_string() })
    }
}

/// The member under one of `names` (its spellings), if any; null counts as absent; two
/// spellings present is a conflict.
fn lookup<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    names: &[&'static str],
) -> Result<Option<(&'static str, &'a Value)>, InboundError> {
    let mut found: Option<(&'static str, &'a Value)> = None;
    for &name in names {
        match obj.get(name) {
            None | Some(Value::Null) => {}
            Some(v) => {
                if let Some((first, _)) = found {
                    return Err(InboundError::Conflict { path: path.to_string(), first, second: name });
                }
                found = Some((name, v));
            }
        }
    }
    Ok(found)
}

fn child(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

/// An optional non-empty string of at most `max` bytes: (the key it was under, the value).
fn opt_str(
    obj: &Map<String, Value>,
    path: &str,
    names: &[&'static str],
    max: usize,
) -> Result<Option<(&'static str, String)>, InboundError> {
    let Some((key, v)) = lookup(obj, path, names)? else {
        return Ok(None);
    };
    let p = || child(path, key);
    let s = v.as_str().ok_or_else(|| wrong_type(&p(), "a string"))?;
    if s.len() > max {
        return Err(InboundError::TooLong { path: p(), max });
    }
    if s.trim().is_empty() {
        return Err(InboundError::Empty { path: p() });
    }
    Ok(Some((key, s.to_string())))
}

fn req_str(
    obj: &Map<String, Value>,
    path: &str,
    name: &'static str,
    max: usize,
) -> Result<String, InboundError> {
    opt_str(obj, path, &[name], max)?.map(|(_, v)| v).ok_or_else(|| required(&child(path, name)))
}

fn opt_num(
    obj: &Map<String, Value>,
    path: &str,
    names: &[&'static str],
) -> Result<Option<Value>, InboundError> {
    match lookup(obj, path, names)? {
        None => Ok(None),
        Some((_, v @ Value::Number(_))) => Ok(Some(v.clone())),
        Some((key, _)) => Err(wrong_type(&child(path, key), "a number")),
    }
}

fn opt_bool(
    obj: &Map<String, Value>,
    path: &str,
    names: &[&'static str],
) -> Result<Option<bool>, InboundError> {
    match lookup(obj, path, names)? {
        None => Ok(None),
        Some((_, Value::Bool(b))) => Ok(Some(*b)),
        Some((key, _)) => Err(wrong_type(&child(path, key), "a boolean")),
    }
}

fn opt_obj<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    name: &'static str,
) -> Result<Option<&'a Map<String, Value>>, InboundError> {
    match lookup(obj, path, &[name])? {
        None => Ok(None),
        Some((_, Value::Object(o))) => Ok(Some(o)),
        Some((key, _)) => Err(wrong_type(&child(path, key), "an object")),
    }
}

fn req_obj<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    name: &'static str,
) -> Result<&'a Map<String, Value>, InboundError> {
    opt_obj(obj, path, name)?.ok_or_else(|| required(&child(path, name)))
}

fn opt_datetime(
    obj: &Map<String, Value>,
    path: &str,
    names: &[&'static str],
) -> Result<Option<String>, InboundError> {
    let Some((key, s)) = opt_str(obj, path, names, MAX_STRING_BYTES)? else {
        return Ok(None);
    };
    if chrono::DateTime::parse_from_rfc3339(&s).is_err() {
        return Err(InboundError::BadDateTime { path: child(path, key) });
    }
    Ok(Some(s))
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks
// ---------------------------------------------------------------------------------------------

type HmacSha256 = Hmac<Sha256>;

const SECRET_PREFIX: &str = "whsec_";

fn decode_secret(secret: &str) -> Result<Vec<u8>, WebhookError> {
    use base64::Engine as _;
    let secret = secret.trim();
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| WebhookError::BadSecret)?;
    if key.is_empty() {
        return Err(WebhookError::BadSecret);
    }
    Ok(key)
}

fn mac_for(key: &[u8], webhook_id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Standard Webhooks (standardwebhooks.com) verification: `secret` is `"whsec_"` + base64 of the
/// key bytes (a bare base64 secret is accepted too); the signed content is
/// `"{webhook_id}.{webhook_timestamp}.{body}"`; the signature header is a space-separated list of
/// `"v1,<base64 HMAC-SHA256>"` (any one matching suffices; other versions are ignored); timestamps
/// more than [`WEBHOOK_TOLERANCE_SECONDS`] (300) away from `now` (unix seconds) in either
/// direction are refused.
///
/// The timestamp is signed as the header gives it, and must be decimal digits only.
pub fn verify_webhook(
    secret: &str,
    webhook_id: &str,
    webhook_timestamp: &str,
    webhook_signature: &str,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    if webhook_id.trim().is_empty() {
        return Err(WebhookError::MissingHeader("webhook-id"));
    }
    if webhook_timestamp.trim().is_empty() {
        return Err(WebhookError::MissingHeader("webhook-timestamp"));
    }
    if webhook_signature.trim().is_empty() {
        return Err(WebhookError::MissingHeader("webhook-signature"));
    }
    let key = decode_secret(secret)?;
    if webhook_timestamp.len() > 18 || !webhook_timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::BadTimestamp);
    }
    let timestamp: i64 = webhook_timestamp.parse().map_err(|_| WebhookError::BadTimestamp)?;
    let age_seconds = now.saturating_sub(timestamp);
    if age_seconds.saturating_abs() > WEBHOOK_TOLERANCE_SECONDS {
        return Err(WebhookError::Stale { age_seconds });
    }
    use base64::Engine as _;
    for candidate in webhook_signature.split_whitespace() {
        let Some(b64) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            continue;
        };
        // verify_slice compares in constant time.
        if mac_for(&key, webhook_id, webhook_timestamp, body).verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(WebhookError::BadSignature)
}

/// Signs like a sender would (for tests and `laurel` tooling): returns the `"v1,<base64>"` header value.
pub fn sign_webhook(
    secret: &str,
    webhook_id: &str,
    webhook_timestamp: i64,
    body: &[u8],
) -> Result<String, WebhookError> {
    use base64::Engine as _;
    let key = decode_secret(secret)?;
    let tag = mac_for(&key, webhook_id, &webhook_timestamp.to_string(), body).finalize().into_bytes();
    Ok(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(tag)))
}

/// A new random secret `"whsec_<base64 of 24 random bytes>"` (from the OS's generator).
pub fn new_webhook_secret() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(body: Value) -> String {
        parse_events(&body).unwrap_err().to_string()
    }

    #[test]
    fn generic_event_camel_case_maps_exactly() {
        let body = json!({
            "id": "evt-1", "type": "assessment_passed", "occurredAt": "2026-01-02T03:04:05Z",
            "learner": {"email": "  Ada@Example.ORG ", "did": "did:key:z6MkAda", "name": "Ada"},
            "course": "py-101", "assessment": "quiz-3", "score": 80, "maxScore": 100,
            "attempt": 1, "passed": true,
            "evidence": [
                {"url": "https://lms.example/sub/9", "name": "Quiz 3", "narrative": "Passed."},
                {"id": "https://lms.example/sub/10"},
                {"narrative": "Only words."}
            ]
        });
        let events = parse_events(&body).unwrap();
        assert_eq!(
            events,
            vec![LmsEvent {
                id: "evt-1".into(),
                event_type: "assessment_passed".into(),
                occurred_at: Some("2026-01-02T03:04:05Z".into()),
                learner: Learner {
                    email: Some("ada@example.org".into()),
                    did: Some("did:key:z6MkAda".into()),
                    name: Some("Ada".into()),
                },
                fields: json!({
                    "score": 80, "max_score": 100, "course": "py-101", "assessment": "quiz-3",
                    "attempt": 1, "passed": true, "type": "assessment_passed",
                    "learner.email": "ada@example.org", "learner.did": "did:key:z6MkAda"
                })
                .as_object()
                .unwrap()
                .clone(),
                evidence: vec![
                    json!({"id": "https://lms.example/sub/9", "type": ["Evidence"],
                           "name": "Quiz 3", "narrative": "Passed."}),
                    json!({"id": "https://lms.example/sub/10", "type": ["Evidence"]}),
                    json!({"type": ["Evidence"], "narrative": "Only words."}),
                ],
            }]
        );
        assert_eq!(events[0].learner.key().as_deref(), Some("ada@example.org"));
    }

    #[test]
    fn generic_event_snake_case_maps_exactly() {
        let body = json!({
            "id": "evt-2", "type": "course_completed", "occurred_at": "2026-01-02T03:04:05+01:00",
            "learner": {"did": "https://lms.example/users/7"},
            "score": 9.5, "max_score": 10, "passed": false
        });
        let events = parse_events(&body).unwrap();
        assert_eq!(
            events,
            vec![LmsEvent {
                id: "evt-2".into(),
                event_type: "course_completed".into(),
                occurred_at: Some("2026-01-02T03:04:05+01:00".into()),
                learner: Learner { email: None, did: Some("https://lms.example/users/7".into()), name: None },
                fields: json!({
                    "score": 9.5, "max_score": 10, "passed": false, "type": "course_completed",
                    "learner.did": "https://lms.example/users/7"
                })
                .as_object()
                .unwrap()
                .clone(),
                evidence: vec![],
            }]
        );
        assert_eq!(events[0].learner.key().as_deref(), Some("https://lms.example/users/7"));
    }

    #[test]
    fn learner_key() {
        let l = Learner { email: Some(" A@B.C ".into()), did: Some("did:web:x".into()), name: None };
        assert_eq!(l.key().as_deref(), Some("a@b.c"));
        let l = Learner { email: None, did: Some("did:web:x".into()), name: None };
        assert_eq!(l.key().as_deref(), Some("did:web:x"));
        assert_eq!(Learner::default().key(), None);
    }

    /// Modelled on the Caliper 1.2 specification's GradeEvent example (section "GradeEvent"),
    /// with a second event for another learner known by DID and email.
    fn caliper_envelope() -> Value {
        let grade_event = json!({
            "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
            "id": "urn:uuid:a50ca17f-5971-47bb-8fca-4e6e6879001d",
            "type": "GradeEvent",
            "actor": {
                "id": "https://example.edu/autograder",
                "type": "SoftwareApplication",
                "version": "v2"
            },
            "action": "Graded",
            "object": {
                "id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1/users/554433/attempts/1",
                "type": "Attempt",
                "assignee": {"id": "https://example.edu/users/554433", "type": "Person"},
                "assignable": {
                    "id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1",
                    "type": "Assessment"
                },
                "count": 1,
                "dateCreated": "2018-11-15T10:05:00.000Z",
                "startedAtTime": "2018-11-15T10:05:00.000Z",
                "endedAtTime": "2018-11-15T10:55:12.000Z",
                "duration": "PT50M12S"
            },
            "eventTime": "2018-11-15T10:57:06.000Z",
            "edApp": "https://example.edu",
            "generated": {
                "id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1/users/554433/attempts/1/scores/1",
                "type": "Score",
                "attempt": "https://example.edu/terms/201801/courses/7/sections/1/assess/1/users/554433/attempts/1",
                "maxScore": 15.0,
                "scoreGiven": 10.0,
                "scoredBy": "https://example.edu/autograder",
                "comment": "auto-graded exam",
                "dateCreated": "2018-11-15T10:56:00.000Z"
            },
            "group": {
                "id": "https://example.edu/terms/201801/courses/7/sections/1",
                "type": "CourseOffering",
                "courseNumber": "CPS 435-01",
                "academicSession": "Fall 2018"
            },
            "sessionId": "https://example.edu/sessions/1f6442a482de72ea6ad134943812bff564a76259"
        });
        let second = json!({
            "id": "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d916",
            "type": "GradeEvent",
            "actor": {"id": "https://example.edu/autograder", "type": "SoftwareApplication"},
            "action": "Graded",
            "object": {
                "id": "https://example.edu/attempts/2",
                "type": "Attempt",
                "assignee": {
                    "id": "did:key:z6MkLearner", "type": "Person",
                    "email": "Grace@Example.edu", "name": "Grace"
                },
                "assignable": {
                    "id": "https://example.edu/courses/8/assess/2",
                    "type": "Assessment",
                    "name": "Final exam",
                    "isPartOf": {"id": "https://example.edu/courses/8", "type": "CourseOffering"}
                },
                "count": "2"
            },
            "eventTime": "2018-11-16T09:00:00.000Z",
            "generated": {"id": "https://example.edu/scores/2", "type": "Score",
                          "scoreGiven": 92, "maxScore": 100},
            "group": {"id": "https://example.edu/courses/8/sections/3", "type": "CourseSection"}
        });
        json!({
            "sensor": "https://example.edu/sensors/1",
            "sendTime": "2018-11-16T09:00:01.000Z",
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
            "data": [grade_event, second]
        })
    }

    #[test]
    fn caliper_envelope_maps_exactly() {
        let events = parse_events(&caliper_envelope()).unwrap();
        let fields = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            events,
            vec![
                LmsEvent {
                    id: "urn:uuid:a50ca17f-5971-47bb-8fca-4e6e6879001d".into(),
                    event_type: "GradeEvent".into(),
                    occurred_at: Some("2018-11-15T10:57:06.000Z".into()),
                    learner: Learner {
                        email: None,
                        did: Some("https://example.edu/users/554433".into()),
                        name: None,
                    },
                    fields: fields(json!({
                        "score": 10.0, "max_score": 15.0,
                        "assessment": "https://example.edu/terms/201801/courses/7/sections/1/assess/1",
                        "course": "https://example.edu/terms/201801/courses/7/sections/1",
                        "attempt": 1, "type": "GradeEvent",
                        "learner.did": "https://example.edu/users/554433"
                    })),
                    evidence: vec![],
                },
                LmsEvent {
                    id: "urn:uuid:7e10e4f3-a0d8-4430-95bd-783ffae4d916".into(),
                    event_type: "GradeEvent".into(),
                    occurred_at: Some("2018-11-16T09:00:00.000Z".into()),
                    learner: Learner {
                        email: Some("grace@example.edu".into()),
                        did: Some("did:key:z6MkLearner".into()),
                        name: Some("Grace".into()),
                    },
                    // isPartOf wins over group; a count that is not a number is not an attempt.
                    fields: fields(json!({
                        "score": 92, "max_score": 100,
                        "assessment": "https://example.edu/courses/8/assess/2",
                        "course": "https://example.edu/courses/8",
                        "type": "GradeEvent",
                        "learner.email": "grace@example.edu",
                        "learner.did": "did:key:z6MkLearner"
                    })),
                    evidence: vec![],
                },
            ]
        );
    }

    #[test]
    fn bare_grade_event_is_read() {
        let envelope = caliper_envelope();
        let bare = envelope["data"][0].clone();
        let events = parse_events(&bare).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].id, "urn:uuid:a50ca17f-5971-47bb-8fca-4e6e6879001d");
        assert_eq!(events[0].fields["score"], json!(10.0));
    }

    #[test]
    fn caliper_http_assignee_without_email_is_refused() {
        let mut envelope = caliper_envelope();
        envelope["data"][0]["object"]["assignee"]["id"] = json!("http://example.edu/users/1");
        assert_eq!(err(envelope), "$.data[0].object.assignee: needs an email or a did");
    }

    #[test]
    fn refusals_name_their_paths() {
        assert_eq!(err(json!([1, 2])), "the body must be a JSON object");
        assert_eq!(err(json!({"type": "x", "learner": {"email": "a@b.c"}})), "$.id is required");
        assert_eq!(err(json!({"id": "e", "type": "x"})), "$.learner is required");
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"name": "Ada"}})),
            "$.learner: needs an email or a did"
        );
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"email": "a@b.c"}, "score": "80"})),
            "$.score: must be a number"
        );
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"email": "a@b.c"}, "max_score": true})),
            "$.max_score: must be a number"
        );
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"email": "a@b.c"}, "course": 7})),
            "$.course: must be a string"
        );
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"email": "a@b.c"},
                       "maxScore": 1, "max_score": 1})),
            "$: both \"maxScore\" and \"max_score\" are given; use one"
        );
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"email": "nope"}})),
            "$.learner.email: must be an email address"
        );
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"did": "http://x.example/u"}})),
            "$.learner.did: must be a DID (did:...) or an https URL"
        );
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"email": "a@b.c"},
                       "occurredAt": "yesterday"})),
            "$.occurredAt: must be an RFC 3339 date-time"
        );
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"email": "a@b.c"},
                       "evidence": [{"name": "ok"}, {}]})),
            "$.evidence[1]: evidence needs a url, name or narrative"
        );
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"email": "a@b.c"},
                       "evidence": [{"url": "not a url"}]})),
            "$.evidence[0].url: must be an absolute URL"
        );
        assert_eq!(
            err(json!({"id": "e", "type": "", "learner": {"email": "a@b.c"}})),
            "$.type: must not be empty"
        );
    }

    #[test]
    fn navigation_event_refuses_the_envelope() {
        let mut envelope = caliper_envelope();
        let data = envelope["data"].as_array_mut().unwrap();
        data.push(json!({
            "id": "urn:uuid:ff9ec22a-fc59-4ae1-ae8d-2c9463ee2f8f",
            "type": "NavigationEvent",
            "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
            "action": "NavigatedTo",
            "object": {"id": "https://example.edu/terms/201801/courses/7/sections/1/pages/2",
                       "type": "WebPage"},
            "eventTime": "2018-11-15T10:15:00.000Z"
        }));
        assert_eq!(
            err(envelope.clone()),
            "$.data[2]: Caliper event type \"NavigationEvent\" is not a GradeEvent"
        );
        let bare = envelope["data"][2].clone();
        assert_eq!(err(bare), "$: Caliper event type \"NavigationEvent\" is not a GradeEvent");
    }

    #[test]
    fn too_many_events() {
        let one = caliper_envelope()["data"][0].clone();
        let envelope = json!({"sensor": "s", "data": vec![one.clone(); MAX_EVENTS + 1]});
        assert_eq!(parse_events(&envelope), Err(InboundError::TooManyEvents { count: 1001 }));
        assert_eq!(err(envelope), "$.data: too many events (1001); at most 1000 per envelope");
        let envelope = json!({"sensor": "s", "data": vec![one; MAX_EVENTS]});
        assert_eq!(parse_events(&envelope).unwrap().len(), MAX_EVENTS);
    }

    #[test]
    fn overlong_strings() {
        let long = "x".repeat(MAX_STRING_BYTES + 1);
        assert_eq!(
            err(json!({"id": "e", "type": "x", "learner": {"email": "a@b.c"}, "course": long})),
            "$.course: longer than 2048 bytes"
        );
        let mut envelope = caliper_envelope();
        envelope["data"][1]["object"]["assignable"]["name"] = json!("ok");
        envelope["data"][1]["object"]["assignee"]["name"] = json!(long);
        assert_eq!(err(envelope), "$.data[1].object.assignee.name: longer than 2048 bytes");
        let long_id = "i".repeat(MAX_ID_BYTES + 1);
        assert_eq!(
            err(json!({"id": long_id, "type": "x", "learner": {"email": "a@b.c"}})),
            "$.id: longer than 256 bytes"
        );
        let id = "i".repeat(MAX_ID_BYTES);
        assert!(parse_events(&json!({"id": id, "type": "x", "learner": {"email": "a@b.c"}})).is_ok());
    }

    // --- webhooks ---------------------------------------------------------------------------

    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1614265330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    /// Computed independently with Python's `hmac` (HMAC-SHA256 over
    /// "msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}" keyed by the base64-decoded
    /// secret); equal to the Standard Webhooks specification's example signature.
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn known_answer_from_the_spec() {
        assert_eq!(sign_webhook(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY).unwrap(), SPEC_SIGNATURE);
        let ts = SPEC_TS.to_string();
        assert_eq!(verify_webhook(SPEC_SECRET, SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS), Ok(()));
        // A bare base64 secret is the same key.
        let bare = SPEC_SECRET.strip_prefix("whsec_").unwrap();
        assert_eq!(verify_webhook(bare, SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS + 10), Ok(()));
    }

    #[test]
    fn sign_then_verify() {
        let secret = new_webhook_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret.len(), "whsec_".len() + 32);
        assert_ne!(secret, new_webhook_secret());
        let body = br#"{"id":"evt-1"}"#;
        let now = 1_700_000_000;
        let sig = sign_webhook(&secret, "msg_1", now, body).unwrap();
        assert_eq!(verify_webhook(&secret, "msg_1", &now.to_string(), &sig, body, now), Ok(()));
    }

    #[test]
    fn webhook_refusals() {
        let ts = SPEC_TS.to_string();
        let verify = |secret: &str, id: &str, ts: &str, sig: &str, body: &[u8], now: i64| {
            verify_webhook(secret, id, ts, sig, body, now)
        };
        let other = new_webhook_secret();
        assert_eq!(
            verify(&other, SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(SPEC_SECRET, SPEC_ID, &ts, SPEC_SIGNATURE, br#"{"test": 2432232315}"#, SPEC_TS),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(SPEC_SECRET, "msg_other", &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS),
            Err(WebhookError::BadSignature)
        );
        // 301 s old, 301 s in the future; 300 either way is still fine.
        assert_eq!(
            verify(SPEC_SECRET, SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS + 301),
            Err(WebhookError::Stale { age_seconds: 301 })
        );
        assert_eq!(
            verify(SPEC_SECRET, SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS - 301),
            Err(WebhookError::Stale { age_seconds: -301 })
        );
        assert_eq!(verify(SPEC_SECRET, SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS + 300), Ok(()));
        assert_eq!(verify(SPEC_SECRET, SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS - 300), Ok(()));
        for bad in ["16142653x0", "-1614265330", "+1614265330", "1614265330.0", " 1614265330"] {
            assert_eq!(
                verify(SPEC_SECRET, SPEC_ID, bad, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS),
                Err(WebhookError::BadTimestamp),
                "{bad}"
            );
        }
        let unprefixed = SPEC_SIGNATURE.strip_prefix("v1,").unwrap();
        assert_eq!(
            verify(SPEC_SECRET, SPEC_ID, &ts, unprefixed, SPEC_BODY, SPEC_TS),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(SPEC_SECRET, SPEC_ID, &ts, &format!("v2,{unprefixed}"), SPEC_BODY, SPEC_TS),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(SPEC_SECRET, "", &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS),
            Err(WebhookError::MissingHeader("webhook-id"))
        );
        assert_eq!(
            verify(SPEC_SECRET, SPEC_ID, "", SPEC_SIGNATURE, SPEC_BODY, SPEC_TS),
            Err(WebhookError::MissingHeader("webhook-timestamp"))
        );
        assert_eq!(
            verify(SPEC_SECRET, SPEC_ID, &ts, " ", SPEC_BODY, SPEC_TS),
            Err(WebhookError::MissingHeader("webhook-signature"))
        );
        for bad_secret in ["whsec_", "whsec_not base64!", ""] {
            assert_eq!(
                verify(bad_secret, SPEC_ID, &ts, SPEC_SIGNATURE, SPEC_BODY, SPEC_TS),
                Err(WebhookError::BadSecret),
                "{bad_secret}"
            );
            assert_eq!(sign_webhook(bad_secret, SPEC_ID, SPEC_TS, SPEC_BODY), Err(WebhookError::BadSecret));
        }
    }

    #[test]
    fn several_signatures_any_one_suffices() {
        let ts = SPEC_TS.to_string();
        let wrong = sign_webhook(&new_webhook_secret(), SPEC_ID, SPEC_TS, SPEC_BODY).unwrap();
        let header = format!("v1a,xyz v2,abc {wrong} v1,!!notbase64 {SPEC_SIGNATURE}");
        assert_eq!(verify_webhook(SPEC_SECRET, SPEC_ID, &ts, &header, SPEC_BODY, SPEC_TS), Ok(()));
        assert_eq!(
            verify_webhook(SPEC_SECRET, SPEC_ID, &ts, &wrong, SPEC_BODY, SPEC_TS),
            Err(WebhookError::BadSignature)
        );
    }
}
