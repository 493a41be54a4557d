//! Runs JSON-LD expansion + toRdf of the bench credential in a loop, for `perf record`.
fn main() {
    let credential: serde_json::Value =
        serde_json::from_str(include_str!("../benches/typical-credential.json")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    for _ in 0..n {
        rt.block_on(laurel::jsonld::to_quads(&credential)).unwrap();
    }
}
