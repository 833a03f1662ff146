//! The ledger engine: the write path (decide → append durably → project → report) and
//! the read model it keeps current. HTTP handlers and the CLI both go through here.
//!
//! One writer at a time per process: the write lock spans "catch up to the log's head,
//! decide, append, project", so a command is decided against the newest state this
//! replica can see. Across processes (Kafka replicas) two writers can still decide
//! against the same state; the log orders their events, `apply` voids the loser on
//! every replica alike, and that writer reports a conflict.
//!
//! Projection has its own lock: the write path and the background tailer (which picks
//! up other replicas' events) both call [`Ledger::project`]. Every projected position is
//! published on a watch channel so readers can wait for "at least position N".

use chrono::{DateTime, Duration, Utc};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use uuid::Uuid;

use crate::domain::decide::REQUEST_TTL_DAYS_DEFAULT;
use crate::domain::events::{Actor, Event};
use crate::domain::model::history::{self, AsOf};
use crate::domain::model::{Kv, ReadModel, Record, Versions, VoidReason};
use crate::domain::pdp::At;
use crate::domain::{decide, Authority, Code, Command, Context, Rejection};
use crate::log::embedded::EmbeddedLog;
use crate::log::{EventLog, LogError, NewRecord};
use crate::projector::{catch_up, ProjectError};
use crate::store::{Store, StoreError};

/// How long a write waits for its own events to come back from the log and be
/// projected before it gives up on learning their outcome.
pub const WRITE_OUTCOME_WAIT_MS: u64 = 15_000;
/// Free space the data directory's disk keeps beyond every write, by default: room
/// for the read model to project what the log took (sled grows a segment at a time)
/// and for an operator to act. Below it writes are refused before anything is written,
/// so neither the log nor the read model meets a full disk in the middle of a write.
pub const STORAGE_RESERVE_BYTES_DEFAULT: u64 = 64 << 20;

/// Why the ledger's storage cannot take a write now; nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageProblem {
    /// The data directory's disk has less free space than the reserve.
    Low { free_bytes: u64, reserve_bytes: u64 },
    /// The free space could not be read.
    Unknown(String),
    /// A write to the read model failed; it takes no more until the process restarts
    /// (it then catches up from the log, which holds everything acknowledged).
    ReadModelFailed(String),
    /// An append failed for want of room with this much free; more must come first.
    AppendFailed { free_bytes: u64 },
}

impl std::fmt::Display for StorageProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageProblem::Low { free_bytes, reserve_bytes } => {
                write!(f, "the data directory's disk has {free_bytes} bytes free, below the reserve of {reserve_bytes}")
            }
            StorageProblem::Unknown(why) => write!(f, "the data directory's free space cannot be read: {why}"),
            StorageProblem::ReadModelFailed(why) => write!(f, "the read model could not be written: {why}"),
            StorageProblem::AppendFailed { free_bytes } => {
                write!(f, "the last append failed with {free_bytes} bytes free; waiting for more room")
            }
        }
    }
}

#[derive(Debug)]
pub enum WriteError {
    /// The command broke a domain rule; nothing was written.
    Rejected(Rejection),
    /// The events were appended but lost a race and are void on the log.
    Conflict(VoidReason),
    /// The log could not take the append; nothing was acknowledged.
    Log(LogError),
    /// The read model could not follow the log.
    Project(ProjectError),
    /// The events are durable at these indexes, but their outcome is not known yet.
    OutcomeUnknown { indexes: Vec<u64> },
    /// The storage cannot take writes now; nothing was written.
    Storage(StorageProblem),
}

