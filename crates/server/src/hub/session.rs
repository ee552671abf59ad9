//! One gateway session: numbered frames in a replay buffer bounded by frames, bytes and age,
//! and the link to the connection currently attached. The buffer is also the send queue: a
//! connection writes the frames after the last one it sent, so a frame lives once per session
//! (its text, shared by every session the event went to, lives once in all), and `resume` is
//! the same walk from the client's last `s`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use cromulent_proto::gateway::{InvalidSessionReason, close};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::HubLimits;
use super::frame::{finish_frame, frame_head};
use crate::domain::event::Event;
use crate::domain::principal::Principal;

/// Closes one connection from elsewhere, telling it which close code to send.
#[derive(Debug, Clone)]
pub struct Closer {
    token: CancellationToken,
    code: Arc<AtomicU16>,
}

impl Closer {
    /// A closer that also fires when `parent` (server shutdown) is cancelled, with no code.
    pub fn child_of(parent: &CancellationToken) -> Closer {
        Closer { token: parent.child_token(), code: Arc::new(AtomicU16::new(0)) }
    }

    /// Asks the connection to close with `code`; the first code asked for wins.
    pub fn close(&self, code: u16) {
        let _ = self.code.compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire);
        self.token.cancel();
    }

    /// Resolves once closing was asked for.
    pub async fn closed(&self) {
        self.token.cancelled().await;
    }

    /// The code asked for, or `None` when the server is shutting down.
    pub fn code(&self) -> Option<u16> {
        match self.code.load(Ordering::Acquire) {
            0 => None,
            code => Some(code),
        }
    }
}

/// One gateway session: who it is for, and the state shared with its current connection.
#[derive(Debug)]
pub struct Session {
    pub(super) id: Arc<str>,
    pub(super) principal: Principal,
    limits: HubLimits,
    state: Mutex<SessionState>,
}

#[derive(Debug)]
struct SessionState {
    /// The last number given out.
    seq: u64,
    replay: VecDeque<Frame>,
    /// Text bytes of the frames in `replay`, counted in full even where shared.
    replay_bytes: usize,
    link: Option<Link>,
    /// Bumped on every attach, so a stale connection's detach cannot touch a newer one.
    generation: u64,
    ended: bool,
}

/// A numbered frame: its head (without `s`) is shared by every session the event went to.
#[derive(Debug)]
struct Frame {
    seq: u64,
    head: Arc<str>,
    at: Instant,
}

#[derive(Debug)]
struct Link {
    closer: Closer,
    wake: Arc<Notify>,
    /// The last frame handed to the connection.
    sent: u64,
}

/// What a connection holds while attached to a session.
#[derive(Debug)]
pub struct Attachment {
    /// The session.
    pub session: Arc<Session>,
    /// Notified when frames wait to be written; see [`Session::take_unsent`].
    pub wake: Arc<Notify>,
    /// Which attach this is; pass it back to [`super::Hub::detach`].
    pub generation: u64,
}

/// A snapshot of a session's link to its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    /// Which attach is current (see [`Attachment::generation`]).
    pub generation: u64,
    /// Whether a connection is attached now.
    pub attached: bool,
    /// Whether the session is over (goodbye, logout, resume window passed).
    pub ended: bool,
}

/// Frames for a connection to write.
#[derive(Debug)]
pub struct Unsent {
    /// Finished frames, oldest first.
    pub frames: Vec<Utf8Bytes>,
    /// Whether more wait after these.
    pub more: bool,
}

impl Session {
    /// A session attached to the connection `closer` belongs to. Frame 1 is reserved for
    /// `ready`, which the connection writes itself (see [`Session::first_frame`]).
    pub(super) fn open(id: Arc<str>, principal: Principal, limits: HubLimits, closer: Closer) -> (Arc<Session>, Attachment) {
        let wake = Arc::new(Notify::new());
        let state = SessionState {
            seq: 1,
            replay: VecDeque::new(),
            replay_bytes: 0,
            link: Some(Link { closer, wake: Arc::clone(&wake), sent: 1 }),
            generation: 1,
            ended: false,
        };
        let session = Arc::new(Session { id, principal, limits, state: Mutex::new(state) });
        (Arc::clone(&session), Attachment { session, wake, generation: 1 })
    }

    /// The session id clients resume with.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The authenticated user.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Which attach is current, whether a connection is attached, and whether the session ended.
    pub fn link_status(&self) -> LinkStatus {
        let state = self.state.lock().expect("session lock");
        LinkStatus { generation: state.generation, attached: state.link.is_some(), ended: state.ended }
    }

    /// Sends one event to this session only.
    pub fn send_event(&self, event: &Event) {
        self.push(frame_head(event.name(), None, &event.payload_json()).into());
    }

    /// Numbers a frame and keeps it for the connection and for replay. A connection that has
    /// fallen more than `send_queue_frames` behind, or would lose an unsent frame to the
    /// buffer's bounds, is closed as a slow consumer instead of letting the backlog grow.
    pub fn push(&self, head: Arc<str>) {
        let mut state = self.state.lock().expect("session lock");
        if state.ended {
            return;
        }
        state.seq += 1;
        let seq = state.seq;
        state.replay_bytes += head.len();
        let now = Instant::now();
        state.replay.push_back(Frame { seq, head, at: now });
        let evicted_unsent = self.evict(&mut state, now);
        if let Some(link) = &state.link {
            if evicted_unsent || seq - link.sent > self.limits.send_queue_frames as u64 {
                link.closer.close(close::SLOW_CONSUMER);
            } else {
                link.wake.notify_one();
            }
        }
    }

