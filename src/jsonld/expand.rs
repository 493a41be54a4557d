//! Laurel's own JSON-LD 1.1 expansion straight to RDF quads, with every context processed once.
//!
//! The json-ld crate re-processes type- and property-scoped contexts on every node and clones
//! whole active contexts as it goes; that was ~95% of the cost of a Data Integrity proof. Here a
//! processed context is immutable and shared (`Arc<Ctx>`), and processing a scoped context on top
//! of one is memoized, so a credential costs one walk over its JSON.
//!
//! This is a fast path, not a second reference. It implements the Context Processing, Create
//! Term Definition, IRI Expansion, Expansion, Value Expansion and Object-to-RDF algorithms of
//! JSON-LD 1.1 for the features credentials use (protected, type- and property-scoped contexts,
//! `@set`/`@list`/`@graph` containers, `@id`/`@vocab`/datatype coercion, value objects). Anything
//! else, and anything the specification calls an error, returns [`Bail::Unsupported`] and the
//! caller falls back to the json-ld crate, which then decides the result and words the error.
//! `tests/expansion.rs` diffs both paths on every vector and fixture and on mutated credentials.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use crate::jsonld::canon::{Quad, Term, RDF_LANG_STRING, XSD_STRING};
use crate::jsonld::contexts;

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const RDF_FIRST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first";
const RDF_REST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest";
const RDF_NIL: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil";
const XSD_INTEGER: &str = "http://www.w3.org/2001/XMLSchema#integer";
const XSD_BOOLEAN: &str = "http://www.w3.org/2001/XMLSchema#boolean";
const XSD_DOUBLE: &str = "http://www.w3.org/2001/XMLSchema#double";

/// Contexts processed plus terms defined for one document (or one top-level context). Expanding
/// elements is linear in the input, which callers bound; context processing is not: every scoped
/// context is validated against a copy of the context being built, so a hostile inline context
/// could make it quadratic. The bundled VC 2.0 + OB 3.0.3 contexts cost about 1,000 (unit test).
const WORK_LIMIT: usize = 100_000;
/// Distinct processed contexts kept; past it the memo starts over.
const MEMO_LIMIT: usize = 4096;
const REMOTE_CONTEXT_LIMIT: usize = 32;

/// Why the fast path did not produce quads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bail {
    /// Outside the supported subset, or an error case: use the reference implementation.
    Unsupported(&'static str),
    /// The document's contexts or structure exceed the work limit: refuse it.
    TooComplex,
}

type R<T> = Result<T, Bail>;

fn unsupported<T>(why: &'static str) -> R<T> {
    Err(Bail::Unsupported(why))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// A scoped context as written in a term definition, with an identity for the memo.
#[derive(Debug)]
struct Scoped {
    id: u64,
    value: Value,
    /// The remote context the definition came from; part of a definition's identity (the json-ld
    /// crate compares it when a protected term is redefined).
    base: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Container {
    set: bool,
    list: bool,
    graph: bool,
}

#[derive(Debug, Clone)]
struct TermDef {
    /// An absolute IRI or a keyword.
    iri: String,
    prefix: bool,
    protected: bool,
    type_mapping: Option<String>,
    container: Container,
    context: Option<Arc<Scoped>>,
}

impl TermDef {
    /// Equality "other than the value of protected", for protected-term redefinition.
    fn same_as(&self, other: &TermDef) -> bool {
        self.iri == other.iri
            && self.prefix == other.prefix
            && self.type_mapping == other.type_mapping
            && self.container == other.container
            && match (&self.context, &other.context) {
                (None, None) => true,
                // Compared as text, so key order counts: never laxer than the reference.
                (Some(a), Some(b)) => {
                    a.base == b.base && serde_json::to_vec(&a.value).ok() == serde_json::to_vec(&b.value).ok()
                }
                _ => false,
            }
    }
}

/// A processed (active) context. Immutable once built; shared through `Arc`.
#[derive(Debug, Clone)]
struct Ctx {
    id: u64,
    terms: HashMap<String, Arc<TermDef>>,
    vocab: Option<String>,
    /// Set by a non-propagating (type-scoped) context: what node objects below revert to.
    previous: Option<Arc<Ctx>>,
}

impl Ctx {
    fn empty() -> Self {
        Ctx { id: next_id(), terms: HashMap::new(), vocab: None, previous: None }
    }
}

pub(crate) fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "@base"
            | "@container"
            | "@context"
            | "@direction"
            | "@graph"
            | "@id"
            | "@import"
            | "@included"
            | "@index"
            | "@json"
            | "@language"
            | "@list"
            | "@nest"
            | "@none"
            | "@prefix"
            | "@propagate"
            | "@protected"
            | "@reverse"
            | "@set"
            | "@type"
            | "@value"
            | "@version"
            | "@vocab"
    )
}

