//! Accounts: insert, look up by id, name or email, list.

use sqlx::FromRow;

use super::{Result, Store, flag};

/// An account as stored.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    /// Account id.
    pub id: i64,
    /// Username with its original case.
    pub username: String,
    /// Optional email address.
    pub email: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    admin: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    disabled: i64,
    /// Until when (unix milliseconds) the account may not post, type or speak.
    pub timeout_until: Option<i64>,
}

impl UserRow {
    /// Whether the account administers the server.
    pub fn admin(&self) -> bool {
        flag(self.admin)
    }

    /// Whether an admin disabled the account.
    pub fn disabled(&self) -> bool {
        flag(self.disabled)
    }
}

/// What `insert_user` writes.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// New account id.
    pub id: i64,
    /// Username as typed.
    pub username: &'a str,
    /// Lower-cased username, unique.
    pub username_key: &'a str,
    /// Email as typed.
    pub email: Option<&'a str>,
    /// Lower-cased email, unique.
    pub email_key: Option<&'a str>,
    /// Argon2id PHC string.
    pub password_hash: &'a str,
    /// Administrator flag as requested; the first account is an admin regardless.
    pub admin: bool,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Columns of [`UserRow`], as a macro so queries stay `'static` strings.
macro_rules! user_columns {
    () => {
        "id, username, email, password_hash, admin, created_at, disabled, timeout_until"
    };
}

impl Store {
    /// Inserts an account; `Conflict` when the username or email is taken. In the same
    /// transaction it claims the settings latch `first_account`: the account that claims it is
    /// an admin whatever `user.admin` says. Returns whether the account is an admin. A failed
    /// insert rolls the claim back, so the next account to be created becomes the first.
    pub async fn insert_user(&self, user: &NewUser<'_>, first_account: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(first_account)
            .bind(user.id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        let admin = user.admin || claimed;
        sqlx::query(
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash, admin, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(user.id)
        .bind(user.username)
        .bind(user.username_key)
        .bind(user.email)
        .bind(user.email_key)
        .bind(user.password_hash)
        .bind(i64::from(admin))
        .bind(user.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(admin)
    }

    /// The account with this id.
    pub async fn get_user(&self, id: i64) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The account whose lower-cased username or email equals `key`.
    pub async fn get_user_by_login(&self, key: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE username_key = $1 OR email_key = $1"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// How many accounts there are, disabled ones included.
    pub async fn count_users(&self) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
        Ok(count)
    }

    /// Every account, oldest first.
    pub async fn list_users(&self) -> Result<Vec<UserRow>> {
        Ok(sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users ORDER BY id")).fetch_all(&self.pool).await?)
    }
}
