//! Baked badges: PNG and SVG round trips in both proof forms, the 1EdTech fixtures, hostile
//! images, the CLI and the HTTP endpoints.

mod common;

use std::sync::Arc;

use common::{http_client, temp_data_dir, ServerProcess};
use laurel::credential::badge_image::default_image;
use laurel::credential::baking::{bake, extract, BakeError, ImageFormat};
use laurel::credential::issue::{build_badge, issue, BadgeRequest};
use laurel::credential::proofs::{Format, Secured};
use laurel::credential::verify::{Verifier, VerifyOptions};
use laurel::did::LocalResolver;
use laurel::keys::{KeyPair, KeyType};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn verifier() -> Verifier {
    Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default())
}

fn decode_png(bytes: &[u8]) -> Vec<u8> {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().expect("a decodable PNG");
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).expect("a decodable frame");
    buffer.truncate(info.buffer_size());
    buffer
}

fn parse_svg(bytes: &[u8]) {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buffer = Vec::new();
    loop {
        match reader.read_event_into(&mut buffer).expect("well-formed SVG") {
            quick_xml::events::Event::Eof => break,
            _ => buffer.clear(),
        }
    }
}

async fn secured(format: Format) -> String {
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let request = BadgeRequest {
        subject_id: Some("did:example:r".into()),
        achievement_name: "Baked".into(),
        ..Default::default()
    };
    match issue(build_badge(&request), &key, format).await.unwrap() {
        Secured::Json(v) => serde_json::to_string(&v).unwrap(),
        Secured::Jwt(t) => t,
    }
}

#[tokio::test]
async fn both_formats_round_trip_with_both_proof_forms() {
    for proof in [Format::EddsaRdfc2022, Format::Jwt] {
        let credential = secured(proof).await;
        for format in [ImageFormat::Png, ImageFormat::Svg] {
            let image = default_image(format);
            let (detected, baked) = bake(&image, &credential).unwrap();
            assert_eq!(detected, format);
            match format {
                ImageFormat::Png => assert_eq!(decode_png(&baked), decode_png(&image), "pixels unchanged"),
                ImageFormat::Svg => parse_svg(&baked),
            }
            assert_eq!(extract(&baked).unwrap().credential, credential);
            let report = verifier().verify_bytes(&baked).await;
            assert!(report.verified, "{proof:?} in {format:?}: {:#?}", report.errors);
            assert_eq!(report.baked.as_deref(), Some(format.extension()));
            assert_eq!(bake(&baked, &credential).unwrap_err(), BakeError::AlreadyBaked);
        }
    }
}

#[tokio::test]
async fn the_1edtech_baked_fixtures_extract_to_their_credentials() {
    let Some(spec) = common::spec_dir("the_1edtech_baked_fixtures_extract_to_their_credentials") else {
        return;
    };
    let dir = spec.join("ob-v3p0/examples-validator");
    for name in [
        "simple-json.png",
        "simple-json.svg",
        "simple-jwt.png",
        "simple-jwt.svg",
        "simple-jwt_v1.png",
        "simple-jwt_v1.svg",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let extracted = extract(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let credential: Value = if name.contains("json") {
            serde_json::from_str(&extracted.credential).unwrap_or_else(|e| panic!("{name}: {e}"))
        } else {
            // These fixtures carry their key in the JWT header ("jwk") and no "kid". Laurel uses
            // such a key only when the issuer's own profile lists it, and the profile (at an
            // https URL on 1edtech.edu) is not available offline: the key alone is not trusted.
            use base64::Engine;
            let payload = extracted.credential.split('.').nth(1).unwrap();
            let claims: Value = serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap(),
            )
            .unwrap();
            let report = verifier().verify_value(&json!(extracted.credential)).await;
            let issuer =
                claims.pointer("/vc/issuer/id").or(claims.pointer("/issuer/id")).and_then(Value::as_str);
            assert!(!report.verified, "{name}");
            assert!(
                report
                    .errors
                    .iter()
                    .any(|e| e.detail.contains(issuer.unwrap()) && e.detail.contains("offline")),
                "{name}: {:?}",
                report.errors
            );
            claims.get("vc").cloned().unwrap_or(claims)
        };
        let types = laurel::credential::model::types_of(credential.get("type"));
        assert!(
            types.contains(&"OpenBadgeCredential") || types.contains(&"AchievementCredential"),
            "{name}: {types:?}"
        );
        assert!(credential.get("issuer").is_some(), "{name}");
        if name.ends_with(".png") {
            decode_png(&bytes);
        }
    }
    // simple-json.png carries the same credential as simple.json.
    let png_credential: Value = serde_json::from_str(
        &extract(&std::fs::read(dir.join("simple-json.png")).unwrap()).unwrap().credential,
    )
    .unwrap();
    let simple = common::read_json(&dir.join("simple.json"));
    assert_eq!(png_credential["id"], simple["id"]);
}

