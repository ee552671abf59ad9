//! REST transport: the router, typed errors mapped to status codes once, and extractors that
//! turn malformed requests into typed errors instead of plain-text rejections.

mod admin;
mod assets;
mod auth;
mod channels;
mod extract;
mod invites;
pub mod listener;
mod messages;
pub mod metrics;
mod profile;
mod reads;
mod recovery;
pub mod redirect;
mod sniff;
mod users;
mod voice;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use cromulent_proto::ErrorCode;
use cromulent_proto::rest::{ErrorBody, ErrorResponse};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

pub use extract::{ApiPath, ApiQuery, Json};

use crate::app::AppState;
use crate::service::Error;

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "cromulent_session";

/// Name of the cookie that proves a browser logged in to an account before.
pub const DEVICE_COOKIE: &str = "cromulent_device";

/// The whole HTTP surface: health, REST under `/api/v1`, the gateway, and the web client.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/options", get(recovery::options))
        .route("/auth/password-reset", post(recovery::request_reset))
        .route("/auth/password-reset/confirm", post(recovery::confirm_reset))
        .route("/auth/verify-email", post(recovery::verify_email))
        .route("/auth/verify-email/resend", post(recovery::resend_verification))
        .route("/users", get(users::list))
        .route("/users/@me", get(profile::me).patch(profile::update_me).delete(profile::delete_me))
        .route("/users/@me/preferences", get(profile::preferences).put(profile::update_preferences))
        .route("/users/@me/avatar", put(profile::set_avatar).delete(profile::delete_avatar))
        .route("/users/{user_id}/avatar", get(profile::avatar))
        .route("/users/@me/read-states", get(reads::read_states))
        .route("/users/@me/mentions", get(reads::mentions))
        .route("/embeds/image", get(reads::embed_image))
        .route("/users/@me/password", post(users::change_password))
        .route("/users/@me/sessions", get(users::sessions).delete(users::end_other_sessions))
        .route("/users/@me/sessions/{session_id}", axum::routing::delete(users::end_session))
        .route("/settings", get(users::settings).patch(users::update_settings))
        .route("/channels", get(channels::list).post(channels::create))
        .route("/channels/{channel_id}", get(channels::get).patch(channels::update).delete(channels::delete))
        .route("/channels/{channel_id}/members", get(channels::members))
        .route("/channels/{channel_id}/read", put(reads::mark_read))
        .route("/channels/{channel_id}/notifications", put(reads::set_notifications))
        .route("/channels/{channel_id}/members/{user_id}", put(channels::add_member).delete(channels::remove_member))
        .route("/channels/{channel_id}/messages", get(messages::history).post(messages::post))
        .route("/channels/{channel_id}/messages/{message_id}", patch(messages::edit).delete(messages::delete))
        .route("/voice/ice-servers", get(voice::ice_servers))
        .route("/connection-test", get(voice::connection_test))
        .route("/invites", get(invites::list).post(invites::create))
        .route("/invites/{code}", axum::routing::delete(invites::delete))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/{user_id}", patch(admin::update_user))
        .route("/admin/users/{user_id}/timeout", post(admin::timeout).delete(admin::clear_timeout))
        .route("/admin/users/{user_id}/password", post(admin::set_password))
        .route("/admin/voice/disconnect", post(admin::voice_disconnect))
        .route("/admin/voice/mute", post(admin::voice_mute))
        .route("/admin/ice/test", post(admin::ice_test))
        .route("/admin/audit", get(admin::audit))
        .route("/gateway", get(crate::gateway::upgrade))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    let max_body = state.config.http.max_body_bytes;
    let https = state.config.tls.enabled();
    let router = Router::new()
        .route("/healthz", get(healthz))
        // Metrics live on their own listener (`metrics.listen`); here a scraper pointed at the
        // wrong port gets a plain 404 rather than the web client's page.
        .route("/metrics", axum::routing::any(not_found))
        .nest("/api/v1", api)
        .fallback(assets::serve)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), count_requests))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        .layer(axum::middleware::from_fn(limit_headers))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal().into_response()))
        .layer(axum::middleware::from_fn(host_from_authority))
        .with_state(state);
    if https { router.layer(axum::middleware::from_fn(secure_transport)) } else { router }
}

/// How long browsers remember to use HTTPS only (two years, as preload lists ask).
const HSTS: &str = "max-age=63072000";

/// With HTTPS on: browsers are told to come back over HTTPS only, and cookies never travel
/// over plain HTTP.
async fn secure_transport(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
    if !cookies.is_empty() {
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            let secure = [cookie.as_bytes(), b"; Secure"].concat();
            headers.append(header::SET_COOKIE, HeaderValue::from_bytes(&secure).unwrap_or(cookie));
        }
    }
    response
}

/// `GET /healthz`: `200 {"status": "ok", "database": "ok"}` once the database answers;
/// `503` with `"database": "unreachable"` (and the usual JSON error) otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.chat.store().ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(serde_json::json!({"status": "ok", "database": "ok"}))).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            let body = serde_json::json!({
                "status": "unavailable",
                "database": "unreachable",
                "error": {"code": ErrorCode::Unavailable, "message": "The database is not answering."},
            });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}

