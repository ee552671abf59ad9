//! An account's own profile: display names and usernames others see change live
//! (`user_update`), emails stay unique, deleting an account keeps its messages under "Deleted
//! user" and frees its name, the last admin cannot leave, and preferences follow the user to
//! every session.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Ended, TestApp};

#[tokio::test]
async fn profile_changes_reach_everyone_and_names_stay_unique() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let general = app.general(&amy).await;
    app.post(&amy, &general, "hello").await;
    let mut ben_gateway = app.gateway(&ben).await;

    let (status, me) = app.call(Method::GET, "/users/@me", Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((me["username"].as_str(), me["email"].clone(), me["admin"].as_bool()), (Some("amy"), Value::Null, Some(true)));
    assert!(me.get("display_name").is_none(), "no display name until one is set: {me}");

    let (status, me) =
        app.call(Method::PATCH, "/users/@me", Some(&amy.token), Some(json!({"display_name": "  Amy Pond  "}))).await;
    assert_eq!((status, me["display_name"].as_str()), (StatusCode::OK, Some("Amy Pond")), "{me}");
    let update = ben_gateway.expect("user_update").await;
    assert_eq!((update["d"]["id"].as_str(), update["d"]["display_name"].as_str()), (Some(amy.id.as_str()), Some("Amy Pond")));
    assert!(update["d"].get("email").is_none(), "others never see the address: {update}");
    let (_, users) = app.call(Method::GET, "/users", Some(&ben.token), None).await;
    assert!(users.as_array().unwrap().iter().any(|u| u["display_name"] == "Amy Pond"), "{users}");
    let (_, history) = app.call(Method::GET, &format!("/channels/{general}/messages"), Some(&ben.token), None).await;
    assert_eq!(history[0]["author"]["display_name"], "Amy Pond", "{history}");

    // Rules as at registration, errors under the field at fault.
    let refuse = |body: Value, code: &'static str, field: &'static str, status: StatusCode| {
        let app = &app;
        let token = amy.token.clone();
        async move {
            let (got, error) = app.call(Method::PATCH, "/users/@me", Some(&token), Some(body)).await;
            assert_eq!(
                (got, error["error"]["code"].as_str(), error["error"]["field"].as_str()),
                (status, Some(code), Some(field)),
                "{error}"
            );
        }
    };
    refuse(json!({"username": "BEN"}), "username_taken", "username", StatusCode::CONFLICT).await;
    refuse(json!({"username": "a b"}), "invalid_username", "username", StatusCode::UNPROCESSABLE_ENTITY).await;
    refuse(json!({"display_name": "x".repeat(33)}), "invalid_display_name", "display_name", StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    refuse(json!({"display_name": "evil\u{202e}txt"}), "invalid_display_name", "display_name", StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    refuse(json!({"email": "not-an-address"}), "invalid_email", "email", StatusCode::UNPROCESSABLE_ENTITY).await;
    let (status, error) = app.call(Method::PATCH, "/users/@me", Some(&amy.token), Some(json!({"admin": true}))).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));

    let (status, me) = app.call(Method::PATCH, "/users/@me", Some(&ben.token), Some(json!({"email": "Ben@Example.org"}))).await;
    assert_eq!(
        (status, me["email"].as_str(), me["email_verified"].as_bool()),
        (StatusCode::OK, Some("Ben@Example.org"), Some(false))
    );
    refuse(json!({"email": "ben@example.ORG"}), "email_taken", "email", StatusCode::CONFLICT).await;

    // A new username (case changes too) and no display name: others see the username again.
    let (status, me) =
        app.call(Method::PATCH, "/users/@me", Some(&amy.token), Some(json!({"username": "Amelia", "display_name": null}))).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!((me["username"].as_str(), me.get("display_name")), (Some("Amelia"), None));
    let update = ben_gateway.expect("user_update").await;
    assert_eq!(update["d"]["username"], "Amelia");
    assert!(update["d"].get("display_name").is_none(), "{update}");
    let login = json!({"username": "amelia", "password": "correct horse"});
    assert_eq!(app.call(Method::POST, "/auth/login", None, Some(login)).await.0, StatusCode::OK);
    // The old name is free.
    app.register("amy").await;
}

