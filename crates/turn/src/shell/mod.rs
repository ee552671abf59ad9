//! The tokio shell around [`Relay`]: one worker thread per core (up to four), each with a
//! single-threaded runtime and its own UDP listeners sharing the port (`SO_REUSEPORT`, one per
//! local address so replies leave from the address the client used); TCP and TLS listeners;
//! one UDP socket per allocation; a once-a-second timer. Every decision is the core's.

pub mod probe;
mod stream;

pub use stream::{HandedStream, RelayStream, StreamDoor, StreamLimits};

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::RngExt;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use crate::counters::Counters;
use crate::relay::{
    AllocationId, ClientAction, FiveTuple, Now, PEER_HEADROOM, PendingAllocation, Relay, RelayConfig, ToClient, Transport,
};

/// Largest datagram the relay reads.
const MAX_DATAGRAM: usize = 65_535;
/// Tries at finding a free relay port before answering 508.
const PORT_TRIES: usize = 64;
/// Most worker threads, whatever the core count.
const MAX_WORKERS: usize = 4;

/// Where the relay listens and how it behaves.
#[derive(Clone)]
pub struct ShellConfig {
    /// UDP and TCP listener; an unspecified IP means every local address of that family.
    pub listen: SocketAddr,
    /// TLS (`turns:`) listener and its rustls configuration, when a certificate is configured.
    pub tls: Option<(SocketAddr, Arc<rustls::ServerConfig>)>,
    /// The core's settings.
    pub relay: RelayConfig,
    /// Limits on TCP and TLS connections.
    pub streams: StreamLimits,
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

/// State every worker shares.
struct Shared {
    relay: Mutex<Relay<RelayPort>>,
    /// Unix seconds, refreshed every second by the expiry timer, so a packet costs one clock read.
    unix: std::sync::atomic::AtomicU64,
    streams: Mutex<HashMap<FiveTuple, mpsc::Sender<Vec<u8>>>>,
    /// Slots for TCP and TLS connections.
    connections: Arc<tokio::sync::Semaphore>,
    /// TCP and TLS connections by source address, oldest first.
    sources: Mutex<HashMap<IpAddr, Vec<stream::Held>>>,
    limits: StreamLimits,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl Shared {
    fn now(&self) -> Now {
        Now { instant: std::time::Instant::now(), unix: self.unix.load(std::sync::atomic::Ordering::Relaxed) }
    }

    fn relay(&self) -> MutexGuard<'_, Relay<RelayPort>> {
        self.relay.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One worker thread's view: the shared state and its own UDP listeners, by local address. An
/// allocation's relay socket is read on the worker that received its Allocate, which is the
/// worker the kernel steers that client's packets to.
struct Worker {
    shared: Arc<Shared>,
    udp: HashMap<SocketAddr, Arc<UdpSocket>>,
}

/// A running relay.
pub struct RelayServer {
    counters: Arc<Counters>,
    udp_port: u16,
    tcp_port: u16,
    tls_port: Option<u16>,
    door: StreamDoor,
    shared: Arc<Shared>,
    running: tokio::sync::Mutex<mpsc::Receiver<()>>,
}

/// Sockets bound before the workers start, handed to them to register with their runtimes.
#[derive(Default)]
struct WorkerSockets {
    udp: Vec<std::net::UdpSocket>,
    tcp: Vec<std::net::TcpListener>,
    tls: Vec<(std::net::TcpListener, Arc<rustls::ServerConfig>)>,
    /// Connections other listeners hand over (first worker only).
    door: Option<mpsc::Receiver<stream::HandedStream>>,
}

impl RelayServer {
    /// Binds every listener and serves until `shutdown` is cancelled, on worker threads of its
    /// own: relayed packets never wait behind web or database work, and a packet's whole path
    /// stays on one core.
    pub async fn start(config: ShellConfig, shutdown: CancellationToken) -> io::Result<RelayServer> {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_WORKERS);
        let (mut sockets, port, tcp_port, ips) = bind_udp_and_tcp(config.listen, workers)?;
        let mut config = config;
        let mut tls_port = None;
        if let Some((addr, tls)) = &config.tls {
            let attempts = if addr.port() == 0 { FREE_PORT_ATTEMPTS } else { 1 };
            let (listeners, port) = retry_while_in_use(attempts, || bind_tcp_listeners(*addr, &ips))?;
            tls_port = Some(port);
            sockets[0].tls = listeners.into_iter().map(|listener| (listener, tls.clone())).collect();
        }
        // Relayed addresses of the other family come from the addresses listened on.
        config.relay.relay_ips = ips;
        if config.relay.peer_policy.allows_loopback() {
            tracing::warn!(
                "turn.allow_loopback_peers is on: the relay will reach this host's own services; never use this in production"
            );
        }
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            relay: Mutex::new(Relay::new(config.relay, counters.clone())),
            unix: std::sync::atomic::AtomicU64::new(Now::system().unix),
            streams: Mutex::new(HashMap::new()),
            connections: Arc::new(tokio::sync::Semaphore::new(stream::MAX_CONNECTIONS)),
            sources: Mutex::default(),
            limits: config.streams.clone(),
            tasks: TaskTracker::new(),
            shutdown: shutdown.clone(),
        });
        let (alive, running) = mpsc::channel::<()>(1);
        let (door, handed) = mpsc::channel(stream::DOOR_QUEUE);
        let mut handed = Some(handed);
        let mut started = Vec::new();
        for (index, mut sockets) in sockets.into_iter().enumerate() {
            // The first worker serves every stream: its listeners' and those handed to it.
            sockets.door = handed.take();
            let (ready, started_rx) = oneshot::channel::<io::Result<()>>();
            started.push(started_rx);
            let shared = shared.clone();
            let alive = alive.clone();
            std::thread::Builder::new()
                .name(format!("turn-relay-{index}"))
                .spawn(move || run_worker(shared, sockets, index == 0, ready, alive))?;
        }
        for ready in started {
            ready.await.map_err(|_| io::Error::other("a relay worker ended during start-up"))??;
        }
        tracing::info!(udp_port = port, tcp_port, ?tls_port, workers, "TURN relay listening");
        Ok(RelayServer {
            counters,
            udp_port: port,
            tcp_port,
            tls_port,
            door: StreamDoor(door),
            shared,
            running: tokio::sync::Mutex::new(running),
        })
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

