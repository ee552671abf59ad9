//! Properties of the relay core over arbitrary input: no packet makes it panic or answer with
//! something that is not STUN, nothing is ever forwarded to a peer the policy denies, our own
//! relayed addresses are reached only inside the relay and only by an allocation that permits
//! the sender, nonces round-trip, and IPv4-mapped IPv6 gets the IPv4 verdict.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use cromulent_turn::counters::Counters;
use cromulent_turn::credential::mint;
use cromulent_turn::nonce::Nonces;
use cromulent_turn::peer_policy::PeerPolicy;
use cromulent_turn::relay::{AllocationId, ClientAction, FiveTuple, Now, PEER_HEADROOM, Relay, RelayConfig, Transport};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use stun_types::attribute::{Nonce, RawAttribute, Realm, Username};
use stun_types::message::{
    IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageIntegrityCredentials, MessageWriteVec, Method,
};
use stun_types::prelude::*;
use turn_types::attribute::{ChannelNumber, Data, RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, DATA, REFRESH, SEND};

const SECRET: &[u8] = b"property-secret";
const SERVER: &str = "127.0.0.1:3478";
/// Permitted, with channel 0x4000 bound to it.
const CHANNEL_PEER: &str = "8.8.8.8:5000";
/// Permitted (same IP), no channel.
const OTHER_PORT: &str = "8.8.8.8:6000";
/// Never permitted.
const STRANGER: &str = "1.1.1.1:1";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn now() -> Now {
    Now { instant: Instant::now(), unix: 1_800_000_000 }
}

/// A relay holding one allocation, made the way a client makes it, with a permission for
/// 8.8.8.8 and channel 0x4000 bound to 8.8.8.8:5000.
struct Session {
    relay: Relay<u16>,
    now: Now,
    five: FiveTuple,
    relayed: SocketAddr,
    key: LongTermKeyCredentials,
    nonce: String,
    /// A second allocation, at 127.0.0.1:50002, that never permits anyone.
    idle: FiveTuple,
}

impl Session {
    fn new(transport: Transport) -> Session {
        let mut config = RelayConfig::with_secret(SECRET.to_vec());
        config.allocation_bandwidth = None;
        let mut relay = Relay::new(config, Arc::new(Counters::default()));
        let five = FiveTuple { transport, client: addr("192.0.2.1:4000"), server: addr(SERVER) };
        let now = now();
        let challenge = Message::builder_request(ALLOCATE, MessageWriteVec::new()).finish();
        let ClientAction::Reply(reply) = relay.handle_client(five, &challenge, now) else { panic!("no challenge") };
        let nonce = Message::from_bytes(&reply).unwrap().attribute::<Nonce>().unwrap().nonce().to_owned();
        let credential = mint(SECRET, "7", 1_800_003_600);
        let key = LongTermKeyCredentials::new(credential.username, credential.password, "cromulent".to_owned());
        let idle = FiveTuple { transport, client: addr("192.0.2.9:4000"), server: addr(SERVER) };
        let mut session = Session { relay, now, five, relayed: addr("127.0.0.1:50000"), key, nonce, idle };
        let allocate = session.signed(ALLOCATE, |out| {
            out.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
        });
        let ClientAction::Bind(pending) = session.relay.handle_client(five, &allocate, now) else { panic!("no Bind") };
        session.relay.finish_allocation(pending, Some((session.relayed, 1)), now);
        let ClientAction::Reply(reply) = session.relay.handle_client(idle, &challenge, now) else { panic!("no challenge") };
        let own_nonce = Message::from_bytes(&reply).unwrap().attribute::<Nonce>().unwrap().nonce().to_owned();
        let nonce = std::mem::replace(&mut session.nonce, own_nonce);
        let allocate = session.signed(ALLOCATE, |out| {
            out.add_attribute(&RequestedTransport::new(RequestedTransport::UDP)).unwrap();
        });
        let ClientAction::Bind(pending) = session.relay.handle_client(idle, &allocate, now) else { panic!("no Bind") };
        session.relay.finish_allocation(pending, Some((addr("127.0.0.1:50002"), 3)), now);
        session.nonce = nonce;
        for (method, number) in [(CREATE_PERMISSION, None), (CHANNEL_BIND, Some(0x4000))] {
            let request = session.with_peer(method, addr(CHANNEL_PEER), number);
            let ClientAction::Reply(reply) = session.relay.handle_client(five, &request, now) else { panic!("no reply") };
            assert_eq!(Message::from_bytes(&reply).unwrap().class(), MessageClass::Success);
        }
        session
    }

    /// A request of `method` with what `attributes` adds, signed with the session's credential.
    fn signed(&self, method: Method, attributes: impl FnOnce(&mut MessageWriteVec)) -> Vec<u8> {
        let mut out = Message::builder_request(method, MessageWriteVec::new());
        attributes(&mut out);
        let _ = out.add_attribute(&Username::new(self.key.username()).unwrap());
        let _ = out.add_attribute(&Realm::new(self.key.realm()).unwrap());
        let _ = out.add_attribute(&Nonce::new(&self.nonce).unwrap());
        let _ = out.add_message_integrity(&MessageIntegrityCredentials::LongTerm(self.key.clone()), IntegrityAlgorithm::Sha1);
        let _ = out.add_fingerprint();
        out.finish()
    }

