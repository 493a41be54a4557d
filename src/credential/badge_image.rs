//! Generated badge images, for badges whose achievement and issuer have no registered image: a
//! medal with the achievement's name on it, so a learner's baked badge is recognisable rather
//! than a blank circle. PNGs are drawn with an 8x8 bitmap font (Basic Latin and Latin-1; other
//! characters show as `?`); SVGs carry the name as text, XML-escaped, with a `<title>`.
//! Also wraps a registered PNG in an SVG, for a `badge.svg` asked of a PNG-only achievement.

use super::baking::ImageFormat;

/// Side of a generated image, in pixels.
pub const SIZE: u32 = 256;
/// Lines of the name written on the medal; more are cut with `...`.
const MAX_LINES: usize = 4;
/// Characters per line in the PNG (16 px each at scale 2, within the inner disc).
const PNG_LINE_CHARS: usize = 12;
/// Characters per line in the SVG (22 px sans-serif is narrower than the bitmap font).
const SVG_LINE_CHARS: usize = 16;

/// Ring, disc and text colours; one is picked per name so a catalog's badges differ.
const PALETTES: [([u8; 3], [u8; 3], [u8; 3]); 4] = [
    ([0xc9, 0xa2, 0x27], [0x2e, 0x7d, 0x32], [0xff, 0xff, 0xff]),
    ([0xb0, 0xbe, 0xc5], [0x1a, 0x4f, 0x8b], [0xff, 0xff, 0xff]),
    ([0xcd, 0x7f, 0x32], [0x5d, 0x2e, 0x8c], [0xff, 0xff, 0xff]),
    ([0xc9, 0xa2, 0x27], [0x8b, 0x1a, 0x1a], [0xff, 0xff, 0xff]),
];

/// A badge image in `format` showing `title` (the achievement's name).
pub fn generated(format: ImageFormat, title: &str) -> Vec<u8> {
    match format {
        ImageFormat::Png => png(title),
        ImageFormat::Svg => svg(title).into_bytes(),
    }
}

/// The generated image with no name to show (for tools and tests that bake their own badge).
pub fn default_image(format: ImageFormat) -> Vec<u8> {
    generated(format, "Badge")
}

/// An SVG that shows `png` (a registered PNG image) at its own size.
pub fn svg_wrapping_png(png: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let (width, height) = png_size(png).unwrap_or((SIZE, SIZE));
    let data = base64::engine::general_purpose::STANDARD.encode(png);
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><image width="{width}" height="{height}" href="data:image/png;base64,{data}" xlink:href="data:image/png;base64,{data}"/></svg>"#
    )
    .into_bytes()
}

/// Width and height from a PNG's header.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    let reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().ok()?;
    Some((reader.info().width, reader.info().height))
}

fn palette(title: &str) -> ([u8; 3], [u8; 3], [u8; 3]) {
    let sum = title.bytes().fold(0u32, |acc, b| acc.wrapping_mul(31).wrapping_add(u32::from(b)));
    PALETTES[sum as usize % PALETTES.len()]
}

/// The name as display text: control characters (and the non-characters XML forbids) made spaces, whitespace runs made one space.
fn display_text(title: &str) -> String {
    let cleaned: String = title
        .chars()
        .map(|c| if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') { ' ' } else { c })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    if words.is_empty() {
        "Badge".to_string()
    } else {
        words.join(" ")
    }
}

/// Greedy word wrap into at most [`MAX_LINES`] lines of `width` characters; an over-long word
/// is split, and what does not fit ends the last line with `...`.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut truncated = false;
    'words: for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = current.chars().count();
            let room = if used == 0 { width } else { width.saturating_sub(used + 1) };
            if word.len() <= room {
                if used > 0 {
                    current.push(' ');
                }
                current.extend(word.iter());
                break;
            }
            if used == 0 {
                // A word longer than a line: split it.
                current.extend(word[..width].iter());
                word.drain(..width);
            }
            lines.push(std::mem::take(&mut current));
            if lines.len() == MAX_LINES {
                truncated = true;
                break 'words;
            }
        }
    }
    if !current.is_empty() && lines.len() < MAX_LINES {
        lines.push(current);
    } else if !current.is_empty() {
        truncated = true;
    }
    if truncated {
        if let Some(last) = lines.last_mut() {
            let kept: String = last.chars().take(width.saturating_sub(3)).collect();
            *last = format!("{}...", kept.trim_end());
        }
    }
    lines
}

fn svg(title: &str) -> String {
    let (ring, disc, ink) = palette(title);
    let text = display_text(title);
    let lines = wrap(&text, SVG_LINE_CHARS);
    let line_height = 26.0;
    let first = 128.0 - line_height * (lines.len() as f32 - 1.0) / 2.0 + 8.0;
    let mut spans = String::new();
    for (n, line) in lines.iter().enumerate() {
        spans.push_str(&format!(
            r#"<tspan x="128" y="{:.0}">{}</tspan>"#,
            first + line_height * n as f32,
            xml_escape(line)
        ));
    }
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 256 256" role="img"><title>{}</title><circle cx="128" cy="128" r="124" fill="{}"/><circle cx="128" cy="128" r="112" fill="{}"/><text font-family="DejaVu Sans, Verdana, sans-serif" font-size="22" font-weight="bold" fill="{}" text-anchor="middle">{spans}</text></svg>"##,
        xml_escape(&text),
        hex(ring),
        hex(disc),
        hex(ink)
    )
}

