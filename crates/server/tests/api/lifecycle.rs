//! The server's life: health, restart with data intact, graceful shutdown of gateway sockets.

use reqwest::{Method, StatusCode};

use crate::helpers::{Ended, TestApp};

#[tokio::test]
async fn healthz_answers_once_the_database_is_reachable() {
    let app = TestApp::spawn().await;
    let response = app.http.get(format!("http://{}/healthz", app.addr)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"status": "ok", "database": "ok"}));
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

#[tokio::test]
async fn sigterm_stops_the_binary_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cromulent"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "info"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("CROMULENT_LOG_FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (addr, mut lines) = crate::helpers::listening_address(&mut child).await;
    let health = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let status = tokio::process::Command::new("kill").args(["-TERM", &child.id().unwrap().to_string()]).status().await.unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait()).await.expect("exits in time").unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut rest = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push(line);
    }
    assert!(rest.iter().any(|l| l.contains("\"stopped\"")), "{rest:?}");
    assert!(dir.path().join("cromulent.db").exists());
}

#[tokio::test]
async fn help_lists_every_configuration_key() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_cromulent")).arg("--help").output().await.unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for key in cromulent::config::KEYS {
        assert!(help.contains(key.name), "--help lacks {}", key.name);
        assert!(help.contains(&cromulent::config::env_name(key.name)), "--help lacks the variable of {}", key.name);
    }
    for command in ["serve", "user", "backup", "coturn-config"] {
        assert!(help.contains(command));
    }
}
