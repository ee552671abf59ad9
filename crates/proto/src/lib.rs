//! Wire types of Cromulent: REST bodies and WebSocket gateway frames.
//! The server speaks through these types; the black-box tests speak raw JSON on purpose, so a
//! change here that breaks the documented wire shows up there.

#![forbid(unsafe_code)]

pub mod admin;
pub mod error;
pub mod gateway;
pub mod id;
pub mod rest;
pub mod voice;

pub use error::ErrorCode;
pub use id::Id;
