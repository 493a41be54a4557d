//! Award rows from a spreadsheet: CSV (RFC 4180 through the `csv` crate: quoted fields with
//! commas and newlines, UTF-8 with or without a BOM, headers matched case-insensitively) or
//! JSON Lines, read as a stream so a file of any size costs one row of memory. Each row is
//! checked for what can be told from the row alone (recipient, dates, score, URLs); whether
//! its achievement exists is the service's question.

use std::io::{BufRead, BufReader, Read};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Columns a row may have; `achievement` and a recipient (`email` and/or `did`) are required.
pub const COLUMNS: &[&str] = &[
    "email",
    "did",
    "name",
    "achievement",
    "issued_on",
    "valid_until",
    "evidence_url",
    "evidence_narrative",
    "score",
    "row_id",
];

/// A longest field: a spreadsheet cell is not a document.
const MAX_FIELD_BYTES: usize = 8 * 1024;

/// One award to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwardRow {
    /// Line of the file where the row starts (1 is the header of a CSV file).
    pub line: u64,
    /// The row's idempotency key: its `row_id`, else a hash of its fields.
    pub row_id: String,
    pub email: Option<String>,
    pub did: Option<String>,
    pub name: Option<String>,
    pub achievement: String,
    /// RFC 3339 (a date alone is its midnight UTC).
    pub issued_on: Option<String>,
    pub valid_until: Option<String>,
    pub evidence_url: Option<String>,
    pub evidence_narrative: Option<String>,
    pub score: Option<f64>,
}

/// Why a row cannot be awarded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowProblem {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_id: Option<String>,
    pub reason: String,
}

impl RowProblem {
    fn new(line: u64, row_id: Option<String>, reason: impl Into<String>) -> RowProblem {
        RowProblem { line, row_id, reason: reason.into() }
    }
}

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFormat {
    Csv,
    JsonLines,
}

impl RowFormat {
    /// By file name (`.jsonl`, `.ndjson`) or media type (`application/jsonl`,
    /// `application/x-ndjson`); CSV otherwise.
    pub fn guess(name_or_media_type: &str) -> RowFormat {
        let n = name_or_media_type.to_ascii_lowercase();
        if n.ends_with(".jsonl") || n.ends_with(".ndjson") || n.contains("jsonl") || n.contains("ndjson") {
            RowFormat::JsonLines
        } else {
            RowFormat::Csv
        }
    }
}

/// The rows of `input`, one at a time: each an award or the reason it is not one. A file
/// whose header lacks a required column yields that one problem (line 1) and nothing else.
pub fn read_rows<'a, R: Read + 'a>(
    input: R,
    format: RowFormat,
) -> Box<dyn Iterator<Item = Result<AwardRow, RowProblem>> + 'a> {
    let mut reader = BufReader::new(input);
    // A UTF-8 byte order mark (spreadsheets write one) is not part of the first header.
    if reader.fill_buf().map(|b| b.starts_with(b"\xEF\xBB\xBF")).unwrap_or(false) {
        reader.consume(3);
    }
    match format {
        RowFormat::Csv => csv_rows(reader),
        RowFormat::JsonLines => Box::new(json_lines(reader)),
    }
}

fn csv_rows<'a, R: Read + 'a>(reader: R) -> Box<dyn Iterator<Item = Result<AwardRow, RowProblem>> + 'a> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(reader);
    let headers = match csv.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_ascii_lowercase()).collect::<Vec<_>>(),
        Err(e) => {
            return Box::new(std::iter::once(Err(RowProblem::new(
                1,
                None,
                format!("unreadable header: {e}"),
            ))))
        }
    };
    if let Some(problem) = missing_columns(&headers) {
        return Box::new(std::iter::once(Err(RowProblem::new(1, None, problem))));
    }
    let unknown: Vec<&String> = headers.iter().filter(|h| !COLUMNS.contains(&h.as_str())).collect();
    if !unknown.is_empty() {
        let reason = format!("unknown columns {unknown:?} (known: {})", COLUMNS.join(", "));
        return Box::new(std::iter::once(Err(RowProblem::new(1, None, reason))));
    }
    Box::new(csv.into_records().map(move |record| {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            RowProblem::new(line, None, format!("unreadable row: {e}"))
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() != headers.len() {
            return Err(RowProblem::new(
                line,
                None,
                format!("{} fields where the header has {}", record.len(), headers.len()),
            ));
        }
        let fields: Vec<(&str, &str)> = headers.iter().map(String::as_str).zip(record.iter()).collect();
        check_row(line, &fields)
    }))
}

