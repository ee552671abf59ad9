//! Use cases of the chat: accounts, channels, messages, settings. Each checks who may do it,
//! writes through the [`Store`] and tells connected clients through the [`Hub`].

mod account;
mod admin;
mod auth;
pub mod avatar;
mod channels;
mod device;
mod invites;
mod locks;
mod mentions;
mod messages;
mod password;
pub mod previews;
mod profile;
mod reads;
mod recovery;
pub mod settings;
mod voice;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cromulent_proto::ErrorCode;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use auth::{LoginLimits, NewSession, Registered, SessionOrigin};
pub use messages::Posted;
pub use voice::Voice;

use crate::config::{AuthConfig, ChatConfig};
use crate::domain::id::IdGenerator;
use crate::domain::principal::Principal;
use crate::domain::text::Invalid;
use crate::hub::Hub;
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;
use password::PasswordHashing;

/// A failed use case, typed so each transport maps it once to a status or error frame.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Some input broke a rule.
    #[error("{0}")]
    Invalid(Invalid),
    /// No valid session came with the request.
    #[error("You need to log in.")]
    Unauthenticated,
    /// Unknown account or wrong password.
    #[error("Wrong username or password.")]
    InvalidCredentials,
    /// A logged-in user's own password, asked again to confirm something, is wrong.
    #[error("That password is wrong.")]
    WrongPassword {
        /// The request field that held it.
        field: &'static str,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// An admin closed registration.
    #[error("Registration is closed on this server.")]
    RegistrationClosed,
    /// The thing does not exist, or the caller may not know it does.
    #[error("{0} not found.")]
    NotFound(&'static str),
    /// A unique value is already taken.
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `username_taken`.
        code: ErrorCode,
        /// Field at fault.
        field: &'static str,
        /// A sentence for people.
        message: &'static str,
    },
    /// The channel is of the wrong kind for this action.
    #[error("This is a {actual} channel; the action needs a {needed} channel.")]
    WrongChannelKind {
        /// Kind the action needs.
        needed: &'static str,
        /// Kind the channel has.
        actual: &'static str,
    },
    /// The action is refused in the current state (voice: already joined elsewhere, not in the
    /// same channel, signal too large…).
    #[error("{message}")]
    Refused {
        /// Stable code, e.g. `already_in_channel`.
        code: ErrorCode,
        /// A sentence for people.
        message: &'static str,
    },
    /// An admin restricted the account: disabled, or timed out for now.
    #[error("{message}")]
    Restricted {
        /// `account_disabled` or `timed_out`.
        code: ErrorCode,
        /// A sentence for people.
        message: String,
    },
    /// Slow mode: wait before posting in this channel again.
    #[error("This channel is in slow mode; you can post again in {retry_after_secs} s.")]
    Slowmode {
        /// Seconds until the member may post here again.
        retry_after_secs: u64,
    },
    /// Too many attempts; try again later.
    #[error("Too many attempts; try again in {retry_after_secs} s.")]
    RateLimited {
        /// Seconds until an attempt is allowed again.
        retry_after_secs: u64,
    },
    /// The database is away; nothing was written. Try again shortly.
    #[error("The database is not answering; nothing was saved. Try again in a moment.")]
    Unavailable,
    /// The disk is full; nothing was written.
    #[error("The server's disk is full; nothing was saved.")]
    InsufficientStorage,
    /// The database failed.
    #[error("internal error")]
    Store(StoreError),
    /// Password hashing failed.
    #[error("internal error")]
    Hashing,
    /// Some other step on the server failed (what, for the log).
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            // A row referenced by the write vanished concurrently (e.g. its channel was deleted).
            StoreError::MissingReference => Error::NotFound("Channel or user"),
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Error::Unavailable
            }
            StoreError::Full(cause) => {
                tracing::error!(error = %cause, "database full");
                Error::InsufficientStorage
            }
            other => Error::Store(other),
        }
    }
}

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Self {
        Error::Invalid(invalid)
    }
}

