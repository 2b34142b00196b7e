//! Clinical photos: checked to be a real JPEG or PNG of sane size, turned
//! upright, re-encoded without any metadata (EXIF, GPS, camera serials), and
//! kept content-addressed in the data folder with a thumbnail.

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// The largest upload accepted. A tablet camera's photo is 3–8 MB.
pub const MAX_BYTES: usize = 25 * 1024 * 1024;
/// The most pixels decoded (about 50 megapixels): a file declaring more is
/// refused before any memory is set aside for it (an "image bomb").
pub const MAX_PIXELS: u64 = 50_000_000;
/// The most memory one decoded photo may take: a 50-megapixel colour photo
/// (3 bytes a pixel). A small file declaring large pixels of more bytes
/// (a 7000 × 7000 PNG with transparency needs 196 MB) is refused from its
/// header, before decoding; the decoder is held to it as well.
pub const MAX_DECODE_BYTES: u64 = 150_000_000;
const THUMB_SIDE: u32 = 360;
const JPEG_QUALITY: u8 = 90;

#[derive(Debug, PartialEq, Eq)]
pub enum PhotoError {
    Empty,
    TooLarge(usize),
    NotAnImage,
    Unreadable,
    TooManyPixels(u32, u32),
    TooMuchMemory(u32, u32),
}

impl PhotoError {
    pub fn message(&self) -> String {
        match self {
            PhotoError::Empty => "Choose a photo to upload.".into(),
            PhotoError::TooLarge(n) => format!(
                "The file is {} MB; photos up to {} MB are accepted.",
                n.div_ceil(1024 * 1024),
                MAX_BYTES / (1024 * 1024)
            ),
            PhotoError::NotAnImage => {
                "That file is not a photo: upload a JPEG or PNG image.".into()
            }
            PhotoError::Unreadable => {
                "That image is damaged or incomplete and could not be read.".into()
            }
            PhotoError::TooManyPixels(w, h) => format!(
                "That image claims {w} × {h} pixels, more than any camera takes; it was not opened."
            ),
            PhotoError::TooMuchMemory(w, h) => format!(
                "That image ({w} × {h} pixels) would need more memory to open than a 50-megapixel photo; save it as a JPEG and try again."
            ),
        }
    }
}

/// A photo ready to keep: the cleaned JPEG, its thumbnail and its size.
pub struct Cleaned {
    pub jpeg: Vec<u8>,
    pub thumb: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub sha256: String,
}

fn reader(data: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, PhotoError> {
    let r = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|_| PhotoError::NotAnImage)?;
    match r.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png) => Ok(r),
        _ => Err(PhotoError::NotAnImage),
    }
}

fn encode(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let mut out = vec![];
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    // A camera's photo decodes as RGB already: encode it as it is rather
    // than copy 150 MB to convert it to itself.
    let written = match img {
        DynamicImage::ImageRgb8(rgb) => rgb.write_with_encoder(enc),
        other => other.to_rgb8().write_with_encoder(enc),
    };
    written.map_err(|_| PhotoError::Unreadable)?;
    Ok(out)
}

/// Whether a JPEG's data runs to its end-of-image marker. A file cut short
/// in transfer decodes without an error as a partly grey picture, which
/// must not be kept as a clinical photo. Walks the segments from the start
/// (so an embedded thumbnail's marker or data appended after the image, as
/// in motion photos, does not mislead it).
fn jpeg_complete(d: &[u8]) -> bool {
    if d.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return false;
    }
    let mut i = 2;
    while i + 1 < d.len() {
        if d[i] != 0xFF {
            return false;
        }
        let marker = d[i + 1];
        match marker {
            0xFF => {
                i += 1; // a fill byte before a marker
                continue;
            }
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => {
                i += 2; // markers without a length
                continue;
            }
            _ => {}
        }
        let Some(len) = d.get(i + 2..i + 4) else {
            return false;
        };
        i += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
        if marker == 0xDA {
            // The scan's coded data runs to the next marker that is not a
            // stuffed 0xFF 0x00 or a restart.
            loop {
                let (Some(&a), Some(&b)) = (d.get(i), d.get(i + 1)) else {
                    return false;
                };
                if a == 0xFF && b != 0x00 && !(0xD0..=0xD7).contains(&b) {
                    break;
                }
                i += 1;
            }
        }
    }
    false
}

