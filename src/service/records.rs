//! The issuer's records of what it issued: one credential with its current status, and the
//! filtered listing (JSON or CSV) that `GET /credentials` and `laurel credentials` share.
//!
//! Every field a filter or a column reads comes from the credential Laurel itself signed (the
//! stored secured form), so a record and the badge a verifier sees never disagree.

use super::*;

/// What a record's status entries say now, read from the committed status bits.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CurrentStatus {
    /// `active`, `revoked`, `suspended` or `expired` (revoked wins over suspended, both over expired).
    pub state: &'static str,
    pub revoked: bool,
    pub suspended: bool,
    pub expired: bool,
    /// Whether the credential carries a status entry Laurel manages (else it cannot be revoked here).
    pub managed: bool,
}

/// The states a listing can be filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateFilter {
    Active,
    Revoked,
    Suspended,
    Expired,
}

impl std::str::FromStr for StateFilter {
    type Err = String;

    /// `active`, `revoked`, `suspended` or `expired` (the CLI's `--status`).
    fn from_str(text: &str) -> Result<StateFilter, String> {
        serde_json::from_value(Value::String(text.to_string()))
            .map_err(|_| format!("{text:?} is not one of active, revoked, suspended, expired"))
    }
}

/// A records query. Unknown parameters are refused (a misspelt filter silently ignored would
/// list everything, which is how `?recipient=` was ignored before).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialQuery {
    /// A subject DID/URL, or an email (or other identifier) compared with the hashed identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// The achievement's id, or its exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub achievement: Option<String>,
    /// The current state: active, revoked, suspended or expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StateFilter>,
    /// Issued at or after (RFC 3339, or a date `YYYY-MM-DD` meaning its start, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_after: Option<String>,
    /// Issued before (RFC 3339, or a date meaning its start, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_before: Option<String>,
    /// Records to skip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// Records per page (1-1000, default 50; a CSV export lists every match unless given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// The default and largest page of a JSON listing; CSV exports are not paged unless asked.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 1000;

/// One listed record: the stored record, its achievement and its current status.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    #[serde(flatten)]
    pub record: CredentialRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub achievement: Option<AchievementRef>,
    pub current_status: CurrentStatus,
    /// The signed `validUntil`, for the CSV export (the JSON record carries the credential).
    #[serde(skip)]
    pub valid_until: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AchievementRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A page of matching records.
#[derive(Debug, Clone, Serialize)]
pub struct RecordPage {
    /// Records matching the filters (all pages).
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub credentials: Vec<RecordView>,
}

/// The CSV export's columns, in order.
pub const CSV_COLUMNS: [&str; 9] = [
    "id",
    "issued_at",
    "format",
    "issuer",
    "recipient",
    "achievement_id",
    "achievement_name",
    "status",
    "valid_until",
];

/// The parts of a [`RecordView`] besides the record.
struct Derived {
    achievement: Option<AchievementRef>,
    current_status: CurrentStatus,
    valid_until: Option<String>,
}

impl Derived {
    fn into_view(self, record: CredentialRecord) -> RecordView {
        let Derived { achievement, current_status, valid_until } = self;
        RecordView { record, achievement, current_status, valid_until }
    }
}

struct Filters {
    query: CredentialQuery,
    after: Option<chrono::DateTime<chrono::Utc>>,
    before: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse_instant(name: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>, ServiceError> {
    if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|date| date.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| {
            ServiceError::bad(format!(
                "{name} must be an RFC 3339 date-time or a date YYYY-MM-DD, not {text:?}"
            ))
        })
}

impl Service {
    /// One record with its current status (404 when Laurel did not issue it).
    pub fn credential_view(&self, id: &str) -> Result<RecordView, ServiceError> {
        let record = self.credential(id)?;
        self.view(record)
    }

    /// The records matching `query`, newest last (issue order), one page of them.
    pub fn query_credentials(&self, query: CredentialQuery) -> Result<RecordPage, ServiceError> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ServiceError::bad(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let offset = query.offset.unwrap_or(0);
        let (total, credentials) = self.matching(query, offset, limit)?;
        Ok(RecordPage { total, offset, limit, credentials })
    }

