//! `/auth` routes for getting back into an account by email and confirming an address, and
//! where the links in those mails point.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use cromulent_proto::rest::{AuthOptions, ConfirmPasswordResetRequest, EmailRequest, VerifyEmailRequest};

use super::{ApiError, Json};
use crate::app::AppState;

/// Where links in mail point: `http.public_url`; else the first ACME name; else the host
/// this request came to (the documentation asks for `http.public_url` in that case, since a
/// client can send any `Host`).
pub fn link_base(state: &AppState, headers: &HeaderMap) -> String {
    let config = &state.config;
    if !config.http.public_url.is_empty() {
        return config.http.public_url.trim_end_matches('/').to_owned();
    }
    if let Some(domain) = config.tls.acme_domains.first() {
        return format!("https://{domain}");
    }
    let scheme = if config.tls.enabled() { "https" } else { "http" };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// `GET /auth/options`: what the login screen may offer (no login needed).
pub async fn options(State(state): State<AppState>) -> axum::Json<AuthOptions> {
    axum::Json(state.chat.auth_options())
}

/// `POST /auth/password-reset` → always 202 for a well-formed address.
pub async fn request_reset(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<EmailRequest>,
) -> Result<StatusCode, ApiError> {
    state.chat.request_password_reset(peer.ip(), &body.email, &link_base(&state, &headers)).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /auth/password-reset/confirm` → 204; every session of the account ends.
pub async fn confirm_reset(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<ConfirmPasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    state.chat.confirm_password_reset(peer.ip(), &body.token, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /auth/verify-email` → 204.
pub async fn verify_email(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<VerifyEmailRequest>,
) -> Result<StatusCode, ApiError> {
    state.chat.verify_email(peer.ip(), &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /auth/verify-email/resend` → always 202 for a well-formed address.
pub async fn resend_verification(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<EmailRequest>,
) -> Result<StatusCode, ApiError> {
    state.chat.resend_verification(peer.ip(), &body.email, &link_base(&state, &headers)).await?;
    Ok(StatusCode::ACCEPTED)
}
