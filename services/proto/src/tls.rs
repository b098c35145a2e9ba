//! A client's side of TLS toward an `https://` orchestrator: the CA it
//! trusts (or the system's roots), its own certificate for a server that
//! asks for one, and the name to expect.

use anyhow::Context;
use std::path::Path;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// A PEM file read, errors naming the setting and the file.
pub fn read_pem(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let pem = std::fs::read(path).with_context(|| format!("{what}: reading {}", path.display()))?;
    anyhow::ensure!(
        pem.windows(11).any(|w| w == b"-----BEGIN "),
        "{what}: {} is not a PEM file",
        path.display()
    );
    Ok(pem)
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
    /// Reads the files a client's configuration names (`section` names the
    /// settings in errors).
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
