//! Pure rules of the chat: ids, validated names and texts, who may see what, and events.
//! Nothing here does IO, so every rule is unit-tested without a database or socket.

pub mod access;
pub mod event;
pub mod id;
pub mod link;
pub mod mention;
pub mod principal;
pub mod text;
