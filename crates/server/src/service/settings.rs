//! Server settings that admins change at run time, and the user directory.

use cromulent_proto::rest::{Registration, Settings, UpdateSettingsRequest, User};

use cromulent_proto::ErrorCode;

use super::{Chat, Error, Principal, Result};
use crate::store::UserRow;

/// Who may register: `open`, `invite` or `closed`.
const REGISTRATION: &str = "registration";
/// The older boolean form, still read when `registration` was never set.
const REGISTRATION_OPEN: &str = "registration_open";
/// `true` when members may create invites.
const MEMBERS_CAN_INVITE: &str = "members_can_invite";
/// Run-time voice switches, stored under their configuration key.
const VOICE_ENABLED: &str = "voice.enabled";
const FORCE_RELAY: &str = "voice.force_relay";

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
            voice_enabled: self.voice_enabled(),
            force_relay: self.force_relay(),
            locked: (*self.locked).clone(),
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
        for (key, value) in [(VOICE_ENABLED, request.voice_enabled), (FORCE_RELAY, request.force_relay)] {
            let Some(on) = value else { continue };
            if self.locked.contains_key(key) {
                return Err(Error::Refused {
                    code: ErrorCode::SettingLocked,
                    message: "The server's configuration sets this; change it there and restart.",
                });
            }
            self.store.put_setting(key, if on { "true" } else { "false" }).await?;
            if key == VOICE_ENABLED {
                self.set_voice_enabled(on).await?;
            } else {
                self.set_force_relay(on);
            }
            changed.push(format!("{key}={on}"));
        }
        if !changed.is_empty() {
            self.audit(principal, "settings.update", None, None, Some(changed.join(", "))).await?;
        }
        self.settings(principal).await
    }

    /// Applies the run-time voice switches stored in the database, except those the
    /// configuration sets.
    pub async fn load_runtime_settings(&self) -> Result<()> {
        for key in [VOICE_ENABLED, FORCE_RELAY] {
            if self.locked.contains_key(key) {
                continue;
            }
            let Some(value) = self.store.get_setting(key).await? else { continue };
            let on = value == "true";
            if key == VOICE_ENABLED {
                self.set_voice_enabled(on).await?;
            } else {
                self.set_force_relay(on);
            }
        }
        Ok(())
    }

    /// Every account, for member lists.
    pub async fn list_users(&self, _principal: &Principal) -> Result<Vec<User>> {
        let rows = self.store.list_users().await?;
        Ok(rows.iter().map(UserRow::to_wire).collect())
    }
}
