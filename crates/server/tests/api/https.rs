//! HTTPS on the web listener with certificate files: the certificate is served, replaced files
//! take over without a restart, responses carry HSTS and cookies are `Secure`; plain HTTP on
//! `http.redirect_listen` is sent to HTTPS; and the one port carries TURN over TCP and over TLS
//! (Debian's `turnutils_uclient` relays through it) while HTTPS requests and a gateway
//! WebSocket work beside it. Clients that send garbage or stall do not stop the others.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestApp;
use crate::pki::{NAME, TestCa, connect, https_client, served_leaf};
use crate::relay::{SECRET, start_echo_peer, uclient_to};

/// A server with HTTPS from `cert.pem` and `key.pem` in `dir`.
async fn https_app(dir: &std::path::Path, tweak: impl FnOnce(&mut cromulent::config::Config)) -> TestApp {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    TestApp::spawn_with(|c| {
        c.tls.cert = cert;
        c.tls.key = key;
        tweak(c);
    })
    .await
}

async fn register(http: &reqwest::Client, base: &str, name: &str) -> (String, reqwest::header::HeaderMap) {
    let response = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"username": name, "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    (body["token"].as_str().unwrap().to_owned(), headers)
}

#[tokio::test]
async fn certificate_files_are_served_and_replaced_without_a_restart() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let first = ca.write_leaf(dir.path(), &[NAME]);
    let app = https_app(dir.path(), |_| {}).await;
    let base = format!("https://{NAME}:{}", app.addr.port());
    let http = https_client(&ca.pem(), app.addr);

    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["strict-transport-security"], "max-age=63072000");
    let (_, headers) = register(&http, &base, "amy").await;
    let cookies: Vec<&str> = headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(cookies.iter().all(|c| c.ends_with("; Secure")), "every cookie is Secure over HTTPS: {cookies:?}");
    assert_eq!(served_leaf(app.addr, NAME, &ca.pem()).await, Some(first.der.clone()));

    // A renewal replaces the files: new handshakes get the new certificate, an open connection
    // keeps working.
    let mut open = connect(app.addr, NAME, &ca.pem()).await.unwrap();
    let second = ca.write_leaf(dir.path(), &[NAME]);
    let mut served = None;
    for _ in 0..50 {
        served = served_leaf(app.addr, NAME, &ca.pem()).await;
        if served.as_ref() == Some(&second.der) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(served, Some(second.der.clone()), "the replaced certificate is served within 10 s");
    open.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {NAME}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut answer = String::new();
    open.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A half-written or broken file leaves the current certificate in service.
    std::fs::write(dir.path().join("cert.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(served_leaf(app.addr, NAME, &ca.pem()).await, Some(second.der));
}

#[tokio::test]
async fn plain_http_on_the_redirect_listener_goes_to_https() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    ca.write_leaf(dir.path(), &[NAME]);
    let app = https_app(dir.path(), |c| c.http.redirect_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let redirect = app.redirect_addr.unwrap();
    let response = plain
        .post(format!("http://{redirect}/channels/1?x=2"))
        .header("host", format!("{NAME}:{}", redirect.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["location"], format!("https://{NAME}:{}/channels/1?x=2", app.addr.port()));
}

#[tokio::test]
async fn the_https_port_carries_turn_over_tcp_and_tls_beside_https_and_the_gateway() {
    let peer = start_echo_peer().await;
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    // uclient checks no certificate; the name is for the browser-like clients here.
    ca.write_leaf(dir.path(), &[NAME, "127.0.0.1"]);
    let app = https_app(dir.path(), |c| {
        c.turn.provider = cromulent::config::TurnProvider::Builtin;
        c.turn.secret = SECRET.into();
        c.turn.allow_loopback_peers = true;
    })
    .await;
    let port = app.addr.port();
    let base = format!("https://{NAME}:{port}");
    let http = https_client(&ca.pem(), app.addr);
    let (token, _) = register(&http, &base, "amy").await;
    let ice: Value =
        http.get(format!("{base}/api/v1/voice/ice-servers")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let udp = app.relay_ports.unwrap().udp_tcp;
    let turn = &ice["ice_servers"][1];
    assert_eq!(ice["ice_servers"][0]["urls"], json!([format!("stun:{NAME}:{udp}")]));
    assert_eq!(
        turn["urls"],
        json!([
            format!("turn:{NAME}:{udp}?transport=udp"),
            format!("turn:{NAME}:{port}?transport=tcp"),
            format!("turns:{NAME}:{port}?transport=tcp")
        ])
    );
    let (username, password) = (turn["username"].as_str().unwrap(), turn["credential"].as_str().unwrap());

    // A gateway WebSocket over TLS on the same port, open throughout.
    let tls = connect(app.addr, NAME, &ca.pem()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://{NAME}:{port}/api/v1/gateway"), tls).await.unwrap();
    let next = async |ws: &mut tokio_tungstenite::WebSocketStream<_>| -> Value {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap() {
                Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                _ => continue,
            }
        }
    };
    assert_eq!(next(&mut ws).await["t"], "hello");
    ws.send(Message::Text(json!({"op": "identify", "d": {"token": token}}).to_string().into())).await.unwrap();
    let ready = next(&mut ws).await;
    assert_eq!(ready["t"], "ready");
    let general = ready["d"]["channels"].as_array().unwrap().iter().find(|c| c["name"] == "general").unwrap()["id"].clone();

    // TURN over plain TCP and over TLS on the HTTPS port, while HTTPS requests go on.
    let busy = async {
        for n in 0..20 {
            let response = http.get(format!("{base}/healthz")).send().await.unwrap();
            assert_eq!(response.status(), 200, "request {n}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let relay = async {
        let tcp = uclient_to("127.0.0.1", port, "127.0.0.1", peer.port, &["-t", "-n", "20"], username, password).await;
        let tls = uclient_to("127.0.0.1", port, "127.0.0.1", peer.port, &["-t", "-S", "-n", "20"], username, password).await;
        (tcp, tls)
    };
    let ((tcp, tls), ()) = tokio::join!(relay, busy);
    for (what, (ok, text)) in [("TCP", tcp), ("TLS", tls)] {
        assert!(ok && text.contains("tot_recv_msgs=20") && text.contains("Total lost packets 0"), "{what}: {text}");
    }

    // The gateway saw nothing go wrong: a message posted now arrives on it.
    let posted = http
        .post(format!("{base}/api/v1/channels/{}/messages", general.as_str().unwrap()))
        .bearer_auth(&token)
        .json(&json!({"content": "over one port"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    loop {
        let frame = next(&mut ws).await;
        if frame["t"] == "message_create" {
            assert_eq!(frame["d"]["content"], "over one port");
            break;
        }
    }
}

#[tokio::test]
async fn garbage_stalled_handshakes_and_split_stun_do_not_stop_the_port() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    ca.write_leaf(dir.path(), &[NAME]);
    let app = https_app(dir.path(), |c| {
        c.turn.provider = cromulent::config::TurnProvider::Builtin;
        c.turn.secret = SECRET.into();
    })
    .await;
    let http = https_client(&ca.pem(), app.addr);
    let health = format!("https://{NAME}:{}/healthz", app.addr.port());

    // Junk that is neither TLS nor STUN, and a TLS record of junk: both closed.
    for junk in [&b"\x99garbage that is no protocol at all"[..], b"\x16\x03\x01\x00\x05hello and more junk"] {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(junk).await.unwrap();
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        });
        read.await.expect("junk is closed at once");
    }

    // A handshake that stalls halfway holds nothing up and is closed after its deadline.
    let mut stalled = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stalled.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await.unwrap();
    let opened = tokio::time::Instant::now();
    assert_eq!(http.get(&health).send().await.unwrap().status(), 200, "others are served meanwhile");
    let mut buf = [0u8; 64];
    let ended =
        tokio::time::timeout(Duration::from_secs(15), stalled.read(&mut buf)).await.expect("the stalled handshake is closed");
    assert!(matches!(ended, Ok(0) | Err(_)), "{ended:?}");
    assert!(opened.elapsed() >= Duration::from_secs(8), "closed by its deadline, not at once");

    // A STUN Binding over TLS, split across TLS records, is answered.
    let mut tls = connect(app.addr, NAME, &ca.pem()).await.unwrap();
    let mut binding = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
    binding.extend_from_slice(&rand::random::<[u8; 12]>());
    for part in [&binding[..3], &binding[3..10], &binding[10..]] {
        tls.write_all(part).await.unwrap();
        tls.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let mut answer = [0u8; 20];
    tokio::time::timeout(Duration::from_secs(5), tls.read_exact(&mut answer)).await.unwrap().unwrap();
    assert_eq!(answer[..2], [0x01, 0x01], "a Binding success response");
    assert_eq!(answer[8..20], binding[8..20], "for our transaction");
}

#[tokio::test]
async fn sighup_reloads_the_certificate_files_at_once() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let first = ca.write_leaf(dir.path(), &[NAME]);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cromulent"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "info"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("CROMULENT_LOG_FORMAT", "json")
        .env("CROMULENT_TURN_PROVIDER", "none")
        .env("CROMULENT_TLS_CERT", dir.path().join("cert.pem"))
        .env("CROMULENT_TLS_KEY", dir.path().join("key.pem"))
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (addr, mut lines) = crate::helpers::listening_address(&mut child).await;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    assert_eq!(served_leaf(addr, NAME, &ca.pem()).await, Some(first.der.clone()));

    // New files that look unchanged to the poller (same length, same modification time), so
    // only the signal can make the server read them.
    let stamps: Vec<(std::time::SystemTime, u64)> = ["cert.pem", "key.pem"]
        .iter()
        .map(|f| std::fs::metadata(dir.path().join(f)).map(|m| (m.modified().unwrap(), m.len())).unwrap())
        .collect();
    let second = loop {
        let leaf = ca.leaf(&[NAME]);
        if leaf.cert_pem.len() as u64 <= stamps[0].1 && leaf.key_pem.len() as u64 <= stamps[1].1 {
            break leaf;
        }
    };
    for ((name, text), (modified, len)) in [("cert.pem", &second.cert_pem), ("key.pem", &second.key_pem)].into_iter().zip(&stamps)
    {
        // PEM readers skip trailing newlines, which pad the file to the old length.
        let padded = format!("{text}{}", "\n".repeat(*len as usize - text.len()));
        std::fs::write(dir.path().join(name), padded).unwrap();
        std::fs::File::options().write(true).open(dir.path().join(name)).unwrap().set_modified(*modified).unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(served_leaf(addr, NAME, &ca.pem()).await, Some(first.der), "the poller saw no change");
    let pid = child.id().unwrap();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status().unwrap().success());
    let mut served = None;
    for _ in 0..20 {
        served = served_leaf(addr, NAME, &ca.pem()).await;
        if served.as_ref() == Some(&second.der) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(served, Some(second.der), "SIGHUP reloads within a second");
    assert!(child.try_wait().unwrap().is_none(), "and the server is still running");
}
