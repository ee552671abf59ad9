//! The built-in relay, run as the real binary, against a crowd of strangers: 4,000 TCP
//! connections from 125 loopback addresses (the most each address may hold) that say one Binding
//! and then start a 4 KiB message they never finish. While they are held, a client from another
//! address allocates over TCP and over TLS at once; after they close, the server's memory comes
//! back to within 20 MB of where it started.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use stun_types::attribute::{ErrorCode, Nonce, Realm, Username};
use stun_types::message::{BINDING, IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageWriteVec};
use stun_types::prelude::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use turn_types::attribute::RequestedTransport;
use turn_types::message::ALLOCATE;

const SOURCES: u8 = 125;
const PER_SOURCE: usize = 32;

async fn connect_from(source: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(to).await.unwrap()
}

async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> Vec<u8> {
    let mut message = vec![0u8; 20];
    stream.read_exact(&mut message).await.unwrap();
    let length = usize::from(u16::from_be_bytes([message[2], message[3]]));
    message.resize(20 + length, 0);
    stream.read_exact(&mut message[20..]).await.unwrap();
    message
}

/// Allocates over `stream` as a browser does: the 401 challenge, then a signed Allocate.
async fn allocate<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, username: &str, password: &str) {
    let mut first = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    first.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
    stream.write_all(&first.finish()).await.unwrap();
    let challenge = read_message(&mut stream).await;
    let challenge = Message::from_bytes(&challenge).unwrap();
    let realm = challenge.attribute::<Realm>().unwrap().realm().to_owned();
    let nonce = challenge.attribute::<Nonce>().unwrap().nonce().to_owned();
    let mut signed = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    signed.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
    signed.add_attribute(&Username::new(username).unwrap()).unwrap();
    signed.add_attribute(&Realm::new(&realm).unwrap()).unwrap();
    signed.add_attribute(&Nonce::new(&nonce).unwrap()).unwrap();
    let key = LongTermKeyCredentials::new(username.to_owned(), password.to_owned(), realm);
    signed.add_message_integrity(&key.into(), IntegrityAlgorithm::Sha1).unwrap();
    stream.write_all(&signed.finish()).await.unwrap();
    let answer = read_message(&mut stream).await;
    let answer = Message::from_bytes(&answer).unwrap();
    assert_eq!(answer.class(), MessageClass::Success, "{:?}", answer.attribute::<ErrorCode>().map(|e| e.code()));
}

fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024
}

#[tokio::test]
async fn a_crowd_of_strangers_neither_locks_others_out_nor_keeps_the_memory() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cromulent"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "info"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("CROMULENT_LOG_FORMAT", "json")
        .env("CROMULENT_TURN_LISTEN", "127.0.0.1:0")
        .env("CROMULENT_TURN_TLS_LISTEN", "127.0.0.1:0")
        .env("CROMULENT_TURN_TLS_CERT", &cert)
        .env("CROMULENT_TURN_TLS_KEY", &key)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let (addr, mut lines) = crate::helpers::listening_address(&mut child).await;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let http = reqwest::Client::new();
    let auth: Value = http
        .post(format!("http://{addr}/api/v1/auth/register"))
        .json(&json!({"username": "amy", "password": "a long enough password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ice: Value = http
        .get(format!("http://{addr}/api/v1/voice/ice-servers"))
        .bearer_auth(auth["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let turn = &ice["ice_servers"][1];
    let port_of =
        |url: &Value| -> u16 { url.as_str().unwrap().rsplit(':').next().unwrap().split('?').next().unwrap().parse().unwrap() };
    let (tcp, tls) = (
        SocketAddr::from(([127, 0, 0, 1], port_of(&turn["urls"][1]))),
        SocketAddr::from(([127, 0, 0, 1], port_of(&turn["urls"][2]))),
    );
    let (username, password) = (turn["username"].as_str().unwrap(), turn["credential"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_mib(pid);

    let mut binding = Message::builder_request(BINDING, MessageWriteVec::new());
    binding.add_fingerprint().unwrap();
    let binding = binding.finish();
    // A Binding request's header announcing 4,076 bytes of attributes, and most of them.
    let mut partial = vec![0x00, 0x01, 0x0F, 0xEC, 0x21, 0x12, 0xA4, 0x42];
    partial.extend_from_slice(&[7; 12]);
    partial.extend_from_slice(&[0; 4000]);
    let mut strangers = Vec::new();
    for source in 0..SOURCES {
        for _ in 0..PER_SOURCE {
            let mut stream = connect_from([127, 0, 2, source + 1], tcp).await;
            stream.write_all(&binding).await.unwrap();
            read_message(&mut stream).await;
            stream.write_all(&partial).await.unwrap();
            strangers.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = rss_mib(pid);
    assert!(held >= idle + 8, "the strangers' partial messages are held: {idle} MiB idle, {held} MiB with them");

    let within = Duration::from_secs(1);
    let stream = connect_from([127, 0, 0, 2], tcp).await;
    tokio::time::timeout(within, allocate(stream, username, password)).await.expect("a TCP allocation within a second");
    let connector = tokio_rustls::TlsConnector::from(crate::pki::client_config(&certified.cert.pem()));
    let tls_allocation = async {
        let stream = connect_from([127, 0, 0, 2], tls).await;
        let stream = connector.connect("localhost".try_into().unwrap(), stream).await.unwrap();
        allocate(stream, username, password).await;
    };
    tokio::time::timeout(within, tls_allocation).await.expect("a TLS allocation within a second");

    drop(strangers);
    let mut after = rss_mib(pid);
    for _ in 0..40 {
        if after <= idle + 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = rss_mib(pid);
    }
    assert!(after <= idle + 20, "RSS {idle} MiB idle, {held} MiB with the strangers, {after} MiB 10 s after they closed");
}
