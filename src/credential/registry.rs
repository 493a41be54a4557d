//! Who is the issuer? Trust registries that list institutions by DID (DCC's `knownDIDRegistries`
//! configuration shape). A listing is looked up only for a credential whose proof is the
//! issuer's own; the result names every registry that lists it, as the registry publishes it.
//!
//! Kinds: `dcc-legacy` (a JSON file `{"registry": {"<DID>": {"name", "location", "url"}}}`)
//! is read; `oidf` and `vc-recognition` are reported as not checked (not supported yet), never
//! as "not listed".

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::did::DidResolver;

/// One configured registry (`[{"name", "type", "url" | "trustAnchorEC", "acceptedIssuers"?}]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_anchor_ec: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_issuers: Vec<String>,
}

/// Parses the configuration array, refusing what could never be checked.
pub fn parse_registries(value: &Value) -> Result<Vec<RegistryConfig>, String> {
    let registries: Vec<RegistryConfig> = serde_json::from_value(value.clone())
        .map_err(|e| format!("the registries must be a JSON array of {{name, type, url}}: {e}"))?;
    for r in &registries {
        match r.kind.as_str() {
            "dcc-legacy" if r.url.is_none() => {
                return Err(format!("registry {:?}: a dcc-legacy registry needs a \"url\"", r.name))
            }
            "vc-recognition" if r.accepted_issuers.is_empty() => {
                return Err(format!(
                    "registry {:?}: a vc-recognition registry needs \"acceptedIssuers\"",
                    r.name
                ))
            }
            "dcc-legacy" | "oidf" | "vc-recognition" => {}
            other => {
                return Err(format!(
                    "registry {:?}: unknown type {other:?} (dcc-legacy, oidf, vc-recognition)",
                    r.name
                ))
            }
        }
    }
    Ok(registries)
}

/// Looks `issuer` up in every registry: `{listed, matches: [...], unchecked: [...]}`.
pub async fn lookup(issuer: &str, registries: &[RegistryConfig], resolver: &dyn DidResolver) -> Value {
    let (mut matches, mut unchecked, mut checked) = (Vec::new(), Vec::new(), 0);
    for registry in registries {
        match registry.kind.as_str() {
            "dcc-legacy" => {
                let url = registry.url.as_deref().unwrap_or_default();
                match resolver.fetch_document(url).await {
                    Ok(document) => match document.get("registry").and_then(Value::as_object) {
                        Some(entries) => {
                            checked += 1;
                            if let Some(entry) = entries.get(issuer) {
                                matches.push(json!({
                                    "registry": registry.name, "type": registry.kind,
                                    "name": entry.get("name"), "url": entry.get("url"),
                                    "location": entry.get("location"), "logo": entry.get("logo"),
                                }));
                            }
                        }
                        None => unchecked.push(json!({"registry": registry.name, "reason": format!("{url} has no \"registry\" object")})),
                    },
                    Err(e) => unchecked.push(json!({"registry": registry.name, "reason": e.to_string()})),
                }
            }
            other => unchecked.push(json!({"registry": registry.name, "reason": format!("{other} registries are not supported yet")})),
        }
    }
    json!({"checked": checked > 0, "listed": !matches.is_empty(), "matches": matches, "unchecked": unchecked})
}
