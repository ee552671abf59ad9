//! The relay's state machine, free of IO: datagrams and stream frames go in with the time, and
//! replies, forwards and "bind a relay port" requests come out. Allocations, permissions,
//! channels, quotas and the per-allocation bandwidth budget all live here; this file holds the
//! types, the dispatch and the housekeeping, `requests.rs` reads and authenticates STUN
//! requests, `allocations.rs` answers them, `data.rs` carries the data path and `internal.rs`
//! hands packets between two of the relay's own allocations.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use foldhash::HashMap;
use stun_types::attribute::{
    ErrorCode, MessageIntegrity, MessageIntegritySha256, Nonce, Realm, UnknownAttributes, Username, XorMappedAddress,
};
use stun_types::message::{
    BINDING, IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageIntegrityCredentials, MessageWriteVec,
    StunParseError, TransactionId,
};
use stun_types::prelude::*;
use turn_types::attribute::{
    AdditionalAddressFamily, AddressErrorCode, ChannelNumber, Data, DontFragment, EvenPort, Lifetime, RequestedAddressFamily,
    RequestedTransport, XorPeerAddress, XorRelayedAddress,
};
use turn_types::channel::ChannelData;
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, DATA, REFRESH, SEND};

use crate::counters::Counters;
use crate::credential::{parse_username, password_for};
use crate::integrity;
use crate::nonce::{NonceError, Nonces};
use crate::peer_policy::PeerPolicy;
use crate::source_budget::SourceBudget;
use crate::token_bucket::{Limit, TokenBucket};

mod allocations;
mod data;
mod internal;
mod requests;

pub use data::is_rtp_media;
use requests::{Outcome, Refused, error_code, sign};

/// Bytes a caller leaves free in front of a peer's payload, so a ChannelData header can be
/// written in place and the packet forwarded without a copy.
pub const PEER_HEADROOM: usize = 4;

/// Lifetime of a permission (RFC 8656 §9).
const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// Lifetime of a channel binding (RFC 8656 §12).
const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// Channel numbers accepted: RFC 8656 narrowed them to 0x4000–0x4FFF, but RFC 5766 clients
/// (coturn's own tools among them) still pick from the older 0x4000–0x7FFF.
const CHANNEL_NUMBERS: RangeInclusive<u16> = 0x4000..=0x7FFF;
/// How many peers one allocation may talk to; caps fan-out amplification.
const MAX_PERMISSIONS: usize = 64;

/// Which client-facing transport a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP datagrams.
    Udp,
    /// A TCP stream.
    Tcp,
    /// A TLS stream (`turns:`).
    Tls,
}

/// The client side of an allocation: who, to which listener, over what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiveTuple {
    /// How the client reaches us.
    pub transport: Transport,
    /// The client's address as we see it.
    pub client: SocketAddr,
    /// Our listener's address.
    pub server: SocketAddr,
}

/// Both clocks the relay needs: monotonic for lifetimes, wall-clock for credential expiry.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// For lifetimes and budgets.
    pub instant: Instant,
    /// Unix seconds, for REST usernames and nonces.
    pub unix: u64,
}

impl Now {
    /// The system's clocks.
    pub fn system() -> Now {
        let unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Now { instant: Instant::now(), unix }
    }
}

/// Identifies an allocation across the core and the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AllocationId(pub u64);

