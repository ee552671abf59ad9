//! `cromulent coturn-config`: a `turnserver.conf` for an external coturn that behaves as the
//! built-in relay would with the same `[turn]` settings — the shared secret written in (coturn
//! expands no variables), the same ports, quotas and realm, and the same peer deny list, taken
//! from the relay's own policy rather than a copy of it.

use std::fmt::Write as _;

use anyhow::{Context, bail};
use cromulent_turn::peer_policy::PeerPolicy;
use ipnet::IpNet;

use crate::Config;
use crate::builtin_relay;
use crate::config::TurnConfig;
use crate::service::settings::{saved_turn_secret, saved_turn_settings_apply};
use crate::store::Store;

/// The secret coturn shares with this server, and where it was found (said in the file, so an
/// operator knows which secret to keep in step).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SharedSecret {
    value: String,
    source: String,
}

/// Prints the configuration on standard output.
pub(super) async fn print(config: Config) -> anyhow::Result<()> {
    let secret = shared_secret(&config).await?;
    print!("{}", render(&config.turn, &secret)?);
    Ok(())
}

/// The secret this server mints coturn credentials with: `turn.secret` when configured, else
/// one an admin saved in the web client, else the one the built-in relay generated.
async fn shared_secret(config: &Config) -> anyhow::Result<SharedSecret> {
    let configured = config.turn.secret.expose();
    if !configured.is_empty() {
        let place = config.locked.get("turn.secret").map_or("the configuration", String::as_str);
        return Ok(SharedSecret { value: configured.to_owned(), source: format!("turn.secret, set by the {place}") });
    }
    if saved_turn_settings_apply(&config.locked) {
        match saved_secret(config).await {
            Ok(Some(value)) => {
                let source = "the TURN settings an admin saved in the web client (Server settings, Voice & relay)";
                return Ok(SharedSecret { value, source: source.to_owned() });
            }
            Ok(None) => {}
            // Not fatal: before the first start there is no database, and the secret may be elsewhere.
            Err(err) => tracing::warn!(error = format!("{err:#}"), "cannot read the TURN settings saved in the database"),
        }
    }
    let generated = builtin_relay::generated_secret(&config.data_dir)
        .with_context(|| format!("cannot read the TURN secret in {}", config.data_dir.display()))?;
    if let Some((value, path)) = generated {
        return Ok(SharedSecret { value, source: format!("the secret the built-in relay generated in {}", path.display()) });
    }
    bail!(
        "there is no TURN secret to share with coturn: set turn.secret (e.g. to the output of `openssl rand -base64 32`), \
         or start the server once with the built-in relay, which generates one in {}",
        config.data_dir.display()
    )
}

/// The secret an admin saved, read without changing the database a running server uses.
async fn saved_secret(config: &Config) -> anyhow::Result<Option<String>> {
    let store = Store::open_existing(&config.database_url()).await?;
    let secret = saved_turn_secret(&store, &config.locked).await;
    store.close().await;
    Ok(secret?)
}

