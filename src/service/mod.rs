//! The service functions behind the HTTP API and the CLI. Handlers parse and respond;
//! everything they decide on happens here.
//!
//! `mod.rs` holds the `Service` (its dependencies, opening it, auth) and its error; one file per
//! area adds its operations: [`credentials`] (issue, verify, records, baked badges), [`status`]
//! (status entries, flips, signed lists), [`records`] (the issued records, filtered, with their current status; CSV export), [`keys`] (issuer keys, rotation, did:web, DID
//! resolution), [`profiles`] (issuer profiles), [`images`] (badge images: published, referenced, baked), [`presentations`] (challenges, verifying), [`offers`] (wallet offers redeemed over OpenID4VCI).
//!
//! Owns: every operation the edges offer and the rules they apply. May use: everything in layers
//! 0-2 (`credential`, `status`, `did`, `jsonld`, `fetch`, `store`, `keys`, `codec`). Used by:
//! `http`, `cli`. It knows no HTTP types and no command-line types.

use std::sync::Arc;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::credential::issue::{self, IssueError};
use crate::credential::model::{self, CredentialKind, FieldProblem, IdentityObject};
use crate::credential::proofs::{Format, ProofError, Secured};
use crate::credential::verify::{Report, Verifier};
use crate::did::{self, KeyFormat, ResolveError};
use crate::keys::{KeyPair, KeyType};
use crate::store::{CredentialRecord, Store, StoreError};

mod backup;
mod bulk;
mod credentials;
pub use self::bulk::{award_job_id, BatchReport, BatchSubmission, ChunkTally, RowChecker, CHUNK_ROWS};
pub use self::credentials::{IssueOptions, IssueRequest, Recipient, StatusMessage};
pub use self::programs::{
    achievement_short_id, AwardOutcome, AwardRecipient, AwardRequest, PathwayRequest, RuleRequest,
    EVENT_FIELDS,
};
mod images;
mod keys;
mod offers;
mod presentations;
mod profiles;
mod programs;
mod public;
mod records;
mod status;
pub use self::offers::{
    offers_nonce_secs, ClaimView, CredentialFailure, OfferCreated, OfferRequest, TokenResponse,
    DEFAULT_OFFER_SECS, TX_CODE_ATTEMPTS,
};
pub use self::public::{PublicBadge, PublicIssuer, Visibility};
pub use self::records::{CredentialQuery, CurrentStatus, RecordPage, RecordView, StateFilter};

pub use self::keys::{
    active_key, create_key, did_document, issuer_keys, list_keys, resolve_did, revoke_key, rotate_key,
    with_identity, IssuerKey, KeyListing, KeyState,
};
// Shared between the area files (each opens with `use super::*`).
use self::keys::{load_key, save_issuer_keys, ISSUER_KEYS};
use self::status::{message_entry_fields, status_purposes, OwnStatusLists};
pub use self::status::{set_status, signed_status_list, signed_status_list_as, ListForm, StatusUpdate};

/// Name of the Ed25519 issuer key created on first start.
pub const ISSUER_KEY: &str = "issuer";
/// Name of the P-256 key made the first time an ecdsa-rdfc-2019 credential is requested.
pub const ISSUER_P256_KEY: &str = "issuer-p256";
const ADMIN_TOKEN_HASH: &str = "admin_token_sha256";
/// Store key of the issuer's profile (one per issuer, whichever key signs).
const ISSUER_PROFILE: &str = "issuer";

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    BadRequest(String, Vec<FieldProblem>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
    /// The operation cannot run as the service is configured (sealed keys and no passphrase);
    /// the detail says what the operator must do.
    #[error("{0}")]
    Unavailable(String),
}

