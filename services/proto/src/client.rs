//! A ready Orchestrator client that sends the bearer token on every call:
//! for dialer workers, tools and tests.

use crate::pb::orchestrator_client::OrchestratorClient;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

#[derive(Clone)]
pub struct TokenInterceptor {
    header: MetadataValue<tonic::metadata::Ascii>,
}

impl tonic::service::Interceptor for TokenInterceptor {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut()
            .insert("authorization", self.header.clone());
        Ok(req)
    }
}

pub type Client = OrchestratorClient<InterceptedService<Channel, TokenInterceptor>>;

pub use crate::tls::ClientTls;

/// Connects to `endpoint` (e.g. `http://127.0.0.1:50051`, or `https://`
/// trusting the system's roots).
pub async fn connect(endpoint: &str, token: &str) -> anyhow::Result<Client> {
    connect_with(endpoint, token, None).await
}

/// Connects to `endpoint` with `tls` for an `https://` one.
pub async fn connect_with(
    endpoint: &str,
    token: &str,
    tls: Option<&crate::tls::ClientTls>,
) -> anyhow::Result<Client> {
    let header: MetadataValue<_> = format!("Bearer {token}")
        .parse()
        .map_err(|_| anyhow::anyhow!("token: must be printable ASCII"))?;
    let mut ep = Endpoint::from_shared(endpoint.to_string())?
        .connect_timeout(std::time::Duration::from_secs(5))
        .tcp_nodelay(true);
    if endpoint.starts_with("https://") {
        let default = crate::tls::ClientTls::default();
        ep = ep.tls_config(tls.unwrap_or(&default).config())?;
    } else if tls.is_some() {
        anyhow::bail!("{endpoint}: TLS is configured, so the endpoint must be https://");
    }
    let channel = ep.connect().await?;
    Ok(OrchestratorClient::with_interceptor(
        channel,
        TokenInterceptor { header },
    ))
}
