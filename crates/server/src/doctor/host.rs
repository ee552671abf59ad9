//! Checks of the machine the server runs on: its data directory and secret file, whether each
//! port it listens on is free (or held by a running Cromulent, which is then asked how it is),
//! the address the relay hands out against the machine's interfaces, and whether browsers get
//! the secure context they need to open the microphone.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use cromulent_turn::peer_policy::PeerPolicy;

use super::Check;
use crate::builtin_relay::SECRET_FILE;
use crate::config::{Config, TurnProvider};

/// How long a running server may take to answer `/healthz`.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);

/// The data directory exists (or can be made) and takes writes; the TURN secret file is
/// readable by the server's user only.
pub fn data_dir(config: &Config) -> Vec<Check> {
    let dir = &config.data_dir;
    let mut checks = Vec::new();
    let fix_owner = format!(
        "Make {} a directory the server's user owns: mkdir -p {0} && chown USER {0} && chmod 700 {0} (or set data_dir elsewhere).",
        dir.display()
    );
    if dir.is_dir() {
        let probe = dir.join(format!(".doctor-{}", std::process::id()));
        match std::fs::write(&probe, b"") {
            Ok(()) => {
                let _ = std::fs::remove_file(&probe);
                checks.push(Check::ok("data dir", format!("{} is writable", dir.display())));
            }
            Err(error) => checks.push(Check::fail("data dir", format!("{} is not writable: {error}", dir.display()), fix_owner)),
        }
    } else if dir.exists() {
        checks.push(Check::fail("data dir", format!("{} is not a directory", dir.display()), fix_owner));
    } else {
        // Not there yet: the server creates it if the nearest existing parent takes writes.
        let parent = dir.ancestors().skip(1).find(|p| p.exists()).unwrap_or(Path::new("/"));
        let writable = parent.is_dir() && writable_dir(parent);
        if writable {
            checks.push(Check::ok("data dir", format!("{} does not exist yet; the server creates it", dir.display())));
        } else {
            let saw = format!("{} does not exist and {} does not take new entries", dir.display(), parent.display());
            checks.push(Check::fail("data dir", saw, fix_owner));
        }
    }
    let secret = dir.join(SECRET_FILE);
    if let Ok(metadata) = std::fs::metadata(&secret) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                let saw = format!("{} has mode {mode:o}: other users can read the relay's secret", secret.display());
                checks.push(Check::fail("turn secret", saw, format!("chmod 600 {}", secret.display())));
            } else {
                checks.push(Check::ok("turn secret", format!("{} is private (mode {mode:o})", secret.display())));
            }
        }
        #[cfg(not(unix))]
        let _ = metadata;
    }
    checks
}

fn writable_dir(dir: &Path) -> bool {
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    let made = std::fs::create_dir(&probe).is_ok();
    if made {
        let _ = std::fs::remove_dir(&probe);
    }
    made
}

/// The port checks, and whether a running Cromulent holds the web port.
pub struct Ports {
    /// One check per port.
    pub checks: Vec<Check>,
    /// A running Cromulent answered on `listen`.
    pub running: bool,
}

#[derive(Clone, Copy)]
enum Listener {
    /// HTTP or HTTPS: the web client, API and gateway.
    Web { https: bool },
    /// Plain HTTP answering with redirects to HTTPS.
    Redirect,
    /// Prometheus metrics.
    Metrics,
    /// STUN/TURN over UDP.
    TurnUdp,
    /// STUN/TURN over TCP.
    TurnTcp,
}

/// Tries to bind every address the server would listen on; a taken one is asked whether it
/// is a running Cromulent.
pub async fn ports(config: &Config) -> Ports {
    let mut wanted = vec![("listen", config.listen, Listener::Web { https: config.tls.enabled() })];
    if let Some(addr) = config.http.redirect_listen {
        wanted.push(("http.redirect_listen", addr, Listener::Redirect));
    }
    if let Some(addr) = config.metrics.listen {
        wanted.push(("metrics.listen", addr, Listener::Metrics));
    }
    if config.turn.provider == TurnProvider::Builtin {
        wanted.push(("turn.listen", config.turn.listen, Listener::TurnUdp));
        wanted.push(("turn.listen", config.turn.listen, Listener::TurnTcp));
    }
    let mut checks = Vec::new();
    let mut running = false;
    for (key, addr, kind) in wanted {
        let udp = matches!(kind, Listener::TurnUdp);
        let name = format!("port {key} ({addr}/{})", if udp { "udp" } else { "tcp" });
        if addr.port() == 0 {
            checks.push(Check::ok(name, "any free port (0)"));
            continue;
        }
        let bound = if udp { std::net::UdpSocket::bind(addr).map(drop) } else { std::net::TcpListener::bind(addr).map(drop) };
        let error = match bound {
            Ok(()) => {
                checks.push(Check::ok(name, "free"));
                continue;
            }
            Err(error) => error,
        };
        if error.kind() != std::io::ErrorKind::AddrInUse {
            let fix = if addr.port() < 1024 {
                "Ports below 1024 need root or CAP_NET_BIND_SERVICE (the systemd unit in deploy/ grants it), or pick a port above 1023."
            } else {
                "Pick an address this machine has (or 0.0.0.0 for all of them)."
            };
            checks.push(Check::fail(name, format!("cannot bind: {error}"), fix));
            continue;
        }
        match ask(reachable(addr), kind).await {
            Some(answer) => {
                running |= matches!(kind, Listener::Web { .. });
                checks.push(Check::ok(name, format!("in use by the running Cromulent ({answer})")));
            }
            None => {
                let fix = format!(
                    "Another program holds it: find it with `ss -lnp{} 'sport = :{}'` and stop it, or set {key} to another port.",
                    if udp { "u" } else { "t" },
                    addr.port()
                );
                checks.push(Check::fail(name, "in use by another program", fix));
            }
        }
    }
    Ports { checks, running }
}

