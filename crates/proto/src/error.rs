//! The stable error codes of REST errors and gateway `error` frames. One closed set, so the
//! server cannot send a code `docs/protocol.md` does not list, and clients can match on it.

use serde::{Deserialize, Serialize};

/// Every error code the server sends, written in snake_case on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Requests the server cannot read.
    /// The body is not JSON.
    InvalidJson,
    /// JSON of the wrong shape or with unknown fields.
    InvalidBody,
    /// Bad query parameters.
    InvalidQuery,
    /// The body is larger than `http.max_body_bytes`.
    PayloadTooLarge,
    /// The body was sent without `Content-Type: application/json`.
    UnsupportedMediaType,
    /// The route does not accept that method.
    MethodNotAllowed,
    /// More header fields, or more bytes of them, than the server takes.
    HeadersTooLarge,
    /// A gateway frame that is not JSON, has an unknown top-level field or a bad `id`.
    InvalidFrame,
    /// A gateway op's payload has the wrong shape.
    InvalidPayload,
    /// A gateway op that does not exist.
    UnknownOp,
    /// `identify` or `resume` on a connection that is already identified.
    AlreadyIdentified,
    /// The gateway URL was requested without a WebSocket upgrade.
    UpgradeRequired,

    // Who may do what.
    /// No, unknown or expired token.
    Unauthenticated,
    /// Wrong username or password.
    InvalidCredentials,
    /// The caller may not do this.
    Forbidden,
    /// An admin closed registration.
    RegistrationClosed,
    /// The invite code is unknown, used up, expired or deleted (or missing while registration
    /// needs one).
    InvalidInvite,
    /// Unknown route or id, or something the caller may not know exists.
    NotFound,
    /// The change would leave the server without an enabled admin.
    LastAdmin,
    /// An admin disabled this account.
    AccountDisabled,
    /// An admin timed this account out: it may read but not post, type or speak for now.
    TimedOut,
    /// Only admins may post in this channel.
    ReadOnly,
    /// The server's configuration sets this setting; it cannot be changed at run time.
    SettingLocked,
    /// Slow mode: the member must wait before posting again here (`Retry-After`).
    Slowmode,
    /// Too many attempts; `Retry-After` says when to try again.
    RateLimited,
    /// The account's email address is not confirmed yet, and this server requires it.
    EmailNotVerified,

    // Input that breaks a rule.
    /// Not a valid username.
    InvalidUsername,
    /// Not a valid password.
    InvalidPassword,
    /// Not a valid email address.
    InvalidEmail,
    /// Not a valid channel name.
    InvalidChannelName,
    /// A message with nothing in it.
    EmptyMessage,
    /// A message over the length limit.
    MessageTooLong,
    /// A message with control characters.
    InvalidMessage,
    /// A page size out of range.
    InvalidLimit,
    /// A message nonce that is empty, too long or has control characters.
    InvalidNonce,
    /// The channel is of the wrong kind for the action.
    WrongChannelKind,
    /// A voice action on a text channel.
    NotAVoiceChannel,
    /// Members asked of a channel that is not private.
    ChannelNotPrivate,
    /// The username is taken.
    UsernameTaken,
    /// The email is taken.
    EmailTaken,
    /// The channel name is taken.
    ChannelNameTaken,
    /// Not a valid display name.
    InvalidDisplayName,
    /// A preference out of range (a push-to-talk key that is not a key code…).
    InvalidPreference,
    /// A password reset or confirmation link that is unknown, used or expired.
    InvalidToken,
    /// An avatar that is not a PNG, JPEG, GIF or WebP image that decodes within the limits.
    UnsupportedImage,

    // Voice.
    /// Voice is turned off on this server.
    VoiceDisabled,
    /// The caller is in this voice channel on another connection.
    AlreadyInChannel,
    /// The caller is in another voice channel on another connection.
    AlreadyInVoice,
    /// The caller is not in a voice channel (on this connection).
    NotInVoice,
    /// The caller and the signal's target are not in the same voice channel.
    NotInChannel,
    /// A voice signal that is not an object.
    InvalidSignal,
    /// A voice signal over `voice.max_signal_bytes`.
    SignalTooLarge,

    /// Something failed on the server (logged there; nothing half-written).
    Internal,
    /// The database is not answering; nothing was written. Try again shortly.
    Unavailable,
    /// The server's disk is full; nothing was written.
    InsufficientStorage,
}
