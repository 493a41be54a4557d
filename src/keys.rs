//! Signing keys: generation (Ed25519, P-256, RSA-2048), public key encodings (also P-384 and
//! P-521, which Laurel verifies but never issues with), and the key store.
//!
//! Foundation layer: uses nothing in the crate; used by `store` (the `KeyStore` trait it
//! implements), `did`, `credential`, `service`.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub mod seal;

/// Multicodec prefixes (varint-encoded) of the public keys did:key and Multikey carry.
pub const ED25519_PUB_CODEC: [u8; 2] = [0xed, 0x01];
pub const P256_PUB_CODEC: [u8; 2] = [0x80, 0x24];
pub const P384_PUB_CODEC: [u8; 2] = [0x81, 0x24];
pub const P521_PUB_CODEC: [u8; 2] = [0x82, 0x24];
pub const ED25519_PRIV_CODEC: [u8; 2] = [0x80, 0x26];

/// Longest multicodec public key Laurel reads (a compressed P-521 key with its codec: 69 bytes).
pub const MAX_MULTIKEY_BYTES: usize = 69;

/// The most base58 characters `bytes` bytes can take: each character carries log2(58) ≈ 5.858
/// bits, and a leading zero byte takes one character ('1'), never more.
pub const fn base58_max_chars(bytes: usize) -> usize {
    (bytes * 8 * 1000).div_ceil(5857)
}

/// Decodes base58btc text that must hold at most `max_bytes` bytes. Base58 decoding costs the
/// square of the length, so untrusted text is measured first: anything longer than
/// `max_bytes` could encode is refused without being decoded.
pub fn decode_base58_bounded(encoded: &str, max_bytes: usize) -> Result<Vec<u8>, Base58Error> {
    let limit = base58_max_chars(max_bytes);
    if encoded.len() > limit {
        return Err(Base58Error::TooLong { chars: encoded.len(), limit, max_bytes });
    }
    bs58::decode(encoded).into_vec().map_err(|e| Base58Error::Invalid(e.to_string()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base58Error {
    #[error("{chars} base58 characters; {max_bytes} bytes take at most {limit}")]
    TooLong { chars: usize, limit: usize, max_bytes: usize },
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Ed25519,
    P256,
    Rsa,
    /// Verified (ES384, did:key P-384), never generated or issued with.
    P384,
    /// Verified (ES512, did:key P-521), never generated or issued with.
    P521,
}

impl std::str::FromStr for KeyType {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" => Ok(KeyType::Ed25519),
            "p256" | "p-256" | "es256" => Ok(KeyType::P256),
            "rsa" | "rsa2048" | "rs256" => Ok(KeyType::Rsa),
            "p384" | "p-384" | "es384" => Ok(KeyType::P384),
            "p521" | "p-521" | "es512" => Ok(KeyType::P521),
            other => Err(KeyError::UnknownKeyType(other.to_string())),
        }
    }
}

impl KeyType {
    /// The JWS algorithm (RFC 7518) a key of this type signs with.
    pub fn jws_alg(self) -> &'static str {
        match self {
            KeyType::Ed25519 => "EdDSA",
            KeyType::P256 => "ES256",
            KeyType::Rsa => "RS256",
            KeyType::P384 => "ES384",
            KeyType::P521 => "ES512",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Ed25519 => "ed25519",
            KeyType::P256 => "p256",
            KeyType::Rsa => "rsa",
            KeyType::P384 => "p384",
            KeyType::P521 => "p521",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("unknown key type {0:?} (expected ed25519, p256 or rsa; p384 and p521 are verified only)")]
    UnknownKeyType(String),
    #[error("invalid key material: {0}")]
    Invalid(String),
    #[error("no key named {0:?} in the key store")]
    NotFound(String),
    #[error("key store error: {0}")]
    Io(#[from] std::io::Error),
    /// The store's private keys are sealed and no passphrase was given.
    #[error("keys are sealed: set LAUREL_KEY_PASSPHRASE or LAUREL_KEY_PASSPHRASE_FILE to use key {0:?}")]
    Sealed(String),
    #[error(
        "wrong passphrase: LAUREL_KEY_PASSPHRASE / LAUREL_KEY_PASSPHRASE_FILE does not open the sealed keys"
    )]
    WrongPassphrase,
}

