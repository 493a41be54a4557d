//! The verify page for employers: upload baked badges, JSON or JWT files, paste a credential,
//! or give badge links from this server; every badge is checked by the verifier behind
//! `POST /credentials/verify`, and each result is told in plain words with the technical
//! report one click away.

use maud::{html, Markup};
use serde_json::Value;

use super::words::{check_lines, issued_by, state_headline, state_of, unchecked_registries};
use super::{human_date, layout, text, Head};
use crate::credential::model;
use crate::credential::verify::Report;

/// One badge checked: what it was (a file name, "pasted text", a link) and the verifier's
/// report, or why it could not be checked at all.
#[derive(Debug)]
pub struct Checked {
    pub label: String,
    pub outcome: Result<Report, String>,
    /// The holder hid their name (a badge link to a badge of this server): do not show it.
    pub hide_name: bool,
}

/// What the form held, to show it again with the results.
#[derive(Debug, Default)]
pub struct VerifyForm {
    pub text: String,
    pub urls: String,
    /// A problem with the submission as a whole (too large, malformed).
    pub error: Option<String>,
}

/// The verify page: the form, and the results of a submission if there was one.
pub fn verify_page(form: &VerifyForm, results: &[Checked], max_upload: usize) -> String {
    let head = Head {
        title: "Verify badges".into(),
        description: Some("Check Open Badges: signature, issuer, revocation and expiry.".into()),
        ..Head::default()
    };
    let body = html! {
        h1 { "Verify badges" }
        p { "Check badges from any issuer: the signature, who issued them, whether they are revoked or expired. Nothing you upload is stored." }
        @if let Some(error) = &form.error {
            div.alert role="alert" { p { strong { "The upload could not be checked: " } (error) } }
        }
        @if !results.is_empty() { (summary(results)) }
        @for (n, result) in results.iter().enumerate() { (one_result(n, result)) }
        form.verify method="post" action="/verify" enctype="multipart/form-data" {
            h2 { @if results.is_empty() { "Badges to check" } @else { "Check more badges" } }
            div.field.dropzone {
                label for="files" { "Badge files" }
                p.hint #files-hint { "Baked badge images (PNG, SVG), credential files (JSON) or JWTs. Several at once are fine; "
                    (max_upload / 1024) " KiB in all at most." }
                input #files type="file" name="files" multiple aria-describedby="files-hint"
                    accept=".png,.svg,.json,.jsonld,.jwt,.txt,image/png,image/svg+xml,application/json";
                p.drop-note hidden { "Or drop files here." }
                ul.file-list aria-live="polite" {}
            }
            div.field {
                label for="text" { "Or paste a credential (JSON or JWT)" }
                textarea #text name="text" rows="6" spellcheck="false" { (form.text) }
            }
            div.field {
                label for="urls" { "Or badge links from this server (one per line)" }
                textarea #urls name="urls" rows="2" spellcheck="false" { (form.urls) }
            }
            button.button type="submit" { "Verify" }
        }
    };
    layout(head, body)
}

fn summary(results: &[Checked]) -> Markup {
    let verified = results.iter().filter(|r| matches!(&r.outcome, Ok(report) if report.verified)).count();
    let total = results.len();
    let noun = if total == 1 { "badge" } else { "badges" };
    let class = if verified == total { "summary all-good" } else { "summary some-bad" };
    html! {
        p class=(class) role="status" #summary {
            (total) " " (noun) " checked: " (verified) " verified, " (total - verified) " not verified."
        }
    }
}

fn one_result(n: usize, result: &Checked) -> Markup {
    let heading = format!("result-{n}");
    match &result.outcome {
        Err(problem) => html! {
            section.result.state-invalid aria-labelledby=(heading) {
                h2 #(heading) { (result.label) ": could not be checked" }
                p { (problem) }
            }
        },
        Ok(report) => {
            let state = state_of(report);
            let (headline, explanation) = state_headline(state);
            let credential = report.credential.as_ref().unwrap_or(&Value::Null);
            let achievement = model::first_achievement(credential).unwrap_or(&Value::Null);
            let name = text(&achievement["name"]).or(text(&credential["name"])).unwrap_or("Unnamed badge");
            let issuer = &credential["issuer"];
            let issuer_name = text(&issuer["name"]);
            let issuer_id = text(issuer).or(text(&issuer["id"])).or(report.issuer.as_deref());
            let recipient = if result.hide_name {
                None
            } else {
                model::subjects(credential).first().and_then(|s| text(&s["name"]))
            };
            // A subject with no id and no identifier (NO_RECIPIENT) names nobody it belongs to.
            let untied = report.warnings.iter().any(|w| w.code == "NO_RECIPIENT");
            html! {
                section.result.{ "state-" (state) } aria-labelledby=(heading) {
                    h2 #(heading) { span.verdict { (headline) } ": " (name) }
                    p.small { "From " (result.label) }
                    p { (explanation) }
                    dl.facts {
                        dt { "Issued by" }
                        dd {
                            @for line in issued_by(issuer_name, issuer_id, report.registry.as_ref()) { (line) br; }
                            @for line in unchecked_registries(report.registry.as_ref()) { span.small { (line) } br; }
                        }
                        @if let Some(id) = issuer_id { dt { "Issuer identifier" } dd { code { (id) } } }
                        dt { "Awarded to" }
                        dd {
                            @if untied { "Not tied to a named recipient: nothing in the badge binds it to whoever shows it" }
                            @else if let Some(r) = recipient { (r) }
                            @else if result.hide_name { "Not shown (the holder hid their name)" }
                            @else { "Not named in the badge" }
                        }
                        @if let Some(date) = human_date(&credential["validFrom"]).or(human_date(&credential["issuanceDate"])) { dt { "Issued" } dd { (date) } }
                        @if let Some(date) = human_date(&credential["validUntil"]).or(human_date(&credential["expirationDate"])) { dt { "Expires" } dd { (date) } }
                    }
                    (check_list(report))
                    details {
                        summary { "Technical report" }
                        pre { (serde_json::to_string_pretty(report).unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

/// Each check the verifier ran, passed or failed, in plain words (not by colour alone).
pub(super) fn check_list(report: &Report) -> Markup {
    html! {
        ul.checks {
            @for line in check_lines(report) {
                @let (class, mark, verdict) = if line.passed {
                    ("pass", "\u{2713}", "passed")
                } else if line.warning {
                    ("warn", "!", "warning")
                } else {
                    ("fail", "\u{2717}", "failed")
                };
                li class=(class) {
                    span.mark aria-hidden="true" { (mark) }
                    strong { (line.name) ": " (verdict) }
                    " \u{2014} " (line.words)
                    @for problem in &line.problems { br; span.small.problem { (problem) } }
                }
            }
        }
    }
}
