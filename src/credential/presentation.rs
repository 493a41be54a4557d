//! Presentations: signing one for a holder, and verifying one: the holder's proof, challenge and
//! domain, single use of challenges this server issued, every embedded credential in full, and
//! that the holder is the credentials' recipient.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use crate::credential::model::{self, IdentityObject};
use crate::credential::proofs::{self, Format, ProofError, SignOptions};
use crate::credential::signed;
use crate::credential::verify::{Problem, Report, Verifier};
use crate::did;
use crate::jsonld::contexts;
use crate::keys::KeyPair;

/// Prefix of an enveloped JWT credential's `id` (VC DM 2.0 EnvelopedVerifiableCredential).
const JWT_ENVELOPE: &str = "data:application/vc+jwt,";

/// What the verifier expects of a presentation.
#[derive(Debug, Clone, Default)]
pub struct PresentationOptions {
    pub challenge: Option<String>,
    pub domain: Option<String>,
    /// A recipient identifier (e.g. an email) to check against hashed IdentityObjects.
    pub recipient_identifier: Option<String>,
}

/// The outcome of verifying a presentation: its own checks plus one report per credential.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PresentationReport {
    pub verified: bool,
    pub checks: Vec<String>,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    pub credentials: Vec<Report>,
}

impl PresentationReport {
    fn error(&mut self, code: &str, detail: impl Into<String>) {
        self.errors.push(Problem::new(code, detail));
    }
    fn check(&mut self, name: &str) {
        self.checks.push(name.to_string());
    }
}

/// Challenges this server handed out: each may be used once, before it expires.
pub struct ChallengeRegistry {
    issued: Mutex<HashMap<String, Instant>>,
    lifetime: Duration,
    limit: usize,
}

/// What the registry says about a presented challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeState {
    /// Issued here, unused, in time: now spent.
    Fresh,
    Expired,
    /// Issued here and already used (or never issued here but looks like ours).
    Replayed,
    /// Not one of ours (the caller supplied its own).
    Foreign,
}

const CHALLENGE_PREFIX: &str = "laurel-";

impl ChallengeRegistry {
    pub fn new(lifetime: Duration, limit: usize) -> ChallengeRegistry {
        ChallengeRegistry { issued: Mutex::new(HashMap::new()), lifetime, limit }
    }

    /// A fresh random challenge and when it expires.
    pub fn issue(&self) -> Option<(String, chrono::DateTime<chrono::Utc>)> {
        let mut bytes = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let challenge = format!("{CHALLENGE_PREFIX}{}", hex::encode(bytes));
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        issued.retain(|_, expires| *expires > now);
        if issued.len() >= self.limit {
            return None;
        }
        issued.insert(challenge.clone(), now + self.lifetime);
        let expires = chrono::Utc::now() + chrono::Duration::from_std(self.lifetime).unwrap_or_default();
        Some((challenge, expires))
    }

    /// Spends a challenge if it is ours and fresh.
    pub fn redeem(&self, challenge: &str) -> ChallengeState {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        match issued.remove(challenge) {
            Some(expires) if expires > Instant::now() => ChallengeState::Fresh,
            Some(_) => ChallengeState::Expired,
            None if challenge.starts_with(CHALLENGE_PREFIX) => ChallengeState::Replayed,
            None => ChallengeState::Foreign,
        }
    }
}

/// Builds and signs a presentation of `credentials` by `holder` (Data Integrity, purpose
/// authentication). JWT credentials are enveloped as VC DM 2.0 describes.
pub async fn present(
    credentials: &[Value],
    holder: &KeyPair,
    challenge: Option<String>,
    domain: Option<String>,
) -> Result<Value, ProofError> {
    let embedded: Vec<Value> = credentials
        .iter()
        .map(|c| match c {
            Value::String(jwt) => json!({
                "@context": [contexts::CREDENTIALS_V2],
                "id": format!("{JWT_ENVELOPE}{jwt}"),
                "type": "EnvelopedVerifiableCredential"
            }),
            other => other.clone(),
        })
        .collect();
    let presentation = json!({
        "@context": [contexts::CREDENTIALS_V2],
        "id": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "type": ["VerifiablePresentation"],
        "holder": holder.did(),
        "verifiableCredential": embedded,
    });
    let format = match holder.key_type() {
        crate::keys::KeyType::P256 => Format::EcdsaRdfc2019,
        _ => Format::EddsaRdfc2022,
    };
    let options = SignOptions { proof_purpose: "authentication".into(), created: None, challenge, domain };
    Ok(format.signer().sign(&presentation, holder, &options).await?.to_json_value())
}

