//! Fan-out of events to gateway sessions. A session outlives its WebSocket connection for the
//! resume window: every frame gets the session's next sequence number and a place in a bounded
//! replay buffer, so a client that reconnects can `resume` without losing or repeating anything.
//! The hub also derives presence (a user is online while it has a session) and closes slow
//! consumers instead of queueing without bound.

mod frame;
mod session;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use cromulent_proto::Id;
use cromulent_proto::gateway::{InvalidSessionReason, PresenceStatus, PresenceUpdate, close};
use tokio::sync::mpsc;

pub use frame::{finish_frame, frame_head};
pub use session::{Attachment, Closer, LinkStatus, Session};
use session::{Link, SessionState};

use crate::domain::access::Audience;
use crate::domain::event::Event;
use crate::domain::principal::Principal;

/// Bounds that keep a session's memory finite.
#[derive(Debug, Clone)]
pub struct HubLimits {
    /// Frames kept for replay.
    pub replay_frames: usize,
    /// Frames queued for a connection before it is closed as a slow consumer.
    pub send_queue_frames: usize,
    /// How long a session without a connection stays resumable.
    pub resume_window: Duration,
}

/// All live sessions, and presence derived from them; cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sessions: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    /// Sessions per online user.
    online: Mutex<HashMap<i64, usize>>,
    limits: HubLimits,
}

impl Hub {
    /// An empty hub.
    pub fn new(limits: HubLimits) -> Hub {
        Hub { inner: Arc::new(Inner { sessions: RwLock::default(), online: Mutex::default(), limits }) }
    }

    /// Starts a session for `principal`, attached to the connection `closer` belongs to.
    /// Frame 1 is reserved for `ready` (see [`Session::first_frame`]); events published from now
    /// on are numbered after it, so none can fall between `ready` and the live stream.
    pub fn open_session(&self, principal: Principal, closer: Closer) -> Attachment {
        let id: Arc<str> = format!("{:032x}", rand::random::<u128>()).into();
        let (outbox, receiver) = mpsc::channel(self.inner.limits.send_queue_frames.max(1));
        let user_id = principal.user_id;
        let session = Arc::new(Session {
            id: Arc::clone(&id),
            principal,
            replay_frames: self.inner.limits.replay_frames.max(1),
            state: Mutex::new(SessionState {
                seq: 1,
                replay: VecDeque::new(),
                link: Some(Link { outbox, closer }),
                generation: 1,
                ended: false,
            }),
        });
        // Counting and announcing under one lock keeps presence events in the order of the counts.
        let mut online = self.inner.online.lock().expect("presence lock");
        self.inner.sessions.write().expect("sessions lock").insert(id, Arc::clone(&session));
        let count = online.entry(user_id).or_insert(0);
        *count += 1;
        if *count == 1 {
            self.publish_presence(user_id, PresenceStatus::Online);
        }
        drop(online);
        Attachment { session, outbox: receiver, generation: 1 }
    }

    /// Attaches a new connection to an existing session opened with the same login session,
    /// closing any connection still attached. Returns the frames after `last_seq` to write
    /// before the outbox.
    pub fn resume(
        &self,
        session_id: &str,
        login_session_id: i64,
        last_seq: u64,
        closer: Closer,
    ) -> Result<(Attachment, Vec<Utf8Bytes>), InvalidSessionReason> {
        let session = self
            .inner
            .sessions
            .read()
            .expect("sessions lock")
            .get(session_id)
            .filter(|s| s.principal.login_session_id == login_session_id)
            .cloned()
            .ok_or(InvalidSessionReason::UnknownSession)?;
        let mut state = session.state.lock().expect("session lock");
        if state.ended {
            return Err(InvalidSessionReason::UnknownSession);
        }
        let oldest = state.replay.front().map_or(state.seq + 1, |(seq, _)| *seq);
        if last_seq > state.seq || last_seq + 1 < oldest {
            // A detached session that can never be resumed is over; a live one is left alone.
            let detached = state.link.is_none();
            drop(state);
            if detached {
                self.end_session(&session, close::SESSION_ENDED);
            }
            return Err(InvalidSessionReason::TooFarBehind);
        }
        let missed = state.replay.iter().filter(|(seq, _)| *seq > last_seq).map(|(_, text)| text.clone()).collect();
        if let Some(old) = state.link.take() {
            old.closer.close(close::SESSION_ENDED);
        }
        let (outbox, receiver) = mpsc::channel(self.inner.limits.send_queue_frames.max(1));
        state.link = Some(Link { outbox, closer });
        state.generation += 1;
        let generation = state.generation;
        drop(state);
        Ok((Attachment { session, outbox: receiver, generation }, missed))
    }

