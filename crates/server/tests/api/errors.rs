//! Every route answers bad requests with typed JSON errors: 401, 400, 413, 415, 422, 404, 405.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Every authenticated route, with a valid body where it takes one.
fn routes(channel: &str, message: &str, user: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::POST, "/auth/logout".into(), None),
        (Method::GET, "/users".into(), None),
        (Method::GET, "/users/@me".into(), None),
        (Method::GET, "/settings".into(), None),
        (Method::PATCH, "/settings".into(), Some(json!({"registration_open": true}))),
        (Method::GET, "/channels".into(), None),
        (Method::POST, "/channels".into(), Some(json!({"name": "n", "kind": "text"}))),
        (Method::GET, format!("/channels/{channel}"), None),
        (Method::PATCH, format!("/channels/{channel}"), Some(json!({"name": "n"}))),
        (Method::DELETE, format!("/channels/{channel}"), None),
        (Method::GET, format!("/channels/{channel}/members"), None),
        (Method::PUT, format!("/channels/{channel}/members/{user}"), None),
        (Method::DELETE, format!("/channels/{channel}/members/{user}"), None),
        (Method::GET, format!("/channels/{channel}/messages"), None),
        (Method::POST, format!("/channels/{channel}/messages"), Some(json!({"content": "c"}))),
        (Method::PATCH, format!("/channels/{channel}/messages/{message}"), Some(json!({"content": "c"}))),
        (Method::DELETE, format!("/channels/{channel}/messages/{message}"), None),
    ]
}

#[tokio::test]
async fn every_route_needs_a_valid_session() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let general = app.general(&admin).await;
    let message = app.post(&admin, &general, "m").await["id"].as_str().unwrap().to_owned();
    for (method, path, body) in routes(&general, &message, &admin.id) {
        for token in [None, Some("bogus-token"), Some("")] {
            let (status, error) = app.call(method.clone(), &path, token, body.clone()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with {token:?}");
            assert_eq!(error["error"]["code"], "unauthenticated");
        }
    }
}

