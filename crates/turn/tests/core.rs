//! The relay's sans-IO core driven as a browser or turnutils would drive it, with a fake clock
//! and no sockets: one test per request type and error path, asserting exact codes and attributes.

mod common;

use common::*;
use std::net::SocketAddr;
use std::time::Duration;

use cromulent_turn::credential::mint;
use cromulent_turn::peer_policy::PeerPolicy;
use cromulent_turn::relay::{ClientAction, FiveTuple, RelayConfig, Transport};
use stun_types::attribute::{ErrorCode, MessageIntegrity, Nonce, Realm, UnknownAttributes, Username, XorMappedAddress};
use stun_types::message::{BINDING, IntegrityAlgorithm, Message, MessageClass, MessageWriteVec};
use stun_types::prelude::*;
use turn_types::attribute::{
    AdditionalAddressFamily, AddressErrorCode, ChannelNumber, Data, Lifetime, RequestedAddressFamily, RequestedTransport,
    XorPeerAddress, XorRelayedAddress,
};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, DATA, REFRESH};

#[test]
fn the_configuration_never_shows_its_secret() {
    let shown = format!("{:?}", RelayConfig::with_secret(SECRET.to_vec()));
    assert!(!shown.contains("core-test-secret") && !shown.contains("99, 111, 114, 101"), "{shown}");
    assert!(shown.contains("redacted"));
}

#[test]
fn binding_returns_the_clients_address_with_a_fingerprint() {
    let mut relay = Harness::new();
    let client = Client::valid(4000);
    let answer = relay.send(client.five, &client.request(BINDING, &[]));
    let reply = answer.reply();
    assert_eq!(reply.class(), MessageClass::Success);
    assert_eq!(reply.attribute::<XorMappedAddress>().unwrap().addr(reply.transaction_id()), client.five.client);
    assert!(reply.has_attribute(stun_types::attribute::Fingerprint::TYPE));
    assert_eq!(relay.counters.snapshot().bindings, 1);
}

#[test]
fn allocate_succeeds_with_a_fresh_rest_credential() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    let answer = client.allocate(&mut relay);
    let reply = answer.reply();
    assert_eq!(reply.class(), MessageClass::Success);
    assert_eq!(reply.validate_integrity(&client.key()).unwrap(), IntegrityAlgorithm::Sha1);
    let relayed = reply.attribute::<XorRelayedAddress>().unwrap().addr(reply.transaction_id());
    assert_eq!(relayed.ip(), addr(SERVER).ip());
    assert_eq!(reply.attribute::<Lifetime>().unwrap().seconds(), 600);
    assert_eq!(reply.attribute::<XorMappedAddress>().unwrap().addr(reply.transaction_id()), client.five.client);
    assert_eq!(relay.relay.allocation_count(), 1);
    assert_eq!(relay.counters.snapshot().allocations_active, 1);
}

#[test]
fn relayed_addresses_are_advertised_with_the_public_ip() {
    let mut relay = Harness::with(|c| c.public_ip = Some("203.0.113.9".parse().unwrap()));
    let relayed = Client::valid(4000).relayed(&mut relay);
    assert_eq!(relayed.ip().to_string(), "203.0.113.9");
}

#[test]
fn allocate_errors_have_the_rfc_codes() {
    type Case = (&'static str, fn(&mut Harness) -> Option<u16>, u16);
    let cases: &[Case] = &[
        (
            "no integrity",
            |r| {
                let client = Client::valid(4000);
                r.send(client.five, &client.request(ALLOCATE, &[&udp()])).code()
            },
            401,
        ),
        (
            "wrong password",
            |r| {
                let mut client = Client::valid(4000);
                client.password = mint(b"other", "42", 1_800_003_600).password;
                client.allocate(r).code()
            },
            401,
        ),
        ("expired username", |r| Client::udp(4000, "42", 1_799_999_999).allocate(r).code(), 401),
        (
            "username without expiry",
            |r| {
                let mut client = Client::valid(4000);
                client.username = "mallory".to_owned();
                client.allocate(r).code()
            },
            401,
        ),
        (
            "wrong realm",
            |r| {
                let mut client = Client::valid(4000);
                client.challenge(r);
                client.realm = "elsewhere".to_owned();
                r.send(client.five, &client.request(ALLOCATE, &[&udp()])).code()
            },
            401,
        ),
        (
            "stale nonce",
            |r| {
                let mut client = Client::valid(4000);
                client.challenge(r);
                r.advance(Duration::from_secs(601));
                r.send(client.five, &client.request(ALLOCATE, &[&udp()])).code()
            },
            438,
        ),
        (
            "forged nonce",
            |r| {
                let mut client = Client::valid(4000);
                client.challenge(r);
                client.nonce = "0".repeat(40);
                r.send(client.five, &client.request(ALLOCATE, &[&udp()])).code()
            },
            438,
        ),
        (
            "no REQUESTED-TRANSPORT",
            |r| {
                let mut client = Client::valid(4000);
                client.challenge(r);
                r.send(client.five, &client.request(ALLOCATE, &[])).code()
            },
            400,
        ),
        (
            "TCP relay",
            |r| {
                let mut client = Client::valid(4000);
                client.challenge(r);
                r.send(client.five, &client.request(ALLOCATE, &[&RequestedTransport::new(RequestedTransport::TCP)])).code()
            },
            442,
        ),
        (
            "IPv6 relay on an IPv4 listener",
            |r| {
                let mut client = Client::valid(4000);
                client.challenge(r);
                let family = RequestedAddressFamily::new(stun_types::AddressFamily::IPV6);
                r.send(client.five, &client.request(ALLOCATE, &[&udp(), &family])).code()
            },
            440,
        ),
        (
            "second Allocate on the same 5-tuple",
            |r| {
                let mut client = Client::valid(4000);
                assert_eq!(client.allocate(r).code(), None);
                r.send(client.five, &client.request(ALLOCATE, &[&udp()])).code()
            },
            437,
        ),
    ];
    for (what, run, code) in cases {
        let mut relay = Harness::new();
        assert_eq!(run(&mut relay), Some(*code), "{what}");
        assert_eq!(relay.relay.allocation_count(), usize::from(*what == "second Allocate on the same 5-tuple"), "{what}");
    }
}

#[test]
fn a_wrong_password_counts_as_an_auth_failure() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.password = "nope".to_owned();
    assert_eq!(client.allocate(&mut relay).code(), Some(401));
    assert_eq!(relay.counters.snapshot().auth_failures, 1);
}

