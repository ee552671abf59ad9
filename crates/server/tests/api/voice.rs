//! Voice over the gateway: joins (atomic, takeover, cross-channel), signals, state, grace
//! period and resume, limits, and the ICE servers each provider hands out.

use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{Gateway, TestApp, TestUser};

async fn voice_channel(app: &TestApp, user: &TestUser, name: &str) -> String {
    let (_, channels) = app.call(Method::GET, "/channels", Some(&user.token), None).await;
    channels.as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].as_str().unwrap().to_owned()
}

async fn join(gateway: &mut Gateway, channel: &str) -> Value {
    gateway.request("voice_join", json!({"channel_id": channel})).await
}

/// The next `voice_state_update` about `user`, skipping unrelated frames.
async fn voice_update(gateway: &mut Gateway, user: &TestUser) -> Value {
    loop {
        let frame = gateway.next().await;
        if frame["t"] == "voice_state_update" && frame["d"]["user_id"] == user.id.as_str() {
            return frame["d"].clone();
        }
    }
}

#[tokio::test]
async fn joining_lists_participants_and_tells_everyone_who_can_see_the_channel() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let lounge = voice_channel(&app, &amy, "Lounge").await;
    let mut amy_gateway = app.gateway(&amy).await;
    let mut bob_gateway = app.gateway(&bob).await;

    let joined = join(&mut amy_gateway, &lounge).await;
    assert_eq!(joined["t"], "reply", "{joined}");
    assert_eq!(joined["d"]["channel_id"], lounge.as_str());
    assert_eq!(joined["d"]["participants"], json!([{"user_id": amy.id, "muted": false, "deafened": false, "speaking": false}]));
    assert_eq!(joined["d"]["ice_transport_policy"], "all");
    let relay_port = app.relay_ports.unwrap().udp_tcp;
    let servers = &joined["d"]["ice_servers"];
    assert_eq!(servers[0]["urls"], json!([format!("stun:127.0.0.1:{relay_port}")]), "the built-in relay, named by the host used");
    assert_eq!(
        servers[1]["urls"],
        json!([format!("turn:127.0.0.1:{relay_port}?transport=udp"), format!("turn:127.0.0.1:{relay_port}?transport=tcp")])
    );
    assert!(servers[1]["username"].as_str().unwrap().ends_with(&format!(":{}", amy.id)));
    assert_eq!(joined["d"]["ice_degraded"], false);
    let update = voice_update(&mut bob_gateway, &amy).await;
    assert_eq!(update["channel_id"], lounge.as_str());
    assert_eq!(update["session_id"], joined["d"]["session_id"]);

    let joined = join(&mut bob_gateway, &lounge).await;
    let users: Vec<&str> =
        joined["d"]["participants"].as_array().unwrap().iter().map(|p| p["user_id"].as_str().unwrap()).collect();
    assert_eq!(users.len(), 2);
    assert!(users.contains(&amy.id.as_str()) && users.contains(&bob.id.as_str()));

    let late = app.register("late").await;
    let mut late_gateway = app.raw_gateway(&[]).await;
    late_gateway.send(json!({"op": "identify", "d": {"token": late.token}})).await;
    let ready = late_gateway.next().await;
    assert_eq!(ready["d"]["voice_states"].as_array().unwrap().len(), 2, "ready tells who is in voice: {ready}");
}

#[tokio::test]
async fn joins_are_refused_with_typed_errors() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let member = app.register("member").await;
    let general = app.general(&admin).await;
    let secret = app.create_channel(&admin, "secret-voice", "voice", true).await;
    let mut gateway = app.gateway(&member).await;
    for (channel, code) in [(general.as_str(), "not_a_voice_channel"), ("123456", "not_found"), (secret.as_str(), "not_found")] {
        let refused = join(&mut gateway, channel).await;
        assert_eq!((refused["t"].as_str(), refused["d"]["code"].as_str()), (Some("error"), Some(code)), "{channel}");
    }
    let refused = gateway.request("voice_join", json!({"channel": general})).await;
    assert_eq!(refused["d"]["code"], "invalid_payload");

    let app = TestApp::spawn_with(|c| c.voice.enabled = false).await;
    let amy = app.register("amy").await;
    let lounge = voice_channel(&app, &amy, "Lounge").await;
    let mut gateway = app.gateway(&amy).await;
    assert_eq!(join(&mut gateway, &lounge).await["d"]["code"], "voice_disabled");
}

