//! TURN over TCP and TLS (RFC 8656 §3.1): one task per connection that splits the byte stream
//! into STUN messages and ChannelData frames and feeds them to the core. Framing is ours
//! because ChannelData over a stream is padded to four bytes, and a stream of junk must end
//! the connection rather than grow a buffer. Until a connection holds an allocation it is a
//! stranger: it may send only small STUN messages, must send one soon and allocate soon after,
//! and one source address may hold only a few connections, the oldest stranger making room for
//! a newcomer, so no source can take every slot or pin memory before authenticating.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::{Worker, on_client_packet};
use crate::framing::{FrameLimit, Frames};
use crate::relay::{FiveTuple, Transport};

/// Frames queued for a slow client before further ones are dropped (UDP semantics).
const QUEUE: usize = 256;
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP and TLS connections served at once; more are closed on accept, so a flood of idle
/// connections cannot exhaust memory or file descriptors.
pub(super) const MAX_CONNECTIONS: usize = 4096;
/// A connection that sends nothing for this long is closed (a live allocation refreshes well before).
const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Limits on TCP and TLS connections, against a source that opens many and says nothing.
#[derive(Debug, Clone)]
pub struct StreamLimits {
    /// Connections one source address may hold (`turn.max_connections_per_ip`).
    pub per_source: usize,
    /// How long a new connection may take to send its first STUN message.
    pub first_message: Duration,
    /// How long a connection may go without holding an allocation.
    pub allocation: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits { per_source: 32, first_message: Duration::from_secs(5), allocation: Duration::from_secs(30) }
    }
}

/// A connection as its source's registry sees it.
pub(super) struct Held {
    id: u64,
    closer: CancellationToken,
    allocated: Arc<AtomicBool>,
}

/// Numbers connections for the registry.
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// A connection's place in its source's registry; leaving it frees the place.
struct Registration {
    worker: Arc<Worker>,
    source: IpAddr,
    id: u64,
    closer: CancellationToken,
    allocated: Arc<AtomicBool>,
}

impl Registration {
    /// Registers a connection from `source`. At the source's limit, its oldest connection
    /// without an allocation is closed to make room; without one, the newcomer is refused.
    fn new(worker: &Arc<Worker>, source: IpAddr) -> Option<Registration> {
        let shared = &worker.shared;
        let mut sources = shared.sources.lock().unwrap_or_else(|p| p.into_inner());
        let held = sources.entry(source).or_default();
        if held.len() >= shared.limits.per_source.max(1) {
            let stranger = held.iter().position(|h| !h.allocated.load(Ordering::Acquire))?;
            held.remove(stranger).closer.cancel();
        }
        let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
        let (closer, allocated) = (shared.shutdown.child_token(), Arc::new(AtomicBool::new(false)));
        held.push(Held { id, closer: closer.clone(), allocated: allocated.clone() });
        Some(Registration { worker: worker.clone(), source, id, closer, allocated })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut sources = self.worker.shared.sources.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = sources.get_mut(&self.source) {
            held.retain(|h| h.id != self.id);
            if held.is_empty() {
                sources.remove(&self.source);
            }
        }
    }
}

/// A connection another listener recognised as TURN and hands to the relay: the web server's
/// HTTPS port carries TURN over TCP and over TLS too (`turn:HOST:443?transport=tcp`, `turns:`).
pub struct HandedStream {
    /// The connection, with any bytes the other listener read to recognise it put back in front.
    pub stream: Box<dyn RelayStream>,
    /// The client's address.
    pub client: SocketAddr,
    /// The local address the client reached.
    pub server: SocketAddr,
    /// Whether the connection is TLS (already handshaken) or plain TCP.
    pub tls: bool,
}

/// What a handed connection must be.
pub trait RelayStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> RelayStream for T {}

/// Hands connections to the relay, which serves them under the same limits as its own
/// listeners' (per-source cap, deadlines, stranger frame sizes). Cheap to clone.
#[derive(Clone)]
pub struct StreamDoor(pub(super) mpsc::Sender<HandedStream>);

/// Connections waiting at the door; more are closed, as a full accept queue would.
pub(super) const DOOR_QUEUE: usize = 1024;

impl StreamDoor {
    /// Passes `handed` to the relay; `false` (and the connection closed) when the relay is
    /// stopping or too many wait.
    pub fn hand_over(&self, handed: HandedStream) -> bool {
        self.0.try_send(handed).is_ok()
    }
}

