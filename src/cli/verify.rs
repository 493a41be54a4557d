//! `laurel verify` and `laurel inspect`: the verifier's report, printed, and what a document says.

use super::*;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// File to verify, or - for standard input.
    pub file: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Check dates against this instant instead of the clock (RFC 3339).
    #[arg(long)]
    pub now: Option<String>,
    /// Tolerated clock skew in seconds.
    #[arg(long, default_value_t = 300)]
    pub skew: i64,
    /// Pin the document served for URL (a DID document, controller document or status list).
    #[arg(long = "preload", value_name = "URL=FILE")]
    pub preload: Vec<String>,
    /// Folder of documents saved by `laurel fetch-status`, used when the network is not.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Never use the network: pinned and cached documents only.
    #[arg(long)]
    pub offline: bool,
    /// Allow http and private/loopback addresses when fetching (testing only).
    #[arg(long)]
    pub allow_private_network: bool,
    /// enforce (default): a status that cannot be fetched fails; warn: it is a warning.
    #[arg(long, default_value = "enforce")]
    pub status_policy: String,
    /// For presentations: the challenge the verifier expects.
    #[arg(long)]
    pub challenge: Option<String>,
    /// For presentations: the domain the verifier expects.
    #[arg(long)]
    pub domain: Option<String>,
    /// The recipient's identifier (an email, or a DID): the credential (or, for a presentation,
    /// each credential) must name it as its subject, hashed or plain; else NOT VERIFIED.
    #[arg(long)]
    pub recipient_identifier: Option<String>,
    #[command(flatten)]
    pub trust: VerifierTrustArgs,
}

/// What a verifier trusts beyond the bundle, shared by `laurel verify` and `laurel serve`:
/// operator contexts and status list signers.
#[derive(Args, Debug, Default, Clone)]
pub struct VerifierTrustArgs {
    /// Add a JSON-LD context, treated as bundled (never fetched): URL=FILE, repeatable. A bundled
    /// URL cannot be replaced. For serve, TOML: contexts (a list of "URL=FILE" or a table).
    #[arg(long = "context", visible_alias = "contexts", value_name = "URL=FILE")]
    pub contexts: Vec<String>,
    /// Accept status lists signed by SIGNER for credentials of ISSUER, as if ISSUER had signed
    /// them (a status service you trust): ISSUER=SIGNER, repeatable. For serve, TOML: status_signers.
    #[arg(long = "status-signer", visible_alias = "status-signers", value_name = "ISSUER=SIGNER")]
    pub status_signers: Vec<String>,
    /// enforce (default): a status list signed by anyone else fails verification; warn: it is
    /// reported as STATUS_LIST_ISSUER_MISMATCH and its bits are used (DCC's verifier does this).
    /// For serve, TOML: status_issuer_policy.
    #[arg(long = "status-issuer-policy", value_name = "enforce|warn")]
    pub status_issuer_policy: Option<String>,
    /// Trust registries to look issuers up in: a JSON file with DCC's `knownDIDRegistries` array
    /// ([{"name", "type": "dcc-legacy"|"oidf"|"vc-recognition", "url" | "trustAnchorEC",
    /// "acceptedIssuers"?, "jwks"?}]). Registry documents are fetched safely, or pinned with
    /// --preload. For serve, TOML: registries (the file's path).
    #[arg(long = "registries", value_name = "FILE")]
    pub registries: Option<PathBuf>,
    /// An issuer that no registry lists (or none could be checked for) fails verification
    /// (ISSUER_NOT_REGISTERED is an error, exit 1) instead of a warning. For serve, TOML: require_registered.
    #[arg(long = "require-registered")]
    pub require_registered: bool,
}

/// The registries of `--registries FILE`.
pub fn read_registries(
    file: Option<&Path>,
) -> Result<Vec<crate::credential::registry::RegistryConfig>, CliError> {
    let Some(file) = file else { return Ok(Vec::new()) };
    let bytes = read_input(&file.to_string_lossy(), 1 << 20)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Input(format!("--registries {}: not JSON: {e}", file.display())))?;
    crate::credential::registry::parse_registries(&value)
        .map_err(|e| CliError::Usage(format!("--registries {}: {e}", file.display())))
}

