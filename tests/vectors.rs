//! Published test vectors: W3C vc-di-eddsa and the 1EdTech OB 3.0 Data Integrity vector, byte for byte.

mod common;

use std::sync::Arc;

use laurel::credential::proofs::{
    verify_embedded_proof, Cryptosuite, DataIntegrity, ProofFormat, Secured, SignOptions,
};
use laurel::credential::verify::{Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use laurel::jsonld::canonical_nquads;
use laurel::keys::KeyPair;
use serde_json::Value;

fn text(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn vector_key(dir: &std::path::Path) -> KeyPair {
    let pair = common::read_json(&dir.join("keyPair.json"));
    let secret = pair["privateKeyMultibase"].as_str().unwrap();
    let bytes = bs58::decode(&secret[1..]).into_vec().unwrap();
    assert_eq!(&bytes[..2], &[0x80, 0x26], "Ed25519 private multikey prefix");
    let key = KeyPair::ed25519_from_seed(bytes[2..].try_into().unwrap());
    assert_eq!(key.public_key().to_multikey().unwrap(), pair["publicKeyMultibase"].as_str().unwrap());
    key
}

/// Reproduces canonical forms, hashes and the signature of one vc-di-eddsa eddsa-rdfc-2022 case.
async fn check_eddsa_case(vectors: &std::path::Path, case: &std::path::Path, unsigned: &Value) {
    let key = vector_key(vectors);
    let canon_doc = canonical_nquads(unsigned).await.unwrap();
    assert_eq!(
        canon_doc,
        text(&case.join("canonDocDataInt.txt")),
        "{}: document canonical form",
        case.display()
    );
    let proof_config = common::read_json(&case.join("proofConfigDataInt.json"));
    let canon_proof = canonical_nquads(&proof_config).await.unwrap();
    assert_eq!(
        canon_proof,
        text(&case.join("proofCanonDataInt.txt")),
        "{}: proof canonical form",
        case.display()
    );
    let options = SignOptions {
        created: proof_config["created"].as_str().map(str::to_string),
        ..SignOptions::default()
    };
    let Secured::Json(signed) =
        DataIntegrity(Cryptosuite::EddsaRdfc2022).sign(unsigned, &key, &options).await.unwrap()
    else {
        panic!("Data Integrity gives JSON")
    };
    let expected_signed = common::read_json(&case.join("signedDataInt.json"));
    assert_eq!(
        signed["proof"]["proofValue"],
        expected_signed["proof"]["proofValue"],
        "{}: signature",
        case.display()
    );
    let proof = &expected_signed["proof"];
    verify_embedded_proof(&expected_signed, proof, &LocalResolver::default(), "assertionMethod")
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
}

#[tokio::test]
async fn vc_di_eddsa_rdfc_2022_vectors_reproduce_byte_for_byte() {
    let Some(spec) = common::spec_dir("vc_di_eddsa_rdfc_2022_vectors_reproduce_byte_for_byte") else {
        return;
    };
    let vectors = spec.join("vc-di-eddsa/TestVectors");
    let unsigned = common::read_json(&vectors.join("unsigned.json"));
    check_eddsa_case(&vectors, &vectors.join("eddsa-rdfc-2022"), &unsigned).await;
    let employment = common::read_json(&vectors.join("employmentAuth.json"));
    check_eddsa_case(&vectors, &vectors.join("eddsa-rdfc-2022/employ"), &employment).await;
}

#[tokio::test]
async fn vc_di_eddsa_ed25519_signature_2020_vector_verifies() {
    let Some(spec) = common::spec_dir("vc_di_eddsa_ed25519_signature_2020_vector_verifies") else {
        return;
    };
    let dir = spec.join("vc-di-eddsa/TestVectors/Ed25519Signature2020");
    let signed = common::read_json(&dir.join("signedEdSig.json"));
    let canon = canonical_nquads(&{
        let mut d = signed.clone();
        d.as_object_mut().unwrap().remove("proof");
        d
    })
    .await
    .unwrap();
    assert_eq!(canon, text(&dir.join("canonDocEdSig.txt")));
    verify_embedded_proof(&signed, &signed["proof"], &LocalResolver::default(), "assertionMethod")
        .await
        .unwrap();
}

#[tokio::test]
async fn vectors_whose_issuer_is_not_the_key_controller_fail_only_the_issuer_binding() {
    let Some(spec) =
        common::spec_dir("vectors_whose_issuer_is_not_the_key_controller_fail_only_the_issuer_binding")
    else {
        return;
    };
    let signed = common::read_json(&spec.join("vc-di-eddsa/TestVectors/eddsa-rdfc-2022/signedDataInt.json"));
    let verifier = Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default());
    let report = verifier.verify_value(&signed).await;
    let codes: Vec<&str> = report.errors.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["ISSUER_MISMATCH_ERROR"], "{:#?}", report.errors);
}

#[tokio::test]
async fn ob_v3p0_data_integrity_vector_reproduces() {
    let Some(spec) = common::spec_dir("ob_v3p0_data_integrity_vector_reproduces") else {
        return;
    };
    let dir = spec.join("ob-v3p0/test-vectors/obv3p0");
    let doc_canon = text(&dir.join("document-canon.txt"));
    let proof_canon = text(&dir.join("proof-canon.txt"));
    // The expected signature of the published vector over sha256(proof) || sha256(document).
    let seed = hex::decode("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4").unwrap();
    let key = KeyPair::ed25519_from_seed(seed.try_into().unwrap());
    use sha2::{Digest, Sha256};
    let mut data = Sha256::digest(proof_canon.as_bytes()).to_vec();
    data.extend_from_slice(&Sha256::digest(doc_canon.as_bytes()));
    let signature = key.sign_raw(&data).unwrap();
    assert_eq!(
        format!("z{}", bs58::encode(signature).into_string()),
        "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr"
    );
}