/// `@` followed by ASCII letters only: reserved for future keywords, ignored with a warning by
/// the specification, which would drop data; we leave such documents to the reference.
pub(crate) fn has_keyword_form(s: &str) -> bool {
    s.len() > 1 && s.starts_with('@') && s[1..].bytes().all(|b| b.is_ascii_alphabetic())
}

/// An absolute IRI by RFC 3987 (what the json-ld crate accepts as one).
fn is_absolute_iri(s: &str) -> bool {
    iref::Iri::new(s).is_ok()
}

/// `letters(-alphanumerics)*`, each part 1 to 8 long: the shape of every BCP 47 tag.
pub(crate) fn is_well_formed_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (1..=8).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A well-formed tag already in lower case. Processors may lower-case other tags or not, so the
/// fast path leaves them to the reference.
fn is_plain_language_tag(tag: &str) -> bool {
    is_well_formed_language_tag(tag) && !tag.bytes().any(|b| b.is_ascii_uppercase())
}

fn ends_with_gen_delim(s: &str) -> bool {
    matches!(s.as_bytes().last(), Some(b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@'))
}

/// Memo of "context processed on top of context": (active id, scoped id, override, propagate).
type Memo = HashMap<(u64, u64, bool, bool), Arc<Ctx>>;

fn memo() -> &'static Mutex<Memo> {
    static MEMO: OnceLock<Mutex<Memo>> = OnceLock::new();
    MEMO.get_or_init(Default::default)
}

/// Top-level contexts by their JSON text.
fn top_level_cache() -> &'static Mutex<HashMap<String, Arc<Ctx>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Ctx>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

struct Processor {
    work: usize,
}

struct ProcessFlags<'b> {
    override_protected: bool,
    validate_scoped: bool,
    /// The URL of the remote context being processed, if any.
    base: Option<&'b str>,
}

impl ProcessFlags<'static> {
    /// For a context written in the document itself.
    const DOCUMENT: ProcessFlags<'static> =
        ProcessFlags { override_protected: false, validate_scoped: true, base: None };
}

impl Processor {
    fn spend(&mut self, steps: usize) -> R<()> {
        self.work += steps;
        if self.work > WORK_LIMIT {
            return Err(Bail::TooComplex);
        }
        Ok(())
    }

    /// Context Processing (JSON-LD 1.1 API §4.1.2).
    fn process(
        &mut self,
        active: &Arc<Ctx>,
        local: &Value,
        mut propagate: bool,
        flags: &ProcessFlags,
        remote: &[String],
    ) -> R<Arc<Ctx>> {
        // Copying the active context is the part that can grow quadratically: count it.
        self.spend(1 + active.terms.len())?;
        let mut result = (**active).clone();
        result.id = next_id();
        if let Some(map) = local.as_object() {
            if let Some(p) = map.get("@propagate") {
                propagate = p.as_bool().ok_or(Bail::Unsupported("@propagate is not a boolean"))?;
            }
        }
        if !propagate && result.previous.is_none() {
            result.previous = Some(active.clone());
        }
        self.process_into(&mut result, local, propagate, flags, remote, false)?;
        Ok(Arc::new(result))
    }

    /// Steps 4-5 of Context Processing, applied to `result` in place.
    fn process_into(
        &mut self,
        result: &mut Ctx,
        local: &Value,
        propagate: bool,
        flags: &ProcessFlags,
        remote: &[String],
        nested: bool,
    ) -> R<()> {
        let single = std::slice::from_ref(local);
        let contexts = match local {
            Value::Array(items) => items.as_slice(),
            _ => single,
        };
        for context in contexts {
            match context {
                Value::Null => {
                    if !flags.override_protected && result.terms.values().any(|d| d.protected) {
                        return unsupported("nullifies a context with protected terms");
                    }
                    let old = std::mem::replace(result, Ctx::empty());
                    if !propagate {
                        result.previous = Some(Arc::new(old));
                    }
                }
                Value::String(url) => {
                    if !flags.validate_scoped && remote.iter().any(|r| r == url) {
                        continue;
                    }
                    if remote.len() >= REMOTE_CONTEXT_LIMIT {
                        return unsupported("too many nested remote contexts");
                    }
                    let document =
                        contexts::bundled_json(url).ok_or(Bail::Unsupported("context not bundled"))?;
                    let inner = document
                        .get("@context")
                        .ok_or(Bail::Unsupported("remote context has no @context"))?;
                    let mut remote_copy = remote.to_vec();
                    remote_copy.push(url.clone());
                    let inner_flags = ProcessFlags {
                        override_protected: false,
                        validate_scoped: flags.validate_scoped,
                        base: Some(url.as_str()),
                    };
                    self.process_into(result, inner, true, &inner_flags, &remote_copy, true)?;
                }
                Value::Object(map) => {
                    self.process_object(result, map, flags, remote, nested || contexts.len() > 1)?
                }
                _ => return unsupported("a context is not an object, string, array or null"),
            }
        }
        Ok(())
    }

