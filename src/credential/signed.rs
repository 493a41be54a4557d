//! What a Data Integrity signature covers, read back from the signed RDF, and compared with the
//! JSON keys the checks read.
//!
//! A Data Integrity proof signs the RDF a document expands to, not its JSON. The checks
//! (issuer binding, status, validity period, type, recipient and holder) read JSON keys such as
//! `credentialStatus` and `validUntil`; an added context can rename a key (`"cs"` for
//! `credentialStatus`), and a keyword can replace an alias (`"@id"` for `"id"`), without changing
//! one signed quad. So the JSON the checks read must say exactly what was signed: this module
//! derives each checked property of the top-level node from the quads and from the JSON keys the
//! checks read, and reports every disagreement. A document with any disagreement is refused
//! (the verifier turns each into an error), which makes "the checks read the JSON" and "the
//! checks read the signed data" the same statement.
//!
//! Uses only `canon` (the quad types); knows the VC 1.1/2.0, Bitstring Status List and OB 3.0
//! IRIs of the checked properties.

use std::collections::HashMap;

use serde_json::Value;

use crate::jsonld::canon::{Quad, Term};

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const CRED: &str = "https://www.w3.org/2018/credentials#";

/// Which top-level node the document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopLevel {
    Credential,
    Presentation,
}

impl TopLevel {
    fn type_name(self) -> &'static str {
        match self {
            TopLevel::Credential => "VerifiableCredential",
            TopLevel::Presentation => "VerifiablePresentation",
        }
    }
}

/// The standard names of the types the checks act on, with the IRI each must expand to.
const CHECKED_TYPES: &[(&str, &str)] = &[
    ("VerifiableCredential", "https://www.w3.org/2018/credentials#VerifiableCredential"),
    ("VerifiablePresentation", "https://www.w3.org/2018/credentials#VerifiablePresentation"),
    ("OpenBadgeCredential", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential"),
    ("AchievementCredential", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential"),
    ("EndorsementCredential", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#EndorsementCredential"),
    (
        "BitstringStatusListCredential",
        "https://www.w3.org/ns/credentials/status#BitstringStatusListCredential",
    ),
    ("BitstringStatusListEntry", "https://www.w3.org/ns/credentials/status#BitstringStatusListEntry"),
];

/// Properties of the top-level node read as node references (`@type: @id` in the contexts).
/// (`credentialSubject` is compared with its identifiers, in `compare_subjects`.)
const NODE_PROPERTIES: &[&str] = &["issuer", "holder"];
/// Properties of the top-level node read as date-time literals.
const DATE_PROPERTIES: &[&str] = &["validFrom", "validUntil", "issuanceDate", "expirationDate"];
/// Fields of a status entry the status check reads (same local names in the Bitstring Status
/// List and the older StatusList2021 vocabularies).
const STATUS_FIELDS: &[&str] = &["statusPurpose", "statusListIndex", "statusListCredential", "statusSize"];

/// A value as both sides see it: an IRI or literal text, a blank node, or something the checks
/// cannot read (a JSON value object, a number where a string belongs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    Text(String),
    Blank,
    Unreadable(String),
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seen::Text(t) => write!(f, "{t:?}"),
            Seen::Blank => f.write_str("a node without id"),
            Seen::Unreadable(what) => write!(f, "{what}"),
        }
    }
}

fn show(values: &[Seen]) -> String {
    if values.is_empty() {
        return "nothing".into();
    }
    values.iter().map(Seen::to_string).collect::<Vec<_>>().join(", ")
}

/// The default graph indexed by subject.
struct Graph<'q> {
    by_subject: HashMap<&'q Term, Vec<(&'q str, &'q Term)>>,
    objects: std::collections::HashSet<&'q Term>,
}

impl<'q> Graph<'q> {
    fn new(quads: &'q [Quad]) -> Graph<'q> {
        let mut by_subject: HashMap<&Term, Vec<(&str, &Term)>> = HashMap::new();
        let mut objects = std::collections::HashSet::new();
        for quad in quads.iter().filter(|q| q.graph.is_none()) {
            by_subject.entry(&quad.subject).or_default().push((quad.predicate.as_str(), &quad.object));
            objects.insert(&quad.object);
        }
        Graph { by_subject, objects }
    }

    fn values(&self, node: &Term, predicate: &str) -> Vec<&'q Term> {
        self.by_subject
            .get(node)
            .map(|edges| edges.iter().filter(|(p, _)| *p == predicate).map(|(_, o)| *o).collect())
            .unwrap_or_default()
    }

