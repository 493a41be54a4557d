//! The issuer's public page: its profile and the achievements it awards, with their criteria.

use maud::html;
use serde_json::Value;

use super::{layout, text, web_link, Head};
use crate::service::PublicIssuer;

pub fn issuer_page(issuer: &PublicIssuer) -> String {
    let profile = &issuer.profile;
    let get = |key: &str| profile.get(key).unwrap_or(&Value::Null);
    let did = text(get("id")).unwrap_or_default();
    let name = text(get("name")).unwrap_or("Unnamed issuer");
    let head = Head {
        title: format!("{name}: issuer"),
        description: text(get("description")).map(str::to_string),
        ..Head::default()
    };
    let body = html! {
        h1 { (name) }
        p.small { "The name, description and website below are the issuer's own words." }
        @if let Some(description) = text(get("description")) { p { (description) } }
        dl.facts {
            @if let Some(site) = web_link(get("url")) { dt { "Website" } dd { a href=(site) rel="noopener" { (site) } } }
            @if let Some(email) = text(get("email")) { dt { "Email" } dd { (email) } }
            dt { "Identifier (DID)" } dd { code { (did) } }
        }
        h2 { "Badges this issuer awards" }
        @if issuer.achievements.is_empty() {
            p { "No achievements are published." }
        }
        @for achievement in &issuer.achievements {
            section.achievement {
                h3 { (text(&achievement["name"]).unwrap_or("Unnamed achievement")) }
                @if let Some(kind) = text(&achievement["achievementType"]) { p.small { (kind) } }
                @if let Some(description) = text(&achievement["description"]) { p { (description) } }
                h4 { "Criteria" }
                @if let Some(narrative) = text(&achievement["criteria"]["narrative"]) { p.narrative { (narrative) } }
                @if let Some(link) = web_link(&achievement["criteria"]["id"]) { p { a href=(link) rel="noopener" { "Full criteria" } } }
            }
        }
    };
    layout(head, body)
}
