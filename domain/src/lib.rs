//! The sans-IO core (the `ledger-domain` crate): identifiers, events, the read model's shape, `decide`, `apply`
//! and the PDP. Nothing in here touches a clock, a file, a socket or a thread; sled,
//! rdkafka, axum and tokio are unknown here. Time and fresh ids are passed in.

pub mod apply;
pub mod change;
pub mod decide;
pub mod events;
pub mod ids;
pub mod index;
pub mod model;
pub mod pdp;
pub mod rejection;
pub mod rules;
pub mod xacml;

pub use apply::{apply, apply_appended, apply_record, quarantine, EVENT_TIME_AHEAD_MS_MAX};
pub use decide::{decide, Authority, Command, Context};
pub use rejection::{Code, Kind, Rejection};
