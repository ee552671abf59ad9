//! The server under abuse and faults: clients that stop reading, flood ops or close, users
//! who open too many sessions or post too fast, retries of sends whose reply was lost. Each test is the reproduction of a defect found by probing.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::helpers::{Ended, TestApp};

/// TCP state ESTABLISHED in `/proc/net/tcp`.
const ESTABLISHED: u8 = 1;

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_at_its_heartbeat_deadline_and_can_resume() {
    let app = TestApp::spawn_with(|c| {
        c.gateway.heartbeat_interval_ms = 500;
        // Large enough that the backlog never counts as a slow consumer: only the write
        // deadline can end this connection.
        c.gateway.send_queue_frames = 100_000;
        c.gateway.replay_frames = 100_000;
        c.gateway.replay_bytes = 1 << 30;
    })
    .await;
    let amy = app.register("amy").await;
    let general = app.general(&amy).await;
    let (slow, client) = app.slow_gateway(&amy).await;
    // Alive (it heartbeats) but never reads again.
    let (mut sink, _unread) = slow.ws.split();
    let heartbeats = tokio::spawn(async move {
        while sink.send(Message::Text(r#"{"op":"heartbeat"}"#.into())).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    });
    // Post until the kernel's buffers towards the client are full (its send queue stops
    // growing), then a little more: the server's write now waits on a client that never reads,
    // with far less pending than the socket library's own write limit.
    let content = "x".repeat(4000);
    let mut last_queued = 0;
    let mut full_for = 0;
    for _ in 0..2000 {
        app.post(&amy, &general, &content).await;
        let (_, queued) = app.server_socket(client).expect("connected while writing");
        full_for = if queued > 0 && queued == last_queued { full_for + 1 } else { 0 };
        last_queued = queued;
        if full_for == 20 {
            break;
        }
    }
    assert_eq!(full_for, 20, "the client's buffers never filled");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.server_socket(client).is_some_and(|(state, _)| state == ESTABLISHED) {
        assert!(tokio::time::Instant::now() < deadline, "a client that reads nothing is still connected after 5 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    heartbeats.abort();

    let mut fresh = app.raw_gateway(&[]).await;
    fresh.seq = 1;
    fresh.send(json!({"op": "resume", "d": {"token": amy.token, "session_id": slow.session_id, "seq": 1}})).await;
    let first = fresh.next().await;
    assert_eq!(first["s"], 2, "the frames the stuck connection never took are replayed: {first}");
}

#[tokio::test]
async fn a_close_from_the_client_is_answered() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let mut gateway = app.gateway(&amy).await;
    gateway.ws.send(Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "bye".into() }))).await.unwrap();
    assert_eq!(gateway.ended().await, Ended::Closed(1000), "the echo of our close, not a dropped connection");
}

#[tokio::test]
async fn the_rate_limit_close_reaches_a_client_that_keeps_sending() {
    let app = TestApp::spawn_with(|c| c.gateway.ops_per_minute = 5).await;
    let amy = app.register("amy").await;
    let gateway = app.gateway(&amy).await;
    let (mut sink, mut stream) = gateway.ws.split();
    // Keeps sending well past the limit, as a misbehaving client would, while we read.
    let padding = "p".repeat(8 * 1024);
    let flood = tokio::spawn(async move {
        for _ in 0..400 {
            let frame = json!({"op": "heartbeat", "d": padding}).to_string();
            if sink.send(Message::Text(frame.into())).await.is_err() {
                break;
            }
        }
    });
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("the connection ends") {
            Some(Ok(Message::Close(Some(frame)))) => break Ended::Closed(u16::from(frame.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break Ended::Dropped,
        }
    };
    flood.abort();
    assert_eq!(ended, Ended::Closed(4029));
}

#[tokio::test]
async fn opening_one_session_too_many_ends_the_users_oldest() {
    let app = TestApp::spawn_with(|c| c.gateway.max_sessions_per_user = 2).await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let mut first = app.gateway(&amy).await;
    let _bobs = app.gateway(&bob).await;
    let _second = app.gateway(&amy).await;
    let mut third = app.gateway(&amy).await;
    assert_eq!(first.ended().await, Ended::Closed(4012));
    assert_eq!(third.request("voice_leave", json!({})).await["t"], "reply", "the newest sessions stay");
}

#[tokio::test]
async fn posting_is_rate_limited_per_user() {
    let app = TestApp::spawn_with(|c| {
        c.chat.messages_per_10s = 10;
        c.chat.message_burst = 5;
    })
    .await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let general = app.general(&amy).await;
    let path = format!("/channels/{general}/messages");
    for n in 0..5 {
        let (status, _) = app.call(Method::POST, &path, Some(&amy.token), Some(json!({"content": format!("{n}")}))).await;
        assert_eq!(status, StatusCode::CREATED, "message {n} is within the burst");
    }
    let response =
        app.http.post(app.api(&path)).bearer_auth(&amy.token).json(&json!({"content": "one too many"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let (status, _) = app.call(Method::POST, &path, Some(&bob.token), Some(json!({"content": "bob is fine"}))).await;
    assert_eq!(status, StatusCode::CREATED, "the limit is per user");
}

#[tokio::test]
async fn a_retried_send_returns_the_first_message_instead_of_posting_twice() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let general = app.general(&amy).await;
    let mut watcher = app.gateway(&bob).await;
    let path = format!("/channels/{general}/messages");
    let send = |user: &crate::helpers::TestUser, nonce: &str| {
        let body = json!({"content": "only once", "nonce": nonce});
        let token = user.token.clone();
        let (app, path) = (&app, &path);
        async move { app.call(Method::POST, path, Some(&token), Some(body)).await }
    };
    let (status, first) = send(&amy, "n-1").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, again) = send(&amy, "n-1").await;
    assert_eq!((status, &again["id"]), (StatusCode::OK, &first["id"]), "{again}");

    // Concurrent retries of one send: exactly one posts.
    let results = futures_util::future::join_all((0..8).map(|_| send(&amy, "n-2"))).await;
    let created = results.iter().filter(|(status, _)| *status == StatusCode::CREATED).count();
    assert_eq!(created, 1, "{results:?}");
    assert!(results.iter().all(|(_, m)| m["id"] == results[0].1["id"]), "{results:?}");

    let (status, _) = send(&bob, "n-1").await;
    assert_eq!(status, StatusCode::CREATED, "nonces are per sender");
    let (status, error) = send(&amy, &"n".repeat(65)).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_nonce")));

    let (_, history) = app.call(Method::GET, &path, Some(&amy.token), None).await;
    assert_eq!(history.as_array().unwrap().len(), 3, "{history}");
    let first_event = watcher.expect("message_create").await;
    assert_eq!(first_event["d"]["nonce"], "n-1", "the sender knows its message by the nonce: {first_event}");
    assert_eq!(first["nonce"], "n-1");
    for _ in 0..2 {
        watcher.expect("message_create").await;
    }
    watcher.expect_none("message_create", Duration::from_millis(300)).await;
}

#[tokio::test]
async fn failed_logins_cannot_grow_the_servers_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cromulent"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "info"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("CROMULENT_LOG_FORMAT", "json")
        .env("CROMULENT_TURN_PROVIDER", "none")
        .env("CROMULENT_AUTH_MAX_CONCURRENT_HASHES", "2")
        .env("CROMULENT_AUTH_ATTEMPTS_PER_IP_PER_MINUTE", "100000")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let (addr, mut lines) = crate::helpers::listening_address(&mut child).await;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let rss_mib = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kib: u64 =
            status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
        kib / 1024
    };
    let idle = rss_mib();
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/auth/login");
    let mut statuses = Vec::new();
    // Waves of 25 concurrent logins for accounts that do not exist: each costs a full hash.
    for wave in 0..4 {
        let logins = (0..25).map(|n| {
            let body = json!({"username": format!("ghost-{wave}-{n}"), "password": "wrong password"});
            http.post(&url).json(&body).send()
        });
        for response in futures_util::future::join_all(logins).await {
            statuses.push(response.unwrap().status());
        }
    }
    let after = rss_mib();
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "a crowd beyond the waiting places is refused, not queued");
    // Two work areas of 19 MiB and some slack, where a fresh area per hash grew it by hundreds.
    assert!(after <= idle + 2 * 19 + 16, "RSS grew from {idle} MiB to {after} MiB");
}

#[tokio::test]
async fn guessing_from_many_addresses_never_locks_the_owner_out() {
    let app = TestApp::spawn_with(|c| {
        c.auth.attempts_per_ip_per_minute = 30;
        c.auth.attempts_per_account_per_minute = 10;
        c.auth.attempts_per_account_from_anywhere_per_minute = 30;
    })
    .await;
    app.register("amy").await;
    let login = app.api("/auth/login");
    let owner = json!({"username": "amy", "password": "correct horse"});
    // The owner's browser logged in before, so it holds a device cookie.
    let first = app.http.post(&login).json(&owner).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let device = first
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("cromulent_device="))
        .expect("a device cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    // Guesses from 40 addresses, each within its own per-address budget, while the owner logs in.
    let mut owner_refused = 0;
    for attacker in 2..=41u8 {
        let from = std::net::IpAddr::from([127, 0, 0, attacker]);
        let client = reqwest::Client::builder().local_address(from).build().unwrap();
        for _ in 0..5 {
            let guess = json!({"username": "amy", "password": format!("guess {attacker}")});
            let status = client.post(&login).json(&guess).send().await.unwrap().status();
            assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS, "{status}");
        }
        if attacker % 4 == 0 {
            let status = app.http.post(&login).header(header::COOKIE, &device).json(&owner).send().await.unwrap().status();
            owner_refused += usize::from(status != StatusCode::OK);
        }
    }
    assert_eq!(owner_refused, 0, "the owner's browser was refused during the attack");

    // Meanwhile a browser the account never saw, from a fresh address, has to wait.
    let stranger = reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 0, 99])).build().unwrap();
    let status = stranger.post(&login).json(&owner).send().await.unwrap().status();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // A forged or foreign device cookie proves nothing.
    let forged = format!("{device}x");
    let status = stranger.post(&login).header(header::COOKIE, forged).json(&owner).send().await.unwrap().status();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
