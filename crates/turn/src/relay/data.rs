//! The data path: ChannelData and Send indications from clients out to peers (or, for
//! another allocation of this relay, straight to its client, see `internal.rs`), and datagrams
//! from peers back to clients as ChannelData or Data indications, each under its allocation's
//! permissions, channels and byte budgets.

use super::*;

impl<H: Clone> Relay<H> {
    pub(super) fn handle_channel_data<'a>(&mut self, from: FiveTuple, data: &'a [u8], now: Now) -> ClientAction<'a, H> {
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
    pub(super) fn relay_to_peer<'a>(
        &mut self,
        id: AllocationId,
        peer: SocketAddr,
        payload: &'a [u8],
        now: Now,
    ) -> ClientAction<'a, H> {
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
    pub(super) fn is_vacant_relay_port(&self, addr: SocketAddr) -> bool {
        self.config.public_ip == Some(addr.ip()) && self.config.relay_ports.contains(&addr.port())
    }

    /// The policy, except that our own relayed addresses are always reachable (hairpin), so
    /// two users relayed by the same server can talk even when its address is private.
    pub(super) fn peer_allowed(&self, peer: SocketAddr) -> bool {
        self.config.peer_policy.check(peer.ip()).is_ok() || self.own_relayed(peer).is_some()
    }

    pub(super) fn own_relayed(&self, peer: SocketAddr) -> Option<AllocationId> {
        self.by_relayed.get(&self.inward(peer)).copied()
    }

    /// Our advertised (public) relayed address as the local one the kernel can reach, so
    /// hairpinned packets need no NAT loopback.
    pub(super) fn inward(&self, peer: SocketAddr) -> SocketAddr {
        inward(&self.config, &self.relayed_by_port, peer)
    }

    /// A permission covers every port of the peer's IP, so a Send is checked against the policy
    /// too: a hairpin permission for one of our relayed addresses must not open the host's
    /// other ports.
    pub(super) fn handle_send<'a>(
        &mut self,
        from: FiveTuple,
        message: &Message,
        data: &'a [u8],
        now: Now,
    ) -> ClientAction<'a, H> {
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
    pub(super) fn admit_to_client(
        &mut self,
        id: AllocationId,
        peer: SocketAddr,
        len: usize,
        now: Now,
    ) -> Option<(FiveTuple, Option<u16>)> {
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
    pub(super) fn outward(&self, peer: SocketAddr) -> SocketAddr {
        match self.config.public_ip {
            Some(public) if self.by_relayed.contains_key(&peer) && public.is_ipv4() == peer.is_ipv4() => {
                SocketAddr::new(public, peer.port())
            }
            _ => peer,
        }
    }
}

/// Our advertised (public) relayed address as the local one the kernel can reach, so
/// hairpinned packets need no NAT loopback.
pub(super) fn inward(config: &RelayConfig, relayed_by_port: &HashMap<u16, SocketAddr>, peer: SocketAddr) -> SocketAddr {
    match config.public_ip {
        Some(public) if public == peer.ip() => relayed_by_port.get(&peer.port()).copied().unwrap_or(peer),
        _ => peer,
    }
}

/// The largest payload a Data indication from `peer` can carry: STUN's 16-bit length (a
/// multiple of 4) less XOR-PEER-ADDRESS and the DATA header. Longer ones would wrap the length.
pub(super) fn max_data_indication_payload(peer: SocketAddr) -> usize {
    let xor_peer_address = if peer.is_ipv4() { 4 + 8 } else { 4 + 20 };
    0xFFFC - xor_peer_address - 4
}

/// Sends to `destination` if the permission for `peer` (as the client named it) and the byte
/// budget allow it.
#[allow(clippy::too_many_arguments, reason = "the hot path passes borrowed parts of the relay")]
pub(super) fn forward_to_peer<'a, H: Clone>(
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
