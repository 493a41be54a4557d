//! Verification of anything anyone issued: parse with limits, validate, check every proof, bind
//! the signing key to the issuer, check dates; the result is a report, never a panic.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::codec::json::JsonLimits;
use crate::credential::model::{self, CredentialKind};
use crate::credential::proofs::{self, DecodedJwt, ProofError, VerifiedProof};
use crate::credential::signed;
use crate::did::DidResolver;
use crate::jsonld::contexts;
use crate::status::{self, StatusPolicy, StatusResult};

/// Limits and clock for one verification.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The instant dates are checked against: `None` is the clock at each check (a long-running
    /// server must not judge by its start time); `Some` pins it (`laurel verify --now`).
    pub now: Option<DateTime<Utc>>,
    /// Clock skew tolerated on validFrom / validUntil.
    pub skew: chrono::Duration,
    pub max_bytes: usize,
    pub max_depth: usize,
    /// What to do about `credentialStatus`.
    pub status_policy: StatusPolicy,
    /// Who may sign a credential's status lists besides its issuer.
    pub list_trust: crate::status::ListTrust,
    /// Trust registries the issuer is looked up in (none: no lookup, no result).
    pub registries: Vec<crate::credential::registry::RegistryConfig>,
    /// An issuer no checked registry lists is an error (`ISSUER_NOT_REGISTERED`), not a warning.
    pub require_registered: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            now: None,
            skew: chrono::Duration::seconds(300),
            max_bytes: JsonLimits::default().max_bytes,
            max_depth: JsonLimits::default().max_depth,
            status_policy: StatusPolicy::Enforce,
            list_trust: crate::status::ListTrust::default(),
            registries: Vec::new(),
            require_registered: false,
        }
    }
}

impl VerifyOptions {
    /// The parsing caps these options carry, for [`crate::codec::json::from_slice_limited`].
    pub fn json_limits(&self) -> JsonLimits {
        JsonLimits { max_bytes: self.max_bytes, max_depth: self.max_depth }
    }

    /// The instant to check dates against.
    pub fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }
}

/// One problem, shaped as VC DM 2.0 problem details.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_url: String,
    pub code: String,
    pub title: String,
    pub detail: String,
}

impl Problem {
    pub fn new(code: &str, detail: impl Into<String>) -> Problem {
        let title = match code {
            "PARSING_ERROR" => "Parsing error",
            "MALFORMED_VALUE_ERROR" => "Malformed value",
            "CRYPTOGRAPHIC_SECURITY_ERROR" => "Cryptographic security error",
            "PROOF_VERIFICATION_ERROR" => "Proof verification error",
            "PROOF_TRANSFORMATION_ERROR" => "Proof transformation error",
            "PROOF_GENERATION_ERROR" => "Proof generation error",
            "RANGE_ERROR" => "Range error",
            "ISSUER_MISMATCH_ERROR" => "Signer is not the issuer",
            "CREDENTIAL_EXPIRED" => "Credential expired",
            "CREDENTIAL_NOT_YET_VALID" => "Credential not yet valid",
            "STATUS_RETRIEVAL_ERROR" => "Status retrieval error",
            "STATUS_VERIFICATION_ERROR" => "Status verification error",
            "STATUS_LIST_LENGTH_ERROR" => "Status list length error",
            "REVOKED" => "Credential revoked",
            "SUSPENDED" => "Credential suspended",
            "DEPRECATED" => "Deprecated",
            "ENDORSEMENT_INVALID" => "Endorsement does not verify",
            "INVALID_CHALLENGE_ERROR" => "Invalid challenge",
            "INVALID_DOMAIN_ERROR" => "Invalid domain",
            "CHALLENGE_REPLAYED" => "Challenge already used",
            "CHALLENGE_EXPIRED" => "Challenge expired",
            "HOLDER_MISMATCH_ERROR" => "Holder is not the recipient or signer",
            "RECIPIENT_MISMATCH_ERROR" => "Recipient identifier does not match",
            "CREDENTIAL_VERIFICATION_ERROR" => "Credential does not verify",
            _ => "Problem",
        };
        Problem {
            type_url: format!("https://www.w3.org/TR/vc-data-model#{code}"),
            code: code.to_string(),
            title: title.to_string(),
            detail: detail.into(),
        }
    }
}

