//! A read-only log held in memory: the records of an evidence bundle, replayed offline.

use super::{EventLog, LogError, NewRecord, Record};

pub struct MemoryLog {
    /// Each record's bytes and the time its log took it.
    records: Vec<(Vec<u8>, Option<i64>)>,
}

impl MemoryLog {
    pub fn new(records: Vec<(Vec<u8>, Option<i64>)>) -> MemoryLog {
        MemoryLog { records }
    }
}

impl EventLog for MemoryLog {
    fn append(&self, _: &[NewRecord]) -> Result<Vec<u64>, LogError> {
        Err(LogError::Refused("an evidence bundle is read-only".to_owned()))
    }
    fn read(&self, from: u64, max: usize) -> Result<Vec<Record>, LogError> {
        Ok(self
            .records
            .iter()
            .enumerate()
            .skip(from as usize)
            .take(max)
            .map(|(i, (bytes, appended_ms))| Record {
                index: i as u64,
                bytes: bytes.clone(),
                appended_ms: *appended_ms,
            })
            .collect())
    }
    fn head(&self) -> Result<u64, LogError> {
        Ok(self.records.len() as u64)
    }
}
