//! Property tests on the parsers that read untrusted input (base58/multibase, base64url, compact
//! JWTs, status lists, baked PNG/SVG images, JSON-LD) and on the signed-data promise of the
//! verifier: whatever it calls verified, its checks read the values that were signed.
//!
//! Every property runs a modest number of cases so that `cargo test` stays quick; the slow tier
//! raises it with `PROPTEST_CASES=N` (and runs the cargo-fuzz targets in `fuzz/`, `.ci/fuzz`).
//! A regression found by fuzzing or by a property lives here as a plain test named for what it
//! found.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use laurel::credential::baking::{
    self, BakeError, ImageFormat, MAX_CREDENTIAL_BYTES, PNG_KEYWORD, PNG_SIGNATURE,
};
use laurel::credential::issue::{build_badge, issue, BadgeRequest};
use laurel::credential::presentation::{present, PresentationOptions};
use laurel::credential::proofs::{self, Format, SignOptions};
use laurel::credential::verify::{Report, Verifier, VerifyOptions};
use laurel::did::{self, KeyFormat, LocalResolver};
use laurel::keys::{KeyPair, PublicKey};
use laurel::status::{self, ListError, MAX_LIST_BYTES, MIN_LIST_ENTRIES};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// `default` cases, or `PROPTEST_CASES` when set (the slow tier).
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

/// Generous: a hostile input is answered within this, in a debug build on a shared machine.
const PER_INPUT_BUDGET: Duration = Duration::from_secs(1);

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    let took = started.elapsed();
    assert!(took < PER_INPUT_BUDGET, "{what} took {took:?}");
    out
}

const BASE58_ALPHABET: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BASE64URL_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn issuer_key() -> KeyPair {
    KeyPair::ed25519_from_seed([7; 32])
}

/// A string edit: what fuzzers do to valid input, kept within an alphabet.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
    Truncate(usize),
}

fn edits(alphabet: &'static str) -> impl Strategy<Value = Vec<Edit>> {
    let chars: Vec<char> = alphabet.chars().collect();
    let char_of = prop::sample::select(chars);
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), char_of.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
            (any::<usize>(), char_of).prop_map(|(i, c)| Edit::Insert(i, c)),
            any::<usize>().prop_map(Edit::Delete),
            any::<usize>().prop_map(Edit::Truncate),
        ],
        1..4,
    )
}

fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let len = chars.len();
        match *edit {
            Edit::Replace(i, c) if len > 0 => chars[i % len] = c,
            Edit::Insert(i, c) => chars.insert(i % (len + 1), c),
            Edit::Delete(i) if len > 0 => {
                chars.remove(i % len);
            }
            Edit::Truncate(i) => chars.truncate(i % (len + 1)),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Byte-level edits for binary formats.
#[derive(Debug, Clone)]
enum ByteEdit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn byte_edits() -> impl Strategy<Value = Vec<ByteEdit>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), 1u8..=255).prop_map(|(i, x)| ByteEdit::Flip(i, x)),
            (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
                .prop_map(|(i, b)| ByteEdit::Insert(i, b)),
            (any::<usize>(), 1usize..64).prop_map(|(i, n)| ByteEdit::Delete(i, n)),
            any::<usize>().prop_map(ByteEdit::Truncate),
        ],
        1..5,
    )
}

