//! Frames of the WebSocket gateway at `/api/v1/gateway`.
//! Client → server: `{"op", "id"?, "d"?}`, read in two steps: the frame ([`ClientFrame`]), then
//! its op and payload together ([`ClientOp::parse`]), so a bad frame, an unknown op and a bad
//! payload each get their own error. Server → client: `{"t", "s", "d"}`, where `s` numbers every
//! frame of a gateway session so `resume` can replay what a dropped connection missed.

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::rest::{Channel, User};
use crate::voice::{VoiceFlags, VoiceJoin, VoiceSignalTo};
use crate::{ErrorCode, Id};

/// A frame sent by a client: an operation, an optional request id echoed by the reply, a payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFrame {
    /// Operation name, e.g. `identify`, `heartbeat`, `typing`.
    pub op: String,
    /// Request id (string or number) copied into the `reply` or `error` frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// Operation payload.
    #[serde(default)]
    pub d: Value,
}

/// The names of the ops, for telling an unknown op from a known one with a bad payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpName {
    /// See [`ClientOp::Identify`].
    Identify,
    /// See [`ClientOp::Resume`].
    Resume,
    /// See [`ClientOp::Heartbeat`].
    Heartbeat,
    /// See [`ClientOp::Typing`].
    Typing,
    /// See [`ClientOp::VoiceJoin`].
    VoiceJoin,
    /// See [`ClientOp::VoiceLeave`].
    VoiceLeave,
    /// See [`ClientOp::VoiceSignal`].
    VoiceSignal,
    /// See [`ClientOp::VoiceState`].
    VoiceState,
    /// See [`ClientOp::VoiceRefreshIce`].
    VoiceRefreshIce,
}

/// An op with its payload: the command a [`ClientFrame`] carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", content = "d", rename_all = "snake_case")]
pub enum ClientOp {
    /// Authenticate a new connection.
    Identify(Identify),
    /// Continue a gateway session after a reconnect.
    Resume(Resume),
    /// A sign of life, answered with `heartbeat_ack`.
    Heartbeat(NoPayload),
    /// The caller is typing in a text channel.
    Typing(Typing),
    /// Join a voice channel.
    VoiceJoin(VoiceJoin),
    /// Leave voice.
    VoiceLeave(NoPayload),
    /// A WebRTC signal for one participant of the caller's voice channel.
    VoiceSignal(VoiceSignalTo),
    /// The caller's mute, deafen and speaking flags.
    VoiceState(VoiceFlags),
    /// Fresh ICE servers before the current credentials expire.
    VoiceRefreshIce(NoPayload),
}

/// Why a frame's op and payload are not a [`ClientOp`].
#[derive(Debug)]
pub enum InvalidOp {
    /// No op has that name.
    Unknown,
    /// The op exists; its payload does not fit.
    Payload {
        /// Which op.
        op: OpName,
        /// What does not fit.
        error: serde_json::Error,
    },
}

impl ClientOp {
    /// Reads `op` with its payload `d`; a missing or null payload reads as `{}`.
    pub fn parse(op: &str, d: Value) -> Result<ClientOp, InvalidOp> {
        let d = if d.is_null() { Value::Object(Map::new()) } else { d };
        let tagged = Map::from_iter([("op".to_owned(), Value::String(op.to_owned())), ("d".to_owned(), d)]);
        serde_json::from_value(Value::Object(tagged)).map_err(|error| {
            match serde_json::from_value::<OpName>(Value::String(op.to_owned())) {
                Ok(op) => InvalidOp::Payload { op, error },
                Err(_) => InvalidOp::Unknown,
            }
        })
    }

    /// The op's name.
    pub fn name(&self) -> OpName {
        match self {
            ClientOp::Identify(_) => OpName::Identify,
            ClientOp::Resume(_) => OpName::Resume,
            ClientOp::Heartbeat(_) => OpName::Heartbeat,
            ClientOp::Typing(_) => OpName::Typing,
            ClientOp::VoiceJoin(_) => OpName::VoiceJoin,
            ClientOp::VoiceLeave(_) => OpName::VoiceLeave,
            ClientOp::VoiceSignal(_) => OpName::VoiceSignal,
            ClientOp::VoiceState(_) => OpName::VoiceState,
            ClientOp::VoiceRefreshIce(_) => OpName::VoiceRefreshIce,
        }
    }
}

