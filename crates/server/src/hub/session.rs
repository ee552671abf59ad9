//! One gateway session: numbered frames, a bounded replay buffer for `resume`, and the link to
//! the connection currently attached (its outbox and a [`Closer`] to end it from elsewhere).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use cromulent_proto::gateway::close;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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
    pub(super) replay_frames: usize,
    pub(super) state: Mutex<SessionState>,
}

#[derive(Debug)]
pub(super) struct SessionState {
    pub(super) seq: u64,
    pub(super) replay: VecDeque<(u64, Utf8Bytes)>,
    pub(super) link: Option<Link>,
    /// Bumped on every attach, so a stale connection's detach cannot touch a newer one.
    pub(super) generation: u64,
    pub(super) ended: bool,
}

#[derive(Debug)]
pub(super) struct Link {
    pub(super) outbox: mpsc::Sender<Utf8Bytes>,
    pub(super) closer: Closer,
}

/// What a connection holds while attached to a session.
#[derive(Debug)]
pub struct Attachment {
    /// The session.
    pub session: Arc<Session>,
    /// Frames to write, already numbered.
    pub outbox: mpsc::Receiver<Utf8Bytes>,
    /// Which attach this is; pass it back to [`Hub::detach`].
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

impl Session {
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
        self.push(&frame_head(event.name(), None, &event.payload_json()));
    }

    /// Numbers a frame, buffers it for replay and queues it for the connection, closing a
    /// connection whose queue is full instead of letting it grow.
    pub fn push(&self, head: &str) {
        let mut state = self.state.lock().expect("session lock");
        if state.ended {
            return;
        }
        state.seq += 1;
        let seq = state.seq;
        let text = finish_frame(head, seq);
        state.replay.push_back((seq, text.clone()));
        if state.replay.len() > self.replay_frames {
            state.replay.pop_front();
        }
        if let Some(link) = &state.link
            && let Err(mpsc::error::TrySendError::Full(_)) = link.outbox.try_send(text)
        {
            link.closer.close(close::SLOW_CONSUMER);
        }
    }

    /// Numbers `ready` as frame 1, which [`Hub::open_session`] reserved. The connection writes it
    /// before draining its outbox, which only holds later numbers.
    pub fn first_frame(&self, head: &str) -> Utf8Bytes {
        let text = finish_frame(head, 1);
        let mut state = self.state.lock().expect("session lock");
        // Only when frame 2 is still buffered: otherwise frame 1 would make the buffer look
        // continuous from the start while frames in between were already evicted.
        if state.replay.front().is_none_or(|(seq, _)| *seq == 2) {
            state.replay.push_front((1, text.clone()));
        }
        text
    }
}
