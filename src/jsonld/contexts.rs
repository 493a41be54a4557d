//! The bundled JSON-LD contexts and the offline document loader that serves only them.

use std::collections::HashMap;
use std::sync::OnceLock;

use iref::{Iri, IriBuf};
use json_ld::{LoadError, Loader, RemoteDocument};

pub const CREDENTIALS_V1: &str = "https://www.w3.org/2018/credentials/v1";
pub const CREDENTIALS_V2: &str = "https://www.w3.org/ns/credentials/v2";
pub const CREDENTIALS_EXAMPLES_V2: &str = "https://www.w3.org/ns/credentials/examples/v2";
pub const OB_V3P0_3_0_0: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context.json";
pub const OB_V3P0_3_0_1: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json";
pub const OB_V3P0_3_0_2: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json";
pub const OB_V3P0_3_0_3: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
pub const OB_EXTENSIONS: &str = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json";
pub const DATA_INTEGRITY_V1: &str = "https://w3id.org/security/data-integrity/v1";
pub const DATA_INTEGRITY_V2: &str = "https://w3id.org/security/data-integrity/v2";
pub const BITSTRING_STATUS_V1: &str = "https://www.w3.org/ns/credentials/status/v1";
pub const ED25519_2020_V1: &str = "https://w3id.org/security/suites/ed25519-2020/v1";
pub const MULTIKEY_V1: &str = "https://w3id.org/security/multikey/v1";
pub const DID_V1: &str = "https://www.w3.org/ns/did/v1";
pub const SECURITY_V1: &str = "https://w3id.org/security/v1";
pub const SECURITY_V2: &str = "https://w3id.org/security/v2";
/// Used by the W3C vc-di-eddsa employment-authorization vector.
pub const CITIZENSHIP_V4RC1: &str = "https://w3id.org/citizenship/v4rc1";
/// The W3C CCG Status List 2021 (Bitstring Status List's predecessor), still in older badges.
pub const STATUS_LIST_2021_V1: &str = "https://w3id.org/vc/status-list/2021/v1";
/// The Digital Credentials Consortium's context (its issuers' credentials use it).
pub const DCC_V1: &str = "https://w3id.org/dcc/v1";

/// Every OB 3.0 context URL, newest first. `@context[1]` of an OB credential must be one of them.
pub const OB_CONTEXTS: [&str; 4] = [OB_V3P0_3_0_3, OB_V3P0_3_0_2, OB_V3P0_3_0_1, OB_V3P0_3_0_0];

/// The VC DM 2.0 examples context is a one-line `@vocab` context defined in the VC DM 2.0
/// specification text; no registry package ships it, and the W3C test vectors need it.
const CREDENTIALS_EXAMPLES_V2_BODY: &str =
    r#"{"@context":{"@vocab":"https://www.w3.org/ns/credentials/examples#"}}"#;

/// The digests of a context's bytes as its publisher serves them at its URL. Registry packages
/// (which Laurel bundles) serialize some contexts differently, and a `relatedResource` digest is
/// over the published bytes (VC DM 2.0 B.1 and the Bitstring Status List spec publish theirs).
/// Computed from the publishers' own files: w3c/vc-data-model@979c4af1 (contexts/credentials/v1,
/// v2; v2 equals VC DM 2.0 B.1), w3c/vc-bitstring-status-list@74fcae11 (contexts/v1.jsonld) and
/// 1EdTech/openbadges-specification@4f9d0b63 (ob_v3p0/context*.json, served at purl.imsglobal.org).
#[derive(Debug)]
pub struct PublishedDigests {
    pub url: &'static str,
    pub sha256: &'static str,
    pub sha384: &'static str,
    pub sha512: &'static str,
}

