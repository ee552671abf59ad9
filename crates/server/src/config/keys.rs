//! The documented configuration keys: their names and meanings, the environment variables that
//! set them, and `--help`. Defaults are not written here: they come from `Config::default()`,
//! and a test holds `docs/configuration.md` to them.

use super::Config;

/// One documented configuration key.
pub struct Key {
    /// Dotted key as written in the TOML file.
    pub name: &'static str,
    /// What it does.
    pub about: &'static str,
}

/// Sections of the TOML file; `CROMULENT_<SECTION>_<KEY>` reaches `<section>.<key>`.
const SECTIONS: [&str; 11] = ["http", "tls", "admin", "metrics", "auth", "gateway", "chat", "voice", "turn", "smtp", "links"];

/// Every key, in file order. A test checks this list against [`Config`] and the docs.
pub const KEYS: &[Key] = &[
    Key { name: "listen", about: "HTTP address for the web client, REST API and gateway; with [tls] and unset: 0.0.0.0:443" },
    Key { name: "data_dir", about: "directory for the SQLite database and other state" },
    Key { name: "database_url", about: "sqlite://PATH or postgres://USER:PASS@HOST/DB; empty: SQLite file in data_dir" },
    Key { name: "log", about: "log filter in RUST_LOG syntax, e.g. \"info,cromulent=debug\"" },
    Key { name: "log_format", about: "\"pretty\" or \"json\"" },
    Key { name: "http.max_body_bytes", about: "largest accepted request body in bytes" },
    Key { name: "http.allowed_origins", about: "extra origins allowed to use the gateway and session cookie" },
    Key { name: "http.redirect_listen", about: "with TLS: plain-HTTP address that redirects to HTTPS, e.g. 0.0.0.0:80" },
    Key { name: "http.public_url", about: "address people open, e.g. https://chat.example.org; links in mail point there" },
    Key { name: "tls.cert", about: "PEM certificate chain for HTTPS; reloaded when it changes or on SIGHUP" },
    Key { name: "tls.key", about: "PEM private key for tls.cert" },
    Key { name: "tls.acme_domains", about: "get HTTPS certificates for these names by ACME (TLS-ALPN-01)" },
    Key { name: "tls.acme_contact", about: "ACME account contact, e.g. \"mailto:admin@example.org\"" },
    Key { name: "tls.acme_directory", about: "ACME directory URL (default: Let's Encrypt production)" },
    Key { name: "tls.acme_ca_roots", about: "extra PEM roots trusted for the ACME CA (private or test CA)" },
    Key { name: "auth.session_ttl_days", about: "lifetime of a login session in days" },
    Key { name: "auth.attempts_per_ip_per_minute", about: "login/registration attempts per client IP per minute" },
    Key { name: "auth.attempts_per_account_per_minute", about: "login attempts per account per minute from one IP or device" },
    Key {
        name: "auth.attempts_per_account_from_anywhere_per_minute",
        about: "login attempts per account per minute from all IPs; past it only proven devices log in",
    },
    Key { name: "auth.max_concurrent_hashes", about: "password hashes at once (19 MiB each); 0: one per core" },
    Key { name: "auth.require_email_verification", about: "new accounts confirm their email by a mailed link (needs [smtp])" },
    Key { name: "gateway.heartbeat_interval_ms", about: "heartbeat interval; two silent intervals close a connection" },
    Key { name: "gateway.resume_window_ms", about: "how long a dropped session stays resumable (and online)" },
    Key { name: "gateway.replay_frames", about: "frames kept per session for resume" },
    Key { name: "gateway.replay_bytes", about: "text bytes kept per session for resume" },
    Key { name: "gateway.replay_max_age_ms", about: "how long a frame is kept for resume" },
    Key { name: "gateway.max_sessions_per_user", about: "gateway sessions per user; one more ends the oldest" },
    Key { name: "gateway.send_queue_frames", about: "queued frames before a slow client is disconnected" },
    Key { name: "gateway.max_frame_bytes", about: "largest frame a client may send in bytes" },
    Key { name: "gateway.ops_per_minute", about: "ops per connection per minute before it is closed" },
    Key { name: "chat.messages_per_10s", about: "messages one user may post per 10 s" },
    Key { name: "chat.message_burst", about: "messages one user may post at once before the rate applies" },
    Key { name: "admin.audit_retention_days", about: "days the audit log keeps an entry" },
    Key { name: "metrics.listen", about: "address for Prometheus GET /metrics, e.g. 127.0.0.1:9100; off when empty" },
    Key { name: "voice.enabled", about: "whether voice channels can be joined" },
    Key { name: "voice.force_relay", about: "clients use TURN relays only, hiding participants' addresses" },
    Key { name: "voice.grace_ms", about: "how long voice survives a dropped gateway connection" },
    Key { name: "voice.max_signal_bytes", about: "largest voice signal payload in bytes" },
    Key { name: "voice.signals_per_minute", about: "voice signals a user may send per minute" },
    Key { name: "turn.provider", about: "\"builtin\" (this server's relay), \"none\" (STUN only), \"coturn\" or \"metered\"" },
    Key {
        name: "turn.secret",
        about: "REST credential secret (coturn static-auth-secret); builtin: generated in data_dir when empty",
    },
    Key { name: "turn.listen", about: "built-in relay UDP+TCP address (0.0.0.0: every local address, IPv4 and IPv6)" },
    Key { name: "turn.tls_listen", about: "built-in relay TLS (turns:) address, on when tls_cert and tls_key are set" },
    Key { name: "turn.tls_cert", about: "PEM certificate chain for turns:" },
    Key { name: "turn.tls_key", about: "PEM private key for turns:" },
    Key { name: "turn.realm", about: "realm of the built-in relay's credentials" },
    Key { name: "turn.public_ip", about: "public IP advertised for relayed addresses behind NAT" },
    Key { name: "turn.public_host", about: "host in STUN/TURN URLs; empty: the host the browser used" },
    Key { name: "turn.relay_ports", about: "ports for relayed addresses, LOW-HIGH" },
    Key { name: "turn.allowed_peer_ips", about: "CIDR ranges the relay may reach despite the default deny list" },
    Key { name: "turn.denied_peer_ips", about: "CIDR ranges refused besides the default internal ranges" },
    Key { name: "turn.allow_loopback_peers", about: "let the relay reach loopback peers: tests only, never production" },
    Key { name: "turn.strict_expiry", about: "refuse refreshes once a credential expired (drops long calls)" },
    Key { name: "turn.user_quota", about: "relay allocations one user may hold" },
    Key { name: "turn.total_quota", about: "relay allocations in total" },
    Key { name: "turn.max_connections_per_ip", about: "relay TCP/TLS connections one source IP may hold" },
    Key { name: "turn.allocation_kbps", about: "bandwidth per allocation and direction in kbit/s; 0: no cap" },
    Key { name: "turn.urls", about: "TURN URLs, e.g. [\"turn:host:3478?transport=udp\"]" },
    Key { name: "turn.stun_urls", about: "STUN URLs, e.g. [\"stun:host:3478\"]" },
    Key { name: "turn.credential_ttl_secs", about: "lifetime of minted TURN credentials" },
    Key { name: "turn.metered_api_url", about: "Metered API base URL" },
    Key { name: "turn.metered_api_key", about: "Metered credential API key" },
    Key { name: "smtp.host", about: "mail server for password reset and address confirmation; empty: no mail" },
    Key { name: "smtp.port", about: "mail server port; 0: 587 for starttls, 465 for tls, 25 for none" },
    Key { name: "smtp.username", about: "login at the mail server, if it wants one" },
    Key { name: "smtp.password", about: "password for smtp.username" },
    Key { name: "smtp.from", about: "sender, e.g. \"Chat <chat@example.org>\"" },
    Key { name: "smtp.tls", about: "\"starttls\", \"tls\" or \"none\" (a relay on this machine or network only)" },
    Key { name: "links.previews", about: "fetch a title, description and picture for the first link in a message" },
    Key { name: "links.allow_loopback", about: "let link previews reach loopback addresses: tests only, never production" },
];

