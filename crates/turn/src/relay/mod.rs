//! The relay's state machine, free of IO: datagrams and stream frames go in with the time, and
//! replies, forwards and "bind a relay port" requests come out. Allocations, permissions,
//! channels, quotas and the per-allocation bandwidth budget all live here.

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

mod internal;

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

    fn handle_channel_data<'a>(&mut self, from: FiveTuple, data: &'a [u8], now: Now) -> ClientAction<'a, H> {
        let Ok(frame) = ChannelData::parse(data) else {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        };
        let Some((id, allocation)) = self.by_client.get(&from).and_then(|&id| Some((id, self.allocations.get(&id)?))) else {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        };
        let Some(channel) = allocation.channels.get(&frame.id()).filter(|c| c.expires > now.instant) else {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        };
        let peer = channel.peer;
        let payload = &data[4..4 + frame.data().len()];
        self.relay_to_peer(id, peer, payload, now)
    }

    /// Relays `payload` from allocation `id` towards `peer` (as its client named it): to another
    /// allocation of this relay without a socket, nowhere for a relay port without one, or out
    /// of the allocation's relay socket.
    fn relay_to_peer<'a>(&mut self, id: AllocationId, peer: SocketAddr, payload: &'a [u8], now: Now) -> ClientAction<'a, H> {
        let destination = inward(&self.config, &self.relayed_by_port, peer);
        if let Some(&target) = self.by_relayed.get(&destination) {
            return self.deliver_internally(id, peer, destination, target, payload, now);
        }
        if self.is_vacant_relay_port(destination) {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        }
        let Some(allocation) = self.allocations.get_mut(&id) else {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        };
        let muted = self.muted.contains(&allocation.user);
        forward_to_peer(allocation, &self.counters, peer, destination, payload, muted, now)
    }

    /// Whether `addr` is a port of this relay's range on its advertised `public_ip` with no
    /// allocation behind it (which `by_relayed` would have found): sent out, it would only
    /// travel to the router and back. On a local address the same port may belong to another
    /// program (the range overlaps the ephemeral ports), so that one is left to the policy.
    fn is_vacant_relay_port(&self, addr: SocketAddr) -> bool {
        self.config.public_ip == Some(addr.ip()) && self.config.relay_ports.contains(&addr.port())
    }

    fn handle_stun<'a>(&mut self, from: FiveTuple, data: &'a [u8], now: Now) -> ClientAction<'a, H> {
        if let Some(transaction) = classic_binding_request(data) {
            return self.answer_classic_binding(from, transaction, now);
        }
        let message = match Message::from_bytes(data) {
            Ok(message) => message,
            // RFC 8489 §14.7: a message whose FINGERPRINT does not match is not STUN; no answer.
            Err(StunParseError::FingerprintMismatch) => {
                self.counters.add_dropped();
                return ClientAction::Ignore;
            }
            Err(_) => return self.answer_malformed(from, data, now),
        };
        match message.class() {
            MessageClass::Request => {}
            MessageClass::Indication if message.method() == SEND => return self.handle_send(from, &message, data, now),
            _ => {
                self.counters.add_dropped();
                return ClientAction::Ignore;
            }
        }
        if message.method() == BINDING {
            if !self.unauthenticated.take(from.client.ip(), now.instant) {
                return ClientAction::Ignore;
            }
            let unknown = unknown_required(&message);
            if !unknown.is_empty() {
                self.counters.add_refusal(ErrorCode::UNKNOWN_ATTRIBUTE);
                let mut out = Message::builder_error(&message, MessageWriteVec::new());
                let _ = out.add_attribute(&error_code(ErrorCode::UNKNOWN_ATTRIBUTE));
                let _ = out.add_attribute(&UnknownAttributes::new(&unknown));
                return ClientAction::Reply(finish(out));
            }
            self.counters.add_binding();
            let mut out = Message::builder_success(&message, MessageWriteVec::new());
            let _ = out.add_attribute(&XorMappedAddress::new(from.client, message.transaction_id()));
            return ClientAction::Reply(finish(out));
        }
        let method = message.method();
        if ![ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND].contains(&method) {
            return self.reply_error(from, &message, ErrorCode::BAD_REQUEST, now);
        }
        let auth = match self.authenticate(from, &message, data, now) {
            Ok(auth) => auth,
            Err(reply) => return reply,
        };
        let unknown = unknown_required(&message);
        let algorithm = match &auth {
            Authenticated::New { algorithm, .. } | Authenticated::Existing { algorithm, .. } => *algorithm,
        };
        if !unknown.is_empty() {
            let credentials = self.credentials_of(&auth);
            let mut out = Message::builder_error(&message, MessageWriteVec::new());
            let _ = out.add_attribute(&error_code(ErrorCode::UNKNOWN_ATTRIBUTE));
            let _ = out.add_attribute(&UnknownAttributes::new(&unknown));
            return ClientAction::Reply(sign(out, &credentials, algorithm));
        }
        let outcome = match method {
            ALLOCATE => self.allocate(from, &message, auth, now),
            REFRESH => self.refresh(&message, auth, now),
            CREATE_PERMISSION => self.create_permission(&message, auth, now),
            _ => self.channel_bind(&message, auth, now),
        };
        match outcome {
            Ok(action) => action,
            Err(Refused { code, credentials }) => {
                tracing::debug!(method = method.value(), code, client = %from.client, "TURN request refused");
                self.counters.add_refusal(code);
                let mut out = Message::builder_error(&message, MessageWriteVec::new());
                let _ = out.add_attribute(&error_code(code));
                ClientAction::Reply(sign(out, &credentials, algorithm))
            }
        }
    }

    fn credentials_of(&self, auth: &Authenticated) -> LongTermKeyCredentials {
        match auth {
            Authenticated::New { credentials, .. } => credentials.clone(),
            Authenticated::Existing { id, .. } => self.allocations[id].credentials.clone(),
        }
    }

    /// Malformed STUN: a 400 when the header says it is a request, silence otherwise.
    fn answer_malformed<'a>(&mut self, from: FiveTuple, data: &[u8], now: Now) -> ClientAction<'a, H> {
        self.counters.add_dropped();
        let Some(header) = data.get(..20) else { return ClientAction::Ignore };
        let is_request = header[0] & 0x01 == 0 && header[1] & 0x10 == 0;
        if !is_request
            || header[4..8] != 0x2112_A442u32.to_be_bytes()
            || !self.unauthenticated.take(from.client.ip(), now.instant)
        {
            return ClientAction::Ignore;
        }
        let mut reply = Vec::with_capacity(32);
        reply.extend_from_slice(&[header[0] | 0x01, header[1] | 0x10, 0, 0]);
        reply.extend_from_slice(&header[4..20]);
        let mut out = MessageWriteVec::new();
        out.push_data(&reply);
        let _ = out.add_attribute(&error_code(ErrorCode::BAD_REQUEST));
        ClientAction::Reply(finish(out))
    }

    fn reply_error<'a>(&mut self, from: FiveTuple, message: &Message, code: u16, now: Now) -> ClientAction<'a, H> {
        if !self.unauthenticated.take(from.client.ip(), now.instant) {
            return ClientAction::Ignore;
        }
        self.counters.add_refusal(code);
        let mut out = Message::builder_error(message, MessageWriteVec::new());
        let _ = out.add_attribute(&error_code(code));
        ClientAction::Reply(finish(out))
    }

    /// 401 or 438 with our realm and a fresh nonce.
    fn challenge<'a>(&mut self, from: FiveTuple, message: &Message, code: u16, now: Now) -> ClientAction<'a, H> {
        if !self.unauthenticated.take(from.client.ip(), now.instant) {
            return ClientAction::Ignore;
        }
        let signed = message.has_attribute(MessageIntegrity::TYPE) || message.has_attribute(MessageIntegritySha256::TYPE);
        if code == ErrorCode::UNAUTHORIZED && signed {
            self.counters.add_auth_failure();
        }
        tracing::debug!(method = message.method().value(), code, client = %from.client, "TURN request challenged");
        self.counters.add_refusal(code);
        let mut out = Message::builder_error(message, MessageWriteVec::new());
        let _ = out.add_attribute(&error_code(code));
        if let Ok(realm) = Realm::new(&self.config.realm) {
            let _ = out.add_attribute(&realm);
        }
        if let Ok(nonce) = Nonce::new(&self.nonces.issue(from.client, now.unix)) {
            let _ = out.add_attribute(&nonce);
        }
        ClientAction::Reply(finish(out))
    }

    fn authenticate<'a>(
        &mut self,
        from: FiveTuple,
        message: &Message,
        data: &[u8],
        now: Now,
    ) -> Result<Authenticated, ClientAction<'a, H>> {
        let has_integrity = message.has_attribute(MessageIntegrity::TYPE) || message.has_attribute(MessageIntegritySha256::TYPE);
        if !has_integrity {
            return Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now));
        }
        let (Ok(username), Ok(realm), Ok(nonce)) =
            (message.attribute::<Username>(), message.attribute::<Realm>(), message.attribute::<Nonce>())
        else {
            return Err(self.reply_error(from, message, ErrorCode::BAD_REQUEST, now));
        };
        match self.nonces.check(nonce.nonce(), from.client, now.unix) {
            Ok(()) => {}
            Err(NonceError::Stale | NonceError::Invalid) => {
                return Err(self.challenge(from, message, ErrorCode::STALE_NONCE, now));
            }
        }
        if realm.realm() != self.config.realm {
            return Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now));
        }
        if let Some(&id) = self.by_client.get(&from) {
            let allocation = &self.allocations[&id];
            if allocation.credentials.username() != username.username() {
                self.counters.add_refusal(ErrorCode::WRONG_CREDENTIALS);
                let mut out = Message::builder_error(message, MessageWriteVec::new());
                let _ = out.add_attribute(&error_code(ErrorCode::WRONG_CREDENTIALS));
                return Err(ClientAction::Reply(finish(out)));
            }
            // Deleting (a Refresh with LIFETIME 0) is always allowed: it only gives resources back.
            let deleting = message.method() == REFRESH && matches!(message.attribute::<Lifetime>(), Ok(l) if l.seconds() == 0);
            let strict_expired = self.config.strict_expiry && allocation.credential_expiry < now.unix as i64 && !deleting;
            return match check_integrity(data, message, &allocation.credentials) {
                Some(algorithm) if !strict_expired => Ok(Authenticated::Existing { id, algorithm }),
                _ => Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now)),
            };
        }
        let Some(rest) = parse_username(username.username()) else {
            return Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now));
        };
        if rest.expiry < now.unix as i64 {
            return Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now));
        }
        for secret in &self.config.secrets {
            let credentials = LongTermKeyCredentials::new(
                username.username().to_owned(),
                password_for(secret, username.username()),
                self.config.realm.clone(),
            );
            if let Some(algorithm) = check_integrity(data, message, &credentials) {
                if self.barred.get(rest.user).is_some_and(|&until| until > now.unix) {
                    self.counters.add_refusal(ErrorCode::FORBIDDEN);
                    let mut out = Message::builder_error(message, MessageWriteVec::new());
                    let _ = out.add_attribute(&error_code(ErrorCode::FORBIDDEN));
                    return Err(ClientAction::Reply(sign(out, &credentials, algorithm)));
                }
                return Ok(Authenticated::New { user: rest.user.to_owned(), credentials, expiry: rest.expiry, algorithm });
            }
        }
        Err(self.challenge(from, message, ErrorCode::UNAUTHORIZED, now))
    }

    fn allocate<'a>(&mut self, from: FiveTuple, message: &Message, auth: Authenticated, now: Now) -> Outcome<'a, H> {
        let (user, credentials, expiry, algorithm) = match auth {
            Authenticated::Existing { id, algorithm } => {
                let allocation = &self.allocations[&id];
                if allocation.transaction == message.transaction_id() {
                    let mut out = Message::builder_success(message, MessageWriteVec::new());
                    self.add_allocation_attributes(&mut out, allocation, now, message.transaction_id());
                    return Ok(ClientAction::Reply(sign(out, &allocation.credentials, algorithm)));
                }
                return Err(Refused::new(ErrorCode::ALLOCATION_MISMATCH, &allocation.credentials));
            }
            Authenticated::New { user, credentials, expiry, algorithm } => (user, credentials, expiry, algorithm),
        };
        match message.attribute::<RequestedTransport>() {
            Ok(transport) if transport.protocol() == RequestedTransport::UDP => {}
            Ok(_) => return Err(Refused::new(ErrorCode::UNSUPPORTED_TRANSPORT_PROTOCOL, &credentials)),
            Err(_) => return Err(Refused::new(ErrorCode::BAD_REQUEST, &credentials)),
        }
        // A dual allocation adds an IPv6 relay to the IPv4 one (RFC 8656 §7.2); asking for an
        // IPv4 one, or for a dual allocation and one family at once, is malformed.
        let dual = match message.attribute::<AdditionalAddressFamily>() {
            Ok(family) if family.family() == stun_types::AddressFamily::IPV6 => true,
            Ok(_) => return Err(Refused::new(ErrorCode::BAD_REQUEST, &credentials)),
            Err(_) if message.has_attribute(AdditionalAddressFamily::TYPE) => {
                return Err(Refused::new(ErrorCode::BAD_REQUEST, &credentials));
            }
            Err(_) => false,
        };
        if dual && message.has_attribute(RequestedAddressFamily::TYPE) {
            return Err(Refused::new(ErrorCode::BAD_REQUEST, &credentials));
        }
        // IPv4 unless the client asks for IPv6 (RFC 8656 §7.2), whatever family it came over.
        let wants_v6 = match message.attribute::<RequestedAddressFamily>() {
            Ok(family) if family.family() == stun_types::AddressFamily::IPV6 => true,
            Ok(family) if family.family() == stun_types::AddressFamily::IPV4 => false,
            // A family that is neither (RFC 8656 §7.2): 440, not a guess.
            Ok(_) => return Err(Refused::new(ErrorCode::ADDRESS_FAMILY_NOT_SUPPORTED, &credentials)),
            Err(_) if message.has_attribute(RequestedAddressFamily::TYPE) => {
                return Err(Refused::new(ErrorCode::ADDRESS_FAMILY_NOT_SUPPORTED, &credentials));
            }
            Err(_) => false,
        };
        let Some(relay_ip) = self.relay_ip_for(from.server.ip(), wants_v6) else {
            return Err(Refused::new(ErrorCode::ADDRESS_FAMILY_NOT_SUPPORTED, &credentials));
        };
        let additional_ip = dual.then(|| self.relay_ip_for(from.server.ip(), true)).flatten();
        if self.per_user.get(&user).copied().unwrap_or(0) >= self.config.user_quota {
            return Err(Refused::new(ErrorCode::ALLOCATION_QUOTA_REACHED, &credentials));
        }
        if self.allocations.len() >= self.config.total_quota {
            return Err(Refused::new(ErrorCode::INSUFFICIENT_CAPACITY, &credentials));
        }
        let _ = message.attribute::<DontFragment>();
        let even_port = message.attribute::<EvenPort>().is_ok();
        let id = AllocationId(self.next_id);
        self.next_id += 1;
        Ok(ClientAction::Bind(Box::new(PendingAllocation {
            id,
            client: from,
            transaction: message.transaction_id(),
            user,
            credentials,
            credential_expiry: expiry,
            algorithm,
            lifetime: self.granted_lifetime(message),
            relay_ip,
            additional_ip,
            additional_unsupported: dual && additional_ip.is_none(),
            even_port,
        })))
    }

    /// Completes an Allocate once the shell has bound (or failed to bind) a relay socket.
    pub fn finish_allocation(&mut self, pending: Box<PendingAllocation>, bound: Option<(SocketAddr, H)>, now: Now) -> Vec<u8> {
        self.finish_dual_allocation(pending, bound, None, now)
    }

    /// [`Relay::finish_allocation`] for a dual allocation, with the IPv6 relay socket bound at
    /// [`PendingAllocation::additional_ip`] (`None` when it could not be: the allocation goes
    /// ahead with IPv4 alone and says why in ADDRESS-ERROR-CODE, as RFC 8656 §7.2 asks).
    pub fn finish_dual_allocation(
        &mut self,
        pending: Box<PendingAllocation>,
        bound: Option<(SocketAddr, H)>,
        additional: Option<(SocketAddr, H)>,
        now: Now,
    ) -> Vec<u8> {
        let refuse = |code: u16| {
            let mut out = Message::builder(
                stun_types::message::MessageType::from_class_method(MessageClass::Error, ALLOCATE),
                pending.transaction,
                MessageWriteVec::new(),
            );
            let _ = out.add_attribute(&error_code(code));
            sign(out, &pending.credentials, pending.algorithm)
        };
        let over_quota = self.per_user.get(&pending.user).copied().unwrap_or(0) >= self.config.user_quota;
        let Some((relayed, handle)) = bound else {
            self.counters.add_refusal(ErrorCode::INSUFFICIENT_CAPACITY);
            return refuse(ErrorCode::INSUFFICIENT_CAPACITY);
        };
        if self.by_client.contains_key(&pending.client) || over_quota {
            let code = if over_quota { ErrorCode::ALLOCATION_QUOTA_REACHED } else { ErrorCode::ALLOCATION_MISMATCH };
            self.counters.add_refusal(code);
            return refuse(code);
        }
        let id = pending.id;
        let lifetime = self.allowed_lifetime(pending.lifetime, pending.credential_expiry, now);
        let additional_error = match (&additional, pending.additional_ip, pending.additional_unsupported) {
            (None, _, true) => Some(ErrorCode::ADDRESS_FAMILY_NOT_SUPPORTED),
            (None, Some(_), _) => Some(ErrorCode::INSUFFICIENT_CAPACITY),
            _ => None,
        };
        let additional = additional.filter(|_| pending.additional_ip.is_some());
        let allocation = Allocation {
            client: pending.client,
            handle,
            relayed,
            additional,
            additional_error,
            user: pending.user,
            credentials: pending.credentials,
            credential_expiry: pending.credential_expiry,
            transaction: pending.transaction,
            lifetime,
            expires: now.instant + lifetime,
            permissions: HashMap::default(),
            channels: HashMap::default(),
            channel_of_peer: HashMap::default(),
            budgets: self.config.allocation_bandwidth.map(|rate| {
                let limit = Limit { per_second: rate, burst: rate };
                (limit, [TokenBucket::full(limit, now.instant), TokenBucket::full(limit, now.instant)])
            }),
        };
        *self.per_user.entry(allocation.user.clone()).or_insert(0) += 1;
        self.by_client.insert(allocation.client, id);
        for relayed in allocation.relays() {
            self.by_relayed.insert(relayed, id);
            self.relayed_by_port.insert(relayed.port(), relayed);
        }
        let transaction = allocation.transaction;
        let reply = {
            let mut out = Message::builder(
                stun_types::message::MessageType::from_class_method(MessageClass::Success, ALLOCATE),
                transaction,
                MessageWriteVec::new(),
            );
            self.add_allocation_attributes(&mut out, &allocation, now, transaction);
            sign(out, &allocation.credentials, pending.algorithm)
        };
        self.allocations.insert(id, allocation);
        self.counters.allocation_created();
        reply
    }

    /// The local address for a relayed address of the asked family: the one the client reached
    /// when it is of that family, else a configured one, loopback for a client on loopback.
    fn relay_ip_for(&self, reached: IpAddr, wants_v6: bool) -> Option<IpAddr> {
        if reached.is_ipv6() == wants_v6 {
            return Some(reached);
        }
        let candidates = || self.config.relay_ips.iter().copied().filter(|ip| ip.is_ipv6() == wants_v6);
        candidates().find(|ip| ip.is_loopback() == reached.is_loopback()).or_else(|| candidates().next())
    }

    /// `lifetime`, cut at the credential's expiry under `strict_expiry` so relaying stops then.
    fn allowed_lifetime(&self, lifetime: Duration, credential_expiry: i64, now: Now) -> Duration {
        if !self.config.strict_expiry {
            return lifetime;
        }
        lifetime.min(Duration::from_secs(credential_expiry.saturating_sub(now.unix as i64).max(0) as u64))
    }

    /// RFC 8489 §12.2: a Binding request of RFC 3489 (no magic cookie) gets MAPPED-ADDRESS, so
    /// classic NAT-type tools see the relay answer. IPv4 only, as RFC 3489 was.
    fn answer_classic_binding<'a>(&mut self, from: FiveTuple, transaction: [u8; 16], now: Now) -> ClientAction<'a, H> {
        let SocketAddr::V4(client) = from.client else { return ClientAction::Ignore };
        if !self.unauthenticated.take(from.client.ip(), now.instant) {
            return ClientAction::Ignore;
        }
        self.counters.add_binding();
        let mut reply = Vec::with_capacity(32);
        reply.extend_from_slice(&[0x01, 0x01, 0x00, 0x0C]);
        reply.extend_from_slice(&transaction);
        reply.extend_from_slice(&[0x00, 0x01, 0x00, 0x08, 0x00, 0x01]);
        reply.extend_from_slice(&client.port().to_be_bytes());
        reply.extend_from_slice(&client.ip().octets());
        ClientAction::Reply(reply)
    }

    fn granted_lifetime(&self, message: &Message) -> Duration {
        let requested = message.attribute::<Lifetime>().map(|l| Duration::from_secs(l.seconds().into())).ok();
        requested.unwrap_or(self.config.default_lifetime).clamp(self.config.default_lifetime, self.config.max_lifetime)
    }

    /// XOR-RELAYED-ADDRESS for each relayed address (advertised), LIFETIME, XOR-MAPPED-ADDRESS,
    /// and ADDRESS-ERROR-CODE when a dual allocation got no IPv6 relay.
    fn add_allocation_attributes(
        &self,
        out: &mut MessageWriteVec,
        allocation: &Allocation<H>,
        now: Now,
        transaction: TransactionId,
    ) {
        let left = allocation.expires.saturating_duration_since(now.instant).as_secs().max(1) as u32;
        for relayed in allocation.relays() {
            let _ = out.add_attribute(&XorRelayedAddress::new(self.advertised(relayed), transaction));
        }
        if let Some(code) = allocation.additional_error {
            let error = error_code(code);
            let _ = out.add_attribute(&AddressErrorCode::new(stun_types::AddressFamily::IPV6, error));
        }
        let _ = out.add_attribute(&Lifetime::new(left.min(allocation.lifetime.as_secs() as u32)));
        let _ = out.add_attribute(&XorMappedAddress::new(allocation.client.client, transaction));
    }

    fn advertised(&self, relayed: SocketAddr) -> SocketAddr {
        match self.config.public_ip {
            Some(ip) if ip.is_ipv4() == relayed.is_ipv4() => SocketAddr::new(ip, relayed.port()),
            _ => relayed,
        }
    }

    fn refresh<'a>(&mut self, message: &Message, auth: Authenticated, now: Now) -> Outcome<'a, H> {
        let (id, algorithm) = self.existing(auth)?;
        let requested = message.attribute::<Lifetime>().map(|l| l.seconds()).ok();
        let lifetime = if requested == Some(0) { Duration::ZERO } else { self.granted_lifetime(message) };
        let credential_expiry = self.allocations[&id].credential_expiry;
        let lifetime = self.allowed_lifetime(lifetime, credential_expiry, now);
        let allocation = self.allocations.get_mut(&id).expect("authenticated against it");
        let credentials = allocation.credentials.clone();
        if lifetime.is_zero() {
            self.remove(id);
        } else {
            allocation.expires = now.instant + lifetime;
            allocation.lifetime = lifetime;
        }
        let mut out = Message::builder_success(message, MessageWriteVec::new());
        let _ = out.add_attribute(&Lifetime::new(lifetime.as_secs() as u32));
        Ok(ClientAction::Reply(sign(out, &credentials, algorithm)))
    }

    fn create_permission<'a>(&mut self, message: &Message, auth: Authenticated, now: Now) -> Outcome<'a, H> {
        let (id, algorithm) = self.existing(auth)?;
        let credentials = self.allocations[&id].credentials.clone();
        let mut peers = Vec::new();
        for n in 0.. {
            match message.nth_attribute::<XorPeerAddress>(n) {
                Ok(peer) => peers.push(peer.addr(message.transaction_id())),
                Err(_) => break,
            }
        }
        if peers.is_empty() {
            return Err(Refused::new(ErrorCode::BAD_REQUEST, &credentials));
        }
        for peer in &peers {
            self.check_peer(id, *peer, &credentials)?;
        }
        let allocation = self.allocations.get_mut(&id).expect("authenticated against it");
        let new_peers = peers.iter().filter(|p| !allocation.permissions.contains_key(&p.ip())).count();
        if allocation.permissions.len() + new_peers > MAX_PERMISSIONS {
            return Err(Refused::new(ErrorCode::INSUFFICIENT_CAPACITY, &credentials));
        }
        for peer in peers {
            allocation.permissions.insert(peer.ip(), now.instant + PERMISSION_LIFETIME);
        }
        let out = Message::builder_success(message, MessageWriteVec::new());
        Ok(ClientAction::Reply(sign(out, &credentials, algorithm)))
    }

    fn channel_bind<'a>(&mut self, message: &Message, auth: Authenticated, now: Now) -> Outcome<'a, H> {
        let (id, algorithm) = self.existing(auth)?;
        let credentials = self.allocations[&id].credentials.clone();
        let (Ok(number), Ok(peer)) = (message.attribute::<ChannelNumber>(), message.attribute::<XorPeerAddress>()) else {
            return Err(Refused::new(ErrorCode::BAD_REQUEST, &credentials));
        };
        let number = number.channel();
        let peer = peer.addr(message.transaction_id());
        if !CHANNEL_NUMBERS.contains(&number) {
            return Err(Refused::new(ErrorCode::BAD_REQUEST, &credentials));
        }
        self.check_peer(id, peer, &credentials)?;
        let allocation = self.allocations.get_mut(&id).expect("authenticated against it");
        let clash_number = allocation.channels.get(&number).is_some_and(|c| c.peer != peer);
        let clash_peer = allocation.channel_of_peer.get(&peer).is_some_and(|&n| n != number);
        if clash_number || clash_peer {
            return Err(Refused::new(ErrorCode::BAD_REQUEST, &credentials));
        }
        if !allocation.permissions.contains_key(&peer.ip()) && allocation.permissions.len() >= MAX_PERMISSIONS {
            return Err(Refused::new(ErrorCode::INSUFFICIENT_CAPACITY, &credentials));
        }
        allocation.channels.insert(number, Channel { peer, expires: now.instant + CHANNEL_LIFETIME });
        allocation.channel_of_peer.insert(peer, number);
        allocation.permissions.insert(peer.ip(), now.instant + PERMISSION_LIFETIME);
        let out = Message::builder_success(message, MessageWriteVec::new());
        Ok(ClientAction::Reply(sign(out, &credentials, algorithm)))
    }

    fn existing(&self, auth: Authenticated) -> Result<(AllocationId, IntegrityAlgorithm), Refused> {
        match auth {
            Authenticated::Existing { id, algorithm } => Ok((id, algorithm)),
            Authenticated::New { credentials, .. } => Err(Refused::new(ErrorCode::ALLOCATION_MISMATCH, &credentials)),
        }
    }

    /// 443 for a family the allocation has no relay of, 403 for peers the policy refuses.
    fn check_peer(&self, id: AllocationId, peer: SocketAddr, credentials: &LongTermKeyCredentials) -> Result<(), Refused> {
        let allocation = &self.allocations[&id];
        if allocation.handle_for(peer).is_none() {
            return Err(Refused::new(ErrorCode::PEER_ADDRESS_FAMILY_MISMATCH, credentials));
        }
        // A connection test's allocations only ever talk to each other.
        let allowed = if is_probe(&allocation.user) { self.own_relayed(peer).is_some() } else { self.peer_allowed(peer) };
        if !allowed {
            self.counters.add_peer_refused();
            return Err(Refused::new(ErrorCode::FORBIDDEN, credentials));
        }
        Ok(())
    }

    /// The policy, except that our own relayed addresses are always reachable (hairpin), so
    /// two users relayed by the same server can talk even when its address is private.
    fn peer_allowed(&self, peer: SocketAddr) -> bool {
        self.config.peer_policy.check(peer.ip()).is_ok() || self.own_relayed(peer).is_some()
    }

    fn own_relayed(&self, peer: SocketAddr) -> Option<AllocationId> {
        self.by_relayed.get(&self.inward(peer)).copied()
    }

    /// Our advertised (public) relayed address as the local one the kernel can reach, so
    /// hairpinned packets need no NAT loopback.
    fn inward(&self, peer: SocketAddr) -> SocketAddr {
        inward(&self.config, &self.relayed_by_port, peer)
    }

    /// A permission covers every port of the peer's IP, so a Send is checked against the policy
    /// too: a hairpin permission for one of our relayed addresses must not open the host's
    /// other ports.
    fn handle_send<'a>(&mut self, from: FiveTuple, message: &Message, data: &'a [u8], now: Now) -> ClientAction<'a, H> {
        let (Ok(peer), Some((offset, raw))) =
            (message.attribute::<XorPeerAddress>(), message.raw_attribute_and_offset(Data::TYPE))
        else {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        };
        let peer = peer.addr(message.transaction_id());
        if !self.peer_allowed(peer) {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        }
        let Some(&id) = self.by_client.get(&from) else {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        };
        let start = offset + 4;
        let payload = &data[start..start + usize::from(raw.header.length())];
        self.relay_to_peer(id, peer, payload, now)
    }

    /// Handles a datagram a peer sent to allocation `id`'s relay socket. The payload sits at
    /// `buf[PEER_HEADROOM..PEER_HEADROOM + len]`; a ChannelData header is written in front of it.
    pub fn handle_peer<'b>(
        &mut self,
        id: AllocationId,
        peer: SocketAddr,
        buf: &'b mut [u8],
        len: usize,
        now: Now,
    ) -> Option<ToClient<'b>> {
        let peer = self.outward(peer);
        let (client, channel) = self.admit_to_client(id, peer, len, now)?;
        if let Some(number) = channel {
            buf[..2].copy_from_slice(&number.to_be_bytes());
            buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            let mut total = PEER_HEADROOM + len;
            if client.transport != Transport::Udp {
                let padded = total.next_multiple_of(4);
                buf[total..padded].fill(0);
                total = padded;
            }
            return Some(ToClient { client, data: Cow::Borrowed(&buf[..total]) });
        }
        let payload = &buf[PEER_HEADROOM..PEER_HEADROOM + len];
        let mut out = Message::builder_indication(DATA, MessageWriteVec::with_capacity(len + 48));
        let transaction = out.transaction_id();
        let _ = out.add_attribute(&XorPeerAddress::new(peer, transaction));
        let _ = out.add_attribute(&Data::new(payload));
        Some(ToClient { client, data: Cow::Owned(out.finish()) })
    }

    /// Whether allocation `id` takes `len` bytes from `peer` (as its client will see it): a
    /// permission, room in the budget, and a size a Data indication can carry when no channel
    /// is bound. Its client, and the channel to use; counted as relayed, or as dropped.
    fn admit_to_client(&mut self, id: AllocationId, peer: SocketAddr, len: usize, now: Now) -> Option<(FiveTuple, Option<u16>)> {
        let Some(allocation) = self.allocations.get_mut(&id) else {
            self.counters.add_dropped();
            return None;
        };
        if !allocation.admit(peer, len, Direction::ToClient, now.instant) {
            self.counters.add_dropped();
            return None;
        }
        let channel = allocation.channel_of_peer.get(&peer).filter(|n| allocation.channels[n].expires > now.instant).copied();
        if channel.is_none() && len > max_data_indication_payload(peer) {
            self.counters.add_dropped();
            return None;
        }
        self.counters.add_to_client(len);
        Some((allocation.client, channel))
    }

    /// A packet from one of our own relay sockets is seen as coming from its advertised address.
    fn outward(&self, peer: SocketAddr) -> SocketAddr {
        match self.config.public_ip {
            Some(public) if self.by_relayed.contains_key(&peer) && public.is_ipv4() == peer.is_ipv4() => {
                SocketAddr::new(public, peer.port())
            }
            _ => peer,
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

/// Our advertised (public) relayed address as the local one the kernel can reach, so
/// hairpinned packets need no NAT loopback.
fn inward(config: &RelayConfig, relayed_by_port: &HashMap<u16, SocketAddr>, peer: SocketAddr) -> SocketAddr {
    match config.public_ip {
        Some(public) if public == peer.ip() => relayed_by_port.get(&peer.port()).copied().unwrap_or(peer),
        _ => peer,
    }
}

/// The largest payload a Data indication from `peer` can carry: STUN's 16-bit length (a
/// multiple of 4) less XOR-PEER-ADDRESS and the DATA header. Longer ones would wrap the length.
fn max_data_indication_payload(peer: SocketAddr) -> usize {
    let xor_peer_address = if peer.is_ipv4() { 4 + 8 } else { 4 + 20 };
    0xFFFC - xor_peer_address - 4
}

/// Sends to `destination` if the permission for `peer` (as the client named it) and the byte
/// budget allow it.
#[allow(clippy::too_many_arguments, reason = "the hot path passes borrowed parts of the relay")]
fn forward_to_peer<'a, H: Clone>(
    allocation: &mut Allocation<H>,
    counters: &Counters,
    peer: SocketAddr,
    destination: SocketAddr,
    payload: &'a [u8],
    muted: bool,
    now: Now,
) -> ClientAction<'a, H> {
    if muted && is_rtp_media(payload) {
        counters.add_dropped();
        return ClientAction::Ignore;
    }
    if !allocation.admit(peer, payload.len(), Direction::ToPeer, now.instant) {
        counters.add_dropped();
        return ClientAction::Ignore;
    }
    let Some(relay) = allocation.handle_for(destination).cloned() else {
        counters.add_dropped();
        return ClientAction::Ignore;
    };
    counters.add_to_peer(payload.len());
    ClientAction::Forward { relay, peer: destination, payload }
}

