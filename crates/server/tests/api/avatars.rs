//! Avatars: every accepted format becomes square WebP renditions without the upload's
//! metadata, served with validators and long caching to members only; anything that is not an
//! image, is too large, or claims dimensions it would take gigabytes to decode is refused with
//! a typed error before it costs memory.

use std::io::Cursor;

use image::{ImageFormat, Rgba, RgbaImage};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, TestUser};

/// A `width`×`height` picture in `format`, red on the left half and blue on the right.
fn picture(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let image =
        RgbaImage::from_fn(width, height, |x, _| if x < width / 2 { Rgba([220, 20, 20, 255]) } else { Rgba([20, 20, 220, 255]) });
    let mut out = Cursor::new(Vec::new());
    match format {
        // JPEG has no alpha channel.
        ImageFormat::Jpeg => image::DynamicImage::ImageRgba8(image).to_rgb8().write_to(&mut out, format).unwrap(),
        _ => image.write_to(&mut out, format).unwrap(),
    }
    out.into_inner()
}

/// One PNG chunk: length, type, data, CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&[&kind[..], data].concat());
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A PNG whose header says `side`×`side` pixels but whose data is a few hundred bytes of
/// compressed zeros: decoded naively it would need `4 × side²` bytes.
fn bomb(side: u32) -> Vec<u8> {
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    // A stored (uncompressed) zlib block of zeros stands in for the rows.
    let zeros = vec![0u8; 1024];
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&(zeros.len() as u16).to_le_bytes());
    zlib.extend_from_slice(&(!(zeros.len() as u16)).to_le_bytes());
    zlib.extend_from_slice(&zeros);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &zlib));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// A PNG with a text chunk carrying `secret` after its header.
fn png_with_text(secret: &str) -> Vec<u8> {
    let png = picture(64, 64, ImageFormat::Png);
    // Signature (8) + IHDR chunk (25): the text chunk goes right after.
    let mut out = png[..33].to_vec();
    out.extend(chunk(b"tEXt", format!("Comment\0{secret}").as_bytes()));
    out.extend_from_slice(&png[33..]);
    out
}

