//! The built-in STUN/TURN relay as this server runs it: settings from `[turn]`, and a REST
//! secret that is generated on first start and kept in the data directory, readable by the
//! server's user only.

use std::io::{self, Write};
use std::path::Path;

use base64::Engine;
use cromulent_turn::RelayConfig;
use cromulent_turn::peer_policy::PeerPolicy;
use cromulent_turn::shell::{RelayServer, ShellConfig, tls_config};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigError, TurnProvider};

/// File in `data_dir` holding the generated secret.
const SECRET_FILE: &str = "turn-secret";

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// A `[turn]` setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The secret file or a listener could not be set up.
    #[error("the TURN relay could not start: {0}")]
    Io(#[from] io::Error),
}

/// Starts the relay when `turn.provider = "builtin"`, filling in the generated secret and the
/// ports actually bound (port 0 picks free ones), so the ICE provider hands out what exists.
pub async fn start(config: &mut Config, shutdown: CancellationToken) -> Result<Option<RelayServer>, RelayError> {
    if config.turn.provider != TurnProvider::Builtin {
        return Ok(None);
    }
    if config.turn.secret.expose().is_empty() {
        config.turn.secret = load_or_create_secret(&config.data_dir)?.into();
    }
    let turn = &config.turn;
    let settings = turn.relay_settings()?;
    let mut relay = RelayConfig::with_secret(turn.secret.expose().as_bytes().to_vec());
    relay.realm = turn.realm.clone();
    relay.strict_expiry = turn.strict_expiry;
    relay.user_quota = turn.user_quota as usize;
    relay.total_quota = turn.total_quota as usize;
    relay.allocation_bandwidth = (turn.allocation_kbps > 0).then(|| u64::from(turn.allocation_kbps) * 1000 / 8);
    relay.peer_policy = PeerPolicy::new(settings.allowed_peers, settings.denied_peers, turn.allow_loopback_peers);
    relay.public_ip = settings.public_ip;
    relay.relay_ports = settings.relay_ports;
    let tls = match settings.tls {
        true => Some((turn.tls_listen, tls_config(&turn.tls_cert, &turn.tls_key)?)),
        false => None,
    };
    let server = RelayServer::start(ShellConfig { listen: turn.listen, tls, relay }, shutdown).await?;
    config.turn.listen.set_port(server.udp_port());
    if let Some(port) = server.tls_port() {
        config.turn.tls_listen.set_port(port);
    }
    Ok(Some(server))
}

/// Reads the secret kept in `data_dir`, creating it (mode 0600) on first start.
fn load_or_create_secret(data_dir: &Path) -> io::Result<String> {
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => return Ok(secret.trim().to_owned()),
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated the TURN secret");
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_generated_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_secret(dir.path()).unwrap();
        assert!(first.len() >= 43);
        assert_eq!(load_or_create_secret(dir.path()).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
