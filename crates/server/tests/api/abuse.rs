//! The server under abuse and faults: clients that stop reading, flood ops or close, users
//! who open too many sessions. Each test is the reproduction of a defect found by probing.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
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
