//! An account looking after itself: changing its password (which ends its other sessions),
//! and seeing and ending the sessions it is logged in with.

use cromulent_proto::Id;
use cromulent_proto::rest::SessionInfo;

use super::auth::{Origin, SessionOrigin};
use super::{Chat, Error, Principal, Result, now_ms};
use crate::domain::text::{Invalid, Password};

impl Chat {
    /// Sets a new password after checking the current one, rate-limited like login; every
    /// other session of the account ends (their gateway connections close with 4011), this one
    /// stays.
    pub async fn change_password(&self, principal: &Principal, origin: &SessionOrigin, current: &str, new: &str) -> Result<()> {
        self.limits.check_ip(origin.ip)?;
        self.limits.check_account(&format!("#{}", principal.user_id), Origin::Address(origin.ip))?;
        let new = Password::parse(new).map_err(|invalid| Invalid { field: "new_password", ..invalid })?;
        let user = self.store.get_user(principal.user_id).await?.ok_or(Error::Unauthenticated)?;
        if !self.verify_password(current.to_owned(), user.password_hash.clone()).await? {
            return Err(Error::WrongPassword { field: "current_password" });
        }
        let hash = self.hash_password(new).await?;
        let ended = self.store.change_password_hash(principal.user_id, &hash, principal.login_session_id).await?;
        for session in ended {
            self.hub.end_login_session(session);
        }
        Ok(())
    }

    /// Where the caller is logged in, most recently used first.
    pub async fn sessions(&self, principal: &Principal) -> Result<Vec<SessionInfo>> {
        let rows = self.store.list_sessions(principal.user_id, now_ms()).await?;
        Ok(rows
            .into_iter()
            .map(|row| SessionInfo {
                id: Id(row.id),
                current: row.id == principal.login_session_id,
                created_at: row.created_at,
                last_used_at: row.last_used_at,
                ip: row.ip,
                user_agent: row.user_agent,
            })
            .collect())
    }

    /// Ends one of the caller's sessions (its gateway connections close at once).
    pub async fn end_session(&self, principal: &Principal, id: Id) -> Result<()> {
        if !self.store.delete_session_of(principal.user_id, id.0).await? {
            return Err(Error::NotFound("Session"));
        }
        self.hub.end_login_session(id.0);
        Ok(())
    }

    /// Ends every session of the caller but the one making the request.
    pub async fn end_other_sessions(&self, principal: &Principal) -> Result<()> {
        for session in self.store.delete_sessions_except(principal.user_id, principal.login_session_id).await? {
            self.hub.end_login_session(session);
        }
        Ok(())
    }
}
