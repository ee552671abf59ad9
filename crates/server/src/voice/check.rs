//! Save & Test for ICE settings: ask the provider for the list a browser would get, then try
//! every server in it as a browser would — a STUN Binding, or a TURN allocation over UDP, TCP
//! or TLS with the credentials the provider minted — and say for each what happened and, when
//! it failed, what to fix. A TCP connect is not a test: only an answered request counts.

use std::sync::Arc;
use std::time::Duration;

use cromulent_proto::admin::{IceCheck, IceTestReport};
use cromulent_turn::shell::probe::{IceUrl, ProbeOutcome, Scheme, probe};
use futures_util::future::join_all;

use super::ice::{IceError, IceProvider, RequestHost};

/// How long the provider may take to hand out its list.
const LIST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long each server may take; they are tried at once, so the whole test stays under 15 s.
const PROBE_TIMEOUT: Duration = Duration::from_secs(8);

/// Tries what `provider` hands out to `user_id` reaching us at `host`.
pub async fn check_ice(provider: &dyn IceProvider, user_id: i64, now_secs: i64, host: &RequestHost) -> IceTestReport {
    let list = match tokio::time::timeout(LIST_TIMEOUT, provider.ice_servers(user_id, now_secs, host)).await {
        Ok(Ok(list)) => list,
        Ok(Err(error)) => return failed_provider(provider.name(), &error),
        Err(_) => return failed_provider(provider.name(), &IceError::Timeout(LIST_TIMEOUT)),
    };
    let tls = tls_client();
    let mut tries = Vec::new();
    for server in &list.servers {
        for url in &server.urls {
            let credentials = server.username.as_deref().zip(server.credential.as_deref());
            let tls = tls.clone();
            tries.push(async move { check_url(url, credentials, tls).await });
        }
    }
    if tries.is_empty() {
        let check = IceCheck {
            name: provider.name().to_owned(),
            ok: false,
            detail: "no ICE servers to hand out".into(),
            hint: Some("List at least one STUN or TURN URL; without a relay, calls fail behind strict NATs.".into()),
        };
        return IceTestReport { ok: false, checks: vec![check] };
    }
    let checks = join_all(tries).await;
    IceTestReport { ok: checks.iter().all(|c| c.ok), checks }
}

fn failed_provider(name: &str, error: &IceError) -> IceTestReport {
    let hint = match error {
        IceError::Status(401 | 403) => "The API key was refused: copy it again from the provider's dashboard.",
        IceError::Status(_) => "The provider answered with an error: check the API URL.",
        IceError::Timeout(_) | IceError::Request(_) => {
            "The provider could not be reached: check the API URL and this server's outbound network."
        }
        IceError::Body(_) => "The answer was not a list of ICE servers: check the API URL.",
    };
    let check = IceCheck { name: name.to_owned(), ok: false, detail: error.to_string(), hint: Some(hint.into()) };
    IceTestReport { ok: false, checks: vec![check] }
}

/// Public web roots, as browsers trust, for `turns:`.
pub(crate) fn tls_client() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("the default TLS versions are supported")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

async fn check_url(url: &str, credentials: Option<(&str, &str)>, tls: Arc<rustls::ClientConfig>) -> IceCheck {
    let parsed = match IceUrl::parse(url) {
        Ok(parsed) => parsed,
        Err(error) => {
            let hint = Some("Write it as turn:HOST:PORT?transport=udp, turns:HOST:PORT or stun:HOST:PORT.".into());
            return IceCheck { name: url.to_owned(), ok: false, detail: format!("not an ICE server URL: {error}"), hint };
        }
    };
    let found = probe(&parsed, credentials, tls, PROBE_TIMEOUT).await;
    let ms = found.elapsed.as_millis();
    let transport = if parsed.tcp { "TCP" } else { "UDP" };
    let (ok, detail, hint) = match found.outcome {
        ProbeOutcome::Bound(mapped) => (true, format!("answered in {ms} ms; it sees this server as {mapped}"), None),
        ProbeOutcome::Allocated(relayed) => (true, format!("allocated relayed address {relayed} in {ms} ms"), None),
        ProbeOutcome::Unauthorized if credentials.is_none() => {
            (false, "no credentials to try".into(), Some("A TURN URL needs the shared secret or an API key.".into()))
        }
        ProbeOutcome::Unauthorized => (
            false,
            "the credentials were refused (401)".into(),
            Some("The secret differs from coturn's static-auth-secret (coturn reads it literally; it does not expand ${VAR}), or the realm or clock differs.".into()),
        ),
        ProbeOutcome::Refused(code) => (false, format!("refused with error {code}"), Some(refusal_hint(code).into())),
        ProbeOutcome::Timeout => (
            false,
            format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
            Some(format!(
                "Port unreachable or blocked: check that {}:{} ({transport}) is open in every firewall between here and the relay.",
                parsed.host, parsed.port
            )),
        ),
        ProbeOutcome::Unreachable(why) => {
            let hint = match parsed.scheme {
                Scheme::Turns if why.contains("TLS") => {
                    "Check the relay's TLS certificate: browsers need one a public CA issued for this name.".to_owned()
                }
                _ => format!(
                    "Port unreachable or blocked: check the host name, that the relay listens on {}:{} ({transport}), and every firewall on the way.",
                    parsed.host, parsed.port
                ),
            };
            (false, why, Some(hint))
        }
    };
    IceCheck { name: url.to_owned(), ok, detail, hint }
}

fn refusal_hint(code: u16) -> &'static str {
    match code {
        403 => "The relay refused this client (its peer policy or a ban).",
        437 | 438 => "The relay's state did not match; try again.",
        486 => "The user's allocation quota is used up; raise it or wait for allocations to expire.",
        508 => "The relay has no free port or capacity; widen its relay port range.",
        _ => "See the relay's log for why it refused.",
    }
}
