//! Automatic call distribution: which agent gets a call the robot hands
//! over, and what happens when nobody takes it.
//!
//! Problem: handoffs arrive one by one, each in a dialect; agents come and
//! go, each speaking some dialects. A call must reach a person who speaks
//! its dialect, fairly (the agent who has waited longest first), and must
//! never be silently dropped: an offer that is declined or not answered
//! goes to the next agent, and a call nobody takes within the wait limit
//! is given up to the robot, which promises a callback.
//!
//! Mechanism: a pure state machine over time passed in (`now_ms`), so
//! every rule is tested without clocks or sockets. Calls wait in arrival
//! order; [`Acd::route`] offers each waiting call to the longest-idle
//! available agent with the skill (Sichuanese calls fall back to Mandarin
//! speakers when allowed) who has not already declined or missed it. An
//! offer rings for `ring_timeout_ms`; a missed offer also takes the agent
//! out of rotation (`Break { code: "missed call" }`), as an agent who does
//! not answer is not at the desk. [`Acd::tick`] applies the timers and
//! returns what the caller must carry out (withdraw an offer, give up a
//! call).
//!
//! Guarantees: a call is offered to one agent at a time and to each agent
//! at most once; an agent holds at most one offer or call; every queued
//! call ends in exactly one of answered, abandoned (the debtor hung up) or
//! given up (no agent in time); the figures count each call once.

use crate::floor::AgentState;
use huikuan_core::staff::Skills;
use huikuan_core::Dialect;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Timing and routing rules.
#[derive(Debug, Clone)]
pub struct AcdRules {
    /// How long an offer rings before it goes to the next agent.
    pub ring_timeout_ms: i64,
    /// How long a call may wait for an agent before the robot offers a
    /// callback instead.
    pub max_wait_ms: i64,
    /// The service-level target: answered within this long counts as on
    /// target.
    pub answer_target_ms: i64,
    /// Sichuanese calls may go to Mandarin speakers when no Sichuanese
    /// speaker is free.
    pub sichuanese_to_mandarin: bool,
}

impl Default for AcdRules {
    fn default() -> Self {
        AcdRules {
            ring_timeout_ms: 15_000,
            max_wait_ms: 60_000,
            answer_target_ms: 20_000,
            sichuanese_to_mandarin: true,
        }
    }
}

/// The pause code an agent gets for a missed offer.
pub const MISSED: &str = "missed call";

/// A call waiting for an agent, as the ACD needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The call's id (its attempt).
    pub call: String,
    pub dialect: Dialect,
    pub queued_at_ms: i64,
}

/// What the ACD asks of the console after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Ring this agent's desktop with this call.
    Offer { call: String, agent: String },
    /// Stop ringing: the offer was declined, missed, or the call ended.
    Withdraw { call: String, agent: String },
    /// Nobody took the call in time: the robot takes it back to promise a
    /// callback.
    GiveUp { call: String },
}

/// Why an accept was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    #[error("this call is not offered to you (it was withdrawn or went to someone else)")]
    NotOffered,
    #[error("no such agent on the floor")]
    NoAgent,
}

#[derive(Debug, Clone)]
struct Agent {
    state: AgentState,
    since_ms: i64,
    skills: Skills,
    /// The call offered to or taken by this agent.
    call: Option<String>,
}

#[derive(Debug, Clone)]
struct Queued {
    waiting: Waiting,
    /// The agent it rings, and since when.
    ringing: Option<(String, i64)>,
    /// Agents who declined or missed it.
    tried: HashSet<String>,
}

/// Queue figures, as the supervisor sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueFigures {
    pub waiting: usize,
    pub longest_wait_ms: i64,
    pub answered: u64,
    pub answered_within_target: u64,
    pub abandoned: u64,
    pub given_up: u64,
}

/// The floor's agents and the queue.
#[derive(Debug, Default)]
pub struct Acd {
    rules: AcdRules,
    agents: BTreeMap<String, Agent>,
    queue: Vec<Queued>,
    figures: QueueFigures,
}

impl Acd {
    pub fn new(rules: AcdRules) -> Acd {
        Acd {
            rules,
            ..Acd::default()
        }
    }

    pub fn rules(&self) -> &AcdRules {
        &self.rules
    }

