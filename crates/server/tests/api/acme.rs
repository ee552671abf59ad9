//! Automatic certificates against Debian's `pebble`, a real ACME CA for tests, with
//! `pebble-challtestsrv` answering its DNS queries with 127.0.0.1: the real binary, given only
//! `tls.acme_domains`, obtains a certificate by TLS-ALPN-01 on its own HTTPS port and serves it;
//! restarted with pebble gone it serves the stored one; and when a renewal fails it keeps the
//! current certificate in service.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};

use crate::pki::{NAME, TestCa, https_client, served_leaf};

/// A port free on loopback for TCP and UDP at the moment of asking.
fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// pebble and its DNS server, validating TLS-ALPN-01 against `tls_port`.
struct Pebble {
    _pebble: Child,
    _dns: Child,
    directory: String,
    management: SocketAddr,
}

/// pebble on `api`, validating against `tls_port`, issuing certificates valid `validity_secs`.
async fn start_pebble(dir: &Path, ca: &TestCa, api: u16, tls_port: u16, validity_secs: u64) -> Pebble {
    let dns_port = free_port();
    let dns = Command::new("pebble-challtestsrv")
        .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", &format!("127.0.0.1:{dns_port}")])
        .args(["-http01", "", "-https01", "", "-tlsalpn01", "", "-management", &format!("127.0.0.1:{}", free_port())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("these tests need Debian's pebble package (pebble-challtestsrv); scripts/test installs it");
    // pebble's own API is HTTPS, with a certificate from the test CA.
    let leaf = ca.leaf(&["127.0.0.1", "localhost"]);
    std::fs::write(dir.join("pebble-cert.pem"), &leaf.cert_pem).unwrap();
    std::fs::write(dir.join("pebble-key.pem"), &leaf.key_pem).unwrap();
    let management = free_port();
    let config = json!({"pebble": {
        "listenAddress": format!("127.0.0.1:{api}"),
        "managementListenAddress": format!("127.0.0.1:{management}"),
        "certificate": dir.join("pebble-cert.pem"),
        "privateKey": dir.join("pebble-key.pem"),
        "httpPort": free_port(),
        "tlsPort": tls_port,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false,
        "certificateValidityPeriod": validity_secs,
    }});
    std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
    let pebble = Command::new("pebble")
        .arg("-config")
        .arg(dir.join("pebble.json"))
        .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
        .env("PEBBLE_VA_NOSLEEP", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("these tests need Debian's pebble package; scripts/test installs it");
    let directory = format!("https://127.0.0.1:{api}/dir");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    for _ in 0..100 {
        if client.get(&directory).send().await.is_ok_and(|r| r.status().is_success()) {
            return Pebble { _pebble: pebble, _dns: dns, directory, management: SocketAddr::from(([127, 0, 0, 1], management)) };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("pebble did not start");
}

/// The root pebble issues under (it makes a new one each start).
async fn pebble_root(pebble: &Pebble, ca: &TestCa) -> String {
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    client.get(format!("https://{}/roots/0", pebble.management)).send().await.unwrap().text().await.unwrap()
}

/// The server binary with HTTPS from the ACME CA at `directory`, on any free port.
async fn start_server(data_dir: &Path, ca_roots: &Path, directory: &str) -> (Child, SocketAddr, ServerLog) {
    start_server_on(data_dir, ca_roots, directory, 0).await.expect("the server starts")
}

/// The same on `port`; `None` when it cannot listen there (someone took the port meanwhile).
async fn start_server_on(data_dir: &Path, ca_roots: &Path, directory: &str, port: u16) -> Option<(Child, SocketAddr, ServerLog)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cromulent"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--log", "info"])
        .arg("--data-dir")
        .arg(data_dir)
        .env("CROMULENT_LOG_FORMAT", "json")
        .env("CROMULENT_TURN_PROVIDER", "none")
        .env("CROMULENT_TLS_ACME_DOMAINS", format!("[\"{NAME}\"]"))
        .env("CROMULENT_TLS_ACME_CONTACT", "mailto:admin@chat.test")
        .env("CROMULENT_TLS_ACME_DIRECTORY", directory)
        .env("CROMULENT_TLS_ACME_CA_ROOTS", ca_roots)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut log = ServerLog { lines: BufReader::new(child.stderr.take().unwrap()).lines(), seen: Vec::new() };
    let listening = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = log.lines.next_line().await {
            let entry: Value = serde_json::from_str(&line).unwrap_or_default();
            if entry["fields"]["message"] == "listening" {
                return Some(entry);
            }
            log.seen.push(entry);
        }
        None
    });
    let listening = listening.await.expect("the server starts or ends within 30 s")?;
    assert_eq!(listening["fields"]["https"], true, "{listening}");
    let addr = listening["fields"]["addr"].as_str().unwrap().parse().unwrap();
    Some((child, addr, log))
}

