//! Persistence: the `Store` trait the service depends on, the records it keeps, and its
//! implementations (sled now; a PostgreSQL store will sit beside `sled.rs`).
//!
//! Owns: what "stored" means (each guarantee is in the trait's doc comments and is checked for
//! every implementation by `store::conformance`). May use: `keys` (the `KeyStore` half) and `codec`.
//! Used by: `service` and the edges (`http`, `cli`), which open a concrete store once and hand it
//! down as `Arc<dyn Store>`/`&dyn Store`. Knows nothing of credentials beyond the records below.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::keys::{KeyError, KeyStore};

pub mod backup;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod sled;

pub use self::backup::{BackupReport, Manifest};
pub use self::sled::{RestoreReport, SledStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database at {path} is locked by another process (is another `laurel serve` running?)")]
    Locked { path: String },
    #[error("the database at {path} cannot be opened: {detail}")]
    Open { path: String, detail: String },
    #[error("database error: {0}")]
    Database(String),
    #[error("a credential with id {0:?} already exists")]
    Duplicate(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{0}")]
    Backup(String),
}

/// One issued credential as the issuer keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRecord {
    pub id: String,
    pub issued_at: String,
    pub format: String,
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// The secured credential: a JSON object, or a compact JWT string.
    #[serde(rename = "verifiableCredential")]
    pub credential: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditEntry {
    pub at: String,
    pub action: String,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

impl AuditEntry {
    pub fn now(action: &str, subject: &str, detail: Option<Value>) -> AuditEntry {
        AuditEntry {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            action: action.into(),
            subject: subject.into(),
            detail,
        }
    }
}

/// One status list as the issuer keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusListMeta {
    pub id: String,
    /// Name of the key that signs the list (and the credentials pointing at it).
    pub key: String,
    pub purpose: String,
    pub size: u32,
    /// Indices handed out so far.
    pub used: u32,
    pub created: String,
}

/// One atomic write for [`Store::commit`]: new credentials, and documents `(kind, id)` put
/// and removed.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Each must be new: one whose id is taken writes nothing (`StoreError::Duplicate`).
    pub credentials: Vec<CredentialRecord>,
    pub puts: Vec<(String, String, Value)>,
    pub deletes: Vec<(String, String)>,
    /// Every put must be new (of two concurrent inserts one wins); otherwise nothing is written.
    pub insert_only: bool,
}

impl Batch {
    pub fn put(&mut self, kind: &str, id: &str, document: Value) {
        self.puts.push((kind.to_string(), id.to_string(), document));
    }
    pub fn delete(&mut self, kind: &str, id: &str) {
        self.deletes.push((kind.to_string(), id.to_string()));
    }
    pub fn is_empty(&self) -> bool {
        self.credentials.is_empty() && self.puts.is_empty() && self.deletes.is_empty()
    }
}

/// What the service needs from storage. sled implements it; another engine can too.
pub trait Store: KeyStore + Send + Sync {
    fn get_meta(&self, name: &str) -> Result<Option<String>, StoreError>;
    fn put_meta(&self, name: &str, value: &str) -> Result<(), StoreError>;
    /// Stores a newly issued credential and its audit entry atomically and durably.
    fn insert_credential(&self, record: &CredentialRecord) -> Result<(), StoreError>;
    fn get_credential(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError>;
    fn list_credentials(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<CredentialRecord>, usize), StoreError>;
    fn put_profile(&self, id: &str, profile: &Map<String, Value>) -> Result<(), StoreError>;
    fn get_profile(&self, id: &str) -> Result<Option<Map<String, Value>>, StoreError>;
    fn audit_log(&self) -> Result<Vec<AuditEntry>, StoreError>;
    /// Makes everything written so far durable (used at shutdown).
    fn flush(&self) -> Result<(), StoreError>;
    /// Takes a random unused index of the current list for (key, purpose), opening a new list
    /// when it is full. The allocation is committed at once (no later call gets the index) but
    /// made durable by the caller's next durable write, which covers every earlier commit: the
    /// credential record. No acknowledged credential's index is ever handed out again, even
    /// across crashes; an index taken by a credential that was never acknowledged may be.
    fn allocate_status_index(
        &self,
        key: &str,
        purpose: &str,
        size: u32,
        credential_id: &str,
    ) -> Result<(StatusListMeta, u32), StoreError>;
    /// Sets or clears a bit durably, with its audit entry; returns the previous value.
    fn set_status_bit(
        &self,
        list_id: &str,
        index: u32,
        value: bool,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;
    fn status_bit(&self, list_id: &str, index: u32) -> Result<bool, StoreError>;
    /// The list's metadata and its bitstring, as committed now.
    fn status_list(&self, list_id: &str) -> Result<Option<(StatusListMeta, Vec<u8>)>, StoreError>;
    /// The signed list cached for exactly the state `fingerprint` names, if any.
    fn cached_list_credential(&self, list_id: &str, fingerprint: &str) -> Result<Option<Value>, StoreError>;
    /// Caches the signed list made from the state `fingerprint` names (not made durable: losing
    /// it only costs a re-signature).
    fn cache_list_credential(
        &self,
        list_id: &str,
        fingerprint: &str,
        credential: &Value,
    ) -> Result<(), StoreError>;
    /// Badge images for baking: `issuer` (the default) or an achievement id.
    fn put_image(&self, key: &str, content_type: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// Sets a metadata value and appends an audit entry, atomically and durably.
    fn put_meta_audited(&self, name: &str, value: &str, audit: &AuditEntry) -> Result<(), StoreError>;
    fn get_image(&self, key: &str) -> Result<Option<(String, Vec<u8>)>, StoreError>;
    /// Program documents (achievements, rules, pathways, events), JSON by `kind` and `id`.
    /// Writes the document and its audit entry atomically and durably.
    fn put_document(
        &self,
        kind: &str,
        id: &str,
        document: &Value,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// Writes only if no document of `kind` has `id` (atomically: of two concurrent inserts one
    /// wins); durable when it returns `true`, unchanged (no audit entry) when `false`.
    fn insert_document(
        &self,
        kind: &str,
        id: &str,
        document: &Value,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;
    fn get_document(&self, kind: &str, id: &str) -> Result<Option<Value>, StoreError>;
    /// Every document of `kind`, by id in byte order.
    fn list_documents(&self, kind: &str) -> Result<Vec<(String, Value)>, StoreError>;
    /// How many documents of `kind` there are (without reading them).
    fn count_documents(&self, kind: &str) -> Result<usize, StoreError> {
        Ok(self.list_documents(kind)?.len())
    }
    /// Removes a document with its audit entry, durably; `false` if there was none.
    fn delete_document(&self, kind: &str, id: &str, audit: &AuditEntry) -> Result<bool, StoreError>;
    /// Writes a [`Batch`] in one atomic, durable step with one audit entry (and each new
    /// credential's own): a queue item moves on in one write (an event marked done, dequeued
    /// and its badges stored together; an event stored and queued together). `Ok(false)`, and
    /// nothing written, when `insert_only` and a put's id is taken; `Duplicate`, and nothing
    /// written, when a credential's id is.
    fn commit(&self, batch: &Batch, audit: &AuditEntry) -> Result<bool, StoreError>;
    /// Writes a consistent snapshot of everything stored to the new directory `dest` (see
    /// `store::backup` for the format). Writes wait while the snapshot is read, not while it
    /// is written out.
    fn backup(&self, dest: &std::path::Path) -> Result<BackupReport, StoreError> {
        Err(StoreError::Backup(format!("this store cannot back up to {}", dest.display())))
    }
}
