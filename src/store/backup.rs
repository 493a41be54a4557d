//! The backup format: one file per tree and `manifest.json`.
//!
//! A tree file `<tree>.records` is a sequence of records, each a key and a value, each written
//! as a 4-byte big-endian length and the bytes. The manifest names the format and its version,
//! the Laurel version that wrote it, when, and for each tree its file, record count, byte
//! count and SHA-256. A backup is written to `DIR.tmp`, fsynced (files and directory), then
//! renamed to `DIR`: a `DIR` that exists is complete.
//!
//! Reading verifies every file against the manifest before anything is returned, so a restore
//! of a corrupt or truncated backup writes nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::StoreError;

pub const MANIFEST: &str = "manifest.json";
pub const FORMAT: &str = "laurel-backup";
pub const FORMAT_VERSION: u32 = 1;

/// Key/value records, in key order.
pub type Records = Vec<(Vec<u8>, Vec<u8>)>;
/// One tree's records.
pub type TreeDump = (String, Records);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub laurel_version: String,
    pub created: String,
    pub trees: Vec<TreeFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeFile {
    pub name: String,
    pub file: String,
    pub records: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// What a backup wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupReport {
    pub dir: String,
    pub created: String,
    pub records: u64,
    pub bytes: u64,
    /// How long writers were held back while the snapshot was read.
    pub writes_paused_ms: u64,
    pub total_ms: u64,
    pub trees: Vec<TreeFile>,
}

fn fail(detail: impl Into<String>) -> StoreError {
    StoreError::Backup(detail.into())
}

