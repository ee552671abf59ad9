//! A certificate from PEM files, swapped in place when the files change (looked at every two
//! seconds) or on SIGHUP, so a certbot-style renewal needs no restart and drops no connection:
//! handshakes after the swap get the new certificate, established connections keep theirs. A
//! file that does not load (half-written, wrong key) leaves the current certificate in service.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::sync::CancellationToken;

use super::{TlsError, provider};

/// How often the files' modification times are looked at.
const LOOK_EVERY: Duration = Duration::from_secs(2);

/// The certificate in service.
#[derive(Debug)]
pub struct FileCertificate {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for FileCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

impl FileCertificate {
    /// Loads `cert` and `key` (an error if they do not load now) and keeps them current until
    /// `shutdown`.
    pub fn watch(cert: PathBuf, key: PathBuf, shutdown: CancellationToken) -> Result<Arc<FileCertificate>, TlsError> {
        let loaded = FileCertificate { current: RwLock::new(Arc::new(load(&cert, &key)?)) };
        let loaded = Arc::new(loaded);
        let watched = loaded.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            let mut seen = stamps(&cert, &key);
            let mut every = tokio::time::interval(LOOK_EVERY);
            loop {
                #[cfg(unix)]
                let hung_up = async {
                    match hangup.as_mut() {
                        Some(signal) => signal.recv().await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hung_up = std::future::pending::<Option<()>>();
                let asked = tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = every.tick() => false,
                    _ = hung_up => true,
                };
                let now = stamps(&cert, &key);
                if !asked && now == seen {
                    continue;
                }
                seen = now;
                match load(&cert, &key) {
                    Ok(certified) => {
                        *watched.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(certified);
                        tracing::info!(cert = %cert.display(), "HTTPS certificate reloaded");
                    }
                    Err(error) => tracing::warn!(%error, "HTTPS certificate not reloaded; the previous one stays in service"),
                }
            }
        });
        Ok(loaded)
    }
}

/// What tells that a file changed: its modification time and length.
fn stamps(cert: &Path, key: &Path) -> [Option<(SystemTime, u64)>; 2] {
    [cert, key].map(|path| std::fs::metadata(path).ok().and_then(|m| Some((m.modified().ok()?, m.len()))))
}

/// A certificate chain and its private key from PEM files, checked to belong together.
pub fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let file = |path: &Path, source: rustls_pki_types::pem::Error| match source {
        rustls_pki_types::pem::Error::Io(source) => TlsError::File { path: path.display().to_string(), source },
        other => TlsError::Invalid(format!("{}: {other}", path.display())),
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file(cert, e))?;
    if chain.is_empty() {
        return Err(TlsError::Invalid(format!("{}: no certificate in the file", cert.display())));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| file(key, e))?;
    CertifiedKey::from_der(chain, private, &provider())
        .map_err(|e| TlsError::Invalid(format!("{} and {}: {e}", cert.display(), key.display())))
}
