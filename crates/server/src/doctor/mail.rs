//! Whether the server can send mail: the `[smtp]` server answers (TLS and login included), and
//! the links in mail will point where people open the server.

use super::Check;
use crate::config::Config;
use crate::mail::Mailer;

/// The mail checks: none while `[smtp]` is off.
pub async fn check(config: &Config) -> Vec<Check> {
    if !config.smtp.enabled() {
        return Vec::new();
    }
    let server = format!("{}:{} ({:?})", config.smtp.host, config.smtp.port(), config.smtp.tls).to_lowercase();
    let mut checks = vec![match Mailer::from_config(&config.smtp) {
        Ok(Some(mailer)) => match mailer.reachable().await {
            Ok(()) => Check::ok("mail", format!("{server} answers and takes our login")),
            Err(err) => Check::fail(
                "mail",
                format!("{server}: {err}"),
                "Check smtp.host, smtp.port and smtp.tls (587 is usually starttls, 465 tls), and smtp.username and smtp.password; \
                 without mail, password reset links cannot be sent.",
            ),
        },
        Ok(None) => return Vec::new(),
        Err(err) => Check::fail("mail", err.to_string(), "Correct the [smtp] settings (see docs/configuration.md)."),
    }];
    if config.http.public_url.is_empty() && config.tls.acme_domains.is_empty() {
        checks.push(Check::warn(
            "mail links",
            "links in mail will point at whatever host a request names",
            "Set http.public_url to the address people open (e.g. https://chat.example.org), so a forged Host header \
             cannot make the server mail a link to another site.",
        ));
    }
    checks
}
