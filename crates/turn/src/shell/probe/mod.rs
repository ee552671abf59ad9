//! A STUN/TURN client that tries one ICE server the way a browser would, to tell an operator
//! whether it works and, if not, why: a STUN Binding for `stun:` URLs; for `turn:` and `turns:`
//! the 401 challenge and a signed Allocate over UDP, TCP or TLS, then the allocation is freed.
//! [`TurnSession`] goes further for diagnostics: it keeps the allocation to install
//! permissions and relay a packet.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stun_types::attribute::{ErrorCode, XorMappedAddress};
use stun_types::message::{BINDING, Message, MessageClass, MessageWriteVec};
use stun_types::prelude::*;

mod path;
mod session;

pub use path::Path;
pub use session::TurnSession;

/// What kind of server a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `stun:`
    Stun,
    /// `turn:`
    Turn,
    /// `turns:` (TURN over TLS)
    Turns,
}

/// An ICE server URL (RFC 7064/7065), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceUrl {
    /// The scheme.
    pub scheme: Scheme,
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// Port (3478, or 5349 for `turns:`, when the URL names none).
    pub port: u16,
    /// Over TCP rather than UDP (`?transport=tcp`, and always for `turns:`).
    pub tcp: bool,
}

impl IceUrl {
    /// Parses `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]` or `turns:…`.
    pub fn parse(url: &str) -> Result<IceUrl, String> {
        let (scheme, rest) = url.split_once(':').ok_or("no scheme")?;
        let scheme = match scheme {
            "stun" => Scheme::Stun,
            "turn" => Scheme::Turn,
            "turns" => Scheme::Turns,
            other => return Err(format!("unknown scheme {other:?}")),
        };
        let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
        let tcp = match query {
            "" => scheme == Scheme::Turns,
            "transport=udp" if scheme != Scheme::Turns => false,
            "transport=tcp" => true,
            other => return Err(format!("unsupported {other:?}")),
        };
        let default_port = if scheme == Scheme::Turns { 5349 } else { 3478 };
        let (host, port) = match address.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or("unclosed [")?;
                (host, after.strip_prefix(':'))
            }
            None => match address.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (address, None),
            },
        };
        let port = match port {
            Some(port) => port.parse().map_err(|_| format!("bad port {port:?}"))?,
            None => default_port,
        };
        if host.is_empty() {
            return Err("no host".into());
        }
        Ok(IceUrl { scheme, host: host.to_owned(), port, tcp })
    }
}

/// What trying a server found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// STUN answered with our address as it sees it.
    Bound(SocketAddr),
    /// TURN allocated this relayed address (freed again).
    Allocated(SocketAddr),
    /// TURN refused the credentials (401 after the challenge).
    Unauthorized,
    /// TURN refused with another error code.
    Refused(u16),
    /// No answer in time.
    Timeout,
    /// The host did not resolve, the connection was refused, or TLS failed.
    Unreachable(String),
}

/// How long the probe took and what it found.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The finding.
    pub outcome: ProbeOutcome,
    /// Time taken.
    pub elapsed: Duration,
}

/// Tries `url` with `credentials` (TURN), giving up after `within`. `tls` verifies `turns:`.
pub async fn probe(url: &IceUrl, credentials: Option<(&str, &str)>, tls: Arc<rustls::ClientConfig>, within: Duration) -> Probe {
    let started = Instant::now();
    let outcome = match tokio::time::timeout(within, run(url, credentials, tls)).await {
        Ok(outcome) => outcome,
        Err(_) => ProbeOutcome::Timeout,
    };
    Probe { outcome, elapsed: started.elapsed() }
}

async fn run(url: &IceUrl, credentials: Option<(&str, &str)>, tls: Arc<rustls::ClientConfig>) -> ProbeOutcome {
    let mut path = match Path::connect(url, tls).await {
        Ok(path) => path,
        Err(outcome) => return outcome,
    };
    match (url.scheme, credentials) {
        (Scheme::Stun, _) => binding(&mut path).await,
        (_, Some((username, password))) => allocate(path, username, password).await,
        (_, None) => ProbeOutcome::Unauthorized,
    }
}

async fn binding(path: &mut Path) -> ProbeOutcome {
    let mut request = Message::builder_request(BINDING, MessageWriteVec::new());
    let transaction = request.transaction_id();
    let _ = request.add_fingerprint();
    let answer = match path.exchange(&request.finish(), transaction).await {
        Ok(answer) => answer,
        Err(outcome) => return outcome,
    };
    let Ok(answer) = Message::from_bytes(&answer) else { return ProbeOutcome::Unreachable("a malformed answer".into()) };
    match answer.attribute::<XorMappedAddress>() {
        Ok(mapped) if answer.class() == MessageClass::Success => ProbeOutcome::Bound(mapped.addr(answer.transaction_id())),
        _ => ProbeOutcome::Refused(answer.attribute::<ErrorCode>().map_or(0, |e| e.code())),
    }
}

async fn allocate(path: Path, username: &str, password: &str) -> ProbeOutcome {
    match TurnSession::allocate(path, username, password).await {
        Ok(session) => {
            let relayed = session.relayed();
            // Free it again; a server that does not answer the delete still allocated.
            session.close().await;
            ProbeOutcome::Allocated(relayed)
        }
        Err(outcome) => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_urls_parse_as_browsers_read_them() {
        let turn = IceUrl::parse("turn:chat.example.org:443?transport=tcp").unwrap();
        assert_eq!(turn, IceUrl { scheme: Scheme::Turn, host: "chat.example.org".into(), port: 443, tcp: true });
        assert_eq!(
            IceUrl::parse("stun:[::1]").unwrap(),
            IceUrl { scheme: Scheme::Stun, host: "::1".into(), port: 3478, tcp: false }
        );
        let turns = IceUrl::parse("turns:relay.example").unwrap();
        assert_eq!((turns.port, turns.tcp), (5349, true));
        for bad in ["http://x", "turn:", "turn:h:99999", "turns:h?transport=udp", "turn:[::1"] {
            assert!(IceUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