fn unwrap_credential(value: &Value) -> Value {
    if let Some(id) = value.get("id").and_then(Value::as_str) {
        if model::types_of(value.get("type")).contains(&"EnvelopedVerifiableCredential") {
            if let Some(jwt) = id.strip_prefix(JWT_ENVELOPE) {
                return Value::String(jwt.to_string());
            }
        }
    }
    value.clone()
}

impl Verifier {
    /// Verifies a presentation (JSON with an embedded proof, or a JWT VP).
    pub async fn verify_presentation(
        &self,
        presentation: &Value,
        options: &PresentationOptions,
        challenges: Option<&ChallengeRegistry>,
    ) -> PresentationReport {
        let mut report = PresentationReport::default();
        report.check("presentation");
        // Decode: JSON object, or a compact JWT carrying `vp`.
        let (vp, proof_result) = match presentation {
            Value::Object(_) => {
                let vp = presentation.clone();
                let proofs: Vec<Value> = match vp.get("proof") {
                    Some(Value::Array(list)) => list.clone(),
                    Some(one @ Value::Object(_)) => vec![one.clone()],
                    _ => vec![],
                };
                let result = match proofs.first() {
                    None => Err(ProofError::Invalid("the presentation has no proof".into())),
                    Some(proof) => match crate::credential::verify::signed_quads(&vp).await {
                        Ok(quads) => {
                            report.check("signed-data");
                            for disagreement in
                                signed::disagreements(&vp, &quads, signed::TopLevel::Presentation)
                            {
                                report.error(
                                    "MALFORMED_VALUE_ERROR",
                                    format!("{disagreement}: the checks read the JSON, so it must show exactly what was signed"),
                                );
                            }
                            proofs::verify_embedded_proof_with(
                                &vp,
                                proof,
                                self.resolver.as_ref(),
                                "authentication",
                                Some(&quads),
                            )
                            .await
                        }
                        Err(e) => Err(e),
                    },
                };
                (vp, result)
            }
            Value::String(token) => match proofs::decode_jwt(token, "vp") {
                Ok(decoded) => {
                    let mut vp = decoded.credential.clone();
                    let result = decoded.verify(self.resolver.as_ref(), "authentication").await;
                    if let (Some(holder), Some(iss)) = (vp.get("holder").cloned(), decoded.payload.get("iss"))
                    {
                        if &holder != iss {
                            report.error(
                                "MALFORMED_VALUE_ERROR",
                                "JWT iss does not match the presentation's holder",
                            );
                        }
                    } else if let Some(iss) = decoded.payload.get("iss") {
                        vp["holder"] = iss.clone();
                    }
                    (vp, result)
                }
                Err(e) => {
                    report.error(e.code(), e.to_string());
                    return finish(report);
                }
            },
            _ => {
                report.error("PARSING_ERROR", "a presentation must be a JSON object or a compact JWT");
                return finish(report);
            }
        };
        // Shape.
        let contexts = vp.get("@context").and_then(Value::as_array);
        match contexts.and_then(|c| c.first()).and_then(Value::as_str) {
            Some(contexts::CREDENTIALS_V2 | contexts::CREDENTIALS_V1) => {}
            _ => report
                .error("MALFORMED_VALUE_ERROR", "the presentation's @context must start with the VC context"),
        }
        if !model::types_of(vp.get("type")).contains(&"VerifiablePresentation") {
            report.error(
                "MALFORMED_VALUE_ERROR",
                "the presentation's type must include VerifiablePresentation",
            );
        }
        // The holder's proof.
        report.check("holder-proof");
        let holder =
            vp.get("holder").and_then(|h| h.as_str().or_else(|| h.get("id")?.as_str())).map(str::to_string);
        let mut signer = None;
        match proof_result {
            Ok(proof) => {
                if let Some(holder) = &holder {
                    if *holder != proof.method.controller {
                        report.error(
                            "HOLDER_MISMATCH_ERROR",
                            format!(
                                "the presentation is signed by {}, not by its holder {holder}",
                                proof.method.controller
                            ),
                        );
                    }
                }
                signer = Some(proof.method.controller.clone());
                self.check_challenge_and_domain(&proof, options, challenges, &mut report);
            }
            Err(e) => report.error(e.code(), format!("holder proof: {e}")),
        }
        report.holder = holder.clone().or(signer.clone());
        // Every credential, in full.
        report.check("credentials");
        let credentials: Vec<Value> = match vp.get("verifiableCredential") {
            None => vec![],
            Some(Value::Array(list)) => list.iter().map(unwrap_credential).collect(),
            Some(one) => vec![unwrap_credential(one)],
        };
        for (i, credential) in credentials.iter().enumerate() {
            let credential_report = self.verify_value(credential).await;
            if !credential_report.verified {
                let codes: Vec<&str> = credential_report.errors.iter().map(|e| e.code.as_str()).collect();
                let code = if codes.contains(&"REVOKED") {
                    "REVOKED"
                } else if codes.contains(&"SUSPENDED") {
                    "SUSPENDED"
                } else {
                    "CREDENTIAL_VERIFICATION_ERROR"
                };
                report
                    .error(code, format!("verifiableCredential[{i}] does not verify: {}", codes.join(", ")));
            }
            if let (Some(parsed), Some(presenter)) = (&credential_report.credential, report.holder.clone()) {
                self.check_recipient(i, parsed, &presenter, options, &mut report);
            }
            report.credentials.push(credential_report);
        }
        finish(report)
    }

