//! The embedded event log: one append-only file, the default on a single machine.
//!
//! Layout: an 8-byte magic, then records framed as `[len: u32 LE][crc32: u32 LE][bytes]`.
//! An append writes all its frames with one `write_all`, then `sync_data`, and only then
//! publishes them to readers and acknowledges: a record is never visible before it is
//! durable. On open, a torn final frame (a crash during an unacknowledged append) is cut
//! off; a bad frame *followed by more data* is corruption of acknowledged records and
//! the log refuses to open rather than silently drop them.
//!
//! The file is locked exclusively, so two processes can never append to one log.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, RwLock};

use super::{check_append, EventLog, LogError, NewRecord, Record, LOG_RECORD_BYTES_MAX};

const MAGIC: &[u8; 8] = b"LEDGER\x00\x01";
const FRAME_HEADER_BYTES: u64 = 8;

pub struct EmbeddedLog {
    /// Serialises appends; held across write + fsync.
    writer: Mutex<File>,
    /// File offset of every record, published after fsync.
    index: RwLock<Vec<u64>>,
    reader: File,
}

impl EmbeddedLog {
    /// Opens (creating if needed) the log at `path`.
    pub fn open(path: &Path) -> Result<EmbeddedLog, LogError> {
        let created = !path.exists();
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path)?;
        if file.try_lock().is_err() {
            return Err(LogError::Refused(format!(
                "{} is in use by another ledger process (stop it first)",
                path.display()
            )));
        }
        if created || file.metadata()?.len() == 0 {
            file.write_all(MAGIC)?;
            file.sync_all()?;
            if let Some(dir) = path.parent() {
                // Make the new file's directory entry durable too.
                File::open(dir)?.sync_all()?;
            }
        }
        let index = scan(&mut file)?;
        let reader = File::open(path)?;
        Ok(EmbeddedLog { writer: Mutex::new(file), index: RwLock::new(index), reader })
    }
}

/// Reads every frame, returning their offsets; truncates a torn tail.
fn scan(file: &mut File) -> Result<Vec<u64>, LogError> {
    let len = file.metadata()?.len();
    let mut magic = [0u8; 8];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(LogError::Corrupt { index: 0, why: "not a ledger log file (bad magic)".to_owned() });
    }
    let mut offsets = Vec::new();
    let mut at = MAGIC.len() as u64;
    let mut header = [0u8; FRAME_HEADER_BYTES as usize];
    let mut body = Vec::new();
    while at < len {
        if len - at < FRAME_HEADER_BYTES {
            return cut_torn_tail(file, at, offsets, "incomplete header");
        }
        file.read_exact_at(&mut header, at)?;
        let size = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as u64;
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        let end = at + FRAME_HEADER_BYTES + size;
        if size as usize > LOG_RECORD_BYTES_MAX || end > len {
            if size as usize <= LOG_RECORD_BYTES_MAX {
                return cut_torn_tail(file, at, offsets, "incomplete body");
            }
            return Err(LogError::Corrupt { index: offsets.len() as u64, why: format!("frame length {size}") });
        }
        body.resize(size as usize, 0);
        file.read_exact_at(&mut body, at + FRAME_HEADER_BYTES)?;
        if crc32fast::hash(&body) != crc {
            if end == len {
                return cut_torn_tail(file, at, offsets, "checksum of the final record");
            }
            return Err(LogError::Corrupt { index: offsets.len() as u64, why: "checksum mismatch".to_owned() });
        }
        offsets.push(at);
        at = end;
    }
    Ok(offsets)
}

/// Cuts off a final frame that an interrupted, never-acknowledged append left behind.
fn cut_torn_tail(file: &mut File, at: u64, offsets: Vec<u64>, why: &str) -> Result<Vec<u64>, LogError> {
    tracing::warn!(offset = at, records = offsets.len(), "cutting off a torn final record: {why}");
    file.set_len(at)?;
    file.sync_all()?;
    Ok(offsets)
}

impl EventLog for EmbeddedLog {
    fn append(&self, records: &[NewRecord]) -> Result<Vec<u64>, LogError> {
        check_append(records)?;
        let mut file = self.writer.lock().expect("log writer lock");
        let start = file.metadata()?.len();
        let mut frames = Vec::with_capacity(records.iter().map(|r| r.bytes.len() + 8).sum());
        let mut offsets = Vec::with_capacity(records.len());
        for NewRecord { bytes: r, .. } in records {
            offsets.push(start + frames.len() as u64);
            frames.extend_from_slice(&(r.len() as u32).to_le_bytes());
            frames.extend_from_slice(&crc32fast::hash(r).to_le_bytes());
            frames.extend_from_slice(r);
        }
        let written = file.write_all(&frames).and_then(|_| file.sync_data());
        if let Err(e) = written {
            // Nothing is acknowledged; cut back so a later append does not follow junk.
            let _ = file.set_len(start);
            return Err(LogError::Io(e));
        }
        let mut index = self.index.write().expect("log index lock");
        let first = index.len() as u64;
        index.extend(offsets);
        Ok((first..index.len() as u64).collect())
    }

    fn read(&self, from: u64, max: usize) -> Result<Vec<Record>, LogError> {
        let index = self.index.read().expect("log index lock");
        let head = index.len() as u64;
        let to = head.min(from.saturating_add(max as u64));
        let mut out = Vec::with_capacity(to.saturating_sub(from) as usize);
        let mut header = [0u8; FRAME_HEADER_BYTES as usize];
        for i in from..to {
            let at = index[i as usize];
            self.reader.read_exact_at(&mut header, at)?;
            let size = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
            let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
            let mut bytes = vec![0u8; size];
            self.reader.read_exact_at(&mut bytes, at + FRAME_HEADER_BYTES)?;
            if crc32fast::hash(&bytes) != crc {
                return Err(LogError::Corrupt { index: i, why: "checksum mismatch on read".to_owned() });
            }
            out.push(Record { index: i, bytes });
        }
        Ok(out)
    }

    fn head(&self) -> Result<u64, LogError> {
        Ok(self.index.read().expect("log index lock").len() as u64)
    }
}
