//! Certificates from an ACME CA (Let's Encrypt by default) by TLS-ALPN-01 on the HTTPS listener
//! itself. `rustls-acme` speaks the protocol, keeps the account and answers the challenges; this
//! module gives it a store in `data_dir/acme` (files readable by the server's user only, so a
//! restart reuses the certificate without asking the CA) and logs what it does. It renews when a
//! third of the certificate's lifetime is left (30 days for Let's Encrypt's 90-day certificates);
//! a renewal that fails leaves the current certificate in service and is retried with backoff.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use rustls::server::ResolvesServerCert;
use rustls_acme::{AccountCache, AcmeConfig, CertCache, EventOk};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::{TlsError, provider};

/// What the server asks the CA for.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    /// Names on the certificate.
    pub domains: Vec<String>,
    /// Account contact (`mailto:`), if any.
    pub contact: Option<String>,
    /// The CA's directory URL.
    pub directory: String,
    /// Extra roots for reaching the CA.
    pub ca_roots: Option<PathBuf>,
    /// Where the account key and certificates are kept.
    pub dir: PathBuf,
}

/// Starts obtaining and renewing; the returned resolver serves the certificate once there is
/// one (from the store at once, if it holds one) and the challenge certificates meanwhile.
pub fn start(settings: AcmeSettings, shutdown: CancellationToken) -> Result<Arc<dyn ResolvesServerCert>, TlsError> {
    crate::app::create_private_dir(&settings.dir)
        .map_err(|source| TlsError::File { path: settings.dir.display().to_string(), source })?;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &settings.ca_roots {
        let invalid = |e: rustls_pki_types::pem::Error| TlsError::Invalid(format!("{}: {e}", path.display()));
        for cert in CertificateDer::pem_file_iter(path).map_err(invalid)? {
            roots.add(cert.map_err(invalid)?).map_err(|e| TlsError::Invalid(format!("{}: {e}", path.display())))?;
        }
    }
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let store = AcmeStore { dir: settings.dir.clone() };
    let config = AcmeConfig::new_with_client_config(&settings.domains, Arc::new(client))
        .contact(settings.contact.iter().map(String::as_str))
        .directory(&settings.directory)
        .cache(store);
    let mut state = config.state();
    let resolver = state.resolver();
    let domains = settings.domains.join(",");
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => return,
                event = state.next() => event,
            };
            match event {
                Some(Ok(EventOk::DeployedCachedCert)) => tracing::info!(%domains, "HTTPS certificate loaded from the store"),
                Some(Ok(EventOk::DeployedNewCert)) => tracing::info!(%domains, "HTTPS certificate obtained from the ACME CA"),
                Some(Ok(event)) => tracing::debug!(?event, "ACME"),
                Some(Err(error)) => tracing::warn!(
                    %domains,
                    %error,
                    "ACME: no new certificate this time; the current one (if any) stays in service and the server retries"
                ),
                None => return,
            }
        }
    });
    Ok(resolver)
}

/// The account key and certificates as files in one directory, named by a hash of what they
/// belong to (the domains or contact, and the CA), so changing either starts afresh.
struct AcmeStore {
    dir: PathBuf,
}

impl AcmeStore {
    fn path(&self, kind: &str, parts: &[String], directory: &str) -> PathBuf {
        let mut hash = Sha256::new();
        for part in parts {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hash.update(directory.as_bytes());
        let digest = hash.finalize();
        let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{kind}-{name}.pem"))
    }
}

/// Reads a stored file; missing means nothing stored yet.
async fn read(path: PathBuf) -> io::Result<Option<Vec<u8>>> {
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Writes a file readable by the server's user only, whole or not at all (a temporary file
/// renamed over the old one).
async fn write_private(path: PathBuf, bytes: Vec<u8>) -> io::Result<()> {
    tokio::task::spawn_blocking(move || write_private_blocking(&path, &bytes)).await.map_err(io::Error::other)?
}

fn write_private_blocking(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = path.with_extension("pem.new");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

#[async_trait::async_trait]
impl CertCache for AcmeStore {
    type EC = io::Error;

    async fn load_cert(&self, domains: &[String], directory_url: &str) -> Result<Option<Vec<u8>>, io::Error> {
        read(self.path("certificate", domains, directory_url)).await
    }

    async fn store_cert(&self, domains: &[String], directory_url: &str, cert: &[u8]) -> Result<(), io::Error> {
        write_private(self.path("certificate", domains, directory_url), cert.to_vec()).await
    }
}

#[async_trait::async_trait]
impl AccountCache for AcmeStore {
    type EA = io::Error;

    async fn load_account(&self, contact: &[String], directory_url: &str) -> Result<Option<Vec<u8>>, io::Error> {
        read(self.path("account", contact, directory_url)).await
    }

    async fn store_account(&self, contact: &[String], directory_url: &str, account: &[u8]) -> Result<(), io::Error> {
        write_private(self.path("account", contact, directory_url), account.to_vec()).await
    }
}
