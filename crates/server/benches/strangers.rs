//! The relay against strangers over TCP: the server's RSS idle, while 4,000 connections that
//! have not authenticated each hold a partial 4 KiB message (from 125 loopback addresses, 32
//! each, the most one address may hold), and after they close; and how long a legitimate client
//! from another address takes to allocate over TCP while one source holds its maximum. Run with
//! `cargo bench --bench strangers`.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use stun_types::attribute::{Nonce, Realm, Username};
use stun_types::message::{
    BINDING, IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageIntegrityCredentials, MessageWriteVec,
};
use stun_types::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use turn_types::attribute::RequestedTransport;
use turn_types::message::ALLOCATE;

use support::{Server, register, rss_mib, start_server};

const SOURCES: u8 = 125;
const PER_SOURCE: usize = 32;

async fn connect_from(source: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(to).await.unwrap()
}

fn binding() -> Vec<u8> {
    let mut out = Message::builder_request(BINDING, MessageWriteVec::new());
    out.add_fingerprint().unwrap();
    out.finish()
}

/// Reads one STUN message from a stream.
async fn read_message(stream: &mut TcpStream) -> Vec<u8> {
    let mut header = [0u8; 20];
    stream.read_exact(&mut header).await.unwrap();
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[2], header[3]]))];
    stream.read_exact(&mut body).await.unwrap();
    [header.to_vec(), body].concat()
}

/// Allocates over TCP from `source` with a REST credential: the 401 challenge, then a signed
/// Allocate. Returns how long it took.
async fn allocate(relay: SocketAddr, source: [u8; 4], username: &str, password: &str) -> Duration {
    let started = Instant::now();
    let mut stream = connect_from(source, relay).await;
    let mut out = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    out.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
    out.add_fingerprint().unwrap();
    stream.write_all(&out.finish()).await.unwrap();
    let challenge = read_message(&mut stream).await;
    let challenge = Message::from_bytes(&challenge).unwrap();
    let realm = challenge.attribute::<Realm>().unwrap().realm().to_owned();
    let nonce = challenge.attribute::<Nonce>().unwrap().nonce().to_owned();
    let key: MessageIntegrityCredentials = LongTermKeyCredentials::new(username.into(), password.into(), realm.clone()).into();
    let mut out = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    out.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
    out.add_attribute(&Username::new(username).unwrap()).unwrap();
    out.add_attribute(&Realm::new(&realm).unwrap()).unwrap();
    out.add_attribute(&Nonce::new(&nonce).unwrap()).unwrap();
    out.add_message_integrity(&key, IntegrityAlgorithm::Sha1).unwrap();
    out.add_fingerprint().unwrap();
    stream.write_all(&out.finish()).await.unwrap();
    let answer = read_message(&mut stream).await;
    assert_eq!(Message::from_bytes(&answer).unwrap().class(), MessageClass::Success, "the allocation succeeds");
    started.elapsed()
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let Server { mut child, addr, pid } = start_server(dir.path(), &[("CROMULENT_TURN_LISTEN", "127.0.0.1:0")]).await;
    let http = reqwest::Client::new();
    let token = register(&http, &addr, "amy").await;
    let ice: Value = http
        .get(format!("http://{addr}/api/v1/voice/ice-servers"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let turn = &ice["ice_servers"][1];
    let port: u16 = turn["urls"][0].as_str().unwrap().rsplit(':').next().unwrap().split('?').next().unwrap().parse().unwrap();
    let (username, password) = (turn["username"].as_str().unwrap(), turn["credential"].as_str().unwrap());
    let relay = SocketAddr::from(([127, 0, 0, 1], port));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_mib(pid);
    let quiet = allocate(relay, [127, 0, 1, 1], username, password).await;

    // Strangers: each says a Binding (so the 5 s first-message deadline does not close it) and
    // then starts a 4 KiB message it never finishes.
    let mut partial = vec![0x00, 0x01, 0x0F, 0xEC, 0x21, 0x12, 0xA4, 0x42];
    partial.extend_from_slice(&[7; 12]);
    partial.extend_from_slice(&vec![0u8; 4000]);
    let mut strangers = Vec::new();
    for source in 0..SOURCES {
        for _ in 0..PER_SOURCE {
            let mut stream = connect_from([127, 0, 2, source + 1], relay).await;
            stream.write_all(&binding()).await.unwrap();
            read_message(&mut stream).await;
            stream.write_all(&partial).await.unwrap();
            strangers.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = rss_mib(pid);
    let busy = allocate(relay, [127, 0, 1, 2], username, password).await;
    drop(strangers);
    // The server looks at its allocator every 2 s and gives a burst's freed memory back.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = rss_mib(pid);
    println!(
        "RSS idle {idle:.1} MiB, with {} strangers holding partial 4 KiB messages {held:.1} MiB, after they closed {after:.1} MiB",
        usize::from(SOURCES) * PER_SOURCE
    );
    println!(
        "TCP allocation from another address: {:.1} ms on a quiet relay, {:.1} ms while every stranger source holds its maximum",
        quiet.as_secs_f64() * 1000.0,
        busy.as_secs_f64() * 1000.0
    );
    child.kill().await.unwrap();
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(run());
}