    /// Ends `user`'s allocations and refuses new ones until `until` (unix seconds); see
    /// [`Relay::bar_user`]. Returns how many allocations ended.
    pub fn bar_user(&self, user: &str, until: u64) -> usize {
        let now = self.shared.now();
        self.shared.relay().bar_user(user, until, now)
    }

    /// Server-mutes `user` or lifts it; see [`Relay::set_muted`].
    pub fn set_muted(&self, user: &str, muted: bool) {
        self.shared.relay().set_muted(user, muted);
    }

    /// Lets a barred user allocate again.
    pub fn unbar_user(&self, user: &str) {
        self.shared.relay().unbar_user(user);
    }

    /// Where another listener hands TURN connections it recognised.
    pub fn door(&self) -> StreamDoor {
        self.door.clone()
    }

    /// The relay's counters.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Waits until every worker has stopped after the shutdown token was cancelled.
    pub async fn wait(&self) {
        let _ = self.running.lock().await.recv().await;
    }
}

/// A worker thread: registers its sockets with a runtime of its own and serves them until
/// shutdown. The first worker also serves TCP, TLS and the expiry timer.
fn run_worker(
    shared: Arc<Shared>,
    sockets: WorkerSockets,
    first: bool,
    ready: oneshot::Sender<io::Result<()>>,
    _alive: mpsc::Sender<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    runtime.block_on(async move {
        let shutdown = shared.shutdown.clone();
        let registered = (|| -> io::Result<_> {
            let udp: Vec<Arc<UdpSocket>> =
                sockets.udp.into_iter().map(UdpSocket::from_std).map(|s| s.map(Arc::new)).collect::<Result<_, _>>()?;
            let tcp: Vec<TcpListener> = sockets.tcp.into_iter().map(TcpListener::from_std).collect::<Result<_, _>>()?;
            let tls: Vec<(TcpListener, tokio_rustls::TlsAcceptor)> = sockets
                .tls
                .into_iter()
                .map(|(listener, config)| Ok((TcpListener::from_std(listener)?, tokio_rustls::TlsAcceptor::from(config))))
                .collect::<io::Result<_>>()?;
            Ok((udp, tcp, tls))
        })();
        let (udp, tcp, tls) = match registered {
            Ok(registered) => registered,
            Err(error) => {
                let _ = ready.send(Err(error));
                return;
            }
        };
        let worker = Arc::new(Worker {
            shared: shared.clone(),
            udp: udp.iter().map(|s| (s.local_addr().expect("bound socket"), s.clone())).collect(),
        });
        for socket in udp {
            shared.tasks.spawn(shutdown.clone().run_until_cancelled_owned(serve_udp(worker.clone(), socket)));
        }
        for tcp in tcp {
            shared.tasks.spawn(shutdown.clone().run_until_cancelled_owned(stream::accept_tcp(worker.clone(), tcp)));
        }
        for (listener, acceptor) in tls {
            shared.tasks.spawn(shutdown.clone().run_until_cancelled_owned(stream::accept_tls(
                worker.clone(),
                listener,
                acceptor,
            )));
        }
        if let Some(door) = sockets.door {
            shared.tasks.spawn(shutdown.clone().run_until_cancelled_owned(stream::accept_handed(worker.clone(), door)));
        }
        if first {
            shared.tasks.spawn(shutdown.clone().run_until_cancelled_owned(expire(shared.clone())));
        }
        let _ = ready.send(Ok(()));
        shutdown.cancelled().await;
        shared.tasks.close();
        shared.tasks.wait().await;
    });
}

/// Every local address of the listener's family when it is unspecified, else just its IP.
fn listen_ips(listen: SocketAddr) -> io::Result<Vec<IpAddr>> {
    if !listen.ip().is_unspecified() {
        return Ok(vec![listen.ip()]);
    }
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()?
        .into_iter()
        .map(|i| i.ip())
        // Both families, so IPv4 and IPv6 clients are served at once; link-local addresses need
        // a scope and are of no use to a relay.
        .filter(|ip| !matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local()))
        .collect();
    ips.sort();
    ips.dedup();
    if ips.is_empty() {
        return Err(io::Error::new(io::ErrorKind::AddrNotAvailable, "no local address to listen on"));
    }
    Ok(ips)
}

