//! `laurel revoke`, `laurel suspend` (a status update sent to the service) and `laurel
//! fetch-status` (a list saved for offline verification).

use super::*;

pub(super) async fn run_set_status(
    data: &Path,
    server: Option<&str>,
    id: &str,
    purpose: &str,
    value: bool,
) -> Result<i32, CliError> {
    let update = crate::service::StatusUpdate { credential_id: id.into(), purpose: purpose.into(), value };
    let result = Backend::open(data, server).await?.set_status(&update).await?;
    out!("{}", serde_json::to_string_pretty(&result).unwrap_or_default())?;
    Ok(0)
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