    /// The records matching `query` as CSV (RFC 4180, a header row, CRLF line ends). Every
    /// record matches unless `limit` is given. Cells that a spreadsheet would run as a formula
    /// (`=`, `+`, `-`, `@`, tab, CR first) are prefixed with `'`: credential data is written by
    /// whoever asked for the badge.
    pub fn export_credentials_csv(&self, query: CredentialQuery) -> Result<String, ServiceError> {
        let offset = query.offset.unwrap_or(0);
        let limit = query.limit.unwrap_or(usize::MAX);
        let (_, records) = self.matching(query, offset, limit)?;
        let mut out = String::new();
        push_csv_row(&mut out, CSV_COLUMNS.iter().copied());
        for view in &records {
            let achievement = view.achievement.clone().unwrap_or(AchievementRef { id: None, name: None });
            push_csv_row(
                &mut out,
                [
                    view.record.id.as_str(),
                    view.record.issued_at.as_str(),
                    view.record.format.as_str(),
                    view.record.issuer.as_str(),
                    view.record.recipient.as_deref().unwrap_or(""),
                    achievement.id.as_deref().unwrap_or(""),
                    achievement.name.as_deref().unwrap_or(""),
                    view.current_status.state,
                    view.valid_until.as_deref().unwrap_or(""),
                ],
            );
        }
        Ok(out)
    }

    /// Scans the records in issue order and keeps those that match. The scan reads every
    /// record: fine for the embedded store's scale (measured in the issue note); an indexed
    /// query belongs to the database store.
    fn matching(
        &self,
        query: CredentialQuery,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<RecordView>), ServiceError> {
        let filters = Filters {
            after: query.issued_after.as_deref().map(|t| parse_instant("issuedAfter", t)).transpose()?,
            before: query.issued_before.as_deref().map(|t| parse_instant("issuedBefore", t)).transpose()?,
            query,
        };
        let unfiltered = filters.after.is_none()
            && filters.before.is_none()
            && filters.query.recipient.is_none()
            && filters.query.achievement.is_none()
            && filters.query.status.is_none();
        if unfiltered {
            // Every record matches: read only the page (a store after a bulk award of 100,000
            // badges took 18 s to list its first page when every record was read).
            let (records, total) = self.store.list_credentials(offset, limit)?;
            let page = records.into_iter().map(|record| self.view(record)).collect::<Result<_, _>>()?;
            return Ok((total, page));
        }
        const BATCH: usize = 500;
        let mut matched = 0usize;
        let mut page = Vec::new();
        let mut at = 0usize;
        loop {
            let (records, total) = self.store.list_credentials(at, BATCH)?;
            let fetched = records.len();
            for record in records {
                if let Some(view) = self.matches(&filters, record)? {
                    if matched >= offset && page.len() < limit {
                        page.push(view);
                    }
                    matched += 1;
                }
            }
            at += fetched;
            if fetched == 0 || at >= total {
                break;
            }
        }
        Ok((matched, page))
    }

    fn matches(
        &self,
        filters: &Filters,
        record: CredentialRecord,
    ) -> Result<Option<RecordView>, ServiceError> {
        let issued_at = chrono::DateTime::parse_from_rfc3339(&record.issued_at)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| ServiceError::Internal(format!("stored issue time {:?}: {e}", record.issued_at)))?;
        if filters.after.is_some_and(|after| issued_at < after)
            || filters.before.is_some_and(|before| issued_at >= before)
        {
            return Ok(None);
        }
        // Decoded once per record (a JWT record is a base64 payload): every filter and the view
        // read this one value.
        let credential = crate::credential::proofs::credential_of(&record.credential);
        if let Some(recipient) = &filters.query.recipient {
            let named = credential
                .as_deref()
                .is_some_and(|c| crate::credential::verify::recipient_match(c, recipient.trim()).matched);
            if !named {
                return Ok(None);
            }
        }
        let derived = self.derive(&record, credential.as_deref())?;
        drop(credential);
        let view = derived.into_view(record);
        if let Some(wanted) = &filters.query.achievement {
            let hit = view
                .achievement
                .as_ref()
                .is_some_and(|a| a.id.as_deref() == Some(wanted) || a.name.as_deref() == Some(wanted));
            if !hit {
                return Ok(None);
            }
        }
        if let Some(state) = filters.query.status {
            let current = &view.current_status;
            let hit = match state {
                StateFilter::Active => current.state == "active",
                StateFilter::Revoked => current.revoked,
                StateFilter::Suspended => current.suspended,
                StateFilter::Expired => current.expired,
            };
            if !hit {
                return Ok(None);
            }
        }
        Ok(Some(view))
    }

