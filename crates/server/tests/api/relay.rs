//! The built-in STUN/TURN relay against independent peers from Debian's coturn package:
//! `turnutils_uclient` allocates and relays over UDP and TCP with credentials from
//! `GET /voice/ice-servers`, and gets the refusals the relay promises; `turnutils_stunclient`
//! gets its mapped address; aioice (Debian's python3-aioice), a TURN client from another code
//! base, relays too. Peers that must be refused are only ever named in control messages.

use std::process::Stdio;
use std::time::Duration;

use cromulent::config::TurnProvider;
use cromulent_turn::credential::mint;
use reqwest::{Method, StatusCode};
use tokio::process::{Child, Command};

use crate::helpers::{TestApp, TestUser};

pub const SECRET: &str = "relay-test-secret";

/// `turnutils_peer`, a UDP echo server on loopback.
pub struct EchoPeer {
    _child: Child,
    pub port: u16,
}

pub async fn start_echo_peer() -> EchoPeer {
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("turnutils_peer")
        .args(["-L", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("these tests need Debian's coturn package (turnutils_peer); scripts/test installs it");
    tokio::time::sleep(Duration::from_millis(200)).await;
    EchoPeer { _child: child, port }
}

/// A server running the built-in relay on loopback, reaching loopback peers (the echo peer).
pub async fn relay_app(tweak: impl FnOnce(&mut cromulent::config::Config)) -> TestApp {
    TestApp::spawn_with(|c| {
        c.turn.provider = TurnProvider::Builtin;
        c.turn.secret = SECRET.into();
        c.turn.allow_loopback_peers = true;
        tweak(c);
    })
    .await
}

/// The relay's port and the credential the API issues to `user`.
pub async fn issued(app: &TestApp, user: &TestUser) -> (u16, String, String) {
    let (status, body) = app.call(Method::GET, "/voice/ice-servers", Some(&user.token), None).await;
    assert!(status.is_success(), "{body}");
    let turn = &body["ice_servers"][1];
    let url = turn["urls"][0].as_str().unwrap();
    let port = url.trim_start_matches("turn:127.0.0.1:").split('?').next().unwrap().parse().unwrap();
    (port, turn["username"].as_str().unwrap().to_owned(), turn["credential"].as_str().unwrap().to_owned())
}

/// Runs `turnutils_uclient` against the relay; returns whether it exited 0 and what it printed.
async fn uclient(port: u16, peer: &str, peer_port: u16, extra: &[&str], username: &str, password: &str) -> (bool, String) {
    uclient_to("127.0.0.1", port, peer, peer_port, extra, username, password).await
}

/// [`uclient`] against the relay at `server`.
pub async fn uclient_to(
    server: &str,
    port: u16,
    peer: &str,
    peer_port: u16,
    extra: &[&str],
    username: &str,
    password: &str,
) -> (bool, String) {
    let run = Command::new("turnutils_uclient")
        .args(["-p", &port.to_string(), "-e", peer, "-r", &peer_port.to_string(), "-X", "-c"])
        .args(extra)
        .args(["-u", username, "-w", password, server])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), run).await.expect("uclient finishes").unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

/// A self-signed certificate for `localhost` and its key, as PEM files in `dir`.
fn self_signed_certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn uclient_relays_over_udp_and_tcp_with_credentials_from_the_api() {
    let peer = start_echo_peer().await;
    let app = relay_app(|_| {}).await;
    let amy = app.register("amy").await;
    let (port, username, password) = issued(&app, &amy).await;
    assert!(username.ends_with(&format!(":{}", amy.id)), "{username}");
    for transport in [&["-n", "20"][..], &["-t", "-n", "20"][..]] {
        let (ok, text) = uclient(port, "127.0.0.1", peer.port, transport, &username, &password).await;
        assert!(ok && text.contains("tot_recv_msgs=20") && text.contains("Total lost packets 0"), "{transport:?}: {text}");
    }
}

#[tokio::test]
async fn one_relay_on_every_address_serves_ipv4_and_ipv6_clients() {
    let peer = start_echo_peer().await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed_certificate(dir.path());
    let app = relay_app(|c| {
        c.turn.listen = "0.0.0.0:0".parse().unwrap();
        c.turn.tls_listen = "0.0.0.0:0".parse().unwrap();
        c.turn.tls_cert = cert;
        c.turn.tls_key = key;
    })
    .await;
    let amy = app.register("amy").await;
    let (port, username, password) = issued(&app, &amy).await;
    let tls_port = app.relay_ports.unwrap().tls.unwrap();
    // A client over IPv6 gets an IPv4 relayed address by default, so it reaches the IPv4 peer.
    for server in ["127.0.0.1", "::1"] {
        for (port, transport) in
            [(port, &["-n", "10"][..]), (port, &["-t", "-n", "10"][..]), (tls_port, &["-t", "-S", "-n", "10"][..])]
        {
            let (ok, text) = uclient_to(server, port, "127.0.0.1", peer.port, transport, &username, &password).await;
            assert!(
                ok && text.contains("tot_recv_msgs=10") && text.contains("Total lost packets 0"),
                "{server} {transport:?}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn aioice_a_turn_client_from_another_code_base_relays_over_udp_and_tcp() {
    let peer = start_echo_peer().await;
    let app = relay_app(|_| {}).await;
    let amy = app.register("amy").await;
    let (port, username, password) = issued(&app, &amy).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/peers/aioice_turn.py");
    for transport in ["udp", "tcp"] {
        let run = Command::new("/usr/bin/python3")
            .args([
                script,
                "127.0.0.1",
                &port.to_string(),
                &username,
                &password,
                "127.0.0.1",
                &peer.port.to_string(),
                transport,
                "10",
            ])
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(30), run).await.expect("aioice finishes").unwrap();
        let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "these tests need Debian's python3-aioice (scripts/test installs it): {text}");
        let result: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap_or_else(|_| panic!("{text}"));
        assert_eq!(result["echoed"], 10, "{transport}: {text}");
        assert!(result["relayed"].as_str().unwrap().starts_with("127.0.0.1:"), "{transport}: {text}");
    }
}

#[tokio::test]
async fn stunclient_gets_its_own_address_back() {
    let app = relay_app(|_| {}).await;
    let amy = app.register("amy").await;
    let (port, _, _) = issued(&app, &amy).await;
    let probe = Command::new("turnutils_stunclient").args(["-p", &port.to_string(), "127.0.0.1"]).kill_on_drop(true).output();
    let output = tokio::time::timeout(Duration::from_secs(10), probe).await.expect("stunclient answers").unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let mapped = text.lines().find_map(|l| l.split("UDP reflexive addr: ").nth(1)).unwrap_or_else(|| panic!("{text}"));
    let mapped: std::net::SocketAddr = mapped.trim().parse().unwrap();
    assert_eq!(mapped.ip().to_string(), "127.0.0.1");
    assert_ne!(mapped.port(), 0);
    assert_ne!(mapped.port(), port, "the client's port, not the server's");
}

#[tokio::test]
async fn wrong_expired_and_unknown_credentials_are_refused() {
    let peer = start_echo_peer().await;
    let app = relay_app(|_| {}).await;
    let amy = app.register("amy").await;
    let (port, username, password) = issued(&app, &amy).await;
    let wrong = mint(b"not-the-secret", &amy.id, now() + 600);
    let expired = mint(SECRET.as_bytes(), &amy.id, now() - 10);
    for (what, user, pass) in [
        ("wrong password", username.as_str(), wrong.password.as_str()),
        ("expired username", &expired.username, &expired.password),
        ("unknown user", "mallory", "guess"),
        ("right username, another's password", &username, &mint(SECRET.as_bytes(), "someone", now() + 600).password),
    ] {
        let (ok, text) = uclient(port, "127.0.0.1", peer.port, &["-n", "5"], user, pass).await;
        assert!(!ok && text.contains("Cannot complete Allocation"), "{what}: {text}");
    }
    let (ok, text) = uclient(port, "127.0.0.1", peer.port, &["-n", "5"], &username, &password).await;
    assert!(ok, "the issued credential still works: {text}");
}

#[tokio::test]
async fn internal_peers_get_403_unless_allowed() {
    let app = relay_app(|c| {
        c.turn.allowed_peer_ips = vec!["10.99.0.0/16".parse().unwrap()];
        // A refused client exits without releasing its allocations.
        c.turn.user_quota = 100;
    })
    .await;
    let amy = app.register("amy").await;
    let (port, username, password) = issued(&app, &amy).await;
    // -n 0: the client binds a channel to the peer and sends it nothing, so no packet ever
    // leaves loopback even if the relay were to wrongly accept.
    for refused in ["169.254.169.254", "10.1.2.3", "192.168.1.1", "172.17.0.1", "100.64.0.1", "224.0.0.1"] {
        let (ok, text) = uclient(port, refused, 9, &["-n", "0"], &username, &password).await;
        assert!(!ok && text.contains("error 403"), "{refused}: {text}");
    }
    let (ok, text) = uclient(port, "10.99.1.2", 9, &["-n", "0"], &username, &password).await;
    assert!(ok && !text.contains("error 403"), "an allowed range is reachable: {text}");
}

/// Allocates over UDP as a browser does (401 challenge, then a signed retry); the answer's
/// error code, or `None` for success.
async fn allocate(port: u16, username: &str, password: &str) -> Option<u16> {
    use stun_types::attribute::{ErrorCode, Nonce, Realm, Username};
    use stun_types::message::{IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageWriteVec};
    use stun_types::prelude::*;
    use turn_types::attribute::RequestedTransport;
    use turn_types::message::ALLOCATE;

    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(("127.0.0.1", port)).await.unwrap();
    let mut buf = vec![0u8; 2048];
    let mut exchange = async |request: Vec<u8>| -> Vec<u8> {
        socket.send(&request).await.unwrap();
        let len = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf)).await.expect("the relay answers").unwrap();
        buf[..len].to_vec()
    };
    let mut first = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    first.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
    let challenge = exchange(first.finish()).await;
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
    let answer = exchange(signed.finish()).await;
    let answer = Message::from_bytes(&answer).unwrap();
    match answer.class() {
        MessageClass::Success => None,
        _ => Some(answer.attribute::<ErrorCode>().unwrap().code()),
    }
}