fn json_lines<R: BufRead>(reader: R) -> impl Iterator<Item = Result<AwardRow, RowProblem>> {
    reader.lines().enumerate().filter_map(|(n, line)| {
        let number = n as u64 + 1;
        let line = match line {
            Ok(line) => line,
            Err(e) => return Some(Err(RowProblem::new(number, None, format!("unreadable line: {e}")))),
        };
        if line.trim().is_empty() {
            return None;
        }
        let object = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Some(Err(RowProblem::new(number, None, "a line must be one JSON object"))),
            Err(e) => return Some(Err(RowProblem::new(number, None, format!("not JSON: {e}")))),
        };
        let mut fields: Vec<(String, String)> = Vec::new();
        for (key, value) in &object {
            let key = key.to_ascii_lowercase();
            if !COLUMNS.contains(&key.as_str()) {
                let reason = format!("unknown field {key:?} (known: {})", COLUMNS.join(", "));
                return Some(Err(RowProblem::new(number, None, reason)));
            }
            let text = match value {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                Value::Null => String::new(),
                _ => {
                    return Some(Err(RowProblem::new(
                        number,
                        None,
                        format!("{key:?} must be a string or number"),
                    )))
                }
            };
            fields.push((key, text));
        }
        let names: Vec<String> = fields.iter().map(|(k, _)| k.clone()).collect();
        if let Some(problem) = missing_columns(&names) {
            return Some(Err(RowProblem::new(number, None, problem)));
        }
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Some(check_row(number, &borrowed))
    })
}

fn missing_columns(names: &[String]) -> Option<String> {
    let has = |c: &str| names.iter().any(|n| n == c);
    if !has("achievement") {
        return Some("missing column \"achievement\" (the achievement's catalog id)".into());
    }
    if !has("email") && !has("did") {
        return Some("missing column: a recipient needs \"email\" or \"did\"".into());
    }
    None
}