/// A public key, as found in a verification method.
#[derive(Clone)]
pub enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    /// RSA keys are only used through JOSE, so the JWK is the representation.
    Rsa(Map<String, Value>),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
}

/// Two keys are the same key when their public JWKs are (RFC 7638 compares the same members).
impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.key_type() == other.key_type() && self.to_jwk() == other.to_jwk()
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_type())
    }
}

impl PublicKey {
    pub fn key_type(&self) -> KeyType {
        match self {
            PublicKey::Ed25519(_) => KeyType::Ed25519,
            PublicKey::P256(_) => KeyType::P256,
            PublicKey::Rsa(_) => KeyType::Rsa,
            PublicKey::P384(_) => KeyType::P384,
            PublicKey::P521(_) => KeyType::P521,
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): the key's identity across encodings.
    pub fn thumbprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let jwk = self.to_jwk();
        // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
        let members: &[&str] = match self {
            PublicKey::Ed25519(_) => &["crv", "kty", "x"],
            PublicKey::Rsa(_) => &["e", "kty", "n"],
            _ => &["crv", "kty", "x", "y"],
        };
        let canonical: Map<String, Value> =
            members.iter().filter_map(|m| jwk.get(*m).map(|v| (m.to_string(), v.clone()))).collect();
        B64URL.encode(Sha256::digest(Value::Object(canonical).to_string().as_bytes()))
    }

    /// Multibase (base58btc) multicodec encoding, as in did:key and Multikey.
    pub fn to_multikey(&self) -> Option<String> {
        let bytes = match self {
            PublicKey::Ed25519(k) => [&ED25519_PUB_CODEC[..], k.as_bytes()].concat(),
            PublicKey::P256(k) => [&P256_PUB_CODEC[..], k.to_encoded_point(true).as_bytes()].concat(),
            PublicKey::P384(k) => [&P384_PUB_CODEC[..], k.to_encoded_point(true).as_bytes()].concat(),
            PublicKey::P521(k) => [&P521_PUB_CODEC[..], k.to_encoded_point(true).as_bytes()].concat(),
            PublicKey::Rsa(_) => return None,
        };
        Some(format!("z{}", bs58::encode(bytes).into_string()))
    }

    /// The key's own DID: did:key for Ed25519 and P-256, did:jwk for RSA.
    pub fn did(&self) -> String {
        match self.to_multikey() {
            Some(multikey) => format!("did:key:{multikey}"),
            None => format!("did:jwk:{}", B64URL.encode(Value::Object(self.to_jwk()).to_string())),
        }
    }

    /// The verification method of [`PublicKey::did`].
    pub fn verification_method(&self) -> String {
        match self.to_multikey() {
            Some(multikey) => format!("did:key:{multikey}#{multikey}"),
            None => format!("{}#0", self.did()),
        }
    }

