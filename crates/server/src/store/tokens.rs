//! Single-use account tokens (password reset, address confirmation), keyed by the SHA-256 of
//! the token like sessions, so a leaked database holds no link that works.

use super::{Result, Store};

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Set a new password.
    PasswordReset,
    /// Confirm an email address.
    EmailVerification,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::EmailVerification => "email_verification",
        }
    }
}

/// A token to store.
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    /// SHA-256 of the token, hex.
    pub token_hash: &'a str,
    /// The account it acts for.
    pub user_id: i64,
    /// What it is for.
    pub purpose: TokenPurpose,
    /// The address the link went to.
    pub email: &'a str,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds after which it is refused.
    pub expires_at: i64,
}

impl Store {
    /// Stores a token; earlier tokens of the same account and purpose stay valid until they
    /// expire or one of them is used.
    pub async fn insert_account_token(&self, token: &NewToken<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO account_tokens (token_hash, user_id, purpose, email, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token.token_hash)
        .bind(token.user_id)
        .bind(token.purpose.as_str())
        .bind(token.email)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Uses up the token that hashes to `token_hash` if it is for `purpose` and unexpired at
    /// `now`: it and every other token of that account for that purpose are deleted in one
    /// transaction, so a link works once even when two requests race. Returns the account and
    /// the address the link went to.
    pub async fn take_account_token(&self, token_hash: &str, purpose: TokenPurpose, now: i64) -> Result<Option<(i64, String)>> {
        let mut tx = self.pool.begin().await?;
        let taken: Option<(i64, String, i64)> = sqlx::query_as(
            "DELETE FROM account_tokens WHERE token_hash = $1 AND purpose = $2 RETURNING user_id, email, expires_at",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user_id, email, expires_at)) = taken else { return Ok(None) };
        sqlx::query("DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2")
            .bind(user_id)
            .bind(purpose.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((expires_at > now).then_some((user_id, email)))
    }

    /// Forgets tokens that expired at or before `now`; how many.
    pub async fn delete_expired_account_tokens(&self, now: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM account_tokens WHERE expires_at <= $1").bind(now).execute(&self.pool).await?.rows_affected())
    }

    /// Account tokens stored for `user_id`, for tests and tidying checks.
    pub async fn count_account_tokens(&self, user_id: i64) -> Result<i64> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM account_tokens WHERE user_id = $1").bind(user_id).fetch_one(&self.pool).await?;
        Ok(count)
    }
}
