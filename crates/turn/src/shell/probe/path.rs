//! The way to one STUN/TURN server: a connected UDP socket, or a TCP or TLS stream carrying
//! STUN messages back to back (RFC 8489 §6.2.2). Requests are matched to their answers by
//! transaction id; anything else that arrives meanwhile is kept for [`Path::next_message`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use stun_types::message::{Message, TransactionId};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::{IceUrl, ProbeOutcome, Scheme};

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection to one server.
pub struct Path {
    transport: Transport,
    /// Messages that arrived while waiting for an answer (indications), oldest first.
    early: VecDeque<Vec<u8>>,
}

enum Transport {
    Udp(UdpSocket),
    Stream(Box<dyn Stream>),
}

impl Path {
    /// Resolves `url`'s host and connects as its scheme and transport say; `tls` verifies
    /// `turns:` servers.
    pub async fn connect(url: &IceUrl, tls: Arc<rustls::ClientConfig>) -> Result<Path, ProbeOutcome> {
        let addr = match tokio::net::lookup_host((url.host.as_str(), url.port)).await.map(|mut a| a.next()) {
            Ok(Some(addr)) => addr,
            Ok(None) => return Err(ProbeOutcome::Unreachable(format!("{} has no address", url.host))),
            Err(error) => return Err(ProbeOutcome::Unreachable(format!("{} does not resolve: {error}", url.host))),
        };
        let transport = match (url.tcp, url.scheme) {
            (false, _) => {
                let bind = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                match UdpSocket::bind(bind).await {
                    Ok(socket) if socket.connect(addr).await.is_ok() => Transport::Udp(socket),
                    _ => return Err(ProbeOutcome::Unreachable("cannot open a UDP socket".into())),
                }
            }
            (true, scheme) => {
                let stream = TcpStream::connect(addr)
                    .await
                    .map_err(|error| ProbeOutcome::Unreachable(format!("TCP connection to {addr} failed: {error}")))?;
                if scheme == Scheme::Turns {
                    let Ok(name) = rustls_pki_types::ServerName::try_from(url.host.clone()) else {
                        return Err(ProbeOutcome::Unreachable(format!("{} is not a TLS server name", url.host)));
                    };
                    match tokio_rustls::TlsConnector::from(tls).connect(name, stream).await {
                        Ok(stream) => Transport::Stream(Box::new(stream)),
                        Err(error) => return Err(ProbeOutcome::Unreachable(format!("TLS with {addr} failed: {error}"))),
                    }
                } else {
                    Transport::Stream(Box::new(stream))
                }
            }
        };
        Ok(Path { transport, early: VecDeque::new() })
    }

    /// Sends a message that expects no answer (an indication).
    pub async fn send(&mut self, message: &[u8]) -> Result<(), ProbeOutcome> {
        let sent = match &mut self.transport {
            Transport::Udp(socket) => socket.send(message).await.map(drop),
            Transport::Stream(stream) => stream.write_all(message).await,
        };
        sent.map_err(|e| ProbeOutcome::Unreachable(e.to_string()))
    }

    /// Sends a request and returns the answer to it; over UDP, retransmits as RFC 8489 says.
    pub async fn exchange(&mut self, request: &[u8], transaction: TransactionId) -> Result<Vec<u8>, ProbeOutcome> {
        let mut wait = Duration::from_millis(500);
        loop {
            self.send(request).await?;
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let reliable = matches!(self.transport, Transport::Stream(_));
                let message = if reliable {
                    self.read_message().await?
                } else {
                    match tokio::time::timeout_at(deadline, self.read_message()).await {
                        Ok(message) => message?,
                        Err(_) => break,
                    }
                };
                if Message::from_bytes(&message).is_ok_and(|m| m.transaction_id() == transaction) {
                    return Ok(message);
                }
                self.early.push_back(message);
            }
            wait *= 2;
        }
    }

    /// The next message that is not an answer to a request: first those that arrived while
    /// waiting for one, then what the server sends next.
    pub async fn next_message(&mut self) -> Result<Vec<u8>, ProbeOutcome> {
        match self.early.pop_front() {
            Some(message) => Ok(message),
            None => self.read_message().await,
        }
    }

    /// Reads one STUN message: a datagram, or a header and its stated length off the stream.
    async fn read_message(&mut self) -> Result<Vec<u8>, ProbeOutcome> {
        match &mut self.transport {
            Transport::Udp(socket) => {
                let mut buf = vec![0u8; 2048];
                let len = socket.recv(&mut buf).await.map_err(|e| ProbeOutcome::Unreachable(format!("ICMP error: {e}")))?;
                buf.truncate(len);
                Ok(buf)
            }
            Transport::Stream(stream) => {
                let mut message = vec![0u8; 20];
                stream
                    .read_exact(&mut message)
                    .await
                    .map_err(|e| ProbeOutcome::Unreachable(format!("connection closed: {e}")))?;
                let length = usize::from(u16::from_be_bytes([message[2], message[3]]));
                message.resize(20 + length, 0);
                stream.read_exact(&mut message[20..]).await.map_err(|e| ProbeOutcome::Unreachable(e.to_string()))?;
                Ok(message)
            }
        }
    }
}