fn png_with_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let image = default_image(ImageFormat::Png);
    let mut out = image[..33].to_vec(); // signature + IHDR
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(kind);
    hasher.update(data);
    out.extend_from_slice(&hasher.finalize().to_be_bytes());
    out.extend_from_slice(&image[33..]);
    out
}

#[tokio::test]
async fn hostile_images_fail_clearly() {
    let image = default_image(ImageFormat::Png);
    let truncated = &image[..image.len() / 2];
    assert!(matches!(extract(truncated), Err(BakeError::Png(m)) if m.contains("truncated")));
    let report = verifier().verify_bytes(truncated).await;
    assert_eq!(report.errors[0].code, "PARSING_ERROR");
    let mut crc = image.clone();
    crc[40] ^= 0x55;
    assert!(matches!(extract(&crc), Err(BakeError::Png(m)) if m.contains("CRC")));
    // Two credential chunks: refused, as which one was meant is ambiguous.
    let credential = secured(Format::EddsaRdfc2022).await;
    let (_, once) = bake(&image, &credential).unwrap();
    let mut chunk = b"openbadgecredential\0\0\0\0\0".to_vec();
    chunk.extend_from_slice(b"{\"second\": true}");
    let twice = {
        let mut out = once[..33].to_vec();
        out.extend_from_slice(&png_with_chunk(b"iTXt", &chunk)[33..]);
        let tail_start = 33 + (once.len() - image.len());
        let mut merged = out[..out.len() - (image.len() - 33)].to_vec();
        merged.extend_from_slice(&once[33..tail_start]);
        merged.extend_from_slice(&image[33..]);
        merged
    };
    assert!(matches!(extract(&twice), Err(BakeError::SeveralCredentials(m)) if m.starts_with("2 ")));
    let report = verifier().verify_bytes(&twice).await;
    assert!(!report.verified);
    assert_eq!(report.errors[0].code, "PARSING_ERROR");
    assert!(report.errors[0].detail.contains("more than one baked credential"), "{:#?}", report);
    // A chunk that claims 100 MB.
    let mut liar = image[..33].to_vec();
    liar.extend_from_slice(&(100u32 << 20).to_be_bytes());
    liar.extend_from_slice(b"iTXt");
    liar.extend_from_slice(&[0u8; 64]);
    assert!(matches!(extract(&liar), Err(BakeError::Png(m)) if m.contains("truncated")));
    // A compressed iTXt that inflates past the cap.
    let mut bomb = b"openbadgecredential\0\x01\x00\0\0".to_vec();
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &vec![b' '; 50 << 20]).unwrap();
    bomb.extend_from_slice(&encoder.finish().unwrap());
    assert_eq!(extract(&png_with_chunk(b"iTXt", &bomb)), Err(BakeError::CredentialTooLarge));
    // SVG entity expansion and external entities are never processed.
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential>&b;</openbadges:credential></svg>"#;
    assert!(matches!(extract(laughs), Err(BakeError::Svg(m)) if m.contains("DOCTYPE")));
    // An entity that was never declared is not expanded either.
    let undeclared = br#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential>&lol;</openbadges:credential></svg>"#;
    assert!(matches!(extract(undeclared), Err(BakeError::Svg(_))));
    let external = br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>"#;
    assert!(
        matches!(verifier().verify_bytes(external).await.errors[0].detail.as_str(), d if d.contains("DOCTYPE"))
    );
}

