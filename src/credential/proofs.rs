//! Proof formats: Data Integrity (eddsa-rdfc-2022, ecdsa-rdfc-2019, legacy Ed25519Signature2020)
//! and OB 3.0 / VC JWTs. Each format signs through the `ProofFormat` trait; verification returns
//! the verification method so the caller can bind it to the issuer.

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::credential::model;
use crate::credential::signed;
use crate::did::{self, DidResolver, ResolveError, VerificationMethod};
use crate::jsonld::canon::{self, Quad};
use crate::jsonld::contexts;
use crate::jsonld::{self, JsonLdError};
use crate::keys::{decode_base58_bounded, Base58Error, KeyPair, KeyType, PublicKey};

/// Largest compact JWT accepted (bytes).
pub const MAX_JWT_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    KeyMismatch(String),
    #[error("cannot resolve the verification method: {0}")]
    Resolve(#[from] ResolveError),
    #[error("{0}")]
    Transformation(#[from] JsonLdError),
    #[error("cannot sign: {0}")]
    Generation(String),
}

impl ProofError {
    /// The VC DM 2.0 / Data Integrity problem type.
    pub fn code(&self) -> &'static str {
        match self {
            ProofError::Malformed(_) => "MALFORMED_VALUE_ERROR",
            ProofError::Unsupported(_) | ProofError::Invalid(_) | ProofError::Resolve(_) => {
                "PROOF_VERIFICATION_ERROR"
            }
            ProofError::KeyMismatch(_) => "CRYPTOGRAPHIC_SECURITY_ERROR",
            ProofError::Transformation(e) if e.is_unknown_context() => "PARSING_ERROR",
            ProofError::Transformation(_) => "PROOF_TRANSFORMATION_ERROR",
            ProofError::Generation(_) => "PROOF_GENERATION_ERROR",
        }
    }
}

/// The proof formats Laurel issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    EddsaRdfc2022,
    EcdsaRdfc2019,
    Jwt,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "di" | "eddsa" | "eddsa-rdfc-2022" => Ok(Format::EddsaRdfc2022),
            "ecdsa" | "ecdsa-rdfc-2019" => Ok(Format::EcdsaRdfc2019),
            "jwt" | "vc-jwt" => Ok(Format::Jwt),
            other => Err(format!("unknown proof format {other:?} (expected di, ecdsa or jwt)")),
        }
    }
}

impl Format {
    pub fn signer(self) -> Box<dyn ProofFormat> {
        match self {
            Format::EddsaRdfc2022 => Box::new(DataIntegrity(Cryptosuite::EddsaRdfc2022)),
            Format::EcdsaRdfc2019 => Box::new(DataIntegrity(Cryptosuite::EcdsaRdfc2019)),
            Format::Jwt => Box::new(Jwt),
        }
    }

    /// The default key type for the format.
    pub fn default_key_type(self) -> KeyType {
        match self {
            Format::EcdsaRdfc2019 => KeyType::P256,
            _ => KeyType::Ed25519,
        }
    }
}

/// A signed credential or presentation: embedded proof (JSON) or compact JWT.
#[derive(Debug, Clone, PartialEq)]
pub enum Secured {
    Json(Value),
    Jwt(String),
}

impl Secured {
    pub fn to_json_value(&self) -> Value {
        match self {
            Secured::Json(v) => v.clone(),
            Secured::Jwt(t) => Value::String(t.clone()),
        }
    }
}

/// Proof options for signing.
#[derive(Debug, Clone)]
pub struct SignOptions {
    pub proof_purpose: String,
    pub created: Option<String>,
    pub challenge: Option<String>,
    pub domain: Option<String>,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions { proof_purpose: "assertionMethod".into(), created: None, challenge: None, domain: None }
    }
}

/// A way of securing a credential. One provider per format.
#[async_trait]
pub trait ProofFormat: Send + Sync {
    fn name(&self) -> &'static str;
    async fn sign(
        &self,
        document: &Value,
        key: &KeyPair,
        options: &SignOptions,
    ) -> Result<Secured, ProofError>;
}

/// Data Integrity cryptosuites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cryptosuite {
    EddsaRdfc2022,
    EcdsaRdfc2019,
    /// The 2020 Ed25519 suite older badges use; verified, never issued.
    Ed25519Signature2020,
}