    /// Decodes a `z`-prefixed multicodec public key.
    pub fn from_multikey(multibase: &str) -> Result<PublicKey, KeyError> {
        let encoded = multibase
            .strip_prefix('z')
            .ok_or_else(|| KeyError::Invalid("a multibase key must be base58btc (start with 'z')".into()))?;
        let bytes = decode_base58_bounded(encoded, MAX_MULTIKEY_BYTES).map_err(|e| match e {
            Base58Error::TooLong { .. } => {
                KeyError::Invalid(format!("the multibase key is too long for an Ed25519 or ECDSA key: {e}"))
            }
            Base58Error::Invalid(_) => KeyError::Invalid(format!("bad base58btc: {e}")),
        })?;
        if let Some(raw) = bytes.strip_prefix(&ED25519_PUB_CODEC[..]) {
            let raw: [u8; 32] = raw.try_into().map_err(|_| {
                KeyError::Invalid(format!("an Ed25519 public key is 32 bytes, not {}", raw.len()))
            })?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
                .map_err(|_| KeyError::Invalid("not a valid Ed25519 point".into()))?;
            Ok(PublicKey::Ed25519(key))
        } else if let Some(raw) = bytes.strip_prefix(&P256_PUB_CODEC[..]) {
            if raw.len() != 33 {
                return Err(KeyError::Invalid(format!(
                    "a compressed P-256 public key is 33 bytes, not {}",
                    raw.len()
                )));
            }
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(raw)
                .map_err(|_| KeyError::Invalid("not a valid P-256 point".into()))?;
            Ok(PublicKey::P256(key))
        } else if let Some(raw) = bytes.strip_prefix(&P384_PUB_CODEC[..]) {
            let raw = compressed_point(raw, 49, "P-384")?;
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(raw)
                .map_err(|_| KeyError::Invalid("not a valid P-384 point".into()))?;
            Ok(PublicKey::P384(key))
        } else if let Some(raw) = bytes.strip_prefix(&P521_PUB_CODEC[..]) {
            let raw = compressed_point(raw, 67, "P-521")?;
            let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(raw)
                .map_err(|_| KeyError::Invalid("not a valid P-521 point".into()))?;
            Ok(PublicKey::P521(key))
        } else {
            Err(KeyError::Invalid(
                "unsupported multicodec key type (expected Ed25519, P-256, P-384 or P-521)".into(),
            ))
        }
    }

    pub fn to_jwk(&self) -> Map<String, Value> {
        let value = match self {
            PublicKey::Ed25519(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": B64URL.encode(k.as_bytes())})
            }
            PublicKey::P256(k) => {
                let point = k.to_encoded_point(false);
                json!({"kty": "EC", "crv": "P-256",
                       "x": B64URL.encode(point.x().expect("uncompressed point has x")),
                       "y": B64URL.encode(point.y().expect("uncompressed point has y"))})
            }
            PublicKey::P384(k) => ec_jwk("P-384", k.to_encoded_point(false).as_bytes()),
            PublicKey::P521(k) => ec_jwk("P-521", k.to_encoded_point(false).as_bytes()),
            PublicKey::Rsa(jwk) => Value::Object(public_rsa_members(jwk)),
        };
        match value {
            Value::Object(map) => map,
            _ => unreachable!("json! object literal"),
        }
    }

