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
        /// The did:web the issuer runs as (default: the one the server last ran with). Under
        /// did:web the key joins the issuer's DID document; without, it is its own did:key.
        #[arg(long, env = "LAUREL_DID_WEB")]
        did_web: Option<String>,
    },
    /// List stored keys (public facts only).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a new signing key; the current one is retired and what it signed keeps verifying.
    Rotate {
        /// The did:web the issuer runs as (default: the one the server last ran with).
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

pub(super) async fn run_key(data: &Path, server: Option<&str>, command: KeyCommand) -> Result<i32, CliError> {
    if let KeyCommand::Revoke { name, yes: false, .. } = &command {
        note!("Revoking {name} removes it from the DID document: EVERY credential it signed will fail verification.");
        note!("Type the key name to confirm:");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != name {
            return Err(CliError::Usage("not confirmed; nothing changed".into()));
        }
    }
    let mut backend = Backend::open(data, server).await?;
    match command {
        KeyCommand::New { key_type, name, did_web } => {
            backend.override_did_web(did_web)?;
            let key_type: KeyType = key_type.parse()?;
            let key = backend.create_key(key_type, name.as_deref()).await?;
            out!("{}\t{}\t{}", key.name, key.key_type, key.did)?;
        }
        KeyCommand::List { json } => {
            let keys = backend.list_keys().await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&keys).unwrap_or_default())?;
            } else {
                out!("NAME\tTYPE\tSTATE\tCREATED\tDID")?;
                for k in keys {
                    out!("{}\t{}\t{}\t{}\t{}", k.name, k.key_type, k.state, k.created, k.did)?;
                }
            }
        }
        KeyCommand::Rotate { did_web } => {
            backend.override_did_web(did_web)?;
            let result = backend.rotate_key().await?;
            out!("{}", serde_json::to_string_pretty(&result).unwrap_or_default())?;
        }
        KeyCommand::Revoke { name, did_web, .. } => {
            backend.override_did_web(did_web)?;
            let result = backend.revoke_key(&name).await?;
            out!("{}", serde_json::to_string_pretty(&result).unwrap_or_default())?;
        }
    }
    Ok(0)
}