/// The `turnserver.conf` text for `turn` with `secret`. Values go in as they are, so one with a
/// line break, which would end its line and start another setting, is refused.
fn render(turn: &TurnConfig, secret: &SharedSecret) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut line = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    let port = turn.listen.port();
    let host = if turn.public_host.is_empty() { "HOST" } else { turn.public_host.as_str() };
    line("# turnserver.conf for coturn, standing in for Cromulent's built-in relay with the same [turn]");
    line("# settings; made by `cromulent coturn-config`, so make it again after changing them.");
    line("#");
    line(&format!("# The shared secret below is {}.", single_line("the secret's source", &secret.source)?));
    line("# Whoever reads this file can mint TURN credentials: keep it readable by coturn only.");
    line("# Cromulent hands out credentials for this coturn with turn.provider = \"coturn\", the same");
    line(&format!("# turn.secret and turn.urls = [\"turn:{host}:{port}?transport=udp\", \"turn:{host}:{port}?transport=tcp\"]."));
    line("");
    line(&format!("listening-port={port}"));
    if !turn.listen.ip().is_unspecified() {
        line(&format!("listening-ip={}", turn.listen.ip()));
    }
    match turn.tls() {
        Some(files) => {
            line(&format!("tls-listening-port={}", turn.tls_listen.port()));
            line(&format!("cert={}", single_line("turn.tls_cert", &files.cert.to_string_lossy())?));
            line(&format!("pkey={}", single_line("turn.tls_key", &files.key.to_string_lossy())?));
        }
        None => line("no-tls"),
    }
    // Browsers never use DTLS to reach a TURN server, and the built-in relay does not offer it.
    line("no-dtls");
    line(&format!("realm={}", single_line("turn.realm", &turn.realm)?));
    line("use-auth-secret");
    line(&format!("static-auth-secret={}", single_line("the TURN secret", &secret.value)?));
    line("fingerprint");
    line("no-cli");
    line("");
    line("# Relayed addresses: turn.relay_ports, and turn.public_ip behind NAT.");
    line(&format!("min-port={}", turn.relay_ports.low));
    line(&format!("max-port={}", turn.relay_ports.high));
    if let Some(ip) = turn.public_ip {
        line(&format!("external-ip={ip}"));
    }
    line("# The built-in relay relays UDP only (no RFC 6062 TCP allocations).");
    line("no-tcp-relay");
    line("");
    line("# turn.user_quota, turn.total_quota, and turn.allocation_kbps as bytes per second each way.");
    line(&format!("user-quota={}", turn.user_quota));
    line(&format!("total-quota={}", turn.total_quota));
    if turn.allocation_kbps > 0 {
        line(&format!("max-bps={}", u64::from(turn.allocation_kbps) * 1000 / 8));
    }
    line("");
    let policy = PeerPolicy::new(turn.allowed_peer_ips.clone(), turn.denied_peer_ips.clone(), turn.allow_loopback_peers);
    line("# Peers: the built-in relay's deny list with turn.denied_peer_ips, and turn.allowed_peer_ips");
    line("# winning over it. Each IPv4 range comes again as the IPv6 addresses that carry it");
    line("# (IPv4-mapped, IPv4-compatible, NAT64, 6to4). coturn refuses loopback peers by itself unless");
    line("# allow-loopback-peers (it no longer knows the old no-loopback-peers); loopback is denied below too.");
    line("no-multicast-peers");
    if turn.allow_loopback_peers {
        line("# turn.allow_loopback_peers: for tests on one machine only, never in production.");
        line("allow-loopback-peers");
    }
    for range in policy.denied_ranges() {
        line(&format!("denied-peer-ip={}", coturn_range(range)));
    }
    for range in policy.allowed_ranges() {
        line(&format!("allowed-peer-ip={}", coturn_range(range)));
    }
    line("");
    line("# No coturn counterpart: turn.max_connections_per_ip; turn.strict_expiry (coturn checks a");
    line("# credential's expiry when allocating only, as the built-in relay does by default);");
    line("# turn.credential_ttl_secs (each username Cromulent mints carries its expiry).");
    Ok(out)
}

/// `value`, refused when it holds a line break or another control character.
fn single_line<'a>(what: &str, value: &'a str) -> anyhow::Result<&'a str> {
    if value.chars().any(char::is_control) {
        bail!("{what} holds a line break or control character, which cannot go into turnserver.conf");
    }
    Ok(value)
}