    /// Puts a signed-in agent in a state an agent may choose (available
    /// or a break); returns the offers this makes possible.
    pub fn set_agent(
        &mut self,
        name: &str,
        skills: Skills,
        state: AgentState,
        now_ms: i64,
    ) -> Vec<Step> {
        let agent = self.agents.entry(name.to_string()).or_insert(Agent {
            state: state.clone(),
            since_ms: now_ms,
            skills: skills.clone(),
            call: None,
        });
        agent.skills = skills;
        if agent.state != state {
            agent.state = state;
            agent.since_ms = now_ms;
        }
        self.route(now_ms)
    }

    /// Takes an agent off the floor; an offer ringing them goes on.
    pub fn sign_off(&mut self, name: &str, now_ms: i64) -> Vec<Step> {
        let mut steps = self.withdraw_offer_of(name);
        self.agents.remove(name);
        steps.extend(self.route(now_ms));
        steps
    }

    /// An agent's state and since when.
    pub fn agent(&self, name: &str) -> Option<(AgentState, i64, Option<String>)> {
        self.agents
            .get(name)
            .map(|a| (a.state.clone(), a.since_ms, a.call.clone()))
    }

    /// Every agent on the floor: name, state, since, call.
    pub fn agents(&self) -> Vec<(String, AgentState, i64, Option<String>)> {
        self.agents
            .iter()
            .map(|(n, a)| (n.clone(), a.state.clone(), a.since_ms, a.call.clone()))
            .collect()
    }

    /// A handoff arrives. When no agent on the floor (in any state)
    /// speaks its dialect, nobody could take it in time: it is given up
    /// at once, so the debtor is not kept on hold for nothing.
    pub fn enqueue(&mut self, waiting: Waiting, now_ms: i64) -> Vec<Step> {
        if !self
            .agents
            .values()
            .any(|a| self.speaks(&a.skills, waiting.dialect))
        {
            self.figures.given_up += 1;
            return vec![Step::GiveUp { call: waiting.call }];
        }
        if !self.queue.iter().any(|q| q.waiting.call == waiting.call) {
            self.queue.push(Queued {
                waiting,
                ringing: None,
                tried: HashSet::new(),
            });
        }
        self.route(now_ms)
    }

    /// The offered agent takes the call.
    pub fn accept(&mut self, call: &str, agent: &str, now_ms: i64) -> Result<Waiting, AcdError> {
        let at = self
            .queue
            .iter()
            .position(|q| {
                q.waiting.call == call && q.ringing.as_ref().is_some_and(|(a, _)| a == agent)
            })
            .ok_or(AcdError::NotOffered)?;
        let a = self.agents.get_mut(agent).ok_or(AcdError::NoAgent)?;
        let q = self.queue.remove(at);
        a.state = AgentState::OnCall;
        a.since_ms = now_ms;
        a.call = Some(call.to_string());
        self.figures.answered += 1;
        if now_ms - q.waiting.queued_at_ms <= self.rules.answer_target_ms {
            self.figures.answered_within_target += 1;
        }
        Ok(q.waiting)
    }

    /// The offered agent says no: the call goes to the next agent.
    pub fn decline(&mut self, call: &str, agent: &str, now_ms: i64) -> Vec<Step> {
        let mut steps = Vec::new();
        if let Some(q) = self.queue.iter_mut().find(|q| q.waiting.call == call) {
            if q.ringing.as_ref().is_some_and(|(a, _)| a == agent) {
                q.ringing = None;
                q.tried.insert(agent.to_string());
                if let Some(a) = self.agents.get_mut(agent) {
                    a.call = None;
                }
                steps.push(Step::Withdraw {
                    call: call.to_string(),
                    agent: agent.to_string(),
                });
            }
        }
        steps.extend(self.route(now_ms));
        steps
    }

