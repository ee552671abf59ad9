//! Configuration: built-in defaults, then an optional TOML file, then `CROMULENT_*` environment
//! variables, then command-line flags; later sources win. [`KEYS`] documents every key once,
//! for `--help` and `docs/configuration.md`.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Everything the server can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address of the HTTP listener (web client, REST API, gateway).
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
    /// Account and session settings.
    pub auth: AuthConfig,
    /// WebSocket gateway settings.
    pub gateway: GatewayConfig,
    /// Voice channel settings.
    pub voice: VoiceConfig,
    /// STUN/TURN settings for voice.
    pub turn: TurnConfig,
}

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

/// Which ICE servers clients get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnProvider {
    /// The relay built into this server.
    Builtin,
    /// STUN only, from `turn.stun_urls`.
    None,
    /// An external coturn with `use-auth-secret`.
    Coturn,
    /// Metered's managed TURN.
    Metered,
}

/// `[turn]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TurnConfig {
    /// `builtin`, `none`, `coturn` or `metered`.
    pub provider: TurnProvider,
    /// Shared secret for REST credentials (coturn's `static-auth-secret`); the built-in relay
    /// generates one in `data_dir` when empty.
    pub secret: Secret,
    /// UDP and TCP address of the built-in relay; an unspecified IP listens on every local address.
    pub listen: SocketAddr,
    /// TLS (`turns:`) address of the built-in relay, used when `tls_cert` and `tls_key` are set.
    pub tls_listen: SocketAddr,
    /// PEM certificate chain for `turns:`.
    pub tls_cert: PathBuf,
    /// PEM private key for `turns:`.
    pub tls_key: PathBuf,
    /// Realm of the built-in relay's long-term credentials.
    pub realm: String,
    /// Public address advertised for relayed addresses when the server sits behind NAT.
    pub public_ip: String,
    /// Host name put in the STUN/TURN URLs; empty means the host the client used for the web server.
    pub public_host: String,
    /// Ports for relayed addresses, `LOW-HIGH`.
    pub relay_ports: String,
    /// Peer ranges (CIDR) the relay may reach although they are denied by default.
    pub allowed_peer_ips: Vec<String>,
    /// Peer ranges (CIDR) refused in addition to the default internal ranges.
    pub denied_peer_ips: Vec<String>,
    /// Let the relay reach loopback peers: for tests only, never in production.
    pub allow_loopback_peers: bool,
    /// Refuse refreshes of allocations whose credential has expired (ends long calls at expiry).
    pub strict_expiry: bool,
    /// Allocations one user may hold at once.
    pub user_quota: u32,
    /// Allocations the relay holds at once.
    pub total_quota: u32,
    /// Bandwidth one allocation may use in each direction, kbit/s; 0 for no cap.
    pub allocation_kbps: u32,
    /// TURN URLs handed to clients with credentials.
    pub urls: Vec<String>,
    /// STUN URLs handed to clients (and the fallback when the provider fails).
    pub stun_urls: Vec<String>,
    /// Lifetime of minted TURN credentials, in seconds.
    pub credential_ttl_secs: u64,
    /// Metered's API base URL, e.g. `https://example.metered.live`.
    pub metered_api_url: String,
    /// Metered credential API key.
    pub metered_api_key: Secret,
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            provider: TurnProvider::Builtin,
            secret: Secret::default(),
            listen: SocketAddr::from(([0, 0, 0, 0], 3478)),
            tls_listen: SocketAddr::from(([0, 0, 0, 0], 5349)),
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
            realm: "cromulent".to_owned(),
            public_ip: String::new(),
            public_host: String::new(),
            relay_ports: "49152-65535".to_owned(),
            allowed_peer_ips: Vec::new(),
            denied_peer_ips: Vec::new(),
            allow_loopback_peers: false,
            strict_expiry: false,
            user_quota: 10,
            total_quota: 10_000,
            allocation_kbps: 2_000,
            urls: Vec::new(),
            stun_urls: Vec::new(),
            credential_ttl_secs: 3600,
            metered_api_url: String::new(),
            metered_api_key: Secret::default(),
        }
    }
}

/// The built-in relay's settings, parsed from their text forms.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// `turn.public_ip`.
    pub public_ip: Option<IpAddr>,
    /// `turn.relay_ports`.
    pub relay_ports: RangeInclusive<u16>,
    /// `turn.allowed_peer_ips`.
    pub allowed_peers: Vec<IpNet>,
    /// `turn.denied_peer_ips`.
    pub denied_peers: Vec<IpNet>,
    /// Whether `turns:` is on.
    pub tls: bool,
}