    fn process_object(
        &mut self,
        result: &mut Ctx,
        map: &Map<String, Value>,
        flags: &ProcessFlags,
        remote: &[String],
        nested: bool,
    ) -> R<()> {
        if let Some(version) = map.get("@version") {
            if version.as_f64() != Some(1.1) {
                return unsupported("@version is not 1.1");
            }
        }
        for key in ["@import", "@base", "@direction"] {
            if map.contains_key(key) {
                return unsupported("@import, @base or @direction in a context");
            }
        }
        match map.get("@language") {
            None | Some(Value::Null) => {}
            Some(_) => return unsupported("a default language"),
        }
        if let Some(p) = map.get("@propagate") {
            // Only the top of a processed context may change propagation; elsewhere leave it.
            if nested || !p.is_boolean() {
                return unsupported("@propagate inside an array or remote context");
            }
        }
        if let Some(vocab) = map.get("@vocab") {
            match vocab {
                Value::Null => result.vocab = None,
                Value::String(v) => {
                    let prefix_is_term = v
                        .split_once(':')
                        .is_some_and(|(p, _)| result.terms.contains_key(p) || map.contains_key(p));
                    if !is_absolute_iri(v) || prefix_is_term {
                        return unsupported("@vocab is not a plain absolute IRI");
                    }
                    result.vocab = Some(v.clone());
                }
                _ => return unsupported("@vocab is not a string"),
            }
        }
        let protected = match map.get("@protected") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return unsupported("@protected is not a boolean"),
        };
        let mut defined: HashMap<&str, bool> = HashMap::new();
        for key in map.keys() {
            if matches!(
                key.as_str(),
                "@base"
                    | "@direction"
                    | "@import"
                    | "@language"
                    | "@propagate"
                    | "@protected"
                    | "@version"
                    | "@vocab"
            ) {
                continue;
            }
            self.define_term(result, map, key, &mut defined, protected, flags, remote)?;
        }
        Ok(())
    }

    /// Create Term Definition (§4.2.2).
    #[allow(clippy::too_many_arguments)]
    fn define_term<'a>(
        &mut self,
        result: &mut Ctx,
        local: &'a Map<String, Value>,
        term: &'a str,
        defined: &mut HashMap<&'a str, bool>,
        protected: bool,
        flags: &ProcessFlags,
        remote: &[String],
    ) -> R<()> {
        match defined.get(term) {
            Some(true) => return Ok(()),
            Some(false) => return unsupported("cyclic IRI mapping"),
            None => {}
        }
        self.spend(1)?;
        if term.is_empty() || term == "@type" || is_keyword(term) || has_keyword_form(term) {
            return unsupported("a keyword or keyword-like term is defined");
        }
        defined.insert(term, false);
        let value = &local[term];
        let previous = result.terms.remove(term);
        static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
        let (entries, simple_term, id_entry) = match value {
            Value::String(_) => (EMPTY.get_or_init(Map::new), true, Some(value)),
            Value::Object(m) => (m, false, m.get("@id")),
            _ => return unsupported("a term definition that is null or not a string or object"),
        };
        for key in entries.keys() {
            if !matches!(key.as_str(), "@id" | "@container" | "@context" | "@protected" | "@type") {
                // @reverse, @index, @language, @direction, @nest, @prefix, or invalid.
                return unsupported("a term definition keyword outside the supported subset");
            }
        }
        let mut def = TermDef {
            iri: String::new(),
            prefix: false,
            protected,
            type_mapping: None,
            container: Container::default(),
            context: None,
        };
        if let Some(p) = entries.get("@protected") {
            def.protected = p.as_bool().ok_or(Bail::Unsupported("@protected is not a boolean"))?;
        }
        if let Some(t) = entries.get("@type") {
            let t = t.as_str().ok_or(Bail::Unsupported("@type mapping is not a string"))?;
            let expanded = self.expand_iri_defining(result, local, defined, t, flags, remote)?;
            // A @json mapping is kept: expanding a value with it is what the fast path declines.
            let keyword_ok = matches!(expanded.as_str(), "@id" | "@vocab" | "@none" | "@json");
            if !keyword_ok && (expanded.starts_with('@') || !is_absolute_iri(&expanded)) {
                return unsupported("@type mapping is not an IRI");
            }
            def.type_mapping = Some(expanded);
        }
        match id_entry {
            Some(id) if id.as_str() != Some(term) => {
                let id = id.as_str().ok_or(Bail::Unsupported("@id is null or not a string"))?;
                if !is_keyword(id) && has_keyword_form(id) {
                    return unsupported("@id has the form of a keyword");
                }
                let iri = self.expand_iri_defining(result, local, defined, id, flags, remote)?;
                if iri == "@context" || (!is_keyword(&iri) && !is_absolute_iri(&iri)) || iri.starts_with("_:")
                {
                    return unsupported("@id is not an IRI or a keyword");
                }
                def.iri = iri;
                let colon_inside = term.len() > 2 && term[1..term.len() - 1].contains(':');
                if colon_inside || term.contains('/') {
                    defined.insert(term, true);
                    let again = self.expand_iri_defining(result, local, defined, term, flags, remote)?;
                    if again != def.iri {
                        return unsupported("an IRI-like term maps to a different IRI");
                    }
                }
                if !term.contains(':') && !term.contains('/') && simple_term && ends_with_gen_delim(&def.iri)
                {
                    def.prefix = true;
                }
            }
            _ => {
                if let Some((prefix, suffix)) = term.split_once(':').filter(|(p, _)| !p.is_empty()) {
                    if local.contains_key(prefix) {
                        self.define_term(result, local, prefix, defined, protected_of(local), flags, remote)?;
                    }
                    if prefix == "_" {
                        return unsupported("a blank node term");
                    }
                    def.iri = match result.terms.get(prefix) {
                        Some(p) => format!("{}{suffix}", p.iri),
                        None if is_absolute_iri(term) => term.to_string(),
                        None => return unsupported("a compact IRI term with an unknown prefix"),
                    };
                    if def.iri.starts_with('@') || !is_absolute_iri(&def.iri) {
                        return unsupported("a compact IRI term that does not give an IRI");
                    }
                } else if term.contains('/') {
                    return unsupported("a relative IRI term");
                } else if let Some(vocab) = &result.vocab {
                    def.iri = checked_iri(format!("{vocab}{term}"))?;
                } else {
                    return unsupported("a term with no IRI and no @vocab");
                }
            }
        }
        if let Some(c) = entries.get("@container") {
            def.container = parse_container(c)?;
        }
        if let Some(scoped) = entries.get("@context") {
            // Validate now, as the specification does (errors surface at definition time).
            let snapshot = Arc::new(result.clone());
            let validation =
                ProcessFlags { override_protected: true, validate_scoped: false, base: flags.base };
            self.process(&snapshot, scoped, true, &validation, remote)?;
            let base = flags.base.map(str::to_string);
            def.context = Some(Arc::new(Scoped { id: next_id(), value: scoped.clone(), base }));
        }
        let def = match previous {
            Some(previous) if !flags.override_protected && previous.protected => {
                if !previous.same_as(&def) {
                    return unsupported("redefines a protected term");
                }
                previous
            }
            _ => Arc::new(def),
        };
        result.terms.insert(term.to_string(), def);
        defined.insert(term, true);
        Ok(())
    }

    /// IRI Expansion (§5.2.2) while defining terms: may define terms of `local` on the way.
    /// Always with `vocab` true, as every use in Create Term Definition is.
    fn expand_iri_defining<'a>(
        &mut self,
        result: &mut Ctx,
        local: &'a Map<String, Value>,
        defined: &mut HashMap<&'a str, bool>,
        value: &'a str,
        flags: &ProcessFlags,
        remote: &[String],
    ) -> R<String> {
        if is_keyword(value) {
            return Ok(value.to_string());
        }
        if has_keyword_form(value) {
            return unsupported("an IRI has the form of a keyword");
        }
        if local.contains_key(value) && defined.get(value) != Some(&true) {
            self.define_term(result, local, value, defined, protected_of(local), flags, remote)?;
        }
        if let Some(def) = result.terms.get(value) {
            return Ok(def.iri.clone());
        }
        if let Some((prefix, suffix)) = value.split_once(':') {
            if prefix.is_empty() || prefix == "_" {
                return unsupported("a blank node or empty prefix");
            }
            if suffix.starts_with("//") {
                return Ok(value.to_string());
            }
            if local.contains_key(prefix) && defined.get(prefix) != Some(&true) {
                self.define_term(result, local, prefix, defined, protected_of(local), flags, remote)?;
            }
            if let Some(def) = result.terms.get(prefix).filter(|d| d.prefix) {
                return checked_iri(format!("{}{suffix}", def.iri));
            }
            if is_absolute_iri(value) {
                return Ok(value.to_string());
            }
        }
        match &result.vocab {
            Some(vocab) => checked_iri(format!("{vocab}{value}")),
            None => unsupported("a relative IRI"),
        }
    }
}

