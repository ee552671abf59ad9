//! Registering, logging in and getting back in: the bodies of `/auth` and of the password and
//! session routes under `/users/@me`.

use serde::{Deserialize, Serialize};

use super::User;
use crate::Id;

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
