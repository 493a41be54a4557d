//! RDF datasets and RDF Dataset Canonicalization (RDFC-1.0), with a work bound for hostile graphs.
//!
//! Our own implementation rather than ssi's: ssi's canonicalizer has no bound, so a poison graph
//! (a blank-node clique) makes it run for minutes. Here every call to Hash N-Degree Quads and every
//! permutation it tries counts against a budget; exceeding it is an error, not a hang.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

pub const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
pub const RDF_LANG_STRING: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString";

/// An RDF term. Blank node labels are stored without the `_:` prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    Iri(String),
    Blank(String),
    Literal { value: String, datatype: String, language: Option<String> },
}

/// One RDF quad; `graph` is `None` for the default graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quad {
    pub subject: Term,
    pub predicate: String,
    pub object: Term,
    pub graph: Option<Term>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CanonError {
    #[error("RDF canonicalization gave up after {0} steps: the graph's blank nodes are too symmetric (a poison graph?)")]
    TooComplex(u64),
    #[error("the dataset has {0} blank nodes, more than the limit of {1}")]
    TooManyBlankNodes(usize, usize),
}

/// Bounds on the work canonicalization may do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum Hash N-Degree Quads calls plus permutations examined.
    pub max_steps: u64,
    pub max_blank_nodes: usize,
    /// Wall-clock bound, checked with the step count (hostile graphs make steps expensive).
    pub max_duration: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        // A real credential needs a handful of steps; the hardest legitimate cases of the
        // RDFC-1.0 test suite (the "computable poison" graphs) a few thousand. A 10-node clique
        // needs millions.
        Self {
            max_steps: 10_000,
            max_blank_nodes: 10_000,
            max_duration: std::time::Duration::from_millis(50),
        }
    }
}

fn write_term(out: &mut String, term: &Term, blank: &dyn Fn(&str) -> String) {
    match term {
        Term::Iri(iri) => {
            out.push('<');
            out.push_str(iri);
            out.push('>');
        }
        Term::Blank(label) => {
            out.push_str("_:");
            out.push_str(&blank(label));
        }
        Term::Literal { value, datatype, language } => {
            out.push('"');
            escape_literal(out, value);
            out.push('"');
            if let Some(lang) = language {
                out.push('@');
                out.push_str(lang);
            } else if datatype != XSD_STRING {
                out.push_str("^^<");
                out.push_str(datatype);
                out.push('>');
            }
        }
    }
}

/// Canonical N-Quads string escaping (RDFC-1.0 §4.1 / N-Triples canonical form).
fn escape_literal(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Serializes one quad as an N-Quads line (with the trailing newline), relabelling blank nodes.
pub fn quad_to_nquad(quad: &Quad, blank: &dyn Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(128);
    write_term(&mut out, &quad.subject, blank);
    out.push_str(" <");
    out.push_str(&quad.predicate);
    out.push_str("> ");
    write_term(&mut out, &quad.object, blank);
    if let Some(graph) = &quad.graph {
        out.push(' ');
        write_term(&mut out, graph, blank);
    }
    out.push_str(" .\n");
    out
}

fn sha256_hex(data: &str) -> String {
    hex::encode(Sha256::digest(data.as_bytes()))
}

/// Issues identifiers with a prefix and a counter, remembering the order of issue.
#[derive(Clone, Debug)]
struct IdIssuer {
    prefix: &'static str,
    issued: HashMap<String, String>,
    order: Vec<String>,
}

impl IdIssuer {
    fn new(prefix: &'static str) -> Self {
        Self { prefix, issued: HashMap::new(), order: Vec::new() }
    }
    fn issue(&mut self, existing: &str) -> String {
        if let Some(id) = self.issued.get(existing) {
            return id.clone();
        }
        let id = format!("{}{}", self.prefix, self.order.len());
        self.issued.insert(existing.to_string(), id.clone());
        self.order.push(existing.to_string());
        id
    }
    fn get(&self, existing: &str) -> Option<&String> {
        self.issued.get(existing)
    }
}

struct State<'a> {
    quads: &'a [Quad],
    /// blank node label -> indices of the quads mentioning it
    blank_quads: HashMap<&'a str, Vec<usize>>,
    first_degree: HashMap<&'a str, String>,
    canonical: IdIssuer,
    steps: u64,
    limits: Limits,
    started: std::time::Instant,
}

fn blank_label(term: &Term) -> Option<&str> {
    match term {
        Term::Blank(label) => Some(label),
        _ => None,
    }
}