impl WriteError {
    /// The same error for another caller of a group commit (I/O errors keep their text).
    fn duplicate(&self) -> WriteError {
        use crate::store::StoreError;
        let log = |e: &LogError| match e {
            LogError::Unavailable(w) => LogError::Unavailable(w.clone()),
            LogError::Refused(w) => LogError::Refused(w.clone()),
            LogError::Io(io) => LogError::Io(std::io::Error::new(io.kind(), io.to_string())),
            LogError::Corrupt { index, why } => LogError::Corrupt { index: *index, why: why.clone() },
            LogError::Damaged(d) => LogError::Damaged(d.clone()),
        };
        match self {
            WriteError::Rejected(r) => WriteError::Rejected(r.clone()),
            WriteError::Conflict(v) => WriteError::Conflict(v.clone()),
            WriteError::Log(e) => WriteError::Log(log(e)),
            WriteError::Project(ProjectError::Log(e)) => WriteError::Project(ProjectError::Log(log(e))),
            WriteError::Project(ProjectError::Store(StoreError(e))) => {
                WriteError::Project(ProjectError::Store(StoreError(e.clone())))
            }
            WriteError::OutcomeUnknown { indexes } => WriteError::OutcomeUnknown { indexes: indexes.clone() },
            WriteError::Storage(p) => WriteError::Storage(p.clone()),
        }
    }
}

/// Most commands one holder of the write lock commits together.
pub const GROUP_COMMANDS_MAX: usize = 256;

/// A queued command after deciding: the span of its records in the group, or its
/// rejection, and its events.
type Decided = (Queued, Result<std::ops::Range<usize>, WriteError>, Vec<Event>);

/// A command waiting in the group-commit queue, and where its answer goes.
struct Queued {
    command: Command,
    caller: Caller,
    now: DateTime<Utc>,
    answer: Arc<Mutex<Option<Result<Written, WriteError>>>>,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Rejected(r) => write!(f, "{r}"),
            WriteError::Conflict(v) => write!(f, "conflict: {}: {}", v.code, v.message),
            WriteError::Log(e) => write!(f, "{e}"),
            WriteError::Project(e) => write!(f, "{e}"),
            WriteError::OutcomeUnknown { indexes } => {
                write!(f, "the events are on the log at {indexes:?} but this replica has not projected them yet")
            }
            WriteError::Storage(p) => write!(f, "{p}"),
        }
    }
}
impl std::error::Error for WriteError {}

impl From<ProjectError> for WriteError {
    fn from(e: ProjectError) -> Self {
        match e {
            ProjectError::Log(l) => WriteError::Log(l),
            other => WriteError::Project(other),
        }
    }
}

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

#[derive(Debug)]
pub enum StatusError {
    Log(LogError),
    Store(StoreError),
}
impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusError::Log(e) => write!(f, "{e}"),
            StatusError::Store(e) => write!(f, "{e}"),
        }
    }
}
impl std::error::Error for StatusError {}

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

/// A decided command whose events are not on the log yet.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub events: Vec<Event>,
    /// The position the decision was made at.
    pub seen: u64,
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
    /// Records on the log that are no event this build can apply (`GET /v1/ledger/quarantine`).
    pub quarantined_records: usize,
    pub log: String,
}