    /// Reads a public JWK. Private members are ignored; `d` present is refused to avoid leaking it.
    pub fn from_jwk(jwk: &Map<String, Value>) -> Result<PublicKey, KeyError> {
        let text = |name: &str| -> Result<Vec<u8>, KeyError> {
            let s = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| KeyError::Invalid(format!("JWK lacks \"{name}\"")))?;
            B64URL.decode(s).map_err(|_| KeyError::Invalid(format!("JWK \"{name}\" is not base64url")))
        };
        match (jwk.get("kty").and_then(Value::as_str), jwk.get("crv").and_then(Value::as_str)) {
            (Some("OKP"), Some("Ed25519")) => {
                let x: [u8; 32] = text("x")?
                    .try_into()
                    .map_err(|_| KeyError::Invalid("Ed25519 JWK x must be 32 bytes".into()))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| KeyError::Invalid("not a valid Ed25519 point".into()))?;
                Ok(PublicKey::Ed25519(key))
            }
            (Some("EC"), Some("P-256")) => {
                let (x, y) = (text("x")?, text("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(KeyError::Invalid("P-256 JWK coordinates must be 32 bytes".into()));
                }
                let point = p256::EncodedPoint::from_affine_coordinates(
                    x.as_slice().into(),
                    y.as_slice().into(),
                    false,
                );
                let key = p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map_err(|_| KeyError::Invalid("not a valid P-256 point".into()))?;
                Ok(PublicKey::P256(key))
            }
            (Some("EC"), Some("P-384")) => {
                let point = uncompressed_point(&text("x")?, &text("y")?, 48, "P-384")?;
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .map_err(|_| KeyError::Invalid("not a valid P-384 point".into()))?;
                Ok(PublicKey::P384(key))
            }
            (Some("EC"), Some("P-521")) => {
                let point = uncompressed_point(&text("x")?, &text("y")?, 66, "P-521")?;
                let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .map_err(|_| KeyError::Invalid("not a valid P-521 point".into()))?;
                Ok(PublicKey::P521(key))
            }
            (Some("RSA"), _) => {
                let modulus = text("n")?;
                text("e")?;
                if modulus.len() < 256 {
                    return Err(KeyError::Invalid(format!(
                        "RSA keys must be at least 2048 bits, this one has {}",
                        modulus.len() * 8
                    )));
                }
                Ok(PublicKey::Rsa(public_rsa_members(jwk)))
            }
            (kty, crv) => Err(KeyError::Invalid(format!(
                "unsupported JWK key type kty={} crv={}",
                kty.unwrap_or("(none)"),
                crv.unwrap_or("(none)")
            ))),
        }
    }
}

/// A compressed SEC1 point of `len` bytes.
fn compressed_point<'a>(raw: &'a [u8], len: usize, curve: &str) -> Result<&'a [u8], KeyError> {
    if raw.len() != len {
        return Err(KeyError::Invalid(format!(
            "a compressed {curve} public key is {len} bytes, not {}",
            raw.len()
        )));
    }
    Ok(raw)
}

/// The uncompressed SEC1 point (0x04 || x || y) of JWK coordinates of `len` bytes each.
fn uncompressed_point(x: &[u8], y: &[u8], len: usize, curve: &str) -> Result<Vec<u8>, KeyError> {
    if x.len() != len || y.len() != len {
        return Err(KeyError::Invalid(format!("{curve} JWK coordinates must be {len} bytes")));
    }
    Ok([&[0x04][..], x, y].concat())
}

/// The JWK of an uncompressed SEC1 point.
fn ec_jwk(curve: &str, uncompressed: &[u8]) -> Value {
    let coordinates = &uncompressed[1..];
    let (x, y) = coordinates.split_at(coordinates.len() / 2);
    json!({"kty": "EC", "crv": curve, "x": B64URL.encode(x), "y": B64URL.encode(y)})
}

fn public_rsa_members(jwk: &Map<String, Value>) -> Map<String, Value> {
    ["kty", "n", "e"].iter().filter_map(|k| jwk.get(*k).map(|v| (k.to_string(), v.clone()))).collect()
}

/// Rewrites a 64-byte P-256 signature (r || s) to its low-S form: for any valid (r, s),
/// (r, n - s) verifies too, and verifiers refuse the high one as malleable. Unchanged when
/// already low, or when it is not a P-256 signature at all.
pub fn low_s_p256(signature: &[u8]) -> Vec<u8> {
    match p256::ecdsa::Signature::from_slice(signature) {
        Ok(sig) => sig.normalize_s().unwrap_or(sig).to_bytes().to_vec(),
        Err(_) => signature.to_vec(),
    }
}

/// A signing key. Its secret never appears in Debug output, logs or responses.
#[derive(Clone)]
pub struct KeyPair {
    secret: Secret,
    /// (DID, verification method) when the key belongs to a DID other than its own did:key
    /// (a did:web issuer's keys).
    identity: Option<(String, String)>,
}

#[derive(Clone)]
enum Secret {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
    /// A full private JWK (n, e, d, p, q, dp, dq, qi), handled by josekit.
    Rsa(Map<String, Value>),
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({}, {:?})", self.key_type(), self.did())
    }
}