    /// Values of the first predicate whose IRI ends with `#local` (several vocabularies share
    /// local names; a document uses one).
    fn values_by_local_name(&self, node: &Term, local: &str) -> Vec<&'q Term> {
        let suffix = format!("#{local}");
        self.by_subject
            .get(node)
            .map(|edges| edges.iter().filter(|(p, _)| p.ends_with(&suffix)).map(|(_, o)| *o).collect())
            .unwrap_or_default()
    }

    fn has_type(&self, node: &Term, iri: &str) -> bool {
        self.values(node, RDF_TYPE).iter().any(|t| matches!(t, Term::Iri(i) if i == iri))
    }
}

fn seen_in_rdf(term: &Term) -> Seen {
    match term {
        Term::Iri(iri) => Seen::Text(iri.clone()),
        Term::Blank(_) => Seen::Blank,
        Term::Literal { value, .. } => Seen::Text(value.clone()),
    }
}

fn json_items(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items.iter().filter(|v| !v.is_null()).collect(),
        Some(one) => vec![one],
    }
}

/// A JSON value where the checks expect a node reference: an id string, or an object read by
/// its `id` key.
fn seen_as_node(value: &Value) -> Seen {
    match value {
        Value::String(id) => Seen::Text(id.clone()),
        Value::Object(map) => match map.get("id") {
            Some(Value::String(id)) => Seen::Text(id.clone()),
            None => Seen::Blank,
            Some(_) => Seen::Unreadable("an id that is not a string".into()),
        },
        _ => Seen::Unreadable(format!("the JSON value {value}")),
    }
}

/// A JSON value where the checks expect a string (a date, a status field).
fn seen_as_text(value: &Value) -> Seen {
    match value {
        Value::String(s) => Seen::Text(s.clone()),
        Value::Number(n) => Seen::Text(n.to_string()),
        Value::Bool(b) => Seen::Text(b.to_string()),
        _ => Seen::Unreadable(format!("the JSON value {value}")),
    }
}

fn sorted(mut values: Vec<Seen>) -> Vec<Seen> {
    values.sort();
    values
}

/// Every way the JSON keys the checks read differ from the signed quads of `document` (which
/// must be the quads of exactly this JSON, proof removed). Empty when they agree.
pub fn disagreements(document: &Value, quads: &[Quad], top: TopLevel) -> Vec<String> {
    let mut found = Vec::new();
    let type_iri = format!("{CRED}{}", top.type_name());
    let json_types: Vec<&str> =
        json_items(document.get("type")).into_iter().filter_map(Value::as_str).collect();
    if !json_types.contains(&top.type_name()) {
        // Not this kind of document by its JSON; the schema checks say so.
        return found;
    }
    let graph = Graph::new(quads);
    // The top-level node: the one the JSON `id` names, else the only unreferenced node of the
    // type. Any other unreferenced node of the type would be a second document in disguise.
    let roots: Vec<&Term> = graph
        .by_subject
        .keys()
        .copied()
        .filter(|node| graph.has_type(node, &type_iri) && !graph.objects.contains(node))
        .collect();
    let node = match document.get("id") {
        Some(Value::String(id)) => {
            let wanted = Term::Iri(id.clone());
            match graph.by_subject.get_key_value(&wanted) {
                Some((node, _)) if graph.has_type(node, &type_iri) => *node,
                _ => {
                    found.push(format!("$.id: the signed data has no {} with id {id:?}", top.type_name()));
                    return found;
                }
            }
        }
        _ => match roots.as_slice() {
            [only] => *only,
            _ => {
                found.push(format!(
                    "$: the signed data has {} top-level {} nodes, the JSON one",
                    roots.len(),
                    top.type_name()
                ));
                return found;
            }
        },
    };
    if let Some(other) = roots.iter().find(|r| **r != node) {
        found.push(format!(
            "$: the signed data has a second top-level {} ({}) the JSON does not show as the document",
            top.type_name(),
            seen_in_rdf(other)
        ));
    }
    if document.get("id").is_none() && matches!(node, Term::Iri(_)) {
        found.push(format!("$.id: the JSON has no \"id\" but the signed document is {}", seen_in_rdf(node)));
    }

    compare_types(&graph, node, &json_types, "$.type", &mut found);
    for key in NODE_PROPERTIES {
        let signed =
            sorted(graph.values(node, &format!("{CRED}{key}")).into_iter().map(seen_in_rdf).collect());
        let shown = sorted(json_items(document.get(*key)).into_iter().map(seen_as_node).collect());
        if signed != shown {
            found.push(format!(
                "$.{key}: the JSON shows {} but the signed data has {}",
                show(&shown),
                show(&signed)
            ));
        }
    }
    for key in DATE_PROPERTIES {
        let signed =
            sorted(graph.values(node, &format!("{CRED}{key}")).into_iter().map(seen_in_rdf).collect());
        let shown = sorted(json_items(document.get(*key)).into_iter().map(seen_as_text).collect());
        // A date the JSON shows but the signed data holds under another IRI (a VC 1.1
        // `issuanceDate` left in a VC 2.0 credential, where @vocab takes it) only makes the
        // date checks stricter: they enforce it anyway. Hiding or changing a signed date is what
        // must never pass.
        if !signed.is_empty() && signed != shown {
            found.push(format!(
                "$.{key}: the JSON shows {} but the signed data has {}",
                show(&shown),
                show(&signed)
            ));
        }
    }
    compare_status(&graph, node, document.get("credentialStatus"), &mut found);
    compare_subjects(&graph, node, document.get("credentialSubject"), &mut found);
    found
}

