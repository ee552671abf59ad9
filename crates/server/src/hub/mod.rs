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

use cromulent_proto::Id;
use cromulent_proto::gateway::{InvalidSessionReason, PresenceStatus, PresenceUpdate, close};

pub use frame::{finish_frame, frame_head};
use session::Resume;
pub use session::{Attachment, Closer, LinkStatus, Session, Unsent};

use crate::domain::access::Audience;
use crate::domain::event::Event;
use crate::domain::principal::Principal;

/// Bounds that keep a session's memory finite.
#[derive(Debug, Clone)]
pub struct HubLimits {
    /// Frames kept for replay.
    pub replay_frames: usize,
    /// Text bytes kept for replay.
    pub replay_bytes: usize,
    /// How old a kept frame may get.
    pub replay_age: Duration,
    /// Frames a connection may fall behind before it is closed as a slow consumer.
    pub send_queue_frames: usize,
    /// How long a session without a connection stays resumable.
    pub resume_window: Duration,
    /// Sessions one user may hold; opening one more ends the oldest.
    pub max_sessions_per_user: usize,
}

/// All live sessions, and presence derived from them; cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sessions: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    /// Each online user's sessions, oldest first.
    online: Mutex<HashMap<i64, VecDeque<Arc<Session>>>>,
    limits: HubLimits,
}

impl Hub {
    /// An empty hub.
    pub fn new(limits: HubLimits) -> Hub {
        Hub { inner: Arc::new(Inner { sessions: RwLock::default(), online: Mutex::default(), limits }) }
    }

    /// Starts a session for `principal`, attached to the connection `closer` belongs to, ending
    /// the user's oldest session when they would hold more than `max_sessions_per_user`.
    /// Frame 1 is reserved for `ready` (see [`Session::first_frame`]); events published from now
    /// on are numbered after it, so none can fall between `ready` and the live stream.
    pub fn open_session(&self, principal: Principal, closer: Closer) -> Attachment {
        let id: Arc<str> = format!("{:032x}", rand::random::<u128>()).into();
        let user_id = principal.user_id;
        let (session, attachment) = Session::open(Arc::clone(&id), principal, self.inner.limits.clone(), closer);
        // Counting and announcing under one lock keeps presence events in the order of the counts.
        let mut online = self.inner.online.lock().expect("presence lock");
        self.inner.sessions.write().expect("sessions lock").insert(id, Arc::clone(&session));
        let sessions = online.entry(user_id).or_default();
        sessions.push_back(session);
        if sessions.len() == 1 {
            self.publish_presence(user_id, PresenceStatus::Online);
        }
        let oldest = (sessions.len() > self.inner.limits.max_sessions_per_user.max(1)).then(|| Arc::clone(&sessions[0]));
        drop(online);
        if let Some(oldest) = oldest {
            self.end_session(&oldest, close::TOO_MANY_SESSIONS);
        }
        attachment
    }

    /// Attaches a new connection to an existing session opened with the same login session,
    /// closing any connection still attached; the connection then writes the frames after
    /// `last_seq`. Returns the attachment and how many frames it replays.
    pub fn resume(
        &self,
        session_id: &str,
        login_session_id: i64,
        last_seq: u64,
        closer: Closer,
    ) -> Result<(Attachment, u64), InvalidSessionReason> {
        let session = self
            .inner
            .sessions
            .read()
            .expect("sessions lock")
            .get(session_id)
            .filter(|s| s.principal.login_session_id == login_session_id)
            .cloned()
            .ok_or(InvalidSessionReason::UnknownSession)?;
        session.attach(last_seq, closer).map_err(|refused| match refused {
            Resume::Refused(reason) => reason,
            Resume::Hopeless => {
                self.end_session(&session, close::SESSION_ENDED);
                InvalidSessionReason::TooFarBehind
            }
        })
    }

    /// Called when a connection ends. A session whose client said goodbye ends now; otherwise it
    /// stays resumable for the resume window, after which it ends and its user may go offline.
    pub fn detach(&self, session: &Arc<Session>, generation: u64, resumable: bool) {
        if !session.unlink(generation) {
            return;
        }
        if !resumable {
            self.end_session(session, close::SESSION_ENDED);
            return;
        }
        let hub = self.clone();
        let session = Arc::clone(session);
        tokio::spawn(async move {
            tokio::time::sleep(hub.inner.limits.resume_window).await;
            if session.detached_since(generation) {
                hub.end_session(&session, close::SESSION_ENDED);
            }
        });
    }

