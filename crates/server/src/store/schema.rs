//! Reading, without changing anything, how far a database's schema is from the one this build
//! expects: for `cromulent doctor`, which must never create or migrate a database itself.

use std::str::FromStr;

use sqlx::any::AnyConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{MIGRATOR, Result};

/// Where a database's schema stands against this build's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// Every migration of this build is applied, and no other.
    Current {
        /// The newest migration applied.
        version: i64,
    },
    /// Nothing applied yet: a new, empty database.
    Empty,
    /// Older than this build: the server applies these at its next start.
    Behind {
        /// Versions this build would apply.
        pending: Vec<i64>,
    },
    /// Newer than this build (a downgrade), or a migration failed half-way or was changed.
    Unknown {
        /// What is wrong, in a sentence.
        why: String,
    },
}

/// Connects to `url` read-only (SQLite) and compares its applied migrations with this build's.
pub async fn inspect(url: &str) -> Result<SchemaState> {
    sqlx::any::install_default_drivers();
    let mut url = url.to_owned();
    if url.starts_with("sqlite:") && !url.contains("mode=") {
        // Read-only: a missing file is an error rather than a new empty database.
        url.push_str(if url.contains('?') { "&mode=ro" } else { "?mode=ro" });
    }
    let options = AnyConnectOptions::from_str(&url)?.log_statements(tracing::log::LevelFilter::Trace);
    let mut connection = options.connect().await?;
    // `success` is BOOLEAN, which the Any driver cannot decode from SQLite: read it as a number.
    let applied: Result<Vec<(i64, Vec<u8>, i64)>, sqlx::Error> =
        sqlx::query_as("SELECT version, checksum, CASE WHEN success THEN 1 ELSE 0 END FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut connection)
            .await;
    let _ = connection.close().await;
    let applied = match applied {
        Ok(applied) => applied,
        // No bookkeeping table: nothing was ever migrated.
        Err(sqlx::Error::Database(_)) => return Ok(SchemaState::Empty),
        Err(other) => return Err(other.into()),
    };
    Ok(compare(
        &applied,
        &MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| (m.version, m.checksum.to_vec()))
            .collect::<Vec<_>>(),
    ))
}

/// The state of a database with `applied` (version, checksum, success) against `known`
/// (version, checksum) migrations.
fn compare(applied: &[(i64, Vec<u8>, i64)], known: &[(i64, Vec<u8>)]) -> SchemaState {
    if applied.is_empty() {
        return SchemaState::Empty;
    }
    for (version, checksum, success) in applied {
        if *success == 0 {
            return SchemaState::Unknown { why: format!("migration {version} failed part-way") };
        }
        match known.iter().find(|(v, _)| v == version) {
            None => return SchemaState::Unknown { why: format!("migration {version} comes from a newer version of Cromulent") },
            Some((_, known)) if known != checksum => {
                return SchemaState::Unknown { why: format!("migration {version} differs from this version's") };
            }
            Some(_) => {}
        }
    }
    let pending: Vec<i64> = known.iter().map(|(v, _)| *v).filter(|v| !applied.iter().any(|(a, _, _)| a == v)).collect();
    match pending.is_empty() {
        true => SchemaState::Current { version: applied.last().map_or(0, |(v, _, _)| *v) },
        false => SchemaState::Behind { pending },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_current_behind_or_unknown_to_this_build() {
        let known = vec![(1, vec![1]), (2, vec![2])];
        assert_eq!(compare(&[], &known), SchemaState::Empty);
        assert_eq!(compare(&[(1, vec![1], 1), (2, vec![2], 1)], &known), SchemaState::Current { version: 2 });
        assert_eq!(compare(&[(1, vec![1], 1)], &known), SchemaState::Behind { pending: vec![2] });
        assert!(matches!(compare(&[(1, vec![1], 1), (3, vec![3], 1)], &known), SchemaState::Unknown { .. }));
        assert!(matches!(compare(&[(1, vec![9], 1)], &known), SchemaState::Unknown { .. }));
        assert!(matches!(compare(&[(1, vec![1], 0)], &known), SchemaState::Unknown { .. }));
    }

    #[tokio::test]
    async fn a_new_database_is_current_and_a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        assert!(inspect(&url).await.is_err(), "read-only: nothing is created");
        assert!(!dir.path().join("db.sqlite").exists());
        let store = super::super::Store::open(&url).await.unwrap();
        store.close().await;
        assert!(matches!(inspect(&url).await.unwrap(), SchemaState::Current { .. }));
    }
}
