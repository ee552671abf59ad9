//! Bodies of the REST API under `/api/v1`: requests the server reads and resources it returns.

use serde::{Deserialize, Serialize};

use crate::{ErrorCode, Id};

/// `POST /auth/register`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 2–32 letters, digits, `_` or `-`; unique regardless of case.
    pub username: String,
    /// 8–128 characters.
    pub password: String,
    /// Optional; lets the user log in with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// An invite code: needed while registration is `invite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
}

/// `POST /auth/login`: `username` may also be the account's email address.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or email address.
    pub username: String,
    /// The account's password.
    pub password: String,
}

/// `POST /users/@me/password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password in use, proving it is the account's owner at the keyboard.
    pub current_password: String,
    /// The new one, as registration checks it.
    pub new_password: String,
}

/// One place the caller is logged in (`GET /users/@me/sessions`); the token is never shown again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Session id, for ending it.
    pub id: Id,
    /// Whether this is the session making the request.
    pub current: bool,
    /// When it was opened (unix ms).
    pub created_at: i64,
    /// When it was last used (unix ms, to the minute).
    pub last_used_at: i64,
    /// The address it was opened from.
    pub ip: String,
    /// The browser or client that opened it.
    pub user_agent: String,
}

/// Answer to register and login: a session token (shown once) and the account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthResponse {
    /// Opaque bearer token; the server keeps only its SHA-256.
    pub token: String,
    /// The account that now has a session.
    pub user: User,
}

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

/// `GET /auth/options`: what the login screen may offer, before anyone logs in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthOptions {
    /// The server can mail password reset links.
    pub password_reset: bool,
    /// New accounts need an email address and must confirm it before they log in.
    pub email_verification: bool,
}

/// `POST /auth/password-reset`, and `POST /auth/verify-email/resend`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    /// The account's email address.
    pub email: String,
}

/// `POST /auth/password-reset/confirm`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPasswordResetRequest {
    /// The token from the mailed link.
    pub token: String,
    /// The new password, as registration checks it.
    pub new_password: String,
}

/// `POST /auth/verify-email`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The token from the mailed link.
    pub token: String,
}

/// `202` answer to registering where addresses must be confirmed: no session yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerificationSent {
    /// Always `true`: a confirmation link went to the address.
    pub email_verification_sent: bool,
}

/// Whether a channel carries text messages or voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Text chat with message history.
    Text,
    /// Voice room.
    Voice,
}

impl ChannelKind {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Text => "text",
            ChannelKind::Voice => "voice",
        }
    }
}

/// A channel visible to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Channel id.
    pub id: Id,
    /// Name, unique among channels of the same kind regardless of case.
    pub name: String,
    /// Text or voice.
    pub kind: ChannelKind,
    /// Private channels are seen only by their members and admins.
    pub private: bool,
    /// Who may post: `everyone`, or `admins` (an announcement channel).
    pub write: WriteAccess,
    /// Place in the sidebar among channels of its kind (ascending; ties by name).
    pub position: i64,
    /// Seconds a member waits between messages (0: no slow mode; admins are exempt).
    pub slowmode_secs: u32,
}

/// Who may post in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WriteAccess {
    /// Everyone who can see it.
    #[default]
    Everyone,
    /// Admins only; members read.
    Admins,
}

impl WriteAccess {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteAccess::Everyone => "everyone",
            WriteAccess::Admins => "admins",
        }
    }
}

/// `POST /channels` (admins).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelRequest {
    /// 1–64 characters after trimming.
    pub name: String,
    /// Text or voice.
    pub kind: ChannelKind,
    /// Defaults to public.
    #[serde(default)]
    pub private: bool,
}

/// `PATCH /channels/{id}` (admins): fields left out stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannelRequest {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New privacy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// Who may post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<WriteAccess>,
    /// Place in the sidebar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    /// Slow mode, 0–21600 seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowmode_secs: Option<u32>,
}

/// `PUT /channels/{id}/members/{user_id}` needs no body; this lists the members.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelMembers {
    /// Members of a private channel.
    pub members: Vec<User>,
}

/// The author of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Account id.
    pub id: Id,
    /// Username at the time of reading (`Deleted user` once the account is deleted).
    pub username: String,
    /// Display name at the time of reading, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Avatar version at the time of reading, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Present (and `true`) when the account was deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// A text message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Message id; ids grow with time, so they order history.
    pub id: Id,
    /// The channel it was posted in.
    pub channel_id: Id,
    /// Who wrote it.
    pub author: Author,
    /// Markdown source, 1–4000 characters.
    pub content: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last edit, if any.
    pub edited_at: Option<i64>,
    /// The nonce its sender gave it, for ten minutes after it was sent: a client that sent it
    /// knows its own message by this when the event arrives before the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// People it mentions by `@username` who can see the channel.
    #[serde(default)]
    pub mentions: Vec<Id>,
    /// Whether it mentions `@everyone` or `@here` (and its author may).
    #[serde(default)]
    pub mention_everyone: bool,
    /// Previews of the first link in it, once the server fetched them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<Embed>,
}

/// A link preview: what the linked page says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Embed {
    /// The link as written in the message.
    pub url: String,
    /// The page's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its picture, to load through `/embeds/image?url=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// How far a user read a channel, and what is new since (`ready.read_states`,
/// `GET /users/@me/read-states`, `read_state_update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadState {
    /// The channel.
    pub channel_id: Id,
    /// The newest message read, if any.
    pub last_read_id: Option<Id>,
    /// Messages by others since then (at most 1000).
    pub unread: u32,
    /// Of those, the ones that mention the user (at most 1000).
    pub mentions: u32,
}

/// `PUT /channels/{id}/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    /// The newest message read; a marker never moves back.
    pub message_id: Id,
}

/// When a channel notifies its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NotificationLevel {
    /// Every message.
    All,
    /// Messages that mention the user (the default).
    #[default]
    Mentions,
    /// Never.
    None,
}

/// A channel's notification level for the user (`PUT /channels/{id}/notifications`,
/// `ready.notification_levels`, `notification_level_update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelNotifications {
    /// The channel.
    pub channel_id: Id,
    /// Its level.
    pub level: NotificationLevel,
}

/// `PUT /channels/{id}/notifications`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetNotificationsRequest {
    /// The new level.
    pub level: NotificationLevel,
}

/// `POST /channels/{id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// 1–4000 characters after trimming.
    pub content: String,
    /// Up to 64 characters the client picks per message; sending the same nonce again within
    /// ten minutes returns the first message (`200`) instead of posting it twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// `PATCH /channels/{id}/messages/{message_id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageContentRequest {
    /// 1–4000 characters after trimming.
    pub content: String,
}

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

/// Every REST error: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorBody,
}

/// A typed error: a stable snake_case code and a human sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `username_taken`.
    pub code: ErrorCode,
    /// A sentence for people.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