impl ServiceError {
    fn bad(detail: impl Into<String>) -> ServiceError {
        ServiceError::BadRequest(detail.into(), vec![])
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(_) => ServiceError::Conflict(e.to_string()),
            StoreError::Key(key) => key_error(key),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

/// A key store failure: sealed keys without (or with a wrong) passphrase are `Unavailable`,
/// with the message that says what to set; anything else is internal.
pub(crate) fn key_error(e: crate::keys::KeyError) -> ServiceError {
    match e {
        crate::keys::KeyError::Sealed(_) | crate::keys::KeyError::WrongPassphrase => {
            ServiceError::Unavailable(e.to_string())
        }
        other => ServiceError::Internal(other.to_string()),
    }
}

impl From<IssueError> for ServiceError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Invalid(problems) => {
                ServiceError::BadRequest("the credential is invalid".into(), problems)
            }
            IssueError::NotIssuer { .. } => ServiceError::bad(e.to_string()),
            IssueError::Proof(ProofError::Transformation(t)) => ServiceError::bad(t.to_string()),
            IssueError::Proof(p) => ServiceError::bad(p.to_string()),
        }
    }
}

/// What a first start created, for the operator.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub issuer_did: String,
    /// Set only when a token was generated on this start.
    pub generated_token: Option<String>,
}

/// Settings the service functions need. The server saves the ones it runs with, so the CLI
/// issues with the same base URL and did:web identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceSettings {
    /// Public base URL (status list URLs are built from it), without a trailing slash.
    pub base_url: String,
    /// Entries per status list (at least the spec's 131 072).
    pub status_list_size: u32,
    /// `ttl` of status list credentials, in milliseconds.
    pub status_ttl_ms: u64,
    /// The issuer's did:web DID, when it has one; its keys are then `<did>#<key name>`.
    pub did_web: Option<String>,
    /// How long a wallet offer stays redeemable unless its request says otherwise, in seconds.
    pub offer_ttl_secs: u64,
    /// Whether these are the settings a server ran with (saved by `laurel serve`), rather than
    /// defaults. Not saved itself.
    #[serde(skip)]
    pub recorded: bool,
}

impl ServiceSettings {
    /// A warning when status URLs built from `base_url` cannot be reached by verifiers
    /// elsewhere (loopback, private, link-local or `.local` hosts, or no host). They are signed
    /// into every badge, so the mistake cannot be corrected later.
    pub fn unreachable_status_warning(&self) -> Option<String> {
        let url = url::Url::parse(&self.base_url).ok();
        let private = match url.as_ref().and_then(|u| u.host()) {
            None => true,
            Some(url::Host::Ipv4(ip)) => {
                ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
            }
            Some(url::Host::Ipv6(ip)) => {
                ip.is_loopback()
                    || ip.is_unspecified()
                    || (ip.segments()[0] & 0xfe00) == 0xfc00
                    || (ip.segments()[0] & 0xffc0) == 0xfe80
            }
            Some(url::Host::Domain(host)) => {
                host == "localhost"
                    || host.ends_with(".localhost")
                    || host.ends_with(".local")
                    || !host.contains('.')
            }
        };
        private.then(|| {
            format!(
                "status lists are published under {}, which verifiers elsewhere cannot reach; badges issued now carry that URL for good, so outside verifiers will fail their status check. Start `laurel serve` with --base-url set to its public https URL (base_url in laurel.toml); the CLI issues with the settings the server last ran with",
                self.base_url
            )
        })
    }
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            base_url: "http://127.0.0.1:8080".into(),
            status_list_size: crate::status::MIN_LIST_ENTRIES as u32,
            status_ttl_ms: 300_000,
            did_web: None,
            offer_ttl_secs: offers::DEFAULT_OFFER_SECS,
            recorded: false,
        }
    }
}