    fn view(&self, record: CredentialRecord) -> Result<RecordView, ServiceError> {
        let credential = crate::credential::proofs::credential_of(&record.credential);
        let derived = self.derive(&record, credential.as_deref())?;
        drop(credential);
        Ok(derived.into_view(record))
    }

    /// What a record's view adds to it, read from its signed `credential`.
    fn derive(&self, record: &CredentialRecord, credential: Option<&Value>) -> Result<Derived, ServiceError> {
        let achievement = credential.and_then(model::first_achievement).map(|achievement| {
            let text = |key: &str| achievement.get(key).and_then(Value::as_str).map(str::to_string);
            AchievementRef { id: text("id"), name: text("name") }
        });
        let valid_until =
            credential.and_then(|c| c.get("validUntil")).and_then(Value::as_str).map(str::to_string);
        let current_status = self.current_status(record, credential)?;
        Ok(Derived { achievement, current_status, valid_until })
    }

    /// Reads the committed bit of each status entry Laurel manages for `record`.
    pub fn current_status(
        &self,
        record: &CredentialRecord,
        credential: Option<&Value>,
    ) -> Result<CurrentStatus, ServiceError> {
        let entries: Vec<&Value> = match &record.status {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
            None => vec![],
        };
        let (mut revoked, mut suspended) = (false, false);
        for entry in &entries {
            let list_id = entry
                .get("statusListCredential")
                .and_then(Value::as_str)
                .and_then(|url| url.rsplit('/').next())
                .unwrap_or_default();
            let Some(index) =
                entry.get("statusListIndex").and_then(Value::as_str).and_then(|s| s.parse::<u32>().ok())
            else {
                return Err(ServiceError::Internal(format!(
                    "stored status entry of {:?} is malformed",
                    record.id
                )));
            };
            let set = self.store.status_bit(list_id, index)?;
            match entry.get("statusPurpose").and_then(Value::as_str) {
                Some("revocation") => revoked |= set,
                Some("suspension") => suspended |= set,
                _ => {}
            }
        }
        let expired = credential
            .and_then(|c| c.get("validUntil").or_else(|| c.get("expirationDate")))
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|until| until < chrono::Utc::now());
        let state = if revoked {
            "revoked"
        } else if suspended {
            "suspended"
        } else if expired {
            "expired"
        } else {
            "active"
        };
        Ok(CurrentStatus { state, revoked, suspended, expired, managed: !entries.is_empty() })
    }
}

fn push_csv_row<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_cell(cell));
    }
    out.push_str("\r\n");
}

/// One CSV cell, quoted when it needs to be, defused when a spreadsheet would evaluate it.
fn csv_cell(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn dates_and_date_times_are_both_accepted_and_garbage_is_named() {
        assert_eq!(
            parse_instant("issuedAfter", "2026-01-02").unwrap().to_rfc3339(),
            "2026-01-02T00:00:00+00:00"
        );
        assert!(parse_instant("issuedAfter", "2026-01-02T03:04:05Z").is_ok());
        let error = parse_instant("issuedAfter", "yesterday").unwrap_err().to_string();
        assert!(error.contains("issuedAfter") && error.contains("yesterday"), "{error}");
    }
}
