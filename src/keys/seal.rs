//! Private keys sealed at rest: Argon2id turns the operator's passphrase (and a random salt kept
//! beside the keys) into a 32-byte key, once per process; XChaCha20-Poly1305 encrypts each
//! private JWK with a random 24-byte nonce and the key's name as associated data, so a sealed
//! key cannot be moved under another name.
//!
//! The passphrase comes from `LAUREL_KEY_PASSPHRASE_FILE` (a file holding it; one trailing
//! newline is trimmed) or `LAUREL_KEY_PASSPHRASE`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::KeyError;

/// The `alg` of a sealed key.
pub const SEAL_ALG: &str = "argon2id+xchacha20poly1305";
/// Environment variable holding the passphrase itself.
pub const PASSPHRASE_ENV: &str = "LAUREL_KEY_PASSPHRASE";
/// Environment variable naming a file that holds the passphrase.
pub const PASSPHRASE_FILE_ENV: &str = "LAUREL_KEY_PASSPHRASE_FILE";
/// What the check value seals: opening it proves the passphrase before any key is touched.
const CHECK_NAME: &str = "laurel:passphrase-check";
const CHECK_TEXT: &[u8] = b"laurel sealed keys";

/// The passphrase, wiped from memory when dropped.
pub type Passphrase = Zeroizing<Vec<u8>>;

/// Reads the passphrase from the environment: `LAUREL_KEY_PASSPHRASE_FILE` or
/// `LAUREL_KEY_PASSPHRASE` (not both). `None` when neither is set.
pub fn passphrase_from_env() -> Result<Option<Passphrase>, KeyError> {
    let file = std::env::var_os(PASSPHRASE_FILE_ENV).filter(|v| !v.is_empty());
    let direct = std::env::var_os(PASSPHRASE_ENV).filter(|v| !v.is_empty());
    let bytes = match (file, direct) {
        (Some(_), Some(_)) => {
            return Err(KeyError::Invalid(format!("set {PASSPHRASE_ENV} or {PASSPHRASE_FILE_ENV}, not both")))
        }
        (Some(path), None) => {
            let mut bytes = Zeroizing::new(std::fs::read(&path).map_err(|e| {
                KeyError::Invalid(format!("{PASSPHRASE_FILE_ENV}={}: {e}", path.to_string_lossy()))
            })?);
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
            }
            bytes
        }
        (None, Some(value)) => Zeroizing::new(value.into_encoded_bytes()),
        (None, None) => return Ok(None),
    };
    if bytes.is_empty() {
        return Err(KeyError::Invalid("the key passphrase is empty".into()));
    }
    Ok(Some(bytes))
}

/// The key derivation's parameters and salt, kept with the store (not secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Always `argon2id`.
    pub alg: String,
    /// Memory in KiB.
    pub m: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism.
    pub p: u32,
    /// 16 random bytes, base64url.
    pub salt: String,
}

impl KdfParams {
    /// OWASP's Argon2id minimum (m=19 MiB, t=2, p=1) with a fresh random salt.
    pub fn generate() -> KdfParams {
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
        KdfParams { alg: "argon2id".into(), m: 19 * 1024, t: 2, p: 1, salt: B64URL.encode(salt) }
    }
}

/// One sealed private JWK: stored in place of `private_jwk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sealed {
    pub alg: String,
    pub nonce: String,
    pub ciphertext: String,
}

/// What the store keeps about sealing: the KDF parameters and a sealed check value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealRecord {
    pub kdf: KdfParams,
    pub check: Sealed,
}

/// The derived key (wiped on drop). Derive once per process: Argon2id is deliberately slow.
pub struct Sealer {
    key: Zeroizing<[u8; 32]>,
}