#[test]
fn unknown_comprehension_required_attributes_get_420_listing_them() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.challenge(&mut relay);
    let odd = stun_types::attribute::RawAttribute::new(0x0030.into(), &[0, 0, 0, 0]);
    let answer = relay.send(client.five, &client.request(ALLOCATE, &[&udp(), &odd]));
    assert_eq!(answer.code(), Some(420));
    assert!(answer.reply().attribute::<UnknownAttributes>().unwrap().has_attribute(0x0030.into()));
}

#[test]
fn a_retransmitted_allocate_gets_the_same_success() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.challenge(&mut relay);
    let request = client.request(ALLOCATE, &[&udp()]);
    let first = relay.send(client.five, &request);
    let again = relay.send(client.five, &request);
    let (first, again) = (first.reply(), again.reply());
    assert_eq!(again.class(), MessageClass::Success);
    assert_eq!(
        first.attribute::<XorRelayedAddress>().unwrap().addr(first.transaction_id()),
        again.attribute::<XorRelayedAddress>().unwrap().addr(again.transaction_id())
    );
    assert_eq!(relay.relay.allocation_count(), 1);
}

/// The RFC 8489 long-term key, MD5(username ":" realm ":" password), written from the RFC.
fn rfc_key(client: &Client) -> Vec<u8> {
    use md5::Digest;
    md5::Md5::digest(format!("{}:{}:{}", client.username, client.realm, client.password).as_bytes()).to_vec()
}

/// HMAC-SHA256 over `bytes` with the header's length field set to `length` (RFC 8489 §14.6).
fn rfc_hmac_sha256(key: &[u8], bytes: &[u8], length: usize) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(&bytes[..2]);
    mac.update(&(length as u16).to_be_bytes());
    mac.update(&bytes[4..]);
    mac.finalize().into_bytes().to_vec()
}

/// An Allocate signed with MESSAGE-INTEGRITY-SHA256 as an RFC-following client signs it when
/// no PASSWORD-ALGORITHM was negotiated (RFC 8489 §9.2.4: the MD5 key), then FINGERPRINT.
fn rfc_sha256_allocate(client: &Client) -> Vec<u8> {
    let mut out = Message::builder_request(ALLOCATE, MessageWriteVec::new());
    out.add_attribute(&udp()).unwrap();
    out.add_attribute(&Username::new(&client.username).unwrap()).unwrap();
    out.add_attribute(&Realm::new(&client.realm).unwrap()).unwrap();
    out.add_attribute(&Nonce::new(&client.nonce).unwrap()).unwrap();
    let mut bytes = out.finish();
    let mac = rfc_hmac_sha256(&rfc_key(client), &bytes, bytes.len() - 20 + 36);
    bytes.extend_from_slice(&[0x00, 0x1C, 0x00, 0x20]);
    bytes.extend_from_slice(&mac);
    let length = bytes.len() - 20 + 8;
    bytes[2..4].copy_from_slice(&(length as u16).to_be_bytes());
    let crc = u32::from_be_bytes(stun_types::attribute::Fingerprint::compute(&[&bytes])) ^ 0x5354_554E;
    bytes.extend_from_slice(&[0x80, 0x28, 0x00, 0x04]);
    bytes.extend_from_slice(&crc.to_be_bytes());
    bytes
}

#[test]
fn sha256_integrity_uses_the_rfc_key_and_is_answered_in_kind() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.challenge(&mut relay);
    let answer = relay.send(client.five, &rfc_sha256_allocate(&client));
    let reply = answer.reply();
    assert_eq!(reply.class(), MessageClass::Success);
    assert!(!reply.has_attribute(MessageIntegrity::TYPE));
    // The answer's MESSAGE-INTEGRITY-SHA256, checked the RFC's way: everything before it.
    let Answer::Reply(bytes) = &answer else { unreachable!() };
    let at = bytes.len() - 8 - 36;
    assert_eq!(bytes[at..at + 4], [0x00, 0x1C, 0x00, 0x20], "MESSAGE-INTEGRITY-SHA256 before FINGERPRINT");
    assert_eq!(rfc_hmac_sha256(&rfc_key(&client), &bytes[..at], at - 20 + 36), bytes[at + 4..at + 36]);

    // Keyed the codec crate's way (SHA-256 of the credentials), which RFC 8489 never uses: 401.
    let mut other = Client::valid(4001);
    other.algorithm = IntegrityAlgorithm::Sha256;
    assert_eq!(other.allocate(&mut relay).code(), Some(401));
}

