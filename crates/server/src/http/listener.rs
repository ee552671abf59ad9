//! Serving the router on a TCP listener with hyper, as `axum::serve` would, but with the HTTP
//! parser's header limits set well above the router's own ([`MAX_HEADERS`], [`MAX_HEADER_BYTES`]):
//! requests over the router's limits then get the documented JSON `431` instead of the parser's
//! empty one. With TLS on, the port is the front door for everything ([`Front`]): each
//! connection's first bytes ([`super::sniff`]) send it to HTTPS or, as TURN over TCP or TLS, to
//! the relay. Connections finish gracefully when the shutdown token is cancelled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use cromulent_turn::shell::{HandedStream, RelayStream, StreamDoor};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::server::graceful::Watcher;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower_http::add_extension::AddExtension;

use super::sniff::{self, FirstBytes};
use crate::tls::ACME_TLS_ALPN;

/// Header fields a request may carry before the router answers `431`.
pub const MAX_HEADERS: usize = 100;
/// Bytes of header fields a request may carry before the router answers `431`.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The parser's own limits, past which it answers an empty `431` and closes: far enough above
/// the router's that only absurd requests meet them, low enough to bound a connection's buffer.
const PARSER_MAX_HEADERS: usize = 512;
const PARSER_MAX_BUF: usize = 256 * 1024;

/// How long a connection may take to say what it is (plain) and to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a TLS connection may stay silent before its first request (browsers open
/// connections ahead of need).
const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the web port serves besides plain HTTP.
#[derive(Clone, Default)]
pub struct Front {
    /// HTTPS, with this configuration; plain HTTP when `None`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// With HTTPS on, where TURN connections recognised on the port go (the built-in relay).
    pub relay: Option<StreamDoor>,
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then waits for requests in flight.
pub async fn serve(listener: TcpListener, router: Router, front: Front, shutdown: CancellationToken) {
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
        let http = Http { builder: builder.clone(), router: router.clone(), peer, watcher: graceful.watcher() };
        match &front.tls {
            None => {
                tokio::spawn(http.serve(stream));
            }
            Some(tls) => {
                tokio::spawn(front_door(stream, tls.clone(), front.relay.clone(), http));
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

/// What serving one connection as HTTP needs.
struct Http {
    builder: auto::Builder<TokioExecutor>,
    router: Router,
    peer: SocketAddr,
    watcher: Watcher,
}

impl Http {
    async fn serve<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(self, stream: S) {
        let service = TowerToHyperService::new(AddExtension::new(self.router, ConnectInfo::<SocketAddr>(self.peer)));
        let connection = self.builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        if let Err(error) = self.watcher.watch(connection.into_owned()).await {
            tracing::debug!(%error, "connection ended with an error");
        }
    }
}

/// Where a connection to the HTTPS port goes.
enum Opened<H> {
    Http(H),
    Turn(Box<dyn RelayStream>, bool),
    Nothing,
}

/// One connection to the HTTPS port: a TLS handshake or plain TURN, then, inside TLS, TURN or
/// HTTP. A TLS-ALPN-01 validation ends after its handshake; anything else is closed.
async fn front_door(stream: TcpStream, tls: Arc<rustls::ServerConfig>, relay: Option<StreamDoor>, http: Http) {
    let Ok(server) = stream.local_addr() else { return };
    let handshake = async {
        let (stream, kind) = sniff::read_start(stream).await?;
        match kind {
            FirstBytes::Stun => return Ok(Opened::Turn(Box::new(stream), false)),
            FirstBytes::Other => return Ok(Opened::Nothing),
            FirstBytes::Tls => {}
        }
        let stream = tokio_rustls::TlsAcceptor::from(tls).accept(stream).await?;
        Ok::<_, std::io::Error>(if stream.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN) {
            Opened::Nothing
        } else {
            Opened::Http(stream)
        })
    };
    let opened = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(Opened::Http(stream))) => match tokio::time::timeout(FIRST_REQUEST_TIMEOUT, sniff::read_start(stream)).await {
            Ok(Ok((stream, FirstBytes::Stun))) => Opened::Turn(Box::new(stream), true),
            Ok(Ok((stream, _))) => Opened::Http(stream),
            _ => Opened::Nothing,
        },
        Ok(Ok(Opened::Turn(stream, tls))) => Opened::Turn(stream, tls),
        _ => Opened::Nothing,
    };
    match opened {
        Opened::Http(stream) => http.serve(stream).await,
        Opened::Turn(stream, tls) => {
            if let Some(relay) = relay {
                relay.hand_over(HandedStream { stream, client: http.peer, server, tls });
            }
        }
        Opened::Nothing => {}
    }
}
