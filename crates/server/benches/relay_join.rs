//! What relaying costs a voice join, by path: the time from nothing to a first packet relayed
//! to a peer and back (connect, TLS handshake where there is one, the Allocate challenge and the
//! signed Allocate, CreatePermission, a Send indication and the Data indication it comes back
//! as). Over UDP to the relay's port, and over `turns:` on the HTTPS port the web client shares
//! with the relay; alternating, in one run. Run with `cargo bench --bench relay_join`.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use stun_types::attribute::{Nonce, Realm, Username};
use stun_types::message::{IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageWriteVec, Method};
use stun_types::prelude::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use turn_types::attribute::{Data, RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CREATE_PERMISSION, SEND};

use support::{Server, register_at, start_server};

/// Joins timed per path.
const TRIALS: usize = 100;

/// A client's way to the relay: datagrams, or STUN messages framed on a stream.
enum Path {
    Udp(Arc<UdpSocket>),
    Stream(Box<dyn Stream>),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

impl Path {
    async fn send(&mut self, message: &[u8]) {
        match self {
            Path::Udp(socket) => drop(socket.send(message).await.unwrap()),
            Path::Stream(stream) => stream.write_all(message).await.unwrap(),
        }
    }

    async fn receive(&mut self) -> Vec<u8> {
        match self {
            Path::Udp(socket) => {
                let mut buf = vec![0u8; 2048];
                let len = socket.recv(&mut buf).await.unwrap();
                buf.truncate(len);
                buf
            }
            Path::Stream(stream) => {
                let mut message = vec![0u8; 20];
                stream.read_exact(&mut message).await.unwrap();
                let length = usize::from(u16::from_be_bytes([message[2], message[3]]));
                message.resize(20 + length, 0);
                stream.read_exact(&mut message[20..]).await.unwrap();
                message
            }
        }
    }

    async fn exchange(&mut self, message: &[u8]) -> Vec<u8> {
        self.send(message).await;
        tokio::time::timeout(Duration::from_secs(5), self.receive())
            .await
            .unwrap_or_else(|_| panic!("the relay answers {:?}", Message::from_bytes(message).map(|m| (m.method(), m.class()))))
    }
}

/// Allocates, permits `peer`, sends it a packet and waits for the echo.
async fn join(mut path: Path, username: &str, password: &str, peer: SocketAddr) {
    let mut first = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    first.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
    let challenge = path.exchange(&first.finish()).await;
    let challenge = Message::from_bytes(&challenge).unwrap();
    let realm = challenge.attribute::<Realm>().unwrap().realm().to_owned();
    let nonce = challenge.attribute::<Nonce>().unwrap().nonce().to_owned();
    let key = LongTermKeyCredentials::new(username.to_owned(), password.to_owned(), realm.clone()).into();
    let signed = |method: Method, peer: Option<SocketAddr>| {
        let mut out = Message::builder_request(method, MessageWriteVec::new());
        if method == ALLOCATE {
            out.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
        }
        if let Some(peer) = peer {
            let transaction = out.transaction_id();
            out.add_attribute(&XorPeerAddress::new(peer, transaction)).unwrap();
        }
        out.add_attribute(&Username::new(username).unwrap()).unwrap();
        out.add_attribute(&Realm::new(&realm).unwrap()).unwrap();
        out.add_attribute(&Nonce::new(&nonce).unwrap()).unwrap();
        out.add_message_integrity(&key, IntegrityAlgorithm::Sha1).unwrap();
        out.finish()
    };
    for (method, peer) in [(ALLOCATE, None), (CREATE_PERMISSION, Some(peer))] {
        let answer = path.exchange(&signed(method, peer)).await;
        assert_eq!(Message::from_bytes(&answer).unwrap().class(), MessageClass::Success);
    }
    let mut send = Message::builder_indication(SEND, MessageWriteVec::new());
    let transaction = send.transaction_id();
    send.add_attribute(&XorPeerAddress::new(peer, transaction)).unwrap();
    send.add_attribute(&Data::new(b"hello")).unwrap();
    let echoed = path.exchange(&send.finish()).await;
    let echoed = Message::from_bytes(&echoed).unwrap();
    assert_eq!(echoed.attribute::<Data>().unwrap().data(), b"hello");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let (cert_path, key_path) = (cert.display().to_string(), key.display().to_string());
    let Server { mut child, addr, .. } = start_server(
        dir.path(),
        &[
            ("CROMULENT_TURN_LISTEN", "127.0.0.1:0"),
            ("CROMULENT_TURN_ALLOW_LOOPBACK_PEERS", "true"),
            ("CROMULENT_TURN_USER_QUOTA", "1000"),
            ("CROMULENT_TLS_CERT", &cert_path),
            ("CROMULENT_TLS_KEY", &key_path),
        ],
    )
    .await;
    let pem = certified.cert.pem();
    let http =
        reqwest::Client::builder().tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()]).build().unwrap();
    let base = format!("https://{addr}");
    let token = register_at(&http, &base, "bench").await;
    let ice: Value =
        http.get(format!("{base}/api/v1/voice/ice-servers")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let turn = &ice["ice_servers"][1];
    let port = |n: usize| -> u16 {
        turn["urls"][n].as_str().unwrap().rsplit(':').next().unwrap().split('?').next().unwrap().parse().unwrap()
    };
    let (udp, https) = (SocketAddr::from(([127, 0, 0, 1], port(0))), SocketAddr::from(([127, 0, 0, 1], port(2))));
    assert!(turn["urls"][2].as_str().unwrap().starts_with("turns:"), "{turn}");
    let (username, password) = (turn["username"].as_str().unwrap().to_owned(), turn["credential"].as_str().unwrap().to_owned());

    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((len, from)) = peer.recv_from(&mut buf).await {
            let _ = peer.send_to(&buf[..len], from).await;
        }
    });
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

    let (mut over_udp, mut over_tls) = (Vec::new(), Vec::new());
    // A UDP allocation outlives its client's socket; holding the sockets keeps the next client
    // from being given a port whose allocation still stands (437, as the RFC says).
    let mut held = Vec::new();
    for _ in 0..TRIALS {
        let started = Instant::now();
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        socket.connect(udp).await.unwrap();
        held.push(socket.clone());
        join(Path::Udp(socket), &username, &password, peer_addr).await;
        over_udp.push(started.elapsed().as_secs_f64() * 1000.0);

        let started = Instant::now();
        let stream = TcpStream::connect(https).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let stream = connector.connect("127.0.0.1".try_into().unwrap(), stream).await.unwrap();
        join(Path::Stream(Box::new(stream)), &username, &password, peer_addr).await;
        over_tls.push(started.elapsed().as_secs_f64() * 1000.0);
        // Unauthenticated requests from one address are answered at most 50 times a second.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for times in [&mut over_udp, &mut over_tls] {
        times.sort_by(f64::total_cmp);
    }
    println!(
        "relay join: connect, Allocate (challenge + signed), CreatePermission, one packet to a peer and back; {TRIALS} each"
    );
    for (name, times) in [("UDP to the relay port      ", &over_udp), ("turns: on the HTTPS port   ", &over_tls)] {
        println!("{name} median {:.2} ms, p90 {:.2} ms", percentile(times, 0.5), percentile(times, 0.9));
    }
    println!("ratio of medians (turns: / UDP): {:.2}", percentile(&over_tls, 0.5) / percentile(&over_udp, 0.5));
    child.kill().await.unwrap();
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(run());
}
