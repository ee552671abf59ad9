//! The gateway: handshake, real-time fan-out, typing, presence, resume, and bad input.

use std::time::Duration;

use futures_util::SinkExt;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::helpers::{Ended, TestApp};

#[tokio::test]
async fn identify_yields_ready_with_user_channels_and_presence() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let _bob_gateway = app.gateway(&bob).await;
    let mut gateway = app.raw_gateway(&[]).await;
    gateway.send(json!({"op": "identify", "d": {"token": amy.token}})).await;
    let ready = gateway.next().await;
    assert_eq!(ready["t"], "ready");
    assert_eq!(ready["s"], 1);
    assert_eq!(ready["d"]["user"], json!({"id": amy.id, "username": "amy", "admin": true}));
    assert_eq!(ready["d"]["channels"].as_array().unwrap().len(), 2);
    let online: Vec<&str> = ready["d"]["online_user_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(online.contains(&amy.id.as_str()) && online.contains(&bob.id.as_str()));
    assert_eq!(ready["d"]["session_id"].as_str().unwrap().len(), 32);
    let ack = gateway.request("heartbeat", json!(null)).await;
    assert_eq!(ack["t"], "heartbeat_ack");
}

#[tokio::test]
async fn the_upgrade_cookie_identifies_a_browser() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let cookie = format!("cromulent_session={}", amy.token);
    let origin = format!("http://{}", app.addr);
    let mut gateway = app.raw_gateway(&[("cookie", &cookie), ("origin", &origin)]).await;
    gateway.send(json!({"op": "identify"})).await;
    assert_eq!(gateway.next().await["d"]["user"]["username"], "amy");
}

#[tokio::test]
async fn foreign_origins_cannot_open_the_gateway() {
    let app = TestApp::spawn().await;
    let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{}/api/v1/gateway",
        app.addr
    ))
    .unwrap();
    request.headers_mut().insert("origin", "http://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(request).await.unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), StatusCode::FORBIDDEN),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn pings_keep_a_connection_alive_before_and_after_identify() {
    let app = TestApp::spawn_with(|c| c.gateway.heartbeat_interval_ms = 300).await;
    let amy = app.register("amy").await;
    let mut gateway = app.raw_gateway(&[]).await;
    gateway.ws.send(Message::Ping(vec![1].into())).await.unwrap();
    gateway.send(json!({"op": "identify", "d": {"token": amy.token}})).await;
    assert_eq!(gateway.expect("ready").await["t"], "ready");
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        gateway.ws.send(Message::Ping(vec![2].into())).await.unwrap();
    }
    let ack = gateway.request("heartbeat", json!(null)).await;
    assert_eq!(ack["t"], "heartbeat_ack", "still open after 1 s of pings with a 300 ms interval");
}