pub struct Service {
    pub store: Arc<dyn Store>,
    pub verifier: Verifier,
    pub settings: ServiceSettings,
    pub challenges: crate::credential::presentation::ChallengeRegistry,
    admin_token_hash: [u8; 32],
    /// Parsed signing keys by name. A name's key material never changes, so this never goes
    /// stale; which keys are active is still read from the store on every issue.
    parsed_keys: std::sync::Mutex<std::collections::HashMap<String, KeyPair>>,
    /// Woken when events or award jobs arrive: the worker waits on it.
    pub work_ready: Arc<tokio::sync::Notify>,
    /// Serializes wallet offer code trades on this node (see `offers`).
    offer_lock: tokio::sync::Mutex<()>,
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

impl Service {
    /// Opens the service on `store`, creating the issuer key and admin token on first start.
    pub fn open(
        store: Arc<dyn Store>,
        verifier: Verifier,
        settings: ServiceSettings,
        admin_token: Option<&str>,
    ) -> Result<(Service, Bootstrap), ServiceError> {
        // Sealed keys without the passphrase: the service opens (records, status lists and
        // verification need no private key); signing fails with the message that says what to set.
        let issuer = match store.get(ISSUER_KEY) {
            Ok(key) => Some(key),
            Err(crate::keys::KeyError::NotFound(_)) => {
                let key =
                    KeyPair::generate(KeyType::Ed25519).map_err(|e| ServiceError::Internal(e.to_string()))?;
                store.put(ISSUER_KEY, &key).map_err(key_error)?;
                Some(key)
            }
            Err(crate::keys::KeyError::Sealed(_)) => None,
            Err(e) => return Err(key_error(e)),
        };
        let mut generated_token = None;
        let admin_token_hash = match admin_token {
            Some(token) => sha256(token.as_bytes()),
            None => match store.get_meta(ADMIN_TOKEN_HASH)? {
                Some(hex_hash) => hex::decode(&hex_hash)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| ServiceError::Internal("stored admin token hash is corrupt".into()))?,
                None => {
                    let mut bytes = [0u8; 32];
                    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
                    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
                    let hash = sha256(token.as_bytes());
                    store.put_meta(ADMIN_TOKEN_HASH, &hex::encode(hash))?;
                    generated_token = Some(token);
                    hash
                }
            },
        };
        let mut verifier = verifier;
        verifier.resolver = Arc::new(OwnStatusLists {
            store: store.clone(),
            settings: settings.clone(),
            inner: verifier.resolver.clone(),
        });
        let challenges = crate::credential::presentation::ChallengeRegistry::new(
            std::time::Duration::from_secs(300),
            100_000,
        );
        let service = Service {
            store,
            verifier,
            settings,
            challenges,
            admin_token_hash,
            parsed_keys: Default::default(),
            work_ready: Arc::new(tokio::sync::Notify::new()),
            offer_lock: tokio::sync::Mutex::new(()),
        };
        if service.store.get_meta(ISSUER_KEYS)?.is_none() {
            let keys = issuer_keys(service.store.as_ref())?;
            save_issuer_keys(
                service.store.as_ref(),
                &keys,
                &crate::store::AuditEntry::now("key-create", ISSUER_KEY, None),
            )?;
        }
        // The key that signs now: after a rotation that is no longer the first start's key.
        let issuer_did = match (service.issuer_key(), issuer) {
            (Ok(active), _) => active.did(),
            (Err(_), Some(issuer)) => with_identity(&service.settings, ISSUER_KEY, issuer).did(),
            (Err(_), None) => service.settings.did_web.clone().unwrap_or_else(|| {
                let keys = service.store.list().unwrap_or_default();
                keys.into_iter().find(|k| k.name == ISSUER_KEY).map(|k| k.did).unwrap_or_default()
            }),
        };
        Ok((service, Bootstrap { issuer_did, generated_token }))
    }

    /// Constant-time check of a bearer token.
    pub fn authorized(&self, token: &str) -> bool {
        let presented = sha256(token.as_bytes());
        presented.iter().zip(self.admin_token_hash.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// Runs a store call that may block (waiting for the disk or a lock). On the multi-threaded runtime the worker hands
/// its other tasks on while it waits, so concurrent requests keep running and their writes can
/// share one sync (the store's group commit).
fn durable<T>(write: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(write)
        }
        _ => write(),
    }
}
