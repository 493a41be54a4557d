//! Baked badges (OB 3.0 §5.3): a credential inside a PNG (`iTXt` chunk `openbadgecredential`)
//! or an SVG (`<openbadges:credential>`), baked and extracted with hard limits on hostile files.

use std::io::Read;

use quick_xml::events::{BytesCData, BytesEnd, BytesStart, Event};
use quick_xml::name::ResolveResult;

pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
pub const PNG_KEYWORD: &str = "openbadgecredential";
pub const OB_NAMESPACE: &str = "https://purl.imsglobal.org/ob/v3p0";
/// Largest image accepted for baking or extraction.
pub const MAX_IMAGE_BYTES: usize = 8 << 20;
/// Largest credential text carried in an image.
pub const MAX_CREDENTIAL_BYTES: usize = 1 << 20;
const MAX_PNG_CHUNKS: usize = 4096;
const MAX_SVG_EVENTS: usize = 200_000;
/// Namespace declarations in scope at once. quick-xml resolves a prefix by scanning the bindings
/// in scope, so without a bound a file of declarations followed by elements costs their product.
/// Real SVGs declare a handful (svg, xlink, an editor's few).
const MAX_SVG_NAMESPACE_BINDINGS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BakeError {
    #[error("the image is {0} bytes; the limit is {MAX_IMAGE_BYTES}")]
    TooLarge(usize),
    #[error("not a PNG or SVG image")]
    UnknownFormat,
    #[error("invalid PNG: {0}")]
    Png(String),
    #[error("invalid SVG: {0}")]
    Svg(String),
    #[error("the image has no baked credential")]
    NoCredential,
    #[error("the image already carries a credential; refusing to bake a second one")]
    AlreadyBaked,
    #[error("the baked credential is larger than {MAX_CREDENTIAL_BYTES} bytes")]
    CredentialTooLarge,
    #[error("the image carries more than one baked credential ({0}); exactly one is allowed, as which one was meant is ambiguous")]
    SeveralCredentials(String),
}

/// Image formats that can carry a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Svg => "image/svg+xml",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Svg => "svg",
        }
    }
}

/// Detects the format from the content (never from a file name).
pub fn detect(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&PNG_SIGNATURE) {
        return Some(ImageFormat::Png);
    }
    let head = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    (text.starts_with('<') && text.contains("<svg")).then_some(ImageFormat::Svg)
}

/// What was found in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub format: ImageFormat,
    /// The credential: JSON text or a compact JWT.
    pub credential: String,
}

/// Extracts the baked credential of a PNG or SVG; an image with several is refused. At most
/// `MAX_CREDENTIAL_BYTES` are ever decompressed or copied out of one image.
pub fn extract(image: &[u8]) -> Result<Extracted, BakeError> {
    if image.len() > MAX_IMAGE_BYTES {
        return Err(BakeError::TooLarge(image.len()));
    }
    match detect(image) {
        Some(ImageFormat::Png) => extract_png(image),
        Some(ImageFormat::Svg) => extract_svg(image),
        None => Err(BakeError::UnknownFormat),
    }
}

/// Bakes `credential` (JSON text or a JWT) into a PNG or SVG.
pub fn bake(image: &[u8], credential: &str) -> Result<(ImageFormat, Vec<u8>), BakeError> {
    if image.len() > MAX_IMAGE_BYTES {
        return Err(BakeError::TooLarge(image.len()));
    }
    if credential.len() > MAX_CREDENTIAL_BYTES {
        return Err(BakeError::CredentialTooLarge);
    }
    match detect(image) {
        Some(ImageFormat::Png) => Ok((ImageFormat::Png, bake_png(image, credential)?)),
        Some(ImageFormat::Svg) => Ok((ImageFormat::Svg, bake_svg(image, credential)?)),
        None => Err(BakeError::UnknownFormat),
    }
}

struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
    /// The whole chunk as it appears in the file (length, type, data, CRC).
    raw: &'a [u8],
}