fn apply_byte_edits(bytes: &[u8], edits: &[ByteEdit]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for edit in edits {
        let len = out.len();
        match edit {
            ByteEdit::Flip(i, x) if len > 0 => out[i % len] ^= x,
            ByteEdit::Insert(i, b) => {
                let at = i % (len + 1);
                out.splice(at..at, b.iter().copied());
            }
            ByteEdit::Delete(i, n) if len > 0 => {
                let at = i % len;
                out.drain(at..(at + n).min(len));
            }
            ByteEdit::Truncate(i) => out.truncate(i % (len + 1)),
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// base58btc / multibase and base64url decoders
// ---------------------------------------------------------------------------------------------

fn base58ish() -> impl Strategy<Value = String> {
    prop_oneof![
        "z?[1-9A-HJ-NP-Za-km-z]{0,120}",
        // Long inputs: the decoders must stay fast (base58 decoding is quadratic in length).
        "z[1-9A-HJ-NP-Za-km-z]{500,2000}",
        "\\PC{0,64}",
        // A valid key, edited.
        edits(BASE58_ALPHABET)
            .prop_map(|e| apply_edits(&issuer_key().public_key().to_multikey().unwrap(), &e)),
        // Valid multicodec prefixes over random key material.
        (
            prop::sample::select(vec![[0xedu8, 0x01], [0x80, 0x24], [0x12, 0x00]]),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(codec, raw)| format!("z{}", bs58::encode([&codec[..], &raw].concat()).into_string())),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    /// Multikey and did:key decoding never panics, answers quickly, and accepts only keys it can
    /// re-encode to the same text.
    #[test]
    fn multibase_keys_decode_or_are_refused(encoded in base58ish()) {
        let key = timed("from_multikey", || PublicKey::from_multikey(&encoded));
        if let Ok(key) = &key {
            let again = key.to_multikey();
            prop_assert_eq!(again.as_deref(), Some(encoded.as_str()));
        }
        let did = format!("did:key:{encoded}");
        for format in [KeyFormat::Multikey, KeyFormat::JsonWebKey2020, KeyFormat::Ed25519VerificationKey2020] {
            let document = timed("did:key resolution", || did::resolve_computed(&did, format));
            if document.is_ok() {
                prop_assert!(key.is_ok(), "did:key resolved a key from_multikey refuses: {did}");
            }
        }
        let method = json!({"id": "did:example:1#k", "publicKeyMultibase": encoded, "controller": "did:example:1"});
        prop_assert_eq!(did::method_public_key(&method).is_ok(), key.is_ok());
        let base58 = json!({"id": "did:example:1#k", "publicKeyBase58": encoded.trim_start_matches('z')});
        let _ = timed("publicKeyBase58", || did::method_public_key(&base58));
    }

    /// did:jwk is base64url of a JSON object: random text and edited valid DIDs never panic.
    #[test]
    fn did_jwk_decodes_or_is_refused(
        specific in prop_oneof![
            "[A-Za-z0-9_=+/-]{0,200}",
            "\\PC{0,40}",
            edits(BASE64URL_ALPHABET).prop_map(|e| {
                let did = KeyPair::generate(laurel::keys::KeyType::P256).unwrap().did_jwk();
                apply_edits(did.trim_start_matches("did:jwk:"), &e)
            }),
            prop::collection::vec(any::<u8>(), 0..120).prop_map(|b| B64URL.encode(b)),
        ]
    ) {
        let did = format!("did:jwk:{specific}");
        if let Ok(document) = timed("did:jwk resolution", || did::resolve_computed(&did, KeyFormat::Multikey)) {
            prop_assert_eq!(document["id"].as_str(), Some(did.as_str()));
            prop_assert!(document["verificationMethod"][0]["publicKeyJwk"].get("d").is_none());
        }
    }

    /// A proofValue is multibase base58btc of exactly 64 bytes; anything else is refused early,
    /// as a malformed value, without a panic.
    #[test]
    fn proof_values_that_are_not_the_signature_never_verify(proof_value in base58ish()) {
        let (credential, verifier) = signed_credential_fixture();
        let original = credential["proof"]["proofValue"].as_str().unwrap().to_string();
        prop_assume!(proof_value != original);
        let mut forged = credential.clone();
        forged["proof"]["proofValue"] = json!(proof_value);
        let report = timed("verify", || runtime().block_on(verifier.verify_value(&forged)));
        prop_assert!(!report.verified);
    }
}

/// One signed credential and a verifier for it, made once (signing is the slow part).
fn signed_credential_fixture() -> (Value, Verifier) {
    static FIXTURE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let credential = FIXTURE
        .get_or_init(|| {
            let request = BadgeRequest {
                subject_id: Some("did:example:recipient".into()),
                achievement_name: "Property".into(),
                ..Default::default()
            };
            runtime()
                .block_on(issue(build_badge(&request), &issuer_key(), Format::EddsaRdfc2022))
                .unwrap()
                .to_json_value()
        })
        .clone();
    (credential, Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default()))
}

// ---------------------------------------------------------------------------------------------
// Compact JWTs
// ---------------------------------------------------------------------------------------------

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z@]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn header_value() -> impl Strategy<Value = Value> {
    let alg = prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "EdDSA", "ES256", "ES384", "ES512", "RS256", "RS512", "PS256", "none", "HS256", "", "eddsa",
        ])
        .prop_map(|a| Some(json!(a))),
        json_scalar().prop_map(Some),
    ];
    let forbidden = prop::sample::subsequence(vec!["jwk", "jku", "x5u", "x5c", "crit"], 0..=2);
    let typ = prop::option::of(prop::sample::select(vec!["JWT", "vc+jwt", "vp+jwt", "jwt"]));
    let header = (alg, forbidden, typ, prop::option::of("\\PC{0,30}"), json_value()).prop_map(
        |(alg, forbidden, typ, kid, extra)| {
            let mut header = Map::new();
            if let Some(alg) = alg {
                header.insert("alg".into(), alg);
            }
            for (i, key) in forbidden.into_iter().enumerate() {
                // A public JWK, a private one, or not an object.
                let value = match i % 3 {
                    0 => json!({"kty": "OKP"}),
                    1 => json!({"kty": "OKP", "d": "AA"}),
                    _ => json!("key"),
                };
                header.insert(key.into(), value);
            }
            if let Some(typ) = typ {
                header.insert("typ".into(), json!(typ));
            }
            if let Some(kid) = kid {
                header.insert("kid".into(), json!(kid));
            }
            header.insert("x-extra".into(), extra);
            Value::Object(header)
        },
    );
    prop_oneof![8 => header, 1 => json_value()]
}

fn payload_value() -> impl Strategy<Value = Value> {
    let object =
        (prop::option::of(json_value()), prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..4))
            .prop_map(|(vc, claims)| {
                let mut payload: Map<String, Value> = claims.into_iter().collect();
                if let Some(vc) = vc {
                    payload.insert("vc".into(), vc);
                }
                Value::Object(payload)
            });
    prop_oneof![8 => object, 1 => json_value()]
}

/// The refusals `decode_jwt` promises, computed independently.
fn jwt_should_decode(header: &Value, payload: &Value) -> bool {
    let (Some(header), Some(payload)) = (header.as_object(), payload.as_object()) else { return false };
    let alg_ok = header.get("alg").and_then(Value::as_str).is_some_and(|alg| proofs::JWT_ALGS.contains(&alg));
    // `jwk` may select one of the issuer's keys (a public JWK object); key URLs, certificate
    // chains and unknown critical extensions are refused.
    let no_remote_keys = ["jku", "x5u", "x5c", "crit"].iter().all(|k| !header.contains_key(*k));
    let jwk_ok = header.get("jwk").is_none_or(|jwk| jwk.as_object().is_some_and(|j| !j.contains_key("d")));
    let no_embedded_keys = no_remote_keys && jwk_ok;
    let vc_ok = payload.get("vc").is_none_or(Value::is_object);
    alg_ok && no_embedded_keys && vc_ok
}

