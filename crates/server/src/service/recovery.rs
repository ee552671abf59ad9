//! Getting back into an account by email, and proving an address is yours: password reset
//! links and address confirmation links. Each link carries a single-use token (only its hash
//! is stored). Asking for a link always gets the same answer, sent before anything is looked
//! up, so neither the answer nor its timing tells whether an address has an account.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cromulent_proto::ErrorCode;
use cromulent_proto::rest::AuthOptions;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::auth::token_hash;
use super::{Chat, Error, Result, now_ms};
use crate::domain::text::{Email, Invalid, Password};
use crate::mail::{Letter, Mailer};
use crate::store::{NewToken, TokenPurpose};

/// How long a password reset link works.
const RESET_TTL_MS: i64 = 3_600_000;

/// How long an address confirmation link works.
const VERIFY_TTL_MS: i64 = 24 * 3_600_000;

/// Links anyone may ask for per address and client per minute, and per email address per hour:
/// enough to retry a lost mail, too few to flood someone's inbox.
const LINKS_PER_IP_PER_MINUTE: NonZeroU32 = NonZeroU32::new(5).expect("not zero");
const LINKS_PER_ADDRESS_PER_HOUR: NonZeroU32 = NonZeroU32::new(3).expect("not zero");

/// Limits on asking for links.
pub struct LinkLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_address: DefaultKeyedRateLimiter<String>,
}

impl Default for LinkLimits {
    fn default() -> Self {
        LinkLimits {
            per_ip: RateLimiter::keyed(Quota::per_minute(LINKS_PER_IP_PER_MINUTE)),
            per_address: RateLimiter::keyed(Quota::per_hour(LINKS_PER_ADDRESS_PER_HOUR)),
        }
    }
}

impl LinkLimits {
    fn check(&self, ip: IpAddr, address_key: &str) -> Result<()> {
        self.per_ip.check_key(&ip).map_err(super::rate_limited)?;
        self.per_address.check_key(&address_key.to_owned()).map_err(super::rate_limited)
    }

    /// Forgets keys whose limits have fully recovered.
    pub fn forget_quiet(&self) {
        self.per_ip.retain_recent();
        self.per_address.retain_recent();
    }
}

/// `400 invalid_token`.
fn invalid_token() -> Error {
    Invalid::new(ErrorCode::InvalidToken, "token", "This link was already used or has expired; ask for a new one.").into()
}

/// What the mail says, by purpose.
fn letter(purpose: TokenPurpose, to: &str, link: &str) -> Letter {
    let (subject, body) = match purpose {
        TokenPurpose::PasswordReset => (
            "Reset your password",
            format!(
                "Someone (hopefully you) asked to reset the password of the account with this address.\n\n\
                 Open this link within an hour to choose a new password:\n\n{link}\n\n\
                 If it was not you, ignore this mail: your password stays as it is.\n"
            ),
        ),
        TokenPurpose::EmailVerification => (
            "Confirm your email address",
            format!(
                "Open this link within 24 hours to confirm that this address belongs to your account:\n\n{link}\n\n\
                 If you did not sign up or change your address, ignore this mail.\n"
            ),
        ),
    };
    Letter { to: to.to_owned(), subject: subject.to_owned(), body }
}

impl Chat {
    /// The same, sending mail through `mailer`.
    pub fn with_mailer(mut self, mailer: Option<Mailer>) -> Chat {
        self.mailer = mailer.map(Arc::new);
        self
    }

    /// What the login screen may offer.
    pub fn auth_options(&self) -> AuthOptions {
        AuthOptions { password_reset: self.mailer.is_some(), email_verification: self.auth.require_email_verification }
    }

    /// Stores a token for `user_id` and mails its link to `email` in the background (the
    /// caller's answer never waits for the mail server).
    async fn mail_link(&self, user_id: i64, email: &str, purpose: TokenPurpose, link_base: &str) -> Result<()> {
        let Some(mailer) = self.mailer.clone() else { return Ok(()) };
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let (ttl, path) = match purpose {
            TokenPurpose::PasswordReset => (RESET_TTL_MS, "reset-password"),
            TokenPurpose::EmailVerification => (VERIFY_TTL_MS, "verify-email"),
        };
        let now = now_ms();
        let hash = token_hash(&token);
        let new = NewToken { token_hash: &hash, user_id, purpose, email, created_at: now, expires_at: now + ttl };
        self.store.insert_account_token(&new).await?;
        let letter = letter(purpose, email, &format!("{}/{path}?token={token}", link_base.trim_end_matches('/')));
        tokio::spawn(async move {
            match mailer.send(&letter).await {
                Ok(()) => tracing::info!(user = user_id, ?purpose, "link mailed"),
                Err(err) => tracing::warn!(user = user_id, ?purpose, error = %err, "mailing a link failed"),
            }
        });
        Ok(())
    }

