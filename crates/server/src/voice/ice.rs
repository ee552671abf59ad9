//! ICE servers for voice, behind one trait: the built-in relay or an external coturn (REST
//! credentials: shared secret, HMAC-SHA1, time-limited), Metered's managed TURN, or STUN only.
//! A failing provider never blocks voice: [`IceServersSource`] falls back to STUN only and says
//! so (`ice_degraded`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cromulent_proto::voice::IceServer;
use cromulent_turn::credential;
use serde::Deserialize;

use crate::config::Secret;

/// A list of ICE servers and when its credentials expire (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceList {
    /// Servers for `RTCPeerConnection`.
    pub servers: Vec<IceServer>,
    /// When the TURN credentials stop working for new allocations.
    pub expires_at: Option<i64>,
}

/// Why a provider could not produce servers.
#[derive(Debug, thiserror::Error)]
pub enum IceError {
    /// The request did not complete in time.
    #[error("the TURN provider did not answer within {0:?}")]
    Timeout(Duration),
    /// The request failed.
    #[error("the TURN provider could not be reached: {0}")]
    Request(String),
    /// The provider answered with an error status.
    #[error("the TURN provider answered {0}")]
    Status(u16),
    /// The answer was not the documented JSON.
    #[error("the TURN provider's answer is not a list of ICE servers: {0}")]
    Body(String),
}

/// A boxed future, so providers can live behind `dyn`.
pub type IceFuture<'a> = Pin<Box<dyn Future<Output = Result<IceList, IceError>> + Send + 'a>>;

/// Produces ICE servers for a user at a point in time.
pub trait IceProvider: Send + Sync {
    /// Short name for logs.
    fn name(&self) -> &'static str;
    /// Servers for `user_id`, with credentials valid from `now_secs`; `host` is the host the
    /// client used to reach this server, for providers that name this server in their URLs.
    fn ice_servers(&self, user_id: i64, now_secs: i64, host: &RequestHost) -> IceFuture<'_>;
}

/// STUN servers only (`turn.provider = "none"`).
pub struct StunOnly {
    urls: Vec<String>,
}

impl StunOnly {
    /// STUN from these URLs; none at all means host candidates only.
    pub fn new(urls: Vec<String>) -> StunOnly {
        StunOnly { urls }
    }

    /// The list, shared with the fallback path.
    pub fn list(&self) -> IceList {
        let servers = if self.urls.is_empty() {
            Vec::new()
        } else {
            vec![IceServer { urls: self.urls.clone(), username: None, credential: None }]
        };
        IceList { servers, expires_at: None }
    }
}

impl IceProvider for StunOnly {
    fn name(&self) -> &'static str {
        "none"
    }

    fn ice_servers(&self, _user_id: i64, _now_secs: i64, _host: &RequestHost) -> IceFuture<'_> {
        let list = self.list();
        Box::pin(async move { Ok(list) })
    }
}

/// The host a client used to reach the web server (from `Host`), without port; anything that
/// is not a plain host name or IP literal is refused, so it cannot smuggle text into URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHost(String);

impl RequestHost {
    /// Parses a `Host` header value such as `chat.example.org:4000` or `[::1]:4000`.
    pub fn parse(header: &str) -> Option<RequestHost> {
        let host = match header.strip_prefix('[') {
            Some(rest) => &header[..rest.find(']')? + 2],
            None => header.rsplit_once(':').map_or(header, |(host, _port)| host),
        };
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
        (!host.is_empty() && host.len() <= 253 && host.chars().all(plain)).then(|| RequestHost(host.to_ascii_lowercase()))
    }

