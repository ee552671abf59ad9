//! `/admin`: people and their moderation, voice moderation and the audit log (admins only:
//! `401` without a session, `403 forbidden` for members).

use axum::extract::State;
use axum::http::StatusCode;
use cromulent_proto::Id;
use cromulent_proto::admin::{
    AdminUser, AuditEntry, AuditQuery, CreateUserRequest, IceSettings, IceTestReport, SetPasswordRequest, TimeoutRequest,
    UpdateUserRequest, VoiceDisconnectRequest, VoiceMuteRequest,
};

use super::{ApiError, ApiPath, ApiQuery, Json};
use crate::app::AppState;
use crate::domain::principal::Principal;

/// `GET /admin/users`.
pub async fn users(State(state): State<AppState>, principal: Principal) -> Result<axum::Json<Vec<AdminUser>>, ApiError> {
    Ok(axum::Json(state.chat.admin_users(&principal).await?))
}

/// `POST /admin/users` → `201`.
pub async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<CreateUserRequest>,
) -> Result<(StatusCode, axum::Json<AdminUser>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(state.chat.admin_create_user(&principal, &body).await?)))
}

/// `PATCH /admin/users/{id}`.
pub async fn update_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Id>,
    Json(body): Json<UpdateUserRequest>,
) -> Result<axum::Json<AdminUser>, ApiError> {
    Ok(axum::Json(state.chat.admin_update_user(&principal, id, &body).await?))
}

/// `POST /admin/users/{id}/timeout`.
pub async fn timeout(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Id>,
    Json(body): Json<TimeoutRequest>,
) -> Result<axum::Json<AdminUser>, ApiError> {
    Ok(axum::Json(state.chat.admin_timeout(&principal, id, &body).await?))
}

/// `DELETE /admin/users/{id}/timeout`.
pub async fn clear_timeout(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Id>,
) -> Result<axum::Json<AdminUser>, ApiError> {
    Ok(axum::Json(state.chat.admin_clear_timeout(&principal, id).await?))
}

/// `POST /admin/users/{id}/password` → `204`.
pub async fn set_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Id>,
    Json(body): Json<SetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state.chat.admin_set_password(&principal, id, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/voice/disconnect` → `204`.
pub async fn voice_disconnect(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<VoiceDisconnectRequest>,
) -> Result<StatusCode, ApiError> {
    state.chat.admin_voice_disconnect(&principal, body.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/voice/mute` → `204`.
pub async fn voice_mute(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<VoiceMuteRequest>,
) -> Result<StatusCode, ApiError> {
    state.chat.admin_voice_mute(&principal, body.user_id, body.muted).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/ice/test`: tries the ICE settings given (over the running ones) as a browser
/// would and reports each server.
pub async fn ice_test(
    State(state): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
    Json(body): Json<IceSettings>,
) -> Result<axum::Json<IceTestReport>, ApiError> {
    principal.require_admin()?;
    let provider = state
        .ice_provider_for(&body)
        .map_err(|why| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, cromulent_proto::ErrorCode::InvalidBody, why))?;
    let now_secs = crate::service::now_ms() / 1000;
    let host = state.request_host(&headers);
    Ok(axum::Json(crate::voice::check::check_ice(provider.as_ref(), principal.user_id, now_secs, &host).await))
}

/// `GET /admin/audit?before=&limit=`.
pub async fn audit(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<axum::Json<Vec<AuditEntry>>, ApiError> {
    Ok(axum::Json(state.chat.audit_log(&principal, query.before, query.limit).await?))
}