impl Error {
    /// The stable code clients switch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid(invalid) => invalid.code,
            Error::Unauthenticated => ErrorCode::Unauthenticated,
            Error::InvalidCredentials | Error::WrongPassword { .. } => ErrorCode::InvalidCredentials,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::RegistrationClosed => ErrorCode::RegistrationClosed,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict { code, .. } | Error::Refused { code, .. } | Error::Restricted { code, .. } => *code,
            Error::WrongChannelKind { needed: "voice", .. } => ErrorCode::NotAVoiceChannel,
            Error::WrongChannelKind { .. } => ErrorCode::WrongChannelKind,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::Slowmode { .. } => ErrorCode::Slowmode,
            Error::Unavailable => ErrorCode::Unavailable,
            Error::InsufficientStorage => ErrorCode::InsufficientStorage,
            Error::Store(_) | Error::Hashing | Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The request field at fault, when there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Error::Invalid(invalid) => Some(invalid.field),
            Error::Conflict { field, .. } | Error::WrongPassword { field } => Some(field),
            _ => None,
        }
    }
}

/// Result of a use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The chat's use cases; cheap to clone.
#[derive(Clone)]
pub struct Chat {
    store: Store,
    hub: Hub,
    ids: Arc<IdGenerator>,
    /// Argon2 hashes in bounded memory.
    hashing: Arc<PasswordHashing>,
    limits: Arc<LoginLimits>,
    /// Signs device cookies; its key is read from the database on first use.
    devices: Arc<tokio::sync::OnceCell<device::DeviceCookies>>,
    /// Messages per user, over every transport.
    messages: Arc<DefaultKeyedRateLimiter<i64>>,
    /// Connection tests per client address (they hand out relay credentials before login).
    probes: Arc<DefaultKeyedRateLimiter<std::net::IpAddr>>,
    locks: Arc<locks::ChannelLocks>,
    voice: Arc<Voice>,
    auth: AuthConfig,
    /// Timed-out accounts and when their timeout ends, read on every post, typing and join.
    timeouts: Arc<std::sync::RwLock<std::collections::HashMap<i64, i64>>>,
    /// Changes to who administers the server, one at a time, so two admins demoting each other
    /// at once cannot leave none.
    admin_changes: Arc<tokio::sync::Mutex<()>>,
    /// When each member last posted in each slow-mode channel.
    slowmode: Arc<std::sync::Mutex<std::collections::HashMap<(i64, i64), i64>>>,
    /// How long the audit log keeps an entry, in milliseconds.
    audit_retention_ms: i64,
    /// Run-time settings the configuration sets, with where.
    locked: Arc<std::collections::BTreeMap<String, String>>,
    /// Builds an ICE provider from settings (the wiring knows the relay and configuration).
    ice_factory: Option<Arc<settings::IceFactory>>,
    /// The ICE settings in effect, secrets included (never shown).
    ice_settings: Arc<std::sync::RwLock<cromulent_proto::admin::IceSettings>>,
    /// Counters for `/metrics` (no-ops when metrics are off).
    metrics: Metrics,
    /// Sends password reset and confirmation links; `None` while `[smtp]` is off.
    mailer: Option<Arc<crate::mail::Mailer>>,
    /// Asking for mailed links, per client and per address.
    links: Arc<recovery::LinkLimits>,
    /// Avatar uploads per user.
    avatar_uploads: Arc<DefaultKeyedRateLimiter<i64>>,
    /// Turns to decode an image: a few at once, so uploads cannot take every core or much memory.
    image_work: Arc<tokio::sync::Semaphore>,
    /// Fetches link previews; `None` while `links.previews` is off.
    previews: Option<Arc<crate::preview::LinkFetcher>>,
    /// Link previews being fetched at once.
    preview_slots: Arc<tokio::sync::Semaphore>,
}

/// Connection tests one address may start per minute: each lasts about ten seconds, so this
/// allows retries but not a stream of relay credentials.
const PROBES_PER_MINUTE: NonZeroU32 = NonZeroU32::new(6).expect("not zero");

