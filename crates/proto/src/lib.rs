//! Wire types of Cromulent: REST bodies and WebSocket gateway frames.
//! The server, its tests and benchmarks share these so the contract lives in one place.

#![forbid(unsafe_code)]

pub mod gateway;
pub mod id;
pub mod rest;
pub mod voice;

pub use id::Id;