/// What one proof established.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofSummary {
    pub format: String,
    pub verification_method: String,
    pub controller: String,
    pub proof_purpose: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// The outcome of verifying one credential.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub verified: bool,
    pub checks: Vec<String>,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proofs: Vec<ProofSummary>,
    /// What each credentialStatus entry said, with the list's age.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<StatusResult>,
    /// The image format the credential was extracted from, for baked badges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baked: Option<String>,
    /// Embedded OB endorsements (OB 3.0 verification step 6), each verified in full.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endorsements: Vec<Report>,
    /// The credential as parsed (for a JWT, the one it carries).
    #[serde(skip)]
    pub credential: Option<Value>,
    /// Trust registries' answer about the issuer (when registries are configured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<Value>,
}

impl Report {
    fn error(&mut self, code: &str, detail: impl Into<String>) {
        self.errors.push(Problem::new(code, detail));
    }
    fn warning(&mut self, code: &str, detail: impl Into<String>) {
        self.warnings.push(Problem::new(code, detail));
    }
    fn check(&mut self, name: &str) {
        if !self.checks.iter().any(|c| c == name) {
            self.checks.push(name.to_string());
        }
    }
    fn finish(mut self) -> Report {
        self.verified = self.errors.is_empty();
        self
    }
    fn failed(code: &str, detail: impl Into<String>) -> Report {
        let mut report = Report::default();
        report.error(code, detail);
        report.finish()
    }
}

/// Checks that the verified credential was issued to `identifier` (a DID or URL equal to a
/// subject's `id`, or a value one of its IdentityObjects names, hashed or plain), recording
/// `RECIPIENT_MISMATCH_ERROR` when not. The values read are the signed ones: verification
/// refuses a credential whose JSON subject disagrees with what was signed.
pub fn require_recipient(report: &mut Report, identifier: &str) {
    report.check("recipient");
    let Some(credential) = report.credential.clone() else {
        report.error(
            "RECIPIENT_MISMATCH_ERROR",
            "the credential could not be read, so its recipient is unknown",
        );
        report.verified = false;
        return;
    };
    let RecipientMatch { named, matched } = recipient_match(&credential, identifier);
    if !matched {
        let detail = if named {
            "the credential was not issued to the recipient identifier given"
        } else {
            "the credential's subject has neither an id nor an identifier, so it names no recipient to check"
        };
        report.error("RECIPIENT_MISMATCH_ERROR", detail);
        report.verified = false;
    }
}

/// Whether a credential's subjects name any recipient at all, and whether one of them is
/// `identifier` (a subject `id`, or an IdentityObject's value, hashed or plain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecipientMatch {
    pub named: bool,
    pub matched: bool,
}

/// Compares `identifier` with the recipients `credential` names. Callers pass the signed
/// credential (a report's, or a record the issuer signed itself).
pub fn recipient_match(credential: &Value, identifier: &str) -> RecipientMatch {
    let subjects = model::subjects(credential);
    let mut named = false;
    let mut matched = false;
    for subject in subjects {
        if let Some(id) = subject.get("id").and_then(Value::as_str) {
            named = true;
            matched |= id == identifier;
        }
        let identities: Vec<&Value> = match subject.get("identifier") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
            None => vec![],
        };
        for identity in identities {
            if let Ok(identity) = serde_json::from_value::<model::IdentityObject>(identity.clone()) {
                named = true;
                matched |= identity.matches(identifier);
            }
        }
    }
    RecipientMatch { named, matched }
}

/// Parses untrusted JSON within the size and depth limits (see [`crate::codec::json::from_slice_limited`]),
/// as a report problem.
pub fn parse_json_limited(bytes: &[u8], options: &VerifyOptions) -> Result<Value, Problem> {
    crate::codec::json::from_slice_limited(bytes, &options.json_limits())
        .map_err(|e| Problem::new("PARSING_ERROR", e.to_string()))
}

