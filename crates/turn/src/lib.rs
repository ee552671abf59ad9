//! Cromulent's STUN/TURN relay (RFC 8489 / RFC 8656 over UDP, TCP and TLS) with coturn's REST
//! credentials, stateless nonces, a default-deny peer policy and quotas: a sans-IO core
//! ([`relay::Relay`]) and a thin tokio shell ([`shell::RelayServer`]).

#![forbid(unsafe_code)]

pub mod counters;
pub mod credential;
pub mod framing;
pub mod integrity;
pub mod nonce;
pub mod peer_policy;
pub mod relay;
#[cfg(feature = "shell")]
pub mod shell;
pub mod source_budget;
pub mod token_bucket;

pub use counters::{Counters, Snapshot};
pub use relay::{Relay, RelayConfig};
