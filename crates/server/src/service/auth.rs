//! Accounts and sessions: register, log in and out, authenticate a token, create users headlessly.

use std::net::IpAddr;
use std::num::NonZeroU32;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cromulent_proto::rest::{RegisterRequest, Registration, User};
use cromulent_proto::{ErrorCode, Id};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::device::{DEVICE_KEY_SETTING, DeviceCookies};
use super::{Chat, Error, Principal, Result, now_ms};
use crate::config::AuthConfig;
use crate::domain::text::{Email, Invalid, Password, Username};
use crate::store::{NewUser, StoreError, UserRow};

/// Settings key latched by the first account ever created, which becomes an admin.
const FIRST_ACCOUNT: &str = "first_account";

/// A PHC hash of a random password, verified against when the account does not exist so that
/// a missing account costs the same time as a wrong password.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3TqXjXPm8mVJ0q8o7XbqwPXPkFVUJ2wuQm1R9rWvSBs";

/// A new login session: the token to hand out once, and the account.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Bearer token (43 characters of URL-safe base64); only its SHA-256 is stored.
    pub token: String,
    /// The logged-in caller.
    pub principal: Principal,
    /// The account as others see it.
    pub user: User,
    /// Seconds the session lasts, for the cookie's `Max-Age`.
    pub max_age_secs: i64,
    /// The device cookie that proves this browser logged in to the account.
    pub device_cookie: String,
}

/// What registering did.
#[derive(Debug)]
pub enum Registered {
    /// The account exists and is logged in.
    Session(Box<NewSession>),
    /// The account exists but must confirm its address first: a link went to it.
    VerificationSent,
}

/// Where a login attempt comes from, for its account budget.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Origin {
    /// A browser that proved, with a device cookie, that it logged in to the account before.
    Device(String),
    /// Anything else, by client address.
    Address(IpAddr),
}

/// Limits on login and registration attempts: per client IP; per account from one address or
/// one proven device; and per account from all addresses together. Past the last one, an
/// account under attack from many addresses accepts only its proven devices, so guessing
/// cannot lock its owner out.
pub struct LoginLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_account_origin: DefaultKeyedRateLimiter<(String, Origin)>,
    per_account: DefaultKeyedRateLimiter<String>,
}

impl LoginLimits {
    /// Limits with the configured quotas (at least one attempt a minute).
    pub fn new(config: &AuthConfig) -> LoginLimits {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"));
        LoginLimits {
            per_ip: RateLimiter::keyed(quota(config.attempts_per_ip_per_minute)),
            per_account_origin: RateLimiter::keyed(quota(config.attempts_per_account_per_minute)),
            per_account: RateLimiter::keyed(quota(config.attempts_per_account_from_anywhere_per_minute)),
        }
    }

    pub(super) fn check_ip(&self, ip: IpAddr) -> Result<()> {
        self.per_ip.check_key(&ip).map_err(super::rate_limited)
    }

    pub(super) fn check_account(&self, account: &str, origin: Origin) -> Result<()> {
        let proven = matches!(origin, Origin::Device(_));
        self.per_account_origin.check_key(&(account.to_owned(), origin)).map_err(super::rate_limited)?;
        if !proven {
            self.per_account.check_key(&account.to_owned()).map_err(super::rate_limited)?;
        }
        Ok(())
    }

    /// Forgets keys whose limits have fully recovered, so memory follows recent traffic only.
    pub fn forget_quiet(&self) {
        self.per_ip.retain_recent();
        self.per_account_origin.retain_recent();
        self.per_account.retain_recent();
    }
}

impl Principal {
    /// Refuses callers who do not administer the server.
    pub fn require_admin(&self) -> Result<()> {
        if self.admin { Ok(()) } else { Err(Error::Forbidden("Only admins can do that.")) }
    }
}

impl UserRow {
    /// The wire form.
    pub fn to_wire(&self) -> User {
        User {
            id: Id(self.id),
            username: self.username.clone(),
            admin: self.admin(),
            display_name: self.display_name.clone(),
            avatar: self.avatar.clone(),
            deleted: self.deleted(),
        }
    }
}

/// How finely a session's last use is kept.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// Longest user agent kept with a session.
const MAX_USER_AGENT_CHARS: usize = 256;

/// Where a login comes from: the client's address, and the `User-Agent` it sent.
#[derive(Debug, Clone)]
pub struct SessionOrigin {
    /// The client's address (a reverse proxy's, behind one).
    pub ip: IpAddr,
    /// The `User-Agent` header as sent, if any.
    pub user_agent: Option<String>,
}

