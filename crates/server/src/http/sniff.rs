//! Telling what a connection to the HTTPS port carries from its first bytes, so one TCP port
//! serves the web client, the API, the gateway and the TURN relay: before TLS, a TLS record
//! (`0x16`) or a STUN message (plain TURN over TCP); after the handshake, a STUN message
//! (`turns:`) or anything else, which is HTTP. A STUN message is recognised by its first two
//! bits being zero and the magic cookie in bytes 4–8 (RFC 8489 §5); no HTTP request starts
//! like that. ChannelData never comes first: it needs an allocation made on the connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// Bytes needed to recognise a STUN message.
pub const SNIFF_LEN: usize = 8;
/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// What a connection's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstBytes {
    /// A TLS ClientHello.
    Tls,
    /// A STUN message: TURN.
    Stun,
    /// Anything else.
    Other,
}

/// Classifies the start of a connection; `None` when more bytes are needed.
pub fn classify(start: &[u8]) -> Option<FirstBytes> {
    match start.first()? {
        &TLS_HANDSHAKE => Some(FirstBytes::Tls),
        first if first & 0xC0 == 0 => {
            let cookie = start.get(4..SNIFF_LEN)?;
            Some(if cookie == MAGIC_COOKIE { FirstBytes::Stun } else { FirstBytes::Other })
        }
        _ => Some(FirstBytes::Other),
    }
}

/// Reads the first bytes of a stream (as few as tell what it is) and returns it with them put
/// back in front, and what they are.
pub async fn read_start<S: AsyncRead + Unpin>(mut stream: S) -> io::Result<(Prefixed<S>, FirstBytes)> {
    let mut start = Vec::with_capacity(SNIFF_LEN);
    let kind = loop {
        if let Some(kind) = classify(&start) {
            break kind;
        }
        if start.len() >= SNIFF_LEN {
            break FirstBytes::Other;
        }
        let mut byte = [0u8; SNIFF_LEN];
        let wanted = SNIFF_LEN - start.len();
        let read = stream.read(&mut byte[..wanted]).await?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        start.extend_from_slice(&byte[..read]);
    };
    Ok((Prefixed { start, at: 0, inner: stream }, kind))
}

/// A stream with bytes already read from it put back in front.
pub struct Prefixed<S> {
    start: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.at < self.start.len() {
            let n = (self.start.len() - self.at).min(buf.remaining());
            let at = self.at;
            buf.put_slice(&self.start[at..at + n]);
            self.at += n;
            if self.at == self.start.len() {
                self.start = Vec::new();
                self.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_stun_and_http_are_told_apart() {
        assert_eq!(classify(&[0x16, 0x03, 0x01]), Some(FirstBytes::Tls));
        assert_eq!(classify(&[0x00, 0x03, 0x00, 0x10, 0x21, 0x12, 0xA4, 0x42]), Some(FirstBytes::Stun));
        assert_eq!(classify(&[0x00, 0x03, 0x00]), None, "a STUN header needs its cookie");
        assert_eq!(classify(&[0x00, 0x03, 0x00, 0x10, 1, 2, 3, 4]), Some(FirstBytes::Other));
        for request in [&b"GET / HTTP/1.1\r\n"[..], b"PRI * HTTP/2.0", b"POST /api"] {
            assert_eq!(classify(request), Some(FirstBytes::Other), "{request:?}");
        }
        assert_eq!(classify(&[]), None);
    }

    #[tokio::test]
    async fn bytes_read_to_decide_are_read_again() {
        let (mut client, server) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut client, b"GET / HTTP/1.1\r\n").await.unwrap();
        drop(client);
        let (mut prefixed, kind) = read_start(server).await.unwrap();
        assert_eq!(kind, FirstBytes::Other);
        let mut all = String::new();
        prefixed.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "GET / HTTP/1.1\r\n");
    }

    #[tokio::test]
    async fn a_stun_message_split_across_reads_is_recognised() {
        let (mut client, server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            for byte in [0x00u8, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42] {
                tokio::io::AsyncWriteExt::write_all(&mut client, &[byte]).await.unwrap();
                tokio::task::yield_now().await;
            }
            client
        });
        let (_, kind) = read_start(server).await.unwrap();
        assert_eq!(kind, FirstBytes::Stun);
        drop(writer.await);
    }
}
