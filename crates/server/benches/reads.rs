//! What mentions and read state cost when posting: 1,000 accounts, each with a gateway
//! connection, all members of `general`; one of them posts 200 messages at 100/s, one in ten
//! naming another member. The same load runs against this build and, when
//! `CROMULENT_BENCH_BASELINE` names one, an earlier build without mentions and read state,
//! alternating, a fresh server each round. Prints the server's CPU per posted message (fan-out
//! to 1,000 included), fan-out latency p50/p99, and CPU per identify (whose `ready` now carries
//! read states). Run with `CROMULENT_BENCH_BASELINE=path/to/old/cromulent cargo bench --bench reads`.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use support::{cpu_secs, general, start_binary};

const MEMBERS: usize = 1_000;
const MESSAGES: usize = 200;
const POST_EVERY: Duration = Duration::from_millis(10);
const ROUNDS: usize = 2;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// One round's figures.
struct Figures {
    cpu_per_message_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_per_identify_ms: f64,
}

async fn round(binary: &Path) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_binary(
        binary,
        dir.path(),
        &[
            ("CROMULENT_TURN_LISTEN", "127.0.0.1:0"),
            ("CROMULENT_GATEWAY_HEARTBEAT_INTERVAL_MS", "600000"),
            ("CROMULENT_GATEWAY_SEND_QUEUE_FRAMES", "4096"),
            ("CROMULENT_CHAT_MESSAGES_PER_10S", "1000000"),
            ("CROMULENT_CHAT_MESSAGE_BURST", "1000000"),
            ("CROMULENT_AUTH_ATTEMPTS_PER_IP_PER_MINUTE", "1000000"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let addr = server.addr.clone();
    // Accounts, a few registrations at a time (each hashes a password).
    let tokens = Arc::new(Mutex::new(vec![String::new(); MEMBERS]));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (http, addr, tokens, next) = (http.clone(), addr.clone(), tokens.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= MEMBERS {
                    break;
                }
                let auth: Value = http
                    .post(format!("http://{addr}/api/v1/auth/register"))
                    .json(&json!({"username": format!("member{i}"), "password": "benchmark password"}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                tokens.lock().await[i] = auth["token"].as_str().expect("registered").to_owned();
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let tokens = tokens.lock().await.clone();
    let general = general(&http, &addr, &tokens[0]).await;

    let cpu_before_identify = cpu_secs(server.pid);
    let mut sockets = Vec::with_capacity(MEMBERS);
    for token in &tokens {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/gateway")).await.unwrap();
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
    let cpu_per_identify_ms = (cpu_secs(server.pid) - cpu_before_identify) * 1e3 / MEMBERS as f64;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let base = Instant::now();
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(MEMBERS * MESSAGES)));
    let mut readers = Vec::with_capacity(MEMBERS);
    for mut ws in sockets {
        let latencies = latencies.clone();
        readers.push(tokio::spawn(async move {
            let mut mine = Vec::with_capacity(MESSAGES);
            while mine.len() < MESSAGES {
                let Some(Ok(Message::Text(text))) = ws.next().await else { break };
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                if frame["t"] == "message_create" {
                    let sent: u64 = frame["d"]["content"].as_str().unwrap().split(' ').next().unwrap().parse().unwrap();
                    mine.push((base.elapsed().as_micros() as u64 - sent) as f64 / 1000.0);
                }
            }
            latencies.lock().await.extend(mine);
        }));
    }
    let cpu_before = cpu_secs(server.pid);
    for i in 0..MESSAGES {
        let sent = base.elapsed().as_micros().to_string();
        // One in ten names a member: the case that costs a lookup and a row.
        let content = if i % 10 == 0 { format!("{sent} hey @member{}", (i * 7) % MEMBERS) } else { sent };
        let response = http
            .post(format!("http://{addr}/api/v1/channels/{general}/messages"))
            .bearer_auth(&tokens[0])
            .json(&json!({"content": content}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        tokio::time::sleep(POST_EVERY).await;
    }
    for reader in readers {
        tokio::time::timeout(Duration::from_secs(60), reader).await.expect("every client got every message").unwrap();
    }
    let cpu = cpu_secs(server.pid) - cpu_before;
    let mut latencies = latencies.lock().await.clone();
    latencies.sort_by(f64::total_cmp);
    server.child.kill().await.unwrap();
    Figures {
        cpu_per_message_ms: cpu * 1e3 / MESSAGES as f64,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        cpu_per_identify_ms,
    }
}

#[tokio::main]
async fn main() {
    let current = PathBuf::from(env!("CARGO_BIN_EXE_cromulent"));
    let baseline = std::env::var_os("CROMULENT_BENCH_BASELINE").map(PathBuf::from);
    let mut builds = vec![("this build", current)];
    if let Some(baseline) = baseline {
        builds.push(("baseline", baseline));
    }
    for round_number in 1..=ROUNDS {
        for (name, binary) in &builds {
            let f = round(binary).await;
            println!(
                "round {round_number} {name:<10} | {MEMBERS} members, {MESSAGES} messages | server CPU {:>6.3} ms per message | fan-out p50 {:>6.2} ms p99 {:>6.2} ms | CPU {:>5.3} ms per identify",
                f.cpu_per_message_ms, f.p50_ms, f.p99_ms, f.cpu_per_identify_ms
            );
        }
    }
}
