//! Badge programs: the achievement catalog, awards, award rules, stackable pathways, and the
//! events learning systems send, processed exactly once.
//!
//! Every award has a deterministic credential id (this issuer's namespace, the learner and the
//! achievement), so a learner holds at most one badge per achievement however often an event is
//! delivered or re-processed after a crash: the store refuses a second credential with that id.
//! Events are stored durably (pending) before they are acknowledged, and a worker processes the
//! pending ones, at start too. An event's badges (the award and any pathway credentials it
//! completes), the held awards it puts or releases, and its done marker are one write
//! ([`Batch`]): after a crash either all of it is there or the event is still pending.

use crate::program::condition::{Condition, FieldType};
use crate::program::inbound::{self, LmsEvent};

use super::*;
use crate::store::Batch;

const ACHIEVEMENT: &str = "achievement";
const RULE: &str = "rule";
const PATHWAY: &str = "pathway";
const EVENT: &str = "event";
const SENDER: &str = "sender";
const IDEMPOTENCY: &str = "idempotency";
/// The work queue: one marker per event accepted and not yet processed.
const PENDING: &str = "pending-event";
/// Awards held until their prerequisites arrive (pathways with `queue`), by credential id,
/// one kind per learner so that only the learner's own are read after each award.
fn deferred_kind(learner: &str) -> String {
    format!("deferred-award/{learner}")
}

/// The event fields conditions may read, and their types.
pub const EVENT_FIELDS: &[(&str, FieldType)] = &[
    ("score", FieldType::Number),
    ("max_score", FieldType::Number),
    ("attempt", FieldType::Number),
    ("course", FieldType::String),
    ("assessment", FieldType::String),
    ("type", FieldType::String),
    ("learner.email", FieldType::String),
    ("passed", FieldType::Bool),
];

/// Who receives an award.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwardRecipient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl AwardRecipient {
    /// The learner's key: the normalized email, else the DID or URL.
    pub fn key(&self) -> Result<String, ServiceError> {
        // One normalization for awards asked for over HTTP and for LMS events (the key is part
        // of the award's credential id, so the two must agree).
        let learner = inbound::Learner {
            email: self.email.clone(),
            did: self.did.clone().or_else(|| self.url.clone()),
            name: None,
        };
        let key =
            learner.key().ok_or_else(|| ServiceError::bad("the recipient needs an email, a did or a url"))?;
        let is_email = self.email.as_deref().is_some_and(|e| !e.trim().is_empty());
        let valid = if is_email {
            key.contains('@') && key.len() <= 254 && !key.contains(char::is_whitespace)
        } else {
            url::Url::parse(&key).is_ok()
        };
        if !valid {
            let what = if is_email { "an email address" } else { "a DID or URL" };
            return Err(ServiceError::bad(format!("recipient {key:?} is not {what}")));
        }
        Ok(key)
    }
}

/// `POST /achievements/{id}/awards`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwardRequest {
    pub recipient: AwardRecipient,
    /// OB 3.0 Evidence objects (or URLs).
    #[serde(default)]
    pub evidence: Vec<Value>,
    /// OB 3.0 Result objects.
    #[serde(default)]
    pub results: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// When the award counts from (default: now), e.g. the day a spreadsheet says it was earned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
}

/// `POST /rules`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    /// The event type the rule listens to (`assessment_passed`, `GradeEvent`, ...).
    pub event: String,
    /// A condition over the event's fields, e.g. `course == "py-101" and score >= 80`.
    #[serde(default = "always")]
    pub condition: String,
    /// The achievement awarded (its id or URL).
    pub award: String,
}

fn always() -> String {
    "true".into()
}

/// `POST /pathways`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PathwayRequest {
    /// The achievement the pathway awards.
    pub achievement: String,
    /// Its prerequisite achievements.
    pub requires: Vec<String>,
    /// How many of `requires` are needed (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// `true` (default): the achievement is issued automatically once its prerequisites are
    /// earned (a certificate). `false`: they only gate awarding it (a level that still needs its
    /// own assessment).
    #[serde(default = "yes")]
    pub automatic: bool,
    /// With `automatic: false`: an award asked for before the prerequisites is held and issued
    /// when they arrive, instead of refused.
    #[serde(default)]
    pub queue: bool,
}

fn yes() -> bool {
    true
}

/// What became of one award attempt.
/// What an award and the pathways it completes will write, committed as one [`Batch`]; read
/// through, so a pathway sees the badge earned a moment ago in the same award.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) batch: Batch,
}

impl Pending {
    fn credential(&self, id: &str) -> Option<&CredentialRecord> {
        self.batch.credentials.iter().find(|r| r.id == id)
    }

