//! `/voice/ice-servers`: STUN/TURN servers with fresh, time-limited credentials for the caller.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;

use crate::app::AppState;
use crate::domain::principal::Principal;

/// `GET /voice/ice-servers`; never cached, since every answer carries new credentials.
pub async fn ice_servers(State(state): State<AppState>, principal: Principal, headers: HeaderMap) -> impl IntoResponse {
    let host = state.request_host(&headers);
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(state.chat.ice_servers(principal.user_id, &host).await))
}
