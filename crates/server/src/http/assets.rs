//! The embedded browser client: hashed assets cached for a year, `index.html` revalidated every
//! time and served for client-side routes, with ETags and a strict Content-Security-Policy.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cromulent_proto::ErrorCode;
use rust_embed::Embed;

use super::ApiError;

#[derive(Embed)]
#[folder = "$OUT_DIR/web"]
struct WebClient;

/// The page may load only its own scripts and styles and talk only to its own origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

/// Serves a file of the web client, or `index.html` for any other page path.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") {
        return ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "No such route.").into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed, "Pages are only read.")
            .into_response();
    }
    let asset = path.starts_with("assets/");
    match WebClient::get(path).filter(|_| !path.is_empty() && path != "index.html") {
        Some(file) => respond(file, &headers, if asset { "public, max-age=31536000, immutable" } else { "no-cache" }, false),
        // A hashed file that is gone (an old page after an upgrade) must fail plainly, not be
        // answered with HTML the browser would try to run as a script.
        None if asset => (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "no such asset").into_response(),
        None => match WebClient::get("index.html") {
            Some(index) => respond(index, &headers, "no-cache", true),
            None => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "This server was built without its web client (CROMULENT_SKIP_WEB). The API is at /api/v1.",
            )
                .into_response(),
        },
    }
}

fn respond(file: rust_embed::EmbeddedFile, request: &HeaderMap, cache: &'static str, page: bool) -> Response {
    let etag = format!("\"{}\"", file.metadata.sha256_hash().iter().map(|b| format!("{b:02x}")).collect::<String>());
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex is a valid header"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if page {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    if request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") || mime.ends_with("javascript") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&content_type).expect("MIME types are valid headers"));
    (StatusCode::OK, headers, file.data.into_owned()).into_response()
}