#[tokio::test]
async fn the_eleventh_allocation_of_one_user_gets_486_and_uclient_sees_it() {
    let peer = start_echo_peer().await;
    let app = relay_app(|_| {}).await;
    let amy = app.register("amy").await;
    let (port, username, password) = issued(&app, &amy).await;
    for n in 1..=10 {
        assert_eq!(allocate(port, &username, &password).await, None, "allocation {n}");
    }
    assert_eq!(allocate(port, &username, &password).await, Some(486), "the eleventh");
    let (ok, text) = uclient(port, "127.0.0.1", peer.port, &["-n", "2"], &username, &password).await;
    assert!(!ok && text.contains("error 486"), "uclient is refused too: {text}");
    let ben = app.register("ben").await;
    let (_, ben_user, ben_password) = issued(&app, &ben).await;
    let (ok, text) = uclient(port, "127.0.0.1", peer.port, &["-n", "2"], &ben_user, &ben_password).await;
    assert!(ok, "the quota is per user: {text}");
}

#[tokio::test]
async fn uclient_relays_over_tls_when_a_certificate_is_configured() {
    let peer = start_echo_peer().await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed_certificate(dir.path());
    let app = relay_app(|c| {
        c.turn.tls_cert = cert;
        c.turn.tls_key = key;
        c.turn.tls_listen = "127.0.0.1:0".parse().unwrap();
    })
    .await;
    let amy = app.register("amy").await;
    let (status, body) = app.call(Method::GET, "/voice/ice-servers", Some(&amy.token), None).await;
    assert!(status.is_success());
    let tls_port = app.relay_ports.unwrap().tls.unwrap();
    assert_eq!(body["ice_servers"][1]["urls"][2], format!("turns:127.0.0.1:{tls_port}?transport=tcp"));
    let (_, username, password) = issued(&app, &amy).await;
    let (ok, text) = uclient(tls_port, "127.0.0.1", peer.port, &["-t", "-S", "-n", "20"], &username, &password).await;
    assert!(ok && text.contains("tot_recv_msgs=20") && text.contains("Total lost packets 0"), "{text}");
}

