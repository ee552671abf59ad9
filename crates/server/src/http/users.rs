//! `/users` and `/settings`, and the caller's own account: password and sessions.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use cromulent_proto::Id;
use cromulent_proto::rest::{ChangePasswordRequest, SessionInfo, Settings, UpdateSettingsRequest, User};

use super::{ApiError, ApiPath, Json};
use crate::app::AppState;
use crate::domain::principal::Principal;

/// `GET /users`: every account, for member lists.
pub async fn list(State(state): State<AppState>, principal: Principal) -> Result<axum::Json<Vec<User>>, ApiError> {
    Ok(axum::Json(state.chat.list_users(&principal).await?))
}

/// `GET /settings` (admins).
pub async fn settings(State(state): State<AppState>, principal: Principal) -> Result<axum::Json<Settings>, ApiError> {
    Ok(axum::Json(state.chat.settings(&principal).await?))
}

/// `PATCH /settings` (admins).
pub async fn update_settings(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<UpdateSettingsRequest>,
) -> Result<axum::Json<Settings>, ApiError> {
    Ok(axum::Json(state.chat.update_settings(&principal, &body).await?))
}

/// `POST /users/@me/password` → 204; the caller's other sessions end.
pub async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let origin = super::auth::origin(peer, &headers);
    state.chat.change_password(&principal, &origin, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/@me/sessions`: where the caller is logged in.
pub async fn sessions(State(state): State<AppState>, principal: Principal) -> Result<axum::Json<Vec<SessionInfo>>, ApiError> {
    Ok(axum::Json(state.chat.sessions(&principal).await?))
}

/// `DELETE /users/@me/sessions/{session_id}` → 204.
pub async fn end_session(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(session_id): ApiPath<Id>,
) -> Result<StatusCode, ApiError> {
    state.chat.end_session(&principal, session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/@me/sessions` → 204: every session but this one ends.
pub async fn end_other_sessions(State(state): State<AppState>, principal: Principal) -> Result<StatusCode, ApiError> {
    state.chat.end_other_sessions(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}
