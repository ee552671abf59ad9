//! `/metrics` on its own listener: each series moves when what it counts happens (a login, a
//! message, a voice join, a relayed TURN packet), and the public port serves no metrics.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;
use crate::relay::{issued, relay_app, start_echo_peer, uclient_to};

/// The value of the series written exactly `series` (name and labels), if it is there.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let url = format!("http://{}/metrics", app.metrics_addr.expect("metrics.listen is set"));
    let response = app.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    response.text().await.unwrap()
}

#[tokio::test]
async fn each_series_moves_with_what_it_counts_and_only_on_the_metrics_listener() {
    let peer = start_echo_peer().await;
    let app = relay_app(|c| c.metrics.listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let before = scrape(&app).await;
    assert_eq!(value(&before, "cromulent_users"), Some(0.0), "{before}");
    assert_eq!(value(&before, "cromulent_messages_total"), Some(0.0));
    assert_eq!(value(&before, &format!("cromulent_build_info{{version=\"{}\"}}", env!("CARGO_PKG_VERSION"))), Some(1.0));
    assert!(before.contains("# TYPE cromulent_gateway_connections gauge"), "{before}");

    let amy = app.register("amy").await;
    let (status, _) =
        app.call(Method::POST, "/auth/login", None, Some(json!({"username": "amy", "password": "correct horse"}))).await;
    assert_eq!(status, StatusCode::OK);
    let general = app.general(&amy).await;
    app.post(&amy, &general, "counted").await;
    let (_, channels) = app.call(Method::GET, "/channels", Some(&amy.token), None).await;
    let lounge = channels.as_array().unwrap().iter().find(|c| c["kind"] == "voice").unwrap()["id"].clone();
    let mut gateway = app.gateway(&amy).await;
    assert_eq!(gateway.request("voice_join", json!({"channel_id": lounge})).await["t"], "reply");
    assert_eq!(gateway.request("voice_join", json!({"channel_id": "1"})).await["t"], "error");
    let (port, username, password) = issued(&app, &amy).await;
    let (ok, text) = uclient_to("127.0.0.1", port, "127.0.0.1", peer.port, &["-n", "5"], &username, &password).await;
    assert!(ok, "{text}");

    let after = scrape(&app).await;
    let moved = [
        ("cromulent_users", 1.0),
        ("cromulent_messages_total", 1.0),
        ("cromulent_gateway_connections", 1.0),
        ("cromulent_voice_sessions", 1.0),
        (r#"cromulent_voice_joins_total{outcome="ok"}"#, 1.0),
        (r#"cromulent_voice_joins_total{outcome="not_found"}"#, 1.0),
        (r#"cromulent_http_requests_total{route="/api/v1/auth/register",status="201"}"#, 1.0),
        (r#"cromulent_http_requests_total{route="/api/v1/auth/login",status="200"}"#, 1.0),
        (r#"cromulent_http_requests_total{route="/api/v1/channels/{channel_id}/messages",status="201"}"#, 1.0),
        (r#"cromulent_http_request_duration_seconds_count{route="/api/v1/auth/login"}"#, 1.0),
    ];
    for (series, expected) in moved {
        assert_eq!(value(&after, series), Some(expected), "{series} in\n{after}");
    }
    let at_least = [
        (r#"cromulent_ice_requests_total{provider="builtin",outcome="ok"}"#, 2.0),
        (r#"cromulent_turn_relayed_packets_total{direction="to_peer"}"#, 5.0),
        (r#"cromulent_turn_relayed_packets_total{direction="to_client"}"#, 5.0),
        (r#"cromulent_turn_relayed_bytes_total{direction="to_peer"}"#, 5.0),
        ("cromulent_gateway_events_sent_total", 2.0),
        (r#"cromulent_db_pool_connections{state="idle"}"#, 1.0),
    ];
    for (series, least) in at_least {
        assert!(value(&after, series).is_some_and(|v| v >= least), "{series} ≥ {least} in\n{after}");
    }
    assert!(!after.contains("/api/v1/channels/1"), "routes are templates, never raw paths");

    // The relay's refusals move too: a wrong password is an authentication failure.
    let (ok, _) = uclient_to("127.0.0.1", port, "127.0.0.1", peer.port, &["-n", "1"], &username, "wrong").await;
    assert!(!ok);
    assert!(value(&scrape(&app).await, "cromulent_turn_auth_failures_total").is_some_and(|v| v >= 1.0));

    drop(gateway);
    let public = app.http.get(format!("http://{}/metrics", app.addr)).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND, "the public port serves no metrics");
}

#[tokio::test]
async fn without_metrics_listen_nothing_listens_for_metrics() {
    let app = TestApp::spawn().await;
    assert_eq!(app.metrics_addr, None);
    let public = app.http.get(format!("http://{}/metrics", app.addr)).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}