    fn with_peer(&self, method: Method, peer: SocketAddr, channel: Option<u16>) -> Vec<u8> {
        self.signed(method, |out| {
            let transaction = out.transaction_id();
            out.add_attribute(&XorPeerAddress::new(peer, transaction)).unwrap();
            if let Some(number) = channel {
                out.add_attribute(&ChannelNumber::new(number)).unwrap();
            }
        })
    }

    /// Runs a client packet and checks what comes out: replies parse as STUN, forwards carry a
    /// slice of the input to a peer the policy allows or to a relayed address.
    fn client(&mut self, from: FiveTuple, bytes: &[u8]) -> Result<(), TestCaseError> {
        match self.relay.handle_client(from, bytes, self.now) {
            ClientAction::Ignore => {}
            ClientAction::Reply(reply) => prop_assert!(Message::from_bytes(&reply).is_ok(), "{reply:?}"),
            ClientAction::Bind(pending) => {
                let reply = self.relay.finish_allocation(pending, Some((addr("127.0.0.1:50001"), 2)), self.now);
                prop_assert!(Message::from_bytes(&reply).is_ok());
            }
            ClientAction::Forward { peer, payload, .. } => {
                let input = bytes.as_ptr_range();
                prop_assert!(payload.is_empty() || input.contains(&payload.as_ptr()));
                prop_assert!(payload.len() <= bytes.len());
                // Our own relayed addresses are reached inside the relay, never through a socket.
                prop_assert!(PeerPolicy::default().check(peer.ip()).is_ok(), "forwarded to {peer}");
            }
            ClientAction::Deliver(out) => {
                // The idle allocation permits nobody, so nothing may ever reach its client.
                prop_assert_ne!(out.client, self.idle, "delivered to an allocation without a permission");
                prop_assert!(out.client == self.five || out.client == from, "delivered to {:?}", out.client);
            }
        }
        Ok(())
    }
}

/// Bytes that often look like STUN or ChannelData, so the cases reach past the first check.
fn packet() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        (proptest::collection::vec(any::<u8>(), 0..120), 0u16..0x40, any::<bool>()).prop_map(|(mut tail, method, indication)| {
            let class = if indication { 0x10 } else { 0 };
            let mut header = vec![(method >> 8) as u8, method as u8 | class, 0, (tail.len() & !3) as u8, 0x21, 0x12, 0xA4, 0x42];
            header.extend_from_slice(&[7; 12]);
            header.append(&mut tail);
            header
        }),
        (0x3FFEu16..0x4003, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(channel, payload)| {
            let mut frame = channel.to_be_bytes().to_vec();
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            frame.extend(payload);
            frame
        }),
        (peer(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(peer, payload)| {
            let mut out = Message::builder_indication(SEND, MessageWriteVec::new());
            let transaction = out.transaction_id();
            out.add_attribute(&XorPeerAddress::new(peer, transaction)).unwrap();
            out.add_attribute(&Data::new(&payload)).unwrap();
            out.finish()
        }),
    ]
}

/// Peer addresses a client might name: ours, internal ones, the permitted one, anything.
fn peer() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        Just(addr(CHANNEL_PEER)),
        Just(addr(OTHER_PORT)),
        Just(addr("127.0.0.1:50000")),
        Just(addr("127.0.0.1:50002")),
        any::<u16>().prop_map(|port| SocketAddr::from(([127, 0, 0, 1], port))),
        any::<u16>().prop_map(|port| SocketAddr::from(([169, 254, 169, 254], port))),
        (any::<u32>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((Ipv4Addr::from(ip), port))),
        (any::<u128>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((Ipv6Addr::from(ip), port))),
    ]
}

/// One step of a signed conversation: a permission, a channel, a refresh, or raw attributes.
fn signed_step() -> impl Strategy<Value = (u8, SocketAddr, u16, Vec<(u16, Vec<u8>)>)> {
    let raw = proptest::collection::vec((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..24)), 0..4);
    (0u8..4, peer(), 0x3FF0u16..0x4010, raw)
}

fn five(transport: Transport, port: u16) -> FiveTuple {
    FiveTuple { transport, client: SocketAddr::from(([192, 0, 2, 1], port)), server: addr(SERVER) }
}

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![Just(Transport::Udp), Just(Transport::Tcp)]
}

fn net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(ip, len)| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(ip), len).unwrap())),
        (any::<u32>(), 96u8..=128)
            .prop_map(|(ip, len)| IpNet::V6(Ipv6Net::new(Ipv4Addr::from(ip).to_ipv6_mapped(), len).unwrap())),
        (any::<u128>(), 0u8..=128).prop_map(|(ip, len)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(ip), len).unwrap())),
    ]
}

