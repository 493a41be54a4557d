//! The sled implementation of [`Store`](super::Store): one embedded database directory.
//!
//! ## Layout (the one place it is described)
//! | tree          | key                          | value                                   |
//! |---------------|------------------------------|-----------------------------------------|
//! | `keys`        | key name (UTF-8)             | JSON `StoredKey` (private JWK, created) |
//! | `meta`        | `issuer_key`, `admin_token_sha256` | UTF-8 string                      |
//! | `credentials` | credential id (UTF-8)        | JSON `CredentialRecord`                 |
//! | `issue_order` | u64 big-endian sequence      | credential id (listing in issue order)  |
//! | `profiles`    | profile id (UTF-8)           | JSON Profile object                     |
//! | `audit`       | u64 big-endian sequence      | JSON `AuditEntry` (append-only)         |
//! | `status_lists`| list id                      | JSON `StatusListMeta` (key, purpose, size, used) |
//! | `status_current` | `<issuer key>|<purpose>`  | id of the list new indices come from    |
//! | `status_used` | `<list id>:` + u32 BE index  | credential id holding the index (never reused) |
//! | `status_bits` | `<list id>:` + u32 BE index  | empty: present = bit set                |
//! | `status_signed` | list id                    | JSON {fingerprint, credential}: cache of the signed list |
//! | `images`      | `issuer` or an achievement id | content type, a NUL byte, image bytes   |
//!
//! `meta` also holds `key_seal` (JSON `SealRecord`: Argon2id parameters, salt, check value)
//! once the keys are sealed; a sealed key's value then has `public_jwk` and `sealed` in place
//! of `private_jwk`.
//!
//! Backups: every write that commits takes `write_gate` shared for its transaction; a backup
//! takes it exclusively while it reads every tree, so the snapshot is one point in time across
//! trees (sled has no multi-tree snapshot).
//!
//! Every write the client is told about commits in one sled transaction, then `flush()`es and
//! `sync_all()`s the database files: sled's flush uses `sync_file_range` on Linux, which does not
//! flush the disk's write cache.
//!
//! Status lists: the bits in `status_bits` are the only truth about a credential's status. A
//! list's metadata is only ever changed by a read-modify-write inside one transaction (index
//! allocation bumps `used`); a status flip touches only its bit. The signed list in
//! `status_signed` is a cache keyed by a fingerprint of the exact bits (and signing key) it was
//! made from, so it can never stand for other bits: a stale entry (a crash, a race, an older
//! version's cache) is simply re-signed from the durable bits on the next read.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::keys::seal::{Passphrase, SealRecord, Sealer};
use crate::keys::{KeyError, KeyInfo, KeyPair, KeyStore, StoredKey};

use super::backup::{BackupReport, TreeDump};
use super::{AuditEntry, Batch, CredentialRecord, StatusListMeta, Store, StoreError};

/// Every tree, by name: what a backup holds and a restore writes.
pub const TREES: [&str; 13] = [
    "keys",
    "meta",
    "credentials",
    "issue_order",
    "profiles",
    "audit",
    "status_lists",
    "status_current",
    "status_used",
    "status_bits",
    "status_signed",
    "images",
    "documents",
];
/// Meta key of the sealing record.
const KEY_SEAL: &str = "key_seal";

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

fn index_key(list_id: &str, index: u32) -> Vec<u8> {
    let mut key = format!("{list_id}:").into_bytes();
    key.extend_from_slice(&index.to_be_bytes());
    key
}

pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    keys: sled::Tree,
    meta: sled::Tree,
    credentials: sled::Tree,
    issue_order: sled::Tree,
    profiles: sled::Tree,
    audit: sled::Tree,
    status_lists: sled::Tree,
    status_current: sled::Tree,
    status_used: sled::Tree,
    status_bits: sled::Tree,
    status_signed: sled::Tree,
    images: sled::Tree,
    /// Program documents (achievements, rules, pathways, events) under `kind \0 id`.
    documents: sled::Tree,
    /// Group commit: writers that commit while a sync runs share the next one.
    sync_state: Mutex<SyncState>,
    sync_done: std::sync::Condvar,
    /// Serializes index allocation: only allocation writes `status_current` and `status_used`,
    /// so the search for a free index (outside the transaction, which holds sled's global lock)
    /// sees what the transaction will.
    allocation_lock: Mutex<()>,
    /// Shared by every committing write, exclusive while a backup reads (see the module doc).
    write_gate: RwLock<()>,
    /// The derived sealing key, when the keys are sealed and the passphrase was given.
    sealer: Option<Sealer>,
    /// Whether the keys are sealed (`meta` has `key_seal`).
    sealed: bool,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub records: u64,
    pub trees: usize,
    pub backup_created: String,
    /// Where the database that was there before went (with --force).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_moved_to: Option<String>,
}

/// sled's page cache.
const SLED_CACHE_BYTES: u64 = 16 << 20;

/// Write tickets handed out and made durable, for group commit.
#[derive(Debug, Default)]
struct SyncState {
    requested: u64,
    completed: u64,
    syncing: bool,
    /// When the last successful sync started: the next one only fsyncs files written since
    /// (sled's blob files would otherwise all be synced on every write).
    last_started: Option<std::time::SystemTime>,
}

fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