fn quad_blanks(quad: &Quad) -> impl Iterator<Item = &str> {
    [Some(&quad.subject), Some(&quad.object), quad.graph.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(blank_label)
}

impl<'a> State<'a> {
    fn tick(&mut self) -> Result<(), CanonError> {
        self.steps += 1;
        let out_of_time = self.steps.is_multiple_of(64) && self.started.elapsed() > self.limits.max_duration;
        if self.steps > self.limits.max_steps || out_of_time {
            Err(CanonError::TooComplex(self.steps))
        } else {
            Ok(())
        }
    }

    fn hash_first_degree(&self, reference: &str) -> String {
        let mut lines: Vec<String> = self.blank_quads[reference]
            .iter()
            .map(|&i| {
                quad_to_nquad(&self.quads[i], &|label| {
                    if label == reference {
                        "a".into()
                    } else {
                        "z".into()
                    }
                })
            })
            .collect();
        lines.sort_unstable();
        sha256_hex(&lines.concat())
    }

    fn hash_related(&self, related: &str, quad: &Quad, issuer: &IdIssuer, position: char) -> String {
        let identifier = if let Some(id) = self.canonical.get(related) {
            format!("_:{id}")
        } else if let Some(id) = issuer.get(related) {
            format!("_:{id}")
        } else {
            self.first_degree[related].clone()
        };
        let mut input = String::with_capacity(96);
        input.push(position);
        if position != 'g' {
            input.push('<');
            input.push_str(&quad.predicate);
            input.push('>');
        }
        input.push_str(&identifier);
        sha256_hex(&input)
    }

    fn hash_n_degree(
        &mut self,
        identifier: &str,
        issuer: IdIssuer,
    ) -> Result<(String, IdIssuer), CanonError> {
        self.tick()?;
        let mut issuer = issuer;
        let mut related_by_hash: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for &i in &self.blank_quads[identifier] {
            let quad = &self.quads[i];
            let positions =
                [('s', Some(&quad.subject)), ('o', Some(&quad.object)), ('g', quad.graph.as_ref())];
            for (position, term) in positions {
                if let Some(related) = term.and_then(blank_label) {
                    if related != identifier {
                        let hash = self.hash_related(related, quad, &issuer, position);
                        related_by_hash.entry(hash).or_default().push(related.to_string());
                    }
                }
            }
        }
        let mut data_to_hash = String::new();
        for (related_hash, blank_nodes) in related_by_hash {
            data_to_hash.push_str(&related_hash);
            let mut chosen_path = String::new();
            let mut chosen_issuer: Option<IdIssuer> = None;
            let mut permutation = blank_nodes.clone();
            permutation.sort();
            let mut more = true;
            while more {
                self.tick()?;
                'permutation: {
                    let mut issuer_copy = issuer.clone();
                    let mut path = String::new();
                    let mut recursion = Vec::new();
                    for related in &permutation {
                        if let Some(id) = self.canonical.get(related) {
                            path.push_str("_:");
                            path.push_str(id);
                        } else {
                            if issuer_copy.get(related).is_none() {
                                recursion.push(related.clone());
                            }
                            path.push_str("_:");
                            path.push_str(&issuer_copy.issue(related));
                        }
                        if !chosen_path.is_empty() && path.len() >= chosen_path.len() && path > chosen_path {
                            break 'permutation;
                        }
                    }
                    for related in recursion {
                        let (hash, result_issuer) = self.hash_n_degree(&related, issuer_copy.clone())?;
                        path.push_str("_:");
                        path.push_str(&issuer_copy.issue(&related));
                        path.push('<');
                        path.push_str(&hash);
                        path.push('>');
                        issuer_copy = result_issuer;
                        if !chosen_path.is_empty() && path.len() >= chosen_path.len() && path > chosen_path {
                            break 'permutation;
                        }
                    }
                    if chosen_path.is_empty() || path < chosen_path {
                        chosen_path = path;
                        chosen_issuer = Some(issuer_copy);
                    }
                }
                more = next_permutation(&mut permutation);
            }
            data_to_hash.push_str(&chosen_path);
            if let Some(chosen) = chosen_issuer {
                issuer = chosen;
            }
        }
        Ok((sha256_hex(&data_to_hash), issuer))
    }
}

/// Lexicographic next permutation; false when `items` was the last one.
fn next_permutation(items: &mut [String]) -> bool {
    if items.len() < 2 {
        return false;
    }
    let mut i = items.len() - 1;
    while i > 0 && items[i - 1] >= items[i] {
        i -= 1;
    }
    if i == 0 {
        return false;
    }
    let mut j = items.len() - 1;
    while items[j] <= items[i - 1] {
        j -= 1;
    }
    items.swap(i - 1, j);
    items[i..].reverse();
    true
}

