//! Two allocations of one relay talking to each other, as two relayed browsers in a call do:
//! the packet is handed from one client to the other inside the relay, under the same rules a
//! packet through the relay sockets would meet — permissions on both sides, the receiver's
//! channel or a Data indication, byte budgets, counters — and never through a socket.

mod common;

use std::net::SocketAddr;

use common::*;
use stun_types::message::Message;
use turn_types::attribute::{ChannelNumber, Data, XorPeerAddress};
use turn_types::message::{CHANNEL_BIND, CREATE_PERMISSION, DATA};

/// Two clients with an allocation each; each permits the other's relayed address.
fn pair(relay: &mut Harness) -> ((Client, SocketAddr), (Client, SocketAddr)) {
    let (mut amy, mut ben) = (Client::valid(4000), Client::valid(4001));
    let (amy_relayed, ben_relayed) = (amy.relayed(relay), ben.relayed(relay));
    for (client, peer) in [(&amy, ben_relayed), (&ben, amy_relayed)] {
        assert_eq!(relay.send(client.five, &with_peer(client, CREATE_PERMISSION, &peer.to_string(), &[])).code(), None);
    }
    ((amy, amy_relayed), (ben, ben_relayed))
}

fn bind(relay: &mut Harness, client: &Client, peer: SocketAddr, number: u16) {
    let request = with_peer(client, CHANNEL_BIND, &peer.to_string(), &[&ChannelNumber::new(number)]);
    assert_eq!(relay.send(client.five, &request).code(), None);
}

#[test]
fn channel_data_reaches_the_other_client_on_its_own_channel() {
    let mut relay = Harness::new();
    let ((amy, amy_relayed), (ben, ben_relayed)) = pair(&mut relay);
    bind(&mut relay, &amy, ben_relayed, 0x4000);
    bind(&mut relay, &ben, amy_relayed, 0x4123);
    match relay.send(amy.five, &channel_data(0x4000, b"voice")) {
        Answer::Deliver(to, data) => assert_eq!((to, data), (ben.five, channel_data(0x4123, b"voice"))),
        other => panic!("{other:?}"),
    }
    let counted = relay.counters.snapshot();
    assert_eq!((counted.internal_deliveries, counted.packets_to_peers, counted.packets_to_clients), (1, 1, 1));
    assert_eq!((counted.bytes_to_peers, counted.bytes_to_clients, counted.dropped), (5, 5, 0));
}

#[test]
fn a_send_becomes_a_data_indication_from_the_senders_relayed_address_without_a_channel() {
    let mut relay = Harness::new();
    let ((amy, amy_relayed), (ben, ben_relayed)) = pair(&mut relay);
    let Answer::Deliver(to, data) = relay.send(amy.five, &send_indication(&ben_relayed.to_string(), b"hello")) else {
        panic!("delivered inside the relay")
    };
    assert_eq!(to, ben.five);
    let indication = Message::from_bytes(&data).unwrap();
    assert_eq!(indication.method(), DATA);
    assert_eq!(indication.attribute::<XorPeerAddress>().unwrap().addr(indication.transaction_id()), amy_relayed);
    assert_eq!(indication.attribute::<Data>().unwrap().data(), b"hello");
}

#[test]
fn stream_clients_get_channel_data_padded_to_four_bytes() {
    let mut relay = Harness::new();
    let (mut amy, mut ben) = (Client::valid(4000), Client::valid(4001));
    ben.five.transport = cromulent_turn::relay::Transport::Tcp;
    let (amy_relayed, ben_relayed) = (amy.relayed(&mut relay), ben.relayed(&mut relay));
    assert_eq!(relay.send(amy.five, &with_peer(&amy, CREATE_PERMISSION, &ben_relayed.to_string(), &[])).code(), None);
    bind(&mut relay, &ben, amy_relayed, 0x4001);
    let Answer::Deliver(_, data) = relay.send(amy.five, &send_indication(&ben_relayed.to_string(), b"hello")) else {
        panic!("delivered")
    };
    let mut padded = channel_data(0x4001, b"hello");
    padded.extend_from_slice(&[0, 0, 0]);
    assert_eq!(data, padded);
}

#[test]
fn a_missing_permission_on_either_side_drops_the_packet() {
    let mut relay = Harness::new();
    let (mut amy, mut ben) = (Client::valid(4000), Client::valid(4001));
    let (amy_relayed, ben_relayed) = (amy.relayed(&mut relay), ben.relayed(&mut relay));
    let to_ben = send_indication(&ben_relayed.to_string(), b"x");
    assert!(matches!(relay.send(amy.five, &to_ben), Answer::Nothing), "amy permits nobody yet");
    assert_eq!(relay.send(amy.five, &with_peer(&amy, CREATE_PERMISSION, &ben_relayed.to_string(), &[])).code(), None);
    assert!(matches!(relay.send(amy.five, &to_ben), Answer::Nothing), "ben has not permitted amy");
    assert_eq!(relay.send(ben.five, &with_peer(&ben, CREATE_PERMISSION, &amy_relayed.to_string(), &[])).code(), None);
    assert!(matches!(relay.send(amy.five, &to_ben), Answer::Deliver(..)));
    let counted = relay.counters.snapshot();
    assert_eq!((counted.dropped, counted.internal_deliveries), (2, 1));
    assert_eq!(counted.packets_to_clients, 1, "a packet the receiver refused is not counted as relayed to it");
}