impl Cryptosuite {
    pub fn name(self) -> &'static str {
        match self {
            Cryptosuite::EddsaRdfc2022 => "eddsa-rdfc-2022",
            Cryptosuite::EcdsaRdfc2019 => "ecdsa-rdfc-2019",
            Cryptosuite::Ed25519Signature2020 => "Ed25519Signature2020",
        }
    }

    fn key_type(self) -> KeyType {
        match self {
            Cryptosuite::EcdsaRdfc2019 => KeyType::P256,
            _ => KeyType::Ed25519,
        }
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Canonicalizes the document's quads and the proof configuration and returns
/// SHA-256(proof) || SHA-256(document).
async fn hash_data(document_quads: &[Quad], proof_config: &Value) -> Result<Vec<u8>, ProofError> {
    let proof_canon = jsonld::canonical_nquads(proof_config).await?;
    let document_canon = canon::canonicalize(document_quads, canon::Limits::default())
        .map_err(JsonLdError::Canonicalization)?;
    let mut out = Sha256::digest(proof_canon.as_bytes()).to_vec();
    out.extend_from_slice(&Sha256::digest(document_canon.as_bytes()));
    Ok(out)
}

/// Which top-level node a document to sign or verify is, by its JSON type.
pub fn top_level_of(document: &Value) -> signed::TopLevel {
    if model::types_of(document.get("type")).contains(&"VerifiablePresentation") {
        signed::TopLevel::Presentation
    } else {
        signed::TopLevel::Credential
    }
}

/// Data Integrity signing with one cryptosuite.
pub struct DataIntegrity(pub Cryptosuite);

#[async_trait]
impl ProofFormat for DataIntegrity {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    async fn sign(
        &self,
        document: &Value,
        key: &KeyPair,
        options: &SignOptions,
    ) -> Result<Secured, ProofError> {
        let suite = self.0;
        if suite == Cryptosuite::Ed25519Signature2020 {
            return Err(ProofError::Generation("Ed25519Signature2020 is verified but never issued".into()));
        }
        if key.key_type() != suite.key_type() {
            return Err(ProofError::Generation(format!(
                "{} needs a {} key, not {}",
                suite.name(),
                suite.key_type(),
                key.key_type()
            )));
        }
        let mut document = document.clone();
        let object = document
            .as_object_mut()
            .ok_or_else(|| ProofError::Generation("only a JSON object can be signed".into()))?;
        if object.contains_key("proof") {
            return Err(ProofError::Generation("the document already has a proof".into()));
        }
        add_data_integrity_context(object);
        let mut proof = Map::new();
        proof.insert("type".into(), json!("DataIntegrityProof"));
        proof.insert("cryptosuite".into(), json!(suite.name()));
        proof.insert("created".into(), json!(options.created.clone().unwrap_or_else(now_rfc3339)));
        proof.insert("verificationMethod".into(), json!(key.verification_method()));
        proof.insert("proofPurpose".into(), json!(options.proof_purpose));
        if let Some(challenge) = &options.challenge {
            proof.insert("challenge".into(), json!(challenge));
        }
        if let Some(domain) = &options.domain {
            proof.insert("domain".into(), json!(domain));
        }
        let mut proof_config = proof.clone();
        proof_config.insert("@context".into(), object["@context"].clone());
        let quads = jsonld::to_quads(&document).await?;
        // Issue strictly: never sign a document whose JSON keys would not show the checks
        // what the signature covers (a renamed credentialStatus, an "@id" for "id").
        let disagreements = signed::disagreements(&document, &quads, top_level_of(&document));
        if !disagreements.is_empty() {
            return Err(ProofError::Generation(format!(
                "the JSON does not show what would be signed: {}",
                disagreements.join("; ")
            )));
        }
        let data = hash_data(&quads, &Value::Object(proof_config)).await?;
        let signature = key.sign_raw(&data).map_err(|e| ProofError::Generation(e.to_string()))?;
        proof.insert("proofValue".into(), json!(format!("z{}", bs58::encode(signature).into_string())));
        document["proof"] = Value::Object(proof);
        Ok(Secured::Json(document))
    }
}

/// A VC DM 1.1 document needs the Data Integrity context to define `DataIntegrityProof`.
fn add_data_integrity_context(object: &mut Map<String, Value>) {
    let Some(Value::Array(list)) = object.get_mut("@context") else {
        return;
    };
    let first = list.first().and_then(Value::as_str);
    let has = list.iter().any(|c| {
        c.as_str() == Some(contexts::DATA_INTEGRITY_V2) || c.as_str() == Some(contexts::DATA_INTEGRITY_V1)
    });
    if first == Some(contexts::CREDENTIALS_V1) && !has {
        list.push(json!(contexts::DATA_INTEGRITY_V2));
    }
}

/// What a verified proof established.
#[derive(Debug, Clone)]
pub struct VerifiedProof {
    pub format: String,
    pub method: VerificationMethod,
    pub purpose: String,
    pub created: Option<String>,
    pub challenge: Option<String>,
    /// `domain` (DI) or `aud` (JWT): one value or several.
    pub domains: Vec<String>,
    /// Non-fatal remarks (a deprecated suite name, an inferred key).
    pub warnings: Vec<String>,
}

/// A string, or the strings of an array (JSON values that may be one or many).
pub fn strings_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => vec![],
    }
}

