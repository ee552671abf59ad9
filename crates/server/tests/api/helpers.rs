//! `TestApp`: starts the server in-process on 127.0.0.1:0 and offers typed REST and gateway clients.

use std::net::SocketAddr;
use std::time::Duration;

use cromulent::voice::ice::RelayPorts;
use cromulent::{App, Config};
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// How long a test waits for a frame before failing.
pub const FRAME_WAIT: Duration = Duration::from_secs(10);

/// A running server plus what is needed to restart it on the same data.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its configuration.
    pub config: Config,
    /// Where its built-in relay listens, when it runs one.
    pub relay_ports: Option<RelayPorts>,
    /// Where `http.redirect_listen` is bound, when it is set.
    pub redirect_addr: Option<SocketAddr>,
    /// Where `metrics.listen` is bound, when it is set.
    pub metrics_addr: Option<SocketAddr>,
    /// HTTP client without cookies.
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
    _data_dir: std::sync::Arc<tempfile::TempDir>,
}

/// A registered account.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Bearer token.
    pub token: String,
    /// Account id on the wire.
    pub id: String,
}

/// A fresh database URL: a new PostgreSQL database when the suite runs on PostgreSQL.
async fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("CROMULENT_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("cromulent_test_{:016x}", rand::random::<u64>());
            let mut conn = sqlx::postgres::PgConnection::connect(&admin_url).await.expect("connect to the test PostgreSQL");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let (base, _) = admin_url.rsplit_once('/').expect("URL names a database");
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}", dir.join("cromulent.db").display()),
    }
}

