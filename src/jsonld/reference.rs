//! JSON-LD expansion against the bundled contexts and conversion to RDF quads, refusing data loss.

use json_ld::expansion::{Action, Options as ExpansionOptions, Policy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use json_ld::syntax::TryFromJson;
use json_ld::{Expand, Process, RdfQuads};
use rdf_types::generator;

use crate::jsonld::canon::{self, Quad, Term, RDF_LANG_STRING};
use crate::jsonld::contexts::OfflineLoader;
use crate::jsonld::expand;

#[derive(Debug, thiserror::Error)]
pub enum JsonLdError {
    /// The document uses a term or type its contexts do not define, or an invalid one.
    #[error("JSON-LD expansion failed: {0}")]
    Expansion(String),
    #[error("the document has no JSON-LD @context")]
    NoContext,
    /// A value the json-ld crate would silently drop, leaving it outside the signature.
    #[error("{path}: {tag:?} is not a well-formed BCP 47 language tag (the value would not be signed)")]
    MalformedLanguageTag { path: String, tag: String },
    /// A key JSON-LD reserves and ignores, so the data under it would not be signed.
    #[error("{path}: \"{key}\" looks like a JSON-LD keyword but is none; JSON-LD ignores it, so its value would not be signed")]
    ReservedKey { path: String, key: String },
    /// Data JSON-LD would drop (a term mapped to null, an index).
    #[error("{path}: {why} (refused: the value would not be signed)")]
    UnsignedValue { path: String, why: String },
    /// A form that is signed, but that processors sign differently (a direction without a
    /// lower-case language), so no other verifier would reproduce Laurel's proof.
    #[error("{path}: {why}")]
    Unsupported { path: String, why: String },
    #[error(transparent)]
    Canonicalization(#[from] canon::CanonError),
}

impl JsonLdError {
    /// Whether the failure is a context that is not bundled.
    pub fn is_unknown_context(&self) -> bool {
        matches!(self, JsonLdError::Expansion(m) if m.contains("unknown JSON-LD context"))
    }
}

type ActiveContext = json_ld::Context<iref::IriBuf, rdf_types::BlankIdBuf>;

/// Processed top-level `@context` values, keyed by their JSON text. Context processing is most
/// of the cost of expansion and a verifier sees the same few contexts again and again.
/// Bounded: past `CONTEXT_CACHE_LIMIT` distinct contexts the cache starts over.
static CONTEXT_CACHE: OnceLock<Mutex<HashMap<String, Arc<ActiveContext>>>> = OnceLock::new();
const CONTEXT_CACHE_LIMIT: usize = 256;

fn expansion_options() -> ExpansionOptions {
    ExpansionOptions {
        policy: Policy { invalid: Action::Reject, vocab: Action::Keep, allow_undefined: false },
        ..Default::default()
    }
}

/// The active context that processing `context` from an empty one gives, cached.
async fn active_context(context: &serde_json::Value) -> Result<Arc<ActiveContext>, JsonLdError> {
    let key = context.to_string();
    let cache = CONTEXT_CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(hit.clone());
    }
    let local = json_ld::syntax::context::Context::try_from_json(json_syntax::Value::from_serde_json(
        context.clone(),
    ))
    .map_err(|e| JsonLdError::Expansion(format!("invalid @context: {e}")))?;
    let processed = local
        .process_full(
            rdf_types::vocabulary::no_vocabulary_mut(),
            &ActiveContext::new(None),
            OfflineLoader::shared(),
            None,
            expansion_options().into(),
            (),
        )
        .await
        .map_err(|e| JsonLdError::Expansion(describe_expansion_error(&e)))?
        .into_processed();
    let processed = Arc::new(processed);
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= CONTEXT_CACHE_LIMIT {
        map.clear();
    }
    map.insert(key, processed.clone());
    Ok(processed)
}

/// `{"@context": {...}}` used as an entry of a top-level `@context` array is read as the inner
/// context, as jsonld.js (the reference most issuers sign with) does.
/// Borrowed when there is nothing to unwrap, which is always on the hot path.
fn unwrap_nested_contexts(context: &serde_json::Value) -> std::borrow::Cow<'_, serde_json::Value> {
    let is_wrapped = |entry: &serde_json::Value| {
        entry.as_object().is_some_and(|map| map.len() == 1 && map.contains_key("@context"))
    };
    match context {
        serde_json::Value::Array(entries) if entries.iter().any(is_wrapped) => {
            std::borrow::Cow::Owned(serde_json::Value::Array(
                entries
                    .iter()
                    .map(|entry| if is_wrapped(entry) { entry["@context"].clone() } else { entry.clone() })
                    .collect(),
            ))
        }
        other => std::borrow::Cow::Borrowed(other),
    }
}

