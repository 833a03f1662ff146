//! The projector: reads the log from the position the read model has reached, applies
//! each event with the domain's `apply`, and commits state and position together.
//!
//! A record that does not decode is quarantined (kept with its reason in the read
//! model) and projection goes on; it is never skipped silently.
//!
//! It owns no state of its own: the position lives in the read model, so live
//! projection, restart and rebuild are the same loop.

use crate::domain::events::Event;
use crate::domain::model::{Overlay, ReadModel};
use crate::domain::{apply_record, quarantine};
use crate::log::{EventLog, LogError};
use crate::store::{Store, StoreError};

/// Most events applied in one atomic sled batch; bounds the memory of a catch-up.
pub const PROJECT_BATCH_EVENTS_MAX: usize = 1000;

#[derive(Debug)]
pub enum ProjectError {
    Log(LogError),
    Store(StoreError),
}

impl std::fmt::Display for ProjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProjectError::Log(e) => write!(f, "{e}"),
            ProjectError::Store(e) => write!(f, "{e}"),
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
            match Event::decode(&record.bytes) {
                // A void event is an outcome, not an error: it is recorded and projection goes on.
                Ok(event) => {
                    let appended = record.appended_ms.and_then(chrono::DateTime::from_timestamp_millis);
                    let _ = apply_record(&mut overlay, record.index, &record.bytes, &event, appended);
                }
                // So is a record that is no event: quarantined, visible, and passed.
                Err(error) => {
                    tracing::warn!(index = record.index, "quarantined a record that does not decode: {error}");
                    quarantine(&mut overlay, record.index, &record.bytes, &error.to_string());
                }
            }
        }
        store.commit(overlay.into_writes())?;
        debug_assert_eq!(store.position(), from + records.len() as u64);
        progress(store.position(), head);
    }
}