fn str_field<'a>(proof: &'a Map<String, Value>, name: &str) -> Result<&'a str, ProofError> {
    match proof.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(ProofError::Malformed(format!("proof.{name} must be a non-empty string"))),
        None => Err(ProofError::Malformed(format!("proof.{name} is missing"))),
    }
}

fn decode_signature(proof_value: &str, expected_len: usize) -> Result<Vec<u8>, ProofError> {
    let encoded = proof_value.strip_prefix('z').ok_or_else(|| {
        ProofError::Malformed("proofValue must be multibase base58btc (start with 'z')".into())
    })?;
    // Measured before decoding: base58 decoding time grows with the square of the length.
    let bytes = decode_base58_bounded(encoded, expected_len).map_err(|e| match e {
        Base58Error::TooLong { chars, limit, .. } => ProofError::Malformed(format!(
            "proofValue has {chars} base58 characters; a {expected_len}-byte signature has at most {limit}"
        )),
        Base58Error::Invalid(why) => {
            ProofError::Malformed(format!("proofValue is not valid base58btc: {why}"))
        }
    })?;
    if bytes.len() != expected_len {
        return Err(ProofError::Malformed(format!(
            "proofValue decodes to {} bytes; a signature here is {expected_len}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Said of a P-256 signature whose S is above n/2 (it verified in its low-S form).
pub const HIGH_S_WARNING: &str =
    "the ECDSA signature has a high S value (above n/2); it was verified in its \
     normalized low-S form. Both forms are valid signatures of the same data (ECDSA malleability), \
     so nothing signed is in doubt, but the issuer's signer does not normalize S as Laurel does";

/// Verifies an ECDSA signature (r || s) over `$message` with `$key` of the curve crate `$curve`
/// (each verifying key hashes with its curve's digest: SHA-256, SHA-384, SHA-512), in low-S form.
/// A macro because p521's key is its own type, outside the generic `ecdsa::VerifyingKey<C>`.
macro_rules! verify_ecdsa {
    ($key:expr, $curve:ident, $name:literal, $message:expr, $signature:expr) => {{
        use signature::Verifier;
        let sig = $curve::ecdsa::Signature::from_slice($signature)
            .map_err(|_| ProofError::Malformed(concat!("not a ", $name, " signature").into()))?;
        let (sig, remark) = match sig.normalize_s() {
            Some(low) => (low, Some(HIGH_S_WARNING)),
            None => (sig, None),
        };
        $key.verify($message, &sig)
            .map_err(|_| ProofError::Invalid("the signature does not match the signed data".into()))?;
        Ok(remark)
    }};
}

/// Verifies a raw signature with the method's key, refusing a key of the wrong type. Returns a
/// remark for a signature that verified but is not in canonical form.
fn verify_signature(
    key: &PublicKey,
    expected: KeyType,
    message: &[u8],
    signature: &[u8],
) -> Result<Option<&'static str>, ProofError> {
    match (key, expected) {
        (PublicKey::Ed25519(k), KeyType::Ed25519) => {
            let sig = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| ProofError::Malformed("not an Ed25519 signature".into()))?;
            k.verify_strict(message, &sig)
                .map_err(|_| ProofError::Invalid("the signature does not match the signed data".into()))?;
            Ok(None)
        }
        // (r, n - s) verifies whenever (r, s) does. Laurel normalizes rather than refuses: the
        // twin proves exactly what the original does (same key, same signed data), and OpenSSL
        // and WebCrypto signers, which issue much of the field's ES256, do not normalize, so
        // refusing would reject about half of their credentials. Nothing in Laurel identifies a
        // credential by its signature bytes. Laurel itself signs low-S.
        (PublicKey::P256(k), KeyType::P256) => verify_ecdsa!(k, p256, "P-256", message, signature),
        (PublicKey::P384(k), KeyType::P384) => verify_ecdsa!(k, p384, "P-384", message, signature),
        (PublicKey::P521(k), KeyType::P521) => verify_ecdsa!(k, p521, "P-521", message, signature),
        (key, expected) => Err(ProofError::KeyMismatch(format!(
            "the verification method holds a {} key but the proof needs {expected}",
            key.key_type()
        ))),
    }
}

fn proofs_of(document: &Value) -> Vec<Value> {
    match document.get("proof") {
        Some(Value::Array(list)) => list.clone(),
        Some(one) => vec![one.clone()],
        None => vec![],
    }
}

/// Verifies one embedded proof of `document` (which may carry several: a set or a chain).
pub async fn verify_embedded_proof(
    document: &Value,
    proof: &Value,
    resolver: &dyn DidResolver,
    expected_purpose: &str,
) -> Result<VerifiedProof, ProofError> {
    verify_embedded_proof_with(document, proof, resolver, expected_purpose, None).await
}

/// [`verify_embedded_proof`], given the quads of `document` without its proofs when the caller
/// has them already (one expansion for every proof of a proof set).
pub async fn verify_embedded_proof_with(
    document: &Value,
    proof: &Value,
    resolver: &dyn DidResolver,
    expected_purpose: &str,
    unsecured_quads: Option<&[Quad]>,
) -> Result<VerifiedProof, ProofError> {
    let proof = proof.as_object().ok_or_else(|| ProofError::Malformed("proof must be an object".into()))?;
    let proof_type = str_field(proof, "type")?;
    let mut warnings = Vec::new();
    let suite = match proof_type {
        "DataIntegrityProof" => match str_field(proof, "cryptosuite")? {
            "eddsa-rdfc-2022" => Cryptosuite::EddsaRdfc2022,
            "eddsa-2022" => {
                warnings
                    .push("cryptosuite \"eddsa-2022\" is the deprecated name of eddsa-rdfc-2022".to_string());
                Cryptosuite::EddsaRdfc2022
            }
            "ecdsa-rdfc-2019" => Cryptosuite::EcdsaRdfc2019,
            other => return Err(ProofError::Unsupported(format!("unsupported cryptosuite {other:?}"))),
        },
        "Ed25519Signature2020" => Cryptosuite::Ed25519Signature2020,
        other => return Err(ProofError::Unsupported(format!("unsupported proof type {other:?}"))),
    };
    let method_url = str_field(proof, "verificationMethod")?;
    let purpose = str_field(proof, "proofPurpose")?;
    let proof_value = str_field(proof, "proofValue")?;
    let created = match proof.get("created") {
        Some(Value::String(c)) if model::is_rfc3339(c) => Some(c.clone()),
        Some(_) => return Err(ProofError::Malformed("proof.created must be an RFC 3339 date-time".into())),
        None if suite == Cryptosuite::Ed25519Signature2020 => {
            return Err(ProofError::Malformed("proof.created is required for Ed25519Signature2020".into()))
        }
        None => None,
    };
    if purpose != expected_purpose {
        return Err(ProofError::Invalid(format!(
            "proofPurpose is {purpose:?}; expected {expected_purpose:?}"
        )));
    }
    let signature = decode_signature(proof_value, 64)?;

    let mut unsecured = document.clone();
    let object = unsecured
        .as_object_mut()
        .ok_or_else(|| ProofError::Malformed("document must be an object".into()))?;
    object.remove("proof");
    if let Some(previous) = proof.get("previousProof") {
        let wanted: Vec<&str> = match previous {
            Value::String(id) => vec![id.as_str()],
            Value::Array(ids) => ids.iter().filter_map(Value::as_str).collect(),
            _ => {
                return Err(ProofError::Malformed(
                    "previousProof must be a string or an array of strings".into(),
                ))
            }
        };
        let all = proofs_of(document);
        let mut chained = Vec::new();
        for id in wanted {
            let found = all
                .iter()
                .find(|p| p.get("id").and_then(Value::as_str) == Some(id))
                .ok_or_else(|| ProofError::Invalid(format!("previousProof {id:?} is not in the document")))?;
            chained.push(found.clone());
        }
        object.insert(
            "proof".into(),
            if chained.len() == 1 { chained.remove(0) } else { Value::Array(chained) },
        );
    }
    let document_context = object.get("@context").cloned().ok_or(JsonLdError::NoContext)?;
    let mut proof_config = proof.clone();
    proof_config.remove("proofValue");
    if let Some(proof_context) = proof_config.get("@context") {
        let prefix: Vec<&Value> = match proof_context {
            Value::Array(list) => list.iter().collect(),
            one => vec![one],
        };
        let doc_list: Vec<&Value> = match &document_context {
            Value::Array(list) => list.iter().collect(),
            one => vec![one],
        };
        if doc_list.len() < prefix.len() || doc_list[..prefix.len()] != prefix[..] {
            return Err(ProofError::Invalid(
                "the proof's @context is not a prefix of the document's @context".into(),
            ));
        }
    }
    proof_config.insert("@context".into(), document_context);

    let method = did::resolve_verification_method(resolver, method_url, expected_purpose).await?;
    if method.inferred {
        warnings
            .push(format!("verificationMethod {method_url:?} names a DID, not a key; its only key was used"));
    }
    // A chained proof signs the previous proofs too: its quads are not the unsecured ones.
    let computed;
    let quads = match unsecured_quads {
        Some(quads) if proof.get("previousProof").is_none() => quads,
        _ => {
            computed = jsonld::to_quads(&unsecured).await?;
            &computed[..]
        }
    };
    let data = hash_data(quads, &Value::Object(proof_config)).await?;
    if let Some(remark) = verify_signature(&method.public_key, suite.key_type(), &data, &signature)? {
        warnings.push(remark.to_string());
    }
    Ok(VerifiedProof {
        format: suite.name().to_string(),
        method,
        purpose: purpose.to_string(),
        created,
        challenge: proof.get("challenge").and_then(Value::as_str).map(str::to_string),
        domains: strings_of(proof.get("domain")),
        warnings,
    })
}

/// OB 3.0 §8.2 JWTs, signed with josekit.
pub struct Jwt;

fn epoch_seconds(date: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(date).ok().map(|d| d.timestamp())
}

/// The registered claims OB 3.0 §8.2.4 derives from the credential.
fn derived_claims(credential: &Value) -> Map<String, Value> {
    let mut claims = Map::new();
    if let Some(iss) = model::issuer_id(credential) {
        claims.insert("iss".into(), json!(iss));
    }
    if let Some(sub) = credential.pointer("/credentialSubject/id").and_then(Value::as_str) {
        claims.insert("sub".into(), json!(sub));
    }
    if let Some(nbf) = ["validFrom", "issuanceDate"]
        .iter()
        .find_map(|f| credential.get(*f)?.as_str().and_then(epoch_seconds))
    {
        claims.insert("nbf".into(), json!(nbf));
    }
    if let Some(jti) = credential.get("id").and_then(Value::as_str) {
        claims.insert("jti".into(), json!(jti));
    }
    if let Some(exp) = ["validUntil", "expirationDate"]
        .iter()
        .find_map(|f| credential.get(*f)?.as_str().and_then(epoch_seconds))
    {
        claims.insert("exp".into(), json!(exp));
    }
    claims
}

#[async_trait]
impl ProofFormat for Jwt {
    fn name(&self) -> &'static str {
        "jwt"
    }

    async fn sign(
        &self,
        credential: &Value,
        key: &KeyPair,
        _options: &SignOptions,
    ) -> Result<Secured, ProofError> {
        let object = credential
            .as_object()
            .ok_or_else(|| ProofError::Generation("only a JSON object can be signed".into()))?;
        if object.contains_key("proof") {
            return Err(ProofError::Generation("a JWT credential must not carry an embedded proof".into()));
        }
        let mut payload = object.clone();
        payload.extend(derived_claims(credential));
        let mut header = josekit::jws::JwsHeader::new();
        header.set_token_type("JWT");
        header.set_key_id(key.verification_method());
        let jwk = josekit::jwk::Jwk::from_map(key.private_jwk())
            .map_err(|e| ProofError::Generation(e.to_string()))?;
        let generation = |e: josekit::JoseError| ProofError::Generation(e.to_string());
        let payload_bytes =
            serde_json::to_vec(&payload).map_err(|e| ProofError::Generation(e.to_string()))?;
        let token = match key.key_type() {
            KeyType::Ed25519 => {
                let signer = josekit::jws::EdDSA.signer_from_jwk(&jwk).map_err(generation)?;
                josekit::jws::serialize_compact(&payload_bytes, &header, &signer)
            }
            KeyType::P256 => {
                let signer = josekit::jws::ES256.signer_from_jwk(&jwk).map_err(generation)?;
                josekit::jws::serialize_compact(&payload_bytes, &header, &signer).map(low_s_jws)
            }
            KeyType::Rsa => {
                let signer = josekit::jws::RS256.signer_from_jwk(&jwk).map_err(generation)?;
                josekit::jws::serialize_compact(&payload_bytes, &header, &signer)
            }
            other => return Err(ProofError::Generation(format!("Laurel does not issue with {other} keys"))),
        }
        .map_err(generation)?;
        Ok(Secured::Jwt(token))
    }
}

/// An ES256 compact JWS with its signature in low-S form (OpenSSL, behind josekit, does not
/// normalize S, and verifiers refuse high S as malleable).
fn low_s_jws(token: String) -> String {
    let Some((signing_input, signature)) = token.rsplit_once('.') else {
        return token;
    };
    match B64URL.decode(signature) {
        Ok(bytes) => format!("{signing_input}.{}", B64URL.encode(crate::keys::low_s_p256(&bytes))),
        Err(_) => token,
    }
}

/// Verifies an RSA JWS signature (PKCS#1 v1.5 or PSS) through josekit.
fn verify_rsa_jws(
    alg: &str,
    jwk: &Map<String, Value>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), ProofError> {
    use josekit::jws::{self, JwsVerifier};
    let jwk = josekit::jwk::Jwk::from_map(jwk.clone()).map_err(|e| ProofError::Malformed(e.to_string()))?;
    let malformed = |e: josekit::JoseError| ProofError::Malformed(e.to_string());
    let verifier: Box<dyn JwsVerifier> = match alg {
        "RS256" => Box::new(jws::RS256.verifier_from_jwk(&jwk).map_err(malformed)?),
        "RS384" => Box::new(jws::RS384.verifier_from_jwk(&jwk).map_err(malformed)?),
        "RS512" => Box::new(jws::RS512.verifier_from_jwk(&jwk).map_err(malformed)?),
        "PS256" => Box::new(jws::PS256.verifier_from_jwk(&jwk).map_err(malformed)?),
        "PS384" => Box::new(jws::PS384.verifier_from_jwk(&jwk).map_err(malformed)?),
        "PS512" => Box::new(jws::PS512.verifier_from_jwk(&jwk).map_err(malformed)?),
        other => return Err(ProofError::KeyMismatch(format!("JWT alg {other} is not an RSA algorithm"))),
    };
    verifier
        .verify(message, signature)
        .map_err(|_| ProofError::Invalid("the JWT signature does not match".into()))
}

/// Verifies a JWS signature made with `alg` (one of [`JWT_ALGS`]: never "none" or an HMAC) over
/// `message` with `key`, a key the caller already trusts (never one a header supplied). Returns a
/// remark for a signature that verified but is not in canonical form.
pub fn verify_jws_signature(
    alg: &str,
    key: &PublicKey,
    message: &[u8],
    signature: &[u8],
) -> Result<Option<&'static str>, ProofError> {
    match (alg, key) {
        ("EdDSA", key) => verify_signature(key, KeyType::Ed25519, message, signature),
        ("ES256", key) => verify_signature(key, KeyType::P256, message, signature),
        ("ES384", key) => verify_signature(key, KeyType::P384, message, signature),
        ("ES512", key) => verify_signature(key, KeyType::P521, message, signature),
        (alg @ ("RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512"), PublicKey::Rsa(jwk)) => {
            verify_rsa_jws(alg, jwk, message, signature)?;
            Ok(None)
        }
        (alg, key) => Err(ProofError::KeyMismatch(format!(
            "JWT alg {alg} cannot be verified with a {} key",
            key.key_type()
        ))),
    }
}

/// The three JWT shapes found in the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtForm {
    /// OB 3.0 §8.2: the payload is the credential plus registered claims; `typ` JWT.
    OpenBadges,
    /// VC-JOSE-COSE: `typ` vc+jwt, the payload is the credential.
    VcJose,
    /// VC-JWT 1.1: the credential is in the `vc` claim.
    VcJwt11,
}

