//! The floor: which agents are signed in to take calls, in what state and
//! since when, and the calls waiting for them; the [`Acd`] behind a lock,
//! with every routing step it decides published to whoever listens (agent
//! desktops, the supervisor's page, the bridge).
//!
//! In memory: the ACD lives in this process, and an agent declares
//! availability again after a console restart (their session survives).

use crate::acd::{Acd, AcdRules, Step};
use huikuan_core::staff::Skills;
use serde::Serialize;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::broadcast;

/// What an agent is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentState {
    /// Waiting for a call.
    Available,
    /// Talking to a debtor.
    OnCall,
    /// Filing the outcome of the last call.
    WrapUp,
    /// Away, for one of the configured pause codes (or a missed offer).
    Break { code: String },
}

impl AgentState {
    pub fn label(&self) -> String {
        match self {
            AgentState::Available => "available".into(),
            AgentState::OnCall => "on call".into(),
            AgentState::WrapUp => "wrap-up".into(),
            AgentState::Break { code } => format!("break: {code}"),
        }
    }
}

/// An agent's state and when it began (epoch ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presence {
    #[serde(flatten)]
    pub state: AgentState,
    pub since_ms: i64,
}

/// The ACD, shared.
pub struct Floor {
    acd: Mutex<Acd>,
    steps: broadcast::Sender<Step>,
}

impl Default for Floor {
    fn default() -> Self {
        Floor::new(AcdRules::default())
    }
}

impl Floor {
    pub fn new(rules: AcdRules) -> Floor {
        Floor {
            acd: Mutex::new(Acd::new(rules)),
            steps: broadcast::channel(1024).0,
        }
    }

    fn acd(&self) -> MutexGuard<'_, Acd> {
        self.acd.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the ACD and publishes the steps it returns.
    pub fn apply(&self, f: impl FnOnce(&mut Acd, i64) -> Vec<Step>) {
        let steps = f(&mut self.acd(), crate::now_ms());
        for step in steps {
            tracing::debug!(?step, "acd");
            // Nobody listening is fine: an offer nobody sees times out.
            let _ = self.steps.send(step);
        }
    }

    /// Runs `f` on the ACD for its answer (it decides no routing step).
    pub fn with_acd<T>(&self, f: impl FnOnce(&mut Acd, i64) -> T) -> T {
        f(&mut self.acd(), crate::now_ms())
    }

    /// Routing steps as they are decided.
    pub fn subscribe(&self) -> broadcast::Receiver<Step> {
        self.steps.subscribe()
    }

    /// Puts an agent in a state they chose (available or a break).
    pub fn set(&self, agent: &str, skills: Skills, state: AgentState) -> Presence {
        self.apply(|acd, now| acd.set_agent(agent, skills, state, now));
        self.get(agent).unwrap_or(Presence {
            state: AgentState::Available,
            since_ms: crate::now_ms(),
        })
    }

    /// Signs an agent off.
    pub fn sign_off(&self, agent: &str) {
        self.apply(|acd, now| acd.sign_off(agent, now));
    }

    /// Applies the ACD's timers; the console calls this every second.
    pub fn tick(&self) {
        self.apply(|acd, now| acd.tick(now));
    }

    pub fn get(&self, agent: &str) -> Option<Presence> {
        self.acd()
            .agent(agent)
            .map(|(state, since_ms, _)| Presence { state, since_ms })
    }

    /// Every signed-in agent, by name.
    pub fn snapshot(&self) -> Vec<(String, Presence)> {
        self.acd()
            .agents()
            .into_iter()
            .map(|(name, state, since_ms, _)| (name, Presence { state, since_ms }))
            .collect()
    }

    pub fn figures(&self) -> crate::acd::QueueFigures {
        self.acd().figures(crate::now_ms())
    }
}