/// Whether a datagram is (S)RTP media rather than STUN, DTLS or RTCP, told apart as RFC 7983
/// says: version 2 in the first byte (128–191) and a second byte outside RTCP's 192–223.
/// SRTP keeps this header in the clear, so the relay can tell audio without decrypting it.
pub fn is_rtp_media(payload: &[u8]) -> bool {
    payload.len() >= 12 && (128..=191).contains(&payload[0]) && !(192..=223).contains(&payload[1])
}

type Outcome<'a, H> = Result<ClientAction<'a, H>, Refused>;

/// A refused request: the error code and the credentials to sign the answer with.
struct Refused {
    code: u16,
    credentials: LongTermKeyCredentials,
}

impl Refused {
    fn new(code: u16, credentials: &LongTermKeyCredentials) -> Refused {
        Refused { code, credentials: credentials.clone() }
    }
}

fn error_code(code: u16) -> ErrorCode {
    ErrorCode::builder(code).build().expect("codes we send are in range")
}

/// Comprehension-required attributes of `message` the relay does not understand.
fn unknown_required(message: &Message) -> Vec<stun_types::attribute::AttributeType> {
    message
        .iter_attributes()
        .map(|(_, raw)| raw.get_type())
        .filter(|t| t.comprehension_required() && !UNDERSTOOD.contains(&u16::from(*t)))
        .collect()
}

