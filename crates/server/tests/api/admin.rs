//! The admin API on people: who may call it, the last-admin guard, and what a ban, a timeout,
//! a new password and a voice disconnect do to the account's REST calls, gateway connections,
//! voice and relay allocations; every change in the audit log.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Ended, Gateway, TestApp, TestUser};

async fn lounge(app: &TestApp, user: &TestUser) -> String {
    let (_, channels) = app.call(Method::GET, "/channels", Some(&user.token), None).await;
    channels.as_array().unwrap().iter().find(|c| c["name"] == "Lounge").unwrap()["id"].as_str().unwrap().to_owned()
}

/// The next frame of type `t`, skipping everything else.
async fn next_of(gateway: &mut Gateway, t: &str) -> Value {
    loop {
        let frame = gateway.next().await;
        if frame["t"] == t {
            return frame;
        }
    }
}

fn in_ms(ms: i64) -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 + ms
}

#[tokio::test]
async fn every_admin_route_refuses_strangers_and_members() {
    let app = TestApp::spawn().await;
    let _amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let routes: &[(Method, &str, Value)] = &[
        (Method::GET, "/admin/users", Value::Null),
        (Method::POST, "/admin/users", json!({"username": "eve", "password": "long enough"})),
        (Method::PATCH, &format!("/admin/users/{}", ben.id), json!({"admin": true})),
        (Method::POST, &format!("/admin/users/{}/timeout", ben.id), json!({"until": in_ms(60_000)})),
        (Method::DELETE, &format!("/admin/users/{}/timeout", ben.id), Value::Null),
        (Method::POST, &format!("/admin/users/{}/password", ben.id), json!({"password": "another one"})),
        (Method::POST, "/admin/voice/disconnect", json!({"user_id": ben.id})),
        (Method::GET, "/admin/audit", Value::Null),
    ];
    for (method, path, body) in routes {
        let body = (!body.is_null()).then(|| body.clone());
        let (status, answer) = app.call(method.clone(), path, None, body.clone()).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
            "{method} {path}"
        );
        let (status, answer) = app.call(method.clone(), path, Some(&ben.token), body).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{method} {path}");
    }
}

