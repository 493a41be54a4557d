//! `laurel issue`: a credential from flags or JSON, signed with a stored key.

use super::*;

#[derive(Args, Debug)]
pub struct IssueArgs {
    /// Key name, DID or verification method (default: the first stored key that fits the format).
    #[arg(long)]
    pub key: Option<String>,
    /// Unsigned credential JSON file (- for standard input).
    #[arg(long, conflicts_with_all = ["achievement", "subject", "recipient_email"])]
    pub credential: Option<String>,
    /// Recipient DID or URL.
    #[arg(long)]
    pub subject: Option<String>,
    /// Recipient email (stored salted and hashed).
    #[arg(long)]
    pub recipient_email: Option<String>,
    /// Achievement name.
    #[arg(long)]
    pub achievement: Option<String>,
    #[arg(long)]
    pub achievement_id: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long)]
    pub criteria: Option<String>,
    #[arg(long)]
    pub issuer_name: Option<String>,
    /// RFC 3339 expiry.
    #[arg(long)]
    pub valid_until: Option<String>,
    /// di (eddsa-rdfc-2022), ecdsa (ecdsa-rdfc-2019) or jwt.
    #[arg(long, default_value = "di")]
    pub format: String,
    /// Output file (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub(super) async fn run_issue(data: &Path, args: IssueArgs) -> Result<i32, CliError> {
    let format: Format = args.format.parse().map_err(CliError::Usage)?;
    let store = key_store(data)?;
    let key = pick_key(&store, args.key.as_deref(), format)?;
    let credential = match (&args.credential, &args.achievement) {
        (Some(file), _) => read_json_or_jwt(file, 4 << 20)?,
        (None, Some(name)) => {
            if args.subject.is_none() && args.recipient_email.is_none() {
                return Err(CliError::Usage(
                    "name the recipient with --subject DID or --recipient-email EMAIL".into(),
                ));
            }
            issue::build_badge(&BadgeRequest {
                subject_id: args.subject.clone(),
                recipient_email: args.recipient_email.clone(),
                achievement_id: args.achievement_id.clone(),
                achievement_name: name.clone(),
                achievement_description: args.description.clone(),
                criteria: args.criteria.clone(),
                issuer_name: args.issuer_name.clone(),
                valid_until: args.valid_until.clone(),
            })
        }
        (None, None) => {
            return Err(CliError::Usage(
                "give --credential FILE or --achievement NAME with a recipient".into(),
            ))
        }
    };
    let secured = issue::issue(credential, &key, format).await?;
    let text = match secured {
        Secured::Json(value) => serde_json::to_string_pretty(&value).unwrap_or_default() + "\n",
        Secured::Jwt(token) => token + "\n",
    };
    match args.output {
        Some(path) => {
            std::fs::write(&path, text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?
        }
        None => write_stdout(&text)?,
    }
    Ok(0)
}