/// Computes the canonical blank node labels (RDFC-1.0 §4.4): original label -> `c14nN`.
pub fn canonical_labels(quads: &[Quad], limits: Limits) -> Result<HashMap<String, String>, CanonError> {
    let mut blank_quads: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, quad) in quads.iter().enumerate() {
        for label in quad_blanks(quad) {
            let entry = blank_quads.entry(label).or_default();
            if entry.last() != Some(&i) {
                entry.push(i);
            }
        }
    }
    if blank_quads.len() > limits.max_blank_nodes {
        return Err(CanonError::TooManyBlankNodes(blank_quads.len(), limits.max_blank_nodes));
    }
    let mut state = State {
        quads,
        blank_quads,
        first_degree: HashMap::new(),
        canonical: IdIssuer::new("c14n"),
        steps: 0,
        limits,
        started: std::time::Instant::now(),
    };
    let mut by_hash: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let labels: Vec<&str> = state.blank_quads.keys().copied().collect();
    for label in labels {
        let hash = state.hash_first_degree(label);
        state.first_degree.insert(label, hash.clone());
        by_hash.entry(hash).or_default().push(label);
    }
    let mut shared = Vec::new();
    for (hash, nodes) in by_hash {
        if nodes.len() == 1 {
            state.canonical.issue(nodes[0]);
        } else {
            shared.push((hash, nodes));
        }
    }
    for (_, mut nodes) in shared {
        nodes.sort_unstable();
        let mut results = Vec::new();
        for node in nodes {
            if state.canonical.get(node).is_some() {
                continue;
            }
            let mut temporary = IdIssuer::new("b");
            temporary.issue(node);
            results.push(state.hash_n_degree(node, temporary)?);
        }
        results.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, issuer) in results {
            for existing in &issuer.order {
                state.canonical.issue(existing);
            }
        }
    }
    Ok(state.canonical.issued)
}

/// Canonicalizes a dataset to sorted canonical N-Quads (RDFC-1.0 with SHA-256).
pub fn canonicalize(quads: &[Quad], limits: Limits) -> Result<String, CanonError> {
    let labels = canonical_labels(quads, limits)?;
    let relabel = |label: &str| labels.get(label).cloned().unwrap_or_else(|| label.to_string());
    let mut lines: Vec<String> = quads.iter().map(|q| quad_to_nquad(q, &relabel)).collect();
    lines.sort_unstable();
    lines.dedup();
    Ok(lines.concat())
}

/// An N-Quads syntax error, with its line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("N-Quads line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn skip_space(&mut self) {
        while self.text[self.at..].starts_with([' ', '\t']) {
            self.at += 1;
        }
    }
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }
    fn iri(&mut self) -> Result<String, String> {
        let rest = self.rest();
        let end = rest.find('>').ok_or("unterminated IRI")?;
        let iri = unescape(&rest[1..end])?;
        self.at += end + 1;
        Ok(iri)
    }
    fn blank(&mut self) -> Result<String, String> {
        let rest = &self.rest()[2..];
        let len = rest.find(|c: char| c.is_whitespace() || c == '<' || c == '"').unwrap_or(rest.len());
        let label = rest[..len].trim_end_matches('.');
        if label.is_empty() {
            return Err("empty blank node label".into());
        }
        self.at += 2 + label.len();
        Ok(label.to_string())
    }
    fn term(&mut self) -> Result<Term, String> {
        self.skip_space();
        let rest = self.rest();
        if rest.starts_with('<') {
            Ok(Term::Iri(self.iri()?))
        } else if rest.starts_with("_:") {
            Ok(Term::Blank(self.blank()?))
        } else if rest.starts_with('"') {
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            if i >= bytes.len() {
                return Err("unterminated literal".into());
            }
            let value = unescape(&rest[1..i])?;
            self.at += i + 1;
            let rest = self.rest();
            if let Some(tag) = rest.strip_prefix('@') {
                let len = tag.find(|c: char| c.is_whitespace()).unwrap_or(tag.len());
                self.at += 1 + len;
                return Ok(Term::Literal {
                    value,
                    datatype: RDF_LANG_STRING.into(),
                    language: Some(tag[..len].to_string()),
                });
            }
            if rest.starts_with("^^") {
                self.at += 2;
                let datatype = self.iri()?;
                return Ok(Term::Literal { value, datatype, language: None });
            }
            Ok(Term::Literal { value, datatype: XSD_STRING.into(), language: None })
        } else {
            Err(format!("unexpected {:?}", rest.chars().next()))
        }
    }
}

