//! What the relay has done, as monotonic counters and one gauge, read as a [`Snapshot`] for
//! reporting. Relaxed atomics: each figure is independent and read only for reporting.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The relay's counters.
#[derive(Debug, Default)]
pub struct Counters {
    allocations_active: AtomicU64,
    allocations_created: AtomicU64,
    packets_to_peers: AtomicU64,
    bytes_to_peers: AtomicU64,
    packets_to_clients: AtomicU64,
    bytes_to_clients: AtomicU64,
    bindings: AtomicU64,
    auth_failures: AtomicU64,
    peers_refused: AtomicU64,
    quota_refusals: AtomicU64,
    refusals: AtomicU64,
    dropped: AtomicU64,
    internal_deliveries: AtomicU64,
}

/// A point-in-time copy of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Allocations alive now.
    pub allocations_active: u64,
    /// Allocations ever created.
    pub allocations_created: u64,
    /// Datagrams relayed from clients to peers.
    pub packets_to_peers: u64,
    /// Payload bytes relayed from clients to peers.
    pub bytes_to_peers: u64,
    /// Datagrams relayed from peers to clients.
    pub packets_to_clients: u64,
    /// Payload bytes relayed from peers to clients.
    pub bytes_to_clients: u64,
    /// STUN Binding requests answered.
    pub bindings: u64,
    /// Requests whose MESSAGE-INTEGRITY did not verify, or whose credential had expired.
    pub auth_failures: u64,
    /// Permissions and channels refused by the peer policy (403).
    pub peers_refused: u64,
    /// Allocations refused by the per-user (486) or total (508) quota.
    pub quota_refusals: u64,
    /// Error responses of any kind.
    pub refusals: u64,
    /// Packets dropped: junk, no permission, over budget, unknown channel.
    pub dropped: u64,
    /// Datagrams one allocation sent to another of this relay, handed over inside the relay
    /// without a socket (also counted in both directions' packets and bytes).
    pub internal_deliveries: u64,
}

impl Counters {
    /// A copy of every figure.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            allocations_active: self.allocations_active.load(Relaxed),
            allocations_created: self.allocations_created.load(Relaxed),
            packets_to_peers: self.packets_to_peers.load(Relaxed),
            bytes_to_peers: self.bytes_to_peers.load(Relaxed),
            packets_to_clients: self.packets_to_clients.load(Relaxed),
            bytes_to_clients: self.bytes_to_clients.load(Relaxed),
            bindings: self.bindings.load(Relaxed),
            auth_failures: self.auth_failures.load(Relaxed),
            peers_refused: self.peers_refused.load(Relaxed),
            quota_refusals: self.quota_refusals.load(Relaxed),
            refusals: self.refusals.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            internal_deliveries: self.internal_deliveries.load(Relaxed),
        }
    }

    pub(crate) fn allocation_created(&self) {
        self.allocations_created.fetch_add(1, Relaxed);
        self.allocations_active.fetch_add(1, Relaxed);
    }

    pub(crate) fn allocation_ended(&self) {
        self.allocations_active.fetch_sub(1, Relaxed);
    }

    pub(crate) fn add_to_peer(&self, bytes: usize) {
        self.packets_to_peers.fetch_add(1, Relaxed);
        self.bytes_to_peers.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn add_to_client(&self, bytes: usize) {
        self.packets_to_clients.fetch_add(1, Relaxed);
        self.bytes_to_clients.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn add_binding(&self) {
        self.bindings.fetch_add(1, Relaxed);
    }

    pub(crate) fn add_auth_failure(&self) {
        self.auth_failures.fetch_add(1, Relaxed);
    }

    pub(crate) fn add_peer_refused(&self) {
        self.peers_refused.fetch_add(1, Relaxed);
    }

    pub(crate) fn add_refusal(&self, code: u16) {
        self.refusals.fetch_add(1, Relaxed);
        if code == 486 || code == 508 {
            self.quota_refusals.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn add_dropped(&self) {
        self.dropped.fetch_add(1, Relaxed);
    }

    pub(crate) fn add_internal_delivery(&self) {
        self.internal_deliveries.fetch_add(1, Relaxed);
    }
}