#[tokio::test]
async fn simultaneous_joins_from_two_connections_admit_exactly_one() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let lounge = voice_channel(&app, &amy, "Lounge").await;
    for round in 0..10 {
        let mut first = app.gateway(&amy).await;
        let mut second = app.gateway(&amy).await;
        let frame = json!({"op": "voice_join", "id": "j", "d": {"channel_id": lounge}});
        tokio::join!(first.send(frame.clone()), second.send(frame));
        let (a, b) = tokio::join!(reply(&mut first, "j"), reply(&mut second, "j"));
        let outcomes = [a["t"].as_str().unwrap(), b["t"].as_str().unwrap()];
        assert!(outcomes.contains(&"reply") && outcomes.contains(&"error"), "round {round}: {a} / {b}");
        let error = if a["t"] == "error" { &a } else { &b };
        assert_eq!(error["d"]["code"], "already_in_channel");
        let winner = if a["t"] == "reply" { &mut first } else { &mut second };
        assert_eq!(winner.request("voice_leave", json!({})).await["t"], "reply");
    }
}

async fn reply(gateway: &mut Gateway, id: &str) -> Value {
    loop {
        let frame = gateway.next().await;
        if frame["id"] == id {
            return frame;
        }
    }
}

#[tokio::test]
async fn takeover_moves_the_voice_session_to_the_new_connection() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let lounge = voice_channel(&app, &amy, "Lounge").await;
    let mut tab1 = app.gateway(&amy).await;
    let mut tab2 = app.gateway(&amy).await;
    let mut bob_gateway = app.gateway(&bob).await;
    let first = join(&mut tab1, &lounge).await;
    voice_update(&mut bob_gateway, &amy).await;

    assert_eq!(join(&mut tab2, &lounge).await["d"]["code"], "already_in_channel");
    let taken = tab2.request("voice_join", json!({"channel_id": lounge, "takeover": true})).await;
    assert_eq!(taken["t"], "reply");
    assert_ne!(taken["d"]["session_id"], first["d"]["session_id"]);
    let replaced = tab1.expect("voice_session_replaced").await;
    assert_eq!(replaced["d"]["channel_id"], lounge.as_str());
    let update = voice_update(&mut bob_gateway, &amy).await;
    assert_eq!(update["session_id"], taken["d"]["session_id"], "peers learn the new session and renegotiate");
    assert_eq!(update["channel_id"], lounge.as_str());
    let stale = tab1.request("voice_state", json!({"muted": true})).await;
    assert_eq!(stale["d"]["code"], "not_in_voice", "the replaced connection no longer speaks for the user");
}

#[tokio::test]
async fn joining_another_channel_leaves_the_first() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let bob = app.register("bob").await;
    let lounge = voice_channel(&app, &admin, "Lounge").await;
    let games = app.create_channel(&admin, "Games", "voice", false).await;
    let mut gateway = app.gateway(&admin).await;
    let mut other_tab = app.gateway(&admin).await;
    let mut bob_gateway = app.gateway(&bob).await;
    join(&mut gateway, &lounge).await;
    assert_eq!(voice_update(&mut bob_gateway, &admin).await["channel_id"], lounge.as_str());
    assert_eq!(join(&mut other_tab, &games).await["d"]["code"], "already_in_voice");
    assert_eq!(join(&mut gateway, &games).await["t"], "reply");
    let left = voice_update(&mut bob_gateway, &admin).await;
    assert!(left["channel_id"].is_null(), "first leaves the Lounge: {left}");
    let moved = voice_update(&mut bob_gateway, &admin).await;
    assert_eq!(moved["channel_id"], games.as_str(), "then joins Games, so in-order clients end in Games");
    assert_eq!(gateway.request("voice_leave", json!({})).await["t"], "reply");
    assert!(voice_update(&mut bob_gateway, &admin).await["channel_id"].is_null());
}