/// The payload of an op that takes none: whatever is sent is ignored, `{}` is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoPayload;

impl Serialize for NoPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Map::new().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for NoPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| NoPayload)
    }
}

/// A frame sent by the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerFrame {
    /// Frame type: an event name, `reply` or `error`.
    pub t: String,
    /// Sequence number within the gateway session (0 before `ready`).
    pub s: u64,
    /// Request id of the client frame this answers, for `reply` and `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// Payload.
    #[serde(default)]
    pub d: Value,
}

/// `identify`: authenticate a new connection (the token may instead ride on the upgrade's cookie).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identify {
    /// Session token from login; omit to use the session cookie of the upgrade request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `resume`: continue a gateway session after a reconnect.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    /// Session token (or rely on the cookie), proving who resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `session_id` from `ready`.
    pub session_id: String,
    /// The last `s` the client processed.
    pub seq: u64,
}

/// `typing`: the caller is typing in a text channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Typing {
    /// Text channel the caller types in.
    pub channel_id: Id,
}

/// `hello`: first frame of every connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// Send `heartbeat` at least this often; two silent intervals close the connection.
    pub heartbeat_interval_ms: u64,
}

/// `ready`: the connection is identified and the session started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ready {
    /// Identifies the gateway session for `resume`.
    pub session_id: String,
    /// The caller.
    pub user: User,
    /// Channels the caller may see.
    pub channels: Vec<Channel>,
    /// Ids of users with at least one live gateway session.
    pub online_user_ids: Vec<Id>,
    /// Who is in which visible voice channel.
    #[serde(default)]
    pub voice_states: Vec<crate::voice::VoiceStateUpdate>,
    /// When an admin's timeout of the caller ends (unix ms); absent when none runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_until: Option<i64>,
    /// The caller's preferences, the same on every device.
    #[serde(default)]
    pub preferences: crate::rest::Preferences,
    /// How far the caller read each visible text channel.
    #[serde(default)]
    pub read_states: Vec<crate::rest::ReadState>,
    /// Visible channels whose notification level the caller changed from the default.
    #[serde(default)]
    pub notification_levels: Vec<crate::rest::ChannelNotifications>,
}

/// `timeout_update`, to the timed-out user's own sessions: an admin timed them out until
/// `until` (unix ms), or ended the timeout (`until` is `null`). Until then they may read but
/// not post, type or speak.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimeoutUpdate {
    /// The end of the timeout, or `None` when it was lifted.
    pub until: Option<i64>,
}

/// `resumed`: every missed frame has been replayed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resumed {
    /// Number of frames replayed.
    pub replayed: u64,
}

/// `invalid_session`: the session cannot be resumed; identify again and refetch state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvalidSession {
    /// Why.
    pub reason: InvalidSessionReason,
}

/// Why a session cannot be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidSessionReason {
    /// No such session for this login (never existed, expired, ended, or opened with another
    /// login session).
    UnknownSession,
    /// The frames after the client's `seq` are no longer buffered, or `seq` is from the future.
    TooFarBehind,
}

/// `message_delete`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageDelete {
    /// Deleted message.
    pub id: Id,
    /// Its channel.
    pub channel_id: Id,
}

/// `channel_delete` (also sent when the caller loses access to a private channel).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelDelete {
    /// The channel that is gone for this client.
    pub id: Id,
}

/// Online state in `presence_update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    /// At least one gateway session.
    Online,
    /// No gateway session.
    Offline,
}

/// `presence_update`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PresenceUpdate {
    /// Whose presence changed.
    pub user_id: Id,
    /// Their new state.
    pub status: PresenceStatus,
}

/// `typing_start`: show "X is typing…" until `expires_at` or their message arrives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TypingStart {
    /// Channel typed in.
    pub channel_id: Id,
    /// Who types.
    pub user_id: Id,
    /// Their username, so clients need no lookup.
    pub username: String,
    /// Unix milliseconds after which the indicator lapses.
    pub expires_at: i64,
}

/// Payload of an `error` frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorPayload {
    /// Stable snake_case code.
    pub code: ErrorCode,
    /// A sentence for people.
    pub message: String,
}

