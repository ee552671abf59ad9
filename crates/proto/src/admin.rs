//! Bodies of the admin API under `/api/v1/admin`: people, their moderation, and the audit log.

use serde::{Deserialize, Serialize};

use crate::Id;

/// An account as admins see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminUser {
    /// Account id.
    pub id: Id,
    /// Username with its original case.
    pub username: String,
    /// The name shown instead of the username, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Avatar version, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Whether the account administers the server.
    pub admin: bool,
    /// Whether an admin disabled (banned) the account.
    pub disabled: bool,
    /// Until when (unix milliseconds) the account may read but not post, type or speak.
    pub timeout_until: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// `POST /admin/users`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// As at registration.
    pub username: String,
    /// As at registration.
    pub password: String,
    /// Optional email.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the account administers the server.
    #[serde(default)]
    pub admin: bool,
}

/// `PATCH /admin/users/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// Promote or demote.
    #[serde(default)]
    pub admin: Option<bool>,
    /// Disable (ban) or enable.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// Why, for the audit log (at most 512 characters).
    #[serde(default)]
    pub reason: Option<String>,
    /// With a ban: delete the account's messages of the last this many hours (0–168).
    #[serde(default)]
    pub delete_messages_hours: Option<u32>,
}

/// `POST /admin/users/{id}/timeout`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutRequest {
    /// Unix milliseconds; in the future, at most 28 days ahead.
    pub until: i64,
    /// Why, for the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /admin/users/{id}/password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    /// The new password, as at registration.
    pub password: String,
}

/// `POST /admin/voice/disconnect`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceDisconnectRequest {
    /// Who leaves voice.
    pub user_id: Id,
}

/// `POST /admin/voice/mute`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceMuteRequest {
    /// Who.
    pub user_id: Id,
    /// Mute or unmute.
    pub muted: bool,
}

/// `GET /admin/audit` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries older than this id.
    #[serde(default)]
    pub before: Option<Id>,
    /// At most this many (1–200, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One admin action.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Entry id; newer entries have larger ids.
    pub id: Id,
    /// Unix milliseconds.
    pub at: i64,
    /// The admin who acted.
    pub actor_id: Id,
    /// What was done, e.g. `user.disable`.
    pub action: String,
    /// What it was done to, e.g. a user id.
    pub target: Option<String>,
    /// The reason the admin gave.
    pub reason: Option<String>,
    /// What changed, as short text (never a secret).
    pub detail: Option<String>,
}

/// `POST /admin/ice/test`: ICE settings to try; what is left out is taken from the running
/// configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceSettings {
    /// `builtin`, `coturn`, `metered` or `none`.
    #[serde(default)]
    pub provider: Option<String>,
    /// TURN URLs (coturn).
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    /// STUN URLs.
    #[serde(default)]
    pub stun_urls: Option<Vec<String>>,
    /// The shared secret (coturn's `static-auth-secret`); write-only.
    #[serde(default)]
    pub secret: Option<String>,
    /// Metered's API base URL.
    #[serde(default)]
    pub metered_api_url: Option<String>,
    /// Metered's API key; write-only.
    #[serde(default)]
    pub metered_api_key: Option<String>,
}

/// What a Save & Test found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IceTestReport {
    /// Whether every check passed.
    pub ok: bool,
    /// One per ICE server tried (and one for the provider when it failed).
    pub checks: Vec<IceCheck>,
}

/// One check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IceCheck {
    /// What was tried, e.g. `turn:chat.example.org:3478?transport=udp`.
    pub name: String,
    /// Whether it worked.
    pub ok: bool,
    /// What happened.
    pub detail: String,
    /// For a failure, what to fix.
    pub hint: Option<String>,
}