#[tokio::test]
async fn deleting_an_account_keeps_its_messages_and_ends_everything_else() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let general = app.general(&amy).await;
    app.post(&ben, &general, "ben was here").await;
    let mut ben_gateway = app.gateway(&ben).await;
    let mut amy_gateway = app.gateway(&amy).await;
    let (status, _) = app.call(Method::PATCH, "/users/@me", Some(&ben.token), Some(json!({"email": "ben@example.org"}))).await;
    assert_eq!(status, StatusCode::OK);

    let (status, error) = app.call(Method::DELETE, "/users/@me", Some(&ben.token), Some(json!({"password": "wrong"}))).await;
    assert_eq!(
        (status, error["error"]["code"].as_str(), error["error"]["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"), Some("password"))
    );
    let (status, _) = app.call(Method::DELETE, "/users/@me", Some(&ben.token), Some(json!({"password": "correct horse"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    assert_eq!(ben_gateway.ended().await, Ended::Closed(4011), "the account's gateway connections close");
    assert_eq!(app.call(Method::GET, "/users/@me", Some(&ben.token), None).await.0, StatusCode::UNAUTHORIZED);
    let update = amy_gateway.expect("user_update").await;
    assert_eq!((update["d"]["id"].as_str(), update["d"]["deleted"].as_bool()), (Some(ben.id.as_str()), Some(true)), "{update}");
    assert_eq!(update["d"]["username"], "Deleted user");

    let (_, history) = app.call(Method::GET, &format!("/channels/{general}/messages"), Some(&amy.token), None).await;
    let kept = history.as_array().unwrap().iter().find(|m| m["content"] == "ben was here").expect("the message stays");
    assert_eq!((kept["author"]["username"].as_str(), kept["author"]["deleted"].as_bool()), (Some("Deleted user"), Some(true)));
    let (_, users) = app.call(Method::GET, "/users", Some(&amy.token), None).await;
    assert!(!users.as_array().unwrap().iter().any(|u| u["id"] == ben.id.as_str()), "gone from member lists: {users}");

    for login in ["ben", "ben@example.org"] {
        let body = json!({"username": login, "password": "correct horse"});
        assert_eq!(app.call(Method::POST, "/auth/login", None, Some(body)).await.0, StatusCode::UNAUTHORIZED);
    }
    // Name and address are free again.
    let (status, _) = app
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"username": "ben", "password": "correct horse", "email": "ben@example.org"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // The only admin stays.
    let (status, error) =
        app.call(Method::DELETE, "/users/@me", Some(&amy.token), Some(json!({"password": "correct horse"}))).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("last_admin")), "{error}");
    assert_eq!(app.call(Method::GET, "/users/@me", Some(&amy.token), None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn preferences_follow_the_user_to_every_session() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let mut laptop = app.gateway(&amy).await;

    let (status, prefs) = app.call(Method::GET, "/users/@me/preferences", Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        prefs,
        json!({"voice_mode": "vad", "ptt_key": "KeyV", "input_sensitivity": 50, "notification_sound": true, "theme": "dark"})
    );

    let (status, prefs) = app
        .call(Method::PUT, "/users/@me/preferences", Some(&amy.token), Some(json!({"voice_mode": "ptt", "ptt_key": "F13"})))
        .await;
    assert_eq!((status, prefs["voice_mode"].as_str(), prefs["ptt_key"].as_str()), (StatusCode::OK, Some("ptt"), Some("F13")));
    let update = laptop.expect("preferences_update").await;
    assert_eq!(update["d"], prefs, "the open session hears the change");

    // Some more, later: what was set before stays.
    let (_, prefs) = app.call(Method::PUT, "/users/@me/preferences", Some(&amy.token), Some(json!({"theme": "light"}))).await;
    assert_eq!((prefs["theme"].as_str(), prefs["voice_mode"].as_str()), (Some("light"), Some("ptt")), "{prefs}");

    // A new session gets them with `ready`.
    let mut phone = app.raw_gateway(&[]).await;
    phone.send(json!({"op": "identify", "d": {"token": amy.token}})).await;
    let ready = phone.expect("ready").await;
    assert_eq!(ready["d"]["preferences"], prefs);

    for (body, field, code) in [
        (json!({"ptt_key": "Key V"}), Some("ptt_key"), "invalid_preference"),
        (json!({"ptt_key": ""}), Some("ptt_key"), "invalid_preference"),
        (json!({"input_sensitivity": 101}), Some("input_sensitivity"), "invalid_preference"),
        (json!({"input_sensitivity": 300}), None, "invalid_body"),
        (json!({"theme": "neon"}), None, "invalid_body"),
        (json!({"device_id": "abc"}), None, "invalid_body"),
    ] {
        let (status, error) = app.call(Method::PUT, "/users/@me/preferences", Some(&amy.token), Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!((error["error"]["code"].as_str(), error["error"]["field"].as_str()), (Some(code), field), "{body}");
    }
    let (_, unchanged) = app.call(Method::GET, "/users/@me/preferences", Some(&amy.token), None).await;
    assert_eq!(unchanged, prefs, "refused changes change nothing");
}