#[test]
fn cli_bake_extract_and_verify_detect_the_format_from_content() {
    let data = temp_data_dir("bake-cli");
    let laurel = |args: &[&str]| common::laurel_cli(&data, args);
    assert!(laurel(&["key", "new", "--name", "k"]).status.success());
    let cred = data.join("cred.json");
    assert!(laurel(&[
        "issue",
        "--key",
        "k",
        "--achievement",
        "Baked CLI",
        "--subject",
        "did:example:x",
        "-o",
        cred.to_str().unwrap()
    ])
    .status
    .success());
    for format in [ImageFormat::Png, ImageFormat::Svg] {
        let image = data.join(format!("plain.{}", format.extension()));
        std::fs::write(&image, default_image(format)).unwrap();
        // A misleading file name: detection must use the content.
        let baked = data.join(format!("baked-{}.dat", format.extension()));
        let out = laurel(&[
            "bake",
            "--credential",
            cred.to_str().unwrap(),
            "--image",
            image.to_str().unwrap(),
            "-o",
            baked.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = laurel(&["extract", baked.to_str().unwrap()]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("Baked CLI"));
        let out = laurel(&["verify", baked.to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
        let again = laurel(&[
            "bake",
            "--credential",
            cred.to_str().unwrap(),
            "--image",
            baked.to_str().unwrap(),
            "-o",
            data.join("x").to_str().unwrap(),
        ]);
        assert_eq!(again.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&again.stderr).contains("already carries"));
    }
    // A 100 MB image is refused by size without being read whole.
    let huge = data.join("huge.png");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&huge).unwrap();
        let image = default_image(ImageFormat::Png);
        file.write_all(&image[..33]).unwrap();
        file.write_all(&(100u32 << 20).to_be_bytes()).unwrap();
        file.write_all(b"iTXt").unwrap();
        let block = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            file.write_all(&block).unwrap();
        }
    }
    let out = laurel(&["verify", huge.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than"));
    std::fs::remove_file(huge).ok();
}

#[tokio::test]
async fn http_badge_downloads_and_image_verification() {
    let data = temp_data_dir("bake-http");
    let server = ServerProcess::start(&data, &["--admin-token", "t"]);
    let client = http_client();
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:example:baked-1",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"type": ["Profile"], "name": "Bakery"},
        "credentialSubject": {"id": "did:example:learner", "type": ["AchievementSubject"],
            "achievement": {"id": "https://example.com/achievements/bread", "type": ["Achievement"], "name": "Bread", "description": "Baked bread", "criteria": {"narrative": "Bake."}}}
    });
    let issued = client
        .post(format!("{}/credentials/issue", server.base))
        .bearer_auth("t")
        .json(&json!({"credential": credential}))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), StatusCode::CREATED);
    // Register an achievement image (our default PNG, recolored by a different size is enough).
    let mut custom = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut custom, 4, 4);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header().unwrap().write_image_data(&[9u8; 48]).unwrap();
    }
    let key = "https:%2F%2Fexample.com%2Fachievements%2Fbread";
    let put = client
        .put(format!("{}/images/{key}", server.base))
        .bearer_auth("t")
        .header("content-type", "image/png")
        .body(custom.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    let bad = client
        .put(format!("{}/images/issuer", server.base))
        .bearer_auth("t")
        .header("content-type", "image/png")
        .body("not an image")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let response = client
        .get(format!("{}/credentials/urn:example:baked-1/badge.png", server.base))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("badge-urn_example_baked-1.png"));
    let png_bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(decode_png(&png_bytes), decode_png(&custom), "baked into the registered achievement image");
    let response = client
        .get(format!("{}/credentials/urn:example:baked-1/badge.svg", server.base))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    let svg_bytes = response.bytes().await.unwrap().to_vec();
    parse_svg(&svg_bytes);
    // Public: the learner downloads their own badge without the admin token.
    let public = client
        .get(format!("{}/credentials/urn:example:baked-1/badge.png", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::OK);
    assert_eq!(public.bytes().await.unwrap().to_vec(), png_bytes);
    assert_eq!(
        client
            .get(format!("{}/credentials/urn:example:none/badge.png", server.base))
            .bearer_auth("t")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Verify: raw PNG, raw SVG, multipart upload; a corrupt image is a 400 with a report.
    for (bytes, content_type) in [(png_bytes.clone(), "image/png"), (svg_bytes.clone(), "image/svg+xml")] {
        let r = client
            .post(format!("{}/credentials/verify", server.base))
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{content_type}");
        let report: Value = r.json().await.unwrap();
        assert_eq!(report["verified"], json!(true));
    }
    let form = reqwest::multipart::Form::new()
        .part("badge", reqwest::multipart::Part::bytes(png_bytes.clone()).file_name("badge.png"));
    let r = client.post(format!("{}/credentials/verify", server.base)).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client
        .post(format!("{}/credentials/verify", server.base))
        .header("content-type", "image/png")
        .body(png_bytes[..100].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["errors"][0]["code"], json!("PARSING_ERROR"));
}
