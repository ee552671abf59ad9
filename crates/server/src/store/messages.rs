//! Text messages: insert (idempotent with a client nonce), keyset-paginated history, edit, delete.

use sqlx::FromRow;

use super::{Result, Store};

/// A message joined with its author's name.
#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    /// Message id.
    pub id: i64,
    /// Channel id.
    pub channel_id: i64,
    /// Author's account id.
    pub author_id: i64,
    /// Author's username.
    pub author_username: String,
    /// Author's display name, when set.
    pub author_display_name: Option<String>,
    /// Author's avatar version, when they have one.
    pub author_avatar: Option<String>,
    /// Whether the author's account was deleted (0/1).
    pub author_deleted: i64,
    /// Markdown source.
    pub content: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last edit.
    pub edited_at: Option<i64>,
    /// The sender's nonce, until it lapses.
    pub nonce: Option<String>,
    /// Ids of the people it mentions by name, comma-separated.
    pub mentions: String,
    /// 0 none, 1 `@everyone`, 2 `@here`.
    pub mention_everyone: i64,
    /// Link previews as JSON, once fetched.
    pub embeds: Option<String>,
}

/// Whom a message mentions, as stored.
#[derive(Debug, Clone, Default)]
pub struct MessageMentions {
    /// Ids of the people mentioned by name, comma-separated (what the message carries).
    pub named: String,
    /// 0 none, 1 `@everyone`, 2 `@here`.
    pub everyone: i64,
    /// Everyone it counts as a mention for besides `@everyone`: the named and, for `@here`,
    /// those online at the time.
    pub recipients: Vec<i64>,
}

/// A message to insert.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    /// Message id.
    pub id: i64,
    /// Channel id.
    pub channel_id: i64,
    /// Author's account id.
    pub author_id: i64,
    /// Markdown source.
    pub content: &'a str,
    /// Unix milliseconds.
    pub created_at: i64,
    /// The client's nonce for idempotent retries.
    pub nonce: Option<&'a str>,
    /// Whom it mentions.
    pub mentions: &'a MessageMentions,
}

/// The select list of [`MessageRow`], as a macro so queries stay `'static` strings.
macro_rules! select_messages {
    () => {
        "SELECT m.id, m.channel_id, m.author_id, u.username AS author_username, \
         u.display_name AS author_display_name, u.avatar AS author_avatar, u.deleted AS author_deleted, m.content, m.created_at, m.edited_at, m.nonce, \
         m.mentions, m.mention_everyone, m.embeds \
         FROM messages m JOIN users u ON u.id = m.author_id"
    };
}

impl Store {
    /// Inserts a message, with the sender's `nonce` if it gave one. A nonce of the same author
    /// from `lapsed_before` or earlier is released first; a live one makes this a `Conflict`.
    pub async fn insert_message(&self, message: NewMessage<'_>, lapsed_before: i64) -> Result<()> {
        if let Some(nonce) = message.nonce {
            sqlx::query("UPDATE messages SET nonce = NULL WHERE author_id = $1 AND nonce = $2 AND created_at <= $3")
                .bind(message.author_id)
                .bind(nonce)
                .bind(lapsed_before)
                .execute(&self.pool)
                .await?;
        }
        let insert = sqlx::query(
            "INSERT INTO messages (id, channel_id, author_id, content, created_at, nonce, mentions, mention_everyone) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(message.id)
        .bind(message.channel_id)
        .bind(message.author_id)
        .bind(message.content)
        .bind(message.created_at)
        .bind(message.nonce)
        .bind(message.mentions.named.as_str())
        .bind(message.mentions.everyone);
        // Most messages mention nobody: they cost one statement, as before mentions existed.
        if message.mentions.recipients.is_empty() {
            insert.execute(&self.pool).await?;
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        insert.execute(&mut *tx).await?;
        insert_recipients(&mut tx, message.id, message.channel_id, &message.mentions.recipients).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a message's link previews (JSON); false when it is gone.
    pub async fn set_embeds(&self, channel_id: i64, id: i64, embeds: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE messages SET embeds = $3 WHERE channel_id = $1 AND id = $2")
            .bind(channel_id)
            .bind(id)
            .bind(embeds)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The message `author_id` posted with `nonce` after `since`, if any.
    pub async fn get_message_by_nonce(&self, author_id: i64, nonce: &str, since: i64) -> Result<Option<MessageRow>> {
        Ok(sqlx::query_as(concat!(select_messages!(), " WHERE m.author_id = $1 AND m.nonce = $2 AND m.created_at > $3"))
            .bind(author_id)
            .bind(nonce)
            .bind(since)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The message `id` in channel `channel_id`.
    pub async fn get_message(&self, channel_id: i64, id: i64) -> Result<Option<MessageRow>> {
        Ok(sqlx::query_as(concat!(select_messages!(), " WHERE m.channel_id = $1 AND m.id = $2"))
            .bind(channel_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Up to `limit` messages older than `before`, newest first.
    pub async fn list_messages_before(&self, channel_id: i64, before: i64, limit: i64) -> Result<Vec<MessageRow>> {
        Ok(sqlx::query_as(concat!(select_messages!(), " WHERE m.channel_id = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3"))
            .bind(channel_id)
            .bind(before)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Replaces a message's content and whom it mentions; false when it does not exist. Its
    /// link previews go: they belong to the old text.
    pub async fn update_message(
        &self,
        channel_id: i64,
        id: i64,
        content: &str,
        now: i64,
        mentions: &MessageMentions,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE messages SET content = $3, edited_at = $4, mentions = $5, mention_everyone = $6, embeds = NULL \
             WHERE channel_id = $1 AND id = $2",
        )
        .bind(channel_id)
        .bind(id)
        .bind(content)
        .bind(now)
        .bind(mentions.named.as_str())
        .bind(mentions.everyone)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM message_mentions WHERE message_id = $1").bind(id).execute(&mut *tx).await?;
        insert_recipients(&mut tx, id, channel_id, &mentions.recipients).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a message; false when it did not exist.
    pub async fn delete_message(&self, channel_id: i64, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM messages WHERE channel_id = $1 AND id = $2")
            .bind(channel_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Rows per statement when recording whom a message mentions.
const RECIPIENTS_PER_STATEMENT: usize = 200;

/// Records that message `id` mentions each of `recipients`, a few hundred rows per statement.
async fn insert_recipients(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    channel_id: i64,
    recipients: &[i64],
) -> Result<()> {
    for chunk in recipients.chunks(RECIPIENTS_PER_STATEMENT) {
        // `$1` and `$2` are the message and channel; each row adds its user.
        let rows: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, $1, $2)", i + 3)).collect();
        let sql = format!("INSERT INTO message_mentions (user_id, message_id, channel_id) VALUES {}", rows.join(", "));
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(channel_id);
        for user in chunk {
            insert = insert.bind(*user);
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}