/// Checks and cleans an upload.
pub fn clean(data: &[u8]) -> Result<Cleaned, PhotoError> {
    if data.is_empty() {
        return Err(PhotoError::Empty);
    }
    if data.len() > MAX_BYTES {
        return Err(PhotoError::TooLarge(data.len()));
    }
    // The header alone gives the dimensions: refuse a bomb before decoding.
    let (w, h) = reader(data)?
        .into_dimensions()
        .map_err(|_| PhotoError::Unreadable)?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(PhotoError::TooManyPixels(w, h));
    }
    let jpeg_input = reader(data)?.format() == Some(ImageFormat::Jpeg);
    if jpeg_input && !jpeg_complete(data) {
        return Err(PhotoError::Unreadable);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut decoder = reader(data)?
        .into_decoder()
        .map_err(|_| PhotoError::Unreadable)?;
    if decoder.total_bytes() > MAX_DECODE_BYTES {
        return Err(PhotoError::TooMuchMemory(w, h));
    }
    decoder
        .set_limits(limits)
        .map_err(|_| PhotoError::Unreadable)?;
    let orientation = decoder.orientation().map_err(|_| PhotoError::Unreadable)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(|_| PhotoError::Unreadable)?;
    // Cameras store the sensor's pixels plus a rotation tag; the tag goes
    // with the metadata, so the rotation is applied to the pixels.
    img.apply_orientation(orientation);
    let jpeg = encode(&img, JPEG_QUALITY)?;
    let thumb = encode(&img.thumbnail(THUMB_SIDE, THUMB_SIDE), 80)?;
    let sha256 = sha256_hex(&jpeg);
    Ok(Cleaned {
        jpeg,
        thumb,
        width: img.width(),
        height: img.height(),
        sha256,
    })
}

/// The name a photo is kept under: the SHA-256 of its cleaned bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a photo (or its thumbnail) lives: `photos/ab/abcdef….jpg`.
pub fn path(data_dir: &Path, sha256: &str, thumb: bool) -> PathBuf {
    let name = if thumb {
        format!("{sha256}.thumb.jpg")
    } else {
        format!("{sha256}.jpg")
    };
    data_dir
        .join("photos")
        .join(sha256.get(..2).unwrap_or("00"))
        .join(name)
}

/// Checks, cleans and keeps an upload in `data_dir`, one photo at a time:
/// each decode may take up to [`MAX_DECODE_BYTES`], and eight uploads at
/// once must not take eight times that (the others wait their turn).
/// Decoding is CPU work, kept off the threads serving requests.
pub async fn clean_and_keep(data_dir: &Path, data: Vec<u8>) -> crate::Result<Cleaned> {
    static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    let failed =
        |e: String| crate::Error::refused(format!("The photo could not be processed: {e}"));
    let _turn = DECODING
        .acquire()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let c = clean(&data)?;
        keep(&dir, &c).map_err(|e| {
            tracing::error!(error = %e, "could not write a photo");
            PhotoError::Unreadable
        })?;
        Ok::<_, PhotoError>(c)
    })
    .await
    .map_err(|e| failed(e.to_string()))?
    .map_err(|e| crate::Error::invalid("photo", e.message()))
}

/// Writes the photo and its thumbnail unless the same content is already
/// kept; each file is written whole, then renamed into place.
pub fn keep(data_dir: &Path, c: &Cleaned) -> std::io::Result<()> {
    for (bytes, thumb) in [(&c.jpeg, false), (&c.thumb, true)] {
        let p = path(data_dir, &c.sha256, thumb);
        if p.exists() {
            continue;
        }
        if let Some(dir) = p.parent() {
            needlepoint_store::files::private_dir(dir)?;
        }
        let tmp = p.with_extension("part");
        needlepoint_store::files::write_private(&tmp, bytes)?;
        std::fs::rename(&tmp, &p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(format: ImageFormat, w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
        });
        let mut out = Cursor::new(vec![]);
        DynamicImage::ImageRgb8(img)
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    /// A photo cut short in transfer is refused, not kept half grey; a
    /// whole one, or one with data after its end (a motion photo), is kept.
    #[test]
    fn truncated_photos_are_refused() {
        let jpeg = sample(ImageFormat::Jpeg, 300, 200);
        assert!(jpeg_complete(&jpeg));
        for cut in [jpeg.len() / 2, jpeg.len() - 2, 10] {
            assert!(!jpeg_complete(&jpeg[..cut]), "cut at {cut}");
            assert_eq!(
                clean(&jpeg[..cut]).err(),
                Some(PhotoError::Unreadable),
                "cut at {cut}"
            );
        }
        let mut motion = jpeg.clone();
        motion.extend_from_slice(b"\0\0\0\x18ftypmp42 and a video after the image");
        assert!(clean(&motion).is_ok());
        assert!(clean(&jpeg).is_ok());
        let png = sample(ImageFormat::Png, 300, 200);
        assert_eq!(
            clean(&png[..png.len() / 2]).err(),
            Some(PhotoError::Unreadable)
        );
    }

    /// A small PNG declaring 7000 × 7000 pixels with transparency would need
    /// 196 MB: refused from its header, before any of it is decoded.
    #[test]
    fn a_photo_needing_too_much_memory_is_refused_before_decoding() {
        // A real 16 × 16 PNG with transparency whose header then claims
        // 7000 × 7000 (with the header's checksum fixed to match).
        let mut out = Cursor::new(vec![]);
        let mut enc = png::Encoder::new(&mut out, 16, 16);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()
            .unwrap()
            .write_image_data(&[7u8; 16 * 16 * 4])
            .unwrap();
        let mut bytes = out.into_inner();
        // Signature (8), then IHDR: length (4), type (4), width, height…
        bytes[16..20].copy_from_slice(&7000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&7000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(bytes.len() < 1000, "a small file: {}", bytes.len());
        assert_eq!(
            clean(&bytes).err(),
            Some(PhotoError::TooMuchMemory(7000, 7000))
        );
    }

    /// CRC-32 as PNG chunks use it.
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
}
