//! A certificate authority made for one test, the certificates it issues, and TLS clients that
//! trust it: what HTTPS tests need to check which certificate the server presents.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The name HTTPS tests give the server (resolved to loopback by the clients).
pub const NAME: &str = "chat.test";

/// A test CA.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A leaf certificate and its key, as PEM, and the certificate as DER.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        TestCa { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap() }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `names` (DNS names or IP addresses) with a fresh key.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        let params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf { cert_pem: cert.pem(), key_pem: key.serialize_pem(), der: cert.der().to_vec() }
    }

    /// Writes a leaf for `names` as `cert.pem` and `key.pem` in `dir`, replacing what is there
    /// whole (written aside and renamed, as certbot does).
    pub fn write_leaf(&self, dir: &std::path::Path, names: &[&str]) -> Leaf {
        let leaf = self.leaf(names);
        for (name, text) in [("key.pem", &leaf.key_pem), ("cert.pem", &leaf.cert_pem)] {
            std::fs::write(dir.join(format!("{name}.new")), text).unwrap();
            std::fs::rename(dir.join(format!("{name}.new")), dir.join(name)).unwrap();
        }
        leaf
    }
}

/// A rustls client trusting exactly the PEM roots given.
pub fn client_config(roots_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A TLS connection to `addr` for `name`, verified against `roots_pem`.
pub async fn connect(addr: SocketAddr, name: &str, roots_pem: &str) -> std::io::Result<TlsStream<TcpStream>> {
    let stream = TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(client_config(roots_pem));
    connector.connect(ServerName::try_from(name.to_owned()).unwrap(), stream).await
}

/// The leaf certificate the server at `addr` presents for `name`, if the handshake verifies.
pub async fn served_leaf(addr: SocketAddr, name: &str, roots_pem: &str) -> Option<Vec<u8>> {
    let stream = connect(addr, name, roots_pem).await.ok()?;
    stream.get_ref().1.peer_certificates().map(|chain| chain[0].to_vec())
}

/// An HTTPS client that trusts `roots_pem` and finds [`NAME`] at `addr`.
pub fn https_client(roots_pem: &str, addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(roots_pem.as_bytes()).unwrap()])
        .resolve(NAME, addr)
        .build()
        .unwrap()
}
