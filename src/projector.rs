//! The projector: reads the log from the position the read model has reached, applies
//! each event with the domain's `apply`, and commits state and position together.
//!
//! It owns no state of its own: the position lives in the read model, so live
//! projection, restart and rebuild are the same loop.

use crate::domain::apply_record;
use crate::domain::events::{DecodeError, Event};
use crate::domain::model::{Overlay, ReadModel};
use crate::log::{EventLog, LogError};
use crate::store::{Store, StoreError};

/// Most events applied in one atomic sled batch; bounds the memory of a catch-up.
pub const PROJECT_BATCH_EVENTS_MAX: usize = 1000;

#[derive(Debug)]
pub enum ProjectError {
    Log(LogError),
    Store(StoreError),
    /// A record on the log does not decode; projection stops before it.
    Undecodable {
        index: u64,
        error: DecodeError,
    },
}

impl std::fmt::Display for ProjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProjectError::Log(e) => write!(f, "{e}"),
            ProjectError::Store(e) => write!(f, "{e}"),
            ProjectError::Undecodable { index, error } => {
                write!(f, "record {index} cannot be projected: {error}")
            }
        }
    }
}
impl std::error::Error for ProjectError {}
impl From<LogError> for ProjectError {
    fn from(e: LogError) -> Self {
        ProjectError::Log(e)
    }
}
impl From<StoreError> for ProjectError {
    fn from(e: StoreError) -> Self {
        ProjectError::Store(e)
    }
}

/// Projects every record up to the log's head as it is now; returns the position reached.
pub fn catch_up(log: &dyn EventLog, store: &Store) -> Result<u64, ProjectError> {
    catch_up_observed(log, store, &mut |_, _| {})
}

/// [`catch_up`], telling `progress(position, head)` after every committed batch.
pub fn catch_up_observed(
    log: &dyn EventLog,
    store: &Store,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, ProjectError> {
    let head = log.head()?;
    loop {
        let from = store.position();
        if from >= head {
            return Ok(from);
        }
        let wanted = (head - from).min(PROJECT_BATCH_EVENTS_MAX as u64) as usize;
        let records = log.read(from, wanted)?;
        if records.is_empty() {
            return Err(ProjectError::Log(LogError::Unavailable(format!(
                "the log returned nothing at {from}, below its head {head}"
            ))));
        }
        let mut overlay = Overlay::new(store);
        for record in &records {
            let event = match Event::decode(&record.bytes) {
                Ok(event) => event,
                Err(error) => {
                    // Keep what this batch did before the bad record, then stop at it.
                    store.commit(overlay.into_writes())?;
                    return Err(ProjectError::Undecodable { index: record.index, error });
                }
            };
            // A void event is an outcome, not an error: it is recorded and projection goes on.
            let _ = apply_record(&mut overlay, record.index, &record.bytes, &event);
        }
        store.commit(overlay.into_writes())?;
        debug_assert_eq!(store.position(), from + records.len() as u64);
        progress(store.position(), head);
    }
}
