//! Admin use cases on people: list and create accounts, promote and demote, disable (ban) with
//! its effects — sessions and gateway connections end, voice and relay allocations end, recent
//! messages optionally deleted — time out, set a password, take someone out of voice; every
//! change lands in the audit log. No change may leave the server without an enabled admin.

use cromulent_proto::admin::{AdminUser, AuditEntry, CreateUserRequest, TimeoutRequest, UpdateUserRequest};
use cromulent_proto::gateway::{MessageDelete, TimeoutUpdate, close};
use cromulent_proto::{ErrorCode, Id};

use super::{Chat, Error, Principal, Result, now_ms};
use crate::domain::access::Audience;
use crate::domain::event::Event;
use crate::domain::text::{Email, Invalid, Password, Username};
use crate::store::{AuditRow, UserRow};

/// The longest timeout: 28 days, as Discord's.
const MAX_TIMEOUT_MS: i64 = 28 * 86_400_000;
/// The most hours of messages a ban may delete: a week.
const MAX_DELETE_HOURS: u32 = 168;
/// The longest reason kept in the audit log.
const MAX_REASON_CHARS: usize = 512;
/// Audit entries per page, by default and at most.
const AUDIT_PAGE: (u32, u32) = (50, 200);

impl UserRow {
    /// The form admins see.
    pub fn to_admin(&self) -> AdminUser {
        AdminUser {
            id: Id(self.id),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            avatar: self.avatar.clone(),
            admin: self.admin(),
            disabled: self.disabled(),
            timeout_until: self.timeout_until.filter(|&until| until > now_ms()),
            created_at: self.created_at,
        }
    }
}

fn invalid(code: ErrorCode, field: &'static str, message: &'static str) -> Error {
    Error::Invalid(Invalid { code, field, message: message.to_owned() })
}

/// A reason as the audit log keeps it: trimmed, empty as none, refused when too long.
fn reason(text: Option<&str>) -> Result<Option<String>> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > MAX_REASON_CHARS || t.chars().any(char::is_control)) {
        return Err(invalid(ErrorCode::InvalidBody, "reason", "A reason is at most 512 characters, without control characters."));
    }
    Ok(text.map(str::to_owned))
}

impl Chat {
    /// Loads the timeouts in force, so posting, typing and joining voice can check them
    /// without a query.
    pub async fn load_timeouts(&self) -> Result<()> {
        let active = self.store.active_timeouts(now_ms()).await?;
        *self.timeouts.write().unwrap_or_else(|p| p.into_inner()) = active.into_iter().collect();
        Ok(())
    }

    /// When the timeout of `user_id` ends, while one runs.
    pub fn timeout_until(&self, user_id: i64) -> Option<i64> {
        let until = self.timeouts.read().unwrap_or_else(|p| p.into_inner()).get(&user_id).copied();
        until.filter(|&until| until > now_ms())
    }

    /// `403 timed_out` while an admin's timeout of `user_id` runs.
    pub(super) fn check_not_timed_out(&self, user_id: i64) -> Result<()> {
        let until = self.timeouts.read().unwrap_or_else(|p| p.into_inner()).get(&user_id).copied();
        match until {
            Some(until) if until > now_ms() => Err(Error::Restricted {
                code: ErrorCode::TimedOut,
                message: format!("An admin timed you out; you can read but not post, type or speak until {until} (unix ms)."),
            }),
            _ => Ok(()),
        }
    }

    /// Every account, as admins see them.
    pub async fn admin_users(&self, principal: &Principal) -> Result<Vec<AdminUser>> {
        principal.require_admin()?;
        Ok(self.store.list_users().await?.iter().map(UserRow::to_admin).collect())
    }

    /// Creates an account (also while registration is closed).
    pub async fn admin_create_user(&self, principal: &Principal, request: &CreateUserRequest) -> Result<AdminUser> {
        principal.require_admin()?;
        let username = Username::parse(&request.username)?;
        let password = Password::parse(&request.password)?;
        let email = request.email.as_deref().filter(|e| !e.trim().is_empty()).map(Email::parse).transpose()?;
        let user = self.create_user(&username, &password, email.as_ref(), request.admin, true).await?;
        let detail = format!("username {}{}", user.username, if user.admin() { ", admin" } else { "" });
        self.audit(principal, "user.create", Some(user.id), None, Some(detail)).await?;
        Ok(user.to_admin())
    }