#[test]
fn quotas_answer_486_per_user_and_508_in_total() {
    let mut relay = Harness::with(|c| c.user_quota = 3);
    for port in 0..3 {
        assert_eq!(Client::valid(4000 + port).allocate(&mut relay).code(), None);
    }
    assert_eq!(Client::valid(4010).allocate(&mut relay).code(), Some(486));
    assert_eq!(Client::udp(4011, "43", 1_800_003_600).allocate(&mut relay).code(), None, "another user is not affected");
    assert_eq!(relay.counters.snapshot().quota_refusals, 1);

    let mut relay = Harness::with(|c| c.total_quota = 2);
    assert_eq!(Client::udp(4000, "1", 1_800_003_600).allocate(&mut relay).code(), None);
    assert_eq!(Client::udp(4001, "2", 1_800_003_600).allocate(&mut relay).code(), None);
    assert_eq!(Client::udp(4002, "3", 1_800_003_600).allocate(&mut relay).code(), Some(508));
}

#[test]
fn no_free_relay_port_answers_508() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.challenge(&mut relay);
    let ClientAction::Bind(pending) = relay.relay.handle_client(client.five, &client.request(ALLOCATE, &[&udp()]), relay.now)
    else {
        panic!("an authenticated Allocate asks for a relay port");
    };
    let reply = relay.relay.finish_allocation(pending, None, relay.now);
    let reply = Message::from_bytes(&reply).unwrap();
    assert_eq!(reply.attribute::<ErrorCode>().unwrap().code(), 508);
    assert_eq!(relay.relay.allocation_count(), 0);
}

#[test]
fn refresh_extends_clamps_and_deletes() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    for (asked, granted) in [(60, 600), (1200, 1200), (99_999, 3600)] {
        let answer = relay.send(client.five, &client.request(REFRESH, &[&Lifetime::new(asked)]));
        assert_eq!(answer.reply().attribute::<Lifetime>().unwrap().seconds(), granted, "asked {asked}");
    }
    let answer = relay.send(client.five, &client.request(REFRESH, &[&Lifetime::new(0)]));
    assert_eq!(answer.code(), None);
    assert_eq!(relay.relay.allocation_count(), 0);
    let answer = relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, PEER, &[]));
    assert_eq!(answer.code(), Some(437), "no allocation any more");
}

#[test]
fn refresh_after_the_credential_expired_works_unless_strict() {
    for (strict, expected) in [(false, None), (true, Some(401))] {
        let mut relay = Harness::with(|c| c.strict_expiry = strict);
        let mut client = Client::udp(4000, "42", 1_800_000_060);
        client.relayed(&mut relay);
        relay.advance(Duration::from_secs(120));
        client.challenge_nonce_only(&mut relay);
        let answer = relay.send(client.five, &client.request(REFRESH, &[&Lifetime::new(600)]));
        assert_eq!(answer.code(), expected, "strict_expiry = {strict}");
    }
}

impl Client {
    /// A fresh nonce without allocating (a Refresh signed with an old nonce gets 438 and one).
    fn challenge_nonce_only(&mut self, relay: &mut Harness) {
        let answer = relay.send(self.five, &self.request(REFRESH, &[]));
        if answer.code() == Some(438) {
            self.nonce = answer.reply().attribute::<Nonce>().unwrap().nonce().to_owned();
        }
    }
}

#[test]
fn requests_on_an_allocation_need_its_own_username_and_an_allocation() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    let mut other = Client::udp(4000, "43", 1_800_003_600);
    other.realm = client.realm.clone();
    other.nonce = client.nonce.clone();
    assert_eq!(relay.send(other.five, &other.request(REFRESH, &[])).code(), Some(441));
    let mut stranger = Client::valid(4001);
    stranger.challenge(&mut relay);
    assert_eq!(relay.send(stranger.five, &stranger.request(REFRESH, &[])).code(), Some(437));
}

#[test]
fn create_permission_follows_the_peer_policy() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    for (peer, code) in [
        ("169.254.169.254:80", Some(403)),
        ("10.0.0.1:80", Some(403)),
        ("127.0.0.1:80", Some(403)),
        ("192.168.1.1:80", Some(403)),
        ("[::ffff:10.0.0.1]:80", Some(443)),
        ("[2001:db8::1]:80", Some(443)),
        (PEER, None),
    ] {
        assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, peer, &[])).code(), code, "{peer}");
    }
    assert_eq!(relay.counters.snapshot().peers_refused, 4);
    assert_eq!(relay.send(client.five, &client.request(CREATE_PERMISSION, &[])).code(), Some(400), "no peer");

    let mut relay = Harness::with(|c| c.peer_policy = PeerPolicy::new(vec!["10.0.0.0/24".parse().unwrap()], vec![], false));
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, "10.0.0.1:80", &[])).code(), None);
}