impl KeyPair {
    pub fn generate(key_type: KeyType) -> Result<KeyPair, KeyError> {
        let mut rng = rand::rngs::OsRng;
        let secret = match key_type {
            KeyType::Ed25519 => Secret::Ed25519(ed25519_dalek::SigningKey::generate(&mut rng)),
            KeyType::P256 => Secret::P256(p256::ecdsa::SigningKey::random(&mut rng)),
            KeyType::Rsa => {
                let pair = josekit::jws::RS256
                    .generate_key_pair(2048)
                    .map_err(|e| KeyError::Invalid(e.to_string()))?;
                Secret::Rsa(pair.to_jwk_key_pair().as_ref().clone())
            }
            KeyType::P384 | KeyType::P521 => {
                return Err(KeyError::Invalid(format!(
                    "{key_type} keys are verified, never issued with (issue with ed25519, p256 or rsa)"
                )))
            }
        };
        Ok(KeyPair { secret, identity: None })
    }

    /// An Ed25519 key from its 32-byte seed (test vectors use this).
    pub fn ed25519_from_seed(seed: [u8; 32]) -> KeyPair {
        KeyPair { secret: Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)), identity: None }
    }

    pub fn key_type(&self) -> KeyType {
        match self.secret {
            Secret::Ed25519(_) => KeyType::Ed25519,
            Secret::P256(_) => KeyType::P256,
            Secret::Rsa(_) => KeyType::Rsa,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        match &self.secret {
            Secret::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            Secret::P256(k) => PublicKey::P256(*k.verifying_key()),
            Secret::Rsa(jwk) => PublicKey::Rsa(public_rsa_members(jwk)),
        }
    }

    /// did:key for Ed25519 and P-256, did:jwk for RSA.
    pub fn did(&self) -> String {
        if let Some((did, _)) = &self.identity {
            return did.clone();
        }
        match self.public_key().to_multikey() {
            Some(multikey) => format!("did:key:{multikey}"),
            None => self.did_jwk(),
        }
    }

    /// The same key acting for `did` as the verification method `method` (did:web issuers).
    pub fn with_identity(mut self, did: &str, method: &str) -> KeyPair {
        self.identity = Some((did.to_string(), method.to_string()));
        self
    }

    /// did:jwk of the public key (any key type).
    pub fn did_jwk(&self) -> String {
        let jwk = Value::Object(self.public_key().to_jwk());
        format!("did:jwk:{}", B64URL.encode(jwk.to_string()))
    }

    /// The verification method URL that signatures by this key name.
    pub fn verification_method(&self) -> String {
        if let Some((_, method)) = &self.identity {
            return method.clone();
        }
        let did = self.did();
        match self.public_key().to_multikey() {
            Some(multikey) => format!("{did}#{multikey}"),
            None => format!("{did}#0"),
        }
    }

    /// Signs raw bytes: Ed25519 (64 bytes) or ECDSA P-256 with SHA-256 (IEEE P1363, 64 bytes).
    pub fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        use signature::Signer;
        match &self.secret {
            Secret::Ed25519(k) => Ok(k.sign(message).to_bytes().to_vec()),
            Secret::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                // Verifiers refuse high S as malleable (see `low_s_p256`): emit the low-S twin.
                Ok(sig.normalize_s().unwrap_or(sig).to_bytes().to_vec())
            }
            Secret::Rsa(_) => {
                Err(KeyError::Invalid("RSA keys sign JWTs only, not Data Integrity proofs".into()))
            }
        }
    }

    /// The private JWK, for josekit. Keep it inside the process.
    pub(crate) fn private_jwk(&self) -> Map<String, Value> {
        let mut jwk = self.public_key().to_jwk();
        match &self.secret {
            Secret::Ed25519(k) => {
                jwk.insert("d".into(), Value::String(B64URL.encode(k.to_bytes())));
            }
            Secret::P256(k) => {
                jwk.insert("d".into(), Value::String(B64URL.encode(k.to_bytes())));
            }
            Secret::Rsa(full) => return full.clone(),
        }
        jwk
    }

    fn from_private_jwk(jwk: &Map<String, Value>) -> Result<KeyPair, KeyError> {
        let d = jwk
            .get("d")
            .and_then(Value::as_str)
            .and_then(|d| B64URL.decode(d).ok())
            .ok_or_else(|| KeyError::Invalid("private JWK lacks a valid \"d\"".into()))?;
        let secret = match PublicKey::from_jwk(jwk)? {
            PublicKey::Ed25519(_) => {
                let seed: [u8; 32] =
                    d.try_into().map_err(|_| KeyError::Invalid("Ed25519 d must be 32 bytes".into()))?;
                Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            PublicKey::P256(_) => Secret::P256(
                p256::ecdsa::SigningKey::from_slice(&d)
                    .map_err(|_| KeyError::Invalid("bad P-256 private key".into()))?,
            ),
            PublicKey::Rsa(_) => Secret::Rsa(jwk.clone()),
            key @ (PublicKey::P384(_) | PublicKey::P521(_)) => {
                return Err(KeyError::Invalid(format!(
                    "{} keys are verified, never issued with (import ed25519, p256 or rsa)",
                    key.key_type()
                )))
            }
        };
        let pair = KeyPair { secret, identity: None };
        if pair.public_key() != PublicKey::from_jwk(jwk)? {
            return Err(KeyError::Invalid("private and public parts of the JWK do not match".into()));
        }
        Ok(pair)
    }
}