    /// A learner's held awards: the stored ones, with this batch's puts and releases applied.
    fn held_awards(&self, store: &dyn Store, learner: &str) -> Result<Vec<(String, Value)>, ServiceError> {
        let kind = deferred_kind(learner);
        let released = |id: &str| self.batch.deletes.iter().any(|(k, i)| *k == kind && i == id);
        let mut held: Vec<(String, Value)> =
            store.list_documents(&kind)?.into_iter().filter(|(id, _)| !released(id)).collect();
        for (k, id, document) in &self.batch.puts {
            if *k == kind && !released(id) && !held.iter().any(|(i, _)| i == id) {
                held.push((id.clone(), document.clone()));
            }
        }
        Ok(held)
    }
}

pub(super) enum Awarded {
    New(Box<CredentialRecord>),
    Already(String),
    /// Held until the prerequisites arrive (its future credential id).
    Deferred(String),
}

/// What `POST /achievements/{id}/awards` did.
pub enum AwardOutcome {
    /// The badge, and whether this call issued it (`false`: a repeated Idempotency-Key).
    Issued(Box<CredentialRecord>, bool),
    /// Held until the learner earns the prerequisites (the pathway queues awards).
    Deferred { credential_id: String, learner: String },
}

pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) fn audit(action: &str, subject: &str) -> crate::store::AuditEntry {
    crate::store::AuditEntry::now(action, subject, None)
}

/// The short id of an achievement given by id or by URL.
pub fn achievement_short_id(id_or_url: &str) -> &str {
    id_or_url.rsplit('/').next().unwrap_or(id_or_url)
}

impl Service {
    fn achievement_url(&self, id: &str) -> String {
        format!("{}/achievements/{id}", self.settings.base_url)
    }

    /// `POST /achievements`: an OB 3.0 Achievement without `id`; stored with one.
    pub fn create_achievement(&self, body: &Value) -> Result<Value, ServiceError> {
        let id = uuid::Uuid::new_v4().to_string();
        let achievement = self.checked_achievement(body, &id)?;
        let record =
            json!({"achievement": achievement, "retired": false, "createdAt": now(), "updatedAt": now()});
        durable(|| self.store.put_document(ACHIEVEMENT, &id, &record, &audit("achievement-create", &id)))?;
        Ok(achievement_view(&id, &record))
    }

    fn checked_achievement(&self, body: &Value, id: &str) -> Result<Value, ServiceError> {
        let object =
            body.as_object().ok_or_else(|| ServiceError::bad("an achievement must be a JSON object"))?;
        if object.get("id").is_some_and(|given| given.as_str() != Some(&self.achievement_url(id))) {
            return Err(ServiceError::bad("send the achievement without \"id\": the server gives it one"));
        }
        let mut achievement = object.clone();
        achievement.insert("id".into(), json!(self.achievement_url(id)));
        achievement.entry("type").or_insert(json!(["Achievement"]));
        let mut problems = Vec::new();
        for field in ["name", "description"] {
            if achievement.get(field).and_then(Value::as_str).is_none_or(|s| s.trim().is_empty()) {
                problems.push(FieldProblem {
                    path: format!("$.{field}"),
                    message: format!("\"{field}\" is required"),
                });
            }
        }
        match achievement.get("criteria") {
            Some(Value::Object(c)) if c.contains_key("narrative") || c.contains_key("id") => {}
            _ => problems.push(FieldProblem {
                path: "$.criteria".into(),
                message: "\"criteria\" needs a \"narrative\" and/or an \"id\" (URL)".into(),
            }),
        }
        if let Some(alignments) = achievement.get("alignment") {
            for (i, a) in alignments.as_array().into_iter().flatten().enumerate() {
                if a.get("targetName").and_then(Value::as_str).is_none()
                    || a.get("targetUrl").and_then(Value::as_str).is_none()
                {
                    problems.push(FieldProblem {
                        path: format!("$.alignment[{i}]"),
                        message: "an alignment needs \"targetName\" and \"targetUrl\"".into(),
                    });
                }
            }
            if !alignments.is_array() {
                problems
                    .push(FieldProblem { path: "$.alignment".into(), message: "must be an array".into() });
            }
        }
        if !problems.is_empty() {
            return Err(ServiceError::BadRequest("the achievement is invalid".into(), problems));
        }
        if let Some(alignments) = achievement.get_mut("alignment").and_then(Value::as_array_mut) {
            for a in alignments.iter_mut().filter_map(Value::as_object_mut) {
                a.entry("type").or_insert(json!(["Alignment"]));
            }
        }
        Ok(Value::Object(achievement))
    }

    pub(super) fn achievement_record(&self, id_or_url: &str) -> Result<(String, Value), ServiceError> {
        let id = achievement_short_id(id_or_url).to_string();
        let record = self
            .store
            .get_document(ACHIEVEMENT, &id)?
            .ok_or_else(|| ServiceError::NotFound(format!("no achievement {id_or_url:?}")))?;
        Ok((id, record))
    }

    pub fn achievement(&self, id: &str) -> Result<Value, ServiceError> {
        let (id, record) = self.achievement_record(id)?;
        Ok(achievement_view(&id, &record))
    }