/// A UDP listener that the other workers can bind too (`SO_REUSEPORT`): the kernel spreads
/// clients across them and keeps each client on one.
fn bind_shared_udp(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Reads a listener, answering and forwarding with non-blocking sends: a full send buffer
/// drops the packet, as the network would.
async fn serve_udp(worker: Arc<Worker>, socket: Arc<UdpSocket>) {
    let server = socket.local_addr().expect("bound socket");
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        let mut drained = false;
        for _ in 0..BATCH {
            let (len, client) = match socket.try_recv_from(&mut buf) {
                Ok(received) => received,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    drained = true;
                    break;
                }
                Err(error) if is_transient(&error) => continue,
                Err(error) => {
                    tracing::error!(%error, "TURN UDP listener failed");
                    return;
                }
            };
            let from = FiveTuple { transport: Transport::Udp, client, server };
            if let Some(reply) = on_client_packet(&worker, from, &buf[..len]) {
                let _ = send_datagram(&socket, &reply, client);
            }
        }
        // A full batch: let the worker's other sockets have their turn. Drained: waiting for
        // readiness does that anyway, and yielding would cost one more poll of the reactor
        // per wake-up, which at voice rates is per packet.
        if !drained {
            tokio::task::yield_now().await;
        }
    }
}

/// Packets handled per wake-up before other sockets get their turn.
const BATCH: usize = 64;