/// A compact JWT split and decoded, not yet verified.
#[derive(Debug, Clone)]
pub struct DecodedJwt {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    pub credential: Value,
    pub form: JwtForm,
    signing_input: String,
    signature: Vec<u8>,
}

/// The JWS algorithms Laurel verifies (OB 3.0 requires RS256 and permits the others; RFC 7518).
/// It issues with EdDSA, ES256 and RS256 only.
pub const JWT_ALGS: [&str; 10] =
    ["EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];

const REGISTERED_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// The credential a stored secured form carries: the object itself, or a compact JWT's payload
/// (decoded, its signature not checked: for reading back what this service signed).
pub fn credential_of(secured: &Value) -> Option<std::borrow::Cow<'_, Value>> {
    match secured {
        Value::Object(_) => Some(std::borrow::Cow::Borrowed(secured)),
        Value::String(jwt) => decode_jwt(jwt, "vc").ok().map(|d| std::borrow::Cow::Owned(d.credential)),
        _ => None,
    }
}

/// Decodes a compact JWT, rejecting anything malformed before any cryptography runs.
pub fn decode_jwt(token: &str, credential_claim: &str) -> Result<DecodedJwt, ProofError> {
    let token = token.trim();
    if token.len() > MAX_JWT_BYTES {
        return Err(ProofError::Malformed(format!("the JWT is larger than {MAX_JWT_BYTES} bytes")));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
        return Err(ProofError::Malformed(format!(
            "a compact JWT has 3 dot-separated parts, this has {}",
            parts.len()
        )));
    };
    let decode = |part: &str, what: &str| {
        B64URL.decode(part).map_err(|_| ProofError::Malformed(format!("the JWT {what} is not base64url")))
    };
    // Strict: a repeated key is refused, as two parsers could disagree on which one was signed.
    let object = |part: &str, what: &str| -> Result<Map<String, Value>, ProofError> {
        match crate::codec::json::from_slice(&decode(part, what)?) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ProofError::Malformed(format!("the JWT {what} is not a JSON object"))),
            Err(e) => Err(ProofError::Malformed(format!("the JWT {what} is not valid JSON: {e}"))),
        }
    };
    let header = object(header_b64, "header")?;
    let payload = object(payload_b64, "payload")?;
    let signature = decode(signature_b64, "signature")?;
    match header.get("alg").and_then(Value::as_str) {
        Some(alg) if JWT_ALGS.contains(&alg) => {}
        Some(alg) => {
            return Err(ProofError::KeyMismatch(format!(
                "JWT alg {alg:?} is not allowed (allowed: {}; never \"none\" or an HMAC)",
                JWT_ALGS.join(", ")
            )))
        }
        None => return Err(ProofError::Malformed("the JWT header has no \"alg\"".into())),
    }
    // A key URL would make the verifier fetch whatever the signer points at, and a certificate
    // chain needs roots Laurel is not configured with. `jwk` is allowed: it only selects one of
    // the keys the issuer's own document lists (`DecodedJwt::verify`).
    for remote in ["jku", "x5u", "x5c"] {
        if header.contains_key(remote) {
            return Err(ProofError::KeyMismatch(format!(
                "the JWT header carries \"{remote}\"; keys come only from the issuer's own document"
            )));
        }
    }
    match header.get("jwk") {
        None => {}
        Some(Value::Object(jwk)) if !jwk.contains_key("d") => {}
        Some(Value::Object(_)) => {
            return Err(ProofError::KeyMismatch("the JWT header's \"jwk\" holds a private key".into()))
        }
        Some(_) => {
            return Err(ProofError::Malformed("the JWT header's \"jwk\" must be a JSON object".into()))
        }
    }
    if header.contains_key("crit") {
        return Err(ProofError::Unsupported(
            "the JWT header has \"crit\" extensions Laurel does not understand".into(),
        ));
    }
    let typ = header.get("typ").and_then(Value::as_str);
    let (form, credential) = if let Some(vc) = payload.get(credential_claim) {
        if !vc.is_object() {
            return Err(ProofError::Malformed(format!(
                "the JWT \"{credential_claim}\" claim must be an object"
            )));
        }
        (JwtForm::VcJwt11, vc.clone())
    } else {
        let mut credential = payload.clone();
        for claim in REGISTERED_CLAIMS {
            credential.remove(claim);
        }
        let form = if matches!(typ, Some("vc+jwt" | "vc+ld+json+jwt" | "vp+jwt" | "vp+ld+json+jwt")) {
            JwtForm::VcJose
        } else {
            JwtForm::OpenBadges
        };
        (form, Value::Object(credential))
    };
    Ok(DecodedJwt {
        header,
        payload,
        credential,
        form,
        signing_input: format!("{header_b64}.{payload_b64}"),
        signature,
    })
}