/// Expands `document` with the bundled contexts only and converts it to RDF quads.
/// Undefined terms and invalid values are errors, never silently dropped.
pub async fn to_quads(document: &serde_json::Value) -> Result<Vec<Quad>, JsonLdError> {
    if fast_path_enabled() {
        // The fast path declines every document the check below would refuse (it bails on
        // keyword-like keys and on language tags that are not plain), so the check is only
        // needed on the way to the json-ld crate.
        match fast_quads(document) {
            Ok(quads) => return Ok(quads),
            Err(expand::Bail::TooComplex) => {
                return Err(JsonLdError::Expansion(
                    "the document's contexts and nesting need more work than Laurel allows for one document"
                        .into(),
                ))
            }
            Err(expand::Bail::Unsupported(_)) => {}
        }
    }
    check_unsigned_values(document, &mut "$".to_string())?;
    reference_quads(document).await
}

/// Work units the json-ld crate may spend on one document: it re-processes every scoped
/// context at every node it applies to, so its cost grows with nodes times the terms of the
/// contexts in play, unlike the fast path's. Issue 12 measured 4.4 s for 2,000 nodes under a
/// 1,000-term scoped context, about 2 µs a unit, so the limit keeps the crate well under a
/// second; real credentials that reach it (floating-point numbers, language maps) cost a few
/// thousand units. The crate cannot be interrupted once started, so the bound applies up front.
const FALLBACK_WORK_LIMIT: usize = 300_000;
/// What the bundled contexts' scoped contexts add at each node, in terms (the OB 3.0 type-scoped
/// contexts define up to about 60).
const BUNDLED_TERMS_PER_NODE: usize = 64;

/// Refuses what JSON-LD would silently leave out of the RDF, where a signature would not cover
/// it and anyone could change it: `@language` values that are not well-formed BCP 47 tags (the
/// json-ld crate drops the whole value; found by diffing the fast path against it) and keys of
/// the form `@word` that are not keywords (ignored, with everything under them).
/// Also refuses, before the json-ld crate runs, a document whose estimated expansion work
/// (JSON objects x (inline context terms + the bundled contexts' share)) exceeds
/// [`FALLBACK_WORK_LIMIT`]; the context walk counts both.
fn check_unsigned_values(document: &serde_json::Value, path: &mut String) -> Result<(), JsonLdError> {
    let mut scan = ContextScan::default();
    scan.walk(document, false, path)?;
    let work = scan.nodes.saturating_mul(scan.context_terms.saturating_add(BUNDLED_TERMS_PER_NODE));
    if work > FALLBACK_WORK_LIMIT {
        return Err(JsonLdError::Expansion(format!(
            "the document's contexts and nesting need more work than Laurel allows for one document ({} objects x {} inline context terms)",
            scan.nodes, scan.context_terms
        )));
    }
    check_values_are_kept(document, &scan.dropped_terms, path)
}

/// What one walk over the document learns of its inline contexts.
#[derive(Default)]
struct ContextScan {
    /// Terms mapped to null anywhere.
    dropped_terms: std::collections::HashSet<String>,
    /// JSON objects outside contexts (nodes and values).
    nodes: usize,
    /// Entries of objects inside contexts (term definitions and their keywords).
    context_terms: usize,
}