#[test]
fn channel_bind_checks_numbers_and_clashes_then_carries_channel_data() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    let bind = |relay: &mut Harness, number: u16, peer: &str| {
        relay.send(client.five, &with_peer(&client, CHANNEL_BIND, peer, &[&ChannelNumber::new(number)])).code()
    };
    for bad in [0x0000, 0x3FFF, 0x8000, 0xFFFF] {
        assert_eq!(bind(&mut relay, bad, PEER), Some(400), "{bad:#x}");
    }
    assert_eq!(relay.send(client.five, &with_peer(&client, CHANNEL_BIND, PEER, &[])).code(), Some(400), "no number");
    assert_eq!(bind(&mut relay, 0x5000, "8.8.4.4:5000"), None, "RFC 5766 and coturn allow up to 0x7FFF");
    assert_eq!(bind(&mut relay, 0x4001, PEER), None);
    assert_eq!(bind(&mut relay, 0x4001, PEER), None, "rebinding refreshes");
    assert_eq!(bind(&mut relay, 0x4001, "8.8.4.4:5000"), Some(400), "the number is taken by another peer");
    assert_eq!(bind(&mut relay, 0x4002, PEER), Some(400), "the peer has another number");
    assert_eq!(bind(&mut relay, 0x4003, "169.254.169.254:80"), Some(403));

    match relay.send(client.five, &channel_data(0x4001, b"voice")) {
        Answer::Forward(socket, peer, payload) => {
            assert_eq!(socket, u32::from(relay.next_port), "through the allocation's own relay socket");
            assert_eq!(peer, addr(PEER));
            assert_eq!(payload, b"voice");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(relay.send(client.five, &channel_data(0x4005, b"voice")), Answer::Nothing), "unbound channel");
}

#[test]
fn send_indications_need_a_permission() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    assert!(matches!(relay.send(client.five, &send_indication(PEER, b"hi")), Answer::Nothing));
    assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, PEER, &[])).code(), None);
    match relay.send(client.five, &send_indication(PEER, b"hi")) {
        Answer::Forward(_, peer, payload) => assert_eq!((peer, payload.as_slice()), (addr(PEER), &b"hi"[..])),
        other => panic!("{other:?}"),
    }
    assert_eq!(relay.counters.snapshot().packets_to_peers, 1);
}

#[test]
fn peer_data_becomes_channel_data_or_a_data_indication() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    assert_eq!(from_peer(&mut relay, 1, PEER, b"early"), None, "no permission yet");
    assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, PEER, &[])).code(), None);
    let (to, data) = from_peer(&mut relay, 1, PEER, b"hello").unwrap();
    assert_eq!(to, client.five);
    let indication = Message::from_bytes(&data).unwrap();
    assert_eq!(indication.method(), DATA);
    assert_eq!(indication.attribute::<XorPeerAddress>().unwrap().addr(indication.transaction_id()), addr(PEER));
    assert_eq!(indication.attribute::<Data>().unwrap().data(), b"hello");

    assert_eq!(relay.send(client.five, &with_peer(&client, CHANNEL_BIND, PEER, &[&ChannelNumber::new(0x4000)])).code(), None);
    let (_, data) = from_peer(&mut relay, 1, PEER, b"hello").unwrap();
    assert_eq!(data, channel_data(0x4000, b"hello"), "UDP: no padding");
    assert_eq!(from_peer(&mut relay, 1, "8.8.4.4:1", b"x"), None, "another peer has no permission");
}

#[test]
fn channel_data_to_stream_clients_is_padded_to_four_bytes() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.five.transport = Transport::Tcp;
    client.relayed(&mut relay);
    assert_eq!(relay.send(client.five, &with_peer(&client, CHANNEL_BIND, PEER, &[&ChannelNumber::new(0x4000)])).code(), None);
    let (_, data) = from_peer(&mut relay, 1, PEER, b"hello").unwrap();
    let mut padded = channel_data(0x4000, b"hello");
    padded.extend_from_slice(&[0, 0, 0]);
    assert_eq!(data, padded);
}

#[test]
fn lifetimes_expire_allocations_and_permissions() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, PEER, &[])).code(), None);
    relay.advance(Duration::from_secs(301));
    relay.relay.handle_timeout(relay.now);
    assert_eq!(from_peer(&mut relay, 1, PEER, b"late"), None, "the permission lapsed after 300 s");
    assert_eq!(relay.relay.allocation_count(), 1);
    relay.advance(Duration::from_secs(300));
    relay.relay.handle_timeout(relay.now);
    assert_eq!(relay.relay.allocation_count(), 0, "the allocation lapsed after 600 s");
    assert_eq!(relay.counters.snapshot().allocations_active, 0);
}

#[test]
fn bandwidth_beyond_the_budget_is_dropped_per_direction() {
    let mut relay = Harness::with(|c| c.allocation_bandwidth = Some(1000));
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    assert_eq!(relay.send(client.five, &with_peer(&client, CHANNEL_BIND, PEER, &[&ChannelNumber::new(0x4000)])).code(), None);
    let forwarded =
        (0..20).filter(|_| matches!(relay.send(client.five, &channel_data(0x4000, &[0; 200])), Answer::Forward(..))).count();
    assert_eq!(forwarded, 5, "one second of budget is 1000 bytes");
    assert!(from_peer(&mut relay, 1, PEER, &[0; 200]).is_some(), "the other direction has its own budget");
    relay.advance(Duration::from_secs(1));
    assert!(matches!(relay.send(client.five, &channel_data(0x4000, &[0; 200])), Answer::Forward(..)), "refilled");
}