use crate::codec::looks_like_compact_jws as looks_like_jwt;

/// Proofs checked on one document: each costs a canonicalization (a chained one, an expansion
/// too), so an attacker's hundred proofs would multiply the work.
pub const MAX_PROOFS: usize = 8;

/// The quads of a secured document without its proofs: what every Data Integrity proof on it
/// (but a chained one) signs.
pub(crate) async fn signed_quads(document: &Value) -> Result<Vec<crate::jsonld::canon::Quad>, ProofError> {
    let mut unsecured = document.clone();
    if let Some(object) = unsecured.as_object_mut() {
        object.remove("proof");
    }
    Ok(crate::jsonld::to_quads(&unsecured).await?)
}

/// Refuses a document whose JSON keys, which the checks read, do not show what was signed.
pub(crate) fn check_signed_data(document: &Value, quads: &[crate::jsonld::canon::Quad], report: &mut Report) {
    report.check("signed-data");
    for disagreement in signed::disagreements(document, quads, proofs::top_level_of(document)) {
        report.error(
            "MALFORMED_VALUE_ERROR",
            format!("{disagreement}: the checks read the JSON, so it must show exactly what was signed"),
        );
    }
}

/// Verifies credentials with one resolver and one set of options.
#[derive(Clone)]
pub struct Verifier {
    pub resolver: Arc<dyn DidResolver>,
    pub options: VerifyOptions,
    /// Status list credentials that verified recently, by SHA-256 of their JSON: every
    /// credential on a list would otherwise re-verify the same list.
    verified_lists: Arc<std::sync::Mutex<std::collections::HashMap<[u8; 32], std::time::Instant>>>,
    /// Registry documents (entity statements, recognition credentials) that verified recently.
    pub(crate) registry_cache: Arc<crate::credential::registry::VerifiedCache>,
}

/// How long a verified status list is trusted without re-verifying it (its own validity period
/// and its issuer's keys can change; this bounds how stale that knowledge gets).
const VERIFIED_LIST_TTL: std::time::Duration = std::time::Duration::from_secs(60);
const VERIFIED_LIST_LIMIT: usize = 256;

impl Verifier {
    pub fn new(resolver: Arc<dyn DidResolver>, options: VerifyOptions) -> Verifier {
        Verifier { resolver, options, verified_lists: Arc::default(), registry_cache: Arc::default() }
    }

    /// Verifies raw input: a JSON credential or a compact JWT (bare or as a JSON string).
    pub async fn verify_bytes(&self, bytes: &[u8]) -> Report {
        if let Some(format) = crate::credential::baking::detect(bytes) {
            return match crate::credential::baking::extract(bytes) {
                Ok(extracted) => {
                    let mut report = self.verify_text(extracted.credential.as_bytes()).await;
                    report.baked = Some(format.extension().to_string());
                    report.checks.insert(0, "baked-image".into());
                    report
                }
                Err(e) => Report::failed("PARSING_ERROR", format!("baked badge: {e}")),
            };
        }
        self.verify_text(bytes).await
    }

    /// Verifies a JSON credential or a compact JWT given as bytes (no image detection).
    async fn verify_text(&self, bytes: &[u8]) -> Report {
        if bytes.len() > self.options.max_bytes {
            return Report::failed(
                "PARSING_ERROR",
                format!(
                    "the input is {} bytes, more than the limit of {}",
                    bytes.len(),
                    self.options.max_bytes
                ),
            );
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Report::failed("PARSING_ERROR", "the input is not UTF-8 text (nor a supported image)");
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Report::failed("PARSING_ERROR", "the input is empty");
        }
        if looks_like_jwt(trimmed) {
            return self.verify_value(&Value::String(trimmed.to_string())).await;
        }
        match parse_json_limited(trimmed.as_bytes(), &self.options) {
            Ok(value) => self.verify_value(&value).await,
            Err(problem) => {
                let mut report = Report::default();
                report.errors.push(problem);
                report.finish()
            }
        }
    }

