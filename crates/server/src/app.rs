//! The running server: opens storage, wires the use cases and serves HTTP on any listener until
//! its shutdown token is cancelled, then closes gateway sockets and the database cleanly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use cromulent_proto::admin::IceSettings;
use cromulent_turn::shell::RelayServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::builtin_relay::{self, RelayError};
use crate::config::{Config, Secret, TurnConfig, TurnProvider};
use crate::domain::id::IdGenerator;
use crate::http::listener::Front;
use crate::hub::{Hub, HubLimits};
use crate::service::{self, Chat, Voice};
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;
use crate::voice::ice::{Builtin, Coturn, Metered, RelayPorts, StunOnly};
use crate::voice::{IceProvider, IceServersSource, RequestHost};

/// How long shutdown waits for gateway connections to close.
const CONNECTIONS_GRACE: Duration = Duration::from_secs(5);

/// How long a Metered call may take, and how long its answer is reused.
const METERED_TIMEOUT: Duration = Duration::from_secs(5);
const METERED_CACHE: Duration = Duration::from_secs(300);

/// How often recorded request durations are folded into their histograms.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// How often quiet rate-limit keys and expired sessions are cleaned up.
const TIDY_EVERY: Duration = Duration::from_secs(600);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Opening or migrating the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A use case failed during start-up.
    #[error(transparent)]
    Service(#[from] service::Error),
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The built-in relay could not start.
    #[error(transparent)]
    Relay(#[from] RelayError),
    /// HTTPS could not start.
    #[error("HTTPS could not start: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Creating the data directory or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The `[smtp]` settings do not make a mail transport.
    #[error("[smtp] settings: {0}")]
    Mail(#[from] crate::mail::MailError),
}

/// What every request handler and gateway connection shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub chat: Chat,
    /// Configuration in effect.
    pub config: Arc<Config>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Gateway connection tasks, awaited at shutdown before the database closes.
    pub connections: TaskTracker,
    /// The built-in STUN/TURN relay, when `turn.provider = "builtin"`.
    pub relay: Option<Arc<RelayServer>>,
    /// Where the built-in relay listens, when it runs.
    pub relay_ports: Option<RelayPorts>,
    /// The built-in relay's secret and ports (the web port included), to build its ICE
    /// provider again for a Save & Test.
    builtin_ice: Option<(Secret, RelayPorts)>,
}

impl AppState {
    /// Creates the data directory, starts the built-in relay if configured, opens and migrates
    /// the database, and seeds default channels.
    pub async fn open(config: Config) -> Result<AppState, AppError> {
        AppState::open_serving(config, None).await
    }

    /// [`AppState::open`] for a server whose HTTPS port `web_port` also carries TURN, which the
    /// ICE servers then name.
    pub async fn open_serving(config: Config, web_port: Option<u16>) -> Result<AppState, AppError> {
        config.validate()?;
        create_private_dir(&config.data_dir)?;
        let shutdown = CancellationToken::new();
        let relay = builtin_relay::start(&config.turn, &config.data_dir, shutdown.clone()).await?;
        // If anything below fails, the relay's threads must stop with it.
        let stop_relay_on_error = shutdown.clone().drop_guard();
        let store = Store::open(&config.database_url()).await?;
        let hub = Hub::new(HubLimits {
            replay_frames: config.gateway.replay_frames,
            replay_bytes: config.gateway.replay_bytes,
            replay_age: config.gateway.replay_max_age(),
            send_queue_frames: config.gateway.send_queue_frames,
            resume_window: config.gateway.resume_window(),
            max_sessions_per_user: config.gateway.max_sessions_per_user as usize,
        });
        let ids = IdGenerator::starting_after(store.max_id().await?);
        let builtin_ice = relay.as_ref().map(|r| (r.secret.clone(), RelayPorts { web: web_port, ..r.ports }));
        let ice = IceServersSource::new(ice_provider(&config.turn, builtin_ice.clone()), config.turn.stun_urls.clone());
        let mut voice = Voice::new(config.voice.clone(), ice);
        if let Some(relay) = &relay {
            voice = voice.with_relay(relay.server.clone(), config.turn.credential_ttl_secs);
        }
        let metrics = if config.metrics.listen.is_some() { Metrics::prometheus() } else { Metrics::off() };
        let chat = Chat::new(store, hub, Arc::new(ids), config.auth.clone(), &config.chat, voice)
            .with_metrics(metrics)
            .with_audit_retention(config.admin.audit_retention_days)
            .with_locked(config.locked.clone())
            .with_mailer(crate::mail::Mailer::from_config(&config.smtp)?)
            .with_previews(config.links.previews.then(|| {
                // The relay's peer rules: what a relayed call may not reach, a preview may not either.
                let policy = cromulent_turn::peer_policy::PeerPolicy::new(
                    config.turn.allowed_peer_ips.clone(),
                    config.turn.denied_peer_ips.clone(),
                    config.links.allow_loopback,
                );
                crate::preview::LinkFetcher::new(policy)
            }));
        let (turn, builtin) = (config.turn.clone(), builtin_ice.clone());
        let factory = move |settings: &IceSettings| provider_from(&turn, builtin.clone(), settings);
        let chat = chat.with_ice_factory(Arc::new(factory), ice_settings_of(&config.turn));
        chat.create_default_channels().await?;
        chat.load_timeouts().await?;
        chat.load_runtime_settings().await?;
        stop_relay_on_error.disarm();
        Ok(AppState {
            chat,
            config: Arc::new(config),
            shutdown,
            connections: TaskTracker::new(),
            relay_ports: relay.as_ref().map(|r| r.ports),
            relay: relay.map(|r| r.server),
            builtin_ice,
        })
    }

    /// The ICE provider `settings` describe, on top of the running configuration, for a Save &
    /// Test; why not when they are incomplete.
    pub fn ice_provider_for(&self, settings: &IceSettings) -> Result<Box<dyn IceProvider>, &'static str> {
        provider_from(&self.config.turn, self.builtin_ice.clone(), settings).map(|(provider, _)| provider)
    }

    /// The host a request used to reach this server, for naming it in STUN/TURN URLs; the
    /// HTTP listener's IP when the `Host` header is missing or unusable.
    pub fn request_host(&self, headers: &HeaderMap) -> RequestHost {
        headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .and_then(RequestHost::parse)
            .or_else(|| {
                // Written as a socket address, so an IPv6 listener comes out bracketed.
                let ip = self.config.listen.ip();
                (!ip.is_unspecified()).then(|| RequestHost::parse(&SocketAddr::new(ip, 0).to_string())).flatten()
            })
            .unwrap_or_else(|| RequestHost::parse("localhost").expect("a valid host"))
    }
}

