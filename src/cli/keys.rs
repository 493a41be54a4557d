//! `laurel key`: creating, listing and exporting keys, and picking the key a command signs with.

use super::*;

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generate a key and store it.
    New {
        #[arg(long = "type", default_value = "ed25519")]
        key_type: String,
        /// Name of the key in the store (default: derived from its type and time).
        #[arg(long)]
        name: Option<String>,
    },
    /// List stored keys (public facts only).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a new signing key; the current one is retired and what it signed keeps verifying.
    Rotate {
        /// The did:web the service runs as (so the printed method matches), if any.
        #[arg(long, env = "LAUREL_DID_WEB")]
        did_web: Option<String>,
    },
    /// Revoke a retired key (did:web issuers): every credential it signed stops verifying.
    Revoke {
        name: String,
        #[arg(long, env = "LAUREL_DID_WEB")]
        did_web: Option<String>,
        /// Skip the confirmation prompt.
        #[arg(long)]
        yes: bool,
    },
}

pub(super) fn key_store(data: &Path) -> Result<crate::store::SledStore, CliError> {
    open_store(data)
}

pub(super) fn run_key(data: &Path, command: KeyCommand) -> Result<i32, CliError> {
    let service_error = |e: crate::service::ServiceError| CliError::Input(e.to_string());
    match command {
        KeyCommand::Rotate { did_web } => {
            let store = open_store(data)?;
            let result =
                crate::service::rotate_key(&store, &did_web_settings(did_web)).map_err(service_error)?;
            out!("{}", serde_json::to_string_pretty(&result).unwrap_or_default())?;
            return Ok(0);
        }
        KeyCommand::Revoke { name, did_web, yes } => {
            if !yes {
                note!("Revoking {name} removes it from the DID document: EVERY credential it signed will fail verification.");
                note!("Type the key name to confirm:");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if answer.trim() != name {
                    return Err(CliError::Usage("not confirmed; nothing changed".into()));
                }
            }
            let store = open_store(data)?;
            let result = crate::service::revoke_key(&store, &did_web_settings(did_web), &name)
                .map_err(service_error)?;
            out!("{}", serde_json::to_string_pretty(&result).unwrap_or_default())?;
            return Ok(0);
        }
        _ => {}
    }
    let store = key_store(data)?;
    match command {
        KeyCommand::New { key_type, name } => {
            let key_type: KeyType = key_type.parse()?;
            let key = KeyPair::generate(key_type)?;
            let name =
                name.unwrap_or_else(|| format!("{key_type}-{}", chrono::Utc::now().format("%Y%m%d%H%M%S")));
            let info = store.put(&name, &key)?;
            out!("{}\t{}\t{}", info.name, info.key_type, info.did)?;
        }
        KeyCommand::Rotate { .. } | KeyCommand::Revoke { .. } => unreachable!("handled above"),
        KeyCommand::List { json } => {
            let keys = store.list()?;
            if json {
                out!("{}", serde_json::to_string_pretty(&keys).unwrap_or_default())?;
            } else {
                for k in keys {
                    out!("{}\t{}\t{}\t{}", k.name, k.key_type, k.created, k.did)?;
                }
            }
        }
    }
    Ok(0)
}

pub(super) fn pick_key(
    store: &dyn KeyStore,
    reference: Option<&str>,
    format: Format,
) -> Result<KeyPair, CliError> {
    if let Some(reference) = reference {
        return Ok(store.find(reference)?);
    }
    let wanted = format.default_key_type();
    let info = store.list()?.into_iter().find(|k| k.key_type == wanted || format == Format::Jwt).ok_or_else(
        || {
            CliError::Usage(format!(
                "no {wanted} key in the store; create one with `laurel key new --type {wanted}`"
            ))
        },
    )?;
    Ok(store.get(&info.name)?)
}
