//! Logging in: a per-address rate limit, then the user's lockout, then the
//! password; every outcome is audited. An unknown name, a disabled user
//! and a wrong password get the same answer and take the same time.

use crate::audit::Action;
use crate::error::ConsoleError;
use crate::{password, Console};
use axum_extra::extract::cookie::Cookie;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Login attempts per client address.
pub struct LoginLimiter(DefaultKeyedRateLimiter<String>);

impl LoginLimiter {
    pub fn new(per_minute: u32) -> LoginLimiter {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        LoginLimiter(RateLimiter::keyed(Quota::per_minute(n)))
    }

    /// True when `remote` may try once more now.
    pub fn allow(&self, remote: &str) -> bool {
        // One bucket per host; IPv6 clients share their /64.
        let key = match remote.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            _ => remote.to_string(),
        };
        self.0.check_key(&key).is_ok()
    }

    /// Forgets addresses whose bucket is full again.
    pub fn forget_idle(&self) {
        self.0.retain_recent();
    }
}

/// Why a login was refused, as the person at the login page reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

const WRONG: &str = "Wrong user name or password.";

/// A name as it may appear in the audit log: printable, at most 64 chars.
fn loggable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

impl Console {
    /// Checks a name and password from `remote`; on success the session
    /// cookie to set.
    pub async fn login(
        &self,
        name: &str,
        password_given: &str,
        remote: &str,
    ) -> Result<Result<Cookie<'static>, Refused>, ConsoleError> {
        if !self.inner.login_limiter.allow(remote) {
            self.audit(
                &loggable(name),
                Action::LoginFailed,
                "",
                "rate limited",
                remote,
            )
            .await?;
            return Err(ConsoleError::RateLimited);
        }
        let name = name.trim();
        let user = match huikuan_core::staff::validate_user_name(name) {
            Ok(n) => self.store().user(n).await?,
            Err(_) => None,
        };
        let given = password_given.to_string();
        let Some(user) = user.filter(|u| !u.disabled) else {
            tokio::task::spawn_blocking(move || password::verify_nobody(&given))
                .await
                .map_err(|e| anyhow::anyhow!("password check: {e}"))?;
            self.audit(
                &loggable(name),
                Action::LoginFailed,
                "",
                "unknown or disabled user",
                remote,
            )
            .await?;
            return Ok(Err(Refused(WRONG.into())));
        };
        let now = crate::now_ms();
        if user.locked_at(now) {
            self.audit(
                &user.name,
                Action::LoginLocked,
                &user.name,
                "attempt while locked",
                remote,
            )
            .await?;
            return Ok(Err(locked_message(user.locked_until_ms.unwrap_or(now))));
        }
        let phc = user.password_hash.clone();
        let matches = tokio::task::spawn_blocking(move || password::verify(&given, &phc))
            .await
            .map_err(|e| anyhow::anyhow!("password check: {e}"))?;
        if !matches {
            let cfg = self.config();
            let lock_until = now + i64::from(cfg.lockout_minutes) * 60_000;
            let max = i32::try_from(cfg.max_failed_logins).unwrap_or(i32::MAX);
            let after = self
                .store()
                .record_login_failure(&user.name, max, lock_until)
                .await?;
            let now_locked = after.as_ref().is_some_and(|u| u.locked_at(now));
            let failures = after.as_ref().map_or(0, |u| u.failed_logins);
            self.audit(
                &user.name,
                if now_locked {
                    Action::LoginLocked
                } else {
                    Action::LoginFailed
                },
                &user.name,
                &format!("wrong password ({failures} in a row)"),
                remote,
            )
            .await?;
            return Ok(Err(if now_locked {
                locked_message(lock_until)
            } else {
                Refused(WRONG.into())
            }));
        }
        self.store().record_login_success(&user.name).await?;
        let cookie = self.start_session(&user, remote).await?;
        self.audit(
            &user.name,
            Action::Login,
            &user.name,
            user.role.as_str(),
            remote,
        )
        .await?;
        Ok(Ok(cookie))
    }
}

fn locked_message(until_ms: i64) -> Refused {
    let until = chrono::DateTime::from_timestamp_millis(until_ms)
        .map(|t| t.format("%H:%M UTC").to_string())
        .unwrap_or_default();
    Refused(format!(
        "Too many failed logins: this user is locked until {until}. An administrator can unlock it by setting a new password."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_counts_per_address() {
        let l = LoginLimiter::new(3);
        for _ in 0..3 {
            assert!(l.allow("10.0.0.1"));
        }
        assert!(!l.allow("10.0.0.1"));
        assert!(l.allow("10.0.0.2"));
        // Two addresses of one IPv6 /64 share a bucket.
        for _ in 0..3 {
            assert!(l.allow("2001:db8::1"));
        }
        assert!(!l.allow("2001:db8::2"));
    }
}