/// Splits a PNG into chunks, checking lengths, CRCs and the chunk count.
fn png_chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, BakeError> {
    if !png.starts_with(&PNG_SIGNATURE) {
        return Err(BakeError::Png("missing the PNG signature".into()));
    }
    let mut chunks = Vec::new();
    let mut at = PNG_SIGNATURE.len();
    loop {
        if chunks.len() >= MAX_PNG_CHUNKS {
            return Err(BakeError::Png(format!("more than {MAX_PNG_CHUNKS} chunks")));
        }
        if at + 12 > png.len() {
            return Err(BakeError::Png("truncated: a chunk header is cut off (no IEND)".into()));
        }
        let length = u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes")) as usize;
        if length > (1 << 31) || at + 12 + length > png.len() {
            return Err(BakeError::Png(format!(
                "truncated: a chunk claims {length} bytes past the end of the file"
            )));
        }
        let kind: [u8; 4] = png[at + 4..at + 8].try_into().expect("4 bytes");
        let data = &png[at + 8..at + 8 + length];
        let stored_crc =
            u32::from_be_bytes(png[at + 8 + length..at + 12 + length].try_into().expect("4 bytes"));
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&kind);
        hasher.update(data);
        if hasher.finalize() != stored_crc {
            return Err(BakeError::Png(format!(
                "CRC mismatch in the {} chunk",
                String::from_utf8_lossy(&kind)
            )));
        }
        chunks.push(Chunk { kind, data, raw: &png[at..at + 12 + length] });
        at += 12 + length;
        if &kind == b"IEND" {
            return Ok(chunks);
        }
    }
}

fn is_credential_chunk(chunk: &Chunk) -> bool {
    &chunk.kind == b"iTXt"
        && chunk.data.starts_with(PNG_KEYWORD.as_bytes())
        && chunk.data.get(PNG_KEYWORD.len()) == Some(&0)
}

/// Parses an iTXt chunk's text, decompressing when flagged. The zlib stream is read through a
/// `take` of one byte past the cap, so a bomb stops after `MAX_CREDENTIAL_BYTES` whatever it
/// claims to expand to.
fn parse_itxt(data: &[u8]) -> Result<String, BakeError> {
    let bad = |why: &str| BakeError::Png(format!("malformed iTXt chunk: {why}"));
    let keyword_end = data.iter().position(|&b| b == 0).ok_or_else(|| bad("no keyword terminator"))?;
    let rest = data.get(keyword_end + 1..).ok_or_else(|| bad("truncated"))?;
    let (&compressed, rest) = rest.split_first().ok_or_else(|| bad("no compression flag"))?;
    let (&method, rest) = rest.split_first().ok_or_else(|| bad("no compression method"))?;
    let language_end = rest.iter().position(|&b| b == 0).ok_or_else(|| bad("no language terminator"))?;
    let rest = &rest[language_end + 1..];
    let translated_end =
        rest.iter().position(|&b| b == 0).ok_or_else(|| bad("no translated keyword terminator"))?;
    let text_bytes = &rest[translated_end + 1..];
    let text = match (compressed, method) {
        (0, _) => {
            if text_bytes.len() > MAX_CREDENTIAL_BYTES {
                return Err(BakeError::CredentialTooLarge);
            }
            text_bytes.to_vec()
        }
        (1, 0) => {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(text_bytes)
                .take(MAX_CREDENTIAL_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| bad(&format!("bad zlib data: {e}")))?;
            if out.len() > MAX_CREDENTIAL_BYTES {
                return Err(BakeError::CredentialTooLarge);
            }
            out
        }
        (1, other) => return Err(bad(&format!("unknown compression method {other}"))),
        (other, _) => return Err(bad(&format!("compression flag {other} is neither 0 nor 1"))),
    };
    String::from_utf8(text).map_err(|_| bad("text is not UTF-8"))
}