/// A server's log: lines read while waiting for it to listen, and the rest to come.
struct ServerLog {
    lines: tokio::io::Lines<BufReader<ChildStderr>>,
    seen: Vec<Value>,
}

/// The next log line whose message starts with `message`.
async fn log_line(log: &mut ServerLog, message: &str, within: Duration) -> Value {
    let matches = |entry: &Value| entry["fields"]["message"].as_str().is_some_and(|m| m.starts_with(message));
    if let Some(at) = log.seen.iter().position(matches) {
        return log.seen.remove(at);
    }
    let lines = &mut log.lines;
    let found = async {
        loop {
            let line = lines.next_line().await.unwrap().unwrap_or_else(|| panic!("the server ended before logging {message:?}"));
            let entry: Value = serde_json::from_str(&line).unwrap_or_default();
            if entry["fields"]["message"].as_str().is_some_and(|m| m.starts_with(message)) {
                return entry;
            }
        }
    };
    tokio::time::timeout(within, found).await.unwrap_or_else(|_| panic!("no {message:?} logged within {within:?}"))
}

/// pebble, validating against a port picked for the server, then the server on that port, so
/// its first ACME attempt finds pebble up (retries back off to minutes). A port someone takes
/// in between is given up and another picked.
async fn server_and_pebble(dir: &Path, ca: &TestCa, validity_secs: u64) -> (Child, SocketAddr, ServerLog, Pebble) {
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    for _ in 0..10 {
        let (api, port) = (free_port(), free_port());
        let pebble = start_pebble(dir, ca, api, port, validity_secs).await;
        let directory = format!("https://127.0.0.1:{api}/dir");
        if let Some((server, addr, lines)) = start_server_on(&dir.join("data"), &dir.join("ca.pem"), &directory, port).await {
            return (server, addr, lines, pebble);
        }
    }
    panic!("no free port for the server in ten tries");
}

#[tokio::test]
async fn acme_obtains_a_certificate_and_a_restart_reuses_it_without_the_ca() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (server, addr, mut lines, pebble) = server_and_pebble(dir.path(), &ca, 157_766_400).await;
    log_line(&mut lines, "HTTPS certificate obtained", Duration::from_secs(60)).await;
    let root = pebble_root(&pebble, &ca).await;
    let issued = served_leaf(addr, NAME, &root).await.expect("the certificate verifies against pebble's root");
    let health = https_client(&root, addr).get(format!("https://{NAME}:{}/healthz", addr.port())).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let data = dir.path().join("data");
    let stored: Vec<_> = std::fs::read_dir(data.join("acme")).unwrap().map(|e| e.unwrap()).collect();
    assert_eq!(stored.len(), 2, "the account key and the certificate");
    for entry in stored {
        let mode = std::os::unix::fs::PermissionsExt::mode(&entry.metadata().unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "{:?} is private", entry.path());
    }
    let directory = pebble.directory.clone();
    drop((server, lines, pebble));

    // pebble is gone: the stored certificate is served at once.
    let (_server, addr, mut lines) = start_server(&data, &dir.path().join("ca.pem"), &directory).await;
    log_line(&mut lines, "HTTPS certificate loaded from the store", Duration::from_secs(10)).await;
    assert_eq!(served_leaf(addr, NAME, &root).await, Some(issued));
}

#[tokio::test]
async fn a_failed_renewal_keeps_the_current_certificate_in_service() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    // Valid 45 s: renewal is due when a third is left, 30 s after issue.
    let (_server, addr, mut lines, pebble) = server_and_pebble(dir.path(), &ca, 45).await;
    log_line(&mut lines, "HTTPS certificate obtained", Duration::from_secs(60)).await;
    let root = pebble_root(&pebble, &ca).await;
    let issued = served_leaf(addr, NAME, &root).await.expect("the certificate verifies against pebble's root");
    drop(pebble);
    let failed = log_line(&mut lines, "ACME: no new certificate", Duration::from_secs(45)).await;
    assert_eq!(failed["level"], "WARN", "{failed}");
    assert_eq!(served_leaf(addr, NAME, &root).await, Some(issued), "the current certificate is still served");
}