#[test]
fn unauthenticated_answers_are_rate_limited_per_source() {
    let mut relay = Harness::with(|c| c.unauthenticated_per_second = 5);
    let client = Client::valid(4000);
    let answered = (0..50).filter(|_| matches!(relay.send(client.five, &client.request(BINDING, &[])), Answer::Reply(_))).count();
    assert_eq!(answered, 10, "a burst of twice the rate");
}

#[test]
fn the_relay_reaches_its_own_relayed_addresses_even_when_private() {
    let mut relay = Harness::new();
    let mut first = Client::valid(4000);
    let mut second = Client::valid(4001);
    let _ = first.relayed(&mut relay);
    let second_relayed = second.relayed(&mut relay);
    assert!(second_relayed.ip().is_loopback(), "the relayed address is in a denied range");
    let answer = relay.send(first.five, &with_peer(&first, CREATE_PERMISSION, &second_relayed.to_string(), &[]));
    assert_eq!(answer.code(), None);
}

#[test]
fn malformed_packets_never_panic_and_get_400_or_silence() {
    let mut relay = Harness::new();
    let client = Client::valid(4000);
    let good = client.request(BINDING, &[]);
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 4);
    let mut bad_fingerprint = good.clone();
    *bad_fingerprint.last_mut().unwrap() ^= 0xFF;
    let mut long_length = good.clone();
    long_length[3] = 0xFF;
    let mut cut_attribute = client.request(BINDING, &[&Username::new("1:someone").unwrap()]);
    cut_attribute.truncate(24);
    cut_attribute[3] = 4;
    for (what, bytes) in [
        ("empty", vec![]),
        ("a header announcing an attribute that is cut short", cut_attribute),
        ("one byte", vec![0]),
        ("header only, wrong cookie", vec![0; 20]),
        ("truncated", truncated),
        ("bad fingerprint", bad_fingerprint),
        ("length beyond the datagram", long_length),
        ("short channel data", vec![0x40, 0x00, 0x00, 0x10, 1]),
        ("junk", b"\xC0junk that is not TURN at all".to_vec()),
    ] {
        match relay.send(client.five, &bytes) {
            Answer::Nothing => {}
            answer @ Answer::Reply(_) => assert_eq!(answer.code(), Some(400), "{what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn an_unsigned_allocate_is_challenged_with_the_realm_and_a_nonce() {
    let mut relay = Harness::new();
    let client = Client::valid(4000);
    let answer = relay.send(client.five, &client.request(ALLOCATE, &[&udp()]));
    assert_eq!(answer.code(), Some(401));
    let reply = answer.reply();
    assert_eq!(reply.method(), ALLOCATE);
    assert_eq!(reply.attribute::<Realm>().unwrap().realm(), "cromulent");
    assert_eq!(reply.attribute::<Nonce>().unwrap().nonce().len(), 40);
    assert!(!reply.has_attribute(MessageIntegrity::TYPE), "nothing to sign with yet");
    assert_eq!(relay.counters.snapshot().auth_failures, 0, "a challenge is not a failure");
}

#[test]
fn a_stale_nonce_gets_438_with_a_fresh_nonce_that_works() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.challenge(&mut relay);
    relay.advance(Duration::from_secs(601));
    let answer = relay.send(client.five, &client.request(ALLOCATE, &[&udp()]));
    assert_eq!(answer.code(), Some(438));
    let fresh = answer.reply().attribute::<Nonce>().unwrap().nonce().to_owned();
    assert_ne!(fresh, client.nonce);
    assert_eq!(answer.reply().attribute::<Realm>().unwrap().realm(), "cromulent");
    client.nonce = fresh;
    assert_eq!(relay.send(client.five, &client.request(ALLOCATE, &[&udp()])).code(), None);
}

#[test]
fn a_nonce_is_bound_to_the_clients_address() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.challenge(&mut relay);
    client.five.client.set_port(4001);
    assert_eq!(relay.send(client.five, &client.request(ALLOCATE, &[&udp()])).code(), Some(438));
}

#[test]
fn a_wrong_sha256_integrity_counts_as_an_auth_failure() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.algorithm = IntegrityAlgorithm::Sha256;
    client.password = "nope".to_owned();
    assert_eq!(client.allocate(&mut relay).code(), Some(401));
    assert_eq!(relay.counters.snapshot().auth_failures, 1);
}

#[test]
fn a_second_pending_allocate_over_the_user_quota_gets_486_when_it_completes() {
    let mut relay = Harness::with(|c| c.user_quota = 1);
    let mut pending = Vec::new();
    for port in [4000, 4001] {
        let mut client = Client::valid(port);
        client.challenge(&mut relay);
        match relay.relay.handle_client(client.five, &client.request(ALLOCATE, &[&udp()]), relay.now) {
            ClientAction::Bind(bind) => pending.push(bind),
            other => panic!("{other:?}"),
        }
    }
    let codes: Vec<Option<u16>> = pending
        .into_iter()
        .enumerate()
        .map(|(n, bind)| {
            let reply =
                relay.relay.finish_allocation(bind, Some((addr(&format!("127.0.0.1:{}", 50_000 + n)), n as u32)), relay.now);
            Answer::Reply(reply).code()
        })
        .collect();
    assert_eq!(codes, [None, Some(486)]);
    assert_eq!(relay.relay.allocation_count(), 1);
    assert_eq!(relay.counters.snapshot().quota_refusals, 1);
}

