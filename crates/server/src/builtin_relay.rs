//! Starting the relay built into this binary (`turn.provider = "builtin"`): its core settings
//! from `[turn]`, a REST secret generated on first start and kept in the data directory
//! (readable by the server's user only), and what it ended up with — the secret and the ports
//! actually bound — handed back for the ICE provider.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use cromulent_turn::RelayConfig;
use cromulent_turn::peer_policy::PeerPolicy;
use cromulent_turn::shell::{RelayServer, ShellConfig, StreamLimits, tls_config};
use tokio_util::sync::CancellationToken;

use crate::config::{Secret, TurnConfig, TurnProvider};
use crate::voice::ice::RelayPorts;

/// File in `data_dir` holding the generated secret.
pub const SECRET_FILE: &str = "turn-secret";

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
#[error("the TURN relay could not start: {0}")]
pub struct RelayError(#[from] io::Error);

/// The running relay and what clients need to reach it.
pub struct BuiltinRelay {
    /// The relay's sockets and threads.
    pub server: Arc<RelayServer>,
    /// The secret its credentials are minted with (configured or generated).
    pub secret: Secret,
    /// The ports bound (port 0 in the configuration picks free ones).
    pub ports: RelayPorts,
}

/// Starts the relay when `turn.provider = "builtin"`.
pub async fn start(turn: &TurnConfig, data_dir: &Path, shutdown: CancellationToken) -> Result<Option<BuiltinRelay>, RelayError> {
    if turn.provider != TurnProvider::Builtin {
        return Ok(None);
    }
    let secret = match turn.secret.expose() {
        "" => Secret::from(load_or_create_secret(data_dir)?),
        _ => turn.secret.clone(),
    };
    let mut relay = RelayConfig::with_secret(secret.expose().as_bytes().to_vec());
    relay.realm = turn.realm.clone();
    relay.strict_expiry = turn.strict_expiry;
    relay.user_quota = turn.user_quota as usize;
    relay.total_quota = turn.total_quota as usize;
    relay.allocation_bandwidth = (turn.allocation_kbps > 0).then(|| u64::from(turn.allocation_kbps) * 1000 / 8);
    relay.peer_policy = PeerPolicy::new(turn.allowed_peer_ips.clone(), turn.denied_peer_ips.clone(), turn.allow_loopback_peers);
    relay.public_ip = turn.public_ip;
    relay.relay_ports = turn.relay_ports.range();
    let tls = match turn.tls() {
        Some(files) => Some((turn.tls_listen, tls_config(&files.cert, &files.key)?)),
        None => None,
    };
    let streams = StreamLimits { per_source: turn.max_connections_per_ip as usize, ..StreamLimits::default() };
    let server = RelayServer::start(ShellConfig { listen: turn.listen, tls, relay, streams }, shutdown).await?;
    let ports = RelayPorts { udp_tcp: server.udp_port(), tls: server.tls_port(), web: None };
    Ok(Some(BuiltinRelay { server: Arc::new(server), secret, ports }))
}

/// The secret the relay generated in `data_dir`, if it has generated one, with the file's path.
pub fn generated_secret(data_dir: &Path) -> io::Result<Option<(String, PathBuf)>> {
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => Ok(Some((secret.trim().to_owned(), path))),
        Ok(_) => Ok(None),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Reads the secret kept in `data_dir`, creating it (mode 0600) on first start.
fn load_or_create_secret(data_dir: &Path) -> io::Result<String> {
    if let Some((secret, _)) = generated_secret(data_dir)? {
        return Ok(secret);
    }
    let path = data_dir.join(SECRET_FILE);
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
        assert_eq!(generated_secret(dir.path()).unwrap(), None, "reading never generates");
        let first = load_or_create_secret(dir.path()).unwrap();
        assert!(first.len() >= 43);
        assert_eq!(load_or_create_secret(dir.path()).unwrap(), first);
        assert_eq!(generated_secret(dir.path()).unwrap(), Some((first.clone(), dir.path().join(SECRET_FILE))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
