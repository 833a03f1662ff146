//! The ledger engine: the write path (decide → append durably → project → report) and
//! the read model it keeps current. HTTP handlers and the CLI both go through here.
//!
//! One writer at a time per process: the write lock spans "catch up, decide, append,
//! project", so a command is decided against the state its events will be applied to.
//! Across processes (Kafka replicas) the same race is settled by `apply` voiding the
//! loser, and the writer reports that as a conflict.

use chrono::{DateTime, Duration, Utc};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

use crate::domain::decide::REQUEST_TTL_DAYS_DEFAULT;
use crate::domain::events::{Actor, Event};
use crate::domain::model::{ReadModel, VoidReason};
use crate::domain::{decide, Authority, Code, Command, Context, Rejection};
use crate::log::embedded::EmbeddedLog;
use crate::log::{EventLog, LogError};
use crate::projector::{catch_up, ProjectError};
use crate::store::{Store, StoreError};

#[derive(Debug)]
pub enum WriteError {
    /// The command broke a domain rule; nothing was written.
    Rejected(Rejection),
    /// The events were appended but lost a race and are void on the log.
    Conflict(VoidReason),
    /// The log could not take the append; nothing was acknowledged.
    Log(LogError),
    /// The events are durable but the read model could not follow; retrying reads
    /// will see them once projection recovers.
    Project(ProjectError),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Rejected(r) => write!(f, "{r}"),
            WriteError::Conflict(v) => write!(f, "conflict: {}: {}", v.code, v.message),
            WriteError::Log(e) => write!(f, "{e}"),
            WriteError::Project(e) => write!(f, "{e}"),
        }
    }
}
impl std::error::Error for WriteError {}

#[derive(Debug)]
pub enum OpenError {
    Log(LogError),
    Store(StoreError),
    Project(ProjectError),
    Io(std::io::Error),
}
impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Log(e) => write!(f, "{e}"),
            OpenError::Store(e) => write!(f, "{e}"),
            OpenError::Project(e) => write!(f, "{e}"),
            OpenError::Io(e) => write!(f, "{e}"),
        }
    }
}
impl std::error::Error for OpenError {}

/// Who gives a command, as the verified token says.
#[derive(Clone, Debug)]
pub struct Caller {
    pub actor: Actor,
    pub authority: Authority,
    pub correlation_id: Option<String>,
}

/// A successful write: the position the ledger reached and the events it recorded
/// (none when the command was already satisfied).
#[derive(Clone, Debug)]
pub struct Written {
    pub position: u64,
    pub events: Vec<Event>,
}

#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Records on the log.
    pub head_position: u64,
    /// Records applied to this replica's read model.
    pub projected_position: u64,
    /// SHA-256 of the read model; equal digests at equal positions mean equal models.
    pub read_model_digest: String,
    pub log: String,
}

pub struct Ledger {
    log: Arc<dyn EventLog>,
    store: Store,
    write_lock: Mutex<()>,
    request_ttl: Duration,
    log_description: String,
}

/// Where a data directory keeps its parts.
pub struct DataDir(pub PathBuf);
impl DataDir {
    pub fn log_file(&self) -> PathBuf {
        self.0.join("events.log")
    }
    pub fn read_model(&self) -> PathBuf {
        self.0.join("read-model")
    }
    pub fn keys(&self) -> PathBuf {
        self.0.join("keys")
    }
}

impl Ledger {
    /// Opens the embedded ledger in `dir` and projects whatever the log holds beyond the
    /// read model (the tail of a crash, or a fresh read model).
    pub fn open_embedded(dir: &Path) -> Result<Ledger, OpenError> {
        std::fs::create_dir_all(dir).map_err(OpenError::Io)?;
        let dir = DataDir(dir.to_owned());
        let log = EmbeddedLog::open(&dir.log_file()).map_err(OpenError::Log)?;
        let store = Store::open(&dir.read_model()).map_err(OpenError::Store)?;
        let description = format!("embedded:{}", log.path().display());
        Ledger::with(Arc::new(log), store, description)
    }