/// The transaction id of an RFC 3489 Binding request: type 0x0001, no magic cookie, a length
/// that matches the datagram.
fn classic_binding_request(data: &[u8]) -> Option<[u8; 16]> {
    let header = data.get(..20)?;
    let classic = header[..2] == [0x00, 0x01]
        && header[4..8] != 0x2112_A442u32.to_be_bytes()
        && usize::from(u16::from_be_bytes([header[2], header[3]])) == data.len() - 20;
    classic.then(|| header[4..20].try_into().expect("16 bytes"))
}

/// Checks a request's integrity with `credentials`: MESSAGE-INTEGRITY-SHA256 when present (keyed
/// as RFC 8489 §9.2.4 says, see [`integrity`]), MESSAGE-INTEGRITY otherwise.
fn check_integrity(data: &[u8], message: &Message, credentials: &LongTermKeyCredentials) -> Option<IntegrityAlgorithm> {
    if message.has_attribute(MessageIntegritySha256::TYPE) {
        let key = integrity::long_term_key(credentials.username(), credentials.realm(), credentials.password());
        return integrity::verify_sha256(data, &key).then_some(IntegrityAlgorithm::Sha256);
    }
    message.validate_integrity(&MessageIntegrityCredentials::LongTerm(credentials.clone())).ok()
}

/// Adds MESSAGE-INTEGRITY (of the request's kind) and FINGERPRINT.
fn sign(mut out: MessageWriteVec, credentials: &LongTermKeyCredentials, algorithm: IntegrityAlgorithm) -> Vec<u8> {
    if algorithm == IntegrityAlgorithm::Sha256 {
        let key = integrity::long_term_key(credentials.username(), credentials.realm(), credentials.password());
        return integrity::sign_sha256(out.finish(), &key);
    }
    let _ = out.add_message_integrity(&MessageIntegrityCredentials::LongTerm(credentials.clone()), algorithm);
    finish(out)
}

/// Adds FINGERPRINT.
fn finish(mut out: MessageWriteVec) -> Vec<u8> {
    let _ = out.add_fingerprint();
    out.finish()
}
