//! An account as people see it, and as its owner changes it: profile, preferences, deletion.

use serde::{Deserialize, Serialize};

use crate::Id;

/// An account as its owner and other members see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Account id.
    pub id: Id,
    /// Username with its original case (`Deleted user` once the account is deleted).
    pub username: String,
    /// Whether the account administers the server.
    pub admin: bool,
    /// The name clients show instead of the username, when the user set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Version of the user's avatar, when they have one; it changes with every upload, so
    /// `GET /users/{id}/avatar?v=…` can be cached for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Present (and `true`) once the account was deleted; its messages stay.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// `GET /users/@me`, and the answer to changing one's own profile or avatar: the account as
/// others see it, plus what only its owner sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The account as others see it.
    #[serde(flatten)]
    pub user: User,
    /// The email address, when the account has one.
    pub email: Option<String>,
    /// Whether the owner confirmed the address by a mailed link (or an admin created the
    /// account, or it predates confirmation).
    pub email_verified: bool,
}

/// Reads a field that may be sent as `null`: absent stays `None`, `null` is `Some(None)`.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PATCH /users/@me`: fields left out stay as they are; `null` removes an email or display name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// A new username, as registration checks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A new email address, or `null` to have none.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub email: Option<Option<String>>,
    /// 1–32 characters, or `null` to show the username.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Option<String>>,
}

/// `DELETE /users/@me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountRequest {
    /// The account's password, proving its owner is at the keyboard.
    pub password: String,
}

/// How a user talks in voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VoiceMode {
    /// The microphone opens when they speak.
    #[default]
    Vad,
    /// The microphone opens while they hold a key.
    Ptt,
}

/// The client's colour scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Light text on dark panels.
    #[default]
    Dark,
    /// Dark text on light panels.
    Light,
}

/// A user's preferences, the same on every device they log in from (`GET
/// /users/@me/preferences`, `ready.preferences`, `preferences_update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// Voice activity or push-to-talk.
    pub voice_mode: VoiceMode,
    /// The push-to-talk key, as a `KeyboardEvent.code` such as `KeyV`.
    pub ptt_key: String,
    /// How quiet a voice still opens the microphone, 0–100 (higher picks up quieter speech).
    pub input_sensitivity: u8,
    /// Whether notifications play a sound.
    pub notification_sound: bool,
    /// The colour scheme.
    pub theme: Theme,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            voice_mode: VoiceMode::Vad,
            ptt_key: "KeyV".to_owned(),
            input_sensitivity: 50,
            notification_sound: true,
            theme: Theme::Dark,
        }
    }
}

/// `PUT /users/@me/preferences`: any of the preferences; the others stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePreferencesRequest {
    /// Voice activity or push-to-talk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_mode: Option<VoiceMode>,
    /// A `KeyboardEvent.code`: 1–32 ASCII letters and digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ptt_key: Option<String>,
    /// 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_sensitivity: Option<u8>,
    /// Whether notifications play a sound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_sound: Option<bool>,
    /// The colour scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<Theme>,
}
