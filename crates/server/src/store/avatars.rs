//! Avatars: each user's renditions (WebP, a few sizes), stored as base64 text so one schema
//! serves SQLite and PostgreSQL, and the version that names the current set.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Result, Store};

impl Store {
    /// Replaces `user_id`'s avatar with `renditions` (size in pixels, image bytes) under
    /// `version`, in one transaction; whether the account exists (and is not deleted).
    pub async fn set_avatar(&self, user_id: i64, version: &str, renditions: &[(u32, Vec<u8>)]) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET avatar = $2 WHERE id = $1 AND deleted = 0")
            .bind(user_id)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM avatars WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        for (size, image) in renditions {
            sqlx::query("INSERT INTO avatars (user_id, size, image) VALUES ($1, $2, $3)")
                .bind(user_id)
                .bind(i64::from(*size))
                .bind(STANDARD.encode(image))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Removes `user_id`'s avatar.
    pub async fn delete_avatar(&self, user_id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET avatar = NULL WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM avatars WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The current avatar version of `user_id` and its rendition of `size` pixels, if any.
    pub async fn get_avatar(&self, user_id: i64, size: u32) -> Result<Option<(String, Vec<u8>)>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT u.avatar, a.image FROM users u JOIN avatars a ON a.user_id = u.id \
             WHERE u.id = $1 AND a.size = $2 AND u.avatar IS NOT NULL",
        )
        .bind(user_id)
        .bind(i64::from(size))
        .fetch_optional(&self.pool)
        .await?;
        // What this store wrote decodes; anything else is treated as no avatar.
        Ok(row.and_then(|(version, image)| STANDARD.decode(image).ok().map(|bytes| (version, bytes))))
    }
}
