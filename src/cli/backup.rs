//! `laurel backup DIR` (through the running server when one holds the data folder) and
//! `laurel restore DIR` (only with the server stopped).

use super::*;

pub(super) async fn run_backup(data: &Path, server: Option<&str>, dir: &Path) -> Result<i32, CliError> {
    // The server resolves paths on its own machine: send it an absolute one.
    let dir = std::path::absolute(dir).map_err(|e| CliError::Input(format!("{}: {e}", dir.display())))?;
    let report = Backend::open(data, server).await?.backup(&dir).await?;
    out!("{}", serde_json::to_string_pretty(&report).unwrap_or_default())?;
    Ok(0)
}

pub(super) fn run_restore(data: &Path, dir: &Path, force: bool) -> Result<i32, CliError> {
    let report = crate::store::SledStore::restore(data, dir, force).map_err(|e| match e {
        crate::store::StoreError::Locked { .. } => {
            CliError::Input(format!("{e}; stop the server before restoring (restore replaces its database)"))
        }
        other => CliError::Input(other.to_string()),
    })?;
    out!("{}", serde_json::to_string_pretty(&report).unwrap_or_default())?;
    Ok(0)
}
