//! The caller's own profile under `/users/@me`: reading and changing it, deleting the account,
//! preferences, and avatars (uploaded as the raw request body, served to members).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cromulent_proto::rest::{DeleteAccountRequest, Me, Preferences, UpdateMeRequest, UpdatePreferencesRequest};
use cromulent_proto::{ErrorCode, Id};
use serde::Deserialize;

use super::{ApiError, ApiPath, ApiQuery, Json, SESSION_COOKIE};
use crate::app::AppState;
use crate::domain::principal::Principal;
use crate::service::avatar::MAX_AVATAR_BYTES;

/// `GET /users/@me`.
pub async fn me(State(state): State<AppState>, principal: Principal) -> Result<axum::Json<Me>, ApiError> {
    Ok(axum::Json(state.chat.me(&principal).await?))
}

/// `PATCH /users/@me` → 200 with the account as its owner sees it.
pub async fn update_me(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Json(body): Json<UpdateMeRequest>,
) -> Result<axum::Json<Me>, ApiError> {
    let link_base = super::recovery::link_base(&state, &headers);
    Ok(axum::Json(state.chat.update_me(&principal, &body, &link_base).await?))
}

/// `DELETE /users/@me` → 204; the session cookie is cleared with the account.
pub async fn delete_me(
    State(state): State<AppState>,
    principal: Principal,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<DeleteAccountRequest>,
) -> Result<Response, ApiError> {
    let origin = super::auth::origin(peer, &headers);
    state.chat.delete_account(&principal, &origin, &body.password).await?;
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// `GET /users/@me/preferences`.
pub async fn preferences(State(state): State<AppState>, principal: Principal) -> Result<axum::Json<Preferences>, ApiError> {
    Ok(axum::Json(state.chat.preferences(&principal).await?))
}

/// `PUT /users/@me/preferences` → 200 with all preferences.
pub async fn update_preferences(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<UpdatePreferencesRequest>,
) -> Result<axum::Json<Preferences>, ApiError> {
    Ok(axum::Json(state.chat.update_preferences(&principal, &body).await?))
}

/// `PUT /users/@me/avatar` with the image as the body (any `Content-Type`: the bytes decide).
/// The body is read up to [`MAX_AVATAR_BYTES`] and no further.
pub async fn set_avatar(State(state): State<AppState>, principal: Principal, body: Body) -> Result<axum::Json<Me>, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_AVATAR_BYTES)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge, "Avatars are at most 2 MiB."))?;
    Ok(axum::Json(state.chat.set_avatar(&principal, bytes.into()).await?))
}

/// `DELETE /users/@me/avatar` → 200 with the account, now without an avatar.
pub async fn delete_avatar(State(state): State<AppState>, principal: Principal) -> Result<axum::Json<Me>, ApiError> {
    Ok(axum::Json(state.chat.delete_avatar(&principal).await?))
}

/// `?size=&v=` of an avatar.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvatarQuery {
    /// 32 or 128 pixels (default 128).
    #[serde(default)]
    size: Option<u32>,
    /// The version the client has from the user; a match may be cached for good.
    #[serde(default)]
    v: Option<String>,
}

/// `GET /users/{id}/avatar?size=` → the WebP image, with an `ETag`; cached for a year when
/// the request names the current version (a new upload changes it, and so the URL).
pub async fn avatar(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(user_id): ApiPath<Id>,
    ApiQuery(query): ApiQuery<AvatarQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let size = query.size.unwrap_or(128);
    let (version, image) = state.chat.avatar(&principal, user_id.0, size).await?;
    let etag = format!("\"{version}-{size}\"");
    let cache =
        if query.v.as_deref() == Some(version.as_str()) { "private, max-age=31536000, immutable" } else { "private, no-cache" };
    let mut response = if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, image).into_response()
    };
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/webp"));
    out.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex and digits"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}