    pub fn with(
        log: Arc<dyn EventLog>,
        store: Store,
        log_description: String,
    ) -> Result<Ledger, OpenError> {
        let head = log.head().map_err(OpenError::Log)?;
        if store.position() > head {
            return Err(OpenError::Project(ProjectError::Log(LogError::Corrupt {
                index: head,
                why: format!(
                    "the read model is at {} but the log ends at {head}; rebuild the read model",
                    store.position()
                ),
            })));
        }
        catch_up(log.as_ref(), &store).map_err(OpenError::Project)?;
        Ok(Ledger {
            log,
            store,
            write_lock: Mutex::new(()),
            request_ttl: Duration::days(REQUEST_TTL_DAYS_DEFAULT),
            log_description,
        })
    }

    /// The read model, for queries. Reads see every write acknowledged before them.
    pub fn model(&self) -> &Store {
        &self.store
    }

    pub fn request_ttl(&self) -> Duration {
        self.request_ttl
    }

    /// Decides `command` at `now`, appends its events durably, projects them and
    /// reports the position reached.
    pub fn execute(
        &self,
        command: &Command,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<Written, WriteError> {
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        catch_up(self.log.as_ref(), &self.store).map_err(WriteError::Project)?;
        let mut new_id = Uuid::now_v7;
        let mut ctx = Context {
            actor: caller.actor.clone(),
            authority: caller.authority.clone(),
            now,
            correlation_id: caller.correlation_id.clone(),
            request_ttl: self.request_ttl,
            new_id: &mut new_id,
        };
        let events = decide(command, &self.store, &mut ctx).map_err(WriteError::Rejected)?;
        if events.is_empty() {
            return Ok(Written {
                position: self.store.position(),
                events,
            });
        }
        let position = self.append_and_project(&events)?;
        Ok(Written { position, events })
    }

    /// Appends already-formed records (import) exactly as given, under the same lock as
    /// commands. Each must decode as an event; `apply` judges each one, so an event that
    /// breaks a rule is recorded as void rather than refused.
    pub fn import(&self, records: &[Vec<u8>]) -> Result<u64, WriteError> {
        for (i, r) in records.iter().enumerate() {
            Event::decode(r).map_err(|e| {
                WriteError::Rejected(Rejection::new(
                    Code::InvalidField,
                    format!("record {i} does not decode: {e}"),
                ))
            })?;
        }
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        catch_up(self.log.as_ref(), &self.store).map_err(WriteError::Project)?;
        self.log.append(records).map_err(WriteError::Log)?;
        catch_up(self.log.as_ref(), &self.store).map_err(WriteError::Project)
    }

    fn append_and_project(&self, events: &[Event]) -> Result<u64, WriteError> {
        let records: Vec<Vec<u8>> = events.iter().map(Event::encode).collect();
        let head = self.log.append(&records).map_err(WriteError::Log)?;
        let first = head - events.len() as u64;
        catch_up(self.log.as_ref(), &self.store).map_err(WriteError::Project)?;
        debug_assert!(self.store.position() >= head);
        // The first void event decides: later events of the command depend on it.
        for index in first..head {
            let outcome = self
                .store
                .outcome(index)
                .expect("projected events have outcomes");
            if let Some(void) = outcome.void {
                return Err(WriteError::Conflict(void));
            }
        }
        Ok(head)
    }

    pub fn status(&self) -> Result<Status, LogError> {
        Ok(Status {
            head_position: self.log.head()?,
            projected_position: self.store.position(),
            read_model_digest: self.store.digest(),
            log: self.log_description.clone(),
        })
    }

    pub fn model_position(&self) -> u64 {
        self.store.position()
    }

    /// The void outcomes among log indexes `from..to`, with their reasons.
    pub fn void_between(&self, from: u64, to: u64) -> Vec<(u64, String)> {
        (from..to)
            .filter_map(|i| {
                self.store
                    .outcome(i)
                    .and_then(|o| o.void.map(|v| (i, format!("{}: {}", v.code, v.message))))
            })
            .collect()
    }

    pub fn log(&self) -> &dyn EventLog {
        self.log.as_ref()
    }

    /// Flushes the read model (graceful shutdown).
    pub fn close(&self) -> Result<(), StoreError> {
        self.store.flush()
    }
}