proptest! {
    #[test]
    fn arbitrary_client_packets_never_panic_and_replies_are_stun(
        packets in proptest::collection::vec((packet(), any::<bool>()), 1..8),
        transport in transport(),
    ) {
        let mut session = Session::new(transport);
        for (bytes, stranger) in &packets {
            let from = if *stranger { five(transport, 4001) } else { session.five };
            session.client(from, bytes)?;
        }
    }

    #[test]
    fn signed_requests_never_open_a_denied_peer(
        steps in proptest::collection::vec(signed_step(), 1..6),
        sends in proptest::collection::vec((peer(), proptest::collection::vec(any::<u8>(), 0..16)), 1..6),
        transport in transport(),
    ) {
        let mut session = Session::new(transport);
        for (kind, peer, number, raw) in &steps {
            let method = [CREATE_PERMISSION, CHANNEL_BIND, REFRESH, ALLOCATE][usize::from(*kind)];
            let request = session.signed(method, |out| {
                let transaction = out.transaction_id();
                let _ = out.add_attribute(&XorPeerAddress::new(*peer, transaction));
                let _ = out.add_attribute(&ChannelNumber::new(*number));
                for (kind, value) in raw.iter().filter(|(t, _)| ![0x0008, 0x001C, 0x8028].contains(t)) {
                    let _ = out.add_attribute(&RawAttribute::new((*kind).into(), value));
                }
            });
            session.client(session.five, &request)?;
        }
        for (peer, payload) in &sends {
            let mut out = Message::builder_indication(SEND, MessageWriteVec::new());
            let transaction = out.transaction_id();
            out.add_attribute(&XorPeerAddress::new(*peer, transaction)).unwrap();
            out.add_attribute(&Data::new(payload)).unwrap();
            session.client(session.five, &out.finish())?;
            for number in 0x4000..0x4004u16 {
                let mut frame = number.to_be_bytes().to_vec();
                frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
                frame.extend_from_slice(payload);
                session.client(session.five, &frame)?;
            }
        }
    }

    #[test]
    fn arbitrary_peer_packets_become_exact_channel_data_or_a_data_indication(
        payload in proptest::collection::vec(any::<u8>(), 0..1500),
        from in prop_oneof![Just(CHANNEL_PEER), Just(OTHER_PORT), Just(STRANGER)],
        transport in transport(),
        id in 0u64..3,
    ) {
        let mut session = Session::new(transport);
        let mut buf = vec![0xAAu8; PEER_HEADROOM + payload.len() + 3];
        buf[PEER_HEADROOM..PEER_HEADROOM + payload.len()].copy_from_slice(&payload);
        let out = session.relay.handle_peer(AllocationId(id), addr(from), &mut buf, payload.len(), session.now);
        let Some(out) = out else {
            prop_assert!(id != 1 || from == STRANGER, "a permitted peer's packet was dropped");
            return Ok(());
        };
        prop_assert_eq!(id, 1);
        prop_assert_ne!(from, STRANGER);
        prop_assert_eq!(out.client, session.five);
        if from == CHANNEL_PEER {
            let mut expected = vec![0x40, 0x00];
            expected.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            expected.extend_from_slice(&payload);
            if transport != Transport::Udp {
                expected.resize(expected.len().next_multiple_of(4), 0);
            }
            prop_assert_eq!(&out.data[..], &expected[..]);
        } else {
            let data = out.data.into_owned();
            let indication = Message::from_bytes(&data).unwrap();
            prop_assert_eq!(indication.method(), DATA);
            prop_assert_eq!(indication.class(), MessageClass::Indication);
            prop_assert_eq!(indication.attribute::<XorPeerAddress>().unwrap().addr(indication.transaction_id()), addr(from));
            let carried = indication.attribute::<Data>().unwrap();
            prop_assert_eq!(carried.data(), &payload[..]);
        }
    }

    #[test]
    fn nonces_round_trip_for_any_client_and_time(ip in any::<[u8; 16]>(), port in any::<u16>(), at in 0u64..u64::MAX / 2, age in 0u64..=600) {
        let nonces = Nonces::new(600);
        let client = SocketAddr::new(IpAddr::from(ip), port);
        let nonce = nonces.issue(client, at);
        prop_assert_eq!(nonces.check(&nonce, client, at + age), Ok(()));
        prop_assert!(nonces.check(&nonce, client, at + 601).is_err());
        let other = SocketAddr::new(IpAddr::from(ip), port.wrapping_add(1));
        prop_assert!(nonces.check(&nonce, other, at).is_err());
    }

    #[test]
    fn mapped_ipv6_gets_the_ipv4_verdict(
        ip in any::<u32>(),
        allowed in proptest::collection::vec(net(), 0..3),
        denied in proptest::collection::vec(net(), 0..3),
        loopback in any::<bool>(),
    ) {
        let policy = PeerPolicy::new(allowed, denied, loopback);
        let v4 = Ipv4Addr::from(ip);
        prop_assert_eq!(policy.check(IpAddr::V4(v4)), policy.check(IpAddr::V6(v4.to_ipv6_mapped())));
    }
}