/// Each checked type the JSON names must be signed under its standard IRI, and each checked IRI
/// signed must be named in the JSON by a standard name.
fn compare_types(graph: &Graph, node: &Term, json_types: &[&str], path: &str, found: &mut Vec<String>) {
    let signed: Vec<&str> = graph
        .values(node, RDF_TYPE)
        .into_iter()
        .filter_map(|t| match t {
            Term::Iri(iri) => Some(iri.as_str()),
            _ => None,
        })
        .collect();
    for (name, iri) in CHECKED_TYPES {
        if json_types.contains(name) && !signed.contains(iri) {
            found.push(format!(
                "{path}: the JSON names the type {name} but the signed data does not have {iri}"
            ));
        }
    }
    for iri in &signed {
        let names: Vec<&str> = CHECKED_TYPES.iter().filter(|(_, i)| i == iri).map(|(n, _)| *n).collect();
        if !names.is_empty() && !names.iter().any(|n| json_types.contains(n)) {
            found.push(format!(
                "{path}: the signed data has the type {iri} but the JSON does not name it {}",
                names.join(" or ")
            ));
        }
    }
}

/// What the status check reads of one entry, as a comparable line.
fn status_fingerprint_json(entry: &Value) -> Vec<Seen> {
    let mut line = vec![seen_as_node(entry)];
    for field in STATUS_FIELDS {
        line.extend(json_items(entry.get(*field)).into_iter().map(seen_as_text));
        line.push(Seen::Unreadable("|".into()));
    }
    line
}

fn status_fingerprint_rdf(graph: &Graph, entry: &Term) -> Vec<Seen> {
    let mut line = vec![seen_in_rdf(entry)];
    for field in STATUS_FIELDS {
        line.extend(sorted(graph.values_by_local_name(entry, field).into_iter().map(seen_in_rdf).collect()));
        line.push(Seen::Unreadable("|".into()));
    }
    line
}

fn compare_status(graph: &Graph, node: &Term, json: Option<&Value>, found: &mut Vec<String>) {
    let signed_entries = graph.values(node, &format!("{CRED}credentialStatus"));
    let json_entries = json_items(json);
    if signed_entries.len() != json_entries.len() {
        found.push(format!(
            "$.credentialStatus: the JSON shows {} status entries but the signed data has {}",
            json_entries.len(),
            signed_entries.len()
        ));
        return;
    }
    let mut signed: Vec<Vec<Seen>> =
        signed_entries.iter().map(|e| status_fingerprint_rdf(graph, e)).collect();
    let mut shown: Vec<Vec<Seen>> = json_entries.iter().map(|e| status_fingerprint_json(e)).collect();
    signed.sort();
    shown.sort();
    if signed != shown {
        found.push(
            "$.credentialStatus: the entries' id, statusPurpose, statusListIndex, statusListCredential or statusSize in the JSON differ from the signed data"
                .into(),
        );
    }
    for (entry, json_entry) in signed_entries.iter().zip(json_entries) {
        let types: Vec<&str> =
            json_items(json_entry.get("type")).into_iter().filter_map(Value::as_str).collect();
        compare_types(graph, entry, &types, "$.credentialStatus.type", found);
    }
}