impl TestApp {
    /// A server with test defaults.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// A server with test defaults changed by `tweak`.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            database_url: database_url(dir.path()).await,
            ..Config::default()
        };
        config.auth.attempts_per_ip_per_minute = 10_000;
        config.auth.attempts_per_account_per_minute = 10_000;
        config.auth.attempts_per_account_from_anywhere_per_minute = 10_000;
        // Tests post in bursts; the message limit has tests of its own.
        config.chat.messages_per_10s = 1_000_000;
        config.chat.message_burst = 1_000_000;
        config.gateway.resume_window_ms = 10_000;
        config.turn.listen = "127.0.0.1:0".parse().unwrap();
        tweak(&mut config);
        TestApp::start(config, std::sync::Arc::new(dir)).await
    }

    async fn start(config: Config, data_dir: std::sync::Arc<tempfile::TempDir>) -> TestApp {
        let listener = tokio::net::TcpListener::bind(config.listen).await.expect("bind");
        let app = App::build(config, listener).await.expect("server starts");
        let addr = app.local_addr();
        let config = app.config().clone();
        let relay_ports = app.relay_ports();
        let redirect_addr = app.redirect_addr();
        let metrics_addr = app.metrics_addr();
        let shutdown = app.shutdown_token();
        let task = tokio::spawn(async move { app.run().await.expect("server runs") });
        TestApp {
            addr,
            config,
            relay_ports,
            redirect_addr,
            metrics_addr,
            http: reqwest::Client::new(),
            shutdown,
            task: Some(task),
            _data_dir: data_dir,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }

    /// Stops the server and starts it again on the same data, on a new port.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().unwrap();
        TestApp::start(config, self._data_dir.clone()).await
    }

    /// `http://addr/api/v1{path}`.
    pub fn api(&self, path: &str) -> String {
        format!("http://{}/api/v1{path}", self.addr)
    }

    /// Sends a JSON request with an optional bearer token; returns status and JSON body
    /// (`Value::Null` for an empty body).
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.api(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON body {text:?}"))
        };
        (status, value)
    }

    /// Registers `username` with a fixed password.
    pub async fn register(&self, username: &str) -> TestUser {
        let (status, body) = self
            .call(Method::POST, "/auth/register", None, Some(json!({"username": username, "password": "correct horse"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        TestUser { token: body["token"].as_str().unwrap().to_owned(), id: body["user"]["id"].as_str().unwrap().to_owned() }
    }

    /// Creates a channel as `admin`, returning its id.
    pub async fn create_channel(&self, admin: &TestUser, name: &str, kind: &str, private: bool) -> String {
        let (status, body) = self
            .call(Method::POST, "/channels", Some(&admin.token), Some(json!({"name": name, "kind": kind, "private": private})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Id of the default `general` text channel.
    pub async fn general(&self, user: &TestUser) -> String {
        let (_, channels) = self.call(Method::GET, "/channels", Some(&user.token), None).await;
        channels.as_array().unwrap().iter().find(|c| c["name"] == "general").unwrap()["id"].as_str().unwrap().to_owned()
    }

    /// Posts a message, returning its JSON.
    pub async fn post(&self, user: &TestUser, channel: &str, content: &str) -> Value {
        let (status, body) = self
            .call(Method::POST, &format!("/channels/{channel}/messages"), Some(&user.token), Some(json!({"content": content})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Opens a gateway socket (no identify yet) and reads `hello`.
    pub async fn raw_gateway(&self, headers: &[(&str, &str)]) -> Gateway {
        let mut request = format!("ws://{}/api/v1/gateway", self.addr).into_client_request().unwrap();
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await.expect("gateway upgrade");
        let mut gateway = Gateway { ws, session_id: String::new(), seq: 0 };
        let hello = gateway.next().await;
        assert_eq!(hello["t"], "hello", "{hello}");
        gateway
    }

    /// A gateway connection identified as `user`, past `ready`.
    pub async fn gateway(&self, user: &TestUser) -> Gateway {
        let mut gateway = self.raw_gateway(&[]).await;
        gateway.send(json!({"op": "identify", "d": {"token": user.token}})).await;
        let ready = gateway.next().await;
        assert_eq!(ready["t"], "ready", "{ready}");
        gateway.session_id = ready["d"]["session_id"].as_str().unwrap().to_owned();
        gateway
    }
}

impl TestApp {
    /// A gateway connection identified as `user`, past `ready`, whose socket has a tiny receive
    /// window: once its test stops reading, the server's writes to it soon block. Also returns
    /// the client's own address, to find the server's side of the connection.
    pub async fn slow_gateway(&self, user: &TestUser) -> (Gateway, SocketAddr) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(2048).unwrap();
        let stream = socket.connect(self.addr).await.unwrap();
        let local = stream.local_addr().unwrap();
        let url = format!("ws://{}/api/v1/gateway", self.addr);
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await.unwrap();
        let mut gateway = Gateway { ws, session_id: String::new(), seq: 0 };
        assert_eq!(gateway.next().await["t"], "hello");
        gateway.send(json!({"op": "identify", "d": {"token": user.token}})).await;
        let ready = gateway.next().await;
        gateway.session_id = ready["d"]["session_id"].as_str().unwrap().to_owned();
        (gateway, local)
    }

    /// The server's side of the connection from `client`, as in `/proc/net/tcp`: its TCP state
    /// (1 is ESTABLISHED) and the bytes waiting in its send queue; `None` once it is gone.
    pub fn server_socket(&self, client: SocketAddr) -> Option<(u8, u64)> {
        let hex = |addr: SocketAddr| match addr {
            SocketAddr::V4(v4) => format!("{:08X}:{:04X}", u32::from_le_bytes(v4.ip().octets()), v4.port()),
            SocketAddr::V6(_) => unreachable!("tests listen on IPv4"),
        };
        let (local, remote) = (hex(self.addr), hex(client));
        std::fs::read_to_string("/proc/net/tcp").unwrap().lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let queued = fields[4].split(':').next().map(|tx| u64::from_str_radix(tx, 16).unwrap());
            (fields[1] == local && fields[2] == remote).then(|| (u8::from_str_radix(fields[3], 16).unwrap(), queued.unwrap()))
        })
    }
}

/// Reads the log of a `cromulent` child (JSON on stderr) until it says where it listens; returns
/// that address and the rest of the log.
pub async fn listening_address(
    child: &mut tokio::process::Child,
) -> (String, tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
    loop {
        let line = lines.next_line().await.unwrap().expect("the server logs its address");
        let entry: Value = serde_json::from_str(&line).unwrap_or_default();
        if entry["fields"]["message"] == "listening" {
            return (entry["fields"]["addr"].as_str().unwrap().to_owned(), lines);
        }
    }
}

/// Runs the built `cromulent` binary with `args` and none of the test's environment, so no
/// `CROMULENT_*` variable of the shell that runs the tests changes what it does.
pub async fn run_cromulent(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_cromulent")).args(args).env_clear().kill_on_drop(true).output();
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("the command finishes").unwrap()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A gateway client that remembers the last sequence number it saw.
pub struct Gateway {
    /// The socket.
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// From `ready`.
    pub session_id: String,
    /// Highest `s` seen.
    pub seq: u64,
}

/// What ended a gateway connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with this code.
    Closed(u16),
    /// The stream ended without a close frame.
    Dropped,
}

impl Gateway {
    /// Sends a frame.
    pub async fn send(&mut self, frame: Value) {
        self.ws.send(Message::Text(frame.to_string().into())).await.expect("send frame");
    }

    /// The next text frame, as JSON; panics on close or after [`FRAME_WAIT`].
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(FRAME_WAIT, self.ws.next()).await.expect("frame in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).expect("server frames are JSON");
                    let s = frame["s"].as_u64().expect("every frame has s");
                    if s > 0 {
                        assert_eq!(s, self.seq + 1, "sequence numbers are consecutive: {frame}");
                        self.seq = s;
                    }
                    return frame;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    }

    /// The next frame of type `t`, skipping presence, typing and voice-state noise but nothing else.
    pub async fn expect(&mut self, t: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["t"] == t {
                return frame;
            }
            let noise = ["presence_update", "typing_start", "voice_state_update"].contains(&frame["t"].as_str().unwrap_or(""));
            assert!(noise, "expected {t}, got {frame}");
        }
    }

    /// The next `presence_update` about `user_id`, skipping other presence and typing frames.
    pub async fn expect_presence(&mut self, user_id: &str, status: &str) {
        loop {
            let frame = self.expect("presence_update").await;
            if frame["d"]["user_id"] == user_id {
                assert_eq!(frame["d"]["status"], status, "{frame}");
                return;
            }
        }
    }

    /// Sends an op with a request id and returns the matching `reply` or `error` frame.
    pub async fn request(&mut self, op: &str, d: Value) -> Value {
        let id = format!("r{}", rand::random::<u32>());
        self.send(json!({"op": op, "id": id, "d": d})).await;
        loop {
            let frame = self.next().await;
            if frame["id"] == id.as_str() {
                return frame;
            }
        }
    }

    /// Reads until the connection ends, returning how; frames before the end are skipped.
    pub async fn ended(&mut self) -> Ended {
        loop {
            match tokio::time::timeout(FRAME_WAIT, self.ws.next()).await.expect("connection ends in time") {
                Some(Ok(Message::Close(Some(frame)))) => return Ended::Closed(u16::from(frame.code)),
                Some(Ok(Message::Close(None))) => return Ended::Closed(u16::from(CloseCode::Status)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ended::Dropped,
            }
        }
    }

    /// Asserts no frame of type `t` arrives for a short while.
    pub async fn expect_none(&mut self, t: &str, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(message) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            if let Some(Ok(Message::Text(text))) = message {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                assert_ne!(frame["t"], t, "unexpected {frame}");
                self.seq = frame["s"].as_u64().unwrap().max(self.seq);
            }
        }
    }

    /// Asserts nothing but presence updates arrives for a short while.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(message) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            if let Some(Ok(Message::Text(text))) = message {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                assert!(frame["t"] == "presence_update", "unexpected frame {frame}");
                self.seq = frame["s"].as_u64().unwrap();
            }
        }
    }
}