/// One row's fields (column, value) to an award, or the first reason it is not one.
fn check_row(line: u64, fields: &[(&str, &str)]) -> Result<AwardRow, RowProblem> {
    let get = |column: &str| {
        fields.iter().find(|(c, _)| *c == column).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    };
    let row_id = match get("row_id") {
        Some(id) => id.to_string(),
        None => {
            // The row's own content names it: the same row in a rerun is the same award.
            let mut hash = Sha256::new();
            for column in COLUMNS {
                hash.update(get(column).unwrap_or_default().as_bytes());
                hash.update([0]);
            }
            hex::encode(&hash.finalize()[..12])
        }
    };
    let problem = |reason: String| RowProblem::new(line, Some(row_id.clone()), reason);
    if let Some((column, _)) = fields.iter().find(|(_, v)| v.len() > MAX_FIELD_BYTES) {
        return Err(problem(format!("{column:?} is longer than {MAX_FIELD_BYTES} bytes")));
    }
    let email = get("email").map(str::to_lowercase);
    if let Some(email) = &email {
        let valid = email.len() <= 254
            && !email.contains(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            });
        if !valid {
            return Err(problem(format!("email {email:?} is not an email address")));
        }
    }
    let did = get("did").map(str::to_string);
    if let Some(did) = &did {
        let mut parts = did.splitn(3, ':');
        let valid = parts.next() == Some("did")
            && parts.next().is_some_and(|m| {
                !m.is_empty() && m.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
            && parts.next().is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
        if !valid {
            return Err(problem(format!("did {did:?} is not a DID (did:method:identifier)")));
        }
    }
    if email.is_none() && did.is_none() {
        return Err(problem("no recipient: give an email or a did".into()));
    }
    let achievement = get("achievement").ok_or_else(|| problem("no achievement".into()))?.to_string();
    let date = |column: &str| -> Result<Option<String>, RowProblem> {
        get(column)
            .map(|value| {
                rfc3339(value).ok_or_else(|| {
                    problem(format!("{column} {value:?} is not a date (YYYY-MM-DD or RFC 3339)"))
                })
            })
            .transpose()
    };
    let (issued_on, valid_until) = (date("issued_on")?, date("valid_until")?);
    if let (Some(from), Some(until)) = (&issued_on, &valid_until) {
        let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
        if parse(until) <= parse(from) {
            return Err(problem(format!("valid_until {until} is not after issued_on {from}")));
        }
    }
    let evidence_url = get("evidence_url").map(str::to_string);
    if let Some(url) = &evidence_url {
        let parsed = url::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "https" | "http"));
        if parsed.is_none() {
            return Err(problem(format!("evidence_url {url:?} is not an http(s) URL")));
        }
    }
    let score = match get("score") {
        Some(text) => match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => return Err(problem(format!("score {text:?} is not a number"))),
        },
        None => None,
    };
    Ok(AwardRow {
        line,
        row_id,
        email,
        did,
        name: get("name").map(str::to_string),
        achievement,
        issued_on,
        valid_until,
        evidence_url,
        evidence_narrative: get("evidence_narrative").map(str::to_string),
        score,
    })
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time, as RFC 3339 in UTC.
fn rfc3339(value: &str) -> Option<String> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Some(format!("{}T00:00:00Z", date.format("%Y-%m-%d")));
    }
    chrono::DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, format: RowFormat) -> Vec<Result<AwardRow, RowProblem>> {
        read_rows(text.as_bytes(), format).collect()
    }

    #[test]
    fn csv_with_bom_quotes_newlines_and_any_header_case() {
        let text = "\u{feff}Email,NAME,Achievement,Evidence_Narrative\nada@example.edu,\"Lovelace, Ada\",py-101,\"line one\nline two\"\n";
        let rows = read(text, RowFormat::Csv);
        let row = rows[0].as_ref().expect("a good row");
        assert_eq!(row.email.as_deref(), Some("ada@example.edu"));
        assert_eq!(row.name.as_deref(), Some("Lovelace, Ada"));
        assert_eq!(row.evidence_narrative.as_deref(), Some("line one\nline two"));
        assert_eq!(row.line, 2);
        assert_eq!(row.row_id.len(), 24, "a hash of the row");
    }

    #[test]
    fn every_kind_of_bad_row_is_named_with_its_line() {
        let text = "email,did,achievement,issued_on,valid_until,score,evidence_url\n\
            not-an-email,,a,,,,\n\
            ,did:bad form,a,,,,\n\
            ,,a,,,,\n\
            b@example.edu,,,,,,\n\
            c@example.edu,,a,2026-13-01,,,\n\
            d@example.edu,,a,2026-06-01,2026-05-01,,\n\
            e@example.edu,,a,,,high,\n\
            f@example.edu,,a,,,,javascript:alert(1)\n\
            g@example.edu,,a\n\
            h@example.edu,did:key:z6Mk,a,2026-06-01,2027-06-01T00:00:00+02:00,91.5,https://lms.example/e/1\n";
        let rows = read(text, RowFormat::Csv);
        let reasons: Vec<(u64, String)> =
            rows.iter().filter_map(|r| r.as_ref().err()).map(|p| (p.line, p.reason.clone())).collect();
        let expect = [
            (2, "not an email address"),
            (3, "is not a DID"),
            (4, "no recipient"),
            (5, "no achievement"),
            (6, "is not a date"),
            (7, "is not after"),
            (8, "is not a number"),
            (9, "is not an http(s) URL"),
            (10, "fields where the header has"),
        ];
        assert_eq!(reasons.len(), expect.len(), "{reasons:?}");
        for ((line, reason), (want_line, want)) in reasons.iter().zip(expect) {
            assert_eq!(*line, want_line, "{reason}");
            assert!(reason.contains(want), "line {line}: {reason}");
        }
        let good = rows.last().unwrap().as_ref().expect("the last row is good");
        assert_eq!(good.valid_until.as_deref(), Some("2027-05-31T22:00:00Z"));
        assert_eq!(good.issued_on.as_deref(), Some("2026-06-01T00:00:00Z"));
        assert_eq!(good.score, Some(91.5));
    }

    #[test]
    fn a_header_without_required_columns_is_one_problem() {
        let rows = read("name,score\nAda,90\n", RowFormat::Csv);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].as_ref().unwrap_err().reason.contains("achievement"));
        let rows = read("achievement,unknown\na,b\n", RowFormat::Csv);
        assert!(rows[0].as_ref().unwrap_err().reason.contains("email"));
    }

    #[test]
    fn json_lines_rows() {
        let text = "{\"email\": \"A@Example.edu\", \"achievement\": \"py-101\", \"score\": 88, \"row_id\": \"r-1\"}\n\n[1]\n{\"email\": \"b@example.edu\"}\n";
        let rows = read(text, RowFormat::JsonLines);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(
            (first.email.as_deref(), first.score, first.row_id.as_str()),
            (Some("a@example.edu"), Some(88.0), "r-1")
        );
        assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
        assert!(rows[2].as_ref().unwrap_err().reason.contains("achievement"));
    }

    #[test]
    fn the_same_row_has_the_same_id() {
        let a = read("email,achievement\nx@example.edu,a\n", RowFormat::Csv);
        let b = read("Achievement,EMAIL\na,x@example.edu\n", RowFormat::Csv);
        assert_eq!(a[0].as_ref().unwrap().row_id, b[0].as_ref().unwrap().row_id);
    }
}
