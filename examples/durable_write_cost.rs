//! Measures what an acknowledged write costs: sled insert + flush alone, and Laurel's
//! `insert_credential` (transaction + flush + fsync of every database file).
use std::time::Instant;

use laurel::store::{CredentialRecord, SledStore, Store};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let n = 500;
    let dir = std::env::temp_dir().join(format!("laurel-cost-{}", std::process::id()));
    let raw = sled::open(dir.join("raw")).unwrap();
    let mut flush_only = Vec::new();
    for i in 0..n {
        let start = Instant::now();
        raw.insert(format!("k{i}"), vec![7u8; 2000]).unwrap();
        raw.flush().unwrap();
        flush_only.push(start.elapsed().as_secs_f64() * 1e6);
    }
    let store = SledStore::open(&dir.join("laurel")).unwrap();
    let mut durable = Vec::new();
    for i in 0..n {
        let record = CredentialRecord {
            id: format!("urn:cost:{i}"),
            issued_at: "2026-01-01T00:00:00Z".into(),
            format: "eddsa-rdfc-2022".into(),
            issuer: "did:key:z".into(),
            recipient: None,
            credential: serde_json::json!({"pad": "x".repeat(2000)}),
            status: None,
        };
        let start = Instant::now();
        store.insert_credential(&record).unwrap();
        durable.push(start.elapsed().as_secs_f64() * 1e6);
    }
    let mut allocate = Vec::new();
    for i in 0..n {
        let start = Instant::now();
        store.allocate_status_index("issuer", "revocation", 131_072, &format!("urn:cost:{i}")).unwrap();
        allocate.push(start.elapsed().as_secs_f64() * 1e6);
    }
    println!("sled insert + flush: median {:.0} µs", median(flush_only));
    println!(
        "insert_credential (transaction + flush + fsync of what changed): median {:.0} µs",
        median(durable)
    );
    let _ = std::fs::remove_dir_all(dir);
    println!("status index allocation (committed, not synced): median {:.1} µs", median(allocate));
}
