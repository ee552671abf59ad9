//! TURN over TCP and TLS (RFC 8656 §3.1): one task per connection that splits the byte stream
//! into STUN messages and ChannelData frames and feeds them to the core. Framing is ours
//! because ChannelData over a stream is padded to four bytes, and a stream of junk must end
//! the connection rather than grow a buffer. Until a connection holds an allocation it is a
//! stranger: it may send only small STUN messages, must send one soon and allocate soon after,
//! and one source address may hold only a few connections, the oldest stranger making room for
//! a newcomer, so no source can take every slot or pin memory before authenticating.

use std::io;
use std::net::IpAddr;
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
use crate::relay::{FiveTuple, Transport};

/// Bytes 4..8 of every STUN message.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// Frames queued for a slow client before further ones are dropped (UDP semantics).
const QUEUE: usize = 256;
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP and TLS connections served at once; more are closed on accept, so a flood of idle
/// connections cannot exhaust memory or file descriptors.
pub(super) const MAX_CONNECTIONS: usize = 4096;
/// A connection that sends nothing for this long is closed (a live allocation refreshes well before).
const IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The largest frame a connection without an allocation may send: a STUN request with
/// credentials is a few hundred bytes; ChannelData needs an allocation.
const STRANGER_MAX_FRAME: usize = 4 * 1024;
/// The largest frame at all: a STUN message or ChannelData of 65,535 bytes and its header.
const MAX_FRAME: usize = 4 + 65_535 + 3;

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
                (true, _) => (Instant::now() + IDLE_TIMEOUT, FrameLimit { max_len: MAX_FRAME, channel_data: true }),
                (false, false) => (started + shared.limits.first_message, FrameLimit::STRANGER),
                (false, true) => (started + shared.limits.allocation, FrameLimit::STRANGER),
            };
            let frame = match tokio::time::timeout_at(deadline, frames.next(&mut reader, limit)).await {
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

/// What a connection may send next.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimit {
    /// The largest frame, padding included.
    pub max_len: usize,
    /// Whether ChannelData is allowed (it needs an allocation).
    pub channel_data: bool,
}

impl FrameLimit {
    /// For a connection without an allocation.
    pub const STRANGER: FrameLimit = FrameLimit { max_len: STRANGER_MAX_FRAME, channel_data: false };
}

/// Splits a byte stream into STUN messages and (padded) ChannelData frames.
#[derive(Default)]
pub struct Frames {
    buf: Vec<u8>,
    consumed: usize,
}

/// Why a stream cannot be framed: its first bytes are neither STUN nor ChannelData.
#[derive(Debug, PartialEq, Eq)]
pub struct NotTurn;

impl Frames {
    /// The length of the frame at the start of `data` (padding included), if its header is complete.
    pub fn frame_len(data: &[u8]) -> Result<Option<usize>, NotTurn> {
        if data.len() < 4 {
            return Ok(None);
        }
        let length = usize::from(u16::from_be_bytes([data[2], data[3]]));
        match data[0] {
            0x00..=0x3F if length % 4 == 0 => match data.get(4..8) {
                None => Ok(None),
                Some(cookie) if cookie == MAGIC_COOKIE => Ok(Some(20 + length)),
                Some(_) => Err(NotTurn),
            },
            0x40..=0x7F => Ok(Some((4 + length).next_multiple_of(4))),
            _ => Err(NotTurn),
        }
    }

    /// Reads until one whole frame is buffered and returns it (without ChannelData padding). A
    /// frame over `limit` is refused as soon as its header arrives, before its body is buffered.
    async fn next<'s, R: AsyncRead + Unpin>(&'s mut self, reader: &mut R, limit: FrameLimit) -> io::Result<Option<&'s [u8]>> {
        if self.consumed > 0 {
            self.buf.drain(..self.consumed);
            self.consumed = 0;
        }
        let refused = || io::Error::from(io::ErrorKind::InvalidData);
        loop {
            let total = Frames::frame_len(&self.buf).map_err(|_| refused())?;
            if let Some(total) = total
                && (total > limit.max_len || (!limit.channel_data && self.buf[0] & 0xC0 == 0x40))
            {
                return Err(refused());
            }
            if let Some(total) = total
                && self.buf.len() >= total
            {
                self.consumed = total;
                let unpadded = if self.buf[0] & 0xC0 == 0x40 {
                    4 + usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]))
                } else {
                    total
                };
                return Ok(Some(&self.buf[..unpadded]));
            }
            let start = self.buf.len();
            let room = 4096.min(limit.max_len.saturating_sub(start).max(1));
            self.buf.resize(start + room, 0);
            let read = reader.read(&mut self.buf[start..]).await?;
            self.buf.truncate(start + read);
            if read == 0 {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_stun_and_padded_channel_data() {
        assert_eq!(Frames::frame_len(&[0x00, 0x01]), Ok(None));
        assert_eq!(Frames::frame_len(&[0x00, 0x03, 0x00, 0x08]), Ok(None));
        assert_eq!(Frames::frame_len(&[0x00, 0x03, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42]), Ok(Some(28)));
        assert_eq!(Frames::frame_len(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]), Err(NotTurn));
        assert_eq!(Frames::frame_len(&[0x40, 0x00, 0x00, 0x05]), Ok(Some(12)));
        assert_eq!(Frames::frame_len(&[0x40, 0x00, 0x00, 0x08]), Ok(Some(12)));
        assert_eq!(Frames::frame_len(&[0x00, 0x03, 0x00, 0x07]), Err(NotTurn));
        assert_eq!(Frames::frame_len(&[0x80, 0x00, 0x00, 0x00]), Err(NotTurn));
        assert_eq!(Frames::frame_len(b"\x80\x00 junk"), Err(NotTurn));
    }

    #[tokio::test]
    async fn reads_frames_split_across_reads() {
        let mut stream: Vec<u8> = vec![0x40, 0x01, 0x00, 0x03, b'a', b'b', b'c', 0];
        stream.extend_from_slice(&[0x00, 0x01, 0x00, 0x00]);
        stream.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let mut reader = tokio_test_reader(stream);
        let mut frames = Frames::default();
        let open = FrameLimit { max_len: MAX_FRAME, channel_data: true };
        assert_eq!(frames.next(&mut reader, open).await.unwrap().unwrap(), &[0x40, 0x01, 0x00, 0x03, b'a', b'b', b'c']);
        assert_eq!(frames.next(&mut reader, open).await.unwrap().unwrap().len(), 20);
        assert_eq!(frames.next(&mut reader, open).await.unwrap(), None);
    }

    fn tokio_test_reader(data: Vec<u8>) -> impl AsyncRead + Unpin {
        std::io::Cursor::new(data)
    }

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
