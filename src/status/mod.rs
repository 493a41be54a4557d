//! Credential status: W3C Bitstring Status List v1.0 (encoding, the issuer's list credentials,
//! the verifier's check) and the 1EdTech revocation list older OB 3.0 issuers use.
//!
//! Owns: the status list formats, both sides (building the issuer's list credentials, checking
//! a credential's entries). May use: `did` (the resolver that fetches lists), `jsonld`,
//! `codec` (the bits). Used by: `credential::verify`, `service`. Stored state (allocation, bits)
//! lives in `store`, which does not know this module.

use std::io::Read;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};

// The list bits themselves are a codec both the store and the verifier use.
pub use crate::codec::bits::{read_entry, write_bit};
use crate::did::DidResolver;
use crate::jsonld::node::{node_id, types_of};

/// The spec's minimum list length, in entries (16 KB of bits).
pub const MIN_LIST_ENTRIES: usize = 131_072;
/// Largest decompressed list accepted (a GZIP bomb stops here): 16 MiB = 134M entries.
pub const MAX_LIST_BYTES: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("encodedList must be multibase base64url (start with 'u'): {0}")]
    Encoding(String),
    #[error("encodedList is not valid GZIP data: {0}")]
    Gzip(String),
    #[error("the list expands beyond {MAX_LIST_BYTES} bytes (a GZIP bomb?)")]
    TooLarge,
}

/// GZIP-compresses a bitstring and encodes it as multibase base64url (no padding).
pub fn encode_list(bits: &[u8]) -> String {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bits).expect("writing to a Vec cannot fail");
    let compressed = encoder.finish().expect("finishing a Vec encoder cannot fail");
    format!("u{}", B64URL.encode(compressed))
}

/// Decodes `encodedList`, refusing to expand past `MAX_LIST_BYTES`.
pub fn decode_list(encoded: &str) -> Result<Vec<u8>, ListError> {
    let body =
        encoded.strip_prefix('u').ok_or_else(|| ListError::Encoding("missing the 'u' prefix".into()))?;
    gunzip_list(body)
}

/// Decodes a Status List 2021 `encodedList`: base64 (url-safe or not, as its implementations
/// wrote it) of the GZIP data, with no multibase prefix; a 'u'-prefixed one is read as well.
pub fn decode_list_2021(encoded: &str) -> Result<Vec<u8>, ListError> {
    match decode_list(encoded) {
        Ok(bits) => Ok(bits),
        Err(_) => {
            let standard = encoded.replace('-', "+").replace('_', "/");
            let compressed = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(standard.trim_end_matches('='))
                .map_err(|e| ListError::Encoding(format!("not base64: {e}")))?;
            gunzip(&compressed)
        }
    }
}

fn gunzip_list(body: &str) -> Result<Vec<u8>, ListError> {
    // Some issuers pad; base64url without padding is the spec, padding is harmless.
    let compressed =
        B64URL.decode(body.trim_end_matches('=')).map_err(|e| ListError::Encoding(e.to_string()))?;
    gunzip(&compressed)
}

fn gunzip(compressed: &[u8]) -> Result<Vec<u8>, ListError> {
    let mut decoder = flate2::read::GzDecoder::new(compressed).take(MAX_LIST_BYTES as u64 + 1);
    let mut bits = Vec::new();
    decoder.read_to_end(&mut bits).map_err(|e| ListError::Gzip(e.to_string()))?;
    if bits.len() > MAX_LIST_BYTES {
        return Err(ListError::TooLarge);
    }
    Ok(bits)
}

/// What the verifier does when status cannot be determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusPolicy {
    /// A status that cannot be checked fails verification (fail closed).
    #[default]
    Enforce,
    /// Retrieval problems become warnings.
    Warn,
    /// Status is not checked (used for the status list credentials themselves).
    Skip,
}

/// Whom a verifier accepts as the signer of a status list: the credential's issuer, always, and
/// the signers an operator names for an issuer (a status service that signs every list with a
/// DID of its own). Anyone else may be reported as a warning instead of an error, by choice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTrust {
    /// (issuer, signer) pairs: lists by `signer` count as `issuer`'s own.
    pub signers: Vec<(String, String)>,
    /// Report a list by anyone else as `STATUS_LIST_ISSUER_MISMATCH` (a warning) and use its
    /// bits, instead of failing with `STATUS_VERIFICATION_ERROR`. DCC's verifier does this.
    pub mismatch_warns: bool,
}

impl ListTrust {
    fn trusts(&self, issuer: &str, signer: &str) -> bool {
        signer == issuer || self.signers.iter().any(|(i, s)| i == issuer && s == signer)
    }

