//! One gateway connection: `hello`, then `identify` or `resume`, then a loop that writes the
//! session's numbered frames, reads ops, enforces heartbeats and the op rate, and closes with a
//! documented code. Op handlers live in [`dispatch`]; new ops add arms there.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};

use cromulent_proto::gateway::{
    ClientFrame, ErrorPayload, Hello, Identify, InvalidSession, Ready, Resume, Resumed, Typing, close,
};
use cromulent_proto::voice::{VoiceFlags, VoiceJoin, VoiceSignalTo};
use futures_util::SinkExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use crate::app::AppState;
use crate::hub::{Attachment, Closer, Session, finish_frame, frame_head};
use crate::domain::principal::Principal;
use crate::service::Error;
use crate::voice::RequestHost;

/// Standard close codes used besides the gateway's own.
const GOING_AWAY: u16 = 1001;
const UNSUPPORTED_DATA: u16 = 1003;
const TOO_BIG: u16 = 1009;
const INTERNAL: u16 = 1011;

/// Frames written per flush when the outbox has a backlog.
const WRITE_BATCH: usize = 64;

/// How a connection ended, which decides whether its session stays resumable.
enum Ending {
    /// The client closed with 1000 or 1001: it is gone for good.
    Goodbye,
    /// The network dropped, the client closed with another code, or the server closed it.
    Lost,
}

/// A failure of one op, answered with an `error` frame.
struct OpError {
    code: &'static str,
    message: String,
}

impl From<Error> for OpError {
    fn from(err: Error) -> Self {
        if matches!(err, Error::Store(_) | Error::Hashing) {
            tracing::error!(error = ?err, "gateway op failed");
        }
        OpError { code: err.code(), message: err.to_string() }
    }
}

fn bad_payload(err: serde_json::Error) -> OpError {
    OpError { code: "invalid_payload", message: format!("The op's payload is not valid: {err}.") }
}