    pub fn list_achievements(&self) -> Result<Vec<Value>, ServiceError> {
        Ok(self.store.list_documents(ACHIEVEMENT)?.iter().map(|(id, r)| achievement_view(id, r)).collect())
    }

    /// Replaces an achievement's fields. Badges already issued embed the old version and keep it.
    pub fn update_achievement(&self, id: &str, body: &Value) -> Result<Value, ServiceError> {
        let (id, mut record) = self.achievement_record(id)?;
        record["achievement"] = self.checked_achievement(body, &id)?;
        record["updatedAt"] = json!(now());
        durable(|| self.store.put_document(ACHIEVEMENT, &id, &record, &audit("achievement-update", &id)))?;
        Ok(achievement_view(&id, &record))
    }

    /// Retiring stops new awards; what was issued stays valid.
    pub fn retire_achievement(&self, id: &str) -> Result<Value, ServiceError> {
        let (id, mut record) = self.achievement_record(id)?;
        record["retired"] = json!(true);
        record["updatedAt"] = json!(now());
        durable(|| self.store.put_document(ACHIEVEMENT, &id, &record, &audit("achievement-retire", &id)))?;
        Ok(achievement_view(&id, &record))
    }

    /// The credential id of `learner`'s badge for the achievement `url`: one per pair.
    fn award_id(&self, learner: &str, achievement_url: &str) -> Result<String, ServiceError> {
        let namespace = self.achievement_namespace()?;
        let name = format!("award\0{learner}\0{achievement_url}");
        Ok(format!("urn:uuid:{}", uuid::Uuid::new_v5(&namespace, name.as_bytes())))
    }

    /// `POST /achievements/{id}/awards`. With an `Idempotency-Key`, a repeat returns the
    /// credential the first call issued (`false`: not new).
    pub async fn award(
        &self,
        achievement: &str,
        request: AwardRequest,
        idempotency_key: Option<&str>,
    ) -> Result<AwardOutcome, ServiceError> {
        let (id, _) = self.achievement_record(achievement)?;
        let learner = request.recipient.key()?;
        if let Some(key) = idempotency_key {
            if key.is_empty() || key.len() > 255 {
                return Err(ServiceError::bad("Idempotency-Key must be 1 to 255 characters"));
            }
            if let Some(seen) = self.store.get_document(IDEMPOTENCY, key)? {
                if seen["achievement"] != json!(id) || seen["learner"] != json!(learner) {
                    return Err(ServiceError::Conflict(format!(
                        "Idempotency-Key {key:?} was used for another award"
                    )));
                }
                let credential = seen["credentialId"].as_str().unwrap_or_default();
                return match self.store.get_credential(credential)? {
                    Some(record) => Ok(AwardOutcome::Issued(Box::new(record), false)),
                    None => Ok(AwardOutcome::Deferred { credential_id: credential.to_string(), learner }),
                };
            }
        }
        let already = |existing: &str| {
            ServiceError::Conflict(format!(
                "{learner} already holds this achievement's badge ({existing}); a learner gets one per achievement"
            ))
        };
        // The award, the idempotency record, and the pathway credentials it completes: one write.
        let mut pending = Pending::default();
        let awarded = self.award_to(&id, &request, &learner, Vec::new(), &mut pending).await?;
        let credential_id = match &awarded {
            Awarded::New(record) => record.id.clone(),
            Awarded::Deferred(credential_id) => credential_id.clone(),
            Awarded::Already(existing) => return Err(already(existing)),
        };
        if let Some(key) = idempotency_key {
            let seen = json!({"achievement": id, "learner": learner, "credentialId": credential_id});
            pending.batch.put(IDEMPOTENCY, key, seen);
        }
        if matches!(awarded, Awarded::New(_)) {
            self.complete_pathways(&learner, &request.recipient, &mut pending).await?;
        }
        match durable(|| self.store.commit(&pending.batch, &audit("award", &credential_id))) {
            Ok(_) => {}
            // A concurrent award of the same badge stored it first.
            Err(StoreError::Duplicate(_)) => return Err(already(&credential_id)),
            Err(e) => return Err(e.into()),
        }
        match awarded {
            Awarded::New(record) => Ok(AwardOutcome::Issued(record, true)),
            _ => Ok(AwardOutcome::Deferred { credential_id, learner }),
        }
    }

