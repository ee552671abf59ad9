//! TURN providers against independent peers: Debian's real coturn accepts the credentials the
//! server mints (and refuses wrong and expired ones), and Metered is exercised against a local
//! HTTP server that answers as Metered documents, including slow and malformed answers.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use cromulent::config::TurnProvider;
use cromulent_turn::credential::mint;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::helpers::TestApp;

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Coturn {
    _server: Child,
    _peer: Child,
    port: u16,
    peer_port: u16,
    _dir: tempfile::TempDir,
}

/// Starts coturn on loopback with `secret`, plus its UDP echo peer.
async fn start_coturn(secret: &str) -> Coturn {
    let which = std::process::Command::new("turnserver").arg("--version").output();
    assert!(which.is_ok(), "these tests need Debian's coturn (`apt-get install coturn`); scripts/test installs it");
    let dir = tempfile::tempdir().unwrap();
    let (port, peer_port) = (free_udp_port(), free_udp_port());
    let relay_base = 40_000 + (port % 200) * 100;
    let config = format!(
        "listening-ip=127.0.0.1\nlistening-port={port}\nrelay-ip=127.0.0.1\nmin-port={relay_base}\nmax-port={}\n\
         realm=cromulent.test\nuse-auth-secret\nstatic-auth-secret={secret}\nfingerprint\nno-tls\nno-dtls\nno-cli\n\
         allow-loopback-peers\npidfile={}\nuserdb={}\nlog-file={}\nsimple-log\n",
        relay_base + 99,
        dir.path().join("turn.pid").display(),
        dir.path().join("turndb").display(),
        dir.path().join("turn.log").display(),
    );
    let config_path = dir.path().join("turnserver.conf");
    std::fs::write(&config_path, config).unwrap();
    let server = Command::new("turnserver")
        .arg("-c")
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let peer = Command::new("turnutils_peer")
        .args(["-L", "127.0.0.1", "-p", &peer_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let coturn = Coturn { _server: server, _peer: peer, port, peer_port, _dir: dir };
    for _ in 0..60 {
        // turnutils_stunclient waits forever for an answer that a not-yet-listening server
        // never sends, so each probe gets a deadline.
        let probe = Command::new("turnutils_stunclient").args(["-p", &port.to_string(), "127.0.0.1"]).kill_on_drop(true).output();
        if let Ok(Ok(stun)) = tokio::time::timeout(Duration::from_secs(1), probe).await
            && String::from_utf8_lossy(&stun.stdout).contains("reflexive addr")
        {
            return coturn;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("coturn did not answer STUN on 127.0.0.1:{port}");
}

/// Allocates and relays 10 packets through coturn with `username`/`password`; true on success.
async fn relay_works(coturn: &Coturn, username: &str, password: &str) -> bool {
    let run = Command::new("turnutils_uclient")
        .args(["-p", &coturn.port.to_string(), "-e", "127.0.0.1", "-r", &coturn.peer_port.to_string(), "-X", "-c", "-n", "10"])
        .args(["-u", username, "-w", password, "127.0.0.1"])
        .kill_on_drop(true)
        .output();
    let Ok(output) = tokio::time::timeout(Duration::from_secs(20), run).await else { return false };
    let output = output.unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    output.status.success() && text.contains("Total lost packets 0")
}

#[tokio::test]
async fn real_coturn_accepts_issued_credentials_and_refuses_wrong_or_expired_ones() {
    let secret = format!("{:032x}", rand::random::<u128>());
    let coturn = start_coturn(&secret).await;
    let urls = vec![format!("turn:127.0.0.1:{}?transport=udp", coturn.port)];
    let app = TestApp::spawn_with(|c| {
        c.turn.provider = TurnProvider::Coturn;
        c.turn.secret = secret.as_str().into();
        c.turn.urls = urls;
    })
    .await;
    let amy = app.register("amy").await;
    let (_, body) = app.call(Method::GET, "/voice/ice-servers", Some(&amy.token), None).await;
    let turn = &body["ice_servers"][0];
    let (username, password) = (turn["username"].as_str().unwrap(), turn["credential"].as_str().unwrap());
    assert!(relay_works(&coturn, username, password).await, "coturn relays with the issued credentials");

    let wrong = mint(b"not-the-secret", &amy.id, body["expires_at"].as_i64().unwrap()).password;
    assert!(!relay_works(&coturn, username, &wrong).await, "a wrong secret is refused");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let expired = mint(secret.as_bytes(), &amy.id, now - 10);
    let (expired_user, expired_password) = (expired.username, expired.password);
    assert!(!relay_works(&coturn, &expired_user, &expired_password).await, "an expired username is refused");
}

/// A local server answering like Metered's `GET /api/v1/turn/credentials?apiKey=`.
async fn metered_stub(hits: Arc<AtomicUsize>) -> String {
    #[derive(serde::Deserialize)]
    struct Key {
        #[serde(rename = "apiKey")]
        api_key: String,
    }
    let good = move |Query(key): Query<Key>| {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            if key.api_key != "the-key" {
                return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "bad key"})));
            }
            (
                axum::http::StatusCode::OK,
                axum::Json(json!([
                    {"urls": "stun:stun.relay.example:80"},
                    {"urls": ["turn:global.relay.example:80", "turn:global.relay.example:443?transport=tcp"], "username": "u1", "credential": "c1"}
                ])),
            )
        }
    };
    let router = Router::new()
        .route("/good/api/v1/turn/credentials", get(good))
        .route(
            "/slow/api/v1/turn/credentials",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(8)).await;
                "[]"
            }),
        )
        .route("/bad/api/v1/turn/credentials", get(|| async { "<html>not json</html>" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

async fn metered_app(api_url: String, key: &str) -> (TestApp, String) {
    let key = key.to_owned();
    let app = TestApp::spawn_with(move |c| {
        c.turn.provider = TurnProvider::Metered;
        c.turn.metered_api_url = api_url;
        c.turn.metered_api_key = key.as_str().into();
        c.turn.stun_urls = vec!["stun:127.0.0.1:3478".into()];
    })
    .await;
    let token = app.register("amy").await.token;
    (app, token)
}

#[tokio::test]
async fn metered_servers_are_passed_through_and_cached() {
    let hits = Arc::new(AtomicUsize::new(0));
    let base = metered_stub(hits.clone()).await;
    let (app, token) = metered_app(format!("{base}/good"), "the-key").await;
    let (_, body) = app.call(Method::GET, "/voice/ice-servers", Some(&token), None).await;
    assert_eq!(body["ice_degraded"], false);
    assert_eq!(
        body["ice_servers"],
        json!([
            {"urls": ["stun:stun.relay.example:80"]},
            {"urls": ["turn:global.relay.example:80", "turn:global.relay.example:443?transport=tcp"], "username": "u1", "credential": "c1"}
        ])
    );
    app.call(Method::GET, "/voice/ice-servers", Some(&token), None).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the second call is served from the cache");
    assert!(!body.to_string().contains("the-key"), "the API key stays on the server");
}

#[tokio::test]
async fn metered_failures_fall_back_to_stun_and_say_so() {
    let base = metered_stub(Arc::new(AtomicUsize::new(0))).await;
    for (path, key) in [("bad", "the-key"), ("good", "wrong-key"), ("slow", "the-key")] {
        let (app, token) = metered_app(format!("{base}/{path}"), key).await;
        let started = std::time::Instant::now();
        let (_, body): (_, Value) = app.call(Method::GET, "/voice/ice-servers", Some(&token), None).await;
        assert_eq!(body["ice_degraded"], true, "{path}: {body}");
        assert_eq!(body["ice_servers"], json!([{"urls": ["stun:127.0.0.1:3478"]}]), "{path}");
        assert!(started.elapsed() < Duration::from_secs(7), "{path}: the 5 s timeout bounds the wait");
    }
}

#[tokio::test]
async fn save_and_test_names_what_is_wrong_with_a_coturn_setting() {
    let coturn = start_coturn("the-real-secret").await;
    let app = TestApp::spawn_with(|c| c.turn.provider = TurnProvider::None).await;
    let amy = app.register("amy").await;
    let urls =
        |port: u16| json!([format!("turn:127.0.0.1:{port}?transport=udp"), format!("turn:127.0.0.1:{port}?transport=tcp")]);
    let test = async |body: Value| -> Value {
        let (status, report) = app.call(Method::POST, "/admin/ice/test", Some(&amy.token), Some(body)).await;
        assert!(status.is_success(), "{report}");
        report
    };
    let right = test(json!({"provider": "coturn", "secret": "the-real-secret", "urls": urls(coturn.port)})).await;
    assert_eq!(right["ok"], true, "{right}");
    assert_eq!(right["checks"].as_array().unwrap().len(), 2);

    let wrong = test(json!({"provider": "coturn", "secret": "a-guess", "urls": urls(coturn.port)})).await;
    assert_eq!(wrong["ok"], false);
    for check in wrong["checks"].as_array().unwrap() {
        assert_eq!(check["detail"], "the credentials were refused (401)", "{check}");
        assert!(check["hint"].as_str().unwrap().contains("static-auth-secret"), "{check}");
    }

    let closed = free_udp_port();
    let nobody = test(json!({"provider": "coturn", "secret": "the-real-secret", "urls": urls(closed)})).await;
    assert_eq!(nobody["ok"], false);
    for check in nobody["checks"].as_array().unwrap() {
        assert!(check["hint"].as_str().unwrap().starts_with("Port unreachable or blocked"), "{check}");
    }
    let (status, incomplete) =
        app.call(Method::POST, "/admin/ice/test", Some(&amy.token), Some(json!({"provider": "coturn"}))).await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{incomplete}");
}

#[tokio::test]
async fn save_and_test_says_when_metered_refuses_the_key() {
    let hits = Arc::new(AtomicUsize::new(0));
    let base = metered_stub(hits.clone()).await;
    let (app, _) = metered_app(format!("{base}/good"), "the-key").await;
    let (_, amy_login) =
        app.call(Method::POST, "/auth/login", None, Some(json!({"username": "amy", "password": "correct horse"}))).await;
    let token = amy_login["token"].as_str().unwrap().to_owned();
    let (_, report) =
        app.call(Method::POST, "/admin/ice/test", Some(&token), Some(json!({"metered_api_key": "a-wrong-key"}))).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["checks"][0]["name"], "metered");
    assert_eq!(report["checks"][0]["detail"], "the TURN provider answered 401");
    assert!(report["checks"][0]["hint"].as_str().unwrap().contains("API key was refused"), "{report}");
    let (_, report) =
        app.call(Method::POST, "/admin/ice/test", Some(&token), Some(json!({"metered_api_url": format!("{base}/bad")}))).await;
    assert!(report["checks"][0]["hint"].as_str().unwrap().contains("not a list of ICE servers"), "{report}");
    assert!(hits.load(Ordering::SeqCst) >= 1, "the fake was really asked");
}
