//! The public badge page: what the badge says, whether it holds up right now, and how to
//! share it (downloads, copy link, LinkedIn, sharing cards, JSON-LD for machines).

use maud::{html, Markup};
use serde_json::Value;

use super::words::{issued_by, state_headline, unchecked_registries};
use super::{human_date, json_for_script, layout, path_segment, text, web_link, Head};
use crate::service::PublicBadge;

/// LinkedIn's add-to-profile link for a certification, filled from the badge.
pub fn linkedin_url(badge: &PublicBadge, base_url: &str) -> String {
    let view = &badge.view;
    let id = view["id"].as_str().unwrap_or_default();
    let mut url = url::Url::parse("https://www.linkedin.com/profile/add").expect("a valid URL");
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("startTask", "CERTIFICATION_NAME");
        q.append_pair("name", achievement_name(view));
        q.append_pair("organizationName", &organization(view));
        if let Some((year, month)) = year_month(&view["issuedOn"]) {
            q.append_pair("issueYear", &year);
            q.append_pair("issueMonth", &month);
        }
        if let Some((year, month)) = year_month(&view["expires"]) {
            q.append_pair("expirationYear", &year);
            q.append_pair("expirationMonth", &month);
        }
        q.append_pair("certUrl", &page_url(base_url, id));
        q.append_pair("certId", id);
    }
    url.into()
}

fn page_url(base_url: &str, id: &str) -> String {
    format!("{base_url}/badges/{}", path_segment(id))
}

fn achievement_name(view: &Value) -> &str {
    text(&view["achievement"]["name"]).or(text(&view["name"])).unwrap_or("Badge")
}

/// The institution's name as a registry lists it, else the issuer's own.
fn organization(view: &Value) -> String {
    let registry = &view["verification"]["registry"];
    if let Some(name) = registry["matches"].get(0).and_then(|m| text(&m["name"])) {
        return name.to_string();
    }
    text(&view["issuer"]["name"]).or(text(&view["issuer"]["id"])).unwrap_or_default().to_string()
}

fn year_month(value: &Value) -> Option<(String, String)> {
    let date = chrono::DateTime::parse_from_rfc3339(text(value)?).ok()?;
    Some((date.format("%Y").to_string(), date.format("%-m").to_string()))
}

/// The page for one badge; `base_url` is this server's public URL.
pub fn badge_page(badge: &PublicBadge, base_url: &str) -> String {
    let view = &badge.view;
    let id = view["id"].as_str().unwrap_or_default();
    let escaped_id = path_segment(id);
    let name = achievement_name(view);
    let achievement = &view["achievement"];
    let issuer = &view["issuer"];
    let state = view["state"].as_str().unwrap_or("invalid");
    let (headline, explanation) = state_headline(state);
    let url = page_url(base_url, id);
    let image = format!("{base_url}/badges/{escaped_id}/image.png");
    let description = text(&achievement["description"]).map(|d| d.chars().take(300).collect::<String>());
    let recipient = text(&view["recipient"]["name"]);
    let issuer_name = text(&issuer["name"]);
    let issuer_lines = issued_by(
        issuer_name,
        text(&issuer["id"]),
        view["verification"]["registry"].as_object().map(|_| &view["verification"]["registry"]),
    );
    let head = Head {
        title: format!("{name}: badge"),
        description: description.clone().or_else(|| Some(format!("A {name} badge"))),
        card: Some((url.clone(), image)),
        noindex: !badge.visibility.show_name,
        json_ld: badge.credential.as_ref().map(json_for_script),
    };
    let body = html! {
        article.badge {
            div.badge-top {
                img.badge-image src={ "/badges/" (escaped_id) "/image.png" } alt={ "Badge image for " (name) } width="160" height="160";
                div {
                    p.kicker { "Open Badge" }
                    h1 { (name) }
                    @if let Some(recipient) = recipient {
                        p.recipient { "Awarded to " strong { (recipient) } }
                    } @else if !badge.visibility.show_name {
                        p.recipient { "The holder chose not to show their name." }
                    }
                    @for line in &issuer_lines { p.issuer-line { (line) } }
                    @for line in unchecked_registries(view["verification"].get("registry")) { p.small { (line) } }
                }
            }
            section.state.{ "state-" (state) } role="status" aria-labelledby="state-heading" {
                h2 #state-heading { (headline) }
                p { (explanation) }
                @if let Some(at) = text(&view["verification"]["checkedAt"]) {
                    p.small { "Checked " time datetime=(at) { (at) } }
                }
                (status_reasons(&view["verification"]["status"]))
            }
            section aria-labelledby="about-heading" {
                h2 #about-heading { "About this badge" }
                @if let Some(description) = text(&achievement["description"]) { p { (description) } }
                dl.facts {
                    @if let Some(kind) = text(&achievement["achievementType"]) { dt { "Type" } dd { (kind) } }
                    @if let Some(date) = human_date(&view["issuedOn"]) { dt { "Issued" } dd { (date) } }
                    dt { "Expires" }
                    dd { (human_date(&view["expires"]).unwrap_or_else(|| "Never".into())) }
                    dt { "Badge id" } dd { code { (id) } }
                }
                h3 { "Criteria" }
                (criteria(&achievement["criteria"]))
                (skills(&achievement["alignment"]))
                (evidence(&view["evidence"]))
            }
            section aria-labelledby="issuer-heading" {
                h2 #issuer-heading { "Issuer" }
                dl.facts {
                    dt { "Name (as the issuer gives it)" } dd { (issuer_name.unwrap_or("Not given")) }
                    @if let Some(site) = web_link(&issuer["url"]) { dt { "Website" } dd { a href=(site) rel="noopener" { (site) } } }
                    @else if let Some(site) = text(&issuer["url"]) { dt { "Website" } dd { (site) } }
                    @if let Some(did) = text(&issuer["id"]) { dt { "Identifier (DID)" } dd { code { (did) } } }
                }
                @if let Some(did) = text(&issuer["id"]) {
                    p { a href={ "/issuers/" (path_segment(did)) } { "The issuer's page and other badges" } }
                }
            }
            section aria-labelledby="checks-heading" {
                h2 #checks-heading { "Checks" }
                (super::verify::check_list(&badge.report))
            }
            section aria-labelledby="share-heading" {
                h2 #share-heading { "Share and download" }
                p.share {
                    a.button href=(linkedin_url(badge, base_url)) rel="noopener" { "Add to LinkedIn profile" }
                    " "
                    button.button.copy type="button" data-copy=(url) hidden { "Copy link" }
                    span.copy-status role="status" aria-live="polite" {}
                }
                p.small { "Link to this page: " code.page-link { (url) } }
                @if badge.credential.is_some() {
                    ul.downloads {
                        li { a href={ "/credentials/" (escaped_id) "/badge.png" } download { "Badge image with the credential inside (PNG)" } }
                        li { a href={ "/credentials/" (escaped_id) "/badge.svg" } download { "Badge image with the credential inside (SVG)" } }
                        li { a href={ "/badges/" (escaped_id) "/credential.json" } download { "Credential (JSON)" } }
                        @if badge.jwt.is_some() {
                            li { a href={ "/badges/" (escaped_id) "/credential.jwt" } download { "Credential (JWT)" } }
                        }
                        li { a href={ "/api/verify/" (escaped_id) } { "Verification result (JSON)" } }
                    }
                } @else {
                    p { "Downloads are off: the credential carries the holder's name, which they chose not to show." }
                }
            }
        }
    };
    layout(head, body)
}