fn signed_jwt_fixture() -> String {
    static FIXTURE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let request = BadgeRequest {
                subject_id: Some("did:example:recipient".into()),
                achievement_name: "Property".into(),
                ..Default::default()
            };
            match runtime().block_on(issue(build_badge(&request), &issuer_key(), Format::Jwt)).unwrap() {
                proofs::Secured::Jwt(token) => token,
                other => panic!("expected a JWT, got {other:?}"),
            }
        })
        .clone()
}

proptest! {
    #![proptest_config(cases(256))]

    /// Random text never panics the JWT decoder; what it accepts has three base64url parts.
    #[test]
    fn random_tokens_decode_or_are_refused(token in prop_oneof!["[A-Za-z0-9_.-]{0,300}", "\\PC{0,200}"]) {
        if let Ok(decoded) = timed("decode_jwt", || proofs::decode_jwt(&token, "vc")) {
            prop_assert_eq!(token.trim().split('.').count(), 3);
            prop_assert!(matches!(decoded.alg(), "EdDSA" | "ES256" | "RS256"));
        }
    }

    /// Well-formed segments with random headers and payloads: decoded exactly when the header is
    /// an object with an allowed alg and no embedded key or `crit`, and the payload is an object
    /// whose `vc` (when present) is an object.
    #[test]
    fn jwt_headers_are_refused_exactly_when_they_should_be(
        header in header_value(),
        payload in payload_value(),
        signature in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let token = format!(
            "{}.{}.{}",
            B64URL.encode(serde_json::to_vec(&header).unwrap()),
            B64URL.encode(serde_json::to_vec(&payload).unwrap()),
            B64URL.encode(&signature)
        );
        let decoded = proofs::decode_jwt(&token, "vc");
        prop_assert_eq!(decoded.is_ok(), jwt_should_decode(&header, &payload), "{:?}", decoded.err());
    }

    /// Any edit of a valid signed JWT is refused by the verifier, never a panic.
    #[test]
    fn edited_jwts_never_verify(edits in edits(concat!("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", "."))) {
        let original = signed_jwt_fixture();
        let edited = apply_edits(&original, &edits);
        prop_assume!(edited.trim() != original);
        let verifier = Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default());
        let report = timed("verify", || runtime().block_on(verifier.verify_bytes(edited.as_bytes())));
        prop_assert!(!report.verified, "an edited JWT verified: {edited}");
    }
}

#[test]
fn the_unedited_jwt_fixture_verifies() {
    let verifier = Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default());
    let report = runtime().block_on(verifier.verify_bytes(signed_jwt_fixture().as_bytes()));
    assert!(report.verified, "{:#?}", report.errors);
}

// ---------------------------------------------------------------------------------------------
// Bitstring status lists
// ---------------------------------------------------------------------------------------------

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn encoded_lists() -> impl Strategy<Value = String> {
    prop_oneof![
        "u?[A-Za-z0-9_=-]{0,200}",
        "\\PC{0,40}",
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| format!("u{}", B64URL.encode(b))),
        (prop::collection::vec(any::<u8>(), 0..2048), byte_edits())
            .prop_map(|(bits, e)| format!("u{}", B64URL.encode(apply_byte_edits(&gzip(&bits), &e)))),
        (prop::collection::vec(any::<u8>(), 0..512), edits(BASE64URL_ALPHABET))
            .prop_map(|(bits, e)| apply_edits(&status::encode_list(&bits), &e)),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    /// Random and edited encodings never panic and never expand past the limit.
    #[test]
    fn status_lists_decode_or_are_refused(encoded in encoded_lists()) {
        if let Ok(bits) = timed("decode_list", || status::decode_list(&encoded)) {
            prop_assert!(bits.len() <= MAX_LIST_BYTES);
        }
    }

    #[test]
    fn status_lists_round_trip(bits in prop::collection::vec(any::<u8>(), 0..4096)) {
        prop_assert_eq!(status::decode_list(&status::encode_list(&bits)), Ok(bits));
    }

    /// A GZIP trailer declaring another size than the data has is refused.
    #[test]
    fn a_false_declared_size_is_refused(bits in prop::collection::vec(any::<u8>(), 0..1024), declared in any::<u32>()) {
        let mut compressed = gzip(&bits);
        let at = compressed.len() - 4;
        prop_assume!(declared != bits.len() as u32);
        compressed[at..].copy_from_slice(&declared.to_le_bytes());
        let decoded = status::decode_list(&format!("u{}", B64URL.encode(&compressed)));
        prop_assert!(matches!(decoded, Err(ListError::Gzip(_))), "{:?}", decoded.map(|b| b.len()));
    }

    /// Reading an entry never panics, whatever the index and size, and agrees with a plain
    /// bit-by-bit reading.
    #[test]
    fn entries_read_like_the_spec_says(bits in prop::collection::vec(any::<u8>(), 0..64), index in any::<usize>(), size in 0usize..70) {
        let naive = (|| {
            let start = index.checked_mul(size)?;
            if start.checked_add(size)? > bits.len() * 8 {
                return None;
            }
            Some((start..start + size).fold(0u64, |v, p| (v << 1) | ((bits[p / 8] >> (7 - p % 8)) & 1) as u64))
        })();
        prop_assert_eq!(status::read_entry(&bits, index, size), naive);
        let small = index % (bits.len() * 8 + 1);
        prop_assert_eq!(status::read_entry(&bits, small, 1).is_some(), small < bits.len() * 8);
    }
}

