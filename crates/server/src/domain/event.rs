//! Things that happened, as the gateway tells them to clients: an event name and its payload.

use cromulent_proto::gateway::{ChannelDelete, MessageDelete, PresenceUpdate, TimeoutUpdate, TypingStart};
use cromulent_proto::rest::{Channel, ChannelNotifications, Message, Preferences, ReadState, User};
use cromulent_proto::voice::{VoiceDisconnected, VoiceSessionReplaced, VoiceSignalFrom, VoiceStateUpdate};
use serde::Serialize;

/// An event fanned out to gateway sessions.
#[derive(Debug, Clone)]
pub enum Event {
    /// A message was posted.
    MessageCreate(Message),
    /// A message was edited.
    MessageUpdate(Message),
    /// A message was deleted.
    MessageDelete(MessageDelete),
    /// A channel appeared (created, or became visible to this audience).
    ChannelCreate(Channel),
    /// A channel was renamed or changed privacy.
    ChannelUpdate(Channel),
    /// A channel disappeared (deleted, or hidden from this audience).
    ChannelDelete(ChannelDelete),
    /// A user came online or went offline.
    PresenceUpdate(PresenceUpdate),
    /// A user is typing.
    TypingStart(TypingStart),
    /// Someone joined, changed state in or left a voice channel.
    VoiceStateUpdate(VoiceStateUpdate),
    /// A peer-to-peer signal for one participant.
    VoiceSignal(VoiceSignalFrom),
    /// This connection's voice session was taken over elsewhere.
    VoiceSessionReplaced(VoiceSessionReplaced),
    /// A moderator removed the user from voice.
    VoiceDisconnected(VoiceDisconnected),
    /// An admin timed the user out, or lifted their timeout.
    TimeoutUpdate(TimeoutUpdate),
    /// Someone changed their username, display name or avatar, or deleted their account.
    UserUpdate(User),
    /// The user changed their preferences (to their own sessions).
    PreferencesUpdate(Preferences),
    /// The user read a channel (to their own sessions).
    ReadStateUpdate(ReadState),
    /// The user changed a channel's notification level (to their own sessions).
    NotificationLevelUpdate(ChannelNotifications),
}

impl Event {
    /// The frame type `t` on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Event::MessageCreate(_) => "message_create",
            Event::MessageUpdate(_) => "message_update",
            Event::MessageDelete(_) => "message_delete",
            Event::ChannelCreate(_) => "channel_create",
            Event::ChannelUpdate(_) => "channel_update",
            Event::ChannelDelete(_) => "channel_delete",
            Event::PresenceUpdate(_) => "presence_update",
            Event::TypingStart(_) => "typing_start",
            Event::VoiceStateUpdate(_) => "voice_state_update",
            Event::VoiceSignal(_) => "voice_signal",
            Event::VoiceSessionReplaced(_) => "voice_session_replaced",
            Event::VoiceDisconnected(_) => "voice_disconnected",
            Event::TimeoutUpdate(_) => "timeout_update",
            Event::UserUpdate(_) => "user_update",
            Event::PreferencesUpdate(_) => "preferences_update",
            Event::ReadStateUpdate(_) => "read_state_update",
            Event::NotificationLevelUpdate(_) => "notification_level_update",
        }
    }

    /// The payload `d` as JSON text.
    pub fn payload_json(&self) -> String {
        fn json(value: &impl Serialize) -> String {
            serde_json::to_string(value).expect("wire types serialise")
        }
        match self {
            Event::MessageCreate(m) | Event::MessageUpdate(m) => json(m),
            Event::MessageDelete(d) => json(d),
            Event::ChannelCreate(c) | Event::ChannelUpdate(c) => json(c),
            Event::ChannelDelete(d) => json(d),
            Event::PresenceUpdate(p) => json(p),
            Event::TypingStart(t) => json(t),
            Event::VoiceStateUpdate(v) => json(v),
            Event::VoiceSignal(v) => json(v),
            Event::VoiceSessionReplaced(v) => json(v),
            Event::VoiceDisconnected(v) => json(v),
            Event::TimeoutUpdate(t) => json(t),
            Event::UserUpdate(u) => json(u),
            Event::PreferencesUpdate(p) => json(p),
            Event::ReadStateUpdate(r) => json(r),
            Event::NotificationLevelUpdate(n) => json(n),
        }
    }
}
