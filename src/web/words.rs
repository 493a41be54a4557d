//! Verification results in plain words: what each check means when it passed or failed, the
//! badge's state, and who vouches for the issuer (trust registries).

use serde_json::Value;

use crate::credential::verify::{Problem, Report};

/// One check as a person reads it.
pub(super) struct CheckLine {
    pub name: &'static str,
    pub passed: bool,
    /// Not passed, but only a warning (an issuer no registry lists, by default).
    pub warning: bool,
    pub words: String,
    /// The verifier's own problems behind a failure (title: detail).
    pub problems: Vec<String>,
}

/// The check an error code belongs to.
fn check_of(code: &str) -> &'static str {
    match code {
        "PROOF_VERIFICATION_ERROR" | "CRYPTOGRAPHIC_SECURITY_ERROR" | "PROOF_TRANSFORMATION_ERROR" => "proof",
        "ISSUER_MISMATCH_ERROR" => "issuer-binding",
        "CREDENTIAL_EXPIRED" | "CREDENTIAL_NOT_YET_VALID" => "validity-period",
        "REVOKED"
        | "SUSPENDED"
        | "STATUS_RETRIEVAL_ERROR"
        | "STATUS_VERIFICATION_ERROR"
        | "STATUS_LIST_LENGTH_ERROR" => "status",
        "ENDORSEMENT_INVALID" => "endorsements",
        "ISSUER_NOT_REGISTERED" => "registry",
        "RECIPIENT_MISMATCH_ERROR" | "NO_RECIPIENT" => "recipient",
        _ => "schema",
    }
}

/// (short name, when it passed, when it failed).
fn describe(check: &str) -> (&'static str, &'static str, &'static str) {
    match check {
        "baked-image" => (
            "Badge image",
            "The image carries a badge credential.",
            "The image does not carry a readable badge credential.",
        ),
        "proof" => (
            "Signature",
            "The signature is valid: nothing in the badge was changed after it was signed.",
            "The signature does not match: the badge was changed after it was signed, or was never signed by this key.",
        ),
        "issuer-binding" => (
            "Issuer's key",
            "The key that signed the badge belongs to the issuer it names.",
            "The key that signed the badge does not belong to the issuer it names.",
        ),
        "validity-period" => (
            "Dates",
            "The badge is within its validity dates.",
            "The badge is outside its validity dates (expired, or not valid yet).",
        ),
        "status" => (
            "Revocation",
            "The issuer has not revoked or suspended the badge (checked just now).",
            "The issuer has revoked or suspended the badge, or its status could not be checked.",
        ),
        "schema" => (
            "Format",
            "The badge has the shape of an Open Badges 3.0 credential.",
            "The badge is not a well-formed Open Badges 3.0 credential.",
        ),
        "contexts" => (
            "Vocabulary",
            "The badge uses the standard Open Badges vocabulary.",
            "The badge uses a vocabulary this verifier does not accept.",
        ),
        "recipient" => ("Recipient", "The badge names its recipient properly.", "The badge's recipient is not stated properly."),
        "related-resources" => (
            "Linked files",
            "Linked files match the digests recorded in the badge.",
            "A linked file does not match the digest recorded in the badge.",
        ),
        "signed-data" => (
            "Signed data",
            "The fields shown are the ones the signature covers.",
            "Part of the badge was not covered by the signature.",
        ),
        "endorsements" => (
            "Endorsements",
            "Every endorsement in the badge verifies.",
            "An endorsement in the badge does not verify.",
        ),
        "registry" => (
            "Trust registry",
            "The issuer is listed in a configured trust registry.",
            "No configured trust registry lists the issuer.",
        ),
        _ => ("Other", "Passed.", "Failed."),
    }
}

fn problem_text(problem: &Problem) -> String {
    format!("{}: {}", problem.title, problem.detail)
}

/// Every check the verifier ran, in its order, then the problems of checks it did not list
/// (a badge that cannot be parsed has no checks, only a problem).
pub(super) fn check_lines(report: &Report) -> Vec<CheckLine> {
    let mut lines: Vec<CheckLine> = Vec::new();
    let mut names: Vec<&str> = report.checks.iter().map(String::as_str).collect();
    for problem in report.errors.iter().chain(&report.warnings) {
        let check = check_of(&problem.code);
        if !names.contains(&check) {
            names.push(check);
        }
    }
    for check in names {
        let errors: Vec<&Problem> = report.errors.iter().filter(|p| check_of(&p.code) == check).collect();
        // A warning on its check (an unlisted issuer, by default) is a failed line too: the
        // page must not show it as a pass.
        let warnings: Vec<&Problem> = report.warnings.iter().filter(|p| check_of(&p.code) == check).collect();
        let (name, pass, fail) = describe(check);
        let passed = errors.is_empty() && warnings.is_empty();
        let mut words = if passed { pass } else { fail }.to_string();
        if check == "status" && !passed {
            if errors.iter().any(|p| p.code == "REVOKED") {
                words = "The issuer has revoked this badge.".into();
            } else if errors.iter().any(|p| p.code == "SUSPENDED") {
                words = "The issuer has suspended this badge.".into();
            }
        }
        if check == "validity-period" && errors.iter().any(|p| p.code == "CREDENTIAL_EXPIRED") {
            words = "The badge has expired.".into();
        }
        if check == "registry" && passed {
            if let Some(registry) = &report.registry {
                if registry["checked"] != Value::Bool(true) {
                    words = "No trust registry could be consulted.".into();
                }
            }
        }
        if check == "schema" && !errors.is_empty() && !report.checks.iter().any(|c| c == "schema") {
            words = "The input could not be read as a badge.".into();
        }
        let problems = errors.iter().chain(&warnings).map(|p| problem_text(p)).collect();
        let warning = errors.is_empty() && !warnings.is_empty();
        // A warning leaves the check intact (an unlisted issuer keeps its own words above).
        if warning && check != "registry" {
            words = "Checked; the deviation below does not change the verdict.".into();
        }
        lines.push(CheckLine { name, passed, warning, words, problems });
    }
    lines
}

