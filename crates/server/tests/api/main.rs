//! Integration tests: the real server on port 0 with a fresh SQLite file, or a fresh PostgreSQL
//! database when `CROMULENT_TEST_POSTGRES_URL` is set, driven by real HTTP and WebSocket clients.

mod abuse;
mod account;
mod acme;
mod admin;
mod assets;
mod auth;
mod avatars;
mod backup;
mod channels;
mod coturn_config;
mod deploy;
mod doctor;
mod errors;
mod gateway;
mod helpers;
mod https;
mod invites;
mod lifecycle;
mod mail_sink;
mod messages;
mod metrics;
mod outage;
mod pki;
mod previews;
mod profile;
mod reads;
mod recovery;
mod relay;
mod strangers;
mod turn;
mod voice;
