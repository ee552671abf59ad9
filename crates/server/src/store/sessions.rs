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
}

impl SessionRow {
    /// Whether the account administers the server.
    pub fn admin(&self) -> bool {
        flag(self.admin)
    }
}

impl Store {
    /// Records a session for `user_id`.
    pub async fn insert_session(&self, id: i64, token_hash: &str, user_id: i64, now: i64, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The unexpired session whose token hashes to `token_hash`.
    pub async fn get_session(&self, token_hash: &str, now: i64) -> Result<Option<SessionRow>> {
        Ok(sqlx::query_as(
            "SELECT s.id AS session_id, s.user_id, u.username, u.admin, s.expires_at \
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
