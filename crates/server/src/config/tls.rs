//! `[tls]`: HTTPS on the web listener, from certificate files the operator renews (reloaded
//! when they change) or from an ACME CA (Let's Encrypt by default) that the server asks by
//! itself. With TLS on, the web port also carries TURN over TCP and TLS.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// `[tls]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain; reloaded when the file changes or on SIGHUP.
    pub cert: PathBuf,
    /// PEM private key, beside `cert`.
    pub key: PathBuf,
    /// Names to get a certificate for from the ACME CA (TLS-ALPN-01 on the HTTPS listener).
    pub acme_domains: Vec<String>,
    /// Contact for the ACME account, e.g. `mailto:admin@example.org`; empty for none.
    pub acme_contact: String,
    /// The ACME CA's directory URL.
    pub acme_directory: String,
    /// Extra PEM root certificates to trust when talking to the ACME CA (a private or test CA).
    pub acme_ca_roots: PathBuf,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert: PathBuf::new(),
            key: PathBuf::new(),
            acme_domains: Vec::new(),
            acme_contact: String::new(),
            acme_directory: LETS_ENCRYPT.to_owned(),
            acme_ca_roots: PathBuf::new(),
        }
    }
}

/// Where the HTTPS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// Files the operator keeps current.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// An ACME CA.
    Acme {
        /// Names on the certificate.
        domains: Vec<String>,
        /// Account contact, if any.
        contact: Option<String>,
        /// Directory URL.
        directory: String,
        /// Extra roots for reaching the CA.
        ca_roots: Option<PathBuf>,
    },
}

impl TlsConfig {
    /// The certificate source, or `None` for plain HTTP. [`super::Config::validate`] has
    /// refused half or conflicting settings.
    pub fn source(&self) -> Option<TlsSource> {
        let set = |path: &PathBuf| !path.as_os_str().is_empty();
        if set(&self.cert) && set(&self.key) {
            return Some(TlsSource::Files { cert: self.cert.clone(), key: self.key.clone() });
        }
        (!self.acme_domains.is_empty()).then(|| TlsSource::Acme {
            domains: self.acme_domains.clone(),
            contact: (!self.acme_contact.is_empty()).then(|| self.acme_contact.clone()),
            directory: self.acme_directory.clone(),
            ca_roots: set(&self.acme_ca_roots).then(|| self.acme_ca_roots.clone()),
        })
    }

    /// Whether HTTPS is on.
    pub fn enabled(&self) -> bool {
        self.source().is_some()
    }

    /// Why these settings cannot work together, if they cannot.
    pub(super) fn problem(&self) -> Option<&'static str> {
        let (cert, key) = (!self.cert.as_os_str().is_empty(), !self.key.as_os_str().is_empty());
        if cert != key {
            return Some("tls.cert and tls.key go together");
        }
        if cert && !self.acme_domains.is_empty() {
            return Some("use either tls.cert and tls.key or tls.acme_domains, not both");
        }
        if self.acme_domains.iter().any(|d| !is_dns_name(d)) {
            return Some("tls.acme_domains must be DNS names such as chat.example.org");
        }
        if !self.acme_domains.is_empty() && !self.acme_directory.starts_with("https://") {
            return Some("tls.acme_directory must be an https:// URL");
        }
        if !self.acme_contact.is_empty() && !self.acme_contact.starts_with("mailto:") {
            return Some("tls.acme_contact must be a mailto: address");
        }
        None
    }
}

/// A DNS name an ACME CA can issue for: labels of letters, digits and hyphens, no IP literal.
fn is_dns_name(name: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    name.len() <= 253 && name.contains('.') && name.parse::<std::net::IpAddr>().is_err() && name.split('.').all(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_acme_or_nothing() {
        assert_eq!(TlsConfig::default().source(), None);
        let files = TlsConfig { cert: "c.pem".into(), key: "k.pem".into(), ..TlsConfig::default() };
        assert!(matches!(files.source(), Some(TlsSource::Files { .. })));
        let acme = TlsConfig { acme_domains: vec!["chat.example.org".into()], ..TlsConfig::default() };
        assert_eq!(
            acme.source(),
            Some(TlsSource::Acme {
                domains: vec!["chat.example.org".into()],
                contact: None,
                directory: LETS_ENCRYPT.into(),
                ca_roots: None
            })
        );
    }

    #[test]
    fn conflicting_or_malformed_settings_are_named() {
        let half = TlsConfig { cert: "c.pem".into(), ..TlsConfig::default() };
        assert_eq!(half.problem(), Some("tls.cert and tls.key go together"));
        let both =
            TlsConfig { cert: "c".into(), key: "k".into(), acme_domains: vec!["a.example".into()], ..TlsConfig::default() };
        assert!(both.problem().unwrap().contains("not both"));
        for bad in ["127.0.0.1", "localhost", "-a.example", "a..example", "a_b.example"] {
            let config = TlsConfig { acme_domains: vec![bad.into()], ..TlsConfig::default() };
            assert!(config.problem().is_some(), "{bad}");
        }
        let contact =
            TlsConfig { acme_domains: vec!["a.example".into()], acme_contact: "admin@example".into(), ..TlsConfig::default() };
        assert!(contact.problem().is_some());
        let plain =
            TlsConfig { acme_domains: vec!["a.example".into()], acme_directory: "http://ca".into(), ..TlsConfig::default() };
        assert!(plain.problem().is_some());
    }
}
