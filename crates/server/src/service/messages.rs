//! Text messages and typing: history, post, edit, delete, each checked against channel access.

use cromulent_proto::gateway::{MessageDelete, TypingStart};
use cromulent_proto::rest::{Author, ChannelKind, Message, WriteAccess};
use cromulent_proto::{ErrorCode, Id};

use super::{Chat, Error, Principal, Result, now_ms};
use crate::domain::event::Event;
use crate::domain::text::{Invalid, MessageContent, Nonce};
use crate::store::{ChannelRow, MessageRow, NewMessage, StoreError};

/// Page size when the client names none.
pub const DEFAULT_PAGE: i64 = 50;
/// Largest page a client may ask for.
pub const MAX_PAGE: i64 = 100;
/// How long a client's nonce identifies the message it sent.
pub const NONCE_TTL_MS: i64 = 10 * 60 * 1000;
/// How long a typing indicator lasts without renewal.
pub const TYPING_TTL_MS: i64 = 8_000;

/// A posted message, and whether this call posted it (false: a retry with the same nonce).
#[derive(Debug)]
pub struct Posted {
    /// The message.
    pub message: Message,
    /// Whether it is new.
    pub created: bool,
}

impl MessageRow {
    /// The wire form.
    pub fn to_wire(&self) -> Message {
        Message {
            id: Id(self.id),
            channel_id: Id(self.channel_id),
            author: Author {
                id: Id(self.author_id),
                username: self.author_username.clone(),
                display_name: self.author_display_name.clone(),
                avatar: self.author_avatar.clone(),
                deleted: self.author_deleted != 0,
            },
            content: self.content.clone(),
            created_at: self.created_at,
            edited_at: self.edited_at,
            // A nonce stays in the row until it is reused after it lapsed.
            nonce: self.nonce.clone().filter(|_| now_ms() - self.created_at < NONCE_TTL_MS),
            mentions: self.mentions.split(',').filter_map(|id| id.parse().ok()).map(Id).collect(),
            mention_everyone: self.mention_everyone != 0,
            // What this server stored reads back; anything else shows no preview.
            embeds: self.embeds.as_deref().and_then(|json| serde_json::from_str(json).ok()).unwrap_or_default(),
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

    /// Posts a message and announces it to everyone who may see the channel; with a `nonce`
    /// the caller already used within ten minutes, returns that message instead. Posting is
    /// rate-limited per user (`chat.messages_per_10s`).
    pub async fn post_message(
        &self,
        principal: &Principal,
        channel_id: Id,
        content: &str,
        nonce: Option<&str>,
    ) -> Result<Posted> {
        self.check_not_timed_out(principal.user_id)?;
        let content = MessageContent::parse(content)?;
        let nonce = nonce.map(Nonce::parse).transpose()?;
        // A retry of a send that already went through gets the message back and costs nothing.
        if let Some(nonce) = &nonce
            && let Some(sent) = self.sent_with(principal, nonce).await?
        {
            return Ok(Posted { message: sent, created: false });
        }
        self.messages.check_key(&principal.user_id).map_err(super::rate_limited)?;
        let _access = self.locks.read(channel_id.0).await;
        let channel = self.text_channel(principal, channel_id).await?;
        if !principal.admin && channel.write_access() == WriteAccess::Admins {
            return Err(Error::Restricted { code: ErrorCode::ReadOnly, message: "Only admins post in this channel.".to_owned() });
        }
        let (id, now) = (self.next_id(), now_ms());
        if !principal.admin && channel.slowmode_secs > 0 {
            self.take_slowmode_turn(channel.id, principal.user_id, channel.slowmode_secs, now)?;
        }
        let mentions = self.resolve_mentions(principal, &channel, content.as_str()).await?;
        let new = NewMessage {
            mentions: &mentions,
            id,
            channel_id: channel.id,
            author_id: principal.user_id,
            content: content.as_str(),
            created_at: now,
            nonce: nonce.as_ref().map(Nonce::as_str),
        };
        match self.store.insert_message(new, now - NONCE_TTL_MS).await {
            // The same nonce went through meanwhile, on a concurrent retry.
            Err(StoreError::Conflict) if let Some(nonce) = &nonce => {
                let sent = self.sent_with(principal, nonce).await?.ok_or(Error::NotFound("Message"))?;
                return Ok(Posted { message: sent, created: false });
            }
            inserted => inserted?,
        }
        let message = self.store.get_message(channel.id, id).await?.ok_or(Error::NotFound("Message"))?.to_wire();
        self.hub.publish(&self.audience_of(&channel).await?, &Event::MessageCreate(message.clone()));
        self.metrics.messages.increment(1);
        self.preview_soon(channel.id, id, content.as_str());
        Ok(Posted { message, created: true })
    }

    /// The message the caller sent with `nonce` within [`NONCE_TTL_MS`].
    async fn sent_with(&self, principal: &Principal, nonce: &Nonce) -> Result<Option<Message>> {
        let since = now_ms() - NONCE_TTL_MS;
        Ok(self.store.get_message_by_nonce(principal.user_id, nonce.as_str(), since).await?.map(|row| row.to_wire()))
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
        let mentions = self.resolve_mentions(principal, &channel, content.as_str()).await?;
        if !self.store.update_message(channel.id, message_id.0, content.as_str(), now_ms(), &mentions).await? {
            return Err(Error::NotFound("Message"));
        }
        let message = self.store.get_message(channel.id, message_id.0).await?.ok_or(Error::NotFound("Message"))?.to_wire();
        self.hub.publish(&self.audience_of(&channel).await?, &Event::MessageUpdate(message.clone()));
        self.preview_soon(channel.id, message_id.0, content.as_str());
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

    /// Slow mode: a member's next message in `channel_id` waits `secs` after their last one.
    fn take_slowmode_turn(&self, channel_id: i64, user_id: i64, secs: i64, now: i64) -> Result<()> {
        let mut last = self.slowmode.lock().unwrap_or_else(|p| p.into_inner());
        let due = last.get(&(channel_id, user_id)).map_or(i64::MIN, |at| at + secs * 1000);
        if now < due {
            return Err(Error::Slowmode { retry_after_secs: ((due - now + 999) / 1000) as u64 });
        }
        last.insert((channel_id, user_id), now);
        Ok(())
    }

    /// Tells the channel's audience the caller is typing; the indicator lapses after 8 s.
    pub async fn start_typing(&self, principal: &Principal, channel_id: Id) -> Result<()> {
        self.check_not_timed_out(principal.user_id)?;
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