/// Runs the core on a client packet, does what it says, and returns a reply for the client.
fn on_client_packet(worker: &Arc<Worker>, from: FiveTuple, data: &[u8]) -> Option<Vec<u8>> {
    let now = worker.shared.now();
    let action = worker.shared.relay().handle_client(from, data, now);
    match action {
        ClientAction::Ignore => None,
        ClientAction::Reply(reply) => Some(reply),
        ClientAction::Forward { relay, peer, payload } => {
            let _ = send_datagram(&relay.0.socket, payload, peer);
            None
        }
        ClientAction::Bind(pending) => Some(bind_allocation(worker, pending, now)),
        ClientAction::Deliver(out) => {
            // Another allocation's client, reached from this worker's own listener (every
            // worker has one on each local address) or its stream's queue: no relay socket.
            send_to_client(worker, out);
            None
        }
    }
}

/// Sends a datagram now, or drops it when the socket's buffer is full (as the network would).
/// The send goes straight to the kernel: tokio's `try_send_to` first consults the readiness the
/// reactor has seen, and a relay socket bound a moment ago has not been seen writable yet, so
/// the first packet of a new allocation was dropped without the kernel ever being asked.
fn send_datagram(socket: &UdpSocket, data: &[u8], to: SocketAddr) -> io::Result<usize> {
    socket2::SockRef::from(socket).send_to(data, &to.into())
}

/// Binds a relay socket in the configured range, starts its reader on this worker, and
/// completes the Allocate.
fn bind_allocation(worker: &Arc<Worker>, pending: Box<PendingAllocation>, now: Now) -> Vec<u8> {
    let shared = &worker.shared;
    let mut relay = shared.relay();
    let ports = relay.config().relay_ports.clone();
    let id = pending.id();
    // Each relay socket is read on this worker, as the allocation's own.
    let start = |socket: UdpSocket| {
        let socket = Arc::new(socket);
        let stop = shared.shutdown.child_token();
        let addr = socket.local_addr().expect("bound socket");
        let reader = serve_relay_port(worker.clone(), id, socket.clone());
        // Not tracked: shutdown cancels it through `stop`, and tracking would cost every poll.
        tokio::spawn(stop.clone().run_until_cancelled_owned(reader));
        (addr, RelayPort(Arc::new(RelayPortInner { socket, _stop: stop.drop_guard() })))
    };
    let bound = bind_relay_socket(pending.relay_ip(), &ports, pending.even_port).map(start);
    if bound.is_none() {
        tracing::warn!("no free relay port in turn.relay_ports; answering 508");
    }
    // A dual allocation's IPv6 relay; without one the allocation goes ahead with IPv4 alone.
    let additional = match (bound.is_some(), pending.additional_ip()) {
        (true, Some(ip)) => bind_relay_socket(ip, &ports, false).map(start),
        _ => None,
    };
    relay.finish_dual_allocation(pending, bound, additional, now)
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

thread_local! {
    /// The worker's one buffer for peer packets, with room in front for a ChannelData header
    /// and behind for stream padding. Shared by every allocation of the worker, since a
    /// worker handles one packet at a time; an allocation itself holds no buffer.
    static PEER_BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; PEER_HEADROOM + MAX_DATAGRAM + 3]);
}

/// What reading one packet from a relay socket came to.
enum Read {
    Relayed,
    Drained,
    Closed,
}

/// Reads what peers send to one allocation's relay socket and passes it to the client.
async fn serve_relay_port(worker: Arc<Worker>, id: AllocationId, socket: Arc<UdpSocket>) {
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        let mut drained = false;
        for _ in 0..BATCH {
            match PEER_BUFFER.with_borrow_mut(|buf| relay_peer_packet(&worker, id, &socket, buf)) {
                Read::Relayed => {}
                Read::Drained => {
                    drained = true;
                    break;
                }
                Read::Closed => return,
            }
        }
        if !drained {
            tokio::task::yield_now().await;
        }
    }
}

