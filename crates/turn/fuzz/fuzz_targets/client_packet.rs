//! Fuzz target: a run of client packets (UDP or TCP, raw or wrapped in a correctly signed
//! request), peer datagrams and clock steps against a relay holding one allocation. It must never
//! panic, answer with anything but STUN, or forward to a peer the policy denies; a packet for one
//! of its own relayed addresses goes only to that address's allocation, inside the relay, and
//! only once that allocation's client has permitted the relay's address.
#![no_main]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cromulent_turn::counters::Counters;
use cromulent_turn::credential::mint;
use cromulent_turn::peer_policy::PeerPolicy;
use cromulent_turn::relay::{AllocationId, ClientAction, FiveTuple, Now, PEER_HEADROOM, Relay, RelayConfig, Transport};
use libfuzzer_sys::fuzz_target;
use stun_types::attribute::{Nonce, RawAttribute, Realm, Username};
use stun_types::message::{
    BINDING, IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageIntegrityCredentials, MessageWriteVec,
    Method,
};
use stun_types::prelude::*;
use turn_types::attribute::{ChannelNumber, Data, RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH, SEND};

const SECRET: &[u8] = b"fuzz";
const RELAYED: [&str; 3] = ["127.0.0.1:50000", "127.0.0.1:50001", "127.0.0.1:50002"];
const PEERS: [&str; 5] = ["8.8.8.8:5000", "8.8.8.8:6000", "1.1.1.1:1", "127.0.0.1:50000", "127.0.0.1:6379"];
const METHODS: [Method; 5] = [ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND, BINDING];

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Session {
    relay: Relay<u8>,
    now: Now,
    clients: [FiveTuple; 3],
    key: LongTermKeyCredentials,
    nonces: [String; 3],
    bound: usize,
    /// Which client each relayed address went to.
    owners: Vec<(SocketAddr, FiveTuple)>,
    /// Clients that were ever granted a permission for 127.0.0.1, the relayed addresses' IP.
    permitted: [bool; 3],
}

impl Session {
    /// A relay where the UDP client holds an allocation with a permission for 8.8.8.8 and
    /// channel 0x4000 bound to 8.8.8.8:5000; a TCP client and a stranger have none yet.
    fn new() -> Session {
        let relay = Relay::new(RelayConfig::with_secret(SECRET.to_vec()), Arc::new(Counters::default()));
        let now = Now { instant: Instant::now(), unix: 1_800_000_000 };
        let server = addr("127.0.0.1:3478");
        let clients = [
            FiveTuple { transport: Transport::Udp, client: addr("192.0.2.1:4000"), server },
            FiveTuple { transport: Transport::Tcp, client: addr("192.0.2.1:4001"), server },
            FiveTuple { transport: Transport::Udp, client: addr("192.0.2.2:4000"), server },
        ];
        let credential = mint(SECRET, "7", 1_800_003_600);
        let key = LongTermKeyCredentials::new(credential.username, credential.password, "cromulent".to_owned());
        let mut session =
            Session { relay, now, clients, key, nonces: Default::default(), bound: 0, owners: Vec::new(), permitted: [false; 3] };
        session.challenge();
        let transport = RawAttribute::new(RequestedTransport::TYPE, &[17, 0, 0, 0]);
        session.client(0, &session.signed(0, ALLOCATE, &[transport], None));
        let peer = addr(PEERS[0]);
        session.client(0, &session.signed(0, CREATE_PERMISSION, &[], Some(peer)));
        let number = RawAttribute::new(ChannelNumber::TYPE, &[0x40, 0, 0, 0]);
        session.client(0, &session.signed(0, CHANNEL_BIND, &[number], Some(peer)));
        assert_eq!(session.relay.allocation_count(), 1, "the harness allocates");
        session
    }

    /// A request carrying `raw` attributes, signed with the credential and a nonce valid for
    /// `client` (nonces are bound to the client's address).
    fn signed(&self, client: usize, method: Method, raw: &[RawAttribute], peer: Option<SocketAddr>) -> Vec<u8> {
        let mut out = Message::builder_request(method, MessageWriteVec::new());
        if let Some(peer) = peer {
            let transaction = out.transaction_id();
            let _ = out.add_attribute(&XorPeerAddress::new(peer, transaction));
        }
        for attribute in raw {
            let _ = out.add_attribute(attribute);
        }
        let _ = out.add_attribute(&Username::new(self.key.username()).unwrap());
        let _ = out.add_attribute(&Realm::new(self.key.realm()).unwrap());
        let _ = out.add_attribute(&Nonce::new(&self.nonces[client]).unwrap());
        let _ = out.add_message_integrity(&MessageIntegrityCredentials::LongTerm(self.key.clone()), IntegrityAlgorithm::Sha1);
        let _ = out.add_fingerprint();
        out.finish()
    }

    /// Learns a current nonce for every client from a 401.
    fn challenge(&mut self) {
        for (client, nonce) in self.clients.iter().zip(&mut self.nonces) {
            let request = Message::builder_request(ALLOCATE, MessageWriteVec::new()).finish();
            if let ClientAction::Reply(reply) = self.relay.handle_client(*client, &request, self.now) {
                *nonce = Message::from_bytes(&reply).unwrap().attribute::<Nonce>().unwrap().nonce().to_owned();
            }
        }
    }

