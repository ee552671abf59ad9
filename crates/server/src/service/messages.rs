//! Text messages and typing: history, post, edit, delete, each checked against channel access.

use cromulent_proto::gateway::{MessageDelete, TypingStart};
use cromulent_proto::rest::{Author, ChannelKind, Message};
use cromulent_proto::{ErrorCode, Id};

use super::{Chat, Error, Principal, Result, now_ms};
use crate::domain::event::Event;
use crate::domain::text::{Invalid, MessageContent};
use crate::store::{ChannelRow, MessageRow};

/// Page size when the client names none.
pub const DEFAULT_PAGE: i64 = 50;
/// Largest page a client may ask for.
pub const MAX_PAGE: i64 = 100;
/// How long a typing indicator lasts without renewal.
pub const TYPING_TTL_MS: i64 = 8_000;

impl MessageRow {
    /// The wire form.
    pub fn to_wire(&self) -> Message {
        Message {
            id: Id(self.id),
            channel_id: Id(self.channel_id),
            author: Author { id: Id(self.author_id), username: self.author_username.clone() },
            content: self.content.clone(),
            created_at: self.created_at,
            edited_at: self.edited_at,
        }
    }
}

impl Chat {
    /// A text channel the caller may see.
    async fn text_channel(&self, principal: &Principal, id: Id) -> Result<ChannelRow> {
        let channel = self.visible_channel(principal, id).await?;
        match channel.kind() {
            ChannelKind::Text => Ok(channel),
            ChannelKind::Voice => Err(Error::WrongChannelKind { needed: "text", actual: "voice" }),
        }
    }

    /// Up to `limit` messages older than `before` (newest first).
    pub async fn history(
        &self,
        principal: &Principal,
        channel_id: Id,
        before: Option<Id>,
        limit: Option<i64>,
    ) -> Result<Vec<Message>> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Invalid::new(ErrorCode::InvalidLimit, "limit", "limit is between 1 and 100.").into());
        }
        let channel = self.text_channel(principal, channel_id).await?;
        let before = before.map_or(i64::MAX, |id| id.0);
        let rows = self.store.list_messages_before(channel.id, before, limit).await?;
        Ok(rows.iter().map(MessageRow::to_wire).collect())
    }

    /// Posts a message and announces it to everyone who may see the channel.
    pub async fn post_message(&self, principal: &Principal, channel_id: Id, content: &str) -> Result<Message> {
        let content = MessageContent::parse(content)?;
        let _access = self.locks.read(channel_id.0).await;
        let channel = self.text_channel(principal, channel_id).await?;
        let id = self.next_id();
        self.store.insert_message(id, channel.id, principal.user_id, content.as_str(), now_ms()).await?;
        let message = self.store.get_message(channel.id, id).await?.ok_or(Error::NotFound("Message"))?.to_wire();
        self.hub.publish(&self.audience_of(&channel).await?, &Event::MessageCreate(message.clone()));
        Ok(message)
    }

    /// Edits the caller's own message.
    pub async fn edit_message(&self, principal: &Principal, channel_id: Id, message_id: Id, content: &str) -> Result<Message> {
        let content = MessageContent::parse(content)?;
        let _access = self.locks.read(channel_id.0).await;
        let channel = self.text_channel(principal, channel_id).await?;
        let existing = self.store.get_message(channel.id, message_id.0).await?.ok_or(Error::NotFound("Message"))?;
        if existing.author_id != principal.user_id {
            return Err(Error::Forbidden("You can only edit your own messages."));
        }
        if !self.store.update_message(channel.id, message_id.0, content.as_str(), now_ms()).await? {
            return Err(Error::NotFound("Message"));
        }
        let message = self.store.get_message(channel.id, message_id.0).await?.ok_or(Error::NotFound("Message"))?.to_wire();
        self.hub.publish(&self.audience_of(&channel).await?, &Event::MessageUpdate(message.clone()));
        Ok(message)
    }

    /// Deletes a message: authors delete their own, admins any.
    pub async fn delete_message(&self, principal: &Principal, channel_id: Id, message_id: Id) -> Result<()> {
        let _access = self.locks.read(channel_id.0).await;
        let channel = self.text_channel(principal, channel_id).await?;
        let existing = self.store.get_message(channel.id, message_id.0).await?.ok_or(Error::NotFound("Message"))?;
        if existing.author_id != principal.user_id && !principal.admin {
            return Err(Error::Forbidden("You can only delete your own messages."));
        }
        if !self.store.delete_message(channel.id, message_id.0).await? {
            return Err(Error::NotFound("Message"));
        }
        let event = Event::MessageDelete(MessageDelete { id: message_id, channel_id });
        self.hub.publish(&self.audience_of(&channel).await?, &event);
        Ok(())
    }

    /// Tells the channel's audience the caller is typing; the indicator lapses after 8 s.
    pub async fn start_typing(&self, principal: &Principal, channel_id: Id) -> Result<()> {
        let _access = self.locks.read(channel_id.0).await;
        let channel = self.text_channel(principal, channel_id).await?;
        let event = Event::TypingStart(TypingStart {
            channel_id,
            user_id: Id(principal.user_id),
            username: principal.username.clone(),
            expires_at: now_ms() + TYPING_TTL_MS,
        });
        self.hub.publish(&self.audience_of(&channel).await?, &event);
        Ok(())
    }
}
