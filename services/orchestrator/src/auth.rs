//! Bearer-token authentication for every Orchestrator call.

use tonic::{Request, Status};

/// A tonic interceptor that admits requests carrying
/// `authorization: Bearer <token>`.
#[derive(Clone)]
pub struct BearerAuth {
    expected: std::sync::Arc<str>,
}

impl BearerAuth {
    pub fn new(token: &str) -> Self {
        BearerAuth {
            expected: format!("Bearer {token}").into(),
        }
    }
}

/// Compares without an early exit, so timing does not reveal the token.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl tonic::service::Interceptor for BearerAuth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        match req.metadata().get("authorization") {
            None => Err(Status::unauthenticated(
                "missing authorization metadata (expected 'Bearer <token>')",
            )),
            Some(v) if same_bytes(v.as_bytes(), self.expected.as_bytes()) => Ok(req),
            Some(_) => Err(Status::unauthenticated("invalid bearer token")),
        }
    }
}
