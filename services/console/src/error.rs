//! What a request can fail with, and the answer each failure gets.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use huikuan_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: the browser goes to the login page.
    #[error("login required")]
    LoginRequired,
    /// The session's role may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The CSRF token is missing or wrong, or the request came from
    /// another site.
    #[error("request refused: {0}")]
    Csrf(&'static str),
    /// A field of a form or JSON body is wrong.
    #[error("{field}: {reason}")]
    BadInput { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many login attempts from this address; wait a minute")]
    RateLimited,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ConsoleError::NotFound(what),
            StoreError::AlreadyExists(what) => {
                ConsoleError::Conflict(format!("{what} already exists"))
            }
            StoreError::Conflict(why) => ConsoleError::Conflict(why),
            StoreError::InvalidArgument { field, reason } => {
                ConsoleError::BadInput { field, reason }
            }
            StoreError::Db(e) => ConsoleError::Internal(anyhow::anyhow!("database: {e}")),
        }
    }
}

impl ConsoleError {
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::LoginRequired => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden(_) | ConsoleError::Csrf(_) => StatusCode::FORBIDDEN,
            ConsoleError::BadInput { .. } => StatusCode::BAD_REQUEST,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::Conflict(_) => StatusCode::CONFLICT,
            ConsoleError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match &self {
            ConsoleError::LoginRequired => {
                return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response()
            }
            ConsoleError::Internal(e) => tracing::error!(error = %e, "console request failed"),
            other => tracing::debug!(error = %other, "console request refused"),
        }
        (
            self.status(),
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.to_string(),
        )
            .into_response()
    }
}
