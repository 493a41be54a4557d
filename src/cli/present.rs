//! `laurel present`: a holder's signed presentation of credentials.

use super::*;

pub(super) async fn run_present(
    data: &Path,
    holder: &str,
    challenge: Option<String>,
    domain: Option<String>,
    output: Option<PathBuf>,
    files: &[String],
) -> Result<i32, CliError> {
    let store = key_store(data)?;
    let key = store.find(holder)?;
    let mut credentials = Vec::new();
    for file in files {
        credentials.push(unwrap_credential(read_json_or_jwt(file, 4 << 20)?));
    }
    let presentation = crate::credential::presentation::present(&credentials, &key, challenge, domain)
        .await
        .map_err(|e| CliError::Input(e.to_string()))?;
    let text = serde_json::to_string_pretty(&presentation).unwrap_or_default() + "\n";
    match output {
        Some(path) => {
            std::fs::write(&path, text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?
        }
        None => write_stdout(&text)?,
    }
    Ok(0)
}

/// Whether input is a presentation (JSON VerifiablePresentation or a JWT with a `vp` claim).
pub(super) fn presentation_of(bytes: &[u8], options: &VerifyOptions) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.starts_with('{') {
        let value = crate::credential::verify::parse_json_limited(text.as_bytes(), options).ok()?;
        crate::credential::model::types_of(value.get("type"))
            .contains(&"VerifiablePresentation")
            .then_some(value)
    } else {
        let decoded = crate::credential::proofs::decode_jwt(text, "vp").ok()?;
        (decoded.form == crate::credential::proofs::JwtForm::VcJwt11 && decoded.payload.contains_key("vp"))
            .then(|| Value::String(text.to_string()))
    }
}