impl ContextScan {
    /// Walks the document: collects the terms inline contexts anywhere in it map to null (`"junk": null`,
    /// `{"@id": null}`): JSON-LD drops whatever such a term carries. Refuses `@index` containers,
    /// whose map keys JSON-LD leaves out of the RDF. The collection ignores scoping: a term nulled
    /// in any context is refused everywhere, which is stricter than JSON-LD and never needed by a
    /// real credential.
    fn walk(
        &mut self,
        value: &serde_json::Value,
        in_context: bool,
        path: &mut String,
    ) -> Result<(), JsonLdError> {
        match value {
            serde_json::Value::Object(map) => {
                if in_context {
                    self.context_terms += map.len();
                } else {
                    self.nodes += 1;
                }
                for (key, entry) in map {
                    let len = path.len();
                    path.push('.');
                    path.push_str(key);
                    if in_context && !key.starts_with('@') {
                        let nulled =
                            entry.is_null() || entry.get("@id").is_some_and(serde_json::Value::is_null);
                        if nulled {
                            self.dropped_terms.insert(key.clone());
                        }
                        let container = entry.get("@container");
                        let index_container = match container {
                            Some(serde_json::Value::String(c)) => c == "@index",
                            Some(serde_json::Value::Array(cs)) => cs.iter().any(|c| c == "@index"),
                            _ => false,
                        };
                        if index_container {
                            return Err(JsonLdError::UnsignedValue {
                                path: path.clone(),
                                why:
                                    "an @index container: JSON-LD leaves its map keys out of the signed data"
                                        .into(),
                            });
                        }
                    }
                    self.walk(entry, in_context || key == "@context", path)?;
                    path.truncate(len);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    self.walk(item, in_context, path)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn check_values_are_kept(
    value: &serde_json::Value,
    dropped_terms: &std::collections::HashSet<String>,
    path: &mut String,
) -> Result<(), JsonLdError> {
    match value {
        serde_json::Value::Object(map) => {
            for (key, entry) in map {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                if crate::jsonld::expand::has_keyword_form(key) && !crate::jsonld::expand::is_keyword(key) {
                    return Err(JsonLdError::ReservedKey { path: path.clone(), key: key.clone() });
                }
                if key == "@context" {
                    path.truncate(len);
                    continue;
                }
                if key == "@language" {
                    if let Some(tag) = entry.as_str().filter(|t| !expand::is_well_formed_language_tag(t)) {
                        return Err(JsonLdError::MalformedLanguageTag {
                            path: path.clone(),
                            tag: tag.to_string(),
                        });
                    }
                }
                if key == "@index" {
                    return Err(JsonLdError::UnsignedValue {
                        path: path.clone(),
                        why: format!("JSON-LD leaves {key} out of the signed data"),
                    });
                }
                if key == "@direction" {
                    // Signed as the i18n datatype (rdfDirection "i18n-datatype", as Data
                    // Integrity canonicalizes). The json-ld crate writes that datatype as
                    // jsonld.js does only for a lower-case language, so other forms are refused
                    // rather than signed in a way no other verifier reproduces.
                    let language = map.get("@language").and_then(serde_json::Value::as_str);
                    if !language.is_some_and(|tag| !tag.is_empty() && tag == tag.to_ascii_lowercase()) {
                        return Err(JsonLdError::Unsupported {
                            path: path.clone(),
                            why: "@direction is supported with a lower-case @language only (e.g. \"en\"); \
                                  without one, processors disagree on how it is signed"
                                .to_string(),
                        });
                    }
                }
                if dropped_terms.contains(key) && !entry.is_null() {
                    return Err(JsonLdError::UnsignedValue {
                        path: path.clone(),
                        why: format!("an added context maps \"{key}\" to null, so JSON-LD drops its value and it is not signed"),
                    });
                }
                check_values_are_kept(entry, dropped_terms, path)?;
                path.truncate(len);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_values_are_kept(item, dropped_terms, path)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

/// 0: not read yet, 1: on, 2: off.
static FAST_PATH: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Whether `to_quads` tries Laurel's own expansion first. On unless `LAUREL_JSONLD_FAST=0`: an
/// operator's escape hatch, and how benchmarks measure the json-ld crate path for comparison.
pub fn fast_path_enabled() -> bool {
    use std::sync::atomic::Ordering;
    match FAST_PATH.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let on = std::env::var("LAUREL_JSONLD_FAST").map(|v| v != "0").unwrap_or(true);
            FAST_PATH.store(if on { 1 } else { 2 }, Ordering::Relaxed);
            on
        }
    }
}

/// Turns the fast path on or off for this process (benchmarks compare the two).
pub fn set_fast_path(enabled: bool) {
    FAST_PATH.store(if enabled { 1 } else { 2 }, std::sync::atomic::Ordering::Relaxed);
}

/// Laurel's own expansion (`expand`), which handles what credentials use and bails on the rest.
pub fn fast_quads(document: &serde_json::Value) -> Result<Vec<Quad>, expand::Bail> {
    let (Some(map), Some(context)) = (document.as_object(), document.get("@context")) else {
        return Err(expand::Bail::Unsupported("no top-level object with @context"));
    };
    expand::to_quads(map, &unwrap_nested_contexts(context))
}

/// Expansion and conversion by the json-ld crate: the reference `fast_quads` is tested against,
/// and the path for everything it leaves out.
pub async fn reference_quads(document: &serde_json::Value) -> Result<Vec<Quad>, JsonLdError> {
    let Some(context) = document.get("@context") else {
        return Err(JsonLdError::NoContext);
    };
    // Processing the top-level @context first and expanding the rest with the result is what
    // the expansion algorithm does itself (step 9 of Expansion); only the cache is new.
    let context = unwrap_nested_contexts(context);
    let active = active_context(&context).await?;
    let mut body = document.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("@context");
    }
    let value = json_syntax::Value::from_serde_json(body);
    let expanded = value
        .expand_full(
            rdf_types::vocabulary::no_vocabulary_mut(),
            (*active).clone(),
            None,
            OfflineLoader::shared(),
            expansion_options(),
            (),
        )
        .await
        .map_err(|e| JsonLdError::Expansion(describe_expansion_error(&e)))?;
    let mut expanded = expanded;
    let mut generator = generator::Blank::new_with_prefix("b".to_string());
    // Nodes without @id become blank nodes (JSON-LD toRdf's node map step).
    expanded.identify_all(&mut generator);
    let quads = expanded
        .rdf_quads(&mut generator, Some(json_ld::rdf::RdfDirection::I18nDatatype))
        .map(|q| {
            let rdf_types::Quad(s, p, o, g) = q;
            Quad {
                subject: id_term(s.into_owned()),
                predicate: match p.into_owned() {
                    json_ld::ValidId::Iri(iri) => iri.to_string(),
                    json_ld::ValidId::Blank(b) => b.to_string(),
                },
                object: match o {
                    rdf_types::Term::Id(id) => id_term(id),
                    rdf_types::Term::Literal(lit) => literal_term(lit),
                },
                graph: g.map(|g| id_term(g.clone())),
            }
        })
        .collect();
    Ok(quads)
}

fn describe_expansion_error<E: std::fmt::Display + std::fmt::Debug>(error: &E) -> String {
    let shown = error.to_string();
    let debug = format!("{error:?}");
    if debug.contains("UnknownContext") {
        // Surface the URL from the loader's error.
        if let Some(start) = debug.find("UnknownContext(\"") {
            let rest = &debug[start + 16..];
            let url = rest.split('"').next().unwrap_or_default();
            return format!("unknown JSON-LD context {url}: {}", super::contexts::UNKNOWN_CONTEXT_HINT);
        }
    }
    if let Some(key) = shown.strip_prefix("Key `").and_then(|s| s.strip_suffix("` expansion failed")) {
        return format!(
            "the term \"{key}\" is not defined by the document's @context (it would be dropped when signing)"
        );
    }
    shown
}

fn id_term(id: json_ld::ValidId) -> Term {
    match id {
        json_ld::ValidId::Iri(iri) => Term::Iri(iri.to_string()),
        json_ld::ValidId::Blank(b) => Term::Blank(b.as_str().trim_start_matches("_:").to_string()),
    }
}

fn literal_term(literal: rdf_types::Literal) -> Term {
    match literal.type_ {
        rdf_types::LiteralType::Any(datatype) => {
            Term::Literal { value: literal.value, datatype: datatype.to_string(), language: None }
        }
        rdf_types::LiteralType::LangString(tag) => Term::Literal {
            value: literal.value,
            datatype: RDF_LANG_STRING.to_string(),
            language: Some(tag.to_string()),
        },
    }
}

/// Expands, converts and canonicalizes `document` to canonical N-Quads.
pub async fn canonical_nquads(document: &serde_json::Value) -> Result<String, JsonLdError> {
    let quads = to_quads(document).await?;
    Ok(canon::canonicalize(&quads, canon::Limits::default())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn credential_with(name: serde_json::Value) -> serde_json::Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": "VerifiableCredential",
            "issuer": "did:example:issuer",
            "name": name,
            "credentialSubject": {"id": "did:example:subject"}
        })
    }

    #[tokio::test]
    async fn values_json_ld_would_leave_unsigned_are_refused_on_both_paths() {
        let bad = credential_with(json!({"@value": "Welding", "@language": "en_US"}));
        for fast in [true, false] {
            set_fast_path(fast);
            let error = to_quads(&bad).await.unwrap_err();
            assert!(error.to_string().contains("$.name.@language"), "{error}");
        }
        set_fast_path(true);
        let mut hidden = credential_with(json!("Welding"));
        hidden["credentialSubject"]["@extra"] = json!({"name": "unsigned"});
        let error = to_quads(&hidden).await.unwrap_err();
        assert!(error.to_string().contains("$.credentialSubject.@extra"), "{error}");
        let good = credential_with(json!({"@value": "Welding", "@language": "en-US"}));
        let quads = to_quads(&good).await.unwrap();
        assert!(quads.iter().any(|q| matches!(&q.object, Term::Literal { language: Some(l), .. } if l.eq_ignore_ascii_case("en-us"))));
    }

    #[tokio::test]
    async fn a_base_direction_is_signed_as_the_i18n_datatype_as_jsonld_js_writes_it() {
        let directed = credential_with(json!({"@value": "مرحبا", "@language": "ar", "@direction": "rtl"}));
        let quads = to_quads(&directed).await.unwrap();
        assert!(
            quads.iter().any(|q| matches!(&q.object,
                Term::Literal { value, datatype, language: None }
                    if value == "مرحبا" && datatype == "https://www.w3.org/ns/i18n#ar_rtl")),
            "{quads:?}"
        );
        // Flipping the direction changes what is signed.
        let flipped = credential_with(json!({"@value": "مرحبا", "@language": "ar", "@direction": "ltr"}));
        assert_ne!(canonical_nquads(&directed).await.unwrap(), canonical_nquads(&flipped).await.unwrap());
        // Forms the json-ld crate writes differently from jsonld.js are refused, not signed.
        for value in [
            json!({"@value": "x", "@direction": "rtl"}),
            json!({"@value": "x", "@language": "AR", "@direction": "rtl"}),
        ] {
            let error = to_quads(&credential_with(value)).await.unwrap_err();
            assert!(error.to_string().contains("$.name.@direction"), "{error}");
        }
    }
}
