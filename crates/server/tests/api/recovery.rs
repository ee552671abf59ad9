//! Getting back in by email against a real SMTP server: a reset link arrives, works once and
//! ends every session; asking for an unknown address answers the same and sends nothing;
//! expired links and floods are refused; links point at the configured address whatever
//! `Host` a request forges; and where addresses must be confirmed, accounts wait for the link.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Ended, TestApp};
use crate::mail_sink::{MailSink, link};

async fn with_mail(sink: &MailSink, verify: bool) -> TestApp {
    let port = sink.port;
    TestApp::spawn_with(move |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = port;
        c.smtp.tls = cromulent::config::SmtpTls::None;
        c.smtp.from = "Chat <chat@chat.test>".into();
        c.http.public_url = "https://chat.test".into();
        c.auth.require_email_verification = verify;
    })
    .await
}

/// The token in a mailed link.
fn token_of(link: &str) -> String {
    link.split_once("token=").expect("a token in the link").1.to_owned()
}

#[tokio::test]
async fn a_reset_link_arrives_works_once_and_ends_every_session() {
    let sink = MailSink::start().await;
    let app = with_mail(&sink, false).await;
    let (_, options) = app.call(Method::GET, "/auth/options", None, None).await;
    assert_eq!(options, json!({"password_reset": true, "email_verification": false}));
    let amy = app.register("amy").await;
    app.call(Method::PATCH, "/users/@me", Some(&amy.token), Some(json!({"email": "amy@example.org"}))).await;
    // Changing the address mails a confirmation link to it.
    let confirmation = sink.wait_for(1).await;
    assert_eq!(confirmation[0].to, "amy@example.org");
    let mut gateway = app.gateway(&amy).await;

    // An unknown address answers the same and sends nothing; then the real one, by another case
    // and through a request that forges its Host.
    let (status, body) = app.call(Method::POST, "/auth/password-reset", None, Some(json!({"email": "nobody@example.org"}))).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, serde_json::Value::Null));
    let forged = app
        .http
        .post(app.api("/auth/password-reset"))
        .header("Host", "evil.test")
        .json(&json!({"email": "AMY@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::ACCEPTED);
    let mails = sink.wait_for(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 2, "no mail for the unknown address: {:?}", sink.messages());
    let reset = mails.iter().find(|m| m.subject == "Reset your password").expect("the reset mail");
    assert_eq!((reset.to.as_str(), reset.subject.as_str()), ("amy@example.org", "Reset your password"));
    let url = link(&reset.body, "/reset-password?token=");
    assert!(url.starts_with("https://chat.test/reset-password?token="), "the configured address, not the forged Host: {url}");
    let token = token_of(&url);

    let confirm = |token: &str, password: &str| json!({"token": token, "new_password": password});
    let (status, error) = app.call(Method::POST, "/auth/password-reset/confirm", None, Some(confirm(&token, "short"))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password")));
    let (status, _) = app.call(Method::POST, "/auth/password-reset/confirm", None, Some(confirm(&token, "battery staple"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "a weak password did not use the link up");
    assert_eq!(gateway.ended().await, Ended::Closed(4011), "every session ends");
    assert_eq!(app.call(Method::GET, "/users/@me", Some(&amy.token), None).await.0, StatusCode::UNAUTHORIZED);
    let login = |password: &str| json!({"username": "amy", "password": password});
    assert_eq!(app.call(Method::POST, "/auth/login", None, Some(login("correct horse"))).await.0, StatusCode::UNAUTHORIZED);
    let (status, session) = app.call(Method::POST, "/auth/login", None, Some(login("battery staple"))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = app.call(Method::GET, "/users/@me", Some(session["token"].as_str().unwrap()), None).await;
    assert_eq!(me["email_verified"], true, "following the link proved the address");

    let (status, error) =
        app.call(Method::POST, "/auth/password-reset/confirm", None, Some(confirm(&token, "another one"))).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_token")), "used once");
    let (status, _) = app.call(Method::POST, "/auth/password-reset/confirm", None, Some(confirm("made-up", "another one"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn expired_links_and_floods_are_refused() {
    let sink = MailSink::start().await;
    let app = with_mail(&sink, false).await;
    let amy = app.register("amy").await;
    app.call(Method::PATCH, "/users/@me", Some(&amy.token), Some(json!({"email": "amy@example.org"}))).await;
    let ask = json!({"email": "amy@example.org"});
    assert_eq!(app.call(Method::POST, "/auth/password-reset", None, Some(ask.clone())).await.0, StatusCode::ACCEPTED);
    let mails = sink.wait_for(2).await;
    let reset = mails.iter().find(|m| m.subject == "Reset your password").expect("the reset mail");
    let token = token_of(&link(&reset.body, "/reset-password"));

    // Used an hour and a minute later: the store refuses it, and it is gone.
    let store = cromulent::store::Store::open(&app.config.database_url()).await.unwrap();
    let hash = hex_sha256(&token);
    let later = cromulent::service::now_ms() + 61 * 60 * 1000;
    assert_eq!(store.take_account_token(&hash, cromulent::store::TokenPurpose::PasswordReset, later).await.unwrap(), None);
    let confirm = json!({"token": token, "new_password": "battery staple"});
    let (status, error) = app.call(Method::POST, "/auth/password-reset/confirm", None, Some(confirm)).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_token")));

    // Three links an hour per address; the fourth is refused.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.call(Method::POST, "/auth/password-reset", None, Some(ask.clone())).await.0);
    }
    assert_eq!(statuses, [StatusCode::ACCEPTED, StatusCode::ACCEPTED, StatusCode::TOO_MANY_REQUESTS]);
    let (status, error) = app.call(Method::POST, "/auth/password-reset", None, Some(json!({"email": "not an address"}))).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_email")));
}

fn hex_sha256(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn without_mail_nothing_is_sent_and_the_client_is_told() {
    let app = TestApp::spawn().await;
    let (_, options) = app.call(Method::GET, "/auth/options", None, None).await;
    assert_eq!(options, json!({"password_reset": false, "email_verification": false}));
    let (status, _) = app.call(Method::POST, "/auth/password-reset", None, Some(json!({"email": "amy@example.org"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "the same answer, so nobody learns whether mail is on from it either");
}

#[tokio::test]
async fn where_addresses_must_be_confirmed_accounts_wait_for_the_link() {
    let sink = MailSink::start().await;
    let app = with_mail(&sink, true).await;
    let (_, options) = app.call(Method::GET, "/auth/options", None, None).await;
    assert_eq!(options["email_verification"], true);
    // The first account is the admin: nobody could confirm it for them, so it gets in at once.
    let amy = json!({"username": "amy", "password": "correct horse", "email": "amy@example.org"});
    let (status, body) = app.call(Method::POST, "/auth/register", None, Some(amy)).await;
    assert_eq!((status, body["user"]["admin"].as_bool()), (StatusCode::CREATED, Some(true)), "{body}");

    let register = |email: Option<&str>| {
        let mut body = json!({"username": "ben", "password": "correct horse"});
        if let Some(email) = email {
            body["email"] = json!(email);
        }
        body
    };
    let (status, error) = app.call(Method::POST, "/auth/register", None, Some(register(None))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("email")));
    let (status, body) = app.call(Method::POST, "/auth/register", None, Some(register(Some("ben@example.org")))).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, json!({"email_verification_sent": true})));

    let login = json!({"username": "ben", "password": "correct horse"});
    let (status, error) = app.call(Method::POST, "/auth/login", None, Some(login.clone())).await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("email_not_verified")));
    let wrong = json!({"username": "ben", "password": "wrong horse"});
    assert_eq!(
        app.call(Method::POST, "/auth/login", None, Some(wrong)).await.0,
        StatusCode::UNAUTHORIZED,
        "only the owner learns why"
    );

    // Asking again sends a second link; either works, once.
    let resend = json!({"email": "ben@example.org"});
    assert_eq!(app.call(Method::POST, "/auth/verify-email/resend", None, Some(resend)).await.0, StatusCode::ACCEPTED);
    let mails = sink.wait_for(2).await;
    assert!(mails.iter().all(|m| m.to == "ben@example.org" && m.subject == "Confirm your email address"), "{mails:?}");
    // Which of the two links arrived first does not matter: the second one used makes the first useless.
    let token = token_of(&link(&mails[1].body, "https://chat.test/verify-email?token="));
    assert_eq!(app.call(Method::POST, "/auth/verify-email", None, Some(json!({"token": token}))).await.0, StatusCode::NO_CONTENT);
    let (status, session) = app.call(Method::POST, "/auth/login", None, Some(login)).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let first = token_of(&link(&mails[0].body, "/verify-email"));
    let (status, error) = app.call(Method::POST, "/auth/verify-email", None, Some(json!({"token": first}))).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_token")),
        "one link per address works"
    );
}
