//! Channels: their kinds, who may post, and the bodies that create and change them.

use serde::{Deserialize, Serialize};

use super::User;
use crate::Id;

/// Whether a channel carries text messages or voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Text chat with message history.
    Text,
    /// Voice room.
    Voice,
}

impl ChannelKind {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Text => "text",
            ChannelKind::Voice => "voice",
        }
    }
}

/// A channel visible to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Channel id.
    pub id: Id,
    /// Name, unique among channels of the same kind regardless of case.
    pub name: String,
    /// Text or voice.
    pub kind: ChannelKind,
    /// Private channels are seen only by their members and admins.
    pub private: bool,
    /// Who may post: `everyone`, or `admins` (an announcement channel).
    pub write: WriteAccess,
    /// Place in the sidebar among channels of its kind (ascending; ties by name).
    pub position: i64,
    /// Seconds a member waits between messages (0: no slow mode; admins are exempt).
    pub slowmode_secs: u32,
}

/// Who may post in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WriteAccess {
    /// Everyone who can see it.
    #[default]
    Everyone,
    /// Admins only; members read.
    Admins,
}

impl WriteAccess {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteAccess::Everyone => "everyone",
            WriteAccess::Admins => "admins",
        }
    }
}

/// `POST /channels` (admins).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelRequest {
    /// 1–64 characters after trimming.
    pub name: String,
    /// Text or voice.
    pub kind: ChannelKind,
    /// Defaults to public.
    #[serde(default)]
    pub private: bool,
}

/// `PATCH /channels/{id}` (admins): fields left out stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannelRequest {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New privacy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// Who may post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<WriteAccess>,
    /// Place in the sidebar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// Slow mode, 0–21600 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowmode_secs: Option<u32>,
}

/// `PUT /channels/{id}/members/{user_id}` needs no body; this lists the members.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelMembers {
    /// Members of a private channel.
    pub members: Vec<User>,
}