async fn upload(app: &TestApp, user: &TestUser, body: Vec<u8>, content_type: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .put(app.api("/users/@me/avatar"))
        .bearer_auth(&user.token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn fetch(app: &TestApp, user: &TestUser, path: &str) -> reqwest::Response {
    app.http.get(app.api(path)).bearer_auth(&user.token).send().await.unwrap()
}

#[tokio::test]
async fn every_format_becomes_square_renditions_that_members_see() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let mut ben_gateway = app.gateway(&ben).await;

    let mut versions = Vec::new();
    for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif, ImageFormat::WebP] {
        // Wide pictures are cropped to their middle square.
        let (status, me) = upload(&app, &amy, picture(300, 200, format), "application/octet-stream").await;
        assert_eq!(status, StatusCode::OK, "{format:?}: {me}");
        let version = me["avatar"].as_str().unwrap_or_else(|| panic!("{format:?}: {me}")).to_owned();
        let update = ben_gateway.expect("user_update").await;
        assert_eq!((update["d"]["id"].as_str(), update["d"]["avatar"].as_str()), (Some(amy.id.as_str()), Some(version.as_str())));
        for size in [32u32, 128] {
            let response = fetch(&app, &ben, &format!("/users/{}/avatar?size={size}&v={version}", amy.id)).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["content-type"], "image/webp");
            assert!(response.headers()["cache-control"].to_str().unwrap().contains("immutable"));
            let bytes = response.bytes().await.unwrap();
            let decoded = image::load_from_memory_with_format(&bytes, ImageFormat::WebP).unwrap().to_rgba8();
            assert_eq!(decoded.dimensions(), (size, size), "{format:?}");
            // The crop kept the middle: red on the left, blue on the right.
            let (left, right) = (decoded.get_pixel(1, size / 2), decoded.get_pixel(size - 2, size / 2));
            assert!(left[0] > 150 && left[2] < 100 && right[2] > 150 && right[0] < 100, "{format:?}: {left:?} {right:?}");
        }
        versions.push(version);
    }
    versions.dedup();
    assert!(versions.len() >= 2, "a new upload is a new version: {versions:?}");

    // Validators: the same version answers 304; a stale URL is not cached for good.
    let current = versions.last().unwrap();
    let path = format!("/users/{}/avatar?size=32", amy.id);
    let first = fetch(&app, &ben, &path).await;
    assert_eq!(first.headers()["cache-control"], "private, no-cache");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.contains(current.as_str()), "{etag}");
    let again = app.http.get(app.api(&path)).bearer_auth(&ben.token).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Members only; sizes from the list; no avatar is a 404.
    assert_eq!(app.http.get(app.api(&path)).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let odd = fetch(&app, &ben, &format!("/users/{}/avatar?size=64", amy.id)).await;
    assert_eq!(odd.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let none = fetch(&app, &ben, &format!("/users/{}/avatar", ben.id)).await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);

    // Removing it.
    let (status, me) = app.call(Method::DELETE, "/users/@me/avatar", Some(&amy.token), None).await;
    assert_eq!((status, me.get("avatar")), (StatusCode::OK, None), "{me}");
    assert!(ben_gateway.expect("user_update").await["d"].get("avatar").is_none());
    assert_eq!(fetch(&app, &ben, &path).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn uploads_lose_their_metadata() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let secret = "taken at 51.5007N 0.1246W";
    let upload_bytes = png_with_text(secret);
    assert!(image::load_from_memory(&upload_bytes).is_ok(), "the test picture is a valid PNG");
    let (status, me) = upload(&app, &amy, upload_bytes, "image/png").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    for size in [32, 128] {
        let bytes = fetch(&app, &amy, &format!("/users/{}/avatar?size={size}", amy.id)).await.bytes().await.unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the text chunk is gone");
    }
}

#[tokio::test]
async fn what_is_not_a_small_image_is_refused_with_a_typed_error() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;

    // A text file named like a picture, and a format we do not take (BMP).
    let (status, error) = upload(&app, &amy, b"hello, I am a text file".to_vec(), "image/png").await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_image")));
    let mut bmp = b"BM".to_vec();
    bmp.resize(256, 0);
    assert_eq!(image::guess_format(&bmp).unwrap(), ImageFormat::Bmp);
    let (status, _) = upload(&app, &amy, bmp, "image/bmp").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A truncated PNG.
    let mut cut = picture(64, 64, ImageFormat::Png);
    cut.truncate(cut.len() / 2);
    let (status, _) = upload(&app, &amy, cut, "image/png").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Over 2 MiB: refused without reading on.
    let mut big = picture(64, 64, ImageFormat::Png);
    big.resize(2 * 1024 * 1024 + 1, 0);
    let (status, error) = upload(&app, &amy, big, "image/png").await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));

    // Decompression bombs: 100,000² pixels would need 40 GB; 5,000² (100 MB) is past the side limit.
    for side in [100_000, 5_000] {
        let started = std::time::Instant::now();
        let (status, error) = upload(&app, &amy, bomb(side), "image/png").await;
        assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_image")));
        assert!(started.elapsed().as_secs() < 10, "refused from the header, not after decoding");
    }
    let (_, me) = app.call(Method::GET, "/users/@me", Some(&amy.token), None).await;
    assert!(me.get("avatar").is_none(), "nothing was stored: {me}");

    // The server is fine afterwards, and a large photo (noise compresses badly) under the
    // limit is taken: the 2 MiB limit, not the JSON body limit, applies.
    let noisy = RgbaImage::from_fn(600, 600, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(2_246_822_519);
        Rgba([(n >> 24) as u8, (n >> 16) as u8, (n >> 8) as u8, 255])
    });
    let mut photo = Cursor::new(Vec::new());
    noisy.write_to(&mut photo, ImageFormat::Png).unwrap();
    let photo = photo.into_inner();
    assert!(photo.len() > 512 * 1024 && photo.len() < 2 * 1024 * 1024, "{} bytes", photo.len());
    let (status, me) = upload(&app, &amy, photo, "image/png").await;
    assert_eq!(status, StatusCode::OK, "{me}");
}
