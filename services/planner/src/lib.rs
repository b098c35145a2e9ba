//! The collection planner: for a campaign and a day, whether, when, on
//! which number and by whom each account is called, and why.
//!
//! A pure, deterministic library: the same inputs give the same plan. It
//! reads nothing and writes nothing; the orchestrator gathers the inputs
//! (accounts, contact history, capacity) from the store and carries the
//! approved plan out. Depends on no other crate of ours.
//!
//! What is here so far: [`plan()`], which places every account's call in
//! the hour worth most that still has room for its channel, or names why
//! not; the strategy that picks the channel, as data ([`strategy`]); the
//! hard rules ([`rules`]), which no plan may break whatever its
//! configuration says, each account they keep off the day named with the
//! rule that did it, and the public holidays they read
//! from a data file ([`holidays`]); the chance a call reaches the right
//! person by segment, local hour and day kind (weekday or weekend), learned
//! from history with smoothing for sparse data ([`contact_model`]); the chance a reached debtor pays,
//! from promises kept and broken ([`propensity`]). Re-planning during the day is
//! planning again with the later `now` and the day's attempts in the
//! history; what a plan was made on, kept beside it for re-planning and
//! for checking managers' moves ([`basis`]). Not here: the lifecycle
//! (draft, approved, executing), which the store keeps.

pub mod basis;
pub mod contact_model;
pub mod holidays;
pub mod plan;
pub mod propensity;
pub mod rules;
pub mod strategy;

pub use basis::PlanBasis;
pub use contact_model::{ContactModel, Estimate, PastAttempt};
pub use holidays::Holidays;
pub use plan::{
    plan, Capacity, CapacityRecord, NotPlanned, Plan, PlanAccount, PlanInput, PlannedCall,
};
pub use propensity::{PromiseRecord, Propensity};
pub use rules::{AccountDay, CampaignRules, DayWindow, Skip};
pub use strategy::{Channel, Strategy};