fn status_reasons(status: &Value) -> Markup {
    html! {
        @for entry in status.as_array().into_iter().flatten() {
            @if entry["value"].as_u64().unwrap_or(0) != 0 {
                @if let Some(message) = text(&entry["message"]) {
                    p { "Reason given by the issuer: " (message) }
                }
            }
        }
    }
}

fn criteria(criteria: &Value) -> Markup {
    html! {
        @if let Some(narrative) = text(&criteria["narrative"]) {
            @for paragraph in narrative.split("\n\n") { p.narrative { (paragraph) } }
        }
        @if let Some(link) = web_link(&criteria["id"]) {
            p { a href=(link) rel="noopener" { "Full criteria" } }
        }
        @if text(&criteria["narrative"]).is_none() && web_link(&criteria["id"]).is_none() {
            p { "The badge states no criteria." }
        }
    }
}

fn skills(alignment: &Value) -> Markup {
    let items = alignment.as_array().map(Vec::as_slice).unwrap_or_default();
    html! {
        @if !items.is_empty() {
            h3 { "Skills" }
            ul.skills {
                @for item in items {
                    li {
                        @let name = text(&item["targetName"]).unwrap_or("Unnamed skill");
                        @if let Some(link) = web_link(&item["targetUrl"]) { a href=(link) rel="noopener" { (name) } } @else { (name) }
                        @if let Some(framework) = text(&item["targetFramework"]) { " (" (framework) ")" }
                        @if let Some(description) = text(&item["targetDescription"]) { br; span.small { (description) } }
                    }
                }
            }
        }
    }
}

fn evidence(evidence: &Value) -> Markup {
    let items = evidence.as_array().map(Vec::as_slice).unwrap_or_default();
    html! {
        @if !items.is_empty() {
            h3 { "Evidence" }
            ul {
                @for item in items {
                    li {
                        @let name = text(&item["name"]).or(text(&item["id"])).unwrap_or("Evidence");
                        @if let Some(link) = web_link(&item["id"]) { a href=(link) rel="noopener" { (name) } } @else { (name) }
                        @if let Some(narrative) = text(&item["narrative"]) { ": " (narrative) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Visibility;
    use serde_json::json;

    fn badge(view: Value) -> PublicBadge {
        PublicBadge {
            view,
            credential: None,
            jwt: None,
            visibility: Visibility::default(),
            report: Default::default(),
        }
    }

    #[test]
    fn linkedin_leaves_out_an_expiry_the_badge_does_not_have() {
        let b = badge(
            json!({"id": "urn:uuid:1", "achievement": {"name": "A & B"}, "issuer": {"name": "Uni"}, "issuedOn": "2025-03-09T10:00:00Z", "expires": null}),
        );
        let url = url::Url::parse(&linkedin_url(&b, "https://badges.example")).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["name"], "A & B");
        assert_eq!(q["organizationName"], "Uni");
        assert_eq!((q["issueYear"].as_str(), q["issueMonth"].as_str()), ("2025", "3"));
        assert!(!q.contains_key("expirationYear"));
        assert_eq!(q["certUrl"], "https://badges.example/badges/urn:uuid:1");
    }

    #[test]
    fn suspended_and_expired_badges_say_so_first() {
        for (state, headline) in
            [("suspended", "Suspended"), ("expired", "Expired"), ("invalid", "Not verified")]
        {
            let page = badge_page(
                &badge(json!({"id": "x", "state": state, "achievement": {"name": "N"}})),
                "https://b.example",
            );
            assert!(page.contains(&format!(r#"<h2 id="state-heading">{headline}</h2>"#)), "{state}: {page}");
            assert!(page.contains(&format!("state-{state}")));
        }
    }
}
