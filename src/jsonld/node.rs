//! Shape rules for compacted JSON-LD node objects that several layers read without expanding.

use serde_json::Value;

/// The values of a `type` member: one string or an array of strings (others are ignored).
pub fn types_of(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// The id of a value that is either a bare IRI string or a node object with an `id`
/// (`issuer`, `holder`, ...).
pub fn node_id(value: &Value) -> Option<&str> {
    match value {
        Value::String(id) => Some(id),
        Value::Object(node) => node.get("id").and_then(Value::as_str),
        _ => None,
    }
}