/// Counts every answered request in `cromulent_http_requests_total` and its duration, by the
/// route template it matched (never the raw path, which would make a series per id).
async fn count_requests(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let metrics = state.chat.metrics();
    if !metrics.enabled() {
        return next.run(request).await;
    }
    let route = match request.extensions().get::<axum::extract::MatchedPath>() {
        Some(matched) => matched.as_str().to_owned(),
        None if request.uri().path().starts_with("/api/") => "/api/{unknown}".to_owned(),
        // The web client's files and its client-side routes.
        None => "/{asset}".to_owned(),
    };
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics.http_request(&route, response.status().as_u16(), started.elapsed());
    response
}

/// Refuses requests with more header fields or bytes than [`listener::MAX_HEADERS`] and
/// [`listener::MAX_HEADER_BYTES`], in JSON like every other error.
async fn limit_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let headers = request.headers();
    let bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if headers.len() > listener::MAX_HEADERS || bytes > listener::MAX_HEADER_BYTES {
        let message = format!(
            "At most {} header fields and {} KiB of them are accepted.",
            listener::MAX_HEADERS,
            listener::MAX_HEADER_BYTES / 1024
        );
        return ApiError::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, ErrorCode::HeadersTooLarge, message).into_response();
    }
    next.run(request).await
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "No such route.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed, "This route does not accept that method.")
}

/// An error as the REST API answers it: a status and `{"error": {code, message, field?}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with a fixed code.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { code, message: message.into(), field: None }, retry_after_secs: None }
    }

    fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "Something went wrong on the server.")
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let status = match &err {
            // A mailed link that no longer works is a bad request, not a form to correct.
            Error::Invalid(invalid) if invalid.code == ErrorCode::InvalidToken => StatusCode::BAD_REQUEST,
            Error::Refused { code: ErrorCode::UnsupportedImage, .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Invalid(_) | Error::WrongChannelKind { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthenticated | Error::InvalidCredentials | Error::WrongPassword { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::RegistrationClosed | Error::Restricted { .. } => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict { .. } | Error::Refused { .. } => StatusCode::CONFLICT,
            Error::RateLimited { .. } | Error::Slowmode { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Error::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            Error::Store(_) | Error::Hashing | Error::Internal(_) => {
                tracing::error!(error = ?err, "request failed");
                return ApiError::internal();
            }
        };
        let retry_after_secs = match err {
            Error::RateLimited { retry_after_secs } | Error::Slowmode { retry_after_secs } => Some(retry_after_secs),
            Error::Unavailable => Some(1),
            _ => None,
        };
        ApiError {
            status,
            body: ErrorBody { code: err.code(), message: err.to_string(), field: err.field().map(str::to_owned) },
            retry_after_secs,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(ErrorResponse { error: self.body })).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The session token in the request's cookie, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the cookie `name`, if the request carries a non-empty one.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// HTTP/2 (which browsers speak over HTTPS) carries the host as `:authority`, which hyper puts in
/// the request URI, not as a `Host` header; everything that reads `Host` — the origin check of
/// cookie requests, the host named in ICE URLs — gets it from there.
async fn host_from_authority(mut request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    fill_host(&mut request);
    next.run(request).await
}

fn fill_host<B>(request: &mut axum::http::Request<B>) {
    if request.headers().contains_key(header::HOST) {
        return;
    }
    if let Some(value) = request.uri().authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()) {
        request.headers_mut().insert(header::HOST, value);
    }
}

/// Whether a browser request's `Origin` (if it sent one) is this server or an allowed origin.
/// Requests without `Origin` come from non-browser clients, which cookies do not protect.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    if allowed.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn an_http2_request_has_its_authority_as_host_so_its_origin_is_its_own() {
        let mut request = axum::http::Request::builder()
            .uri("https://chat.test:8443/api/v1/channels")
            .header("origin", "https://chat.test:8443")
            .body(())
            .unwrap();
        assert!(!origin_allowed(request.headers(), &[]), "without Host the origin cannot be checked");
        fill_host(&mut request);
        assert_eq!(request.headers()[header::HOST], "chat.test:8443");
        assert!(origin_allowed(request.headers(), &[]));
        // An HTTP/1.1 request keeps the Host it sent.
        let mut plain = axum::http::Request::builder().uri("/x").header("host", "a:4000").body(()).unwrap();
        fill_host(&mut plain);
        assert_eq!(plain.headers()[header::HOST], "a:4000");
    }

    #[test]
    fn origins() {
        assert!(origin_allowed(&headers(&[("host", "a:4000")]), &[]));
        assert!(origin_allowed(&headers(&[("host", "a:4000"), ("origin", "http://a:4000")]), &[]));
        assert!(!origin_allowed(&headers(&[("host", "a:4000"), ("origin", "http://evil:4000")]), &[]));
        assert!(!origin_allowed(&headers(&[("host", "a:4000"), ("origin", "null")]), &[]));
        let allowed = vec!["https://chat.example.org".to_owned()];
        assert!(origin_allowed(&headers(&[("host", "a:4000"), ("origin", "https://chat.example.org")]), &allowed));
    }

    #[test]
    fn cookies() {
        let h = headers(&[("cookie", "a=1; cromulent_session=tok; b=2")]);
        assert_eq!(session_cookie(&h).as_deref(), Some("tok"));
        assert_eq!(session_cookie(&headers(&[("cookie", "cromulent_session=")])), None);
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }
}
