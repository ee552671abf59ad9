//! The relay core driven without sockets, shared by the core tests: a fake clock, a client
//! that speaks TURN with a REST credential, and builders for the packets browsers send.

#![allow(dead_code, reason = "each test binary uses its own part of the harness")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cromulent_turn::counters::Counters;
use cromulent_turn::credential::mint;
use cromulent_turn::relay::{ClientAction, FiveTuple, Now, PEER_HEADROOM, Relay, RelayConfig, Transport};
use stun_types::attribute::{ErrorCode, Nonce, Realm, Username};
use stun_types::message::{
    IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageIntegrityCredentials, MessageWriteVec, Method,
};
use stun_types::prelude::*;
use turn_types::attribute::{Data, RequestedTransport, XorPeerAddress, XorRelayedAddress};
use turn_types::message::{ALLOCATE, SEND};

pub const SECRET: &[u8] = b"core-test-secret";
pub const SERVER: &str = "127.0.0.1:3478";
/// A public address that is only ever a value here: nothing is sent anywhere.
pub const PEER: &str = "8.8.8.8:5000";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A relay with a fake clock, and the test's handle type (a number per relay socket).
pub struct Harness {
    pub relay: Relay<u32>,
    pub counters: Arc<Counters>,
    pub now: Now,
    pub next_port: u16,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with(|_| {})
    }

    pub fn with(tweak: impl FnOnce(&mut RelayConfig)) -> Harness {
        let mut config = RelayConfig::with_secret(SECRET.to_vec());
        config.unauthenticated_per_second = 10_000;
        tweak(&mut config);
        let counters = Arc::new(Counters::default());
        let now = Now { instant: Instant::now(), unix: 1_800_000_000 };
        Harness { relay: Relay::new(config, counters.clone()), counters, now, next_port: 50_000 }
    }

    pub fn advance(&mut self, by: Duration) {
        self.now.instant += by;
        self.now.unix += by.as_secs();
    }

    /// Feeds `bytes` from `client`; completes a Bind with a fresh relay port.
    pub fn send(&mut self, client: FiveTuple, bytes: &[u8]) -> Answer {
        match self.relay.handle_client(client, bytes, self.now) {
            ClientAction::Ignore => Answer::Nothing,
            ClientAction::Reply(reply) => Answer::Reply(reply),
            ClientAction::Forward { relay, peer, payload } => Answer::Forward(relay, peer, payload.to_vec()),
            ClientAction::Deliver(out) => Answer::Deliver(out.client, out.data.into_owned()),
            ClientAction::Bind(pending) => {
                self.next_port += 1;
                let relayed = SocketAddr::new(pending.relay_ip(), self.next_port);
                let bound = Some((relayed, u32::from(self.next_port)));
                let additional = pending.additional_ip().map(|ip| {
                    self.next_port += 1;
                    (SocketAddr::new(ip, self.next_port), u32::from(self.next_port))
                });
                Answer::Reply(self.relay.finish_dual_allocation(pending, bound, additional, self.now))
            }
        }
    }
}

#[derive(Debug)]
pub enum Answer {
    Nothing,
    Reply(Vec<u8>),
    Forward(u32, SocketAddr, Vec<u8>),
    /// Handed to another allocation's client inside the relay.
    Deliver(FiveTuple, Vec<u8>),
}

impl Answer {
    pub fn reply(&self) -> Message<'_> {
        match self {
            Answer::Reply(bytes) => Message::from_bytes(bytes).expect("replies parse, fingerprint included"),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    pub fn code(&self) -> Option<u16> {
        let reply = self.reply();
        match reply.class() {
            MessageClass::Success => None,
            _ => Some(reply.attribute::<ErrorCode>().expect("errors carry ERROR-CODE").code()),
        }
    }
}

/// A client of the relay on one 5-tuple, with a REST credential.
pub struct Client {
    pub five: FiveTuple,
    pub username: String,
    pub password: String,
    pub realm: String,
    pub nonce: String,
    pub algorithm: IntegrityAlgorithm,
}

impl Client {
    pub fn udp(port: u16, user: &str, expiry: i64) -> Client {
        let credential = mint(SECRET, user, expiry);
        Client {
            five: FiveTuple { transport: Transport::Udp, client: addr(&format!("192.0.2.10:{port}")), server: addr(SERVER) },
            username: credential.username,
            password: credential.password,
            realm: String::new(),
            nonce: String::new(),
            algorithm: IntegrityAlgorithm::Sha1,
        }
    }