impl DecodedJwt {
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or_default()
    }

    /// Claims that contradict the credential they carry.
    pub fn claim_mismatches(&self) -> Vec<String> {
        let expected = derived_claims(&self.credential);
        let mut problems = Vec::new();
        for (claim, field) in [
            ("iss", "issuer"),
            ("sub", "credentialSubject.id"),
            ("jti", "id"),
            ("nbf", "validFrom"),
            ("exp", "validUntil"),
        ] {
            if let (Some(actual), Some(wanted)) = (self.payload.get(claim), expected.get(claim)) {
                if actual != wanted {
                    problems.push(format!(
                        "JWT claim \"{claim}\" ({actual}) does not match the credential's {field} ({wanted})"
                    ));
                }
            }
        }
        if self.form == JwtForm::VcJwt11 && !self.payload.contains_key("iss") {
            problems.push("a VC-JWT must carry the \"iss\" claim".to_string());
        }
        problems
    }

    /// Verifies the signature with the key of the issuer's verification method: the one `kid`
    /// names, or without `kid` the one whose key is the `jwk` header's (OB 3.0 §8.2.4.1), or the
    /// issuer's only key. A `jwk` header never supplies a key by itself: it must be one the
    /// issuer's own document lists for `purpose`, and equal the key `kid` names when both are set.
    pub async fn verify(
        &self,
        resolver: &dyn DidResolver,
        purpose: &str,
    ) -> Result<VerifiedProof, ProofError> {
        let issuer = match self.payload.get("iss").and_then(Value::as_str) {
            Some(iss) => Some(iss.to_string()),
            None => model::issuer_id(&self.credential).map(str::to_string),
        };
        let header_key = match self.header.get("jwk").and_then(Value::as_object) {
            Some(jwk) => Some(PublicKey::from_jwk(jwk).map_err(|e| {
                ProofError::Malformed(format!("the JWT header's \"jwk\" is not a usable public key: {e}"))
            })?),
            None => None,
        };
        let kid = self.header.get("kid").and_then(Value::as_str);
        let method = match (kid, &issuer, &header_key) {
            (None, Some(iss), Some(key)) => {
                let controller = if iss.starts_with("did:") { did::did_of(iss) } else { iss.as_str() };
                did::resolve_method_by_key(resolver, controller, key, purpose).await.map_err(|e| match e {
                    ResolveError::KeyNotListed { .. } => ProofError::KeyMismatch(format!(
                        "the JWT header's \"jwk\" is not the issuer's key: {e}"
                    )),
                    other => ProofError::Resolve(other),
                })?
            }
            (None, None, _) => {
                return Err(ProofError::Malformed("the JWT has neither \"kid\" nor an issuer".into()))
            }
            (kid, Some(iss), _) => {
                let method_url = match kid {
                    Some(kid) if kid.starts_with('#') => format!("{iss}{kid}"),
                    Some(kid) => kid.to_string(),
                    None => iss.clone(),
                };
                did::resolve_verification_method(resolver, &method_url, purpose).await?
            }
            (Some(kid), None, _) => did::resolve_verification_method(resolver, kid, purpose).await?,
        };
        if let Some(key) = &header_key {
            if key != &method.public_key {
                return Err(ProofError::KeyMismatch(format!(
                    "the JWT header's \"jwk\" (JWK thumbprint {}) is not the key of {}, which its \"kid\" names",
                    key.thumbprint(),
                    method.id
                )));
            }
        }
        let mut warnings = Vec::new();
        let remark = verify_jws_signature(
            self.alg(),
            &method.public_key,
            self.signing_input.as_bytes(),
            &self.signature,
        )?;
        warnings.extend(remark.map(str::to_string));
        if method.inferred {
            warnings.push("the JWT has no kid; the issuer DID's only key was used".to_string());
        }
        Ok(VerifiedProof {
            format: format!("jwt-{}", self.alg().to_ascii_lowercase()),
            method,
            purpose: purpose.to_string(),
            created: None,
            challenge: self.payload.get("nonce").and_then(Value::as_str).map(str::to_string),
            domains: strings_of(self.payload.get("aud")),
            warnings,
        })
    }
}