    /// Verifies a parsed credential: an object with an embedded proof, or a JWT string.
    /// (Boxed with an explicit `Send`: status lists are verified by a nested call.)
    pub fn verify_value<'a>(
        &'a self,
        value: &'a Value,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Report> + Send + 'a>> {
        Box::pin(async move {
            let mut report = self.verify_value_inner(value).await;
            self.check_registries(&mut report).await;
            report
        })
    }

    /// A verification inside another (an endorsement, a recognition credential): no registry
    /// lookup.
    pub(crate) fn verify_nested<'a>(
        &'a self,
        value: &'a Value,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Report> + Send + 'a>> {
        Box::pin(self.verify_value_inner(value))
    }

    /// Looks the issuer up in the configured registries, once the proof is bound to it.
    async fn check_registries(&self, report: &mut Report) {
        if self.options.registries.is_empty() {
            return;
        }
        report.check("registry");
        let bound = !report.proofs.is_empty()
            && !report.errors.iter().any(|e| {
                matches!(
                    e.code.as_str(),
                    "ISSUER_MISMATCH_ERROR"
                        | "PROOF_VERIFICATION_ERROR"
                        | "CRYPTOGRAPHIC_SECURITY_ERROR"
                        | "PARSING_ERROR"
                )
            });
        let Some(issuer) = report.issuer.clone().filter(|_| bound) else {
            report.registry = Some(
                serde_json::json!({"checked": false, "reason": "the proof is not bound to the issuer, so no registry was consulted"}),
            );
            return;
        };
        let result = crate::credential::registry::lookup(&issuer, &self.options.registries, self).await;
        let listed = result["listed"] == serde_json::json!(true);
        let checked = result["checked"] == serde_json::json!(true);
        if !listed && self.options.require_registered {
            // Required: an issuer no registry could confirm (all of them unreachable or failing
            // their checks) is not shown to be registered either.
            let detail = if checked {
                format!(
                    "{issuer} is listed in none of the configured registries, and registration is required"
                )
            } else {
                format!("no configured registry could be checked for {issuer} (see registry.unchecked), and registration is required")
            };
            report.error("ISSUER_NOT_REGISTERED", detail);
            report.verified = false;
        } else if !listed && checked {
            let detail = format!("{issuer} is listed in none of the configured registries; it names itself, and nobody else vouches for it");
            report.warning("ISSUER_NOT_REGISTERED", detail);
        }
        report.registry = Some(result);
    }

    async fn verify_value_inner(&self, value: &Value) -> Report {
        match value {
            Value::String(s) if looks_like_jwt(s) => self.verify_jwt(s).await,
            Value::Object(_) => self.verify_embedded(value).await,
            Value::String(_) => {
                Report::failed("PARSING_ERROR", "a credential given as a string must be a compact JWT")
            }
            _ => Report::failed("PARSING_ERROR", "a credential must be a JSON object or a compact JWT"),
        }
    }

    fn validate_document(&self, credential: &Value, report: &mut Report) {
        report.check("schema");
        report.issuer = model::issuer_id(credential).map(str::to_string);
        report.credential_id = credential.get("id").and_then(Value::as_str).map(str::to_string);
        let validation = model::validate(credential);
        for problem in validation.errors {
            report.error("MALFORMED_VALUE_ERROR", format!("{}: {}", problem.path, problem.message));
        }
        for problem in validation.warnings {
            report.warning("MALFORMED_VALUE_ERROR", format!("{}: {}", problem.path, problem.message));
        }
        for (code, problem) in validation.tolerated {
            report.warning(code, format!("{}: {}", problem.path, problem.message));
        }
        report.check("contexts");
        if let Some(Value::Array(list)) = credential.get("@context") {
            for url in list.iter().filter_map(Value::as_str) {
                if !contexts::is_bundled(url) {
                    report.error(
                        "PARSING_ERROR",
                        format!("unknown JSON-LD context {url}: {}", contexts::UNKNOWN_CONTEXT_HINT),
                    );
                }
            }
        }
    }