    /// The host as it goes into a URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A REST credential for `user_id`, as coturn and the built-in relay check it.
fn rest_credential(secret: &Secret, expires_at: i64, user_id: i64) -> (String, String) {
    let minted = credential::mint(secret.expose().as_bytes(), &user_id.to_string(), expires_at);
    (minted.username, minted.password)
}

/// Where the built-in relay listens, for the URLs handed to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayPorts {
    /// UDP and TCP port.
    pub udp_tcp: u16,
    /// TLS port, when `turns:` is on.
    pub tls: Option<u16>,
    /// The HTTPS port, when it carries TURN over TCP and TLS too.
    pub web: Option<u16>,
}

/// The relay built into this server (`turn.provider = "builtin"`).
pub struct Builtin {
    secret: Secret,
    ports: RelayPorts,
    public_host: Option<RequestHost>,
    ttl_secs: i64,
}

impl Builtin {
    /// Credentials minted with `secret` for the relay on `ports`, named by `public_host` or by
    /// the host each client used.
    pub fn new(secret: Secret, ports: RelayPorts, public_host: Option<RequestHost>, ttl_secs: i64) -> Builtin {
        Builtin { secret, ports, public_host, ttl_secs }
    }
}

impl IceProvider for Builtin {
    fn name(&self) -> &'static str {
        "builtin"
    }

    fn ice_servers(&self, user_id: i64, now_secs: i64, host: &RequestHost) -> IceFuture<'_> {
        let host = self.public_host.as_ref().unwrap_or(host).as_str();
        let port = self.ports.udp_tcp;
        let expires_at = now_secs + self.ttl_secs;
        let (username, credential) = rest_credential(&self.secret, expires_at, user_id);
        let mut turn = vec![format!("turn:{host}:{port}?transport=udp")];
        match self.ports.web {
            // UDP first (fastest), then the HTTPS port, which strict networks let through.
            Some(web) => {
                turn.push(format!("turn:{host}:{web}?transport=tcp"));
                turn.push(format!("turns:{host}:{web}?transport=tcp"));
            }
            None => turn.push(format!("turn:{host}:{port}?transport=tcp")),
        }
        if let Some(tls) = self.ports.tls {
            turn.push(format!("turns:{host}:{tls}?transport=tcp"));
        }
        let list = IceList {
            servers: vec![
                IceServer { urls: vec![format!("stun:{host}:{port}")], username: None, credential: None },
                IceServer { urls: turn, username: Some(username), credential: Some(credential) },
            ],
            expires_at: Some(expires_at),
        };
        Box::pin(async move { Ok(list) })
    }
}

/// An external coturn with `use-auth-secret` (`turn.provider = "coturn"`).
pub struct Coturn {
    secret: Secret,
    turn_urls: Vec<String>,
    stun: StunOnly,
    ttl_secs: i64,
}

impl Coturn {
    /// Credentials minted with `secret` for `turn_urls`, valid `ttl_secs`, plus STUN URLs.
    pub fn new(secret: Secret, turn_urls: Vec<String>, stun_urls: Vec<String>, ttl_secs: i64) -> Coturn {
        Coturn { secret, turn_urls, stun: StunOnly::new(stun_urls), ttl_secs }
    }
}

impl IceProvider for Coturn {
    fn name(&self) -> &'static str {
        "coturn"
    }

    fn ice_servers(&self, user_id: i64, now_secs: i64, _host: &RequestHost) -> IceFuture<'_> {
        let expires_at = now_secs + self.ttl_secs;
        let (username, credential) = rest_credential(&self.secret, expires_at, user_id);
        let mut list = self.stun.list();
        list.servers.push(IceServer { urls: self.turn_urls.clone(), username: Some(username), credential: Some(credential) });
        list.expires_at = Some(expires_at);
        Box::pin(async move { Ok(list) })
    }
}

