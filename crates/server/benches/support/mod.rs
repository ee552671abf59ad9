//! What every benchmark needs: the release `cromulent` binary started on loopback with its
//! address read from its log, an account and its `general` channel, and the server's memory and
//! CPU time read from `/proc`.

#![allow(dead_code, reason = "each benchmark uses some of these")]

use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running server.
pub struct Server {
    pub child: Child,
    /// `host:port` of its HTTP listener.
    pub addr: String,
    pub pid: u32,
}

/// Starts the binary on loopback with its data in `data_dir` and the settings in `env`; its log
/// lines other than the listening one go to stderr, so a failing run says why.
pub async fn start_server(data_dir: &Path, env: &[(&str, &str)]) -> Server {
    start_binary(Path::new(env!("CARGO_BIN_EXE_cromulent")), data_dir, env).await
}

/// [`start_server`] with another build of the binary (an earlier one, to compare against).
pub async fn start_binary(binary: &Path, data_dir: &Path, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(binary)
        .args(["--listen", "127.0.0.1:0", "--log", "warn,cromulent::app=info"])
        .arg("--data-dir")
        .arg(data_dir)
        .env("CROMULENT_LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start cromulent");
    let pid = child.id().expect("running");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next_line().await.unwrap().expect("server logs its address");
        let entry: Value = serde_json::from_str(&line).unwrap_or_default();
        if entry["fields"]["message"] == "listening" {
            break entry["fields"]["addr"].as_str().unwrap().to_owned();
        }
        eprintln!("server: {line}");
    };
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("server: {line}");
        }
    });
    Server { child, addr, pid }
}

/// Registers `name` and returns its token.
pub async fn register(http: &reqwest::Client, addr: &str, name: &str) -> String {
    register_at(http, &format!("http://{addr}"), name).await
}

/// Registers `name` at the server whose URL starts with `base` (`https://…`) and returns its token.
pub async fn register_at(http: &reqwest::Client, base: &str, name: &str) -> String {
    let auth: Value = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"username": name, "password": "benchmark password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    auth["token"].as_str().unwrap().to_owned()
}

/// The id of the `general` channel.
pub async fn general(http: &reqwest::Client, addr: &str, token: &str) -> String {
    general_at(http, &format!("http://{addr}"), token).await
}

/// [`general`] at the server whose URL starts with `base`.
pub async fn general_at(http: &reqwest::Client, base: &str, token: &str) -> String {
    let channels: Value =
        http.get(format!("{base}/api/v1/channels")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    channels.as_array().unwrap().iter().find(|c| c["name"] == "general").unwrap()["id"].as_str().unwrap().to_owned()
}

/// The process's resident memory in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("procfs");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The process's resident memory in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    rss_kib(pid) as f64 / 1024.0
}

/// CPU seconds (user + system) the process has used.
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("procfs");
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / 100.0
}