#[tokio::test]
async fn admins_create_promote_and_demote_but_never_leave_the_server_without_an_admin() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"registration_open": false}))).await;
    let (status, ben) = app
        .call(Method::POST, "/admin/users", Some(&amy.token), Some(json!({"username": "ben", "password": "long enough"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ben}");
    assert_eq!((ben["admin"].as_bool(), ben["disabled"].as_bool()), (Some(false), Some(false)), "{ben}");
    let (status, login) =
        app.call(Method::POST, "/auth/login", None, Some(json!({"username": "ben", "password": "long enough"}))).await;
    assert_eq!(status, StatusCode::OK, "the account works although registration is closed: {login}");
    let ben_token = login["token"].as_str().unwrap().to_owned();
    let ben_id = ben["id"].as_str().unwrap();
    let (status, taken) = app
        .call(Method::POST, "/admin/users", Some(&amy.token), Some(json!({"username": "BEN", "password": "long enough"})))
        .await;
    assert_eq!((status, taken["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("username_taken")));

    let ben_user = TestUser { id: ben_id.to_owned(), token: ben_token.clone() };
    let mut ben_gateway = app.gateway(&ben_user).await;
    let (status, promoted) =
        app.call(Method::PATCH, &format!("/admin/users/{ben_id}"), Some(&amy.token), Some(json!({"admin": true}))).await;
    assert_eq!((status, promoted["admin"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(ben_gateway.ended().await, Ended::Closed(4014), "a session opened as a member cannot go on as an admin");
    let mut ben_gateway = app.raw_gateway(&[]).await;
    ben_gateway.send(json!({"op": "identify", "d": {"token": ben_token}})).await;
    assert_eq!(ben_gateway.next().await["d"]["user"]["admin"], true, "identifying again gives the new rights");
    // Ben demotes amy; then he is the last admin and can neither demote nor disable himself.
    let (status, _) =
        app.call(Method::PATCH, &format!("/admin/users/{}", amy.id), Some(&ben_token), Some(json!({"admin": false}))).await;
    assert_eq!(status, StatusCode::OK);
    for change in [json!({"admin": false}), json!({"disabled": true})] {
        let (status, refused) = app.call(Method::PATCH, &format!("/admin/users/{ben_id}"), Some(&ben_token), Some(change)).await;
        assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("last_admin")), "{refused}");
    }
    let (_, users) = app.call(Method::GET, "/admin/users", Some(&ben_token), None).await;
    let admins: Vec<&str> =
        users.as_array().unwrap().iter().filter(|u| u["admin"] == true).map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(admins, ["ben"]);
    let (status, missing) = app.call(Method::PATCH, "/admin/users/1234", Some(&ben_token), Some(json!({"disabled": true}))).await;
    assert_eq!((status, missing["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    let (_, audit) = app.call(Method::GET, "/admin/audit", Some(&ben_token), None).await;
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user.demote", "user.promote", "user.create", "settings.update"], "newest first");
    assert_eq!(audit[0]["actor_id"], ben_id);
    assert_eq!(audit[0]["target"], amy.id);
    let (_, page) = app
        .call(Method::GET, &format!("/admin/audit?limit=1&before={}", audit[0]["id"].as_str().unwrap()), Some(&ben_token), None)
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["action"], "user.promote");
    let (status, _) = app.call(Method::GET, "/admin/audit?limit=0", Some(&ben_token), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_ban_ends_sessions_gateway_and_voice_deletes_recent_messages_and_refuses_login() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let carl = app.register("carl").await;
    let general = app.general(&amy).await;
    let lounge = lounge(&app, &amy).await;
    for text in ["spam one", "spam two"] {
        let (status, _) = app
            .call(Method::POST, &format!("/channels/{general}/messages"), Some(&ben.token), Some(json!({"content": text})))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut carl_gateway = app.gateway(&carl).await;
    let mut ben_gateway = app.gateway(&ben).await;
    let joined = ben_gateway.request("voice_join", json!({"channel_id": lounge})).await;
    assert_eq!(joined["t"], "reply", "{joined}");
    assert_eq!(next_of(&mut carl_gateway, "voice_state_update").await["d"]["channel_id"], lounge.as_str());

    let ban = json!({"disabled": true, "reason": "spam", "delete_messages_hours": 1});
    let (status, banned) = app.call(Method::PATCH, &format!("/admin/users/{}", ben.id), Some(&amy.token), Some(ban)).await;
    assert_eq!((status, banned["disabled"].as_bool()), (StatusCode::OK, Some(true)), "{banned}");
    assert_eq!(ben_gateway.ended().await, Ended::Closed(4013), "the banned connection closes with 4013");
    // Everyone else sees him leave voice and his messages go.
    let left = next_of(&mut carl_gateway, "voice_state_update").await;
    assert!(left["d"]["channel_id"].is_null(), "{left}");
    for _ in 0..2 {
        assert_eq!(next_of(&mut carl_gateway, "message_delete").await["d"]["channel_id"], general.as_str());
    }
    let (_, history) = app.call(Method::GET, &format!("/channels/{general}/messages"), Some(&amy.token), None).await;
    assert!(history.as_array().unwrap().is_empty(), "{history}");
    let (status, _) = app.call(Method::GET, "/users/@me", Some(&ben.token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "his sessions are gone");
    let login = json!({"username": "ben", "password": "correct horse"});
    let (status, refused) = app.call(Method::POST, "/auth/login", None, Some(login.clone())).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("account_disabled")));
    let (status, wrong) =
        app.call(Method::POST, "/auth/login", None, Some(json!({"username": "ben", "password": "wrong password"}))).await;
    assert_eq!(
        (status, wrong["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials")),
        "no hint without the password"
    );

    let (_, audit) = app.call(Method::GET, "/admin/audit", Some(&amy.token), None).await;
    assert_eq!(audit[0]["action"], "user.disable");
    assert_eq!(audit[0]["reason"], "spam");
    assert_eq!(audit[0]["detail"], "deleted 2 messages of the last 1 h");

    let (status, _) =
        app.call(Method::PATCH, &format!("/admin/users/{}", ben.id), Some(&amy.token), Some(json!({"disabled": false}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.call(Method::POST, "/auth/login", None, Some(login)).await;
    assert_eq!(status, StatusCode::OK, "enabled again, he logs in");
    let (status, invalid) = app
        .call(Method::PATCH, &format!("/admin/users/{}", ben.id), Some(&amy.token), Some(json!({"delete_messages_hours": 3})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "messages go only with a ban: {invalid}");
}

#[tokio::test]
async fn a_timed_out_member_reads_but_cannot_post_type_or_speak_until_it_ends() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let general = app.general(&amy).await;
    let lounge = lounge(&app, &amy).await;
    let mut ben_gateway = app.gateway(&ben).await;
    assert_eq!(ben_gateway.request("voice_join", json!({"channel_id": lounge})).await["t"], "reply");

    for until in [in_ms(-1000), in_ms(29 * 86_400_000)] {
        let (status, _) = app
            .call(Method::POST, &format!("/admin/users/{}/timeout", ben.id), Some(&amy.token), Some(json!({"until": until})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{until}");
    }
    let until = in_ms(3_600_000);
    let (status, timed_out) = app
        .call(
            Method::POST,
            &format!("/admin/users/{}/timeout", ben.id),
            Some(&amy.token),
            Some(json!({"until": until, "reason": "cool off"})),
        )
        .await;
    assert_eq!((status, timed_out["timeout_until"].as_i64()), (StatusCode::OK, Some(until)));
    let told = next_of(&mut ben_gateway, "timeout_update").await;
    assert_eq!(told["d"], json!({"until": until}), "the member's client hears of it at once");
    let moved = next_of(&mut ben_gateway, "voice_disconnected").await;
    assert_eq!(moved["d"], json!({"channel_id": lounge, "reason": "timed_out"}));

    let post = json!({"content": "can I?"});
    let (status, refused) =
        app.call(Method::POST, &format!("/channels/{general}/messages"), Some(&ben.token), Some(post.clone())).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("timed_out")));
    let (status, _) = app.call(Method::GET, &format!("/channels/{general}/messages"), Some(&ben.token), None).await;
    assert_eq!(status, StatusCode::OK, "reading is fine");
    for (op, d) in [("typing", json!({"channel_id": general})), ("voice_join", json!({"channel_id": lounge}))] {
        let answer = ben_gateway.request(op, d).await;
        assert_eq!((answer["t"].as_str(), answer["d"]["code"].as_str()), (Some("error"), Some("timed_out")), "{op}: {answer}");
    }
    let (status, cleared) = app.call(Method::DELETE, &format!("/admin/users/{}/timeout", ben.id), Some(&amy.token), None).await;
    assert_eq!((status, cleared["timeout_until"].clone()), (StatusCode::OK, Value::Null));
    assert_eq!(next_of(&mut ben_gateway, "timeout_update").await["d"], json!({"until": null}));
    let (status, _) = app.call(Method::POST, &format!("/channels/{general}/messages"), Some(&ben.token), Some(post)).await;
    assert_eq!(status, StatusCode::CREATED);

    // A timeout outlives a restart.
    let (status, _) = app
        .call(Method::POST, &format!("/admin/users/{}/timeout", ben.id), Some(&amy.token), Some(json!({"until": until})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let app = app.restart().await;
    let (status, _) = app
        .call(Method::POST, &format!("/channels/{general}/messages"), Some(&ben.token), Some(json!({"content": "now?"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut gateway = app.raw_gateway(&[]).await;
    gateway.send(json!({"op": "identify", "d": {"token": ben.token}})).await;
    let ready = gateway.next().await;
    assert_eq!(ready["d"]["timeout_until"].as_i64(), Some(until), "a client that connects later learns of it: {ready}");
    let amy_ready = {
        let mut gateway = app.raw_gateway(&[]).await;
        gateway.send(json!({"op": "identify", "d": {"token": amy.token}})).await;
        gateway.next().await
    };
    assert!(amy_ready["d"].get("timeout_until").is_none(), "absent when none runs: {amy_ready}");
}

#[tokio::test]
async fn a_new_password_ends_the_old_sessions_and_a_moderator_can_take_someone_out_of_voice() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let lounge = lounge(&app, &amy).await;
    let mut ben_gateway = app.gateway(&ben).await;
    let (status, _) = app
        .call(Method::POST, &format!("/admin/users/{}/password", ben.id), Some(&amy.token), Some(json!({"password": "short"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/admin/users/{}/password", ben.id),
            Some(&amy.token),
            Some(json!({"password": "brand new one"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(ben_gateway.ended().await, Ended::Closed(4011));
    let (status, _) = app.call(Method::GET, "/users/@me", Some(&ben.token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, login) =
        app.call(Method::POST, "/auth/login", None, Some(json!({"username": "ben", "password": "brand new one"}))).await;
    assert_eq!(status, StatusCode::OK);
    let ben = TestUser { token: login["token"].as_str().unwrap().to_owned(), id: ben.id };

    let mut ben_gateway = app.gateway(&ben).await;
    let disconnect = json!({"user_id": ben.id});
    let (status, not_in) = app.call(Method::POST, "/admin/voice/disconnect", Some(&amy.token), Some(disconnect.clone())).await;
    assert_eq!((status, not_in["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_in_voice")));
    assert_eq!(ben_gateway.request("voice_join", json!({"channel_id": lounge})).await["t"], "reply");
    let (status, _) = app.call(Method::POST, "/admin/voice/disconnect", Some(&amy.token), Some(disconnect)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let moved = next_of(&mut ben_gateway, "voice_disconnected").await;
    assert_eq!(moved["d"], json!({"channel_id": lounge, "reason": "moderator"}));
    // He may join again: a disconnect is not a ban.
    assert_eq!(ben_gateway.request("voice_join", json!({"channel_id": lounge})).await["t"], "reply");
    let (_, audit) = app.call(Method::GET, "/admin/audit", Some(&amy.token), None).await;
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["voice.disconnect", "user.password"]);
}

#[tokio::test]
async fn a_server_mute_is_announced_to_the_channel_and_survives_a_rejoin() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let lounge = lounge(&app, &amy).await;
    let mut amy_gateway = app.gateway(&amy).await;
    let mut ben_gateway = app.gateway(&ben).await;
    assert_eq!(ben_gateway.request("voice_join", json!({"channel_id": lounge})).await["t"], "reply");
    let joined = next_of(&mut amy_gateway, "voice_state_update").await;
    assert!(joined["d"].get("server_muted").is_none(), "absent unless true: {joined}");
    let mute = json!({"user_id": ben.id, "muted": true});
    let (status, _) = app.call(Method::POST, "/admin/voice/mute", Some(&amy.token), Some(mute)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let muted = next_of(&mut amy_gateway, "voice_state_update").await;
    assert_eq!((muted["d"]["user_id"].as_str(), muted["d"]["server_muted"].as_bool()), (Some(ben.id.as_str()), Some(true)));
    assert_eq!(ben_gateway.request("voice_leave", json!({})).await["t"], "reply");
    assert_eq!(ben_gateway.request("voice_join", json!({"channel_id": lounge})).await["t"], "reply");
    loop {
        let update = next_of(&mut amy_gateway, "voice_state_update").await;
        if update["d"]["channel_id"] == lounge.as_str() {
            assert_eq!(update["d"]["server_muted"], true, "still muted after rejoining: {update}");
            break;
        }
    }
    let (_, audit) = app.call(Method::GET, "/admin/audit", Some(&amy.token), None).await;
    assert_eq!(audit[0]["action"], "voice.mute");
}

#[tokio::test]
async fn voice_is_turned_off_and_on_at_run_time_and_forced_relay_applies_to_new_lists() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let lounge = lounge(&app, &amy).await;
    let mut ben_gateway = app.gateway(&ben).await;
    assert_eq!(ben_gateway.request("voice_join", json!({"channel_id": lounge})).await["t"], "reply");

    let (status, settings) = app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"voice_enabled": false}))).await;
    assert_eq!((status, settings["voice_enabled"].as_bool()), (StatusCode::OK, Some(false)), "{settings}");
    let moved = next_of(&mut ben_gateway, "voice_disconnected").await;
    assert_eq!(moved["d"]["reason"], "voice_disabled");
    assert_eq!(next_of(&mut ben_gateway, "channel_delete").await["d"]["id"], lounge.as_str());
    let (_, channels) = app.call(Method::GET, "/channels", Some(&ben.token), None).await;
    assert!(channels.as_array().unwrap().iter().all(|c| c["kind"] != "voice"), "members see no voice channel: {channels}");
    let (_, channels) = app.call(Method::GET, "/channels", Some(&amy.token), None).await;
    assert!(channels.as_array().unwrap().iter().any(|c| c["id"] == lounge.as_str()), "admins still do");
    let refused = ben_gateway.request("voice_join", json!({"channel_id": lounge})).await;
    assert_eq!(refused["d"]["code"], "voice_disabled", "{refused}");

    app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"voice_enabled": true}))).await;
    assert_eq!(next_of(&mut ben_gateway, "channel_create").await["d"]["id"], lounge.as_str());
    assert_eq!(ben_gateway.request("voice_join", json!({"channel_id": lounge})).await["t"], "reply");

    let (_, before) = app.call(Method::GET, "/voice/ice-servers", Some(&ben.token), None).await;
    assert_eq!(before["ice_transport_policy"], "all");
    app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"force_relay": true}))).await;
    let (_, after) = app.call(Method::GET, "/voice/ice-servers", Some(&ben.token), None).await;
    assert_eq!(after["ice_transport_policy"], "relay");
    let (_, audit) = app.call(Method::GET, "/admin/audit", Some(&amy.token), None).await;
    assert_eq!(audit[0]["detail"], "voice.force_relay=true");

    // Stored: a restart keeps them.
    let app = app.restart().await;
    let (_, settings) = app.call(Method::GET, "/settings", Some(&amy.token), None).await;
    assert_eq!((settings["voice_enabled"].as_bool(), settings["force_relay"].as_bool()), (Some(true), Some(true)));
}

#[tokio::test]
async fn a_setting_the_configuration_sets_is_read_only_and_says_where() {
    let app = TestApp::spawn_with(|c| {
        c.voice.force_relay = true;
        c.locked.insert("voice.force_relay".into(), "environment variable CROMULENT_VOICE_FORCE_RELAY".into());
    })
    .await;
    let amy = app.register("amy").await;
    let (_, settings) = app.call(Method::GET, "/settings", Some(&amy.token), None).await;
    assert_eq!(settings["locked"], json!({"voice.force_relay": "environment variable CROMULENT_VOICE_FORCE_RELAY"}));
    let (status, refused) = app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"force_relay": false}))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("setting_locked")));
    let (_, settings) = app.call(Method::GET, "/settings", Some(&amy.token), None).await;
    assert_eq!(settings["force_relay"], true);
}

#[tokio::test]
async fn the_turn_provider_changes_at_run_time_and_its_secret_is_never_shown() {
    let app = TestApp::spawn_with(|c| c.turn.provider = cromulent::config::TurnProvider::None).await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let (_, before) = app.call(Method::GET, "/voice/ice-servers", Some(&ben.token), None).await;
    assert!(before["ice_servers"].as_array().unwrap().iter().all(|s| s["username"].is_null()), "STUN only: {before}");

    let (status, incomplete) =
        app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"ice": {"provider": "coturn"}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{incomplete}");
    let coturn = json!({"ice": {"provider": "coturn", "secret": "shh", "urls": ["turn:turn.chat.test:3478?transport=udp"]}});
    let (status, settings) = app.call(Method::PATCH, "/settings", Some(&amy.token), Some(coturn)).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["ice"]["provider"], "coturn");
    assert_eq!(settings["ice"]["secret_set"], true);
    assert!(!settings.to_string().contains("shh"), "the secret is never shown: {settings}");
    let (_, after) = app.call(Method::GET, "/voice/ice-servers", Some(&ben.token), None).await;
    let turn = after["ice_servers"].as_array().unwrap().iter().find(|s| !s["username"].is_null()).expect("a TURN entry");
    assert_eq!(turn["urls"], json!(["turn:turn.chat.test:3478?transport=udp"]));
    // Only the URL changes; the secret stays.
    let urls = json!({"ice": {"urls": ["turn:other.chat.test:3478?transport=tcp"]}});
    let (_, settings) = app.call(Method::PATCH, "/settings", Some(&amy.token), Some(urls)).await;
    assert_eq!(
        (settings["ice"]["secret_set"].as_bool(), settings["ice"]["urls"][0].as_str()),
        (Some(true), Some("turn:other.chat.test:3478?transport=tcp"))
    );

    let app = app.restart().await;
    let (_, kept) = app.call(Method::GET, "/voice/ice-servers", Some(&ben.token), None).await;
    let turn =
        kept["ice_servers"].as_array().unwrap().iter().find(|s| !s["username"].is_null()).expect("still coturn after a restart");
    assert_eq!(turn["urls"], json!(["turn:other.chat.test:3478?transport=tcp"]));
    let (_, audit) = app.call(Method::GET, "/admin/audit", Some(&amy.token), None).await;
    assert_eq!(audit[0]["detail"], "ice.provider=coturn");
    assert!(!audit.to_string().contains("shh"));
}