/// A range as coturn writes it: `FIRST-LAST`, or the address alone.
fn coturn_range(range: IpNet) -> String {
    let mut text = range.network().to_string();
    if range.prefix_len() < range.max_prefix_len() {
        let _ = write!(text, "-{}", range.broadcast());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SharedSecret {
        SharedSecret { value: "s3cret-value".to_owned(), source: "turn.secret, set by the configuration file".to_owned() }
    }

    /// The value of every `key=value` line for `key`, in order.
    fn values<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
        text.lines().filter_map(|line| line.strip_prefix(key)?.strip_prefix('=')).collect()
    }

    /// Whether a bare option line is present.
    fn has(text: &str, option: &str) -> bool {
        text.lines().any(|line| line == option)
    }

    #[test]
    fn the_defaults_become_a_coturn_that_relays_like_the_builtin_one() {
        let text = render(&TurnConfig::default(), &secret()).unwrap();
        assert_eq!(values(&text, "static-auth-secret"), ["s3cret-value"]);
        assert!(text.starts_with("# turnserver.conf"), "{text}");
        assert!(text.contains("# The shared secret below is turn.secret, set by the configuration file."));
        for option in ["use-auth-secret", "fingerprint", "no-cli", "no-tls", "no-dtls", "no-tcp-relay", "no-multicast-peers"] {
            assert!(has(&text, option), "{option} in\n{text}");
        }
        assert!(!has(&text, "allow-loopback-peers") && !text.contains("\nno-loopback-peers"));
        assert_eq!(values(&text, "listening-port"), ["3478"]);
        assert!(values(&text, "listening-ip").is_empty(), "0.0.0.0 means every address, coturn's default");
        assert_eq!(values(&text, "realm"), ["cromulent"]);
        assert_eq!((values(&text, "min-port"), values(&text, "max-port")), (vec!["49152"], vec!["65535"]));
        assert_eq!((values(&text, "user-quota"), values(&text, "total-quota")), (vec!["10"], vec!["10000"]));
        assert_eq!(values(&text, "max-bps"), ["250000"], "2000 kbit/s");
        assert!(values(&text, "external-ip").is_empty());
        assert!(values(&text, "allowed-peer-ip").is_empty());
        let denied = values(&text, "denied-peer-ip");
        for range in [
            "10.0.0.0-10.255.255.255",
            "127.0.0.0-127.255.255.255",
            "169.254.0.0-169.254.255.255",
            "192.168.0.0-192.168.255.255",
            "::1",
            "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:10.0.0.0-::ffff:10.255.255.255",
            "64:ff9b::a00:0-64:ff9b::aff:ffff",
            "2002:a00::-2002:aff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            assert!(denied.contains(&range), "{range} denied in\n{text}");
        }
    }

    #[test]
    fn every_turn_setting_with_a_coturn_counterpart_is_carried_over() {
        let turn: TurnConfig = serde_json::from_value(serde_json::json!({
            "listen": "192.0.2.10:3479",
            "tls_listen": "192.0.2.10:5350",
            "tls_cert": "certs/fullchain.pem",
            "tls_key": "certs/privkey.pem",
            "realm": "chat.example.org",
            "public_ip": "203.0.113.7",
            "public_host": "turn.example.org",
            "relay_ports": "50000-50100",
            "allowed_peer_ips": ["10.8.0.0/16"],
            "denied_peer_ips": ["8.8.8.0/24", "2001:4860::/32"],
            "allow_loopback_peers": true,
            "user_quota": 3,
            "total_quota": 50,
            "allocation_kbps": 0,
        }))
        .unwrap();
        let text = render(&turn, &secret()).unwrap();
        assert_eq!(values(&text, "listening-port"), ["3479"]);
        assert_eq!(values(&text, "listening-ip"), ["192.0.2.10"]);
        assert_eq!(values(&text, "tls-listening-port"), ["5350"]);
        assert_eq!((values(&text, "cert"), values(&text, "pkey")), (vec!["certs/fullchain.pem"], vec!["certs/privkey.pem"]));
        assert!(!has(&text, "no-tls"));
        assert_eq!(values(&text, "realm"), ["chat.example.org"]);
        assert_eq!(values(&text, "external-ip"), ["203.0.113.7"]);
        assert_eq!((values(&text, "min-port"), values(&text, "max-port")), (vec!["50000"], vec!["50100"]));
        assert_eq!((values(&text, "user-quota"), values(&text, "total-quota")), (vec!["3"], vec!["50"]));
        assert!(values(&text, "max-bps").is_empty(), "0 means no cap");
        assert!(has(&text, "allow-loopback-peers"));
        assert!(text.contains("turn:turn.example.org:3479?transport=udp"), "the URLs to give Cromulent");
        let denied = values(&text, "denied-peer-ip");
        for range in
            ["8.8.8.0-8.8.8.255", "::ffff:8.8.8.0-::ffff:8.8.8.255", "2001:4860::-2001:4860:ffff:ffff:ffff:ffff:ffff:ffff"]
        {
            assert!(denied.contains(&range), "{range} denied");
        }
        assert!(denied.contains(&"10.0.0.0-10.255.255.255"), "the defaults stay");
        let allowed = values(&text, "allowed-peer-ip");
        for range in ["10.8.0.0-10.8.255.255", "::ffff:10.8.0.0-::ffff:10.8.255.255", "127.0.0.0-127.255.255.255", "::1"] {
            assert!(allowed.contains(&range), "{range} allowed in\n{text}");
        }
    }

    #[test]
    fn a_value_that_would_start_another_line_is_refused() {
        let injected = SharedSecret { value: "x\nallow-loopback-peers".to_owned(), ..secret() };
        assert!(render(&TurnConfig::default(), &injected).is_err());
        let turn = TurnConfig { realm: "a\rb".to_owned(), ..TurnConfig::default() };
        assert!(render(&turn, &secret()).unwrap_err().to_string().contains("turn.realm"));
    }

    #[test]
    fn single_addresses_are_written_alone() {
        assert_eq!(coturn_range("192.168.1.5/32".parse().unwrap()), "192.168.1.5");
        assert_eq!(coturn_range("::1/128".parse().unwrap()), "::1");
        assert_eq!(coturn_range("100.64.0.0/10".parse().unwrap()), "100.64.0.0-100.127.255.255");
    }

    #[tokio::test]
    async fn the_secret_comes_from_the_configuration_then_the_generated_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            database_url: format!("sqlite://{}", dir.path().join("none-yet.db").display()),
            ..Config::default()
        };
        let err = shared_secret(&config).await.unwrap_err();
        assert!(err.to_string().contains("turn.secret"), "{err}");
        std::fs::write(dir.path().join("turn-secret"), "generated-one\n").unwrap();
        let found = shared_secret(&config).await.unwrap();
        assert_eq!(found.value, "generated-one");
        assert!(found.source.contains("generated") && found.source.ends_with("turn-secret"), "{}", found.source);
        config.turn.secret = "configured-one".into();
        config.locked.insert("turn.secret".to_owned(), "environment variable CROMULENT_TURN_SECRET".to_owned());
        let found = shared_secret(&config).await.unwrap();
        assert_eq!(found.value, "configured-one");
        assert_eq!(found.source, "turn.secret, set by the environment variable CROMULENT_TURN_SECRET");
        assert!(!dir.path().join("none-yet.db").exists(), "looking for a saved secret creates no database");
    }
}