fn protected_of(local: &Map<String, Value>) -> bool {
    local.get("@protected").and_then(Value::as_bool).unwrap_or(false)
}

fn parse_container(value: &Value) -> R<Container> {
    let single = std::slice::from_ref(value);
    let items = match value {
        Value::Array(items) => items.as_slice(),
        _ => single,
    };
    let mut container = Container::default();
    for item in items {
        match item.as_str() {
            Some("@set") => container.set = true,
            Some("@list") => container.list = true,
            Some("@graph") => container.graph = true,
            _ => return unsupported("a container other than @set, @list or @graph"),
        }
    }
    if container.list && (container.set || container.graph || items.len() > 1) {
        return unsupported("@list combined with another container");
    }
    Ok(container)
}

/// IRI Expansion (§5.2.2) against a processed context. Returns a keyword or an absolute IRI;
/// a relative IRI or blank node identifier is left to the reference.
fn expand_iri(ctx: &Ctx, value: &str, vocab: bool) -> R<String> {
    if is_keyword(value) {
        return Ok(value.to_string());
    }
    if has_keyword_form(value) {
        return unsupported("an IRI has the form of a keyword");
    }
    if let Some(def) = ctx.terms.get(value) {
        if def.iri.starts_with('@') || vocab {
            return Ok(def.iri.clone());
        }
    }
    if let Some((prefix, suffix)) = value.split_once(':') {
        if prefix.is_empty() || prefix == "_" {
            return unsupported("a blank node identifier or empty prefix");
        }
        if !suffix.starts_with("//") {
            if let Some(def) = ctx.terms.get(prefix).filter(|d| d.prefix) {
                return checked_iri(format!("{}{suffix}", def.iri));
            }
        }
        if is_absolute_iri(value) {
            return Ok(value.to_string());
        }
        return unsupported("not an IRI");
    }
    match &ctx.vocab {
        Some(v) if vocab => checked_iri(format!("{v}{value}")),
        _ => unsupported("a relative IRI"),
    }
}

