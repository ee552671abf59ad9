//! Configuration: built-in defaults, then an optional TOML file, then `CROMULENT_*` environment
//! variables, then command-line flags; later sources win. Every value is typed as it is read and
//! checked once by [`Config::validate`], so nothing downstream parses or checks it again.
//! [`keys::KEYS`] documents every key for `--help` and `docs/configuration.md`.

mod keys;
mod smtp;
mod tls;
mod turn;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub use keys::{KEYS, Key, env_name, keys_help};
pub use smtp::{SmtpConfig, SmtpTls};
pub use tls::{LETS_ENCRYPT, TlsConfig, TlsSource};
pub use turn::{PortRange, TlsFiles, TurnConfig, TurnProvider};

/// Everything the server can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address of the HTTP listener (web client, REST API, gateway); with TLS on and nothing
    /// set, `0.0.0.0:443` instead of the default.
    pub listen: SocketAddr,
    /// Directory for the SQLite database and other state.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; empty means a SQLite file in `data_dir`.
    pub database_url: String,
    /// Log filter, in `RUST_LOG` syntax.
    pub log: String,
    /// `pretty` for people, `json` for log collectors.
    pub log_format: LogFormat,
    /// HTTP settings.
    pub http: HttpConfig,
    /// HTTPS settings.
    pub tls: TlsConfig,
    /// Account and session settings.
    pub auth: AuthConfig,
    /// WebSocket gateway settings.
    pub gateway: GatewayConfig,
    /// Text chat settings.
    pub chat: ChatConfig,
    /// Administration settings.
    pub admin: AdminConfig,
    /// Prometheus metrics.
    pub metrics: MetricsConfig,
    /// Voice channel settings.
    pub voice: VoiceConfig,
    /// STUN/TURN settings for voice.
    pub turn: TurnConfig,
    /// Outgoing mail (password reset, address confirmation).
    pub smtp: SmtpConfig,
    /// Link previews.
    pub links: LinksConfig,
    /// Keys admins may otherwise change at run time that a file, variable or flag set, with
    /// where: those win over the database and show as read-only.
    #[serde(skip)]
    pub locked: std::collections::BTreeMap<String, String>,
}

/// Keys an admin may change at run time (`PATCH /settings`) unless configuration sets them.
pub const RUNTIME_KEYS: [&str; 8] = [
    "voice.enabled",
    "voice.force_relay",
    "turn.provider",
    "turn.urls",
    "turn.stun_urls",
    "turn.secret",
    "turn.metered_api_url",
    "turn.metered_api_key",
];

/// `[voice]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    /// Whether voice channels can be joined.
    pub enabled: bool,
    /// Tell clients to use relayed candidates only, so no participant learns another's address.
    pub force_relay: bool,
    /// How long a voice session survives its gateway connection dropping, waiting for `resume`.
    pub grace_ms: u64,
    /// Largest `signal` payload, in bytes of JSON.
    pub max_signal_bytes: usize,
    /// Signals a user may send per minute (ICE candidates come in bursts).
    pub signals_per_minute: u32,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig { enabled: true, force_relay: false, grace_ms: 15_000, max_signal_bytes: 12 * 1024, signals_per_minute: 600 }
    }
}

/// A configured secret: its `Debug` never shows it, so it cannot reach a log by accident.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret, for minting credentials.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "Secret(empty)" } else { "Secret(..)" })
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Origins besides the server's own allowed to open the gateway and use the session cookie,
    /// e.g. `https://chat.example.org`.
    pub allowed_origins: Vec<String>,
    /// With TLS on, a plain-HTTP listener that redirects every request to HTTPS (e.g.
    /// `0.0.0.0:80`); written `""` for none.
    #[serde(with = "turn::blank_is_none")]
    pub redirect_listen: Option<SocketAddr>,
    /// The address people open the server at, e.g. `https://chat.example.org`: links in mail
    /// point there. Empty: the first ACME name, else the host the request came to.
    pub public_url: String,
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a login session lasts, in days.
    pub session_ttl_days: u32,
    /// Login and registration attempts allowed per client IP per minute.
    pub attempts_per_ip_per_minute: u32,
    /// Login attempts allowed per account per minute from one address (or one proven device).
    pub attempts_per_account_per_minute: u32,
    /// Login attempts allowed per account per minute from all addresses together, counting
    /// only clients without a device cookie of that account; past it only those get in.
    pub attempts_per_account_from_anywhere_per_minute: u32,
    /// Password hashes computed at once (each holds 19 MiB while it runs); 0 means one per core.
    pub max_concurrent_hashes: u32,
    /// New accounts need an email address and must follow a mailed link before they log in.
    pub require_email_verification: bool,
}