    /// Mails a confirmation link for `email` to it, when mail is on.
    pub(super) async fn send_verification(&self, user_id: i64, email: &str, link_base: &str) -> Result<()> {
        self.mail_link(user_id, email, TokenPurpose::EmailVerification, link_base).await
    }

    /// `POST /auth/password-reset`: when `raw_email` belongs to an enabled account and mail is
    /// on, mails it a reset link. Always `Ok` for a well-formed address, whether or not it has
    /// an account; rate-limited per client and per address.
    pub async fn request_password_reset(&self, ip: IpAddr, raw_email: &str, link_base: &str) -> Result<()> {
        self.request_link(ip, raw_email, link_base, TokenPurpose::PasswordReset).await
    }

    /// `POST /auth/verify-email/resend`: mails a new confirmation link to an account's
    /// unconfirmed address; answers like [`Chat::request_password_reset`].
    pub async fn resend_verification(&self, ip: IpAddr, raw_email: &str, link_base: &str) -> Result<()> {
        self.request_link(ip, raw_email, link_base, TokenPurpose::EmailVerification).await
    }

    async fn request_link(&self, ip: IpAddr, raw_email: &str, link_base: &str, purpose: TokenPurpose) -> Result<()> {
        let email = Email::parse(raw_email)?;
        let key = email.key();
        self.limits.check_ip(ip)?;
        self.links.check(ip, &key)?;
        if self.mailer.is_none() {
            return Ok(());
        }
        // Looked up after answering, so the answer takes as long whether the account exists.
        let chat = self.clone();
        let link_base = link_base.to_owned();
        tokio::spawn(async move {
            let found = match chat.store.get_user_by_email(&key).await {
                Ok(found) => found,
                Err(err) => return tracing::warn!(error = %err, "looking up an address for a link failed"),
            };
            let Some(user) = found.filter(|user| !user.disabled()) else { return };
            let wanted = match purpose {
                TokenPurpose::PasswordReset => true,
                TokenPurpose::EmailVerification => !user.email_verified(),
            };
            let Some(address) = user.email.clone().filter(|_| wanted) else { return };
            if let Err(err) = chat.mail_link(user.id, &address, purpose, &link_base).await {
                tracing::warn!(user = user.id, error = %err, "storing a link token failed");
            }
        });
        Ok(())
    }

    /// `POST /auth/password-reset/confirm`: sets a new password with a mailed token, once.
    /// Every session of the account ends; the address the link went to counts as confirmed.
    pub async fn confirm_password_reset(&self, ip: IpAddr, token: &str, new_password: &str) -> Result<()> {
        self.limits.check_ip(ip)?;
        let password = Password::parse(new_password).map_err(|invalid| Invalid { field: "new_password", ..invalid })?;
        if token.is_empty() || token.len() > 128 {
            return Err(invalid_token());
        }
        let (user_id, email) = self
            .store
            .take_account_token(&token_hash(token), TokenPurpose::PasswordReset, now_ms())
            .await?
            .ok_or_else(invalid_token)?;
        let hash = self.hash_password(password).await?;
        let ended = self.store.set_password_hash(user_id, &hash).await?.ok_or_else(invalid_token)?;
        for session in ended {
            self.hub.end_login_session(session);
        }
        self.store.confirm_email(user_id, &email).await?;
        tracing::info!(user = user_id, "password reset by mailed link");
        Ok(())
    }

    /// `POST /auth/verify-email`: confirms the address a mailed token went to, once, if it is
    /// still the account's address.
    pub async fn verify_email(&self, ip: IpAddr, token: &str) -> Result<()> {
        self.limits.check_ip(ip)?;
        if token.is_empty() || token.len() > 128 {
            return Err(invalid_token());
        }
        let (user_id, email) = self
            .store
            .take_account_token(&token_hash(token), TokenPurpose::EmailVerification, now_ms())
            .await?
            .ok_or_else(invalid_token)?;
        if !self.store.confirm_email(user_id, &email).await? {
            return Err(invalid_token());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_carry_the_link() {
        let mail = letter(TokenPurpose::PasswordReset, "a@example.org", "https://chat.example.org/reset-password?token=abc");
        assert!(mail.body.contains("https://chat.example.org/reset-password?token=abc"));
        assert_eq!(mail.to, "a@example.org");
    }
}
