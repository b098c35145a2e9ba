//! Huikuan's orchestrator: the gRPC face of the call-center.
//!
//! It serves the `huikuan.v1.Orchestrator` API (campaigns, portfolio import,
//! accounts, the lease-based dispatch API for dialer workers, and a stream
//! of events), plus the standard gRPC health and reflection services. All
//! state lives in the store; this crate adds transport, authentication,
//! request validation, the lease-expiry sweeper and the event fan-out.
//!
//! It does not plan schedules, place calls or run speech: those are other
//! crates' jobs, talking to this one over the same API.

pub mod auth;
pub mod client;
pub mod config;
pub mod convert;
pub mod events;
pub mod gate;
mod import;
pub mod report;
pub mod server;
pub mod service;
pub mod tls;

/// Generated protobuf and gRPC code for `huikuan.v1`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("huikuan.v1");

    /// Encoded descriptors for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("huikuan_descriptor");
}

pub use config::OrchestratorConfig;
pub use server::{serve, serve_with, ExtraServices};