/// `[links]`: previews of links in messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinksConfig {
    /// Fetch a preview (title, description, picture) of the first link in each message.
    pub previews: bool,
    /// Let previews reach loopback addresses: tests only, never production.
    pub allow_loopback: bool,
}

impl Default for LinksConfig {
    fn default() -> Self {
        LinksConfig { previews: true, allow_loopback: false }
    }
}

/// `[admin]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Days the audit log keeps an entry.
    pub audit_retention_days: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig { audit_retention_days: 90 }
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address of the separate listener serving `GET /metrics`; off when `None`. Metrics say
    /// how busy the server is and who is online, so they are never served on the public port.
    /// Written `""` for none.
    #[serde(with = "turn::blank_is_none")]
    pub listen: Option<SocketAddr>,
}

/// `[chat]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Messages one user may post per 10 seconds, over REST and the gateway alike.
    pub messages_per_10s: u32,
    /// Messages one user may post at once before the rate applies.
    pub message_burst: u32,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig { messages_per_10s: 10, message_burst: 5 }
    }
}

/// `[gateway]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Interval clients must heartbeat at; two silent intervals close the connection.
    pub heartbeat_interval_ms: u64,
    /// How long a dropped connection's session stays resumable (and its user online).
    pub resume_window_ms: u64,
    /// Frames kept per session for `resume`.
    pub replay_frames: usize,
    /// Text bytes kept per session for `resume`.
    pub replay_bytes: usize,
    /// Age after which a frame is no longer kept for `resume`, in milliseconds.
    pub replay_max_age_ms: u64,
    /// Gateway sessions one user may hold; one more ends their oldest (close 4012).
    pub max_sessions_per_user: u32,
    /// Frames queued for a connection before it counts as a slow consumer and is closed.
    pub send_queue_frames: usize,
    /// Largest frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// Ops a connection may send per minute before it is closed.
    pub ops_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 4000)),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            log: "info".to_owned(),
            log_format: LogFormat::Pretty,
            http: HttpConfig::default(),
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            gateway: GatewayConfig::default(),
            chat: ChatConfig::default(),
            admin: AdminConfig::default(),
            metrics: MetricsConfig::default(),
            voice: VoiceConfig::default(),
            turn: TurnConfig::default(),
            smtp: SmtpConfig::default(),
            links: LinksConfig::default(),
            locked: Default::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { max_body_bytes: 64 * 1024, allowed_origins: Vec::new(), redirect_listen: None, public_url: String::new() }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_ttl_days: 30,
            attempts_per_ip_per_minute: 30,
            attempts_per_account_per_minute: 10,
            attempts_per_account_from_anywhere_per_minute: 30,
            max_concurrent_hashes: 0,
            require_email_verification: false,
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            heartbeat_interval_ms: 30_000,
            resume_window_ms: 30_000,
            replay_frames: 1_000,
            replay_bytes: 1024 * 1024,
            replay_max_age_ms: 300_000,
            max_sessions_per_user: 20,
            send_queue_frames: 512,
            max_frame_bytes: 16 * 1024,
            ops_per_minute: 300,
        }
    }
}

