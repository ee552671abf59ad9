//! Invites: codes that let someone register while registration is `invite`. Admins create them
//! always, members when `members_can_invite` is on; each has optional use and time limits.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cromulent_proto::rest::{CreateInviteRequest, Invite};
use cromulent_proto::{ErrorCode, Id};

use super::{Chat, Error, Principal, Result, now_ms};
use crate::domain::text::Invalid;
use crate::store::InviteRow;

/// The most registrations one invite may allow.
const MAX_USES: u32 = 1000;
/// Shortest and longest lifetime of an invite, in seconds.
const LIFETIME_SECS: (u64, u64) = (60, 30 * 86_400);

/// The answer to a bad, used-up, expired or deleted code.
pub(super) fn invalid_invite() -> Error {
    Error::Restricted { code: ErrorCode::InvalidInvite, message: "That invite is not valid (any more).".to_owned() }
}

fn to_wire(row: InviteRow, base_url: &str) -> Invite {
    Invite {
        url: format!("{base_url}/invite/{}", row.code),
        code: row.code,
        uses: row.uses.clamp(0, i64::from(u32::MAX)) as u32,
        max_uses: row.max_uses.map(|m| m.clamp(0, i64::from(u32::MAX)) as u32),
        expires_at: row.expires_at,
        creator_id: Id(row.creator_id),
        created_at: row.created_at,
    }
}

impl Chat {
    /// Admins always; members only with `members_can_invite`.
    async fn may_invite(&self, principal: &Principal) -> Result<()> {
        if principal.admin || self.members_can_invite().await? {
            Ok(())
        } else {
            Err(Error::Forbidden("Only admins can create invites on this server."))
        }
    }

    /// Creates an invite; `base_url` (`https://host`) makes its link.
    pub async fn create_invite(&self, principal: &Principal, request: &CreateInviteRequest, base_url: &str) -> Result<Invite> {
        self.may_invite(principal).await?;
        if request.max_uses.is_some_and(|m| m == 0 || m > MAX_USES) {
            return Err(Invalid {
                code: ErrorCode::InvalidBody,
                field: "max_uses",
                message: "max_uses is between 1 and 1000.".into(),
            }
            .into());
        }
        if request.expires_in_secs.is_some_and(|s| !(LIFETIME_SECS.0..=LIFETIME_SECS.1).contains(&s)) {
            let message = "expires_in_secs is between 60 (a minute) and 2592000 (30 days).".into();
            return Err(Invalid { code: ErrorCode::InvalidBody, field: "expires_in_secs", message }.into());
        }
        let now = now_ms();
        let row = InviteRow {
            // 72 random bits: not guessable, short enough to read out.
            code: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 9]>()),
            creator_id: principal.user_id,
            created_at: now,
            expires_at: request.expires_in_secs.map(|s| now + s as i64 * 1000),
            max_uses: request.max_uses.map(i64::from),
            uses: 0,
        };
        self.store.insert_invite(&row).await?;
        self.audit(principal, "invite.create", None, None, Some(format!("code {}", row.code))).await?;
        Ok(to_wire(row, base_url))
    }

    /// Invites: every one for admins, their own for members who may invite.
    pub async fn list_invites(&self, principal: &Principal, base_url: &str) -> Result<Vec<Invite>> {
        self.may_invite(principal).await?;
        let rows = self.store.list_invites((!principal.admin).then_some(principal.user_id)).await?;
        Ok(rows.into_iter().map(|row| to_wire(row, base_url)).collect())
    }

    /// Deletes an invite: admins any, members their own.
    pub async fn delete_invite(&self, principal: &Principal, code: &str) -> Result<()> {
        let invite = self.store.get_invite(code).await?.ok_or(Error::NotFound("Invite"))?;
        if !principal.admin && invite.creator_id != principal.user_id {
            return Err(Error::NotFound("Invite"));
        }
        self.store.delete_invite(code).await?;
        self.audit(principal, "invite.delete", None, None, Some(format!("code {code}"))).await
    }
}
