//! Mentions, read state and notifications: mentions resolve to people who can see the channel
//! (case-insensitive, `@here` only those online, `@everyone` only with the right); read markers
//! never move back and follow the user to their other sessions; counts stay right across edits,
//! deletes and channels becoming hidden; notification levels; the inbox pages newest first.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};

fn ids(value: &Value) -> BTreeSet<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

fn set(users: &[&TestUser]) -> BTreeSet<String> {
    users.iter().map(|u| u.id.clone()).collect()
}

async fn state_of(app: &TestApp, user: &TestUser, channel: &str) -> Value {
    let (status, states) = app.call(Method::GET, "/users/@me/read-states", Some(&user.token), None).await;
    assert_eq!(status, StatusCode::OK);
    states.as_array().unwrap().iter().find(|s| s["channel_id"] == channel).cloned().unwrap_or(Value::Null)
}

async fn add_member(app: &TestApp, admin: &TestUser, channel: &str, user: &TestUser) {
    let (status, _) = app.call(Method::PUT, &format!("/channels/{channel}/members/{}", user.id), Some(&admin.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn mentions_reach_only_people_who_can_see_the_channel() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let cat = app.register("cat").await;
    let general = app.general(&amy).await;

    let message = app.post(&ben, &general, "hi @AMY and @cat, @nobody, amy@example.org `@ben`").await;
    assert_eq!(ids(&message["mentions"]), set(&[&amy, &cat]), "{message}");
    assert_eq!(message["mention_everyone"], false);

    // A private channel: cat cannot see it, so naming her there mentions nobody.
    let secret = app.create_channel(&amy, "secret", "text", true).await;
    add_member(&app, &amy, &secret, &ben).await;
    let message = app.post(&amy, &secret, "@cat @ben look").await;
    assert_eq!(ids(&message["mentions"]), set(&[&ben]));

    // @everyone and @here: admins may, members only with the setting.
    assert_eq!(app.post(&ben, &general, "@everyone hello").await["mention_everyone"], false);
    assert_eq!(app.post(&amy, &general, "@everyone hello").await["mention_everyone"], true);
    let (status, _) =
        app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"members_can_mention_everyone": true}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.post(&ben, &general, "@everyone again").await["mention_everyone"], true);

    // @here counts for those online when it is posted, not for the others.
    let _cat_online = app.gateway(&cat).await;
    let before = (
        state_of(&app, &cat, &general).await["mentions"].as_u64().unwrap(),
        state_of(&app, &ben, &general).await["mentions"].as_u64().unwrap(),
    );
    let message = app.post(&amy, &general, "@here standup").await;
    assert_eq!(message["mention_everyone"], true);
    let after = (
        state_of(&app, &cat, &general).await["mentions"].as_u64().unwrap(),
        state_of(&app, &ben, &general).await["mentions"].as_u64().unwrap(),
    );
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 0), "cat was online, ben was not");

    // Edits resolve again.
    let message = app.post(&ben, &general, "no one").await;
    let path = format!("/channels/{general}/messages/{}", message["id"].as_str().unwrap());
    let (_, edited) = app.call(Method::PATCH, &path, Some(&ben.token), Some(json!({"content": "now @cat"}))).await;
    assert_eq!(ids(&edited["mentions"]), set(&[&cat]), "{edited}");
}

