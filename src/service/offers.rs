//! Wallet offers and their redemption over OpenID4VCI (pre-authorized code flow): `POST
//! /offers` and `laurel offer` make an offer, the token endpoint trades its pre-authorized code
//! (and `tx_code`) for an access token, the nonce endpoint hands out `c_nonce`s, and the
//! credential endpoint signs the badge for the wallet's key and spends the offer.
//!
//! What makes it safe to run on several nodes and through a crash: every state change is one
//! atomic store write. The code is traded once (`insert_document` of the offer's token record:
//! of two concurrent trades one wins); the badge's id is derived from the offer's id, and the
//! badge and the spent offer are one `commit`, so an offer yields at most one credential even
//! when two redemptions race or a retry follows a crash. Nonces are stateless (an HMAC over
//! their expiry under a key kept in the store) and spent by `insert_document`, so the nonce
//! endpoint, which anyone may call, stores nothing.

use super::*;
use crate::oid4vci::{self, CheckedProof, Configuration, ProtocolError};
use hmac::{Hmac, Mac};

const OFFER: &str = "offer";
/// The access token an offer's code was traded for: inserted once, so the code is single use.
const OFFER_TOKEN: &str = "offer-token";
const SPENT_NONCE: &str = "oid4vci-nonce-spent";
const NONCE_KEY: &str = "oid4vci_nonce_key";
/// Wrong `tx_code`s an offer survives; the next one locks it.
pub const TX_CODE_ATTEMPTS: u32 = 5;
/// Lifetime of an access token and of a `c_nonce`.
pub const ACCESS_TOKEN_SECS: i64 = 300;
pub const NONCE_SECS: i64 = 300;
/// `c_nonce_expires_in`.
pub fn offers_nonce_secs() -> i64 {
    NONCE_SECS
}
/// Default lifetime of an offer: 7 days.
pub const DEFAULT_OFFER_SECS: u64 = 7 * 24 * 3600;
/// Longest an offer may be asked to live: a year.
const MAX_OFFER_SECS: u64 = 366 * 24 * 3600;

/// `POST /offers` (and `laurel offer`): what to offer whom. Exactly one of `credential` (an
/// unsigned credential without `credentialSubject.id`: the wallet's DID goes there) and
/// `achievement` (a catalog id: the badge an award would issue).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OfferRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achievement: Option<String>,
    pub recipient: AwardRecipient,
    /// Protect the code with a 6-digit PIN, answered once (to be sent to the learner separately).
    #[serde(default)]
    pub tx_code: bool,
    /// Seconds the offer stays redeemable (default 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// A made offer, as answered to the issuer (the only time the `tx_code` is shown).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OfferCreated {
    pub id: String,
    /// `openid-credential-offer://?credential_offer_uri=...`
    pub offer_uri: String,
    pub credential_offer_uri: String,
    /// The claim page with the QR code.
    pub claim_url: String,
    pub qr_png: String,
    pub qr_svg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<String>,
    pub expires_at: String,
    /// The id the badge will have once redeemed.
    pub credential_id: String,
}

/// What the public claim page of an offer shows (nothing about the recipient).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimView {
    pub badge_name: String,
    pub issuer_name: String,
    pub offer_uri: String,
    pub qr_svg_path: String,
    pub tx_code: bool,
    pub expires_at: String,
    /// Still redeemable.
    pub open: bool,
}

/// What the token endpoint answers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// For wallets of the drafts before the nonce endpoint.
    pub c_nonce: String,
    pub c_nonce_expires_in: i64,
}

/// A credential endpoint failure: the protocol error, with a fresh nonce for `invalid_nonce`.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialFailure {
    pub error: ProtocolError,
    pub fresh_nonce: Option<String>,
}

impl From<ProtocolError> for CredentialFailure {
    fn from(error: ProtocolError) -> Self {
        CredentialFailure { error, fresh_nonce: None }
    }
}

fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

fn hash_hex(secret: &str) -> String {
    hex::encode(sha256(secret.as_bytes()))
}

/// Constant-time comparison of two hex digests.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Splits `OFFER_ID.SECRET` (codes and access tokens name their offer).
fn split_secret(value: &str) -> Option<(&str, &str)> {
    let (offer, secret) = value.split_once('.')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (ok(offer) && ok(secret)).then_some((offer, secret))
}

fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn expired(document: &Value, now: chrono::DateTime<chrono::Utc>) -> bool {
    document["expiresAt"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .is_none_or(|t| t <= now)
}

fn offer_audit(action: &str, offer: &str) -> crate::store::AuditEntry {
    crate::store::AuditEntry::now(action, offer, None)
}

impl Service {
    /// The credential issuer identifier: the public base URL.
    pub fn credential_issuer(&self) -> &str {
        &self.settings.base_url
    }

    pub fn oid4vci_issuer_metadata(&self) -> Result<Value, ServiceError> {
        let key = self.issuer_key()?;
        let profile = self.issuer_profile(&key.did())?;
        let display = oid4vci::IssuerDisplay {
            name: profile.get("name").and_then(Value::as_str).unwrap_or("Laurel issuer").to_string(),
            logo: profile
                .get("image")
                .and_then(|i| i.as_str().or_else(|| i.get("id").and_then(Value::as_str)))
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .map(str::to_string),
        };
        Ok(oid4vci::issuer_metadata(self.credential_issuer(), &display))
    }

    pub fn oid4vci_authorization_server_metadata(&self) -> Value {
        oid4vci::authorization_server_metadata(self.credential_issuer())
    }

    /// Makes an offer. The credential is checked now as it will be issued (signed once for a
    /// stand-in holder, not stored, no status index spent), so a bad one is refused here
    /// rather than when the learner's wallet comes for it.
    pub async fn create_offer(&self, request: OfferRequest) -> Result<OfferCreated, ServiceError> {
        let template = self.offer_template(&request)?;
        let learner = request.recipient.key()?;
        if let Some(did) = &request.recipient.did {
            if !did.starts_with("did:") {
                return Err(ServiceError::bad(format!("recipient.did {did:?} is not a DID")));
            }
        }
        let lifetime = request.expires_in.unwrap_or(self.settings.offer_ttl_secs);
        if lifetime == 0 || lifetime > MAX_OFFER_SECS {
            return Err(ServiceError::bad(format!(
                "expiresIn must be 1 to {MAX_OFFER_SECS} seconds, not {lifetime}"
            )));
        }
        let stand_in =
            KeyPair::generate(KeyType::Ed25519).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut trial = self.redemption_request(
            &template,
            &request.recipient,
            &stand_in.did(),
            Configuration::LdpVc,
            None,
        );
        trial.options.credential_status = Some(Value::Bool(false));
        self.sign_for_issue(trial).await?;

        let id = random_token(18);
        let code_secret = random_token(32);
        let pre_authorized_code = format!("{id}.{code_secret}");
        let tx_code = request.tx_code.then(|| {
            let n =
                rand::Rng::gen_range(&mut rand::rngs::OsRng, 0..10u32.pow(oid4vci::TX_CODE_LENGTH as u32));
            format!("{n:0width$}", width = oid4vci::TX_CODE_LENGTH)
        });
        let now = chrono::Utc::now();
        let expires_at = rfc3339(now + chrono::Duration::seconds(lifetime as i64));
        let credential_id = self.offer_credential_id(&id)?;
        let document = json!({
            "id": id,
            "state": "open",
            "template": template,
            "recipient": request.recipient,
            "learner": learner,
            "achievement": request.achievement,
            "codeHash": hash_hex(&code_secret),
            "txCodeHash": tx_code.as_deref().map(hash_hex),
            "txCodeFailures": 0,
            "createdAt": rfc3339(now),
            "expiresAt": expires_at,
            "credentialId": credential_id,
            // Kept so the offer object can be served again (the code is its capability).
            "preAuthorizedCode": pre_authorized_code,
        });
        durable(|| self.store.insert_document(OFFER, &id, &document, &offer_audit("offer-create", &id)))?;
        Ok(self.offer_links(&id, tx_code, expires_at, credential_id))
    }

    fn offer_links(
        &self,
        id: &str,
        tx_code: Option<String>,
        expires_at: String,
        credential_id: String,
    ) -> OfferCreated {
        let base = self.credential_issuer();
        let credential_offer_uri = format!("{base}/oid4vci/offers/{id}");
        OfferCreated {
            id: id.to_string(),
            offer_uri: oid4vci::offer_uri(&credential_offer_uri),
            credential_offer_uri,
            claim_url: format!("{base}/claim/{id}"),
            qr_png: format!("{base}/claim/{id}/qr.png"),
            qr_svg: format!("{base}/claim/{id}/qr.svg"),
            tx_code,
            expires_at,
            credential_id,
        }
    }

    /// The badge id an offer's redemption gets: one per offer, whichever node redeems it.
    fn offer_credential_id(&self, offer: &str) -> Result<String, ServiceError> {
        let namespace = self.achievement_namespace()?;
        Ok(format!("urn:uuid:{}", uuid::Uuid::new_v5(&namespace, format!("offer\0{offer}").as_bytes())))
    }

    /// The unsigned credential an offer will issue (without the holder).
    fn offer_template(&self, request: &OfferRequest) -> Result<Map<String, Value>, ServiceError> {
        match (&request.credential, &request.achievement) {
            (Some(credential), None) => {
                match credential.get("credentialSubject") {
                    Some(Value::Object(subject)) => {
                        if subject.contains_key("id") {
                            return Err(ServiceError::bad(
                                "the offered credential's credentialSubject has an id: leave it out, the wallet's DID goes there",
                            ));
                        }
                    }
                    _ => {
                        return Err(ServiceError::bad(
                            "the offered credential needs one credentialSubject object",
                        ))
                    }
                }
                if credential.contains_key("proof") {
                    return Err(ServiceError::bad(
                        "offer an unsigned credential: it is signed when the wallet redeems it",
                    ));
                }
                Ok(credential.clone())
            }
            (None, Some(achievement)) => {
                let award = AwardRequest {
                    recipient: AwardRecipient { email: None, ..request.recipient.clone() },
                    ..Default::default()
                };
                let issue = self.award_issue_request(achievement, &award, Vec::new(), None)?;
                let mut credential = issue.credential;
                if let Some(Value::Object(subject)) = credential.get_mut("credentialSubject") {
                    subject.remove("id");
                }
                Ok(credential)
            }
            _ => Err(ServiceError::bad("an offer names either a credential or an achievement")),
        }
    }

    /// The issue request of a redemption: the template, bound to `holder`, the email hashed in.
    fn redemption_request(
        &self,
        template: &Map<String, Value>,
        recipient: &AwardRecipient,
        holder: &str,
        configuration: Configuration,
        credential_id: Option<String>,
    ) -> IssueRequest {
        let mut credential = template.clone();
        if let Some(Value::Object(subject)) = credential.get_mut("credentialSubject") {
            subject.insert("id".into(), json!(holder));
        }
        IssueRequest {
            credential,
            options: IssueOptions {
                format: Some(configuration.issue_format().into()),
                credential_id,
                ..IssueOptions::default()
            },
            recipient: recipient.email.as_ref().map(|email| Recipient { email: email.trim().to_lowercase() }),
        }
    }

    fn offer_document(&self, id: &str) -> Result<Value, ServiceError> {
        self.store.get_document(OFFER, id)?.ok_or_else(|| ServiceError::NotFound(format!("no offer {id}")))
    }

    /// `GET /offers/{id}` (admin): the offer's state, without its secrets.
    pub fn offer(&self, id: &str) -> Result<Value, ServiceError> {
        let document = self.offer_document(id)?;
        let state = if document["state"] == "open" && expired(&document, chrono::Utc::now()) {
            json!("expired")
        } else {
            document["state"].clone()
        };
        let links = self.offer_links(
            id,
            None,
            document["expiresAt"].as_str().unwrap_or_default().into(),
            document["credentialId"].as_str().unwrap_or_default().into(),
        );
        let mut view = serde_json::to_value(links).map_err(|e| ServiceError::Internal(e.to_string()))?;
        view["state"] = state;
        view["recipient"] = document["recipient"].clone();
        view["txCode"] = json!(document["txCodeHash"].is_string());
        for key in ["achievement", "createdAt", "redeemedAt", "holder", "configuration"] {
            if !document[key].is_null() {
                view[key] = document[key].clone();
            }
        }
        Ok(view)
    }

    /// `GET /oid4vci/offers/{id}`: the credential offer object the `credential_offer_uri`
    /// names. Served while the offer can still be redeemed.
    pub fn credential_offer(&self, id: &str) -> Result<Value, ServiceError> {
        let document = self.offer_document(id)?;
        if document["state"] != "open" || expired(&document, chrono::Utc::now()) {
            return Err(ServiceError::NotFound(format!("offer {id} is spent or expired")));
        }
        let code = document["preAuthorizedCode"].as_str().unwrap_or_default();
        Ok(oid4vci::credential_offer(self.credential_issuer(), code, document["txCodeHash"].is_string()))
    }

    /// The public claim page's view of an offer.
    pub fn claim_view(&self, id: &str) -> Result<ClaimView, ServiceError> {
        let document = self.offer_document(id)?;
        let template = &document["template"];
        let name = template["credentialSubject"]["achievement"]["name"]
            .as_str()
            .or_else(|| template["name"].as_str())
            .unwrap_or("Open Badge");
        let issuer_name = match self.issuer_key() {
            Ok(key) => {
                self.issuer_profile(&key.did())?.get("name").and_then(Value::as_str).map(str::to_string)
            }
            Err(_) => None,
        };
        Ok(ClaimView {
            badge_name: name.to_string(),
            issuer_name: issuer_name.unwrap_or_else(|| "this issuer".into()),
            offer_uri: self.offer_links(id, None, String::new(), String::new()).offer_uri,
            qr_svg_path: format!("/claim/{id}/qr.svg"),
            tx_code: document["txCodeHash"].is_string(),
            expires_at: document["expiresAt"]
                .as_str()
                .unwrap_or_default()
                .replace('T', " ")
                .replace('Z', " UTC"),
            open: document["state"] == "open" && !expired(&document, chrono::Utc::now()),
        })
    }

    /// The `openid-credential-offer://` URI of an offer, for its QR code and claim page.
    pub fn offer_uri(&self, id: &str) -> Result<String, ServiceError> {
        self.offer_document(id)?;
        Ok(self.offer_links(id, None, String::new(), String::new()).offer_uri)
    }

    /// The token endpoint: trades a pre-authorized code (and its `tx_code`) for an access
    /// token, once.
    pub async fn redeem_pre_authorized_code(
        &self,
        form: &[(String, String)],
    ) -> Result<TokenResponse, ProtocolError> {
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        for name in ["grant_type", "pre-authorized_code", "tx_code"] {
            if form.iter().filter(|(k, _)| k == name).count() > 1 {
                return Err(ProtocolError::InvalidRequest(format!("{name} is repeated")));
            }
        }
        match field("grant_type") {
            Some(oid4vci::PRE_AUTHORIZED_GRANT) => {}
            Some(other) => {
                return Err(ProtocolError::UnsupportedGrantType(format!(
                    "grant_type {other:?} is not supported; this issuer offers the pre-authorized code flow"
                )))
            }
            None => return Err(ProtocolError::InvalidRequest("grant_type is missing".into())),
        }
        let code = field("pre-authorized_code")
            .ok_or_else(|| ProtocolError::InvalidRequest("pre-authorized_code is missing".into()))?;
        let invalid = || ProtocolError::InvalidGrant("the pre-authorized code is not valid".into());
        let (id, secret) = split_secret(code).ok_or_else(invalid)?;
        let internal =
            |e: ServiceError| ProtocolError::InvalidRequest(format!("the offer cannot be read: {e}"));
        // One trade at a time per node: the tx_code failure count is read, then written.
        let _turn = self.offer_lock.lock().await;
        let mut document = match self.store.get_document(OFFER, id).map_err(|e| internal(e.into()))? {
            Some(document) => document,
            None => return Err(invalid()),
        };
        if !same_digest(document["codeHash"].as_str().unwrap_or_default(), &hash_hex(secret)) {
            return Err(invalid());
        }
        let now = chrono::Utc::now();
        match document["state"].as_str() {
            Some("open") => {}
            Some("locked") => return Err(ProtocolError::InvalidGrant(
                "the offer is locked after too many wrong transaction codes; ask the issuer for a new one"
                    .into(),
            )),
            _ => return Err(ProtocolError::InvalidGrant("the offer has been redeemed".into())),
        }
        if expired(&document, now) {
            return Err(ProtocolError::InvalidGrant("the offer has expired".into()));
        }
        match (document["txCodeHash"].as_str(), field("tx_code")) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(ProtocolError::InvalidRequest(
                    "this offer has no transaction code; send none".into(),
                ))
            }
            (Some(_), None) => {
                return Err(ProtocolError::InvalidRequest(
                    "this offer needs its transaction code (tx_code)".into(),
                ))
            }
            (Some(expected), Some(given)) => {
                if !same_digest(expected, &hash_hex(given)) {
                    let failures = document["txCodeFailures"].as_u64().unwrap_or(0) as u32 + 1;
                    document["txCodeFailures"] = json!(failures);
                    let left = TX_CODE_ATTEMPTS.saturating_sub(failures);
                    if left == 0 {
                        document["state"] = json!("locked");
                    }
                    durable(|| {
                        self.store.put_document(OFFER, id, &document, &offer_audit("offer-tx-code-wrong", id))
                    })
                    .map_err(|e| internal(e.into()))?;
                    return Err(ProtocolError::InvalidGrant(if left == 0 {
                        "wrong transaction code; the offer is now locked".to_string()
                    } else {
                        format!("wrong transaction code; {left} attempts left")
                    }));
                }
            }
        }
        let token_secret = random_token(32);
        let access_token = format!("{id}.{token_secret}");
        let token = json!({
            "tokenHash": hash_hex(&token_secret),
            "expiresAt": rfc3339(now + chrono::Duration::seconds(ACCESS_TOKEN_SECS)),
        });
        let traded =
            durable(|| self.store.insert_document(OFFER_TOKEN, id, &token, &offer_audit("offer-token", id)))
                .map_err(|e| internal(e.into()))?;
        if !traded {
            return Err(ProtocolError::InvalidGrant("the pre-authorized code has been used".into()));
        }
        let c_nonce = self.fresh_nonce().map_err(internal)?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ACCESS_TOKEN_SECS,
            c_nonce,
            c_nonce_expires_in: NONCE_SECS,
        })
    }

    /// The nonce MAC key: made once, by whichever node (or call) inserts it first.
    fn nonce_key(&self) -> Result<Vec<u8>, ServiceError> {
        let stored = match self.store.get_document(NONCE_KEY, NONCE_KEY)? {
            Some(key) => key,
            None => {
                let mut key = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
                let audit = offer_audit("oid4vci-nonce-key", NONCE_KEY);
                durable(|| {
                    self.store.insert_document(NONCE_KEY, NONCE_KEY, &json!(hex::encode(key)), &audit)
                })?;
                self.store
                    .get_document(NONCE_KEY, NONCE_KEY)?
                    .ok_or_else(|| ServiceError::Internal("the nonce key was not stored".into()))?
            }
        };
        hex::decode(stored.as_str().unwrap_or_default())
            .map_err(|e| ServiceError::Internal(format!("stored nonce key: {e}")))
    }

    fn nonce_mac(&self, body: &str) -> Result<String, ServiceError> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.nonce_key()?).expect("HMAC accepts any key length");
        mac.update(body.as_bytes());
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// A fresh `c_nonce`: `EXPIRY.RANDOM.MAC`, checkable by any node, stored nowhere.
    pub fn fresh_nonce(&self) -> Result<String, ServiceError> {
        let expiry = chrono::Utc::now().timestamp() + NONCE_SECS;
        let body = format!("{expiry}.{}", random_token(12));
        Ok(format!("{body}.{}", self.nonce_mac(&body)?))
    }

    /// Spends a `c_nonce`: `Ok(false)` when it is not this issuer's, expired or spent.
    fn spend_nonce(&self, nonce: &str) -> Result<bool, ServiceError> {
        let Some((body, mac)) = nonce.rsplit_once('.') else { return Ok(false) };
        let Some(expiry) = body.split_once('.').and_then(|(e, _)| e.parse::<i64>().ok()) else {
            return Ok(false);
        };
        if nonce.len() > 128
            || !same_digest(mac, &self.nonce_mac(body)?)
            || expiry <= chrono::Utc::now().timestamp()
        {
            return Ok(false);
        }
        let spent = json!({"expiresAt": expiry});
        Ok(durable(|| {
            self.store.insert_document(SPENT_NONCE, nonce, &spent, &offer_audit("oid4vci-nonce", "c_nonce"))
        })?)
    }

    /// The credential endpoint: checks the access token, the request and its key proof, spends
    /// the nonce, signs the badge for the proof's holder and spends the offer, in one write.
    pub async fn redeem_offer(
        &self,
        access_token: Option<&str>,
        body: &Value,
    ) -> Result<Value, CredentialFailure> {
        let internal = |e: ServiceError| {
            CredentialFailure::from(ProtocolError::InvalidCredentialRequest(format!(
                "the credential cannot be issued: {e}"
            )))
        };
        let unauthorized = |d: &str| CredentialFailure::from(ProtocolError::InvalidToken(d.to_string()));
        let token = access_token.ok_or_else(|| unauthorized("the request has no access token"))?;
        let (id, secret) =
            split_secret(token).ok_or_else(|| unauthorized("the access token is not valid"))?;
        let issued = self.store.get_document(OFFER_TOKEN, id).map_err(|e| internal(e.into()))?;
        let issued = issued.ok_or_else(|| unauthorized("the access token is not valid"))?;
        if !same_digest(issued["tokenHash"].as_str().unwrap_or_default(), &hash_hex(secret)) {
            return Err(unauthorized("the access token is not valid"));
        }
        let now = chrono::Utc::now();
        if expired(&issued, now) {
            return Err(unauthorized("the access token has expired"));
        }
        let document = self.offer_document(id).map_err(internal)?;
        if document["state"] != "open" {
            return Err(unauthorized("the access token has been used: the offer is redeemed"));
        }
        let request = oid4vci::read_credential_request(body)?;
        let CheckedProof { holder, nonce } = oid4vci::check_proof(
            &request.proof_jwt,
            self.credential_issuer(),
            now.timestamp(),
            self.verifier.resolver.as_ref(),
        )
        .await?;
        let nonce_failure = |detail: &str| -> CredentialFailure {
            CredentialFailure {
                error: ProtocolError::InvalidNonce(detail.to_string()),
                fresh_nonce: self.fresh_nonce().ok(),
            }
        };
        let Some(nonce) = nonce else {
            return Err(nonce_failure("the key proof has no nonce: get one from the nonce endpoint"));
        };
        if !self.spend_nonce(&nonce).map_err(internal)? {
            return Err(nonce_failure("the key proof's nonce is not a valid, unused c_nonce of this issuer"));
        }
        let recipient: AwardRecipient =
            serde_json::from_value(document["recipient"].clone()).unwrap_or_default();
        if let Some(did) = &recipient.did {
            if *did != holder {
                return Err(ProtocolError::InvalidProof(format!(
                    "this offer is for {did}; the proof's key is {holder}"
                ))
                .into());
            }
        }
        let template = document["template"].as_object().cloned().unwrap_or_default();
        let credential_id = document["credentialId"].as_str().unwrap_or_default().to_string();
        let issue = self.redemption_request(
            &template,
            &recipient,
            &holder,
            request.configuration,
            Some(credential_id.clone()),
        );
        let record = self.sign_for_issue(issue).await.map_err(internal)?;
        let mut spent = document.clone();
        spent["state"] = json!("redeemed");
        spent["redeemedAt"] = json!(rfc3339(now));
        spent["holder"] = json!(holder);
        spent["configuration"] = json!(request.configuration.id());
        let mut batch = crate::store::Batch::default();
        batch.credentials.push(record.clone());
        batch.put(OFFER, id, spent);
        match durable(|| self.store.commit(&batch, &offer_audit("offer-redeem", id))) {
            Ok(_) => {}
            // A concurrent redemption stored this offer's badge first.
            Err(StoreError::Duplicate(_)) => {
                return Err(unauthorized("the access token has been used: the offer is redeemed"))
            }
            Err(e) => return Err(internal(e.into())),
        }
        Ok(json!({"credentials": [{"credential": record.credential}]}))
    }
}
