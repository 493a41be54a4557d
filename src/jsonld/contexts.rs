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

/// Every OB 3.0 context URL, newest first. `@context[1]` of an OB credential must be one of them.
pub const OB_CONTEXTS: [&str; 4] = [OB_V3P0_3_0_3, OB_V3P0_3_0_2, OB_V3P0_3_0_1, OB_V3P0_3_0_0];

/// The VC DM 2.0 examples context is a one-line `@vocab` context defined in the VC DM 2.0
/// specification text; no registry package ships it, and the W3C test vectors need it.
const CREDENTIALS_EXAMPLES_V2_BODY: &str =
    r#"{"@context":{"@vocab":"https://www.w3.org/ns/credentials/examples#"}}"#;

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
];

/// Whether `url` is a context Laurel bundles.
pub fn is_bundled(url: &str) -> bool {
    BUNDLED.iter().any(|(u, _)| *u == url)
}

/// The raw JSON text of a bundled context.
pub fn bundled_text(url: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(u, _)| *u == url).map(|(_, body)| *body)
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
}

/// Raised for any context URL outside the bundle: Laurel never fetches a context.
#[derive(Debug, thiserror::Error)]
#[error("unknown JSON-LD context {0}: Laurel only uses its bundled contexts and never fetches one")]
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
        self.documents
            .get(url)
            .cloned()
            .ok_or_else(|| LoadError::new(url.to_owned(), UnknownContext(url.to_string())))
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