/// Serves connections handed through the door, on the relay's own thread.
pub(super) async fn accept_handed(worker: Arc<Worker>, mut door: mpsc::Receiver<HandedStream>) {
    while let Some(HandedStream { stream, client, server, tls }) = door.recv().await {
        let Ok(slot) = worker.shared.connections.clone().try_acquire_owned() else { continue };
        let Some(registration) = Registration::new(&worker, client.ip()) else { continue };
        let transport = if tls { Transport::Tls } else { Transport::Tcp };
        let five = FiveTuple { transport, client, server };
        let worker = worker.clone();
        worker.shared.tasks.clone().spawn(async move {
            serve(worker, stream, five, &registration).await;
            drop(slot);
        });
    }
}

pub(super) async fn accept_tcp(worker: Arc<Worker>, listener: TcpListener) {
    loop {
        let Ok((stream, client)) = listener.accept().await else { continue };
        let Ok(slot) = worker.shared.connections.clone().try_acquire_owned() else { continue };
        let Some(registration) = Registration::new(&worker, client.ip()) else { continue };
        let _ = stream.set_nodelay(true);
        let Ok(server) = stream.local_addr() else { continue };
        let five = FiveTuple { transport: Transport::Tcp, client, server };
        let worker = worker.clone();
        worker.shared.tasks.clone().spawn(async move {
            serve(worker, stream, five, &registration).await;
            drop(slot);
        });
    }
}

pub(super) async fn accept_tls(worker: Arc<Worker>, listener: TcpListener, acceptor: TlsAcceptor) {
    loop {
        let Ok((stream, client)) = listener.accept().await else { continue };
        let Ok(slot) = worker.shared.connections.clone().try_acquire_owned() else { continue };
        let Some(registration) = Registration::new(&worker, client.ip()) else { continue };
        let _ = stream.set_nodelay(true);
        let Ok(server) = stream.local_addr() else { continue };
        let acceptor = acceptor.clone();
        let worker2 = worker.clone();
        worker.shared.tasks.spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            let stream = tokio::select! {
                accepted = handshake => match accepted {
                    Ok(Ok(stream)) => stream,
                    _ => return,
                },
                () = registration.closer.cancelled() => return,
            };
            serve(worker2, stream, FiveTuple { transport: Transport::Tls, client, server }, &registration).await;
            drop(slot);
        });
    }
}

/// Serves one connection until it closes, then ends its allocation.
async fn serve<S: AsyncRead + AsyncWrite + Send + 'static>(
    worker: Arc<Worker>,
    stream: S,
    five: FiveTuple,
    registration: &Registration,
) {
    let shared = &worker.shared;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (sender, mut outbox) = mpsc::channel::<Vec<u8>>(QUEUE);
    shared.streams.lock().unwrap_or_else(|p| p.into_inner()).insert(five, sender.clone());
    let write = async move {
        while let Some(frame) = outbox.recv().await {
            if writer.write_all(&frame).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    };
    let read = async {
        let mut frames = Frames::default();
        let started = Instant::now();
        let mut answered = false;
        loop {
            let allocated = registration.allocated.load(Ordering::Acquire);
            let (deadline, limit) = match (allocated, answered) {
                (true, _) => (Instant::now() + IDLE_TIMEOUT, FrameLimit::OPEN),
                (false, false) => (started + shared.limits.first_message, FrameLimit::STRANGER),
                (false, true) => (started + shared.limits.allocation, FrameLimit::STRANGER),
            };
            let frame = match tokio::time::timeout_at(deadline, next_frame(&mut frames, &mut reader, limit)).await {
                Ok(Ok(Some(frame))) => frame,
                _ => return,
            };
            let reply = on_client_packet(&worker, five, frame);
            if !allocated {
                answered |= reply.is_some();
                if shared.relay().has_allocation(&five) {
                    registration.allocated.store(true, Ordering::Release);
                }
            }
            if let Some(reply) = reply
                && sender.send(reply).await.is_err()
            {
                return;
            }
        }
    };
    tokio::select! {
        () = read => {}
        () = write => {}
        () = registration.closer.cancelled() => {}
    }
    shared.streams.lock().unwrap_or_else(|p| p.into_inner()).remove(&five);
    shared.relay().client_closed(five);
}

/// Reads until `frames` holds a whole frame and returns it; `None` at the end of the stream.
async fn next_frame<'f, R: AsyncRead + Unpin>(
    frames: &'f mut Frames,
    reader: &mut R,
    limit: FrameLimit,
) -> io::Result<Option<&'f [u8]>> {
    loop {
        match frames.next_frame(limit) {
            Ok(Some(_)) => return Ok(Some(frames.frame())),
            Ok(None) => {}
            Err(_) => return Err(io::Error::from(io::ErrorKind::InvalidData)),
        }
        let read = reader.read(frames.spare(limit)).await?;
        if read == 0 {
            return Ok(None);
        }
        frames.filled(read);
    }
}

