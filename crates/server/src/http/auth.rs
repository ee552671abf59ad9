//! `/auth`: register, log in, log out. Tokens go to API clients in the body and to browsers
//! as an `HttpOnly; SameSite=Lax` cookie.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cromulent_proto::rest::{AuthResponse, LoginRequest, RegisterRequest};

use super::{ApiError, Json, SESSION_COOKIE};
use crate::app::AppState;
use crate::domain::principal::Principal;
use crate::service::NewSession;

fn with_cookie(status: StatusCode, session: NewSession) -> Response {
    let cookie = format!("{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}", session.token, session.max_age_secs);
    let body = AuthResponse { user: session.principal.user(), token: session.token };
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("token is URL-safe base64"));
    // The body carries the token: no cache, shared or private, may keep it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /auth/register` → 201 with a token.
pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<RegisterRequest>,
) -> Result<Response, ApiError> {
    let session = state.chat.register(peer.ip(), &body.username, &body.password, body.email.as_deref()).await?;
    tracing::info!(user = session.principal.user_id, admin = session.principal.admin, "account registered");
    Ok(with_cookie(StatusCode::CREATED, session))
}

/// `POST /auth/login` → 200 with a token.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let session = state.chat.login(peer.ip(), &body.username, &body.password).await?;
    Ok(with_cookie(StatusCode::OK, session))
}

/// `POST /auth/logout` → 204; ends the session and its gateway connections.
pub async fn logout(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    state.chat.logout(&principal).await?;
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}
