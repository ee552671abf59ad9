//! `/voice/ice-servers`: STUN/TURN servers with fresh, time-limited credentials for the caller;
//! `/connection-test`: the same for a connection test, before login.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;

use crate::app::AppState;
use crate::domain::principal::Principal;
use crate::http::ApiError;

/// `GET /voice/ice-servers`; never cached, since every answer carries new credentials.
pub async fn ice_servers(State(state): State<AppState>, principal: Principal, headers: HeaderMap) -> impl IntoResponse {
    let host = state.request_host(&headers);
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(state.chat.ice_servers(principal.user_id, &host).await))
}

/// `GET /connection-test`: ICE servers for testing this network against the server, with or
/// without a session; never cached.
pub async fn connection_test(
    State(state): State<AppState>,
    principal: Option<Principal>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let host = state.request_host(&headers);
    let servers = state.chat.probe_ice_servers(principal.as_ref(), peer.ip(), &host).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(servers)))
}