pub const PUBLISHED: &[PublishedDigests] = &[
    PublishedDigests {
        url: "https://www.w3.org/ns/credentials/v2",
        sha256: "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734",
        sha384: "97f1eb8e5042356c805fdd61afa2c557663785e0794dcafa21e138fd38def18cb360133c221aa31d6896a6bf3e65b614",
        sha512: "5d55452bd2dcf8a29f5a290473eb242b1c5fb77d4e68f1a0aa87baa4dba2694852d65ec63d48ac04a99d956f9f7153b9406f84d2d04c74869b02c239a1d81305",
    },
    PublishedDigests {
        url: "https://www.w3.org/2018/credentials/v1",
        sha256: "ab4ddd9a531758807a79a5b450510d61ae8d147eab966cc9a200c07095b0cdcc",
        sha384: "82c3b3eab863754bbfd2b9f17d8d6db9f61169f301cbf0b05e1fc4beb5f5c51dd4d2e888c274f49c3fbb2408f61faed1",
        sha512: "536a40b390dda94a9e39196c00090f62668e8184fe3c8c02c4a22c85666e68bf6e85d3dc7f2dba85b2b62ef95d97de24132568d8504db43f2c9c82d2e88418d2",
    },
    PublishedDigests {
        url: "https://www.w3.org/ns/credentials/status/v1",
        sha256: "fda5add353231e6a6884a46b12e6c75464281900cb348284d9c360f62381d9f7",
        sha384: "ac0ef813833ebd666b6170a61c5adacc6d7d2f5a040d16c2928e8414d4fa07f64d70313021e02bf4f97bdd123ed9a84e",
        sha512: "ff2ca7667b990373b46b12535e6b8de8eae270143278715ad935b159216521e514cb1ccd8517410a2429527e24d8fc96f88f8b734887a2602e6ee07b83b66fed",
    },
    PublishedDigests {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        sha256: "b077fa134d909d92c1dcd1c153f2af1b244aeb415967fdc1467d7fc5dd48ac10",
        sha384: "cc77157457841319e05ab0d9657fe144150a626c1f0fd89c0e639f58d468edb5513597d9f14459310c86ec6b975b74cc",
        sha512: "6e9f47891f44591dc432245136dacdda016c1ba984faa79ebddb4ca69d2827301ffbfe2e5132d0a751d33fd0fb963c74fa7616a27185080248c49ad11e034f2a",
    },
    PublishedDigests {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        sha256: "d582f3564282fb3b709136d28412e78e70b678b4dbc2f0221f67d84932748355",
        sha384: "410e4d78c8f236cd46b8bfd16d9ae498dae1fc4eebef0ef679bd821b87fc3334d96f6b585dde226471a7ba2cc9367195",
        sha512: "d5c9fecf908b1d743e57f1c14f4fb49a8e7418261355b7d1dc1772c6af6afa7fc155e31d154c7cb17f71f93c6a453e541234ec406bd43f2443df072be9ac6eb6",
    },
    PublishedDigests {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        sha256: "00666ad080ba407687ed1846b7f5e7495f5019042b202a727de47c48a1755c53",
        sha384: "7e000a9c71becc13b359560470d4d1b00f8d154ca052c54cdd20c7de6b87af5afc82aa2d2e571a94bff762b9155ea874",
        sha512: "78b1442f25e2eececf4d7b274f0619ec84ccd6b81e95e7b01e55899d533e143678e9fa78b4c78c3e37c14a829c365838fa30a43371d47b65142933df758dd19b",
    },
    PublishedDigests {
        url: "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        sha256: "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761",
        sha384: "c859f6c00a1e0013ee79c1e5cc7566b6dfa6c28971c46ce1ab3221cdfba2b6c6d86e630e567d03c0c780bc2f9ad517a4",
        sha512: "efb12b27bf61402ca251e395626310dc0a3db076a4d7e4a9bdbef9fef967655d9b2bc73b93e12ea8248c283904f4d700706c73a9ad6252ffc6eb907d97c70b76",
    },
];

/// The published digests of a bundled context, where recorded.
pub fn published_digests(url: &str) -> Option<&'static PublishedDigests> {
    PUBLISHED.iter().find(|p| p.url == url)
}

