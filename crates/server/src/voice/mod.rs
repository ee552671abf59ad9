//! Voice: the registry of who is in which voice channel, and the ICE servers (STUN/TURN) that
//! let their peer connections through any network. Signaling itself rides the gateway.

pub mod check;
pub mod ice;
pub mod rooms;

pub use ice::{IceList, IceProvider, IceServersSource, RequestHost};
pub use rooms::{JoinRefused, VoiceRooms};
