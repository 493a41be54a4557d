//! Badge images: registering an achievement's or the issuer's image, publishing it at a
//! content-addressed URL that issued credentials reference (OB 3.0 `image`), and the baked
//! badge a learner downloads (the credential inside its image, or inside a generated one that
//! shows the achievement's name when none is registered).
//!
//! Why a URL and not a data URI in the credential: an image is up to 8 MiB, and a data URI
//! would be signed into every badge, canonicalized on every verification, carried in every
//! JWT and wallet, and copied into the baked image a second time. The URL is content-addressed
//! (`/images/{sha256}.{png|svg}`): replacing an achievement's image later gives new badges a new
//! URL and leaves the image an old badge was issued with where it was, so a badge never changes
//! its picture after signing, and the URL can be cached for good.

use super::*;

use crate::credential::baking::{self, ImageFormat};

/// The meta entry naming the published image of a registration key.
fn reference_meta(key: &str) -> String {
    format!("image-ref:{key}")
}

/// The images tree entry holding a published image.
fn content_key(name: &str) -> String {
    format!("sha256:{name}")
}

/// `{sha256 hex}.{png|svg}`: the published name of an image.
fn published_name(format: ImageFormat, bytes: &[u8]) -> String {
    format!("{}.{}", hex::encode(Sha256::digest(bytes)), format.extension())
}

impl Service {
    /// Registers the badge image for `key` (`issuer` or an achievement id) and publishes it.
    /// Answers with the URL new badges will reference.
    pub fn put_image(
        &self,
        key: &str,
        content_type: Option<&str>,
        bytes: &[u8],
    ) -> Result<Value, ServiceError> {
        if key.is_empty() || key.len() > 2048 || key.chars().any(char::is_control) {
            return Err(ServiceError::bad("the image key must be `issuer` or an achievement id"));
        }
        if bytes.len() > baking::MAX_IMAGE_BYTES {
            return Err(ServiceError::bad(format!(
                "images are limited to {} bytes",
                baking::MAX_IMAGE_BYTES
            )));
        }
        let format =
            baking::detect(bytes).ok_or_else(|| ServiceError::bad("the body is not a PNG or SVG image"))?;
        if let Some(declared) = content_type {
            if !declared.starts_with(format.content_type()) {
                return Err(ServiceError::bad(format!(
                    "the body is {} but Content-Type says {declared}",
                    format.content_type()
                )));
            }
        }
        // A broken image is refused now rather than at baking time.
        match baking::extract(bytes) {
            Ok(_) => {
                return Err(ServiceError::bad(
                    "the image already carries a baked credential; register the plain image",
                ))
            }
            Err(baking::BakeError::NoCredential) => {}
            Err(e) => return Err(ServiceError::bad(format!("the image is not usable: {e}"))),
        }
        let name = published_name(format, bytes);
        // Published copy first, then the registration, then the pointer new badges follow: a
        // crash in between leaves at most an unreferenced copy, never a URL without its image.
        durable(|| -> Result<(), ServiceError> {
            self.store.put_image(&content_key(&name), format.content_type(), bytes)?;
            self.store.put_image(key, format.content_type(), bytes)?;
            self.store.put_meta(&reference_meta(key), &name)?;
            Ok(())
        })?;
        Ok(json!({
            "key": key,
            "contentType": format.content_type(),
            "bytes": bytes.len(),
            "url": self.image_url(&name),
        }))
    }

