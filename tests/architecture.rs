//! The crate's layering, checked mechanically: data flows one way
//! (`cli`/`http` -> `service` -> `credential`/`status`/`did` -> `jsonld`/`fetch`/`store` ->
//! `codec`/`keys`), and no two top-level modules use each other, directly or round a loop.
//!
//! How: a plain text scan of `src/**/*.rs` (no parser, no extra crate, no network). Every
//! `crate::NAME` in code (comment lines are skipped; `use crate::{a, b::c}` groups count each
//! name) is an edge from the top-level module the file belongs to (`src/NAME.rs` or
//! `src/NAME/**`) to `NAME`. References between top-level modules must therefore be spelled
//! `crate::...`, which is the crate's convention (`super::` stays inside a folder). The test
//! fails when a module is missing from [`LAYERS`], when a module uses one in a higher layer, or
//! when the graph has a cycle (the message names the loop).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and its layer. A module may use modules in its own layer or below.
/// A new module is added here with the layer its `mod.rs` doc comment claims.
const LAYERS: &[(&str, u8)] = &[
    // 0 foundation: uses nothing in the crate.
    ("codec", 0),
    ("keys", 0),
    // 1 infrastructure: JSON-LD and RDF, the network, persistence.
    ("jsonld", 1),
    ("fetch", 1),
    ("store", 1),
    // 2 domain: DIDs, status lists, credentials (credential -> status -> did).
    ("did", 2),
    ("status", 2),
    ("credential", 2),
    ("program", 2),
    ("oid4vci", 2),
    // 3 the operations both edges call.
    ("service", 3),
    // 4 edges.
    ("http", 4),
    ("cli", 4),
    ("web", 4),
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn layer_of(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(name, _)| *name == module).map(|(_, layer)| *layer)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to; `None` for the crate root and the binary.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        name => Some(name.trim_end_matches(".rs").to_string()),
    }
}

fn identifier_at(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// The top-level module names a text refers to as `crate::NAME`, comment lines skipped.
fn crate_references(text: &str) -> BTreeSet<String> {
    let code: String =
        text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut names = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        // `crate::` must start a path, not end another identifier (`my_crate::x`).
        let preceded_by_ident =
            rest[..at].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_ident {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::{c, d}, e}`: the names at the group's top level.
            let mut depth = 1usize;
            let mut expect_name = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => expect_name = true,
                    c if depth == 1 && expect_name && (c.is_ascii_alphabetic() || c == '_') => {
                        names.insert(identifier_at(&group[i..]).to_string());
                        expect_name = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = identifier_at(rest);
            if !name.is_empty() {
                names.insert(name.to_string());
            }
        }
    }
    names
}

/// Top-level module -> the other top-level modules it names, from the files under `src`.
fn module_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let Some(module) = top_module(src, &file) else { continue };
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let used = graph.entry(module.clone()).or_default();
        for name in crate_references(&text) {
            if name != module {
                used.insert(name);
            }
        }
    }
    graph
}

/// One cycle in the graph, as the list of modules round the loop (first repeated at the end).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn crate_graph() -> Graph {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.len() >= LAYERS.len(), "the scan found only {:?}", graph.keys().collect::<Vec<_>>());
    graph
}

#[test]
fn every_module_has_a_layer() {
    let graph = crate_graph();
    let mut unknown: BTreeSet<&str> = BTreeSet::new();
    for (module, used) in &graph {
        for name in std::iter::once(module).chain(used) {
            if layer_of(name).is_none() {
                unknown.insert(name);
            }
        }
    }
    assert!(unknown.is_empty(), "modules missing from LAYERS in tests/architecture.rs: {unknown:?}");
}

#[test]
fn modules_use_only_their_layer_or_below() {
    let graph = crate_graph();
    let mut upward = Vec::new();
    for (module, used) in &graph {
        let Some(own) = layer_of(module) else { continue };
        for name in used {
            if let Some(theirs) = layer_of(name).filter(|theirs| *theirs > own) {
                upward.push(format!("{module} (layer {own}) uses {name} (layer {theirs})"));
            }
        }
    }
    assert!(upward.is_empty(), "imports against the data flow:\n{}", upward.join("\n"));
}

#[test]
fn no_cycle_between_top_level_modules() {
    let graph = crate_graph();
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle between top-level modules: {}", cycle.join(" -> "));
    }
}

// The checker checks itself: a planted cycle and grouped imports must be seen.

#[test]
fn cycle_detector_finds_a_planted_cycle() {
    let mut graph = Graph::new();
    for (from, to) in [("credential", "status"), ("status", "did"), ("did", "fetch"), ("fetch", "credential")]
    {
        graph.entry(from.into()).or_default().insert(to.into());
    }
    graph.entry("service".into()).or_default().insert("credential".into());
    let cycle = find_cycle(&graph).expect("the planted cycle");
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 5, "{cycle:?}");
    graph.get_mut("fetch").unwrap().clear();
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn scanner_reads_paths_groups_and_skips_comments() {
    let text = "use crate::codec::json;\nuse crate::{did::{self, X}, status};\n\
                // use crate::http;\n/// [`crate::cli`]\nlet x = crate::store::open();\nuse my_crate::fetch;\n";
    let names: Vec<String> = crate_references(text).into_iter().collect();
    assert_eq!(names, ["codec", "did", "status", "store"]);
}
