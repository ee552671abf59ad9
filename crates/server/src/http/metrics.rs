//! The metrics listener: `GET /metrics` in the Prometheus text format, on its own address
//! (`metrics.listen`), never on the public port. Figures other parts already keep are copied
//! into their series here, when Prometheus asks, rather than mirrored on every change.

use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;

/// The Prometheus text exposition format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics listener's routes; `started` is when the server started, for its uptime.
pub fn router(state: AppState, started: Instant) -> Router {
    Router::new()
        .route("/metrics", get(move |state| scrape(state, started)))
        .fallback(|| async { (StatusCode::NOT_FOUND, "only /metrics is served here\n") })
        .with_state(state)
}

async fn scrape(State(state): State<AppState>, started: Instant) -> Response {
    let metrics = state.chat.metrics();
    match state.chat.store().count_users().await {
        Ok(users) => metrics.gauge("cromulent_users", &[]).set(users as f64),
        // The database being down is what /healthz and the request series report; the rest
        // of the figures are still worth having.
        Err(err) => tracing::warn!(error = %err, "cannot count users for /metrics"),
    }
    metrics.gauge("cromulent_voice_sessions", &[]).set(state.chat.voice_session_count() as f64);
    let (idle, active) = state.chat.store().pool_connections();
    metrics.gauge("cromulent_db_pool_connections", &[("state", "idle")]).set(idle as f64);
    metrics.gauge("cromulent_db_pool_connections", &[("state", "active")]).set(active as f64);
    metrics.gauge("cromulent_uptime_seconds", &[]).set(started.elapsed().as_secs_f64());
    if let Some(relay) = &state.relay {
        let relay = relay.counters().snapshot();
        metrics.gauge("cromulent_turn_allocations", &[]).set(relay.allocations_active as f64);
        let relayed = [
            ("to_peer", relay.packets_to_peers, relay.bytes_to_peers),
            ("to_client", relay.packets_to_clients, relay.bytes_to_clients),
        ];
        for (direction, packets, bytes) in relayed {
            metrics.counter("cromulent_turn_relayed_packets_total", &[("direction", direction)]).absolute(packets);
            metrics.counter("cromulent_turn_relayed_bytes_total", &[("direction", direction)]).absolute(bytes);
        }
        metrics.counter("cromulent_turn_auth_failures_total", &[]).absolute(relay.auth_failures);
        metrics.counter("cromulent_turn_refused_peers_total", &[]).absolute(relay.peers_refused);
        metrics.counter("cromulent_turn_quota_refusals_total", &[]).absolute(relay.quota_refusals);
        metrics.counter("cromulent_turn_bindings_total", &[]).absolute(relay.bindings);
        metrics.counter("cromulent_turn_dropped_packets_total", &[]).absolute(relay.dropped);
        metrics.counter("cromulent_turn_internal_deliveries_total", &[]).absolute(relay.internal_deliveries);
    }
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], metrics.render()).into_response()
}
