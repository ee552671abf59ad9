//! The server's life: health, restart with data intact, graceful shutdown of gateway sockets.

use reqwest::{Method, StatusCode};

use crate::helpers::{Ended, TestApp};

#[tokio::test]
async fn healthz_answers_once_the_database_is_reachable() {
    let app = TestApp::spawn().await;
    let response = app.http.get(format!("http://{}/healthz", app.addr)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn messages_and_sessions_survive_a_restart() {
    let app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let general = app.general(&amy).await;
    let posted = app.post(&amy, &general, "still here?").await;
    let app = app.restart().await;
    let (status, history) = app.call(Method::GET, &format!("/channels/{general}/messages"), Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::OK, "the session token outlives the process");
    assert_eq!(history[0], posted);
    let next = app.post(&amy, &general, "yes").await;
    assert!(next["id"].as_str().unwrap().parse::<i64>().unwrap() > posted["id"].as_str().unwrap().parse::<i64>().unwrap());
}

#[tokio::test]
async fn shutdown_closes_gateway_sockets_with_going_away() {
    let mut app = TestApp::spawn().await;
    let amy = app.register("amy").await;
    let mut gateway = app.gateway(&amy).await;
    let mut unidentified = app.raw_gateway(&[]).await;
    app.stop().await;
    assert_eq!(gateway.ended().await, Ended::Closed(1001));
    assert_eq!(unidentified.ended().await, Ended::Closed(1001));
    assert!(app.http.get(format!("http://{}/healthz", app.addr)).send().await.is_err(), "no longer accepting");
}