/// A stored key: its name, when it was made, and the private JWK, in the clear or sealed
/// (then `public_jwk` carries the public part, so listings and DID documents need no passphrase).
#[derive(Serialize, Deserialize)]
pub struct StoredKey {
    name: String,
    key_type: KeyType,
    created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private_jwk: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_jwk: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<seal::Sealed>,
}

impl StoredKey {
    pub fn new(name: &str, key: &KeyPair) -> StoredKey {
        StoredKey {
            name: name.to_string(),
            key_type: key.key_type(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            private_jwk: Some(key.private_jwk()),
            public_jwk: None,
            sealed: None,
        }
    }

    pub fn is_sealed(&self) -> bool {
        self.sealed.is_some()
    }

    /// The same key with its private JWK sealed by `sealer` (bound to the key's name).
    pub fn sealed(self, sealer: &seal::Sealer) -> Result<StoredKey, KeyError> {
        let Some(private) = &self.private_jwk else { return Ok(self) };
        let key = KeyPair::from_private_jwk(private)?;
        let plaintext = zeroize::Zeroizing::new(
            serde_json::to_vec(private).map_err(|e| KeyError::Invalid(e.to_string()))?,
        );
        Ok(StoredKey {
            sealed: Some(sealer.seal(&self.name, &plaintext)),
            public_jwk: Some(key.public_key().to_jwk()),
            private_jwk: None,
            ..self
        })
    }

    /// The key pair: a sealed key needs the sealer (else `KeyError::Sealed`).
    pub fn key_pair_with(&self, sealer: Option<&seal::Sealer>) -> Result<KeyPair, KeyError> {
        match (&self.private_jwk, &self.sealed, sealer) {
            (Some(jwk), _, _) => KeyPair::from_private_jwk(jwk),
            (None, Some(sealed), Some(sealer)) => {
                let plaintext = sealer.open(&self.name, sealed)?;
                let jwk: Map<String, Value> = serde_json::from_slice(&plaintext)
                    .map_err(|e| KeyError::Invalid(format!("sealed key {:?}: {e}", self.name)))?;
                KeyPair::from_private_jwk(&jwk)
            }
            (None, Some(_), None) => Err(KeyError::Sealed(self.name.clone())),
            (None, None, _) => {
                Err(KeyError::Invalid(format!("stored key {:?} has no private JWK", self.name)))
            }
        }
    }

    pub fn key_pair(&self) -> Result<KeyPair, KeyError> {
        self.key_pair_with(None)
    }

    pub fn info(&self, key: &KeyPair) -> KeyInfo {
        info_of(&self.name, &self.created, key)
    }

    /// Public facts, without opening a sealed key.
    pub fn public_info(&self) -> Result<KeyInfo, KeyError> {
        let public = match (&self.private_jwk, &self.public_jwk) {
            (Some(jwk), _) => KeyPair::from_private_jwk(jwk)?.public_key(),
            (None, Some(jwk)) => PublicKey::from_jwk(jwk)?,
            (None, None) => {
                return Err(KeyError::Invalid(format!("stored key {:?} has no public JWK", self.name)))
            }
        };
        Ok(KeyInfo {
            name: self.name.clone(),
            key_type: public.key_type(),
            did: public.did(),
            verification_method: public.verification_method(),
            created: self.created.clone(),
        })
    }
}

/// Public facts about a stored key, safe to print.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub name: String,
    pub key_type: KeyType,
    pub did: String,
    pub verification_method: String,
    pub created: String,
}

