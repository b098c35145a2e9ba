//! Huikuan's orchestrator: the gRPC face of the call-center.
//!
//! It serves the `huikuan.v1.Orchestrator` API (campaigns, portfolio import,
//! accounts, the lease-based dispatch API for dialer workers, a stream
//! of events, and the `Handoff` stream that carries a handed-over call
//! between its dialer and an [`AgentDesk`]), plus the standard gRPC health
//! and reflection services. All
//! state lives in the store; this crate adds transport, authentication,
//! request validation, the lease-expiry sweeper and the event fan-out.
//!
//! It carries the planner's plans out (`planning`: reading what planning
//! needs from the store, saving the day's plan, re-planning an account
//! after its outcome) but decides nothing of them itself; it does not place
//! calls or run speech: those are other crates' jobs, talking to this one
//! over the same API.

pub mod agent_dials;
pub mod auth;
pub mod config;
pub mod convert;
pub mod events;
pub mod gate;
pub mod handoff;
mod import;
pub mod planning;
pub mod report;
pub mod server;
pub mod service;
pub mod tls;

pub use huikuan_proto::{client, pb};

pub use config::OrchestratorConfig;
pub use handoff::{AgentDesk, DeskLine, SharedDesk};
pub use server::{serve, serve_with, ExtraServices};