#[tokio::test]
async fn handshake_errors_close_with_documented_codes() {
    let app = TestApp::spawn().await;
    let mut gateway = app.raw_gateway(&[]).await;
    gateway.send(json!({"op": "identify", "d": {"token": "not-a-token"}})).await;
    assert_eq!(gateway.ended().await, Ended::Closed(4004));

    let mut gateway = app.raw_gateway(&[]).await;
    gateway.send(json!({"op": "identify"})).await;
    assert_eq!(gateway.ended().await, Ended::Closed(4004), "no token and no cookie");

    let mut gateway = app.raw_gateway(&[]).await;
    gateway.send(json!({"op": "typing", "d": {"channel_id": "1"}})).await;
    assert_eq!(gateway.ended().await, Ended::Closed(4001));

    let mut gateway = app.raw_gateway(&[]).await;
    gateway.send(json!({"op": "identify", "d": {"token": 5}})).await;
    let error = gateway.next().await;
    assert_eq!((error["t"].as_str(), error["d"]["code"].as_str()), (Some("error"), Some("invalid_payload")));
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_connection_survives() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let mut gateway = app.gateway(&amy).await;
    gateway.ws.send(Message::Text("{not json".into())).await.unwrap();
    let error = gateway.expect("error").await;
    assert_eq!((error["t"].as_str(), error["d"]["code"].as_str()), (Some("error"), Some("invalid_frame")));
    gateway.ws.send(Message::Text(r#"{"op":"typing","id":{"x":1}}"#.into())).await.unwrap();
    assert_eq!(gateway.next().await["d"]["code"], "invalid_frame");
    // serde reads structs from arrays too; the protocol does not.
    gateway.ws.send(Message::Text(r#"["typing", 7, {"channel_id": "5"}]"#.into())).await.unwrap();
    assert_eq!(gateway.next().await["d"]["code"], "invalid_frame");
    let unknown = gateway.request("teleport", json!({})).await;
    assert_eq!((unknown["t"].as_str(), unknown["d"]["code"].as_str()), (Some("error"), Some("unknown_op")));
    let again = gateway.request("identify", json!({"token": amy.token})).await;
    assert_eq!(again["d"]["code"], "already_identified");
    let typing = gateway.request("typing", json!({"channel_id": "99999"})).await;
    assert_eq!(typing["d"]["code"], "not_found");
    let typing = gateway.request("typing", json!({"channel_id": "abc"})).await;
    assert_eq!(typing["d"]["code"], "invalid_payload");
    let ok = gateway.request("typing", json!({"channel_id": app.general(&amy).await})).await;
    assert_eq!(ok["t"], "reply");
}

#[tokio::test]
async fn oversize_and_binary_frames_close_the_connection() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let mut gateway = app.gateway(&amy).await;
    let huge = json!({"op": "heartbeat", "d": {"pad": "x".repeat(64 * 1024)}});
    gateway.ws.send(Message::Text(huge.to_string().into())).await.unwrap();
    assert_eq!(gateway.ended().await, Ended::Closed(1009));

    let mut gateway = app.gateway(&amy).await;
    gateway.ws.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert_eq!(gateway.ended().await, Ended::Closed(1003));
}

#[tokio::test]
async fn too_many_ops_close_the_connection() {
    let app = TestApp::spawn_with(|c| c.gateway.ops_per_minute = 5).await;
    let amy = app.register("amy").await;
    let mut gateway = app.gateway(&amy).await;
    for _ in 0..10 {
        gateway.ws.send(Message::Text(r#"{"op":"heartbeat"}"#.into())).await.unwrap();
    }
    assert_eq!(gateway.ended().await, Ended::Closed(4029));
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_two_heartbeat_intervals() {
    let app = TestApp::spawn_with(|c| c.gateway.heartbeat_interval_ms = 150).await;
    let amy = app.register("amy").await;
    let mut gateway = app.gateway(&amy).await;
    assert_eq!(gateway.ended().await, Ended::Closed(4009));
}

#[tokio::test]
async fn two_users_chat_in_real_time_with_edits_and_deletes() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let general = app.general(&amy).await;
    let mut amy_gateway = app.gateway(&amy).await;
    let mut bob_gateway = app.gateway(&bob).await;

    let posted = app.post(&amy, &general, "hi bob").await;
    for gateway in [&mut amy_gateway, &mut bob_gateway] {
        let event = gateway.expect("message_create").await;
        assert_eq!(event["d"], posted);
    }
    let reply = app.post(&bob, &general, "hi amy").await;
    assert_eq!(amy_gateway.expect("message_create").await["d"], reply);

    let path = format!("/channels/{general}/messages/{}", posted["id"].as_str().unwrap());
    let (_, edited) = app.call(Method::PATCH, &path, Some(&amy.token), Some(json!({"content": "hi bob!"}))).await;
    let event = bob_gateway.expect("message_create").await;
    assert_eq!(event["d"], reply, "bob sees his own message too");
    assert_eq!(bob_gateway.expect("message_update").await["d"], edited);
    app.call(Method::DELETE, &path, Some(&amy.token), None).await;
    let deleted = bob_gateway.expect("message_delete").await;
    assert_eq!(deleted["d"], json!({"id": posted["id"], "channel_id": general}));
}

#[tokio::test]
async fn typing_reaches_others_with_an_expiry() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let general = app.general(&amy).await;
    let mut amy_gateway = app.gateway(&amy).await;
    let mut bob_gateway = app.gateway(&bob).await;
    let reply = amy_gateway.request("typing", json!({"channel_id": general})).await;
    assert_eq!(reply["t"], "reply");
    let typing = loop {
        let frame = bob_gateway.next().await;
        if frame["t"] == "typing_start" {
            break frame;
        }
    };
    assert_eq!(typing["d"]["user_id"], amy.id.as_str());
    assert_eq!(typing["d"]["username"], "amy");
    assert_eq!(typing["d"]["channel_id"], general.as_str());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let expires = typing["d"]["expires_at"].as_i64().unwrap();
    assert!((now + 6_000..=now + 10_000).contains(&expires), "about 8 s from now");
    let (_, channels) = app.call(Method::GET, "/channels", Some(&amy.token), None).await;
    let lounge = channels.as_array().unwrap().iter().find(|c| c["kind"] == "voice").unwrap()["id"].clone();
    let refused = amy_gateway.request("typing", json!({"channel_id": lounge})).await;
    assert_eq!(refused["d"]["code"], "wrong_channel_kind");
}

#[tokio::test]
async fn presence_goes_offline_when_a_socket_dies_and_the_resume_window_passes() {
    let app = TestApp::spawn_with(|c| c.gateway.resume_window_ms = 300).await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let mut amy_gateway = app.gateway(&amy).await;
    let bob_gateway = app.gateway(&bob).await;
    amy_gateway.expect_presence(&bob.id, "online").await;
    drop(bob_gateway);
    amy_gateway.expect_presence(&bob.id, "offline").await;
}

#[tokio::test]
async fn a_clean_close_goes_offline_at_once() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let mut amy_gateway = app.gateway(&amy).await;
    let mut bob_gateway = app.gateway(&bob).await;
    amy_gateway.expect_presence(&bob.id, "online").await;
    let goodbye = tokio_tungstenite::tungstenite::protocol::CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
    bob_gateway.ws.close(Some(goodbye)).await.unwrap();
    let started = std::time::Instant::now();
    amy_gateway.expect_presence(&bob.id, "offline").await;
    assert!(started.elapsed() < Duration::from_secs(10), "before the 10 s resume window ends");
}

#[tokio::test]
async fn resume_after_a_dropped_connection_loses_nothing() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let general = app.general(&amy).await;
    let mut bob_gateway = app.gateway(&bob).await;
    app.post(&amy, &general, "before").await;
    bob_gateway.expect("message_create").await;
    let (session_id, seen) = (bob_gateway.session_id.clone(), bob_gateway.seq);
    drop(bob_gateway);

    let mut amy_gateway = app.gateway(&amy).await;
    for n in 0..3 {
        app.post(&amy, &general, &format!("missed {n}")).await;
    }
    for _ in 0..3 {
        amy_gateway.expect("message_create").await;
    }

    let mut resumed = app.raw_gateway(&[]).await;
    resumed.seq = seen;
    resumed.send(json!({"op": "resume", "d": {"token": bob.token, "session_id": session_id, "seq": seen}})).await;
    for n in 0..3 {
        let event = resumed.expect("message_create").await;
        assert_eq!(event["d"]["content"], format!("missed {n}"));
    }
    let done = resumed.expect("resumed").await;
    assert_eq!(done["d"]["replayed"].as_u64().unwrap(), resumed.seq - seen - 1);
    app.post(&amy, &general, "after").await;
    assert_eq!(resumed.expect("message_create").await["d"]["content"], "after");
    amy_gateway.expect("message_create").await;
}

#[tokio::test]
async fn resume_moves_a_live_session_to_the_new_connection() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let mut old = app.gateway(&amy).await;
    let mut new = app.raw_gateway(&[]).await;
    new.seq = old.seq;
    new.send(json!({"op": "resume", "d": {"token": amy.token, "session_id": old.session_id, "seq": old.seq}})).await;
    new.expect_presence(&amy.id, "online").await;
    assert_eq!(new.expect("resumed").await["d"]["replayed"], 1, "the presence frame the old connection had not read");
    assert_eq!(old.ended().await, Ended::Closed(4011));
}

#[tokio::test]
async fn resume_refusals_say_why_and_identify_still_works() {
    let app = TestApp::spawn_with(|c| c.gateway.replay_frames = 2).await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let general = app.general(&amy).await;

    let mut gateway = app.raw_gateway(&[]).await;
    gateway.send(json!({"op": "resume", "d": {"token": amy.token, "session_id": "0".repeat(32), "seq": 1}})).await;
    let refused = gateway.next().await;
    assert_eq!(refused["t"], "invalid_session");
    assert_eq!(refused["d"]["reason"], "unknown_session");

    let bob_gateway = app.gateway(&bob).await;
    let session_id = bob_gateway.session_id.clone();
    drop(bob_gateway);
    gateway.send(json!({"op": "resume", "d": {"token": amy.token, "session_id": session_id, "seq": 1}})).await;
    assert_eq!(gateway.next().await["d"]["reason"], "unknown_session", "another user's session");
    let (_, other_login) =
        app.call(Method::POST, "/auth/login", None, Some(json!({"username": "bob", "password": "correct horse"}))).await;
    let other_token = other_login["token"].as_str().unwrap();
    gateway.send(json!({"op": "resume", "d": {"token": other_token, "session_id": session_id, "seq": 1}})).await;
    assert_eq!(gateway.next().await["d"]["reason"], "unknown_session", "the same user with another login session");

    let bob_gateway = app.gateway(&bob).await;
    let session_id = bob_gateway.session_id.clone();
    drop(bob_gateway);
    for n in 0..4 {
        app.post(&amy, &general, &format!("{n}")).await;
    }
    let mut late = app.raw_gateway(&[]).await;
    late.send(json!({"op": "resume", "d": {"token": bob.token, "session_id": session_id, "seq": 1}})).await;
    assert_eq!(late.next().await["d"]["reason"], "too_far_behind");
    late.send(json!({"op": "identify", "d": {"token": bob.token}})).await;
    assert_eq!(late.next().await["t"], "ready");
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected_instead_of_buffered() {
    let app = TestApp::spawn_with(|c| {
        c.gateway.send_queue_frames = 4;
        c.gateway.replay_frames = 8;
    })
    .await;
    let amy = app.register("amy").await;
    let general = app.general(&amy).await;

    // A client whose receive window is tiny and that stops reading.
    let (mut slow, _) = app.slow_gateway(&amy).await;
    let content = "x".repeat(4000);
    for _ in 0..1500 {
        app.post(&amy, &general, &content).await;
    }
    assert_eq!(slow.ended().await, Ended::Closed(4010));
}
