//! `cromulent backup` beside a server that keeps writing: the copy holds every message
//! acknowledged before the backup began, and the restore steps of docs/self-hosting.md bring
//! them back. On PostgreSQL the command prints a `pg_dump` line instead; the test runs that line
//! and restores the dump as the docs say.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Connection;
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestApp, TestUser, run_cromulent};

/// `cromulent backup FILE` with the server's own data directory and database.
async fn backup(app: &TestApp, file: &Path) -> Output {
    run_cromulent(&[
        "backup".as_ref(),
        file.as_os_str(),
        "--data-dir".as_ref(),
        app.config.data_dir.as_os_str(),
        "--database-url".as_ref(),
        app.config.database_url.as_ref(),
    ])
    .await
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr)
}

/// Posts numbered messages until `stop`, keeping the ids the server acknowledged with 201.
fn keep_posting(
    app: &TestApp,
    user: &TestUser,
    channel: &str,
    stop: CancellationToken,
) -> (Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let (http, url, token, ids) =
        (app.http.clone(), app.api(&format!("/channels/{channel}/messages")), user.token.clone(), acknowledged.clone());
    let task = tokio::spawn(async move {
        for n in 0.. {
            if stop.is_cancelled() {
                break;
            }
            let sent = http.post(&url).bearer_auth(&token).json(&json!({"content": format!("message {n}")})).send().await;
            let Ok(response) = sent else { continue };
            if response.status() == StatusCode::CREATED {
                let body: serde_json::Value = response.json().await.unwrap();
                ids.lock().unwrap().push(body["id"].as_str().unwrap().to_owned());
            }
        }
    });
    (acknowledged, task)
}

fn count(ids: &Mutex<Vec<String>>) -> usize {
    ids.lock().unwrap().len()
}

/// Every message id in `channel`, paging back from the newest.
async fn all_message_ids(app: &TestApp, user: &TestUser, channel: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut before = String::new();
    loop {
        let path = format!("/channels/{channel}/messages?limit=100{before}");
        let (status, page) = app.call(Method::GET, &path, Some(&user.token), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page = page.as_array().unwrap();
        ids.extend(page.iter().map(|m| m["id"].as_str().unwrap().to_owned()));
        match page.last() {
            Some(last) if page.len() == 100 => before = format!("&before={}", last["id"].as_str().unwrap()),
            _ => return ids,
        }
    }
}

#[tokio::test]
async fn a_backup_taken_while_messages_pour_in_restores_every_acknowledged_one() {
    let mut app = TestApp::spawn().await;
    let postgres = app.config.database_url.starts_with("postgres");
    let amy = app.register("amy").await;
    let general = app.general(&amy).await;
    let stop = CancellationToken::new();
    let (acknowledged, posting) = keep_posting(&app, &amy, &general, stop.clone());
    while count(&acknowledged) < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cromulent-backup");
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let output = backup(&app, &file).await;
    if postgres {
        dump_as_told(&output).await;
    } else {
        assert!(output.status.success(), "{}", text(&output));
        assert!(String::from_utf8_lossy(&output.stdout).contains("backed up"), "{}", text(&output));
    }
    let after = count(&acknowledged);
    stop.cancel();
    posting.await.unwrap();
    assert!(after > before.len(), "messages kept coming while the backup ran");
    if !postgres {
        check_sqlite_copy(&app, &file).await;
    }
    let marker = app.post(&amy, &general, "posted after the backup").await;

    app.stop().await;
    if postgres {
        restore_postgres(&app.config.database_url, &file).await;
    } else {
        restore_sqlite(&app.config.database_url, &file);
    }
    let app = app.restart().await;
    let served = all_message_ids(&app, &amy, &general).await;
    let missing: Vec<&String> = before.iter().filter(|id| !served.contains(id)).collect();
    assert!(missing.is_empty(), "{} of {} acknowledged messages lost: {missing:?}", missing.len(), before.len());
    let marker = marker["id"].as_str().unwrap().to_owned();
    assert!(!served.contains(&marker), "the restored server serves the backup, not the database it replaced");
}

/// The copy is private, a sound SQLite database, and never overwritten by a second backup.
async fn check_sqlite_copy(app: &TestApp, file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600, "it holds password hashes");
    }
    let mut copy = sqlx::sqlite::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", file.display())).await.unwrap();
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(&mut copy).await.unwrap();
    assert_eq!(check, "ok");
    copy.close().await.unwrap();
    let taken = std::fs::read(file).unwrap();
    let again = backup(app, file).await;
    assert!(!again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    assert_eq!(std::fs::read(file).unwrap(), taken, "the first copy is untouched");
}