/// Where to reach a listener bound to `addr` from this machine.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    }
}

/// Asks whatever holds `addr` whether it is Cromulent, as that listener would answer; what it
/// said when it is.
async fn ask(addr: SocketAddr, kind: Listener) -> Option<String> {
    // Only to tell who is there: the certificate is checked on its own, against the domain.
    let http = reqwest::Client::builder()
        .timeout(ASK_TIMEOUT)
        .tls_danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok()?;
    match kind {
        Listener::Web { https } => {
            let url = format!("{}://{addr}/healthz", if https { "https" } else { "http" });
            let health: serde_json::Value = http.get(url).send().await.ok()?.json().await.ok()?;
            let status = health["status"].as_str()?;
            Some(format!("status {status}, database {}", health["database"].as_str().unwrap_or("unknown")))
        }
        Listener::Redirect => {
            let response = http.get(format!("http://{addr}/")).send().await.ok()?;
            let location = response.headers().get("location")?.to_str().ok()?;
            location.starts_with("https://").then(|| "redirecting to HTTPS".to_owned())
        }
        Listener::Metrics => {
            let text = http.get(format!("http://{addr}/metrics")).send().await.ok()?.text().await.ok()?;
            text.contains("cromulent_build_info").then(|| "serving metrics".to_owned())
        }
        Listener::TurnUdp | Listener::TurnTcp => {
            let transport = if matches!(kind, Listener::TurnTcp) { "?transport=tcp" } else { "" };
            let url = cromulent_turn::shell::probe::IceUrl::parse(&format!("stun:{addr}{transport}")).ok()?;
            let mut url = url;
            url.tcp = matches!(kind, Listener::TurnTcp);
            let found = cromulent_turn::shell::probe::probe(&url, None, crate::voice::check::tls_client(), ASK_TIMEOUT).await;
            matches!(found.outcome, cromulent_turn::shell::probe::ProbeOutcome::Bound(_))
                .then(|| "its relay answers STUN".to_owned())
        }
    }
}

/// Whether people outside this machine's network get a relay address they can reach.
pub fn public_address(config: &Config) -> Vec<Check> {
    if config.turn.provider != TurnProvider::Builtin {
        return Vec::new();
    }
    let addresses: Vec<IpAddr> = if_addrs::get_if_addrs().map(|ifs| ifs.iter().map(|i| i.ip()).collect()).unwrap_or_default();
    // Public means an address the relay's own peer policy would not refuse as internal.
    let public = PeerPolicy::default();
    let global: Vec<IpAddr> = addresses.iter().copied().filter(|ip| public.check(*ip).is_ok()).collect();
    let listed = |ips: &[IpAddr]| ips.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ");
    let check = match config.turn.public_ip {
        Some(ip) if addresses.contains(&ip) => Check::ok("public address", format!("turn.public_ip {ip} is on this machine")),
        Some(ip) => Check::ok(
            "public address",
            format!(
                "turn.public_ip {ip} (this machine has {}): behind NAT, so the router must forward the relay's ports",
                listed(&addresses)
            ),
        ),
        None if !global.is_empty() => {
            Check::ok("public address", format!("this machine has public address(es) {}", listed(&global)))
        }
        None => Check::warn(
            "public address",
            format!("this machine has only internal addresses ({}) and turn.public_ip is not set", listed(&addresses)),
            format!(
                "If people outside this network should call through it: set turn.public_ip to the router's public address and forward UDP and TCP {} and UDP {}-{} to this machine.",
                config.turn.listen.port(),
                config.turn.relay_ports.low,
                config.turn.relay_ports.high
            ),
        ),
    };
    vec![check]
}

/// Browsers open the microphone only in a secure context: HTTPS, or `localhost`.
pub fn microphone(config: &Config) -> Check {
    if config.tls.enabled() {
        return Check::ok("secure context", "HTTPS is on");
    }
    if config.listen.ip().is_loopback() {
        return Check::ok(
            "secure context",
            format!(
                "plain HTTP on loopback ({}): fine for this machine, or behind a reverse proxy that serves HTTPS",
                config.listen
            ),
        );
    }
    Check::warn(
        "secure context",
        format!(
            "plain HTTP on {}: browsers will refuse the microphone unless a reverse proxy serves HTTPS in front",
            config.listen
        ),
        "Turn on HTTPS with tls.acme_domains = [\"chat.example.org\"] (or tls.cert and tls.key), or put an HTTPS reverse proxy in front and set listen = \"127.0.0.1:4000\".",
    )
}
