//! Server settings that admins change at run time, and the user directory.

use std::collections::BTreeMap;

use cromulent_proto::admin::IceSettings;
use cromulent_proto::rest::{IceView, Registration, Settings, UpdateSettingsRequest, User};

use crate::voice::IceProvider;

use cromulent_proto::ErrorCode;

use super::{Chat, Error, Principal, Result};
use crate::store::{Store, UserRow};

/// Who may register: `open`, `invite` or `closed`.
const REGISTRATION: &str = "registration";
/// The older boolean form, still read when `registration` was never set.
const REGISTRATION_OPEN: &str = "registration_open";
/// `true` when members may create invites.
const MEMBERS_CAN_INVITE: &str = "members_can_invite";
const MEMBERS_CAN_MENTION_EVERYONE: &str = "members_can_mention_everyone";
/// The ICE settings an admin saved, as JSON (secrets included: the database is the server's).
const ICE: &str = "ice";
/// Configuration keys that, when set, keep the ICE settings from changing at run time.
const ICE_KEYS: [&str; 6] =
    ["turn.provider", "turn.urls", "turn.stun_urls", "turn.secret", "turn.metered_api_url", "turn.metered_api_key"];

/// Builds an ICE provider (and its STUN fallback URLs) from complete settings, or says why not.
pub type IceFactory = dyn Fn(&IceSettings) -> Result<(Box<dyn IceProvider>, Vec<String>), &'static str> + Send + Sync;

/// `saved` over `base`: what `saved` leaves out stays.
fn merged(base: &IceSettings, saved: &IceSettings) -> IceSettings {
    IceSettings {
        provider: saved.provider.clone().or_else(|| base.provider.clone()),
        urls: saved.urls.clone().or_else(|| base.urls.clone()),
        stun_urls: saved.stun_urls.clone().or_else(|| base.stun_urls.clone()),
        secret: saved.secret.clone().or_else(|| base.secret.clone()),
        metered_api_url: saved.metered_api_url.clone().or_else(|| base.metered_api_url.clone()),
        metered_api_key: saved.metered_api_key.clone().or_else(|| base.metered_api_key.clone()),
    }
}

/// Whether TURN settings an admin saves apply: not when the configuration sets any TURN key
/// (`locked` says which keys it sets), since a restart would bring the configuration's back.
pub fn saved_turn_settings_apply(locked: &BTreeMap<String, String>) -> bool {
    !ICE_KEYS.iter().any(|key| locked.contains_key(*key))
}

/// The TURN secret an admin saved at run time, which the server mints coturn credentials with
/// over the configuration's; none when the configuration sets any TURN key, since the saved
/// settings are then ignored (as [`Chat::load_runtime_settings`] does).
pub async fn saved_turn_secret(store: &Store, locked: &BTreeMap<String, String>) -> Result<Option<String>> {
    if !saved_turn_settings_apply(locked) {
        return Ok(None);
    }
    let Some(saved) = store.get_setting(ICE).await? else { return Ok(None) };
    let saved: IceSettings = serde_json::from_str(&saved).unwrap_or_default();
    Ok(saved.secret.filter(|secret| !secret.is_empty()))
}

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

    /// Whether members may mention `@everyone` and `@here`.
    pub async fn members_can_mention_everyone(&self) -> Result<bool> {
        Ok(self.store.get_setting(MEMBERS_CAN_MENTION_EVERYONE).await?.as_deref() == Some("true"))
    }

    /// Current settings (admins).
    pub async fn settings(&self, principal: &Principal) -> Result<Settings> {
        principal.require_admin()?;
        let registration = self.registration().await?;
        Ok(Settings {
            registration,
            registration_open: registration == Registration::Open,
            members_can_invite: self.members_can_invite().await?,
            members_can_mention_everyone: self.members_can_mention_everyone().await?,
            voice_enabled: self.voice_enabled(),
            force_relay: self.force_relay(),
            locked: (*self.locked).clone(),
            ice: self.ice_view(),
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
        for (key, value) in [
            (MEMBERS_CAN_INVITE, request.members_can_invite),
            (MEMBERS_CAN_MENTION_EVERYONE, request.members_can_mention_everyone),
        ] {
            let Some(on) = value else { continue };
            self.store.put_setting(key, if on { "true" } else { "false" }).await?;
            changed.push(format!("{key}={on}"));
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
        if let Some(ice) = &request.ice {
            self.change_ice(ice).await?;
            changed.push(format!("ice.provider={}", self.ice_view().provider));
        }
        if !changed.is_empty() {
            self.audit(principal, "settings.update", None, None, Some(changed.join(", "))).await?;
        }
        self.settings(principal).await
    }

    /// The ICE settings as admins read them.
    fn ice_view(&self) -> IceView {
        let ice = self.ice_settings.read().unwrap_or_else(|p| p.into_inner()).clone();
        IceView {
            provider: ice.provider.unwrap_or_default(),
            urls: ice.urls.unwrap_or_default(),
            stun_urls: ice.stun_urls.unwrap_or_default(),
            secret_set: ice.secret.is_some_and(|s| !s.is_empty()),
            metered_api_url: ice.metered_api_url.unwrap_or_default(),
            metered_api_key_set: ice.metered_api_key.is_some_and(|k| !k.is_empty()),
        }
    }

    /// Builds the provider `change` describes over the settings in effect, switches to it and
    /// stores it; refused when the configuration sets any of it or the settings are incomplete.
    async fn change_ice(&self, change: &IceSettings) -> Result<()> {
        if !saved_turn_settings_apply(&self.locked) {
            return Err(Error::Refused {
                code: ErrorCode::SettingLocked,
                message: "The server's configuration sets the TURN provider; change it there and restart.",
            });
        }
        let Some(factory) = &self.ice_factory else {
            return Err(Error::Forbidden("This server cannot change its TURN provider at run time."));
        };
        let current = self.ice_settings.read().unwrap_or_else(|p| p.into_inner()).clone();
        let next = merged(&current, change);
        let (provider, stun_urls) = factory(&next).map_err(|why| {
            Error::Invalid(crate::domain::text::Invalid { code: ErrorCode::InvalidBody, field: "ice", message: why.to_owned() })
        })?;
        let stored = serde_json::to_string(&next).expect("strings and lists serialise");
        self.store.put_setting(ICE, &stored).await?;
        self.replace_ice(provider, stun_urls);
        *self.ice_settings.write().unwrap_or_else(|p| p.into_inner()) = next;
        Ok(())
    }

    /// Applies the run-time voice switches stored in the database, except those the
    /// configuration sets.
    pub async fn load_runtime_settings(&self) -> Result<()> {
        if let (Some(factory), Some(saved)) = (&self.ice_factory, self.store.get_setting(ICE).await?)
            && saved_turn_settings_apply(&self.locked)
        {
            let saved: IceSettings = serde_json::from_str(&saved).unwrap_or_default();
            let next = merged(&self.ice_settings.read().unwrap_or_else(|p| p.into_inner()).clone(), &saved);
            match factory(&next) {
                Ok((provider, stun_urls)) => {
                    self.replace_ice(provider, stun_urls);
                    *self.ice_settings.write().unwrap_or_else(|p| p.into_inner()) = next;
                }
                Err(why) => tracing::warn!(why, "the saved TURN settings no longer work; using the configuration's"),
            }
        }
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
