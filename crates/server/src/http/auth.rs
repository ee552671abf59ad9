//! `/auth`: register, log in, log out. Tokens go to API clients in the body and to browsers
//! as an `HttpOnly; SameSite=Lax` cookie, with a device cookie that keeps the account open to
//! this browser while others guess its password.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cromulent_proto::rest::{AuthResponse, LoginRequest, RegisterRequest, VerificationSent};

use super::{ApiError, DEVICE_COOKIE, Json, SESSION_COOKIE, cookie};
use crate::app::AppState;
use crate::domain::principal::Principal;
use crate::service::{NewSession, Registered, SessionOrigin};

/// How long a device cookie lasts.
const DEVICE_COOKIE_MAX_AGE_SECS: u64 = 365 * 86_400;

fn with_cookie(status: StatusCode, session: NewSession) -> Response {
    let NewSession { token, user, max_age_secs, device_cookie, .. } = session;
    let cookie = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}");
    let body = AuthResponse { user, token };
    // Sent only to the login routes, for a year: it speaks for this browser, not for a session.
    let device = format!(
        "{DEVICE_COOKIE}={device_cookie}; HttpOnly; SameSite=Strict; Path=/api/v1/auth; Max-Age={DEVICE_COOKIE_MAX_AGE_SECS}"
    );
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("token is URL-safe base64"));
    headers.append(header::SET_COOKIE, HeaderValue::from_str(&device).expect("device cookies are ASCII"));
    // The body carries the token: no cache, shared or private, may keep it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Where a request comes from, as a session keeps it.
pub(super) fn origin(peer: SocketAddr, headers: &HeaderMap) -> SessionOrigin {
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    SessionOrigin { ip: peer.ip(), user_agent }
}

/// `POST /auth/register` → 201 with a token; or, where addresses must be confirmed first,
/// 202 `{"email_verification_sent": true}` and no session.
pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<RegisterRequest>,
) -> Result<Response, ApiError> {
    let link_base = super::recovery::link_base(&state, &headers);
    match state.chat.register(&origin(peer, &headers), &body, &link_base).await? {
        Registered::Session(session) => {
            tracing::info!(user = session.principal.user_id, admin = session.principal.admin, "account registered");
            Ok(with_cookie(StatusCode::CREATED, *session))
        }
        Registered::VerificationSent => {
            tracing::info!("account registered; waiting for its address to be confirmed");
            Ok((StatusCode::ACCEPTED, axum::Json(VerificationSent { email_verification_sent: true })).into_response())
        }
    }
}

/// `POST /auth/login` → 200 with a token.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let device = cookie(&headers, DEVICE_COOKIE);
    let session = state.chat.login(&origin(peer, &headers), &body.username, &body.password, device.as_deref()).await?;
    Ok(with_cookie(StatusCode::OK, session))
}

/// `POST /auth/logout` → 204; ends the session and its gateway connections.
pub async fn logout(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    state.chat.logout(&principal).await?;
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}