fn relay_peer_packet(worker: &Worker, id: AllocationId, socket: &UdpSocket, buf: &mut [u8]) -> Read {
    let (len, peer) = match socket.try_recv_from(&mut buf[PEER_HEADROOM..PEER_HEADROOM + MAX_DATAGRAM]) {
        Ok(received) => received,
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Read::Drained,
        Err(error) if is_transient(&error) => return Read::Relayed,
        Err(_) => return Read::Closed,
    };
    let now = worker.shared.now();
    let Some(out) = worker.shared.relay().handle_peer(id, peer, buf, len, now) else { return Read::Relayed };
    send_to_client(worker, out);
    Read::Relayed
}

/// Sends a packet to a client: from the listener it reached us on, or into its stream.
fn send_to_client(worker: &Worker, out: ToClient<'_>) {
    match out.client.transport {
        Transport::Udp => {
            if let Some(listener) = worker.udp.get(&out.client.server) {
                let _ = send_datagram(listener, &out.data, out.client.client);
            }
        }
        Transport::Tcp | Transport::Tls => send_to_stream(&worker.shared, out.client, out.data.into_owned()),
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
        let now = Now::system();
        shared.unix.store(now.unix, std::sync::atomic::Ordering::Relaxed);
        shared.relay().handle_timeout(now);
    }
}

/// How many ports to try when the configuration says port 0.
const FREE_PORT_ATTEMPTS: usize = 100;

/// Binds the UDP sockets (one per worker and local address) and the TCP listeners on one port,
/// and returns the local addresses listened on. With port 0 the kernel picks the UDP port, and
/// TCP may find that number taken (a busy machine holds many ports in TIME_WAIT), so it tries
/// again with a new port until one is free for all.
fn bind_udp_and_tcp(listen: SocketAddr, workers: usize) -> io::Result<(Vec<WorkerSockets>, u16, u16, Vec<IpAddr>)> {
    let attempts = if listen.port() == 0 { FREE_PORT_ATTEMPTS } else { 1 };
    let ips = listen_ips(listen)?;
    retry_while_in_use(attempts, || bind_all_on_one_port(&ips, listen, workers))
}

/// Calls `bind` up to `attempts` times while it fails with `AddrInUse`.
fn retry_while_in_use<T>(attempts: usize, mut bind: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut result = bind();
    for _ in 1..attempts {
        match &result {
            Err(error) if error.kind() == io::ErrorKind::AddrInUse => result = bind(),
            _ => break,
        }
    }
    result
}

fn bind_all_on_one_port(
    ips: &[IpAddr],
    listen: SocketAddr,
    workers: usize,
) -> io::Result<(Vec<WorkerSockets>, u16, u16, Vec<IpAddr>)> {
    let mut sockets: Vec<WorkerSockets> = (0..workers).map(|_| WorkerSockets::default()).collect();
    let mut port = listen.port();
    let mut bound = Vec::new();
    for &ip in ips {
        for worker in &mut sockets {
            let socket = match bind_shared_udp(SocketAddr::new(ip, port)) {
                Ok(socket) => socket,
                // An interface address not usable yet (IPv6 duplicate address detection, say)
                // is left out rather than failing the relay, when listening on every address.
                Err(error) if error.kind() == io::ErrorKind::AddrNotAvailable && listen.ip().is_unspecified() => {
                    tracing::warn!(%ip, %error, "not relaying on this address");
                    break;
                }
                Err(error) => return Err(error),
            };
            port = socket.local_addr()?.port();
            worker.udp.push(socket);
            if !bound.contains(&ip) {
                bound.push(ip);
            }
        }
    }
    let ips = bound;
    let (tcp, tcp_port) = bind_tcp_listeners(SocketAddr::new(listen.ip(), port), &ips)?;
    sockets[0].tcp = tcp;
    Ok((sockets, port, tcp_port, ips))
}

