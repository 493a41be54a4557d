//! `laurel status` and `laurel fetch-status`: flipping a status bit in the store, fetching a list.

use super::*;

pub(super) fn run_set_status(data: &Path, id: &str, purpose: &str, value: bool) -> Result<i32, CliError> {
    let store = crate::store::SledStore::open(data).map_err(|e| match e {
        crate::store::StoreError::Locked { .. } => CliError::Input(format!(
            "{e}; while the server runs, use POST /credentials/status with the admin token"
        )),
        other => CliError::Input(other.to_string()),
    })?;
    let update = crate::service::StatusUpdate { credential_id: id.into(), purpose: purpose.into(), value };
    match crate::service::set_status(&store, &update) {
        Ok(result) => {
            out!("{}", serde_json::to_string_pretty(&result).unwrap_or_default())?;
            Ok(0)
        }
        Err(e) => Err(CliError::Input(e.to_string())),
    }
}

pub(super) async fn run_fetch_status(
    url: &str,
    cache: PathBuf,
    allow_private_network: bool,
) -> Result<i32, CliError> {
    let policy = FetchPolicy { allow_private_network, ..FetchPolicy::default() };
    let fetcher = Fetcher::new(policy, Some(cache));
    let fetched = fetcher.fetch_json(url).await.map_err(|e| CliError::Input(e.to_string()))?;
    let path = fetcher.save_to_disk(url, &fetched)?;
    out!("saved {url} to {}", path.display())?;
    Ok(0)
}
