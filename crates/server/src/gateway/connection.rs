//! One gateway connection: `hello`, then `identify` or `resume`, then a loop that writes the
//! session's numbered frames, reads ops, enforces heartbeats and the op rate, and closes with a
//! documented code. What an op does lives in [`super::op`].

use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use cromulent_proto::gateway::{
    ClientFrame, ClientOp, Hello, Identify, InvalidOp, InvalidSession, OpName, Ready, Resume, Resumed, close,
};
use futures_util::SinkExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::op::{OpError, Reply, dispatch, parse_frame};
use crate::app::AppState;
use crate::domain::principal::Principal;
use crate::hub::{Attachment, Closer, finish_frame, frame_head};
use crate::service::Error;
use crate::telemetry::Metrics;
use crate::voice::RequestHost;

/// Standard close codes used besides the gateway's own.
const GOING_AWAY: u16 = 1001;
const UNSUPPORTED_DATA: u16 = 1003;
const TOO_BIG: u16 = 1009;
const INTERNAL: u16 = 1011;

/// Frames written per flush when the session has a backlog.
const WRITE_BATCH: usize = 64;

/// How long a close handshake may take: our Close out, the client's Close back.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How a connection ended, which decides whether its session stays resumable.
enum Ending {
    /// The client closed with 1000 or 1001: it is gone for good.
    Goodbye,
    /// The network dropped, the client closed with another code, or the server closed it.
    Lost,
}

/// What woke a connection up.
enum Wake {
    /// A text frame from the client.
    Frame(String),
    /// The session has frames this connection has not written yet.
    Unsent,
    /// The connection is over (and was closed with the right code where it still could be).
    Over(Ending),
}

/// How far `identify` or `resume` got.
enum Handshake {
    /// The connection is attached to a session.
    Attached(Attachment),
    /// Not yet: wait for another `identify` or `resume`.
    Pending,
}

struct Connection {
    socket: WebSocket,
    state: AppState,
    host: RequestHost,
    cookie_token: Option<String>,
    closer: Closer,
    deadline: Instant,
    ops: DefaultDirectRateLimiter,
}

/// Runs a connection to the end.
pub async fn run(socket: WebSocket, state: AppState, cookie_token: Option<String>, host: RequestHost) {
    let _counted = OpenConnection::count(state.chat.metrics());
    let closer = Closer::child_of(&state.shutdown);
    let per_minute = NonZeroU32::new(state.config.gateway.ops_per_minute.max(1)).expect("at least one");
    let mut conn = Connection {
        socket,
        deadline: Instant::now() + state.config.gateway.heartbeat_interval() * 2,
        state,
        host,
        cookie_token,
        closer,
        ops: RateLimiter::direct(Quota::per_minute(per_minute)),
    };
    let hello = Hello { heartbeat_interval_ms: conn.state.config.gateway.heartbeat_interval_ms };
    if conn.send_direct("hello", None, &hello).await.is_err() {
        return;
    }
    let Some(mut attachment) = conn.handshake().await else { return };
    let ending = conn.live(&mut attachment).await;
    let goodbye = matches!(ending, Ending::Goodbye);
    conn.state.chat.hub().detach(&attachment.session, attachment.generation, !goodbye);
    conn.state.chat.voice_connection_ended(&attachment.session, attachment.generation, goodbye);
}

/// Counts a connection in `cromulent_gateway_connections` while it lives, however it ends.
struct OpenConnection(metrics::Gauge);

