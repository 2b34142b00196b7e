//! Pictures the demo needs and no one drew: standard-view photos (a soft
//! skin-toned field, different for each patient, session and view) and a
//! handwritten-looking signature. Both are real PNG files, so they go
//! through the same checks and cleaning as a camera's photo.

use image::{GrayImage, ImageFormat, Luma, Rgb, RgbImage};
use std::io::Cursor;

const PHOTO_WIDTH: u32 = 960;
const PHOTO_HEIGHT: u32 = 720;

/// A PNG standing in for a clinical photo: a skin tone from `seed`, lit
/// from one side, with a darker oval where the treated area would be.
pub fn photo(seed: u64) -> anyhow::Result<Vec<u8>> {
    let tones = [
        (224, 182, 156),
        (198, 146, 112),
        (160, 112, 82),
        (236, 200, 178),
    ];
    let (r, g, b) = tones[(seed % tones.len() as u64) as usize];
    let (cx, cy) = (
        (PHOTO_WIDTH / 2) as f32 + (seed % 97) as f32 - 48.0,
        (PHOTO_HEIGHT / 2) as f32,
    );
    let img = RgbImage::from_fn(PHOTO_WIDTH, PHOTO_HEIGHT, |x, y| {
        let light = 0.8 + 0.2 * (x as f32 / PHOTO_WIDTH as f32);
        let (dx, dy) = ((x as f32 - cx) / 260.0, (y as f32 - cy) / 320.0);
        let oval = if dx * dx + dy * dy < 1.0 { 0.9 } else { 1.0 };
        // A faint, repeatable grain so no two photos share a hash.
        let grain = ((x.wrapping_mul(31) ^ y.wrapping_mul(17) ^ seed as u32) % 7) as f32 - 3.0;
        let shade = |c: u8| (c as f32 * light * oval + grain).clamp(0.0, 255.0) as u8;
        Rgb([shade(r), shade(g), shade(b)])
    });
    let mut out = Cursor::new(vec![]);
    img.write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// A signature as the consent page's pad sends it: a PNG data URL.
pub fn signature(seed: u64) -> anyhow::Result<String> {
    let (w, h) = (420u32, 120u32);
    let mut img = GrayImage::from_pixel(w, h, Luma([255]));
    let phase = (seed % 13) as f32;
    for x in 20..w - 20 {
        let t = x as f32 / 18.0 + phase;
        let y = 60.0 + 28.0 * t.sin() * (x as f32 / 37.0).cos();
        for dy in 0..3 {
            let yy = (y as u32 + dy).min(h - 1);
            img.put_pixel(x, yy, Luma([30]));
        }
    }
    let mut out = Cursor::new(vec![]);
    img.write_to(&mut out, ImageFormat::Png)?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64(&out.into_inner())
    ))
}

/// Standard base64 with padding: enough for one data URL, not worth a crate.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        // RFC 4648, section 10.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn pictures_pass_the_photo_and_signature_checks() {
        let a = needlepoint_practice::photos::clean(&photo(1).unwrap()).unwrap();
        let b = needlepoint_practice::photos::clean(&photo(2).unwrap()).unwrap();
        assert_ne!(a.sha256, b.sha256, "each photo is its own");
        needlepoint_practice::planning::check_signature(&signature(3).unwrap()).unwrap();
    }
}