/// Registers operator contexts given as `URL=FILE`, relative files from `base`.
pub fn register_contexts(entries: &[(String, PathBuf)]) -> Result<(), CliError> {
    for (url, file) in entries {
        let bytes = read_input(&file.to_string_lossy(), crate::jsonld::contexts::MAX_OPERATOR_CONTEXT_BYTES)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| CliError::Input(format!("{}: not UTF-8", file.display())))?;
        crate::jsonld::contexts::add_operator_context(url, &text)
            .map_err(|e| CliError::Usage(format!("--context {url}={}: {e}", file.display())))?;
    }
    Ok(())
}

/// `URL=FILE` pairs from the command line.
pub fn context_pairs(entries: &[String]) -> Result<Vec<(String, PathBuf)>, CliError> {
    entries
        .iter()
        .map(|entry| match entry.split_once('=') {
            Some((url, file)) if !url.is_empty() && !file.is_empty() => {
                Ok((url.to_string(), PathBuf::from(file)))
            }
            _ => Err(CliError::Usage(format!("--context takes URL=FILE, got {entry:?}"))),
        })
        .collect()
}

/// The status list trust from `--status-signer` and `--status-issuer-policy` values.
pub fn list_trust(signers: &[String], policy: Option<&str>) -> Result<crate::status::ListTrust, CliError> {
    let signers = signers
        .iter()
        .map(|s| crate::status::ListTrust::parse_signer(s).map_err(CliError::Usage))
        .collect::<Result<Vec<_>, _>>()?;
    let mismatch_warns = match policy.unwrap_or("enforce") {
        "enforce" => false,
        "warn" => true,
        other => {
            return Err(CliError::Usage(format!(
                "--status-issuer-policy {other:?}: expected enforce or warn"
            )))
        }
    };
    Ok(crate::status::ListTrust { signers, mismatch_warns })
}

/// Splits `URL=FILE` where the URL may itself hold `=` (a query, as an OpenID Federation fetch
/// endpoint's `?sub=`): at the first `=` after which an existing file is named, else the first.
fn split_preload(entry: &str) -> Option<(&str, &str)> {
    let splits = entry.match_indices('=').map(|(i, _)| (&entry[..i], &entry[i + 1..]));
    let mut first = None;
    for (url, file) in splits {
        first.get_or_insert((url, file));
        if file == "-" || Path::new(file).is_file() {
            return Some((url, file));
        }
    }
    first
}

/// Builds the offline resolver from `--preload URL=FILE` arguments.
pub fn preloaded_resolver(preloads: &[String]) -> Result<LocalResolver, CliError> {
    let mut resolver = LocalResolver::default();
    for entry in preloads {
        let (url, file) = split_preload(entry)
            .ok_or_else(|| CliError::Usage(format!("--preload takes URL=FILE, got {entry:?}")))?;
        // A JSON document, or a JWT-secured one (a status list signed as a JWT); its bytes are
        // kept for digests (`relatedResource`).
        let bytes = read_input(file, 4 << 20)?;
        let document = json_or_jwt(bytes.clone(), file, 4 << 20)?;
        match &document {
            Value::Object(_) => {}
            Value::String(text) if crate::codec::looks_like_compact_jws(text) => {}
            _ => {
                return Err(CliError::Input(format!(
                    "{file}: a pinned document must be a JSON object or a compact JWT"
                )))
            }
        }
        resolver.pinned.insert_with_bytes(url, document, bytes);
    }
    Ok(resolver)
}