    /// Promotes, demotes, disables or enables an account. Disabling ends all its sessions and
    /// gateway connections (close 4013), takes it out of voice, ends its relay allocations and,
    /// with `delete_messages_hours`, deletes its recent messages.
    pub async fn admin_update_user(&self, principal: &Principal, id: Id, request: &UpdateUserRequest) -> Result<AdminUser> {
        principal.require_admin()?;
        let why = reason(request.reason.as_deref())?;
        let hours = request.delete_messages_hours.unwrap_or(0);
        if hours > MAX_DELETE_HOURS {
            return Err(invalid(ErrorCode::InvalidBody, "delete_messages_hours", "At most 168 hours (a week) of messages."));
        }
        if hours > 0 && request.disabled != Some(true) {
            return Err(invalid(ErrorCode::InvalidBody, "delete_messages_hours", "Messages are deleted only with a ban."));
        }
        let before = self.store.get_user(id.0).await?.ok_or(Error::NotFound("User"))?;
        let updated = {
            let _one_at_a_time = self.admin_changes.lock().await;
            match self.store.update_user_flags(id.0, request.admin, request.disabled).await? {
                None => {
                    return Err(Error::Refused {
                        code: ErrorCode::LastAdmin,
                        message: "The server must keep at least one enabled admin.",
                    });
                }
                Some(None) => return Err(Error::NotFound("User")),
                Some(Some(user)) => user,
            }
        };
        if updated.admin() != before.admin() {
            // Gateway sessions carry the rights they were opened with (which channels they
            // see, which events reach them): end them so the clients identify afresh.
            self.hub.end_user(id.0, close::ROLE_CHANGED);
            let action = if updated.admin() { "user.promote" } else { "user.demote" };
            self.audit(principal, action, Some(id.0), why.clone(), None).await?;
        }
        match (before.disabled(), updated.disabled()) {
            (false, true) => {
                self.end_account(id.0).await?;
                let deleted = if hours > 0 { self.delete_recent_messages(id.0, hours).await? } else { 0 };
                let detail = (hours > 0).then(|| format!("deleted {deleted} messages of the last {hours} h"));
                self.audit(principal, "user.disable", Some(id.0), why, detail).await?;
            }
            (true, false) => {
                self.bar_from_relay(id.0, false);
                self.audit(principal, "user.enable", Some(id.0), why, None).await?;
            }
            _ => {}
        }
        Ok(updated.to_admin())
    }

    /// Times an account out until `request.until`: it may read but not post, type or speak;
    /// if it is in voice, it is taken out.
    pub async fn admin_timeout(&self, principal: &Principal, id: Id, request: &TimeoutRequest) -> Result<AdminUser> {
        principal.require_admin()?;
        let why = reason(request.reason.as_deref())?;
        let now = now_ms();
        if request.until <= now || request.until > now + MAX_TIMEOUT_MS {
            return Err(invalid(ErrorCode::InvalidBody, "until", "A timeout ends in the future, at most 28 days from now."));
        }
        if !self.store.set_timeout(id.0, Some(request.until)).await? {
            return Err(Error::NotFound("User"));
        }
        self.timeouts.write().unwrap_or_else(|p| p.into_inner()).insert(id.0, request.until);
        self.hub.publish(&Audience::User(id.0), &Event::TimeoutUpdate(TimeoutUpdate { until: Some(request.until) }));
        self.remove_from_voice(id.0, "timed_out").await?;
        self.audit(principal, "user.timeout", Some(id.0), why, Some(format!("until {}", request.until))).await?;
        self.store.get_user(id.0).await?.map(|u| u.to_admin()).ok_or(Error::NotFound("User"))
    }

    /// Ends an account's timeout early.
    pub async fn admin_clear_timeout(&self, principal: &Principal, id: Id) -> Result<AdminUser> {
        principal.require_admin()?;
        if !self.store.set_timeout(id.0, None).await? {
            return Err(Error::NotFound("User"));
        }
        self.timeouts.write().unwrap_or_else(|p| p.into_inner()).remove(&id.0);
        self.hub.publish(&Audience::User(id.0), &Event::TimeoutUpdate(TimeoutUpdate { until: None }));
        self.audit(principal, "user.timeout_clear", Some(id.0), None, None).await?;
        self.store.get_user(id.0).await?.map(|u| u.to_admin()).ok_or(Error::NotFound("User"))
    }