#[tokio::test]
async fn bodies_are_checked_for_syntax_type_shape_and_size() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let general = app.general(&admin).await;
    let message = app.post(&admin, &general, "m").await["id"].as_str().unwrap().to_owned();
    let body_routes: Vec<_> = routes(&general, &message, &admin.id).into_iter().filter(|(_, _, b)| b.is_some()).collect();
    let mut with_auth = body_routes.clone();
    with_auth.push((Method::POST, "/auth/register".into(), None));
    with_auth.push((Method::POST, "/auth/login".into(), None));
    let big = json!({"content": "x".repeat(70 * 1024)}).to_string();
    for (method, path, _) in with_auth {
        let send = |content_type: &'static str, body: String| {
            app.http
                .request(method.clone(), app.api(&path))
                .bearer_auth(&admin.token)
                .header(header::CONTENT_TYPE, content_type)
                .body(body)
                .send()
        };
        let cases = [
            (send("application/json", "{not json".into()).await.unwrap(), StatusCode::BAD_REQUEST, "invalid_json"),
            (send("text/plain", "{}".into()).await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            (
                send("application/json", "{\"surprise\": 1}".into()).await.unwrap(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (send("application/json", "42".into()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            (send("application/json", big.clone()).await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        ];
        for (response, status, code) in cases {
            assert_eq!(response.status(), status, "{method} {path} → {code}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], code, "{method} {path}");
        }
    }
    let (_, history) = app.call(Method::GET, &format!("/channels/{general}/messages"), Some(&admin.token), None).await;
    assert_eq!(history.as_array().unwrap().len(), 1, "refused bodies wrote nothing");
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_not_found() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let general = app.general(&admin).await;
    let secret = app.create_channel(&admin, "secret", "text", true).await;
    let message = app.post(&admin, &general, "m").await["id"].as_str().unwrap().to_owned();
    for bad in ["12345", "0", "-5", "abc", "99999999999999999999999"] {
        let with_bad_channel =
            routes(bad, &message, &admin.id).into_iter().filter(|(_, path, _)| path.starts_with(&format!("/channels/{bad}")));
        let with_bad_message =
            routes(&general, bad, &admin.id).into_iter().filter(|(_, path, _)| path.ends_with(&format!("/messages/{bad}")));
        let with_bad_user =
            routes(&secret, &message, bad).into_iter().filter(|(_, path, _)| path.ends_with(&format!("/members/{bad}")));
        for (method, path, body) in with_bad_channel.chain(with_bad_message).chain(with_bad_user) {
            let (status, error) = app.call(method.clone(), &path, Some(&admin.token), body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {error}");
            assert_eq!(error["error"]["code"], "not_found");
        }
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let app = TestApp::spawn().await;
    let (status, body) = app.call(Method::GET, "/nothing/here", None, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, body) = app.call(Method::PUT, "/channels", None, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
}

#[tokio::test]
async fn members_are_forbidden_admin_routes() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin").await;
    let member = app.register("member").await;
    let general = app.general(&admin).await;
    let secret = app.create_channel(&admin, "secret", "text", true).await;
    let admin_only = [
        (Method::GET, "/settings".to_owned(), None),
        (Method::PATCH, "/settings".to_owned(), Some(json!({"registration_open": false}))),
        (Method::POST, "/channels".to_owned(), Some(json!({"name": "n", "kind": "text"}))),
        (Method::PATCH, format!("/channels/{general}"), Some(json!({"name": "n"}))),
        (Method::DELETE, format!("/channels/{general}"), None),
        (Method::PUT, format!("/channels/{secret}/members/{}", member.id), None),
        (Method::DELETE, format!("/channels/{secret}/members/{}", member.id), None),
    ];
    for (method, path, body) in admin_only {
        let (status, error) = app.call(method.clone(), &path, Some(&member.token), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {error}");
    }
    let (_, channels) = app.call(Method::GET, "/channels", Some(&member.token), None).await;
    assert_eq!(channels.as_array().unwrap().len(), 2, "nothing changed");
}

#[tokio::test]
async fn the_edges_of_the_api_answer_json_too() {
    let app = TestApp::spawn().await;
    let base = format!("http://{}", app.addr);
    let cases = [
        (Method::POST, format!("{base}/healthz"), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        (Method::GET, format!("{base}/api/v1/gateway"), StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
        (Method::DELETE, format!("{base}/"), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    ];
    for (method, url, status, code) in cases {
        let response = app.http.request(method.clone(), &url).send().await.unwrap();
        assert_eq!(response.status(), status, "{method} {url}");
        let body: Value = response.json().await.unwrap_or_else(|e| panic!("{method} {url}: not JSON: {e}"));
        assert_eq!(body["error"]["code"], code, "{method} {url}");
    }
}

#[tokio::test]
async fn responses_that_carry_a_token_are_never_cached() {
    let app = TestApp::spawn().await;
    let credentials = json!({"username": "amy", "password": "correct horse"});
    for path in ["/auth/register", "/auth/login"] {
        let response = app.http.post(app.api(path)).json(&credentials).send().await.unwrap();
        assert!(response.status().is_success(), "{path}");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store", "{path}");
    }
}

#[tokio::test]
async fn oversized_headers_get_a_json_431() {
    let app = TestApp::spawn().await;
    let url = format!("http://{}/healthz", app.addr);
    let mut many = reqwest::header::HeaderMap::new();
    for n in 0..150 {
        many.insert(reqwest::header::HeaderName::from_bytes(format!("x-h{n}").as_bytes()).unwrap(), "v".parse().unwrap());
    }
    let big = "a".repeat(60 * 1024);
    for request in [app.http.get(&url).headers(many), app.http.get(&url).header("x-big", big)] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let body: Value = response.json().await.expect("a JSON error, not an empty body");
        assert_eq!(body["error"]["code"], "headers_too_large");
    }
    assert_eq!(app.http.get(&url).header("x-ok", "a".repeat(1024)).send().await.unwrap().status(), StatusCode::OK);
}