pub(super) fn print_report(report: &Report, json: bool) -> Result<(), CliError> {
    if json {
        return out!("{}", serde_json::to_string_pretty(report).unwrap_or_default());
    }
    out!("{}", if report.verified { "VERIFIED" } else { "NOT VERIFIED" })?;
    if let Some(issuer) = &report.issuer {
        out!("issuer: {issuer}")?;
    }
    for proof in &report.proofs {
        out!("proof: {} by {}", proof.format, proof.verification_method)?;
    }
    out!("checks: {}", report.checks.join(", "))?;
    for e in &report.errors {
        out!("error {}: {}", e.code, e.detail)?;
    }
    for w in &report.warnings {
        out!("warning {}: {}", w.code, w.detail)?;
    }
    if let Some(registry) = &report.registry {
        let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        for found in registry["matches"].as_array().into_iter().flatten() {
            let name = found["name"].as_str().unwrap_or("(no name given)");
            out!("registry: listed as {name:?} by {} ({})", text(&found["registry"]), text(&found["type"]))?;
        }
        for skipped in registry["unchecked"].as_array().into_iter().flatten() {
            out!("registry: {} not checked: {}", text(&skipped["registry"]), text(&skipped["reason"]))?;
        }
        if let Some(reason) = registry["reason"].as_str() {
            out!("registry: not consulted: {reason}")?;
        } else if registry["listed"] != json!(true) {
            let named =
                report.credential.as_ref().and_then(|c| c.pointer("/issuer/name")).and_then(Value::as_str);
            let verdict = if registry["checked"] == json!(true) {
                "no configured registry lists it"
            } else {
                "no configured registry could be checked"
            };
            match named {
                Some(name) => out!("registry: the issuer calls itself {name:?}; {verdict}")?,
                None => out!("registry: {verdict} for the issuer")?,
            }
        }
    }
    for s in &report.status {
        let age = s
            .age_seconds
            .map(|a| format!(", list {a} s old ({})", s.source.as_deref().unwrap_or("?")))
            .unwrap_or_default();
        out!("status {}: {}{age}", s.purpose, if s.value.unwrap_or(0) == 0 { "clear" } else { "SET" })?;
    }
    Ok(())
}

pub(super) async fn run_verify(args: VerifyArgs) -> Result<i32, CliError> {
    let mut options =
        VerifyOptions { skew: chrono::Duration::seconds(args.skew), ..VerifyOptions::default() };
    if let Some(now) = &args.now {
        options.now = Some(
            chrono::DateTime::parse_from_rfc3339(now)
                .map_err(|e| CliError::Usage(format!("--now {now:?} is not RFC 3339: {e}")))?
                .with_timezone(&chrono::Utc),
        );
    }
    options.status_policy = match args.status_policy.as_str() {
        "enforce" => StatusPolicy::Enforce,
        "warn" => StatusPolicy::Warn,
        other => return Err(CliError::Usage(format!("--status-policy {other:?}: expected enforce or warn"))),
    };
    options.list_trust = list_trust(&args.trust.status_signers, args.trust.status_issuer_policy.as_deref())?;
    options.registries = read_registries(args.trust.registries.as_deref())?;
    options.require_registered = args.trust.require_registered;
    register_contexts(&context_pairs(&args.trust.contexts)?)?;
    let mut resolver = preloaded_resolver(&args.preload)?;
    let policy = FetchPolicy {
        allow_private_network: args.allow_private_network,
        offline: args.offline,
        ..FetchPolicy::default()
    };
    resolver.fetcher = Some(Arc::new(Fetcher::new(policy, args.cache.clone())));
    let bytes = read_input(&args.file, options.max_bytes.max(crate::credential::baking::MAX_IMAGE_BYTES))?;
    // An HTTP answer (`{"verifiableCredential": ...}`) saved to a file is verified as the
    // credential it carries.
    let bytes = unwrap_response_bytes(bytes, &options);
    let verifier = Verifier::new(Arc::new(resolver), options.clone());
    if let Some(presentation) = presentation_of(&bytes, &options) {
        let expected = crate::credential::presentation::PresentationOptions {
            challenge: args.challenge.clone(),
            domain: args.domain.clone(),
            recipient_identifier: args.recipient_identifier.clone(),
        };
        let report = verifier.verify_presentation(&presentation, &expected, None).await;
        if args.json {
            out!("{}", serde_json::to_string_pretty(&report).unwrap_or_default())?;
        } else {
            out!("{}", if report.verified { "VERIFIED presentation" } else { "NOT VERIFIED presentation" })?;
            if let Some(holder) = &report.holder {
                out!("holder: {holder}")?;
            }
            for e in &report.errors {
                out!("error {}: {}", e.code, e.detail)?;
            }
            for w in &report.warnings {
                out!("warning {}: {}", w.code, w.detail)?;
            }
            for (i, c) in report.credentials.iter().enumerate() {
                out!("credential[{i}]: {}", if c.verified { "verified" } else { "NOT verified" })?;
            }
        }
        return Ok(if report.verified { 0 } else { 1 });
    }
    let mut report = verifier.verify_bytes(&bytes).await;
    if let Some(identifier) = &args.recipient_identifier {
        crate::credential::verify::require_recipient(&mut report, identifier);
    }
    print_report(&report, args.json)?;
    if report.verified {
        Ok(0)
    } else if report.errors.iter().all(|e| e.code == "PARSING_ERROR") {
        Ok(2)
    } else {
        Ok(1)
    }
}

