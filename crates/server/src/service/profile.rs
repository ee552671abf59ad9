//! An account's own profile: what it shows others (username, display name), its email
//! address, its preferences, and deleting it. Changes others can see go out as `user_update`.

use cromulent_proto::ErrorCode;
use cromulent_proto::gateway::close;
use cromulent_proto::rest::{Me, Preferences, UpdateMeRequest, UpdatePreferencesRequest, User};

use super::auth::{Origin, SessionOrigin};
use super::{Chat, Error, Principal, Result};
use crate::domain::access::Audience;
use crate::domain::event::Event;
use crate::domain::text::{DisplayName, Email, Invalid, Username};
use crate::store::{ProfileChange, StoreError, UserRow};

impl UserRow {
    /// The owner's view of the account.
    pub fn to_me(&self) -> Me {
        Me { user: self.to_wire(), email: self.email.clone(), email_verified: self.email_verified() }
    }

    /// The preferences the user set, with defaults for the rest. A stored object this build
    /// cannot read (written by a newer one) counts as nothing set.
    pub fn preferences(&self) -> Preferences {
        let set: UpdatePreferencesRequest = serde_json::from_str(&self.preferences).unwrap_or_default();
        apply(Preferences::default(), &set)
    }
}

/// `base` with the preferences `set` gives.
fn apply(base: Preferences, set: &UpdatePreferencesRequest) -> Preferences {
    Preferences {
        voice_mode: set.voice_mode.unwrap_or(base.voice_mode),
        ptt_key: set.ptt_key.clone().unwrap_or(base.ptt_key),
        input_sensitivity: set.input_sensitivity.unwrap_or(base.input_sensitivity),
        notification_sound: set.notification_sound.unwrap_or(base.notification_sound),
        theme: set.theme.unwrap_or(base.theme),
    }
}

/// Refuses preferences out of range.
fn check_preferences(set: &UpdatePreferencesRequest) -> Result<()> {
    if let Some(key) = &set.ptt_key {
        // `KeyboardEvent.code` values are ASCII letters and digits ("KeyV", "F13", "Backquote").
        if key.is_empty() || key.len() > 32 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Invalid::new(ErrorCode::InvalidPreference, "ptt_key", "Not a key code such as \"KeyV\".").into());
        }
    }
    if set.input_sensitivity.is_some_and(|s| s > 100) {
        return Err(Invalid::new(ErrorCode::InvalidPreference, "input_sensitivity", "Sensitivity is 0 to 100.").into());
    }
    Ok(())
}

impl Chat {
    /// The caller's account, as they see it.
    pub async fn me(&self, principal: &Principal) -> Result<Me> {
        Ok(self.own_row(principal).await?.to_me())
    }

    /// The caller as others see them, and their preferences: what `ready` carries.
    pub async fn own_profile(&self, principal: &Principal) -> Result<(User, Preferences)> {
        let row = self.own_row(principal).await?;
        Ok((row.to_wire(), row.preferences()))
    }

    async fn own_row(&self, principal: &Principal) -> Result<UserRow> {
        self.store.get_user(principal.user_id).await?.filter(|row| !row.deleted()).ok_or(Error::Unauthenticated)
    }

