//! `[turn]`: which ICE servers clients get and how the built-in relay runs. Addresses, port
//! ranges and CIDR lists are typed as they are read, so a bad value is refused at start with the
//! key's name and the relay and ICE providers take them as they are.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Secret;

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
    /// Public address advertised for relayed addresses when the server sits behind NAT
    /// (written `""` for none).
    #[serde(with = "blank_is_none")]
    pub public_ip: Option<IpAddr>,
    /// Host name put in the STUN/TURN URLs; empty means the host the client used for the web server.
    pub public_host: String,
    /// Ports for relayed addresses, `LOW-HIGH`.
    pub relay_ports: PortRange,
    /// Peer ranges the relay may reach although they are denied by default.
    #[serde(deserialize_with = "ip_ranges")]
    pub allowed_peer_ips: Vec<IpNet>,
    /// Peer ranges refused in addition to the default internal ranges.
    #[serde(deserialize_with = "ip_ranges")]
    pub denied_peer_ips: Vec<IpNet>,
    /// Let the relay reach loopback peers: for tests only, never in production.
    pub allow_loopback_peers: bool,
    /// Refuse refreshes of allocations whose credential has expired (ends long calls at expiry).
    pub strict_expiry: bool,
    /// Allocations one user may hold at once.
    pub user_quota: u32,
    /// Allocations the relay holds at once.
    pub total_quota: u32,
    /// TCP and TLS connections one source address may hold at once.
    pub max_connections_per_ip: u32,
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
            public_ip: None,
            public_host: String::new(),
            relay_ports: PortRange { low: 49152, high: 65535 },
            allowed_peer_ips: Vec::new(),
            denied_peer_ips: Vec::new(),
            allow_loopback_peers: false,
            strict_expiry: false,
            user_quota: 10,
            total_quota: 10_000,
            max_connections_per_ip: 32,
            allocation_kbps: 2_000,
            urls: Vec::new(),
            stun_urls: Vec::new(),
            credential_ttl_secs: 3600,
            metered_api_url: String::new(),
            metered_api_key: Secret::default(),
        }
    }
}

impl TurnConfig {
    /// The certificate and key for `turns:`, when both are set ([`super::Config::validate`]
    /// refuses one without the other).
    pub fn tls(&self) -> Option<TlsFiles> {
        let set = !self.tls_cert.as_os_str().is_empty() && !self.tls_key.as_os_str().is_empty();
        set.then(|| TlsFiles { cert: self.tls_cert.clone(), key: self.tls_key.clone() })
    }
}

/// PEM files for the relay's TLS listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// Ports for relayed addresses, written `"LOW-HIGH"` with 1024 <= LOW <= HIGH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub low: u16,
    /// Last port.
    pub high: u16,
}

impl PortRange {
    /// The ports as a range.
    pub fn range(self) -> RangeInclusive<u16> {
        self.low..=self.high
    }
}

impl FromStr for PortRange {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "LOW-HIGH with 1024 <= LOW <= HIGH <= 65535";
        let (low, high) = text.split_once('-').ok_or(EXPECTED)?;
        let low: u16 = low.trim().parse().map_err(|_| EXPECTED)?;
        let high: u16 = high.trim().parse().map_err(|_| EXPECTED)?;
        if low < 1024 || low > high {
            return Err(EXPECTED);
        }
        Ok(PortRange { low, high })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.low, self.high)
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

/// CIDR ranges such as `10.8.0.0/16`; a bare address means just that address.
fn ip_ranges<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|text| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a CIDR range like 10.8.0.0/16 or an IP address")))
        })
        .collect()
}

/// An optional value written as `""` when absent, so every key has a TOML default to show.
pub(super) mod blank_is_none {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.collect_str(value),
            None => serializer.serialize_str(""),
        }
    }

    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        T: FromStr<Err: Display>,
        D: Deserializer<'de>,
    {
        match String::deserialize(deserializer)?.trim() {
            "" => Ok(None),
            text => text.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_are_checked_as_they_are_read() {
        assert_eq!("50000-50100".parse(), Ok(PortRange { low: 50000, high: 50100 }));
        assert_eq!(" 2000 - 2000 ".parse(), Ok(PortRange { low: 2000, high: 2000 }));
        for bad in ["80-90", "5000-4000", "5000", "a-b", "5000-70000"] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn turn_keys_are_typed_when_read() {
        let turn: TurnConfig = serde_json::from_value(serde_json::json!({
            "public_ip": "203.0.113.7",
            "relay_ports": "50000-50100",
            "allowed_peer_ips": ["10.8.0.0/16", "192.168.1.5"],
        }))
        .unwrap();
        assert_eq!(turn.public_ip, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(turn.relay_ports.range(), 50000..=50100);
        assert_eq!(turn.allowed_peer_ips, vec!["10.8.0.0/16".parse::<IpNet>().unwrap(), "192.168.1.5/32".parse().unwrap()]);
        let blank: TurnConfig = serde_json::from_value(serde_json::json!({"public_ip": ""})).unwrap();
        assert_eq!(blank.public_ip, None);
        for (key, bad) in [("public_ip", "not-an-ip"), ("relay_ports", "80-90")] {
            let err = serde_json::from_value::<TurnConfig>(serde_json::json!({ key: bad })).unwrap_err();
            assert!(!err.to_string().is_empty(), "{key}");
        }
        assert!(serde_json::from_value::<TurnConfig>(serde_json::json!({"denied_peer_ips": ["10.0.0.0/33"]})).is_err());
    }
}