#[tokio::test]
async fn signals_reach_only_their_target_in_the_same_channel() {
    let app = TestApp::spawn().await;
    let admin = app.register("amy").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    let lounge = voice_channel(&app, &admin, "Lounge").await;
    let games = app.create_channel(&admin, "Games", "voice", false).await;
    let (mut a, mut b, mut c, mut d) =
        (app.gateway(&admin).await, app.gateway(&bob).await, app.gateway(&carol).await, app.gateway(&dave).await);
    let mut bob_other_tab = app.gateway(&bob).await;
    for gateway in [&mut a, &mut b, &mut c] {
        assert_eq!(join(gateway, &lounge).await["t"], "reply");
    }
    join(&mut d, &games).await;

    let offer = json!({"description": {"type": "offer", "sdp": "v=0..."}});
    let sent = a.request("voice_signal", json!({"to": bob.id, "signal": offer})).await;
    assert_eq!(sent["t"], "reply", "{sent}");
    let received = b.expect("voice_signal").await;
    assert_eq!(received["d"], json!({"from": admin.id, "signal": offer}));
    c.expect_none("voice_signal", Duration::from_millis(200)).await;
    bob_other_tab.expect_none("voice_signal", Duration::from_millis(100)).await;

    let refused = a.request("voice_signal", json!({"to": dave.id, "signal": offer})).await;
    assert_eq!(refused["d"]["code"], "not_in_channel");
    let refused = d.request("voice_signal", json!({"to": admin.id, "signal": offer})).await;
    assert_eq!(refused["d"]["code"], "not_in_channel");
    let refused = bob_other_tab.request("voice_signal", json!({"to": admin.id, "signal": offer})).await;
    assert_eq!(refused["d"]["code"], "not_in_channel", "only the voice connection may signal");
    let refused = a.request("voice_signal", json!({"to": admin.id, "signal": offer})).await;
    assert_eq!(refused["d"]["code"], "not_in_channel", "not to oneself");
    for (bad, code) in [
        (json!({"to": bob.id, "signal": "sdp"}), "invalid_signal"),
        (json!({"to": bob.id}), "invalid_payload"),
        (json!({"to": "nobody", "signal": {}}), "invalid_payload"),
        (json!({"to": bob.id, "signal": {"sdp": "x".repeat(13_000)}}), "signal_too_large"),
    ] {
        let refused = a.request("voice_signal", bad.clone()).await;
        assert_eq!(refused["d"]["code"], code, "{bad}");
    }
}

#[tokio::test]
async fn signals_are_rate_limited() {
    let app = TestApp::spawn_with(|c| c.voice.signals_per_minute = 5).await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let lounge = voice_channel(&app, &amy, "Lounge").await;
    let (mut a, mut b) = (app.gateway(&amy).await, app.gateway(&bob).await);
    join(&mut a, &lounge).await;
    join(&mut b, &lounge).await;
    let mut codes = Vec::new();
    for _ in 0..7 {
        let frame = a.request("voice_signal", json!({"to": bob.id, "signal": {"candidate": null}})).await;
        codes.push(frame["d"]["code"].as_str().unwrap_or("ok").to_owned());
    }
    assert_eq!(codes, ["ok", "ok", "ok", "ok", "ok", "rate_limited", "rate_limited"]);
}

#[tokio::test]
async fn mute_and_deafen_reach_the_others() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let lounge = voice_channel(&app, &amy, "Lounge").await;
    let (mut a, mut b) = (app.gateway(&amy).await, app.gateway(&bob).await);
    join(&mut a, &lounge).await;
    voice_update(&mut b, &amy).await;
    assert_eq!(a.request("voice_state", json!({"muted": true})).await["t"], "reply");
    let update = voice_update(&mut b, &amy).await;
    assert_eq!((update["muted"].as_bool(), update["deafened"].as_bool()), (Some(true), Some(false)));
    a.request("voice_state", json!({"deafened": true, "speaking": false})).await;
    let update = voice_update(&mut b, &amy).await;
    assert_eq!((update["muted"].as_bool(), update["deafened"].as_bool()), (Some(true), Some(true)), "deafen mutes");
    assert_eq!(b.request("voice_state", json!({"muted": true})).await["d"]["code"], "not_in_voice");
}

