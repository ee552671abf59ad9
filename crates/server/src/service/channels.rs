//! Channels: list what the caller may see, and the admin actions that create, change and delete
//! channels and manage private membership, each announced to exactly the users it concerns.

use std::sync::Arc;

use cromulent_proto::gateway::ChannelDelete;
use cromulent_proto::rest::{Channel, ChannelKind, CreateChannelRequest, UpdateChannelRequest, User, WriteAccess};
use cromulent_proto::{ErrorCode, Id};

use super::{Chat, Error, Principal, Result, now_ms};
use crate::domain::access::{Audience, can_see_channel};
use crate::domain::event::Event;
use crate::domain::text::{ChannelName, Invalid};
use crate::store::{ChannelChange, ChannelRow, NewChannel, StoreError, UserRow};

/// The longest slow mode: six hours, as Discord's.
const MAX_SLOWMODE_SECS: u32 = 21_600;

/// Settings key latched once the default channels exist.
const DEFAULT_CHANNELS: &str = "default_channels";

impl ChannelRow {
    /// The wire form.
    pub fn to_wire(&self) -> Channel {
        Channel {
            id: Id(self.id),
            name: self.name.clone(),
            kind: self.kind(),
            private: self.private(),
            write: self.write_access(),
            position: self.position,
            slowmode_secs: self.slowmode_secs.clamp(0, i64::from(u32::MAX)) as u32,
        }
    }

    /// Who may post.
    pub fn write_access(&self) -> WriteAccess {
        if self.write_access == "admins" { WriteAccess::Admins } else { WriteAccess::Everyone }
    }

    /// Text or voice.
    pub fn kind(&self) -> ChannelKind {
        if self.kind == "voice" { ChannelKind::Voice } else { ChannelKind::Text }
    }
}

fn name_taken() -> Error {
    Error::Conflict { code: ErrorCode::ChannelNameTaken, field: "name", message: "A channel of that kind already has that name." }
}