    /// Drops frames past the buffer's bounds (always keeping the newest); true when one of
    /// them had not been sent to the attached connection yet.
    fn evict(&self, state: &mut SessionState, now: Instant) -> bool {
        let limits = &self.limits;
        let mut evicted_unsent = false;
        while let Some(oldest) = state.replay.front() {
            let over = state.replay.len() > limits.replay_frames
                || state.replay_bytes > limits.replay_bytes
                || now.duration_since(oldest.at) > limits.replay_age;
            if !over || state.replay.len() == 1 {
                break;
            }
            evicted_unsent |= state.link.as_ref().is_some_and(|link| oldest.seq > link.sent);
            state.replay_bytes -= oldest.head.len();
            state.replay.pop_front();
        }
        evicted_unsent
    }

    /// Numbers `ready` as frame 1, which [`Session::open`] reserved. The connection writes it
    /// before any other frame, which all carry later numbers.
    pub fn first_frame(&self, head: &str) -> Utf8Bytes {
        let text = finish_frame(head, 1);
        let mut state = self.state.lock().expect("session lock");
        // Only when frame 2 is still buffered: otherwise frame 1 would make the buffer look
        // continuous from the start while frames in between were already evicted.
        if state.replay.front().is_none_or(|frame| frame.seq == 2) {
            state.replay_bytes += head.len();
            state.replay.push_front(Frame { seq: 1, head: head.into(), at: Instant::now() });
        }
        text
    }

    /// Up to `max` frames the connection of attach `generation` has not written yet, marked as
    /// written. Nothing when another connection took over or the session ended.
    pub fn take_unsent(&self, generation: u64, max: usize) -> Unsent {
        let mut state = self.state.lock().expect("session lock");
        let state = &mut *state;
        let Some(link) = state.link.as_mut().filter(|_| state.generation == generation && !state.ended) else {
            return Unsent { frames: Vec::new(), more: false };
        };
        let first = state.replay.partition_point(|frame| frame.seq <= link.sent);
        let frames: Vec<Utf8Bytes> =
            state.replay.range(first..).take(max).map(|frame| finish_frame(&frame.head, frame.seq)).collect();
        link.sent += frames.len() as u64;
        Unsent { more: link.sent < state.seq, frames }
    }

    /// Attaches a new connection that has seen every frame up to `last_seq`, closing any
    /// connection still attached; the frames after it are written from the buffer. Returns the
    /// attachment and how many frames it will replay.
    pub(super) fn attach(self: &Arc<Self>, last_seq: u64, closer: Closer) -> Result<(Attachment, u64), Resume> {
        let mut state = self.state.lock().expect("session lock");
        if state.ended {
            return Err(Resume::Refused(InvalidSessionReason::UnknownSession));
        }
        self.evict(&mut state, Instant::now());
        let oldest = state.replay.front().map_or(state.seq + 1, |frame| frame.seq);
        if last_seq > state.seq || last_seq + 1 < oldest {
            // A detached session that can never be resumed is over; a live one is left alone.
            return Err(if state.link.is_none() {
                Resume::Hopeless
            } else {
                Resume::Refused(InvalidSessionReason::TooFarBehind)
            });
        }
        if let Some(old) = state.link.take() {
            old.closer.close(close::SESSION_ENDED);
        }
        let wake = Arc::new(Notify::new());
        wake.notify_one();
        state.link = Some(Link { closer, wake: Arc::clone(&wake), sent: last_seq });
        state.generation += 1;
        let generation = state.generation;
        let replayed = state.seq - last_seq;
        drop(state);
        Ok((Attachment { session: Arc::clone(self), wake, generation }, replayed))
    }
}

impl Session {
    /// Forgets the connection of attach `generation`; false when a newer one took over or the
    /// session ended.
    pub(super) fn unlink(&self, generation: u64) -> bool {
        let mut state = self.state.lock().expect("session lock");
        if state.generation != generation || state.ended {
            return false;
        }
        state.link = None;
        true
    }

    /// Whether the session still waits, unattached, since attach `generation` ended.
    pub(super) fn detached_since(&self, generation: u64) -> bool {
        let state = self.state.lock().expect("session lock");
        state.generation == generation && state.link.is_none() && !state.ended
    }

    /// Ends the session, closing its connection with `code`; false when it had ended already.
    pub(super) fn end(&self, code: u16) -> bool {
        let mut state = self.state.lock().expect("session lock");
        if state.ended {
            return false;
        }
        state.ended = true;
        state.replay.clear();
        state.replay_bytes = 0;
        if let Some(link) = state.link.take() {
            link.closer.close(code);
        }
        true
    }
}

#[cfg(test)]
impl Session {
    /// The heads of the frames kept for replay, and the bytes counted for them.
    pub(super) fn kept(&self) -> (Vec<Arc<str>>, usize) {
        let state = self.state.lock().expect("session lock");
        (state.replay.iter().map(|frame| Arc::clone(&frame.head)).collect(), state.replay_bytes)
    }
}

/// Why [`Session::attach`] refused.
#[derive(Debug)]
pub(super) enum Resume {
    /// Tell the client why.
    Refused(InvalidSessionReason),
    /// Too far behind, and no connection holds the session: end it.
    Hopeless,
}
