//! An account looking after itself: a password change ends the other sessions and their
//! gateway connections but keeps this one; the session list shows where the account is logged
//! in without ever showing a token; ending a session logs it out at once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Ended, TestApp, TestUser};

/// Logs `username` in again from a client that says it is `agent`: a second session.
async fn login_as(app: &TestApp, username: &str, password: &str, agent: &str) -> TestUser {
    let response = app
        .http
        .post(app.api("/auth/login"))
        .header("User-Agent", agent)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    TestUser { token: body["token"].as_str().unwrap().to_owned(), id: body["user"]["id"].as_str().unwrap().to_owned() }
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_keeps_this_one() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let laptop = login_as(&app, "amy", "correct horse", "laptop").await;
    let mut laptop_gateway = app.gateway(&laptop).await;

    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, refused) =
        app.call(Method::POST, "/users/@me/password", Some(&amy.token), Some(change("wrong horse", "battery staple"))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    let (status, short) =
        app.call(Method::POST, "/users/@me/password", Some(&amy.token), Some(change("correct horse", "short"))).await;
    assert_eq!((status, short["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password")), "{short}");
    let (status, _) = app.call(Method::POST, "/users/@me/password", None, Some(change("correct horse", "battery staple"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) =
        app.call(Method::POST, "/users/@me/password", Some(&amy.token), Some(change("correct horse", "battery staple"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(laptop_gateway.ended().await, Ended::Closed(4011), "the other session's gateway closes at once");
    let (status, _) = app.call(Method::GET, "/users/@me", Some(&laptop.token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the other session ended");
    let (status, _) = app.call(Method::GET, "/users/@me", Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::OK, "this one stays");
    let old = json!({"username": "amy", "password": "correct horse"});
    assert_eq!(app.call(Method::POST, "/auth/login", None, Some(old)).await.0, StatusCode::UNAUTHORIZED);
    let new = json!({"username": "amy", "password": "battery staple"});
    assert_eq!(app.call(Method::POST, "/auth/login", None, Some(new)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn wrong_current_passwords_are_rate_limited_like_logins() {
    let app = TestApp::spawn_with(|c| c.auth.attempts_per_account_per_minute = 3).await;
    let amy = app.register("amy").await;
    let guess = json!({"current_password": "guess", "new_password": "battery staple"});
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.call(Method::POST, "/users/@me/password", Some(&amy.token), Some(guess.clone())).await.0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 3, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[tokio::test]
async fn the_session_list_shows_where_without_tokens_and_ending_one_logs_it_out() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let phone = login_as(&app, "amy", "correct horse", "Phone Browser/1.0").await;
    let tablet = login_as(&app, "amy", "correct horse", "Tablet\tBrowser").await;
    let ben = app.register("ben").await;

    let (status, sessions) = app.call(Method::GET, "/users/@me/sessions", Some(&phone.token), None).await;
    assert_eq!(status, StatusCode::OK);
    let sessions = sessions.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    let text = serde_json::to_string(&sessions).unwrap();
    for token in [&amy.token, &phone.token, &tablet.token] {
        assert!(!text.contains(token.as_str()), "no token is ever shown again");
    }
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!((current[0]["user_agent"].as_str(), current[0]["ip"].as_str()), (Some("Phone Browser/1.0"), Some("127.0.0.1")));
    assert!(sessions.iter().any(|s| s["user_agent"] == "TabletBrowser"), "control characters are dropped: {sessions:?}");
    for session in &sessions {
        assert!(
            session["created_at"].as_i64().unwrap() > 0
                && session["last_used_at"].as_i64().unwrap() >= session["created_at"].as_i64().unwrap()
        );
    }

    let tablet_id = sessions.iter().find(|s| s["user_agent"] == "TabletBrowser").unwrap()["id"].as_str().unwrap().to_owned();
    let mut tablet_gateway = app.gateway(&tablet).await;
    let (status, _) = app.call(Method::DELETE, &format!("/users/@me/sessions/{tablet_id}"), Some(&ben.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "someone else's session is not yours to end");
    let (status, _) = app.call(Method::DELETE, &format!("/users/@me/sessions/{tablet_id}"), Some(&phone.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(tablet_gateway.ended().await, Ended::Closed(4011));
    assert_eq!(app.call(Method::GET, "/users/@me", Some(&tablet.token), None).await.0, StatusCode::UNAUTHORIZED);

    let (status, _) = app.call(Method::DELETE, "/users/@me/sessions", Some(&phone.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, "/users/@me", Some(&amy.token), None).await.0, StatusCode::UNAUTHORIZED);
    let (_, left) = app.call(Method::GET, "/users/@me/sessions", Some(&phone.token), None).await;
    assert_eq!(left.as_array().unwrap().len(), 1, "only this one is left: {left}");
    let (_, bens) = app.call(Method::GET, "/users/@me/sessions", Some(&ben.token), None).await;
    assert_eq!(bens.as_array().unwrap().len(), 1, "ben's sessions were never touched");
}
