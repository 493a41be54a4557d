//! `jsonld::to_quads` (the fast path, and the json-ld crate behind it) on arbitrary JSON, within
//! the verifier's own size and depth limits.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().expect("a runtime"))
}

fuzz_target!(|data: &[u8]| {
    let options = laurel::credential::verify::VerifyOptions::default();
    let Ok(document) = laurel::credential::verify::parse_json_limited(data, &options) else { return };
    let _ = runtime().block_on(laurel::jsonld::to_quads(&document));
});
