//! HTTPS for the console: rustls with the ring provider (the one the gRPC
//! side already links), from the PEM files `console.tls_cert` and
//! `console.tls_key` name.

use anyhow::Context;
use std::path::Path;
use std::sync::Arc;

/// A certificate chain and its key, ready to serve.
#[derive(Clone)]
pub struct ConsoleTls(Arc<rustls::ServerConfig>);

impl ConsoleTls {
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<ConsoleTls> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .context("console.tls_cert: not a PEM certificate chain")?;
        if certs.is_empty() {
            anyhow::bail!("console.tls_cert: no certificate in the file");
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .context("console.tls_key: not a PEM private key")?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("console.tls_cert/tls_key: the key does not fit the certificate")?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(ConsoleTls(Arc::new(config)))
    }

    pub fn from_files(cert: &Path, key: &Path) -> anyhow::Result<ConsoleTls> {
        let cert_pem = std::fs::read(cert)
            .with_context(|| format!("console.tls_cert: reading {}", cert.display()))?;
        let key_pem = std::fs::read(key)
            .with_context(|| format!("console.tls_key: reading {}", key.display()))?;
        ConsoleTls::from_pem(&cert_pem, &key_pem)
    }

    pub(crate) fn rustls_config(&self) -> axum_server::tls_rustls::RustlsConfig {
        axum_server::tls_rustls::RustlsConfig::from_config(self.0.clone())
    }
}
