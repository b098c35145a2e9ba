//! sea-orm entities, one module per table. The hot paths (bulk import,
//! leasing) build their statements with sea-query over the same tables.

pub mod account;
pub mod audit_entry;
pub mod call_attempt;
pub mod campaign;
pub mod console_session;
pub mod contact;
pub mod debt;
pub mod import_run;
pub mod promise;
pub mod user;