fn extract_png(png: &[u8]) -> Result<Extracted, BakeError> {
    // Counted before anything is decompressed: thousands of small chunks that each inflate to
    // the cap would otherwise cost thousands of times the cap.
    let chunks = png_chunks(png)?;
    let mut credentials = chunks.iter().filter(|c| is_credential_chunk(c));
    let chunk = credentials.next().ok_or(BakeError::NoCredential)?;
    let others = credentials.count();
    if others > 0 {
        return Err(BakeError::SeveralCredentials(format!("{} {PNG_KEYWORD} iTXt chunks", others + 1)));
    }
    let credential = parse_itxt(chunk.data)?;
    Ok(Extracted { format: ImageFormat::Png, credential: credential.trim().to_string() })
}

fn bake_png(png: &[u8], credential: &str) -> Result<Vec<u8>, BakeError> {
    let chunks = png_chunks(png)?;
    if chunks.iter().any(is_credential_chunk) {
        return Err(BakeError::AlreadyBaked);
    }
    if chunks.first().map(|c| &c.kind) != Some(b"IHDR") {
        return Err(BakeError::Png("the first chunk is not IHDR".into()));
    }
    // keyword \0, compression flag 0 (uncompressed), method 0, empty language \0, empty translated keyword \0, text
    let mut data = Vec::with_capacity(credential.len() + 32);
    data.extend_from_slice(PNG_KEYWORD.as_bytes());
    data.extend_from_slice(&[0, 0, 0, 0, 0]);
    data.extend_from_slice(credential.as_bytes());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(b"iTXt");
    hasher.update(&data);
    let crc = hasher.finalize();
    let mut out = Vec::with_capacity(png.len() + data.len() + 12);
    out.extend_from_slice(&PNG_SIGNATURE);
    for (i, chunk) in chunks.iter().enumerate() {
        out.extend_from_slice(chunk.raw);
        if i == 0 {
            // Right after IHDR: before any IDAT, as text chunks may be anywhere before IEND.
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(b"iTXt");
            out.extend_from_slice(&data);
            out.extend_from_slice(&crc.to_be_bytes());
        }
    }
    Ok(out)
}

fn svg_text(svg: &[u8]) -> Result<&str, BakeError> {
    std::str::from_utf8(svg).map_err(|_| BakeError::Svg("not UTF-8".into()))
}

fn is_credential_element(reader: &quick_xml::NsReader<&[u8]>, name: quick_xml::name::QName) -> bool {
    // The local name first: resolving the prefix scans the bindings in scope.
    name.local_name().as_ref() == b"credential"
        && matches!(reader.resolve_element(name).0, ResolveResult::Bound(ns) if ns.as_ref() == OB_NAMESPACE.as_bytes())
}

/// Namespace declarations (`xmlns`, `xmlns:p`) on one element, counted up to `limit + 1`.
/// Attributes are parsed only when their text mentions `xmlns` at all, and without the
/// duplicate check (quadratic in the attribute count).
fn namespace_declarations(element: &BytesStart, limit: usize) -> usize {
    let mentions_xmlns = std::str::from_utf8(element.attributes_raw()).map_or(true, |t| t.contains("xmlns"));
    if !mentions_xmlns {
        return 0;
    }
    element
        .attributes()
        .with_checks(false)
        .flatten()
        .filter(|a| a.key.as_ref() == b"xmlns" || a.key.as_ref().starts_with(b"xmlns:"))
        .take(limit + 1)
        .count()
}

fn xml_error(e: impl std::fmt::Display) -> BakeError {
    BakeError::Svg(e.to_string())
}

/// A plain `<!DOCTYPE svg PUBLIC ...>` is harmless (it is never fetched); an internal subset can
/// declare entities (billion laughs, external entities), so it is refused.
fn check_doctype(doctype: &quick_xml::events::BytesText) -> Result<(), BakeError> {
    if doctype.contains(&b'[') || doctype.windows(6).any(|w| w.eq_ignore_ascii_case(b"ENTITY")) {
        return Err(BakeError::Svg(
            "a DOCTYPE with an internal subset is not allowed (no entity declarations)".into(),
        ));
    }
    Ok(())
}

