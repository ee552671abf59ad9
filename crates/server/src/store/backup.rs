//! A consistent copy of a SQLite database taken while the server keeps writing to it.

use std::path::Path;

use super::{Backend, Result, Store, StoreError};

impl Store {
    /// Copies the SQLite database into `path`, which must not exist or be empty (the caller
    /// creates it empty, so it chooses the file's permissions and overwrites nothing).
    /// `VACUUM INTO` reads one snapshot in one read transaction: a write the server commits
    /// meanwhile is wholly in the copy or wholly not, and under WAL the copy blocks no writer.
    pub async fn backup_into(&self, path: &Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Backup("only a SQLite database is copied here; PostgreSQL has pg_dump"));
        }
        let path = path.to_str().ok_or(StoreError::Backup("the backup's path must be valid UTF-8 for SQLite"))?;
        sqlx::query("VACUUM INTO $1").bind(path).execute(&self.pool).await?;
        Ok(())
    }
}