fn encode(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let size: usize = records.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
    let mut out = Vec::with_capacity(size);
    for (key, value) in records {
        for part in [key, value] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

fn decode(file: &str, mut bytes: &[u8]) -> Result<Records, StoreError> {
    let take = |bytes: &mut &[u8]| -> Result<Vec<u8>, StoreError> {
        let truncated = || fail(format!("backup file {file} is truncated"));
        let len = bytes.get(..4).ok_or_else(truncated)?;
        let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
        let part = bytes.get(4..4 + len).ok_or_else(truncated)?.to_vec();
        *bytes = &bytes[4 + len..];
        Ok(part)
    };
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let key = take(&mut bytes)?;
        let value = take(&mut bytes)?;
        records.push((key, value));
    }
    Ok(records)
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// `DIR.tmp` beside `DIR`.
fn temporary(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    dest.with_file_name(name)
}

/// Writes `trees` as a backup at `dest` (which must not exist) and returns its manifest.
pub fn write_backup(dest: &Path, trees: &[TreeDump]) -> Result<Manifest, StoreError> {
    let io = |what: &Path, e: std::io::Error| fail(format!("{}: {e}", what.display()));
    if dest.as_os_str().is_empty() || dest.file_name().is_none() {
        return Err(fail(format!("{} is not a directory name to create", dest.display())));
    }
    if dest.exists() {
        return Err(fail(format!("{} already exists; back up into a new directory", dest.display())));
    }
    let tmp = temporary(dest);
    if tmp.exists() {
        return Err(fail(format!(
            "{} exists (an interrupted backup?); remove it or choose another directory",
            tmp.display()
        )));
    }
    std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700));
    }
    let mut files = Vec::new();
    for (name, records) in trees {
        let bytes = encode(records);
        let file = format!("{name}.records");
        write_synced(&tmp.join(&file), &bytes).map_err(|e| io(&tmp.join(&file), e))?;
        files.push(TreeFile {
            name: name.clone(),
            file,
            records: records.len() as u64,
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        laurel_version: env!("CARGO_PKG_VERSION").into(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        trees: files,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| fail(e.to_string()))?;
    write_synced(&tmp.join(MANIFEST), &text).map_err(|e| io(&tmp.join(MANIFEST), e))?;
    std::fs::File::open(&tmp).and_then(|d| d.sync_all()).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, dest).map_err(|e| io(dest, e))?;
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(parent).and_then(|d| d.sync_all()).map_err(|e| io(parent, e))?;
    Ok(manifest)
}

/// Reads the backup at `dir`, verifying every tree file's size and SHA-256 against the
/// manifest first; an error names the file.
pub fn read_verified(dir: &Path) -> Result<(Manifest, Vec<TreeDump>), StoreError> {
    let manifest_path = dir.join(MANIFEST);
    let text = std::fs::read(&manifest_path).map_err(|e| {
        fail(format!("{}: {e} (is {} a laurel backup?)", manifest_path.display(), dir.display()))
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| fail(format!("{}: {e}", manifest_path.display())))?;
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        return Err(fail(format!(
            "{}: format {} version {} (this laurel reads {FORMAT} version {FORMAT_VERSION})",
            manifest_path.display(),
            manifest.format,
            manifest.format_version
        )));
    }
    let mut contents = Vec::new();
    for tree in &manifest.trees {
        let valid_name = !tree.file.is_empty()
            && tree.file.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
            && !tree.file.starts_with('.');
        if !valid_name {
            return Err(fail(format!("{}: bad file name {:?}", manifest_path.display(), tree.file)));
        }
        let path = dir.join(&tree.file);
        let bytes = std::fs::read(&path).map_err(|e| fail(format!("backup file {}: {e}", tree.file)))?;
        if bytes.len() as u64 != tree.bytes {
            return Err(fail(format!(
                "backup file {} is corrupt: {} bytes, the manifest says {}",
                tree.file,
                bytes.len(),
                tree.bytes
            )));
        }
        let digest = hex::encode(Sha256::digest(&bytes));
        if digest != tree.sha256 {
            return Err(fail(format!(
                "backup file {} is corrupt: its SHA-256 is {digest}, the manifest says {}",
                tree.file, tree.sha256
            )));
        }
        contents.push((tree, bytes));
    }
    let mut trees = Vec::new();
    for (tree, bytes) in contents {
        let records = decode(&tree.file, &bytes)?;
        if records.len() as u64 != tree.records {
            return Err(fail(format!(
                "backup file {} holds {} records, the manifest says {}",
                tree.file,
                records.len(),
                tree.records
            )));
        }
        trees.push((tree.name.clone(), records));
    }
    Ok((manifest, trees))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("laurel-backup-{}", uuid::Uuid::new_v4()))
    }

    fn sample() -> Vec<TreeDump> {
        vec![
            ("keys".into(), vec![(b"issuer".to_vec(), b"{}".to_vec())]),
            ("credentials".into(), vec![(b"urn:1".to_vec(), vec![0, 1, 2]), (b"urn:2".to_vec(), vec![])]),
            ("empty".into(), vec![]),
        ]
    }

    #[test]
    fn a_backup_reads_back_and_every_changed_byte_is_named() {
        let root = dir();
        let dest = root.join("b1");
        let manifest = write_backup(&dest, &sample()).unwrap();
        assert!(!temporary(&dest).exists());
        assert_eq!(manifest.trees.iter().map(|t| t.records).collect::<Vec<_>>(), vec![1, 2, 0]);
        let (read, trees) = read_verified(&dest).unwrap();
        assert_eq!((read, trees), (manifest, sample()));
        // An existing directory is never written into.
        assert!(write_backup(&dest, &sample()).unwrap_err().to_string().contains("already exists"));

        let file = dest.join("credentials.records");
        let original = std::fs::read(&file).unwrap();
        let mut flipped = original.clone();
        flipped[5] ^= 0x40;
        std::fs::write(&file, &flipped).unwrap();
        let error = read_verified(&dest).unwrap_err().to_string();
        assert!(error.contains("credentials.records is corrupt: its SHA-256"), "{error}");
        std::fs::write(&file, &original[..original.len() - 1]).unwrap();
        let error = read_verified(&dest).unwrap_err().to_string();
        assert!(error.contains("credentials.records is corrupt") && error.contains("bytes"), "{error}");
        std::fs::remove_file(&file).unwrap();
        assert!(read_verified(&dest).unwrap_err().to_string().contains("credentials.records"));
        std::fs::remove_dir_all(root).ok();
    }

    #[test]
    fn a_manifest_that_lies_about_a_truncated_file_is_caught() {
        let root = dir();
        let dest = root.join("b");
        write_backup(&dest, &sample()).unwrap();
        let file = dest.join("credentials.records");
        let short = std::fs::read(&file).unwrap()[..6].to_vec();
        std::fs::write(&file, &short).unwrap();
        let mut manifest: Manifest =
            serde_json::from_slice(&std::fs::read(dest.join(MANIFEST)).unwrap()).unwrap();
        manifest.trees[1].bytes = 6;
        manifest.trees[1].sha256 = hex::encode(Sha256::digest(&short));
        std::fs::write(dest.join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
        let error = read_verified(&dest).unwrap_err().to_string();
        assert!(error.contains("credentials.records is truncated"), "{error}");
        std::fs::remove_dir_all(root).ok();
    }
}
