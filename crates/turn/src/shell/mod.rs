//! The tokio shell around [`Relay`]: UDP listeners (one per local address, so replies leave
//! from the address the client used), TCP and TLS listeners, one UDP socket per allocation, and
//! a once-a-second timer. Every decision is the core's; this module only moves bytes.

mod stream;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::RngExt;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use crate::counters::Counters;
use crate::relay::{AllocationId, ClientAction, FiveTuple, Now, PEER_HEADROOM, PendingAllocation, Relay, RelayConfig, Transport};

/// Largest datagram the relay reads.
const MAX_DATAGRAM: usize = 65_535;
/// Tries at finding a free relay port before answering 508.
const PORT_TRIES: usize = 64;

/// Where the relay listens and how it behaves.
#[derive(Clone)]
pub struct ShellConfig {
    /// UDP and TCP listener; an unspecified IP means every local address of that family.
    pub listen: SocketAddr,
    /// TLS (`turns:`) listener and its rustls configuration, when a certificate is configured.
    pub tls: Option<(SocketAddr, Arc<rustls::ServerConfig>)>,
    /// The core's settings.
    pub relay: RelayConfig,
}

/// The shell's handle to an allocation's relay socket. When the core drops the last clone, the
/// guard stops the task reading the socket, which then closes it.
#[derive(Clone)]
pub struct RelayPort(Arc<RelayPortInner>);

struct RelayPortInner {
    socket: Arc<UdpSocket>,
    _stop: DropGuard,
}

impl std::fmt::Debug for RelayPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RelayPort").field(&self.0.socket.local_addr().ok()).finish()
    }
}

/// State the listener and relay tasks share.
struct Shared {
    relay: Mutex<Relay<RelayPort>>,
    udp: HashMap<SocketAddr, Arc<UdpSocket>>,
    streams: Mutex<HashMap<FiveTuple, mpsc::Sender<Vec<u8>>>>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl Shared {
    fn relay(&self) -> MutexGuard<'_, Relay<RelayPort>> {
        self.relay.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running relay.
pub struct RelayServer {
    shared: Arc<Shared>,
    counters: Arc<Counters>,
    udp_port: u16,
    tcp_port: u16,
    tls_port: Option<u16>,
}

impl RelayServer {
    /// Binds every listener and starts serving until `shutdown` is cancelled.
    pub async fn start(config: ShellConfig, shutdown: CancellationToken) -> io::Result<RelayServer> {
        let counters = Arc::new(Counters::default());
        let (udp, udp_port) = bind_udp_listeners(config.listen).await?;
        let tcp = TcpListener::bind(SocketAddr::new(config.listen.ip(), udp_port)).await?;
        let tcp_port = tcp.local_addr()?.port();
        let tls = match &config.tls {
            Some((addr, tls)) => Some((TcpListener::bind(addr).await?, tokio_rustls::TlsAcceptor::from(tls.clone()))),
            None => None,
        };
        let tls_port = match &tls {
            Some((listener, _)) => Some(listener.local_addr()?.port()),
            None => None,
        };
        if config.relay.peer_policy.allows_loopback() {
            tracing::warn!(
                "turn.allow_loopback_peers is on: the relay will reach this host's own services; never use this in production"
            );
        }
        let shared = Arc::new(Shared {
            relay: Mutex::new(Relay::new(config.relay, counters.clone())),
            udp: udp.iter().map(|s| (s.local_addr().expect("bound socket"), s.clone())).collect(),
            streams: Mutex::new(HashMap::new()),
            tasks: TaskTracker::new(),
            shutdown: shutdown.clone(),
        });
        for socket in udp {
            let shared2 = shared.clone();
            shared.tasks.spawn(shutdown.clone().run_until_cancelled_owned(serve_udp(shared2, socket)));
        }
        shared.tasks.spawn(shutdown.clone().run_until_cancelled_owned(stream::accept_tcp(shared.clone(), tcp)));
        if let Some((listener, acceptor)) = tls {
            shared.tasks.spawn(shutdown.clone().run_until_cancelled_owned(stream::accept_tls(
                shared.clone(),
                listener,
                acceptor,
            )));
        }
        shared.tasks.spawn(shutdown.clone().run_until_cancelled_owned(expire(shared.clone())));
        tracing::info!(udp_port, tcp_port, ?tls_port, "TURN relay listening");
        Ok(RelayServer { shared, counters, udp_port, tcp_port, tls_port })
    }

    /// The UDP listening port (useful when configured as 0).
    pub fn udp_port(&self) -> u16 {
        self.udp_port
    }

    /// The TCP listening port.
    pub fn tcp_port(&self) -> u16 {
        self.tcp_port
    }

    /// The TLS listening port, if TLS is on.
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    /// The relay's counters.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Waits for every task after the shutdown token was cancelled.
    pub async fn wait(&self) {
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
    }
}

/// One UDP socket per local address when `listen` is unspecified, else just `listen`.
async fn bind_udp_listeners(listen: SocketAddr) -> io::Result<(Vec<Arc<UdpSocket>>, u16)> {
    let ips: Vec<IpAddr> = if listen.ip().is_unspecified() {
        let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()?
            .into_iter()
            .map(|i| i.ip())
            .filter(|ip| ip.is_ipv4() == listen.is_ipv4() && !matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local()))
            .collect();
        ips.sort();
        ips.dedup();
        ips
    } else {
        vec![listen.ip()]
    };
    let mut port = listen.port();
    let mut sockets = Vec::new();
    for ip in ips {
        let socket = UdpSocket::bind(SocketAddr::new(ip, port)).await?;
        port = socket.local_addr()?.port();
        sockets.push(Arc::new(socket));
    }
    if sockets.is_empty() {
        return Err(io::Error::new(io::ErrorKind::AddrNotAvailable, "no local address to listen on"));
    }
    Ok((sockets, port))
}

async fn serve_udp(shared: Arc<Shared>, socket: Arc<UdpSocket>) {
    let server = socket.local_addr().expect("bound socket");
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, client) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) if is_transient(&error) => continue,
            Err(error) => {
                tracing::error!(%error, "TURN UDP listener failed");
                return;
            }
        };
        let from = FiveTuple { transport: Transport::Udp, client, server };
        if let Some(reply) = on_client_packet(&shared, from, &buf[..len]).await {
            let _ = socket.send_to(&reply, client).await;
        }
    }
}

