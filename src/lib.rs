//! The delegation ledger: system-user delegations as an immutable event log,
//! projected into a sled read model that a Policy Decision Point queries.
//! See ARCHITECTURE.md for the map of modules and their invariants.

pub mod api;
pub mod auth;
pub mod bench;
pub mod bundle;
pub mod cache;
pub mod cli;
pub mod decisions;
/// The sans-IO core, a crate of its own (`domain/`); re-exported so paths read
/// `ledger::domain::…` everywhere.
pub use ledger_domain as domain;
pub mod ledger;
pub mod log;
pub mod projector;
pub mod store;
pub mod timestamp;
pub mod verify;