/// The recipient checks read each subject's `id` and its `identifier` hashes.
fn compare_subjects(graph: &Graph, node: &Term, json: Option<&Value>, found: &mut Vec<String>) {
    let subject_line_json = |subject: &Value| {
        let mut line = vec![seen_as_node(subject)];
        let identifiers = json_items(subject.get("identifier"));
        line.push(Seen::Text(format!("{} identifiers", identifiers.len())));
        line.extend(sorted(
            identifiers.iter().flat_map(|i| json_items(i.get("identityHash"))).map(seen_as_text).collect(),
        ));
        line
    };
    let subject_line_rdf = |subject: &Term| {
        let mut line = vec![seen_in_rdf(subject)];
        // By local name: OB 3.0 defines these, and other vocabularies' `identifier` must
        // count the same on both sides too.
        let identifiers = graph.values_by_local_name(subject, "identifier");
        line.push(Seen::Text(format!("{} identifiers", identifiers.len())));
        line.extend(sorted(
            identifiers
                .iter()
                .flat_map(|i| graph.values_by_local_name(i, "identityHash"))
                .map(seen_in_rdf)
                .collect(),
        ));
        line
    };
    let mut signed: Vec<Vec<Seen>> =
        graph.values(node, &format!("{CRED}credentialSubject")).into_iter().map(subject_line_rdf).collect();
    let mut shown: Vec<Vec<Seen>> = json_items(json).into_iter().map(subject_line_json).collect();
    signed.sort();
    shown.sort();
    if signed != shown {
        let show_lines = |lines: &[Vec<Seen>]| {
            lines.iter().map(|line| format!("[{}]", show(line))).collect::<Vec<_>>().join(", ")
        };
        found.push(format!(
            "$.credentialSubject: the JSON shows {} but the signed data has {} (subject id, identifiers, identity hashes)",
            show_lines(&shown),
            show_lines(&signed)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn disagreements_of(document: &Value) -> Vec<String> {
        let quads = crate::jsonld::fast_quads(document)
            .or_else(|_| reference_quads(document))
            .expect("the document expands");
        disagreements(document, &quads, TopLevel::Credential)
    }

    /// The json-ld crate path, for documents the fast path declines.
    fn reference_quads(document: &Value) -> Result<Vec<Quad>, crate::jsonld::expand::Bail> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        Ok(runtime.block_on(crate::jsonld::to_quads(document)).unwrap_or_else(|e| panic!("{e}")))
    }

    fn credential() -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:1",
            "type": ["VerifiableCredential"],
            "issuer": {"id": "did:example:issuer", "name": "Issuer"},
            "validUntil": "2030-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:subject"},
            "credentialStatus": {"id": "https://s.example/1#5", "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation", "statusListIndex": "5", "statusListCredential": "https://s.example/1"}
        })
    }

    #[test]
    fn a_plain_credential_shows_what_it_signs() {
        assert_eq!(disagreements_of(&credential()), Vec::<String>::new());
    }

    #[test]
    fn renamed_or_rewritten_checked_keys_are_found() {
        let mut renamed = credential();
        renamed["@context"].as_array_mut().unwrap().push(
            json!({"cs": {"@id": "https://www.w3.org/2018/credentials#credentialStatus", "@type": "@id"}}),
        );
        let status = renamed.as_object_mut().unwrap().remove("credentialStatus").unwrap();
        renamed["cs"] = status;
        assert!(disagreements_of(&renamed).iter().any(|d| d.starts_with("$.credentialStatus")));

        let mut at_id = credential();
        let subject = at_id["credentialSubject"].as_object_mut().unwrap();
        let id = subject.remove("id").unwrap();
        subject.insert("@id".into(), id);
        assert!(disagreements_of(&at_id).iter().any(|d| d.starts_with("$.credentialSubject")));

        let mut top_at_id = credential();
        let id = top_at_id.as_object_mut().unwrap().remove("id").unwrap();
        top_at_id["@id"] = id;
        assert!(disagreements_of(&top_at_id).iter().any(|d| d.starts_with("$.id")));
    }

    #[test]
    fn a_vc_1_1_date_left_in_a_vc_2_0_credential_is_not_a_disagreement() {
        // Another context (or @vocab) takes it: the date checks still read and enforce it,
        // which is only stricter.
        let mut leftover = credential();
        leftover["@context"]
            .as_array_mut()
            .unwrap()
            .push(json!({"issuanceDate": "https://example.org/vocab#issuanceDate"}));
        leftover["issuanceDate"] = json!("2010-01-01T00:00:00Z");
        assert_eq!(disagreements_of(&leftover), Vec::<String>::new());
    }
}