fn checked_iri(iri: String) -> R<String> {
    if is_absolute_iri(&iri) {
        Ok(iri)
    } else {
        unsupported("an expanded IRI that is not valid")
    }
}

/// What a key of a node means, cheaply: the keyword it aliases, if any.
fn key_keyword<'a>(ctx: &'a Ctx, key: &'a str) -> Option<&'a str> {
    if key.starts_with('@') {
        return Some(key);
    }
    ctx.terms.get(key).map(|d| d.iri.as_str()).filter(|iri| iri.starts_with('@'))
}

/// An expanded value.
#[derive(Debug)]
enum Item {
    Node(Node),
    Literal { value: String, datatype: String, language: Option<String> },
    List(Vec<Item>),
}

#[derive(Debug, Default)]
struct Node {
    id: Option<String>,
    types: Vec<String>,
    properties: Vec<(String, Vec<Item>)>,
    /// The node's named graph: a graph object from a `@graph` container.
    graph: Option<Vec<Item>>,
}

struct Expander {
    processor: Processor,
}

impl Expander {
    fn scoped(
        &mut self,
        active: &Arc<Ctx>,
        scoped: &Arc<Scoped>,
        override_protected: bool,
        propagate: bool,
    ) -> R<Arc<Ctx>> {
        let key = (active.id, scoped.id, override_protected, propagate);
        if let Some(hit) = memo().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(hit.clone());
        }
        let flags = ProcessFlags { override_protected, validate_scoped: true, base: scoped.base.as_deref() };
        let processed = self.processor.process(active, &scoped.value, propagate, &flags, &[])?;
        let mut map = memo().lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MEMO_LIMIT {
            map.clear();
        }
        map.insert(key, processed.clone());
        Ok(processed)
    }

    /// The Expansion algorithm (§5.1.2) for any element under `property`.
    fn expand(&mut self, active: &Arc<Ctx>, property: Option<&str>, element: &Value) -> R<Vec<Item>> {
        match element {
            Value::Null => unsupported("a null value"),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if item.is_array() {
                        return unsupported("nested arrays");
                    }
                    out.extend(self.expand(active, property, item)?);
                }
                Ok(out)
            }
            Value::Object(map) => self.expand_object(active, property, map, false),
            scalar => {
                let Some(property) = property else {
                    return unsupported("a free-floating value");
                };
                let def = active.terms.get(property);
                let active = match def.and_then(|d| d.context.as_ref()) {
                    Some(scoped) => self.scoped(active, scoped, true, true)?,
                    None => active.clone(),
                };
                let def = active.terms.get(property);
                Ok(vec![value_expansion(&active, def.map(|d| &**d), scalar)?])
            }
        }
    }

    fn expand_object(
        &mut self,
        active: &Arc<Ctx>,
        property: Option<&str>,
        map: &Map<String, Value>,
        top_level: bool,
    ) -> R<Vec<Item>> {
        let property_scoped = property.and_then(|p| active.terms.get(p)).and_then(|d| d.context.clone());
        let mut active = active.clone();
        // Step 7: a type-scoped context does not apply to the node objects below it.
        if let Some(previous) = &active.previous {
            let has_value = map.keys().any(|k| key_keyword(&active, k) == Some("@value"));
            let only_id = map.len() == 1 && map.keys().all(|k| key_keyword(&active, k) == Some("@id"));
            if !has_value && !only_id {
                active = previous.clone();
            }
        }
        if let Some(scoped) = &property_scoped {
            active = self.scoped(&active, scoped, true, true)?;
        }
        if !top_level {
            if let Some(local) = map.get("@context") {
                active = self.processor.process(&active, local, true, &ProcessFlags::DOCUMENT, &[])?;
            }
        }
        // Steps 10-11: type-scoped contexts, in lexicographic order of key and of type.
        let type_scoped = active.clone();
        let mut type_keys: Vec<&String> =
            map.keys().filter(|k| key_keyword(&active, k) == Some("@type")).collect();
        type_keys.sort_unstable();
        for key in type_keys {
            let mut types: Vec<&str> = match &map[key] {
                Value::String(s) => vec![s.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            types.sort_unstable();
            for t in types {
                if let Some(scoped) = type_scoped.terms.get(t).and_then(|d| d.context.clone()) {
                    active = self.scoped(&active, &scoped, false, false)?;
                }
            }
        }

        let mut node = Node::default();
        let mut value: Option<&Value> = None;
        let mut language: Option<&str> = None;
        let mut list: Option<Vec<Item>> = None;
        let mut set: Option<Vec<Item>> = None;
        let mut type_was_array = false;
        for (key, entry) in map {
            if key == "@context" {
                continue;
            }
            let expanded = expand_iri(&active, key, true)?;
            if expanded.starts_with('@') {
                match expanded.as_str() {
                    "@id" => {
                        if node.id.is_some() {
                            return unsupported("colliding @id keys");
                        }
                        let id = entry.as_str().ok_or(Bail::Unsupported("@id is not a string"))?;
                        node.id = Some(expand_iri(&active, id, false)?);
                    }
                    "@type" => {
                        type_was_array |= entry.is_array();
                        let single = std::slice::from_ref(entry);
                        let types = match entry {
                            Value::Array(items) => items.as_slice(),
                            _ => single,
                        };
                        for t in types {
                            let t = t.as_str().ok_or(Bail::Unsupported("@type is not a string"))?;
                            let iri = expand_iri(&type_scoped, t, true)?;
                            if iri.starts_with('@') {
                                return unsupported("@type is a keyword");
                            }
                            node.types.push(iri);
                        }
                    }
                    "@value" => {
                        if value.is_some() || entry.is_null() || entry.is_array() || entry.is_object() {
                            return unsupported("@value is repeated, null or not a scalar");
                        }
                        value = Some(entry);
                    }
                    "@language" => {
                        let tag = entry.as_str().ok_or(Bail::Unsupported("@language is not a string"))?;
                        // Processors may lower-case tags; keep to tags where none would differ.
                        if language.is_some() || !is_plain_language_tag(tag) {
                            return unsupported("a repeated, malformed or upper-case language tag");
                        }
                        language = Some(tag);
                    }
                    "@list" => {
                        if property.is_none() || list.is_some() {
                            return unsupported("a free-floating or repeated @list");
                        }
                        let items = self.expand(&active, property, entry)?;
                        if items.iter().any(|i| matches!(i, Item::List(_))) {
                            return unsupported("a list of lists");
                        }
                        list = Some(items);
                    }
                    "@set" => {
                        if set.is_some() {
                            return unsupported("a repeated @set");
                        }
                        set = Some(self.expand(&active, property, entry)?);
                    }
                    _ => return unsupported("a keyword outside the supported subset"),
                }
                continue;
            }
            if !is_absolute_iri(&expanded) {
                return unsupported("a property that is not an absolute IRI");
            }
            let def = active.terms.get(key.as_str());
            if def.is_some_and(|d| d.type_mapping.as_deref() == Some("@json")) {
                return unsupported("a JSON literal");
            }
            let container = def.map(|d| d.container).unwrap_or_default();
            let mut items = self.expand(&active, Some(key), entry)?;
            if container.list {
                let already_list = !entry.is_array() && matches!(items.as_slice(), [Item::List(_)]);
                if !already_list {
                    if items.iter().any(|i| matches!(i, Item::List(_))) {
                        return unsupported("a list of lists");
                    }
                    items = vec![Item::List(items)];
                }
            }
            if container.graph {
                items = items
                    .into_iter()
                    .map(|item| match item {
                        Item::Node(inner) if inner.graph.is_none() => {
                            Ok(Item::Node(Node { graph: Some(vec![Item::Node(inner)]), ..Node::default() }))
                        }
                        _ => unsupported("a @graph container holding something other than a node"),
                    })
                    .collect::<R<_>>()?;
            }
            match node.properties.iter_mut().find(|(p, _)| *p == expanded) {
                Some((_, existing)) => existing.extend(items),
                None => node.properties.push((expanded, items)),
            }
        }

        if let Some(value) = value {
            let extra = node.id.is_some() || !node.properties.is_empty() || list.is_some() || set.is_some();
            if extra || map.contains_key("@context") {
                return unsupported("an invalid value object");
            }
            // A value object's @type is one IRI, never an array (even of one).
            if type_was_array
                || node.types.len() > 1
                || (language.is_some() && (!node.types.is_empty() || !value.is_string()))
            {
                return unsupported("an invalid value object");
            }
            let datatype = node.types.pop();
            return Ok(vec![literal(value, datatype, language)?]);
        }
        if language.is_some() {
            return unsupported("@language outside a value object");
        }
        let node_entries = node.id.is_some() || !node.types.is_empty() || !node.properties.is_empty();
        if (list.is_some() || set.is_some()) && (node_entries || map.contains_key("@context")) {
            return unsupported("an invalid list or set object");
        }
        if let Some(list) = list {
            if set.is_some() {
                return unsupported("an invalid list object");
            }
            return Ok(vec![Item::List(list)]);
        }
        if let Some(set) = set {
            return Ok(set);
        }
        Ok(vec![Item::Node(node)])
    }
}

/// Value Expansion (§5.3.2).
fn value_expansion(active: &Ctx, def: Option<&TermDef>, value: &Value) -> R<Item> {
    let type_mapping = def.and_then(|d| d.type_mapping.as_deref());
    match (type_mapping, value) {
        (Some("@id"), Value::String(s)) => {
            return Ok(Item::Node(Node { id: Some(expand_iri(active, s, false)?), ..Node::default() }))
        }
        (Some("@vocab"), Value::String(s)) => {
            return Ok(Item::Node(Node { id: Some(expand_iri(active, s, true)?), ..Node::default() }))
        }
        _ => {}
    }
    let datatype = type_mapping.filter(|t| !matches!(*t, "@id" | "@vocab" | "@none")).map(str::to_string);
    literal(value, datatype, None)
}

/// A value object's literal, as Object to RDF (§8.3) writes it.
fn literal(value: &Value, datatype: Option<String>, language: Option<&str>) -> R<Item> {
    let (lexical, default_type) = match value {
        Value::String(s) => (s.clone(), XSD_STRING),
        // A datatype given by the context applies as written, even to a boolean or number.
        Value::Bool(b) => (b.to_string(), XSD_BOOLEAN),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            if datatype.as_deref() == Some(XSD_DOUBLE) {
                return unsupported("an integer typed xsd:double");
            }
            (n.to_string(), XSD_INTEGER)
        }
        _ => return unsupported("a non-integer number"),
    };
    if let Some(language) = language {
        return Ok(Item::Literal {
            value: lexical,
            datatype: RDF_LANG_STRING.to_string(),
            language: Some(language.to_string()),
        });
    }
    let datatype = datatype.unwrap_or_else(|| default_type.to_string());
    if datatype.starts_with('@') || !is_absolute_iri(&datatype) {
        return unsupported("a datatype that is not an IRI");
    }
    Ok(Item::Literal { value: lexical, datatype, language: None })
}

