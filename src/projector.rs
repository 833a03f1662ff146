//! The projector: reads the log from the position the read model has reached, applies
//! each event with the domain's `apply`, and commits state and position together.
//!
//! A record that does not decode is quarantined (kept with its reason in the read
//! model) and projection goes on; it is never skipped silently.
//!
//! It owns no state of its own: the position lives in the read model, so live
//! projection, restart and rebuild are the same loop.

use crate::domain::events::{DecodeError, Event};
use crate::domain::model::{Overlay, ReadModel};
use crate::domain::{apply_record, quarantine};
use crate::log::{EventLog, LogError, Record};
use crate::store::{Store, StoreError};
use std::time::{Duration, Instant};

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
    catch_up_observed(log, store, &mut |_, _| {}).map(|caught| caught.position)
}

/// Where a catch-up got to, and where the applying thread's time went: the figures
/// that tell a slow projection's cause (the engine's commits, or the rules) apart.
#[derive(Clone, Copy, Debug, Default)]
pub struct CaughtUp {
    pub position: u64,
    /// Waiting for the next batch (read and decoded ahead on the other thread, or read
    /// here for a short catch-up).
    pub waiting: Duration,
    /// `apply` of every event, with the store's reads its rules make.
    pub applying: Duration,
    /// `Store::commit`: encoding the changes and sled's atomic batch.
    pub committing: Duration,
}

impl CaughtUp {
    /// The split, for a report: "waiting for the log 0.3 s, apply 223.2 s, sled's
    /// commits 323.0 s".
    pub fn split(&self) -> String {
        format!(
            "waiting for the log {:.1} s, apply {:.1} s, sled's commits {:.1} s",
            self.waiting.as_secs_f64(),
            self.applying.as_secs_f64(),
            self.committing.as_secs_f64()
        )
    }
}

/// Batches read and decoded ahead of `apply` while a long catch-up projects: enough to
/// keep the applier busy while the next one is read, each bounded by
/// [`PROJECT_BATCH_EVENTS_MAX`].
pub const READ_AHEAD_BATCHES_MAX: usize = 2;

/// Records as read, each with its event or why it is none.
type Batch = Vec<(Record, Result<Event, DecodeError>)>;

/// [`catch_up`], telling `progress(position, head)` after every committed batch.
///
/// A catch-up longer than one batch (a rebuild, a replica behind its broker) reads and
/// decodes on a second thread, at most [`READ_AHEAD_BATCHES_MAX`] batches ahead, so
/// the log's reads (a broker's fetches) and decoding overlap `apply` and sled's commit.
/// A writer's catch-up of its own few events stays on its thread.
pub fn catch_up_observed(
    log: &dyn EventLog,
    store: &Store,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CaughtUp, ProjectError> {
    let head = log.head()?;
    let from = store.position();
    if head.saturating_sub(from) <= PROJECT_BATCH_EVENTS_MAX as u64 {
        let mut next = || read_batch(log, store.position(), head);
        return project(store, head, &mut next, progress);
    }
    std::thread::scope(|scope| {
        let (batches, ahead) = std::sync::mpsc::sync_channel(READ_AHEAD_BATCHES_MAX);
        scope.spawn(move || {
            let mut position = from;
            while position < head {
                let batch = read_batch(log, position, head);
                let failed = batch.is_err();
                position += batch.as_ref().map_or(0, |b| b.len() as u64);
                // The applier stopped (an error of its own): nothing more is wanted.
                if batches.send(batch).is_err() || failed {
                    return;
                }
            }
        });
        let mut next = || {
            ahead.recv().map_err(|_| {
                ProjectError::Log(LogError::Unavailable("the log's reader stopped before the head".to_owned()))
            })?
        };
        project(store, head, &mut next, progress)
    })
}

/// Up to one batch of records from `from`, decoded.
fn read_batch(log: &dyn EventLog, from: u64, head: u64) -> Result<Batch, ProjectError> {
    let wanted = (head - from).min(PROJECT_BATCH_EVENTS_MAX as u64) as usize;
    let records = log.read(from, wanted)?;
    if records.is_empty() {
        return Err(ProjectError::Log(LogError::Unavailable(format!(
            "the log returned nothing at {from}, below its head {head}"
        ))));
    }
    Ok(records
        .into_iter()
        .map(|record| {
            let event = Event::decode(&record.bytes);
            (record, event)
        })
        .collect())
}

/// Applies batches from `next` until the store reaches `head`, one commit each.
fn project(
    store: &Store,
    head: u64,
    next: &mut dyn FnMut() -> Result<Batch, ProjectError>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CaughtUp, ProjectError> {
    let mut caught = CaughtUp::default();
    loop {
        let from = store.position();
        if from >= head {
            caught.position = from;
            return Ok(caught);
        }
        let started = Instant::now();
        let batch = next()?;
        assert_eq!(batch.first().map(|(r, _)| r.index), Some(from), "batches arrive in log order, from the position");
        let applying = Instant::now();
        caught.waiting += applying - started;
        let mut overlay = Overlay::new(store);
        for (record, event) in &batch {
            match event {
                // A void event is an outcome, not an error: it is recorded and projection goes on.
                Ok(event) => {
                    let appended = record.appended_ms.and_then(chrono::DateTime::from_timestamp_millis);
                    let _ = apply_record(&mut overlay, record.index, &record.bytes, event, appended);
                }
                // So is a record that is no event: quarantined, visible, and passed.
                Err(error) => {
                    tracing::warn!(index = record.index, "quarantined a record that does not decode: {error}");
                    quarantine(&mut overlay, record.index, &record.bytes, &error.to_string());
                }
            }
        }
        let committing = Instant::now();
        caught.applying += committing - applying;
        store.commit(overlay.into_commit())?;
        caught.committing += committing.elapsed();
        debug_assert_eq!(store.position(), from + batch.len() as u64);
        progress(store.position(), head);
    }
}