#[test]
fn the_byte_budgets_apply_and_what_exceeds_them_is_counted_as_dropped() {
    let mut relay = Harness::with(|c| c.allocation_bandwidth = Some(1000));
    let ((amy, _), (_, ben_relayed)) = pair(&mut relay);
    let packet = send_indication(&ben_relayed.to_string(), &[0; 200]);
    let delivered = (0..20).filter(|_| matches!(relay.send(amy.five, &packet), Answer::Deliver(..))).count();
    assert_eq!(delivered, 5, "one second of budget is 1000 bytes");
    assert_eq!(relay.counters.snapshot().dropped, 15);
}

#[test]
fn a_relay_port_without_an_allocation_on_the_public_ip_goes_nowhere() {
    let mut relay = Harness::with(|c| c.public_ip = Some("203.0.113.9".parse().unwrap()));
    let ((amy, _), (ben, ben_relayed)) = pair(&mut relay);
    let vacant = SocketAddr::new(ben_relayed.ip(), ben_relayed.port() + 100);
    assert!(matches!(relay.send(amy.five, &send_indication(&vacant.to_string(), b"x")), Answer::Nothing));
    // Once ben's allocation is gone, its port is vacant too: no socket is asked to reach it.
    relay.relay.client_closed(ben.five);
    assert!(matches!(relay.send(amy.five, &send_indication(&ben_relayed.to_string(), b"x")), Answer::Nothing));
    let counted = relay.counters.snapshot();
    assert_eq!((counted.dropped, counted.packets_to_peers, counted.internal_deliveries), (2, 0, 0));
}

#[test]
fn a_local_port_in_the_relay_range_without_an_allocation_is_an_ordinary_peer() {
    // The relay range overlaps the ephemeral ports: another program on this host may own it.
    let mut relay = Harness::with(|c| c.peer_policy = cromulent_turn::peer_policy::PeerPolicy::new(Vec::new(), Vec::new(), true));
    let ((amy, _), (_, ben_relayed)) = pair(&mut relay);
    let neighbour = SocketAddr::new(ben_relayed.ip(), ben_relayed.port() + 100);
    let permit = with_peer(&amy, CREATE_PERMISSION, &neighbour.to_string(), &[]);
    assert_eq!(relay.send(amy.five, &permit).code(), None);
    match relay.send(amy.five, &send_indication(&neighbour.to_string(), b"x")) {
        Answer::Forward(_, to, _) => assert_eq!(to, neighbour),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_public_ip_form_of_a_relayed_address_is_recognised() {
    let mut relay = Harness::with(|c| c.public_ip = Some("203.0.113.9".parse().unwrap()));
    let ((amy, amy_relayed), (ben, ben_relayed)) = pair(&mut relay);
    assert_eq!(ben_relayed.ip().to_string(), "203.0.113.9", "advertised with the public IP");
    bind(&mut relay, &ben, amy_relayed, 0x4002);
    match relay.send(amy.five, &send_indication(&ben_relayed.to_string(), b"hi")) {
        Answer::Deliver(to, data) => assert_eq!((to, data), (ben.five, channel_data(0x4002, b"hi"))),
        other => panic!("{other:?}"),
    }
    let vacant = SocketAddr::new(ben_relayed.ip(), ben_relayed.port() + 100);
    assert!(matches!(relay.send(amy.five, &send_indication(&vacant.to_string(), b"x")), Answer::Nothing));
}

#[test]
fn a_server_muted_sender_reaches_nobody_inside_the_relay_either() {
    let mut relay = Harness::new();
    let ((amy, _), (_, ben_relayed)) = pair(&mut relay);
    relay.relay.set_muted("42", true);
    let rtp = [0x80, 0x6F, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xAA];
    assert!(matches!(relay.send(amy.five, &send_indication(&ben_relayed.to_string(), &rtp)), Answer::Nothing));
    let rtcp = [0x80, 0xC8, 0, 6, 0, 0, 0, 1, 0, 0, 0, 2];
    assert!(matches!(relay.send(amy.five, &send_indication(&ben_relayed.to_string(), &rtcp)), Answer::Deliver(..)));
}

#[test]
fn a_connection_test_reaches_only_the_relays_own_addresses() {
    let mut relay = Harness::new();
    let mut probe = Client::udp(4000, "-17", 1_800_003_600);
    let mut other = Client::udp(4001, "-17", 1_800_003_600);
    let (probe_relayed, other_relayed) = (probe.relayed(&mut relay), other.relayed(&mut relay));
    assert_eq!(relay.send(probe.five, &with_peer(&probe, CREATE_PERMISSION, "8.8.8.8:5000", &[])).code(), Some(403));
    assert_eq!(relay.send(probe.five, &with_peer(&probe, CREATE_PERMISSION, &other_relayed.to_string(), &[])).code(), None);
    assert_eq!(relay.send(other.five, &with_peer(&other, CREATE_PERMISSION, &probe_relayed.to_string(), &[])).code(), None);
    assert!(matches!(relay.send(probe.five, &send_indication(&other_relayed.to_string(), b"ping")), Answer::Deliver(..)));
    assert!(matches!(relay.send(probe.five, &send_indication("8.8.8.8:5000", b"x")), Answer::Nothing));
}
