//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/spec` (or `$LAUREL_SPEC_DIR`), if present. Tests that need it print a clear SKIP
/// line and return when it is absent; CI always has it.
pub fn spec_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("LAUREL_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP {test}: {} not found (set LAUREL_SPEC_DIR); this test did not run",
            dir.display()
        );
        None
    }
}

pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}