impl SessionOrigin {
    /// The user agent as kept: without control characters, at most 256 characters.
    fn user_agent(&self) -> String {
        self.user_agent.as_deref().unwrap_or("").chars().filter(|c| !c.is_control()).take(MAX_USER_AGENT_CHARS).collect()
    }
}

/// Hex SHA-256 of a token: what the sessions table stores.
pub(super) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl Chat {
    /// Creates an account from the registration form and logs it in. While registration is
    /// `invite`, `invite` must be a good code, and one of its uses is taken; while it is `open`
    /// a good code is counted and a bad one ignored.
    /// Where the server requires confirmed addresses, an email address is required too, and
    /// the account gets a confirmation link instead of a session.
    pub async fn register(&self, origin: &SessionOrigin, form: &RegisterRequest, link_base: &str) -> Result<Registered> {
        self.limits.check_ip(origin.ip)?;
        let username = Username::parse(&form.username)?;
        let password = Password::parse(&form.password)?;
        let email = form.email.as_deref().filter(|e| !e.trim().is_empty()).map(Email::parse).transpose()?;
        let verify = self.auth.require_email_verification;
        if verify && email.is_none() {
            return Err(Invalid::new(ErrorCode::InvalidEmail, "email", "This server needs an email address to confirm.").into());
        }
        let invite = form.invite.as_deref().map(str::trim).filter(|c| !c.is_empty() && c.len() <= 64);
        let used = match (self.registration().await?, invite) {
            (Registration::Closed, _) => return Err(Error::RegistrationClosed),
            (Registration::Invite, None) => return Err(super::invites::invalid_invite()),
            (Registration::Invite, Some(code)) => {
                if !self.store.use_invite(code, now_ms()).await? {
                    return Err(super::invites::invalid_invite());
                }
                Some(code)
            }
            (Registration::Open, Some(code)) => self.store.use_invite(code, now_ms()).await?.then_some(code),
            (Registration::Open, None) => None,
        };
        let user = match self.create_user(&username, &password, email.as_ref(), false, false).await {
            Ok(user) => user,
            Err(error) => {
                if let Some(code) = used {
                    self.store.return_invite_use(code).await?;
                }
                return Err(error);
            }
        };
        if verify && !user.admin() {
            let address = user.email.clone().unwrap_or_default();
            self.send_verification(user.id, &address, link_base).await?;
            return Ok(Registered::VerificationSent);
        }
        let device_cookie = self.device_cookies().await?.issue(user.id);
        Ok(Registered::Session(Box::new(self.start_session(user, device_cookie, origin).await?)))
    }

    /// Creates an account; the first account ever is an admin whatever `admin` says.
    /// Used by registration, by admins and by `cromulent user create`; `email_verified` says
    /// whether its address counts as confirmed.
    pub async fn create_user(
        &self,
        username: &Username,
        password: &Password,
        email: Option<&Email>,
        admin: bool,
        email_verified: bool,
    ) -> Result<UserRow> {
        let password_hash = self.hash_password(password.clone()).await?;
        let id = self.next_id();
        let (username_key, email_key) = (username.key(), email.map(Email::key));
        let new_user = NewUser {
            id,
            username: username.as_str(),
            username_key: &username_key,
            email: email.map(Email::as_str),
            email_key: email_key.as_deref(),
            password_hash: &password_hash,
            admin,
            email_verified,
            created_at: now_ms(),
        };
        match self.store.insert_user(&new_user, FIRST_ACCOUNT).await {
            Ok(_) => {}
            Err(StoreError::Conflict) => return Err(self.conflict_on(&username_key, email_key.as_deref()).await?),
            Err(other) => return Err(other.into()),
        }
        self.store.get_user(id).await?.ok_or(Error::NotFound("User"))
    }

    /// Tells which unique field a refused insert collided on.
    async fn conflict_on(&self, username_key: &str, email_key: Option<&str>) -> Result<Error> {
        let taken = self.store.get_user_by_login(username_key).await?;
        Ok(if taken.is_some() || email_key.is_none() {
            Error::Conflict { code: ErrorCode::UsernameTaken, field: "username", message: "That username is taken." }
        } else {
            Error::Conflict { code: ErrorCode::EmailTaken, field: "email", message: "That email address is already registered." }
        })
    }

    /// Checks a username-or-email and password and opens a session. `device` is the device
    /// cookie the client sent, if any (see [`super::device`]).
    pub async fn login(&self, origin: &SessionOrigin, login: &str, password: &str, device: Option<&str>) -> Result<NewSession> {
        let ip = origin.ip;
        self.limits.check_ip(ip)?;
        let key = login.trim().to_lowercase();
        let plausible = !key.is_empty() && key.len() <= 254 && !key.contains('\0');
        let user = if plausible { self.store.get_user_by_login(&key).await? } else { None };
        let devices = self.device_cookies().await?;
        let proven = user.as_ref().zip(device).and_then(|(user, cookie)| devices.device_of(cookie, user.id));
        let attempt = proven.map_or(Origin::Address(ip), |device| Origin::Device(device.to_owned()));
        // One budget per account, whether it is named by username or by email.
        self.limits.check_account(&user.as_ref().map_or_else(|| key.clone(), |u| format!("#{}", u.id)), attempt)?;
        let hash = user.as_ref().map_or(DECOY_HASH.to_owned(), |u| u.password_hash.clone());
        let verified = self.verify_password(password.to_owned(), hash).await?;
        match user {
            Some(user) if verified && user.disabled() => {
                Err(Error::Restricted { code: ErrorCode::AccountDisabled, message: "An admin disabled this account.".to_owned() })
            }
            // Admins are never held back (nobody could confirm the first account for them), nor
            // accounts without an address, which predate the requirement and cannot confirm.
            Some(user)
                if verified
                    && self.auth.require_email_verification
                    && user.email.is_some()
                    && !user.email_verified()
                    && !user.admin() =>
            {
                Err(Error::Restricted {
                    code: ErrorCode::EmailNotVerified,
                    message: "Confirm your email address first: follow the link we mailed you.".to_owned(),
                })
            }
            Some(user) if verified => {
                // A proven device keeps its cookie; a new one gets its own.
                let device_cookie = match (proven, device) {
                    (Some(_), Some(cookie)) => cookie.to_owned(),
                    _ => devices.issue(user.id),
                };
                self.start_session(user, device_cookie, origin).await
            }
            _ => Err(Error::InvalidCredentials),
        }
    }

    /// The signer of device cookies, with its key from the database (made on first use).
    pub(super) async fn device_cookies(&self) -> Result<&DeviceCookies> {
        self.devices
            .get_or_try_init(|| async {
                let fresh = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
                self.store.claim_setting(DEVICE_KEY_SETTING, &fresh).await?;
                let key = self.store.get_setting(DEVICE_KEY_SETTING).await?.ok_or(Error::NotFound("Device key"))?;
                Ok(DeviceCookies::new(key.into_bytes()))
            })
            .await
    }

    /// Ends the caller's session and closes gateway connections that used it.
    pub async fn logout(&self, principal: &Principal) -> Result<()> {
        self.store.delete_session(principal.login_session_id).await?;
        self.hub.end_login_session(principal.login_session_id);
        Ok(())
    }

    /// The caller a bearer token belongs to.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        if token.is_empty() || token.len() > 128 {
            return Err(Error::Unauthenticated);
        }
        let now = now_ms();
        let row = self.store.get_session(&token_hash(token), now).await?.ok_or(Error::Unauthenticated)?;
        // Kept to the minute: a write per request would cost more than the list is worth.
        if now - row.last_used_at >= LAST_USED_RESOLUTION_MS {
            self.store.touch_session(row.session_id, now).await?;
        }
        Ok(Principal {
            user_id: row.user_id,
            username: row.username.clone(),
            admin: row.admin(),
            login_session_id: row.session_id,
        })
    }

    async fn start_session(&self, user: UserRow, device_cookie: String, origin: &SessionOrigin) -> Result<NewSession> {
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let now = now_ms();
        let ttl_ms = i64::from(self.auth.session_ttl_days) * 86_400_000;
        let session_id = self.next_id();
        let (ip, agent) = (origin.ip.to_string(), origin.user_agent());
        self.store.insert_session(session_id, &token_hash(&token), user.id, now, now + ttl_ms, &ip, &agent).await?;
        let principal =
            Principal { user_id: user.id, username: user.username.clone(), admin: user.admin(), login_session_id: session_id };
        Ok(NewSession { token, principal, user: user.to_wire(), max_age_secs: ttl_ms / 1000, device_cookie })
    }

    pub(super) async fn hash_password(&self, password: Password) -> Result<String> {
        self.hashing.hash(password.expose().to_owned()).await
    }

    pub(super) async fn verify_password(&self, password: String, hash: String) -> Result<bool> {
        self.hashing.verify(password, hash).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use argon2::{Argon2, PasswordVerifier};

    #[test]
    fn the_decoy_hash_is_a_valid_argon2id_hash() {
        let err = Argon2::default().verify_password(b"anything", DECOY_HASH).unwrap_err();
        assert!(matches!(err, argon2::password_hash::Error::PasswordInvalid), "{err:?}");
    }

    #[test]
    fn token_hashes_are_hex_sha256() {
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
