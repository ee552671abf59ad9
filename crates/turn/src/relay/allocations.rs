//! Allocations and what hangs off them: Allocate (with the relay socket the shell binds),
//! Refresh, CreatePermission and ChannelBind, their lifetimes, and the peer policy a
//! permission must pass.

use super::*;

impl<H: Clone> Relay<H> {
    pub(super) fn allocate<'a>(&mut self, from: FiveTuple, message: &Message, auth: Authenticated, now: Now) -> Outcome<'a, H> {
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
    pub(super) fn relay_ip_for(&self, reached: IpAddr, wants_v6: bool) -> Option<IpAddr> {
        if reached.is_ipv6() == wants_v6 {
            return Some(reached);
        }
        let candidates = || self.config.relay_ips.iter().copied().filter(|ip| ip.is_ipv6() == wants_v6);
        candidates().find(|ip| ip.is_loopback() == reached.is_loopback()).or_else(|| candidates().next())
    }

    /// `lifetime`, cut at the credential's expiry under `strict_expiry` so relaying stops then.
    pub(super) fn allowed_lifetime(&self, lifetime: Duration, credential_expiry: i64, now: Now) -> Duration {
        if !self.config.strict_expiry {
            return lifetime;
        }
        lifetime.min(Duration::from_secs(credential_expiry.saturating_sub(now.unix as i64).max(0) as u64))
    }

    pub(super) fn granted_lifetime(&self, message: &Message) -> Duration {
        let requested = message.attribute::<Lifetime>().map(|l| Duration::from_secs(l.seconds().into())).ok();
        requested.unwrap_or(self.config.default_lifetime).clamp(self.config.default_lifetime, self.config.max_lifetime)
    }

    /// XOR-RELAYED-ADDRESS for each relayed address (advertised), LIFETIME, XOR-MAPPED-ADDRESS,
    /// and ADDRESS-ERROR-CODE when a dual allocation got no IPv6 relay.
    pub(super) fn add_allocation_attributes(
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

    pub(super) fn advertised(&self, relayed: SocketAddr) -> SocketAddr {
        match self.config.public_ip {
            Some(ip) if ip.is_ipv4() == relayed.is_ipv4() => SocketAddr::new(ip, relayed.port()),
            _ => relayed,
        }
    }

    pub(super) fn refresh<'a>(&mut self, message: &Message, auth: Authenticated, now: Now) -> Outcome<'a, H> {
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

    pub(super) fn create_permission<'a>(&mut self, message: &Message, auth: Authenticated, now: Now) -> Outcome<'a, H> {
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

    pub(super) fn channel_bind<'a>(&mut self, message: &Message, auth: Authenticated, now: Now) -> Outcome<'a, H> {
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

    pub(super) fn existing(&self, auth: Authenticated) -> Result<(AllocationId, IntegrityAlgorithm), Refused> {
        match auth {
            Authenticated::Existing { id, algorithm } => Ok((id, algorithm)),
            Authenticated::New { credentials, .. } => Err(Refused::new(ErrorCode::ALLOCATION_MISMATCH, &credentials)),
        }
    }

    /// 443 for a family the allocation has no relay of, 403 for peers the policy refuses.
    pub(super) fn check_peer(
        &self,
        id: AllocationId,
        peer: SocketAddr,
        credentials: &LongTermKeyCredentials,
    ) -> Result<(), Refused> {
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
}
