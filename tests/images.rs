//! Badge images against the real `laurel serve` on a loopback port: a registered achievement or
//! issuer image is referenced from issued badges by a content-addressed public URL, replacing it
//! leaves old badges' images in place, `PUT /images/{id}` takes an achievement id as is, baked
//! badges are public, and a badge without an image gets a generated one showing its name.

mod common;

use common::{http_client, temp_data_dir, ServerProcess};
use laurel::credential::badge_image;
use laurel::credential::baking::{self, ImageFormat};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn badge(id: &str, achievement_id: Option<&str>, name: &str) -> Value {
    let mut achievement =
        json!({"type": ["Achievement"], "name": name, "description": "d", "criteria": {"narrative": "n"}});
    if let Some(achievement_id) = achievement_id {
        achievement["id"] = json!(achievement_id);
    }
    json!({"credential": {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"type": ["Profile"], "name": "Image School"},
        "credentialSubject": {"id": "did:example:learner", "type": ["AchievementSubject"], "achievement": achievement}
    }})
}

async fn issue(server: &ServerProcess, body: &Value) -> Value {
    let response = http_client()
        .post(format!("{}/credentials/issue", server.base))
        .bearer_auth(&server.token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["verifiableCredential"].clone()
}

async fn put_image(
    server: &ServerProcess,
    key: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> (StatusCode, Value) {
    let response = http_client()
        .put(format!("{}/images/{key}", server.base))
        .bearer_auth(&server.token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

async fn public_get(url: &str) -> reqwest::Response {
    http_client().get(url).send().await.unwrap()
}

#[tokio::test]
async fn registered_images_are_referenced_published_and_baked() {
    let data = temp_data_dir("images");
    let server = ServerProcess::start(&data, &[]);
    let first = badge_image::generated(ImageFormat::Png, "first image");
    // The achievement id is a URL, given unencoded.
    let (status, registered) =
        put_image(&server, "https://example.com/achievements/rust", first.clone(), "image/png").await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let url = registered["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/images/", server.base)) && url.ends_with(".png"), "{url}");
    let issuer_svg = badge_image::generated(ImageFormat::Svg, "Image School");
    let (status, issuer) = put_image(&server, "issuer", issuer_svg.clone(), "image/svg+xml").await;
    assert_eq!(status, StatusCode::CREATED, "{issuer}");

    let credential =
        issue(&server, &badge("urn:example:img-1", Some("https://example.com/achievements/rust"), "Rust"))
            .await;
    assert_eq!(credential["credentialSubject"]["achievement"]["image"], json!({"id": url, "type": "Image"}));
    assert_eq!(credential["issuer"]["image"]["id"], issuer["url"]);
    // The reference is signed: the badge verifies as issued.
    let report: Value = http_client()
        .post(format!("{}/credentials/verify", server.base))
        .json(&json!({"verifiableCredential": credential}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["verified"], json!(true), "{report}");

    // Public, immutable, sandboxed, revalidated by ETag.
    let response = public_get(&url).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert!(headers["cache-control"].to_str().unwrap().contains("immutable"));
    assert!(headers["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(response.bytes().await.unwrap().to_vec(), first);
    let revalidated =
        http_client().get(&url).header("if-none-match", headers["etag"].clone()).send().await.unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    let svg = public_get(issuer["url"].as_str().unwrap()).await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");

    // A new image for the achievement: new badges point to it, the old badge's image stays.
    let second = badge_image::generated(ImageFormat::Png, "second image");
    let (_, replaced) =
        put_image(&server, "https://example.com/achievements/rust", second.clone(), "image/png").await;
    assert_ne!(replaced["url"], json!(url));
    let newer =
        issue(&server, &badge("urn:example:img-2", Some("https://example.com/achievements/rust"), "Rust"))
            .await;
    assert_eq!(newer["credentialSubject"]["achievement"]["image"]["id"], replaced["url"]);
    assert_eq!(public_get(&url).await.bytes().await.unwrap().to_vec(), first);
    // An image the request names itself is kept.
    let mut own = badge("urn:example:img-3", Some("https://example.com/achievements/rust"), "Rust");
    own["credential"]["credentialSubject"]["achievement"]["image"] =
        json!({"id": "https://cdn.example.com/rust.png", "type": "Image"});
    let own = issue(&server, &own).await;
    assert_eq!(
        own["credentialSubject"]["achievement"]["image"]["id"],
        json!("https://cdn.example.com/rust.png")
    );

    // Baked badges are public; the registered PNG is baked, and wrapped when SVG is asked for.
    let baked = public_get(&format!("{}/credentials/urn:example:img-2/badge.png", server.base)).await;
    assert_eq!(baked.status(), StatusCode::OK);
    let baked = baked.bytes().await.unwrap().to_vec();
    let inside: Value = serde_json::from_str(&baking::extract(&baked).unwrap().credential).unwrap();
    assert_eq!(inside["id"], json!("urn:example:img-2"));
    let baked_svg = public_get(&format!("{}/credentials/urn:example:img-2/badge.svg", server.base)).await;
    let baked_svg = String::from_utf8(baked_svg.bytes().await.unwrap().to_vec()).unwrap();
    assert!(baked_svg.contains("data:image/png;base64,"), "the registered PNG is shown in the SVG");
    assert!(baking::extract(baked_svg.as_bytes()).is_ok());

    // No image registered for this achievement: the issuer's SVG for badge.svg; for badge.png a
    // generated PNG (an SVG cannot be rasterised here).
    let hostile = "<script>alert(1)</script> & Co";
    issue(&server, &badge("urn:example:img-4", None, hostile)).await;
    let svg = public_get(&format!("{}/credentials/urn:example:img-4/badge.svg", server.base)).await;
    let svg = String::from_utf8(svg.bytes().await.unwrap().to_vec()).unwrap();
    assert!(svg.contains("Image School"), "the issuer's image");
    let png = public_get(&format!("{}/credentials/urn:example:img-4/badge.png", server.base)).await;
    let png = png.bytes().await.unwrap().to_vec();
    assert!(baking::extract(&png).is_ok());

    // Unknown names and malformed ones are 404; a baked image cannot be registered.
    for name in ["0000000000000000000000000000000000000000000000000000000000000000.png", "../db", "x.gif"] {
        assert_eq!(
            public_get(&format!("{}/images/{name}", server.base)).await.status(),
            StatusCode::NOT_FOUND,
            "{name}"
        );
    }
    let (status, problem) = put_image(&server, "issuer", baked, "image/png").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    // Registering needs the admin token.
    let anonymous = http_client()
        .put(format!("{}/images/issuer", server.base))
        .header("content-type", "image/png")
        .body(first)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_badge_without_any_image_gets_one_showing_its_name() {
    let data = temp_data_dir("images-default");
    let server = ServerProcess::start(&data, &[]);
    let name = "<b>Rust & \"Friends\"</b>";
    let credential = issue(&server, &badge("urn:example:plain-1", None, name)).await;
    assert!(credential["credentialSubject"]["achievement"].get("image").is_none(), "no image was registered");
    let svg = public_get(&format!("{}/credentials/urn:example:plain-1/badge.svg", server.base)).await;
    assert_eq!(svg.status(), StatusCode::OK);
    assert!(svg.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    let svg = String::from_utf8(svg.bytes().await.unwrap().to_vec()).unwrap();
    assert!(svg.contains("&lt;b&gt;Rust &amp; &quot;Friends&quot;&lt;/b&gt;"), "{svg}");
    // Markup appears only inside the baked credential's CDATA, never as an element.
    let drawing = svg.split("<openbadges:credential").next().unwrap();
    assert!(!drawing.contains("<b>"), "{drawing}");
    assert!(svg.contains("<![CDATA["));
    let png = public_get(&format!("{}/credentials/urn:example:plain-1/badge.png", server.base)).await;
    let png = png.bytes().await.unwrap().to_vec();
    let decoder = png::Decoder::new(std::io::Cursor::new(png.clone()));
    let reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (badge_image::SIZE, badge_image::SIZE));
    // Not the same picture for every badge: the name is drawn.
    issue(&server, &badge("urn:example:plain-2", None, "Other")).await;
    let other = public_get(&format!("{}/credentials/urn:example:plain-2/badge.png", server.base)).await;
    let strip = |bytes: &[u8]| {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes.to_vec())).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut pixels).unwrap();
        pixels
    };
    assert_ne!(strip(&png), strip(&other.bytes().await.unwrap()));
}
