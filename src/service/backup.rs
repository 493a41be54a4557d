//! Backups of everything the service keeps, taken while it runs.

use super::*;

impl Service {
    /// Writes a consistent backup of the store to the new directory `dest` (an absolute path
    /// on the machine the service runs on). Private keys are copied as stored: sealed when
    /// sealing is on, in the clear otherwise.
    pub fn backup(&self, dest: &std::path::Path) -> Result<crate::store::BackupReport, ServiceError> {
        if !dest.is_absolute() {
            return Err(ServiceError::bad(format!(
                "the backup directory must be an absolute path on the server's machine, not {:?}",
                dest.display().to_string()
            )));
        }
        let report = durable(|| self.store.backup(dest)).map_err(|e| match e {
            StoreError::Backup(detail) => ServiceError::bad(detail),
            other => ServiceError::from(other),
        })?;
        tracing::info!(dir = %report.dir, records = report.records, ms = report.total_ms, "backup written");
        Ok(report)
    }
}
