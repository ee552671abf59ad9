//! TURN over a byte stream (RFC 8656 §3.1), sans IO: splitting what a TCP or TLS connection sends
//! into STUN messages and ChannelData frames (padded to four bytes on a stream). The shell reads
//! into [`Frames::spare`] and takes whole frames with [`Frames::next_frame`]; a frame over the
//! connection's [`FrameLimit`] is refused as soon as its header is in, before its body is buffered,
//! and junk ends the stream instead of growing a buffer.

/// Bytes 4..8 of every STUN message.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// Bytes read at a time.
const READ_CHUNK: usize = 4096;

/// What a connection may send next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimit {
    /// The largest frame, padding included.
    pub max_len: usize,
    /// Whether ChannelData is allowed (it needs an allocation).
    pub channel_data: bool,
}

impl FrameLimit {
    /// Anything TURN allows: a 65,535-byte STUN message or ChannelData with its header.
    pub const OPEN: FrameLimit = FrameLimit { max_len: 20 + 65_535, channel_data: true };
    /// For a connection without an allocation: a STUN request with credentials is a few hundred
    /// bytes, and ChannelData needs an allocation.
    pub const STRANGER: FrameLimit = FrameLimit { max_len: 4 * 1024, channel_data: false };
}

/// Why a stream cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Its bytes are neither STUN nor ChannelData.
    NotTurn,
    /// The next frame is over the connection's limit.
    OverLimit,
}

/// The frames of one stream.
#[derive(Debug, Default)]
pub struct Frames {
    buf: Vec<u8>,
    /// Bytes of `buf` that are the data read so far (the rest is read room).
    filled: usize,
    /// Bytes of the frame handed out last, dropped before the next one.
    consumed: usize,
    /// The frame handed out last, without padding.
    current: usize,
}

impl Frames {
    /// The length of the frame at the start of `data` (padding included), if its header is complete.
    pub fn frame_len(data: &[u8]) -> Result<Option<usize>, FrameError> {
        if data.len() < 4 {
            return Ok(None);
        }
        let length = usize::from(u16::from_be_bytes([data[2], data[3]]));
        match data[0] {
            0x00..=0x3F if length % 4 == 0 => match data.get(4..8) {
                None => Ok(None),
                Some(cookie) if cookie == MAGIC_COOKIE => Ok(Some(20 + length)),
                Some(_) => Err(FrameError::NotTurn),
            },
            0x40..=0x7F => Ok(Some((4 + length).next_multiple_of(4))),
            _ => Err(FrameError::NotTurn),
        }
    }

    /// The next whole frame if it is buffered (its length without padding; read it with
    /// [`Frames::frame`]), `None` when more bytes are needed.
    pub fn next_frame(&mut self, limit: FrameLimit) -> Result<Option<usize>, FrameError> {
        if self.consumed > 0 {
            self.buf.copy_within(self.consumed..self.filled, 0);
            self.filled -= self.consumed;
            self.consumed = 0;
            self.current = 0;
        }
        let data = &self.buf[..self.filled];
        let Some(total) = Frames::frame_len(data)? else { return Ok(None) };
        let channel_data = data[0] & 0xC0 == 0x40;
        if total > limit.max_len || (channel_data && !limit.channel_data) {
            return Err(FrameError::OverLimit);
        }
        if data.len() < total {
            return Ok(None);
        }
        self.consumed = total;
        self.current = if channel_data { 4 + usize::from(u16::from_be_bytes([data[2], data[3]])) } else { total };
        Ok(Some(self.current))
    }

    /// The frame [`Frames::next_frame`] returned last.
    pub fn frame(&self) -> &[u8] {
        &self.buf[..self.current]
    }

    /// Room to read the stream's next bytes into, never more than `limit` lets the pending frame
    /// need; report what was read with [`Frames::filled`].
    pub fn spare(&mut self, limit: FrameLimit) -> &mut [u8] {
        let room = READ_CHUNK.min(limit.max_len.saturating_sub(self.filled)).max(1);
        if self.buf.len() < self.filled + room {
            self.buf.resize(self.filled + room, 0);
        }
        &mut self.buf[self.filled..self.filled + room]
    }

    /// Records that `read` bytes were read into [`Frames::spare`].
    pub fn filled(&mut self, read: usize) {
        self.filled += read;
    }

    /// Bytes held for this stream.
    pub fn held(&self) -> usize {
        self.buf.len()
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
        assert_eq!(Frames::frame_len(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]), Err(FrameError::NotTurn));
        assert_eq!(Frames::frame_len(&[0x40, 0x00, 0x00, 0x05]), Ok(Some(12)));
        assert_eq!(Frames::frame_len(&[0x40, 0x00, 0x00, 0x08]), Ok(Some(12)));
        assert_eq!(Frames::frame_len(&[0x00, 0x03, 0x00, 0x07]), Err(FrameError::NotTurn));
        assert_eq!(Frames::frame_len(&[0x80, 0x00, 0x00, 0x00]), Err(FrameError::NotTurn));
        assert_eq!(Frames::frame_len(b"\x80\x00 junk"), Err(FrameError::NotTurn));
    }

    /// Feeds `stream` in chunks of `chunk` bytes and collects the frames.
    fn split(stream: &[u8], chunk: usize, limit: FrameLimit) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut frames = Frames::default();
        let mut out = Vec::new();
        let mut rest = stream;
        loop {
            while let Some(_len) = frames.next_frame(limit)? {
                out.push(frames.frame().to_vec());
            }
            if rest.is_empty() {
                return Ok(out);
            }
            let spare = frames.spare(limit);
            let n = chunk.min(spare.len()).min(rest.len());
            spare[..n].copy_from_slice(&rest[..n]);
            frames.filled(n);
            rest = &rest[n..];
        }
    }

    #[test]
    fn frames_split_across_reads_come_out_whole() {
        let mut stream: Vec<u8> = vec![0x40, 0x01, 0x00, 0x03, b'a', b'b', b'c', 0];
        stream.extend_from_slice(&[0x00, 0x01, 0x00, 0x00]);
        stream.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        for chunk in [1, 3, 7, 4096] {
            let frames = split(&stream, chunk, FrameLimit::OPEN).unwrap();
            assert_eq!(frames.len(), 2, "chunk {chunk}");
            assert_eq!(frames[0], [0x40, 0x01, 0x00, 0x03, b'a', b'b', b'c']);
            assert_eq!(frames[1].len(), 20);
        }
    }

    #[test]
    fn a_stranger_is_refused_at_the_header() {
        let big = [0x00, 0x01, 0xEA, 0x60, 0x21, 0x12, 0xA4, 0x42];
        assert_eq!(split(&big, 8, FrameLimit::STRANGER), Err(FrameError::OverLimit));
        assert_eq!(split(&[0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4], 8, FrameLimit::STRANGER), Err(FrameError::OverLimit));
        let mut frames = Frames::default();
        frames.spare(FrameLimit::STRANGER)[..8].copy_from_slice(&big);
        frames.filled(8);
        assert_eq!(frames.next_frame(FrameLimit::STRANGER), Err(FrameError::OverLimit));
        assert!(frames.held() <= FrameLimit::STRANGER.max_len, "nothing past the limit was buffered");
    }
}
