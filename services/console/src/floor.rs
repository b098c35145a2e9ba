//! The floor: which agents are signed in to take calls, in what state, and
//! since when. In memory: the ACD that routes calls to them lives in this
//! process, and an agent signs in again after a console restart (their
//! session survives; their availability is re-declared).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

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
    /// Away, for one of the configured pause codes.
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

/// Every signed-in agent; agents not in it are offline.
#[derive(Default)]
pub struct Floor {
    agents: Mutex<BTreeMap<String, Presence>>,
}

impl Floor {
    fn agents(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Presence>> {
        self.agents.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts an agent in `state` from now; unchanged state keeps its time.
    pub fn set(&self, agent: &str, state: AgentState) -> Presence {
        let mut agents = self.agents();
        match agents.get(agent) {
            Some(p) if p.state == state => p.clone(),
            _ => {
                let p = Presence {
                    state,
                    since_ms: crate::now_ms(),
                };
                agents.insert(agent.to_string(), p.clone());
                p
            }
        }
    }

    /// Signs an agent off.
    pub fn sign_off(&self, agent: &str) {
        self.agents().remove(agent);
    }

    pub fn get(&self, agent: &str) -> Option<Presence> {
        self.agents().get(agent).cloned()
    }

    /// Every signed-in agent, by name.
    pub fn snapshot(&self) -> Vec<(String, Presence)> {
        self.agents()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
