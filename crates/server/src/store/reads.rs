//! Read markers, unread and mention counts for one reader, notification levels, and the
//! mentions inbox. Counting is per reader and on demand (at identify, after reading), never per
//! member when a message is posted, and each count stops at [`COUNT_CAP`].

use super::{MessageRow, Result, Store};

/// Counts stop here: a badge shows "999+" long before, and a reader who never opened a busy
/// channel must not make every identify count its whole history.
pub const COUNT_CAP: i64 = 1000;

impl Store {
    /// `user_id`'s read marker in `channel_id`, if they have one.
    pub async fn read_marker(&self, user_id: i64, channel_id: i64) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT last_read_id FROM read_states WHERE user_id = $1 AND channel_id = $2")
            .bind(user_id)
            .bind(channel_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(id,)| id))
    }

    /// Every read marker of `user_id`, by channel.
    pub async fn read_markers(&self, user_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as("SELECT channel_id, last_read_id FROM read_states WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Messages by others in `channel_id` after `after`, and how many of them mention
    /// `user_id` (by name, `@here` when they were online, or `@everyone`), each at most
    /// [`COUNT_CAP`].
    pub async fn unread_counts(&self, user_id: i64, channel_id: i64, after: i64) -> Result<(i64, i64)> {
        let (unread, mentions): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(t.mentioned), 0) FROM ( \
               SELECT CASE WHEN m.mention_everyone = 1 OR mm.user_id IS NOT NULL THEN 1 ELSE 0 END AS mentioned \
               FROM messages m LEFT JOIN message_mentions mm ON mm.message_id = m.id AND mm.user_id = $1 \
               WHERE m.channel_id = $2 AND m.id > $3 AND m.author_id <> $1 \
               ORDER BY m.id LIMIT $4) t",
        )
        .bind(user_id)
        .bind(channel_id)
        .bind(after)
        .bind(COUNT_CAP)
        .fetch_one(&self.pool)
        .await?;
        Ok((unread, mentions))
    }

    /// Moves `user_id`'s marker in `channel_id` forward to `message_id`, never back and never
    /// past the channel's newest message; returns the marker now in force (`None` when the
    /// channel has no messages and there was none).
    pub async fn mark_read(&self, user_id: i64, channel_id: i64, message_id: i64) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let (newest,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(id) FROM messages WHERE channel_id = $1").bind(channel_id).fetch_one(&mut *tx).await?;
        if let Some(newest) = newest {
            sqlx::query(
                "INSERT INTO read_states (user_id, channel_id, last_read_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, channel_id) DO UPDATE SET last_read_id = \
                 CASE WHEN excluded.last_read_id > read_states.last_read_id THEN excluded.last_read_id \
                 ELSE read_states.last_read_id END",
            )
            .bind(user_id)
            .bind(channel_id)
            .bind(message_id.min(newest))
            .execute(&mut *tx)
            .await?;
        }
        let marker: Option<(i64,)> =
            sqlx::query_as("SELECT last_read_id FROM read_states WHERE user_id = $1 AND channel_id = $2")
                .bind(user_id)
                .bind(channel_id)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(marker.map(|(id,)| id))
    }

    /// The notification levels `user_id` set, by channel.
    pub async fn notification_levels(&self, user_id: i64) -> Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as("SELECT channel_id, level FROM notification_levels WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Sets `user_id`'s level for `channel_id`; the default level removes the row.
    pub async fn set_notification_level(&self, user_id: i64, channel_id: i64, level: Option<&str>) -> Result<()> {
        match level {
            Some(level) => {
                sqlx::query(
                    "INSERT INTO notification_levels (user_id, channel_id, level) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id, channel_id) DO UPDATE SET level = excluded.level",
                )
                .bind(user_id)
                .bind(channel_id)
                .bind(level)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM notification_levels WHERE user_id = $1 AND channel_id = $2")
                    .bind(user_id)
                    .bind(channel_id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Up to `limit` messages older than `before` in `channels` that mention `user_id`, by
    /// others, newest first.
    pub async fn mentions_of(&self, user_id: i64, channels: &[i64], before: i64, limit: i64) -> Result<Vec<MessageRow>> {
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            concat!(
                select_messages!(),
                " WHERE m.id < $1 AND m.author_id <> $2 AND m.channel_id IN ({}) AND (m.mention_everyone = 1 OR EXISTS \
                 (SELECT 1 FROM message_mentions mm WHERE mm.message_id = m.id AND mm.user_id = $2)) ORDER BY m.id DESC LIMIT $3"
            ),
            super::placeholders(4, channels.len())
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(before).bind(user_id).bind(limit);
        for channel in channels {
            query = query.bind(*channel);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }
}
