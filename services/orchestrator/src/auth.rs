//! Bearer-token authentication for every Orchestrator call.
//!
//! The token is a shared secret of at least [`MIN_TOKEN_CHARS`] characters
//! (refused at start otherwise). The scheme name is matched without
//! regard to case (RFC 7235), and the token is compared through SHA-256
//! digests of both sides, so the time taken says nothing about how much
//! of it, or of its length, a guess got right.

use sha2::{Digest, Sha256};
use tonic::{Request, Status};

/// The shortest token a server accepts to run with.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Whether `token` may protect a server; the error says why not.
pub fn check_token(token: &str) -> Result<(), String> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Err(format!(
            "the API token must be at least {MIN_TOKEN_CHARS} characters (it has {}); make one with `openssl rand -hex 16`",
            token.chars().count()
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the API token must be printable ASCII without spaces".into());
    }
    Ok(())
}

/// A tonic interceptor that admits requests carrying
/// `authorization: Bearer <token>`.
#[derive(Clone)]
pub struct BearerAuth {
    expected: [u8; 32],
}

impl BearerAuth {
    pub fn new(token: &str) -> Self {
        BearerAuth {
            expected: Sha256::digest(token.as_bytes()).into(),
        }
    }

    fn admits(&self, header: &[u8]) -> bool {
        let Ok(header) = std::str::from_utf8(header) else {
            return false;
        };
        let Some((scheme, token)) = header.trim().split_once(' ') else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        let same = given
            .iter()
            .zip(&self.expected)
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0;
        scheme.eq_ignore_ascii_case("bearer") & same
    }
}

impl tonic::service::Interceptor for BearerAuth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        match req.metadata().get("authorization") {
            None => Err(Status::unauthenticated(
                "missing authorization metadata (expected 'Bearer <token>')",
            )),
            Some(v) if self.admits(v.as_bytes()) => Ok(req),
            Some(_) => Err(Status::unauthenticated("invalid bearer token")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_in_any_case_and_only_the_token() {
        let auth = BearerAuth::new("0123456789abcdef");
        for ok in [
            "Bearer 0123456789abcdef",
            "bearer 0123456789abcdef",
            "BEARER  0123456789abcdef ",
        ] {
            assert!(auth.admits(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "Bearer 0123456789abcdeF",
            "Basic 0123456789abcdef",
            "0123456789abcdef",
            "Bearer ",
            "Bearer 0123456789abcdef0",
        ] {
            assert!(!auth.admits(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn short_tokens_are_refused() {
        assert!(check_token("test-token").is_err());
        assert!(check_token("with space in it!").is_err());
        assert!(check_token("0123456789abcdef").is_ok());
    }
}
