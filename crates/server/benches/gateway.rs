//! Gateway fan-out benchmark: starts the release `cromulent` binary, connects N gateway clients
//! to one channel, posts messages and prints delivery throughput, p50/p99 delivery latency, the
//! server's CPU time per delivered event and its memory per idle connection; 1,000 clients
//! both over plain HTTP and over HTTPS (the server's own TLS), to see what TLS costs. Run with
//! `cargo bench --bench gateway`.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use support::{cpu_secs, general_at, register_at, rss_kib, start_server};

/// Client counts to measure, each with the pause between posts (a steady chat rate rather than
/// a burst: 100 messages/s, and 10/s to 5,000 clients) and whether the clients use TLS.
const RUNS: [(usize, Duration, bool); 4] = [
    (100, Duration::from_millis(10), false),
    (1_000, Duration::from_millis(10), false),
    (1_000, Duration::from_millis(10), true),
    (5_000, Duration::from_millis(100), false),
];
/// Messages posted per run.
const MESSAGES: usize = 200;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A self-signed certificate for 127.0.0.1 written to `dir`, and a TLS client trusting it.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, tokio_rustls::TlsConnector) {
    use rustls_pki_types::pem::PemObject;
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from_pem_slice(certified.cert.pem().as_bytes()).unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (cert, key, tokio_rustls::TlsConnector::from(Arc::new(config)))
}

async fn run(clients: usize, post_every: Duration, tls: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, connector) = certificate(dir.path());
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let mut env = vec![("CROMULENT_TLS_CERT", cert.as_str()), ("CROMULENT_TLS_KEY", key.as_str())];
    if !tls {
        env.clear();
    }
    let mut server = start_server(
        dir.path(),
        &[
            ("CROMULENT_TURN_LISTEN", "127.0.0.1:0"),
            ("CROMULENT_GATEWAY_HEARTBEAT_INTERVAL_MS", "600000"),
            ("CROMULENT_GATEWAY_SEND_QUEUE_FRAMES", "4096"),
            ("CROMULENT_GATEWAY_MAX_SESSIONS_PER_USER", "10000"),
            // One poster sends far faster than a person; the benchmark measures fan-out, not the limit.
            ("CROMULENT_CHAT_MESSAGES_PER_10S", "1000000"),
            ("CROMULENT_CHAT_MESSAGE_BURST", "1000000"),
        ]
        .into_iter()
        .chain(env)
        .collect::<Vec<_>>(),
    )
    .await;
    let scheme = if tls { "https" } else { "http" };
    let http = match tls {
        true => reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap()])
            .build()
            .unwrap(),
        false => reqwest::Client::new(),
    };
    let api = |path: &str| format!("{scheme}://{}/api/v1{path}", server.addr);
    let base_url = format!("{scheme}://{}", server.addr);
    let token = register_at(&http, &base_url, "bench").await;
    let general = general_at(&http, &base_url, &token).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib(server.pid);

    let base = Instant::now();
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(clients * MESSAGES)));
    let mut sockets = Vec::with_capacity(clients);
    for _ in 0..clients {
        let stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        let stream = match tls {
            true => Transport::Tls(Box::new(connector.connect("127.0.0.1".try_into().unwrap(), stream).await.unwrap())),
            false => Transport::Plain(stream),
        };
        let url = format!("{}://{}/api/v1/gateway", if tls { "wss" } else { "ws" }, server.addr);
        let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
        ws.next().await.unwrap().unwrap();
        ws.send(Message::Text(json!({"op": "identify", "d": {"token": token}}).to_string().into())).await.unwrap();
        loop {
            let frame = ws.next().await.unwrap().unwrap();
            if frame.to_text().unwrap().contains("\"t\":\"ready\"") {
                break;
            }
        }
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let connected_rss = rss_kib(server.pid);

    let mut readers = Vec::with_capacity(clients);
    for mut ws in sockets {
        let latencies = latencies.clone();
        readers.push(tokio::spawn(async move {
            let mut mine = Vec::with_capacity(MESSAGES);
            while mine.len() < MESSAGES {
                let Some(Ok(Message::Text(text))) = ws.next().await else { break };
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                if frame["t"] == "message_create" {
                    let sent: u64 = frame["d"]["content"].as_str().unwrap().parse().unwrap();
                    mine.push((base.elapsed().as_micros() as u64 - sent) as f64 / 1000.0);
                }
            }
            latencies.lock().await.extend(mine);
        }));
    }
    let (started, cpu_before) = (Instant::now(), cpu_secs(server.pid));
    for _ in 0..MESSAGES {
        let sent = base.elapsed().as_micros().to_string();
        let response = http
            .post(api(&format!("/channels/{general}/messages")))
            .bearer_auth(&token)
            .json(&json!({"content": sent}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        tokio::time::sleep(post_every).await;
    }
    for reader in readers {
        tokio::time::timeout(Duration::from_secs(60), reader).await.expect("every client got every message").unwrap();
    }
    let elapsed = started.elapsed();
    let cpu = cpu_secs(server.pid) - cpu_before;
    let mut latencies = latencies.lock().await.clone();
    assert_eq!(latencies.len(), clients * MESSAGES, "every delivery arrived");
    latencies.sort_by(f64::total_cmp);
    let per_connection = connected_rss.saturating_sub(idle_rss) as f64 / clients as f64;
    println!(
        "{} clients {clients:>5}, post every {:>3} ms | deliveries {:>7} in {:>5.2} s = {:>8.0}/s | latency p50 {:>6.2} ms p99 {:>6.2} ms max {:>6.2} ms | server CPU {:.2} µs per delivery | RSS idle {:>6.1} MiB, connected {:>6.1} MiB, {:>5.1} KiB per connection",
        if tls { "TLS  " } else { "plain" },
        post_every.as_millis(),
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().unwrap(),
        cpu * 1e6 / latencies.len() as f64,
        idle_rss as f64 / 1024.0,
        connected_rss as f64 / 1024.0,
        per_connection,
    );
    server.child.kill().await.unwrap();
}

/// A client connection, plain or TLS.
enum Transport {
    Plain(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
}

impl tokio::io::AsyncRead for Transport {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => std::pin::Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Transport {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => std::pin::Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => std::pin::Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => std::pin::Pin::new(s).poll_shutdown(cx),
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!("gateway fan-out: {MESSAGES} messages posted to N clients of one channel");
    for (clients, post_every, tls) in RUNS {
        runtime.block_on(run(clients, post_every, tls));
    }
}