/// One entry of Metered's answer; `urls` may be a string or a list.
#[derive(Debug, Deserialize)]
struct MeteredServer {
    urls: MeteredUrls,
    username: Option<String>,
    credential: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum MeteredUrls {
    One(String),
    Many(Vec<String>),
}

/// Metered's managed TURN (`turn.provider = "metered"`): `GET {api_url}/api/v1/turn/credentials?apiKey=KEY`
/// returns `[{urls, username, credential}]`. Answers are cached, since they change rarely and the
/// call costs a round trip to the provider on every join.
pub struct Metered {
    endpoint: String,
    api_key: Secret,
    /// Times out a whole call, body included.
    client: reqwest::Client,
    timeout: Duration,
    cache_for: Duration,
    cache: Mutex<Option<(Instant, Vec<IceServer>)>>,
}

impl Metered {
    /// A client for `api_url` with `api_key`, timing out after `timeout`, caching for `cache_for`.
    pub fn new(api_url: &str, api_key: Secret, timeout: Duration, cache_for: Duration) -> Metered {
        Metered {
            endpoint: format!("{}/api/v1/turn/credentials", api_url.trim_end_matches('/')),
            api_key,
            client: reqwest::Client::builder().timeout(timeout).build().expect("HTTP client builds"),
            timeout,
            cache_for,
            cache: Mutex::new(None),
        }
    }

    async fn fetch(&self) -> Result<Vec<IceServer>, IceError> {
        let failed = |e: reqwest::Error| {
            if e.is_timeout() { IceError::Timeout(self.timeout) } else { IceError::Request(e.without_url().to_string()) }
        };
        let response =
            self.client.get(&self.endpoint).query(&[("apiKey", self.api_key.expose())]).send().await.map_err(failed)?;
        if !response.status().is_success() {
            return Err(IceError::Status(response.status().as_u16()));
        }
        let body = response.bytes().await.map_err(failed)?;
        let servers: Vec<MeteredServer> = serde_json::from_slice(&body).map_err(|e| IceError::Body(e.to_string()))?;
        if servers.is_empty() {
            return Err(IceError::Body("the list is empty".into()));
        }
        Ok(servers
            .into_iter()
            .map(|s| IceServer {
                urls: match s.urls {
                    MeteredUrls::One(url) => vec![url],
                    MeteredUrls::Many(urls) => urls,
                },
                username: s.username,
                credential: s.credential,
            })
            .collect())
    }
}

impl IceProvider for Metered {
    fn name(&self) -> &'static str {
        "metered"
    }

    fn ice_servers(&self, _user_id: i64, _now_secs: i64, _host: &RequestHost) -> IceFuture<'_> {
        Box::pin(async move {
            if let Some((at, servers)) = self.cache.lock().expect("cache lock").as_ref()
                && at.elapsed() < self.cache_for
            {
                return Ok(IceList { servers: servers.clone(), expires_at: None });
            }
            let servers = self.fetch().await?;
            *self.cache.lock().expect("cache lock") = Some((Instant::now(), servers.clone()));
            Ok(IceList { servers, expires_at: None })
        })
    }
}

/// The configured provider plus the STUN-only fallback used when it fails.
pub struct IceServersSource {
    /// The provider and the fallback, replaced whole when an admin changes the settings.
    current: std::sync::RwLock<(Arc<dyn IceProvider>, Arc<StunOnly>)>,
}

impl IceServersSource {
    /// `provider`, falling back to STUN from `stun_urls`.
    pub fn new(provider: Box<dyn IceProvider>, stun_urls: Vec<String>) -> IceServersSource {
        IceServersSource { current: std::sync::RwLock::new((Arc::from(provider), Arc::new(StunOnly::new(stun_urls)))) }
    }

    /// Hands out `provider`'s servers from now on (an admin changed the settings).
    pub fn replace(&self, provider: Box<dyn IceProvider>, stun_urls: Vec<String>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = (Arc::from(provider), Arc::new(StunOnly::new(stun_urls)));
    }

    /// Whether the built-in relay is the provider in use.
    pub fn is_builtin(&self) -> bool {
        self.current.read().unwrap_or_else(|p| p.into_inner()).0.name() == "builtin"
    }