#[tokio::test]
async fn read_markers_follow_the_user_and_counts_stay_right() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let cat = app.register("cat").await;
    let general = app.general(&amy).await;

    let first = app.post(&amy, &general, "one").await;
    let mention = app.post(&amy, &general, "two @cat").await;
    let third = app.post(&amy, &general, "three").await;
    app.post(&cat, &general, "my own messages never count").await;
    let mut cat_phone = app.gateway(&cat).await;
    let state = state_of(&app, &cat, &general).await;
    assert_eq!((state["unread"].as_u64(), state["mentions"].as_u64(), &state["last_read_id"]), (Some(3), Some(1), &Value::Null));

    // A new session gets the same in `ready`.
    let mut laptop = app.raw_gateway(&[]).await;
    laptop.send(json!({"op": "identify", "d": {"token": cat.token}})).await;
    let ready = laptop.expect("ready").await;
    let in_ready =
        ready["d"]["read_states"].as_array().unwrap().iter().find(|s| s["channel_id"] == general.as_str()).unwrap().clone();
    assert_eq!(in_ready, state);

    // Reading on the laptop clears the phone too.
    let read = |id: &Value| json!({"message_id": id});
    let path = format!("/channels/{general}/read");
    let (status, _) = app.call(Method::PUT, &path, Some(&cat.token), Some(read(&mention["id"]))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let update = cat_phone.expect("read_state_update").await;
    assert_eq!(update["d"], json!({"channel_id": general, "last_read_id": mention["id"], "unread": 1, "mentions": 0}));

    // Never backwards.
    app.call(Method::PUT, &path, Some(&cat.token), Some(read(&first["id"]))).await;
    assert_eq!(state_of(&app, &cat, &general).await["last_read_id"], mention["id"]);

    // Edits that add or remove a mention of an unread message change the count; so do deletes.
    let edit = |id: &Value| format!("/channels/{general}/messages/{}", id.as_str().unwrap());
    app.call(Method::PATCH, &edit(&third["id"]), Some(&amy.token), Some(json!({"content": "three @cat"}))).await;
    assert_eq!(state_of(&app, &cat, &general).await["mentions"], 1);
    app.call(Method::PATCH, &edit(&third["id"]), Some(&amy.token), Some(json!({"content": "three"}))).await;
    assert_eq!(state_of(&app, &cat, &general).await["mentions"], 0);
    let another = app.post(&amy, &general, "@cat again").await;
    assert_eq!(state_of(&app, &cat, &general).await["mentions"], 1);
    let (status, _) = app.call(Method::DELETE, &edit(&another["id"]), Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let state = state_of(&app, &cat, &general).await;
    assert_eq!((state["unread"].as_u64(), state["mentions"].as_u64()), (Some(1), Some(0)));

    // Hidden channels drop out, and cannot be marked.
    let secret = app.create_channel(&amy, "secret", "text", true).await;
    add_member(&app, &amy, &secret, &cat).await;
    app.post(&amy, &secret, "psst @cat").await;
    assert_eq!(state_of(&app, &cat, &secret).await["mentions"], 1);
    let (status, _) = app.call(Method::DELETE, &format!("/channels/{secret}/members/{}", cat.id), Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(state_of(&app, &cat, &secret).await, Value::Null);
    let (status, _) =
        app.call(Method::PUT, &format!("/channels/{secret}/read"), Some(&cat.token), Some(read(&first["id"]))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = app.call(Method::PUT, &path, Some(&cat.token), Some(json!({"message_id": "x"}))).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));
}

#[tokio::test]
async fn notification_levels_are_kept_per_channel_and_synced() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let general = app.general(&amy).await;
    let mut phone = app.gateway(&amy).await;
    let path = format!("/channels/{general}/notifications");
    let (status, body) = app.call(Method::PUT, &path, Some(&amy.token), Some(json!({"level": "all"}))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"channel_id": general, "level": "all"})));
    assert_eq!(phone.expect("notification_level_update").await["d"]["level"], "all");
    let mut laptop = app.raw_gateway(&[]).await;
    laptop.send(json!({"op": "identify", "d": {"token": amy.token}})).await;
    let ready = laptop.expect("ready").await;
    assert_eq!(ready["d"]["notification_levels"], json!([{"channel_id": general, "level": "all"}]));

    let (status, _) = app.call(Method::PUT, &path, Some(&amy.token), Some(json!({"level": "loud"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Back to the default: nothing stored.
    app.call(Method::PUT, &path, Some(&amy.token), Some(json!({"level": "mentions"}))).await;
    let mut again = app.raw_gateway(&[]).await;
    again.send(json!({"op": "identify", "d": {"token": amy.token}})).await;
    assert_eq!(again.expect("ready").await["d"]["notification_levels"], json!([]));
}

#[tokio::test]
async fn the_inbox_pages_recent_mentions_from_visible_channels() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let cat = app.register("cat").await;
    let general = app.general(&amy).await;
    let secret = app.create_channel(&amy, "secret", "text", true).await;
    add_member(&app, &amy, &secret, &cat).await;

    let hidden_later = app.post(&amy, &secret, "@cat in secret").await;
    let mut expected = Vec::new();
    for i in 0..3 {
        expected.push(app.post(&amy, &general, &format!("@cat number {i}")).await["id"].clone());
    }
    expected.push(app.post(&amy, &general, "@everyone all of you").await["id"].clone());
    app.post(&amy, &general, "not for cat").await;
    app.post(&cat, &general, "@cat talking to myself").await;
    let (status, _) = app.call(Method::DELETE, &format!("/channels/{secret}/members/{}", cat.id), Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, page) = app.call(Method::GET, "/users/@me/mentions?limit=3", Some(&cat.token), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let got: Vec<Value> = page.as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(got, [expected[3].clone(), expected[2].clone(), expected[1].clone()], "newest first");
    let last = got.last().unwrap().as_str().unwrap();
    let (_, rest) = app.call(Method::GET, &format!("/users/@me/mentions?limit=3&before={last}"), Some(&cat.token), None).await;
    let rest: Vec<Value> = rest.as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(rest, [expected[0].clone()], "the secret channel's mention is gone with the access: {hidden_later}");
    let (status, _) = app.call(Method::GET, "/users/@me/mentions?limit=500", Some(&cat.token), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