/// Settings of the core (the shell turns configuration into this). Its `Debug` leaves the
/// secrets out, so it can be logged.
#[derive(Clone)]
pub struct RelayConfig {
    /// The realm clients echo in their long-term credentials.
    pub realm: String,
    /// Secrets REST passwords are checked against; more than one during a rotation.
    pub secrets: Vec<Vec<u8>>,
    /// Refuse refreshes, permissions and channels once the credential has expired.
    pub strict_expiry: bool,
    /// Allocations one user may hold at once (486 beyond).
    pub user_quota: usize,
    /// Allocations the relay holds at once (508 beyond).
    pub total_quota: usize,
    /// Bytes per second one allocation may relay in each direction; `None` for no cap.
    pub allocation_bandwidth: Option<u64>,
    /// Lifetime given when the client asks for less or nothing.
    pub default_lifetime: Duration,
    /// Longest lifetime granted.
    pub max_lifetime: Duration,
    /// How long a nonce stays fresh.
    pub nonce_lifetime: Duration,
    /// Which peers the relay may reach.
    pub peer_policy: PeerPolicy,
    /// The address advertised for relayed addresses when the server sits behind NAT.
    pub public_ip: Option<IpAddr>,
    /// Ports relay sockets may use.
    pub relay_ports: RangeInclusive<u16>,
    /// Local addresses relayed addresses may use besides the one the client reached: a client
    /// that reached an IPv6 listener gets an IPv4 relayed address (the default, RFC 8656 §7.2)
    /// from here, and one asking for IPv6 over IPv4 an IPv6 one. Empty: the client's own family only.
    pub relay_ips: Vec<IpAddr>,
    /// Unauthenticated requests answered per second per source address.
    pub unauthenticated_per_second: u32,
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("realm", &self.realm)
            .field("secrets", &format_args!("[{} redacted]", self.secrets.len()))
            .field("strict_expiry", &self.strict_expiry)
            .field("user_quota", &self.user_quota)
            .field("total_quota", &self.total_quota)
            .field("allocation_bandwidth", &self.allocation_bandwidth)
            .field("peer_policy", &self.peer_policy)
            .field("public_ip", &self.public_ip)
            .field("relay_ports", &self.relay_ports)
            .finish_non_exhaustive()
    }
}

impl RelayConfig {
    /// Production defaults for `secret` (quota 10, 2 Mbit/s per allocation, 600 s lifetime).
    pub fn with_secret(secret: Vec<u8>) -> RelayConfig {
        RelayConfig {
            realm: "cromulent".to_owned(),
            secrets: vec![secret],
            strict_expiry: false,
            user_quota: 10,
            total_quota: 10_000,
            allocation_bandwidth: Some(250_000),
            default_lifetime: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
            nonce_lifetime: Duration::from_secs(600),
            peer_policy: PeerPolicy::default(),
            public_ip: None,
            relay_ports: 49152..=65535,
            relay_ips: Vec::new(),
            unauthenticated_per_second: 50,
        }
    }
}

/// What to do with an incoming client packet.
#[derive(Debug)]
pub enum ClientAction<'a, H> {
    /// Nothing goes back (indications, junk, rate-limited sources).
    Ignore,
    /// Send these bytes back to the client.
    Reply(Vec<u8>),
    /// Send `payload` from the allocation's relay socket to `peer`.
    Forward {
        /// The allocation's relay socket.
        relay: H,
        /// Where the payload goes.
        peer: SocketAddr,
        /// The application data, borrowed from the input.
        payload: &'a [u8],
    },
    /// Authenticated Allocate: bind a relay port, then call [`Relay::finish_allocation`].
    Bind(Box<PendingAllocation>),
    /// The peer is another allocation of this relay: send this to that allocation's client,
    /// exactly as if the packet had arrived on its relay socket. No relay socket is involved.
    Deliver(ToClient<'static>),
}

/// An authenticated Allocate waiting for its relay socket.
#[derive(Debug)]
pub struct PendingAllocation {
    id: AllocationId,
    client: FiveTuple,
    transaction: TransactionId,
    user: String,
    credentials: LongTermKeyCredentials,
    credential_expiry: i64,
    algorithm: IntegrityAlgorithm,
    lifetime: Duration,
    /// Where the relay socket binds.
    relay_ip: IpAddr,
    /// For a dual allocation (ADDITIONAL-ADDRESS-FAMILY), where its IPv6 relay socket binds.
    additional_ip: Option<IpAddr>,
    /// A dual allocation was asked for but this relay has no IPv6 address to give.
    additional_unsupported: bool,
    /// Whether the client asked for an even port (EVEN-PORT).
    pub even_port: bool,
}

impl PendingAllocation {
    /// The id the allocation will have.
    pub fn id(&self) -> AllocationId {
        self.id
    }

    /// The local address the relay socket should bind on: the listener's IP, or one of
    /// [`RelayConfig::relay_ips`] when the client asked for the other address family.
    pub fn relay_ip(&self) -> IpAddr {
        self.relay_ip
    }

    /// For a dual allocation (RFC 8656 §7.2, ADDITIONAL-ADDRESS-FAMILY), the local address its
    /// second, IPv6 relay socket should bind on; bind it and pass it to
    /// [`Relay::finish_dual_allocation`].
    pub fn additional_ip(&self) -> Option<IpAddr> {
        self.additional_ip
    }
}

