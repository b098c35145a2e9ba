//! Huikuan's gRPC contract, built once for every crate that speaks it.
//!
//! `pb` holds the generated `huikuan.v1` messages and services (the
//! Orchestrator: campaigns, import, accounts, leases, outcomes, events;
//! and Speech: streaming recognition and synthesis); `call` turns the
//! domain's call record into its message and back; `client` connects to
//! an orchestrator with the bearer token and, for `https://` endpoints,
//! the TLS settings of `tls`.
//!
//! It depends on `huikuan-core` only, and on no database: a dialer worker
//! links this, not the orchestrator.

pub mod call;
pub mod client;
pub mod handoff;
pub mod tls;

/// Generated protobuf and gRPC code for `huikuan.v1`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("huikuan.v1");

    /// Encoded descriptors of every `huikuan.v1` file, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("huikuan_descriptor");
}