    /// Sets an account's password and ends its sessions (close 4011), so whoever had them
    /// must log in with the new one.
    pub async fn admin_set_password(&self, principal: &Principal, id: Id, password: &str) -> Result<()> {
        principal.require_admin()?;
        let password = Password::parse(password)?;
        let hash = self.hash_password(password).await?;
        let ended = self.store.set_password_hash(id.0, &hash).await?.ok_or(Error::NotFound("User"))?;
        for login_session in ended {
            self.hub.end_login_session(login_session);
        }
        self.audit(principal, "user.password", Some(id.0), None, None).await
    }

    /// Takes an account out of voice; its client hears it was a moderator.
    pub async fn admin_voice_disconnect(&self, principal: &Principal, id: Id) -> Result<()> {
        principal.require_admin()?;
        self.store.get_user(id.0).await?.ok_or(Error::NotFound("User"))?;
        if !self.remove_from_voice(id.0, "moderator").await? {
            return Err(Error::Refused { code: ErrorCode::NotInVoice, message: "That user is not in voice." });
        }
        self.audit(principal, "voice.disconnect", Some(id.0), None, None).await
    }

    /// Server-mutes or unmutes an account in voice.
    pub async fn admin_voice_mute(&self, principal: &Principal, id: Id, muted: bool) -> Result<()> {
        principal.require_admin()?;
        self.store.get_user(id.0).await?.ok_or(Error::NotFound("User"))?;
        self.set_server_muted(id.0, muted).await?;
        self.audit(principal, if muted { "voice.mute" } else { "voice.unmute" }, Some(id.0), None, None).await
    }

    /// Audit entries older than `before`, newest first.
    pub async fn audit_log(&self, principal: &Principal, before: Option<Id>, limit: Option<u32>) -> Result<Vec<AuditEntry>> {
        principal.require_admin()?;
        let limit = limit.unwrap_or(AUDIT_PAGE.0);
        if limit == 0 || limit > AUDIT_PAGE.1 {
            return Err(invalid(ErrorCode::InvalidLimit, "limit", "limit is between 1 and 200."));
        }
        let rows = self.store.list_audit(before.map(|b| b.0), i64::from(limit)).await?;
        Ok(rows
            .into_iter()
            .map(|row| AuditEntry {
                id: Id(row.id),
                at: row.at,
                actor_id: Id(row.actor_id),
                action: row.action,
                target: row.target,
                reason: row.reason,
                detail: row.detail,
            })
            .collect())
    }

    /// Everything a disabled account loses at once.
    async fn end_account(&self, user_id: i64) -> Result<()> {
        // Sessions first: nothing the account still holds can start anything new.
        self.store.delete_user_sessions(user_id).await?;
        self.remove_from_voice(user_id, "moderator").await?;
        self.hub.end_user(user_id, close::ACCOUNT_DISABLED);
        self.bar_from_relay(user_id, true);
        Ok(())
    }

    /// Deletes an account's messages of the last `hours`, announcing each deletion.
    async fn delete_recent_messages(&self, user_id: i64, hours: u32) -> Result<usize> {
        let since = now_ms() - i64::from(hours) * 3_600_000;
        let deleted = self.store.delete_messages_since(user_id, since).await?;
        for (message_id, channel_id) in &deleted {
            if let Some(channel) = self.store.get_channel(*channel_id).await? {
                let event = Event::MessageDelete(MessageDelete { id: Id(*message_id), channel_id: Id(*channel_id) });
                self.hub.publish(&self.audience_of(&channel).await?, &event);
            }
        }
        Ok(deleted.len())
    }

    /// Records an admin action.
    pub(super) async fn audit(
        &self,
        principal: &Principal,
        action: &str,
        target: Option<i64>,
        reason: Option<String>,
        detail: Option<String>,
    ) -> Result<()> {
        let entry = AuditRow {
            id: self.next_id(),
            at: now_ms(),
            actor_id: principal.user_id,
            action: action.to_owned(),
            target: target.map(|t| t.to_string()),
            reason,
            detail,
        };
        self.store.insert_audit(&entry).await?;
        tracing::info!(admin = principal.user_id, action, target, "admin action");
        Ok(())
    }
}
