//! Integrity of related resources (VC DM 2.0 §5.3): each `relatedResource` names a URL and the
//! digest of its bytes (`digestSRI`, `digestMultibase`); a resource that no longer has that
//! digest has changed since the credential was signed.
//!
//! The bytes come from the bundled contexts (with the digests their specifications publish,
//! since the registry packages Laurel bundles serialize some contexts differently), pinned files
//! (`--preload`), or the safe fetcher. A digest matching none of the versions obtained is an
//! error; a resource that cannot be obtained at all is a warning: nothing was checked.

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::did::DidResolver;
use crate::jsonld::contexts;

/// Resources fetched per credential at most: the credential chooses the URLs.
pub const MAX_FETCHED: usize = 8;

/// A problem with one related resource. `error` false: a warning.
#[derive(Debug, Clone, PartialEq)]
pub struct RelatedProblem {
    pub code: &'static str,
    pub detail: String,
    pub error: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    fn digest(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Algorithm::Sha256 => Sha256::digest(bytes).to_vec(),
            Algorithm::Sha384 => Sha384::digest(bytes).to_vec(),
            Algorithm::Sha512 => Sha512::digest(bytes).to_vec(),
        }
    }

    fn by_length(len: usize) -> Option<Algorithm> {
        match len {
            32 => Some(Algorithm::Sha256),
            48 => Some(Algorithm::Sha384),
            64 => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

/// One digest a related resource claims, and the field that claims it.
#[derive(Debug, Clone, PartialEq)]
struct Claimed {
    algorithm: Algorithm,
    digest: Vec<u8>,
    field: &'static str,
}

/// `digestSRI`: one or more space-separated `sha256-|sha384-|sha512-` + base64 (W3C SRI).
/// base64url is read too: some issuers (and the W3C suite) write it.
fn parse_sri(value: &str) -> Result<Vec<Claimed>, String> {
    let mut claimed = Vec::new();
    for token in value.split_ascii_whitespace() {
        let (name, encoded) =
            token.split_once('-').ok_or_else(|| format!("{token:?} is not an SRI hash (alg-base64)"))?;
        let algorithm = match name {
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            other => return Err(format!("SRI hash algorithm {other:?} is not sha256, sha384 or sha512")),
        };
        // SRI allows an `?option` suffix; it carries no digest.
        let encoded = encoded.split('?').next().unwrap_or_default();
        let digest = B64
            .decode(encoded)
            .or_else(|_| B64URL.decode(encoded.trim_end_matches('=')))
            .map_err(|_| format!("the {name} digest {encoded:?} is not base64"))?;
        if Algorithm::by_length(digest.len()) != Some(algorithm) {
            return Err(format!("a {name} digest is not {} bytes long", algorithm.digest(b"").len()));
        }
        claimed.push(Claimed { algorithm, digest, field: "digestSRI" });
    }
    if claimed.is_empty() {
        return Err("digestSRI is empty".into());
    }
    Ok(claimed)
}

/// `digestMultibase`: a multibase (`u` base64url, `z` base58btc) of a multihash (sha2-256,
/// sha2-384, sha2-512) or, as VC DM 2.0's examples write it, of the bare SHA-256 digest.
fn parse_multibase(value: &str) -> Result<Claimed, String> {
    let bytes = match value.split_at_checked(1) {
        Some(("u", rest)) => B64URL.decode(rest).map_err(|_| "not base64url after 'u'".to_string())?,
        Some(("z", rest)) => crate::keys::decode_base58_bounded(rest, 80).map_err(|e| e.to_string())?,
        _ => return Err(format!("{value:?} is not multibase base64url ('u') or base58btc ('z')")),
    };
    let multihash = match bytes.as_slice() {
        [0x12, 32, digest @ ..] if digest.len() == 32 => Some((Algorithm::Sha256, digest)),
        [0x20, 48, digest @ ..] if digest.len() == 48 => Some((Algorithm::Sha384, digest)),
        [0x13, 64, digest @ ..] if digest.len() == 64 => Some((Algorithm::Sha512, digest)),
        _ => None,
    };
    let (algorithm, digest) = match multihash {
        Some((algorithm, digest)) => (algorithm, digest.to_vec()),
        None => match Algorithm::by_length(bytes.len()) {
            Some(algorithm) => (algorithm, bytes),
            None => {
                return Err(format!("a {}-byte value is neither a multihash nor a SHA-2 digest", bytes.len()))
            }
        },
    };
    Ok(Claimed { algorithm, digest, field: "digestMultibase" })
}

/// A version of a resource: its bytes, or only its published digests (hex).
enum Version {
    Bytes(Vec<u8>),
    Published(&'static contexts::PublishedDigests),
}

impl Version {
    fn matches(&self, claimed: &Claimed) -> bool {
        match self {
            Version::Bytes(bytes) => claimed.algorithm.digest(bytes) == claimed.digest,
            Version::Published(published) => {
                let hex = match claimed.algorithm {
                    Algorithm::Sha256 => published.sha256,
                    Algorithm::Sha384 => published.sha384,
                    Algorithm::Sha512 => published.sha512,
                };
                hex::decode(hex).is_ok_and(|digest| digest == claimed.digest)
            }
        }
    }
}

fn resources(credential: &Value) -> Vec<&Value> {
    match credential.get("relatedResource") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => vec![],
    }
}

/// Checks every related resource of `credential` (structure is `model`'s concern; an entry
/// without an id or digest is skipped here).
pub async fn check(credential: &Value, resolver: &dyn DidResolver) -> Vec<RelatedProblem> {
    let mut problems = Vec::new();
    let mut fetched = 0;
    for resource in resources(credential) {
        let Some(id) = resource.get("id").and_then(Value::as_str) else { continue };
        let mut claimed = Vec::new();
        let malformed = |field: &str, why: String| RelatedProblem {
            code: "MALFORMED_VALUE_ERROR",
            detail: format!("relatedResource {id}: {field}: {why}"),
            error: true,
        };
        match resource.get("digestSRI") {
            None => {}
            Some(Value::String(sri)) => match parse_sri(sri) {
                Ok(mut found) => claimed.append(&mut found),
                Err(why) => problems.push(malformed("digestSRI", why)),
            },
            Some(_) => problems.push(malformed("digestSRI", "must be a string".into())),
        }
        match resource.get("digestMultibase") {
            None => {}
            Some(Value::String(multibase)) => match parse_multibase(multibase) {
                Ok(found) => claimed.push(found),
                Err(why) => problems.push(malformed("digestMultibase", why)),
            },
            Some(_) => problems.push(malformed("digestMultibase", "must be a string".into())),
        }
        if claimed.is_empty() {
            continue;
        }
        let mut versions = Vec::new();
        if let Some(text) = contexts::bundled_text(id) {
            versions.push(Version::Bytes(text.as_bytes().to_vec()));
        }
        if let Some(published) = contexts::published_digests(id) {
            versions.push(Version::Published(published));
        }
        let mut unobtainable = None;
        if versions.is_empty() {
            if fetched < MAX_FETCHED {
                fetched += 1;
                match resolver.fetch_bytes(id).await {
                    Ok(bytes) => versions.push(Version::Bytes(bytes)),
                    Err(e) => unobtainable = Some(e.to_string()),
                }
            } else {
                unobtainable =
                    Some(format!("more than {MAX_FETCHED} related resources; the rest are not fetched"));
            }
        }
        if versions.is_empty() {
            problems.push(RelatedProblem {
                code: "RELATED_RESOURCE_UNCHECKED",
                detail: format!(
                    "relatedResource {id} could not be obtained, so its digest was not checked: {}",
                    unobtainable.unwrap_or_default()
                ),
                error: false,
            });
            continue;
        }
        for claim in &claimed {
            if !versions.iter().any(|version| version.matches(claim)) {
                problems.push(RelatedProblem {
                    code: "CRYPTOGRAPHIC_SECURITY_ERROR",
                    detail: format!(
                        "relatedResource {id}: the {} ({:?}) does not match the resource: it is not what \
                         the issuer signed for",
                        claim.field, claim.algorithm
                    ),
                    error: true,
                });
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::LocalResolver;
    use serde_json::json;

    /// The digests VC DM 2.0 (B.1) publishes for its base context.
    const V2_SHA256_HEX: &str = "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734";

    async fn problems(resource: Value) -> Vec<RelatedProblem> {
        check(&json!({"relatedResource": resource}), &LocalResolver::default()).await
    }

    #[tokio::test]
    async fn published_and_bundled_digests_of_a_bundled_context_match() {
        let published = hex::decode(V2_SHA256_HEX).unwrap();
        let bundled = Sha384::digest(contexts::bundled_text(contexts::CREDENTIALS_V2).unwrap().as_bytes());
        for resource in [
            json!({"id": contexts::CREDENTIALS_V2, "digestMultibase": format!("u{}", B64URL.encode(&published))}),
            json!({"id": contexts::CREDENTIALS_V2, "digestMultibase": format!("u{}", B64URL.encode([&[0x12, 32][..], &published].concat()))}),
            json!({"id": contexts::CREDENTIALS_V2, "digestSRI": format!("sha384-{}", B64.encode(bundled))}),
        ] {
            assert_eq!(problems(resource.clone()).await, vec![], "{resource}");
        }
    }

    #[tokio::test]
    async fn a_wrong_digest_is_an_error_and_an_unobtainable_resource_a_warning() {
        // The W3C vc-data-model-2.0 suite's wrong digests.
        for resource in [
            json!({"id": contexts::CREDENTIALS_V2, "digestMultibase": "uM4RgWQc3RUDtjJCSgTJtTfvpZ7SPEg_LNO0ESlovQC0"}),
            json!({"id": contexts::CREDENTIALS_V2, "digestSRI": "sha384-_rCVIV7fSXXTNIvpiq26jRDyj8JG8TDjij-tD0ewLk4JpnXEz6a5AeeY_1qQ0d0P"}),
        ] {
            let found = problems(resource.clone()).await;
            assert!(
                found.iter().any(|p| p.error && p.code == "CRYPTOGRAPHIC_SECURITY_ERROR"),
                "{resource}: {found:?}"
            );
        }
        let found = problems(json!({"id": "https://example.com/a.pdf", "digestSRI": format!("sha256-{}", B64.encode([0u8; 32]))})).await;
        assert_eq!(found.len(), 1);
        assert!(!found[0].error && found[0].code == "RELATED_RESOURCE_UNCHECKED", "{found:?}");
        let found = problems(json!({"id": "https://example.com/a.pdf", "digestSRI": "md5-AAAA"})).await;
        assert!(found[0].error && found[0].code == "MALFORMED_VALUE_ERROR", "{found:?}");
    }

    #[tokio::test]
    async fn pinned_bytes_are_checked() {
        let bytes = b"%PDF-1.7 transcript".to_vec();
        let mut resolver = LocalResolver::default();
        resolver.pinned.insert_with_bytes("https://example.com/t.pdf", Value::Null, bytes.clone());
        let good = json!({"relatedResource": {"id": "https://example.com/t.pdf", "digestSRI": format!("sha512-{}", B64.encode(Sha512::digest(&bytes)))}});
        assert_eq!(check(&good, &resolver).await, vec![]);
        let bad = json!({"relatedResource": {"id": "https://example.com/t.pdf", "digestSRI": format!("sha512-{}", B64.encode(Sha512::digest(b"other")))}});
        assert!(check(&bad, &resolver).await[0].error);
    }
}
