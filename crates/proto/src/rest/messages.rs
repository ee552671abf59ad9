//! Messages with their mentions and link previews, and how far each reader got: read state and
//! notification levels.

use serde::{Deserialize, Serialize};

use crate::Id;

/// The author of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Account id.
    pub id: Id,
    /// Username at the time of reading (`Deleted user` once the account is deleted).
    pub username: String,
    /// Display name at the time of reading, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Avatar version at the time of reading, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Present (and `true`) when the account was deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// A text message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Message id; ids grow with time, so they order history.
    pub id: Id,
    /// The channel it was posted in.
    pub channel_id: Id,
    /// Who wrote it.
    pub author: Author,
    /// Markdown source, 1–4000 characters.
    pub content: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last edit, if any.
    pub edited_at: Option<i64>,
    /// The nonce its sender gave it, for ten minutes after it was sent: a client that sent it
    /// knows its own message by this when the event arrives before the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// People it mentions by `@username` who can see the channel.
    #[serde(default)]
    pub mentions: Vec<Id>,
    /// Whether it mentions `@everyone` or `@here` (and its author may).
    #[serde(default)]
    pub mention_everyone: bool,
    /// Previews of the first link in it, once the server fetched them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<Embed>,
}

/// A link preview: what the linked page says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Embed {
    /// The link as written in the message.
    pub url: String,
    /// The page's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its picture, to load through `/embeds/image?url=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// How far a user read a channel, and what is new since (`ready.read_states`,
/// `GET /users/@me/read-states`, `read_state_update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadState {
    /// The channel.
    pub channel_id: Id,
    /// The newest message read, if any.
    pub last_read_id: Option<Id>,
    /// Messages by others since then (at most 1000).
    pub unread: u32,
    /// Of those, the ones that mention the user (at most 1000).
    pub mentions: u32,
}

/// `PUT /channels/{id}/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    /// The newest message read; a marker never moves back.
    pub message_id: Id,
}

/// When a channel notifies its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NotificationLevel {
    /// Every message.
    All,
    /// Messages that mention the user (the default).
    #[default]
    Mentions,
    /// Never.
    None,
}

/// A channel's notification level for the user (`PUT /channels/{id}/notifications`,
/// `ready.notification_levels`, `notification_level_update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelNotifications {
    /// The channel.
    pub channel_id: Id,
    /// Its level.
    pub level: NotificationLevel,
}

/// `PUT /channels/{id}/notifications`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetNotificationsRequest {
    /// The new level.
    pub level: NotificationLevel,
}

/// `POST /channels/{id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// 1–4000 characters after trimming.
    pub content: String,
    /// Up to 64 characters the client picks per message; sending the same nonce again within
    /// ten minutes returns the first message (`200`) instead of posting it twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// `PATCH /channels/{id}/messages/{message_id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageContentRequest {
    /// 1–4000 characters after trimming.
    pub content: String,
}
