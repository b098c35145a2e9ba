//! Planned agent calls on their way to an agent: leased, dialling or
//! ringing, not yet at the agent desk.
//!
//! Problem: a call planned for an agent is dialled only when an agent who
//! speaks the debtor's dialect is free (one call per free agent, so that a
//! debtor who answers does not wait). The desk counts its free agents, but
//! a call that is still ringing at the debtor's phone is not at the desk
//! yet: leasing against the desk's count alone would dial a second call
//! for the same agent on every lease request until the first is answered.
//!
//! Mechanism: each agent call leased is kept here, by attempt, with its
//! dialect and its lease's expiry, until it reaches the desk (its
//! `Handoff` stream opens) or its outcome is reported (not answered); an
//! expired lease drops it. [`AgentDials::room`] is the desk's room less
//! the calls on their way, per dialect.
//!
//! Guarantees: never more agent calls dialling for a dialect than the
//! desk had free agents for it when they were leased; a lost dialer frees
//! its room when its leases expire. In this process only: after a restart
//! the leases still out expire before their attempts are leased again.

use huikuan_store::AgentRoom;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Default)]
pub struct AgentDials {
    /// Attempt -> (dialect, lease expiry).
    on_the_way: Mutex<HashMap<String, (String, Instant)>>,
}

impl AgentDials {
    fn on_the_way(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.on_the_way
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An agent call was leased until `expires`.
    pub fn leased(&self, attempt: &str, dialect: &str, expires: Instant) {
        self.on_the_way()
            .insert(attempt.to_string(), (dialect.to_string(), expires));
    }

    /// The call reached the desk, or ended before it.
    pub fn arrived(&self, attempt: &str) {
        self.on_the_way().remove(attempt);
    }

    /// Calls of each dialect that may be leased now: the desk's `free`
    /// less the calls on their way to it.
    pub fn room(&self, mut free: AgentRoom, now: Instant) -> AgentRoom {
        let mut on_the_way = self.on_the_way();
        on_the_way.retain(|_, (_, expires)| *expires > now);
        for (dialect, _) in on_the_way.values() {
            if let Some(n) = free.get_mut(dialect) {
                *n = n.saturating_sub(1);
            }
        }
        free.retain(|_, n| *n > 0);
        free
    }

    /// Calls on their way now.
    pub fn len(&self) -> usize {
        self.on_the_way().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn room(pairs: &[(&str, u32)]) -> AgentRoom {
        pairs.iter().map(|(d, n)| (d.to_string(), *n)).collect()
    }

    #[test]
    fn a_call_on_its_way_takes_its_agent_until_it_arrives() {
        let dials = AgentDials::default();
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        let free = room(&[("mandarin", 2), ("cantonese", 1)]);
        dials.leased("a1", "mandarin", later);
        dials.leased("a2", "cantonese", later);
        assert_eq!(dials.room(free.clone(), now), room(&[("mandarin", 1)]));
        dials.arrived("a2");
        assert_eq!(
            dials.room(free.clone(), now),
            room(&[("mandarin", 1), ("cantonese", 1)])
        );
        // A dialect with more calls on the way than free agents has none.
        dials.leased("a3", "mandarin", later);
        dials.leased("a4", "mandarin", later);
        assert_eq!(dials.room(free, now), room(&[("cantonese", 1)]));
    }

    #[test]
    fn an_expired_lease_frees_its_agent() {
        let dials = AgentDials::default();
        let now = Instant::now();
        dials.leased("a1", "mandarin", now + Duration::from_secs(1));
        let free = room(&[("mandarin", 1)]);
        assert!(dials.room(free.clone(), now).is_empty());
        assert_eq!(
            dials.room(free, now + Duration::from_secs(2)),
            room(&[("mandarin", 1)])
        );
        assert!(dials.is_empty());
    }
}