impl TurnConfig {
    /// Parses the relay's text settings; the error names the key at fault.
    pub fn relay_settings(&self) -> Result<RelaySettings, ConfigError> {
        let public_ip = match self.public_ip.trim() {
            "" => None,
            ip => Some(ip.parse().map_err(|_| ConfigError::Invalid("turn.public_ip must be an IP address"))?),
        };
        let relay_ports = self
            .relay_ports
            .split_once('-')
            .and_then(|(low, high)| Some(low.trim().parse::<u16>().ok()?..=high.trim().parse::<u16>().ok()?))
            .filter(|range| *range.start() >= 1024 && range.start() <= range.end())
            .ok_or(ConfigError::Invalid("turn.relay_ports must be LOW-HIGH with 1024 <= LOW <= HIGH <= 65535"))?;
        let nets = |list: &[String], key: &'static str| -> Result<Vec<IpNet>, ConfigError> {
            list.iter()
                .map(|net| {
                    net.parse::<IpNet>()
                        .or_else(|_| net.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| ConfigError::Invalid(key))
                })
                .collect()
        };
        let allowed_peers = nets(&self.allowed_peer_ips, "turn.allowed_peer_ips must be CIDR ranges like 10.8.0.0/16")?;
        let denied_peers = nets(&self.denied_peer_ips, "turn.denied_peer_ips must be CIDR ranges like 10.8.0.0/16")?;
        let tls = match (self.tls_cert.as_os_str().is_empty(), self.tls_key.as_os_str().is_empty()) {
            (true, true) => false,
            (false, false) => true,
            _ => return Err(ConfigError::Incomplete("turn.tls_cert and turn.tls_key go together")),
        };
        Ok(RelaySettings { public_ip, relay_ports, allowed_peers, denied_peers, tls })
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
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a login session lasts, in days.
    pub session_ttl_days: u32,
    /// Login and registration attempts allowed per client IP per minute.
    pub attempts_per_ip_per_minute: u32,
    /// Login attempts allowed per account per minute.
    pub attempts_per_account_per_minute: u32,
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
            auth: AuthConfig::default(),
            gateway: GatewayConfig::default(),
            voice: VoiceConfig::default(),
            turn: TurnConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { max_body_bytes: 64 * 1024, allowed_origins: Vec::new() }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { session_ttl_days: 30, attempts_per_ip_per_minute: 30, attempts_per_account_per_minute: 10 }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            heartbeat_interval_ms: 30_000,
            resume_window_ms: 30_000,
            replay_frames: 1_000,
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

    /// Resume window as a duration.
    pub fn resume_window(&self) -> Duration {
        Duration::from_millis(self.resume_window_ms)
    }
}

/// One documented configuration key.
pub struct Key {
    /// Dotted key as written in the TOML file.
    pub name: &'static str,
    /// Default, as written in TOML.
    pub default: &'static str,
    /// What it does.
    pub about: &'static str,
}

/// Sections of the TOML file; `CROMULENT_<SECTION>_<KEY>` reaches `<section>.<key>`.
const SECTIONS: [&str; 5] = ["http", "auth", "gateway", "voice", "turn"];