    /// A published image by its name (`{sha256}.{png|svg}`), for `GET /images/{name}`.
    pub fn published_image(&self, name: &str) -> Result<(ImageFormat, Vec<u8>), ServiceError> {
        let missing = || ServiceError::NotFound(format!("no image named {name:?}"));
        let (digest, extension) = name.split_once('.').ok_or_else(missing)?;
        let format = match extension {
            "png" => ImageFormat::Png,
            "svg" => ImageFormat::Svg,
            _ => return Err(missing()),
        };
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Err(missing());
        }
        let (content_type, bytes) = self.store.get_image(&content_key(name))?.ok_or_else(missing)?;
        if content_type != format.content_type() {
            return Err(missing());
        }
        Ok((format, bytes))
    }

    /// Under the base URL, as status lists are (`serve` stores it without a trailing `/`).
    fn image_url(&self, name: &str) -> String {
        format!("{}/images/{name}", self.settings.base_url)
    }

    /// The published name of the image registered for `key`, if any. Images registered before
    /// images were published (no pointer yet) are published on first use.
    fn published_reference(&self, key: &str) -> Result<Option<String>, ServiceError> {
        if let Some(name) = self.store.get_meta(&reference_meta(key))? {
            return Ok(Some(name));
        }
        let Some((_, bytes)) = self.store.get_image(key)? else { return Ok(None) };
        let Some(format) = baking::detect(&bytes) else { return Ok(None) };
        let name = published_name(format, &bytes);
        durable(|| -> Result<(), ServiceError> {
            self.store.put_image(&content_key(&name), format.content_type(), &bytes)?;
            self.store.put_meta(&reference_meta(key), &name)?;
            Ok(())
        })?;
        Ok(Some(name))
    }

    /// Gives an Open Badge's achievements, and its issuer, the `image` registered for them,
    /// unless the request already names one.
    pub(super) fn add_image_references(&self, credential: &mut Value) -> Result<(), ServiceError> {
        for subject in model::subjects_mut(credential) {
            let Some(Value::Object(achievement)) = subject.get_mut("achievement") else { continue };
            if achievement.contains_key("image") {
                continue;
            }
            let Some(id) = achievement.get("id").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            if let Some(name) = self.published_reference(&id)? {
                achievement.insert("image".into(), json!({"id": self.image_url(&name), "type": "Image"}));
            }
        }
        if let Some(Value::Object(issuer)) = credential.get_mut("issuer") {
            if !issuer.contains_key("image") {
                if let Some(name) = self.published_reference(ISSUER_IMAGE)? {
                    issuer.insert("image".into(), json!({"id": self.image_url(&name), "type": "Image"}));
                }
            }
        }
        Ok(())
    }

    /// The issued credential baked into its achievement's image, else the issuer's, else a
    /// generated image showing the achievement's name. A registered PNG asked for as SVG is
    /// wrapped in one; a registered SVG asked for as PNG cannot be rasterised here, so the PNG
    /// is generated.
    pub fn baked_badge(&self, id: &str, format: ImageFormat) -> Result<Vec<u8>, ServiceError> {
        let record = self.credential(id)?;
        let secured = match &record.credential {
            Value::String(jwt) => jwt.clone(),
            other => serde_json::to_string(other).unwrap_or_default(),
        };
        let image = self.badge_image(&record, format)?;
        let (_, baked) = baking::bake(&image, &secured).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(baked)
    }

    /// The badge's picture without the credential baked in (the public page shows it, and a
    /// holder who hides their name still has a picture): the image [`Service::baked_badge`]
    /// bakes into.
    pub fn plain_badge_image(&self, id: &str, format: ImageFormat) -> Result<Vec<u8>, ServiceError> {
        self.badge_image(&self.credential(id)?, format)
    }

    fn badge_image(&self, record: &CredentialRecord, format: ImageFormat) -> Result<Vec<u8>, ServiceError> {
        let credential = crate::credential::proofs::credential_of(&record.credential);
        let achievement = credential.as_deref().and_then(model::first_achievement);
        let text = |key: &str| achievement.and_then(|a| a.get(key)).and_then(Value::as_str);
        let mut image = None;
        for key in text("id").into_iter().chain([ISSUER_IMAGE]) {
            let Some((content_type, bytes)) = self.store.get_image(key)? else { continue };
            if content_type == format.content_type() {
                image = Some(bytes);
            } else if format == ImageFormat::Svg && content_type == ImageFormat::Png.content_type() {
                image = Some(crate::credential::badge_image::svg_wrapping_png(&bytes));
            } else {
                continue;
            }
            break;
        }
        Ok(image.unwrap_or_else(|| {
            crate::credential::badge_image::generated(format, text("name").unwrap_or("Badge"))
        }))
    }
}

/// The registration key of the issuer's own image.
pub const ISSUER_IMAGE: &str = "issuer";