/// (URL, document) for every context Laurel knows. Provenance: `contexts/SOURCES.md`.
pub const BUNDLED: &[(&str, &str)] = &[
    (CREDENTIALS_V1, include_str!("../../contexts/credentials-v1.jsonld")),
    (CREDENTIALS_V2, include_str!("../../contexts/credentials-v2.jsonld")),
    (CREDENTIALS_EXAMPLES_V2, CREDENTIALS_EXAMPLES_V2_BODY),
    (OB_V3P0_3_0_0, include_str!("../../contexts/ob-context-3.0.0.json")),
    (OB_V3P0_3_0_1, include_str!("../../contexts/ob-context-3.0.1.json")),
    (OB_V3P0_3_0_2, include_str!("../../contexts/ob-context-3.0.2.json")),
    (OB_V3P0_3_0_3, include_str!("../../contexts/ob-context-3.0.3.json")),
    (OB_EXTENSIONS, include_str!("../../contexts/ob-extensions.json")),
    (DATA_INTEGRITY_V1, include_str!("../../contexts/data-integrity-v1.jsonld")),
    (DATA_INTEGRITY_V2, include_str!("../../contexts/data-integrity-v2.jsonld")),
    (BITSTRING_STATUS_V1, include_str!("../../contexts/bitstring-status-list-v1.jsonld")),
    (ED25519_2020_V1, include_str!("../../contexts/ed25519-signature-2020-v1.jsonld")),
    (MULTIKEY_V1, include_str!("../../contexts/multikey-v1.jsonld")),
    (DID_V1, include_str!("../../contexts/did-v1.jsonld")),
    (SECURITY_V1, include_str!("../../contexts/security-v1.jsonld")),
    (SECURITY_V2, include_str!("../../contexts/security-v2.jsonld")),
    (CITIZENSHIP_V4RC1, include_str!("../../contexts/citizenship-v4rc1.jsonld")),
    (STATUS_LIST_2021_V1, include_str!("../../contexts/status-list-2021-v1.jsonld")),
    (DCC_V1, include_str!("../../contexts/dcc-v1.json")),
];

/// Contexts an operator adds (`laurel verify --context URL=FILE`, `contexts` in `laurel.toml`),
/// treated exactly as bundled ones: never fetched, processed with the same protections. Added
/// once per process, never replaced, never replacing a bundled URL (a bundled context redefined
/// would change what every credential using it means).
static OPERATOR: std::sync::RwLock<Vec<(&'static str, &'static str, &'static serde_json::Value)>> =
    std::sync::RwLock::new(Vec::new());

/// Largest operator context accepted.
pub const MAX_OPERATOR_CONTEXT_BYTES: usize = 1 << 20;

/// Why an operator context was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ContextError {
    #[error("{0} is a context Laurel bundles; an operator context may not replace it")]
    ReplacesBundled(String),
    #[error("{0} was already added with other content")]
    AlreadyAdded(String),
    #[error("context {0}: {1}")]
    Invalid(String, String),
}

/// Adds an operator context (the same URL with the same text again is a no-op). The text must
/// be a JSON object with an `@context`, at most [`MAX_OPERATOR_CONTEXT_BYTES`].
pub fn add_operator_context(url: &str, text: &str) -> Result<(), ContextError> {
    let invalid = |why: String| ContextError::Invalid(url.to_string(), why);
    if BUNDLED.iter().any(|(u, _)| *u == url) {
        return Err(ContextError::ReplacesBundled(url.to_string()));
    }
    if url::Url::parse(url).is_err() {
        return Err(invalid("the URL is not an absolute URL".into()));
    }
    if text.len() > MAX_OPERATOR_CONTEXT_BYTES {
        return Err(invalid(format!("larger than {MAX_OPERATOR_CONTEXT_BYTES} bytes")));
    }
    let limits =
        crate::codec::json::JsonLimits { max_bytes: MAX_OPERATOR_CONTEXT_BYTES, ..Default::default() };
    let value = crate::codec::json::from_slice_limited(text.as_bytes(), &limits)
        .map_err(|e| invalid(e.to_string()))?;
    if !value.get("@context").is_some_and(|c| c.is_object() || c.is_array()) {
        return Err(invalid("not a JSON-LD context document (no \"@context\" object)".into()));
    }
    let mut operator = OPERATOR.write().unwrap_or_else(|p| p.into_inner());
    if let Some((_, existing, _)) = operator.iter().find(|(u, ..)| *u == url) {
        return if *existing == text { Ok(()) } else { Err(ContextError::AlreadyAdded(url.to_string())) };
    }
    // Leaked on purpose: a handful of operator documents live as long as the process, like
    // the bundled ones, and every lookup then hands out `&'static` as for those.
    let url: &'static str = Box::leak(url.to_string().into_boxed_str());
    let text: &'static str = Box::leak(text.to_string().into_boxed_str());
    let value: &'static serde_json::Value = Box::leak(Box::new(value));
    operator.push((url, text, value));
    Ok(())
}

fn operator_context(url: &str) -> Option<(&'static str, &'static serde_json::Value)> {
    let operator = OPERATOR.read().unwrap_or_else(|p| p.into_inner());
    operator.iter().find(|(u, ..)| *u == url).map(|(_, text, value)| (*text, *value))
}

