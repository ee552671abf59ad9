//! Server settings that admins change at run time, and the user directory.

use cromulent_proto::rest::{Registration, Settings, UpdateSettingsRequest, User};

use super::{Chat, Principal, Result};
use crate::store::UserRow;

/// Who may register: `open`, `invite` or `closed`.
const REGISTRATION: &str = "registration";
/// The older boolean form, still read when `registration` was never set.
const REGISTRATION_OPEN: &str = "registration_open";
/// `true` when members may create invites.
const MEMBERS_CAN_INVITE: &str = "members_can_invite";

impl Chat {
    /// Who may register (open unless an admin changed it).
    pub async fn registration(&self) -> Result<Registration> {
        let mode = match self.store.get_setting(REGISTRATION).await?.as_deref() {
            Some("invite") => Registration::Invite,
            Some("closed") => Registration::Closed,
            Some(_) => Registration::Open,
            None => match self.store.get_setting(REGISTRATION_OPEN).await?.as_deref() {
                Some("false") => Registration::Closed,
                _ => Registration::Open,
            },
        };
        Ok(mode)
    }

    /// Whether members may create invites.
    pub async fn members_can_invite(&self) -> Result<bool> {
        Ok(self.store.get_setting(MEMBERS_CAN_INVITE).await?.as_deref() == Some("true"))
    }

    /// Current settings (admins).
    pub async fn settings(&self, principal: &Principal) -> Result<Settings> {
        principal.require_admin()?;
        let registration = self.registration().await?;
        Ok(Settings {
            registration,
            registration_open: registration == Registration::Open,
            members_can_invite: self.members_can_invite().await?,
        })
    }

    /// Changes settings (admins); effective for the next request, and logged in the audit log
    /// by key.
    pub async fn update_settings(&self, principal: &Principal, request: &UpdateSettingsRequest) -> Result<Settings> {
        principal.require_admin()?;
        let registration = request.registration.or(request.registration_open.map(|open| match open {
            true => Registration::Open,
            false => Registration::Closed,
        }));
        let mut changed = Vec::new();
        if let Some(registration) = registration {
            let value = match registration {
                Registration::Open => "open",
                Registration::Invite => "invite",
                Registration::Closed => "closed",
            };
            self.store.put_setting(REGISTRATION, value).await?;
            changed.push(format!("registration={value}"));
        }
        if let Some(members) = request.members_can_invite {
            self.store.put_setting(MEMBERS_CAN_INVITE, if members { "true" } else { "false" }).await?;
            changed.push(format!("members_can_invite={members}"));
        }
        if !changed.is_empty() {
            self.audit(principal, "settings.update", None, None, Some(changed.join(", "))).await?;
        }
        self.settings(principal).await
    }

    /// Every account, for member lists.
    pub async fn list_users(&self, _principal: &Principal) -> Result<Vec<User>> {
        let rows = self.store.list_users().await?;
        Ok(rows.iter().map(UserRow::to_wire).collect())
    }
}