pub struct Ledger {
    log: Arc<dyn EventLog>,
    store: Store,
    write_lock: Mutex<()>,
    /// Commands waiting for the holder of `write_lock` to commit them (group commit).
    queued: Mutex<Vec<Queued>>,
    project_lock: Mutex<()>,
    projected: tokio::sync::watch::Sender<u64>,
    request_ttl: Duration,
    log_description: String,
    appended: std::sync::atomic::AtomicU64,
    append_failures: std::sync::atomic::AtomicU64,
    /// The directory whose disk holds the read model (and the embedded log), if any.
    data_dir: Option<PathBuf>,
    storage_reserve_bytes: std::sync::atomic::AtomicU64,
    /// Writes refused because the storage could not take them.
    storage_refusals: std::sync::atomic::AtomicU64,
    /// Commits of the read model that failed.
    projection_failures: std::sync::atomic::AtomicU64,
    /// The first read-model failure; sled takes no writes after one until reopened.
    read_model_failure: Mutex<Option<String>>,
    /// Free bytes when an append last failed with an I/O error (cleared by a success).
    free_at_append_failure: Mutex<Option<u64>>,
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
        // The read model first: its position is the least the log must still hold, so
        // the log may cut a torn final append only above it.
        let store = Store::open(&dir.read_model()).map_err(OpenError::Store)?;
        let log = EmbeddedLog::open(&dir.log_file(), store.position()).map_err(OpenError::Log)?;
        Ok(Ledger::with(Arc::new(log), store, "embedded".to_owned())?
            .with_storage(&dir.0, STORAGE_RESERVE_BYTES_DEFAULT))
    }

    /// Opens a replica of the ledger on Kafka: the read model lives in `dir`, the log
    /// in the topic.
    pub fn open_kafka(dir: &Path, config: &crate::log::kafka::KafkaConfig) -> Result<Ledger, OpenError> {
        use crate::log::kafka::KafkaLog;
        std::fs::create_dir_all(dir).map_err(OpenError::Io)?;
        let log = KafkaLog::open(config).map_err(OpenError::Log)?;
        let store = Store::open(&DataDir(dir.to_owned()).read_model()).map_err(OpenError::Store)?;
        Ok(Ledger::with(Arc::new(log), store, KafkaLog::identity(config))?
            .with_storage(dir, STORAGE_RESERVE_BYTES_DEFAULT))
    }

    /// A ledger over any log. `log_identity` names the log (e.g. `kafka:<topic>`); a
    /// read model built from one log refuses to follow another.
    pub fn with(log: Arc<dyn EventLog>, store: Store, log_identity: String) -> Result<Ledger, OpenError> {
        store.bind_log(&log_identity).map_err(OpenError::Store)?;
        let head = log.head().map_err(OpenError::Log)?;
        if store.position() > head {
            return Err(OpenError::Project(ProjectError::Log(LogError::Corrupt {
                index: head,
                why: format!(
                    "the read model is at {} but the log ends at {head}: the log lost acknowledged records or this \
                     is the wrong log. Nothing was changed. Restore the log from a replica or a backup; if the loss \
                     is accepted (after `ledger repair-log`), `ledger rebuild` makes the read model follow the log",
                    store.position()
                ),
            })));
        }
        catch_up(log.as_ref(), &store).map_err(OpenError::Project)?;
        let (projected, _) = tokio::sync::watch::channel(store.position());
        Ok(Ledger {
            log,
            store,
            write_lock: Mutex::new(()),
            queued: Mutex::new(Vec::new()),
            project_lock: Mutex::new(()),
            projected,
            request_ttl: Duration::days(REQUEST_TTL_DAYS_DEFAULT),
            log_description: log_identity,
            appended: Default::default(),
            append_failures: Default::default(),
            data_dir: None,
            storage_reserve_bytes: STORAGE_RESERVE_BYTES_DEFAULT.into(),
            storage_refusals: Default::default(),
            projection_failures: Default::default(),
            read_model_failure: Mutex::new(None),
            free_at_append_failure: Mutex::new(None),
        })
    }

    /// Watches the free space of `dir`'s disk: writes are refused below `reserve_bytes`.
    pub fn with_storage(mut self, dir: &Path, reserve_bytes: u64) -> Ledger {
        self.data_dir = Some(dir.to_owned());
        self.storage_reserve_bytes = reserve_bytes.into();
        self
    }

    /// Whether the storage can take a write now: the read model has not failed, and
    /// the data directory's disk keeps its reserve free.
    pub fn storage_check(&self) -> Result<(), StorageProblem> {
        if let Some(why) = self.read_model_failure() {
            return Err(StorageProblem::ReadModelFailed(why));
        }
        self.space_check()
    }

    /// Whether the data directory's disk keeps its reserve free.
    pub fn space_check(&self) -> Result<(), StorageProblem> {
        use std::sync::atomic::Ordering;
        let Some(dir) = &self.data_dir else { return Ok(()) };
        let reserve_bytes = self.storage_reserve_bytes.load(Ordering::Relaxed);
        let failed_at = *self.free_at_append_failure.lock().unwrap_or_else(|p| p.into_inner());
        match fs2::available_space(dir) {
            Ok(free_bytes) if free_bytes < reserve_bytes => Err(StorageProblem::Low { free_bytes, reserve_bytes }),
            // Room has not grown since an append failed for want of it.
            Ok(free_bytes) if failed_at.is_some_and(|f| free_bytes <= f) => {
                Err(StorageProblem::AppendFailed { free_bytes })
            }
            Ok(_) => Ok(()),
            Err(e) => Err(StorageProblem::Unknown(e.to_string())),
        }
    }

    /// Why the read model failed, if it did (a commit or a read sled could not make);
    /// it then takes no writes until the process restarts.
    pub fn read_model_failure(&self) -> Option<String> {
        let failure = self.read_model_failure.lock().unwrap_or_else(|p| p.into_inner()).clone();
        failure.or_else(|| self.store.failure())
    }

    /// Writes refused because the storage could not take them, since start.
    pub fn storage_refusals(&self) -> u64 {
        self.storage_refusals.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Read-model commits that failed, since start.
    pub fn projection_failures(&self) -> u64 {
        self.projection_failures.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn refuse_for_storage(&self) -> Result<(), WriteError> {
        self.storage_check().map_err(|p| {
            self.storage_refusals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            WriteError::Storage(p)
        })
    }

    /// The read model, for queries.
    pub fn model(&self) -> &Store {
        &self.store
    }

    /// What the event at log `index` says changed: its CloudEvent `data` as the current
    /// version reads it (object keys sorted), from the log. The read model keeps no copy
    /// of it (an event's outcome names the event; the log holds what it says).
    pub fn changed(&self, index: u64) -> Result<serde_json::Value, LogError> {
        let mut all = self.changed_many(&[index])?;
        Ok(all.pop().expect("one answer per index"))
    }

    /// [`Ledger::changed`] of each of `indexes` (ascending), in their order. Indexes
    /// close together are read as one run of records (`CHANGED_READ_GAP_RECORDS_MAX`):
    /// on Kafka each separate read is a fetch, so a history page reads in a few runs.
    pub fn changed_many(&self, indexes: &[u64]) -> Result<Vec<serde_json::Value>, LogError> {
        assert!(indexes.windows(2).all(|w| w[0] < w[1]), "indexes ascend");
        let mut out = Vec::with_capacity(indexes.len());
        let mut rest = indexes;
        while let Some(&first) = rest.first() {
            let run = 1 + rest
                .windows(2)
                .take_while(|w| {
                    w[1] - w[0] <= CHANGED_READ_GAP_RECORDS_MAX && w[1] - first < CHANGED_READ_RUN_RECORDS_MAX
                })
                .count();
            let last = rest[run - 1];
            let mut records = Vec::new();
            while records.last().is_none_or(|r: &crate::log::Record| r.index < last) {
                let from = records.last().map_or(first, |r: &crate::log::Record| r.index + 1);
                let read = self.log.read(from, (last + 1 - from) as usize)?;
                if read.is_empty() {
                    return Err(LogError::Unavailable(format!("the log gave no record at index {from}")));
                }
                records.extend(read);
            }
            for &index in &rest[..run] {
                let record = &records[(index - first) as usize];
                assert_eq!(record.index, index, "a log reads its records in order, without gaps");
                out.push(event_data(record)?);
            }
            rest = &rest[run..];
        }
        debug_assert_eq!(out.len(), indexes.len());
        Ok(out)
    }

    /// Projects whatever the log holds beyond the read model; returns the position.
    pub fn project(&self) -> Result<u64, ProjectError> {
        let _guard = self.project_lock.lock().unwrap_or_else(|p| p.into_inner());
        let result = catch_up(self.log.as_ref(), &self.store);
        // Publish even after an error: what was committed before it is visible.
        self.projected.send_replace(self.store.position());
        if let Err(ProjectError::Store(e)) = &result {
            self.projection_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut failure = self.read_model_failure.lock().unwrap_or_else(|p| p.into_inner());
            if failure.is_none() {
                tracing::error!("the read model could not be written; writes are refused until a restart: {e}");
                *failure = Some(e.to_string());
            }
        }
        result
    }

    /// Waits until the read model has reached `position`, at most `timeout`.
    /// Returns the position reached (which may be short of `position`).
    pub async fn wait_for(&self, position: u64, timeout: std::time::Duration) -> u64 {
        let mut rx = self.projected.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position)).await;
        match reached {
            Ok(Ok(p)) => *p,
            _ => self.store.position(),
        }
    }

    /// Decides `command` at `now`, appends its events durably, projects them and
    /// reports the position reached.
    ///
    /// Group commit: concurrent callers queue their commands, and whichever holds the
    /// write lock decides every queued command in turn (each against the state the ones
    /// before it leave), appends all their events with one durable write, projects them
    /// in one batch and answers each. A caller whose command a previous holder committed
    /// finds its answer when it gets the lock. The outcome is the same as one command at
    /// a time in queue order; only the fsyncs and sled batches are shared.
    pub fn execute(&self, command: &Command, caller: &Caller, now: DateTime<Utc>) -> Result<Written, WriteError> {
        let answer = Arc::new(Mutex::new(None));
        let job = Queued { command: command.clone(), caller: caller.clone(), now, answer: answer.clone() };
        self.queued.lock().unwrap_or_else(|p| p.into_inner()).push(job);
        loop {
            let _guard = self.write_lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(result) = answer.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return result;
            }
            let group: Vec<Queued> = {
                let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
                let n = queued.len().min(GROUP_COMMANDS_MAX);
                queued.drain(..n).collect()
            };
            if group.is_empty() {
                // Our command left the queue but was never answered: the holder that took
                // it panicked partway. Its events may or may not be on the log.
                return Err(WriteError::OutcomeUnknown { indexes: Vec::new() });
            }
            self.commit_group(group);
        }
    }

    /// Decides, appends, projects and answers a group of queued commands (see [`Ledger::execute`]).
    fn commit_group(&self, group: Vec<Queued>) {
        let answer = |job: &Queued, result: Result<Written, WriteError>| {
            *job.answer.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
        };
        let caught_up = self
            .refuse_for_storage()
            .and_then(|_| self.log.head().map_err(WriteError::Log))
            .and_then(|head| self.project_until(head));
        if let Err(e) = caught_up {
            for job in &group {
                answer(job, Err(e.duplicate()));
            }
            return;
        }
        let seen = self.store.position();
        // Each command is decided against the state the commands before it in the group
        // leave: their events are applied to an overlay that is then thrown away (the
        // projection applies them again, from the log).
        let mut overlay = crate::domain::model::Overlay::new(&self.store);
        let mut records: Vec<NewRecord> = Vec::new();
        let mut decided: Vec<Decided> = Vec::new();
        for job in group {
            let mut new_id = Uuid::now_v7;
            let mut ctx = Context {
                actor: job.caller.actor.clone(),
                authority: job.caller.authority.clone(),
                now: job.now,
                correlation_id: job.caller.correlation_id.clone(),
                request_ttl: self.request_ttl,
                new_id: &mut new_id,
            };
            match decide(&job.command, &overlay, &mut ctx) {
                Err(rejection) => decided.push((job, Err(WriteError::Rejected(rejection)), Vec::new())),
                Ok(events) => {
                    let first = records.len();
                    for event in &events {
                        let _ = crate::domain::apply(&mut overlay, seen + records.len() as u64, event);
                        records.push(record_of(event));
                    }
                    decided.push((job, Ok(first..records.len()), events));
                }
            }
        }
        drop(overlay);
        let appended = if records.is_empty() { Ok(Vec::new()) } else { self.append(&records) };
        let indexes = match appended {
            Ok(indexes) => indexes,
            Err(e) => {
                for (job, result, events) in decided {
                    let result = match result {
                        Err(rejected) => Err(rejected),
                        Ok(span) if span.is_empty() => Ok(Written { position: seen, events }),
                        Ok(_) => Err(e.duplicate()),
                    };
                    answer(&job, result);
                }
                return;
            }
        };
        debug_assert_eq!(indexes.len(), records.len());
        let position = indexes.last().map_or(seen, |i| i + 1);
        let projected = self.project_until(position);
        for (job, result, events) in decided {
            let result = result.and_then(|span| {
                let mine = indexes[span].to_vec();
                if mine.is_empty() {
                    return Ok(Written { position: seen, events });
                }
                if projected.is_err() {
                    // On the log, so acknowledged to nobody yet but durable: whatever kept
                    // the read model from following, the outcome is unknown and a retry safe.
                    return Err(WriteError::OutcomeUnknown { indexes: mine });
                }
                // The first void event decides: later events of the command depend on it.
                for index in &mine {
                    let outcome = self.store.outcome(*index).expect("projected events have outcomes");
                    if let Some(void) = outcome.void {
                        return Err(WriteError::Conflict(void));
                    }
                }
                Ok(Written { position: mine.last().expect("non-empty") + 1, events })
            });
            answer(&job, result);
        }
    }

    /// The first half of a write: catch up with the log's head, then decide.
    /// Public so that tests can line up two replicas' decisions against the same state.
    pub fn prepare(&self, command: &Command, caller: &Caller, now: DateTime<Utc>) -> Result<Prepared, WriteError> {
        let head = self.log.head().map_err(WriteError::Log)?;
        self.project_until(head)?;
        let mut new_id = Uuid::now_v7;
        let mut ctx = Context {
            actor: caller.actor.clone(),
            authority: caller.authority.clone(),
            now,
            correlation_id: caller.correlation_id.clone(),
            request_ttl: self.request_ttl,
            new_id: &mut new_id,
        };
        let seen = self.store.position();
        let events = decide(command, &self.store, &mut ctx).map_err(WriteError::Rejected)?;
        Ok(Prepared { events, seen })
    }

    /// The second half of a write: append durably, project, and report the outcome.
    pub fn commit(&self, prepared: Prepared) -> Result<Written, WriteError> {
        if prepared.events.is_empty() {
            return Ok(Written { position: prepared.seen, events: prepared.events });
        }
        let records: Vec<NewRecord> = prepared.events.iter().map(record_of).collect();
        let indexes = self.append(&records)?;
        let position = indexes.last().expect("one index per record") + 1;
        self.project_until(position).map_err(|e| match e {
            WriteError::OutcomeUnknown { .. } => WriteError::OutcomeUnknown { indexes: indexes.clone() },
            other => other,
        })?;
        // The first void event decides: later events of the command depend on it.
        for index in &indexes {
            let outcome = self.store.outcome(*index).expect("projected events have outcomes");
            if let Some(void) = outcome.void {
                return Err(WriteError::Conflict(void));
            }
        }
        Ok(Written { position, events: prepared.events })
    }

    fn append(&self, records: &[NewRecord]) -> Result<Vec<u64>, WriteError> {
        use std::sync::atomic::Ordering;
        let failed_at = || self.free_at_append_failure.lock().unwrap_or_else(|p| p.into_inner());
        match self.log.append(records) {
            Ok(indexes) => {
                self.appended.fetch_add(indexes.len() as u64, Ordering::Relaxed);
                *failed_at() = None;
                Ok(indexes)
            }
            Err(e) => {
                self.append_failures.fetch_add(1, Ordering::Relaxed);
                if let (LogError::Io(_), Some(dir)) = (&e, &self.data_dir) {
                    *failed_at() = fs2::available_space(dir).ok();
                }
                Err(WriteError::Log(e))
            }
        }
    }

    /// Records this process has appended since it started.
    pub fn appended_records(&self) -> u64 {
        self.appended.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Appends this process could not make since it started.
    pub fn append_failures(&self) -> u64 {
        self.append_failures.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Projects until the read model has reached `position`, or gives up after
    /// [`WRITE_OUTCOME_WAIT_MS`].
    fn project_until(&self, position: u64) -> Result<(), WriteError> {
        let deadline = Instant::now() + std::time::Duration::from_millis(WRITE_OUTCOME_WAIT_MS);
        while self.project()? < position {
            if Instant::now() > deadline {
                return Err(WriteError::OutcomeUnknown { indexes: Vec::new() });
            }
        }
        Ok(())
    }

    /// Appends already-formed records (import) exactly as given, under the same lock as
    /// commands. Each must decode as an event dated no later than [`import_time_ok`]
    /// allows at `now`; `apply` judges each one, so an event that breaks a rule is
    /// recorded as void rather than refused. Returns the position.
    pub fn import(&self, records: &[Vec<u8>], now: DateTime<Utc>) -> Result<u64, WriteError> {
        let mut outgoing = Vec::with_capacity(records.len());
        for (i, bytes) in records.iter().enumerate() {
            let event = Event::decode(bytes).map_err(|e| {
                WriteError::Rejected(Rejection::new(Code::InvalidField, format!("record {i} does not decode: {e}")))
            })?;
            import_time_ok(&event, now)
                .map_err(|r| WriteError::Rejected(Rejection::new(r.code, format!("record {i}: {}", r.message))))?;
            outgoing.push(record_with(&event, bytes.clone()));
        }
        let _guard = self.write_lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.refuse_for_storage()?;
        let indexes = self.append(&outgoing)?;
        let position = indexes.last().map(|i| i + 1).unwrap_or(self.store.position());
        self.project_until(position)?;
        Ok(position)
    }

    /// Head, projected position and the read model's digest *at* that position. The
    /// digest scans the whole read model unless the position has not moved since the
    /// last one.
    pub fn status(&self) -> Result<Status, StatusError> {
        let (projected_position, read_model_digest) = self.store.digest_at_position().map_err(StatusError::Store)?;
        // After the digest, which can take minutes: the head is never behind the position.
        let head_position = self.log.head().map_err(StatusError::Log)?;
        Ok(Status {
            head_position,
            projected_position,
            read_model_digest,
            quarantined_records: self.store.quarantined().len(),
            log: self.log_description.clone(),
        })
    }

    /// Which log this ledger follows ("embedded", or the Kafka topic and brokers).
    pub fn log_description(&self) -> &str {
        &self.log_description
    }

    pub fn model_position(&self) -> u64 {
        self.store.position()
    }

    /// The void outcomes among log indexes `from..to`, with their reasons.
    pub fn void_between(&self, from: u64, to: u64) -> Vec<(u64, String)> {
        (from..to)
            .filter_map(|i| {
                self.store.outcome(i).and_then(|o| o.void.map(|v| (i, format!("{}: {}", v.code, v.message))))
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

/// The read model now, or as it stood at some earlier position.
pub enum View<'a> {
    Live(&'a Store),
    Past(AsOf<'a, Store>),
}

impl View<'_> {
    /// The decision on `q` in this view, from the store's in-memory decision index: now,
    /// or as it stood at the past position (the index keeps every fact's versions); with
    /// the position it was made at, read under the same guard, so that deciding again at
    /// that position gives the same answer (what the decision log records).
    pub fn decide(&self, q: &crate::domain::pdp::Query) -> (crate::domain::pdp::Decision, u64) {
        use crate::domain::pdp::evaluate;
        match self {
            View::Live(store) => {
                let index = store.decision_index();
                (evaluate(&index.now(), q), index.position())
            }
            View::Past(past) => (evaluate(&past.base.decision_index().at(past.horizon()), q), past.horizon()),
        }
    }

    /// A XACML request decided in this view, as `decide` does, with what Altinn's PDP
    /// echoes of it, and the position it was made at.
    pub fn decide_xacml(&self, asked: crate::domain::xacml::Asked) -> (crate::domain::xacml::Outcome, u64) {
        use crate::domain::xacml::decide;
        match self {
            View::Live(store) => {
                let index = store.decision_index();
                (decide(&index.now(), asked), index.position())
            }
            View::Past(past) => (decide(&past.base.decision_index().at(past.horizon()), asked), past.horizon()),
        }
    }
}

impl Kv for View<'_> {
    fn raw_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self {
            View::Live(s) => s.raw_get(key),
            View::Past(p) => p.raw_get(key),
        }
    }
    fn raw_scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        match self {
            View::Live(s) => s.raw_scan_prefix(prefix),
            View::Past(p) => p.raw_scan_prefix(prefix),
        }
    }
    fn raw_last_between(&self, floor: &[u8], ceiling: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        match self {
            View::Live(s) => s.raw_last_between(floor, ceiling),
            View::Past(p) => p.raw_last_between(floor, ceiling),
        }
    }
    fn horizon(&self) -> u64 {
        match self {
            View::Live(s) => s.horizon(),
            View::Past(p) => p.horizon(),
        }
    }
    fn shared<T: Record>(&self, key: &[u8]) -> Option<Arc<T>> {
        match self {
            View::Live(s) => s.shared(key),
            View::Past(p) => p.shared(key),
        }
    }
    fn versions<T: Record>(&self, key: &[u8]) -> Arc<Versions<T>> {
        match self {
            View::Live(s) => s.versions(key),
            View::Past(p) => p.versions(key),
        }
    }
}

impl Ledger {
    /// The read model at `at` (now if `None`) and the position it stands for. A time
    /// maps to the position after the last event whose effective time is at most it.
    pub fn view(&self, at: Option<At>) -> Result<(View<'_>, u64), String> {
        let now = self.store.position();
        let past = |position| (View::Past(AsOf { base: &self.store, position }), position);
        match at {
            None => Ok((View::Live(&self.store), now)),
            Some(At::Position(p)) if p > now => Err(format!("position {p} is beyond this replica's position {now}")),
            Some(At::Position(p)) => Ok(past(p)),
            Some(At::Time(t)) => Ok(past(history::position_at(&self.store, t).min(now))),
        }
    }
}

/// An imported event may not be dated later than the importer's clock allows: the
/// same bound `apply` holds every event to against its log's append time, checked
/// before anything is written so a whole file is refused rather than voided in part.
pub fn import_time_ok(event: &Event, now: DateTime<Utc>) -> Result<(), Rejection> {
    let latest = now + Duration::milliseconds(crate::domain::EVENT_TIME_AHEAD_MS_MAX);
    if event.time > latest {
        return Err(Rejection::new(
            Code::TimeOutOfRange,
            format!(
                "event {} is dated {}, after this clock's {} (more than {} s ahead)",
                event.id,
                event.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                crate::domain::EVENT_TIME_AHEAD_MS_MAX / 1000
            ),
        ));
    }
    Ok(())
}

/// How an event goes on a log: its bytes, its owner as the key, its id and type.
pub fn record_of(event: &Event) -> NewRecord {
    record_with(event, event.encode())
}

/// A record whose bytes already exist (import): appended as they are, never re-encoded
/// (an older type's record could not be: it reads as its current version).
pub fn record_with(event: &Event, bytes: Vec<u8>) -> NewRecord {
    NewRecord { key: event.data.owner(), id: event.id.to_string(), kind: event.type_name().to_owned(), bytes }
}

/// Most records between two events whose data [`Ledger::changed_many`] reads in one run
/// rather than with separate reads (a run reads the records between them too).
pub const CHANGED_READ_GAP_RECORDS_MAX: u64 = 256;
/// Most records one run spans, so a page's runs stay small in memory.
pub const CHANGED_READ_RUN_RECORDS_MAX: u64 = 4096;

/// An applied event's data (object keys sorted) from its record.
fn event_data(record: &crate::log::Record) -> Result<serde_json::Value, LogError> {
    // The record decoded when it was applied: if it no longer does, the log changed.
    let event = Event::decode(&record.bytes).map_err(|e| LogError::Corrupt {
        index: record.index,
        why: format!("an applied event no longer decodes: {e}"),
    })?;
    let mut data = event.data.to_json();
    data.sort_all_objects();
    Ok(data)
}
