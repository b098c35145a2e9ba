//! Huikuan's web console: the pages people use.
//!
//! Agents take the calls the robot hands over on the agent desktop;
//! supervisors watch the floor; managers and admins read the audit log and
//! manage users. This crate holds the HTTP side of all of that (axum, with
//! tera templates from `web/templates` and files from `web/static`, both
//! compiled in) and the security every page stands on:
//!
//! * accounts with roles (`huikuan_core::staff`), argon2id password hashes,
//!   lockout after repeated failed logins and a per-address login rate
//!   limit ([`auth`]);
//! * sessions in the database, so a restart logs nobody out, as
//!   `HttpOnly; SameSite=Strict` cookies (`Secure` under TLS) ([`session`]);
//! * a CSRF check on every state-changing request, forms and JSON alike,
//!   in one middleware no route can skip ([`csrf`]);
//! * an audit line for every login, user change and view of a debtor's
//!   personal data, written before the answer goes back ([`audit`]).
//!
//! It reads and writes through `huikuan-store` and never touches the
//! dialer: calls reach it as records and events.

pub mod acd;
pub mod audit;
pub mod auth;
pub mod config;
pub mod csrf;
pub mod error;
pub mod floor;
mod pages;
pub mod password;
pub mod session;
mod templates;
pub mod tls;

use axum::Router;
use huikuan_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::ConsoleConfig;
pub use error::ConsoleError;

/// The console's shared state; cheap to clone.
#[derive(Clone)]
pub struct Console {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: ConsoleConfig,
    templates: tera::Tera,
    login_limiter: auth::LoginLimiter,
    floor: floor::Floor,
    /// Cookies get `Secure` when the console is served over TLS.
    secure_cookies: bool,
}

impl Console {
    /// The console on `store`. `secure_cookies`: served over TLS.
    pub fn new(
        store: Store,
        config: ConsoleConfig,
        secure_cookies: bool,
    ) -> anyhow::Result<Console> {
        config.validate()?;
        Ok(Console {
            inner: Arc::new(Inner {
                store,
                templates: templates::load()?,
                login_limiter: auth::LoginLimiter::new(config.login_attempts_per_minute),
                floor: floor::Floor::new(config.acd_rules()),
                config,
                secure_cookies,
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &ConsoleConfig {
        &self.inner.config
    }

    pub fn floor(&self) -> &floor::Floor {
        &self.inner.floor
    }

    /// Every page and endpoint, with the CSRF check and security headers.
    pub fn router(&self) -> Router {
        pages::routes(self.clone())
    }

    /// Serves until `shutdown` resolves: TLS when `tls` is given.
    pub async fn serve(
        self,
        listener: std::net::TcpListener,
        tls: Option<tls::ConsoleTls>,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let handle = axum_server::Handle::new();
        let on_shutdown = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            on_shutdown.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        });
        listener.set_nonblocking(true)?;
        let sweeper = self.clone();
        tokio::spawn(async move { sweeper.sweep_forever().await });
        match tls {
            Some(tls) => {
                axum_server::from_tcp_rustls(listener, tls.rustls_config())
                    .handle(handle)
                    .serve(app)
                    .await?
            }
            None => {
                axum_server::from_tcp(listener)
                    .handle(handle)
                    .serve(app)
                    .await?
            }
        }
        Ok(())
    }

    /// Applies the ACD's timers every second; drops expired sessions and
    /// stale rate-limit entries every minute.
    async fn sweep_forever(&self) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut seconds = 0u64;
        loop {
            tick.tick().await;
            self.floor().tick();
            seconds += 1;
            if !seconds.is_multiple_of(60) {
                continue;
            }
            self.inner.login_limiter.forget_idle();
            match self.store().purge_expired_sessions(now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(sessions = n, "expired console sessions removed"),
                Err(e) => tracing::warn!(error = %e, "cannot remove expired sessions"),
            }
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
