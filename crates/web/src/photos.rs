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
const THUMB_SIDE: u32 = 360;
const JPEG_QUALITY: u8 = 90;

#[derive(Debug, PartialEq, Eq)]
pub enum PhotoError {
    Empty,
    TooLarge(usize),
    NotAnImage,
    Unreadable,
    TooManyPixels(u32, u32),
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
    img.to_rgb8()
        .write_with_encoder(enc)
        .map_err(|_| PhotoError::Unreadable)?;
    Ok(out)
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
    let mut limits = Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    let mut decoder = reader(data)?
        .into_decoder()
        .map_err(|_| PhotoError::Unreadable)?;
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
