//! Login sessions, keyed by the SHA-256 of their token so a leaked database leaks no session.

use sqlx::FromRow;

use super::{Result, Store, flag};

/// A live session joined with its account.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    /// Session id (not the token).
    pub session_id: i64,
    /// Account id.
    pub user_id: i64,
    /// Account username.
    pub username: String,
    admin: i64,
    /// Unix milliseconds after which the token is refused.
    pub expires_at: i64,
    /// When the token was last used (unix ms, kept to the minute).
    pub last_used_at: i64,
}

/// A session as its owner sees it in the list of where they are logged in.
#[derive(Debug, Clone, FromRow)]
pub struct SessionListRow {
    /// Session id (not the token).
    pub id: i64,
    /// When it was opened (unix ms).
    pub created_at: i64,
    /// When it was last used (unix ms, to the minute).
    pub last_used_at: i64,
    /// The address it was opened from.
    pub ip: String,
    /// The browser or client that opened it.
    pub user_agent: String,
}

impl SessionRow {
    /// Whether the account administers the server.
    pub fn admin(&self) -> bool {
        flag(self.admin)
    }
}

impl Store {
    /// Records a session for `user_id`, opened from `ip` by `user_agent`.
    #[allow(clippy::too_many_arguments, reason = "one column each")]
    pub async fn insert_session(
        &self,
        id: i64,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
        ip: &str,
        user_agent: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at, last_used_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $4, $6, $7)",
        )
        .bind(id)
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .bind(ip)
        .bind(user_agent)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Notes that session `id` was used at `now`.
    pub async fn touch_session(&self, id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_used_at = $2 WHERE id = $1").bind(id).bind(now).execute(&self.pool).await?;
        Ok(())
    }

    /// The unexpired sessions of `user_id`, most recently used first.
    pub async fn list_sessions(&self, user_id: i64, now: i64) -> Result<Vec<SessionListRow>> {
        Ok(sqlx::query_as(
            "SELECT id, created_at, last_used_at, ip, user_agent FROM sessions \
             WHERE user_id = $1 AND expires_at > $2 ORDER BY last_used_at DESC, id DESC",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ends session `id` if it belongs to `user_id`; whether it did.
    pub async fn delete_session_of(&self, user_id: i64, id: i64) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2").bind(id).bind(user_id).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends every session of `user_id` but `keep`; returns their ids.
    pub async fn delete_sessions_except(&self, user_id: i64, keep: i64) -> Result<Vec<i64>> {
        let ended: Vec<(i64,)> = sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id")
            .bind(user_id)
            .bind(keep)
            .fetch_all(&self.pool)
            .await?;
        Ok(ended.into_iter().map(|(id,)| id).collect())
    }

    /// Sets `user_id`'s password hash and ends every other session of theirs, at once; returns
    /// the ended sessions' ids.
    pub async fn change_password_hash(&self, user_id: i64, hash: &str, keep: i64) -> Result<Vec<i64>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1").bind(user_id).bind(hash).execute(&mut *tx).await?;
        let ended: Vec<(i64,)> = sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id")
            .bind(user_id)
            .bind(keep)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ended.into_iter().map(|(id,)| id).collect())
    }

    /// The unexpired session whose token hashes to `token_hash`.
    pub async fn get_session(&self, token_hash: &str, now: i64) -> Result<Option<SessionRow>> {
        Ok(sqlx::query_as(
            "SELECT s.id AS session_id, s.user_id, u.username, u.admin, s.expires_at, s.last_used_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Ends one session.
    pub async fn delete_session(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Forgets sessions that expired at or before `now`; returns their ids.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("DELETE FROM sessions WHERE expires_at <= $1 RETURNING id").bind(now).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