#[cfg(test)]
mod tests {
    mod limits {
        use std::net::SocketAddr;

        use stun_types::message::{BINDING, Message, MessageWriteVec};
        use stun_types::prelude::*;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::{TcpSocket, TcpStream};
        use tokio_util::sync::CancellationToken;

        use crate::RelayConfig;
        use crate::shell::{RelayServer, ShellConfig, StreamLimits};

        /// A relay on loopback whose deadlines are `first_message` and twice that.
        async fn relay(per_source: usize, first_message: u64) -> (RelayServer, SocketAddr, CancellationToken) {
            let shutdown = CancellationToken::new();
            let streams = StreamLimits {
                per_source,
                first_message: std::time::Duration::from_millis(first_message),
                allocation: std::time::Duration::from_millis(2 * first_message),
            };
            let config = ShellConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                tls: None,
                relay: RelayConfig::with_secret(b"stream-test".to_vec()),
                streams,
            };
            let server = RelayServer::start(config, shutdown.clone()).await.unwrap();
            let addr = SocketAddr::from(([127, 0, 0, 1], server.tcp_port));
            (server, addr, shutdown)
        }

        async fn connect_from(source: [u8; 4], to: SocketAddr) -> TcpStream {
            let socket = TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::from((source, 0))).unwrap();
            socket.connect(to).await.unwrap()
        }

        fn binding() -> Vec<u8> {
            let mut out = Message::builder_request(BINDING, MessageWriteVec::new());
            out.add_fingerprint().unwrap();
            out.finish()
        }

        /// Whether the relay closed the connection within `within` (reading what it sent first).
        async fn closed(stream: &mut TcpStream, within: std::time::Duration) -> bool {
            let mut buf = [0u8; 1024];
            let deadline = tokio::time::Instant::now() + within;
            loop {
                match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return true,
                    Ok(Ok(_)) => continue,
                    Err(_) => return false,
                }
            }
        }

        #[tokio::test]
        async fn a_silent_connection_and_one_that_never_allocates_are_closed() {
            let (_server, addr, shutdown) = relay(8, 300).await;
            let mut silent = connect_from([127, 0, 0, 1], addr).await;
            assert!(closed(&mut silent, std::time::Duration::from_secs(3)).await, "no first message");

            let mut chatty = connect_from([127, 0, 0, 1], addr).await;
            chatty.write_all(&binding()).await.unwrap();
            let mut answer = [0u8; 20];
            chatty.read_exact(&mut answer).await.unwrap();
            assert_eq!(answer[..2], [0x01, 0x01], "the Binding is answered");
            assert!(closed(&mut chatty, std::time::Duration::from_secs(3)).await, "no allocation");
            shutdown.cancel();
        }

        #[tokio::test]
        async fn a_stranger_may_send_neither_big_frames_nor_channel_data() {
            let (_server, addr, shutdown) = relay(8, 30_000).await;
            // The header of a 60 KB STUN message: refused before its body is read.
            let mut big = connect_from([127, 0, 0, 1], addr).await;
            big.write_all(&[0x00, 0x01, 0xEA, 0x60, 0x21, 0x12, 0xA4, 0x42]).await.unwrap();
            assert!(closed(&mut big, std::time::Duration::from_millis(200)).await);
            let mut channel = connect_from([127, 0, 0, 1], addr).await;
            channel.write_all(&[0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]).await.unwrap();
            assert!(closed(&mut channel, std::time::Duration::from_millis(200)).await);
            shutdown.cancel();
        }

        #[tokio::test]
        async fn one_source_cannot_take_every_slot() {
            let (_server, addr, shutdown) = relay(4, 30_000).await;
            let mut flood = Vec::new();
            for _ in 0..10 {
                flood.push(connect_from([127, 0, 0, 1], addr).await);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            // Another address is served at once.
            let mut other = connect_from([127, 0, 0, 2], addr).await;
            other.write_all(&binding()).await.unwrap();
            let mut answer = [0u8; 20];
            tokio::time::timeout(std::time::Duration::from_secs(1), other.read_exact(&mut answer)).await.unwrap().unwrap();
            assert_eq!(answer[..2], [0x01, 0x01]);
            // The flooding source kept only its newest four; the oldest made room.
            for (n, stream) in flood.iter_mut().enumerate().take(6) {
                assert!(closed(stream, std::time::Duration::from_millis(100)).await, "connection {n} is still open");
            }
            for stream in flood.iter_mut().skip(6) {
                assert!(!closed(stream, std::time::Duration::from_millis(100)).await);
            }
            shutdown.cancel();
        }
    }
}
