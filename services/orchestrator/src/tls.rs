//! TLS between hosts, the server's side: its certificate (and, optionally,
//! the CA its clients' certificates must be signed by). rustls underneath
//! (tonic's `tls-ring`). The client's side is `huikuan_proto::tls`.
//!
//! A server that listens beyond loopback speaks TLS unless told
//! explicitly that plaintext is fine (`server.insecure = true`, for a
//! private network one trusts).

use huikuan_proto::tls::read_pem;
use std::path::Path;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

pub use huikuan_proto::tls::ClientTls;

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