#[tokio::test]
async fn a_dual_allocation_relays_to_an_ipv4_and_an_ipv6_peer_at_once() {
    use stun_types::attribute::{Nonce, Realm, Username};
    use stun_types::message::{IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageWriteVec};
    use stun_types::prelude::*;
    use turn_types::attribute::{AdditionalAddressFamily, Data, RequestedTransport, XorPeerAddress, XorRelayedAddress};
    use turn_types::message::{ALLOCATE, CREATE_PERMISSION, SEND};

    let app = relay_app(|c| c.turn.listen = "0.0.0.0:0".parse().unwrap()).await;
    let amy = app.register("amy").await;
    let (port, username, password) = issued(&app, &amy).await;
    // Two peers on loopback, one of each family, that echo what they get.
    let mut peers = Vec::new();
    for bind in ["127.0.0.1:0", "[::1]:0"] {
        let peer = tokio::net::UdpSocket::bind(bind).await.unwrap();
        peers.push(peer.local_addr().unwrap());
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((len, from)) = peer.recv_from(&mut buf).await {
                let _ = peer.send_to(&buf[..len], from).await;
            }
        });
    }
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(("127.0.0.1", port)).await.unwrap();
    let mut buf = vec![0u8; 2048];
    let mut receive = async || -> Vec<u8> {
        let len = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf)).await.expect("the relay answers").unwrap();
        buf[..len].to_vec()
    };
    let dual = AdditionalAddressFamily::new(stun_types::AddressFamily::IPV6);
    let mut first = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    first.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
    first.add_attribute(&dual).unwrap();
    socket.send(&first.finish()).await.unwrap();
    let challenge = receive().await;
    let challenge = Message::from_bytes(&challenge).unwrap();
    let realm = challenge.attribute::<Realm>().unwrap().realm().to_owned();
    let nonce = challenge.attribute::<Nonce>().unwrap().nonce().to_owned();
    let key = LongTermKeyCredentials::new(username.clone(), password.clone(), realm.clone()).into();
    let signed = |mut out: stun_types::message::MessageWriteVec| {
        out.add_attribute(&Username::new(&username).unwrap()).unwrap();
        out.add_attribute(&Realm::new(&realm).unwrap()).unwrap();
        out.add_attribute(&Nonce::new(&nonce).unwrap()).unwrap();
        out.add_message_integrity(&key, IntegrityAlgorithm::Sha1).unwrap();
        out.finish()
    };
    let mut allocate = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    allocate.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
    allocate.add_attribute(&dual).unwrap();
    socket.send(&signed(allocate)).await.unwrap();
    let answer = receive().await;
    let answer = Message::from_bytes(&answer).unwrap();
    assert_eq!(answer.class(), MessageClass::Success);
    let relays: Vec<std::net::SocketAddr> =
        (0..).map_while(|n| answer.nth_attribute::<XorRelayedAddress>(n).ok()).map(|a| a.addr(answer.transaction_id())).collect();
    assert!(relays.len() == 2 && relays[0].is_ipv4() && relays[1].is_ipv6(), "{relays:?}");

    let mut permission = Message::builder_request(CREATE_PERMISSION, MessageWriteVec::new());
    let transaction = permission.transaction_id();
    for peer in &peers {
        permission.add_attribute(&XorPeerAddress::new(*peer, transaction)).unwrap();
    }
    socket.send(&signed(permission)).await.unwrap();
    assert_eq!(Message::from_bytes(&receive().await).unwrap().class(), MessageClass::Success);
    for (n, peer) in peers.iter().enumerate() {
        let mut send = Message::builder_indication(SEND, MessageWriteVec::new());
        let transaction = send.transaction_id();
        send.add_attribute(&XorPeerAddress::new(*peer, transaction)).unwrap();
        send.add_attribute(&Data::new(&[n as u8; 4])).unwrap();
        socket.send(&send.finish()).await.unwrap();
        let echoed = receive().await;
        let echoed = Message::from_bytes(&echoed).unwrap();
        assert_eq!(echoed.attribute::<XorPeerAddress>().unwrap().addr(echoed.transaction_id()), *peer);
        assert_eq!(echoed.attribute::<Data>().unwrap().data(), [n as u8; 4]);
    }
}

