//! `laurel issue`: an issue request from flags or a file, sent to the service (the data folder,
//! or the running server) exactly as `POST /credentials/issue` receives it.

use super::*;

#[derive(Args, Debug)]
pub struct IssueArgs {
    /// Name of the stored key to sign with (default: the issuer's active key for the format).
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
    /// Status entries to attach (comma-separated): revocation (default), suspension, message.
    #[arg(long, value_delimiter = ',', conflicts_with = "no_status")]
    pub status: Vec<String>,
    /// For `--status message`: what a value means, as VALUE=TEXT (give 0x0=... and 0x1=...).
    #[arg(long = "status-message", value_name = "VALUE=TEXT")]
    pub status_messages: Vec<String>,
    /// For `--status message`: a URL explaining the status (repeatable).
    #[arg(long = "status-reference", value_name = "URL")]
    pub status_references: Vec<String>,
    /// Attach no status entry (the badge can then never be revoked).
    #[arg(long)]
    pub no_status: bool,
    /// The credential's id (default: a new urn:uuid), e.g. to revoke it by a known name later.
    #[arg(long)]
    pub id: Option<String>,
    /// Output file (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// The issue request the flags describe: the same [`IssueRequest`] `POST /credentials/issue`
/// takes. `--credential FILE` may hold a whole request (`{credential, options, recipient}`) or
/// just the unsigned credential; flags given beside it set the options.
fn issue_request(args: &IssueArgs) -> Result<IssueRequest, CliError> {
    let mut request = match (&args.credential, &args.achievement) {
        (Some(file), _) => {
            let value = read_json_or_jwt(file, 4 << 20)?;
            if !value.is_object() {
                return Err(CliError::Input(format!("{file}: a credential to issue must be a JSON object")));
            }
            if value.get("credential").is_some() {
                IssueRequest::from_json(&value)?
            } else {
                IssueRequest {
                    credential: value.as_object().cloned().unwrap_or_default(),
                    ..Default::default()
                }
            }
        }
        (None, Some(name)) => {
            if args.subject.is_none() && args.recipient_email.is_none() {
                return Err(CliError::Usage(
                    "name the recipient with --subject DID or --recipient-email EMAIL".into(),
                ));
            }
            let credential = issue::build_badge(&BadgeRequest {
                subject_id: args.subject.clone(),
                // Hashed by the service, as for `recipient` in an HTTP request.
                recipient_email: None,
                // Without one the service gives the achievement a stable id from its name.
                achievement_id: args.achievement_id.clone(),
                achievement_name: name.clone(),
                achievement_description: args.description.clone(),
                criteria: args.criteria.clone(),
                issuer_name: args.issuer_name.clone(),
                valid_until: args.valid_until.clone(),
            });
            let mut credential = credential.as_object().cloned().unwrap_or_default();
            if args.achievement_id.is_none() {
                // The service gives an achievement without an id a stable one from its name.
                if let Some(Value::Object(subject)) = credential.get_mut("credentialSubject") {
                    if let Some(Value::Object(achievement)) = subject.get_mut("achievement") {
                        achievement.remove("id");
                    }
                }
            }
            IssueRequest {
                credential,
                recipient: args.recipient_email.clone().map(|email| Recipient { email }),
                ..Default::default()
            }
        }
        (None, None) => {
            return Err(CliError::Usage(
                "give --credential FILE or --achievement NAME with a recipient".into(),
            ))
        }
    };
    let options = &mut request.options;
    if args.format != "di" || options.format.is_none() {
        options.format = Some(args.format.clone());
    }
    if args.key.is_some() {
        options.key = args.key.clone();
    }
    if args.id.is_some() {
        options.credential_id = args.id.clone();
    }
    if !args.status.is_empty() {
        options.status_purposes = Some(args.status.clone());
    }
    if args.no_status {
        options.credential_status = Some(Value::Bool(false));
    }
    if !args.status_messages.is_empty() {
        let mut messages = Vec::new();
        for entry in &args.status_messages {
            let (status, message) = entry.split_once('=').ok_or_else(|| {
                CliError::Usage(format!("--status-message takes VALUE=TEXT, got {entry:?}"))
            })?;
            messages.push(crate::service::StatusMessage {
                status: status.trim().into(),
                message: message.into(),
            });
        }
        options.status_message = Some(messages);
    }
    options.status_reference = match args.status_references.as_slice() {
        [] => None,
        [one] => Some(json!(one)),
        many => Some(json!(many)),
    };
    Ok(request)
}

pub(super) async fn run_issue(data: &Path, server: Option<&str>, args: IssueArgs) -> Result<i32, CliError> {
    let request = issue_request(&args)?;
    let mut request = request;
    let backend = Backend::open(data, server).await?;
    match backend.settings() {
        // No server has run on this folder: there is no URL its status lists would be
        // published under, so a status entry would point nowhere.
        Some(settings)
            if !settings.recorded
                && request.options.credential_status.is_none()
                && args.status.is_empty() =>
        {
            note!("laurel: note: no server has run on {} yet, so there is no URL to publish status lists under: this badge gets no status entry and can never be revoked. Run `laurel serve --base-url https://...` once first, or pass --status revocation to use {}.", data.display(), settings.base_url);
            request.options.credential_status = Some(Value::Bool(false));
        }
        Some(settings) => {
            if let Some(warning) = settings.unreachable_status_warning() {
                note!("laurel: warning: {warning}");
            }
        }
        None => {}
    }
    let credential = backend.issue(&request).await?;
    let text = match credential {
        Value::String(token) => token + "\n",
        value => serde_json::to_string_pretty(&value).unwrap_or_default() + "\n",
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?
        }
        None => write_stdout(&text)?,
    }
    Ok(0)
}