fn hex(rgb: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2])
}

/// Escapes text for XML content and attribute values: quick-xml's escaping, as the baking
/// code uses; [`display_text`] has already replaced the control characters XML forbids.
fn xml_escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

/// The 8x8 glyph of `c`: row bytes, bit 0 the leftmost pixel.
fn glyph(c: char) -> [u8; 8] {
    let code = c as u32;
    match code {
        0x20..=0x7e => font8x8::legacy::BASIC_LEGACY[code as usize],
        0xa0..=0xff => font8x8::legacy::LATIN_LEGACY[(code - 0xa0) as usize],
        _ => font8x8::legacy::BASIC_LEGACY[b'?' as usize],
    }
}

fn png(title: &str) -> Vec<u8> {
    let (ring, disc, ink) = palette(title);
    let size = SIZE as usize;
    let mut pixels = vec![0u8; size * size * 4];
    let center = (SIZE as f32 - 1.0) / 2.0;
    for y in 0..size {
        for x in 0..size {
            let d = ((x as f32 - center).powi(2) + (y as f32 - center).powi(2)).sqrt();
            let colour = if d < 112.0 {
                Some(disc)
            } else if d < 124.0 {
                Some(ring)
            } else {
                None
            };
            if let Some([r, g, b]) = colour {
                pixels[(y * size + x) * 4..][..4].copy_from_slice(&[r, g, b, 0xff]);
            }
        }
    }
    const SCALE: usize = 2;
    const CELL: usize = 8 * SCALE;
    const LINE: usize = CELL + 6;
    let lines = wrap(&display_text(title), PNG_LINE_CHARS);
    let block = LINE * lines.len() - 6;
    let top = (size - block) / 2;
    for (n, line) in lines.iter().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let left = (size - chars.len() * CELL) / 2;
        for (i, c) in chars.iter().enumerate() {
            for (row, bits) in glyph(*c).iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) == 0 {
                        continue;
                    }
                    for dy in 0..SCALE {
                        for dx in 0..SCALE {
                            let x = left + i * CELL + col * SCALE + dx;
                            let y = top + n * LINE + row * SCALE + dy;
                            pixels[(y * size + x) * 4..][..4]
                                .copy_from_slice(&[ink[0], ink[1], ink[2], 0xff]);
                        }
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, SIZE, SIZE);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let written = encoder.write_header().and_then(|mut w| w.write_image_data(&pixels));
    debug_assert!(written.is_ok(), "encoding a fixed-size RGBA image into memory cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_wrap_into_lines_and_long_ones_are_cut() {
        assert_eq!(wrap("Rust 101", 12), ["Rust 101"]);
        assert_eq!(wrap("Introduction to Programming", 12), ["Introduction", "to", "Programming"]);
        assert_eq!(wrap("Supercalifragilistic", 12), ["Supercalifra", "gilistic"]);
        let long = wrap(&"word ".repeat(40), 12);
        assert_eq!(long.len(), MAX_LINES);
        assert!(long[3].ends_with("...") && long[3].chars().count() <= 12, "{long:?}");
        assert_eq!(display_text(" \u{7}  "), "Badge");
    }

    #[test]
    fn the_svg_escapes_the_name_and_shows_it() {
        let svg =
            String::from_utf8(generated(ImageFormat::Svg, "<script>alert(1)</script> & \"Co\"")).unwrap();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;") && svg.contains("&amp;") && svg.contains("&quot;Co&quot;"));
        // Well-formed: quick-xml reads it to the end.
        let mut reader = quick_xml::Reader::from_str(&svg);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("{e}: {svg}"),
            }
        }
        assert!(String::from_utf8(generated(ImageFormat::Svg, "Rust 101")).unwrap().contains(">Rust 101<"));
    }

    #[test]
    fn the_png_draws_the_name() {
        let decode = |bytes: Vec<u8>| {
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            let mut reader = decoder.read_info().unwrap();
            let mut buffer = vec![0; reader.output_buffer_size()];
            let info = reader.next_frame(&mut buffer).unwrap();
            assert_eq!((info.width, info.height), (SIZE, SIZE));
            buffer
        };
        let white = |pixels: &[u8]| pixels.chunks(4).filter(|p| p == &[0xff, 0xff, 0xff, 0xff]).count();
        let one = decode(generated(ImageFormat::Png, "I"));
        let many = decode(generated(ImageFormat::Png, "Rust 101 Ünïcödé"));
        assert!(white(&one) > 0 && white(&many) > white(&one) * 5);
        assert_ne!(
            decode(generated(ImageFormat::Png, "Rust 101")),
            decode(generated(ImageFormat::Png, "Rust 102"))
        );
    }

    #[test]
    fn a_png_is_wrapped_at_its_own_size() {
        let png = generated(ImageFormat::Png, "x");
        let svg = String::from_utf8(svg_wrapping_png(&png)).unwrap();
        assert!(svg.contains(r#"width="256""#) && svg.contains("data:image/png;base64,iVBOR"));
    }
}
