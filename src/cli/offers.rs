//! `laurel offer`: a wallet offer (OpenID4VCI) of a catalog achievement or of a credential
//! file, through the same service call as `POST /offers` (the running server when there is
//! one). Prints the `openid-credential-offer://` URI and writes its QR code.

use super::*;
use crate::service::{AwardRecipient, OfferCreated, OfferRequest};

#[derive(Args, Debug)]
pub struct OfferArgs {
    /// The catalog achievement to offer (its id or URL). Or --credential.
    #[arg(required_unless_present = "credential", conflicts_with = "credential")]
    pub achievement: Option<String>,
    /// An unsigned credential (JSON) without credentialSubject.id, instead of an achievement.
    #[arg(long)]
    pub credential: Option<PathBuf>,
    /// The learner's email (hashed into the badge).
    #[arg(long, required_unless_present = "recipient_did")]
    pub recipient_email: Option<String>,
    /// The learner's DID: only a wallet proving this DID can redeem the offer.
    #[arg(long)]
    pub recipient_did: Option<String>,
    #[arg(long)]
    pub recipient_name: Option<String>,
    /// Protect the offer with a 6-digit PIN (printed once; send it to the learner separately).
    #[arg(long)]
    pub tx_code: bool,
    /// Seconds the offer stays redeemable (default: the server's offer_ttl, 7 days).
    #[arg(long)]
    pub expires_in: Option<u64>,
    /// Write the offer's QR code here (.png or .svg).
    #[arg(long)]
    pub qr: Option<PathBuf>,
}

pub(super) async fn run_offer(data: &Path, server: Option<&str>, args: OfferArgs) -> Result<i32, CliError> {
    let credential = match &args.credential {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
            match serde_json::from_str(&text) {
                Ok(Value::Object(map)) => Some(map),
                _ => return Err(CliError::Input(format!("{}: expected a JSON object", file.display()))),
            }
        }
        None => None,
    };
    let qr_format = match args.qr.as_ref().and_then(|p| p.extension()).and_then(|e| e.to_str()) {
        None if args.qr.is_none() => None,
        Some("png") => Some("png"),
        Some("svg") => Some("svg"),
        _ => return Err(CliError::Usage("--qr must name a .png or .svg file".into())),
    };
    let request = OfferRequest {
        credential,
        achievement: args.achievement,
        recipient: AwardRecipient {
            email: args.recipient_email,
            did: args.recipient_did,
            url: None,
            name: args.recipient_name,
        },
        tx_code: args.tx_code,
        expires_in: args.expires_in,
    };
    let backend = Backend::open(data, server).await?;
    let created: OfferCreated = match &backend {
        Backend::Local(service) => service.create_offer(request).await?,
        Backend::Remote(remote) => {
            let body = serde_json::to_value(&request).map_err(|e| CliError::Input(e.to_string()))?;
            let answer = remote.call(reqwest::Method::POST, "/offers", Some(&body)).await?;
            serde_json::from_value(answer).map_err(|e| CliError::Input(format!("the server's offer: {e}")))?
        }
    };
    println!("{}", created.offer_uri);
    println!("claim page: {}", created.claim_url);
    println!("expires: {}", created.expires_at);
    if let Some(pin) = &created.tx_code {
        println!("tx code (send it to the learner separately; it is not shown again): {pin}");
    }
    if let (Some(path), Some(format)) = (&args.qr, qr_format) {
        let bytes = match format {
            "png" => crate::oid4vci::qr_png(&created.offer_uri, 8),
            _ => crate::oid4vci::qr_svg(&created.offer_uri).map(String::into_bytes),
        }
        .map_err(|e| CliError::Input(format!("QR code: {e}")))?;
        std::fs::write(path, bytes).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
        println!("QR code: {}", path.display());
    }
    Ok(0)
}