/// Runs the core on a client packet, does what it says, and returns a reply for the client.
async fn on_client_packet(shared: &Arc<Shared>, from: FiveTuple, data: &[u8]) -> Option<Vec<u8>> {
    let now = Now::system();
    let action = shared.relay().handle_client(from, data, now);
    match action {
        ClientAction::Ignore => None,
        ClientAction::Reply(reply) => Some(reply),
        ClientAction::Forward { relay, peer, payload } => {
            let _ = relay.0.socket.send_to(payload, peer).await;
            None
        }
        ClientAction::Bind(pending) => Some(bind_allocation(shared, pending, now)),
    }
}

/// Binds a relay socket in the configured range, starts its reader, and completes the Allocate.
fn bind_allocation(shared: &Arc<Shared>, pending: Box<PendingAllocation>, now: Now) -> Vec<u8> {
    let mut relay = shared.relay();
    let ports = relay.config().relay_ports.clone();
    let bound = bind_relay_socket(pending.relay_ip(), &ports, pending.even_port);
    let id = pending.id();
    let bound = bound.map(|socket| {
        let socket = Arc::new(socket);
        let stop = shared.shutdown.child_token();
        let addr = socket.local_addr().expect("bound socket");
        let reader = serve_relay_port(shared.clone(), id, socket.clone());
        shared.tasks.spawn(stop.clone().run_until_cancelled_owned(reader));
        (addr, RelayPort(Arc::new(RelayPortInner { socket, _stop: stop.drop_guard() })))
    });
    if bound.is_none() {
        tracing::warn!("no free relay port in turn.relay_ports; answering 508");
    }
    relay.finish_allocation(pending, bound, now)
}

fn bind_relay_socket(ip: IpAddr, ports: &std::ops::RangeInclusive<u16>, even: bool) -> Option<UdpSocket> {
    let mut rng = rand::rng();
    for _ in 0..PORT_TRIES {
        let mut port = rng.random_range(ports.clone());
        if even && port % 2 == 1 {
            port = if port > *ports.start() { port - 1 } else { port + 1 };
        }
        if let Ok(socket) = std::net::UdpSocket::bind(SocketAddr::new(ip, port))
            && socket.set_nonblocking(true).is_ok()
            && let Ok(socket) = UdpSocket::from_std(socket)
        {
            return Some(socket);
        }
    }
    None
}

/// Reads what peers send to one allocation's relay socket and passes it to the client.
async fn serve_relay_port(shared: Arc<Shared>, id: AllocationId, socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; PEER_HEADROOM + MAX_DATAGRAM + 3];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf[PEER_HEADROOM..PEER_HEADROOM + MAX_DATAGRAM]).await {
            Ok(received) => received,
            Err(error) if is_transient(&error) => continue,
            Err(_) => return,
        };
        let now = Now::system();
        let Some(out) = shared.relay().handle_peer(id, peer, &mut buf, len, now) else { continue };
        match out.client.transport {
            Transport::Udp => {
                if let Some(listener) = shared.udp.get(&out.client.server) {
                    let _ = listener.send_to(&out.data, out.client.client).await;
                }
            }
            Transport::Tcp | Transport::Tls => send_to_stream(&shared, out.client, out.data.into_owned()),
        }
    }
}

fn send_to_stream(shared: &Shared, client: FiveTuple, data: Vec<u8>) {
    let streams = shared.streams.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(sender) = streams.get(&client) {
        let _ = sender.try_send(data);
    }
}

async fn expire(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        shared.relay().handle_timeout(Now::system());
    }
}

/// ICMP-induced errors on unconnected UDP sockets say nothing about the socket itself.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    ) || error.raw_os_error() == Some(113) // EHOSTUNREACH
        || error.raw_os_error() == Some(101) // ENETUNREACH
}

/// A rustls server configuration from a PEM certificate chain and private key.
pub fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> io::Result<Arc<rustls::ServerConfig>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let invalid =
        |what: &str, error: &dyn std::fmt::Display| io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {error}"));
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| invalid("turn.tls_cert", &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("turn.tls_cert", &e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid("turn.tls_key", &e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("turn.tls_cert/turn.tls_key", &e))?;
    Ok(Arc::new(config))
}
