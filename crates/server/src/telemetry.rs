//! Logging set-up: a filter from configuration, pretty or JSON lines on stderr.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; a bad filter falls back to `info` with a warning.
pub fn init(filter: &str, format: LogFormat) {
    let (filter, bad) = match EnvFilter::try_new(filter) {
        Ok(filter) => (filter, None),
        Err(err) => (EnvFilter::new("info"), Some(err)),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    if let Some(err) = bad {
        tracing::warn!(error = %err, "invalid log filter; using \"info\"");
    }
}