    /// Ends every gateway session opened with login session `login_session_id` (logout).
    pub fn end_login_session(&self, login_session_id: i64) {
        self.end_sessions_where(|p| p.login_session_id == login_session_id, close::SESSION_ENDED);
    }

    /// Ends every gateway session of `user_id` with close code `code` (the account was disabled).
    pub fn end_user(&self, user_id: i64, code: u16) {
        self.end_sessions_where(|p| p.user_id == user_id, code);
    }

    fn end_sessions_where(&self, doomed: impl Fn(&Principal) -> bool, code: u16) {
        let doomed: Vec<Arc<Session>> =
            self.inner.sessions.read().expect("sessions lock").values().filter(|s| doomed(&s.principal)).cloned().collect();
        for session in doomed {
            self.end_session(&session, code);
        }
    }

    fn end_session(&self, session: &Arc<Session>, code: u16) {
        if !session.end(code) {
            return;
        }
        let user_id = session.principal.user_id;
        let mut online = self.inner.online.lock().expect("presence lock");
        self.inner.sessions.write().expect("sessions lock").remove(&session.id);
        if let Some(sessions) = online.get_mut(&user_id) {
            sessions.retain(|s| !Arc::ptr_eq(s, session));
            if sessions.is_empty() {
                online.remove(&user_id);
                self.publish_presence(user_id, PresenceStatus::Offline);
            }
        }
    }

    fn publish_presence(&self, user_id: i64, status: PresenceStatus) {
        self.publish(&Audience::Everyone, &Event::PresenceUpdate(PresenceUpdate { user_id: Id(user_id), status }));
    }