/// Where signing keys live. The file store serves the CLI; the service's database implements it too.
pub trait KeyStore {
    fn put(&self, name: &str, key: &KeyPair) -> Result<KeyInfo, KeyError>;
    fn get(&self, name: &str) -> Result<KeyPair, KeyError>;
    fn list(&self) -> Result<Vec<KeyInfo>, KeyError>;

    /// Finds a key by name, DID or verification method URL.
    fn find(&self, reference: &str) -> Result<KeyPair, KeyError> {
        if let Ok(key) = self.get(reference) {
            return Ok(key);
        }
        let info = self
            .list()?
            .into_iter()
            .find(|k| k.did == reference || k.verification_method == reference)
            .ok_or_else(|| KeyError::NotFound(reference.to_string()))?;
        self.get(&info.name)
    }
}

/// Keys as one JSON file each in a directory only the owner can read (0700 / 0600).
pub struct FileKeyStore {
    dir: PathBuf,
}

impl FileKeyStore {
    pub fn open(dir: impl AsRef<Path>) -> Result<FileKeyStore, KeyError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(FileKeyStore { dir })
    }

    fn path(&self, name: &str) -> Result<PathBuf, KeyError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(KeyError::Invalid(format!(
                "key name {name:?} must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'"
            )));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }
}

fn info_of(name: &str, created: &str, key: &KeyPair) -> KeyInfo {
    KeyInfo {
        name: name.to_string(),
        key_type: key.key_type(),
        did: key.did(),
        verification_method: key.verification_method(),
        created: created.to_string(),
    }
}

impl KeyStore for FileKeyStore {
    fn put(&self, name: &str, key: &KeyPair) -> Result<KeyInfo, KeyError> {
        use std::io::Write;
        let path = self.path(name)?;
        if path.exists() {
            return Err(KeyError::Invalid(format!("a key named {name:?} already exists")));
        }
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let stored = StoredKey {
            name: name.to_string(),
            key_type: key.key_type(),
            created: created.clone(),
            private_jwk: Some(key.private_jwk()),
            public_jwk: None,
            sealed: None,
        };
        let body = serde_json::to_vec_pretty(&stored).map_err(|e| KeyError::Invalid(e.to_string()))?;
        // Write to a private temporary file, fsync, then rename: a crash leaves either no key or all of it.
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(&body)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        Ok(info_of(name, &created, key))
    }