fn extract_svg(svg: &[u8]) -> Result<Extracted, BakeError> {
    let mut reader = quick_xml::NsReader::from_str(svg_text(svg)?);
    let mut found: Option<String> = None;
    let mut inside: Option<String> = None;
    // Namespace declarations of each open element, to bound the bindings in scope.
    let mut declared: Vec<usize> = Vec::new();
    let mut in_scope = 0usize;
    for _ in 0..MAX_SVG_EVENTS {
        let event = reader.read_event().map_err(xml_error)?;
        match event {
            Event::DocType(ref doctype) => check_doctype(doctype)?,
            Event::Start(ref e) | Event::Empty(ref e) => {
                let declarations = namespace_declarations(e, MAX_SVG_NAMESPACE_BINDINGS - in_scope);
                if in_scope + declarations > MAX_SVG_NAMESPACE_BINDINGS {
                    return Err(BakeError::Svg(format!(
                        "more than {MAX_SVG_NAMESPACE_BINDINGS} XML namespace declarations in scope"
                    )));
                }
                if matches!(event, Event::Start(_)) {
                    declared.push(declarations);
                    in_scope += declarations;
                }
                if !is_credential_element(&reader, e.name()) {
                    continue;
                }
                if found.is_some() || inside.is_some() {
                    return Err(BakeError::SeveralCredentials(
                        "several openbadges:credential elements".into(),
                    ));
                }
                let verify = e
                    .try_get_attribute("verify")
                    .map_err(xml_error)?
                    .map(|a| a.unescape_value().map(|v| v.into_owned()))
                    .transpose()
                    .map_err(xml_error)?;
                match verify {
                    Some(jwt) if jwt.len() > MAX_CREDENTIAL_BYTES => {
                        return Err(BakeError::CredentialTooLarge)
                    }
                    Some(jwt) => found = Some(jwt),
                    None if matches!(event, Event::Start(_)) => inside = Some(String::new()),
                    None => found = Some(String::new()),
                }
            }
            Event::CData(ref data) if inside.is_some() => {
                let text = std::str::from_utf8(data).map_err(xml_error)?;
                let buffer = inside.as_mut().expect("checked");
                if buffer.len() + text.len() > MAX_CREDENTIAL_BYTES {
                    return Err(BakeError::CredentialTooLarge);
                }
                buffer.push_str(text);
            }
            Event::Text(ref text) if inside.is_some() => {
                let text = text.unescape().map_err(xml_error)?;
                let buffer = inside.as_mut().expect("checked");
                if buffer.len() + text.len() > MAX_CREDENTIAL_BYTES {
                    return Err(BakeError::CredentialTooLarge);
                }
                buffer.push_str(&text);
            }
            Event::End(ref e) => {
                in_scope -= declared.pop().unwrap_or(0);
                if inside.is_some() && is_credential_element(&reader, e.name()) {
                    found = inside.take();
                }
            }
            Event::Eof => {
                return match found {
                    None => Err(BakeError::NoCredential),
                    Some(c) if c.trim().is_empty() => {
                        Err(BakeError::Svg("the openbadges:credential element is empty".into()))
                    }
                    Some(c) => Ok(Extracted { format: ImageFormat::Svg, credential: c.trim().to_string() }),
                };
            }
            _ => {}
        }
    }
    Err(BakeError::Svg(format!("more than {MAX_SVG_EVENTS} XML events")))
}