    pub fn valid(port: u16) -> Client {
        Client::udp(port, "42", 1_800_003_600)
    }

    pub fn key(&self) -> MessageIntegrityCredentials {
        LongTermKeyCredentials::new(self.username.clone(), self.password.clone(), self.realm.clone()).into()
    }

    /// A request of `method` with `attributes`, signed unless no nonce is known yet.
    pub fn request(&self, method: Method, attributes: &[&dyn AttributeWrite]) -> Vec<u8> {
        let mut out = Message::builder_request(method, MessageWriteVec::new());
        for attribute in attributes {
            out.add_attribute(*attribute).unwrap();
        }
        if !self.nonce.is_empty() {
            out.add_attribute(&Username::new(&self.username).unwrap()).unwrap();
            out.add_attribute(&Realm::new(&self.realm).unwrap()).unwrap();
            out.add_attribute(&Nonce::new(&self.nonce).unwrap()).unwrap();
            out.add_message_integrity(&self.key(), self.algorithm).unwrap();
        }
        out.add_fingerprint().unwrap();
        out.finish()
    }

    /// Learns realm and nonce from a 401 challenge.
    pub fn challenge(&mut self, relay: &mut Harness) {
        let answer = relay.send(self.five, &self.request(ALLOCATE, &[&udp()]));
        assert_eq!(answer.code(), Some(401));
        let reply = answer.reply();
        self.realm = reply.attribute::<Realm>().unwrap().realm().to_owned();
        self.nonce = reply.attribute::<Nonce>().unwrap().nonce().to_owned();
    }

    /// Challenge, then a signed Allocate.
    pub fn allocate(&mut self, relay: &mut Harness) -> Answer {
        self.challenge(relay);
        relay.send(self.five, &self.request(ALLOCATE, &[&udp()]))
    }

    pub fn relayed(&mut self, relay: &mut Harness) -> SocketAddr {
        let answer = self.allocate(relay);
        assert_eq!(answer.code(), None);
        let reply = answer.reply();
        reply.attribute::<XorRelayedAddress>().unwrap().addr(reply.transaction_id())
    }
}

pub fn udp() -> RequestedTransport {
    RequestedTransport::new(RequestedTransport::UDP)
}

/// A request carrying XOR-PEER-ADDRESS (which XORs with the transaction id) and more.
pub fn with_peer(client: &Client, method: Method, peer: &str, extra: &[&dyn AttributeWrite]) -> Vec<u8> {
    let mut out = Message::builder_request(method, MessageWriteVec::new());
    let transaction = out.transaction_id();
    out.add_attribute(&XorPeerAddress::new(addr(peer), transaction)).unwrap();
    for attribute in extra {
        out.add_attribute(*attribute).unwrap();
    }
    out.add_attribute(&Username::new(&client.username).unwrap()).unwrap();
    out.add_attribute(&Realm::new(&client.realm).unwrap()).unwrap();
    out.add_attribute(&Nonce::new(&client.nonce).unwrap()).unwrap();
    out.add_message_integrity(&client.key(), client.algorithm).unwrap();
    out.add_fingerprint().unwrap();
    out.finish()
}

pub fn send_indication(peer: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Message::builder_indication(SEND, MessageWriteVec::new());
    let transaction = out.transaction_id();
    out.add_attribute(&XorPeerAddress::new(addr(peer), transaction)).unwrap();
    out.add_attribute(&Data::new(payload)).unwrap();
    out.finish()
}

pub fn channel_data(number: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = number.to_be_bytes().to_vec();
    frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Puts `payload` where the shell would receive it and runs the core on it.
pub fn from_peer(relay: &mut Harness, id: u64, peer: &str, payload: &[u8]) -> Option<(FiveTuple, Vec<u8>)> {
    let mut buf = vec![0u8; PEER_HEADROOM + payload.len() + 3];
    buf[PEER_HEADROOM..PEER_HEADROOM + payload.len()].copy_from_slice(payload);
    let now = relay.now;
    let id = cromulent_turn::relay::AllocationId(id);
    relay.relay.handle_peer(id, addr(peer), &mut buf, payload.len(), now).map(|out| (out.client, out.data.into_owned()))
}