    /// The debtor hung up while waiting.
    pub fn abandon(&mut self, call: &str, now_ms: i64) -> Vec<Step> {
        let mut steps = Vec::new();
        if let Some(at) = self.queue.iter().position(|q| q.waiting.call == call) {
            let q = self.queue.remove(at);
            self.figures.abandoned += 1;
            if let Some((agent, _)) = q.ringing {
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.call = None;
                }
                steps.push(Step::Withdraw {
                    call: call.to_string(),
                    agent,
                });
            }
        }
        steps.extend(self.route(now_ms));
        steps
    }

    /// The agent's call is over: wrap-up starts.
    pub fn end_call(&mut self, agent: &str, now_ms: i64) {
        if let Some(a) = self.agents.get_mut(agent) {
            if a.state == AgentState::OnCall {
                a.state = AgentState::WrapUp;
                a.since_ms = now_ms;
            }
        }
    }

    /// Wrap-up filed (or its time ran out): the agent is available again.
    pub fn end_wrap_up(&mut self, agent: &str, now_ms: i64) -> Vec<Step> {
        if let Some(a) = self.agents.get_mut(agent) {
            if a.state == AgentState::WrapUp {
                a.state = AgentState::Available;
                a.since_ms = now_ms;
                a.call = None;
            }
        }
        self.route(now_ms)
    }

    /// Applies the timers: missed offers and calls that waited too long.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Step> {
        let mut steps = Vec::new();
        let ring = self.rules.ring_timeout_ms;
        for q in &mut self.queue {
            if let Some((agent, since)) = q.ringing.clone() {
                if now_ms - since >= ring {
                    q.ringing = None;
                    q.tried.insert(agent.clone());
                    if let Some(a) = self.agents.get_mut(&agent) {
                        a.call = None;
                        a.state = AgentState::Break {
                            code: MISSED.to_string(),
                        };
                        a.since_ms = now_ms;
                    }
                    steps.push(Step::Withdraw {
                        call: q.waiting.call.clone(),
                        agent,
                    });
                }
            }
        }
        let max_wait = self.rules.max_wait_ms;
        let (late, kept): (Vec<Queued>, Vec<Queued>) = std::mem::take(&mut self.queue)
            .into_iter()
            .partition(|q| now_ms - q.waiting.queued_at_ms >= max_wait);
        self.queue = kept;
        for q in late {
            self.figures.given_up += 1;
            if let Some((agent, _)) = q.ringing {
                if let Some(a) = self.agents.get_mut(&agent) {
                    a.call = None;
                }
                steps.push(Step::Withdraw {
                    call: q.waiting.call.clone(),
                    agent,
                });
            }
            steps.push(Step::GiveUp {
                call: q.waiting.call,
            });
        }
        steps.extend(self.route(now_ms));
        steps
    }

    /// Calls waiting, oldest first.
    pub fn waiting(&self) -> Vec<(Waiting, Option<String>)> {
        self.queue
            .iter()
            .map(|q| {
                (
                    q.waiting.clone(),
                    q.ringing.as_ref().map(|(a, _)| a.clone()),
                )
            })
            .collect()
    }

    pub fn figures(&self, now_ms: i64) -> QueueFigures {
        QueueFigures {
            waiting: self.queue.len(),
            longest_wait_ms: self
                .queue
                .iter()
                .map(|q| now_ms - q.waiting.queued_at_ms)
                .max()
                .unwrap_or(0),
            ..self.figures.clone()
        }
    }

    /// Calls of each dialect the floor could give an agent at once now:
    /// available agents with no call who speak it (or its fallback), less
    /// the calls waiting for one that ring nobody. An agent who speaks two
    /// dialects counts for both: what planned agent calls are dialled
    /// against, with the queue and its give-up as the net when two arrive
    /// for one agent.
    pub fn room(&self) -> BTreeMap<String, u32> {
        [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese]
            .into_iter()
            .map(|d| {
                let free = self
                    .agents
                    .values()
                    .filter(|a| {
                        a.state == AgentState::Available
                            && a.call.is_none()
                            && self.speaks(&a.skills, d)
                    })
                    .count();
                let waiting = self
                    .queue
                    .iter()
                    .filter(|q| q.ringing.is_none() && q.waiting.dialect == d)
                    .count();
                (d.as_str().to_string(), free.saturating_sub(waiting) as u32)
            })
            .collect()
    }

    fn speaks(&self, skills: &Skills, dialect: Dialect) -> bool {
        skills.has(dialect)
            || (dialect == Dialect::Sichuanese
                && self.rules.sichuanese_to_mandarin
                && skills.has(Dialect::Mandarin))
            || (dialect == Dialect::Auto && skills.has(Dialect::Mandarin))
    }

    /// Offers every waiting call that rings nobody to the best free agent.
    fn route(&mut self, now_ms: i64) -> Vec<Step> {
        let mut steps = Vec::new();
        for i in 0..self.queue.len() {
            if self.queue[i].ringing.is_some() {
                continue;
            }
            let dialect = self.queue[i].waiting.dialect;
            let pick = |exact: bool| {
                self.agents
                    .iter()
                    .filter(|(name, a)| {
                        a.state == AgentState::Available
                            && a.call.is_none()
                            && !self.queue[i].tried.contains(*name)
                            && if exact {
                                a.skills.has(dialect)
                            } else {
                                self.speaks(&a.skills, dialect)
                            }
                    })
                    .min_by_key(|(name, a)| (a.since_ms, (*name).clone()))
                    .map(|(name, _)| name.clone())
            };
            // A speaker of the dialect itself first, then a fallback.
            let Some(agent) = pick(true).or_else(|| pick(false)) else {
                continue;
            };
            if let Some(a) = self.agents.get_mut(&agent) {
                a.call = Some(self.queue[i].waiting.call.clone());
            }
            self.queue[i].ringing = Some((agent.clone(), now_ms));
            steps.push(Step::Offer {
                call: self.queue[i].waiting.call.clone(),
                agent,
            });
        }
        steps
    }

    fn withdraw_offer_of(&mut self, agent: &str) -> Vec<Step> {
        let mut steps = Vec::new();
        for q in &mut self.queue {
            if q.ringing.as_ref().is_some_and(|(a, _)| a == agent) {
                q.ringing = None;
                q.tried.insert(agent.to_string());
                steps.push(Step::Withdraw {
                    call: q.waiting.call.clone(),
                    agent: agent.to_string(),
                });
            }
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skills(s: &str) -> Skills {
        s.parse().unwrap()
    }

    fn call(id: &str, dialect: Dialect, at: i64) -> Waiting {
        Waiting {
            call: id.into(),
            dialect,
            queued_at_ms: at,
        }
    }

    fn offer(call: &str, agent: &str) -> Step {
        Step::Offer {
            call: call.into(),
            agent: agent.into(),
        }
    }

    #[test]
    fn room_counts_free_speakers_less_the_calls_waiting_for_them() {
        let mut acd = Acd::new(AcdRules::default());
        acd.set_agent("m1", skills("mandarin"), AgentState::Available, 1_000);
        acd.set_agent("m2", skills("mandarin"), AgentState::Available, 1_100);
        let away = AgentState::Break {
            code: "lunch".into(),
        };
        acd.set_agent("c1", skills("cantonese"), away, 1_200);
        let room = acd.room();
        assert_eq!(room["mandarin"], 2);
        // Sichuanese calls fall back to Mandarin speakers.
        assert_eq!(room["sichuanese"], 2);
        assert_eq!(room["cantonese"], 0, "an agent on a break takes nothing");
        // A call offered to m1 takes m1.
        acd.enqueue(call("x", Dialect::Mandarin, 2_000), 2_000);
        assert_eq!(acd.room()["mandarin"], 1);
    }

    #[test]
    fn a_call_goes_to_the_longest_idle_agent_who_speaks_its_dialect() {
        let mut acd = Acd::new(AcdRules::default());
        acd.set_agent(
            "cantonese-late",
            skills("cantonese"),
            AgentState::Available,
            3_000,
        );
        acd.set_agent(
            "mandarin-early",
            skills("mandarin"),
            AgentState::Available,
            1_000,
        );
        acd.set_agent(
            "cantonese-early",
            skills("cantonese,mandarin"),
            AgentState::Available,
            2_000,
        );
        let steps = acd.enqueue(call("c1", Dialect::Cantonese, 10_000), 10_000);
        assert_eq!(steps, [offer("c1", "cantonese-early")]);
        // The next Cantonese call rings the other Cantonese speaker, never
        // the Mandarin-only one.
        let steps = acd.enqueue(call("c2", Dialect::Cantonese, 10_100), 10_100);
        assert_eq!(steps, [offer("c2", "cantonese-late")]);
        let steps = acd.enqueue(call("c3", Dialect::Cantonese, 10_200), 10_200);
        assert!(steps.is_empty(), "{steps:?}");
        assert_eq!(acd.figures(10_200).waiting, 3);
    }

    #[test]
    fn sichuanese_calls_prefer_sichuanese_speakers_and_fall_back_to_mandarin_when_allowed() {
        let mut acd = Acd::new(AcdRules::default());
        acd.set_agent("mandarin", skills("mandarin"), AgentState::Available, 1_000);
        acd.set_agent(
            "sichuan",
            skills("sichuanese"),
            AgentState::Available,
            2_000,
        );
        assert_eq!(
            acd.enqueue(call("s1", Dialect::Sichuanese, 5_000), 5_000),
            [offer("s1", "sichuan")],
            "the dialect's own speaker first, though idle for less time"
        );
        assert_eq!(
            acd.enqueue(call("s2", Dialect::Sichuanese, 5_001), 5_001),
            [offer("s2", "mandarin")]
        );
        let mut strict = Acd::new(AcdRules {
            sichuanese_to_mandarin: false,
            ..AcdRules::default()
        });
        strict.set_agent("mandarin", skills("mandarin"), AgentState::Available, 1_000);
        assert_eq!(
            strict.enqueue(call("s1", Dialect::Sichuanese, 5_000), 5_000),
            [Step::GiveUp { call: "s1".into() }],
            "nobody on the floor may take it: given up at once"
        );
        assert_eq!(strict.figures(5_000).given_up, 1);
    }

    #[test]
    fn a_declined_or_missed_offer_goes_to_the_next_agent_and_a_missing_agent_is_paused() {
        let rules = AcdRules::default();
        let ring = rules.ring_timeout_ms;
        let mut acd = Acd::new(rules);
        for (name, at) in [("a", 1), ("b", 2), ("c", 3)] {
            acd.set_agent(name, skills("mandarin"), AgentState::Available, at);
        }
        assert_eq!(
            acd.enqueue(call("m1", Dialect::Mandarin, 100), 100),
            [offer("m1", "a")]
        );
        let steps = acd.decline("m1", "a", 200);
        assert_eq!(
            steps,
            [
                Step::Withdraw {
                    call: "m1".into(),
                    agent: "a".into()
                },
                offer("m1", "b")
            ]
        );
        // b does not answer: after the ring timeout it goes to c (a has
        // declined it already), and b is taken out of rotation.
        assert!(acd.tick(200 + ring - 1).is_empty());
        let steps = acd.tick(200 + ring);
        assert_eq!(
            steps,
            [
                Step::Withdraw {
                    call: "m1".into(),
                    agent: "b".into()
                },
                offer("m1", "c")
            ]
        );
        let (state, _, _) = acd.agent("b").unwrap();
        assert_eq!(
            state,
            AgentState::Break {
                code: MISSED.into()
            }
        );
        // Only the agent it rings may accept it.
        assert_eq!(acd.accept("m1", "a", 300 + ring), Err(AcdError::NotOffered));
        let taken = acd.accept("m1", "c", 300 + ring).unwrap();
        assert_eq!(taken.call, "m1");
        assert_eq!(acd.agent("c").unwrap().0, AgentState::OnCall);
        let f = acd.figures(400 + ring);
        assert_eq!((f.waiting, f.answered, f.answered_within_target), (0, 1, 1));
    }

    #[test]
    fn a_call_nobody_takes_in_time_is_given_up_once_and_an_abandoned_one_is_counted_once() {
        let rules = AcdRules::default();
        let wait = rules.max_wait_ms;
        let mut acd = Acd::new(rules);
        // The floor's only Cantonese speaker is on a break: calls wait.
        acd.set_agent(
            "away",
            skills("cantonese"),
            AgentState::Break {
                code: "lunch".into(),
            },
            0,
        );
        acd.enqueue(call("x", Dialect::Cantonese, 0), 0);
        acd.enqueue(call("y", Dialect::Cantonese, 10), 10);
        assert_eq!(acd.figures(5_000).longest_wait_ms, 5_000);
        assert_eq!(acd.tick(wait), [Step::GiveUp { call: "x".into() }]);
        assert!(acd.tick(wait + 1).is_empty());
        acd.abandon("y", wait + 2);
        acd.abandon("y", wait + 3);
        let f = acd.figures(wait + 4);
        assert_eq!(
            (f.waiting, f.given_up, f.abandoned, f.answered),
            (0, 1, 1, 0)
        );
    }

    #[test]
    fn an_agent_back_from_wrap_up_takes_the_oldest_waiting_call() {
        let mut acd = Acd::new(AcdRules::default());
        acd.set_agent("a", skills("mandarin"), AgentState::Available, 0);
        acd.enqueue(call("m1", Dialect::Mandarin, 10), 10);
        acd.accept("m1", "a", 20).unwrap();
        acd.enqueue(call("m2", Dialect::Mandarin, 30), 30);
        acd.enqueue(call("m3", Dialect::Mandarin, 40), 40);
        acd.end_call("a", 50);
        assert_eq!(acd.agent("a").unwrap().0, AgentState::WrapUp);
        assert_eq!(acd.end_wrap_up("a", 60), [offer("m2", "a")]);
        // An agent signing off while rung: the call waits for the next one.
        let steps = acd.sign_off("a", 70);
        assert_eq!(
            steps,
            [Step::Withdraw {
                call: "m2".into(),
                agent: "a".into()
            }]
        );
        assert_eq!(acd.waiting().len(), 2);
    }
}
