//! `cromulent doctor`, the real binary: it passes against a healthy running server, relay round
//! trip included, and fails — exit code 1 and the named fix — for a port another program
//! holds, a TURN secret that differs from the server's, an expired certificate, a data
//! directory that cannot be written, and a configuration that does not load.

use std::net::TcpListener;
use std::path::Path;

use serde_json::Value;
use tokio::process::Command;

use crate::helpers::TestApp;
use crate::relay::{SECRET, relay_app};

/// Runs `cromulent doctor --json` with `args` and `env`; its exit code and its checks.
async fn doctor(args: &[&str], env: &[(&str, &str)]) -> (i32, Vec<Value>) {
    let output = Command::new(env!("CARGO_BIN_EXE_cromulent"))
        .arg("doctor")
        .arg("--json")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("the binary runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(report["ok"], output.status.code() == Some(0), "exit code 0 exactly when ok: {report}");
    (output.status.code().unwrap_or(-1), report["checks"].as_array().unwrap().clone())
}

/// The check named `name`, or the first whose name starts with it.
fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["name"] == name)
        .or_else(|| checks.iter().find(|c| c["name"].as_str().unwrap().starts_with(name)))
        .unwrap_or_else(|| panic!("no check {name} in {checks:?}"))
}

/// Flags and variables that point doctor at `app`'s configuration.
fn same_as(app: &TestApp) -> (Vec<String>, Vec<(&'static str, String)>) {
    let args = vec![
        "--listen".to_owned(),
        app.addr.to_string(),
        "--data-dir".to_owned(),
        app.config.data_dir.display().to_string(),
        "--database-url".to_owned(),
        app.config.database_url(),
    ];
    let turn = format!("127.0.0.1:{}", app.relay_ports.unwrap().udp_tcp);
    (args, vec![("CROMULENT_TURN_PROVIDER", "builtin".to_owned()), ("CROMULENT_TURN_LISTEN", turn)])
}

async fn doctor_like(app: &TestApp, extra_env: &[(&str, &str)]) -> (i32, Vec<Value>) {
    let (args, env) = same_as(app);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend_from_slice(extra_env);
    doctor(&args, &env).await
}

#[tokio::test]
async fn a_healthy_running_server_passes_with_a_relayed_packet() {
    let app = relay_app(|_| {}).await;
    let (code, checks) = doctor_like(&app, &[("CROMULENT_TURN_SECRET", SECRET)]).await;
    assert_eq!(code, 0, "{checks:#?}");
    assert_eq!(check(&checks, "database")["status"], "ok");
    let web = check(&checks, "port listen");
    assert!(web["saw"].as_str().unwrap().contains("running Cromulent"), "{web}");
    for name in ["relay stun", "relay turn udp", "relay turn tcp", "relay packet"] {
        assert_eq!(check(&checks, name)["status"], "ok", "{name}: {checks:#?}");
    }
    assert!(checks.iter().all(|c| c["status"] != "fail"));
}

#[tokio::test]
async fn a_wrong_turn_secret_fails_the_allocation_with_its_fix() {
    let app = relay_app(|_| {}).await;
    let (code, checks) = doctor_like(&app, &[("CROMULENT_TURN_SECRET", "not-the-secret")]).await;
    assert_eq!(code, 1);
    let udp = check(&checks, "relay turn udp");
    assert_eq!(udp["status"], "fail");
    assert!(udp["saw"].as_str().unwrap().contains("401"), "{udp}");
    assert!(udp["fix"].as_str().unwrap().contains("differs from the running server's"), "{udp}");
}

#[tokio::test]
async fn a_port_another_program_holds_fails_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let data = dir.path().join("data");
    let (code, checks) =
        doctor(&["--listen", &listen, "--data-dir", data.to_str().unwrap()], &[("CROMULENT_TURN_PROVIDER", "none")]).await;
    assert_eq!(code, 1, "{checks:#?}");
    let port = check(&checks, "port listen");
    assert_eq!((port["status"].as_str(), port["saw"].as_str()), (Some("fail"), Some("in use by another program")));
    assert!(port["fix"].as_str().unwrap().contains("set listen to another port"), "{port}");
    assert_eq!(check(&checks, "data dir")["status"], "ok");
    assert!(!data.exists(), "doctor creates nothing");
}

#[tokio::test]
async fn an_expired_certificate_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = expired_certificate(dir.path());
    let (code, checks) = doctor(
        &["--listen", "127.0.0.1:0", "--data-dir", dir.path().join("data").to_str().unwrap()],
        &[
            ("CROMULENT_TURN_PROVIDER", "none"),
            ("CROMULENT_TLS_CERT", cert.to_str().unwrap()),
            ("CROMULENT_TLS_KEY", key.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(code, 1);
    let certificate = check(&checks, "certificate");
    assert_eq!(certificate["status"], "fail", "{certificate}");
    assert!(certificate["saw"].as_str().unwrap().contains("expired"), "{certificate}");
    assert!(certificate["fix"].as_str().unwrap().contains("Renew it"), "{certificate}");
}

#[tokio::test]
async fn a_data_dir_that_cannot_be_written_fails() {
    let dir = tempfile::tempdir().unwrap();
    // A file where a parent directory should be: not writable by anyone, root included.
    std::fs::write(dir.path().join("occupied"), b"").unwrap();
    let data = dir.path().join("occupied").join("data");
    let (code, checks) =
        doctor(&["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()], &[("CROMULENT_TURN_PROVIDER", "none")]).await;
    assert_eq!(code, 1);
    let data_dir = check(&checks, "data dir");
    assert_eq!(data_dir["status"], "fail", "{data_dir}");
    assert!(data_dir["fix"].as_str().unwrap().contains("chown"), "{data_dir}");
}

#[tokio::test]
async fn a_configuration_that_does_not_load_is_the_first_finding() {
    let (code, checks) = doctor(&["--listen", "127.0.0.1:0"], &[("CROMULENT_TURN_USER_QUOTA", "lots")]).await;
    assert_eq!(code, 1);
    assert_eq!(checks.len(), 1);
    assert_eq!((checks[0]["name"].as_str(), checks[0]["status"].as_str()), (Some("configuration"), Some("fail")));
    assert!(checks[0]["saw"].as_str().unwrap().to_lowercase().contains("turn.user_quota"), "{}", checks[0]);
}

/// A certificate for `chat.test` that expired in 2021, and its key, as PEM files in `dir`.
fn expired_certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut params = rcgen::CertificateParams::new(vec!["chat.test".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

#[tokio::test]
async fn the_mail_server_is_tried_when_mail_is_on() {
    let sink = crate::mail_sink::MailSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = sink.port.to_string();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    for (smtp_port, expected) in [(port.as_str(), "ok"), (closed.as_str(), "fail")] {
        let env = [
            ("CROMULENT_SMTP_HOST", "127.0.0.1"),
            ("CROMULENT_SMTP_PORT", smtp_port),
            ("CROMULENT_SMTP_TLS", "none"),
            ("CROMULENT_SMTP_FROM", "chat@chat.test"),
            ("CROMULENT_LISTEN", "127.0.0.1:0"),
            ("CROMULENT_TURN_PROVIDER", "none"),
        ];
        let (_, checks) = doctor(&["--data-dir", data.to_str().unwrap()], &env).await;
        assert_eq!(check(&checks, "mail")["status"], expected, "{checks:?}");
        assert_eq!(check(&checks, "mail links")["status"], "warn", "no public_url: the Host decides");
    }
}
