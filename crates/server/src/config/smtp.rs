//! `[smtp]`: the mail server password reset and address confirmation links go out through.

use serde::{Deserialize, Serialize};

use super::Secret;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or network.
    None,
}

/// `[smtp]`: outgoing mail; off while `host` is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// The mail server's host name; empty turns mail off.
    pub host: String,
    /// Its port; 0 means the usual one for `tls` (587, 465 or 25).
    pub port: u16,
    /// Login name, when the mail server wants one.
    pub username: String,
    /// Password for `username`.
    pub password: Secret,
    /// The sender, e.g. `Cromulent <chat@example.org>`.
    pub from: String,
    /// `starttls`, `tls` or `none`.
    pub tls: SmtpTls,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 0,
            username: String::new(),
            password: Secret::default(),
            from: String::new(),
            tls: SmtpTls::Starttls,
        }
    }
}

impl SmtpConfig {
    /// Whether mail is configured.
    pub fn enabled(&self) -> bool {
        !self.host.is_empty()
    }

    /// The port in effect.
    pub fn port(&self) -> u16 {
        match (self.port, self.tls) {
            (0, SmtpTls::Starttls) => 587,
            (0, SmtpTls::Tls) => 465,
            (0, SmtpTls::None) => 25,
            (port, _) => port,
        }
    }
}
