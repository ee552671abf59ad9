//! Server-wide settings as key/value rows, changed by admins at run time.

use super::{Result, Store};

impl Store {
    /// The stored value of `key`.
    pub async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(row.map(|(value,)| value))
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores `value` under `key` only if the key is new; true when this call stored it.
    /// Two racing callers cannot both win, which makes it a one-time latch.
    pub async fn claim_setting(&self, key: &str, value: &str) -> Result<bool> {
        let done = sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