impl Config {
    /// The database URL in effect: `database_url`, or a SQLite file in `data_dir`.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("cromulent.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

impl GatewayConfig {
    /// Heartbeat interval as a duration.
    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval_ms)
    }

    /// Replay age limit as a duration.
    pub fn replay_max_age(&self) -> Duration {
        Duration::from_millis(self.replay_max_age_ms)
    }

    /// Resume window as a duration.
    pub fn resume_window(&self) -> Duration {
        Duration::from_millis(self.resume_window_ms)
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or parsed.
    #[error("invalid configuration: {0}")]
    Source(#[from] Box<figment::Error>),
    /// A provider is chosen without the settings it needs.
    #[error("invalid configuration: {0}")]
    Incomplete(&'static str),
    /// A value is out of its range.
    #[error("invalid configuration: {key} must be between {min} and {max}")]
    OutOfRange {
        /// The dotted key.
        key: &'static str,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
}

/// Settings given as command-line flags, applied last.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--log`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

/// Where the web listener goes with TLS on when no source names one: the HTTPS port.
pub const TLS_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 443);

/// Loads the configuration: defaults, `file` if given, `CROMULENT_*` variables, then `overrides`.
pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
    let mut given = Figment::new();
    if let Some(file) = file {
        given = given.merge(Toml::file_exact(file));
    }
    let env = Env::prefixed("CROMULENT_").filter_map(|key| keys::dotted_key(key.as_str()).map(Into::into));
    given = given.merge(env).merge(Serialized::defaults(overrides));
    let listen_given = given.contains("listen");
    let mut config: Config =
        Figment::from(Serialized::defaults(Config::default())).merge(given.clone()).extract().map_err(Box::new)?;
    for key in RUNTIME_KEYS {
        if let Some(metadata) = given.find_metadata(key) {
            let source = match metadata.name.as_ref() {
                name if name.contains("environment") => format!("environment variable {}", env_name(key)),
                name if name.contains("TOML") => "configuration file".to_owned(),
                _ => "command line".to_owned(),
            };
            config.locked.insert(key.to_owned(), source);
        }
    }
    if config.tls.enabled() && !listen_given {
        config.listen = TLS_LISTEN;
    }
    config.validate()?;
    Ok(config)
}

impl Config {
    /// Checks that numbers are in ranges the server can work with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let g = &self.gateway;
        let checks: [(&'static str, u64, u64, u64); 20] = [
            ("voice.grace_ms", self.voice.grace_ms, 0, 3_600_000),
            ("voice.max_signal_bytes", self.voice.max_signal_bytes as u64, 256, 1024 * 1024),
            ("voice.signals_per_minute", u64::from(self.voice.signals_per_minute), 1, 1_000_000),
            ("turn.credential_ttl_secs", self.turn.credential_ttl_secs, 60, 7 * 86_400),
            ("turn.user_quota", u64::from(self.turn.user_quota), 1, 1_000),
            ("turn.max_connections_per_ip", u64::from(self.turn.max_connections_per_ip), 1, 4_096),
            ("gateway.heartbeat_interval_ms", g.heartbeat_interval_ms, 100, 3_600_000),
            ("gateway.resume_window_ms", g.resume_window_ms, 0, 86_400_000),
            ("gateway.replay_frames", g.replay_frames as u64, 1, 1_000_000),
            ("gateway.replay_bytes", g.replay_bytes as u64, 64 * 1024, 1024 * 1024 * 1024),
            ("gateway.replay_max_age_ms", g.replay_max_age_ms, 1_000, 86_400_000),
            ("gateway.max_sessions_per_user", u64::from(g.max_sessions_per_user), 1, 10_000),
            ("gateway.send_queue_frames", g.send_queue_frames as u64, 1, 1_000_000),
            ("gateway.max_frame_bytes", g.max_frame_bytes as u64, 1024, 16 * 1024 * 1024),
            ("gateway.ops_per_minute", u64::from(g.ops_per_minute), 1, 1_000_000),
            ("auth.session_ttl_days", u64::from(self.auth.session_ttl_days), 1, 3650),
            ("auth.max_concurrent_hashes", u64::from(self.auth.max_concurrent_hashes), 0, 256),
            ("chat.messages_per_10s", u64::from(self.chat.messages_per_10s), 1, 10_000_000),
            ("chat.message_burst", u64::from(self.chat.message_burst), 1, 10_000_000),
            ("admin.audit_retention_days", u64::from(self.admin.audit_retention_days), 1, 36_500),
        ];
        for (key, value, min, max) in checks {
            if !(min..=max).contains(&value) {
                return Err(ConfigError::OutOfRange { key, min, max });
            }
        }
        if let Some(problem) = self.tls.problem() {
            return Err(ConfigError::Incomplete(problem));
        }
        if self.smtp.enabled() && self.smtp.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Incomplete("smtp.from must be a sender address such as \"Chat <chat@example.org>\""));
        }
        if self.auth.require_email_verification && !self.smtp.enabled() {
            return Err(ConfigError::Incomplete("auth.require_email_verification needs [smtp] to send the links"));
        }
        if !self.http.public_url.is_empty() {
            match url::Url::parse(&self.http.public_url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {}
                _ => {
                    return Err(ConfigError::Incomplete(
                        "http.public_url must be an http(s) URL such as https://chat.example.org",
                    ));
                }
            }
        }
        if self.http.redirect_listen.is_some() && !self.tls.enabled() {
            return Err(ConfigError::Incomplete("http.redirect_listen redirects to HTTPS, which needs [tls]"));
        }
        if self.metrics.listen.is_some_and(|m| m.port() != 0 && m.port() == self.listen.port()) {
            return Err(ConfigError::Incomplete(
                "metrics.listen needs a port of its own: metrics are never served on the public one",
            ));
        }
        let turn = &self.turn;
        if turn.tls_cert.as_os_str().is_empty() != turn.tls_key.as_os_str().is_empty() {
            return Err(ConfigError::Incomplete("turn.tls_cert and turn.tls_key go together"));
        }
        match turn.provider {
            TurnProvider::Coturn if turn.secret.expose().is_empty() || turn.urls.is_empty() => {
                Err(ConfigError::Incomplete("turn.provider = \"coturn\" needs turn.secret and turn.urls"))
            }
            TurnProvider::Metered if turn.metered_api_url.is_empty() || turn.metered_api_key.expose().is_empty() => {
                Err(ConfigError::Incomplete("turn.provider = \"metered\" needs turn.metered_api_url and turn.metered_api_key"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err, reason = "figment's Jail API returns its own error")]
    fn later_sources_win() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "listen = \"127.0.0.1:1\"\ndata_dir = \"/from-file\"\n[gateway]\nreplay_frames = 7\n")?;
            jail.set_env("CROMULENT_DATA_DIR", "/from-env");
            jail.set_env("CROMULENT_GATEWAY_HEARTBEAT_INTERVAL_MS", "1234");
            jail.set_env("CROMULENT_TEST_SOMETHING", "ignored");
            let overrides = Overrides { listen: Some("127.0.0.1:2".parse().unwrap()), ..Default::default() };
            let config = load(Some(Path::new("c.toml")), &overrides).unwrap();
            assert_eq!(config.listen, "127.0.0.1:2".parse().unwrap());
            assert_eq!(config.data_dir, PathBuf::from("/from-env"));
            assert_eq!(config.gateway.replay_frames, 7);
            assert_eq!(config.gateway.heartbeat_interval_ms, 1234);
            assert_eq!(config.database_url(), "sqlite:///from-env/cromulent.db");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err, reason = "figment's Jail API returns its own error")]
    fn with_tls_the_default_listener_is_the_https_port_unless_one_is_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CROMULENT_TLS_ACME_DOMAINS", "[\"chat.example.org\"]");
            let config = load(None, &Overrides::default()).unwrap();
            assert_eq!(config.listen, TLS_LISTEN);
            jail.set_env("CROMULENT_LISTEN", "127.0.0.1:8443");
            assert_eq!(load(None, &Overrides::default()).unwrap().listen, "127.0.0.1:8443".parse().unwrap());
            Ok(())
        });
        figment::Jail::expect_with(|_| {
            assert_eq!(load(None, &Overrides::default()).unwrap().listen, Config::default().listen, "no TLS, no change");
            Ok(())
        });
    }

    #[test]
    fn a_redirect_without_tls_is_refused() {
        let mut config = Config::default();
        config.http.redirect_listen = Some("0.0.0.0:80".parse().unwrap());
        assert!(config.validate().unwrap_err().to_string().contains("http.redirect_listen"));
        config.tls.acme_domains = vec!["chat.example.org".into()];
        assert!(config.validate().is_ok());
    }

    #[test]
    fn metrics_never_share_the_public_port() {
        let mut config = Config::default();
        config.metrics.listen = Some("127.0.0.1:4000".parse().unwrap());
        assert!(config.validate().unwrap_err().to_string().contains("metrics.listen"));
        config.metrics.listen = Some("127.0.0.1:9100".parse().unwrap());
        assert!(config.validate().is_ok());
    }

    #[test]
    fn out_of_range_numbers_are_refused() {
        let mut config = Config::default();
        config.gateway.heartbeat_interval_ms = u64::MAX;
        assert!(config.validate().unwrap_err().to_string().contains("gateway.heartbeat_interval_ms"));
        config.gateway.heartbeat_interval_ms = 1000;
        config.gateway.send_queue_frames = 0;
        assert!(config.validate().is_err());
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    #[allow(clippy::result_large_err, reason = "figment's Jail API returns its own error")]
    fn typos_in_the_file_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[gateway]\nheartbeat_interval = 5\n")?;
            let err = load(Some(Path::new("c.toml")), &Overrides::default()).unwrap_err();
            assert!(err.to_string().contains("heartbeat_interval"), "{err}");
            Ok(())
        });
    }
}
