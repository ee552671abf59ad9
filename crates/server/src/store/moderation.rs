//! What admins change about accounts (admin flag, disabled, timeout, password), the sessions
//! and messages that go with a ban, and the audit log of admin actions.

use sqlx::FromRow;

use super::{Result, Store, UserRow};

/// One audit log entry.
#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    /// Entry id (time-ordered).
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    /// The admin who acted.
    pub actor_id: i64,
    /// What was done, e.g. `user.disable`.
    pub action: String,
    /// What it was done to.
    pub target: Option<String>,
    /// The admin's reason.
    pub reason: Option<String>,
    /// What changed.
    pub detail: Option<String>,
}

impl Store {
    /// Sets an account's admin and disabled flags where given, unless that would leave no
    /// enabled admin: then nothing changes and the answer is `Ok(None)`. `Err` only for the
    /// database; a missing account is `Ok(Some(None))`.
    pub async fn update_user_flags(
        &self,
        id: i64,
        admin: Option<bool>,
        disabled: Option<bool>,
    ) -> Result<Option<Option<UserRow>>> {
        let mut tx = self.pool.begin().await?;
        let changed =
            sqlx::query("UPDATE users SET admin = COALESCE($2, admin), disabled = COALESCE($3, disabled) WHERE id = $1")
                .bind(id)
                .bind(admin.map(i64::from))
                .bind(disabled.map(i64::from))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if changed == 0 {
            return Ok(Some(None));
        }
        let (admins,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE admin = 1 AND disabled = 0").fetch_one(&mut *tx).await?;
        if admins == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(self.get_user(id).await?))
    }

    /// Sets or clears an account's timeout; whether the account exists.
    pub async fn set_timeout(&self, id: i64, until: Option<i64>) -> Result<bool> {
        let done =
            sqlx::query("UPDATE users SET timeout_until = $2 WHERE id = $1").bind(id).bind(until).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Accounts timed out past `now`, with the time their timeout ends.
    pub async fn active_timeouts(&self, now: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as("SELECT id, timeout_until FROM users WHERE timeout_until > $1").bind(now).fetch_all(&self.pool).await?)
    }

    /// Replaces an account's password hash and ends all its sessions, in one transaction;
    /// returns the ended sessions' ids, or `None` when there is no such account.
    pub async fn set_password_hash(&self, id: i64, hash: &str) -> Result<Option<Vec<i64>>> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1").bind(id).bind(hash).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let ended: Vec<(i64,)> =
            sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 RETURNING id").bind(id).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(ended.into_iter().map(|(id,)| id).collect()))
    }

    /// Ends every session of an account; returns their ids.
    pub async fn delete_user_sessions(&self, user_id: i64) -> Result<Vec<i64>> {
        let ended: Vec<(i64,)> =
            sqlx::query_as("DELETE FROM sessions WHERE user_id = $1 RETURNING id").bind(user_id).fetch_all(&self.pool).await?;
        Ok(ended.into_iter().map(|(id,)| id).collect())
    }

    /// Deletes an account's messages posted at or after `since`; returns `(message, channel)` ids.
    pub async fn delete_messages_since(&self, author_id: i64, since: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as("DELETE FROM messages WHERE author_id = $1 AND created_at >= $2 RETURNING id, channel_id")
            .bind(author_id)
            .bind(since)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Appends to the audit log.
    pub async fn insert_audit(&self, entry: &AuditRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_id, action, target, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.id)
        .bind(entry.at)
        .bind(entry.actor_id)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.reason)
        .bind(&entry.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets audit entries from before `at`; returns how many.
    pub async fn delete_audit_before(&self, at: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM audit_log WHERE at < $1").bind(at).execute(&self.pool).await?.rows_affected())
    }

    /// Audit entries older than `before` (all when `None`), newest first, at most `limit`.
    pub async fn list_audit(&self, before: Option<i64>, limit: i64) -> Result<Vec<AuditRow>> {
        Ok(sqlx::query_as(
            "SELECT id, at, actor_id, action, target, reason, detail FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, at: i64) -> AuditRow {
        AuditRow { id, at, actor_id: 1, action: "user.disable".into(), target: Some("2".into()), reason: None, detail: None }
    }

    #[tokio::test]
    async fn the_audit_log_pages_newest_first_and_forgets_what_is_past_its_retention() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("audit.db").display())).await.unwrap();
        for (id, at) in [(1, 1_000), (2, 2_000), (3, 3_000)] {
            store.insert_audit(&entry(id, at)).await.unwrap();
        }
        let ids = |rows: Vec<AuditRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(store.list_audit(None, 10).await.unwrap()), [3, 2, 1]);
        assert_eq!(ids(store.list_audit(Some(3), 1).await.unwrap()), [2]);
        assert_eq!(store.delete_audit_before(2_500).await.unwrap(), 2);
        assert_eq!(ids(store.list_audit(None, 10).await.unwrap()), [3]);
        store.close().await;
    }
}