/// The full status check with a status list whose `encodedList` is hostile: the credential
/// verifies only if the list decodes and has the credential's bit clear (a short list warns).
#[test]
fn hostile_encoded_lists_in_signed_status_lists_never_verify_wrongly() {
    let rt = runtime();
    let key = issuer_key();
    let list_url = "https://status.example/lists/hostile";
    let credential = rt.block_on(credential_with_status(&key, list_url, 7, None, None));
    let mut runner = proptest::test_runner::TestRunner::new(cases(24));
    let strategy = prop_oneof![
        encoded_lists(),
        (any::<bool>(), 0usize..3).prop_map(|(set, shape)| {
            let entries = [MIN_LIST_ENTRIES, MIN_LIST_ENTRIES - 8, 64][shape];
            let mut bits = vec![0u8; entries / 8];
            status::write_bit(&mut bits, 7, set);
            status::encode_list(&bits)
        }),
    ];
    runner
        .run(&strategy, |encoded| {
            let mut list = status::list_credential(list_url, &key.did(), "revocation", &[0; 16], 300_000);
            list["credentialSubject"]["encodedList"] = json!(encoded);
            let list = rt.block_on(sign_di(&list, &key));
            let mut resolver = LocalResolver::default();
            resolver.pinned.insert(list_url, list);
            let verifier = Verifier::new(Arc::new(resolver), VerifyOptions::default());
            let report = rt.block_on(verifier.verify_value(&credential));
            // A list shorter than the spec's minimum is read (with a warning): only whether it
            // decodes and what bit 7 says decide.
            let bits = status::decode_list(&encoded);
            let expected = bits.as_ref().is_ok_and(|bits| status::read_entry(bits, 7, 1) == Some(0));
            prop_assert_eq!(report.verified, expected, "{:#?}", report.errors);
            let short = bits.is_ok_and(|bits| bits.len() * 8 < MIN_LIST_ENTRIES && !bits.is_empty());
            if expected && short {
                prop_assert!(report.warnings.iter().any(|w| w.code == "STATUS_LIST_LENGTH_ERROR"));
            }
            Ok(())
        })
        .unwrap();
}

async fn sign_di(document: &Value, key: &KeyPair) -> Value {
    Format::EddsaRdfc2022.signer().sign(document, key, &SignOptions::default()).await.unwrap().to_json_value()
}

/// An Open Badge with a revocation entry at `index` of `list_url`.
async fn credential_with_status(
    key: &KeyPair,
    list_url: &str,
    index: u64,
    valid_from: Option<&str>,
    valid_until: Option<&str>,
) -> Value {
    let request = BadgeRequest {
        subject_id: Some("did:example:recipient".into()),
        achievement_name: "Property".into(),
        valid_until: Some(valid_until.unwrap_or("2999-01-01T00:00:00Z").into()),
        ..Default::default()
    };
    let mut credential = build_badge(&request);
    if let Some(from) = valid_from {
        credential["validFrom"] = json!(from);
    }
    credential["credentialStatus"] = json!({
        "id": format!("{list_url}#{index}"),
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": index.to_string(),
        "statusListCredential": list_url,
    });
    issue(credential, key, Format::EddsaRdfc2022).await.unwrap().to_json_value()
}

// ---------------------------------------------------------------------------------------------
// Baked images
// ---------------------------------------------------------------------------------------------

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(kind);
    hasher.update(data);
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&hasher.finalize().to_be_bytes());
    out
}