/// The badge's state as `/api/verify` names it: valid, revoked, suspended, expired or invalid.
pub fn state_of(report: &Report) -> &'static str {
    let has = |code: &str| report.errors.iter().any(|e| e.code == code);
    if has("REVOKED") {
        "revoked"
    } else if has("SUSPENDED") {
        "suspended"
    } else if has("CREDENTIAL_EXPIRED") {
        "expired"
    } else if report.verified {
        "valid"
    } else {
        "invalid"
    }
}

/// The headline for a state.
pub(super) fn state_headline(state: &str) -> (&'static str, &'static str) {
    match state {
        "valid" => (
            "Verified",
            "The signature, the issuer's key, the dates and the revocation status all check out (just now).",
        ),
        "revoked" => ("Revoked", "The issuer has withdrawn this badge: it no longer counts."),
        "suspended" => {
            ("Suspended", "The issuer has suspended this badge for now: it does not count while suspended.")
        }
        "expired" => ("Expired", "This badge has passed its expiry date."),
        _ => ("Not verified", "At least one check failed: do not rely on this badge."),
    }
}

/// Who issued the badge, as a registry vouches for it, or in the issuer's own words: never the
/// issuer's self-chosen name alone. `registry` is the report's `registry` result, if any.
pub(super) fn issued_by(
    issuer_name: Option<&str>,
    issuer_id: Option<&str>,
    registry: Option<&Value>,
) -> Vec<String> {
    let own = issuer_name.or(issuer_id).unwrap_or("an unnamed issuer");
    let Some(registry) = registry.filter(|r| !r.is_null()) else {
        return vec![format!(
            "The issuer calls itself \u{201c}{own}\u{201d}; no trust registry is configured here to confirm who that is."
        )];
    };
    let mut lines = Vec::new();
    if let Some(matches) = registry["matches"].as_array().filter(|m| !m.is_empty()) {
        for m in matches {
            let name = m["name"].as_str().unwrap_or(own);
            let listed_in = m["registry"].as_str().unwrap_or("a registry");
            lines.push(format!("Issued by {name}, listed in {listed_in}"));
        }
        if let Some(issuer_name) = issuer_name {
            if matches.iter().all(|m| m["name"].as_str() != Some(issuer_name)) {
                lines.push(format!("(The badge itself names the issuer \u{201c}{issuer_name}\u{201d}.)"));
            }
        }
    } else if registry["checked"] == Value::Bool(true) {
        lines
            .push(format!("The issuer calls itself \u{201c}{own}\u{201d}; no configured registry lists it."));
    } else {
        let reason = registry["reason"].as_str().unwrap_or("no registry could be consulted");
        lines.push(format!(
            "The issuer calls itself \u{201c}{own}\u{201d}; it was not looked up in a registry: {reason}."
        ));
    }
    lines
}

/// The registries that could not be consulted, and why (shown beside [`issued_by`], smaller).
pub(super) fn unchecked_registries(registry: Option<&Value>) -> Vec<String> {
    let entries = registry.and_then(|r| r["unchecked"].as_array()).map(Vec::as_slice).unwrap_or_default();
    entries
        .iter()
        .map(|u| {
            format!(
                "{} could not be checked: {}",
                u["registry"].as_str().unwrap_or("A registry"),
                u["reason"].as_str().unwrap_or("unknown reason")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_registry_names_the_institution_never_the_issuer_alone() {
        let listed = json!({"checked": true, "listed": true, "matches": [{"registry": "DCC Member Registry", "type": "dcc-legacy", "name": "MIT Learn"}], "unchecked": []});
        assert_eq!(
            issued_by(Some("MIT"), None, Some(&listed))[0],
            "Issued by MIT Learn, listed in DCC Member Registry"
        );
        let unlisted = json!({"checked": true, "listed": false, "matches": [], "unchecked": []});
        assert_eq!(
            issued_by(Some("MIT"), None, Some(&unlisted)),
            vec!["The issuer calls itself \u{201c}MIT\u{201d}; no configured registry lists it."]
        );
        assert!(issued_by(Some("MIT"), None, None)[0].contains("calls itself"));
    }

    #[test]
    fn a_failed_signature_names_the_signature_check() {
        let mut report = Report { checks: vec!["proof".into(), "status".into()], ..Report::default() };
        report.errors.push(Problem::new("PROOF_VERIFICATION_ERROR", "bad"));
        let lines = check_lines(&report);
        assert_eq!(lines[0].name, "Signature");
        assert!(!lines[0].passed);
        assert!(lines[1].passed);
        assert_eq!(state_of(&report), "invalid");
    }
}