    /// Delivers `event` to every session whose user is in `audience`; its text is rendered
    /// once and shared by all of them.
    pub fn publish(&self, audience: &Audience, event: &Event) {
        let head: Arc<str> = frame_head(event.name(), None, &event.payload_json()).into();
        let sessions = self.inner.sessions.read().expect("sessions lock");
        for session in sessions.values() {
            if audience.includes(session.principal.user_id, session.principal.admin) {
                session.push(Arc::clone(&head));
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

    fn limits(send_queue_frames: usize, replay_frames: usize) -> HubLimits {
        HubLimits {
            replay_frames,
            replay_bytes: 1 << 20,
            replay_age: Duration::from_secs(300),
            send_queue_frames,
            resume_window: Duration::from_millis(50),
            max_sessions_per_user: 20,
        }
    }

    fn hub(send_queue_frames: usize, replay_frames: usize) -> Hub {
        Hub::new(limits(send_queue_frames, replay_frames))
    }

    /// What the connection of `a` would write now.
    fn drain(a: &Attachment) -> Vec<serde_json::Value> {
        let unsent = a.session.take_unsent(a.generation, usize::MAX);
        unsent.frames.iter().map(|t| serde_json::from_str(t.as_str()).unwrap()).collect()
    }

    fn channel_delete(id: i64) -> Event {
        Event::ChannelDelete(cromulent_proto::gateway::ChannelDelete { id: Id(id) })
    }

    #[tokio::test]
    async fn frames_are_numbered_after_the_reserved_ready() {
        let hub = hub(16, 16);
        let shutdown = CancellationToken::new();
        let a = hub.open_session(principal(1, 1), Closer::child_of(&shutdown));
        let ready = a.session.first_frame(&frame_head("ready", None, "{}"));
        assert!(ready.as_str().ends_with(",\"s\":1}"));
        let frames = drain(&a);
        assert_eq!(frames[0]["t"], "presence_update");
        assert_eq!(frames[0]["s"], 2);
    }

    #[tokio::test]
    async fn ready_does_not_hide_frames_evicted_before_it() {
        let hub = hub(16, 2);
        let shutdown = CancellationToken::new();
        let a = hub.open_session(principal(1, 1), Closer::child_of(&shutdown));
        for id in 1..=3 {
            hub.publish(&Audience::Everyone, &channel_delete(id));
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
            hub.publish(&Audience::Everyone, &channel_delete(1));
        }
        assert_eq!(closer.code(), Some(close::SLOW_CONSUMER));
    }

    #[tokio::test]
    async fn resume_replays_exactly_what_was_missed() {
        let hub = hub(16, 16);
        let shutdown = CancellationToken::new();
        let a = hub.open_session(principal(1, 1), Closer::child_of(&shutdown));
        a.session.first_frame(&frame_head("ready", None, "{}"));
        let seen = drain(&a).last().unwrap()["s"].as_u64().unwrap();
        hub.detach(&a.session, a.generation, true);
        hub.publish(&Audience::Everyone, &channel_delete(7));
        let (b, replayed) = hub.resume(a.session.id(), 1, seen, Closer::child_of(&shutdown)).unwrap();
        let missed = drain(&b);
        assert_eq!((replayed, missed.len()), (1, 1));
        assert_eq!(missed[0]["t"], "channel_delete");
        assert_eq!(missed[0]["s"], seen + 1);
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
            hub.publish(&Audience::Everyone, &channel_delete(id));
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

    #[tokio::test]
    async fn an_event_is_rendered_once_for_every_session() {
        let hub = hub(16, 16);
        let shutdown = CancellationToken::new();
        let sessions: Vec<Attachment> = (1..=3).map(|u| hub.open_session(principal(u, u), Closer::child_of(&shutdown))).collect();
        hub.publish(&Audience::Everyone, &channel_delete(9));
        let heads: Vec<*const u8> =
            sessions.iter().map(|a| a.session.kept().0.last().map(|head| head.as_ptr()).unwrap()).collect();
        assert!(heads.windows(2).all(|w| w[0] == w[1]), "one shared text, not a copy per session");
    }

    #[tokio::test]
    async fn replay_is_bounded_by_bytes_and_age_as_well_as_frames() {
        let shutdown = CancellationToken::new();
        let hub = Hub::new(HubLimits { replay_bytes: 1000, ..limits(10_000, 10_000) });
        let a = hub.open_session(principal(1, 1), Closer::child_of(&shutdown));
        drain(&a);
        hub.detach(&a.session, a.generation, true);
        for id in 0..100 {
            hub.publish(&Audience::Everyone, &channel_delete(id));
        }
        let (heads, bytes) = a.session.kept();
        assert!(bytes <= 1000 && heads.len() < 100, "{bytes} bytes");
        assert_eq!(bytes, heads.iter().map(|head| head.len()).sum::<usize>());

        tokio::time::pause();
        let hub = Hub::new(HubLimits { replay_age: Duration::from_secs(60), ..limits(10_000, 10_000) });
        let a = hub.open_session(principal(1, 1), Closer::child_of(&shutdown));
        drain(&a);
        hub.detach(&a.session, a.generation, true);
        hub.publish(&Audience::Everyone, &channel_delete(1));
        tokio::time::advance(Duration::from_secs(61)).await;
        hub.publish(&Audience::Everyone, &channel_delete(2));
        assert_eq!(a.session.kept().0.len(), 1, "the minute-old frame is gone");
    }

    #[tokio::test]
    async fn a_connection_that_would_lose_unsent_frames_is_a_slow_consumer() {
        let shutdown = CancellationToken::new();
        let hub = Hub::new(limits(10_000, 3));
        let closer = Closer::child_of(&shutdown);
        let _a = hub.open_session(principal(1, 1), closer.clone());
        for id in 0..5 {
            hub.publish(&Audience::Everyone, &channel_delete(id));
        }
        assert_eq!(closer.code(), Some(close::SLOW_CONSUMER));
    }

    #[tokio::test]
    async fn one_session_too_many_ends_the_users_oldest() {
        let shutdown = CancellationToken::new();
        let hub = Hub::new(HubLimits { max_sessions_per_user: 2, ..limits(16, 16) });
        let closers: Vec<Closer> = (0..3).map(|_| Closer::child_of(&shutdown)).collect();
        let other = Closer::child_of(&shutdown);
        let _other = hub.open_session(principal(2, 9), other.clone());
        let _sessions: Vec<Attachment> = closers.iter().map(|c| hub.open_session(principal(1, 1), c.clone())).collect();
        assert_eq!(closers.iter().map(Closer::code).collect::<Vec<_>>(), [Some(close::TOO_MANY_SESSIONS), None, None]);
        assert_eq!((hub.session_count(), other.code()), (3, None));
        assert_eq!(hub.online_user_ids(), vec![Id(1), Id(2)]);
    }
}
