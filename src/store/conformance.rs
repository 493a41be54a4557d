//! The `Store` guarantees, written once and run against every implementation.
//!
//! Each function takes a fresh, empty store and panics (with the guarantee it checks) when the
//! store breaks it. sled runs the suite in its unit tests (`store::sled::tests`); a new backend
//! calls [`run_all`] with an empty store and [`run_durability`] with a way to reopen one, from its
//! own tests or, with the `conformance` feature, from an integration test.
//!
//! What is not here, because no generic test can show it: that a write is on disk before the
//! call returns (sled's test kills the process mid-write: `tests/status.rs`), and a backend's own
//! corruption handling.

use serde_json::{json, Map, Value};

use super::{AuditEntry, Batch, CredentialRecord, Store, StoreError};
use crate::keys::{KeyError, KeyPair, KeyType};

/// Every guarantee that needs only one open store. `store` must be empty.
pub fn run_all(store: &dyn Store) {
    meta_reads_what_was_written(store);
    credentials_read_back_in_issue_order(store);
    a_duplicate_credential_is_refused_and_changes_nothing(store);
    keys_read_back_by_name_did_and_method(store);
    profiles_and_images_read_back(store);
    status_allocation_never_hands_out_an_index_twice(store);
    concurrent_allocations_never_share_an_index(store);
    status_flips_return_the_previous_bit_and_are_audited(store);
    a_failed_flip_writes_neither_bit_nor_audit(store);
    a_cached_list_is_served_only_for_its_fingerprint(store);
    audited_meta_writes_both(store);
    documents_insert_once_list_by_kind_and_delete(store);
}