impl OpenConnection {
    fn count(metrics: &Metrics) -> OpenConnection {
        metrics.gateway_connections.increment(1.0);
        OpenConnection(metrics.gateway_connections.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

impl Connection {
    /// Waits for the next thing to do: a client frame, unsent frames of the session (once
    /// identified: `wake`), or the end, closing the socket when the server or the heartbeat
    /// deadline ends it. The handshake and the live loop share it, so both obey the same closer
    /// and deadline.
    async fn next(&mut self, wake: Option<&Notify>) -> Wake {
        loop {
            let unsent = async {
                match wake {
                    Some(wake) => wake.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = self.closer.closed() => {
                    self.close(self.closer.code().unwrap_or(GOING_AWAY), "closed by server").await;
                    return Wake::Over(Ending::Lost);
                }
                () = unsent => return Wake::Unsent,
                _ = tokio::time::sleep_until(self.deadline) => {
                    self.close(close::HEARTBEAT_TIMEOUT, "no heartbeat").await;
                    return Wake::Over(Ending::Lost);
                }
                incoming = self.socket.recv() => match self.read(incoming).await {
                    Ok(Some(text)) => return Wake::Frame(text),
                    Ok(None) => continue,
                    Err(ending) => return Wake::Over(ending),
                },
            }
        }
    }

    /// Reads frames until `identify` or `resume` succeeds; `None` when the connection ended.
    async fn handshake(&mut self) -> Option<Attachment> {
        loop {
            let Wake::Frame(text) = self.next(None).await else { return None };
            let ClientFrame { op, id, d } = match parse_frame(&text) {
                Ok(frame) => frame,
                Err(err) => {
                    self.send_direct("error", None, &err.payload()).await.ok()?;
                    continue;
                }
            };
            let outcome = match ClientOp::parse(&op, d) {
                Ok(ClientOp::Heartbeat(_)) => {
                    self.send_direct("heartbeat_ack", id.as_ref(), &Value::Null).await.ok()?;
                    continue;
                }
                Ok(ClientOp::Identify(identify)) => self.identify(identify).await,
                Ok(ClientOp::Resume(resume)) => self.resume(resume).await,
                Err(InvalidOp::Payload { op: OpName::Identify | OpName::Resume, error }) => Err(OpError::Payload(error)),
                Ok(_) | Err(_) => {
                    self.close(close::NOT_AUTHENTICATED, "identify first").await;
                    return None;
                }
            };
            match outcome {
                Ok(Handshake::Attached(attachment)) => return Some(attachment),
                Ok(Handshake::Pending) => continue,
                Err(OpError::Service(Error::Unauthenticated)) => {
                    self.close(close::AUTHENTICATION_FAILED, "authentication failed").await;
                    return None;
                }
                Err(err) => {
                    self.send_direct("error", id.as_ref(), &err.payload()).await.ok()?;
                    if err.is_internal() {
                        self.close(INTERNAL, "internal error").await;
                        return None;
                    }
                }
            }
        }
    }

    /// Not an `async fn`: the future must not borrow the connection, whose socket is not `Sync`.
    fn authenticate(&self, token: Option<String>) -> impl Future<Output = Result<Principal, OpError>> + Send + 'static {
        let token = token.or_else(|| self.cookie_token.clone());
        let chat = self.state.chat.clone();
        async move { Ok(chat.authenticate(&token.ok_or(Error::Unauthenticated)?).await?) }
    }

    async fn identify(&mut self, identify: Identify) -> Result<Handshake, OpError> {
        let principal = self.authenticate(identify.token.clone()).await?;
        let hub = self.state.chat.hub().clone();
        let attachment = hub.open_session(principal.clone(), self.closer.clone());
        // A logout between the first check and registering the session would otherwise miss
        // this session; checking again once it is registered closes that gap.
        let still_valid = self.authenticate(identify.token).await;
        let loaded = match still_valid {
            Ok(_) => async {
                let channels = self.state.chat.list_channels(&principal).await?;
                let (user, preferences) = self.state.chat.own_profile(&principal).await?;
                let read_states = self.state.chat.read_states_in(&principal, &channels).await?;
                let notification_levels = self.state.chat.notification_levels_in(&principal, &channels).await?;
                Ok((channels, user, preferences, read_states, notification_levels))
            }
            .await
            .map_err(|err: crate::service::Error| OpError::from(err)),
            Err(err) => Err(err),
        };
        let (channels, user, preferences, read_states, notification_levels) = match loaded {
            Ok(loaded) => loaded,
            Err(err) => {
                hub.detach(&attachment.session, attachment.generation, false);
                return Err(err);
            }
        };
        let ready = Ready {
            session_id: attachment.session.id().to_owned(),
            user,
            voice_states: self.state.chat.voice_states(&channels),
            channels,
            online_user_ids: hub.online_user_ids(),
            timeout_until: self.state.chat.timeout_until(principal.user_id),
            preferences,
            read_states,
            notification_levels,
        };
        let text = attachment.session.first_frame(&frame_head("ready", None, &json(&ready)));
        if self.socket.send(Message::Text(text)).await.is_err() {
            hub.detach(&attachment.session, attachment.generation, true);
            return Ok(Handshake::Pending);
        }
        Ok(Handshake::Attached(attachment))
    }

    async fn resume(&mut self, resume: Resume) -> Result<Handshake, OpError> {
        let principal = self.authenticate(resume.token).await?;
        let hub = self.state.chat.hub().clone();
        match hub.resume(&resume.session_id, principal.login_session_id, resume.seq, self.closer.clone()) {
            Ok((attachment, replayed)) => {
                // The missed frames are written from the session's buffer by the live loop,
                // followed by this one.
                attachment.session.push(frame_head("resumed", None, &json(&Resumed { replayed })).into());
                Ok(Handshake::Attached(attachment))
            }
            Err(reason) => {
                // A failed send means the socket is gone; the next read ends the handshake.
                let _ = self.send_direct("invalid_session", None, &InvalidSession { reason }).await;
                Ok(Handshake::Pending)
            }
        }
    }

    /// The identified loop: write the outbox, read ops, watch the heartbeat deadline.
    async fn live(&mut self, attachment: &mut Attachment) -> Ending {
        loop {
            let text = match self.next(Some(&attachment.wake)).await {
                Wake::Frame(text) => text,
                Wake::Unsent => match self.write_unsent(attachment).await {
                    Ok(()) => continue,
                    Err(ending) => return ending,
                },
                Wake::Over(ending) => return ending,
            };
            let ClientFrame { op, id, d } = match parse_frame(&text) {
                Ok(frame) => frame,
                Err(err) => {
                    attachment.session.push(error_head(None, &err).into());
                    continue;
                }
            };
            let outcome = match ClientOp::parse(&op, d) {
                Ok(op) => dispatch(&self.state, &attachment.session, &self.host, op).await,
                Err(invalid) => Err(OpError::invalid(invalid, &op)),
            };
            let head = match outcome {
                Ok(Reply::Payload(reply)) => frame_head("reply", id.as_ref(), &reply.to_string()),
                Ok(Reply::HeartbeatAck) => {
                    if self.send_direct("heartbeat_ack", id.as_ref(), &Value::Null).await.is_err() {
                        return Ending::Lost;
                    }
                    continue;
                }
                Err(err) => error_head(id.as_ref(), &err),
            };
            attachment.session.push(head.into());
        }
    }

    /// Reads one incoming message: `Ok(Some(text))` for a text frame, `Ok(None)` for control
    /// frames, `Err` when the connection is over (and has been closed if it still could be).
    async fn read(&mut self, incoming: Option<Result<Message, axum::Error>>) -> Result<Option<String>, Ending> {
        if let Some(Ok(_)) = incoming {
            self.deadline = Instant::now() + self.state.config.gateway.heartbeat_interval() * 2;
        }
        match incoming {
            Some(Ok(Message::Text(text))) => {
                if self.ops.check().is_err() {
                    self.close(close::RATE_LIMITED, "too many ops").await;
                    return Err(Ending::Lost);
                }
                Ok(Some(text.as_str().to_owned()))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
            Some(Ok(Message::Binary(_))) => {
                self.close(UNSUPPORTED_DATA, "text frames only").await;
                Err(Ending::Lost)
            }
            Some(Ok(Message::Close(frame))) => {
                // The socket has queued the echo of the client's Close (RFC 6455 §5.5.1); send it,
                // so the client sees a clean close rather than a dropped connection.
                let _ = tokio::time::timeout(CLOSE_GRACE, self.socket.flush()).await;
                let goodbye = frame.is_some_and(|f| f.code == 1000 || f.code == 1001);
                Err(if goodbye { Ending::Goodbye } else { Ending::Lost })
            }
            Some(Err(err)) => {
                if is_capacity_error(err) {
                    self.close(TOO_BIG, "frame too large").await;
                }
                Err(Ending::Lost)
            }
            None => Err(Ending::Lost),
        }
    }

    /// Writes the frames the session holds for this connection. A client that stops reading
    /// would block the write forever, so it is given up on at the heartbeat deadline (no close
    /// frame can get through to it); its session stays resumable.
    async fn write_unsent(&mut self, attachment: &Attachment) -> Result<(), Ending> {
        let unsent = attachment.session.take_unsent(attachment.generation, WRITE_BATCH);
        if unsent.more {
            attachment.wake.notify_one();
        }
        if unsent.frames.is_empty() {
            return Ok(());
        }
        let socket = &mut self.socket;
        let count = unsent.frames.len() as u64;
        let write = async {
            for text in unsent.frames {
                socket.feed(Message::Text(text)).await?;
            }
            socket.flush().await
        };
        tokio::select! {
            biased;
            // Asked to close (a slow consumer, shutdown…): the next wait sends the close frame.
            _ = self.closer.closed() => Ok(()),
            written = write => {
                self.state.chat.metrics().gateway_events_sent.increment(count);
                written.map_err(|_| Ending::Lost)
            }
            _ = tokio::time::sleep_until(self.deadline) => Err(Ending::Lost),
        }
    }

    async fn send_direct(&mut self, t: &str, id: Option<&Value>, d: &impl Serialize) -> Result<(), axum::Error> {
        self.socket.send(Message::Text(finish_frame(&frame_head(t, id, &json(d)), 0))).await
    }

    /// Sends a Close frame, then reads and ignores whatever the client still sends until its own
    /// Close (or the grace ends): closing with unread data would reset the connection and the
    /// client would lose the close frame and its code. A client that is behind on reading (a
    /// slow consumer) gets until its heartbeat deadline to take the frames before the Close.
    async fn close(&mut self, code: u16, reason: &'static str) {
        if code == close::SLOW_CONSUMER {
            self.state.chat.metrics().gateway_slow_closes.increment(1);
        }
        let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
        let sent_by = self.deadline.max(Instant::now() + CLOSE_GRACE);
        if !matches!(tokio::time::timeout_at(sent_by, self.socket.send(Message::Close(Some(frame)))).await, Ok(Ok(()))) {
            return;
        }
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(message)) = self.socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

fn error_head(id: Option<&Value>, err: &OpError) -> String {
    frame_head("error", id, &json(&err.payload()))
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("wire types serialise")
}

fn is_capacity_error(err: axum::Error) -> bool {
    err.into_inner().downcast_ref::<tungstenite::Error>().is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}