#[test]
fn a_hairpin_permission_reaches_only_the_relayed_address_not_the_hosts_other_ports() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    let relayed = client.relayed(&mut relay);
    assert!(relayed.ip().is_loopback(), "the relayed address is in a denied range");
    assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, &relayed.to_string(), &[])).code(), None);
    match relay.send(client.five, &send_indication(&relayed.to_string(), b"hi")) {
        Answer::Deliver(to, _) => assert_eq!(to, client.five, "its own relayed address, delivered inside the relay"),
        other => panic!("{other:?}"),
    }
    for service in ["127.0.0.1:6379", "127.0.0.1:53"] {
        assert!(matches!(relay.send(client.five, &send_indication(service, b"hi")), Answer::Nothing), "{service}");
        let bind = with_peer(&client, CHANNEL_BIND, service, &[&ChannelNumber::new(0x4000)]);
        assert_eq!(relay.send(client.five, &bind).code(), Some(403), "{service}");
    }
}

#[test]
fn permissions_lapse_for_sends_too() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, PEER, &[])).code(), None);
    relay.advance(Duration::from_secs(299));
    assert!(matches!(relay.send(client.five, &send_indication(PEER, b"hi")), Answer::Forward(..)));
    relay.advance(Duration::from_secs(2));
    assert!(matches!(relay.send(client.five, &send_indication(PEER, b"hi")), Answer::Nothing), "before any timer");
}

#[test]
fn a_closed_stream_ends_its_allocation() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.five.transport = Transport::Tcp;
    client.relayed(&mut relay);
    relay.relay.client_closed(client.five);
    assert_eq!(relay.relay.allocation_count(), 0);
    assert_eq!(relay.counters.snapshot().allocations_active, 0);
    assert_eq!(Client::valid(4001).allocate(&mut relay).code(), None, "the quota slot is free again");
}

#[test]
fn a_peer_datagram_too_big_for_a_data_indication_is_dropped_not_mangled() {
    let mut relay = Harness::with(|c| c.allocation_bandwidth = None);
    let mut client = Client::valid(4000);
    client.five.client = addr("[2001:db8::10]:4000");
    client.five.server = addr("[::1]:3478");
    client.five.transport = Transport::Tcp;
    client.challenge(&mut relay);
    let family = RequestedAddressFamily::new(stun_types::AddressFamily::IPV6);
    assert_eq!(relay.send(client.five, &client.request(ALLOCATE, &[&udp(), &family])).code(), None);
    let peer = "[2606:4700::1111]:5000";
    assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, peer, &[])).code(), None);
    let (_, data) = from_peer(&mut relay, 1, peer, &[7; 65_504]).expect("the largest payload that fits");
    assert_eq!(Message::from_bytes(&data).unwrap().attribute::<Data>().unwrap().data().len(), 65_504);
    for too_big in [65_505, 65_527] {
        assert!(from_peer(&mut relay, 1, peer, &vec![7; too_big]).is_none(), "{too_big} bytes do not fit STUN's length");
    }
}

#[test]
fn a_binding_with_an_unknown_required_attribute_gets_420_listing_it() {
    let mut relay = Harness::new();
    let client = Client::valid(4000);
    let odd = stun_types::attribute::RawAttribute::new(0x0031.into(), &[0, 0, 0, 0]);
    let answer = relay.send(client.five, &client.request(BINDING, &[&odd]));
    assert_eq!(answer.code(), Some(420));
    assert!(answer.reply().attribute::<UnknownAttributes>().unwrap().has_attribute(0x0031.into()));
    assert_eq!(relay.counters.snapshot().bindings, 0);
}

#[test]
fn a_wrong_fingerprint_is_discarded_without_an_answer() {
    let mut relay = Harness::new();
    let client = Client::valid(4000);
    for request in [client.request(BINDING, &[]), client.request(ALLOCATE, &[&udp()])] {
        let mut bad = request.clone();
        *bad.last_mut().unwrap() ^= 0x01;
        assert!(matches!(relay.send(client.five, &bad), Answer::Nothing));
        assert!(matches!(relay.send(client.five, &request), Answer::Reply(_)), "the intact message is answered");
    }
}

#[test]
fn an_rfc_3489_binding_request_gets_a_mapped_address() {
    let mut relay = Harness::new();
    let client = Client::valid(4000);
    let mut classic = vec![0x00, 0x01, 0x00, 0x00];
    classic.extend_from_slice(&[7; 16]);
    let Answer::Reply(reply) = relay.send(client.five, &classic) else { panic!("an answer") };
    let mut expected = vec![0x01, 0x01, 0x00, 0x0C];
    expected.extend_from_slice(&[7; 16]);
    expected.extend_from_slice(&[0x00, 0x01, 0x00, 0x08, 0x00, 0x01]);
    expected.extend_from_slice(&4000u16.to_be_bytes());
    expected.extend_from_slice(&[192, 0, 2, 10]);
    assert_eq!(reply, expected, "MAPPED-ADDRESS of the client, under the request's transaction id");
    // A length that does not match the datagram is not a classic request.
    classic[3] = 8;
    assert!(matches!(relay.send(client.five, &classic), Answer::Nothing));
}

