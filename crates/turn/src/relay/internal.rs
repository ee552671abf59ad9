//! Delivery between two allocations of this relay. When both people in a call are relayed by
//! us, a packet from allocation A to B's relayed address would leave A's relay socket and be
//! read again on B's: one more send, one more receive and a wake-up per packet for nothing.
//! Instead it is handed to B's client here, exactly as if it had arrived on B's relay socket
//! from A's: A's permission and budget towards the peer, then B's permission for A's
//! (advertised) relayed address, B's budget, B's channel to A if bound, a Data indication
//! otherwise. The peer policy is not asked: our own relayed addresses are always reachable.

use std::borrow::Cow;
use std::net::SocketAddr;

use stun_types::message::{Message, MessageWriteVec};
use stun_types::prelude::*;
use turn_types::attribute::{Data, XorPeerAddress};
use turn_types::message::DATA;

use super::{AllocationId, ClientAction, Direction, Now, Relay, ToClient, Transport, is_rtp_media};

impl<H: Clone> Relay<H> {
    /// Hands `payload` from allocation `source`, whose client named `peer`, to allocation
    /// `target`, bound at `destination`.
    pub(super) fn deliver_internally(
        &mut self,
        source: AllocationId,
        peer: SocketAddr,
        destination: SocketAddr,
        target: AllocationId,
        payload: &[u8],
        now: Now,
    ) -> ClientAction<'static, H> {
        let len = payload.len();
        let Some(sender) = self.allocations.get_mut(&source) else {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        };
        if self.muted.contains(&sender.user) && is_rtp_media(payload) {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        }
        if !sender.admit(peer, len, Direction::ToPeer, now.instant) {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        }
        // The relay socket the packet would have left from: the sender's of the peer's family.
        let Some(from) = sender.relays().find(|relayed| relayed.is_ipv4() == destination.is_ipv4()) else {
            self.counters.add_dropped();
            return ClientAction::Ignore;
        };
        self.counters.add_to_peer(len);
        let seen = self.outward(from);
        let Some((client, channel)) = self.admit_to_client(target, seen, len, now) else { return ClientAction::Ignore };
        self.counters.add_internal_delivery();
        let data = match channel {
            Some(number) => channel_data(number, payload, client.transport != Transport::Udp),
            None => {
                let mut out = Message::builder_indication(DATA, MessageWriteVec::with_capacity(len + 48));
                let transaction = out.transaction_id();
                let _ = out.add_attribute(&XorPeerAddress::new(seen, transaction));
                let _ = out.add_attribute(&Data::new(payload));
                out.finish()
            }
        };
        ClientAction::Deliver(ToClient { client, data: Cow::Owned(data) })
    }
}

/// A ChannelData frame; padded to four bytes for stream clients (RFC 8656 §12.5).
fn channel_data(number: u16, payload: &[u8], padded: bool) -> Vec<u8> {
    let total = 4 + payload.len();
    let mut frame = Vec::with_capacity(total + 3);
    frame.extend_from_slice(&number.to_be_bytes());
    frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    frame.extend_from_slice(payload);
    if padded {
        frame.resize(total.next_multiple_of(4), 0);
    }
    frame
}