    fn check_challenge_and_domain(
        &self,
        proof: &proofs::VerifiedProof,
        options: &PresentationOptions,
        challenges: Option<&ChallengeRegistry>,
        report: &mut PresentationReport,
    ) {
        report.check("challenge");
        match (&options.challenge, &proof.challenge) {
            (Some(expected), Some(actual)) if expected == actual => {
                if let Some(registry) = challenges {
                    match registry.redeem(actual) {
                        ChallengeState::Fresh | ChallengeState::Foreign => {}
                        ChallengeState::Expired => {
                            report.error("CHALLENGE_EXPIRED", "the challenge has expired")
                        }
                        ChallengeState::Replayed => report.error(
                            "CHALLENGE_REPLAYED",
                            "the challenge was already used (or never issued here)",
                        ),
                    }
                }
            }
            (Some(expected), Some(actual)) => report.error(
                "INVALID_CHALLENGE_ERROR",
                format!("the proof's challenge {actual:?} is not the expected {expected:?}"),
            ),
            (Some(_), None) => report.error("INVALID_CHALLENGE_ERROR", "the proof has no challenge"),
            (None, _) => {}
        }
        report.check("domain");
        let proof_domains = &proof.domains;
        if let Some(expected) = &options.domain {
            if !proof_domains.contains(expected) {
                report.error(
                    "INVALID_DOMAIN_ERROR",
                    format!("the proof's domain {proof_domains:?} does not include {expected:?}"),
                );
            }
        }
    }

    fn check_recipient(
        &self,
        index: usize,
        credential: &Value,
        holder: &str,
        options: &PresentationOptions,
        report: &mut PresentationReport,
    ) {
        for subject in model::subjects(credential) {
            if let Some(id) = subject.get("id").and_then(Value::as_str) {
                if id.starts_with("did:") && did::did_of(id) != holder {
                    let detail =
                        format!("verifiableCredential[{index}] was issued to {id}, but {holder} presents it");
                    // An Open Badge names its recipient; other credentials may be presented by
                    // someone other than their subject (VC DM 2.0 §5.8), so that is only noted.
                    if model::credential_kind(credential) == model::CredentialKind::Other {
                        report.warnings.push(Problem::new("HOLDER_MISMATCH_ERROR", detail));
                    } else {
                        report.error("HOLDER_MISMATCH_ERROR", detail);
                    }
                }
                continue;
            }
            let identities: Vec<IdentityObject> = match subject.get("identifier") {
                Some(Value::Array(list)) => {
                    list.iter().filter_map(|v| serde_json::from_value(v.clone()).ok()).collect()
                }
                Some(one) => serde_json::from_value(one.clone()).ok().into_iter().collect(),
                None => vec![],
            };
            if identities.is_empty() {
                // Fail closed: an Open Badge whose subject names no recipient at all cannot be
                // bound to whoever presents it.
                if model::credential_kind(credential) != model::CredentialKind::Other {
                    report.error(
                        "HOLDER_MISMATCH_ERROR",
                        format!("verifiableCredential[{index}]'s subject has neither an id nor an identifier, so {holder} cannot be shown to be its recipient"),
                    );
                }
                continue;
            }
            match &options.recipient_identifier {
                Some(identifier) if identities.iter().any(|i| i.matches(identifier)) => {}
                Some(_) => report.error(
                    "RECIPIENT_MISMATCH_ERROR",
                    format!("verifiableCredential[{index}]'s recipient identifier does not match the one given"),
                ),
                None => report.warnings.push(Problem::new(
                    "RECIPIENT_NOT_CHECKED",
                    format!("verifiableCredential[{index}] names its recipient by a hashed identifier; pass options.recipientIdentifier to check it"),
                )),
            }
        }
    }
}

fn finish(mut report: PresentationReport) -> PresentationReport {
    report.verified = report.errors.is_empty();
    report
}