    /// Runs a client packet and checks the outcome; the client a packet was delivered to
    /// inside the relay, if it was.
    fn client(&mut self, client: usize, bytes: &[u8]) -> Option<FiveTuple> {
        let from = self.clients[client];
        match self.relay.handle_client(from, bytes, self.now) {
            ClientAction::Ignore => {}
            ClientAction::Reply(reply) => {
                assert_stun(&reply);
                let granted = Message::from_bytes(&reply).is_ok_and(|r| r.class() == MessageClass::Success);
                if granted && names_relay_ip(bytes) {
                    self.permitted[client] = true;
                }
            }
            ClientAction::Bind(pending) => {
                let bound = (self.bound < RELAYED.len()).then(|| (addr(RELAYED[self.bound]), self.bound as u8));
                if let Some((relayed, _)) = bound {
                    self.owners.push((relayed, from));
                }
                self.bound += 1;
                assert_stun(&self.relay.finish_allocation(pending, bound, self.now));
            }
            ClientAction::Forward { peer, payload, .. } => {
                assert!(payload.is_empty() || bytes.as_ptr_range().contains(&payload.as_ptr()));
                // Our own relayed addresses are reached inside the relay, never through a socket.
                assert!(PeerPolicy::default().check(peer.ip()).is_ok(), "forwarded to {peer}");
            }
            ClientAction::Deliver(out) => {
                let to = self.clients.iter().position(|c| *c == out.client).expect("delivered to a known client");
                assert!(self.permitted[to], "delivered to a client that never permitted the relay's address");
                match out.data.first() {
                    Some(0x40..=0x7F) => assert!(out.data.len() >= 4),
                    _ => assert_stun(&out.data),
                }
                return Some(out.client);
            }
        }
        None
    }

    fn peer(&mut self, id: u8, from: SocketAddr, payload: &[u8]) {
        let mut buf = vec![0u8; PEER_HEADROOM + payload.len() + 3];
        buf[PEER_HEADROOM..PEER_HEADROOM + payload.len()].copy_from_slice(payload);
        let now = self.now;
        let Some(out) = self.relay.handle_peer(AllocationId(u64::from(id)), from, &mut buf, payload.len(), now) else { return };
        match out.data.first() {
            Some(0x40..=0x7F) => assert_eq!(usize::from(u16::from_be_bytes([out.data[2], out.data[3]])), payload.len()),
            _ => assert_stun(&out.data),
        }
    }
}

/// One of the interesting peers, or an IPv4 address and port taken from the input.
fn peer_from(pick: u8, data: &mut &[u8]) -> SocketAddr {
    match (usize::from(pick) % (PEERS.len() + 1), *data) {
        (n, _) if n < PEERS.len() => addr(PEERS[n]),
        (_, [a, b, c, d, hi, lo, rest @ ..]) => {
            *data = rest;
            SocketAddr::from(([*a, *b, *c, *d], u16::from_be_bytes([*hi, *lo])))
        }
        _ => addr(PEERS[0]),
    }
}

/// Whether a request names a peer on 127.0.0.1, where the relayed addresses are.
fn names_relay_ip(request: &[u8]) -> bool {
    let Ok(message) = Message::from_bytes(request) else { return false };
    (0..8).map_while(|n| message.nth_attribute::<XorPeerAddress>(n).ok()).any(|peer| {
        peer.addr(message.transaction_id()).ip() == addr(RELAYED[0]).ip()
    })
}

fn send_indication(peer: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut out = Message::builder_indication(SEND, MessageWriteVec::new());
    let transaction = out.transaction_id();
    let _ = out.add_attribute(&XorPeerAddress::new(peer, transaction));
    let _ = out.add_attribute(&Data::new(payload));
    out.finish()
}

fn assert_stun(bytes: &[u8]) {
    assert!(Message::from_bytes(bytes).is_ok(), "not STUN: {bytes:?}");
}

/// Raw attributes from fuzz bytes: type (2), length (1), value; never the ones only the
/// signing step may write.
fn attributes(mut data: &[u8]) -> Vec<RawAttribute<'_>> {
    let mut out = Vec::new();
    while let [hi, lo, len, rest @ ..] = data {
        let (value, next) = rest.split_at(usize::from(*len).min(rest.len()));
        let kind = u16::from_be_bytes([*hi, *lo]);
        if ![0x0006, 0x0008, 0x0014, 0x0015, 0x001C, 0x8028].contains(&kind) {
            out.push(RawAttribute::new(kind.into(), value));
        }
        data = next;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let mut session = Session::new();
    let mut rest = data;
    while let [selector, len, tail @ ..] = rest {
        let (chunk, next) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = next;
        let client = usize::from(selector & 0b11) % 3;
        match selector >> 2 {
            0..=15 => {
                session.client(client, chunk);
            }
            16..=39 => {
                let (&pick, mut raw) = chunk.split_first().unwrap_or((&0, &[]));
                let method = METHODS[usize::from(pick & 0x7) % METHODS.len()];
                let peer = (pick & 0x8 != 0).then(|| peer_from(pick >> 4, &mut raw));
                let request = session.signed(client, method, &attributes(raw), peer);
                session.client(client, &request);
            }
            40..=47 => {
                let (&pick, mut payload) = chunk.split_first().unwrap_or((&0, &[]));
                let peer = peer_from(pick, &mut payload);
                if let Some(to) = session.client(client, &send_indication(peer, payload)) {
                    assert!(session.owners.contains(&(peer, to)), "{peer} delivered to another allocation");
                }
            }
            48..=57 => {
                let (&pick, mut payload) = chunk.split_first().unwrap_or((&0, &[]));
                let from = peer_from(pick & 0x3F, &mut payload);
                session.peer(pick >> 6, from, payload);
            }
            58..=61 => {
                let seconds = u64::from(chunk.first().copied().unwrap_or(1)) * 4;
                session.now.instant += Duration::from_secs(seconds);
                session.now.unix += seconds;
                session.relay.handle_timeout(session.now);
                session.challenge();
            }
            _ => session.relay.client_closed(session.clients[client]),
        }
    }
});