/// The environment variable that sets a dotted key.
pub fn env_name(key: &str) -> String {
    format!("CROMULENT_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// The dotted key an environment variable (without `CROMULENT_`) sets, if it names one. Keys
/// contain `_` too, so the section is matched first rather than splitting on every `_`.
pub(super) fn dotted_key(variable: &str) -> Option<String> {
    let variable = variable.to_ascii_lowercase();
    let dotted = SECTIONS
        .iter()
        .find_map(|section| {
            variable.strip_prefix(section).and_then(|rest| rest.strip_prefix('_')).map(|rest| format!("{section}.{rest}"))
        })
        .unwrap_or(variable);
    KEYS.iter().any(|k| k.name == dotted).then_some(dotted)
}

/// The default of every key as it is written in TOML, in [`KEYS`] order.
pub fn defaults() -> Vec<(&'static Key, String)> {
    let value = serde_json::to_value(Config::default()).expect("the configuration serialises");
    // A JSON string, number, bool or list of those is written the same way in TOML.
    KEYS.iter().map(|key| (key, key.name.split('.').fold(&value, |v, part| &v[part]).to_string())).collect()
}

/// `--help` text listing every key with its variable and default.
pub fn keys_help() -> String {
    let mut text =
        String::from("Configuration (defaults < --config FILE < CROMULENT_* variables < flags; see docs/configuration.md):\n");
    for (key, default) in defaults() {
        text.push_str(&format!("  {:<40} {:<46} default {}\n      {}\n", key.name, env_name(key.name), default, key.about));
    }
    text
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
    fn the_docs_give_every_key_its_variable_and_real_default() {
        let docs = include_str!("../../../../docs/configuration.md");
        for (key, default) in defaults() {
            let row = docs
                .lines()
                .find(|line| line.starts_with(&format!("| `{}` |", key.name)))
                .unwrap_or_else(|| panic!("docs/configuration.md has no row for {}", key.name));
            let cells: Vec<&str> = row.split(" | ").map(|cell| cell.trim_matches(|c| c == '|' || c == ' ' || c == '`')).collect();
            assert_eq!(cells[1], env_name(key.name), "variable of {}", key.name);
            assert_eq!(toml_value(cells[2]), toml_value(&default), "default of {} in the docs", key.name);
        }
    }

    #[test]
    fn variables_reach_their_keys() {
        assert_eq!(dotted_key("TURN_PUBLIC_IP").as_deref(), Some("turn.public_ip"));
        assert_eq!(dotted_key("DATA_DIR").as_deref(), Some("data_dir"));
        assert_eq!(dotted_key("TEST_SOMETHING"), None);
    }

    /// A TOML literal as a value, so `[]` and `[ ]` compare equal.
    fn toml_value(literal: &str) -> toml::Value {
        let table: toml::Table = format!("v = {literal}").parse().unwrap_or_else(|e| panic!("{literal}: {e}"));
        table["v"].clone()
    }
}