    /// Parses `ISSUER=SIGNER` (from `--status-signer` and `status_signers`).
    pub fn parse_signer(text: &str) -> Result<(String, String), String> {
        match text.split_once('=') {
            Some((issuer, signer)) if !issuer.trim().is_empty() && !signer.trim().is_empty() => {
                Ok((issuer.trim().to_string(), signer.trim().to_string()))
            }
            _ => Err(format!("a status signer is ISSUER=SIGNER (two DIDs or URLs), got {text:?}")),
        }
    }
}

/// The code of a foreign-signed list accepted under `mismatch_warns` (a warning).
pub const LIST_ISSUER_MISMATCH: &str = "STATUS_LIST_ISSUER_MISMATCH";

/// What one status entry said, for the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusResult {
    #[serde(rename = "type")]
    pub entry_type: String,
    pub purpose: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A status problem: spec code + detail.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusProblem {
    pub code: &'static str,
    pub detail: String,
    /// A warning: the status was still read and judged.
    pub warning: bool,
}

fn problem(code: &'static str, detail: impl Into<String>) -> StatusProblem {
    StatusProblem { code, detail: detail.into(), warning: false }
}

/// A finding that leaves the status check intact (reported, never failing).
fn warning(code: &'static str, detail: impl Into<String>) -> StatusProblem {
    StatusProblem { code, detail: detail.into(), warning: true }
}

/// Verifies a status list credential (JSON, or a JWT as a string) and answers with the
/// credential it carries: a callback so `verify` can run its full check on it.
pub type ListVerifier<'a> = &'a (dyn Fn(Value) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, String>> + Send>>
         + Send
         + Sync);

fn entries_of(credential: &Value) -> Vec<&Value> {
    match credential.get("credentialStatus") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => vec![],
    }
}