#[test]
fn an_unknown_requested_address_family_gets_440() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.challenge(&mut relay);
    let family = stun_types::attribute::RawAttribute::new(RequestedAddressFamily::TYPE, &[0x03, 0, 0, 0]);
    let answer = relay.send(client.five, &client.request(ALLOCATE, &[&udp(), &family]));
    assert_eq!(answer.code(), Some(440));
    assert_eq!(relay.relay.allocation_count(), 0);
}

#[test]
fn under_strict_expiry_relaying_stops_at_expiry_and_an_expired_client_can_still_delete() {
    let mut relay = Harness::with(|c| c.strict_expiry = true);
    let mut client = Client::udp(4000, "42", 1_800_000_060);
    let answer = client.allocate(&mut relay);
    assert_eq!(answer.code(), None);
    assert_eq!(answer.reply().attribute::<Lifetime>().unwrap().seconds(), 60, "cut at the credential's expiry");
    relay.advance(Duration::from_secs(61));
    relay.relay.handle_timeout(relay.now);
    assert_eq!(relay.relay.allocation_count(), 0, "the allocation ended with its credential");

    let mut client = Client::udp(4001, "42", 1_800_000_120);
    client.relayed(&mut relay);
    relay.advance(Duration::from_secs(20));
    relay.relay.handle_timeout(relay.now);
    assert_eq!(relay.relay.allocation_count(), 1);
    // Past the credential's expiry but before the allocation's: a refresh is refused, a delete is not.
    let mut late = Client::udp(4001, "42", 1_800_000_120);
    late.realm = client.realm.clone();
    late.nonce = client.nonce.clone();
    late.challenge_nonce_only(&mut relay);
    assert_eq!(relay.send(late.five, &late.request(REFRESH, &[&Lifetime::new(600)])).code(), None, "not yet expired");
    relay.advance(Duration::from_secs(50));
    late.challenge_nonce_only(&mut relay);
    assert_eq!(relay.send(late.five, &late.request(REFRESH, &[&Lifetime::new(600)])).code(), Some(401));
    let deleted = relay.send(late.five, &late.request(REFRESH, &[&Lifetime::new(0)]));
    assert_eq!(deleted.code(), None);
    assert_eq!(relay.relay.allocation_count(), 0);
}

#[test]
fn relayed_addresses_are_ipv4_unless_ipv6_is_asked_for_whatever_the_clients_family() {
    let mut relay = Harness::with(|c| c.relay_ips = vec![addr("127.0.0.1:0").ip(), addr("[::1]:0").ip()]);
    let v6 = |port: u16| {
        let mut client = Client::valid(port);
        client.five = FiveTuple { transport: Transport::Udp, client: addr(&format!("[::1]:{port}")), server: addr("[::1]:3478") };
        client
    };
    let mut over_v6 = v6(4000);
    assert!(over_v6.relayed(&mut relay).is_ipv4(), "IPv4 by default for a client that came over IPv6");
    let mut asks_v6 = v6(4001);
    asks_v6.challenge(&mut relay);
    let ipv6 = RequestedAddressFamily::new(stun_types::AddressFamily::IPV6);
    let answer = relay.send(asks_v6.five, &asks_v6.request(ALLOCATE, &[&udp(), &ipv6]));
    let reply = answer.reply();
    assert!(reply.attribute::<XorRelayedAddress>().unwrap().addr(reply.transaction_id()).is_ipv6());
    let mut over_v4 = Client::valid(4002);
    over_v4.challenge(&mut relay);
    let answer = relay.send(over_v4.five, &over_v4.request(ALLOCATE, &[&udp(), &ipv6]));
    let reply = answer.reply();
    let relayed = reply.attribute::<XorRelayedAddress>().unwrap().addr(reply.transaction_id());
    assert_eq!(relayed.ip(), addr("[::1]:0").ip(), "IPv6 on request, from the listened addresses");

    // A relay that listens on one family only cannot relay the other.
    let mut single = Harness::new();
    assert_eq!(v6(4003).allocate(&mut single).code(), Some(440));
}

/// The XOR-RELAYED-ADDRESS attributes of an Allocate success, in order.
fn relayed_addresses(answer: &Answer) -> Vec<SocketAddr> {
    let reply = answer.reply();
    (0..).map_while(|n| reply.nth_attribute::<XorRelayedAddress>(n).ok()).map(|a| a.addr(reply.transaction_id())).collect()
}

#[test]
fn a_dual_allocation_relays_to_ipv4_and_ipv6_peers_through_its_two_relays() {
    let mut relay = Harness::with(|c| c.relay_ips = vec![addr("127.0.0.1:0").ip(), addr("[::1]:0").ip()]);
    let mut client = Client::valid(4000);
    client.challenge(&mut relay);
    let dual = AdditionalAddressFamily::new(stun_types::AddressFamily::IPV6);
    let answer = relay.send(client.five, &client.request(ALLOCATE, &[&udp(), &dual]));
    assert_eq!(answer.code(), None);
    let relays = relayed_addresses(&answer);
    assert_eq!(relays.len(), 2, "{relays:?}");
    assert!(relays[0].is_ipv4() && relays[1].is_ipv6(), "IPv4 first, then the additional IPv6: {relays:?}");
    assert!(answer.reply().attribute::<AddressErrorCode>().is_err(), "no error for a family that was given");
    let (v4, v6) = ("8.8.8.8:5000", "[2606:4700::1111]:5000");
    for peer in [v4, v6] {
        assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, peer, &[])).code(), None, "{peer}");
    }
    // Each peer is reached from the relay of its family.
    let Answer::Forward(through_v4, to, _) = relay.send(client.five, &send_indication(v4, b"four")) else { panic!("forwarded") };
    assert_eq!((through_v4, to), (u32::from(relays[0].port()), addr(v4)));
    let Answer::Forward(through_v6, to, _) = relay.send(client.five, &send_indication(v6, b"six")) else { panic!("forwarded") };
    assert_eq!((through_v6, to), (u32::from(relays[1].port()), addr(v6)));
    // And what an IPv6 peer sends comes back as a Data indication naming it.
    let (to_client, data) = from_peer(&mut relay, 1, v6, b"back").expect("relayed to the client");
    assert_eq!(to_client, client.five);
    let data = Message::from_bytes(&data).unwrap();
    assert_eq!(data.attribute::<XorPeerAddress>().unwrap().addr(data.transaction_id()), addr(v6));
    // Deleting it frees both relayed addresses: another client's permission for them is a
    // permission for strangers now, refused by the default policy.
    assert_eq!(relay.send(client.five, &client.request(REFRESH, &[&Lifetime::new(0)])).code(), None);
    assert_eq!(relay.relay.allocation_count(), 0);
}