    /// Servers for `user_id`, whether this is the degraded STUN-only fallback, and the name of
    /// the provider asked.
    pub async fn get(&self, user_id: i64, now_secs: i64, host: &RequestHost) -> (IceList, bool, &'static str) {
        let (provider, fallback) = self.current.read().unwrap_or_else(|p| p.into_inner()).clone();
        match provider.ice_servers(user_id, now_secs, host).await {
            Ok(list) => (list, false, provider.name()),
            Err(err) => {
                tracing::warn!(provider = provider.name(), error = %err, "TURN provider failed; offering STUN only");
                (fallback.list(), true, provider.name())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_match_coturns_rest_scheme() {
        // Same inputs as `printf %s "$u" | openssl dgst -sha1 -hmac secret -binary | base64`.
        let (username, password) = rest_credential(&"secret".into(), 1_700_000_000, 42);
        assert_eq!(username, "1700000000:42");
        assert_eq!(password, "ZzfPuPkrzUOsnm5YISnTiKDnXWo=");
    }

    #[tokio::test]
    async fn coturn_lists_stun_then_turn_with_expiry() {
        let coturn = Coturn::new("s".into(), vec!["turn:h:3478?transport=udp".into()], vec!["stun:h:3478".into()], 3600);
        let list = coturn.ice_servers(7, 1000, &host("x")).await.unwrap();
        assert_eq!(list.expires_at, Some(4600));
        assert_eq!(list.servers[0].urls, ["stun:h:3478"]);
        assert_eq!(list.servers[1].username.as_deref(), Some("4600:7"));
    }

    fn host(header: &str) -> RequestHost {
        RequestHost::parse(header).unwrap()
    }

    #[test]
    fn request_hosts_drop_the_port_and_refuse_junk() {
        assert_eq!(host("Chat.Example.org:4000").as_str(), "chat.example.org");
        assert_eq!(host("127.0.0.1").as_str(), "127.0.0.1");
        assert_eq!(host("[::1]:4000").as_str(), "[::1]");
        for junk in ["", ":4000", "a b", "evil?x=1", "x/y", "[::1", "é.example"] {
            assert_eq!(RequestHost::parse(junk), None, "{junk}");
        }
    }

    #[tokio::test]
    async fn builtin_names_the_host_the_client_used_unless_a_public_host_is_set() {
        let ports = RelayPorts { udp_tcp: 3478, tls: Some(5349), web: None };
        let list = Builtin::new("s".into(), ports, None, 600).ice_servers(7, 1000, &host("chat.example:4000")).await.unwrap();
        assert_eq!(list.servers[0].urls, ["stun:chat.example:3478"]);
        assert_eq!(
            list.servers[1].urls,
            [
                "turn:chat.example:3478?transport=udp",
                "turn:chat.example:3478?transport=tcp",
                "turns:chat.example:5349?transport=tcp"
            ]
        );
        assert_eq!(list.servers[1].username.as_deref(), Some("1600:7"));
        assert_eq!(list.expires_at, Some(1600));
        let ports = RelayPorts { udp_tcp: 3478, tls: None, web: None };
        let list =
            Builtin::new("s".into(), ports, Some(host("turn.example")), 600).ice_servers(7, 1000, &host("x")).await.unwrap();
        assert_eq!(list.servers[1].urls, ["turn:turn.example:3478?transport=udp", "turn:turn.example:3478?transport=tcp"]);
    }

    #[tokio::test]
    async fn with_https_the_web_port_carries_turn_over_tcp_and_tls() {
        let ports = RelayPorts { udp_tcp: 3478, tls: None, web: Some(443) };
        let list = Builtin::new("s".into(), ports, None, 600).ice_servers(7, 1000, &host("chat.example")).await.unwrap();
        assert_eq!(list.servers[0].urls, ["stun:chat.example:3478"]);
        assert_eq!(
            list.servers[1].urls,
            [
                "turn:chat.example:3478?transport=udp",
                "turn:chat.example:443?transport=tcp",
                "turns:chat.example:443?transport=tcp"
            ]
        );
    }
}