fn parse<T: DeserializeOwned>(d: Value) -> Result<T, OpError> {
    serde_json::from_value(if d.is_null() { Value::Object(Default::default()) } else { d }).map_err(bad_payload)
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

impl Connection {
    /// Reads frames until `identify` or `resume` succeeds; `None` when the connection ended.
    async fn handshake(&mut self) -> Option<Attachment> {
        loop {
            let text = tokio::select! {
                biased;
                _ = self.closer.closed() => {
                    self.close(self.closer.code().unwrap_or(GOING_AWAY), "server closing").await;
                    return None;
                }
                _ = tokio::time::sleep_until(self.deadline) => {
                    self.close(close::HEARTBEAT_TIMEOUT, "no heartbeat").await;
                    return None;
                }
                incoming = self.socket.recv() => match self.read(incoming).await {
                    Ok(Some(text)) => text,
                    Ok(None) => continue,
                    Err(_) => return None,
                },
            };
            let frame = match parse_frame(&text) {
                Ok(frame) => frame,
                Err(err) => {
                    self.send_direct("error", None, &ErrorPayload { code: err.code.into(), message: err.message }).await.ok()?;
                    continue;
                }
            };
            let id = frame.id.clone();
            let outcome = match frame.op.as_str() {
                "heartbeat" => {
                    self.send_direct("heartbeat_ack", id.as_ref(), &Value::Null).await.ok()?;
                    continue;
                }
                "identify" => self.identify(frame.d).await,
                "resume" => self.resume(frame.d).await,
                _ => {
                    self.close(close::NOT_AUTHENTICATED, "identify first").await;
                    return None;
                }
            };
            match outcome {
                Ok(Some(attachment)) => return Some(attachment),
                Ok(None) => continue,
                Err(err) if err.code == "unauthenticated" => {
                    self.close(close::AUTHENTICATION_FAILED, "authentication failed").await;
                    return None;
                }
                Err(err) => {
                    let payload = ErrorPayload { code: err.code.into(), message: err.message };
                    self.send_direct("error", id.as_ref(), &payload).await.ok()?;
                    if payload_is_internal(&payload) {
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

    async fn identify(&mut self, d: Value) -> Result<Option<Attachment>, OpError> {
        let identify: Identify = parse(d)?;
        let principal = self.authenticate(identify.token.clone()).await?;
        let hub = self.state.chat.hub().clone();
        let attachment = hub.open_session(principal.clone(), self.closer.clone());
        // A logout between the first check and registering the session would otherwise miss
        // this session; checking again once it is registered closes that gap.
        let still_valid = self.authenticate(identify.token).await;
        let channels = match still_valid {
            Ok(_) => self.state.chat.list_channels(&principal).await.map_err(OpError::from),
            Err(err) => Err(err),
        };
        let channels = match channels {
            Ok(channels) => channels,
            Err(err) => {
                hub.detach(&attachment.session, attachment.generation, false);
                return Err(err);
            }
        };
        let ready = Ready {
            session_id: attachment.session.id().to_owned(),
            user: principal.user(),
            voice_states: self.state.chat.voice_states(&channels),
            channels,
            online_user_ids: hub.online_user_ids(),
        };
        let text = attachment.session.first_frame(&frame_head("ready", None, &json(&ready)));
        if self.socket.send(Message::Text(text)).await.is_err() {
            hub.detach(&attachment.session, attachment.generation, true);
            return Ok(None);
        }
        Ok(Some(attachment))
    }

    async fn resume(&mut self, d: Value) -> Result<Option<Attachment>, OpError> {
        let resume: Resume = parse(d)?;
        let principal = self.authenticate(resume.token).await?;
        let hub = self.state.chat.hub().clone();
        match hub.resume(&resume.session_id, principal.login_session_id, resume.seq, self.closer.clone()) {
            Ok((attachment, missed)) => {
                let replayed = missed.len() as u64;
                for text in missed {
                    if self.socket.feed(Message::Text(text)).await.is_err() {
                        hub.detach(&attachment.session, attachment.generation, true);
                        return Ok(None);
                    }
                }
                attachment.session.push(&frame_head("resumed", None, &json(&Resumed { replayed })));
                Ok(Some(attachment))
            }
            Err(refused) => {
                let payload = InvalidSession { reason: refused.as_str().to_owned() };
                self.send_direct("invalid_session", None, &payload)
                    .await
                    .map_err(|_| OpError { code: "internal", message: "connection lost".into() })?;
                Ok(None)
            }
        }
    }

    /// The identified loop: write the outbox, read ops, watch the heartbeat deadline.
    async fn live(&mut self, attachment: &mut Attachment) -> Ending {
        loop {
            tokio::select! {
                biased;
                _ = self.closer.closed() => {
                    self.close(self.closer.code().unwrap_or(GOING_AWAY), "closed by server").await;
                    return Ending::Lost;
                }
                queued = attachment.outbox.recv() => {
                    let Some(text) = queued else {
                        self.close(close::SESSION_ENDED, "session ended").await;
                        return Ending::Lost;
                    };
                    if self.write_batch(text, attachment).await.is_err() {
                        return Ending::Lost;
                    }
                }
                _ = tokio::time::sleep_until(self.deadline) => {
                    self.close(close::HEARTBEAT_TIMEOUT, "no heartbeat").await;
                    return Ending::Lost;
                }
                incoming = self.socket.recv() => {
                    let text = match self.read(incoming).await {
                        Ok(Some(text)) => text,
                        Ok(None) => continue,
                        Err(ending) => return ending,
                    };
                    let frame = match parse_frame(&text) {
                        Ok(frame) => frame,
                        Err(err) => {
                            attachment.session.push(&error_head(None, &err));
                            continue;
                        }
                    };
                    if frame.op == "heartbeat" {
                        if self.send_direct("heartbeat_ack", frame.id.as_ref(), &Value::Null).await.is_err() {
                            return Ending::Lost;
                        }
                        continue;
                    }
                    let head = match dispatch(&self.state, &attachment.session, &self.host, &frame.op, frame.d).await {
                        Ok(reply) => frame_head("reply", frame.id.as_ref(), &reply.to_string()),
                        Err(err) => error_head(frame.id.as_ref(), &err),
                    };
                    attachment.session.push(&head);
                }
            }
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

    async fn write_batch(&mut self, first: Utf8Bytes, attachment: &mut Attachment) -> Result<(), axum::Error> {
        self.socket.feed(Message::Text(first)).await?;
        for _ in 1..WRITE_BATCH {
            match attachment.outbox.try_recv() {
                Ok(text) => self.socket.feed(Message::Text(text)).await?,
                Err(_) => break,
            }
        }
        self.socket.flush().await
    }

    async fn send_direct(&mut self, t: &str, id: Option<&Value>, d: &impl Serialize) -> Result<(), axum::Error> {
        self.socket.send(Message::Text(finish_frame(&frame_head(t, id, &json(d)), 0))).await
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
        let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.send(Message::Close(Some(frame)))).await;
    }
}

/// Runs one op of an identified connection and returns the reply payload.
async fn dispatch(state: &AppState, session: &Arc<Session>, host: &RequestHost, op: &str, d: Value) -> Result<Value, OpError> {
    let chat = &state.chat;
    match op {
        "typing" => {
            let typing: Typing = parse(d)?;
            chat.start_typing(session.principal(), typing.channel_id).await?;
            Ok(empty())
        }
        "voice_join" => {
            let join: VoiceJoin = parse(d)?;
            Ok(to_value(&chat.voice_join(session, join.channel_id, join.takeover, host).await?))
        }
        "voice_leave" => {
            chat.voice_leave(session).await?;
            Ok(empty())
        }
        "voice_signal" => {
            let signal: VoiceSignalTo = parse(d)?;
            chat.voice_signal(session, signal.to, signal.signal)?;
            Ok(empty())
        }
        "voice_state" => {
            let flags: VoiceFlags = parse(d)?;
            chat.voice_set_state(session, flags).await?;
            Ok(empty())
        }
        "voice_refresh_ice" => Ok(to_value(&chat.voice_refresh_ice(session, host).await?)),
        "identify" | "resume" => {
            Err(OpError { code: "already_identified", message: "This connection is already identified.".into() })
        }
        other => Err(OpError { code: "unknown_op", message: format!("Unknown op {:?}.", truncate(other, 32)) }),
    }
}

fn empty() -> Value {
    Value::Object(Default::default())
}

fn to_value(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("wire types serialise")
}

/// Parses a client frame, checking the request id is a short string or an integer.
fn parse_frame(text: &str) -> Result<ClientFrame, OpError> {
    let frame: ClientFrame = serde_json::from_str(text)
        .map_err(|err| OpError { code: "invalid_frame", message: format!("The frame is not a valid gateway frame: {err}.") })?;
    let id_ok = frame.id.as_ref().is_none_or(|id| (id.is_string() || id.is_u64() || id.is_i64()) && id.to_string().len() <= 66);
    if !id_ok {
        return Err(OpError {
            code: "invalid_frame",
            message: "A request id is a string of at most 64 characters or an integer.".into(),
        });
    }
    Ok(frame)
}

fn error_head(id: Option<&Value>, err: &OpError) -> String {
    frame_head("error", id, &json(&ErrorPayload { code: err.code.into(), message: err.message.clone() }))
}

fn payload_is_internal(payload: &ErrorPayload) -> bool {
    payload.code == "internal"
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("wire types serialise")
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn is_capacity_error(err: axum::Error) -> bool {
    err.into_inner().downcast_ref::<tungstenite::Error>().is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}