#[tokio::test]
async fn a_dropped_connection_keeps_voice_through_resume_and_leaves_after_the_grace_period() {
    let app = TestApp::spawn_with(|c| c.voice.grace_ms = 1_500).await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let lounge = voice_channel(&app, &amy, "Lounge").await;
    let mut bob_gateway = app.gateway(&bob).await;
    let mut amy_gateway = app.gateway(&amy).await;
    join(&mut amy_gateway, &lounge).await;
    voice_update(&mut bob_gateway, &amy).await;

    let (session_id, seq) = (amy_gateway.session_id.clone(), amy_gateway.seq);
    drop(amy_gateway);
    let mut resumed = app.raw_gateway(&[]).await;
    resumed.seq = seq;
    resumed.send(json!({"op": "resume", "d": {"token": amy.token, "session_id": session_id, "seq": seq}})).await;
    resumed.expect("resumed").await;
    bob_gateway.expect_silence(Duration::from_millis(2_000)).await;
    assert_eq!(resumed.request("voice_state", json!({"muted": true})).await["t"], "reply", "still in voice after the blip");
    voice_update(&mut bob_gateway, &amy).await;

    drop(resumed);
    let started = std::time::Instant::now();
    let left = voice_update(&mut bob_gateway, &amy).await;
    assert!(left["channel_id"].is_null());
    assert!(started.elapsed() >= Duration::from_millis(1_000), "not before the grace period");
}

#[tokio::test]
async fn a_goodbye_or_a_removed_membership_leaves_voice_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let bob = app.register("bob").await;
    let secret = app.create_channel(&admin, "secret-voice", "voice", true).await;
    app.call(Method::PUT, &format!("/channels/{secret}/members/{}", bob.id), Some(&admin.token), None).await;
    let mut admin_gateway = app.gateway(&admin).await;
    let mut bob_gateway = app.gateway(&bob).await;
    assert_eq!(join(&mut bob_gateway, &secret).await["t"], "reply");
    voice_update(&mut admin_gateway, &bob).await;
    app.call(Method::DELETE, &format!("/channels/{secret}/members/{}", bob.id), Some(&admin.token), None).await;
    assert!(voice_update(&mut admin_gateway, &bob).await["channel_id"].is_null(), "evicted when access ends");

    let lounge = voice_channel(&app, &admin, "Lounge").await;
    let mut bob_gateway = app.gateway(&bob).await;
    join(&mut bob_gateway, &lounge).await;
    voice_update(&mut admin_gateway, &bob).await;
    let goodbye = tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Away,
        reason: "tab closed".into(),
    };
    bob_gateway.ws.close(Some(goodbye)).await.unwrap();
    assert!(voice_update(&mut admin_gateway, &bob).await["channel_id"].is_null());
}

#[tokio::test]
async fn coturn_credentials_are_fresh_time_limited_and_policy_follows_force_relay() {
    let app = TestApp::spawn_with(|c| {
        c.turn.provider = cromulent::config::TurnProvider::Coturn;
        c.turn.secret = "s3cret".into();
        c.turn.urls = vec!["turn:127.0.0.1:3478?transport=udp".into()];
        c.turn.stun_urls = vec!["stun:127.0.0.1:3478".into()];
        c.voice.force_relay = true;
    })
    .await;
    let amy = app.register("amy").await;
    let response = app.http.get(app.api("/voice/ice-servers")).bearer_auth(&amy.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["ice_transport_policy"], "relay");
    assert_eq!(body["ice_servers"][0], json!({"urls": ["stun:127.0.0.1:3478"]}));
    let turn = &body["ice_servers"][1];
    let username = turn["username"].as_str().unwrap();
    let (expiry, user) = username.split_once(':').unwrap();
    assert_eq!(user, amy.id);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let expiry: i64 = expiry.parse().unwrap();
    assert!((now + 3500..=now + 3700).contains(&expiry));
    assert_eq!(body["expires_at"], expiry);
    let password = cromulent_turn::credential::mint(b"s3cret", &amy.id, expiry).password;
    assert_eq!(turn["credential"], password.as_str());
    assert!(!body.to_string().contains("s3cret"), "the secret never leaves the server");

    let lounge = voice_channel(&app, &amy, "Lounge").await;
    let mut gateway = app.gateway(&amy).await;
    assert_eq!(gateway.request("voice_refresh_ice", json!({})).await["d"]["code"], "not_in_voice");
    join(&mut gateway, &lounge).await;
    let refreshed = gateway.request("voice_refresh_ice", json!({})).await;
    assert_eq!(refreshed["d"]["ice_servers"][1]["urls"], json!(["turn:127.0.0.1:3478?transport=udp"]));
    let (status, _) = app.call(Method::GET, "/voice/ice-servers", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
