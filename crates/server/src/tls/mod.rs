//! HTTPS for the web listener: a rustls configuration whose certificate comes from files the
//! operator renews ([`files`], swapped in place when they change) or from an ACME CA the server
//! asks by itself ([`acme`], which also answers the CA's TLS-ALPN-01 challenges on this
//! listener, so no port 80 is needed).

pub mod acme;
pub mod files;

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::server::ResolvesServerCert;
use tokio_util::sync::CancellationToken;

use crate::config::{TlsConfig, TlsSource};

/// The ALPN name of TLS-ALPN-01 validation connections (RFC 8737): they prove we hold the name
/// and carry nothing else.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Why HTTPS could not start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        source: io::Error,
    },
    /// A certificate or key does not parse or they do not match.
    #[error("{0}")]
    Invalid(String),
}

/// The rustls configuration for the web listener, or `None` for plain HTTP. Tasks that reload
/// files or renew certificates run until `shutdown`.
pub async fn start(tls: &TlsConfig, data_dir: &Path, shutdown: CancellationToken) -> Result<Option<Arc<ServerConfig>>, TlsError> {
    let (resolver, acme): (Arc<dyn ResolvesServerCert>, bool) = match tls.source() {
        None => return Ok(None),
        Some(TlsSource::Files { cert, key }) => (files::FileCertificate::watch(cert, key, shutdown)?, false),
        Some(TlsSource::Acme { domains, contact, directory, ca_roots }) => {
            let settings = acme::AcmeSettings { domains, contact, directory, ca_roots, dir: data_dir.join("acme") };
            (acme::start(settings, shutdown)?, true)
        }
    };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if acme {
        config.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
    }
    Ok(Some(Arc::new(config)))
}

/// One crypto provider for every TLS use (aws-lc-rs, as the database and HTTP clients use).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}
