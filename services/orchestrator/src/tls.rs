//! TLS between hosts: the server's certificate (and, optionally, the CA its
//! clients' certificates must be signed by), and what a client trusts and
//! presents. rustls underneath (tonic's `tls-ring`).
//!
//! A server that listens beyond loopback speaks TLS unless told
//! explicitly that plaintext is fine (`server.insecure = true`, for a
//! private network one trusts).

use anyhow::Context;
use std::path::Path;
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// PEM files read, each error naming the file.
fn read_pem(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let pem = std::fs::read(path).with_context(|| format!("{what}: reading {}", path.display()))?;
    anyhow::ensure!(
        pem.windows(11).any(|w| w == b"-----BEGIN "),
        "{what}: {} is not a PEM file",
        path.display()
    );
    Ok(pem)
}

/// The server's side of TLS.
#[derive(Clone, Debug)]
pub struct ServerTls {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    /// When set, clients must present a certificate signed by this CA.
    client_ca_pem: Option<Vec<u8>>,
}

impl ServerTls {
    pub fn from_pem(cert_pem: Vec<u8>, key_pem: Vec<u8>, client_ca_pem: Option<Vec<u8>>) -> Self {
        ServerTls {
            cert_pem,
            key_pem,
            client_ca_pem,
        }
    }

    /// Reads `server.tls_cert`, `server.tls_key` and `server.tls_client_ca`.
    pub fn from_files(cert: &Path, key: &Path, client_ca: Option<&Path>) -> anyhow::Result<Self> {
        Ok(ServerTls {
            cert_pem: read_pem(cert, "server.tls_cert")?,
            key_pem: read_pem(key, "server.tls_key")?,
            client_ca_pem: client_ca
                .map(|p| read_pem(p, "server.tls_client_ca"))
                .transpose()?,
        })
    }

    pub fn requires_client_certificates(&self) -> bool {
        self.client_ca_pem.is_some()
    }

    pub(crate) fn config(&self) -> ServerTlsConfig {
        let mut config =
            ServerTlsConfig::new().identity(Identity::from_pem(&self.cert_pem, &self.key_pem));
        if let Some(ca) = &self.client_ca_pem {
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        config
    }
}

/// A client's side of TLS for `https://` endpoints.
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    /// The CA that signed the server's certificate; none: the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// This client's certificate and key, for servers that ask for one.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    /// The name the server's certificate must carry, when the endpoint's
    /// host is not it (an IP address, say).
    pub domain: Option<String>,
}

impl ClientTls {
    /// Reads the files a worker's configuration names.
    pub fn from_files(
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
        domain: Option<String>,
        section: &str,
    ) -> anyhow::Result<Self> {
        let identity = match (cert, key) {
            (Some(c), Some(k)) => Some((
                read_pem(c, &format!("{section}.cert"))?,
                read_pem(k, &format!("{section}.key"))?,
            )),
            (None, None) => None,
            _ => anyhow::bail!("{section}: cert and key go together"),
        };
        Ok(ClientTls {
            ca_pem: ca
                .map(|p| read_pem(p, &format!("{section}.ca")))
                .transpose()?,
            identity,
            domain,
        })
    }

    pub(crate) fn config(&self) -> ClientTlsConfig {
        let mut config = ClientTlsConfig::new();
        config = match &self.ca_pem {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.with_native_roots(),
        };
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        if let Some(domain) = &self.domain {
            config = config.domain_name(domain.clone());
        }
        config
    }
}
