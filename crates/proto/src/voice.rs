//! Voice over the gateway: joining a voice channel, ICE servers with time-limited TURN
//! credentials, peer-to-peer signals addressed to one participant, and participants' state.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Id;

/// One ICE server entry, as `RTCIceServer` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN username (time-limited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password for `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `GET /voice/ice-servers` and the ICE part of `voice_join` and `voice_refresh_ice` replies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServers {
    /// Servers for `RTCPeerConnection`.
    pub ice_servers: Vec<IceServer>,
    /// Unix seconds after which the TURN credentials stop working for new allocations; refresh
    /// before then. `None` when nothing expires.
    pub expires_at: Option<i64>,
    /// True when the configured TURN provider failed and only STUN is offered, so calls behind
    /// strict NATs may not connect.
    #[serde(default)]
    pub ice_degraded: bool,
    /// Which candidates clients may use.
    pub ice_transport_policy: IceTransportPolicy,
}

/// `RTCIceTransportPolicy`: which ICE candidates a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IceTransportPolicy {
    /// Any candidate: direct where the network allows, relayed otherwise.
    All,
    /// Relayed candidates only, so no participant learns another's IP address.
    Relay,
}

/// `voice_join`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceJoin {
    /// Voice channel to join.
    pub channel_id: Id,
    /// End this user's voice session on another connection and start this one.
    #[serde(default)]
    pub takeover: bool,
}

/// A participant's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceFlags {
    /// Not sending audio.
    #[serde(default)]
    pub muted: bool,
    /// Not hearing anyone (implies muted).
    #[serde(default)]
    pub deafened: bool,
    /// Currently speaking.
    #[serde(default)]
    pub speaking: bool,
}

/// A participant of a voice channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Who.
    pub user_id: Id,
    /// Mute, deafen and speaking flags.
    #[serde(flatten)]
    pub flags: VoiceFlags,
}

/// Reply to `voice_join`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VoiceJoined {
    /// The channel joined.
    pub channel_id: Id,
    /// Identifies this voice session.
    pub session_id: String,
    /// Everyone in the channel, the caller included. The newcomer offers to each other one.
    pub participants: Vec<Participant>,
    /// ICE servers and policy.
    #[serde(flatten)]
    pub ice: IceServers,
}

/// `voice_signal` from a client: an SDP description or ICE candidate for one participant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceSignalTo {
    /// The participant to deliver to.
    pub to: Id,
    /// Opaque to the server: `{"description": …}` or `{"candidate": …}`.
    pub signal: Value,
}

/// `voice_signal` event: a signal from another participant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VoiceSignalFrom {
    /// Who sent it.
    pub from: Id,
    /// As sent.
    pub signal: Value,
}

/// `voice_state_update` event: someone joined, changed state or left (`channel_id` null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceStateUpdate {
    /// Whose state.
    pub user_id: Id,
    /// Their voice channel, or `None` when they left.
    pub channel_id: Option<Id>,
    /// Their voice session; a new one for the same user means a new connection, so peers
    /// must drop their old peer connection to that user and wait for a fresh offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Their flags.
    #[serde(flatten)]
    pub flags: VoiceFlags,
    /// An admin muted them: their client stops sending and cannot unmute (present only when true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub server_muted: bool,
}

/// `voice_session_replaced` event: this connection's voice session ended because the same user
/// joined voice elsewhere with `takeover`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VoiceSessionReplaced {
    /// The channel this connection was in.
    pub channel_id: Id,
}

/// `voice_disconnected` event: a moderator removed this connection's user from voice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VoiceDisconnected {
    /// The channel they were in.
    pub channel_id: Id,
    /// `moderator` (an admin disconnected them) or `timed_out`.
    pub reason: String,
}
