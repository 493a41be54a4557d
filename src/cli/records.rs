//! `laurel credentials show|list`: the issuer's records, from the same service functions as
//! `GET /credentials/{id}`, `GET /credentials` and `GET /credentials.csv`.

use super::*;

use crate::service::{CredentialQuery, StateFilter};

#[derive(Subcommand, Debug)]
pub enum CredentialsCommand {
    /// One issued credential with its achievement and current status.
    Show {
        /// The credential id.
        id: String,
    },
    /// The issued credentials matching the filters, in issue order (JSON page, or CSV).
    List(ListArgs),
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// A subject DID/URL, or an email address (matched against the hashed identifier).
    #[arg(long)]
    recipient: Option<String>,
    /// The achievement's id or exact name.
    #[arg(long)]
    achievement: Option<String>,
    /// The current state: active, revoked, suspended or expired.
    #[arg(long)]
    status: Option<StateFilter>,
    /// Issued at or after: RFC 3339, or YYYY-MM-DD (its start, UTC).
    #[arg(long)]
    issued_after: Option<String>,
    /// Issued before: RFC 3339, or YYYY-MM-DD (its start, UTC).
    #[arg(long)]
    issued_before: Option<String>,
    /// Records to skip.
    #[arg(long)]
    offset: Option<usize>,
    /// Records per page (1-1000, default 50); with --csv, every match unless given.
    #[arg(long)]
    limit: Option<usize>,
    /// Write CSV (RFC 4180, formulas defused) instead of a JSON page.
    #[arg(long)]
    csv: bool,
}

impl From<ListArgs> for CredentialQuery {
    fn from(args: ListArgs) -> CredentialQuery {
        CredentialQuery {
            recipient: args.recipient,
            achievement: args.achievement,
            status: args.status,
            issued_after: args.issued_after,
            issued_before: args.issued_before,
            offset: args.offset,
            limit: args.limit,
        }
    }
}

pub(super) async fn run_credentials(
    data: &Path,
    server: Option<&str>,
    command: CredentialsCommand,
) -> Result<i32, CliError> {
    let backend = Backend::open(data, server).await?;
    match command {
        CredentialsCommand::Show { id } => {
            let view = backend.credential_view(&id).await?;
            out!("{}", serde_json::to_string_pretty(&view).unwrap_or_default())?;
        }
        CredentialsCommand::List(args) => {
            let csv = args.csv;
            let query = CredentialQuery::from(args);
            if csv {
                write_stdout(&backend.export_credentials_csv(&query).await?)?;
            } else {
                let page = backend.query_credentials(&query).await?;
                out!("{}", serde_json::to_string_pretty(&page).unwrap_or_default())?;
            }
        }
    }
    Ok(0)
}