    /// Signs `achievement` (short id) for `learner` into `pending`, unless it is retired, its
    /// prerequisites are missing, or the learner holds it already (stored or in `pending`).
    pub(super) async fn award_to(
        &self,
        id: &str,
        request: &AwardRequest,
        learner: &str,
        mut evidence_extra: Vec<Value>,
        pending: &mut Pending,
    ) -> Result<Awarded, ServiceError> {
        let (_, record) = self.achievement_record(id)?;
        if record["retired"] == json!(true) {
            return Err(ServiceError::Conflict(format!(
                "achievement {id} is retired and awards nothing new"
            )));
        }
        let achievement = record["achievement"].clone();
        let url = achievement["id"].as_str().unwrap_or_default().to_string();
        let credential_id = self.award_id(learner, &url)?;
        if self.held_credential(&credential_id, pending)?.is_some() {
            return Ok(Awarded::Already(credential_id));
        }
        if let Some(pathway) = self.pathway_for(id)? {
            let progress = self.pathway_progress(&pathway, learner, pending)?;
            if !progress.complete && pathway["queue"] == json!(true) {
                let deferred = json!({"achievement": id, "learner": learner, "request": request, "evidence": evidence_extra});
                pending.batch.put(&deferred_kind(learner), &credential_id, deferred);
                return Ok(Awarded::Deferred(credential_id));
            }
            if !progress.complete {
                return Err(ServiceError::Conflict(format!(
                    "{learner} lacks the prerequisites of this achievement: {} of {} needed, missing {}",
                    progress.earned.len(),
                    progress.needed,
                    progress.missing.join(", ")
                )));
            }
            if evidence_extra.is_empty() {
                evidence_extra = progress.evidence();
            }
        }
        let issue = self.award_issue_request(id, request, evidence_extra, Some(credential_id))?;
        let record = self.sign_for_issue(issue).await?;
        pending.batch.credentials.push(record.clone());
        Ok(Awarded::New(Box::new(record)))
    }

    /// The unsigned badge an award of achievement `id` issues to `request.recipient` (also what
    /// a wallet offer of the achievement signs later): subject, results, evidence, validity.
    pub(super) fn award_issue_request(
        &self,
        id: &str,
        request: &AwardRequest,
        evidence_extra: Vec<Value>,
        credential_id: Option<String>,
    ) -> Result<IssueRequest, ServiceError> {
        let (_, record) = self.achievement_record(id)?;
        if record["retired"] == json!(true) {
            return Err(ServiceError::Conflict(format!(
                "achievement {id} is retired and awards nothing new"
            )));
        }
        let achievement = record["achievement"].clone();
        let mut subject = json!({"type": ["AchievementSubject"], "achievement": achievement});
        if let Some(id) = request.recipient.did.as_ref().or(request.recipient.url.as_ref()) {
            subject["id"] = json!(id);
        }
        if let Some(name) = &request.recipient.name {
            subject["name"] = json!(name);
        }
        if !request.results.is_empty() {
            subject["result"] = json!(request.results);
        }
        if let Some(narrative) = &request.narrative {
            subject["narrative"] = json!(narrative);
        }
        let mut evidence: Vec<Value> = request
            .evidence
            .iter()
            .map(|e| match e {
                Value::String(url) => json!({"id": url, "type": ["Evidence"]}),
                other => other.clone(),
            })
            .collect();
        evidence.extend(evidence_extra);
        let mut credential = json!({
            "@context": [crate::jsonld::contexts::CREDENTIALS_V2, crate::jsonld::contexts::OB_V3P0_3_0_3],
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": achievement["name"],
            "issuer": {},
            "credentialSubject": subject,
        });
        if !evidence.is_empty() {
            credential["evidence"] = json!(evidence);
        }
        if let Some(until) = &request.valid_until {
            credential["validUntil"] = json!(until);
        }
        if let Some(from) = &request.valid_from {
            credential["validFrom"] = json!(from);
        }
        let recipient =
            request.recipient.email.as_ref().map(|email| Recipient { email: email.trim().to_lowercase() });
        let Value::Object(credential) = credential else { unreachable!("built as an object") };
        let issue = IssueRequest {
            credential,
            options: IssueOptions { credential_id, ..IssueOptions::default() },
            recipient,
        };
        Ok(issue)
    }

    /// A badge the learner holds: in `pending` (signed in this award) or stored.
    fn held_credential(&self, id: &str, pending: &Pending) -> Result<Option<CredentialRecord>, ServiceError> {
        match pending.credential(id) {
            Some(record) => Ok(Some(record.clone())),
            None => Ok(self.store.get_credential(id)?),
        }
    }

    // ---- Rules ----

    pub fn create_rule(&self, request: &RuleRequest) -> Result<Value, ServiceError> {
        let id = uuid::Uuid::new_v4().to_string();
        let rule = self.checked_rule(request, &id)?;
        durable(|| self.store.put_document(RULE, &id, &rule, &audit("rule-create", &id)))?;
        Ok(rule)
    }

    fn checked_rule(&self, request: &RuleRequest, id: &str) -> Result<Value, ServiceError> {
        if request.event.trim().is_empty() || request.event.len() > 128 {
            return Err(ServiceError::bad("\"event\" must name an event type (1 to 128 characters)"));
        }
        Condition::parse(&request.condition, EVENT_FIELDS).map_err(|e| {
            ServiceError::BadRequest(
                format!("the condition is invalid {e}"),
                vec![FieldProblem { path: "$.condition".into(), message: e.to_string() }],
            )
        })?;
        let (achievement, _) = self.achievement_record(&request.award)?;
        Ok(json!({"id": id, "event": request.event, "condition": request.condition, "award": achievement}))
    }