/// A packet for a client.
#[derive(Debug)]
pub struct ToClient<'b> {
    /// Who gets it.
    pub client: FiveTuple,
    /// ChannelData written in place, or a Data indication.
    pub data: Cow<'b, [u8]>,
}

struct Channel {
    peer: SocketAddr,
    expires: Instant,
}

struct Allocation<H> {
    client: FiveTuple,
    handle: H,
    relayed: SocketAddr,
    /// The IPv6 relay of a dual allocation.
    additional: Option<(SocketAddr, H)>,
    /// Why a dual allocation has no IPv6 relay (ADDRESS-ERROR-CODE in its answers).
    additional_error: Option<u16>,
    user: String,
    credentials: LongTermKeyCredentials,
    credential_expiry: i64,
    transaction: TransactionId,
    lifetime: Duration,
    expires: Instant,
    permissions: HashMap<IpAddr, Instant>,
    channels: HashMap<u16, Channel>,
    channel_of_peer: HashMap<SocketAddr, u16>,
    /// Byte budgets towards peers and towards the client (one second of burst), when
    /// bandwidth is capped.
    budgets: Option<(Limit, [TokenBucket; 2])>,
}

/// Which way a relayed packet goes; each has its own byte budget.
#[derive(Clone, Copy)]
enum Direction {
    ToPeer = 0,
    ToClient = 1,
}

impl<H> Allocation<H> {
    /// Its relayed addresses: one, or two for a dual allocation.
    fn relays(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        std::iter::once(self.relayed).chain(self.additional.as_ref().map(|(addr, _)| *addr))
    }

    /// The relay socket that reaches `peer`: the one of its family.
    fn handle_for(&self, peer: SocketAddr) -> Option<&H> {
        if self.relayed.is_ipv4() == peer.is_ipv4() {
            return Some(&self.handle);
        }
        self.additional.as_ref().filter(|(addr, _)| addr.is_ipv4() == peer.is_ipv4()).map(|(_, handle)| handle)
    }

    /// Whether a packet of `len` bytes to or from `peer` may pass: a live permission for the
    /// peer's address, and room in that direction's budget.
    fn admit(&mut self, peer: SocketAddr, len: usize, direction: Direction, now: Instant) -> bool {
        let permitted = self.permissions.get(&peer.ip()).is_some_and(|&until| until > now);
        permitted
            && self.budgets.as_mut().is_none_or(|(limit, buckets)| buckets[direction as usize].take(len as u64, *limit, now))
    }
}

/// The relay state machine. `H` is the shell's handle to an allocation's relay socket.
pub struct Relay<H> {
    config: RelayConfig,
    nonces: Nonces,
    allocations: HashMap<AllocationId, Allocation<H>>,
    by_client: HashMap<FiveTuple, AllocationId>,
    by_relayed: HashMap<SocketAddr, AllocationId>,
    relayed_by_port: HashMap<u16, SocketAddr>,
    per_user: HashMap<String, usize>,
    /// Users an admin barred, until (unix seconds) every credential minted for them before
    /// has expired.
    barred: HashMap<String, u64>,
    /// Users an admin server-muted: the audio (RTP) they send is not relayed.
    muted: std::collections::HashSet<String>,
    next_id: u64,
    counters: Arc<Counters>,
    unauthenticated: SourceBudget,
}

/// Outcome of checking a request's credentials.
enum Authenticated {
    /// A new client: the credential is fresh and valid.
    New { user: String, credentials: LongTermKeyCredentials, expiry: i64, algorithm: IntegrityAlgorithm },
    /// The allocation's own credentials verified the request.
    Existing { id: AllocationId, algorithm: IntegrityAlgorithm },
}

/// Attributes a TURN request may carry that we understand.
const UNDERSTOOD: &[u16] = &[
    0x0006, // USERNAME
    0x0008, // MESSAGE-INTEGRITY
    0x001C, // MESSAGE-INTEGRITY-SHA256
    0x0014, // REALM
    0x0015, // NONCE
    0x001D, // PASSWORD-ALGORITHM
    0x000C, // CHANNEL-NUMBER
    0x000D, // LIFETIME
    0x0012, // XOR-PEER-ADDRESS
    0x0013, // DATA
    0x0017, // REQUESTED-ADDRESS-FAMILY
    0x0018, // EVEN-PORT
    0x0019, // REQUESTED-TRANSPORT
    0x001A, // DONT-FRAGMENT
];