impl Sealer {
    pub fn derive(passphrase: &[u8], params: &KdfParams) -> Result<Sealer, KeyError> {
        if params.alg != "argon2id" {
            return Err(KeyError::Invalid(format!("unknown key derivation {:?}", params.alg)));
        }
        let salt = B64URL
            .decode(&params.salt)
            .map_err(|_| KeyError::Invalid("the sealing salt is not base64url".into()))?;
        let argon_params = argon2::Params::new(params.m, params.t, params.p, Some(32))
            .map_err(|e| KeyError::Invalid(format!("Argon2id parameters: {e}")))?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon_params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, &salt, key.as_mut())
            .map_err(|e| KeyError::Invalid(format!("Argon2id: {e}")))?;
        Ok(Sealer { key })
    }

    /// A new store's sealing: fresh parameters and the check value, with the derived key.
    pub fn create(passphrase: &[u8]) -> Result<(Sealer, SealRecord), KeyError> {
        let kdf = KdfParams::generate();
        let sealer = Sealer::derive(passphrase, &kdf)?;
        let check = sealer.seal(CHECK_NAME, CHECK_TEXT);
        Ok((sealer, SealRecord { kdf, check }))
    }

    /// Derives the key for an existing store and proves it with the check value.
    pub fn unlock(passphrase: &[u8], record: &SealRecord) -> Result<Sealer, KeyError> {
        let sealer = Sealer::derive(passphrase, &record.kdf)?;
        match sealer.open(CHECK_NAME, &record.check) {
            Ok(text) if text.as_slice() == CHECK_TEXT => Ok(sealer),
            _ => Err(KeyError::WrongPassphrase),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.as_ref().into())
    }

    /// Encrypts `plaintext` bound to `name` (the associated data).
    pub fn seal(&self, name: &str, plaintext: &[u8]) -> Sealed {
        let mut nonce = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: name.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption of a short message cannot fail");
        Sealed { alg: SEAL_ALG.into(), nonce: B64URL.encode(nonce), ciphertext: B64URL.encode(ciphertext) }
    }

    /// Decrypts a sealed value made for `name`; any mismatch (another passphrase, another name,
    /// a changed byte) is `WrongPassphrase`.
    pub fn open(&self, name: &str, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if sealed.alg != SEAL_ALG {
            return Err(KeyError::Invalid(format!("unknown sealing {:?}", sealed.alg)));
        }
        let nonce = B64URL.decode(&sealed.nonce).ok().and_then(|n| <[u8; 24]>::try_from(n).ok());
        let ciphertext = B64URL.decode(&sealed.ciphertext).ok();
        let (Some(nonce), Some(ciphertext)) = (nonce, ciphertext) else {
            return Err(KeyError::Invalid(format!("sealed key {name:?} is malformed")));
        };
        self.cipher()
            .decrypt(&XNonce::from(nonce), Payload { msg: &ciphertext, aad: name.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| KeyError::WrongPassphrase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: the round trip, not Argon2id's cost, is under test here.
    fn fast(record: &mut SealRecord, passphrase: &[u8]) -> Sealer {
        record.kdf.m = 64;
        record.kdf.t = 1;
        let sealer = Sealer::derive(passphrase, &record.kdf).unwrap();
        record.check = sealer.seal(CHECK_NAME, CHECK_TEXT);
        sealer
    }

    #[test]
    fn seal_and_open_round_trip_and_a_wrong_passphrase_fails() {
        let (_, mut record) = Sealer::create(b"correct horse").unwrap();
        let sealer = fast(&mut record, b"correct horse");
        let sealed = sealer.seal("issuer", br#"{"d":"secret"}"#);
        assert!(!sealed.ciphertext.contains("secret"));
        assert_eq!(sealer.open("issuer", &sealed).unwrap().as_slice(), br#"{"d":"secret"}"#);
        // Bound to the name.
        assert!(matches!(sealer.open("other", &sealed), Err(KeyError::WrongPassphrase)));
        // Another passphrase: refused at unlock, before any key.
        assert!(matches!(Sealer::unlock(b"wrong horse", &record), Err(KeyError::WrongPassphrase)));
        let again = Sealer::unlock(b"correct horse", &record).unwrap();
        assert_eq!(again.open("issuer", &sealed).unwrap().as_slice(), br#"{"d":"secret"}"#);
        // A flipped ciphertext byte.
        let mut bytes = B64URL.decode(&sealed.ciphertext).unwrap();
        bytes[0] ^= 1;
        let tampered = Sealed { ciphertext: B64URL.encode(bytes), ..sealed };
        assert!(matches!(again.open("issuer", &tampered), Err(KeyError::WrongPassphrase)));
    }

    #[test]
    fn one_derivation_with_the_default_parameters() {
        let started = std::time::Instant::now();
        let (_, record) = Sealer::create(b"passphrase").unwrap();
        let elapsed = started.elapsed();
        assert_eq!((record.kdf.m, record.kdf.t, record.kdf.p), (19456, 2, 1));
        eprintln!("one Argon2id derivation (m=19 MiB, t=2, p=1): {} ms", elapsed.as_millis());
    }
}