/// Recomputes every CRC of a (possibly edited) PNG, so that edits reach the chunk parsers.
fn fix_crcs(png: &mut [u8]) {
    let mut at = PNG_SIGNATURE.len();
    while at + 12 <= png.len() {
        let length = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let Some(end) = at.checked_add(12 + length).filter(|end| *end <= png.len()) else { return };
        let crc = crc32fast::hash(&png[at + 4..at + 8 + length]);
        png[at + 8 + length..end].copy_from_slice(&crc.to_be_bytes());
        at = end;
    }
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A compressed `openbadgecredential` iTXt chunk around `compressed`.
fn compressed_itxt(compressed: &[u8]) -> Vec<u8> {
    let mut data = PNG_KEYWORD.as_bytes().to_vec();
    data.extend_from_slice(&[0, 1, 0, 0, 0]);
    data.extend_from_slice(compressed);
    png_chunk(b"iTXt", &data)
}

fn baked(format: ImageFormat) -> Vec<u8> {
    let (credential, _) = signed_credential_fixture();
    baking::bake(&laurel::credential::badge_image::default_image(format), &credential.to_string()).unwrap().1
}

fn svg_fragments() -> impl Strategy<Value = String> {
    let fragment = prop::sample::select(vec![
        "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\">",
        "</svg>",
        "<openbadges:credential>",
        "</openbadges:credential>",
        "<openbadges:credential verify=\"eyJ.eyJ.sig\"/>",
        "<ob:credential xmlns:ob=\"https://purl.imsglobal.org/ob/v3p0\">",
        "<![CDATA[{\"a\":1}",
        "]]>",
        "&amp;",
        "&lt;",
        "&#x41;",
        "&unknown;",
        "<!DOCTYPE svg>",
        "<!DOCTYPE svg [<!ENTITY a \"b\">]>",
        "<?xml version=\"1.0\"?>",
        "<!-- c -->",
        "<g>",
        "</g>",
        "\u{feff}",
        " ",
        "{\"credential\": true}",
        "<",
        ">",
        "\"",
    ]);
    prop::collection::vec(prop_oneof![4 => fragment.prop_map(str::to_string), 1 => "\\PC{0,8}"], 0..24)
        .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(cases(256))]

    /// Random bytes, with or without a PNG signature: never a panic, a bounded credential.
    #[test]
    fn random_images_extract_or_are_refused(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..2048),
            prop::collection::vec(any::<u8>(), 0..2048).prop_map(|b| [&PNG_SIGNATURE[..], &b].concat()),
        ]
    ) {
        let detected = baking::detect(&bytes);
        match timed("extract", || baking::extract(&bytes)) {
            Ok(extracted) => {
                prop_assert_eq!(Some(extracted.format), detected);
                prop_assert!(extracted.credential.len() <= MAX_CREDENTIAL_BYTES);
            }
            Err(BakeError::UnknownFormat) => prop_assert_eq!(detected, None),
            Err(_) => {}
        }
    }

    /// Edited baked PNGs (with their CRCs fixed up half the time, so the edits reach the chunk
    /// parsers) never panic.
    #[test]
    fn edited_baked_pngs_extract_or_are_refused(edits in byte_edits(), fix in any::<bool>()) {
        let mut png = apply_byte_edits(&baked(ImageFormat::Png), &edits);
        if fix {
            fix_crcs(&mut png);
        }
        if let Ok(extracted) = timed("extract", || baking::extract(&png)) {
            prop_assert!(extracted.credential.len() <= MAX_CREDENTIAL_BYTES);
        }
    }

    /// SVG-like text assembled from the markup that matters: never a panic.
    #[test]
    fn svg_like_text_extracts_or_is_refused(svg in svg_fragments()) {
        if let Ok(extracted) = timed("extract", || baking::extract(svg.as_bytes())) {
            prop_assert!(extracted.credential.len() <= MAX_CREDENTIAL_BYTES);
            prop_assert!(!extracted.credential.is_empty());
        }
    }

    #[test]
    fn edited_baked_svgs_extract_or_are_refused(edits in byte_edits()) {
        let svg = apply_byte_edits(&baked(ImageFormat::Svg), &edits);
        let _ = timed("extract", || baking::extract(&svg));
    }

    /// What is baked is what is extracted (trimmed), in both formats.
    #[test]
    fn bake_then_extract_gives_back_the_credential(
        credential in prop_oneof!["\\{[ -~]{0,200}\\}", "[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{1,40}"],
        format in prop::sample::select(vec![ImageFormat::Png, ImageFormat::Svg]),
    ) {
        let (_, image) = baking::bake(&laurel::credential::badge_image::default_image(format), &credential).unwrap();
        let extracted = baking::extract(&image).unwrap();
        prop_assert_eq!(extracted.credential, credential.trim());
    }
}

proptest! {
    // Each case decompresses up to a few MiB (slow in a debug build): fewer cases.
    #![proptest_config(cases(24))]

    /// Compressed credential chunks, small and at and over the limit, in any number and order:
    /// more than one is refused, the decompressed credential stays within the limit and the
    /// answer comes quickly.
    #[test]
    fn compressed_credential_chunks_stay_bounded(picks in prop::collection::vec(0usize..4, 1..4)) {
        let blobs = compressed_blobs();
        let plain = laurel::credential::badge_image::default_image(ImageFormat::Png);
        let ihdr_end = PNG_SIGNATURE.len() + 8 + 13 + 4;
        let mut png = plain[..ihdr_end].to_vec();
        let chunks = picks.len();
        for pick in picks {
            png.extend_from_slice(&compressed_itxt(&blobs[pick]));
        }
        png.extend_from_slice(&plain[ihdr_end..]);
        match timed("extract", || baking::extract(&png)) {
            Ok(extracted) => {
                prop_assert_eq!(chunks, 1, "several credential chunks must be refused");
                prop_assert!(extracted.credential.len() <= MAX_CREDENTIAL_BYTES)
            }
            Err(BakeError::SeveralCredentials(_)) if chunks > 1 => {}
            Err(BakeError::CredentialTooLarge | BakeError::Png(_)) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}

/// zlib of: a small credential, exactly the limit, one byte past it, and garbage.
fn compressed_blobs() -> Arc<Vec<Vec<u8>>> {
    static BLOBS: std::sync::OnceLock<Arc<Vec<Vec<u8>>>> = std::sync::OnceLock::new();
    BLOBS
        .get_or_init(|| {
            let mut at_limit = vec![b' '; MAX_CREDENTIAL_BYTES];
            at_limit[..2].copy_from_slice(b"{}");
            Arc::new(vec![
                zlib(b"{\"small\": true}"),
                zlib(&at_limit),
                zlib(&vec![b' '; MAX_CREDENTIAL_BYTES + 1]),
                vec![0x78, 0x9c, 0xff, 0xff, 0x00],
            ])
        })
        .clone()
}

// ---------------------------------------------------------------------------------------------
// JSON-LD: every check reads what was signed
// ---------------------------------------------------------------------------------------------

const CRED: &str = "https://www.w3.org/2018/credentials#";
const XSD_DATE_TIME: &str = "http://www.w3.org/2001/XMLSchema#dateTime";

/// A property the verifier checks, and where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    CredentialStatus,
    ValidUntil,
    ValidFrom,
    Issuer,
    CredentialSubject,
    SubjectId,
    IssuerId,
    Type,
}

const SLOTS: [Slot; 8] = [
    Slot::CredentialStatus,
    Slot::ValidUntil,
    Slot::ValidFrom,
    Slot::Issuer,
    Slot::CredentialSubject,
    Slot::SubjectId,
    Slot::IssuerId,
    Slot::Type,
];

impl Slot {
    fn key(self) -> &'static str {
        match self {
            Slot::CredentialStatus => "credentialStatus",
            Slot::ValidUntil => "validUntil",
            Slot::ValidFrom => "validFrom",
            Slot::Issuer => "issuer",
            Slot::CredentialSubject => "credentialSubject",
            Slot::SubjectId | Slot::IssuerId => "id",
            Slot::Type => "type",
        }
    }

    /// The object holding the key.
    fn parent(self) -> &'static str {
        match self {
            Slot::SubjectId => "/credentialSubject",
            Slot::IssuerId => "/issuer",
            _ => "",
        }
    }

    /// The standard definition, under another name: the signed RDF does not change.
    fn same_meaning(self) -> Value {
        let typed = |name: &str, kind: &str| json!({"@id": format!("{CRED}{name}"), "@type": kind});
        match self {
            Slot::CredentialStatus => typed("credentialStatus", "@id"),
            Slot::ValidUntil => typed("validUntil", XSD_DATE_TIME),
            Slot::ValidFrom => typed("validFrom", XSD_DATE_TIME),
            Slot::Issuer => typed("issuer", "@id"),
            Slot::CredentialSubject => typed("credentialSubject", "@id"),
            Slot::SubjectId | Slot::IssuerId => json!("@id"),
            Slot::Type => json!("@type"),
        }
    }
}

