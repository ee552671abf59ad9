//! Registration modes and invites: `open`, `invite` (a good code needed, its uses and expiry
//! counted) and `closed`; who may create, list and delete invites.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn register(app: &TestApp, name: &str, invite: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"username": name, "password": "correct horse"});
    if let Some(code) = invite {
        body["invite"] = json!(code);
    }
    app.call(Method::POST, "/auth/register", None, Some(body)).await
}

#[tokio::test]
async fn invite_only_registration_takes_a_good_code_and_counts_its_uses() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let (status, settings) =
        app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"registration": "invite"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((settings["registration"].as_str(), settings["registration_open"].as_bool()), (Some("invite"), Some(false)));
    assert_eq!(settings["members_can_invite"], false);

    let (status, refused) = register(&app, "ben", None).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("invalid_invite")));
    let (status, invite) = app.call(Method::POST, "/invites", Some(&amy.token), Some(json!({"max_uses": 1}))).await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let code = invite["code"].as_str().unwrap().to_owned();
    assert_eq!(invite["url"], format!("http://{}/invite/{code}", app.addr));
    assert_eq!((invite["uses"].as_u64(), invite["max_uses"].as_u64()), (Some(0), Some(1)));

    let (status, _) = register(&app, "ben", Some("not-a-code")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A registration that fails for another reason gives the use back.
    let (status, _) = register(&app, "AMY", Some(&code)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = register(&app, "ben", Some(&code)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, used_up) = register(&app, "carl", Some(&code)).await;
    assert_eq!((status, used_up["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("invalid_invite")), "used up");
    let (_, invites) = app.call(Method::GET, "/invites", Some(&amy.token), None).await;
    assert_eq!(invites[0]["uses"], 1);

    // Deleted codes stop working; closed registration refuses even good ones.
    let (_, second) = app.call(Method::POST, "/invites", Some(&amy.token), Some(json!({}))).await;
    let second = second["code"].as_str().unwrap().to_owned();
    let (status, _) = app.call(Method::DELETE, &format!("/invites/{second}"), Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(register(&app, "dora", Some(&second)).await.0, StatusCode::FORBIDDEN);
    let (status, _) = app.call(Method::DELETE, &format!("/invites/{second}"), Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, third) = app.call(Method::POST, "/invites", Some(&amy.token), Some(json!({}))).await;
    app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"registration": "closed"}))).await;
    let (status, closed) = register(&app, "dora", third["code"].as_str()).await;
    assert_eq!((status, closed["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("registration_closed")));
    // The older boolean still works and reads back.
    let (_, settings) = app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"registration_open": true}))).await;
    assert_eq!(settings["registration"], "open");
    assert_eq!(register(&app, "dora", None).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn members_invite_only_when_allowed_and_limits_are_checked() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let (status, refused) = app.call(Method::POST, "/invites", Some(&ben.token), Some(json!({}))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    app.call(Method::PATCH, "/settings", Some(&amy.token), Some(json!({"members_can_invite": true}))).await;
    let (status, mine) = app.call(Method::POST, "/invites", Some(&ben.token), Some(json!({"expires_in_secs": 3600}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(mine["expires_at"].as_i64().unwrap() > 0);
    let (_, admins) = app.call(Method::POST, "/invites", Some(&amy.token), Some(json!({}))).await;
    let (_, listed) = app.call(Method::GET, "/invites", Some(&ben.token), None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "a member sees their own invites: {listed}");
    let (status, _) =
        app.call(Method::DELETE, &format!("/invites/{}", admins["code"].as_str().unwrap()), Some(&ben.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor may they delete others'");
    let (_, listed) = app.call(Method::GET, "/invites", Some(&amy.token), None).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    for bad in
        [json!({"max_uses": 0}), json!({"max_uses": 1001}), json!({"expires_in_secs": 59}), json!({"expires_in_secs": 2_592_001})]
    {
        let (status, _) = app.call(Method::POST, "/invites", Some(&amy.token), Some(bad.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (_, audit) = app.call(Method::GET, "/admin/audit", Some(&amy.token), None).await;
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["invite.create", "invite.create", "settings.update"]);
    assert_eq!(audit[2]["detail"], "members_can_invite=true");
}
