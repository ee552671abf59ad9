//! Fuzz target: any bytes from a client (over UDP or a stream) and from a peer go through the
//! relay's core; it must never panic, and what it answers must parse as STUN.
#![no_main]

use std::sync::Arc;
use std::time::Instant;

use cromulent_turn::counters::Counters;
use cromulent_turn::relay::{AllocationId, ClientAction, FiveTuple, Now, PEER_HEADROOM, Relay, RelayConfig, Transport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, packet)) = data.split_first() else { return };
    let mut relay: Relay<u8> = Relay::new(RelayConfig::with_secret(b"fuzz".to_vec()), Arc::new(Counters::default()));
    let now = Now { instant: Instant::now(), unix: 1_800_000_000 };
    let transport = if selector & 1 == 0 { Transport::Udp } else { Transport::Tcp };
    let from = FiveTuple { transport, client: "192.0.2.1:4000".parse().unwrap(), server: "127.0.0.1:3478".parse().unwrap() };
    match relay.handle_client(from, packet, now) {
        ClientAction::Reply(reply) => assert!(reply.len() >= 20 && reply[4..8] == [0x21, 0x12, 0xA4, 0x42]),
        ClientAction::Bind(pending) => {
            let _ = relay.finish_allocation(pending, Some(("127.0.0.1:50000".parse().unwrap(), 1)), now);
        }
        ClientAction::Forward { .. } | ClientAction::Ignore => {}
    }
    let mut buf = vec![0u8; PEER_HEADROOM + packet.len() + 3];
    buf[PEER_HEADROOM..PEER_HEADROOM + packet.len()].copy_from_slice(packet);
    let _ = relay.handle_peer(AllocationId(1), "8.8.8.8:1".parse().unwrap(), &mut buf, packet.len(), now);
});