impl Chat {
    /// Creates `general` (text) and `Lounge` (voice) the first time the server starts.
    pub async fn create_default_channels(&self) -> Result<()> {
        if !self.store.claim_setting(DEFAULT_CHANNELS, "1").await? {
            return Ok(());
        }
        for (name, kind) in [("general", ChannelKind::Text), ("Lounge", ChannelKind::Voice)] {
            let name = ChannelName::parse(name)?;
            let channel = NewChannel {
                id: self.next_id(),
                name: name.as_str(),
                name_key: &name.key(),
                kind: kind.as_str(),
                first_member: None,
                created_at: now_ms(),
            };
            match self.store.insert_channel(&channel).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    /// Channels the caller may see, text first, by name.
    pub async fn list_channels(&self, principal: &Principal) -> Result<Vec<Channel>> {
        let rows = self.store.list_visible_channels(principal.user_id, principal.admin).await?;
        // With voice off, members do not see voice channels; admins do, to turn it back on.
        let voice = principal.admin || self.voice_enabled();
        Ok(rows.iter().filter(|c| voice || c.kind() != ChannelKind::Voice).map(ChannelRow::to_wire).collect())
    }

    /// The channel `id` if the caller may see it; `NotFound` otherwise, so that private channels
    /// are indistinguishable from missing ones.
    pub async fn visible_channel(&self, principal: &Principal, id: Id) -> Result<ChannelRow> {
        let channel = self.store.get_channel(id.0).await?.ok_or(Error::NotFound("Channel"))?;
        let member = channel.private() && !principal.admin && self.store.is_channel_member(channel.id, principal.user_id).await?;
        if can_see_channel(channel.private(), principal.admin, member) { Ok(channel) } else { Err(Error::NotFound("Channel")) }
    }

    /// Who is told about events in `channel`.
    pub(super) async fn audience_of(&self, channel: &ChannelRow) -> Result<Audience> {
        if channel.private() {
            Ok(Audience::of_channel(true, self.store.list_channel_member_ids(channel.id).await?))
        } else {
            Ok(Audience::Everyone)
        }
    }

    /// Creates a channel (admins). The creator of a private channel becomes its first member.
    pub async fn create_channel(&self, principal: &Principal, request: &CreateChannelRequest) -> Result<Channel> {
        principal.require_admin()?;
        let name = ChannelName::parse(&request.name)?;
        let id = self.next_id();
        let channel = NewChannel {
            id,
            name: name.as_str(),
            name_key: &name.key(),
            kind: request.kind.as_str(),
            first_member: request.private.then_some(principal.user_id),
            created_at: now_ms(),
        };
        match self.store.insert_channel(&channel).await {
            Err(StoreError::Conflict) => return Err(name_taken()),
            other => other?,
        }
        let channel = self.store.get_channel(id).await?.ok_or(Error::NotFound("Channel"))?;
        self.hub.publish(&self.audience_of(&channel).await?, &Event::ChannelCreate(channel.to_wire()));
        Ok(channel.to_wire())
    }

    /// Renames a channel or changes its privacy (admins). Users who lose sight of it get
    /// `channel_delete`; users who gain it get `channel_create`; the rest get `channel_update`.
    pub async fn update_channel(&self, principal: &Principal, id: Id, request: &UpdateChannelRequest) -> Result<Channel> {
        principal.require_admin()?;
        let _access = self.locks.write(id.0).await;
        let before = self.store.get_channel(id.0).await?.ok_or(Error::NotFound("Channel"))?;
        let name = match &request.name {
            Some(name) => ChannelName::parse(name)?,
            None => ChannelName::parse(&before.name)?,
        };
        let private = request.private.unwrap_or(before.private());
        if request.slowmode_secs.is_some_and(|s| s > MAX_SLOWMODE_SECS) {
            let message = "slowmode_secs is between 0 and 21600 (six hours).".to_owned();
            return Err(Invalid { code: ErrorCode::InvalidBody, field: "slowmode_secs", message }.into());
        }
        let key = name.key();
        let change = ChannelChange {
            name: name.as_str(),
            name_key: &key,
            private,
            write_access: request.write.unwrap_or(before.write_access()).as_str(),
            position: request.position.unwrap_or(before.position),
            slowmode_secs: request.slowmode_secs.map_or(before.slowmode_secs, i64::from),
        };
        match self.store.update_channel(id.0, &change).await {
            Err(StoreError::Conflict) => return Err(name_taken()),
            Ok(false) => return Err(Error::NotFound("Channel")),
            other => other?,
        };
        let after = self.store.get_channel(id.0).await?.ok_or(Error::NotFound("Channel"))?;
        let channel = after.to_wire();
        if after.private() && !before.private() {
            self.evict_from_voice(id.0, &Audience::Everyone).await?;
        }
        if before.private() == after.private() {
            self.hub.publish(&self.audience_of(&after).await?, &Event::ChannelUpdate(channel.clone()));
        } else {
            let members = Arc::new(self.store.list_channel_member_ids(id.0).await?.into_iter().collect());
            self.hub.publish(&Audience::Members(Arc::clone(&members)), &Event::ChannelUpdate(channel.clone()));
            let outsiders = Audience::NonMembers(members);
            if after.private() {
                self.hub.publish(&outsiders, &Event::ChannelDelete(ChannelDelete { id }));
            } else {
                self.hub.publish(&outsiders, &Event::ChannelCreate(channel.clone()));
            }
        }
        Ok(channel)
    }

    /// Deletes a channel and its messages (admins).
    pub async fn delete_channel(&self, principal: &Principal, id: Id) -> Result<()> {
        principal.require_admin()?;
        let _access = self.locks.write(id.0).await;
        let channel = self.store.get_channel(id.0).await?.ok_or(Error::NotFound("Channel"))?;
        let audience = self.audience_of(&channel).await?;
        if !self.store.delete_channel(id.0).await? {
            return Err(Error::NotFound("Channel"));
        }
        self.evict_from_voice(id.0, &audience).await?;
        self.hub.publish(&audience, &Event::ChannelDelete(ChannelDelete { id }));
        Ok(())
    }

    /// Members of a private channel, for anyone who may see it.
    pub async fn list_channel_members(&self, principal: &Principal, id: Id) -> Result<Vec<User>> {
        let channel = self.visible_channel(principal, id).await?;
        let rows = self.store.list_channel_members(channel.id).await?;
        Ok(rows.iter().map(UserRow::to_wire).collect())
    }

    /// Adds a user to a private channel (admins); the user is sent `channel_create`.
    pub async fn add_channel_member(&self, principal: &Principal, id: Id, user_id: Id) -> Result<()> {
        principal.require_admin()?;
        let _access = self.locks.write(id.0).await;
        let channel = self.private_channel(id).await?;
        let user = self.store.get_user(user_id.0).await?.ok_or(Error::NotFound("User"))?;
        if self.store.insert_channel_member(channel.id, user.id).await? && !user.admin() {
            self.hub.publish(&Audience::User(user.id), &Event::ChannelCreate(channel.to_wire()));
        }
        Ok(())
    }

    /// Removes a user from a private channel (admins); the user is sent `channel_delete`.
    pub async fn remove_channel_member(&self, principal: &Principal, id: Id, user_id: Id) -> Result<()> {
        principal.require_admin()?;
        let _access = self.locks.write(id.0).await;
        let channel = self.private_channel(id).await?;
        let user = self.store.get_user(user_id.0).await?.ok_or(Error::NotFound("User"))?;
        if !self.store.delete_channel_member(channel.id, user.id).await? {
            return Err(Error::NotFound("Member"));
        }
        let mut audience_before = self.store.list_channel_member_ids(channel.id).await?;
        audience_before.push(user.id);
        self.evict_from_voice(channel.id, &Audience::of_channel(true, audience_before)).await?;
        if !user.admin() {
            self.hub.publish(&Audience::User(user.id), &Event::ChannelDelete(ChannelDelete { id }));
        }
        Ok(())
    }

    async fn private_channel(&self, id: Id) -> Result<ChannelRow> {
        let channel = self.store.get_channel(id.0).await?.ok_or(Error::NotFound("Channel"))?;
        if !channel.private() {
            return Err(
                Invalid::new(ErrorCode::ChannelNotPrivate, "channel_id", "Only private channels have explicit members.").into()
            );
        }
        Ok(channel)
    }
}