    fn get(&self, name: &str) -> Result<KeyPair, KeyError> {
        let path = self.path(name)?;
        let body = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => KeyError::NotFound(name.to_string()),
            _ => KeyError::Io(e),
        })?;
        let stored: StoredKey = serde_json::from_slice(&body)
            .map_err(|e| KeyError::Invalid(format!("{}: {e}", path.display())))?;
        stored.key_pair()
    }

    fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let mut keys = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let body = std::fs::read(&path)?;
            let stored: StoredKey = serde_json::from_slice(&body)
                .map_err(|e| KeyError::Invalid(format!("{}: {e}", path.display())))?;
            let key = stored.key_pair()?;
            keys.push(info_of(&stored.name, &stored.created, &key));
        }
        keys.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_key_of_the_ob_test_vector_seed() {
        let seed = hex::decode("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4").unwrap();
        let key = KeyPair::ed25519_from_seed(seed.try_into().unwrap());
        assert_eq!(key.did(), "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi");
    }

    #[test]
    fn multikey_and_jwk_round_trip_for_each_type() {
        for key_type in [KeyType::Ed25519, KeyType::P256] {
            let key = KeyPair::generate(key_type).unwrap();
            let public = key.public_key();
            assert_eq!(PublicKey::from_multikey(&public.to_multikey().unwrap()).unwrap(), public);
            assert_eq!(PublicKey::from_jwk(&public.to_jwk()).unwrap(), public);
            assert!(key.did().starts_with("did:key:z"));
        }
    }

    #[test]
    fn file_store_keeps_keys_private_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("laurel-keys-{}", uuid::Uuid::new_v4()));
        let store = FileKeyStore::open(&dir).unwrap();
        let key = KeyPair::generate(KeyType::P256).unwrap();
        let info = store.put("issuer", &key).unwrap();
        assert_eq!(store.get("issuer").unwrap().did(), key.did());
        assert_eq!(store.find(&info.did).unwrap().did(), key.did());
        assert!(store.put("issuer", &key).is_err());
        assert!(store.put("../evil", &key).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("issuer.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{key:?}").contains(key.private_jwk()["d"].as_str().unwrap()));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn base58_limits_are_the_longest_encodings() {
        // All-0xff bytes give the longest encoding of a length; all-zero the shortest.
        for bytes in [1, 32, 34, 35, 64, 69] {
            let longest = bs58::encode(vec![0xffu8; bytes]).into_string();
            assert!(longest.len() <= base58_max_chars(bytes), "{bytes}: {}", longest.len());
            assert!(longest.len() + 1 >= base58_max_chars(bytes), "{bytes}: a tight bound");
            assert_eq!(decode_base58_bounded(&longest, bytes).unwrap(), vec![0xffu8; bytes]);
        }
        assert_eq!(base58_max_chars(64), 88);
        assert_eq!(base58_max_chars(MAX_MULTIKEY_BYTES), 95);
    }

    #[test]
    fn overlong_base58_is_refused_without_decoding() {
        let huge = "2".repeat(250_000);
        let started = std::time::Instant::now();
        let err = decode_base58_bounded(&huge, 64).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
        assert_eq!(err, Base58Error::TooLong { chars: 250_000, limit: 88, max_bytes: 64 });
        let err = PublicKey::from_multikey(&format!("z{}", "6".repeat(200_000))).unwrap_err();
        assert!(err.to_string().contains("too long"), "{err}");
    }

    #[test]
    fn p256_signatures_are_low_s() {
        let key = KeyPair::generate(KeyType::P256).unwrap();
        for i in 0..32u8 {
            let signature = key.sign_raw(&[i]).unwrap();
            let parsed = p256::ecdsa::Signature::from_slice(&signature).unwrap();
            assert!(parsed.normalize_s().is_none(), "message {i}: high S");
        }
    }

    #[test]
    fn garbage_multikeys_are_errors() {
        assert!(PublicKey::from_multikey("not-multibase").is_err());
        assert!(PublicKey::from_multikey("z0OIl").is_err());
        assert!(PublicKey::from_multikey("z6Mk").is_err());
    }
}