    pub fn list_rules(&self) -> Result<Vec<Value>, ServiceError> {
        Ok(self.store.list_documents(RULE)?.into_iter().map(|(_, r)| r).collect())
    }

    pub fn rule(&self, id: &str) -> Result<Value, ServiceError> {
        self.store.get_document(RULE, id)?.ok_or_else(|| ServiceError::NotFound(format!("no rule {id:?}")))
    }

    pub fn update_rule(&self, id: &str, request: &RuleRequest) -> Result<Value, ServiceError> {
        self.rule(id)?;
        let rule = self.checked_rule(request, id)?;
        durable(|| self.store.put_document(RULE, id, &rule, &audit("rule-update", id)))?;
        Ok(rule)
    }

    pub fn delete_rule(&self, id: &str) -> Result<(), ServiceError> {
        if !durable(|| self.store.delete_document(RULE, id, &audit("rule-delete", id)))? {
            return Err(ServiceError::NotFound(format!("no rule {id:?}")));
        }
        Ok(())
    }

    // ---- Pathways ----

    pub fn create_pathway(&self, request: &PathwayRequest) -> Result<Value, ServiceError> {
        let (achievement, _) = self.achievement_record(&request.achievement)?;
        if request.requires.is_empty() {
            return Err(ServiceError::bad("a pathway \"requires\" at least one achievement"));
        }
        let mut requires = Vec::new();
        for required in &request.requires {
            let (id, _) = self.achievement_record(required)?;
            if id == achievement {
                return Err(ServiceError::bad("a pathway cannot require its own achievement"));
            }
            if !requires.contains(&id) {
                requires.push(id);
            }
        }
        let count = request.count.unwrap_or(requires.len());
        if count == 0 || count > requires.len() {
            return Err(ServiceError::bad(format!("\"count\" must be between 1 and {}", requires.len())));
        }
        if self.pathway_for(&achievement)?.is_some() {
            return Err(ServiceError::Conflict(format!("achievement {achievement} already has a pathway")));
        }
        if request.queue && request.automatic {
            return Err(ServiceError::bad(
                "\"queue\" is for pathways with \"automatic\": false (an automatic one is issued when complete anyway)",
            ));
        }
        let pathway = json!({"id": achievement, "achievement": achievement, "requires": requires, "count": count,
            "automatic": request.automatic, "queue": request.queue});
        durable(|| {
            self.store.put_document(PATHWAY, &achievement, &pathway, &audit("pathway-create", &achievement))
        })?;
        // The pathway achievement names its steps (OB 3.0 `related`) for anyone reading it.
        let (_, mut record) = self.achievement_record(&achievement)?;
        let related: Vec<Value> =
            requires.iter().map(|id| json!({"id": self.achievement_url(id), "type": ["Related"]})).collect();
        record["achievement"]["related"] = json!(related);
        durable(|| {
            self.store.put_document(
                ACHIEVEMENT,
                &achievement,
                &record,
                &audit("achievement-update", &achievement),
            )
        })?;
        Ok(pathway)
    }

    pub fn list_pathways(&self) -> Result<Vec<Value>, ServiceError> {
        Ok(self.store.list_documents(PATHWAY)?.into_iter().map(|(_, p)| p).collect())
    }

    fn pathway_for(&self, achievement: &str) -> Result<Option<Value>, ServiceError> {
        Ok(self.store.get_document(PATHWAY, achievement)?)
    }

    fn pathway_progress(
        &self,
        pathway: &Value,
        learner: &str,
        pending: &Pending,
    ) -> Result<Progress, ServiceError> {
        let mut progress = Progress {
            pathway: pathway["achievement"].as_str().unwrap_or_default().to_string(),
            needed: pathway["count"].as_u64().unwrap_or(0) as usize,
            ..Progress::default()
        };
        for required in pathway["requires"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let credential_id = self.award_id(learner, &self.achievement_url(required))?;
            match self.held_credential(&credential_id, pending)? {
                Some(record) => {
                    let credential = crate::credential::proofs::credential_of(&record.credential);
                    let state = self.current_status(&record, credential.as_deref())?.state;
                    if state == "active" {
                        progress.earned.push((required.to_string(), credential_id));
                    } else {
                        progress.inactive.push((required.to_string(), credential_id, state.to_string()));
                    }
                }
                None => progress.missing.push(required.to_string()),
            }
        }
        progress.complete = progress.earned.len() >= progress.needed;
        let target = self.award_id(learner, &self.achievement_url(&progress.pathway))?;
        progress.issued = self.held_credential(&target, pending)?.map(|r| r.id);
        Ok(progress)
    }

