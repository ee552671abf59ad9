//! `cromulent backup FILE`: a consistent copy of the SQLite database, taken while the server
//! runs, that only its owner can read (it holds password hashes and session token hashes). A
//! PostgreSQL database is PostgreSQL's to copy: the command prints the `pg_dump` line instead.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use anyhow::{Context, bail};

use crate::Config;
use crate::store::{Backend, Store};

/// Writes a copy of the configured database to `file`, which must not exist yet.
pub(super) async fn backup(config: Config, file: &Path) -> anyhow::Result<()> {
    let url = config.database_url();
    if Backend::of_url(&url)? == Backend::Postgres {
        bail!(
            "this server keeps its data in PostgreSQL, which `cromulent backup` does not copy; pg_dump copies \
             it consistently while the server runs:\n\n    {}\n\npg_dump asks for the password, or reads it from \
             PGPASSWORD or ~/.pgpass. docs/self-hosting.md says how to restore the dump.",
            pg_dump_command(&url, file)?
        );
    }
    // Opened without migrating: the running server owns the schema, and a copy taken by a newer
    // binary must still be the server's database as it is.
    let store = Store::open_existing(&url).await.with_context(|| format!("cannot open the database {url}"))?;
    // Created empty first, exclusively and private, so an existing file is never overwritten and
    // the secrets never sit in a file others can read, not even while it is written.
    create_private(file).with_context(|| format!("cannot create {}", file.display()))?;
    let copied = store.backup_into(file).await;
    store.close().await;
    if let Err(err) = copied {
        let _ = std::fs::remove_file(file);
        return Err(err).with_context(|| format!("cannot copy the database into {}", file.display()));
    }
    // The copy is on disk, under its name, before the command says it is done.
    File::open(file)?.sync_all()?;
    if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    let bytes = std::fs::metadata(file)?.len();
    println!("backed up {url} to {} ({bytes} bytes)", file.display());
    Ok(())
}

/// Creates `file` empty and readable by its owner only; an existing file is an error.
fn create_private(file: &Path) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            Err(io::Error::new(err.kind(), "it already exists, and a backup never overwrites a file; choose a new name"))
        }
        other => other.map(drop),
    }
}

/// The `pg_dump` command that writes `url`'s database to `file`, without the password: the
/// line is printed on a terminal and may end up in a shell history.
fn pg_dump_command(url: &str, file: &Path) -> anyhow::Result<String> {
    let mut url = url::Url::parse(url).context("the database URL is not a URL")?;
    let _ = url.set_password(None);
    // libpq refuses query parameters it does not know, and sqlx's cache size is one of them.
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != "password" && key != "statement-cache-capacity")
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    url.set_query(None);
    if !kept.is_empty() {
        url.query_pairs_mut().extend_pairs(kept);
    }
    let file = file.to_string_lossy();
    Ok(format!("pg_dump --format=custom --file={} {}", shell_quoted(&file), shell_quoted(url.as_str())))
}

/// `text` as one shell word.
fn shell_quoted(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !text.is_empty() && text.chars().all(plain) { text.to_owned() } else { format!("'{}'", text.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pg_dump_line_leaves_the_password_out() {
        let line = pg_dump_command(
            "postgres://chat:s3cr%2Ft@db.example.org:5433/cromulent?sslmode=require&password=other&statement-cache-capacity=10",
            Path::new("/var/backups/chat 1.dump"),
        )
        .unwrap();
        assert_eq!(
            line,
            "pg_dump --format=custom --file='/var/backups/chat 1.dump' \
             'postgres://chat@db.example.org:5433/cromulent?sslmode=require'"
        );
        assert!(!line.contains("s3cr") && !line.contains("other"));
        let plain = pg_dump_command("postgresql://localhost/chat", Path::new("chat.dump")).unwrap();
        assert_eq!(plain, "pg_dump --format=custom --file=chat.dump postgresql://localhost/chat");
    }

    #[test]
    fn quotes_survive_the_shell() {
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
        assert_eq!(shell_quoted(""), "''");
        assert_eq!(shell_quoted("a;b"), "'a;b'");
    }

    #[test]
    fn an_existing_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copy.db");
        create_private(&file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&file, "precious").unwrap();
        let err = create_private(&file).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    }
}
