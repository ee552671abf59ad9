//! The WebSocket gateway at `/api/v1/gateway`: checks the upgrade (Origin, cookie) and hands the
//! socket to a [`connection`] task. The frame format is in `docs/protocol.md`.

mod connection;
mod op;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cromulent_proto::ErrorCode;

use crate::app::AppState;
use crate::http::{ApiError, origin_allowed, session_cookie};
use crate::service::Error;

/// Upgrades to a gateway connection when the Origin (if any) is this server or an allowed one.
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        let message = "The gateway speaks WebSocket: send a GET with Upgrade: websocket.";
        return ApiError::new(StatusCode::UPGRADE_REQUIRED, ErrorCode::UpgradeRequired, message).into_response();
    };
    if !origin_allowed(&headers, &state.config.http.allowed_origins) {
        return ApiError::from(Error::Forbidden("This origin may not open the gateway.")).into_response();
    }
    let cookie_token = session_cookie(&headers);
    let max_frame = state.config.gateway.max_frame_bytes;
    let connections = state.connections.clone();
    let host = state.request_host(&headers);
    upgrade
        // Small buffers keep an idle connection's memory in single-digit KiB; tungstenite's
        // defaults (128 KiB read buffer) would dominate the server's footprint.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(max_frame)
        .max_frame_size(max_frame)
        .on_upgrade(move |socket| connections.track_future(connection::run(socket, state, cookie_token, host)))
}
