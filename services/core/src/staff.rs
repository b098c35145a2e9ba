//! The people who use the console: their roles, what each role may do, and
//! the dialects an agent can take calls in.
//!
//! Roles are a closed set with their permissions written beside them, so a
//! page or an action asks `role.may(Permission::X)` and the whole access
//! policy reads in one table ([`Role::may`]). Seeing a debtor's full phone
//! number is not a permission of any role: an agent sees it only on their
//! own live call, which the console decides per call.

use crate::Dialect;
use std::fmt;
use std::str::FromStr;

/// What a console user is employed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Takes calls the robot hands over.
    Agent,
    /// Watches agents and queues, listens in, whispers.
    Supervisor,
    /// Plans and approves the day's work, reads reports.
    Manager,
    /// Manages users; sees everything a manager sees.
    Admin,
}

/// Something a page or an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// The agent desktop: take calls, set one's own state.
    TakeCalls,
    /// Live agents, queues and robot calls in progress.
    WatchFloor,
    /// Listen to, or whisper into, another agent's call.
    ListenIn,
    /// Any call's record and recording, not only one's own.
    ReadAllCalls,
    /// Campaign schedules and reports.
    ManageSchedules,
    /// Add, disable and change users.
    ManageUsers,
    /// The audit log.
    ReadAudit,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Agent, Role::Supervisor, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// The access policy: one row per role.
    pub fn may(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Agent => matches!(p, TakeCalls),
            Role::Supervisor => matches!(p, TakeCalls | WatchFloor | ListenIn | ReadAllCalls),
            Role::Manager => matches!(p, WatchFloor | ReadAllCalls | ManageSchedules | ReadAudit),
            Role::Admin => matches!(
                p,
                WatchFloor | ReadAllCalls | ManageSchedules | ManageUsers | ReadAudit
            ),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown role '{}' (expected agent, supervisor, manager or admin)",
                    crate::truncate(s, crate::ECHO_CHARS)
                )
            })
    }
}

/// The dialects an agent takes calls in. Never contains `Auto`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skills(Vec<Dialect>);

impl Skills {
    pub fn new(dialects: impl IntoIterator<Item = Dialect>) -> Skills {
        let mut v: Vec<Dialect> = dialects
            .into_iter()
            .filter(|d| *d != Dialect::Auto)
            .collect();
        v.sort_by_key(|d| d.as_str());
        v.dedup();
        Skills(v)
    }

    pub fn has(&self, d: Dialect) -> bool {
        self.0.contains(&d)
    }

    pub fn dialects(&self) -> &[Dialect] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Skills {
    /// Comma-separated, as stored and as the CLI takes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|d| d.as_str()).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for Skills {
    type Err = String;
    /// `cantonese,mandarin` (any of the dialects' names; blank: none).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.parse::<Dialect>()? {
                Dialect::Auto => {
                    return Err("'auto' is not a skill: name the dialects the agent speaks".into())
                }
                d => out.push(d),
            }
        }
        Ok(Skills::new(out))
    }
}

/// A user name: 2-32 characters of ASCII letters, digits, `.`, `_` or `-`,
/// starting with a letter, so it is safe in URLs, logs and audit lines.
pub fn validate_user_name(name: &str) -> Result<&str, String> {
    let ok_len = (2..=32).contains(&name.len());
    let ok_first = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok_len && ok_first && ok_chars {
        Ok(name)
    } else {
        Err(format!(
            "user name '{}' must be 2-32 letters, digits, '.', '_' or '-', starting with a letter",
            crate::truncate(name, crate::ECHO_CHARS)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_supervisors_and_agents_take_calls_and_only_admins_manage_users() {
        let takes: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.may(Permission::TakeCalls))
            .collect();
        assert_eq!(takes, [Role::Agent, Role::Supervisor]);
        let admins: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.may(Permission::ManageUsers))
            .collect();
        assert_eq!(admins, [Role::Admin]);
        assert!(!Role::Agent.may(Permission::WatchFloor));
        assert!(!Role::Agent.may(Permission::ReadAllCalls));
        assert!(!Role::Manager.may(Permission::ListenIn));
    }

    #[test]
    fn roles_and_skills_round_trip_and_name_what_is_wrong() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("boss".parse::<Role>().unwrap_err().contains("boss"));
        let s: Skills = "mandarin, 粤语,mandarin".parse().unwrap();
        assert_eq!(s.to_string(), "cantonese,mandarin");
        assert!(s.has(Dialect::Cantonese) && !s.has(Dialect::Sichuanese));
        assert!("auto".parse::<Skills>().unwrap_err().contains("auto"));
        assert!("klingon".parse::<Skills>().unwrap_err().contains("klingon"));
        assert_eq!("".parse::<Skills>(), Ok(Skills::default()));
    }

    #[test]
    fn user_names_are_safe_in_urls_and_logs() {
        assert!(validate_user_name("li.wei_2").is_ok());
        for bad in ["", "a", "9lives", "li wei", "李伟", "a/b", &"x".repeat(33)] {
            assert!(validate_user_name(bad).is_err(), "{bad}");
        }
    }
}
