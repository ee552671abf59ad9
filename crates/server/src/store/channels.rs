//! Channels and the explicit members of private channels.

use sqlx::FromRow;

use super::{Result, Store, UserRow, flag};

/// A channel as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ChannelRow {
    /// Channel id.
    pub id: i64,
    /// Name as typed.
    pub name: String,
    /// `text` or `voice`.
    pub kind: String,
    private: i64,
    /// `everyone` or `admins`.
    pub write_access: String,
    /// Sidebar order.
    pub position: i64,
    /// Seconds between a member's messages.
    pub slowmode_secs: i64,
}

/// What `update_channel` sets.
#[derive(Debug, Clone)]
pub struct ChannelChange<'a> {
    /// Name as typed.
    pub name: &'a str,
    /// Lower-cased name.
    pub name_key: &'a str,
    /// Privacy.
    pub private: bool,
    /// `everyone` or `admins`.
    pub write_access: &'a str,
    /// Sidebar order.
    pub position: i64,
    /// Slow mode seconds.
    pub slowmode_secs: i64,
}

impl ChannelRow {
    /// Whether only members (and admins) may see the channel.
    pub fn private(&self) -> bool {
        flag(self.private)
    }
}

/// What `insert_channel` writes.
#[derive(Debug, Clone)]
pub struct NewChannel<'a> {
    /// Channel id.
    pub id: i64,
    /// Name as typed (trimmed).
    pub name: &'a str,
    /// Lower-cased name, unique per kind.
    pub name_key: &'a str,
    /// `text` or `voice`.
    pub kind: &'a str,
    /// For a private channel, its first member; `None` makes a public channel.
    pub first_member: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl Store {
    /// Inserts a channel and, for a private channel, its first member, in one transaction;
    /// `Conflict` when a channel of the same kind has the same name.
    pub async fn insert_channel(&self, channel: &NewChannel<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO channels (id, name, name_key, kind, private, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(channel.id)
            .bind(channel.name)
            .bind(channel.name_key)
            .bind(channel.kind)
            .bind(i64::from(channel.first_member.is_some()))
            .bind(channel.created_at)
            .execute(&mut *tx)
            .await?;
        if let Some(member) = channel.first_member {
            sqlx::query("INSERT INTO channel_members (channel_id, user_id) VALUES ($1, $2)")
                .bind(channel.id)
                .bind(member)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The channel with this id.
    pub async fn get_channel(&self, id: i64) -> Result<Option<ChannelRow>> {
        Ok(sqlx::query_as("SELECT id, name, kind, private, write_access, position, slowmode_secs FROM channels WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Channels `user_id` may see: public ones, private ones it belongs to, or all for admins.
    pub async fn list_visible_channels(&self, user_id: i64, admin: bool) -> Result<Vec<ChannelRow>> {
        Ok(sqlx::query_as(
            "SELECT c.id, c.name, c.kind, c.private, c.write_access, c.position, c.slowmode_secs FROM channels c \
             WHERE c.private = 0 OR $2 = 1 \
                OR EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.id AND m.user_id = $1) \
             ORDER BY c.kind, c.position, c.name_key",
        )
        .bind(user_id)
        .bind(i64::from(admin))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sets a channel's name, privacy and rules; false when it does not exist. Making a channel
    /// public forgets its members, so they neither show nor silently return if it turns private.
    pub async fn update_channel(&self, id: i64, change: &ChannelChange<'_>) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE channels SET name = $2, name_key = $3, private = $4, write_access = $5, position = $6, slowmode_secs = $7 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(change.name)
        .bind(change.name_key)
        .bind(i64::from(change.private))
        .bind(change.write_access)
        .bind(change.position)
        .bind(change.slowmode_secs)
        .execute(&mut *tx)
        .await?;
        if !change.private {
            sqlx::query("DELETE FROM channel_members WHERE channel_id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a channel with its messages and members; false when it did not exist.
    pub async fn delete_channel(&self, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM channels WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether `user_id` is an explicit member of channel `channel_id`.
    pub async fn is_channel_member(&self, channel_id: i64, user_id: i64) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM channel_members WHERE channel_id = $1 AND user_id = $2")
            .bind(channel_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Ids of a channel's explicit members.
    pub async fn list_channel_member_ids(&self, channel_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT user_id FROM channel_members WHERE channel_id = $1")
            .bind(channel_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// A channel's explicit members, by username.
    pub async fn list_channel_members(&self, channel_id: i64) -> Result<Vec<UserRow>> {
        Ok(sqlx::query_as(
            "SELECT u.id, u.username, u.email, u.password_hash, u.admin, u.created_at, u.disabled, u.timeout_until, \
             u.display_name, u.avatar, u.deleted, u.email_verified, u.preferences \
             FROM channel_members m JOIN users u ON u.id = m.user_id \
             WHERE m.channel_id = $1 ORDER BY u.username_key",
        )
        .bind(channel_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Adds a member; false when already a member, `MissingReference` when either row is gone.
    pub async fn insert_channel_member(&self, channel_id: i64, user_id: i64) -> Result<bool> {
        let done = sqlx::query("INSERT INTO channel_members (channel_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(channel_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a member; false when it was not one.
    pub async fn delete_channel_member(&self, channel_id: i64, user_id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM channel_members WHERE channel_id = $1 AND user_id = $2")
            .bind(channel_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
