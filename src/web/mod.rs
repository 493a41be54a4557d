//! The public web pages: HTML rendered on the server for people (learners sharing a badge,
//! employers checking one), with their templates and static assets.
//!
//! Owns: the badge page (`GET /badges/{id}`), the verify page (`GET`/`POST /verify`), the
//! issuer page (`GET /issuers/{id}`), the claim page of a wallet offer (`GET /claim/{id}`), the HTML error page, the plain-language wording of
//! verification results, and the CSS and JavaScript under `/assets/` (compiled in: the pages
//! need no CDN, font or other origin, so they work on a closed network).
//!
//! May use: `service` (the views it renders: [`crate::service::PublicBadge`],
//! [`crate::service::PublicIssuer`]) and `credential` (the verifier's [`Report`]). Used by:
//! `http` (`http/pages.rs`, thin handlers that call `service` and then render here). It knows
//! no HTTP types: every function takes data and returns a `String` of HTML; status codes and
//! headers ([`CONTENT_SECURITY_POLICY`]) are set by the handler.
//!
//! Templates are [maud](https://maud.lambda.xyz) macros: everything interpolated is
//! HTML-escaped, since credential fields are attacker-controlled (anyone can issue a badge
//! named `<script>`). The only unescaped output is [`json_for_script`], the credential
//! embedded as JSON-LD, where `<`, `>` and `&` are written as JSON `\u` escapes instead.
//! No inline script or style anywhere: the CSP allows only this origin's files.

mod badge;
mod claim;
mod issuer;
mod verify;
mod words;

pub use self::badge::{badge_page, linkedin_url};
pub use self::claim::claim_page;
pub use self::issuer::issuer_page;
pub use self::verify::{verify_page, Checked, VerifyForm};

use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;

/// Sent with every page: nothing but this origin's own scripts, styles and images (and data:
/// images), no framing, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/app.js");

/// A static asset by file name: its content type and bytes.
pub fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    match name {
        "style.css" => Some(("text/css; charset=utf-8", STYLE.as_bytes())),
        "app.js" => Some(("text/javascript; charset=utf-8", SCRIPT.as_bytes())),
        _ => None,
    }
}

/// What goes into `<head>` besides the title: description, sharing cards, robots.
#[derive(Debug, Default)]
struct Head {
    title: String,
    description: Option<String>,
    /// OpenGraph / Twitter card: (page URL, image URL).
    card: Option<(String, String)>,
    noindex: bool,
    /// Raw JSON, already made safe by [`json_for_script`].
    json_ld: Option<String>,
}

fn layout(head: Head, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (head.title) }
                @if let Some(description) = &head.description {
                    meta name="description" content=(description);
                }
                @if head.noindex {
                    meta name="robots" content="noindex, nofollow";
                }
                @if let Some((url, image)) = &head.card {
                    meta property="og:type" content="website";
                    meta property="og:site_name" content="Laurel";
                    meta property="og:title" content=(head.title);
                    @if let Some(description) = &head.description {
                        meta property="og:description" content=(description);
                        meta name="twitter:description" content=(description);
                    }
                    meta property="og:url" content=(url);
                    meta property="og:image" content=(image);
                    meta property="og:image:alt" content=(head.title);
                    meta name="twitter:card" content="summary";
                    meta name="twitter:title" content=(head.title);
                    meta name="twitter:image" content=(image);
                    link rel="canonical" href=(url);
                }
                link rel="stylesheet" href="/assets/style.css";
                script src="/assets/app.js" defer {}
                @if let Some(json) = &head.json_ld {
                    script type="application/ld+json" { (PreEscaped(json)) }
                }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.site {
                    nav aria-label="Site" {
                        a href="/verify" { "Verify a badge" }
                    }
                }
                main #main { (body) }
                footer.site {
                    p { "Open Badges 3.0 credentials, served and checked by Laurel." }
                }
            }
        }
    }
    .into_string()
}

/// An error page (404 for an unknown or private badge, 400 for a bad upload...); never indexed.
pub fn error_page(title: &str, detail: &str) -> String {
    let head = Head { title: title.to_string(), noindex: true, ..Head::default() };
    layout(
        head,
        html! {
            h1 { (title) }
            p { (detail) }
            p { a href="/verify" { "Check a badge on the verify page" } }
        },
    )
}

/// JSON to place inside a `<script>` element: HTML does not decode entities there, so
/// escaping would corrupt it, and a `</script>` inside a string would end the element. `<`,
/// `>` and `&` can only occur inside JSON strings, where `\u003c` etc. mean the same text.
pub fn json_for_script(value: &Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// `id` as one URL path segment: unreserved characters and `:` `@` as they are (a `urn:uuid:`
/// id stays readable), everything else percent-encoded.
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A JSON value as display text: strings as they are, nothing for null or structures.
fn text(value: &Value) -> Option<&str> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// `http(s)` URLs only: anything else (`javascript:`, `data:`) is shown as text, never linked.
fn web_link(value: &Value) -> Option<&str> {
    text(value)
        .filter(|s| url::Url::parse(s).map(|u| matches!(u.scheme(), "http" | "https")).unwrap_or(false))
}

/// An RFC 3339 date as "4 December 2026" (the text as given if it does not parse).
fn human_date(value: &Value) -> Option<String> {
    let raw = text(value)?;
    Some(match chrono::DateTime::parse_from_rfc3339(raw) {
        Ok(date) => date.format("%-d %B %Y").to_string(),
        Err(_) => raw.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_in_a_script_cannot_close_it() {
        let out = json_for_script(&json!({"name": "</script><script>alert(1)</script> & co"}));
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["name"], "</script><script>alert(1)</script> & co");
    }

    #[test]
    fn ids_become_one_path_segment() {
        assert_eq!(path_segment("urn:uuid:1-2"), "urn:uuid:1-2");
        assert_eq!(path_segment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
    }

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(web_link(&json!("https://example.edu/")), Some("https://example.edu/"));
        assert_eq!(web_link(&json!("javascript:alert(1)")), None);
        assert_eq!(web_link(&json!("data:text/html,x")), None);
    }

    #[test]
    fn error_pages_escape_and_are_not_indexed() {
        let page = error_page("Not found", "<b>x</b>");
        assert!(page.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(page.contains(r#"<meta name="robots" content="noindex, nofollow">"#));
    }
}
