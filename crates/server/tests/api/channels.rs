//! Channels: defaults, admin management, and private channels hidden on every path.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn names(channels: &Value) -> Vec<(String, String)> {
    channels
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["kind"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn first_start_creates_general_and_lounge() {
    let app = TestApp::spawn().await;
    let user = app.register("amy").await;
    let (status, channels) = app.call(Method::GET, "/channels", Some(&user.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&channels), vec![("general".into(), "text".into()), ("Lounge".into(), "voice".into())]);
    assert!(channels.as_array().unwrap().iter().all(|c| c["private"] == false && c["id"].is_string()));
    let app = app.restart().await;
    let (_, again) = app.call(Method::GET, "/channels", Some(&user.token), None).await;
    assert_eq!(names(&again).len(), 2, "defaults are created once");
}

#[tokio::test]
async fn admins_manage_channels_and_members_cannot() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let member = app.register("member").await;
    let (status, body) =
        app.call(Method::POST, "/channels", Some(&member.token), Some(json!({"name": "x", "kind": "text"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));

    let id = app.create_channel(&admin, "Random", "text", false).await;
    let (status, body) =
        app.call(Method::POST, "/channels", Some(&admin.token), Some(json!({"name": " random ", "kind": "text"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("channel_name_taken")));
    app.create_channel(&admin, "random", "voice", false).await;
    let (status, body) =
        app.call(Method::POST, "/channels", Some(&admin.token), Some(json!({"name": "  ", "kind": "text"}))).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    let (status, body) =
        app.call(Method::POST, "/channels", Some(&admin.token), Some(json!({"name": "v", "kind": "video"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));

    let (status, body) =
        app.call(Method::PATCH, &format!("/channels/{id}"), Some(&member.token), Some(json!({"name": "mine"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, renamed) =
        app.call(Method::PATCH, &format!("/channels/{id}"), Some(&admin.token), Some(json!({"name": "off-topic"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["name"], "off-topic");
    let (status, body) =
        app.call(Method::PATCH, &format!("/channels/{id}"), Some(&admin.token), Some(json!({"name": "General"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("channel_name_taken")));

    app.post(&member, &id, "soon gone").await;
    let (status, _) = app.call(Method::DELETE, &format!("/channels/{id}"), Some(&member.token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.call(Method::DELETE, &format!("/channels/{id}"), Some(&admin.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for (method, path) in [(Method::DELETE, format!("/channels/{id}")), (Method::GET, format!("/channels/{id}/messages"))] {
        let (status, body) = app.call(method, &path, Some(&admin.token), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{path}");
    }
}

#[tokio::test]
async fn a_private_channel_is_invisible_to_non_members_on_every_path() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let insider = app.register("insider").await;
    let outsider = app.register("outsider").await;
    let mut outsider_gateway = app.gateway(&outsider).await;
    let mut insider_gateway = app.gateway(&insider).await;

    let secret = app.create_channel(&admin, "secret", "text", true).await;
    let (status, _) =
        app.call(Method::PUT, &format!("/channels/{secret}/members/{}", insider.id), Some(&admin.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let created = insider_gateway.expect("channel_create").await;
    assert_eq!(created["d"]["name"], "secret");
    assert_eq!(created["d"]["private"], true);

    let message = app.post(&insider, &secret, "for insiders").await;
    let seen = insider_gateway.expect("message_create").await;
    assert_eq!(seen["d"]["content"], "for insiders");
    let message_id = message["id"].as_str().unwrap();
    outsider_gateway.expect_silence(Duration::from_millis(300)).await;

    let (_, listed) = app.call(Method::GET, "/channels", Some(&outsider.token), None).await;
    assert!(!names(&listed).iter().any(|(n, _)| n == "secret"));
    let (_, listed) = app.call(Method::GET, "/channels", Some(&insider.token), None).await;
    assert!(names(&listed).iter().any(|(n, _)| n == "secret"));

    let paths = [
        (Method::GET, format!("/channels/{secret}"), None),
        (Method::GET, format!("/channels/{secret}/messages"), None),
        (Method::POST, format!("/channels/{secret}/messages"), Some(json!({"content": "let me in"}))),
        (Method::PATCH, format!("/channels/{secret}/messages/{message_id}"), Some(json!({"content": "edited"}))),
        (Method::DELETE, format!("/channels/{secret}/messages/{message_id}"), None),
        (Method::GET, format!("/channels/{secret}/members"), None),
    ];
    for (method, path, body) in paths {
        let (status, error) = app.call(method.clone(), &path, Some(&outsider.token), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {error}");
        assert_eq!(error["error"]["code"], "not_found");
    }
    let typing = outsider_gateway.request("typing", json!({"channel_id": secret})).await;
    assert_eq!(typing["t"], "error");
    assert_eq!(typing["d"]["code"], "not_found");

    let (status, _) =
        app.call(Method::DELETE, &format!("/channels/{secret}/members/{}", insider.id), Some(&admin.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let removed = insider_gateway.expect("channel_delete").await;
    assert_eq!(removed["d"]["id"], secret.as_str());
    let (status, _) = app.call(Method::GET, &format!("/channels/{secret}/messages"), Some(&insider.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a removed member loses access at once");
}

#[tokio::test]
async fn ready_lists_only_visible_channels() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let member = app.register("member").await;
    app.create_channel(&admin, "staff", "voice", true).await;
    let mut gateway = app.raw_gateway(&[]).await;
    gateway.send(json!({"op": "identify", "d": {"token": member.token}})).await;
    let ready = gateway.next().await;
    let visible: Vec<&str> = ready["d"]["channels"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(visible, ["general", "Lounge"]);
    let mut admin_gateway = app.raw_gateway(&[]).await;
    admin_gateway.send(json!({"op": "identify", "d": {"token": admin.token}})).await;
    let ready = admin_gateway.next().await;
    assert_eq!(ready["d"]["channels"].as_array().unwrap().len(), 3, "admins see private channels");
}

#[tokio::test]
async fn changing_privacy_tells_outsiders_the_channel_left_or_arrived() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let member = app.register("member").await;
    let mut gateway = app.gateway(&member).await;
    let id = app.create_channel(&admin, "plans", "text", false).await;
    gateway.expect("channel_create").await;
    app.call(Method::PATCH, &format!("/channels/{id}"), Some(&admin.token), Some(json!({"private": true}))).await;
    let gone = gateway.expect("channel_delete").await;
    assert_eq!(gone["d"]["id"], id.as_str());
    app.call(Method::PATCH, &format!("/channels/{id}"), Some(&admin.token), Some(json!({"private": false}))).await;
    let back = gateway.expect("channel_create").await;
    assert_eq!(back["d"]["private"], false);
    app.call(Method::PATCH, &format!("/channels/{id}"), Some(&admin.token), Some(json!({"name": "plans-2"}))).await;
    let updated = gateway.expect("channel_update").await;
    assert_eq!(updated["d"]["name"], "plans-2");
    app.call(Method::DELETE, &format!("/channels/{id}"), Some(&admin.token), None).await;
    gateway.expect("channel_delete").await;
}

#[tokio::test]
async fn membership_is_only_for_private_channels_and_known_users() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let member = app.register("member").await;
    let general = app.general(&admin).await;
    let secret = app.create_channel(&admin, "secret", "text", true).await;
    let (status, body) =
        app.call(Method::PUT, &format!("/channels/{general}/members/{}", member.id), Some(&admin.token), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("channel_not_private")));
    let (status, _) = app.call(Method::PUT, &format!("/channels/{secret}/members/12345"), Some(&admin.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        app.call(Method::PUT, &format!("/channels/{secret}/members/{}", member.id), Some(&member.token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.call(Method::PUT, &format!("/channels/{secret}/members/{}", member.id), Some(&admin.token), None).await;
    let (status, members) = app.call(Method::GET, &format!("/channels/{secret}/members"), Some(&member.token), None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = members["members"].as_array().unwrap().iter().map(|m| m["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "member"]);
    let (status, _) = app.call(Method::DELETE, &format!("/channels/{secret}/members/12345"), Some(&admin.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    app.call(Method::PATCH, &format!("/channels/{secret}"), Some(&admin.token), Some(json!({"private": false}))).await;
    let (_, members) = app.call(Method::GET, &format!("/channels/{secret}/members"), Some(&member.token), None).await;
    assert_eq!(members["members"], json!([]), "a public channel has no member list");
    app.call(Method::PATCH, &format!("/channels/{secret}"), Some(&admin.token), Some(json!({"private": true}))).await;
    let (status, _) = app.call(Method::GET, &format!("/channels/{secret}"), Some(&member.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "membership does not come back when the channel turns private again");
}

#[tokio::test]
async fn announcement_channels_slow_mode_and_sidebar_order() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let member = app.register("member").await;
    let news = app.create_channel(&admin, "news", "text", false).await;
    let post = |token: String, channel: String, text: &'static str| {
        let app = &app;
        async move {
            app.call(Method::POST, &format!("/channels/{channel}/messages"), Some(&token), Some(json!({"content": text}))).await
        }
    };
    let (status, channel) =
        app.call(Method::PATCH, &format!("/channels/{news}"), Some(&admin.token), Some(json!({"write": "admins"}))).await;
    assert_eq!((status, channel["write"].as_str()), (StatusCode::OK, Some("admins")), "{channel}");
    let (status, refused) = post(member.token.clone(), news.clone(), "hi").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("read_only")));
    assert_eq!(post(admin.token.clone(), news.clone(), "announcement").await.0, StatusCode::CREATED);

    let (status, _) =
        app.call(Method::PATCH, &format!("/channels/{news}"), Some(&admin.token), Some(json!({"slowmode_secs": 21_601}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let rules = json!({"write": "everyone", "slowmode_secs": 60});
    let (_, channel) = app.call(Method::PATCH, &format!("/channels/{news}"), Some(&admin.token), Some(rules)).await;
    assert_eq!((channel["write"].as_str(), channel["slowmode_secs"].as_u64()), (Some("everyone"), Some(60)));
    assert_eq!(post(member.token.clone(), news.clone(), "first").await.0, StatusCode::CREATED);
    let (status, slow) = post(member.token.clone(), news.clone(), "second").await;
    assert_eq!((status, slow["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("slowmode")), "{slow}");
    assert_eq!(post(admin.token.clone(), news.clone(), "admins are exempt").await.0, StatusCode::CREATED);
    assert_eq!(post(admin.token.clone(), news.clone(), "twice").await.0, StatusCode::CREATED);
    let general = app.general(&member).await;
    assert_eq!(post(member.token.clone(), general, "other channels are not slowed").await.0, StatusCode::CREATED);

    // Position orders the sidebar among channels of a kind.
    let (_, before) = app.call(Method::GET, "/channels", Some(&member.token), None).await;
    let texts = |list: &Value| -> Vec<String> {
        list.as_array().unwrap().iter().filter(|c| c["kind"] == "text").map(|c| c["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(texts(&before), ["general", "news"]);
    app.call(Method::PATCH, &format!("/channels/{news}"), Some(&admin.token), Some(json!({"position": -1}))).await;
    let (_, after) = app.call(Method::GET, "/channels", Some(&member.token), None).await;
    assert_eq!(texts(&after), ["news", "general"]);
}