/// The operator contexts added so far (URLs).
pub fn operator_contexts() -> Vec<&'static str> {
    OPERATOR.read().unwrap_or_else(|p| p.into_inner()).iter().map(|(u, ..)| *u).collect()
}

/// Whether `url` is a context Laurel bundles (or an operator added).
pub fn is_bundled(url: &str) -> bool {
    BUNDLED.iter().any(|(u, _)| *u == url) || operator_context(url).is_some()
}

/// The raw JSON text of a bundled (or operator) context.
pub fn bundled_text(url: &str) -> Option<&'static str> {
    BUNDLED
        .iter()
        .find(|(u, _)| *u == url)
        .map(|(_, body)| *body)
        .or_else(|| operator_context(url).map(|(text, _)| text))
}

/// A bundled context, parsed once.
pub fn bundled_json(url: &str) -> Option<&'static serde_json::Value> {
    static PARSED: OnceLock<HashMap<&'static str, serde_json::Value>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            BUNDLED
                .iter()
                .map(|(url, body)| (*url, serde_json::from_str(body).expect("bundled context is valid JSON")))
                .collect()
        })
        .get(url)
        .or_else(|| operator_context(url).map(|(_, value)| value))
}

/// How an unknown context is explained wherever it is reported.
pub const UNKNOWN_CONTEXT_HINT: &str =
    "Laurel only uses its bundled contexts and never fetches one; an operator \
     who trusts this context can add it (laurel verify --context URL=FILE, or `contexts` in laurel.toml)";

/// Raised for any context URL outside the bundle: Laurel never fetches a context.
#[derive(Debug, thiserror::Error)]
#[error("unknown JSON-LD context {0}: {UNKNOWN_CONTEXT_HINT}")]
pub struct UnknownContext(pub String);

/// A JSON-LD document loader that serves the bundled contexts and refuses everything else.
#[derive(Debug)]
pub struct OfflineLoader {
    documents: HashMap<IriBuf, RemoteDocument>,
}

impl OfflineLoader {
    fn new() -> Self {
        let documents = BUNDLED
            .iter()
            .map(|(url, body)| {
                let iri = IriBuf::new(url.to_string()).expect("bundled context URL is an IRI");
                let value: serde_json::Value =
                    serde_json::from_str(body).expect("bundled context is valid JSON");
                let doc = RemoteDocument::new(
                    Some(iri.clone()),
                    Some("application/ld+json".parse().expect("static mime type")),
                    json_syntax::Value::from_serde_json(value),
                );
                (iri, doc)
            })
            .collect();
        Self { documents }
    }

    /// The process-wide loader, built once.
    pub fn shared() -> &'static OfflineLoader {
        static LOADER: OnceLock<OfflineLoader> = OnceLock::new();
        LOADER.get_or_init(OfflineLoader::new)
    }
}

impl Loader for OfflineLoader {
    async fn load(&self, url: &Iri) -> Result<RemoteDocument<IriBuf>, LoadError> {
        if let Some(document) = self.documents.get(url) {
            return Ok(document.clone());
        }
        match operator_context(url.as_str()) {
            Some((_, value)) => Ok(RemoteDocument::new(
                Some(url.to_owned()),
                Some("application/ld+json".parse().expect("static mime type")),
                json_syntax::Value::from_serde_json(value.clone()),
            )),
            None => Err(LoadError::new(url.to_owned(), UnknownContext(url.to_string()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_context_parses_and_has_a_context() {
        for (url, body) in BUNDLED {
            let value: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(value.get("@context").is_some(), "{url} has no @context");
        }
        assert_eq!(OfflineLoader::shared().documents.len(), BUNDLED.len());
    }

    #[test]
    fn sources_md_lists_every_bundled_file_with_its_hash() {
        use sha2::{Digest, Sha256};
        let sources = include_str!("../../contexts/SOURCES.md");
        for line in sources.lines().filter(|l| l.starts_with("| http")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (url, file, sum) = (cells[1], cells[2], cells[5].trim_matches('`'));
            let body = bundled_text(url).unwrap_or_else(|| panic!("{url} not bundled"));
            let on_disk = std::fs::read(format!("{}/contexts/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            assert_eq!(body.as_bytes(), on_disk.as_slice());
            assert_eq!(hex::encode(Sha256::digest(body.as_bytes())), sum, "{file}");
        }
    }
}