    /// Changes the caller's username, email or display name. Everyone connected hears of a
    /// new username or display name; a new email address is unconfirmed, and when mail is
    /// on a confirmation link goes to it.
    pub async fn update_me(&self, principal: &Principal, request: &UpdateMeRequest, link_base: &str) -> Result<Me> {
        let username = request.username.as_deref().map(Username::parse).transpose()?;
        let email = match &request.email {
            Some(Some(raw)) if !raw.trim().is_empty() => Some(Some(Email::parse(raw)?)),
            Some(_) => Some(None),
            None => None,
        };
        if self.auth.require_email_verification && matches!(email, Some(None)) {
            return Err(
                Invalid::new(ErrorCode::InvalidEmail, "email", "This server needs an email address for every account.").into()
            );
        }
        let display_name = match &request.display_name {
            Some(Some(raw)) => Some(Some(DisplayName::parse(raw)?)),
            Some(None) => Some(None),
            None => None,
        };
        let before = self.own_row(principal).await?;
        // Sending the address the account already has changes nothing (and keeps it confirmed).
        let unchanged = match (&email, &before.email) {
            (Some(Some(new)), Some(old)) => new.key() == old.to_lowercase(),
            (Some(None), None) => true,
            _ => false,
        };
        let email = if unchanged { None } else { email };
        let username_key = username.as_ref().map(Username::key);
        let email_key = email.as_ref().map(|e| e.as_ref().map(Email::key));
        let change = ProfileChange {
            username: username.as_ref().map(Username::as_str).zip(username_key.as_deref()),
            email: email.as_ref().map(|e| e.as_ref().map(Email::as_str).zip(email_key.as_ref().and_then(Option::as_deref))),
            display_name: display_name.as_ref().map(|d| d.as_ref().map(DisplayName::as_str)),
        };
        match self.store.update_profile(principal.user_id, &change).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(self.profile_conflict(principal.user_id, username_key.as_deref()).await?),
            Err(other) => return Err(other.into()),
        }
        let after = self.own_row(principal).await?;
        if after.to_wire() != before.to_wire() {
            self.hub.publish(&Audience::Everyone, &Event::UserUpdate(after.to_wire()));
        }
        if let Some(Some(new_email)) = &email {
            self.send_verification(after.id, new_email.as_str(), link_base).await?;
        }
        Ok(after.to_me())
    }

    /// Which unique field an update collided on: the username if another account has it.
    async fn profile_conflict(&self, user_id: i64, username_key: Option<&str>) -> Result<Error> {
        let taken_by_other = match username_key {
            Some(key) => self.store.get_user_by_login(key).await?.is_some_and(|other| other.id != user_id),
            None => false,
        };
        if taken_by_other {
            return Ok(Error::Conflict { code: ErrorCode::UsernameTaken, field: "username", message: "That username is taken." });
        }
        Ok(Error::Conflict { code: ErrorCode::EmailTaken, field: "email", message: "That email address is already registered." })
    }

    /// Deletes the caller's account after checking its password (rate-limited like a login):
    /// its sessions end, it leaves voice and the relay, and its messages stay, by "Deleted
    /// user". The last enabled admin cannot delete themselves (`409 last_admin`).
    pub async fn delete_account(&self, principal: &Principal, origin: &SessionOrigin, password: &str) -> Result<()> {
        self.limits.check_ip(origin.ip)?;
        self.limits.check_account(&format!("#{}", principal.user_id), Origin::Address(origin.ip))?;
        let row = self.own_row(principal).await?;
        if !self.verify_password(password.to_owned(), row.password_hash.clone()).await? {
            return Err(Error::WrongPassword { field: "password" });
        }
        let ended = {
            let _one_at_a_time = self.admin_changes.lock().await;
            self.store.delete_account(principal.user_id).await?
        };
        let Some(ended) = ended else {
            return Err(Error::Refused {
                code: ErrorCode::LastAdmin,
                message: "You are the last admin; make someone else an admin before deleting your account.",
            });
        };
        self.remove_from_voice(principal.user_id, "account_deleted").await?;
        for session in ended {
            self.hub.end_login_session(session);
        }
        self.hub.end_user(principal.user_id, close::SESSION_ENDED);
        self.bar_from_relay(principal.user_id, true);
        self.timeouts.write().unwrap_or_else(|p| p.into_inner()).remove(&principal.user_id);
        if let Some(deleted) = self.store.get_user(principal.user_id).await? {
            self.hub.publish(&Audience::Everyone, &Event::UserUpdate(deleted.to_wire()));
        }
        tracing::info!(user = principal.user_id, "account deleted by its owner");
        Ok(())
    }

    /// The caller's preferences.
    pub async fn preferences(&self, principal: &Principal) -> Result<Preferences> {
        Ok(self.own_row(principal).await?.preferences())
    }

    /// Changes some of the caller's preferences; all their sessions hear the result.
    pub async fn update_preferences(&self, principal: &Principal, request: &UpdatePreferencesRequest) -> Result<Preferences> {
        check_preferences(request)?;
        let row = self.own_row(principal).await?;
        let mut set: UpdatePreferencesRequest = serde_json::from_str(&row.preferences).unwrap_or_default();
        let merged = UpdatePreferencesRequest {
            voice_mode: request.voice_mode.or(set.voice_mode),
            ptt_key: request.ptt_key.clone().or(set.ptt_key.take()),
            input_sensitivity: request.input_sensitivity.or(set.input_sensitivity),
            notification_sound: request.notification_sound.or(set.notification_sound),
            theme: request.theme.or(set.theme),
        };
        let json = serde_json::to_string(&merged).expect("preferences serialise");
        self.store.set_preferences(principal.user_id, &json).await?;
        let preferences = apply(Preferences::default(), &merged);
        self.hub.publish(&Audience::User(principal.user_id), &Event::PreferencesUpdate(preferences.clone()));
        Ok(preferences)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cromulent_proto::rest::{Theme, VoiceMode};

    #[test]
    fn preferences_not_set_take_their_defaults() {
        let set = UpdatePreferencesRequest { theme: Some(Theme::Light), ..Default::default() };
        let prefs = apply(Preferences::default(), &set);
        assert_eq!(prefs.theme, Theme::Light);
        assert_eq!(prefs.voice_mode, VoiceMode::Vad);
        assert_eq!(prefs.ptt_key, "KeyV");
    }

    #[test]
    fn key_codes_and_sensitivity_are_checked() {
        let bad_key = UpdatePreferencesRequest { ptt_key: Some("Key V".into()), ..Default::default() };
        assert!(check_preferences(&bad_key).is_err());
        let loud = UpdatePreferencesRequest { input_sensitivity: Some(101), ..Default::default() };
        assert!(check_preferences(&loud).is_err());
        let fine = UpdatePreferencesRequest { ptt_key: Some("F13".into()), input_sensitivity: Some(100), ..Default::default() };
        assert!(check_preferences(&fine).is_ok());
    }
}
