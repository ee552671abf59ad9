//! Cromulent: a self-hosted voice and text chat server in one binary.
//! Layers, outermost first: `http`/`gateway` (transports) → `service` (use cases) →
//! `store` (all SQL) and `hub` (event fan-out), with `domain` holding the pure rules.

// Unsafe code is refused everywhere but `heap`, which calls two glibc functions.
#![deny(unsafe_code)]

pub mod app;
pub mod builtin_relay;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod domain;
pub mod gateway;
pub mod heap;
pub mod http;
pub mod hub;
pub mod mail;
pub mod preview;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod voice;

pub use app::{App, AppState};
pub use config::Config;