fn documents_insert_once_list_by_kind_and_delete(store: &dyn Store) {
    let entry = || audit("document", "conformance");
    assert_eq!(store.get_document("rule", "r1").expect("get"), None);
    assert!(
        store.insert_document("rule", "r1", &json!({"n": 1}), &entry()).expect("insert"),
        "a new id is inserted"
    );
    let before = audit_len(store);
    assert!(
        !store.insert_document("rule", "r1", &json!({"n": 2}), &entry()).expect("insert"),
        "a taken id is not"
    );
    assert_eq!(
        store.get_document("rule", "r1").expect("get"),
        Some(json!({"n": 1})),
        "the first insert stays"
    );
    assert_eq!(audit_len(store), before, "a refused insert writes no audit entry");
    store.put_document("rule", "r2", &json!({"n": 3}), &entry()).expect("put");
    store.put_document("rules", "r9", &json!({"other kind": true}), &entry()).expect("put");
    store.put_document("rule", "r1", &json!({"n": 4}), &entry()).expect("put replaces");
    let listed = store.list_documents("rule").expect("list");
    assert_eq!(listed, vec![("r1".into(), json!({"n": 4})), ("r2".into(), json!({"n": 3}))], "one kind only");
    assert!(store.delete_document("rule", "r2", &entry()).expect("delete"));
    assert!(!store.delete_document("rule", "r2", &entry()).expect("delete again"), "nothing to delete");
    assert_eq!(store.list_documents("rule").expect("list").len(), 1);
    assert_eq!(store.count_documents("rule").expect("count"), 1, "a count agrees with the list");
    // Concurrent inserts of one id: exactly one wins.
    let wins = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for n in 0..8 {
            let wins = &wins;
            scope.spawn(move || {
                if store
                    .insert_document("event", "same", &json!({"by": n}), &audit("event", "same"))
                    .expect("insert")
                {
                    wins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(wins.into_inner(), 1, "of concurrent inserts of one id, exactly one wins");
    // Several documents move together, or not at all.
    let (doc, marker) = (json!({"state": "pending"}), json!({}));
    let mut queue = Batch { insert_only: true, ..Batch::default() };
    queue.put("job", "j1", doc);
    queue.put("queue", "j1", marker.clone());
    assert!(
        store.commit(&queue, &entry()).expect("write"),
        "a new job and its queue marker are written together"
    );
    let mut again = Batch { insert_only: true, ..Batch::default() };
    again.put("queue", "j2", marker);
    again.put("job", "j1", json!({"other": 1}));
    assert!(!store.commit(&again, &entry()).expect("write"), "a taken id (in any place) writes nothing");
    assert_eq!(store.get_document("queue", "j2").expect("get"), None, "not even the other documents");
    // A job done, dequeued and its credential stored in one write; a taken credential id
    // writes nothing at all.
    let done = json!({"state": "done"});
    let mut finish = Batch::default();
    finish.put("job", "j1", done.clone());
    finish.delete("queue", "j1");
    finish.credentials.push(record("urn:conformance:batch-1"));
    let mut clash = finish.clone();
    store.insert_credential(&record("urn:conformance:batch-taken")).expect("insert");
    clash.credentials.push(record("urn:conformance:batch-taken"));
    assert!(
        matches!(store.commit(&clash, &entry()), Err(StoreError::Duplicate(id)) if id == "urn:conformance:batch-taken"),
        "a taken credential id is a Duplicate"
    );
    assert_eq!(store.get_credential("urn:conformance:batch-1").expect("get"), None, "nothing of it written");
    assert_eq!(store.get_document("job", "j1").expect("get"), Some(json!({"state": "pending"})));
    assert!(store.get_document("queue", "j1").expect("get").is_some());
    assert!(store.commit(&finish, &entry()).expect("write"));
    assert_eq!(store.get_document("job", "j1").expect("get"), Some(done));
    assert_eq!(store.get_document("queue", "j1").expect("get"), None, "dequeued in the same write");
    assert!(
        store.get_credential("urn:conformance:batch-1").expect("get").is_some(),
        "and its credential stored"
    );
}

/// What was acknowledged survives closing and reopening. `open` opens the same (initially
/// empty) store each time; the store it returns is dropped before the next call.
pub fn run_durability(open: &dyn Fn() -> Box<dyn Store>) {
    let key = KeyPair::generate(KeyType::Ed25519).expect("key generation");
    let (list_id, index) = {
        let store = open();
        store.put("issuer", &key).expect("put key");
        store.insert_credential(&record("urn:durable:1")).expect("insert");
        store.put_meta("m", "v").expect("put meta");
        store
            .insert_document("event", "e1", &json!({"state": "pending"}), &audit("event", "e1"))
            .expect("doc");
        let (list, index) =
            store.allocate_status_index("issuer", "revocation", 64, "urn:durable:1").expect("allocate");
        store.set_status_bit(&list.id, index, true, &audit("revoke", "urn:durable:1")).expect("flip");
        (list.id, index)
    };
    let store = open();
    assert_eq!(
        store.get("issuer").expect("key after reopen").did(),
        key.did(),
        "a stored key survives reopening"
    );
    assert_eq!(
        store.get_credential("urn:durable:1").expect("read"),
        Some(record("urn:durable:1")),
        "an inserted credential survives reopening"
    );
    assert_eq!(store.get_meta("m").expect("read meta").as_deref(), Some("v"), "metadata survives reopening");
    assert_eq!(
        store.get_document("event", "e1").expect("read document"),
        Some(json!({"state": "pending"})),
        "an inserted document survives reopening"
    );
    assert!(store.status_bit(&list_id, index).expect("read bit"), "a status flip survives reopening");
    for n in 0..63 {
        let (list, other) = store
            .allocate_status_index("issuer", "revocation", 64, &format!("urn:durable:n{n}"))
            .expect("allocate");
        assert!(
            list.id != list_id || other != index,
            "an index allocated before reopening was handed out again after it"
        );
    }
}

fn record(id: &str) -> CredentialRecord {
    CredentialRecord {
        id: id.into(),
        issued_at: "2026-01-01T00:00:00Z".into(),
        format: "eddsa-rdfc-2022".into(),
        issuer: "did:key:z6Mkconformance".into(),
        recipient: Some("did:example:recipient".into()),
        credential: json!({"id": id, "type": ["VerifiableCredential"]}),
        status: None,
    }
}

fn audit(action: &str, subject: &str) -> AuditEntry {
    AuditEntry {
        at: "2026-01-01T00:00:00.000Z".into(),
        action: action.into(),
        subject: subject.into(),
        detail: None,
    }
}

fn audit_len(store: &dyn Store) -> usize {
    store.audit_log().expect("audit log").len()
}

fn meta_reads_what_was_written(store: &dyn Store) {
    assert_eq!(store.get_meta("conformance-meta").expect("get"), None, "a missing meta value reads as None");
    store.put_meta("conformance-meta", "one").expect("put");
    store.put_meta("conformance-meta", "two").expect("overwrite");
    assert_eq!(
        store.get_meta("conformance-meta").expect("get").as_deref(),
        Some("two"),
        "meta reads the last write"
    );
}

fn credentials_read_back_in_issue_order(store: &dyn Store) {
    let before = audit_len(store);
    let ids = ["urn:conformance:b", "urn:conformance:a", "urn:conformance:c"];
    for id in ids {
        store.insert_credential(&record(id)).expect("insert");
    }
    for id in ids {
        assert_eq!(
            store.get_credential(id).expect("get"),
            Some(record(id)),
            "a credential reads back as written"
        );
    }
    assert_eq!(store.get_credential("urn:conformance:missing").expect("get"), None);
    let (all, total) = store.list_credentials(0, 10).expect("list");
    assert_eq!(total, 3, "the total counts every credential");
    assert_eq!(all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ids, "listing is in issue order");
    let (page, total) = store.list_credentials(1, 1).expect("page");
    assert_eq!((page.len(), total, page[0].id.as_str()), (1, 3, ids[1]), "offset and limit page the listing");
    // Each insert carries its audit entry (the audit log is served as is, so the action matters).
    let log = store.audit_log().expect("audit");
    assert_eq!(log.len(), before + 3, "each insert appends one audit entry");
    assert!(
        log[before..].iter().zip(ids).all(|(entry, id)| entry.action == "issue" && entry.subject == id),
        "the insert's audit entries name the credentials, in order: {:?}",
        &log[before..]
    );
}

fn a_duplicate_credential_is_refused_and_changes_nothing(store: &dyn Store) {
    store.insert_credential(&record("urn:conformance:dup")).expect("insert");
    let (before_audit, (_, before_total)) = (audit_len(store), store.list_credentials(0, 0).expect("list"));
    let mut other = record("urn:conformance:dup");
    other.format = "vc-jwt".into();
    assert!(
        matches!(store.insert_credential(&other), Err(StoreError::Duplicate(_))),
        "a second credential with the same id is refused as a duplicate"
    );
    assert_eq!(
        store.get_credential("urn:conformance:dup").expect("get"),
        Some(record("urn:conformance:dup"))
    );
    assert_eq!(audit_len(store), before_audit, "a refused insert writes no audit entry");
    assert_eq!(store.list_credentials(0, 0).expect("list").1, before_total, "a refused insert is not listed");
}

fn keys_read_back_by_name_did_and_method(store: &dyn Store) {
    assert!(matches!(store.get("conformance-key"), Err(KeyError::NotFound(_))), "a missing key is NotFound");
    let key = KeyPair::generate(KeyType::P256).expect("key generation");
    let info = store.put("conformance-key", &key).expect("put key");
    assert_eq!(store.get("conformance-key").expect("get").did(), key.did());
    assert!(store.list().expect("list").iter().any(|k| k.name == "conformance-key" && k.did == key.did()));
    assert_eq!(store.find(&info.did).expect("find by DID").did(), key.did());
    assert_eq!(store.find(&info.verification_method).expect("find by method").did(), key.did());
}

fn profiles_and_images_read_back(store: &dyn Store) {
    assert_eq!(store.get_profile("urn:conformance:profile").expect("get"), None);
    let mut profile = Map::new();
    profile.insert("id".into(), json!("urn:conformance:profile"));
    profile.insert("name".into(), json!("Conformance"));
    store.put_profile("urn:conformance:profile", &profile).expect("put");
    assert_eq!(store.get_profile("urn:conformance:profile").expect("get"), Some(profile));

    assert_eq!(store.get_image("conformance").expect("get"), None);
    let bytes = vec![0u8, 1, 2, 255, 0];
    store.put_image("conformance", "image/png", &bytes).expect("put");
    assert_eq!(
        store.get_image("conformance").expect("get"),
        Some(("image/png".to_string(), bytes)),
        "an image reads back with its content type, NUL bytes included"
    );
}

fn status_allocation_never_hands_out_an_index_twice(store: &dyn Store) {
    let size = 16u32;
    let mut taken = std::collections::BTreeSet::new();
    let mut first_list = None;
    for n in 0..size {
        let (list, index) = store
            .allocate_status_index("conformance", "revocation", size, &format!("urn:alloc:{n}"))
            .expect("allocate");
        assert!(index < size, "index {index} is outside a list of {size}");
        assert_eq!(list.size, size);
        let first = first_list.get_or_insert_with(|| list.id.clone());
        assert_eq!(&list.id, first, "a list that is not full keeps handing out indices");
        assert!(taken.insert(index), "index {index} was handed out twice");
    }
    let (meta, bits) =
        store.status_list(first_list.as_deref().unwrap()).expect("list").expect("the list exists");
    assert_eq!((meta.used, bits.len()), (size, size.div_ceil(8) as usize), "used counts allocations");
    let (next, _) =
        store.allocate_status_index("conformance", "revocation", size, "urn:alloc:next").expect("allocate");
    assert_ne!(Some(next.id.as_str()), first_list.as_deref(), "a full list makes way for a new one");
    let (other_purpose, _) =
        store.allocate_status_index("conformance", "suspension", size, "urn:alloc:s").expect("allocate");
    assert_eq!(other_purpose.purpose, "suspension", "a list serves one purpose");
    assert_ne!(other_purpose.id, next.id, "each (key, purpose) has its own lists");
    assert_eq!(store.status_list("urn:conformance:no-such-list").expect("read"), None);
}

fn concurrent_allocations_never_share_an_index(store: &dyn Store) {
    let taken = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for t in 0..4 {
            let taken = &taken;
            scope.spawn(move || {
                for n in 0..20 {
                    let (list, index) = store
                        .allocate_status_index(
                            "conformance-threads",
                            "revocation",
                            64,
                            &format!("urn:t{t}:{n}"),
                        )
                        .expect("allocate");
                    taken.lock().unwrap().push((list.id, index));
                }
            });
        }
    });
    let mut taken = taken.into_inner().unwrap();
    let count = taken.len();
    taken.sort();
    taken.dedup();
    assert_eq!(taken.len(), count, "concurrent allocations handed out the same index twice");
}

fn status_flips_return_the_previous_bit_and_are_audited(store: &dyn Store) {
    let (list, index) =
        store.allocate_status_index("conformance-flip", "revocation", 64, "urn:flip").expect("allocate");
    assert!(!store.status_bit(&list.id, index).expect("read"), "a new index starts clear");
    let revoke = AuditEntry { detail: Some(json!({"index": index})), ..audit("revoke", "urn:flip") };
    assert!(
        !store.set_status_bit(&list.id, index, true, &revoke).expect("set"),
        "the previous value was clear"
    );
    assert_eq!(
        store.audit_log().expect("audit").last(),
        Some(&revoke),
        "the flip's audit entry is written with it"
    );
    assert!(store.status_bit(&list.id, index).expect("read"));
    let (_, bits) = store.status_list(&list.id).expect("read").expect("exists");
    assert_eq!(
        crate::codec::bits::read_entry(&bits, index as usize, 1),
        Some(1),
        "the list's bits show the flip"
    );
    let ones: u32 = bits.iter().map(|b| b.count_ones()).sum();
    assert_eq!(ones, 1, "a flip touches only its own bit");

    let before = audit_len(store);
    assert!(store.set_status_bit(&list.id, index, true, &audit("revoke", "urn:flip")).expect("again"));
    assert_eq!(audit_len(store), before + 1, "a repeated flip is still audited");
    assert!(store.set_status_bit(&list.id, index, false, &audit("reinstate", "urn:flip")).expect("clear"));
    assert!(!store.status_bit(&list.id, index).expect("read"), "a bit can be cleared again");
}

fn a_failed_flip_writes_neither_bit_nor_audit(store: &dyn Store) {
    let before = audit_len(store);
    let result = store.set_status_bit("urn:conformance:no-such-list", 3, true, &audit("revoke", "urn:none"));
    assert!(result.is_err(), "a flip on a list that does not exist fails");
    assert_eq!(audit_len(store), before, "a failed flip writes no audit entry");
    assert!(!store.status_bit("urn:conformance:no-such-list", 3).expect("read"), "a failed flip sets no bit");
}

fn a_cached_list_is_served_only_for_its_fingerprint(store: &dyn Store) {
    let (list, _) =
        store.allocate_status_index("conformance-cache", "revocation", 64, "urn:cache").expect("allocate");
    assert_eq!(store.cached_list_credential(&list.id, "a").expect("read"), None);
    let signed: Value = json!({"signed": "a"});
    store.cache_list_credential(&list.id, "a", &signed).expect("cache");
    assert_eq!(store.cached_list_credential(&list.id, "a").expect("read"), Some(signed));
    assert_eq!(store.cached_list_credential(&list.id, "b").expect("read"), None, "another state is a miss");
    let newer: Value = json!({"signed": "b"});
    store.cache_list_credential(&list.id, "b", &newer).expect("cache");
    assert_eq!(store.cached_list_credential(&list.id, "b").expect("read"), Some(newer));
}

fn audited_meta_writes_both(store: &dyn Store) {
    let entry = audit("token-set", "admin");
    store.put_meta_audited("conformance-audited", "v", &entry).expect("put");
    assert_eq!(store.get_meta("conformance-audited").expect("get").as_deref(), Some("v"));
    assert_eq!(
        store.audit_log().expect("audit").last(),
        Some(&entry),
        "the audit entry is written with the value"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyInfo, KeyStore};
    use crate::store::{SledStore, StatusListMeta};

    /// A store that is right about everything but one thing: it hands out index 0 every time.
    struct ReusesIndices(SledStore);

    impl KeyStore for ReusesIndices {
        fn put(&self, name: &str, key: &KeyPair) -> Result<KeyInfo, KeyError> {
            self.0.put(name, key)
        }
        fn get(&self, name: &str) -> Result<KeyPair, KeyError> {
            self.0.get(name)
        }
        fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
            self.0.list()
        }
    }

    impl Store for ReusesIndices {
        fn get_meta(&self, name: &str) -> Result<Option<String>, StoreError> {
            self.0.get_meta(name)
        }
        fn put_document(
            &self,
            kind: &str,
            id: &str,
            document: &Value,
            audit: &AuditEntry,
        ) -> Result<(), StoreError> {
            self.0.put_document(kind, id, document, audit)
        }
        fn insert_document(
            &self,
            kind: &str,
            id: &str,
            document: &Value,
            audit: &AuditEntry,
        ) -> Result<bool, StoreError> {
            self.0.insert_document(kind, id, document, audit)
        }
        fn get_document(&self, kind: &str, id: &str) -> Result<Option<Value>, StoreError> {
            self.0.get_document(kind, id)
        }
        fn list_documents(&self, kind: &str) -> Result<Vec<(String, Value)>, StoreError> {
            self.0.list_documents(kind)
        }
        fn count_documents(&self, kind: &str) -> Result<usize, StoreError> {
            self.0.count_documents(kind)
        }
        fn delete_document(&self, kind: &str, id: &str, audit: &AuditEntry) -> Result<bool, StoreError> {
            self.0.delete_document(kind, id, audit)
        }
        fn commit(&self, batch: &Batch, audit: &AuditEntry) -> Result<bool, StoreError> {
            self.0.commit(batch, audit)
        }
        fn put_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
            self.0.put_meta(name, value)
        }
        fn insert_credential(&self, record: &CredentialRecord) -> Result<(), StoreError> {
            self.0.insert_credential(record)
        }
        fn get_credential(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
            self.0.get_credential(id)
        }
        fn list_credentials(
            &self,
            offset: usize,
            limit: usize,
        ) -> Result<(Vec<CredentialRecord>, usize), StoreError> {
            self.0.list_credentials(offset, limit)
        }
        fn put_profile(&self, id: &str, profile: &Map<String, Value>) -> Result<(), StoreError> {
            self.0.put_profile(id, profile)
        }
        fn get_profile(&self, id: &str) -> Result<Option<Map<String, Value>>, StoreError> {
            self.0.get_profile(id)
        }
        fn audit_log(&self) -> Result<Vec<AuditEntry>, StoreError> {
            self.0.audit_log()
        }
        fn flush(&self) -> Result<(), StoreError> {
            self.0.flush()
        }
        fn allocate_status_index(
            &self,
            key: &str,
            purpose: &str,
            size: u32,
            credential_id: &str,
        ) -> Result<(StatusListMeta, u32), StoreError> {
            let (meta, _) = self.0.allocate_status_index(key, purpose, size, credential_id)?;
            Ok((meta, 0))
        }
        fn set_status_bit(
            &self,
            list_id: &str,
            index: u32,
            value: bool,
            audit: &AuditEntry,
        ) -> Result<bool, StoreError> {
            self.0.set_status_bit(list_id, index, value, audit)
        }
        fn status_bit(&self, list_id: &str, index: u32) -> Result<bool, StoreError> {
            self.0.status_bit(list_id, index)
        }
        fn status_list(&self, list_id: &str) -> Result<Option<(StatusListMeta, Vec<u8>)>, StoreError> {
            self.0.status_list(list_id)
        }
        fn cached_list_credential(
            &self,
            list_id: &str,
            fingerprint: &str,
        ) -> Result<Option<Value>, StoreError> {
            self.0.cached_list_credential(list_id, fingerprint)
        }
        fn cache_list_credential(
            &self,
            list_id: &str,
            fingerprint: &str,
            credential: &Value,
        ) -> Result<(), StoreError> {
            self.0.cache_list_credential(list_id, fingerprint, credential)
        }
        fn put_image(&self, key: &str, content_type: &str, bytes: &[u8]) -> Result<(), StoreError> {
            self.0.put_image(key, content_type, bytes)
        }
        fn put_meta_audited(&self, name: &str, value: &str, audit: &AuditEntry) -> Result<(), StoreError> {
            self.0.put_meta_audited(name, value, audit)
        }
        fn get_image(&self, key: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
            self.0.get_image(key)
        }
    }

    #[test]
    fn the_suite_fails_a_store_that_hands_out_an_index_twice() {
        let dir = std::env::temp_dir().join(format!("laurel-conformance-{}", uuid::Uuid::new_v4()));
        let store = ReusesIndices(SledStore::open(&dir).unwrap());
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_all(&store)));
        drop(store);
        std::fs::remove_dir_all(&dir).ok();
        let panic = outcome.expect_err("the suite passed a store that reuses status indices");
        let message = panic.downcast_ref::<String>().map(String::as_str).unwrap_or_default();
        assert!(message.contains("was handed out twice"), "the suite failed for another reason: {message}");
    }
}
