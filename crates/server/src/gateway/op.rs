//! The command layer of the gateway: an identified connection's [`ClientOp`] runs as a use case,
//! and every way an op can fail is one [`OpError`], turned into an `error` frame in one place.

use std::sync::Arc;

use cromulent_proto::ErrorCode;
use cromulent_proto::gateway::{ClientFrame, ClientOp, ErrorPayload, InvalidOp, OpName};
use serde::Serialize;
use serde_json::Value;

use crate::app::AppState;
use crate::hub::Session;
use crate::service::Error;
use crate::voice::RequestHost;

/// A failure of one frame or op, answered with an `error` frame.
#[derive(Debug)]
pub enum OpError {
    /// The text is not a gateway frame (`invalid_frame`).
    Frame(String),
    /// No op has this name (`unknown_op`); holds the name as sent.
    UnknownOp(String),
    /// The op's payload does not fit (`invalid_payload`).
    Payload(serde_json::Error),
    /// `identify` or `resume` on an identified connection.
    AlreadyIdentified,
    /// The use case refused or failed.
    Service(Error),
}

impl From<Error> for OpError {
    fn from(err: Error) -> Self {
        if matches!(err, Error::Store(_) | Error::Hashing) {
            tracing::error!(error = ?err, "gateway op failed");
        }
        OpError::Service(err)
    }
}

impl OpError {
    /// Why `op` did not parse, for an identified connection.
    pub fn invalid(invalid: InvalidOp, op: &str) -> OpError {
        match invalid {
            InvalidOp::Unknown => OpError::UnknownOp(truncate(op, 32).to_owned()),
            InvalidOp::Payload { op: OpName::Identify | OpName::Resume, .. } => OpError::AlreadyIdentified,
            InvalidOp::Payload { error, .. } => OpError::Payload(error),
        }
    }

    /// Whether the server failed (the connection is closed after telling the client).
    pub fn is_internal(&self) -> bool {
        matches!(self, OpError::Service(Error::Store(_) | Error::Hashing))
    }

    /// The `error` frame's payload.
    pub fn payload(&self) -> ErrorPayload {
        let (code, message) = match self {
            OpError::Frame(message) => (ErrorCode::InvalidFrame, message.clone()),
            OpError::UnknownOp(op) => (ErrorCode::UnknownOp, format!("Unknown op {op:?}.")),
            OpError::Payload(err) => (ErrorCode::InvalidPayload, format!("The op's payload is not valid: {err}.")),
            OpError::AlreadyIdentified => (ErrorCode::AlreadyIdentified, "This connection is already identified.".to_owned()),
            OpError::Service(err) => (err.code(), err.to_string()),
        };
        ErrorPayload { code, message }
    }
}

/// Parses a client frame, checking the request id is a short string or an integer.
pub fn parse_frame(text: &str) -> Result<ClientFrame, OpError> {
    // serde would also read a struct from a JSON array (`["typing", 1, {…}]`); the protocol
    // is objects only.
    if !text.trim_start().starts_with('{') {
        return Err(OpError::Frame("A frame is a JSON object: {\"op\", \"id\"?, \"d\"?}.".into()));
    }
    let frame: ClientFrame =
        serde_json::from_str(text).map_err(|err| OpError::Frame(format!("The frame is not a valid gateway frame: {err}.")))?;
    let id_ok = frame.id.as_ref().is_none_or(|id| (id.is_string() || id.is_u64() || id.is_i64()) && id.to_string().len() <= 66);
    if !id_ok {
        return Err(OpError::Frame("A request id is a string of at most 64 characters or an integer.".into()));
    }
    Ok(frame)
}

/// What an op answers with.
pub enum Reply {
    /// A `reply` frame in the session's numbered stream.
    Payload(Value),
    /// A `heartbeat_ack`, outside the stream.
    HeartbeatAck,
}

/// Runs one op of an identified connection.
pub async fn dispatch(state: &AppState, session: &Arc<Session>, host: &RequestHost, op: ClientOp) -> Result<Reply, OpError> {
    let chat = &state.chat;
    let payload = match op {
        ClientOp::Heartbeat(_) => return Ok(Reply::HeartbeatAck),
        ClientOp::Identify(_) | ClientOp::Resume(_) => return Err(OpError::AlreadyIdentified),
        ClientOp::Typing(typing) => {
            chat.start_typing(session.principal(), typing.channel_id).await?;
            empty()
        }
        ClientOp::VoiceJoin(join) => to_value(&chat.voice_join(session, join.channel_id, join.takeover, host).await?),
        ClientOp::VoiceLeave(_) => {
            chat.voice_leave(session).await?;
            empty()
        }
        ClientOp::VoiceSignal(signal) => {
            chat.voice_signal(session, signal.to, signal.signal)?;
            empty()
        }
        ClientOp::VoiceState(flags) => {
            chat.voice_set_state(session, flags).await?;
            empty()
        }
        ClientOp::VoiceRefreshIce(_) => to_value(&chat.voice_refresh_ice(session, host).await?),
    };
    Ok(Reply::Payload(payload))
}

fn empty() -> Value {
    Value::Object(Default::default())
}

fn to_value(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("wire types serialise")
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