impl SledStore {
    /// Opens (or creates) the database in `dir`, with clear errors for a locked or corrupt one.
    /// Sealed keys stay sealed (see [`SledStore::open_with`]).
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        Self::open_with(dir, None)
    }

    /// Opens the database with the key passphrase, if any. With one, the sealing key is derived
    /// (once: Argon2id), checked (a wrong passphrase is `KeyError::WrongPassphrase`), and any
    /// key still in the clear is sealed now. Without one, a sealed store opens, but its keys
    /// cannot be used or added (`KeyError::Sealed`); everything else reads as usual.
    pub fn open_with(dir: &Path, passphrase: Option<&Passphrase>) -> Result<SledStore, StoreError> {
        let mut store = Self::open_db(dir)?;
        let record: Option<SealRecord> =
            store.meta.get(KEY_SEAL)?.map(|b| from_json(&b, "key sealing record")).transpose()?;
        store.sealed = record.is_some();
        let Some(passphrase) = passphrase else { return Ok(store) };
        let (sealer, new_record) = match record {
            Some(record) => (Sealer::unlock(passphrase, &record)?, None),
            None => {
                let (sealer, record) = Sealer::create(passphrase)?;
                (sealer, Some(record))
            }
        };
        store.seal_clear_keys(&sealer, new_record.as_ref())?;
        store.sealer = Some(sealer);
        store.sealed = true;
        Ok(store)
    }

    /// Seals every key still in the clear (and records the sealing, for a store sealed now) in
    /// one transaction.
    fn seal_clear_keys(&self, sealer: &Sealer, new_record: Option<&SealRecord>) -> Result<(), StoreError> {
        let mut changes = Vec::new();
        for item in self.keys.iter() {
            let (name, bytes) = item?;
            let stored: StoredKey = from_json(&bytes, "stored key")?;
            if !stored.is_sealed() {
                changes.push((name, json_bytes(&stored.sealed(sealer)?)?));
            }
        }
        if changes.is_empty() && new_record.is_none() {
            return Ok(());
        }
        let record = new_record.map(json_bytes).transpose()?;
        (&self.keys, &self.meta)
            .transaction(|(keys, meta)| {
                for (name, bytes) in &changes {
                    keys.insert(name.clone(), bytes.as_slice())?;
                }
                if let Some(record) = &record {
                    meta.insert(KEY_SEAL, record.as_slice())?;
                }
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })
            .map_err(transaction_error)?;
        self.make_durable()
    }

    fn open_db(dir: &Path) -> Result<SledStore, StoreError> {
        let path = dir.join("db");
        std::fs::create_dir_all(&path)
            .map_err(|e| StoreError::Open { path: path.display().to_string(), detail: e.to_string() })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        // sled caches up to 1 GiB of pages by default: a store that grows by a bulk award of
        // 100,000 badges would hold all of them in memory. 16 MiB keeps the working set
        // (status lists, the latest records); sled itself still uses several times its cache
        // (measured: ~830 MB resident at the end of a 100,000-badge bulk award with 8 MiB).
        let db = sled::Config::new().path(&path).cache_capacity(SLED_CACHE_BYTES).open().map_err(|e| {
            let detail = e.to_string();
            if detail.contains("WouldBlock")
                || detail.contains("lock")
                || detail.contains("Resource temporarily unavailable")
            {
                StoreError::Locked { path: path.display().to_string() }
            } else {
                StoreError::Open { path: path.display().to_string(), detail }
            }
        })?;
        let tree = |name: &str| db.open_tree(name);
        Ok(SledStore {
            keys: tree("keys")?,
            meta: tree("meta")?,
            credentials: tree("credentials")?,
            issue_order: tree("issue_order")?,
            profiles: tree("profiles")?,
            audit: tree("audit")?,
            status_lists: tree("status_lists")?,
            status_current: tree("status_current")?,
            status_used: tree("status_used")?,
            status_bits: tree("status_bits")?,
            status_signed: tree("status_signed")?,
            images: tree("images")?,
            documents: tree("documents")?,
            db,
            path,
            sync_state: Mutex::new(SyncState::default()),
            sync_done: std::sync::Condvar::new(),
            allocation_lock: Mutex::new(()),
            write_gate: RwLock::new(()),
            sealer: None,
            sealed: false,
        })
    }

    /// Held (shared) by a write for its transaction; a backup waits for it.
    fn gate(&self) -> RwLockReadGuard<'_, ()> {
        self.write_gate.read().unwrap_or_else(|p| p.into_inner())
    }

    fn tree_named(&self, name: &str) -> &sled::Tree {
        match name {
            "keys" => &self.keys,
            "meta" => &self.meta,
            "credentials" => &self.credentials,
            "issue_order" => &self.issue_order,
            "profiles" => &self.profiles,
            "audit" => &self.audit,
            "status_lists" => &self.status_lists,
            "status_current" => &self.status_current,
            "status_used" => &self.status_used,
            "status_bits" => &self.status_bits,
            "status_signed" => &self.status_signed,
            "documents" => &self.documents,
            _ => &self.images,
        }
    }

    /// Every tree's records at one point in time: writers are held back while they are read.
    fn snapshot(&self) -> Result<Vec<TreeDump>, StoreError> {
        let _exclusive = self.write_gate.write().unwrap_or_else(|p| p.into_inner());
        let mut trees = Vec::new();
        for name in TREES {
            let mut records = Vec::new();
            for item in self.tree_named(name).iter() {
                let (key, value) = item?;
                records.push((key.to_vec(), value.to_vec()));
            }
            trees.push((name.to_string(), records));
        }
        Ok(trees)
    }

    /// Restores the backup at `backup` into the data folder `data`, which no process may hold.
    /// Every file is verified before anything is written; the records go to `DATA/db.restore-tmp`,
    /// which then replaces `DATA/db`. A database already there is refused unless `force`, and
    /// then moved aside to `DATA/db.before-restore-<time>` (never deleted).
    pub fn restore(data: &Path, backup: &Path, force: bool) -> Result<RestoreReport, StoreError> {
        let (manifest, trees) = super::backup::read_verified(backup)?;
        if let Some(unknown) = trees.iter().find(|(name, _)| !TREES.contains(&name.as_str())) {
            return Err(StoreError::Backup(format!("the backup holds an unknown tree {:?}", unknown.0)));
        }
        let io = |what: &Path, e: std::io::Error| StoreError::Backup(format!("{}: {e}", what.display()));
        std::fs::create_dir_all(data).map_err(|e| io(data, e))?;
        let db_path = data.join("db");
        if db_path.exists() {
            // Opening it both checks that no server holds it and counts what it holds.
            let existing = Self::open_db(data)?;
            let records: usize = TREES.iter().map(|name| existing.tree_named(name).len()).sum();
            drop(existing);
            if records > 0 && !force {
                return Err(StoreError::Backup(format!(
                    "{} already holds a database ({records} records); restore into an empty data folder, or pass --force to move it aside to db.before-restore-<time>",
                    data.display()
                )));
            }
        }
        let tmp = data.join("db.restore-tmp");
        if tmp.exists() {
            // Only an interrupted restore leaves it; it never holds live data.
            std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
        }
        let mut records = 0u64;
        {
            let db = sled::Config::new().path(&tmp).open()?;
            for (name, entries) in &trees {
                let tree = db.open_tree(name)?;
                let mut batch = sled::Batch::default();
                for (key, value) in entries {
                    batch.insert(key.as_slice(), value.as_slice());
                }
                tree.apply_batch(batch)?;
                records += entries.len() as u64;
            }
            db.flush()?;
        }
        sync_dir_files(&tmp, std::time::SystemTime::UNIX_EPOCH).map_err(|e| io(&tmp, e))?;
        let mut previous_moved_to = None;
        if db_path.exists() {
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
            let aside = data.join(format!("db.before-restore-{stamp}"));
            std::fs::rename(&db_path, &aside).map_err(|e| io(&aside, e))?;
            previous_moved_to = Some(aside.display().to_string());
        }
        std::fs::rename(&tmp, &db_path).map_err(|e| io(&db_path, e))?;
        std::fs::File::open(data).and_then(|d| d.sync_all()).map_err(|e| io(data, e))?;
        Ok(RestoreReport { records, trees: trees.len(), backup_created: manifest.created, previous_moved_to })
    }

    /// Returns once everything committed before the call is on disk. Concurrent callers share
    /// syncs (group commit): a caller either runs the next sync, covering every write committed
    /// before it starts, or waits for one that started after its own write.
    fn make_durable(&self) -> Result<(), StoreError> {
        let mut state = self.sync_state.lock().unwrap_or_else(|p| p.into_inner());
        state.requested += 1;
        let ticket = state.requested;
        loop {
            if state.completed >= ticket {
                return Ok(());
            }
            if !state.syncing {
                state.syncing = true;
                let target = state.requested;
                let previous = state.last_started;
                drop(state);
                let started = std::time::SystemTime::now();
                let result = self.sync_files(previous);
                let mut state = self.sync_state.lock().unwrap_or_else(|p| p.into_inner());
                state.syncing = false;
                if result.is_ok() {
                    state.completed = state.completed.max(target);
                    state.last_started = Some(started);
                }
                self.sync_done.notify_all();
                return result;
            }
            state = self.sync_done.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// flush + fsync of the database files changed since the sync that started at `previous`
    /// (all of them when there was none).
    fn sync_files(&self, previous: Option<std::time::SystemTime>) -> Result<(), StoreError> {
        self.db.flush()?;
        // A one-second margin covers coarse file-system timestamps.
        let since = previous
            .and_then(|t| t.checked_sub(std::time::Duration::from_secs(1)))
            .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
        sync_dir_files(&self.path, since).map_err(|e| StoreError::Database(format!("fsync: {e}")))
    }

    fn next_sequence(&self) -> Result<[u8; 8], StoreError> {
        Ok(self.db.generate_id()?.to_be_bytes())
    }

    /// Writes one record and its audit entry in one transaction, then makes them durable.
    fn put_audited(
        &self,
        tree: &sled::Tree,
        key: &[u8],
        value: &[u8],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let audit_bytes = json_bytes(audit)?;
        let audit_key = self.next_sequence()?;
        let gate = self.gate();
        (tree, &self.audit)
            .transaction(|(records, log)| {
                records.insert(key, value)?;
                log.insert(&audit_key, audit_bytes.as_slice())?;
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })
            .map_err(transaction_error)?;
        drop(gate);
        self.make_durable()
    }
}

/// fsyncs the files under `dir` modified since `since`, and the directories whose entries changed.
fn sync_dir_files(dir: &Path, since: std::time::SystemTime) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_file() {
            let modified = entry.metadata()?.modified().unwrap_or_else(|_| std::time::SystemTime::now());
            if modified >= since {
                std::fs::File::open(entry.path())?.sync_all()?;
            }
        } else if kind.is_dir() {
            sync_dir_files(&entry.path(), since)?;
        }
    }
    // A directory's mtime moves when an entry is created, removed or renamed: only then does
    // it need its own fsync.
    let dir_modified = std::fs::metadata(dir)?.modified().unwrap_or_else(|_| std::time::SystemTime::now());
    if dir_modified >= since {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// `kind \0 id`: one tree holds every kind, each listable by its prefix.
fn document_key(kind: &str, id: &str) -> Vec<u8> {
    [kind.as_bytes(), &[0], id.as_bytes()].concat()
}

fn transaction_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(inner) => inner,
        TransactionError::Storage(e) => StoreError::Database(e.to_string()),
    }
}