impl Chat {
    /// Use cases over `store`, announcing events on `hub`, with voice as `voice` runs it.
    pub fn new(store: Store, hub: Hub, ids: Arc<IdGenerator>, auth: AuthConfig, chat: &ChatConfig, voice: Voice) -> Chat {
        let hashes = match auth.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n as usize,
        };
        let period = Duration::from_secs(10) / chat.messages_per_10s.max(1);
        let burst = NonZeroU32::new(chat.message_burst.max(1)).expect("at least one");
        let messages = Quota::with_period(period).expect("a positive period").allow_burst(burst);
        Chat {
            store,
            hub,
            ids,
            hashing: Arc::new(PasswordHashing::new(hashes)),
            limits: Arc::new(LoginLimits::new(&auth)),
            devices: Arc::default(),
            messages: Arc::new(RateLimiter::keyed(messages)),
            probes: Arc::new(RateLimiter::keyed(Quota::per_minute(PROBES_PER_MINUTE))),
            locks: Arc::default(),
            voice: Arc::new(voice),
            auth,
            timeouts: Arc::default(),
            admin_changes: Arc::default(),
            slowmode: Arc::default(),
            audit_retention_ms: 90 * 86_400_000,
            locked: Arc::default(),
            ice_factory: None,
            ice_settings: Arc::default(),
            metrics: Metrics::off(),
            mailer: None,
            links: Arc::default(),
            avatar_uploads: Arc::new(avatar::upload_limiter()),
            image_work: Arc::new(tokio::sync::Semaphore::new(avatar::CONCURRENT_DECODES)),
            previews: None,
            preview_slots: Arc::new(tokio::sync::Semaphore::new(previews::CONCURRENT_PREVIEWS)),
        }
    }

    /// The same, counting what it does in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Chat {
        self.metrics = metrics;
        self
    }

    /// The instruments use cases and transports count in.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The same, able to switch ICE providers at run time: `factory` builds one from settings,
    /// and `current` are the settings the running one was built from.
    pub fn with_ice_factory(mut self, factory: Arc<settings::IceFactory>, current: cromulent_proto::admin::IceSettings) -> Chat {
        self.ice_factory = Some(factory);
        self.ice_settings = Arc::new(std::sync::RwLock::new(current));
        self
    }

    /// The same, with run-time settings the configuration sets (see `Config::locked`).
    pub fn with_locked(mut self, locked: std::collections::BTreeMap<String, String>) -> Chat {
        self.locked = Arc::new(locked);
        self
    }

    /// The same, keeping audit log entries `days` days.
    pub fn with_audit_retention(mut self, days: u32) -> Chat {
        self.audit_retention_ms = i64::from(days) * 86_400_000;
        self
    }

    /// The hub events go to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn next_id(&self) -> i64 {
        self.ids.next(now_ms())
    }

    /// Drops rate-limit state of quiet clients, forgets audit entries past their retention and
    /// expired login sessions, and closes the gateway connections that still used those.
    pub async fn tidy(&self) -> Result<()> {
        self.limits.forget_quiet();
        self.messages.retain_recent();
        self.probes.retain_recent();
        self.links.forget_quiet();
        self.avatar_uploads.retain_recent();
        self.store.delete_expired_account_tokens(now_ms()).await?;
        // Nobody waits longer than the longest slow mode.
        let horizon = now_ms() - 6 * 3_600_000;
        self.slowmode.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, at| *at > horizon);
        let now = now_ms();
        self.timeouts.write().unwrap_or_else(|p| p.into_inner()).retain(|_, until| *until > now);
        let forgotten = self.store.delete_audit_before(now_ms() - self.audit_retention_ms).await?;
        if forgotten > 0 {
            tracing::debug!(forgotten, "old audit log entries removed");
        }
        let expired = self.store.delete_expired_sessions(now_ms()).await?;
        for login_session in &expired {
            self.hub.end_login_session(*login_session);
        }
        if !expired.is_empty() {
            tracing::debug!(expired = expired.len(), "expired sessions removed");
        }
        Ok(())
    }
}

/// `429 rate_limited` for a limiter's refusal, with the whole seconds until it allows again.
fn rate_limited(not_until: governor::NotUntil<<governor::clock::DefaultClock as governor::clock::Clock>::Instant>) -> Error {
    use governor::clock::{Clock, DefaultClock};
    Error::RateLimited { retry_after_secs: not_until.wait_time_from(DefaultClock::default().now()).as_secs() + 1 }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