/// Writes an expanded node's quads (Deserialize JSON-LD to RDF, §8.1, with fresh blank nodes).
struct Emitter {
    quads: Vec<Quad>,
    blank: usize,
}

impl Emitter {
    fn fresh(&mut self) -> Term {
        self.blank += 1;
        Term::Blank(format!("f{}", self.blank))
    }

    fn node(&mut self, node: Node, graph: &Option<Term>) -> R<Term> {
        let subject = match node.id {
            Some(id) => {
                if id.starts_with('@') || !is_absolute_iri(&id) {
                    return unsupported("an @id that is not an absolute IRI");
                }
                Term::Iri(id)
            }
            None => self.fresh(),
        };
        for t in node.types {
            self.push(&subject, RDF_TYPE, Term::Iri(t), graph);
        }
        for (property, items) in node.properties {
            for item in items {
                let object = self.object(item, graph)?;
                self.push(&subject, &property, object, graph);
            }
        }
        if let Some(members) = node.graph {
            let name = Some(subject.clone());
            for member in members {
                match member {
                    Item::Node(n) => {
                        self.node(n, &name)?;
                    }
                    _ => return unsupported("a value in a named graph"),
                }
            }
        }
        Ok(subject)
    }

    fn object(&mut self, item: Item, graph: &Option<Term>) -> R<Term> {
        match item {
            Item::Node(node) => self.node(node, graph),
            Item::Literal { value, datatype, language } => Ok(Term::Literal { value, datatype, language }),
            Item::List(items) => {
                let mut head = Term::Iri(RDF_NIL.to_string());
                let mut nodes: Vec<Term> = (0..items.len()).map(|_| self.fresh()).collect();
                if let Some(first) = nodes.first() {
                    head = first.clone();
                }
                nodes.push(Term::Iri(RDF_NIL.to_string()));
                for (i, item) in items.into_iter().enumerate() {
                    let object = self.object(item, graph)?;
                    self.push(&nodes[i], RDF_FIRST, object, graph);
                    self.push(&nodes[i], RDF_REST, nodes[i + 1].clone(), graph);
                }
                Ok(head)
            }
        }
    }