fn parse_index(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Checks every status entry of `credential`. Returns the per-entry results and problems.
pub async fn check_status(
    credential: &Value,
    resolver: &dyn DidResolver,
    verify_list: ListVerifier<'_>,
    trust: &ListTrust,
    now: chrono::DateTime<chrono::Utc>,
) -> (Vec<StatusResult>, Vec<StatusProblem>) {
    let mut results = Vec::new();
    let mut problems = Vec::new();
    let issuer = credential.get("issuer").and_then(node_id).unwrap_or_default().to_string();
    let credential_id = credential.get("id").and_then(Value::as_str).unwrap_or_default();
    for entry in entries_of(credential) {
        let entry_type = entry.get("type").and_then(Value::as_str).unwrap_or_default();
        match entry_type {
            "BitstringStatusListEntry" | "StatusList2021Entry" => {
                let scheme = if entry_type == "StatusList2021Entry" { &STATUS_LIST_2021 } else { &BITSTRING };
                match check_list_entry(scheme, entry, &issuer, resolver, verify_list, trust, now).await {
                    Ok((result, mut found)) => {
                        problems.append(&mut found);
                        results.push(result);
                    }
                    Err(p) => problems.push(p),
                }
            }
            "1EdTechRevocationList" => match check_1edtech_entry(entry, credential_id, resolver, now).await {
                Ok((result, mut found)) => {
                    problems.append(&mut found);
                    results.push(result);
                }
                Err(p) => problems.push(p),
            },
            other => problems.push(problem(
                "STATUS_VERIFICATION_ERROR",
                format!("credentialStatus type {other:?} is not supported (BitstringStatusListEntry, StatusList2021Entry, 1EdTechRevocationList)"),
            )),
        }
    }
    (results, problems)
}

/// A status list format: W3C Bitstring Status List, or its predecessor Status List 2021 (the
/// same bits, checks and codes; other type names, and `encodedList` without a multibase prefix).
struct ListScheme {
    entry_type: &'static str,
    list_type: &'static str,
    /// Status List 2021 has no statusSize/statusMessage.
    sized: bool,
    decode: fn(&str) -> Result<Vec<u8>, ListError>,
}

const BITSTRING: ListScheme = ListScheme {
    entry_type: "BitstringStatusListEntry",
    list_type: "BitstringStatusListCredential",
    sized: true,
    decode: decode_list,
};

const STATUS_LIST_2021: ListScheme = ListScheme {
    entry_type: "StatusList2021Entry",
    list_type: "StatusList2021Credential",
    sized: false,
    decode: decode_list_2021,
};

async fn check_list_entry(
    scheme: &ListScheme,
    entry: &Value,
    issuer: &str,
    resolver: &dyn DidResolver,
    verify_list: ListVerifier<'_>,
    trust: &ListTrust,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(StatusResult, Vec<StatusProblem>), StatusProblem> {
    // A Status List 2021 entry missing its list or index is an error, never "fine".
    let malformed_code = if scheme.sized { "MALFORMED_VALUE_ERROR" } else { "STATUS_VERIFICATION_ERROR" };
    let purpose = entry
        .get("statusPurpose")
        .and_then(Value::as_str)
        .ok_or_else(|| problem(malformed_code, "credentialStatus.statusPurpose must be a string"))?;
    let index = parse_index(entry.get("statusListIndex")).ok_or_else(|| {
        problem(malformed_code, "credentialStatus.statusListIndex must be a base-10 integer string")
    })?;
    let list_url = entry
        .get("statusListCredential")
        .and_then(Value::as_str)
        .ok_or_else(|| problem(malformed_code, "credentialStatus.statusListCredential must be a URL"))?;
    let size = match entry.get("statusSize") {
        None => 1,
        Some(_) if !scheme.sized => {
            return Err(problem("MALFORMED_VALUE_ERROR", "a StatusList2021Entry has no statusSize"))
        }
        Some(v) => match v.as_u64() {
            Some(n @ 1..=32) => n as usize,
            _ => {
                return Err(problem(
                    "MALFORMED_VALUE_ERROR",
                    "credentialStatus.statusSize must be an integer from 1 to 32",
                ))
            }
        },
    };
    let messages = entry.get("statusMessage").and_then(Value::as_array);
    if size > 1 && messages.is_none_or(|m| m.len() != 1usize << size.min(16)) {
        return Err(problem(
            "MALFORMED_VALUE_ERROR",
            format!("statusSize {size} needs a statusMessage with {} entries", 1usize << size.min(16)),
        ));
    }
    let fetched = resolver.fetch(list_url).await.map_err(|e| {
        problem("STATUS_RETRIEVAL_ERROR", format!("cannot retrieve the status list {list_url}: {e}"))
    })?;
    // Verified first, then read: the verifier answers with the credential the list carries (a
    // JWT-secured list's payload, all of it signed), so every check below reads signed data.
    let list = verify_list(fetched.document.clone()).await.map_err(|e| {
        problem("STATUS_VERIFICATION_ERROR", format!("the status list {list_url} does not verify: {e}"))
    })?;
    let list_types = types_of(list.get("type"));
    if !list_types.contains(&scheme.list_type) {
        return Err(problem(
            "STATUS_VERIFICATION_ERROR",
            format!("{list_url} is not a {} (a {} needs one)", scheme.list_type, scheme.entry_type),
        ));
    }
    // The list verified, and its proof is bound to its issuer: so its issuer is its signer.
    let list_issuer = list.get("issuer").and_then(node_id).unwrap_or_default();
    let mut found = Vec::new();
    if !trust.trusts(issuer, list_issuer) {
        let detail = format!(
            "the status list {list_url} is signed by {list_issuer}, not by the credential's issuer {issuer}: \
             Laurel cannot trust its revocation bits (whoever controls that list could un-revoke the badge). \
             If {list_issuer} is a status service you trust for {issuer}, say so with \
             --status-signer {issuer}={list_issuer}"
        );
        if !trust.mismatch_warns {
            return Err(problem("STATUS_VERIFICATION_ERROR", detail));
        }
        found.push(warning(LIST_ISSUER_MISMATCH, detail));
    }
    let subject = list.get("credentialSubject").cloned().unwrap_or(Value::Null);
    let list_purposes: Vec<&str> = match subject.get("statusPurpose") {
        Some(Value::String(p)) => vec![p.as_str()],
        Some(Value::Array(ps)) => ps.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !list_purposes.contains(&purpose) {
        return Err(problem(
            "STATUS_VERIFICATION_ERROR",
            format!("the status list's purpose {list_purposes:?} does not include the entry's {purpose:?}"),
        ));
    }
    let encoded = subject
        .get("encodedList")
        .and_then(Value::as_str)
        .ok_or_else(|| problem("MALFORMED_VALUE_ERROR", "the status list has no encodedList"))?;
    let bits = (scheme.decode)(encoded).map_err(|e| match e {
        ListError::TooLarge => problem("STATUS_LIST_LENGTH_ERROR", e.to_string()),
        other => problem("MALFORMED_VALUE_ERROR", other.to_string()),
    })?;
    let entries = bits.len() * 8 / size;
    // The minimum protects holders' privacy (a crowd to hide in); a shorter list is still read
    // exactly, so it is reported, not failed (DCC's lists have 100,000 entries).
    if entries < MIN_LIST_ENTRIES {
        found.push(warning(
            "STATUS_LIST_LENGTH_ERROR",
            format!(
                "the status list {list_url} has {entries} entries, fewer than the {MIN_LIST_ENTRIES} the spec \
                 requires for holders' privacy; its bits were read all the same"
            ),
        ));
    }
    let value = read_entry(&bits, index as usize, size).ok_or_else(|| {
        problem("RANGE_ERROR", format!("statusListIndex {index} is outside the list's {entries} entries"))
    })?;
    let message = messages.and_then(|list| {
        let wanted = format!("0x{value:x}");
        list.iter()
            .find(|m| {
                m.get("status").and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case(&wanted))
            })
            .and_then(|m| m.get("message").and_then(Value::as_str))
            .map(str::to_string)
    });
    if value != 0 {
        match purpose {
            "revocation" => found.push(problem(
                "REVOKED",
                format!("the credential has been revoked (list {list_url}, index {index})"),
            )),
            "suspension" => found.push(problem(
                "SUSPENDED",
                format!("the credential is suspended (list {list_url}, index {index})"),
            )),
            _ => {}
        }
    }
    let result = StatusResult {
        entry_type: scheme.entry_type.into(),
        purpose: purpose.to_string(),
        list: Some(list_url.to_string()),
        index: Some(index),
        value: Some(value),
        message,
        fetched_at: Some(fetched.fetched_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        age_seconds: Some((now - fetched.fetched_at).num_seconds().max(0)),
        source: Some(fetched.source.to_string()),
    };
    Ok((result, found))
}

async fn check_1edtech_entry(
    entry: &Value,
    credential_id: &str,
    resolver: &dyn DidResolver,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(StatusResult, Vec<StatusProblem>), StatusProblem> {
    let url = entry
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| problem("MALFORMED_VALUE_ERROR", "a 1EdTechRevocationList entry needs an id URL"))?;
    let fetched = resolver.fetch(url).await.map_err(|e| {
        problem("STATUS_RETRIEVAL_ERROR", format!("cannot retrieve the revocation list {url}: {e}"))
    })?;
    let revoked =
        fetched.document.get("revokedCredentials").and_then(Value::as_array).ok_or_else(|| {
            problem("MALFORMED_VALUE_ERROR", format!("{url} has no revokedCredentials list"))
        })?;
    let hit = revoked.iter().find(|r| match r {
        Value::String(id) => id == credential_id,
        other => other.get("id").and_then(Value::as_str) == Some(credential_id),
    });
    let mut found = Vec::new();
    let mut message = None;
    if let Some(hit) = hit {
        message = hit.get("revocationReason").and_then(Value::as_str).map(str::to_string);
        found.push(problem(
            "REVOKED",
            format!(
                "the credential is on the revocation list {url}{}",
                message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
            ),
        ));
    }
    Ok((
        StatusResult {
            entry_type: "1EdTechRevocationList".into(),
            purpose: "revocation".into(),
            list: Some(url.to_string()),
            index: None,
            value: Some(hit.is_some() as u64),
            message,
            fetched_at: Some(fetched.fetched_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            age_seconds: Some((now - fetched.fetched_at).num_seconds().max(0)),
            source: Some(fetched.source.to_string()),
        },
        found,
    ))
}

/// The unsigned BitstringStatusListCredential for a list.
pub fn list_credential(url: &str, issuer: &str, purpose: &str, bits: &[u8], ttl_ms: u64) -> Value {
    json!({
        "@context": [crate::jsonld::contexts::CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_list(bits),
            "ttl": ttl_ms,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_in_spec_order() {
        let mut bits = vec![0u8; MIN_LIST_ENTRIES / 8];
        write_bit(&mut bits, 0, true);
        write_bit(&mut bits, 9, true);
        assert_eq!(bits[0], 0x80);
        assert_eq!(bits[1], 0x40);
        let decoded = decode_list(&encode_list(&bits)).unwrap();
        assert_eq!(decoded, bits);
        assert_eq!(read_entry(&decoded, 0, 1), Some(1));
        assert_eq!(read_entry(&decoded, 1, 1), Some(0));
        assert_eq!(read_entry(&decoded, 4, 2), Some(0b01));
        assert_eq!(read_entry(&decoded, MIN_LIST_ENTRIES, 1), None);
    }

    #[test]
    fn a_gzip_bomb_is_refused() {
        let bomb = vec![0u8; MAX_LIST_BYTES + 4096];
        assert_eq!(decode_list(&encode_list(&bomb)), Err(ListError::TooLarge));
    }

    #[test]
    fn malformed_lists_are_errors() {
        assert!(matches!(decode_list("zABC"), Err(ListError::Encoding(_))));
        assert!(matches!(decode_list("u!!!"), Err(ListError::Encoding(_))));
        assert!(matches!(decode_list("uAAAA"), Err(ListError::Gzip(_))));
    }

    #[test]
    fn the_1edtech_fixture_list_decodes() {
        // The spec example list (all zero, 16 KB).
        let bits =
            decode_list("uH4sIAAAAAAAA_-3BMQEAAAzDoMy_6cnoA9QFAAAAAAAAAAAAAAAAAAAAbD3uPa2cAEAAAA").unwrap();
        assert_eq!(bits.len() * 8, MIN_LIST_ENTRIES);
    }
}
