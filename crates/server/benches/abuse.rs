//! Memory under abuse: the server's RSS when one user posts a thousand maximum-size messages to
//! forty sessions (each keeps a replay buffer for `resume`), and after a thousand failed logins
//! (each costs an Argon2 hash). Starts the release binary with its defaults, apart from limits
//! that would otherwise stop the abuse before it could be measured. Run with
//! `cargo bench --bench abuse`.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use support::{Server, general, register, rss_mib, start_server};

/// Sessions that hold the messages.
const SESSIONS: usize = 40;
/// Messages posted, each of 4,000 four-byte characters: the largest a message can be.
const MESSAGES: usize = 1_000;
/// Failed logins, in waves of this many at once.
const LOGINS: usize = 1_000;
const WAVE: usize = 50;

async fn settled_rss(pid: u32) -> f64 {
    tokio::time::sleep(Duration::from_secs(2)).await;
    rss_mib(pid)
}

async fn replay_memory() {
    let dir = tempfile::tempdir().unwrap();
    let limits = [("CROMULENT_CHAT_MESSAGES_PER_10S", "1000000"), ("CROMULENT_CHAT_MESSAGE_BURST", "1000000")];
    let Server { mut child, addr, pid } =
        start_server(dir.path(), &[&[("CROMULENT_TURN_PROVIDER", "none")][..], &limits].concat()).await;
    let http = reqwest::Client::new();
    let token = register(&http, &addr, "poster").await;
    let general = general(&http, &addr, &token).await;
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
    let env = [("CROMULENT_TURN_PROVIDER", "none"), ("CROMULENT_AUTH_ATTEMPTS_PER_IP_PER_MINUTE", "1000000")];
    let Server { mut child, addr, pid } = start_server(dir.path(), &env).await;
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