pub(super) fn summary_line(label: &str, value: Option<&str>) -> Result<(), CliError> {
    if let Some(v) = value {
        out!("{label:<12} {v}")?;
    }
    Ok(())
}

pub(super) fn run_inspect(file: &str) -> Result<i32, CliError> {
    let (credential, proof_desc) = match unwrap_credential(read_json_or_jwt(file, 4 << 20)?) {
        Value::String(jwt) => {
            let decoded = proofs::decode_jwt(&jwt, "vc").map_err(|e| CliError::Input(e.to_string()))?;
            let kid = decoded.header.get("kid").and_then(Value::as_str).unwrap_or("(no kid)").to_string();
            (decoded.credential.clone(), format!("JWT {} by {kid}", decoded.alg()))
        }
        value => {
            let proofs: Vec<String> = match value.get("proof") {
                Some(Value::Array(list)) => list.iter().map(describe_proof).collect(),
                Some(one) => vec![describe_proof(one)],
                None => vec!["none".into()],
            };
            let joined = proofs.join("; ");
            (value, joined)
        }
    };
    let s = |p: &str| credential.pointer(p).and_then(Value::as_str);
    summary_line("id", s("/id"))?;
    summary_line("types", Some(&crate::credential::model::types_of(credential.get("type")).join(", ")))?;
    summary_line("issuer", crate::credential::model::issuer_id(&credential))?;
    summary_line("issuer name", s("/issuer/name"))?;
    summary_line("recipient", s("/credentialSubject/id"))?;
    if let Some(Value::Array(ids)) = credential.pointer("/credentialSubject/identifier") {
        for id in ids {
            let kind = id.get("identityType").and_then(Value::as_str).unwrap_or("identifier");
            let hashed = id.get("hashed").and_then(Value::as_bool).unwrap_or(false);
            out!("{:<12} {kind} ({})", "recipient", if hashed { "hashed" } else { "plain" })?;
        }
    }
    summary_line("achievement", s("/credentialSubject/achievement/name"))?;
    summary_line("description", s("/credentialSubject/achievement/description"))?;
    summary_line("criteria", s("/credentialSubject/achievement/criteria/narrative"))?;
    summary_line("valid from", s("/validFrom").or(s("/issuanceDate")))?;
    summary_line("valid until", s("/validUntil").or(s("/expirationDate")))?;
    summary_line("status", s("/credentialStatus/type"))?;
    summary_line("proof", Some(&proof_desc))?;
    Ok(0)
}

pub(super) fn describe_proof(proof: &Value) -> String {
    let get = |k: &str| proof.get(k).and_then(Value::as_str).unwrap_or("?");
    let kind = match proof.get("cryptosuite").and_then(Value::as_str) {
        Some(suite) => format!("{} {suite}", get("type")),
        None => get("type").to_string(),
    };
    format!("{kind} by {} ({}, {})", get("verificationMethod"), get("proofPurpose"), get("created"))
}
