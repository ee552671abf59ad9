//! `/channels` and private-channel membership.

use axum::extract::State;
use axum::http::StatusCode;
use cromulent_proto::Id;
use cromulent_proto::rest::{Channel, ChannelMembers, CreateChannelRequest, UpdateChannelRequest};

use super::{ApiError, ApiPath, Json};
use crate::app::AppState;
use crate::domain::principal::Principal;

/// `GET /channels`: channels the caller may see.
pub async fn list(State(state): State<AppState>, principal: Principal) -> Result<axum::Json<Vec<Channel>>, ApiError> {
    Ok(axum::Json(state.chat.list_channels(&principal).await?))
}

/// `GET /channels/{id}`.
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Id>,
) -> Result<axum::Json<Channel>, ApiError> {
    Ok(axum::Json(state.chat.visible_channel(&principal, id).await?.to_wire()))
}

/// `POST /channels` (admins) → 201.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<CreateChannelRequest>,
) -> Result<(StatusCode, axum::Json<Channel>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(state.chat.create_channel(&principal, &body).await?)))
}

/// `PATCH /channels/{id}` (admins).
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Id>,
    Json(body): Json<UpdateChannelRequest>,
) -> Result<axum::Json<Channel>, ApiError> {
    Ok(axum::Json(state.chat.update_channel(&principal, id, &body).await?))
}

/// `DELETE /channels/{id}` (admins) → 204.
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Id>,
) -> Result<StatusCode, ApiError> {
    state.chat.delete_channel(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /channels/{id}/members`.
pub async fn members(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Id>,
) -> Result<axum::Json<ChannelMembers>, ApiError> {
    Ok(axum::Json(ChannelMembers { members: state.chat.list_channel_members(&principal, id).await? }))
}

/// `PUT /channels/{id}/members/{user_id}` (admins) → 204.
pub async fn add_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, user_id)): ApiPath<(Id, Id)>,
) -> Result<StatusCode, ApiError> {
    state.chat.add_channel_member(&principal, id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /channels/{id}/members/{user_id}` (admins) → 204.
pub async fn remove_member(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, user_id)): ApiPath<(Id, Id)>,
) -> Result<StatusCode, ApiError> {
    state.chat.remove_channel_member(&principal, id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
