//! The `[console]` section of `huikuan.toml`.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Where the console listens (`huikuan serve` and `huikuan console`).
    pub listen: SocketAddr,
    /// TLS certificate and key (PEM). Without them the console speaks
    /// plain HTTP, which it accepts only on loopback unless `insecure`.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Plain HTTP on a non-loopback address (behind a TLS proxy one trusts).
    pub insecure: bool,
    /// A session ends after this long without a request.
    pub session_idle_minutes: u32,
    /// Failed logins in a row before the user is locked out.
    pub max_failed_logins: u32,
    /// How long a lockout lasts (an admin's `huikuan user passwd` lifts it).
    pub lockout_minutes: u32,
    /// Login attempts per client address per minute.
    pub login_attempts_per_minute: u32,
    /// Reasons an agent may give for a break.
    pub pause_codes: Vec<String>,
    /// Time an agent has after a call to file its outcome.
    pub wrap_up_seconds: u32,
    /// How long an offered call rings an agent before it goes to the next.
    pub ring_timeout_seconds: u32,
    /// How long a handed-over call waits for an agent before the robot
    /// promises the debtor a callback.
    pub queue_wait_seconds: u32,
    /// Answered within this many seconds counts as on target.
    pub answer_target_seconds: u32,
    /// A handed-over call nobody took is called back this many minutes
    /// later (the debtor is told when).
    pub callback_after_minutes: u32,
    /// Sichuanese calls may go to Mandarin speakers when no Sichuanese
    /// speaker is free.
    pub sichuanese_to_mandarin: bool,
    /// The centre's time zone: the managers' dashboard counts its day and
    /// hours in it. Unset: `[planning] centre_time_zone`.
    pub centre_time_zone: Option<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls_cert: None,
            tls_key: None,
            insecure: false,
            session_idle_minutes: 30,
            max_failed_logins: 5,
            lockout_minutes: 15,
            login_attempts_per_minute: 20,
            pause_codes: ["lunch", "training", "meeting", "personal"]
                .map(String::from)
                .to_vec(),
            wrap_up_seconds: 120,
            ring_timeout_seconds: 15,
            queue_wait_seconds: 60,
            answer_target_seconds: 20,
            callback_after_minutes: 60,
            sichuanese_to_mandarin: true,
            centre_time_zone: None,
        }
    }
}

impl ConsoleConfig {
    /// The ACD's rules from these settings.
    pub fn acd_rules(&self) -> crate::acd::AcdRules {
        crate::acd::AcdRules {
            ring_timeout_ms: i64::from(self.ring_timeout_seconds) * 1000,
            max_wait_ms: i64::from(self.queue_wait_seconds) * 1000,
            answer_target_ms: i64::from(self.answer_target_seconds) * 1000,
            sichuanese_to_mandarin: self.sichuanese_to_mandarin,
        }
    }

    /// The centre's time zone (Beijing when none is set).
    pub fn centre_tz(&self) -> chrono_tz::Tz {
        self.centre_time_zone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// Every setting in range, or the first that is not, by name.
    pub fn validate(&self) -> anyhow::Result<()> {
        let bad = |field: &str, why: &str| anyhow::anyhow!("console.{field}: {why}");
        if let Some(z) = &self.centre_time_zone {
            if z.parse::<chrono_tz::Tz>().is_err() {
                return Err(bad(
                    "centre_time_zone",
                    &format!("'{z}' is not an IANA time zone (e.g. Asia/Shanghai)"),
                ));
            }
        }
        if !(1..=24 * 60).contains(&self.session_idle_minutes) {
            return Err(bad("session_idle_minutes", "must be 1-1440"));
        }
        if !(1..=100).contains(&self.max_failed_logins) {
            return Err(bad("max_failed_logins", "must be 1-100"));
        }
        if !(1..=24 * 60).contains(&self.lockout_minutes) {
            return Err(bad("lockout_minutes", "must be 1-1440"));
        }
        if !(1..=10_000).contains(&self.login_attempts_per_minute) {
            return Err(bad("login_attempts_per_minute", "must be 1-10000"));
        }
        if !(10..=3600).contains(&self.wrap_up_seconds) {
            return Err(bad("wrap_up_seconds", "must be 10-3600"));
        }
        if !(3..=120).contains(&self.ring_timeout_seconds) {
            return Err(bad("ring_timeout_seconds", "must be 3-120"));
        }
        if !(10..=1800).contains(&self.queue_wait_seconds) {
            return Err(bad("queue_wait_seconds", "must be 10-1800"));
        }
        if !(1..=600).contains(&self.answer_target_seconds) {
            return Err(bad("answer_target_seconds", "must be 1-600"));
        }
        if !(10..=7 * 24 * 60).contains(&self.callback_after_minutes) {
            return Err(bad("callback_after_minutes", "must be 10-10080"));
        }
        for code in &self.pause_codes {
            let ok = !code.is_empty()
                && code.chars().count() <= 32
                && code
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '));
            if !ok {
                return Err(bad(
                    "pause_codes",
                    &format!("'{code}' must be 1-32 letters, digits, spaces, '_' or '-'"),
                ));
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(bad("tls_cert", "tls_cert and tls_key go together"));
        }
        if self.tls_cert.is_none() && !self.insecure && !self.listen.ip().is_loopback() {
            return Err(bad(
                "listen",
                &format!(
                    "{} is not loopback: configure tls_cert and tls_key, or set insecure = true behind a TLS proxy",
                    self.listen
                ),
            ));
        }
        Ok(())
    }
}
