//! Slot values in what a debtor says: a date, an amount, a callback time.

pub mod amount;
pub mod date;
pub mod number;

pub use amount::resolve_amount;
pub use date::{resolve_callback, resolve_date};
