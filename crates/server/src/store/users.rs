//! Accounts: insert, look up by id, name or email, list; the owner's own changes (profile,
//! preferences, confirmed address) and deleting an account while keeping its messages.

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
    /// The name shown instead of the username, when set.
    pub display_name: Option<String>,
    /// Version of the current avatar, when there is one.
    pub avatar: Option<String>,
    deleted: i64,
    email_verified: i64,
    /// JSON object of the preferences the user set.
    pub preferences: String,
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

    /// Whether the account was deleted (its row stays for its messages' sake).
    pub fn deleted(&self) -> bool {
        flag(self.deleted)
    }

    /// Whether the owner confirmed the email address.
    pub fn email_verified(&self) -> bool {
        flag(self.email_verified)
    }
}

/// A change of an account's profile; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange<'a> {
    /// New username and its unique key.
    pub username: Option<(&'a str, &'a str)>,
    /// New email and its unique key, or `Some(None)` for none; a new address is unconfirmed.
    pub email: Option<Option<(&'a str, &'a str)>>,
    /// New display name, or `Some(None)` for none.
    pub display_name: Option<Option<&'a str>>,
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
    /// Whether the email address counts as confirmed.
    pub email_verified: bool,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Columns of [`UserRow`], as a macro so queries stay `'static` strings.
macro_rules! user_columns {
    () => {
        "id, username, email, password_hash, admin, created_at, disabled, timeout_until, display_name, avatar, deleted, \
         email_verified, preferences"
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
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash, admin, created_at, email_verified) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(user.id)
        .bind(user.username)
        .bind(user.username_key)
        .bind(user.email)
        .bind(user.email_key)
        .bind(user.password_hash)
        .bind(i64::from(admin))
        .bind(user.created_at)
        .bind(i64::from(user.email_verified))
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

    /// The account whose lower-cased username or email equals `key` (never a deleted one).
    pub async fn get_user_by_login(&self, key: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE (username_key = $1 OR email_key = $1) AND deleted = 0"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The account with this lower-cased email address (never a deleted one).
    pub async fn get_user_by_email(&self, email_key: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE email_key = $1 AND deleted = 0"))
            .bind(email_key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// How many accounts there are, disabled ones included.
    pub async fn count_users(&self) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
        Ok(count)
    }

    /// Every account but deleted ones, oldest first.
    pub async fn list_users(&self) -> Result<Vec<UserRow>> {
        Ok(sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE deleted = 0 ORDER BY id"))
            .fetch_all(&self.pool)
            .await?)
    }

    /// Changes an account's profile; `Conflict` when the username or email is taken. A new
    /// email address is unconfirmed until its owner follows the mailed link.
    pub async fn update_profile(&self, id: i64, change: &ProfileChange<'_>) -> Result<()> {
        let (username, username_key) = change.username.unzip();
        let set_email = change.email.is_some();
        let (email, email_key) = change.email.flatten().unzip();
        let set_display = change.display_name.is_some();
        sqlx::query(
            "UPDATE users SET \
             username = COALESCE($2, username), username_key = COALESCE($3, username_key), \
             email = CASE WHEN $4 = 1 THEN $5 ELSE email END, \
             email_key = CASE WHEN $4 = 1 THEN $6 ELSE email_key END, \
             email_verified = CASE WHEN $4 = 1 THEN 0 ELSE email_verified END, \
             display_name = CASE WHEN $7 = 1 THEN $8 ELSE display_name END \
             WHERE id = $1 AND deleted = 0",
        )
        .bind(id)
        .bind(username)
        .bind(username_key)
        .bind(i64::from(set_email))
        .bind(email)
        .bind(email_key)
        .bind(i64::from(set_display))
        .bind(change.display_name.flatten())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores the preferences the user set, as a JSON object.
    pub async fn set_preferences(&self, id: i64, json: &str) -> Result<()> {
        sqlx::query("UPDATE users SET preferences = $2 WHERE id = $1").bind(id).bind(json).execute(&self.pool).await?;
        Ok(())
    }

    /// Marks `email` confirmed for `id`, if it is still the account's address; whether it was.
    pub async fn confirm_email(&self, id: i64, email: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET email_verified = 1 WHERE id = $1 AND email = $2 AND deleted = 0")
            .bind(id)
            .bind(email)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes an account but keeps its row, so its messages keep an author: the row forgets
    /// everything personal (name, email, password, avatar, preferences) and reads `Deleted
    /// user`; its sessions, memberships, avatar, tokens, read state and mentions go. `None` when that would leave
    /// the server without an enabled admin (nothing changes); otherwise the ended sessions.
    pub async fn delete_account(&self, id: i64) -> Result<Option<Vec<i64>>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET username = 'Deleted user', username_key = $2, email = NULL, email_key = NULL, \
             password_hash = '', admin = 0, display_name = NULL, avatar = NULL, deleted = 1, email_verified = 0, \
             preferences = '{}', timeout_until = NULL WHERE id = $1",
        )
        .bind(id)
        // Usernames cannot contain '#', so this key never meets a real one.
        .bind(format!("#deleted-{id}"))
        .execute(&mut *tx)
        .await?;
        let (admins,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE admin = 1 AND disabled = 0").fetch_one(&mut *tx).await?;
        if admins == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let ended: Vec<(i64,)> =
            sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 RETURNING id").bind(id).fetch_all(&mut *tx).await?;
        sqlx::query("DELETE FROM channel_members WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM avatars WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM account_tokens WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM read_states WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM notification_levels WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM message_mentions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(ended.into_iter().map(|(id,)| id).collect()))
    }
}

impl Store {
    /// The enabled accounts among lower-cased usernames `keys`: their ids and admin flags.
    pub async fn users_by_keys(&self, keys: &[String]) -> Result<Vec<(i64, bool)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, admin FROM users WHERE deleted = 0 AND disabled = 0 AND username_key IN ({})",
            super::placeholders(1, keys.len())
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for key in keys {
            query = query.bind(key.as_str());
        }
        let rows: Vec<(i64, i64)> = query.fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(id, admin)| (id, flag(admin))).collect())
    }

    /// Ids of the admins.
    pub async fn admin_ids(&self) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE admin = 1").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