/// TCP listeners on `listen`; an unspecified address listens on both families of `ips`, with
/// one wildcard listener for each on one port.
fn bind_tcp_listeners(listen: SocketAddr, ips: &[IpAddr]) -> io::Result<(Vec<std::net::TcpListener>, u16)> {
    let addresses: Vec<IpAddr> = if listen.ip().is_unspecified() {
        let mut families = Vec::new();
        if ips.iter().any(IpAddr::is_ipv4) {
            families.push(IpAddr::from([0u8; 4]));
        }
        if ips.iter().any(IpAddr::is_ipv6) {
            families.push(IpAddr::from([0u16; 8]));
        }
        families
    } else {
        vec![listen.ip()]
    };
    let mut port = listen.port();
    let mut listeners = Vec::new();
    for ip in addresses {
        let listener = bind_tcp(SocketAddr::new(ip, port))?;
        port = listener.local_addr()?.port();
        listeners.push(listener);
    }
    Ok((listeners, port))
}

/// A non-blocking TCP listener; an IPv6 one takes IPv6 only, beside its IPv4 twin.
fn bind_tcp(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// ICMP-induced errors on unconnected UDP sockets say nothing about the socket itself.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// A rustls server configuration from a PEM certificate chain and private key.
pub fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> io::Result<Arc<rustls::ServerConfig>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let invalid =
        |what: &str, error: &dyn std::fmt::Display| io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {error}"));
    let (cert_name, key_name) = (format!("certificate {}", cert.display()), format!("private key {}", key.display()));
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| invalid(&cert_name, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(&cert_name, &e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(&key_name, &e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate and private key", &e))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_retries_until_udp_and_tcp_share_a_free_port() {
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (sockets, udp, tcp, _) = bind_udp_and_tcp(listen, 2).unwrap();
        assert_eq!(udp, tcp);
        assert_eq!(sockets[1].udp[0].local_addr().unwrap().port(), udp);
        // The port a fixed configuration names is not retried: someone else holds its TCP side.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fixed = SocketAddr::new(listen.ip(), taken.local_addr().unwrap().port());
        assert_eq!(bind_udp_and_tcp(fixed, 1).err().map(|e| e.kind()), Some(io::ErrorKind::AddrInUse));
    }

    #[test]
    fn an_unspecified_address_listens_on_both_families() {
        let (sockets, port, tcp_port, ips) = bind_udp_and_tcp("0.0.0.0:0".parse().unwrap(), 1).unwrap();
        assert_eq!(port, tcp_port);
        assert!(ips.contains(&"127.0.0.1".parse().unwrap()) && ips.contains(&"::1".parse().unwrap()), "{ips:?}");
        let udp: Vec<SocketAddr> = sockets[0].udp.iter().map(|s| s.local_addr().unwrap()).collect();
        assert!(udp.contains(&SocketAddr::new("::1".parse().unwrap(), port)), "{udp:?}");
        let tcp: Vec<SocketAddr> = sockets[0].tcp.iter().map(|s| s.local_addr().unwrap()).collect();
        assert_eq!(tcp, vec![SocketAddr::from(([0, 0, 0, 0], port)), SocketAddr::new("::".parse().unwrap(), port)]);
    }

    #[test]
    fn only_addresses_in_use_are_retried() {
        let mut calls = 0;
        let bound = retry_while_in_use(5, || {
            calls += 1;
            if calls < 3 { Err(io::Error::from(io::ErrorKind::AddrInUse)) } else { Ok(calls) }
        });
        assert_eq!(bound.unwrap(), 3);
        let mut calls = 0;
        let refused = retry_while_in_use(5, || -> io::Result<()> {
            calls += 1;
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        });
        assert_eq!((refused.unwrap_err().kind(), calls), (io::ErrorKind::PermissionDenied, 1));
        let mut calls = 0;
        let _ = retry_while_in_use(4, || -> io::Result<()> {
            calls += 1;
            Err(io::Error::from(io::ErrorKind::AddrInUse))
        });
        assert_eq!(calls, 4);
    }
}
