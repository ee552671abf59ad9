//! Frames of the WebSocket gateway at `/api/v1/gateway`.
//! Client → server: `{"op", "id"?, "d"?}`. Server → client: `{"t", "s", "d"}`, where `s` numbers
//! every frame of a gateway session so `resume` can replay what a dropped connection missed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Id;
use crate::rest::{Channel, User};

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
    /// Why: `unknown_session`, `expired` or `too_far_behind`.
    pub reason: String,
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
    pub code: String,
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
    /// The client sent ops faster than the rate limit allows.
    pub const RATE_LIMITED: u16 = 4029;
}