impl SledStore {
    /// Flushes and syncs everything (shutdown).
    pub fn flush_all(&self) -> Result<(), StoreError> {
        self.make_durable()
    }
}

impl KeyStore for SledStore {
    fn put(&self, name: &str, key: &KeyPair) -> Result<KeyInfo, KeyError> {
        let mut stored = StoredKey::new(name, key);
        if self.sealed {
            // A sealed store never takes a key in the clear.
            let sealer = self.sealer.as_ref().ok_or_else(|| KeyError::Sealed(name.to_string()))?;
            stored = stored.sealed(sealer)?;
        }
        let bytes = serde_json::to_vec(&stored).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let gate = self.gate();
        let previous = self
            .keys
            .compare_and_swap(name.as_bytes(), None as Option<&[u8]>, Some(bytes))
            .map_err(|e| KeyError::Invalid(e.to_string()))?;
        drop(gate);
        if previous.is_err() {
            return Err(KeyError::Invalid(format!("a key named {name:?} already exists")));
        }
        self.make_durable().map_err(|e| KeyError::Invalid(e.to_string()))?;
        Ok(stored.info(key))
    }

    fn get(&self, name: &str) -> Result<KeyPair, KeyError> {
        let bytes = self
            .keys
            .get(name.as_bytes())
            .map_err(|e| KeyError::Invalid(e.to_string()))?
            .ok_or_else(|| KeyError::NotFound(name.to_string()))?;
        let stored: StoredKey =
            serde_json::from_slice(&bytes).map_err(|e| KeyError::Invalid(e.to_string()))?;
        stored.key_pair_with(self.sealer.as_ref())
    }

    fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let mut keys = Vec::new();
        for item in self.keys.iter() {
            let (_, bytes) = item.map_err(|e| KeyError::Invalid(e.to_string()))?;
            let stored: StoredKey =
                serde_json::from_slice(&bytes).map_err(|e| KeyError::Invalid(e.to_string()))?;
            // Public facts only: a sealed key lists without the passphrase.
            keys.push(stored.public_info()?);
        }
        keys.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
        Ok(keys)
    }
}

impl Store for SledStore {
    fn get_meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.meta.get(name.as_bytes())?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn put_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let gate = self.gate();
        self.meta.insert(name.as_bytes(), value.as_bytes())?;
        drop(gate);
        self.make_durable()
    }

    fn insert_credential(&self, record: &CredentialRecord) -> Result<(), StoreError> {
        let record_bytes = json_bytes(record)?;
        let audit_bytes = json_bytes(&AuditEntry::now(
            "issue",
            &record.id,
            Some(serde_json::json!({"format": record.format})),
        ))?;
        let (order_key, audit_key) = (self.next_sequence()?, self.next_sequence()?);
        let gate = self.gate();
        (&self.credentials, &self.issue_order, &self.audit)
            .transaction(|(credentials, order, audit)| {
                if credentials.get(record.id.as_bytes())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(StoreError::Duplicate(
                        record.id.clone(),
                    )));
                }
                credentials.insert(record.id.as_bytes(), record_bytes.as_slice())?;
                order.insert(&order_key, record.id.as_bytes())?;
                audit.insert(&audit_key, audit_bytes.as_slice())?;
                Ok(())
            })
            .map_err(transaction_error)?;
        drop(gate);
        self.make_durable()
    }

    fn get_credential(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        self.credentials.get(id.as_bytes())?.map(|b| from_json(&b, "credential")).transpose()
    }

    fn list_credentials(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<CredentialRecord>, usize), StoreError> {
        let total = self.issue_order.len();
        let mut records = Vec::new();
        for item in self.issue_order.iter().skip(offset).take(limit) {
            let (_, id) = item?;
            if let Some(bytes) = self.credentials.get(&id)? {
                records.push(from_json(&bytes, "credential")?);
            }
        }
        Ok((records, total))
    }

    fn put_profile(&self, id: &str, profile: &Map<String, Value>) -> Result<(), StoreError> {
        self.put_audited(
            &self.profiles,
            id.as_bytes(),
            &json_bytes(profile)?,
            &AuditEntry::now("profile", id, None),
        )
    }

    fn get_profile(&self, id: &str) -> Result<Option<Map<String, Value>>, StoreError> {
        self.profiles.get(id.as_bytes())?.map(|b| from_json(&b, "profile")).transpose()
    }

    fn audit_log(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit.iter().values().map(|v| from_json(&v?, "audit entry")).collect()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.make_durable()
    }

    fn allocate_status_index(
        &self,
        key: &str,
        purpose: &str,
        size: u32,
        credential_id: &str,
    ) -> Result<(StatusListMeta, u32), StoreError> {
        let _guard = self.allocation_lock.lock().unwrap_or_else(|p| p.into_inner());
        let current_key = format!("{key}|{purpose}");
        let current: Option<StatusListMeta> = match self.status_current.get(current_key.as_bytes())? {
            Some(id) => self.status_lists.get(&id)?.map(|b| from_json(&b, "status list")).transpose()?,
            None => None,
        };
        let list = match current {
            Some(meta) if meta.used < meta.size => meta,
            _ => StatusListMeta {
                id: uuid::Uuid::new_v4().simple().to_string(),
                key: key.to_string(),
                purpose: purpose.to_string(),
                size,
                used: 0,
                created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            },
        };
        // Herd privacy: start at a random index and take the first unused one from there.
        let start = rand::random::<u32>() % list.size;
        let mut index = None;
        for step in 0..list.size {
            let candidate = (start + step) % list.size;
            if !self.status_used.contains_key(index_key(&list.id, candidate))? {
                index = Some(candidate);
                break;
            }
        }
        let index = index.ok_or_else(|| {
            StoreError::Corrupt(format!("status list {} is full but marked otherwise", list.id))
        })?;
        let slot = index_key(&list.id, index);
        let corrupt = |detail: String| ConflictableTransactionError::Abort(StoreError::Corrupt(detail));
        let _gate = self.gate();
        // The metadata is read again and updated inside the transaction: whatever else changed
        // it since the read above is kept, never overwritten with an older copy.
        let meta = (&self.status_lists, &self.status_current, &self.status_used)
            .transaction(|(lists, current, used)| {
                let mut meta = match lists.get(list.id.as_bytes())? {
                    Some(bytes) => serde_json::from_slice::<StatusListMeta>(&bytes)
                        .map_err(|e| corrupt(format!("status list {}: {e}", list.id)))?,
                    None => list.clone(),
                };
                if meta.used >= meta.size || used.get(slot.as_slice())?.is_some() {
                    return Err(corrupt(format!("status list {}: index {index} is not free", list.id)));
                }
                meta.used += 1;
                let meta_bytes = serde_json::to_vec(&meta).map_err(|e| corrupt(e.to_string()))?;
                lists.insert(list.id.as_bytes(), meta_bytes)?;
                current.insert(current_key.as_bytes(), list.id.as_bytes())?;
                used.insert(slot.as_slice(), credential_id.as_bytes())?;
                Ok(meta)
            })
            .map_err(transaction_error)?;
        Ok((meta, index))
    }

    fn set_status_bit(
        &self,
        list_id: &str,
        index: u32,
        value: bool,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let audit_bytes = json_bytes(audit)?;
        let audit_key = self.next_sequence()?;
        let bit_key = index_key(list_id, index);
        let gate = self.gate();
        // Only the bit and the audit entry are written: a list's metadata has no part in its
        // bits, so a flip and an allocation cannot undo each other.
        let previous = (&self.status_lists, &self.status_bits, &self.audit)
            .transaction(|(lists, bits, log)| {
                if lists.get(list_id.as_bytes())?.is_none() {
                    return Err(ConflictableTransactionError::Abort(StoreError::Corrupt(format!(
                        "no status list {list_id}"
                    ))));
                }
                let previous = bits.get(bit_key.as_slice())?.is_some();
                if previous != value {
                    if value {
                        bits.insert(bit_key.as_slice(), &[] as &[u8])?;
                    } else {
                        bits.remove(bit_key.as_slice())?;
                    }
                }
                log.insert(&audit_key, audit_bytes.as_slice())?;
                Ok(previous)
            })
            .map_err(transaction_error)?;
        drop(gate);
        self.make_durable()?;
        Ok(previous)
    }

    fn status_bit(&self, list_id: &str, index: u32) -> Result<bool, StoreError> {
        Ok(self.status_bits.contains_key(index_key(list_id, index))?)
    }

    fn status_list(&self, list_id: &str) -> Result<Option<(StatusListMeta, Vec<u8>)>, StoreError> {
        let Some(meta_bytes) = self.status_lists.get(list_id.as_bytes())? else { return Ok(None) };
        let meta: StatusListMeta = from_json(&meta_bytes, "status list")?;
        let mut bits = vec![0u8; meta.size.div_ceil(8) as usize];
        for item in self.status_bits.scan_prefix(format!("{list_id}:").as_bytes()).keys() {
            let key = item?;
            let raw: [u8; 4] =
                key[key.len() - 4..].try_into().map_err(|_| StoreError::Corrupt("bad status key".into()))?;
            let index = u32::from_be_bytes(raw) as usize;
            if index < meta.size as usize {
                crate::codec::bits::write_bit(&mut bits, index, true);
            }
        }
        Ok(Some((meta, bits)))
    }

    fn cached_list_credential(&self, list_id: &str, fingerprint: &str) -> Result<Option<Value>, StoreError> {
        let Some(bytes) = self.status_signed.get(list_id.as_bytes())? else { return Ok(None) };
        let cached: Value = from_json(&bytes, "signed status list")?;
        // Entries written before fingerprints (keyed by a version number) never match.
        Ok((cached.get("fingerprint").and_then(Value::as_str) == Some(fingerprint))
            .then(|| cached["credential"].clone()))
    }

    fn put_image(&self, key: &str, content_type: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let mut value = Vec::with_capacity(content_type.len() + 1 + bytes.len());
        value.extend_from_slice(content_type.as_bytes());
        value.push(0);
        value.extend_from_slice(bytes);
        let detail = serde_json::json!({"contentType": content_type, "bytes": bytes.len()});
        self.put_audited(&self.images, key.as_bytes(), &value, &AuditEntry::now("image", key, Some(detail)))
    }

    fn put_meta_audited(&self, name: &str, value: &str, audit: &AuditEntry) -> Result<(), StoreError> {
        self.put_audited(&self.meta, name.as_bytes(), value.as_bytes(), audit)
    }

    fn put_document(
        &self,
        kind: &str,
        id: &str,
        document: &Value,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        self.put_audited(&self.documents, &document_key(kind, id), &json_bytes(document)?, audit)
    }

    fn insert_document(
        &self,
        kind: &str,
        id: &str,
        document: &Value,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let batch = Batch {
            puts: vec![(kind.to_string(), id.to_string(), document.clone())],
            insert_only: true,
            ..Batch::default()
        };
        self.commit(&batch, audit)
    }

    fn get_document(&self, kind: &str, id: &str) -> Result<Option<Value>, StoreError> {
        self.documents.get(document_key(kind, id))?.map(|b| from_json(&b, "document")).transpose()
    }

    fn count_documents(&self, kind: &str) -> Result<usize, StoreError> {
        let mut count = 0;
        for key in self.documents.scan_prefix(document_key(kind, "")).keys() {
            key?;
            count += 1;
        }
        Ok(count)
    }

    fn list_documents(&self, kind: &str) -> Result<Vec<(String, Value)>, StoreError> {
        let prefix = document_key(kind, "");
        let mut out = Vec::new();
        for item in self.documents.scan_prefix(&prefix) {
            let (key, value) = item?;
            let id = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            out.push((id, from_json(&value, "document")?));
        }
        Ok(out)
    }

    fn commit(&self, batch: &Batch, audit: &AuditEntry) -> Result<bool, StoreError> {
        let puts: Vec<(Vec<u8>, Vec<u8>)> = batch
            .puts
            .iter()
            .map(|(kind, id, document)| Ok((document_key(kind, id), json_bytes(document)?)))
            .collect::<Result<_, StoreError>>()?;
        let deletes: Vec<Vec<u8>> = batch.deletes.iter().map(|(kind, id)| document_key(kind, id)).collect();
        let mut credentials = Vec::with_capacity(batch.credentials.len());
        for record in &batch.credentials {
            let audit =
                AuditEntry::now("issue", &record.id, Some(serde_json::json!({"format": record.format})));
            credentials.push((
                record,
                json_bytes(record)?,
                json_bytes(&audit)?,
                self.next_sequence()?,
                self.next_sequence()?,
            ));
        }
        let audit_bytes = json_bytes(audit)?;
        let audit_key = self.next_sequence()?;
        let gate = self.gate();
        let written = (&self.credentials, &self.issue_order, &self.documents, &self.audit)
            .transaction(|(stored, order, documents, log)| {
                if batch.insert_only {
                    for (key, _) in &puts {
                        if documents.get(key)?.is_some() {
                            return Ok(false);
                        }
                    }
                }
                for (record, bytes, issue_audit, order_key, issue_audit_key) in &credentials {
                    if stored.get(record.id.as_bytes())?.is_some() {
                        return Err(ConflictableTransactionError::Abort(StoreError::Duplicate(
                            record.id.clone(),
                        )));
                    }
                    stored.insert(record.id.as_bytes(), bytes.as_slice())?;
                    order.insert(order_key, record.id.as_bytes())?;
                    log.insert(issue_audit_key, issue_audit.as_slice())?;
                }
                for (key, value) in &puts {
                    documents.insert(key.as_slice(), value.as_slice())?;
                }
                for key in &deletes {
                    documents.remove(key.as_slice())?;
                }
                log.insert(&audit_key, audit_bytes.as_slice())?;
                Ok::<bool, ConflictableTransactionError<StoreError>>(true)
            })
            .map_err(transaction_error)?;
        drop(gate);
        if written {
            self.make_durable()?;
        }
        Ok(written)
    }

    fn delete_document(&self, kind: &str, id: &str, audit: &AuditEntry) -> Result<bool, StoreError> {
        let key = document_key(kind, id);
        let audit_bytes = json_bytes(audit)?;
        let audit_key = self.next_sequence()?;
        let gate = self.gate();
        let removed = (&self.documents, &self.audit)
            .transaction(|(documents, log)| {
                let removed = documents.remove(key.as_slice())?.is_some();
                if removed {
                    log.insert(&audit_key, audit_bytes.as_slice())?;
                }
                Ok::<bool, ConflictableTransactionError<StoreError>>(removed)
            })
            .map_err(transaction_error)?;
        drop(gate);
        if removed {
            self.make_durable()?;
        }
        Ok(removed)
    }

    fn get_image(&self, key: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let Some(value) = self.images.get(key.as_bytes())? else { return Ok(None) };
        let split =
            value.iter().position(|&b| b == 0).ok_or_else(|| StoreError::Corrupt("image record".into()))?;
        Ok(Some((String::from_utf8_lossy(&value[..split]).into_owned(), value[split + 1..].to_vec())))
    }

    fn backup(&self, dest: &Path) -> Result<BackupReport, StoreError> {
        let started = std::time::Instant::now();
        let trees = self.snapshot()?;
        let writes_paused_ms = started.elapsed().as_millis() as u64;
        let manifest = super::backup::write_backup(dest, &trees)?;
        Ok(BackupReport {
            dir: dest.display().to_string(),
            created: manifest.created,
            records: manifest.trees.iter().map(|t| t.records).sum(),
            bytes: manifest.trees.iter().map(|t| t.bytes).sum(),
            writes_paused_ms,
            total_ms: started.elapsed().as_millis() as u64,
            trees: manifest.trees,
        })
    }

    fn cache_list_credential(
        &self,
        list_id: &str,
        fingerprint: &str,
        credential: &Value,
    ) -> Result<(), StoreError> {
        // A cache: losing it in a crash only costs a re-signature. Readers racing here may leave
        // either one's entry; each names its own bits, so neither is ever served for others.
        let _gate = self.gate();
        self.status_signed.insert(
            list_id.as_bytes(),
            json_bytes(&serde_json::json!({"fingerprint": fingerprint, "credential": credential}))?,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyType;

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("laurel-store-{}", uuid::Uuid::new_v4()))
    }

    /// Opens a database a dropped store had open. sled releases its file lock when its
    /// background threads let go of the files, a moment after the last handle is dropped; on a
    /// loaded machine that moment can come after the next open.
    fn reopen(dir: &Path) -> SledStore {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match SledStore::open(dir) {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                result => return result.unwrap(),
            }
        }
    }

    fn record(id: &str) -> CredentialRecord {
        CredentialRecord {
            id: id.into(),
            issued_at: "2026-01-01T00:00:00Z".into(),
            format: "eddsa-rdfc-2022".into(),
            issuer: "did:key:z".into(),
            recipient: Some("did:example:r".into()),
            credential: serde_json::json!({"id": id}),
            status: None,
        }
    }

    #[test]
    fn credentials_keys_and_audit_survive_reopen() {
        let dir = temp_dir();
        let key = KeyPair::generate(KeyType::Ed25519).unwrap();
        {
            let store = SledStore::open(&dir).unwrap();
            store.put("issuer", &key).unwrap();
            store.insert_credential(&record("urn:1")).unwrap();
            store.insert_credential(&record("urn:2")).unwrap();
            assert!(matches!(store.insert_credential(&record("urn:1")), Err(StoreError::Duplicate(_))));
        }
        let store = reopen(&dir);
        assert_eq!(store.get("issuer").unwrap().did(), key.did());
        assert_eq!(store.get_credential("urn:2").unwrap().unwrap(), record("urn:2"));
        let (page, total) = store.list_credentials(1, 10).unwrap();
        assert_eq!((page.len(), total, page[0].id.as_str()), (1, 2, "urn:2"));
        assert_eq!(store.audit_log().unwrap().len(), 2);
        drop(store);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn passes_the_store_conformance_suite() {
        let dir = temp_dir();
        crate::store::conformance::run_all(&SledStore::open(&dir).unwrap());
        std::fs::remove_dir_all(dir).ok();
        let dir = temp_dir();
        crate::store::conformance::run_durability(&|| Box::new(reopen(&dir)));
        std::fs::remove_dir_all(dir).ok();
    }

    fn audit() -> AuditEntry {
        AuditEntry::now("revoke", "urn:test", None)
    }

    #[test]
    fn a_cached_list_is_served_only_for_the_bits_it_was_made_from() {
        let dir = temp_dir();
        let store = SledStore::open(&dir).unwrap();
        let (list, _) = store.allocate_status_index("issuer", "revocation", 131_072, "urn:1").unwrap();
        let signed = serde_json::json!({"signed": true});
        store.cache_list_credential(&list.id, "fingerprint-a", &signed).unwrap();
        assert_eq!(store.cached_list_credential(&list.id, "fingerprint-a").unwrap(), Some(signed));
        assert_eq!(store.cached_list_credential(&list.id, "fingerprint-b").unwrap(), None);
        // An entry an older version keyed by a version number is never served: it is re-signed.
        store
            .status_signed
            .insert(list.id.as_bytes(), br#"{"version": 0, "credential": {"stale": true}}"#.as_slice())
            .unwrap();
        assert_eq!(store.cached_list_credential(&list.id, "0").unwrap(), None);
        drop(store);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn concurrent_allocations_and_flips_lose_nothing() {
        let dir = temp_dir();
        let store = std::sync::Arc::new(SledStore::open(&dir).unwrap());
        let first: Vec<(String, u32)> = (0..40)
            .map(|n| {
                let (list, index) = store
                    .allocate_status_index("issuer", "revocation", 131_072, &format!("urn:a{n}"))
                    .unwrap();
                (list.id, index)
            })
            .collect();
        let mut threads = Vec::new();
        for t in 0..4 {
            let store = store.clone();
            threads.push(std::thread::spawn(move || {
                for n in 0..25 {
                    store
                        .allocate_status_index("issuer", "revocation", 131_072, &format!("urn:b{t}-{n}"))
                        .unwrap();
                }
            }));
        }
        for part in first.chunks(10) {
            let (store, part) = (store.clone(), part.to_vec());
            threads.push(std::thread::spawn(move || {
                for (list, index) in part {
                    assert!(!store.set_status_bit(&list, index, true, &audit()).unwrap());
                }
            }));
        }
        threads.into_iter().for_each(|t| t.join().unwrap());
        let (meta, bits) = store.status_list(&first[0].0).unwrap().unwrap();
        assert_eq!(meta.used, 140);
        for (_, index) in &first {
            assert_eq!(crate::codec::bits::read_entry(&bits, *index as usize, 1), Some(1), "index {index}");
        }
        drop(store);
        std::fs::remove_dir_all(dir).ok();
    }

    fn passphrase(text: &str) -> Passphrase {
        zeroize::Zeroizing::new(text.as_bytes().to_vec())
    }

    #[test]
    fn keys_are_sealed_with_a_passphrase_and_refused_without_it() {
        let dir = temp_dir();
        let plain = KeyPair::generate(KeyType::Ed25519).unwrap();
        let d = plain.private_jwk()["d"].as_str().unwrap().to_string();
        {
            // A key stored in the clear is sealed on the first open with a passphrase.
            let store = SledStore::open(&dir).unwrap();
            store.put("issuer", &plain).unwrap();
        }
        let later = KeyPair::generate(KeyType::P256).unwrap();
        {
            let store = reopen_with(&dir, Some("correct horse")).unwrap();
            let raw = store.keys.get("issuer").unwrap().unwrap();
            assert!(!String::from_utf8_lossy(&raw).contains(&d));
            assert!(String::from_utf8_lossy(&raw).contains("argon2id+xchacha20poly1305"));
            assert_eq!(store.get("issuer").unwrap().did(), plain.did());
            store.put("second", &later).unwrap();
            store.insert_credential(&record("urn:1")).unwrap();
        }
        {
            let store = reopen_with(&dir, None).unwrap();
            assert!(matches!(store.get("issuer"), Err(KeyError::Sealed(_))));
            assert!(matches!(store.put("third", &later), Err(KeyError::Sealed(_))));
            // Public facts and everything else stay readable.
            let listed: Vec<String> = store.list().unwrap().into_iter().map(|k| k.did).collect();
            assert_eq!(listed, vec![plain.did(), later.did()]);
            assert!(store.get_credential("urn:1").unwrap().is_some());
        }
        let wrong = reopen_with(&dir, Some("wrong horse"));
        assert!(matches!(wrong, Err(StoreError::Key(KeyError::WrongPassphrase))), "{:?}", wrong.err());
        let store = reopen_with(&dir, Some("correct horse")).unwrap();
        assert_eq!(store.get("second").unwrap().did(), later.did());
        drop(store);
        std::fs::remove_dir_all(dir).ok();
    }

    fn reopen_with(dir: &Path, text: Option<&str>) -> Result<SledStore, StoreError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let passphrase = text.map(passphrase);
        loop {
            match SledStore::open_with(dir, passphrase.as_ref()) {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                result => return result,
            }
        }
    }

    #[test]
    fn a_backup_restores_every_tree_and_an_occupied_folder_needs_force() {
        let (source, target) = (temp_dir(), temp_dir());
        let backup = temp_dir().join("backup");
        let key = KeyPair::generate(KeyType::Ed25519).unwrap();
        let store = SledStore::open(&source).unwrap();
        store.put("issuer", &key).unwrap();
        store.insert_credential(&record("urn:1")).unwrap();
        let (list, index) = store.allocate_status_index("issuer", "revocation", 131_072, "urn:1").unwrap();
        store.set_status_bit(&list.id, index, true, &audit()).unwrap();
        let report = store.backup(&backup).unwrap();
        assert_eq!(report.trees.len(), TREES.len());
        let before = store.snapshot().unwrap();
        drop(store);

        let restored = SledStore::restore(&target, &backup, false).unwrap();
        assert_eq!((restored.records, restored.previous_moved_to), (report.records, None));
        let store = reopen(&target);
        assert_eq!(store.snapshot().unwrap(), before);
        assert_eq!(store.get("issuer").unwrap().did(), key.did());
        assert!(store.status_bit(&list.id, index).unwrap());
        drop(store);
        // The target now holds a database: refused, then moved aside with force.
        let refused = SledStore::restore(&target, &backup, false).unwrap_err().to_string();
        assert!(refused.contains("--force"), "{refused}");
        let forced = retry_locked(|| SledStore::restore(&target, &backup, true));
        let aside = PathBuf::from(forced.previous_moved_to.unwrap());
        assert!(aside.join("conf").exists() || aside.read_dir().unwrap().next().is_some());
        for dir in [source, target, backup] {
            std::fs::remove_dir_all(dir).ok();
        }
    }

    fn retry_locked<T>(action: impl Fn() -> Result<T, StoreError>) -> T {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match action() {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                result => return result.unwrap(),
            }
        }
    }

    #[test]
    fn a_second_open_of_the_same_database_is_a_clear_error() {
        let dir = temp_dir();
        let _first = SledStore::open(&dir).unwrap();
        let second = SledStore::open(&dir);
        assert!(matches!(second, Err(StoreError::Locked { .. })), "{:?}", second.err());
    }
}
