//! `/users` and `/settings`.

use axum::extract::State;
use cromulent_proto::rest::{Settings, UpdateSettingsRequest, User};

use super::{ApiError, Json};
use crate::app::AppState;
use crate::domain::principal::Principal;

/// `GET /users/@me`.
pub async fn me(principal: Principal) -> axum::Json<User> {
    axum::Json(principal.user())
}

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
