//! Read state and notifications: marking a channel read, the caller's read states, a channel's
//! notification level, the inbox of recent mentions, and link preview pictures.

use axum::extract::State;
use axum::http::StatusCode;
use cromulent_proto::Id;
use cromulent_proto::rest::{ChannelNotifications, MarkReadRequest, Message, ReadState, SetNotificationsRequest};
use serde::Deserialize;

use super::{ApiError, ApiPath, ApiQuery, Json};
use crate::app::AppState;
use crate::domain::principal::Principal;

/// `PUT /channels/{id}/read` → 204.
pub async fn mark_read(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(channel_id): ApiPath<Id>,
    Json(body): Json<MarkReadRequest>,
) -> Result<StatusCode, ApiError> {
    state.chat.mark_read(&principal, channel_id, body.message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/@me/read-states`.
pub async fn read_states(State(state): State<AppState>, principal: Principal) -> Result<axum::Json<Vec<ReadState>>, ApiError> {
    Ok(axum::Json(state.chat.read_states(&principal).await?))
}

/// `PUT /channels/{id}/notifications` → 200.
pub async fn set_notifications(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(channel_id): ApiPath<Id>,
    Json(body): Json<SetNotificationsRequest>,
) -> Result<axum::Json<ChannelNotifications>, ApiError> {
    Ok(axum::Json(state.chat.set_notification_level(&principal, channel_id, body.level).await?))
}

/// `?before=&limit=` of the inbox.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxPage {
    #[serde(default)]
    before: Option<Id>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /users/@me/mentions?before=&limit=`: newest first.
pub async fn mentions(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<InboxPage>,
) -> Result<axum::Json<Vec<Message>>, ApiError> {
    Ok(axum::Json(state.chat.mention_inbox(&principal, page.before, page.limit).await?))
}

/// `?url=&sig=` of a preview's picture.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedImage {
    url: String,
    sig: String,
}

/// `GET /embeds/image?url=&sig=`: a link preview's picture, through the server.
pub async fn embed_image(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<EmbedImage>,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let (kind, bytes) = state.chat.embed_image(&principal, &query.url, &query.sig).await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    Ok(response)
}
