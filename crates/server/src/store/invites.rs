//! Invite codes and their use counts.

use sqlx::FromRow;

use super::{Result, Store};

/// An invite as stored.
#[derive(Debug, Clone, FromRow)]
pub struct InviteRow {
    /// The code.
    pub code: String,
    /// Who created it.
    pub creator_id: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds, if it expires.
    pub expires_at: Option<i64>,
    /// How many registrations it allows, if limited.
    pub max_uses: Option<i64>,
    /// Registrations so far.
    pub uses: i64,
}

impl Store {
    /// Stores a new invite.
    pub async fn insert_invite(&self, invite: &InviteRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO invites (code, creator_id, created_at, expires_at, max_uses, uses) VALUES ($1, $2, $3, $4, $5, 0)",
        )
        .bind(&invite.code)
        .bind(invite.creator_id)
        .bind(invite.created_at)
        .bind(invite.expires_at)
        .bind(invite.max_uses)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Invites, newest first; only `creator`'s when given.
    pub async fn list_invites(&self, creator: Option<i64>) -> Result<Vec<InviteRow>> {
        Ok(sqlx::query_as(
            "SELECT code, creator_id, created_at, expires_at, max_uses, uses FROM invites \
             WHERE $1 IS NULL OR creator_id = $1 ORDER BY created_at DESC",
        )
        .bind(creator)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The invite with this code.
    pub async fn get_invite(&self, code: &str) -> Result<Option<InviteRow>> {
        Ok(sqlx::query_as("SELECT code, creator_id, created_at, expires_at, max_uses, uses FROM invites WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Deletes an invite; whether it existed.
    pub async fn delete_invite(&self, code: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM invites WHERE code = $1").bind(code).execute(&self.pool).await?.rows_affected() == 1)
    }

    /// Counts one registration against an invite if it is still good at `now`, in one
    /// statement so two registrations cannot both take its last use.
    pub async fn use_invite(&self, code: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE invites SET uses = uses + 1 WHERE code = $1 \
             AND (max_uses IS NULL OR uses < max_uses) AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(code)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a use back (the registration it was taken for failed).
    pub async fn return_invite_use(&self, code: &str) -> Result<()> {
        sqlx::query("UPDATE invites SET uses = uses - 1 WHERE code = $1 AND uses > 0").bind(code).execute(&self.pool).await?;
        Ok(())
    }
}