/// Every key, in file order. A test checks this list against [`Config`] and the docs.
pub const KEYS: &[Key] = &[
    Key { name: "listen", default: "\"0.0.0.0:4000\"", about: "HTTP address for the web client, REST API and gateway" },
    Key { name: "data_dir", default: "\"./data\"", about: "directory for the SQLite database and other state" },
    Key {
        name: "database_url",
        default: "\"\"",
        about: "sqlite://PATH or postgres://USER:PASS@HOST/DB; empty: SQLite file in data_dir",
    },
    Key { name: "log", default: "\"info\"", about: "log filter in RUST_LOG syntax, e.g. \"info,cromulent=debug\"" },
    Key { name: "log_format", default: "\"pretty\"", about: "\"pretty\" or \"json\"" },
    Key { name: "http.max_body_bytes", default: "65536", about: "largest accepted request body in bytes" },
    Key { name: "http.allowed_origins", default: "[]", about: "extra origins allowed to use the gateway and session cookie" },
    Key { name: "auth.session_ttl_days", default: "30", about: "lifetime of a login session in days" },
    Key { name: "auth.attempts_per_ip_per_minute", default: "30", about: "login/registration attempts per client IP per minute" },
    Key { name: "auth.attempts_per_account_per_minute", default: "10", about: "login attempts per account per minute" },
    Key {
        name: "gateway.heartbeat_interval_ms",
        default: "30000",
        about: "heartbeat interval; two silent intervals close a connection",
    },
    Key { name: "gateway.resume_window_ms", default: "30000", about: "how long a dropped session stays resumable (and online)" },
    Key { name: "gateway.replay_frames", default: "1000", about: "frames kept per session for resume" },
    Key { name: "gateway.send_queue_frames", default: "512", about: "queued frames before a slow client is disconnected" },
    Key { name: "gateway.max_frame_bytes", default: "16384", about: "largest frame a client may send in bytes" },
    Key { name: "gateway.ops_per_minute", default: "300", about: "ops per connection per minute before it is closed" },
    Key { name: "voice.enabled", default: "true", about: "whether voice channels can be joined" },
    Key { name: "voice.force_relay", default: "false", about: "clients use TURN relays only, hiding participants' addresses" },
    Key { name: "voice.grace_ms", default: "15000", about: "how long voice survives a dropped gateway connection" },
    Key { name: "voice.max_signal_bytes", default: "12288", about: "largest voice signal payload in bytes" },
    Key { name: "voice.signals_per_minute", default: "600", about: "voice signals a user may send per minute" },
    Key {
        name: "turn.provider",
        default: "\"builtin\"",
        about: "\"builtin\" (this server's relay), \"none\" (STUN only), \"coturn\" or \"metered\"",
    },
    Key {
        name: "turn.secret",
        default: "\"\"",
        about: "REST credential secret (coturn static-auth-secret); builtin: generated in data_dir when empty",
    },
    Key {
        name: "turn.listen",
        default: "\"0.0.0.0:3478\"",
        about: "built-in relay UDP+TCP address (0.0.0.0: every local address)",
    },
    Key {
        name: "turn.tls_listen",
        default: "\"0.0.0.0:5349\"",
        about: "built-in relay TLS (turns:) address, on when tls_cert and tls_key are set",
    },
    Key { name: "turn.tls_cert", default: "\"\"", about: "PEM certificate chain for turns:" },
    Key { name: "turn.tls_key", default: "\"\"", about: "PEM private key for turns:" },
    Key { name: "turn.realm", default: "\"cromulent\"", about: "realm of the built-in relay's credentials" },
    Key { name: "turn.public_ip", default: "\"\"", about: "public IP advertised for relayed addresses behind NAT" },
    Key { name: "turn.public_host", default: "\"\"", about: "host in STUN/TURN URLs; empty: the host the browser used" },
    Key { name: "turn.relay_ports", default: "\"49152-65535\"", about: "ports for relayed addresses, LOW-HIGH" },
    Key { name: "turn.allowed_peer_ips", default: "[]", about: "CIDR ranges the relay may reach despite the default deny list" },
    Key { name: "turn.denied_peer_ips", default: "[]", about: "CIDR ranges refused besides the default internal ranges" },
    Key {
        name: "turn.allow_loopback_peers",
        default: "false",
        about: "let the relay reach loopback peers: tests only, never production",
    },
    Key { name: "turn.strict_expiry", default: "false", about: "refuse refreshes once a credential expired (drops long calls)" },
    Key { name: "turn.user_quota", default: "10", about: "relay allocations one user may hold" },
    Key { name: "turn.total_quota", default: "10000", about: "relay allocations in total" },
    Key { name: "turn.allocation_kbps", default: "2000", about: "bandwidth per allocation and direction in kbit/s; 0: no cap" },
    Key { name: "turn.urls", default: "[]", about: "TURN URLs, e.g. [\"turn:host:3478?transport=udp\"]" },
    Key { name: "turn.stun_urls", default: "[]", about: "STUN URLs, e.g. [\"stun:host:3478\"]" },
    Key { name: "turn.credential_ttl_secs", default: "3600", about: "lifetime of minted TURN credentials" },
    Key { name: "turn.metered_api_url", default: "\"\"", about: "Metered API base URL" },
    Key { name: "turn.metered_api_key", default: "\"\"", about: "Metered credential API key" },
];

