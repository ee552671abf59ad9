//! How far each reader got: read markers that follow a user across devices, unread and mention
//! counts computed for that one reader on demand, per-channel notification levels, and the inbox
//! of recent mentions.

use std::collections::HashMap;

use cromulent_proto::rest::{ChannelKind, ChannelNotifications, Message, NotificationLevel, ReadState};
use cromulent_proto::{ErrorCode, Id};

use super::{Chat, Error, Principal, Result};
use crate::domain::access::Audience;
use crate::domain::event::Event;
use crate::domain::text::Invalid;
use crate::store::MessageRow;

fn level_name(level: NotificationLevel) -> &'static str {
    match level {
        NotificationLevel::All => "all",
        NotificationLevel::Mentions => "mentions",
        NotificationLevel::None => "none",
    }
}

fn level_of(name: &str) -> NotificationLevel {
    match name {
        "all" => NotificationLevel::All,
        "none" => NotificationLevel::None,
        _ => NotificationLevel::Mentions,
    }
}

impl Chat {
    /// The caller's read state in `channel_id`; with no marker yet, everything before the
    /// account existed counts as read (ids begin with their creation time).
    async fn read_state(&self, principal: &Principal, channel_id: i64, marker: Option<i64>) -> Result<ReadState> {
        let (unread, mentions) =
            self.store.unread_counts(principal.user_id, channel_id, marker.unwrap_or(principal.user_id)).await?;
        Ok(ReadState {
            channel_id: Id(channel_id),
            last_read_id: marker.map(Id),
            unread: unread.clamp(0, i64::from(u32::MAX)) as u32,
            mentions: mentions.clamp(0, i64::from(u32::MAX)) as u32,
        })
    }

    /// The caller's read state in every text channel they can see.
    pub async fn read_states(&self, principal: &Principal) -> Result<Vec<ReadState>> {
        let channels = self.list_channels(principal).await?;
        self.read_states_in(principal, &channels).await
    }

    /// The same, for `channels` the caller can see (as `ready` lists them).
    pub async fn read_states_in(
        &self,
        principal: &Principal,
        channels: &[cromulent_proto::rest::Channel],
    ) -> Result<Vec<ReadState>> {
        let markers: HashMap<i64, i64> = self.store.read_markers(principal.user_id).await?.into_iter().collect();
        let mut states = Vec::new();
        for channel in channels.iter().filter(|c| c.kind == ChannelKind::Text) {
            states.push(self.read_state(principal, channel.id.0, markers.get(&channel.id.0).copied()).await?);
        }
        Ok(states)
    }

    /// Marks `channel_id` read up to `message_id` (never backwards); the caller's sessions get
    /// `read_state_update`, so reading on one device clears the channel on the others.
    pub async fn mark_read(&self, principal: &Principal, channel_id: Id, message_id: Id) -> Result<()> {
        let channel = self.visible_channel(principal, channel_id).await?;
        if channel.kind() != ChannelKind::Text {
            return Err(Error::WrongChannelKind { needed: "text", actual: "voice" });
        }
        let marker = self.store.mark_read(principal.user_id, channel.id, message_id.0).await?;
        let state = self.read_state(principal, channel.id, marker).await?;
        self.hub.publish(&Audience::User(principal.user_id), &Event::ReadStateUpdate(state));
        Ok(())
    }

    /// Sets the caller's notification level for `channel_id`; their sessions hear of it.
    pub async fn set_notification_level(
        &self,
        principal: &Principal,
        channel_id: Id,
        level: NotificationLevel,
    ) -> Result<ChannelNotifications> {
        let channel = self.visible_channel(principal, channel_id).await?;
        let stored = (level != NotificationLevel::default()).then_some(level_name(level));
        self.store.set_notification_level(principal.user_id, channel.id, stored).await?;
        let setting = ChannelNotifications { channel_id, level };
        self.hub.publish(&Audience::User(principal.user_id), &Event::NotificationLevelUpdate(setting.clone()));
        Ok(setting)
    }

    /// The levels the caller set for `channels` they can see.
    pub async fn notification_levels_in(
        &self,
        principal: &Principal,
        channels: &[cromulent_proto::rest::Channel],
    ) -> Result<Vec<ChannelNotifications>> {
        let visible: std::collections::HashSet<i64> = channels.iter().map(|c| c.id.0).collect();
        Ok(self
            .store
            .notification_levels(principal.user_id)
            .await?
            .into_iter()
            .filter(|(channel, _)| visible.contains(channel))
            .map(|(channel, level)| ChannelNotifications { channel_id: Id(channel), level: level_of(&level) })
            .collect())
    }

    /// Up to `limit` (1–100, default 25) recent messages that mention the caller, older than
    /// `before`, newest first, from channels they can still see.
    pub async fn mention_inbox(&self, principal: &Principal, before: Option<Id>, limit: Option<i64>) -> Result<Vec<Message>> {
        let limit = limit.unwrap_or(25);
        if !(1..=100).contains(&limit) {
            return Err(Invalid::new(ErrorCode::InvalidLimit, "limit", "limit is between 1 and 100.").into());
        }
        let channels: Vec<i64> =
            self.list_channels(principal).await?.iter().filter(|c| c.kind == ChannelKind::Text).map(|c| c.id.0).collect();
        let rows = self.store.mentions_of(principal.user_id, &channels, before.map_or(i64::MAX, |id| id.0), limit).await?;
        Ok(rows.iter().map(MessageRow::to_wire).collect())
    }
}
