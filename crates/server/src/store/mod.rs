//! All SQL lives here: one code path for SQLite and PostgreSQL through sqlx's `Any` driver.
//! Portable rules: `$N` placeholders, BIGINT for integers and flags, TEXT for strings.

mod avatars;
mod backup;
mod channels;
mod invites;
// Its `select_messages!` serves `reads` too.
#[macro_use]
mod messages;
mod moderation;
mod reads;
pub mod schema;
mod sessions;
mod settings;
mod tokens;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

pub use channels::{ChannelChange, ChannelRow, NewChannel};
pub use invites::InviteRow;
pub use messages::{MessageMentions, MessageRow, NewMessage};
pub use moderation::AuditRow;
pub use reads::COUNT_CAP;
pub use sessions::{SessionListRow, SessionRow};
pub use tokens::{NewToken, TokenPurpose};
pub use users::{NewUser, ProfileChange, UserRow};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a request waits for a database connection before it is answered `unavailable`:
/// while the database is away, requests fail fast instead of piling up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A storage failure, typed so the service layer can tell a conflict from an outage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write.
    #[error("a row with the same unique value already exists")]
    Conflict,
    /// A foreign key refused the write (the referenced row is gone).
    #[error("a referenced row does not exist")]
    MissingReference,
    /// The database URL is not one Cromulent supports.
    #[error("unsupported database URL (use sqlite://PATH or postgres://…)")]
    UnsupportedUrl,
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database cannot be reached or is shutting down, busy or out of connections: nothing
    /// was written, and the same request may work shortly.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// The disk (or the database's quota) is full: nothing was written.
    #[error("database full: {0}")]
    Full(sqlx::Error),
    /// A copy this store cannot make.
    #[error("{0}")]
    Backup(&'static str),
    /// Anything else from the driver.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(db) = err.as_database_error() {
            if db.is_unique_violation() {
                return StoreError::Conflict;
            }
            if db.is_foreign_key_violation() {
                return StoreError::MissingReference;
            }
            return match db.code().as_deref().map(outage) {
                Some(Some(Outage::Unavailable)) => StoreError::Unavailable(err),
                Some(Some(Outage::Full)) => StoreError::Full(err),
                _ => StoreError::Database(err),
            };
        }
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err),
            other => StoreError::Database(other),
        }
    }
}

/// An error code that means the database is away or full rather than the query wrong.
enum Outage {
    Unavailable,
    Full,
}

/// Classifies a PostgreSQL SQLSTATE or a SQLite result code.
fn outage(code: &str) -> Option<Outage> {
    match code {
        // PostgreSQL: disk full; connection exceptions; shutting down or starting up; too many
        // connections; out of memory.
        "53100" => Some(Outage::Full),
        _ if code.starts_with("08") => Some(Outage::Unavailable),
        "57P01" | "57P02" | "57P03" | "53300" | "53200" => Some(Outage::Unavailable),
        // SQLite: SQLITE_FULL; SQLITE_BUSY and SQLITE_LOCKED with their extended codes.
        "13" => Some(Outage::Full),
        "5" | "6" | "261" | "262" | "517" => Some(Outage::Unavailable),
        _ => None,
    }
}

/// Result of a store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database engine sits behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (the default).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The engine `url` names: `sqlite:…`, or `postgres:…` / `postgresql:…`.
    pub fn of_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

/// The database: a connection pool plus the backend it talks to.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`), creating a SQLite file if needed,
    /// and applies pending migrations.
    pub async fn open(url: &str) -> Result<Store> {
        let backend = Backend::of_url(url)?;
        let mut url = url.to_owned();
        if backend == Backend::Sqlite && !url.contains("mode=") {
            url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
        }
        let max_connections = match backend {
            // SQLite serialises writers; a few readers beside one writer is all it can use.
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        };
        let store = Store::connect(&url, backend, max_connections).await?;
        if backend == Backend::Sqlite {
            // WAL lets readers proceed while a message is written; the setting persists in the file.
            sqlx::query("PRAGMA journal_mode=WAL").execute(&store.pool).await?;
        }
        MIGRATOR.run(&store.pool).await?;
        Ok(store)
    }

    /// Connects to the existing database at `url` as it is, creating and migrating nothing, for
    /// a command run beside a live server: the server owns the schema, and a SQLite file that
    /// is not there is an error rather than a new empty database.
    pub async fn open_existing(url: &str) -> Result<Store> {
        Store::connect(url, Backend::of_url(url)?, 1).await
    }

    async fn connect(url: &str, backend: Backend, max_connections: u32) -> Result<Store> {
        sqlx::any::install_default_drivers();
        // Statement logging at INFO would write message contents and token hashes to the log.
        let options = AnyConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Trace);
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_with(options)
            .await?;
        Ok(Store { pool, backend })
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers once the database can run a query.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The largest id stored in any table, so new ids stay above it even if the clock stepped back.
    pub async fn max_id(&self) -> Result<i64> {
        let (max,): (i64,) = sqlx::query_as(
            "SELECT MAX(id) FROM (SELECT COALESCE(MAX(id), 0) AS id FROM users UNION ALL SELECT COALESCE(MAX(id), 0) FROM sessions \
             UNION ALL SELECT COALESCE(MAX(id), 0) FROM channels UNION ALL SELECT COALESCE(MAX(id), 0) FROM messages) AS ids",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(max)
    }

    /// Connections the pool holds: `(idle, in use)`.
    pub fn pool_connections(&self) -> (usize, usize) {
        let idle = self.pool.num_idle();
        (idle, (self.pool.size() as usize).saturating_sub(idle))
    }

    /// Waits for in-flight queries and closes every connection (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Turns a stored 0/1 flag into a bool.
fn flag(value: i64) -> bool {
    value != 0
}

/// `$first, $first+1, …` for `count` values: SQL for an `IN (…)` list or a multi-row `VALUES`
/// whose length is only known at run time. The text holds placeholders only, never a value, so
/// it stays as safe from injection as a literal; sqlx's query builder would write `?`, which
/// PostgreSQL does not take through the `Any` driver.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}