#[test]
fn a_dual_allocation_without_ipv6_goes_ahead_with_ipv4_and_says_why() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.challenge(&mut relay);
    let dual = AdditionalAddressFamily::new(stun_types::AddressFamily::IPV6);
    let answer = relay.send(client.five, &client.request(ALLOCATE, &[&udp(), &dual]));
    assert_eq!(answer.code(), None);
    let relays = relayed_addresses(&answer);
    assert!(relays.len() == 1 && relays[0].is_ipv4(), "{relays:?}");
    let error = answer.reply().attribute::<AddressErrorCode>().expect("ADDRESS-ERROR-CODE");
    assert_eq!((error.family(), error.error().code()), (stun_types::AddressFamily::IPV6, 440));
    let v6 = "[2606:4700::1111]:5000";
    assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, v6, &[])).code(), Some(443));
}

#[test]
fn malformed_dual_allocations_get_400() {
    let mut relay = Harness::with(|c| c.relay_ips = vec![addr("127.0.0.1:0").ip(), addr("[::1]:0").ip()]);
    let mut client = Client::valid(4000);
    client.challenge(&mut relay);
    // The codec will not even write an additional IPv4, so it is written raw.
    let ipv4 = stun_types::attribute::RawAttribute::new(AdditionalAddressFamily::TYPE, &[0x01, 0, 0, 0]);
    assert_eq!(relay.send(client.five, &client.request(ALLOCATE, &[&udp(), &ipv4])).code(), Some(400), "an additional IPv4");
    let dual = AdditionalAddressFamily::new(stun_types::AddressFamily::IPV6);
    let one = RequestedAddressFamily::new(stun_types::AddressFamily::IPV6);
    let both = client.request(ALLOCATE, &[&udp(), &one, &dual]);
    assert_eq!(relay.send(client.five, &both).code(), Some(400), "one family and a dual allocation at once");
    assert_eq!(relay.relay.allocation_count(), 0);
}

#[test]
fn a_barred_user_loses_its_allocations_and_cannot_allocate_until_unbarred() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    let mut other = Client::udp(4001, "43", 1_800_003_600);
    other.relayed(&mut relay);
    assert_eq!(relay.relay.allocation_count(), 2);
    assert_eq!(relay.relay.bar_user("42", 1_800_003_600, relay.now), 1, "only user 42's allocation ends");
    assert_eq!(relay.relay.allocation_count(), 1);
    let mut again = Client::valid(4002);
    assert_eq!(again.allocate(&mut relay).code(), Some(403));
    relay.relay.unbar_user("42");
    assert_eq!(Client::valid(4003).allocate(&mut relay).code(), None);
}

#[test]
fn a_muted_users_audio_is_dropped_while_ice_dtls_and_rtcp_still_pass() {
    let mut relay = Harness::new();
    let mut client = Client::valid(4000);
    client.relayed(&mut relay);
    assert_eq!(relay.send(client.five, &with_peer(&client, CREATE_PERMISSION, PEER, &[])).code(), None);
    let mut rtp = vec![0x80, 111];
    rtp.extend_from_slice(&[0; 30]);
    let mut rtcp = vec![0x80, 200];
    rtcp.extend_from_slice(&[0; 30]);
    let dtls = [22u8, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let stun = [0u8, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    relay.relay.set_muted("42", true);
    assert!(matches!(relay.send(client.five, &send_indication(PEER, &rtp)), Answer::Nothing), "audio is dropped");
    for kept in [&rtcp[..], &dtls[..], &stun[..]] {
        assert!(matches!(relay.send(client.five, &send_indication(PEER, kept)), Answer::Forward(..)), "{kept:?} passes");
    }
    let mut other = Client::udp(4001, "43", 1_800_003_600);
    other.relayed(&mut relay);
    assert_eq!(relay.send(other.five, &with_peer(&other, CREATE_PERMISSION, PEER, &[])).code(), None);
    assert!(matches!(relay.send(other.five, &send_indication(PEER, &rtp)), Answer::Forward(..)), "others are not muted");
    relay.relay.set_muted("42", false);
    assert!(matches!(relay.send(client.five, &send_indication(PEER, &rtp)), Answer::Forward(..)), "unmuted");
}