/// docs/self-hosting.md for SQLite, with the server stopped: move the database and its `-wal`
/// and `-shm` files aside, and copy the backup in its place.
fn restore_sqlite(url: &str, file: &Path) {
    let database = PathBuf::from(url.strip_prefix("sqlite://").unwrap());
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", database.display()));
        if path.exists() {
            std::fs::rename(&path, format!("{}{suffix}.before-restore", database.display())).unwrap();
        }
    }
    std::fs::copy(file, &database).unwrap();
}

/// On PostgreSQL the command refuses and names the `pg_dump` line; this runs that line, as
/// someone following its advice would, while messages still pour in.
async fn dump_as_told(output: &Output) {
    assert!(!output.status.success(), "{}", text(output));
    let said = text(output);
    let line = said.lines().map(str::trim).find(|l| l.starts_with("pg_dump ")).unwrap_or_else(|| panic!("{said}"));
    let dump = tokio::process::Command::new("sh").arg("-c").arg(line).output().await.unwrap();
    assert!(dump.status.success(), "{line}: {}", text(&dump));
}

/// docs/self-hosting.md for PostgreSQL, with the server stopped: rename the database aside,
/// create it again empty and restore the dump into it.
async fn restore_postgres(url: &str, file: &Path) {
    let (_, name) = url.rsplit_once('/').unwrap();
    let admin_url = std::env::var("CROMULENT_TEST_POSTGRES_URL").unwrap();
    let mut admin = sqlx::postgres::PgConnection::connect(&admin_url).await.unwrap();
    for statement in [format!("ALTER DATABASE {name} RENAME TO {name}_before_restore"), format!("CREATE DATABASE {name}")] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut admin).await.unwrap();
    }
    let restore = tokio::process::Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", &format!("--dbname={url}")])
        .arg(file)
        .output()
        .await
        .unwrap();
    assert!(restore.status.success(), "{}", text(&restore));
}

#[tokio::test]
async fn for_postgresql_it_prints_pg_dump_without_the_password_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chat.dump");
    let output = run_cromulent(&[
        "backup".as_ref(),
        file.as_os_str(),
        "--data-dir".as_ref(),
        dir.path().as_os_str(),
        "--database-url".as_ref(),
        "postgres://chat:hunter2-secret@db.invalid:5433/cromulent".as_ref(),
    ])
    .await;
    assert!(!output.status.success());
    let said = text(&output);
    assert!(said.contains("pg_dump --format=custom --file="), "{said}");
    assert!(said.contains("postgres://chat@db.invalid:5433/cromulent"), "{said}");
    assert!(!said.contains("hunter2"), "the password is never printed: {said}");
    assert!(!file.exists(), "nothing was written");
}

#[tokio::test]
async fn a_missing_database_is_an_error_not_a_new_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copy.db");
    let output =
        run_cromulent(&["backup".as_ref(), file.as_os_str(), "--data-dir".as_ref(), dir.path().join("data").as_os_str()]).await;
    assert!(!output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("cannot open the database"), "{}", text(&output));
    assert!(!dir.path().join("data/cromulent.db").exists(), "no database was created");
    assert!(!file.exists(), "no empty backup was left behind");
}
