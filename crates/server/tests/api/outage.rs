//! The database going away and the disk filling up: writes answer `503 unavailable` or `507
//! insufficient_storage` quickly instead of hanging or failing with 500, the gateway stays up,
//! nothing acknowledged is lost, and service resumes on its own when the database is back.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::helpers::TestApp;

/// A PostgreSQL cluster of this test's own, so stopping it disturbs no other test.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    async fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed")
            .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists())
            .max()
            .expect("initdb");
        let dir = tempfile::tempdir().unwrap();
        // PostgreSQL refuses to run as root; the cluster then belongs to the postgres user.
        if is_root() {
            assert!(Command::new("chown").arg("postgres:").arg(dir.path()).status().await.unwrap().success());
        }
        let data = dir.path().join("data");
        let initdb = run_as_postgres(&bin.join("initdb"))
            .args(["-U", "postgres", "-A", "trust", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .await
            .unwrap();
        assert!(initdb.status.success(), "{}", String::from_utf8_lossy(&initdb.stderr));
        let mut cluster = Cluster { bin, dir, port: 0 };
        for _ in 0..20 {
            cluster.port = 20_000 + rand_port_offset();
            if cluster.pg_ctl_start().await {
                return cluster;
            }
        }
        panic!("no free port for PostgreSQL");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    async fn pg_ctl_start(&self) -> bool {
        let options = format!("-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off", self.port, self.dir.path().display());
        run_as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-o", &options, "start"])
            .status()
            .await
            .unwrap()
            .success()
    }

    async fn stop(&self) {
        let stopped = run_as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .status()
            .await
            .unwrap();
        assert!(stopped.success());
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(if is_root() { "runuser" } else { "env" })
            .args(if is_root() { vec!["-u", "postgres", "--"] } else { vec![] })
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

fn run_as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn rand_port_offset() -> u16 {
    (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() % 40_000) as u16
}

/// Posts one message; its status and how long the answer took.
async fn post(app: &TestApp, token: &str, channel: &str, n: usize) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    let path = format!("/channels/{channel}/messages");
    let (status, body) = app.call(Method::POST, &path, Some(token), Some(json!({"content": format!("message {n}")}))).await;
    (status, body, started.elapsed())
}

#[tokio::test]
async fn postgresql_going_away_answers_unavailable_and_comes_back_by_itself() {
    // It needs PostgreSQL, which the suite's PostgreSQL pass has; the SQLite pass leaves it there.
    if std::env::var_os("CROMULENT_TEST_POSTGRES_URL").is_none() {
        return;
    }
    let cluster = Cluster::start().await;
    let url = cluster.url();
    let app = TestApp::spawn_with(move |c| c.database_url = url).await;
    let amy = app.register("amy").await;
    let general = app.general(&amy).await;
    let mut watcher = app.gateway(&amy).await;
    let mut answers = Vec::new();
    for n in 0..5 {
        answers.push(post(&app, &amy.token, &general, n).await);
    }

    cluster.stop().await;
    let down_since = Instant::now();
    let mut n = 5;
    while down_since.elapsed() < Duration::from_secs(4) {
        answers.push(post(&app, &amy.token, &general, n).await);
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health = app.http.get(format!("http://{}/healthz", app.addr)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health = health.json::<Value>().await.unwrap();
    assert_eq!((&health["database"], &health["error"]["code"]), (&json!("unreachable"), &json!("unavailable")), "{health}");
    assert_eq!(watcher.request("voice_leave", json!({})).await["t"], "reply", "the gateway stays up");
    let outage: Vec<_> = answers[5..].iter().map(|(status, _, _)| *status).collect();
    assert!(outage.iter().all(|s| *s == StatusCode::SERVICE_UNAVAILABLE), "{outage:?}");

    assert!(cluster.pg_ctl_start().await, "PostgreSQL starts again");
    let up_since = Instant::now();
    let recovered = loop {
        let answer = post(&app, &amy.token, &general, n).await;
        n += 1;
        let created = answer.0 == StatusCode::CREATED;
        answers.push(answer);
        if created {
            break up_since.elapsed();
        }
        assert!(up_since.elapsed() < Duration::from_secs(5), "still failing 5 s after the database came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("writes worked again {recovered:?} after the database came back");

    for (status, body, took) in &answers {
        assert!(*status == StatusCode::CREATED || *status == StatusCode::SERVICE_UNAVAILABLE, "{status}: {body}");
        assert!(*took < Duration::from_secs(5), "an answer took {took:?}");
    }
    let acknowledged: Vec<&Value> =
        answers.iter().filter(|(s, _, _)| *s == StatusCode::CREATED).map(|(_, b, _)| &b["id"]).collect();
    let (_, history) = app.call(Method::GET, &format!("/channels/{general}/messages?limit=100"), Some(&amy.token), None).await;
    let stored: Vec<&Value> = history.as_array().unwrap().iter().map(|m| &m["id"]).collect();
    assert_eq!(stored.len(), acknowledged.len(), "{history}");
    assert!(acknowledged.iter().all(|id| stored.contains(id)), "every acknowledged message is stored");
    watcher.expect("message_create").await;
}

#[tokio::test]
async fn a_full_disk_answers_insufficient_storage_and_keeps_what_was_acknowledged() {
    // The server runs with its data directory on a 1 MiB tmpfs of its own: a mount namespace
    // (unshare) needs no privileges beyond what the test already has.
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=1m tmpfs "$0" && exec "$1" serve --listen 127.0.0.1:0 --log info --data-dir "$0""#)
        .arg(dir.path())
        .arg(env!("CARGO_BIN_EXE_cromulent"))
        .env("CROMULENT_LOG_FORMAT", "json")
        .env("CROMULENT_TURN_PROVIDER", "none")
        .env("CROMULENT_CHAT_MESSAGES_PER_10S", "1000000")
        .env("CROMULENT_CHAT_MESSAGE_BURST", "1000000")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (addr, mut lines) = crate::helpers::listening_address(&mut child).await;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let http = reqwest::Client::new();
    let api = |path: &str| format!("http://{addr}/api/v1{path}");
    let auth: Value = http
        .post(api("/auth/register"))
        .json(&json!({"username": "amy", "password": "correct horse"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = auth["token"].as_str().unwrap();
    let channels: Value = http.get(api("/channels")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    let general =
        channels.as_array().unwrap().iter().find(|c| c["name"] == "general").unwrap()["id"].as_str().unwrap().to_owned();
    let content = "x".repeat(4000);
    let mut acknowledged = Vec::new();
    let full = loop {
        let response = http
            .post(api(&format!("/channels/{general}/messages")))
            .bearer_auth(token)
            .json(&json!({"content": content}))
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::CREATED => acknowledged.push(response.json::<Value>().await.unwrap()["id"].clone()),
            StatusCode::INSUFFICIENT_STORAGE => break response.json::<Value>().await.unwrap(),
            other => panic!("{other} after {} messages: {}", acknowledged.len(), response.text().await.unwrap()),
        }
        assert!(acknowledged.len() < 1000, "1 MiB never filled up");
    };
    assert_eq!(full["error"]["code"], "insufficient_storage");
    assert!(acknowledged.len() > 10, "only {} messages fit", acknowledged.len());
    let mut stored = Vec::new();
    let mut before = String::new();
    loop {
        let page: Value = http
            .get(api(&format!("/channels/{general}/messages?limit=100{before}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = page.as_array().unwrap().clone();
        let Some(last) = page.last() else { break };
        before = format!("&before={}", last["id"].as_str().unwrap());
        stored.extend(page.iter().map(|m| m["id"].clone()));
    }
    assert_eq!(stored.len(), acknowledged.len());
    assert!(acknowledged.iter().all(|id| stored.contains(id)), "every acknowledged message is stored");
}
