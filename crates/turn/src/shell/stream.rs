//! TURN over TCP and TLS (RFC 8656 §3.1): one task per connection that splits the byte stream
//! into STUN messages and ChannelData frames and feeds them to the core. Framing is ours
//! because ChannelData over a stream is padded to four bytes, and a stream of junk must end
//! the connection rather than grow a buffer.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

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

pub(super) async fn accept_tcp(worker: Arc<Worker>, listener: TcpListener) {
    loop {
        let Ok((stream, client)) = listener.accept().await else { continue };
        let Ok(slot) = worker.shared.connections.clone().try_acquire_owned() else { continue };
        let _ = stream.set_nodelay(true);
        let Ok(server) = stream.local_addr() else { continue };
        let five = FiveTuple { transport: Transport::Tcp, client, server };
        let worker = worker.clone();
        worker.shared.tasks.clone().spawn(async move {
            serve(worker, stream, five).await;
            drop(slot);
        });
    }
}

pub(super) async fn accept_tls(worker: Arc<Worker>, listener: TcpListener, acceptor: TlsAcceptor) {
    loop {
        let Ok((stream, client)) = listener.accept().await else { continue };
        let Ok(slot) = worker.shared.connections.clone().try_acquire_owned() else { continue };
        let _ = stream.set_nodelay(true);
        let Ok(server) = stream.local_addr() else { continue };
        let acceptor = acceptor.clone();
        let worker2 = worker.clone();
        worker.shared.tasks.spawn(async move {
            let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await else { return };
            serve(worker2, stream, FiveTuple { transport: Transport::Tls, client, server }).await;
            drop(slot);
        });
    }
}

/// Serves one connection until it closes, then ends its allocation.
async fn serve<S: AsyncRead + AsyncWrite + Send + 'static>(worker: Arc<Worker>, stream: S, five: FiveTuple) {
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
        loop {
            let frame = match tokio::time::timeout(IDLE_TIMEOUT, frames.next(&mut reader)).await {
                Ok(Ok(Some(frame))) => frame,
                _ => return,
            };
            if let Some(reply) = on_client_packet(&worker, five, frame)
                && sender.send(reply).await.is_err()
            {
                return;
            }
        }
    };
    tokio::select! {
        () = read => {}
        () = write => {}
        () = shared.shutdown.cancelled() => {}
    }
    shared.streams.lock().unwrap_or_else(|p| p.into_inner()).remove(&five);
    shared.relay().client_closed(five);
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

    /// Reads until one whole frame is buffered and returns it (without ChannelData padding).
    async fn next<'s, R: AsyncRead + Unpin>(&'s mut self, reader: &mut R) -> io::Result<Option<&'s [u8]>> {
        if self.consumed > 0 {
            self.buf.drain(..self.consumed);
            self.consumed = 0;
        }
        loop {
            if let Some(total) = Frames::frame_len(&self.buf).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?
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
            self.buf.resize(start + 4096, 0);
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
        assert_eq!(frames.next(&mut reader).await.unwrap().unwrap(), &[0x40, 0x01, 0x00, 0x03, b'a', b'b', b'c']);
        assert_eq!(frames.next(&mut reader).await.unwrap().unwrap().len(), 20);
        assert_eq!(frames.next(&mut reader).await.unwrap(), None);
    }

    fn tokio_test_reader(data: Vec<u8>) -> impl AsyncRead + Unpin {
        std::io::Cursor::new(data)
    }
}
