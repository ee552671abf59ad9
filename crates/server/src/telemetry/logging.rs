//! Logging set-up: a filter from configuration, pretty or JSON lines on stderr.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The STUN/TURN codec crates log a warning for every malformed packet, which would let anyone
/// on the network flood the log; they speak only at `error` unless the filter names them.
const QUIET_CODECS: &[&str] = &["stun_types=error", "turn_types=error", "stun_proto=error"];

/// Installs the global subscriber; a bad filter falls back to `info` with a warning.
pub fn init(filter: &str, format: LogFormat) {
    let filter = with_quiet_codecs(filter);
    let (filter, bad) = match EnvFilter::try_new(&filter) {
        Ok(filter) => (filter, None),
        Err(err) => (EnvFilter::new(with_quiet_codecs("info")), Some(err)),
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

/// `filter` plus [`QUIET_CODECS`] for the codec crates it does not mention.
fn with_quiet_codecs(filter: &str) -> String {
    let mut full = filter.to_owned();
    for directive in QUIET_CODECS {
        let target = directive.split('=').next().unwrap_or_default();
        if !filter.contains(target) {
            if !full.is_empty() {
                full.push(',');
            }
            full.push_str(directive);
        }
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_crates_are_quiet_unless_named() {
        assert_eq!(with_quiet_codecs("info"), "info,stun_types=error,turn_types=error,stun_proto=error");
        assert_eq!(with_quiet_codecs("info,stun_types=trace"), "info,stun_types=trace,turn_types=error,stun_proto=error");
    }
}