    fn check_dates(&self, credential: &Value, report: &mut Report) {
        report.check("validity-period");
        let now = self.options.now();
        let parse = |name: &str| {
            credential
                .get(name)
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc))
        };
        for name in ["validFrom", "issuanceDate"] {
            if let Some(start) = parse(name) {
                if start > now + self.options.skew {
                    report.error("CREDENTIAL_NOT_YET_VALID", format!("{name} is {start}, in the future"));
                }
            }
        }
        for name in ["validUntil", "expirationDate"] {
            if let Some(end) = parse(name) {
                if end + self.options.skew < now {
                    report.error("CREDENTIAL_EXPIRED", format!("the credential expired at {end} ({name})"));
                }
            }
        }
    }

    /// `relatedResource` digests: a mismatch is an error, an unobtainable resource a warning.
    async fn check_related(&self, credential: &Value, report: &mut Report) {
        if credential.get("relatedResource").is_none() {
            return;
        }
        report.check("related-resources");
        for problem in crate::credential::related::check(credential, self.resolver.as_ref()).await {
            if problem.error {
                report.error(problem.code, problem.detail);
            } else {
                report.warning(problem.code, problem.detail);
            }
        }
    }

    async fn check_status(&self, credential: &Value, report: &mut Report) {
        if credential.get("credentialStatus").is_none() || self.options.status_policy == StatusPolicy::Skip {
            return;
        }
        report.check("status");
        // Status list credentials are verified fully, except for a status of their own.
        let list_verifier = Verifier {
            resolver: self.resolver.clone(),
            options: VerifyOptions {
                status_policy: StatusPolicy::Skip,
                registries: Vec::new(),
                ..self.options.clone()
            },
            verified_lists: self.verified_lists.clone(),
            registry_cache: self.registry_cache.clone(),
        };
        let verify_list = move |list: Value| -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Value, String>> + Send>,
        > {
            let verifier = list_verifier.clone();
            Box::pin(async move {
                use sha2::Digest;
                let digest: [u8; 32] =
                    sha2::Sha256::digest(serde_json::to_vec(&list).unwrap_or_default()).into();
                let now = std::time::Instant::now();
                let recent = |at: &std::time::Instant| now.duration_since(*at) < VERIFIED_LIST_TTL;
                if verifier
                    .verified_lists
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&digest)
                    .is_some_and(recent)
                {
                    return proofs::credential_of(&list)
                        .map(std::borrow::Cow::into_owned)
                        .ok_or_else(|| "the status list is not a credential".to_string());
                }
                let report = verifier.verify_value(&list).await;
                if report.verified {
                    let mut cache = verifier.verified_lists.lock().unwrap_or_else(|p| p.into_inner());
                    if cache.len() >= VERIFIED_LIST_LIMIT {
                        cache.retain(|_, at| recent(at));
                        if cache.len() >= VERIFIED_LIST_LIMIT {
                            cache.clear();
                        }
                    }
                    cache.insert(digest, now);
                    report.credential.ok_or_else(|| "the status list carries no credential".to_string())
                } else {
                    Err(report.errors.iter().map(|e| e.detail.clone()).collect::<Vec<_>>().join("; "))
                }
            })
        };
        let (results, problems) = status::check_status(
            credential,
            self.resolver.as_ref(),
            &verify_list,
            &self.options.list_trust,
            self.options.now(),
        )
        .await;
        for p in problems {
            let retrieval = p.code == "STATUS_RETRIEVAL_ERROR";
            if p.warning || (retrieval && self.options.status_policy == StatusPolicy::Warn) {
                report.warning(p.code, p.detail);
            } else {
                report.error(p.code, p.detail);
            }
        }
        report.status = results;
    }

    /// The issuer must control the key of at least one verified proof; proofs by others (a
    /// witness in a proof chain, a co-signer) are reported but do not vouch for the issuer.
    /// Comparing `method.controller` is sound because resolution only returns a method found in
    /// its controller's own document (id = controller, listed under the purpose): a key document
    /// elsewhere that merely claims the issuer as controller never gets this far.
    fn bind_issuer(&self, proofs: &[VerifiedProof], report: &mut Report) {
        if proofs.is_empty() {
            return;
        }
        report.check("issuer-binding");
        let issuer = report.issuer.clone();
        match &issuer {
            None => {
                report.error("ISSUER_MISMATCH_ERROR", "the credential names no issuer to bind the proof to")
            }
            Some(issuer) if proofs.iter().any(|p| p.method.controller == *issuer) => {
                for other in proofs.iter().filter(|p| p.method.controller != *issuer) {
                    report.warning(
                        "ISSUER_MISMATCH_ERROR",
                        format!(
                            "an additional proof was made by {}, not by the issuer",
                            other.method.controller
                        ),
                    );
                }
            }
            Some(issuer) => {
                let proof = &proofs[0];
                report.error(
                    "ISSUER_MISMATCH_ERROR",
                    format!(
                        "the proof was made with {} (controlled by {}), not by a key of the issuer {issuer}",
                        proof.method.id, proof.method.controller
                    ),
                );
            }
        }
        for proof in proofs {
            for warning in &proof.warnings {
                let code = if warning == proofs::HIGH_S_WARNING {
                    "CRYPTOGRAPHIC_SECURITY_ERROR"
                } else {
                    "DEPRECATED"
                };
                report.warning(code, warning.clone());
            }
            report.proofs.push(ProofSummary {
                format: proof.format.clone(),
                verification_method: proof.method.id.clone(),
                controller: proof.method.controller.clone(),
                proof_purpose: proof.purpose.clone(),
                created: proof.created.clone(),
            });
        }
    }

    fn proof_error(report: &mut Report, index: Option<usize>, error: ProofError) {
        let detail = match index {
            Some(i) => format!("proof[{i}]: {error}"),
            None => error.to_string(),
        };
        report.error(error.code(), detail);
    }

    async fn verify_embedded(&self, credential: &Value) -> Report {
        let mut report = Report { credential: Some(credential.clone()), ..Report::default() };
        self.validate_document(credential, &mut report);
        report.check("proof");
        let proofs: Vec<&Value> = match credential.get("proof") {
            Some(Value::Array(list)) if !list.is_empty() => list.iter().collect(),
            Some(Value::Array(_)) | None => {
                report.error("PROOF_VERIFICATION_ERROR", "the credential has no proof");
                vec![]
            }
            Some(Value::Object(_)) => vec![&credential["proof"]],
            Some(_) => {
                report.error("MALFORMED_VALUE_ERROR", "proof must be an object or an array of objects");
                vec![]
            }
        };
        if proofs.len() > MAX_PROOFS {
            report.error(
                "MALFORMED_VALUE_ERROR",
                format!("the credential has {} proofs; Laurel checks at most {MAX_PROOFS}", proofs.len()),
            );
        }
        let contexts_known = !report.errors.iter().any(|e| e.code == "PARSING_ERROR");
        if contexts_known && !proofs.is_empty() && proofs.len() <= MAX_PROOFS {
            // The signed data, expanded once for every proof and for the signed-data check.
            let unsecured_quads = match signed_quads(credential).await {
                Ok(quads) => {
                    check_signed_data(credential, &quads, &mut report);
                    Some(quads)
                }
                Err(e) => {
                    Self::proof_error(&mut report, None, e);
                    None
                }
            };
            let indexed = proofs.len() > 1;
            let mut verified = Vec::new();
            for (i, proof) in proofs.iter().enumerate().filter(|_| unsecured_quads.is_some()) {
                match proofs::verify_embedded_proof_with(
                    credential,
                    proof,
                    self.resolver.as_ref(),
                    "assertionMethod",
                    unsecured_quads.as_deref(),
                )
                .await
                {
                    Ok(proof) => verified.push(proof),
                    Err(e) => Self::proof_error(&mut report, indexed.then_some(i), e),
                }
            }
            self.bind_issuer(&verified, &mut report);
        }
        self.check_dates(credential, &mut report);
        self.check_related(credential, &mut report).await;
        self.check_status(credential, &mut report).await;
        self.check_endorsements(credential, &mut report).await;
        report.finish()
    }

    /// Verifies the endorsements an OB credential (or its achievement or issuer) embeds. They are
    /// reported separately; a failing endorsement is a warning on the endorsed credential.
    async fn check_endorsements(&self, credential: &Value, report: &mut Report) {
        let mut embedded: Vec<(String, Value)> = Vec::new();
        for (path, owner) in [
            ("$", Some(credential)),
            ("$.issuer", credential.get("issuer")),
            ("$.credentialSubject.achievement", credential.pointer("/credentialSubject/achievement")),
        ] {
            let Some(owner) = owner else { continue };
            for (field, value) in
                [("endorsement", owner.get("endorsement")), ("endorsementJwt", owner.get("endorsementJwt"))]
            {
                match value {
                    Some(Value::Array(list)) => embedded.extend(
                        list.iter().enumerate().map(|(i, e)| (format!("{path}.{field}[{i}]"), e.clone())),
                    ),
                    Some(one) => embedded.push((format!("{path}.{field}"), one.clone())),
                    None => {}
                }
            }
        }
        if embedded.is_empty() {
            return;
        }
        report.check("endorsements");
        for (path, endorsement) in embedded {
            let endorsement_report = self.verify_nested(&endorsement).await;
            if !endorsement_report.verified {
                let codes: Vec<&str> = endorsement_report.errors.iter().map(|e| e.code.as_str()).collect();
                report
                    .warning("ENDORSEMENT_INVALID", format!("{path} does not verify: {}", codes.join(", ")));
            }
            report.endorsements.push(endorsement_report);
        }
    }

    async fn verify_jwt(&self, token: &str) -> Report {
        let mut report = Report::default();
        report.check("proof");
        let decoded: DecodedJwt = match proofs::decode_jwt(token, "vc") {
            Ok(d) => d,
            Err(e) => {
                Self::proof_error(&mut report, None, e);
                return report.finish();
            }
        };
        let credential = decoded.credential.clone();
        report.credential = Some(credential.clone());
        self.validate_document(&credential, &mut report);
        if model::credential_kind(&credential) == CredentialKind::Other && credential.get("type").is_none() {
            report.error("MALFORMED_VALUE_ERROR", "the JWT does not carry a credential");
        }
        for mismatch in decoded.claim_mismatches() {
            report.error("MALFORMED_VALUE_ERROR", mismatch);
        }
        if let Some(iss) = decoded.payload.get("iss").and_then(Value::as_str) {
            if report.issuer.as_deref() != Some(iss) && report.issuer.is_some() {
                report
                    .error("ISSUER_MISMATCH_ERROR", format!("JWT iss {iss} is not the credential's issuer"));
            }
            report.issuer.get_or_insert_with(|| iss.to_string());
        }
        match decoded.verify(self.resolver.as_ref(), "assertionMethod").await {
            Ok(verified) => self.bind_issuer(std::slice::from_ref(&verified), &mut report),
            Err(e) => Self::proof_error(&mut report, None, e),
        }
        let now = self.options.now().timestamp();
        let skew = self.options.skew.num_seconds();
        if let Some(exp) = decoded.payload.get("exp").and_then(Value::as_i64) {
            if exp + skew < now {
                report.error("CREDENTIAL_EXPIRED", format!("the JWT expired at {exp} (exp)"));
            }
        }
        if let Some(nbf) = decoded.payload.get("nbf").and_then(Value::as_i64) {
            if nbf > now + skew {
                report.error("CREDENTIAL_NOT_YET_VALID", format!("the JWT is not valid before {nbf} (nbf)"));
            }
        }
        self.check_dates(&credential, &mut report);
        self.check_related(&credential, &mut report).await;
        self.check_status(&credential, &mut report).await;
        report.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_detection() {
        assert!(looks_like_jwt("eyJ.eyJ.sig"));
        assert!(!looks_like_jwt("{\"a\":1}"));
        assert!(!looks_like_jwt("a.b"));
    }
}