    /// Called when a connection ends. A session whose client said goodbye ends now; otherwise it
    /// stays resumable for the resume window, after which it ends and its user may go offline.
    pub fn detach(&self, session: &Arc<Session>, generation: u64, resumable: bool) {
        {
            let mut state = session.state.lock().expect("session lock");
            if state.generation != generation || state.ended {
                return;
            }
            state.link = None;
        }
        if !resumable {
            self.end_session(session, close::SESSION_ENDED);
            return;
        }
        let hub = self.clone();
        let session = Arc::clone(session);
        tokio::spawn(async move {
            tokio::time::sleep(hub.inner.limits.resume_window).await;
            let expired = {
                let state = session.state.lock().expect("session lock");
                state.generation == generation && state.link.is_none() && !state.ended
            };
            if expired {
                hub.end_session(&session, close::SESSION_ENDED);
            }
        });
    }

    /// Ends every gateway session opened with login session `login_session_id` (logout).
    pub fn end_login_session(&self, login_session_id: i64) {
        let doomed: Vec<Arc<Session>> = self
            .inner
            .sessions
            .read()
            .expect("sessions lock")
            .values()
            .filter(|s| s.principal.login_session_id == login_session_id)
            .cloned()
            .collect();
        for session in doomed {
            self.end_session(&session, close::SESSION_ENDED);
        }
    }

    fn end_session(&self, session: &Arc<Session>, code: u16) {
        {
            let mut state = session.state.lock().expect("session lock");
            if state.ended {
                return;
            }
            state.ended = true;
            state.replay.clear();
            if let Some(link) = state.link.take() {
                link.closer.close(code);
            }
        }
        let user_id = session.principal.user_id;
        let mut online = self.inner.online.lock().expect("presence lock");
        self.inner.sessions.write().expect("sessions lock").remove(&session.id);
        match online.get_mut(&user_id) {
            Some(count) if *count > 1 => *count -= 1,
            Some(_) => {
                online.remove(&user_id);
                self.publish_presence(user_id, PresenceStatus::Offline);
            }
            None => {}
        }
    }

    fn publish_presence(&self, user_id: i64, status: PresenceStatus) {
        self.publish(&Audience::Everyone, &Event::PresenceUpdate(PresenceUpdate { user_id: Id(user_id), status }));
    }

    /// Delivers `event` to every session whose user is in `audience`.
    pub fn publish(&self, audience: &Audience, event: &Event) {
        let head = frame_head(event.name(), None, &event.payload_json());
        let sessions = self.inner.sessions.read().expect("sessions lock");
        for session in sessions.values() {
            if audience.includes(session.principal.user_id, session.principal.admin) {
                session.push(&head);
            }
        }
    }

    /// Users with at least one session.
    pub fn online_user_ids(&self) -> Vec<Id> {
        let mut ids: Vec<Id> = self.inner.online.lock().expect("presence lock").keys().map(|id| Id(*id)).collect();
        ids.sort_unstable();
        ids
    }

    /// Number of live sessions.
    pub fn session_count(&self) -> usize {
        self.inner.sessions.read().expect("sessions lock").len()
    }
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::*;

    fn principal(user_id: i64, session_id: i64) -> Principal {
        Principal { user_id, username: format!("u{user_id}"), admin: false, login_session_id: session_id }
    }

    fn hub(send_queue_frames: usize, replay_frames: usize) -> Hub {
        Hub::new(HubLimits { replay_frames, send_queue_frames, resume_window: Duration::from_millis(50) })
    }

    fn drain(rx: &mut mpsc::Receiver<Utf8Bytes>) -> Vec<serde_json::Value> {
        std::iter::from_fn(|| rx.try_recv().ok()).map(|t| serde_json::from_str(t.as_str()).unwrap()).collect()
    }

    #[tokio::test]
    async fn frames_are_numbered_after_the_reserved_ready() {
        let hub = hub(16, 16);
        let shutdown = CancellationToken::new();
        let mut a = hub.open_session(principal(1, 1), Closer::child_of(&shutdown));
        let ready = a.session.first_frame(&frame_head("ready", None, "{}"));
        assert!(ready.as_str().ends_with(",\"s\":1}"));
        let frames = drain(&mut a.outbox);
        assert_eq!(frames[0]["t"], "presence_update");
        assert_eq!(frames[0]["s"], 2);
    }