/// A definition for an added term.
#[derive(Debug, Clone)]
enum Definition {
    /// The standard meaning of the slot the term renames.
    SameMeaning,
    Iri(&'static str),
    Typed(&'static str, &'static str),
    Keyword(&'static str),
    Null,
}

const RELEVANT: [&str; 7] =
    ["credentialStatus", "validUntil", "validFrom", "issuer", "credentialSubject", "holder", "unrelated"];

fn iri(name: &str) -> String {
    if name == "unrelated" {
        "https://example.com/vocab#unrelated".to_string()
    } else {
        format!("{CRED}{name}")
    }
}

impl Definition {
    fn to_json(&self, slot: Option<Slot>) -> Value {
        match self {
            Definition::SameMeaning => slot.map(Slot::same_meaning).unwrap_or(Value::Null),
            Definition::Iri(name) => json!(iri(name)),
            Definition::Typed(name, kind) => json!({"@id": iri(name), "@type": kind}),
            Definition::Keyword(keyword) => json!(keyword),
            Definition::Null => Value::Null,
        }
    }
}

fn definition(allow_same: bool) -> impl Strategy<Value = Definition> {
    let name = prop::sample::select(RELEVANT.to_vec());
    let kind = prop::sample::select(vec!["@id", XSD_DATE_TIME, "@vocab"]);
    let other = prop_oneof![
        2 => name.clone().prop_map(Definition::Iri),
        2 => (name, kind).prop_map(|(n, k)| Definition::Typed(n, k)),
        1 => prop::sample::select(vec!["@id", "@type"]).prop_map(Definition::Keyword),
        1 => Just(Definition::Null),
    ];
    // Mostly the same meaning when renaming: only those rewrites keep the signature valid.
    if allow_same {
        prop_oneof![1 => other, 1 => Just(Definition::SameMeaning)].boxed()
    } else {
        other.boxed()
    }
}

fn term_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "cs", "vu", "vf", "iss", "subj", "who", "status", "until", "holder", "junk"
        ])
        .prop_map(str::to_string),
        "[a-z]{1,8}",
    ]
}

/// One way of re-saying a signed credential: added context terms, keys renamed to them (or
/// straight to a keyword), unused extra terms, and optionally data under an added term.
#[derive(Debug, Clone)]
struct Rewrite {
    renames: Vec<(Slot, String, Definition)>,
    extra_terms: Vec<(String, Definition)>,
    /// One inline context per term instead of one for all.
    separate_contexts: bool,
    /// `"identifier": []` in the subject, which keeps it valid without an `id`.
    empty_identifier: bool,
}

