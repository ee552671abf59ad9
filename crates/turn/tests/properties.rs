//! Properties of the relay's parsing and policy over arbitrary input: no packet makes the core
//! panic or answer with something that is not STUN, nonces round-trip, and IPv4-mapped IPv6
//! addresses get the same verdict as the IPv4 address inside them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use cromulent_turn::counters::Counters;
use cromulent_turn::nonce::Nonces;
use cromulent_turn::peer_policy::PeerPolicy;
use cromulent_turn::relay::{AllocationId, ClientAction, FiveTuple, Now, PEER_HEADROOM, Relay, RelayConfig, Transport};
use proptest::prelude::*;
use stun_types::message::Message;

fn five(transport: Transport, port: u16) -> FiveTuple {
    FiveTuple { transport, client: SocketAddr::from(([192, 0, 2, 1], port)), server: "127.0.0.1:3478".parse().unwrap() }
}

/// Bytes that often look like STUN or ChannelData, so the fuzzing reaches past the first check.
fn packet() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        (proptest::collection::vec(any::<u8>(), 0..120), 0u16..0x40).prop_map(|(mut tail, method)| {
            let mut header = vec![(method >> 8) as u8, method as u8, 0, (tail.len() & !3) as u8, 0x21, 0x12, 0xA4, 0x42];
            header.extend_from_slice(&[7; 12]);
            header.append(&mut tail);
            header
        }),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|payload| {
            let mut frame = vec![0x40, 0x01, 0, payload.len() as u8];
            frame.extend(payload);
            frame
        }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_client_packets_never_panic_and_replies_are_stun(packets in proptest::collection::vec(packet(), 1..8), tcp in any::<bool>()) {
        let mut relay: Relay<u8> = Relay::new(RelayConfig::with_secret(b"s".to_vec()), Arc::new(Counters::default()));
        let now = Now { instant: Instant::now(), unix: 1_800_000_000 };
        let from = five(if tcp { Transport::Tcp } else { Transport::Udp }, 4000);
        for bytes in &packets {
            match relay.handle_client(from, bytes, now) {
                ClientAction::Reply(reply) => prop_assert!(Message::from_bytes(&reply).is_ok(), "{reply:?}"),
                ClientAction::Bind(pending) => {
                    let reply = relay.finish_allocation(pending, Some(("127.0.0.1:50000".parse().unwrap(), 1)), now);
                    prop_assert!(Message::from_bytes(&reply).is_ok());
                }
                ClientAction::Forward { .. } | ClientAction::Ignore => {}
            }
        }
    }

    #[test]
    fn arbitrary_peer_packets_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..300), id in 0u64..3) {
        let mut relay: Relay<u8> = Relay::new(RelayConfig::with_secret(b"s".to_vec()), Arc::new(Counters::default()));
        let now = Now { instant: Instant::now(), unix: 1_800_000_000 };
        let mut buf = vec![0u8; PEER_HEADROOM + payload.len() + 3];
        buf[PEER_HEADROOM..PEER_HEADROOM + payload.len()].copy_from_slice(&payload);
        prop_assert!(relay.handle_peer(AllocationId(id), "8.8.8.8:1".parse().unwrap(), &mut buf, payload.len(), now).is_none());
    }

    #[test]
    fn nonces_round_trip_for_any_client_and_time(ip in any::<[u8; 16]>(), port in any::<u16>(), at in 0u64..u64::MAX / 2, age in 0u64..600) {
        let nonces = Nonces::new(600);
        let client = SocketAddr::new(IpAddr::from(ip), port);
        let nonce = nonces.issue(client, at);
        prop_assert_eq!(nonces.check(&nonce, client, at + age), Ok(()));
        let other = SocketAddr::new(IpAddr::from(ip), port.wrapping_add(1));
        prop_assert!(nonces.check(&nonce, other, at).is_err());
    }

    #[test]
    fn mapped_ipv6_gets_the_ipv4_verdict(ip in any::<u32>(), loopback in any::<bool>()) {
        let policy = PeerPolicy::new(Vec::new(), Vec::new(), loopback);
        let v4 = Ipv4Addr::from(ip);
        prop_assert_eq!(policy.check(IpAddr::V4(v4)), policy.check(IpAddr::V6(v4.to_ipv6_mapped())));
    }
}
