//! Memory under abuse: the server's RSS when one user posts a thousand maximum-size messages to
//! forty sessions (each keeps a replay buffer for `resume`), and after a thousand failed logins
//! (each costs an Argon2 hash). Starts the release binary with its defaults, apart from limits
//! that would otherwise stop the abuse before it could be measured. Run with
//! `cargo bench --bench abuse`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;

/// Sessions that hold the messages.
const SESSIONS: usize = 40;
/// Messages posted, each of 4,000 four-byte characters: the largest a message can be.
const MESSAGES: usize = 1_000;
/// Failed logins, in waves of this many at once.
const LOGINS: usize = 1_000;
const WAVE: usize = 50;

async fn start_server(data_dir: &Path, env: &[(&str, &str)]) -> (Child, String, u32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cromulent"))
        .args(["--listen", "127.0.0.1:0", "--log", "warn,cromulent::app=info"])
        .arg("--data-dir")
        .arg(data_dir)
        .env("CROMULENT_LOG_FORMAT", "json")
        .env("CROMULENT_TURN_PROVIDER", "none")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start cromulent");
    let pid = child.id().expect("running");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next_line().await.unwrap().expect("server logs its address");
        let entry: Value = serde_json::from_str(&line).unwrap_or_default();
        if entry["fields"]["message"] == "listening" {
            break entry["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr, pid)
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("procfs");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
}

async fn settled_rss(pid: u32) -> f64 {
    tokio::time::sleep(Duration::from_secs(2)).await;
    rss_mib(pid)
}

async fn replay_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, pid) =
        start_server(dir.path(), &[("CROMULENT_CHAT_MESSAGES_PER_10S", "1000000"), ("CROMULENT_CHAT_MESSAGE_BURST", "1000000")])
            .await;
    let http = reqwest::Client::new();
    let auth: Value = http
        .post(format!("http://{addr}/api/v1/auth/register"))
        .json(&json!({"username": "poster", "password": "benchmark password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = auth["token"].as_str().unwrap().to_owned();
    let channels: Value =
        http.get(format!("http://{addr}/api/v1/channels")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let general =
        channels.as_array().unwrap().iter().find(|c| c["name"] == "general").unwrap()["id"].as_str().unwrap().to_owned();
    let before = settled_rss(pid).await;
    // Forty sessions that then drop their connections: each stays resumable, holding its replay
    // buffer, for the resume window.
    for _ in 0..SESSIONS {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/gateway")).await.unwrap();
        ws.next().await.unwrap().unwrap();
        ws.send(Message::Text(json!({"op": "identify", "d": {"token": token}}).to_string().into())).await.unwrap();
        ws.next().await.unwrap().unwrap();
    }
    let content = "😀".repeat(4_000);
    for _ in 0..MESSAGES {
        let response = http
            .post(format!("http://{addr}/api/v1/channels/{general}/messages"))
            .bearer_auth(&token)
            .json(&json!({"content": content}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let after = settled_rss(pid).await;
    println!(
        "replay: {SESSIONS} resumable sessions, {MESSAGES} messages of {} bytes: RSS {before:.1} -> {after:.1} MiB, {:.2} MiB per session",
        content.len(),
        (after - before) / SESSIONS as f64
    );
    child.kill().await.unwrap();
}

async fn failed_logins() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, pid) = start_server(dir.path(), &[("CROMULENT_AUTH_ATTEMPTS_PER_IP_PER_MINUTE", "1000000")]).await;
    let http = reqwest::Client::new();
    let before = settled_rss(pid).await;
    let (mut refused, mut busy) = (0, 0);
    for wave in 0..LOGINS / WAVE {
        let logins = (0..WAVE).map(|n| {
            let body = json!({"username": format!("ghost-{wave}-{n}"), "password": "wrong password"});
            http.post(format!("http://{addr}/api/v1/auth/login")).json(&body).send()
        });
        for response in futures_util::future::join_all(logins).await {
            match response.unwrap().status().as_u16() {
                401 => refused += 1,
                429 => busy += 1,
                other => panic!("{other}"),
            }
        }
    }
    let after = settled_rss(pid).await;
    println!(
        "logins: {LOGINS} failed logins for unknown accounts, {WAVE} at a time ({refused} checked, {busy} told to wait): RSS {before:.1} -> {after:.1} MiB"
    );
    child.kill().await.unwrap();
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(replay_memory());
    runtime.block_on(failed_logins());
}
