//! `/channels/{id}/messages`.

use axum::extract::State;
use axum::http::StatusCode;
use cromulent_proto::Id;
use cromulent_proto::rest::{Message, MessageContentRequest, PostMessageRequest};
use serde::Deserialize;

use super::{ApiError, ApiPath, ApiQuery, Json};
use crate::app::AppState;
use crate::domain::principal::Principal;

/// `?before=&limit=` of a history page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    before: Option<Id>,
    limit: Option<i64>,
}

/// `GET /channels/{id}/messages?before=&limit=`: newest first.
pub async fn history(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(channel_id): ApiPath<Id>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<axum::Json<Vec<Message>>, ApiError> {
    Ok(axum::Json(state.chat.history(&principal, channel_id, page.before, page.limit).await?))
}

/// `POST /channels/{id}/messages` → 201, or 200 with the first message for a repeated nonce.
pub async fn post(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(channel_id): ApiPath<Id>,
    Json(body): Json<PostMessageRequest>,
) -> Result<(StatusCode, axum::Json<Message>), ApiError> {
    let posted = state.chat.post_message(&principal, channel_id, &body.content, body.nonce.as_deref()).await?;
    let status = if posted.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(posted.message)))
}

/// `PATCH /channels/{id}/messages/{message_id}`: the author edits.
pub async fn edit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((channel_id, message_id)): ApiPath<(Id, Id)>,
    Json(body): Json<MessageContentRequest>,
) -> Result<axum::Json<Message>, ApiError> {
    Ok(axum::Json(state.chat.edit_message(&principal, channel_id, message_id, &body.content).await?))
}

/// `DELETE /channels/{id}/messages/{message_id}` → 204: the author or an admin.
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((channel_id, message_id)): ApiPath<(Id, Id)>,
) -> Result<StatusCode, ApiError> {
    state.chat.delete_message(&principal, channel_id, message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
