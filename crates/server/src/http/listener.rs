//! Serving the router on a TCP listener with hyper, as `axum::serve` would, but with the HTTP
//! parser's header limits set well above the router's own ([`MAX_HEADERS`], [`MAX_HEADER_BYTES`]):
//! requests over the router's limits then get the documented JSON `431` instead of the parser's
//! empty one. Connections finish gracefully when the shutdown token is cancelled.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::add_extension::AddExtension;

/// Header fields a request may carry before the router answers `431`.
pub const MAX_HEADERS: usize = 100;
/// Bytes of header fields a request may carry before the router answers `431`.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The parser's own limits, past which it answers an empty `431` and closes: far enough above
/// the router's that only absurd requests meet them, low enough to bound a connection's buffer.
const PARSER_MAX_HEADERS: usize = 512;
const PARSER_MAX_BUF: usize = 256 * 1024;

/// Serves `router` on `listener` until `shutdown` is cancelled, then waits for requests in flight.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().max_headers(PARSER_MAX_HEADERS).max_buf_size(PARSER_MAX_BUF);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before accept: keep serving.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(AddExtension::new(router.clone(), ConnectInfo::<SocketAddr>(peer)));
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
