//! A real SMTP server for tests: Debian's `aiosmtpd` (`python3-aiosmtpd`) on a loopback port,
//! storing every message it accepts in a Maildir the test reads.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A running `aiosmtpd`; killed when dropped.
pub struct MailSink {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    maildir: PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

/// A received message: its recipient and its body with quoted-printable undone.
#[derive(Debug, Clone)]
pub struct Mail {
    /// `X-RcptTo` as aiosmtpd records it.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// The decoded text.
    pub body: String,
}

impl MailSink {
    /// Starts one on a free port, retrying when the port turns out to be taken.
    pub async fn start() -> MailSink {
        for _ in 0..20 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let dir = tempfile::tempdir().unwrap();
            let maildir = dir.path().join("maildir");
            let child = std::process::Command::new("/usr/bin/python3")
                .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
                .arg(&maildir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("aiosmtpd runs (Debian package python3-aiosmtpd)");
            let mut sink = MailSink { port, maildir, child, _dir: dir };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = sink.child.try_wait() {
                    break;
                }
                if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return sink;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = sink.child.kill();
        }
        panic!("aiosmtpd did not start");
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else { return Vec::new() };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        // Maildir names end in `Q<n>`, counting deliveries: the order they arrived in.
        let order = |p: &PathBuf| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.rsplit_once('Q').and_then(|(_, n)| n.split('.').next().and_then(|n| n.parse::<u64>().ok())).unwrap_or(0)
        };
        paths.sort_by_key(order);
        paths.iter().map(|p| parse(&std::fs::read_to_string(p).unwrap())).collect()
    }

    /// Waits up to 10 s until `count` messages have arrived; returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(Instant::now() < deadline, "{count} mails expected, {} arrived", messages.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Splits a stored message into headers and body and undoes quoted-printable.
fn parse(raw: &str) -> Mail {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let header = |name: &str| {
        head.lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let quoted = header("Content-Transfer-Encoding").eq_ignore_ascii_case("quoted-printable");
    Mail { to: header("X-RcptTo"), subject: header("Subject"), body: if quoted { unquote(body) } else { body.to_owned() } }
}

fn unquote(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first `https?://…` link in `text` that contains `path`.
pub fn link(text: &str, path: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http") && w.contains(path))
        .unwrap_or_else(|| panic!("no {path} link in {text}"))
        .to_owned()
}
