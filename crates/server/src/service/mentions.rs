//! Who a message mentions: `@username` of people who can see the channel, and `@everyone` /
//! `@here` when its author may call them (admins, or members with
//! `members_can_mention_everyone`); otherwise they are plain text. Resolved once, when the
//! message is posted or edited, with a lookup only when the text names someone.

use std::collections::HashSet;

use super::{Chat, Principal, Result};
use crate::domain::mention;
use crate::store::{ChannelRow, MessageMentions};

impl Chat {
    /// Whom `content`, posted by `principal` in `channel`, mentions.
    pub(super) async fn resolve_mentions(
        &self,
        principal: &Principal,
        channel: &ChannelRow,
        content: &str,
    ) -> Result<MessageMentions> {
        let found = mention::scan(content);
        if found.names.is_empty() && !found.everyone && !found.here {
            return Ok(MessageMentions::default());
        }
        // Who can see a private channel: its members and the admins.
        let insiders: Option<HashSet<i64>> = if channel.private() {
            let mut ids: HashSet<i64> = self.store.list_channel_member_ids(channel.id).await?.into_iter().collect();
            ids.extend(self.store.admin_ids().await?);
            Some(ids)
        } else {
            None
        };
        let sees = |id: i64| insiders.as_ref().is_none_or(|ids| ids.contains(&id));
        let named: Vec<i64> =
            self.store.users_by_keys(&found.names).await?.into_iter().map(|(id, _)| id).filter(|id| sees(*id)).collect();
        let may_call_all = (found.everyone || found.here) && (principal.admin || self.members_can_mention_everyone().await?);
        let everyone = match (may_call_all, found.everyone) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => 2,
        };
        let mut recipients: Vec<i64> = named.clone();
        if everyone == 2 {
            // `@here` calls those online now; they are recorded, since "online" will not last.
            let online = self.hub.online_user_ids().into_iter().map(|id| id.0);
            recipients.extend(online.filter(|id| *id != principal.user_id && sees(*id)));
        }
        recipients.sort_unstable();
        recipients.dedup();
        let named = named.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        Ok(MessageMentions { named, everyone, recipients })
    }
}