    #[tokio::test]
    async fn ready_does_not_hide_frames_evicted_before_it() {
        let hub = hub(16, 2);
        let shutdown = CancellationToken::new();
        let a = hub.open_session(principal(1, 1), Closer::child_of(&shutdown));
        for id in 1..=3 {
            hub.publish(&Audience::Everyone, &Event::ChannelDelete(cromulent_proto::gateway::ChannelDelete { id: Id(id) }));
        }
        a.session.first_frame(&frame_head("ready", None, "{}"));
        hub.detach(&a.session, a.generation, true);
        let refused = hub.resume(a.session.id(), 1, 1, Closer::child_of(&shutdown)).unwrap_err();
        assert_eq!(refused, InvalidSessionReason::TooFarBehind, "frames 2 and 3 are gone, so resuming from 1 must fail");
    }

    #[tokio::test]
    async fn a_full_queue_closes_the_connection_as_a_slow_consumer() {
        let hub = hub(2, 100);
        let shutdown = CancellationToken::new();
        let closer = Closer::child_of(&shutdown);
        let _a = hub.open_session(principal(1, 1), closer.clone());
        for _ in 0..5 {
            hub.publish(&Audience::Everyone, &Event::ChannelDelete(cromulent_proto::gateway::ChannelDelete { id: Id(1) }));
        }
        assert_eq!(closer.code(), Some(close::SLOW_CONSUMER));
    }

    #[tokio::test]
    async fn resume_replays_exactly_what_was_missed() {
        let hub = hub(16, 16);
        let shutdown = CancellationToken::new();
        let mut a = hub.open_session(principal(1, 1), Closer::child_of(&shutdown));
        a.session.first_frame(&frame_head("ready", None, "{}"));
        let seen = drain(&mut a.outbox).last().unwrap()["s"].as_u64().unwrap();
        hub.detach(&a.session, a.generation, true);
        hub.publish(&Audience::Everyone, &Event::ChannelDelete(cromulent_proto::gateway::ChannelDelete { id: Id(7) }));
        let (_b, missed) = hub.resume(a.session.id(), 1, seen, Closer::child_of(&shutdown)).unwrap();
        assert_eq!(missed.len(), 1);
        assert!(missed[0].as_str().contains("channel_delete"));
        assert_eq!(
            hub.resume(a.session.id(), 2, seen, Closer::child_of(&shutdown)).unwrap_err(),
            InvalidSessionReason::UnknownSession
        );
    }

    #[tokio::test]
    async fn resume_refuses_when_the_buffer_no_longer_covers_the_gap() {
        let hub = hub(64, 2);
        let shutdown = CancellationToken::new();
        let a = hub.open_session(principal(1, 1), Closer::child_of(&shutdown));
        hub.detach(&a.session, a.generation, true);
        for id in 1..=5 {
            hub.publish(&Audience::Everyone, &Event::ChannelDelete(cromulent_proto::gateway::ChannelDelete { id: Id(id) }));
        }
        let refused = hub.resume(a.session.id(), 1, 1, Closer::child_of(&shutdown)).unwrap_err();
        assert_eq!(refused, InvalidSessionReason::TooFarBehind);
        assert_eq!(hub.session_count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn presence_follows_sessions_and_the_resume_window() {
        let hub = hub(16, 16);
        let shutdown = CancellationToken::new();
        let a = hub.open_session(principal(1, 1), Closer::child_of(&shutdown));
        let b = hub.open_session(principal(1, 2), Closer::child_of(&shutdown));
        assert_eq!(hub.online_user_ids(), vec![Id(1)]);
        hub.detach(&a.session, a.generation, false);
        assert_eq!(hub.online_user_ids(), vec![Id(1)]);
        hub.detach(&b.session, b.generation, true);
        assert_eq!(hub.online_user_ids(), vec![Id(1)]);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(hub.online_user_ids().is_empty());
    }

    #[tokio::test]
    async fn logout_ends_only_its_own_sessions() {
        let hub = hub(16, 16);
        let shutdown = CancellationToken::new();
        let (c1, c2) = (Closer::child_of(&shutdown), Closer::child_of(&shutdown));
        let _a = hub.open_session(principal(1, 10), c1.clone());
        let _b = hub.open_session(principal(1, 11), c2.clone());
        hub.end_login_session(10);
        assert_eq!(c1.code(), Some(close::SESSION_ENDED));
        assert_eq!(c2.code(), None);
        assert_eq!(hub.session_count(), 1);
    }
}
