//! The event log: an ordered, append-only sequence of records, durable before an append
//! is acknowledged. [`EventLog`] is what the projector and the write path see; the
//! embedded file log is the default, and a Kafka log slots in behind the same trait.
//!
//! A log knows bytes and positions only, never events: decoding is the domain's job.
//! Positions count records: position `n` is "after the first `n` records", so the head
//! is the number of records and a record's own index is `n - 1` after it is appended.

mod chunked;
pub mod embedded;
pub mod kafka;
pub mod memory;

use std::fmt;

/// Largest record any log accepts; larger appends are refused whole. Below Kafka's
/// default `message.max.bytes` (1,000,000) with room for headers and framing.
pub const LOG_RECORD_BYTES_MAX: usize = 512 * 1024;
/// Most records one append may carry (one command's events, or an import chunk).
pub const APPEND_RECORDS_MAX: usize = 10_000;

/// A record to append: its bytes, and what a broker shows beside them (the record key
/// and the `ce_id`/`ce_type` headers). Logs that have no such notions ignore them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecord {
    /// The organisation that owns the event's aggregate (Kafka record key).
    pub key: String,
    /// The CloudEvent id (`ce_id` header).
    pub id: String,
    /// The CloudEvent type (`ce_type` header).
    pub kind: String,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The record's index in the log (0-based).
    pub index: u64,
    pub bytes: Vec<u8>,
    /// When the log took the record, by the log's own clock (milliseconds since the
    /// epoch): the embedded writer's, or the Kafka broker's `LogAppendTime`. Every
    /// reader sees the same value; `None` where the log kept none (format-1 records).
    pub appended_ms: Option<i64>,
}

#[derive(Debug)]
pub enum LogError {
    /// The log cannot be reached now (broker down); nothing was appended.
    Unavailable(String),
    /// The append was refused before anything was written.
    Refused(String),
    /// Storage failed; for an append, nothing was acknowledged.
    Io(std::io::Error),
    /// Acknowledged data no longer reads back as written.
    Corrupt { index: u64, why: String },
    /// The embedded log's file is damaged: where, and what to do.
    Damaged(embedded::Damage),
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Unavailable(why) => write!(f, "event log unavailable: {why}"),
            LogError::Refused(why) => write!(f, "append refused: {why}"),
            LogError::Io(e) => write!(f, "event log I/O error: {e}"),
            LogError::Corrupt { index, why } => {
                write!(f, "event log corrupt at record {index}: {why}")
            }
            LogError::Damaged(d) => write!(f, "event log damaged: {d}"),
        }
    }
}
impl std::error::Error for LogError {}
impl From<std::io::Error> for LogError {
    fn from(e: std::io::Error) -> Self {
        LogError::Io(e)
    }
}

pub trait EventLog: Send + Sync {
    /// Appends `records` in order and returns the index each one got. Returns only once
    /// the records are durable; on error none of them is acknowledged. Indexes increase
    /// but need not be contiguous: on a shared log another writer may interleave.
    fn append(&self, records: &[NewRecord]) -> Result<Vec<u64>, LogError>;
    /// Up to `max` records starting at index `from`, in order. Below the head it returns
    /// at least one record (waiting a bounded time for a remote log, else an error); at
    /// or past the head it returns none.
    fn read(&self, from: u64, max: usize) -> Result<Vec<Record>, LogError>;
    /// The number of records in the log.
    fn head(&self) -> Result<u64, LogError>;
}

/// Checks an append against the named limits, before anything is written.
pub fn check_append(records: &[NewRecord]) -> Result<(), LogError> {
    check_bodies(records.iter().map(|r| r.bytes.as_slice()))
}

/// [`check_append`] for bodies alone (a log that keeps no key, id or kind).
pub fn check_bodies<'a>(bodies: impl ExactSizeIterator<Item = &'a [u8]>) -> Result<(), LogError> {
    if bodies.len() > APPEND_RECORDS_MAX {
        return Err(LogError::Refused(format!("{} records exceed {APPEND_RECORDS_MAX} per append", bodies.len())));
    }
    for body in bodies {
        if body.len() > LOG_RECORD_BYTES_MAX || body.is_empty() {
            return Err(LogError::Refused(format!(
                "a record of {} bytes is empty or above {LOG_RECORD_BYTES_MAX}",
                body.len()
            )));
        }
    }
    Ok(())
}
