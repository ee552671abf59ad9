//! Soak benchmark: N gateway clients for a long while, P of them posting at R messages/s each
//! and K reconnecting at random moments and resuming. Every client checks its own stream: `s`
//! consecutive across reconnects, every posted message exactly once. Prints delivery latency,
//! the server's RSS over time and its CPU time per delivered event. Run with
//! `cargo bench --bench soak`; `SOAK_SECS`, `SOAK_CLIENTS`, `SOAK_POSTERS`, `SOAK_RATE` and
//! `SOAK_RECONNECTERS` change the defaults (600 s, 1,000, 20, 5/s, 100).

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use support::{cpu_secs, general, register, rss_mib, start_server};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Opens a socket and reads `hello`.
async fn open(addr: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/gateway")).await.unwrap();
    ws.next().await.unwrap().unwrap();
    ws
}

/// What one listening client saw.
#[derive(Default)]
struct Seen {
    messages: HashSet<String>,
    duplicates: u64,
    gaps: u64,
    resumes: u64,
    refused_resumes: u64,
    latencies_ms: Vec<f64>,
}

/// One listening client: identifies, reads until `done` and it has every posted message,
/// dropping its connection and resuming at random moments when `reconnects`.
async fn listen(
    addr: String,
    token: String,
    base: Instant,
    reconnects: bool,
    done: Arc<AtomicBool>,
    posted: Arc<AtomicU64>,
) -> Seen {
    let mut seen = Seen::default();
    let mut ws = open(&addr).await;
    ws.send(Message::Text(json!({"op": "identify", "d": {"token": token}}).to_string().into())).await.unwrap();
    let mut session = String::new();
    let mut last = 0u64;
    let mut next_drop = Instant::now() + Duration::from_secs(rand::random_range(5..60));
    loop {
        if done.load(Ordering::Acquire) && seen.messages.len() as u64 >= posted.load(Ordering::Acquire) {
            return seen;
        }
        if reconnects && Instant::now() >= next_drop && !session.is_empty() {
            drop(ws);
            ws = open(&addr).await;
            let resume = json!({"op": "resume", "d": {"token": token, "session_id": session, "seq": last}});
            ws.send(Message::Text(resume.to_string().into())).await.unwrap();
            seen.resumes += 1;
            next_drop = Instant::now() + Duration::from_secs(rand::random_range(5..60));
        }
        let frame = match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Err(_) => continue,
            Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str::<Value>(text.as_str()).unwrap(),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("a listening client lost its connection: {other:?}"),
        };
        let s = frame["s"].as_u64().unwrap_or(0);
        if s > 0 {
            if s != last + 1 && last != 0 {
                seen.gaps += 1;
            }
            last = s;
        }
        match frame["t"].as_str().unwrap_or("") {
            "ready" => session = frame["d"]["session_id"].as_str().unwrap().to_owned(),
            "invalid_session" => {
                seen.refused_resumes += 1;
                return seen;
            }
            "message_create" => {
                let content = frame["d"]["content"].as_str().unwrap();
                let sent: u64 = content.split(':').nth(1).unwrap().parse().unwrap();
                seen.latencies_ms.push((base.elapsed().as_micros() as u64).saturating_sub(sent) as f64 / 1000.0);
                if !seen.messages.insert(content.to_owned()) {
                    seen.duplicates += 1;
                }
            }
            _ => {}
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn soak() {
    let secs = setting("SOAK_SECS", 600);
    let clients = setting("SOAK_CLIENTS", 1_000) as usize;
    let posters = setting("SOAK_POSTERS", 20) as usize;
    let rate = setting("SOAK_RATE", 5);
    let reconnecters = setting("SOAK_RECONNECTERS", 100) as usize;
    println!(
        "soak: {clients} clients for {secs} s, {posters} posting {rate}/s each to one channel, {reconnecters} reconnecting at random"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server(
        dir.path(),
        &[
            ("CROMULENT_TURN_PROVIDER", "none"),
            // Clients here do not heartbeat; everything else keeps its default.
            ("CROMULENT_GATEWAY_HEARTBEAT_INTERVAL_MS", "3600000"),
            // One account holds every listening session, and posters post faster than people.
            ("CROMULENT_GATEWAY_MAX_SESSIONS_PER_USER", "10000"),
            ("CROMULENT_CHAT_MESSAGES_PER_10S", "1000000"),
            ("CROMULENT_CHAT_MESSAGE_BURST", "1000000"),
            ("CROMULENT_AUTH_ATTEMPTS_PER_IP_PER_MINUTE", "100000"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let listener_token = register(&http, &server.addr, "listener").await;
    let mut poster_tokens = Vec::new();
    for n in 0..posters {
        poster_tokens.push(register(&http, &server.addr, &format!("poster{n}")).await);
    }
    let general = general(&http, &server.addr, &listener_token).await;

    let base = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(AtomicU64::new(0));
    let mut listeners = Vec::new();
    for n in 0..clients {
        let task = listen(server.addr.clone(), listener_token.clone(), base, n < reconnecters, done.clone(), posted.clone());
        listeners.push(tokio::spawn(task));
        if n % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (cpu_before, started) = (cpu_secs(server.pid), Instant::now());
    let mut rss = vec![(0u64, rss_mib(server.pid))];
    let mut poster_tasks = Vec::new();
    for (n, token) in poster_tokens.into_iter().enumerate() {
        let (http, url, posted) =
            (http.clone(), format!("http://{}/api/v1/channels/{general}/messages", server.addr), posted.clone());
        poster_tasks.push(tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
            let mut failed = 0u64;
            while started.elapsed() < Duration::from_secs(secs) {
                every.tick().await;
                let content = format!("{n}:{}", base.elapsed().as_micros());
                let response = http.post(&url).bearer_auth(&token).json(&json!({"content": content})).send().await;
                match response {
                    Ok(r) if r.status() == 201 => {
                        posted.fetch_add(1, Ordering::AcqRel);
                    }
                    _ => failed += 1,
                }
            }
            failed
        }));
    }
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        rss.push((started.elapsed().as_secs(), rss_mib(server.pid)));
    }
    let mut failed_posts = 0;
    for task in poster_tasks {
        failed_posts += task.await.unwrap();
    }
    done.store(true, Ordering::Release);
    let posted = posted.load(Ordering::Acquire);
    let mut all = Seen::default();
    let mut short = 0;
    for listener in listeners {
        let seen = tokio::time::timeout(Duration::from_secs(60), listener).await.expect("clients catch up").unwrap();
        short += u64::from(seen.messages.len() as u64 != posted);
        all.duplicates += seen.duplicates;
        all.gaps += seen.gaps;
        all.resumes += seen.resumes;
        all.refused_resumes += seen.refused_resumes;
        all.latencies_ms.extend(seen.latencies_ms);
    }
    let cpu = cpu_secs(server.pid) - cpu_before;
    let deliveries = all.latencies_ms.len();
    all.latencies_ms.sort_by(f64::total_cmp);
    println!(
        "posted {posted} (failed {failed_posts}); deliveries {deliveries}; clients missing messages {short}; duplicates {}; gaps in s {}; resumes {} (refused {})",
        all.duplicates, all.gaps, all.resumes, all.refused_resumes
    );
    println!(
        "latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; server CPU {:.1} s = {:.2} µs per delivered event",
        percentile(&all.latencies_ms, 0.5),
        percentile(&all.latencies_ms, 0.99),
        all.latencies_ms.last().unwrap(),
        cpu,
        cpu * 1e6 / deliveries as f64
    );
    let line: Vec<String> = rss.iter().map(|(at, mib)| format!("{at}s {mib:.1}")).collect();
    println!("RSS MiB: {}", line.join(", "));
    let minute = |from: u64, to: u64| {
        let window: Vec<f64> = rss.iter().filter(|(at, _)| (from..to).contains(at)).map(|(_, m)| *m).collect();
        window.iter().sum::<f64>() / window.len().max(1) as f64
    };
    let (second, last) = (minute(60, 120), minute(secs.saturating_sub(60), secs + 1));
    println!("RSS second minute {second:.1} MiB, last minute {last:.1} MiB: {:+.1} %", (last / second - 1.0) * 100.0);
    server.child.kill().await.unwrap();
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(soak());
}