    /// Issues every pathway credential the learner's badges now complete, exactly once.
    pub(super) async fn complete_pathways(
        &self,
        learner: &str,
        recipient: &AwardRecipient,
        pending: &mut Pending,
    ) -> Result<Vec<String>, ServiceError> {
        let mut issued = Vec::new();
        // A pathway credential can complete another pathway (levels): repeat until nothing new.
        for _ in 0..8 {
            let mut changed = false;
            for (_, pathway) in self.store.list_documents(PATHWAY)? {
                if pathway["automatic"] == json!(false) {
                    continue;
                }
                let progress = self.pathway_progress(&pathway, learner, pending)?;
                if !progress.complete || progress.issued.is_some() {
                    continue;
                }
                let request = AwardRequest { recipient: recipient.clone(), ..AwardRequest::default() };
                match self.award_to(&progress.pathway, &request, learner, progress.evidence(), pending).await
                {
                    Ok(Awarded::New(record)) => {
                        issued.push(record.id.clone());
                        changed = true;
                    }
                    Ok(Awarded::Already(_) | Awarded::Deferred(_)) => {}
                    Err(ServiceError::Conflict(_)) => {} // retired
                    Err(e) => return Err(e),
                }
            }
            // Held awards whose prerequisites this learner now has.
            for (credential_id, deferred) in pending.held_awards(self.store.as_ref(), learner)? {
                let Ok(request) = serde_json::from_value::<AwardRequest>(deferred["request"].clone()) else {
                    continue;
                };
                let achievement = deferred["achievement"].as_str().unwrap_or_default().to_string();
                let Some(pathway) = self.pathway_for(&achievement)? else { continue };
                if !self.pathway_progress(&pathway, learner, pending)?.complete {
                    continue;
                }
                let evidence: Vec<Value> = deferred["evidence"].as_array().cloned().unwrap_or_default();
                match self.award_to(&achievement, &request, learner, evidence, pending).await {
                    Ok(Awarded::New(record)) => {
                        issued.push(record.id.clone());
                        changed = true;
                    }
                    Ok(_) | Err(ServiceError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
                pending.batch.delete(&deferred_kind(learner), &credential_id);
            }
            if !changed {
                break;
            }
        }
        Ok(issued)
    }

    /// `GET /learners/{id}/progress`: every pathway's earned, missing and inactive steps.
    pub fn progress(&self, learner: &str) -> Result<Value, ServiceError> {
        let recipient = if learner.contains('@') && !learner.contains(':') {
            AwardRecipient { email: Some(learner.into()), ..AwardRecipient::default() }
        } else {
            AwardRecipient { did: Some(learner.into()), ..AwardRecipient::default() }
        };
        let key = recipient.key()?;
        let mut pathways = Vec::new();
        for (_, pathway) in self.store.list_documents(PATHWAY)? {
            let p = self.pathway_progress(&pathway, &key, &Pending::default())?;
            pathways.push(json!({
                "pathway": self.achievement_url(&p.pathway),
                "needed": p.needed,
                "earned": p.earned.iter().map(|(a, c)| json!({"achievement": self.achievement_url(a), "credential": c})).collect::<Vec<_>>(),
                "missing": p.missing.iter().map(|a| self.achievement_url(a)).collect::<Vec<_>>(),
                "inactive": p.inactive.iter().map(|(a, c, s)| json!({"achievement": self.achievement_url(a), "credential": c, "state": s})).collect::<Vec<_>>(),
                "complete": p.complete,
                "credential": p.issued,
            }));
        }
        Ok(json!({"learner": key, "pathways": pathways}))
    }

    // ---- Events ----

    /// `POST /events`: stores each event durably as pending (a repeated id changes nothing)
    /// before the caller answers 202; the worker processes them.
    pub fn accept_events(&self, body: &Value, sender: &str) -> Result<Value, ServiceError> {
        let events = inbound::parse_events(body).map_err(|e| ServiceError::bad(e.to_string()))?;
        let (mut accepted, mut duplicates) = (Vec::new(), Vec::new());
        let mut fresh = Vec::new();
        for event in events {
            let seen = self.store.get_document(EVENT, &event.id)?.is_some()
                || fresh.iter().any(|e: &LmsEvent| e.id == event.id);
            if seen {
                duplicates.push(event.id);
            } else {
                fresh.push(event);
            }
        }
        // Each event and its queue marker, all of a request's events in one write (an
        // envelope of many events costs one sync); a repeated id writes nothing. Should an
        // id be taken meanwhile (the same event posted twice at once), each is inserted alone.
        let queue = |events: &[LmsEvent]| {
            let mut batch = Batch { insert_only: true, ..Batch::default() };
            for event in events {
                let record = json!({"id": event.id, "state": "pending", "sender": sender, "receivedAt": now(), "event": event});
                batch.put(EVENT, &event.id, record);
                batch.put(PENDING, &event.id, json!({}));
            }
            let subject = events.first().map(|e| e.id.as_str()).unwrap_or_default();
            durable(|| self.store.commit(&batch, &audit("event", subject)))
        };
        let all_at_once = fresh.len() > 1 && queue(&fresh)?;
        if all_at_once || fresh.is_empty() {
            accepted.extend(fresh.into_iter().map(|e| e.id));
        } else {
            for event in &fresh {
                if queue(std::slice::from_ref(event))? {
                    accepted.push(event.id.clone());
                } else {
                    duplicates.push(event.id.clone());
                }
            }
        }
        self.work_ready.notify_one();
        Ok(json!({"accepted": accepted, "duplicates": duplicates}))
    }

    pub fn event(&self, id: &str) -> Result<Value, ServiceError> {
        self.store.get_document(EVENT, id)?.ok_or_else(|| ServiceError::NotFound(format!("no event {id:?}")))
    }

    /// How many accepted events wait to be processed.
    pub fn pending_events(&self) -> Result<usize, ServiceError> {
        Ok(self.store.count_documents(PENDING)?)
    }

    /// Processes every queued event (at start, and whenever events arrive), up to
    /// `EVENT_CONCURRENCY` at a time so their durable writes share syncs; returns how many.
    /// Concurrency is safe: awards have deterministic ids, so two events racing to award the
    /// same badge (or to complete the same pathway) store it once.
    pub async fn process_pending_events(self: &Arc<Self>) -> Result<usize, ServiceError> {
        const EVENT_CONCURRENCY: usize = 64;
        // Each rule's condition is parsed once per pass (it was checked when the rule was stored).
        let rules: Arc<Vec<(Value, Option<Condition>)>> = Arc::new(
            self.list_rules()?
                .into_iter()
                .map(|rule| {
                    let condition =
                        Condition::parse(rule["condition"].as_str().unwrap_or("false"), EVENT_FIELDS).ok();
                    (rule, condition)
                })
                .collect(),
        );
        let queued = self.store.list_documents(PENDING)?;
        let mut done = 0;
        let mut tasks = tokio::task::JoinSet::new();
        for (id, _) in queued {
            while tasks.len() >= EVENT_CONCURRENCY {
                done += tasks.join_next().await.map(|r| r.unwrap_or(Ok(0))).unwrap_or(Ok(0))?;
            }
            let (service, rules) = (self.clone(), rules.clone());
            tasks.spawn(async move { service.process_queued_event(&id, &rules).await });
        }
        while let Some(result) = tasks.join_next().await {
            done += result.map_err(|e| ServiceError::Internal(format!("event task: {e}")))??;
        }
        Ok(done)
    }

    /// Processes one queued event; 1 if it was processed now.
    async fn process_queued_event(
        &self,
        id: &str,
        rules: &[(Value, Option<Condition>)],
    ) -> Result<usize, ServiceError> {
        // A badge another event stored between this one's reads and its write (the same
        // learner's events processed side by side) makes the write a Duplicate: processed
        // again, the event then finds it held. Each retry sees one more badge stored, so a
        // few suffice.
        for _ in 0..8 {
            let Some(mut record) = self.store.get_document(EVENT, id)? else {
                durable(|| self.store.delete_document(PENDING, id, &audit("event-dequeued", id)))?;
                return Ok(0);
            };
            if record["state"] != "pending" {
                durable(|| self.store.delete_document(PENDING, id, &audit("event-dequeued", id)))?;
                return Ok(0);
            }
            let mut pending = Pending::default();
            match serde_json::from_value::<LmsEvent>(record["event"].clone()) {
                Ok(event) => {
                    record["outcome"] = self.process_event(&event, rules, &mut pending).await;
                    record["state"] = json!("done");
                }
                Err(e) => {
                    record["state"] = json!("failed");
                    record["outcome"] = json!({"error": format!("the stored event cannot be read: {e}")});
                }
            }
            record["processedAt"] = json!(now());
            // Its badges stored, marked done and dequeued in one write.
            pending.batch.put(EVENT, id, record);
            pending.batch.delete(PENDING, id);
            match durable(|| self.store.commit(&pending.batch, &audit("event-processed", id))) {
                Ok(_) => return Ok(1),
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Internal(format!("event {id}: its badges kept being stored by other events")))
    }

    /// Runs the rules for one event. Idempotent: re-processing issues nothing new.
    async fn process_event(
        &self,
        event: &LmsEvent,
        rules: &[(Value, Option<Condition>)],
        pending: &mut Pending,
    ) -> Value {
        let recipient = AwardRecipient {
            email: event.learner.email.clone(),
            did: event.learner.did.clone().filter(|d| d.starts_with("did:")),
            url: event.learner.did.clone().filter(|d| !d.starts_with("did:")),
            name: event.learner.name.clone(),
        };
        let learner = match recipient.key() {
            Ok(learner) => learner,
            Err(e) => return json!({"rules": [], "error": e.to_string()}),
        };
        let mut outcomes = Vec::new();
        let mut fields = event.fields.clone();
        fields.insert("type".into(), json!(event.event_type));
        for (rule, condition) in rules.iter().filter(|(r, _)| r["event"] == json!(event.event_type)) {
            let source = rule["condition"].as_str().unwrap_or("false");
            let matched = condition.as_ref().is_some_and(|c| c.evaluate(&fields));
            let mut outcome = json!({"rule": rule["id"], "condition": source, "matched": matched});
            if matched {
                let achievement = rule["award"].as_str().unwrap_or_default();
                let mut results = Vec::new();
                if let Some(score) = fields.get("score") {
                    results.push(json!({"type": ["Result"], "value": score.to_string()}));
                }
                let request = AwardRequest {
                    recipient: recipient.clone(),
                    evidence: event.evidence.clone(),
                    results,
                    ..AwardRequest::default()
                };
                match self.award_to(achievement, &request, &learner, Vec::new(), pending).await {
                    Ok(Awarded::New(record)) => outcome["issued"] = json!(record.id),
                    Ok(Awarded::Already(id)) => outcome["alreadyHeld"] = json!(id),
                    Ok(Awarded::Deferred(id)) => outcome["deferred"] = json!(id),
                    Err(e) => outcome["error"] = json!(e.to_string()),
                }
            }
            outcomes.push(outcome);
        }
        let mut result = json!({"learner": learner, "rules": outcomes});
        match self.complete_pathways(&learner, &recipient, pending).await {
            Ok(issued) if !issued.is_empty() => result["pathwayCredentials"] = json!(issued),
            Ok(_) => {}
            Err(e) => result["pathwayError"] = json!(e.to_string()),
        }
        if result["rules"].as_array().is_some_and(|r| r.is_empty()) {
            result["note"] = json!(format!("no rule listens to {:?} events", event.event_type));
        }
        result
    }

    // ---- Event senders ----

    /// `POST /senders {name}`: a learning system that may send events, with its own bearer token
    /// and Standard Webhooks secret (shown once; the token is stored hashed).
    pub fn create_sender(&self, name: &str) -> Result<Value, ServiceError> {
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(ServiceError::bad("a sender name is 1 to 64 letters, digits, '-', '_' or '.'"));
        }
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let secret = inbound::new_webhook_secret();
        let record = json!({"name": name, "tokenHash": hex::encode(sha256(token.as_bytes())), "webhookSecret": secret, "createdAt": now()});
        if !durable(|| self.store.insert_document(SENDER, name, &record, &audit("sender-create", name)))? {
            return Err(ServiceError::Conflict(format!("a sender named {name:?} exists")));
        }
        Ok(json!({"name": name, "token": token, "webhookSecret": secret}))
    }

    /// Who sent an event request: the admin, a sender by its bearer token, or a sender whose
    /// Standard Webhooks signature verifies. `None`: not authenticated (the detail says why).
    pub fn event_sender(
        &self,
        bearer: Option<&str>,
        webhook: Option<(&str, &str, &str)>,
        body: &[u8],
    ) -> Result<String, String> {
        if let Some(token) = bearer {
            if self.authorized(token) {
                return Ok("admin".into());
            }
            let hash = hex::encode(sha256(token.as_bytes()));
            let senders = self.store.list_documents(SENDER).map_err(|e| e.to_string())?;
            return senders
                .into_iter()
                .find(|(_, s)| s["tokenHash"] == json!(hash))
                .map(|(name, _)| name)
                .ok_or_else(|| "the bearer token is not valid".to_string());
        }
        let Some((id, timestamp, signature)) = webhook else {
            return Err("send Authorization: Bearer <token>, or a Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature)".into());
        };
        let now = chrono::Utc::now().timestamp();
        let mut last = "no sender is registered (POST /senders)".to_string();
        for (name, sender) in self.store.list_documents(SENDER).map_err(|e| e.to_string())? {
            let secret = sender["webhookSecret"].as_str().unwrap_or_default();
            match inbound::verify_webhook(secret, id, timestamp, signature, body, now) {
                Ok(()) => return Ok(name),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("the webhook signature does not verify: {last}"))
    }
}

/// A pathway's state for one learner.
#[derive(Debug, Default)]
struct Progress {
    pathway: String,
    needed: usize,
    earned: Vec<(String, String)>,
    missing: Vec<String>,
    /// Earned once, now revoked, suspended or expired: (achievement, credential, state).
    inactive: Vec<(String, String, String)>,
    complete: bool,
    issued: Option<String>,
}

impl Progress {
    /// The component badges as OB 3.0 Evidence of the pathway credential.
    fn evidence(&self) -> Vec<Value> {
        self.earned
            .iter()
            .map(|(_, credential)| json!({"id": credential, "type": ["Evidence"], "name": "Component credential"}))
            .collect()
    }
}

/// An achievement as the API shows it: the OB 3.0 Achievement (its `id` the stable URL), with
/// the catalog's own facts under `laurel` (clients of OB ignore it).
fn achievement_view(id: &str, record: &Value) -> Value {
    let mut view = record["achievement"].clone();
    view["laurel"] = json!({"id": id, "retired": record["retired"], "createdAt": record["createdAt"], "updatedAt": record["updatedAt"]});
    view
}
