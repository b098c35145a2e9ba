//! Login sessions: a random token in an `HttpOnly; SameSite=Strict`
//! cookie, its SHA-256 in the database (so a restart logs nobody out and a
//! copy of the database opens no session), an idle timeout that slides
//! with use, and a CSRF token per session.

use crate::error::ConsoleError;
use crate::Console;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use axum_extra::extract::cookie::{Cookie, SameSite};
use huikuan_core::staff::Permission;
use huikuan_store::{Session, User};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

/// The session cookie's name.
pub const COOKIE: &str = "hk_session";

/// A session's last-seen time is written at most this often.
const TOUCH_EVERY_MS: i64 = 60_000;

/// 32 random bytes, hex.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The client's address, as the connection gives it.
pub fn remote_of(extensions: &Extensions) -> String {
    use axum::extract::connect_info::MockConnectInfo;
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a)
        .or_else(|| extensions.get::<MockConnectInfo<SocketAddr>>().map(|m| m.0))
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The session token the request's cookie carries, if any.
pub fn token_of(headers: &HeaderMap) -> Option<String> {
    let jar = axum_extra::extract::CookieJar::from_headers(headers);
    jar.get(COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Console {
    /// Starts a session for `user`; returns the cookie to set.
    pub async fn start_session(
        &self,
        user: &User,
        remote: &str,
    ) -> Result<Cookie<'static>, ConsoleError> {
        let token = random_token();
        let now = crate::now_ms();
        self.store()
            .create_session(&Session {
                token_hash: token_hash(&token),
                user_name: user.name.clone(),
                csrf_token: random_token(),
                remote: remote.to_string(),
                created_at_ms: now,
                last_seen_at_ms: now,
                expires_at_ms: now + self.idle_ms(),
            })
            .await?;
        Ok(self.cookie(token))
    }

    /// The cookie carrying `value` (empty and expired to log out).
    pub fn cookie(&self, value: String) -> Cookie<'static> {
        let logout = value.is_empty();
        let mut c = Cookie::build((COOKIE, value))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.inner.secure_cookies)
            .path("/")
            .build();
        if logout {
            c.make_removal();
        }
        c
    }

    fn idle_ms(&self) -> i64 {
        i64::from(self.config().session_idle_minutes) * 60_000
    }

    /// The live session and user behind a request's cookie.
    pub async fn session_of(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<(Session, User)>, ConsoleError> {
        let Some(token) = token_of(headers) else {
            return Ok(None);
        };
        let now = crate::now_ms();
        let found = self.store().session(&token_hash(&token), now).await?;
        if let Some((s, _)) = &found {
            if now - s.last_seen_at_ms >= TOUCH_EVERY_MS {
                self.store()
                    .touch_session(&s.token_hash, now, now + self.idle_ms())
                    .await?;
            }
        }
        Ok(found)
    }
}

/// The logged-in user of a request; pages that need one take this, and a
/// request without a live session is sent to the login page (or gets 401
/// on the JSON API).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub session: Session,
    pub remote: String,
}

impl CurrentUser {
    /// This user's role may do `p`, or the request is refused (403).
    pub fn require(&self, p: Permission) -> Result<(), ConsoleError> {
        if self.user.role.may(p) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(format!(
                "a {} may not do this",
                self.user.role
            )))
        }
    }
}

impl FromRequestParts<Console> for CurrentUser {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Console,
    ) -> Result<Self, Self::Rejection> {
        if let Some(found) = parts.extensions.get::<CurrentUser>() {
            return Ok(found.clone());
        }
        match console.session_of(&parts.headers).await? {
            Some((session, user)) => {
                let me = CurrentUser {
                    user,
                    session,
                    remote: remote_of(&parts.extensions),
                };
                parts.extensions.insert(me.clone());
                Ok(me)
            }
            None => Err(ConsoleError::LoginRequired),
        }
    }
}
