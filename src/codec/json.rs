//! JSON parsing that refuses duplicate object keys.
//!
//! RFC 8259 leaves duplicate names undefined: serde_json keeps the last value, other parsers keep
//! the first or fail. In a credential that means two verifiers (or the signer and a verifier) can
//! disagree on which value was signed, so a document with a duplicate key is refused outright,
//! naming the key and where it is. Keys are compared after unescaping (`"id"` and `"\u0069d"` are
//! the same key).
//!
//! Untrusted input goes through [`from_slice_limited`], which also caps size and nesting depth
//! before the parser sees the bytes.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictJsonError {
    /// The same key twice in one object; `path` is the object's JSONPath.
    #[error(
        "duplicate key {key:?} in {path}: a JSON object must not repeat a key (parsers disagree on which value counts)"
    )]
    DuplicateKey { key: String, path: String },
    #[error("invalid JSON: {0}")]
    Syntax(String),
}

/// Parses `bytes` as JSON into a `Value`, refusing any object that repeats a key.
/// Nesting is bounded by serde_json's recursion limit (128).
pub fn from_slice(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let path = RefCell::new(Vec::new());
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictValue { path: &path, duplicate: &duplicate }
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(value) => Ok(value),
        Err(e) => Err(duplicate.into_inner().unwrap_or_else(|| StrictJsonError::Syntax(e.to_string()))),
    }
}

/// Parses a JSON string; see [`from_slice`].
pub fn from_str(text: &str) -> Result<Value, StrictJsonError> {
    from_slice(text.as_bytes())
}

/// Size and nesting caps for untrusted JSON. The defaults are the verifier's (2 MiB, 64 levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    pub max_bytes: usize,
    pub max_depth: usize,
}

impl Default for JsonLimits {
    fn default() -> Self {
        JsonLimits { max_bytes: 2 << 20, max_depth: 64 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitedJsonError {
    #[error("the input is {len} bytes, more than the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("the JSON is nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error(transparent)]
    Invalid(#[from] StrictJsonError),
}

/// Parses untrusted JSON within the size and depth limits, refusing duplicate keys.
pub fn from_slice_limited(bytes: &[u8], limits: &JsonLimits) -> Result<Value, LimitedJsonError> {
    if bytes.len() > limits.max_bytes {
        return Err(LimitedJsonError::TooLarge { len: bytes.len(), limit: limits.max_bytes });
    }
    if json_depth_exceeds(bytes, limits.max_depth) {
        return Err(LimitedJsonError::TooDeep { limit: limits.max_depth });
    }
    // Strict: a repeated key could mean one value to the signer and another to a verifier.
    Ok(from_slice(bytes)?)
}

/// Maximum nesting depth of a JSON text, computed without parsing it (so hostile depth never
/// reaches the parser's recursion).
pub fn json_depth_exceeds(bytes: &[u8], max_depth: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The key under which serde_json with `arbitrary_precision` presents a number.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// One step of the path to the value being parsed.
enum Step {
    Key(String),
    Index(usize),
}

fn json_path(steps: &[Step]) -> String {
    let mut path = String::from("$");
    for step in steps {
        match step {
            Step::Key(key)
                if !key.is_empty()
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@') =>
            {
                path.push('.');
                path.push_str(key);
            }
            Step::Key(key) => {
                path.push('[');
                path.push_str(&serde_json::to_string(key).unwrap_or_default());
                path.push(']');
            }
            Step::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    path
}

/// Builds a `Value` like serde_json's own visitor, checking each object's keys as they come.
/// The path is kept as a stack and only formatted when a duplicate is found.
#[derive(Clone, Copy)]
struct StrictValue<'a> {
    path: &'a RefCell<Vec<Step>>,
    duplicate: &'a RefCell<Option<StrictJsonError>>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            self.path.borrow_mut().push(Step::Index(items.len()));
            let next = seq.next_element_seed(self);
            self.path.borrow_mut().pop();
            match next? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.is_empty() && key == NUMBER_TOKEN {
                // A dependency turns on serde_json's `arbitrary_precision`: numbers then arrive as
                // a one-entry map holding their digits, and serde_json's own `Value` reads them
                // the same way.
                let digits: String = map.next_value()?;
                return digits.parse().map(Value::Number).map_err(serde::de::Error::custom);
            }
            if object.contains_key(&key) {
                let path = json_path(&self.path.borrow());
                let message = format!("duplicate key {key:?} in {path}");
                *self.duplicate.borrow_mut() = Some(StrictJsonError::DuplicateKey { key, path });
                return Err(serde::de::Error::custom(message));
            }
            self.path.borrow_mut().push(Step::Key(key.clone()));
            let value = map.next_value_seed(self);
            self.path.borrow_mut().pop();
            object.insert(key, value?);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn depth_scanner_ignores_brackets_in_strings() {
        assert!(!json_depth_exceeds(br#"{"a":"[[[[[[[[[[[["}"#, 3));
        assert!(json_depth_exceeds(b"[[[[", 3));
        assert!(!json_depth_exceeds(br#"{"a":"\"[[[["}"#, 2));
    }

    use super::*;

    #[test]
    fn parses_like_serde_json_keeping_key_order() {
        let text =
            r#"{"b": [1, -2, 3.5, 12345678901234567890123, true, null, "x"], "a": {"z": {}, "y": []}}"#;
        let strict = from_str(text).unwrap();
        assert_eq!(strict, serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(strict.as_object().unwrap().keys().collect::<Vec<_>>(), ["b", "a"]);
    }

    #[test]
    fn a_duplicate_key_is_named_with_its_path() {
        let text =
            r#"{"credentialSubject": {"achievement": [{"id": "a"}, {"id": "b", "name": "x", "id": "c"}]}}"#;
        assert_eq!(
            from_str(text),
            Err(StrictJsonError::DuplicateKey {
                key: "id".into(),
                path: "$.credentialSubject.achievement[1]".into()
            })
        );
        assert_eq!(
            from_str(r#"{"id": 1, "id": 1}"#),
            Err(StrictJsonError::DuplicateKey { key: "id".into(), path: "$".into() })
        );
    }

    #[test]
    fn escaped_spellings_of_the_same_key_are_duplicates() {
        assert!(matches!(
            from_str(r#"{"issuer": "did:example:a", "\u0069ssuer": "did:example:b"}"#),
            Err(StrictJsonError::DuplicateKey { key, .. }) if key == "issuer"
        ));
    }

    #[test]
    fn odd_keys_are_quoted_in_the_path() {
        let error = from_str(r#"{"a b": {"k": 1, "k": 2}}"#).unwrap_err();
        assert_eq!(error, StrictJsonError::DuplicateKey { key: "k".into(), path: r#"$["a b"]"#.into() });
    }

    #[test]
    fn syntax_errors_and_trailing_data_are_errors() {
        for bad in ["{", "[1,]", "{} {}", "", r#"{"a":1,}"#, "nul"] {
            assert!(matches!(from_str(bad), Err(StrictJsonError::Syntax(_))), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(from_str(&deep), Err(StrictJsonError::Syntax(m)) if m.contains("recursion")));
    }
}
