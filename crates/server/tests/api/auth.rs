//! Accounts: registration rules, login, logout, the first admin, closing registration, rate limits.

use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::helpers::{Ended, TestApp};

#[tokio::test]
async fn the_first_account_is_admin_and_later_ones_are_not() {
    let app = TestApp::spawn().await;
    let (status, first) =
        app.call(Method::POST, "/auth/register", None, Some(json!({"username": "Alice", "password": "password1"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["user"]["username"], "Alice");
    assert_eq!(first["user"]["admin"], true);
    assert_eq!(first["token"].as_str().unwrap().len(), 43);
    let second = app.register("bob").await;
    let (status, me) = app.call(Method::GET, "/users/@me", Some(&second.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, json!({"id": second.id, "username": "bob", "admin": false, "email": null, "email_verified": false}));
}

#[tokio::test]
async fn registration_rules_name_the_field_at_fault() {
    let app = TestApp::spawn().await;
    app.register("taken").await;
    let (status, _) = app
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"username": "withmail", "password": "password1", "email": "W@Example.org"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let cases = [
        (json!({"username": "a", "password": "password1"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_username", "username"),
        (
            json!({"username": "no spaces", "password": "password1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_username",
            "username",
        ),
        (
            json!({"username": "x".repeat(33), "password": "password1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_username",
            "username",
        ),
        (json!({"username": "carol", "password": "short"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_password", "password"),
        (
            json!({"username": "carol", "password": "p".repeat(129)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_password",
            "password",
        ),
        (
            json!({"username": "carol", "password": "password1", "email": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
            "email",
        ),
        (json!({"username": "TAKEN", "password": "password1"}), StatusCode::CONFLICT, "username_taken", "username"),
        (
            json!({"username": "carol", "password": "password1", "email": "w@example.ORG"}),
            StatusCode::CONFLICT,
            "email_taken",
            "email",
        ),
    ];
    for (body, status, code, field) in cases {
        let (actual, error) = app.call(Method::POST, "/auth/register", None, Some(body.clone())).await;
        assert_eq!(actual, status, "{body} → {error}");
        assert_eq!(error["error"]["code"], code, "{body}");
        assert_eq!(error["error"]["field"], field, "{body}");
        assert!(error["error"]["message"].as_str().unwrap().ends_with('.'));
    }
    let (_, users) = app.call(Method::GET, "/users", Some(&app.register("dave").await.token), None).await;
    assert_eq!(users.as_array().unwrap().len(), 3, "refused registrations wrote nothing: {users}");
}

#[tokio::test]
async fn login_by_username_or_email_and_refusals() {
    let app = TestApp::spawn().await;
    let (status, _) = app
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"username": "erin", "password": "password1", "email": "erin@example.org"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for login in ["erin", "ERIN", "Erin@Example.org"] {
        let (status, body) =
            app.call(Method::POST, "/auth/login", None, Some(json!({"username": login, "password": "password1"}))).await;
        assert_eq!(status, StatusCode::OK, "{login}: {body}");
        assert_eq!(body["user"]["username"], "erin");
    }
    for (login, password) in [("erin", "password2"), ("nobody", "password1"), ("", ""), ("er\u{0}in", "password1")] {
        let (status, body) =
            app.call(Method::POST, "/auth/login", None, Some(json!({"username": login, "password": password}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{login}");
        assert_eq!(body["error"]["code"], "invalid_credentials");
    }
}

#[tokio::test]
async fn the_cookie_authenticates_browsers_and_guards_against_other_origins() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(app.api("/auth/register"))
        .json(&json!({"username": "frank", "password": "password1"}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me = app.http.get(app.api("/users/@me")).header(header::COOKIE, &pair).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let channels: serde_json::Value =
        app.http.get(app.api("/channels")).header(header::COOKIE, &pair).send().await.unwrap().json().await.unwrap();
    let general =
        channels.as_array().unwrap().iter().find(|c| c["name"] == "general").unwrap()["id"].as_str().unwrap().to_owned();
    let post = |origin: String| {
        app.http
            .post(app.api(&format!("/channels/{general}/messages")))
            .header(header::COOKIE, &pair)
            .header(header::ORIGIN, origin)
            .json(&json!({"content": "hi"}))
            .send()
    };
    assert_eq!(post("http://evil.example".into()).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(post(format!("http://{}", app.addr)).await.unwrap().status(), StatusCode::CREATED);
}

#[tokio::test]
async fn logout_ends_the_token_and_its_gateway_connections() {
    let app = TestApp::spawn().await;
    let user = app.register("gina").await;
    let other =
        app.call(Method::POST, "/auth/login", None, Some(json!({"username": "gina", "password": "correct horse"}))).await.1;
    let other_token = other["token"].as_str().unwrap().to_owned();
    let mut gateway = app.gateway(&user).await;
    let (status, body) = app.call(Method::POST, "/auth/logout", Some(&user.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(gateway.ended().await, Ended::Closed(4011));
    let (status, _) = app.call(Method::GET, "/users/@me", Some(&user.token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.call(Method::GET, "/users/@me", Some(&other_token), None).await;
    assert_eq!(status, StatusCode::OK, "other sessions of the same account live on");
}

#[tokio::test]
async fn admins_close_registration_at_run_time() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let member = app.register("member").await;
    let (status, body) =
        app.call(Method::PATCH, "/settings", Some(&member.token), Some(json!({"registration_open": false}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, settings) =
        app.call(Method::PATCH, "/settings", Some(&admin.token), Some(json!({"registration_open": false}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (settings["registration"].as_str(), settings["registration_open"].as_bool(), settings["locked"].clone()),
        (Some("closed"), Some(false), json!({}))
    );
    let (status, body) =
        app.call(Method::POST, "/auth/register", None, Some(json!({"username": "late", "password": "password1"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("registration_closed")));
    app.call(Method::PATCH, "/settings", Some(&admin.token), Some(json!({"registration_open": true}))).await;
    app.register("late").await;
}

#[tokio::test]
async fn login_attempts_are_limited_per_account() {
    let app = TestApp::spawn_with(|c| c.auth.attempts_per_account_per_minute = 3).await;
    app.register("hank").await;
    for _ in 0..3 {
        let (status, _) =
            app.call(Method::POST, "/auth/login", None, Some(json!({"username": "hank", "password": "wrong-password"}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = app
        .http
        .post(app.api("/auth/login"))
        .json(&json!({"username": "HANK", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let (status, _) = app.call(Method::POST, "/auth/login", None, Some(json!({"username": "other", "password": "x"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "other accounts are not limited");
}

#[tokio::test]
async fn login_and_registration_attempts_are_limited_per_ip() {
    let app = TestApp::spawn_with(|c| c.auth.attempts_per_ip_per_minute = 4).await;
    app.register("ivan").await;
    for name in ["a1", "a2", "a3"] {
        let (status, _) =
            app.call(Method::POST, "/auth/login", None, Some(json!({"username": name, "password": "password1"}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) =
        app.call(Method::POST, "/auth/register", None, Some(json!({"username": "judy", "password": "password1"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
}

#[tokio::test]
async fn the_cli_creates_an_admin_with_the_password_from_stdin() {
    let app = TestApp::spawn().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cromulent"))
        .args(["user", "create", "root-admin", "--admin", "--database-url", &app.config.database_url])
        .arg("--data-dir")
        .arg(&app.config.data_dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run cromulent");
    use tokio::io::AsyncWriteExt;
    child.stdin.take().unwrap().write_all(b"a long password\n").await.unwrap();
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("created user root-admin"));
    let (status, body) =
        app.call(Method::POST, "/auth/login", None, Some(json!({"username": "root-admin", "password": "a long password"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["admin"], true);
    let later = app.register("someone").await;
    let (_, me) = app.call(Method::GET, "/users/@me", Some(&later.token), None).await;
    assert_eq!(me["admin"], false, "the CLI account counts as the first account");
}