impl<H: Clone> Relay<H> {
    /// An empty relay reporting into `counters`.
    pub fn new(config: RelayConfig, counters: Arc<Counters>) -> Relay<H> {
        let nonces = Nonces::new(config.nonce_lifetime.as_secs());
        let unauthenticated = SourceBudget::new(config.unauthenticated_per_second);
        Relay {
            config,
            nonces,
            allocations: HashMap::default(),
            by_client: HashMap::default(),
            by_relayed: HashMap::default(),
            relayed_by_port: HashMap::default(),
            per_user: HashMap::default(),
            barred: HashMap::default(),
            muted: Default::default(),
            next_id: 1,
            counters,
            unauthenticated,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// How many allocations exist.
    pub fn allocation_count(&self) -> usize {
        self.allocations.len()
    }

    /// Whether `client` holds an allocation.
    pub fn has_allocation(&self, client: &FiveTuple) -> bool {
        self.by_client.contains_key(client)
    }

    /// Handles one datagram or stream frame from a client.
    pub fn handle_client<'a>(&mut self, from: FiveTuple, data: &'a [u8], now: Now) -> ClientAction<'a, H> {
        match data.first() {
            Some(byte) if byte & 0xC0 == 0x40 => self.handle_channel_data(from, data, now),
            Some(byte) if byte & 0xC0 == 0 => self.handle_stun(from, data, now),
            _ => {
                self.counters.add_dropped();
                ClientAction::Ignore
            }
        }
    }

    /// Drops expired allocations, permissions and channels; call about once a second.
    pub fn handle_timeout(&mut self, now: Now) {
        let expired: Vec<AllocationId> =
            self.allocations.iter().filter(|(_, a)| a.expires <= now.instant).map(|(id, _)| *id).collect();
        for id in expired {
            self.remove(id);
        }
        for allocation in self.allocations.values_mut() {
            allocation.permissions.retain(|_, until| *until > now.instant);
            let channels = &mut allocation.channels;
            allocation.channel_of_peer.retain(|_, number| channels.get(number).is_some_and(|c| c.expires > now.instant));
            channels.retain(|_, c| c.expires > now.instant);
        }
    }

    /// Ends every allocation of `user` (the user part of its REST usernames) and refuses new
    /// ones until `until` (unix seconds), when credentials minted before have expired: an
    /// admin disabled the account.
    pub fn bar_user(&mut self, user: &str, until: u64, now: Now) -> usize {
        let doomed: Vec<AllocationId> = self.allocations.iter().filter(|(_, a)| a.user == user).map(|(id, _)| *id).collect();
        for id in &doomed {
            self.remove(*id);
        }
        self.barred.retain(|_, &mut until| until > now.unix);
        self.barred.insert(user.to_owned(), until);
        doomed.len()
    }

    /// Server-mutes `user`: from now on the RTP media their allocations would send to peers is
    /// dropped, while ICE checks, DTLS and RTCP still pass, so the call stays up, silent.
    pub fn set_muted(&mut self, user: &str, muted: bool) {
        if muted {
            self.muted.insert(user.to_owned());
        } else {
            self.muted.remove(user);
        }
    }

    /// Lets a barred user allocate again (an admin enabled the account).
    pub fn unbar_user(&mut self, user: &str) {
        self.barred.remove(user);
    }

    /// Ends every allocation of a client whose stream closed.
    pub fn client_closed(&mut self, client: FiveTuple) {
        if let Some(id) = self.by_client.get(&client).copied() {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: AllocationId) {
        let Some(allocation) = self.allocations.remove(&id) else { return };
        self.by_client.remove(&allocation.client);
        for relayed in allocation.relays() {
            self.by_relayed.remove(&relayed);
            if self.relayed_by_port.get(&relayed.port()) == Some(&relayed) {
                self.relayed_by_port.remove(&relayed.port());
            }
        }
        if let Some(count) = self.per_user.get_mut(&allocation.user) {
            *count -= 1;
            if *count == 0 {
                self.per_user.remove(&allocation.user);
            }
        }
        self.counters.allocation_ended();
    }
}

/// Whether a credential's user is a connection test rather than an account: its id is
/// negative (account ids never are). Such an allocation may permit only this relay's own
/// relayed addresses, so credentials handed out before login cannot relay anywhere else.
pub fn is_probe(user: &str) -> bool {
    user.starts_with('-')
}