/// The environment variable that sets a dotted key.
pub fn env_name(key: &str) -> String {
    format!("CROMULENT_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// `--help` text listing every key with its variable and default.
pub fn keys_help() -> String {
    let mut text =
        String::from("Configuration (defaults < --config FILE < CROMULENT_* variables < flags; see docs/configuration.md):\n");
    for key in KEYS {
        text.push_str(&format!("  {:<40} {:<46} default {}\n      {}\n", key.name, env_name(key.name), key.default, key.about));
    }
    text
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or parsed.
    #[error("invalid configuration: {0}")]
    Source(#[from] Box<figment::Error>),
    /// A value cannot be parsed.
    #[error("invalid configuration: {0}")]
    Invalid(&'static str),
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

/// Loads the configuration: defaults, `file` if given, `CROMULENT_*` variables, then `overrides`.
pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(file) = file {
        figment = figment.merge(Toml::file_exact(file));
    }
    let env = Env::prefixed("CROMULENT_").filter_map(|key| {
        let key = key.as_str().to_ascii_lowercase();
        let dotted = SECTIONS
            .iter()
            .find_map(|section| {
                key.strip_prefix(section).and_then(|rest| rest.strip_prefix('_')).map(|rest| format!("{section}.{rest}"))
            })
            .unwrap_or(key);
        KEYS.iter().any(|k| k.name == dotted).then(|| dotted.into())
    });
    let config: Config = figment.merge(env).merge(Serialized::defaults(overrides)).extract().map_err(Box::new)?;
    config.validate()?;
    Ok(config)
}

impl Config {
    /// Checks that numbers are in ranges the server can work with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let g = &self.gateway;
        let checks: [(&'static str, u64, u64, u64); 12] = [
            ("voice.grace_ms", self.voice.grace_ms, 0, 3_600_000),
            ("voice.max_signal_bytes", self.voice.max_signal_bytes as u64, 256, 1024 * 1024),
            ("voice.signals_per_minute", u64::from(self.voice.signals_per_minute), 1, 1_000_000),
            ("turn.credential_ttl_secs", self.turn.credential_ttl_secs, 60, 7 * 86_400),
            ("turn.user_quota", u64::from(self.turn.user_quota), 1, 1_000),
            ("gateway.heartbeat_interval_ms", g.heartbeat_interval_ms, 100, 3_600_000),
            ("gateway.resume_window_ms", g.resume_window_ms, 0, 86_400_000),
            ("gateway.replay_frames", g.replay_frames as u64, 1, 1_000_000),
            ("gateway.send_queue_frames", g.send_queue_frames as u64, 1, 1_000_000),
            ("gateway.max_frame_bytes", g.max_frame_bytes as u64, 1024, 16 * 1024 * 1024),
            ("gateway.ops_per_minute", u64::from(g.ops_per_minute), 1, 1_000_000),
            ("auth.session_ttl_days", u64::from(self.auth.session_ttl_days), 1, 3650),
        ];
        for (key, value, min, max) in checks {
            if !(min..=max).contains(&value) {
                return Err(ConfigError::OutOfRange { key, min, max });
            }
        }
        let turn = &self.turn;
        turn.relay_settings()?;
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
    fn every_key_is_listed_once_and_matches_the_struct() {
        let value = serde_json::to_value(Config::default()).unwrap();
        let mut from_struct = Vec::new();
        for (name, v) in value.as_object().unwrap() {
            match v.as_object() {
                Some(section) => from_struct.extend(section.keys().map(|k| format!("{name}.{k}"))),
                None => from_struct.push(name.clone()),
            }
        }
        let mut listed: Vec<String> = KEYS.iter().map(|k| k.name.to_owned()).collect();
        from_struct.sort();
        listed.sort();
        assert_eq!(from_struct, listed);
    }

    #[test]
    fn defaults_match_their_documentation() {
        let value = serde_json::to_value(Config::default()).unwrap();
        for key in KEYS {
            let actual = key.name.split('.').fold(&value, |v, part| &v[part]);
            let documented: toml_value::Value = toml_value::parse(key.default);
            assert_eq!(actual, &documented, "{}", key.name);
        }
    }

    #[test]
    fn the_docs_mention_every_key_and_variable() {
        let docs = include_str!("../../../docs/configuration.md");
        for key in KEYS {
            assert!(docs.contains(&format!("`{}`", key.name)), "docs/configuration.md lacks {}", key.name);
            assert!(docs.contains(&env_name(key.name)), "docs/configuration.md lacks {}", env_name(key.name));
        }
    }

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

    /// Parses the TOML literals of [`KEYS`] into JSON values for comparison.
    mod toml_value {
        pub use serde_json::Value;

        pub fn parse(literal: &str) -> Value {
            let table: toml::Table = format!("v = {literal}").parse().unwrap();
            serde_json::to_value(&table["v"]).unwrap()
        }
    }
}
