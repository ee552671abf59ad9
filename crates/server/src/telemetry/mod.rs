//! What the server tells its operator about itself: logs ([`logging`]) and Prometheus
//! metrics ([`metrics`]).

pub mod logging;
pub mod metrics;

pub use logging::init;
pub use metrics::Metrics;
