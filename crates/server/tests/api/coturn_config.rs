//! `cromulent coturn-config` against Debian's coturn: coturn starts from the printed file and
//! understands every line of it, relays with credentials a server set to the same secret mints,
//! and refuses the peers the built-in relay refuses — the default private ranges and the
//! configured ones — while letting the configured exceptions through. Peers that must be
//! refused are only ever named in control messages.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cromulent::config::TurnProvider;
use reqwest::Method;
use tokio::process::{Child, Command};

use crate::helpers::{TestApp, run_cromulent};
use crate::relay::{start_echo_peer, uclient_to};

/// `cromulent coturn-config` with a configuration file and data directory; its standard output.
async fn coturn_config(config: &Path, data_dir: &Path) -> String {
    let output = run_cromulent(&[
        "coturn-config".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
    ])
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// A coturn running from the printed file.
struct Coturn {
    _server: Child,
    port: u16,
    log: PathBuf,
    printed: String,
}

/// The `[turn]` section the test's server and coturn share, with coturn on `port`.
fn turn_section(secret: &str, port: u16) -> String {
    let relay_base = 40_000 + (port % 200) * 100;
    format!(
        "[turn]\nsecret = \"{secret}\"\nlisten = \"127.0.0.1:{port}\"\nrealm = \"cromulent.test\"\n\
         relay_ports = \"{relay_base}-{}\"\nallowed_peer_ips = [\"10.99.0.0/16\"]\ndenied_peer_ips = [\"8.8.8.0/24\"]\n\
         allow_loopback_peers = true\nuser_quota = 100\n",
        relay_base + 99
    )
}

/// Prints the file for `secret` and starts coturn with it, plus only what a test needs beside
/// it: its pid, database and log in `dir`. A port picked free may be taken by the time coturn
/// binds it, so a coturn that does not answer is tried again on another.
async fn start_coturn_from_printed_config(secret: &str, dir: &Path) -> Coturn {
    let which = std::process::Command::new("turnserver").arg("--version").output();
    assert!(which.is_ok(), "these tests need Debian's coturn (`apt-get install coturn`); scripts/test installs it");
    for attempt in 0..5 {
        let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = dir.join(format!("cromulent-{attempt}.toml"));
        std::fs::write(&config, turn_section(secret, port)).unwrap();
        let printed = coturn_config(&config, &dir.join("data")).await;
        let log = dir.join(format!("turn-{attempt}.log"));
        let test_only = format!(
            "pidfile={}\nuserdb={}\nlog-file={}\nsimple-log\n",
            dir.join(format!("turn-{attempt}.pid")).display(),
            dir.join(format!("turndb-{attempt}")).display(),
            log.display(),
        );
        let file = dir.join(format!("turnserver-{attempt}.conf"));
        std::fs::write(&file, format!("{printed}\n# Test only: keep coturn's files in the test's directory.\n{test_only}"))
            .unwrap();
        let mut server = Command::new("turnserver")
            .arg("-c")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        for _ in 0..30 {
            if server.try_wait().unwrap().is_some() {
                break;
            }
            // turnutils_stunclient waits forever for an answer that a not-yet-listening server
            // never sends, so each probe gets a deadline.
            let probe =
                Command::new("turnutils_stunclient").args(["-p", &port.to_string(), "127.0.0.1"]).kill_on_drop(true).output();
            if let Ok(Ok(stun)) = tokio::time::timeout(Duration::from_secs(1), probe).await
                && String::from_utf8_lossy(&stun.stdout).contains("reflexive addr")
            {
                return Coturn { _server: server, port, log, printed };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("coturn did not start from the printed configuration; its logs are in {}", dir.display());
}

#[tokio::test]
async fn coturn_from_the_printed_file_relays_our_credentials_and_refuses_what_the_builtin_relay_refuses() {
    let secret = format!("{:032x}", rand::random::<u128>());
    let dir = tempfile::tempdir().unwrap();
    let coturn = start_coturn_from_printed_config(&secret, dir.path()).await;
    assert!(coturn.printed.lines().any(|l| l == format!("static-auth-secret={secret}")), "the secret is written in");
    let log = std::fs::read_to_string(&coturn.log).unwrap();
    for complaint in ["Bad configuration format", "CONFIG ERROR", "Unknown"] {
        assert!(!log.contains(complaint), "coturn understands every line: {log}");
    }

    let peer = start_echo_peer().await;
    let url = format!("turn:127.0.0.1:{}?transport=udp", coturn.port);
    let app = TestApp::spawn_with(|c| {
        c.turn.provider = TurnProvider::Coturn;
        c.turn.secret = secret.as_str().into();
        c.turn.urls = vec![url];
    })
    .await;
    let amy = app.register("amy").await;
    let (status, body) = app.call(Method::GET, "/voice/ice-servers", Some(&amy.token), None).await;
    assert!(status.is_success(), "{body}");
    let turn = body["ice_servers"].as_array().unwrap().iter().find(|s| s["username"].is_string()).expect("a TURN server");
    let (username, password) = (turn["username"].as_str().unwrap(), turn["credential"].as_str().unwrap());
    let relay = |peer_ip: &'static str, peer_port: u16, extra: &'static [&'static str]| {
        uclient_to("127.0.0.1", coturn.port, peer_ip, peer_port, extra, username, password)
    };

    // uclient idles a few seconds before it sends or ends, so every run goes at once. The echo
    // goes over TCP to coturn (the relayed leg to the peer is UDP either way); the other runs
    // allocate over UDP. -n 0: the client allocates, binds a channel to the peer and sends it
    // nothing, so no packet leaves loopback even if coturn were to wrongly accept.
    const REFUSED: [&str; 5] = ["10.0.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "8.8.8.8"];
    let ((echo_ok, echo), (allowed_ok, allowed), refused) = tokio::join!(
        relay("127.0.0.1", peer.port, &["-t", "-n", "10"]),
        relay("10.99.1.2", 9, &["-n", "0"]),
        futures_util::future::join_all(REFUSED.map(|ip| relay(ip, 9, &["-n", "0"]))),
    );
    assert!(echo_ok && echo.contains("tot_recv_msgs=10") && echo.contains("Total lost packets 0"), "{echo}");
    assert!(allowed_ok && !allowed.contains("error 403"), "turn.allowed_peer_ips wins over the deny list: {allowed}");
    for (ip, (ok, text)) in REFUSED.iter().zip(refused) {
        assert!(!ok && text.contains("error 403"), "{ip} is refused: {text}");
    }
}

#[tokio::test]
async fn the_secret_is_the_generated_one_until_an_admin_saves_another() {
    let app = TestApp::spawn().await;
    let data_dir = app.config.data_dir.clone();
    let generated = std::fs::read_to_string(data_dir.join("turn-secret")).unwrap();
    let print = async || {
        let output = run_cromulent(&[
            "coturn-config".as_ref(),
            "--data-dir".as_ref(),
            data_dir.as_os_str(),
            "--database-url".as_ref(),
            app.config.database_url.as_ref(),
        ])
        .await;
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let printed = print().await;
    assert!(printed.lines().any(|l| l == format!("static-auth-secret={}", generated.trim())), "{printed}");
    assert!(printed.contains("generated in"), "the file says where the secret came from");

    let amy = app.register("amy").await;
    let ice = serde_json::json!({"ice": {"provider": "coturn", "secret": "saved-by-an-admin", "urls": ["turn:127.0.0.1:3478"]}});
    let (status, body) = app.call(Method::PATCH, "/settings", Some(&amy.token), Some(ice)).await;
    assert!(status.is_success(), "{body}");
    let printed = print().await;
    assert!(printed.lines().any(|l| l == "static-auth-secret=saved-by-an-admin"), "{printed}");
    assert!(printed.contains("an admin saved"), "{printed}");
}