fn rewrite() -> impl Strategy<Value = Rewrite> {
    let rename = (
        prop::sample::select(SLOTS.to_vec()),
        prop_oneof![4 => term_name(), 1 => prop::sample::select(vec!["@id", "@type"]).prop_map(str::to_string)],
        definition(true),
    );
    (
        prop::collection::vec(rename, 1..4),
        prop::collection::vec((term_name(), definition(false)), 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(renames, extra_terms, separate_contexts, empty_identifier)| Rewrite {
            renames,
            extra_terms,
            separate_contexts,
            empty_identifier,
        })
}

impl Rewrite {
    fn apply(&self, credential: &Value) -> Value {
        let mut document = credential.clone();
        let mut definitions: Vec<(String, Value)> = Vec::new();
        for (slot, term, definition) in &self.renames {
            let Some(parent) = document.pointer_mut(slot.parent()).and_then(Value::as_object_mut) else {
                continue;
            };
            let Some(value) = parent.remove(slot.key()) else { continue };
            parent.insert(term.clone(), value);
            if !term.starts_with('@') {
                definitions.push((term.clone(), definition.to_json(Some(*slot))));
            }
        }
        for (term, definition) in &self.extra_terms {
            definitions.push((term.clone(), definition.to_json(None)));
        }
        if self.empty_identifier {
            if let Some(subject) = document.get_mut("credentialSubject").and_then(Value::as_object_mut) {
                subject.entry("identifier").or_insert(json!([]));
            }
        }
        let context = document["@context"].as_array_mut().expect("an array @context");
        if self.separate_contexts {
            context.extend(definitions.into_iter().map(|(term, definition)| json!({ term: definition })));
        } else if !definitions.is_empty() {
            context.push(Value::Object(definitions.into_iter().collect()));
        }
        document
    }
}

/// Signed credentials with a status entry, and a resolver holding their status lists: one that
/// verifies, one revoked, one expired, one not yet valid.
struct SignedData {
    valid: Value,
    revoked: Value,
    expired: Value,
    not_yet_valid: Value,
    verifier: Verifier,
}

fn signed_data() -> &'static SignedData {
    static DATA: std::sync::OnceLock<SignedData> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        let rt = runtime();
        let key = issuer_key();
        let mut resolver = LocalResolver::default();
        for (url, set) in
            [("https://status.example/lists/clear", false), ("https://status.example/lists/set", true)]
        {
            let mut bits = vec![0u8; MIN_LIST_ENTRIES / 8];
            status::write_bit(&mut bits, 7, set);
            let list = status::list_credential(url, &key.did(), "revocation", &bits, 300_000);
            resolver.pinned.insert(url, rt.block_on(sign_di(&list, &key)));
        }
        let clear = "https://status.example/lists/clear";
        SignedData {
            valid: rt.block_on(credential_with_status(&key, clear, 7, None, None)),
            revoked: rt.block_on(credential_with_status(
                &key,
                "https://status.example/lists/set",
                7,
                None,
                None,
            )),
            expired: rt.block_on(credential_with_status(
                &key,
                clear,
                7,
                Some("2019-01-01T00:00:00Z"),
                Some("2020-01-01T00:00:00Z"),
            )),
            not_yet_valid: rt.block_on(credential_with_status(
                &key,
                clear,
                7,
                Some("2999-01-01T00:00:00Z"),
                None,
            )),
            verifier: Verifier::new(Arc::new(resolver), VerifyOptions::default()),
        }
    })
}

fn verify(document: &Value) -> Report {
    runtime().block_on(signed_data().verifier.verify_value(document))
}

#[test]
fn the_signed_data_fixtures_verify_as_expected() {
    let data = signed_data();
    let code = |credential: &Value| {
        let report = verify(credential);
        report.errors.iter().map(|e| e.code.clone()).collect::<Vec<_>>()
    };
    assert_eq!(code(&data.valid), Vec::<String>::new());
    assert_eq!(code(&data.revoked), ["REVOKED"]);
    assert_eq!(code(&data.expired), ["CREDENTIAL_EXPIRED"]);
    assert_eq!(code(&data.not_yet_valid), ["CREDENTIAL_NOT_YET_VALID"]);
    // A rename with the same meaning keeps the signed RDF: the signature alone does not catch it.
    let renamed = Rewrite {
        renames: vec![(Slot::CredentialStatus, "cs".into(), Definition::SameMeaning)],
        extra_terms: vec![],
        separate_contexts: false,
        empty_identifier: false,
    }
    .apply(&data.valid);
    let same = |d: &Value| runtime().block_on(laurel::jsonld::canonical_nquads(&without_proof(d))).unwrap();
    assert_eq!(same(&renamed), same(&data.valid));
}

fn without_proof(document: &Value) -> Value {
    let mut unsigned = document.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    unsigned
}

fn checked_properties(document: &Value) -> [Option<&Value>; 5] {
    [
        document.get("issuer"),
        document.get("validFrom"),
        document.get("validUntil"),
        document.get("credentialStatus"),
        document.pointer("/credentialSubject/id"),
    ]
}