fn unescape(text: &str) -> Result<String, String> {
    if !text.contains('\\') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('b') => out.push('\u{8}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('\\') => out.push('\\'),
            Some(kind @ ('u' | 'U')) => {
                let width = if kind == 'u' { 4 } else { 8 };
                let hex: String = chars.by_ref().take(width).collect();
                let code = u32::from_str_radix(&hex, 16).map_err(|_| format!("bad escape \\{kind}{hex}"))?;
                out.push(char::from_u32(code).ok_or_else(|| format!("bad code point {hex}"))?);
            }
            other => return Err(format!("bad escape \\{}", other.map(String::from).unwrap_or_default())),
        }
    }
    Ok(out)
}

/// Parses an N-Quads document (one quad per line; comments and blank lines skipped).
pub fn parse_nquads(text: &str) -> Result<Vec<Quad>, ParseError> {
    let mut quads = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let error = |message: String| ParseError { line: number + 1, message };
        let mut cursor = Cursor { text: trimmed, at: 0 };
        let subject = cursor.term().map_err(error)?;
        cursor.skip_space();
        let predicate = match cursor.term().map_err(error)? {
            Term::Iri(iri) => iri,
            _ => return Err(error("the predicate must be an IRI".into())),
        };
        let object = cursor.term().map_err(error)?;
        cursor.skip_space();
        let graph = if cursor.rest().starts_with('.') { None } else { Some(cursor.term().map_err(error)?) };
        cursor.skip_space();
        if !cursor.rest().starts_with('.') {
            return Err(error("missing the final '.'".into()));
        }
        quads.push(Quad { subject, predicate, object, graph });
    }
    Ok(quads)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(label: &str) -> Term {
        Term::Blank(label.into())
    }

    fn edge(s: &str, o: &str) -> Quad {
        Quad { subject: blank(s), predicate: "http://example.org/p".into(), object: blank(o), graph: None }
    }

    #[test]
    fn relabels_a_simple_chain_deterministically() {
        let a = vec![edge("x", "y"), edge("y", "z")];
        let b = vec![edge("q", "r"), edge("r", "s")];
        assert_eq!(
            canonicalize(&a, Limits::default()).unwrap(),
            canonicalize(&b, Limits::default()).unwrap()
        );
    }

    #[test]
    fn symmetric_graphs_canonicalize_identically_whatever_the_labels() {
        // Two disjoint 2-cycles: all nodes share their first-degree hash, exercising N-degree hashing.
        let a = vec![edge("a", "b"), edge("b", "a"), edge("c", "d"), edge("d", "c")];
        let b = vec![edge("w", "x"), edge("x", "w"), edge("y", "z"), edge("z", "y")];
        let ca = canonicalize(&a, Limits::default()).unwrap();
        assert_eq!(ca, canonicalize(&b, Limits::default()).unwrap());
        assert!(ca.contains("_:c14n3"));
    }

    #[test]
    fn a_clique_is_refused_quickly() {
        let n = 10;
        let mut quads = Vec::new();
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    quads.push(edge(&format!("n{i}"), &format!("n{j}")));
                }
            }
        }
        let start = std::time::Instant::now();
        let result = canonicalize(&quads, Limits::default());
        assert!(matches!(result, Err(CanonError::TooComplex(_))), "{result:?}");
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn n_quads_round_trip_through_the_parser() {
        let text = "<http://e/s> <http://e/p> \"a\\\"b\\nc\"@en <http://e/g> .\n_:b0 <http://e/p> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n_:b0 <http://e/q> _:b1 .\n";
        let quads = parse_nquads(text).unwrap();
        assert_eq!(quads.len(), 3);
        let again: String = quads.iter().map(|q| quad_to_nquad(q, &|l| l.to_string())).collect();
        assert_eq!(again, text);
        assert!(parse_nquads("<a> <b> .").is_err());
    }

    #[test]
    fn literal_escaping_follows_canonical_n_quads() {
        let quad = Quad {
            subject: Term::Iri("http://e/s".into()),
            predicate: "http://e/p".into(),
            object: Term::Literal {
                value: "a\"b\\c\nd\re".into(),
                datatype: XSD_STRING.into(),
                language: None,
            },
            graph: None,
        };
        assert_eq!(
            quad_to_nquad(&quad, &|l| l.to_string()),
            "<http://e/s> <http://e/p> \"a\\\"b\\\\c\\nd\\re\" .\n"
        );
    }
}
