//! Server-wide settings admins change at run time, and invites.

use serde::{Deserialize, Serialize};

use crate::Id;

/// Who may register an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Anyone.
    Open,
    /// Whoever has a valid invite code.
    Invite,
    /// Nobody (admins still create accounts).
    Closed,
}

/// Server-wide settings that admins change at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Who may register.
    pub registration: Registration,
    /// Whether anyone may register without an invite (`registration == "open"`), for older clients.
    pub registration_open: bool,
    /// Whether members (not only admins) may create invites.
    pub members_can_invite: bool,
    /// Whether members (not only admins) may mention `@everyone` and `@here`.
    pub members_can_mention_everyone: bool,
    /// Whether voice channels can be joined.
    pub voice_enabled: bool,
    /// Whether calls must go through the TURN relay.
    pub force_relay: bool,
    /// Settings the server's configuration file, environment or command line sets, with
    /// where: they cannot be changed here.
    pub locked: std::collections::BTreeMap<String, String>,
    /// Where voice calls get their STUN/TURN servers; secrets are never shown.
    pub ice: IceView,
}

/// The ICE provider settings as admins read them: secrets only as "set or not".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceView {
    /// `builtin`, `coturn`, `metered` or `none`.
    pub provider: String,
    /// TURN URLs (coturn).
    pub urls: Vec<String>,
    /// STUN URLs.
    pub stun_urls: Vec<String>,
    /// Whether a shared secret is set.
    pub secret_set: bool,
    /// Metered's API base URL.
    pub metered_api_url: String,
    /// Whether a Metered API key is set.
    pub metered_api_key_set: bool,
}

/// `PATCH /settings` (admins): fields left out stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettingsRequest {
    /// Who may register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
    /// The older form: `true` is `open`, `false` is `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_open: Option<bool>,
    /// Let members create invites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_can_invite: Option<bool>,
    /// Let members mention `@everyone` and `@here`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_can_mention_everyone: Option<bool>,
    /// Turn voice on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_enabled: Option<bool>,
    /// Make every call go through the relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_relay: Option<bool>,
    /// Change where calls get their STUN/TURN servers; fields left out stay as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ice: Option<crate::admin::IceSettings>,
}

/// `POST /invites`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    /// How many registrations it allows (1–1000); unlimited when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// Seconds until it expires (60 s – 30 days); never when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
}

/// An invite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invite {
    /// The code, also the last part of `url`.
    pub code: String,
    /// The link to hand out: the client opens it on the registration form.
    pub url: String,
    /// Registrations it was used for.
    pub uses: u32,
    /// How many it allows, if limited.
    pub max_uses: Option<u32>,
    /// Unix milliseconds, if it expires.
    pub expires_at: Option<i64>,
    /// Who created it.
    pub creator_id: Id,
    /// Unix milliseconds.
    pub created_at: i64,
}
