//! Messages: posting rules, keyset history, edits and deletes with their permissions.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn posting_trims_and_checks_content() {
    let app = TestApp::spawn().await;
    let user = app.register("amy").await;
    let general = app.general(&user).await;
    let message = app.post(&user, &general, "  hello **world**\n").await;
    assert_eq!(message["content"], "hello **world**");
    assert_eq!(message["channel_id"], general.as_str());
    assert_eq!(message["author"], json!({"id": user.id, "username": "amy"}));
    assert!(message["created_at"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(message["edited_at"], serde_json::Value::Null);
    let path = format!("/channels/{general}/messages");
    for (content, code) in
        [(" \n ".to_owned(), "empty_message"), ("x".repeat(4001), "message_too_long"), ("a\u{0}b".to_owned(), "invalid_message")]
    {
        let (status, body) = app.call(Method::POST, &path, Some(&user.token), Some(json!({"content": content}))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)));
        assert_eq!(body["error"]["field"], "content");
    }
    app.post(&user, &general, &"é".repeat(4000)).await;
}

#[tokio::test]
async fn voice_channels_take_no_messages() {
    let app = TestApp::spawn().await;
    let user = app.register("amy").await;
    let (_, channels) = app.call(Method::GET, "/channels", Some(&user.token), None).await;
    let lounge = channels.as_array().unwrap().iter().find(|c| c["kind"] == "voice").unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("/channels/{lounge}/messages");
    let (status, body) = app.call(Method::POST, &path, Some(&user.token), Some(json!({"content": "hi"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_channel_kind")));
    let (status, _) = app.call(Method::GET, &path, Some(&user.token), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn history_pages_backwards_by_id() {
    let app = TestApp::spawn().await;
    let user = app.register("amy").await;
    let general = app.general(&user).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.post(&user, &general, &format!("m{n}")).await["id"].as_str().unwrap().to_owned());
    }
    let (status, page) = app.call(Method::GET, &format!("/channels/{general}/messages?limit=2"), Some(&user.token), None).await;
    assert_eq!(status, StatusCode::OK);
    let contents: Vec<&str> = page.as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["m4", "m3"]);
    let before = page[1]["id"].as_str().unwrap();
    let (_, page) =
        app.call(Method::GET, &format!("/channels/{general}/messages?before={before}&limit=100"), Some(&user.token), None).await;
    let contents: Vec<&str> = page.as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["m2", "m1", "m0"]);
    let (_, all) = app.call(Method::GET, &format!("/channels/{general}/messages"), Some(&user.token), None).await;
    assert_eq!(all.as_array().unwrap().len(), 5);
    let mut sorted = ids.clone();
    sorted.sort_by_key(|id| id.parse::<i64>().unwrap());
    assert_eq!(sorted, ids, "ids grow with time");
    for query in ["limit=0", "limit=101", "limit=abc", "before=-1", "before=x", "colour=red"] {
        let (status, body) =
            app.call(Method::GET, &format!("/channels/{general}/messages?{query}"), Some(&user.token), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
    }
}

#[tokio::test]
async fn authors_edit_their_own_and_admins_delete_any() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let amy = app.register("amy").await;
    let bob = app.register("bob").await;
    let general = app.general(&amy).await;
    let message = app.post(&amy, &general, "first draft").await;
    let path = format!("/channels/{general}/messages/{}", message["id"].as_str().unwrap());

    let (status, body) = app.call(Method::PATCH, &path, Some(&bob.token), Some(json!({"content": "hijack"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, body) = app.call(Method::PATCH, &path, Some(&admin.token), Some(json!({"content": "admin edit"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins delete but do not rewrite others' words: {body}");
    let (status, edited) = app.call(Method::PATCH, &path, Some(&amy.token), Some(json!({"content": " final "}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edited["content"], "final");
    assert!(edited["edited_at"].as_i64().unwrap() >= edited["created_at"].as_i64().unwrap());
    let (status, _) = app.call(Method::PATCH, &path, Some(&amy.token), Some(json!({"content": ""}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, _) = app.call(Method::DELETE, &path, Some(&bob.token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.call(Method::DELETE, &path, Some(&admin.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.call(Method::DELETE, &path, Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let own = app.post(&bob, &general, "mine").await;
    let (status, _) = app
        .call(Method::DELETE, &format!("/channels/{general}/messages/{}", own["id"].as_str().unwrap()), Some(&bob.token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, history) = app.call(Method::GET, &format!("/channels/{general}/messages"), Some(&amy.token), None).await;
    assert_eq!(history, json!([]));
}

#[tokio::test]
async fn a_message_is_addressed_by_its_channel_too() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let general = app.general(&admin).await;
    let other = app.create_channel(&admin, "other", "text", false).await;
    let message = app.post(&admin, &general, "here").await;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/channels/{other}/messages/{}", message["id"].as_str().unwrap()),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
