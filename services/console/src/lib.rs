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
//! Managers review, approve and change the day's plans the planner made
//! (`/plans`, with a chart of planned calls per hour against capacity, in
//! [`charts`]) and watch the day on a live dashboard (`/dashboard`).
//!
//! Supervisors and managers read every call's quality inspection
//! (`/qa`: the calls with their scores and flags, filtered; each call's
//! recording, transcript with its flags, and pitch and loudness chart;
//! the hourly reports, also as CSV), and see a human call's words flagged
//! while it is on ([`live_quality`]).
//!
//! Handed-over calls wait in the ACD ([`acd`], [`floor`]) and live in
//! [`bridge`] until their agent files the outcome; the agent's page
//! carries their signalling on a WebSocket, and an agent on auto-answer
//! keeps a standing audio line with the console ([`standing`]).
//!
//! It reads and writes through `huikuan-store` and never touches the
//! dialer: calls reach it as records and events, and live calls as
//! `huikuan_core::handoff` messages that the composition root joins to the
//! orchestrator's `Handoff` stream.

pub mod acd;
pub mod audit;
pub mod auth;
pub mod bridge;
pub mod charts;
pub mod config;
pub mod csrf;
pub mod error;
pub mod floor;
pub mod live_quality;
mod pages;
pub mod password;
pub mod session;
pub mod standing;
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
    floor: Arc<floor::Floor>,
    bridge: bridge::Bridge,
    /// Cookies get `Secure` when the console is served over TLS.
    secure_cookies: bool,
    /// Where call recordings are (for the quality pages' player).
    recordings: std::sync::OnceLock<std::path::PathBuf>,
}

impl Console {
    /// The console on `store`. `secure_cookies`: served over TLS.
    pub fn new(
        store: Store,
        config: ConsoleConfig,
        secure_cookies: bool,
    ) -> anyhow::Result<Console> {
        config.validate()?;
        let floor = Arc::new(floor::Floor::new(config.acd_rules()));
        Ok(Console {
            inner: Arc::new(Inner {
                store,
                templates: templates::load()?,
                login_limiter: auth::LoginLimiter::new(config.login_attempts_per_minute),
                floor: floor.clone(),
                bridge: bridge::Bridge::new(
                    floor,
                    i64::from(config.callback_after_minutes),
                    // A console on loopback serves browsers on its own
                    // host: their standing lines need its loopback
                    // candidates.
                    standing::StandingLines::new(huikuan_webrtc_leg::AgentLegConfig {
                        loopback: config.listen.ip().is_loopback(),
                    }),
                ),
                config,
                secure_cookies,
                recordings: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Where call recordings are kept, for the quality pages' player
    /// (set once; without it recordings are not served).
    pub fn set_recordings(&self, dir: std::path::PathBuf) {
        let _ = self.inner.recordings.set(dir);
    }

    /// The file of a recording the store names (a path inside the
    /// recordings directory): it must resolve inside that directory.
    pub(crate) fn recording_file(
        &self,
        stored: Option<&str>,
    ) -> Result<std::path::PathBuf, ConsoleError> {
        let gone = || ConsoleError::NotFound("this call has no recording here".into());
        let (Some(dir), Some(stored)) = (self.inner.recordings.get(), stored) else {
            return Err(gone());
        };
        let root = dir.canonicalize().map_err(|_| gone())?;
        let file = root.join(stored).canonicalize().map_err(|_| gone())?;
        if !file.starts_with(&root) || !file.is_file() {
            tracing::warn!(recording = %stored, "a stored recording path outside the recordings directory was refused");
            return Err(gone());
        }
        Ok(file)
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

    pub fn bridge(&self) -> &bridge::Bridge {
        &self.inner.bridge
    }

    /// Queues a call the robot hands over (the agent desk of the
    /// orchestrator's `Handoff` stream); its messages flow on the
    /// returned channels.
    /// Calls of each dialect ("mandarin", ...) the floor could give an
    /// agent at once now ([`acd::Acd::room`]).
    pub fn agent_room(&self) -> std::collections::BTreeMap<String, u32> {
        self.inner.floor.with_acd(|acd, _| acd.room())
    }

    pub fn queue_call(
        &self,
        call: huikuan_core::handoff::QueuedCall,
    ) -> (
        tokio::sync::mpsc::Sender<huikuan_core::handoff::FromCall>,
        tokio::sync::mpsc::Receiver<huikuan_core::handoff::ToCall>,
    ) {
        self.inner.bridge.queue(call)
    }

    /// Carries out the ACD's routing steps that concern calls (a give-up
    /// tells the dialer to promise a callback), until the floor closes.
    /// `serve` runs it; a console embedded otherwise runs it itself.
    pub fn carry_out_steps(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut steps = self.floor().subscribe();
        let bridge = self.inner.bridge.clone();
        async move {
            loop {
                match steps.recv().await {
                    Ok(step) => bridge.on_step(&step),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::error!(steps = n, "routing steps missed");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        }
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
        tokio::spawn(self.carry_out_steps());
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
            self.end_late_wrap_ups();
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

impl Console {
    /// Agents whose wrap-up time ran out are available again; a call they
    /// filed nothing for is reported by its dialer as handed to an agent.
    fn end_late_wrap_ups(&self) {
        let limit = i64::from(self.config().wrap_up_seconds) * 1000;
        let now = now_ms();
        for (agent, p) in self.floor().snapshot() {
            if p.state == floor::AgentState::WrapUp && now - p.since_ms >= limit {
                if let Some(c) = self.bridge().drop_unfiled(&agent) {
                    tracing::warn!(%agent, call = %c.call.call_id, "wrap-up time ran out: no outcome filed");
                }
                self.floor().apply(|acd, now| acd.end_wrap_up(&agent, now));
            }
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
