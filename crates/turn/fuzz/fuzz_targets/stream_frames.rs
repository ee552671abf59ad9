//! Fuzz target: a TCP or TLS byte stream, cut into reads of arbitrary sizes, through the relay's
//! stream framing. Whatever the cuts, the frames (or the error) must be the ones the whole stream
//! gives read at once, every frame within the connection's limit, and the buffer never larger
//! than the limit lets the pending frame need plus one read.
#![no_main]

use cromulent_turn::framing::{FrameError, FrameLimit, Frames};
use libfuzzer_sys::fuzz_target;

/// Splits `stream` into frames, reading at most `reads[i % len]` bytes at a time.
fn split(stream: &[u8], reads: &[usize], limit: FrameLimit) -> (Vec<Vec<u8>>, Option<FrameError>) {
    let mut frames = Frames::default();
    let mut out = Vec::new();
    let mut rest = stream;
    let mut n = 0;
    loop {
        loop {
            match frames.next_frame(limit) {
                Ok(Some(len)) => {
                    let frame = frames.frame();
                    assert_eq!(frame.len(), len);
                    assert!(len <= limit.max_len, "a frame over the limit came out");
                    out.push(frame.to_vec());
                }
                Ok(None) => break,
                Err(error) => return (out, Some(error)),
            }
        }
        assert!(frames.held() <= limit.max_len + 4096, "the buffer grew past the limit: {}", frames.held());
        if rest.is_empty() {
            return (out, None);
        }
        let spare = frames.spare(limit);
        let take = reads[n % reads.len()].min(spare.len()).min(rest.len()).max(1);
        n += 1;
        spare[..take].copy_from_slice(&rest[..take]);
        frames.filled(take);
        rest = &rest[take..];
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&shape, data)) = data.split_first() else { return };
    let limit = if shape & 1 == 0 { FrameLimit::OPEN } else { FrameLimit::STRANGER };
    let cuts = usize::from(shape >> 1) % 8 + 1;
    let (reads, stream) = data.split_at(cuts.min(data.len()));
    let reads: Vec<usize> = reads.iter().map(|&r| usize::from(r) + 1).collect();
    if reads.is_empty() {
        return;
    }
    let whole = split(stream, &[usize::MAX], limit);
    let cut = split(stream, &reads, limit);
    assert_eq!(cut, whole, "the same stream read in other pieces framed differently");
});