/// WebSocket close codes the gateway uses, besides the standard 1001 (server shutting down),
/// 1003 (binary frame) and 1009 (frame too large).
pub mod close {
    /// An op other than `identify`/`resume`/`heartbeat` arrived before authentication.
    pub const NOT_AUTHENTICATED: u16 = 4001;
    /// The token was missing, unknown or expired.
    pub const AUTHENTICATION_FAILED: u16 = 4004;
    /// No heartbeat for two intervals.
    pub const HEARTBEAT_TIMEOUT: u16 = 4009;
    /// The client read too slowly and its send queue filled; reconnect and resume or refetch.
    pub const SLOW_CONSUMER: u16 = 4010;
    /// The session was ended elsewhere (logout, or a newer connection resumed it).
    pub const SESSION_ENDED: u16 = 4011;
    /// The user opened more sessions than the server allows at once; this one, their oldest,
    /// was ended. Do not reconnect automatically.
    pub const TOO_MANY_SESSIONS: u16 = 4012;
    /// An admin disabled the account. Do not reconnect.
    pub const ACCOUNT_DISABLED: u16 = 4013;
    /// An admin promoted or demoted the account: what it may see changed, so its sessions
    /// cannot be resumed. Reconnect at once and identify again for a fresh `ready`.
    pub const ROLE_CHANGED: u16 = 4014;
    /// The client sent ops faster than the rate limit allows.
    pub const RATE_LIMITED: u16 = 4029;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ops_parse_with_their_payloads() {
        let typing = ClientOp::parse("typing", json!({"channel_id": "42"})).unwrap();
        assert!(matches!(typing, ClientOp::Typing(Typing { channel_id: Id(42) })));
        assert!(matches!(ClientOp::parse("voice_leave", json!(5)).unwrap(), ClientOp::VoiceLeave(_)));
        assert!(matches!(ClientOp::parse("identify", Value::Null).unwrap(), ClientOp::Identify(Identify { token: None })));
    }

    #[test]
    fn an_unknown_op_is_told_apart_from_a_bad_payload() {
        assert!(matches!(ClientOp::parse("shout", json!({})), Err(InvalidOp::Unknown)));
        assert!(matches!(ClientOp::parse("Typing", json!({})), Err(InvalidOp::Unknown)));
        let bad = ClientOp::parse("typing", json!({"channel_id": "42", "extra": 1}));
        assert!(matches!(bad, Err(InvalidOp::Payload { op: OpName::Typing, .. })));
        let missing = ClientOp::parse("resume", json!({}));
        assert!(matches!(missing, Err(InvalidOp::Payload { op: OpName::Resume, .. })));
    }

    #[test]
    fn numbers_in_a_signal_pass_through_exactly() {
        // Found by the gateway_frame fuzz target: without exact float parsing this came back
        // one step off in its last digit, and further off on every relay.
        let text = r#"{"to":"1","signal":{"x":1.0066666666666666e86}}"#;
        let op = ClientOp::parse("voice_signal", serde_json::from_str(text).unwrap()).unwrap();
        let ClientOp::VoiceSignal(signal) = op else { panic!("a voice signal") };
        assert_eq!(serde_json::to_string(&signal.signal).unwrap(), r#"{"x":1.0066666666666666e+86}"#);
    }

    #[test]
    fn every_op_name_is_an_op() {
        let ops = [
            ClientOp::Identify(Identify::default()),
            ClientOp::Resume(Resume { token: None, session_id: "s".into(), seq: 1 }),
            ClientOp::Heartbeat(NoPayload),
            ClientOp::Typing(Typing { channel_id: Id(1) }),
            ClientOp::VoiceJoin(VoiceJoin { channel_id: Id(1), takeover: false }),
            ClientOp::VoiceLeave(NoPayload),
            ClientOp::VoiceSignal(VoiceSignalTo { to: Id(1), signal: json!({}) }),
            ClientOp::VoiceState(VoiceFlags::default()),
            ClientOp::VoiceRefreshIce(NoPayload),
        ];
        for op in ops {
            let wire = serde_json::to_value(&op).unwrap();
            let name: OpName = serde_json::from_value(wire["op"].clone()).unwrap();
            assert_eq!(name, op.name());
            let again = ClientOp::parse(wire["op"].as_str().unwrap(), wire["d"].clone()).unwrap();
            assert_eq!(again.name(), name);
        }
    }
}