#[tokio::test]
async fn a_banned_account_loses_its_allocations_and_its_credentials_stop_working() {
    let app = relay_app(|_| {}).await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let (port, username, password) = issued(&app, &ben).await;
    assert_eq!(allocate(port, &username, &password).await, None);
    let ban = serde_json::json!({"disabled": true});
    let (status, _) = app.call(Method::PATCH, &format!("/admin/users/{}", ben.id), Some(&amy.token), Some(ban)).await;
    assert!(status.is_success());
    assert_eq!(allocate(port, &username, &password).await, Some(403), "credentials minted before the ban are refused");
    let unban = serde_json::json!({"disabled": false});
    let (status, _) = app.call(Method::PATCH, &format!("/admin/users/{}", ben.id), Some(&amy.token), Some(unban)).await;
    assert!(status.is_success());
    assert_eq!(allocate(port, &username, &password).await, None, "enabled again, they work");
}

#[tokio::test]
async fn with_forced_relay_a_server_muted_users_audio_goes_nowhere() {
    use stun_types::attribute::{Nonce, Realm, Username};
    use stun_types::message::{IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageWriteVec};
    use stun_types::prelude::*;
    use turn_types::attribute::{Data, RequestedTransport, XorPeerAddress};
    use turn_types::message::{ALLOCATE, CREATE_PERMISSION, SEND};

    let app = relay_app(|c| c.voice.force_relay = true).await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let (port, username, password) = issued(&app, &ben).await;
    let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.connect(("127.0.0.1", port)).await.unwrap();
    let mut buf = vec![0u8; 2048];
    // Allocate and permit the peer, as a browser does.
    let mut first = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    first.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
    socket.send(&first.finish()).await.unwrap();
    let len = socket.recv(&mut buf).await.unwrap();
    let challenge = Message::from_bytes(&buf[..len]).unwrap();
    let realm = challenge.attribute::<Realm>().unwrap().realm().to_owned();
    let nonce = challenge.attribute::<Nonce>().unwrap().nonce().to_owned();
    let key = LongTermKeyCredentials::new(username.clone(), password.clone(), realm.clone()).into();
    for method in [ALLOCATE, CREATE_PERMISSION] {
        let mut out = Message::builder_request(method, MessageWriteVec::new());
        if method == ALLOCATE {
            out.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
        } else {
            let transaction = out.transaction_id();
            out.add_attribute(&XorPeerAddress::new(peer_addr, transaction)).unwrap();
        }
        out.add_attribute(&Username::new(&username).unwrap()).unwrap();
        out.add_attribute(&Realm::new(&realm).unwrap()).unwrap();
        out.add_attribute(&Nonce::new(&nonce).unwrap()).unwrap();
        out.add_message_integrity(&key, IntegrityAlgorithm::Sha1).unwrap();
        socket.send(&out.finish()).await.unwrap();
        let len = socket.recv(&mut buf).await.unwrap();
        assert_eq!(Message::from_bytes(&buf[..len]).unwrap().class(), stun_types::message::MessageClass::Success);
    }
    let send = |payload: &[u8]| {
        let mut out = Message::builder_indication(SEND, MessageWriteVec::new());
        let transaction = out.transaction_id();
        out.add_attribute(&XorPeerAddress::new(peer_addr, transaction)).unwrap();
        out.add_attribute(&Data::new(payload)).unwrap();
        out.finish()
    };
    let mut rtp = vec![0x80, 111];
    rtp.extend_from_slice(&[7; 40]);
    let dtls = [22u8, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let arrives = async |peer: &tokio::net::UdpSocket, payload: &[u8]| -> bool {
        let mut got = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(300), peer.recv_from(&mut got)).await {
            Ok(Ok((len, _))) => {
                assert_eq!(&got[..len], payload);
                true
            }
            _ => false,
        }
    };
    socket.send(&send(&rtp)).await.unwrap();
    assert!(arrives(&peer, &rtp).await, "before the mute, audio is relayed");

    let mute = serde_json::json!({"user_id": ben.id, "muted": true});
    let (status, _) = app.call(Method::POST, "/admin/voice/mute", Some(&amy.token), Some(mute)).await;
    assert_eq!(status, reqwest::StatusCode::NO_CONTENT);
    socket.send(&send(&rtp)).await.unwrap();
    assert!(!arrives(&peer, &rtp).await, "a muted user's audio is dropped by the relay");
    socket.send(&send(&dtls)).await.unwrap();
    assert!(arrives(&peer, &dtls).await, "the connection itself stays up");
    let unmute = serde_json::json!({"user_id": ben.id, "muted": false});
    app.call(Method::POST, "/admin/voice/mute", Some(&amy.token), Some(unmute)).await;
    socket.send(&send(&rtp)).await.unwrap();
    assert!(arrives(&peer, &rtp).await, "unmuted, audio flows again");
}