/// The HTTP server bound to a listener.
pub struct App {
    state: AppState,
    listener: TcpListener,
    /// HTTPS and the relay's share of the port, when TLS is on.
    front: Front,
    /// `http.redirect_listen`, bound.
    redirect: Option<TcpListener>,
    /// `metrics.listen`, bound.
    metrics: Option<TcpListener>,
}

impl App {
    /// Opens everything and binds to `listener` (port 0 works: see [`App::local_addr`]). With
    /// TLS on, `listener` serves HTTPS and the built-in relay's TURN over TCP and TLS too.
    pub async fn build(config: Config, listener: TcpListener) -> Result<App, AppError> {
        let web_port = config.tls.enabled().then(|| listener.local_addr().map(|a| a.port())).transpose()?;
        let state = AppState::open_serving(config, web_port).await?;
        let stop_on_error = state.shutdown.clone().drop_guard();
        let tls = crate::tls::start(&state.config.tls, &state.config.data_dir, state.shutdown.clone()).await?;
        let relay = match (&tls, &state.relay) {
            (Some(_), Some(relay)) => Some(relay.door()),
            _ => None,
        };
        let redirect =
            match state.config.http.redirect_listen {
                Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                    std::io::Error::new(e.kind(), format!("cannot listen on {addr} (http.redirect_listen): {e}"))
                })?),
                None => None,
            };
        let metrics = match state.config.metrics.listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr} (metrics.listen): {e}")))?,
            ),
            None => None,
        };
        stop_on_error.disarm();
        Ok(App { state, listener, front: Front { tls, relay }, redirect, metrics })
    }

    /// Where `metrics.listen` is bound, when it is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Where `http.redirect_listen` is bound, when it is set.
    pub fn redirect_addr(&self) -> Option<SocketAddr> {
        self.redirect.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// The configuration in effect.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// Where the built-in relay listens, when it runs.
    pub fn relay_ports(&self) -> Option<RelayPorts> {
        self.state.relay_ports
    }

    /// Cancel it to shut the server down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled: stops accepting, closes gateway sockets with
    /// close code 1001, waits for requests in flight, then closes the database.
    pub async fn run(self) -> Result<(), AppError> {
        let App { state, listener, front, redirect, metrics } = self;
        let shutdown = state.shutdown.clone();
        let started = std::time::Instant::now();
        let tidy = tokio::spawn(tidy(state.chat.clone(), shutdown.clone()));
        let heap = tokio::spawn(crate::heap::give_back_freed_memory(shutdown.clone()));
        let addr = listener.local_addr()?;
        let https = front.tls.is_some();
        tracing::info!(%addr, https, backend = ?state.chat.store().backend(), "listening");
        let redirect = redirect.map(|redirect| {
            tracing::info!(addr = %redirect.local_addr().map(|a| a.to_string()).unwrap_or_default(), "redirecting plain HTTP to HTTPS");
            let router = crate::http::redirect::router(addr.port());
            tokio::spawn(crate::http::listener::serve(redirect, router, Front::default(), shutdown.clone()))
        });
        let metrics = metrics.map(|metrics| {
            tracing::info!(addr = %metrics.local_addr().map(|a| a.to_string()).unwrap_or_default(), "serving /metrics");
            let router = crate::http::metrics::router(state.clone(), started);
            let upkeep = tokio::spawn(metrics_upkeep(state.chat.metrics().clone(), shutdown.clone()));
            let serve = tokio::spawn(crate::http::listener::serve(metrics, router, Front::default(), shutdown.clone()));
            (serve, upkeep)
        });
        let router = crate::http::router(state.clone());
        crate::http::listener::serve(listener, router, front, shutdown.clone()).await;
        shutdown.cancel();
        if let Some(redirect) = redirect {
            let _ = redirect.await;
        }
        if let Some((serve, upkeep)) = metrics {
            let _ = serve.await;
            let _ = upkeep.await;
        }
        let _ = tidy.await;
        let _ = heap.await;
        // Gateway tasks were told to close by the token; let them finish their last op and
        // send their close frame before the pool goes away under them.
        state.connections.close();
        if tokio::time::timeout(CONNECTIONS_GRACE, state.connections.wait()).await.is_err() {
            tracing::warn!(left = state.connections.len(), "gateway connections still closing at shutdown");
        }
        if let Some(relay) = &state.relay {
            relay.wait().await;
        }
        state.chat.store().close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The ICE settings `turn` describes, as an admin would write them.
fn ice_settings_of(turn: &TurnConfig) -> IceSettings {
    let provider = match turn.provider {
        TurnProvider::Builtin => "builtin",
        TurnProvider::Coturn => "coturn",
        TurnProvider::Metered => "metered",
        TurnProvider::None => "none",
    };
    let set = |s: &Secret| (!s.expose().is_empty()).then(|| s.expose().to_owned());
    IceSettings {
        provider: Some(provider.to_owned()),
        urls: Some(turn.urls.clone()),
        stun_urls: Some(turn.stun_urls.clone()),
        secret: set(&turn.secret),
        metered_api_url: Some(turn.metered_api_url.clone()),
        metered_api_key: set(&turn.metered_api_key),
    }
}

/// The provider `settings` describe over `turn`, with its STUN fallback URLs; why not when
/// they are incomplete or name a relay that is not running.
fn provider_from(
    turn: &TurnConfig,
    builtin: Option<(Secret, RelayPorts)>,
    settings: &IceSettings,
) -> Result<(Box<dyn IceProvider>, Vec<String>), &'static str> {
    let mut turn = turn.clone();
    if let Some(provider) = &settings.provider {
        turn.provider = match provider.as_str() {
            "builtin" => TurnProvider::Builtin,
            "coturn" => TurnProvider::Coturn,
            "metered" => TurnProvider::Metered,
            "none" => TurnProvider::None,
            _ => return Err("provider is builtin, coturn, metered or none"),
        };
    }
    if let Some(urls) = &settings.urls {
        turn.urls = urls.clone();
    }
    if let Some(urls) = &settings.stun_urls {
        turn.stun_urls = urls.clone();
    }
    if let Some(secret) = &settings.secret {
        turn.secret = Secret::from(secret.as_str());
    }
    if let Some(url) = &settings.metered_api_url {
        turn.metered_api_url = url.clone();
    }
    if let Some(key) = &settings.metered_api_key {
        turn.metered_api_key = Secret::from(key.as_str());
    }
    match turn.provider {
        TurnProvider::Builtin if builtin.is_none() => {
            Err("the built-in relay is not running (set turn.provider = \"builtin\" and restart)")
        }
        TurnProvider::Coturn if turn.secret.expose().is_empty() || turn.urls.is_empty() => {
            Err("coturn needs the shared secret and at least one TURN URL")
        }
        TurnProvider::Metered if turn.metered_api_url.is_empty() || turn.metered_api_key.expose().is_empty() => {
            Err("Metered needs its API URL and API key")
        }
        _ => Ok((ice_provider(&turn, builtin), turn.stun_urls.clone())),
    }
}

/// The ICE servers clients get, as `turn.provider` says: the built-in relay (named by the
/// host each client used, unless `turn.public_host`), an external coturn, Metered, or STUN only.
fn ice_provider(turn: &TurnConfig, builtin: Option<(Secret, RelayPorts)>) -> Box<dyn IceProvider> {
    let ttl_secs = turn.credential_ttl_secs as i64;
    match (turn.provider, builtin) {
        (TurnProvider::Builtin, Some((secret, ports))) => {
            Box::new(Builtin::new(secret, ports, RequestHost::parse(&turn.public_host), ttl_secs))
        }
        (TurnProvider::Coturn, _) => {
            Box::new(Coturn::new(turn.secret.clone(), turn.urls.clone(), turn.stun_urls.clone(), ttl_secs))
        }
        (TurnProvider::Metered, _) => {
            Box::new(Metered::new(&turn.metered_api_url, turn.metered_api_key.clone(), METERED_TIMEOUT, METERED_CACHE))
        }
        (TurnProvider::None | TurnProvider::Builtin, _) => Box::new(StunOnly::new(turn.stun_urls.clone())),
    }
}

/// Folds request durations into their histogram buckets every few seconds, so samples do not
/// pile up in memory when Prometheus scrapes rarely or never.
async fn metrics_upkeep(metrics: Metrics, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(METRICS_UPKEEP_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => metrics.upkeep(),
        }
    }
}

async fn tidy(chat: Chat, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(TIDY_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {
                if let Err(err) = chat.tidy().await {
                    tracing::warn!(error = %err, "tidying failed");
                }
            }
        }
    }
}

/// Creates `dir` readable by the server's user only, since it holds the database and secrets.
pub(crate) fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
