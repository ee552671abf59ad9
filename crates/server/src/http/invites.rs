//! `/invites`: create, list and delete invite codes.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use cromulent_proto::rest::{CreateInviteRequest, Invite};

use super::{ApiError, ApiPath, Json};
use crate::app::AppState;
use crate::domain::principal::Principal;

/// `https://host` (or `http://` without TLS) as the client reached the server, for invite links.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let scheme = if state.config.tls.enabled() { "https" } else { "http" };
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).filter(|h| {
        !h.is_empty()
            && h.len() <= 255
            && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    });
    let host = host.map_or_else(|| state.request_host(headers).as_str().to_owned(), str::to_owned);
    format!("{scheme}://{host}")
}

/// `POST /invites` → `201`.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Json(body): Json<CreateInviteRequest>,
) -> Result<(StatusCode, axum::Json<Invite>), ApiError> {
    let invite = state.chat.create_invite(&principal, &body, &base_url(&state, &headers)).await?;
    Ok((StatusCode::CREATED, axum::Json(invite)))
}

/// `GET /invites`.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<axum::Json<Vec<Invite>>, ApiError> {
    Ok(axum::Json(state.chat.list_invites(&principal, &base_url(&state, &headers)).await?))
}

/// `DELETE /invites/{code}` → `204`.
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(code): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.chat.delete_invite(&principal, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}