#[tokio::test]
async fn save_and_test_tries_the_builtin_relay_as_a_browser_would() {
    let app = relay_app(|_| {}).await;
    let amy = app.register("amy").await;
    let ben = app.register("ben").await;
    let (status, _) = app.call(Method::POST, "/admin/ice/test", Some(&ben.token), Some(serde_json::json!({}))).await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN);
    let (status, report) = app.call(Method::POST, "/admin/ice/test", Some(&amy.token), Some(serde_json::json!({}))).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    let port = app.relay_ports.unwrap().udp_tcp;
    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            format!("stun:127.0.0.1:{port}"),
            format!("turn:127.0.0.1:{port}?transport=udp"),
            format!("turn:127.0.0.1:{port}?transport=tcp")
        ]
    );
    for check in report["checks"].as_array().unwrap().iter().skip(1) {
        assert!(check["detail"].as_str().unwrap().starts_with("allocated relayed address 127.0.0.1:"), "{check}");
    }
    let (status, _) = app
        .call(Method::POST, "/admin/ice/test", Some(&amy.token), Some(serde_json::json!({"provider": "carrier-pigeon"})))
        .await;
    assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
}

/// A counter of the relay as `/metrics` reports it.
async fn relay_counter(app: &TestApp, series: &str) -> f64 {
    let url = format!("http://{}/metrics", app.metrics_addr.expect("metrics.listen is set"));
    let text = app.http.get(url).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn uclient_client_to_client_is_relayed_inside_the_relay_over_udp_and_tcp() {
    for public_ip in [None, Some("192.0.2.1")] {
        let app = relay_app(|c| {
            c.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
            c.turn.public_ip = public_ip.map(|ip| ip.parse().unwrap());
        })
        .await;
        let amy = app.register("amy").await;
        let (port, username, password) = issued(&app, &amy).await;
        for transport in [&["-y", "-n", "20"][..], &["-y", "-t", "-n", "20"][..]] {
            let before = relay_counter(&app, "cromulent_turn_internal_deliveries_total").await;
            // `-y`: two allocations sending to each other's relayed address; the peer flags
            // are required by the tool but unused.
            let (ok, text) = uclient(port, "127.0.0.1", 9, transport, &username, &password).await;
            assert!(ok && text.contains("Total lost packets 0"), "{public_ip:?} {transport:?}: {text}");
            let handed = relay_counter(&app, "cromulent_turn_internal_deliveries_total").await - before;
            assert!(handed >= 40.0, "{public_ip:?} {transport:?}: {handed} packets handed over inside the relay: {text}");
        }
    }
}

#[tokio::test]
async fn a_connection_test_gets_credentials_before_login_that_only_call_through_the_relay_itself() {
    let peer = start_echo_peer().await;
    let app = relay_app(|_| {}).await;
    let (status, body) = app.call(Method::GET, "/connection-test", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let turn = body["ice_servers"].as_array().unwrap().iter().find(|s| s["username"].is_string()).unwrap().clone();
    let (username, password) = (turn["username"].as_str().unwrap(), turn["credential"].as_str().unwrap());
    assert!(username.split(':').nth(1).unwrap().starts_with('-'), "a throwaway negative id, no account: {username}");
    let port = app.relay_ports.unwrap().udp_tcp;
    // Two allocations of the test calling each other: fine. Anywhere else: refused.
    let (ok, text) = uclient(port, "127.0.0.1", 9, &["-y", "-n", "10"], username, password).await;
    assert!(ok && text.contains("Total lost packets 0"), "{text}");
    let (ok, text) = uclient(port, "127.0.0.1", peer.port, &["-n", "3"], username, password).await;
    assert!(!ok || !text.contains("tot_recv_msgs=3"), "a probe reached a peer outside the relay: {text}");

    let refused = loop {
        let (status, body) = app.call(Method::GET, "/connection-test", None, None).await;
        if status != StatusCode::OK {
            break (status, body);
        }
    };
    assert_eq!((refused.0, refused.1["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
}

#[tokio::test]
async fn an_external_relays_credentials_go_to_logged_in_testers_only() {
    let app = TestApp::spawn_with(|c| {
        c.turn.provider = TurnProvider::Coturn;
        c.turn.secret = "coturn-secret".into();
        c.turn.urls = vec!["turn:127.0.0.1:3479?transport=udp".to_owned()];
        c.turn.stun_urls = vec!["stun:127.0.0.1:3479".to_owned()];
    })
    .await;
    let (status, anonymous) = app.call(Method::GET, "/connection-test", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let servers = anonymous["ice_servers"].as_array().unwrap();
    assert!(!servers.is_empty() && servers.iter().all(|s| s["username"].is_null()), "STUN only before login: {anonymous}");
    let amy = app.register("amy").await;
    let (status, logged_in) = app.call(Method::GET, "/connection-test", Some(&amy.token), None).await;
    assert_eq!(status, StatusCode::OK);
    let turn = logged_in["ice_servers"].as_array().unwrap().iter().find(|s| s["username"].is_string()).unwrap().clone();
    assert!(turn["username"].as_str().unwrap().ends_with(&format!(":{}", amy.id)), "the account's own credentials: {turn}");
}
