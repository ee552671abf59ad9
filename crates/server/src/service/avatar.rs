//! Avatars: an uploaded image is decoded under limits (a small file that claims to be huge is
//! refused before anything is allocated), turned upright, cropped to a square and re-encoded as
//! small WebP renditions — which drops every byte of metadata the upload carried. Decoding
//! runs on the blocking pool, a few at a time, so uploads cannot take all memory or threads.

use std::io::Cursor;
use std::num::NonZeroU32;

use cromulent_proto::ErrorCode;
use cromulent_proto::rest::Me;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

use super::{Chat, Error, Principal, Result};
use crate::domain::access::Audience;
use crate::domain::event::Event;

/// Largest upload, in bytes.
pub const MAX_AVATAR_BYTES: usize = 2 * 1024 * 1024;

/// The renditions kept, in pixels per side: member lists and messages use the small one.
pub const AVATAR_SIZES: [u32; 2] = [128, 32];

/// Largest width or height an upload may declare.
const MAX_SIDE: u32 = 4096;

/// Memory one decode may allocate: a 4096² RGBA image and a resize's working copies.
const MAX_DECODE_BYTES: u64 = 128 * 1024 * 1024;

/// Decodes at once, across all users.
pub const CONCURRENT_DECODES: usize = 2;

/// Uploads one user may make per minute.
const UPLOADS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(10).expect("not zero");

/// The per-user upload limiter.
pub fn upload_limiter() -> DefaultKeyedRateLimiter<i64> {
    RateLimiter::keyed(Quota::per_minute(UPLOADS_PER_MINUTE))
}

/// `415 unsupported_image`.
fn unsupported() -> Error {
    Error::Refused {
        code: ErrorCode::UnsupportedImage,
        message: "That is not a PNG, JPEG, GIF or WebP image of at most 4096 × 4096 pixels.",
    }
}

/// The renditions of `bytes` (size, WebP bytes), or why not. The format is read from the
/// bytes, never from a name or header; GIFs and animated WebPs give their first frame.
pub fn render(bytes: &[u8]) -> Result<Vec<(u32, Vec<u8>)>> {
    let format = image::guess_format(bytes).map_err(|_| unsupported())?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP) {
        return Err(unsupported());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| unsupported())?;
    // Phone photos are stored sideways with an EXIF note to turn them; the note is dropped
    // with the rest of the metadata, so the turn is applied now.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|_| unsupported())?;
    picture.apply_orientation(orientation);
    let (width, height) = (picture.width(), picture.height());
    let side = width.min(height);
    if side == 0 {
        return Err(unsupported());
    }
    let square = picture.crop_imm((width - side) / 2, (height - side) / 2, side, side);
    AVATAR_SIZES
        .iter()
        .map(|&size| {
            let scaled = square.resize_exact(size, size, FilterType::Lanczos3).to_rgba8();
            let mut out = Vec::new();
            image::codecs::webp::WebPEncoder::new_lossless(&mut out)
                .encode(scaled.as_raw(), size, size, image::ExtendedColorType::Rgba8)
                .map_err(|err| {
                    tracing::error!(error = %err, "encoding an avatar failed");
                    Error::Internal("encoding an avatar")
                })?;
            Ok((size, out))
        })
        .collect()
}

impl Chat {
    /// Replaces the caller's avatar with the image in `bytes` (at most [`MAX_AVATAR_BYTES`]);
    /// everyone connected hears of it.
    pub async fn set_avatar(&self, principal: &Principal, bytes: Vec<u8>) -> Result<Me> {
        self.avatar_uploads.check_key(&principal.user_id).map_err(super::rate_limited)?;
        let renditions = {
            let _turn = self.image_work.acquire().await.map_err(|_| Error::Unavailable)?;
            tokio::task::spawn_blocking(move || render(&bytes)).await.map_err(|_| Error::Internal("decoding an avatar"))??
        };
        let digest = Sha256::digest(&renditions[0].1);
        let version: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        if !self.store.set_avatar(principal.user_id, &version, &renditions).await? {
            return Err(Error::Unauthenticated);
        }
        self.announce_profile(principal).await
    }

    /// Removes the caller's avatar.
    pub async fn delete_avatar(&self, principal: &Principal) -> Result<Me> {
        self.store.delete_avatar(principal.user_id).await?;
        self.announce_profile(principal).await
    }

    /// Tells everyone connected how the caller looks now; the caller's own view.
    async fn announce_profile(&self, principal: &Principal) -> Result<Me> {
        let row = self.store.get_user(principal.user_id).await?.filter(|r| !r.deleted()).ok_or(Error::Unauthenticated)?;
        self.hub.publish(&Audience::Everyone, &Event::UserUpdate(row.to_wire()));
        Ok(row.to_me())
    }

    /// The avatar of `user_id` at `size` pixels (one of [`AVATAR_SIZES`]): its version and
    /// WebP bytes.
    pub async fn avatar(&self, _principal: &Principal, user_id: i64, size: u32) -> Result<(String, Vec<u8>)> {
        if !AVATAR_SIZES.contains(&size) {
            return Err(
                crate::domain::text::Invalid::new(ErrorCode::InvalidQuery, "size", "Avatars come in sizes 32 and 128.").into()
            );
        }
        self.store.get_avatar(user_id, size).await?.ok_or(Error::NotFound("Avatar"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbaImage::from_pixel(width, height, image::Rgba([200, 30, 30, 255]));
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_wide_picture_becomes_square_renditions() {
        let renditions = render(&png(300, 100)).unwrap();
        let sizes: Vec<u32> = renditions.iter().map(|(s, _)| *s).collect();
        assert_eq!(sizes, AVATAR_SIZES);
        for (size, bytes) in renditions {
            let decoded = image::load_from_memory_with_format(&bytes, ImageFormat::WebP).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (size, size));
        }
    }

    #[test]
    fn text_and_oversized_pictures_are_refused() {
        assert!(render(b"just some text, not a picture").is_err());
        assert!(render(&png(MAX_SIDE + 1, 1)).is_err());
    }
}
