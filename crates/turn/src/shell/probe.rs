//! A STUN/TURN client that tries one ICE server the way a browser would, to tell an operator
//! whether it works and, if not, why: a STUN Binding for `stun:` URLs; for `turn:` and `turns:`
//! the 401 challenge and a signed Allocate over UDP, TCP or TLS, then the allocation is freed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stun_types::attribute::{ErrorCode, Nonce, Realm, Username, XorMappedAddress};
use stun_types::message::{
    BINDING, IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageWriteVec, TransactionId,
};
use stun_types::prelude::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use turn_types::attribute::{Lifetime, RequestedTransport, XorRelayedAddress};
use turn_types::message::{ALLOCATE, REFRESH};

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
    let addr = match tokio::net::lookup_host((url.host.as_str(), url.port)).await.map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        Ok(None) => return ProbeOutcome::Unreachable(format!("{} has no address", url.host)),
        Err(error) => return ProbeOutcome::Unreachable(format!("{} does not resolve: {error}", url.host)),
    };
    let mut path = match (url.tcp, url.scheme) {
        (false, _) => {
            let bind = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            match UdpSocket::bind(bind).await {
                Ok(socket) if socket.connect(addr).await.is_ok() => Path::Udp(socket),
                _ => return ProbeOutcome::Unreachable("cannot open a UDP socket".into()),
            }
        }
        (true, scheme) => {
            let stream = match TcpStream::connect(addr).await {
                Ok(stream) => stream,
                Err(error) => return ProbeOutcome::Unreachable(format!("TCP connection to {addr} failed: {error}")),
            };
            if scheme == Scheme::Turns {
                let Ok(name) = rustls_pki_types::ServerName::try_from(url.host.clone()) else {
                    return ProbeOutcome::Unreachable(format!("{} is not a TLS server name", url.host));
                };
                match tokio_rustls::TlsConnector::from(tls).connect(name, stream).await {
                    Ok(stream) => Path::Stream(Box::new(stream)),
                    Err(error) => return ProbeOutcome::Unreachable(format!("TLS with {addr} failed: {error}")),
                }
            } else {
                Path::Stream(Box::new(stream))
            }
        }
    };
    match (url.scheme, credentials) {
        (Scheme::Stun, _) => binding(&mut path).await,
        (_, Some((username, password))) => allocate(&mut path, username, password).await,
        (_, None) => ProbeOutcome::Unauthorized,
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

enum Path {
    Udp(UdpSocket),
    Stream(Box<dyn Stream>),
}

impl Path {
    /// Sends a request and returns the answer to it; over UDP, retransmits as RFC 8489 says.
    async fn exchange(&mut self, request: &[u8], transaction: TransactionId) -> Result<Vec<u8>, ProbeOutcome> {
        match self {
            Path::Udp(socket) => {
                let mut wait = Duration::from_millis(500);
                let mut buf = vec![0u8; 2048];
                loop {
                    socket.send(request).await.map_err(|e| ProbeOutcome::Unreachable(e.to_string()))?;
                    let deadline = tokio::time::Instant::now() + wait;
                    while let Ok(received) = tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                        let len = received.map_err(|e| ProbeOutcome::Unreachable(format!("ICMP error: {e}")))?;
                        if Message::from_bytes(&buf[..len]).is_ok_and(|m| m.transaction_id() == transaction) {
                            return Ok(buf[..len].to_vec());
                        }
                    }
                    wait *= 2;
                }
            }
            Path::Stream(stream) => {
                stream.write_all(request).await.map_err(|e| ProbeOutcome::Unreachable(e.to_string()))?;
                loop {
                    let mut message = vec![0u8; 20];
                    stream
                        .read_exact(&mut message)
                        .await
                        .map_err(|e| ProbeOutcome::Unreachable(format!("connection closed: {e}")))?;
                    let length = usize::from(u16::from_be_bytes([message[2], message[3]]));
                    message.resize(20 + length, 0);
                    stream.read_exact(&mut message[20..]).await.map_err(|e| ProbeOutcome::Unreachable(e.to_string()))?;
                    if Message::from_bytes(&message).is_ok_and(|m| m.transaction_id() == transaction) {
                        return Ok(message);
                    }
                }
            }
        }
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

async fn allocate(path: &mut Path, username: &str, password: &str) -> ProbeOutcome {
    let mut first = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    let transaction = first.transaction_id();
    let _ = first.add_attribute(&RequestedTransport::new(RequestedTransport::UDP));
    let _ = first.add_fingerprint();
    let challenge = match path.exchange(&first.finish(), transaction).await {
        Ok(answer) => answer,
        Err(outcome) => return outcome,
    };
    let Ok(challenge) = Message::from_bytes(&challenge) else { return ProbeOutcome::Unreachable("a malformed answer".into()) };
    let (Ok(realm), Ok(nonce)) = (challenge.attribute::<Realm>(), challenge.attribute::<Nonce>()) else {
        return ProbeOutcome::Refused(challenge.attribute::<ErrorCode>().map_or(0, |e| e.code()));
    };
    let (realm, nonce) = (realm.realm().to_owned(), nonce.nonce().to_owned());
    let key = LongTermKeyCredentials::new(username.to_owned(), password.to_owned(), realm.clone()).into();
    let signed = |method, lifetime: Option<u32>| {
        let mut out = Message::builder_request(method, MessageWriteVec::new());
        let transaction = out.transaction_id();
        if method == ALLOCATE {
            let _ = out.add_attribute(&RequestedTransport::new(RequestedTransport::UDP));
        }
        if let Some(seconds) = lifetime {
            let _ = out.add_attribute(&Lifetime::new(seconds));
        }
        let (Ok(user), Ok(realm), Ok(nonce)) = (Username::new(username), Realm::new(&realm), Nonce::new(&nonce)) else {
            return None;
        };
        let _ = out.add_attribute(&user);
        let _ = out.add_attribute(&realm);
        let _ = out.add_attribute(&nonce);
        out.add_message_integrity(&key, IntegrityAlgorithm::Sha1).ok()?;
        let _ = out.add_fingerprint();
        Some((out.finish(), transaction))
    };
    let Some((request, transaction)) = signed(ALLOCATE, None) else {
        return ProbeOutcome::Unreachable("the credentials cannot be written into a request".into());
    };
    let answer = match path.exchange(&request, transaction).await {
        Ok(answer) => answer,
        Err(outcome) => return outcome,
    };
    let Ok(answer) = Message::from_bytes(&answer) else { return ProbeOutcome::Unreachable("a malformed answer".into()) };
    if answer.class() != MessageClass::Success {
        return match answer.attribute::<ErrorCode>().map_or(0, |e| e.code()) {
            401 => ProbeOutcome::Unauthorized,
            code => ProbeOutcome::Refused(code),
        };
    }
    let Ok(relayed) = answer.attribute::<XorRelayedAddress>() else {
        return ProbeOutcome::Unreachable("an Allocate success without a relayed address".into());
    };
    let relayed = relayed.addr(answer.transaction_id());
    // Free it again; a server that does not answer the delete still allocated.
    if let Some((delete, transaction)) = signed(REFRESH, Some(0)) {
        let _ = tokio::time::timeout(Duration::from_secs(1), path.exchange(&delete, transaction)).await;
    }
    ProbeOutcome::Allocated(relayed)
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