    fn push(&mut self, subject: &Term, predicate: &str, object: Term, graph: &Option<Term>) {
        self.quads.push(Quad {
            subject: subject.clone(),
            predicate: predicate.to_string(),
            object,
            graph: graph.clone(),
        });
    }
}

/// The processed top-level `@context`, cached by its JSON text.
fn top_level_context(context: &Value) -> R<Arc<Ctx>> {
    top_level_context_counted(context).map(|(ctx, _)| ctx)
}

fn top_level_context_counted(context: &Value) -> R<(Arc<Ctx>, usize)> {
    let key = context.to_string();
    if let Some(hit) = top_level_cache().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok((hit.clone(), 0));
    }
    let mut processor = Processor { work: 0 };
    let processed =
        processor.process(&Arc::new(Ctx::empty()), context, true, &ProcessFlags::DOCUMENT, &[])?;
    let mut cache = top_level_cache().lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= 256 {
        cache.clear();
    }
    cache.insert(key, processed.clone());
    Ok((processed, processor.work))
}

/// Expands `document` (whose top-level `@context` is `context`) and converts it to RDF quads,
/// or says why the reference implementation must do it.
pub fn to_quads(document: &Map<String, Value>, context: &Value) -> Result<Vec<Quad>, Bail> {
    let active = top_level_context(context)?;
    let mut expander = Expander { processor: Processor { work: 0 } };
    let items = expander.expand_object(&active, None, document, true)?;
    let mut emitter = Emitter { quads: Vec::new(), blank: 0 };
    for item in items {
        match item {
            Item::Node(node) => {
                if node.graph.is_some() {
                    return unsupported("a top-level @graph");
                }
                emitter.node(node, &None)?;
            }
            _ => return unsupported("a top-level value or list"),
        }
    }
    Ok(emitter.quads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_bundled_credential_contexts_cost_far_less_than_the_work_limit() {
        let context = json!([contexts::CREDENTIALS_V2, contexts::OB_V3P0_3_0_3]);
        // Other tests may have cached it; a fresh copy of the text defeats the cache.
        let mut fresh = context.as_array().unwrap().clone();
        fresh.push(json!({"@version": 1.1}));
        let (_, work) = top_level_context_counted(&Value::Array(fresh)).unwrap();
        assert!(work > 100 && work < WORK_LIMIT / 20, "context work {work}");
    }

    #[test]
    fn a_context_that_makes_processing_quadratic_is_refused_not_run() {
        // 2,000 terms, each with a scoped context: validating each copies the growing context.
        let mut local = serde_json::Map::new();
        for i in 0..2000 {
            let scoped: serde_json::Map<String, Value> =
                (0..50).map(|j| (format!("s{j}"), json!(format!("https://example.com/s{j}")))).collect();
            local.insert(
                format!("t{i}"),
                json!({"@id": format!("https://example.com/t{i}"), "@context": scoped}),
            );
        }
        let document = json!({"t0": "x"});
        let started = std::time::Instant::now();
        let result = to_quads(document.as_object().unwrap(), &Value::Object(local));
        assert_eq!(result.map(|q| q.len()), Err(Bail::TooComplex));
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    }
}