proptest! {
    #![proptest_config(cases(64))]

    /// If a re-said credential verifies, the properties the checks read (issuer, validFrom,
    /// validUntil, credentialStatus, credentialSubject.id) are under the keys the checks read,
    /// with the values that were signed.
    #[test]
    fn a_verified_credential_has_its_checked_properties_where_the_checks_read_them(rewrite in rewrite()) {
        let original = &signed_data().valid;
        let document = rewrite.apply(original);
        let report = verify(&document);
        if report.verified {
            prop_assert_eq!(checked_properties(&document), checked_properties(original), "{}", document);
        }
    }

    /// A revoked, expired or not-yet-valid credential, re-said in any way, never verifies.
    #[test]
    fn a_failing_credential_re_said_never_verifies(rewrite in rewrite(), which in 0usize..3) {
        let data = signed_data();
        let original = [&data.revoked, &data.expired, &data.not_yet_valid][which];
        let document = rewrite.apply(original);
        let report = verify(&document);
        prop_assert!(!report.verified, "{}", document);
    }

    /// Data under an added term is either signed (and then the signature no longer matches) or
    /// dropped by JSON-LD (and then it must be refused): it never verifies.
    #[test]
    fn added_data_never_verifies(
        term in term_name(),
        definition in definition(false),
        claim in "[a-z]{1,12}",
        nested in any::<bool>(),
        rewrite in prop::option::of(rewrite()),
    ) {
        let original = &signed_data().valid;
        let mut document = rewrite.map(|r| r.apply(original)).unwrap_or_else(|| original.clone());
        document["@context"].as_array_mut().unwrap().push(json!({ term.clone(): definition.to_json(None) }));
        let value = json!({"claim": format!("unsigned {claim}")});
        let holder = if nested { document.get_mut("credentialSubject").and_then(Value::as_object_mut) } else { document.as_object_mut() };
        let Some(holder) = holder else { return Ok(()) };
        prop_assume!(!holder.contains_key(&term));
        holder.insert(term, value);
        let report = verify(&document);
        prop_assert!(!report.verified, "{}", document);
    }

    /// Bob's Open Badge, re-said and presented by Mallory, never verifies as Mallory's.
    #[test]
    fn a_re_said_badge_never_verifies_for_another_holder(rewrite in rewrite()) {
        let (bob_badge, mallory) = bobs_badge();
        let document = rewrite.apply(bob_badge);
        let rt = runtime();
        // Mallory can only present what still signs (a rewrite may leave terms undefined).
        let presentation = rt.block_on(present(&[document], mallory, None, None));
        prop_assume!(presentation.is_ok());
        let presentation = presentation.unwrap();
        let verifier = &signed_data().verifier;
        let report = rt.block_on(verifier.verify_presentation(&presentation, &PresentationOptions::default(), None));
        prop_assert!(!report.verified, "{}", presentation);
    }
}

/// An Open Badge issued to Bob's did:key, and Mallory's key.
fn bobs_badge() -> (&'static Value, &'static KeyPair) {
    static DATA: std::sync::OnceLock<(Value, KeyPair)> = std::sync::OnceLock::new();
    let (badge, mallory) = DATA.get_or_init(|| {
        let bob = KeyPair::ed25519_from_seed([2; 32]);
        let request = BadgeRequest {
            subject_id: Some(bob.did()),
            achievement_name: "Bob's badge".into(),
            ..Default::default()
        };
        let badge = runtime()
            .block_on(issue(build_badge(&request), &issuer_key(), Format::EddsaRdfc2022))
            .unwrap()
            .to_json_value();
        (badge, KeyPair::ed25519_from_seed([3; 32]))
    });
    (badge, mallory)
}

#[test]
fn bobs_badge_presented_by_mallory_as_is_is_refused() {
    let (badge, mallory) = bobs_badge();
    let rt = runtime();
    let presentation = rt.block_on(present(std::slice::from_ref(badge), mallory, None, None)).unwrap();
    let report = rt.block_on(signed_data().verifier.verify_presentation(
        &presentation,
        &PresentationOptions::default(),
        None,
    ));
    assert!(!report.verified);
    assert!(report.errors.iter().any(|e| e.code == "HOLDER_MISMATCH_ERROR"), "{:#?}", report.errors);
}

// ---------------------------------------------------------------------------------------------
// JSON-LD expansion of arbitrary documents
// ---------------------------------------------------------------------------------------------

fn credential_like() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "id",
        "type",
        "name",
        "description",
        "issuer",
        "credentialSubject",
        "achievement",
        "validFrom",
        "validUntil",
        "credentialStatus",
        "image",
        "@id",
        "@type",
        "@value",
        "@language",
        "@list",
        "@set",
        "@graph",
        "@context",
        "@base",
        "@vocab",
        "@reverse",
        "@included",
        "@nest",
        "unknownTerm",
    ]);
    let leaf = prop_oneof![
        json_scalar(),
        prop::sample::select(vec![
            "VerifiableCredential",
            "OpenBadgeCredential",
            "Achievement",
            "AchievementSubject",
            "Profile",
            "https://example.com/x",
            "did:example:1",
            "2024-01-01T00:00:00Z",
            "en",
            "_:b0",
            "@id",
            "@json",
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 48, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|entries| Value::Object(
                entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

fn contexts() -> impl Strategy<Value = Value> {
    let bundled = prop::sample::select(vec![
        laurel::jsonld::contexts::CREDENTIALS_V2,
        laurel::jsonld::contexts::OB_V3P0_3_0_3,
        laurel::jsonld::contexts::CREDENTIALS_V1,
        laurel::jsonld::contexts::DATA_INTEGRITY_V2,
    ]);
    prop::collection::vec(
        prop_oneof![
            4 => bundled.prop_map(|c| json!(c)),
            1 => (term_name(), definition(false)).prop_map(|(t, d)| json!({ t: d.to_json(None) })),
            1 => Just(json!({"@base": "https://example.com/"})),
        ],
        1..4,
    )
    .prop_map(Value::Array)
}

proptest! {
    #![proptest_config(cases(128))]

    /// Expansion of arbitrary credential-shaped JSON never panics and answers quickly, on the
    /// fast path and on the json-ld crate path.
    #[test]
    fn expansion_of_arbitrary_documents_never_panics(context in contexts(), body in credential_like()) {
        let mut document = match body {
            Value::Object(map) => Value::Object(map),
            other => json!({"name": other}),
        };
        document["@context"] = context;
        let _ = timed("fast_quads", || laurel::jsonld::fast_quads(&document));
        let _ = timed("reference_quads", || runtime().block_on(laurel::jsonld::reference_quads(&document)));
        let _ = timed("to_quads", || runtime().block_on(laurel::jsonld::to_quads(&document)));
    }
}