fn bake_svg(svg: &[u8], credential: &str) -> Result<Vec<u8>, BakeError> {
    match extract_svg(svg) {
        Err(BakeError::NoCredential) => {}
        Ok(_) | Err(BakeError::SeveralCredentials(_)) => return Err(BakeError::AlreadyBaked),
        Err(other) => return Err(other),
    }
    let text = svg_text(svg)?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(svg.len() + credential.len() + 256));
    let mut baked = false;
    let is_jwt = !credential.trim_start().starts_with('{');
    for _ in 0..MAX_SVG_EVENTS {
        let event = reader.read_event().map_err(xml_error)?;
        match event {
            Event::DocType(ref doctype) => {
                check_doctype(doctype)?;
                writer.write_event(Event::DocType(doctype.clone())).map_err(xml_error)?;
            }
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) if !baked => {
                let mut root = e.to_owned();
                let has_ns = e.attributes().flatten().any(|a| a.key.as_ref() == b"xmlns:openbadges");
                if !has_ns {
                    root.push_attribute(("xmlns:openbadges", OB_NAMESPACE));
                }
                writer.write_event(Event::Start(root.borrow())).map_err(xml_error)?;
                let mut element = BytesStart::new("openbadges:credential");
                if is_jwt {
                    element.push_attribute(("verify", credential.trim()));
                    writer.write_event(Event::Empty(element)).map_err(xml_error)?;
                } else {
                    writer.write_event(Event::Start(element)).map_err(xml_error)?;
                    // "]]>" cannot appear inside CDATA: end the section between "]]" and ">".
                    let parts: Vec<&str> = credential.split("]]>").collect();
                    for (i, part) in parts.iter().enumerate() {
                        let mut section = String::new();
                        if i > 0 {
                            section.push('>');
                        }
                        section.push_str(part);
                        if i + 1 < parts.len() {
                            section.push_str("]]");
                        }
                        writer.write_event(Event::CData(BytesCData::new(section))).map_err(xml_error)?;
                    }
                    writer
                        .write_event(Event::End(BytesEnd::new("openbadges:credential")))
                        .map_err(xml_error)?;
                }
                if matches!(event, Event::Empty(_)) {
                    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    writer.write_event(Event::End(BytesEnd::new(name))).map_err(xml_error)?;
                }
                baked = true;
            }
            other => writer.write_event(other).map_err(xml_error)?,
        }
    }
    if !baked {
        return Err(BakeError::Svg("no root element".into()));
    }
    Ok(writer.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn tiny_png() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, 2, 2);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[255u8; 16]).unwrap();
        }
        out
    }

    #[test]
    fn png_round_trip_keeps_the_image_decodable() {
        let png_bytes = tiny_png();
        let baked = bake_png(&png_bytes, "{\"a\":1}").unwrap();
        let decoder = png::Decoder::new(baked.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buffer).unwrap();
        assert_eq!(&buffer[..16], &[255u8; 16]);
        assert_eq!(extract(&baked).unwrap().credential, "{\"a\":1}");
        assert_eq!(bake_png(&baked, "x"), Err(BakeError::AlreadyBaked));
    }

    #[test]
    fn svg_round_trip_both_forms() {
        let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>"#;
        let json = r#"{"name":"a]]>b"}"#;
        let baked = bake_svg(svg, json).unwrap();
        assert_eq!(extract(&baked).unwrap().credential, json);
        let baked = bake_svg(svg, "eyJ.eyJ.sig").unwrap();
        assert_eq!(extract(&baked).unwrap().credential, "eyJ.eyJ.sig");
        let self_closing = br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#;
        assert_eq!(extract(&bake_svg(self_closing, "{}").unwrap()).unwrap().credential, "{}");
    }

    #[test]
    fn hostile_images_are_clear_errors() {
        let png_bytes = tiny_png();
        assert!(
            matches!(extract(&png_bytes[..png_bytes.len() - 5]), Err(BakeError::Png(m)) if m.contains("truncated"))
        );
        let mut bad_crc = png_bytes.clone();
        let last = bad_crc.len() - 1;
        bad_crc[last] ^= 0xff;
        assert!(matches!(extract(&bad_crc), Err(BakeError::Png(m)) if m.contains("CRC")));
        let billion_laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><svg xmlns="http://www.w3.org/2000/svg">&lol2;</svg>"#;
        assert!(matches!(extract(billion_laughs), Err(BakeError::Svg(m)) if m.contains("DOCTYPE")));
        let external = br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&xxe;</svg>"#;
        assert!(matches!(extract(external), Err(BakeError::Svg(_))));
        assert!(matches!(bake(external, "{}"), Err(BakeError::Svg(_))));
        assert_eq!(extract(b"GIF89a"), Err(BakeError::UnknownFormat));
    }

    fn itxt_chunk(text: &[u8]) -> Vec<u8> {
        let mut data = b"openbadgecredential\0\x01\x00\0\0".to_vec();
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, text).unwrap();
        data.extend_from_slice(&encoder.finish().unwrap());
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(b"iTXt");
        chunk.extend_from_slice(&data);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(b"iTXt");
        hasher.update(&data);
        chunk.extend_from_slice(&hasher.finalize().to_be_bytes());
        chunk
    }

    #[test]
    fn several_png_credentials_are_refused_before_any_is_inflated() {
        let image = tiny_png();
        // Refused from the chunk count alone: none of the three is inflated.
        let bomb = itxt_chunk(&vec![0u8; 1 << 20]);
        let mut png_bytes = image[..33].to_vec();
        for _ in 0..3 {
            png_bytes.extend_from_slice(&bomb);
        }
        png_bytes.extend_from_slice(&image[33..]);
        assert!(matches!(extract(&png_bytes), Err(BakeError::SeveralCredentials(m)) if m.starts_with("3 ")));
        assert_eq!(bake(&png_bytes, "{}"), Err(BakeError::AlreadyBaked));
        // One compressed credential still extracts.
        let mut one = image[..33].to_vec();
        one.extend_from_slice(&itxt_chunk(b" {\"a\":1} "));
        one.extend_from_slice(&image[33..]);
        assert_eq!(extract(&one).unwrap().credential, "{\"a\":1}");
    }

    #[test]
    fn several_or_nested_svg_credentials_are_refused() {
        let head = r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">"#;
        let two = format!("{head}<openbadges:credential verify=\"a.b.c\"/><openbadges:credential>{{}}</openbadges:credential></svg>");
        assert!(matches!(extract(two.as_bytes()), Err(BakeError::SeveralCredentials(_))));
        assert_eq!(bake(two.as_bytes(), "{}"), Err(BakeError::AlreadyBaked));
        let nested = format!(
            "{head}<openbadges:credential><openbadges:credential>{{}}</openbadges:credential></openbadges:credential></svg>"
        );
        assert!(matches!(extract(nested.as_bytes()), Err(BakeError::SeveralCredentials(_))));
        // Another namespace's <credential> is not a credential; the default namespace can be OB's.
        let other = format!("{head}<credential>{{}}</credential><openbadges:credential>{{\"a\":1}}</openbadges:credential></svg>");
        assert_eq!(extract(other.as_bytes()).unwrap().credential, "{\"a\":1}");
        let default_ns = r#"<svg xmlns="http://www.w3.org/2000/svg"><g xmlns="https://purl.imsglobal.org/ob/v3p0"><credential>{}</credential></g></svg>"#;
        assert_eq!(extract(default_ns.as_bytes()).unwrap().credential, "{}");
        let empty = format!("{head}<openbadges:credential> </openbadges:credential></svg>");
        assert!(matches!(extract(empty.as_bytes()), Err(BakeError::Svg(m)) if m.contains("empty")));
    }

    #[test]
    fn svg_namespace_declarations_in_scope_are_bounded() {
        let declarations: String =
            (0..MAX_SVG_NAMESPACE_BINDINGS).map(|i| format!(r#" xmlns:p{i}="u""#)).collect();
        // The limit itself is fine (the svg's own default namespace makes one more: refused).
        let at_limit = format!("<svg{declarations}><a/></svg>");
        assert_eq!(extract(at_limit.as_bytes()), Err(BakeError::NoCredential));
        let over = format!(r#"<svg xmlns="http://www.w3.org/2000/svg"{declarations}><a/></svg>"#);
        assert!(
            matches!(extract(over.as_bytes()), Err(BakeError::Svg(m)) if m.contains("namespace declarations"))
        );
        // Declarations of closed siblings are out of scope again.
        let siblings: String = (0..200).map(|i| format!(r#"<g xmlns:q{i}="u"><a/></g>"#)).collect();
        let siblings = format!(r#"<svg xmlns="http://www.w3.org/2000/svg">{siblings}</svg>"#);
        assert_eq!(extract(siblings.as_bytes()), Err(BakeError::NoCredential));
    }
}
