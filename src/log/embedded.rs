//! The embedded event log: one append-only file, the default on a single machine.
//!
//! Format 2 (every new log): an 8-byte magic, then frames
//! `[len u32][more u32][appended_ms i64][body crc32 u32][header crc32 u32][body]`, all
//! little-endian. The header has its own checksum, so a damaged length can never pass
//! for the end of the file. `more` counts the frames that follow in the same append, so
//! an append is whole or visibly torn. `appended_ms` is this log's clock when it took
//! the record: the bound `apply` puts on an event's own time.
//!
//! An append writes its frames with one write at the end the log knows, then
//! `sync_data`, and only then publishes them to readers and acknowledges: a record is
//! never visible before it is durable.
//!
//! Opening never guesses. [`EmbeddedLog::open_read_only`] (verify, export, bundles,
//! rebuild) changes no byte and takes no lock, so it works beside a running `serve`; a
//! torn final append is simply not read. [`EmbeddedLog::open`] (the one writer, holding
//! an exclusive lock) cuts a *provably* torn final append — the file ends inside it, or
//! the rest of the file is zeros — only if that leaves at least every record the read
//! model has seen, and logs what it cut. Anything else (a damaged header or body
//! anywhere, or a log shorter than the read model) refuses to open with the record
//! index, byte offset and what to do; [`repair`] is the explicit, separately named way
//! out, and it keeps the damaged file.
//!
//! Format 1 (`[len u32][crc32 u32][body]`, no header checksum, no append marks) is still
//! read; a writer refuses it and names `ledger upgrade-log`, which copies its records
//! into format 2 ([`upgrade`]).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use super::chunked::Chunked;
use super::{check_bodies, EventLog, LogError, NewRecord, Record, LOG_RECORD_BYTES_MAX};

const MAGIC_V1: &[u8; 8] = b"LEDGER\x00\x01";
const MAGIC_V2: &[u8; 8] = b"LEDGER\x00\x02";
const MAGIC_BYTES: u64 = 8;
const HEADER_V1_BYTES: u64 = 8;
const HEADER_V2_BYTES: u64 = 24;
/// `appended_ms` of a record whose append time is not known (upgraded from format 1).
const APPENDED_UNKNOWN: i64 = i64::MIN;
/// Largest stretch of bytes a damage report reads past the damage looking for intact
/// frames (to say how many records follow it).
const SALVAGE_SCAN_BYTES_MAX: u64 = 1 << 30;

/// The on-disk format of a log file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    V1,
    V2,
}

impl Format {
    fn header_bytes(self) -> u64 {
        match self {
            Format::V1 => HEADER_V1_BYTES,
            Format::V2 => HEADER_V2_BYTES,
        }
    }
}

/// One frame as the scan found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Frame {
    offset: u64,
    body_bytes: u32,
    /// [`APPENDED_UNKNOWN`] when not known (an `Option` would make the frame a third
    /// larger, and the index holds millions of them).
    appended_ms: i64,
}

impl Frame {
    fn appended_ms(self) -> Option<i64> {
        (self.appended_ms != APPENDED_UNKNOWN).then_some(self.appended_ms)
    }
}

/// Where the acknowledged records of a file end, and what follows them.
#[derive(Debug)]
struct Scan {
    format: Format,
    frames: Chunked<Frame>,
    /// Byte offset just after the last whole append.
    end: u64,
    tail: Tail,
    /// How many of `frames` (the last ones) belong to the append that damage cut short.
    open_append: usize,
}

/// What lies after the last whole append.
#[derive(Debug, PartialEq, Eq)]
enum Tail {
    Clean,
    /// An append that never completed (and so was never acknowledged).
    Torn {
        bytes: u64,
        records: usize,
        why: &'static str,
    },
    Damaged(Damage),
}

/// Damage to acknowledged records: where it is and what was found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Damage {
    /// Index of the first record that does not read back (0-based).
    pub index: u64,
    /// Byte offset of its frame in the file.
    pub offset: u64,
    pub why: String,
    /// Intact frames found after the damage (format 2), and their byte offsets.
    pub intact_after: Vec<u64>,
    pub file_bytes: u64,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "record {} at byte {} of {} does not read back ({}); {} intact record(s) follow it. Nothing was \
             changed. Restore the log from a replica or a backup, or run `ledger repair-log --data DIR --report \
             FILE`, which keeps the damaged file beside the log and reports every record it drops",
            self.index,
            self.offset,
            self.file_bytes,
            self.why,
            self.intact_after.len()
        )
    }
}

struct Writer {
    file: File,
    /// Where the next append goes: just after the last acknowledged frame.
    end: u64,
    /// A failed append may have left bytes past `end` that could not be cut yet.
    dirty: bool,
    /// The bytes of the append being written, kept between appends: a fresh buffer of
    /// a thousand decisions' frames was faulted in page by page each time (the kernel
    /// zeroing pages showed in the decision log's profile).
    scratch: Vec<u8>,
}

pub struct EmbeddedLog {
    /// `None` when opened read-only.
    writer: Option<Mutex<Writer>>,
    /// Every record's frame, published after fsync.
    index: RwLock<Chunked<Frame>>,
    reader: File,
    format: Format,
    /// The writer's file again, to `fsync` without holding the writer's lock (the
    /// decision log's unsynced appends); `None` when opened read-only.
    syncer: Option<File>,
}

fn header_crc(header: &[u8]) -> u32 {
    crc32fast::hash(&header[..20])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Reads the magic and tells the format.
fn format_of(file: &File, len: u64) -> Result<Format, LogError> {
    let mut magic = [0u8; MAGIC_BYTES as usize];
    if len < MAGIC_BYTES {
        return Err(LogError::Corrupt { index: 0, why: format!("{len} bytes are not a ledger log file") });
    }
    file.read_exact_at(&mut magic, 0)?;
    match &magic {
        m if m == MAGIC_V2 => Ok(Format::V2),
        m if m == MAGIC_V1 => Ok(Format::V1),
        _ => Err(LogError::Corrupt { index: 0, why: "not a ledger log file (bad magic)".to_owned() }),
    }
}

fn all_zero(file: &File, from: u64, to: u64) -> Result<bool, LogError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = from;
    while at < to {
        let n = buf.len().min((to - at) as usize);
        file.read_exact_at(&mut buf[..n], at)?;
        if buf[..n].iter().any(|b| *b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

/// A format-2 frame at `at`, if its header and body check out and it fits in `len`.
/// `Err` carries what is wrong with it.
fn frame_v2(file: &File, at: u64, len: u64) -> Result<(Frame, u32), FrameFault> {
    if len - at < HEADER_V2_BYTES {
        return Err(FrameFault::Short);
    }
    let mut h = [0u8; HEADER_V2_BYTES as usize];
    file.read_exact_at(&mut h, at).map_err(FrameFault::Io)?;
    if header_crc(&h) != u32_at(&h, 20) {
        return Err(FrameFault::Header);
    }
    let size = u32_at(&h, 0);
    let more = u32_at(&h, 4);
    let appended = i64::from_le_bytes(h[8..16].try_into().expect("8 bytes"));
    if size == 0 || size as usize > LOG_RECORD_BYTES_MAX {
        return Err(FrameFault::Length(size));
    }
    if at + HEADER_V2_BYTES + u64::from(size) > len {
        return Err(FrameFault::BodyShort);
    }
    let mut body = vec![0u8; size as usize];
    file.read_exact_at(&mut body, at + HEADER_V2_BYTES).map_err(FrameFault::Io)?;
    if crc32fast::hash(&body) != u32_at(&h, 16) {
        return Err(FrameFault::Body);
    }
    Ok((Frame { offset: at, body_bytes: size, appended_ms: appended }, more))
}

#[derive(Debug)]
enum FrameFault {
    /// Fewer bytes than a header remain.
    Short,
    Header,
    Length(u32),
    /// The header is sound but the file ends inside the body.
    BodyShort,
    Body,
    Io(std::io::Error),
}

fn scan(file: &File) -> Result<Scan, LogError> {
    let len = file.metadata()?.len();
    match format_of(file, len)? {
        Format::V2 => scan_v2(file, len),
        Format::V1 => scan_v1(file, len),
    }
}

fn scan_v2(file: &File, len: u64) -> Result<Scan, LogError> {
    let mut frames = Chunked::new();
    let mut pending: Vec<Frame> = Vec::new();
    let mut expected_more: Option<u32> = None;
    let mut at = MAGIC_BYTES;
    let mut end = at;
    let torn = |pending: &Vec<Frame>, end: u64, why| Tail::Torn { bytes: len - end, records: pending.len(), why };
    let tail = loop {
        if at == len {
            break if pending.is_empty() { Tail::Clean } else { torn(&pending, end, "the file ends inside an append") };
        }
        let index = (frames.len() + pending.len()) as u64;
        let damaged = move |why: String| {
            Tail::Damaged(Damage { index, offset: at, why, intact_after: Vec::new(), file_bytes: len })
        };
        match frame_v2(file, at, len) {
            Ok((frame, more)) => {
                if expected_more.is_some_and(|m| m != more) {
                    break damaged(format!("the append's frame count jumps to {more}"));
                }
                at = frame.offset + HEADER_V2_BYTES + u64::from(frame.body_bytes);
                pending.push(frame);
                if more == 0 {
                    frames.extend(pending.drain(..));
                    end = at;
                    expected_more = None;
                } else {
                    expected_more = Some(more - 1);
                }
            }
            Err(FrameFault::Io(e)) => return Err(LogError::Io(e)),
            Err(FrameFault::Short) => break torn(&pending, end, "the file ends inside a frame header"),
            Err(FrameFault::BodyShort) => break torn(&pending, end, "the file ends inside a record"),
            Err(FrameFault::Header) if all_zero(file, at, len)? => break torn(&pending, end, "the file ends in zeros"),
            Err(FrameFault::Header) => break damaged("its frame header fails its checksum".to_owned()),
            Err(FrameFault::Length(n)) => break damaged(format!("its frame claims {n} bytes")),
            Err(FrameFault::Body) => break damaged("its body fails its checksum".to_owned()),
        }
    };
    let mut open_append = 0;
    let tail = match tail {
        Tail::Damaged(mut d) => {
            // The frames of an append before a damaged one are intact and were
            // acknowledged with it: damage is not a torn append.
            open_append = pending.len();
            frames.extend(pending.drain(..));
            d.intact_after = salvage_v2(file, d.offset + 1, len)?;
            Tail::Damaged(d)
        }
        other => other,
    };
    Ok(Scan { format: Format::V2, frames, end, tail, open_append })
}

/// Offsets of the intact frames after a damaged one: the first offset where a whole
/// frame checks out, then frame after frame from there.
fn salvage_v2(file: &File, from: u64, len: u64) -> Result<Vec<u64>, LogError> {
    let limit = len.min(from.saturating_add(SALVAGE_SCAN_BYTES_MAX));
    let mut at = from;
    let mut found = Vec::new();
    while at < limit {
        match frame_v2(file, at, len) {
            Ok((frame, _)) => {
                found.push(at);
                at = frame.offset + HEADER_V2_BYTES + u64::from(frame.body_bytes);
            }
            Err(FrameFault::Io(e)) => return Err(LogError::Io(e)),
            Err(_) if found.is_empty() => at += 1,
            Err(_) => break,
        }
    }
    Ok(found)
}

/// Format 1 has no header checksum, so a length field cannot be trusted against the
/// file's end: only a file that ends inside a frame header, or inside a body whose
/// stated length is possible, counts as torn; everything else is damage.
fn scan_v1(file: &File, len: u64) -> Result<Scan, LogError> {
    let mut frames = Chunked::new();
    let mut at = MAGIC_BYTES;
    let mut header = [0u8; HEADER_V1_BYTES as usize];
    let mut body = Vec::new();
    let tail = loop {
        if at == len {
            break Tail::Clean;
        }
        let index = frames.len() as u64;
        let damaged = move |why: &str| {
            Tail::Damaged(Damage { index, offset: at, why: why.to_owned(), intact_after: Vec::new(), file_bytes: len })
        };
        if len - at < HEADER_V1_BYTES {
            break Tail::Torn { bytes: len - at, records: 0, why: "the file ends inside a frame header" };
        }
        file.read_exact_at(&mut header, at)?;
        let size = u32_at(&header, 0);
        if size == 0 || size as usize > LOG_RECORD_BYTES_MAX {
            break damaged("its frame length is impossible");
        }
        let next = at + HEADER_V1_BYTES + u64::from(size);
        if next > len {
            break Tail::Torn { bytes: len - at, records: 0, why: "the file ends inside a record" };
        }
        body.resize(size as usize, 0);
        file.read_exact_at(&mut body, at + HEADER_V1_BYTES)?;
        if crc32fast::hash(&body) != u32_at(&header, 4) {
            break damaged("its body fails its checksum");
        }
        frames.push(Frame { offset: at, body_bytes: size, appended_ms: APPENDED_UNKNOWN });
        at = next;
    };
    Ok(Scan { format: Format::V1, frames, end: at.min(len), tail, open_append: 0 })
}

impl EmbeddedLog {
    /// Opens (creating if needed) the log at `path` for appending: the one writer. A
    /// torn final append is cut only if at least `acknowledged` records stay (the read
    /// model's position: it never passes what was acknowledged), and the cut is logged.
    pub fn open(path: &Path, acknowledged: u64) -> Result<EmbeddedLog, LogError> {
        let created = !path.exists();
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        let file = locked(file, path)?;
        if created || file.metadata()?.len() == 0 {
            file.write_all_at(MAGIC_V2, 0)?;
            file.sync_all()?;
            if let Some(dir) = path.parent() {
                // Make the new file's directory entry durable too.
                File::open(dir)?.sync_all()?;
            }
        }
        let scan = scan(&file)?;
        if scan.format == Format::V1 {
            return Err(LogError::Refused(format!(
                "{} is in log format 1, whose frame headers carry no checksum; run `ledger upgrade-log --data DIR` \
                 (it copies every record byte for byte into format 2 and keeps the old file)",
                path.display()
            )));
        }
        let kept = scan.frames.len() as u64;
        match &scan.tail {
            Tail::Clean => {}
            Tail::Damaged(d) => return Err(LogError::Damaged(d.clone())),
            Tail::Torn { .. } if kept < acknowledged => {
                return Err(LogError::Corrupt {
                    index: kept,
                    why: format!(
                        "the log holds {kept} whole records but the read model has seen {acknowledged}: records \
                         were lost after they were acknowledged. Nothing was changed. Restore the log from a replica \
                         or a backup"
                    ),
                })
            }
            Tail::Torn { bytes, records, why } => {
                tracing::warn!(
                    offset = scan.end,
                    bytes,
                    records_in_torn_append = records,
                    kept,
                    "cutting off an append that never completed ({why}); it was never acknowledged"
                );
                file.set_len(scan.end)?;
                file.sync_all()?;
            }
        }
        let reader = File::open(path)?;
        let syncer = Some(file.try_clone()?);
        let writer = Writer { file, end: scan.end, dirty: false, scratch: Vec::new() };
        Ok(EmbeddedLog {
            writer: Some(Mutex::new(writer)),
            index: RwLock::new(scan.frames),
            reader,
            format: scan.format,
            syncer,
        })
    }

    /// Opens the log without a lock and without changing a byte: what verify, export,
    /// bundles and rebuild read. Reads the records whose appends were whole when it
    /// opened (beside a running writer, an append in flight is not read). Damage to
    /// acknowledged records is refused as [`LogError::Damaged`].
    pub fn open_read_only(path: &Path) -> Result<EmbeddedLog, LogError> {
        let reader = File::open(path)?;
        let scan = scan(&reader)?;
        if let Tail::Damaged(d) = scan.tail {
            return Err(LogError::Damaged(d));
        }
        Ok(EmbeddedLog { writer: None, index: RwLock::new(scan.frames), reader, format: scan.format, syncer: None })
    }

    pub fn format(&self) -> Format {
        self.format
    }
}

/// The file, once this process holds its exclusive lock: one writer per log.
fn locked(file: File, path: &Path) -> Result<File, LogError> {
    if file.try_lock().is_err() {
        let why = format!("{} is in use by another ledger process (stop it first)", path.display());
        return Err(LogError::Refused(why));
    }
    Ok(file)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Bodies laid out as format-2 frames. Each body is written straight after room for its
/// header, and its checksum is taken as it is added, so a caller can build a whole
/// append before it takes the writer's lock and the body is never copied again (the
/// copy showed in the decision log's profile). What only the append knows (`more`, its
/// time, the header's checksum, the offsets) is filled in by [`Framed::seal`].
pub struct Framed {
    bytes: Vec<u8>,
    /// Where each frame's header starts in `bytes`.
    starts: Vec<usize>,
}

impl Framed {
    pub fn with_capacity(bodies: usize, body_bytes: usize) -> Framed {
        let bytes = Vec::with_capacity(body_bytes + bodies * HEADER_V2_BYTES as usize);
        Framed { bytes, starts: Vec::with_capacity(bodies) }
    }

    /// Empty, writing into `bytes` (a buffer kept from an earlier append).
    fn reusing(mut bytes: Vec<u8>, bodies: usize) -> Framed {
        bytes.clear();
        Framed { bytes, starts: Vec::with_capacity(bodies) }
    }

    /// Adds one body: what `write` appends to the buffer it is given (it must not
    /// change what the buffer already holds).
    pub fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(&[0; HEADER_V2_BYTES as usize]);
        write(&mut self.bytes);
        let body_at = start + HEADER_V2_BYTES as usize;
        assert!(self.bytes.len() >= body_at, "a body's writer only appends");
        let crc = crc32fast::hash(&self.bytes[body_at..]);
        self.bytes[start + 16..start + 20].copy_from_slice(&crc.to_le_bytes());
        self.starts.push(start);
    }

    pub fn push(&mut self, body: &[u8]) {
        self.push_with(|out| out.extend_from_slice(body));
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    fn bodies(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.starts.len()).map(|i| &self.bytes[self.starts[i] + HEADER_V2_BYTES as usize..self.end_of(i)])
    }

    fn end_of(&self, i: usize) -> usize {
        self.starts.get(i + 1).copied().unwrap_or(self.bytes.len())
    }

    /// Completes every header for an append at byte `start`, stamped `appended_ms`;
    /// the last frame says `more = 0`. The bodies must have passed [`check_bodies`].
    fn seal(&mut self, appended_ms: i64, start: u64) -> Vec<Frame> {
        let count = self.starts.len();
        let mut frames = Vec::with_capacity(count);
        for i in 0..count {
            let (at, body_bytes) = (self.starts[i], self.end_of(i) - self.starts[i] - HEADER_V2_BYTES as usize);
            let body_bytes = u32::try_from(body_bytes).expect("checked against LOG_RECORD_BYTES_MAX");
            let h = &mut self.bytes[at..at + HEADER_V2_BYTES as usize];
            h[..4].copy_from_slice(&body_bytes.to_le_bytes());
            h[4..8].copy_from_slice(&((count - 1 - i) as u32).to_le_bytes());
            h[8..16].copy_from_slice(&appended_ms.to_le_bytes());
            let crc = header_crc(h);
            h[20..].copy_from_slice(&crc.to_le_bytes());
            frames.push(Frame { offset: start + at as u64, body_bytes, appended_ms });
        }
        frames
    }
}

/// Advises the kernel that `file`'s first `bytes` (synced, so clean) will not be read
/// soon. Advice only: where it is not taken, the pages stay cached as before.
#[cfg(target_os = "linux")]
fn uncache(file: &File, bytes: u64) {
    use std::os::fd::AsRawFd;
    let Ok(length) = libc::off_t::try_from(bytes) else { return };
    // SAFETY: the descriptor is open for the call's duration (borrowed from `file`), and
    // the advice reads or writes no memory of this process.
    let failed = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, length, libc::POSIX_FADV_DONTNEED) };
    if failed != 0 {
        tracing::debug!(errno = failed, "posix_fadvise(DONTNEED) was not taken");
    }
}

#[cfg(not(target_os = "linux"))]
fn uncache(_file: &File, _bytes: u64) {}

/// The most a writer keeps of its buffer between appends (a larger append's is let go).
const SCRATCH_BYTES_KEPT_MAX: usize = 4 << 20;

impl EmbeddedLog {
    /// Appends as [`EventLog::append`] does but without `sync_data`: the records are in
    /// the operating system's hands (no crash of this process can lose them) and visible
    /// to readers at once; [`EmbeddedLog::sync`] makes them durable. For the decision
    /// log's `after-answer` mode, whose syncer thread calls `sync` right behind the
    /// writer; the ledger's own log never uses it.
    /// It takes bodies alone, framed by the caller: the decision log keeps no key, id
    /// or kind.
    pub fn append_framed_unsynced(&self, framed: &mut Framed) -> Result<Vec<u64>, LogError> {
        check_bodies(framed.bodies())?;
        let mut w = self.writer()?;
        self.write_framed(&mut w, framed, false)
    }

    /// As [`EventLog::append`], for bodies alone, then lets the operating system drop
    /// what it synced from its page cache (why: [`EmbeddedLog::sync_and_uncache`]). For
    /// the decision log's `before-answer` mode.
    pub fn append_bodies_uncached(&self, bodies: &[&[u8]]) -> Result<Vec<u64>, LogError> {
        let seqs = self.append_frames(bodies, true)?;
        if let (Some(file), Some(last)) = (&self.syncer, seqs.last()) {
            let index = self.index.read().unwrap_or_else(|p| p.into_inner());
            uncache(file, self.frame_end(index.get(*last as usize).expect("the append's own frame")));
        }
        Ok(seqs)
    }

    /// One append of `bodies`, framed in the writer's kept buffer.
    fn append_frames(&self, bodies: &[&[u8]], synced: bool) -> Result<Vec<u64>, LogError> {
        check_bodies(bodies.iter().copied())?;
        let mut w = self.writer()?;
        let mut framed = Framed::reusing(std::mem::take(&mut w.scratch), bodies.len());
        for body in bodies {
            framed.push(body);
        }
        let appended = self.write_framed(&mut w, &mut framed, synced);
        if framed.bytes.capacity() <= SCRATCH_BYTES_KEPT_MAX {
            w.scratch = framed.bytes;
        }
        appended
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, Writer>, LogError> {
        let Some(writer) = &self.writer else {
            return Err(LogError::Refused("this log was opened read-only".to_owned()));
        };
        Ok(writer.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// One append: its frames written with one write at the end, `sync_data`ed when
    /// `synced`, then published to readers. A failed write is cut back; nothing of it is
    /// acknowledged.
    fn write_framed(&self, w: &mut Writer, framed: &mut Framed, synced: bool) -> Result<Vec<u64>, LogError> {
        if w.dirty {
            // What a failed append left past the end must go before anything follows it.
            w.file.set_len(w.end).and_then(|_| w.file.sync_data())?;
            w.dirty = false;
        }
        let frames = framed.seal(now_ms(), w.end);
        let mut written = w.file.write_all_at(&framed.bytes, w.end);
        if synced {
            written = written.and_then(|_| w.file.sync_data());
        }
        if let Err(e) = written {
            // Nothing is acknowledged; cut back so a later append does not follow junk.
            let end = w.end;
            w.dirty = w.file.set_len(end).and_then(|_| w.file.sync_data()).is_err();
            return Err(LogError::Io(e));
        }
        w.end += framed.bytes.len() as u64;
        let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
        let first = index.len() as u64;
        index.extend(frames);
        Ok((first..index.len() as u64).collect())
    }

    /// Makes every record appended so far durable (`sync_data`), without blocking appends.
    pub fn sync(&self) -> Result<(), LogError> {
        match &self.syncer {
            Some(file) => Ok(file.sync_data()?),
            None => Err(LogError::Refused("this log was opened read-only".to_owned())),
        }
    }

    /// As [`EmbeddedLog::sync`], then lets the operating system drop what that made
    /// durable from its page cache. For a log written far more than it is read (the
    /// decision log: tens of megabytes a second at full load): kept cached, it would
    /// push the read model's pages out, and every append would go to a page the kernel
    /// had to find afresh (appends grew slower as the cache grew, measured). Only what
    /// the sync covered is named, so no dirty page is touched; a later read is served
    /// from the disk as usual.
    pub fn sync_and_uncache(&self) -> Result<(), LogError> {
        let Some(file) = &self.syncer else {
            return Err(LogError::Refused("this log was opened read-only".to_owned()));
        };
        let synced_end = self.published_end();
        file.sync_data()?;
        uncache(file, synced_end);
        Ok(())
    }

    /// Where the last published frame ends (the magic's end when none is).
    fn published_end(&self) -> u64 {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        index.last().map_or(MAGIC_BYTES, |f| self.frame_end(f))
    }

    fn frame_end(&self, frame: Frame) -> u64 {
        frame.offset + self.format.header_bytes() + u64::from(frame.body_bytes)
    }
}

impl EventLog for EmbeddedLog {
    fn append(&self, records: &[NewRecord]) -> Result<Vec<u64>, LogError> {
        let bodies: Vec<&[u8]> = records.iter().map(|r| r.bytes.as_slice()).collect();
        self.append_frames(&bodies, true)
    }

    fn read(&self, from: u64, max: usize) -> Result<Vec<Record>, LogError> {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        let head = index.len() as u64;
        let to = head.min(from.saturating_add(max as u64));
        let mut out = Vec::with_capacity(to.saturating_sub(from) as usize);
        for i in from..to {
            let frame = index.get(i as usize).expect("below the head");
            let bytes = read_frame(&self.reader, self.format, frame)
                .map_err(|why| LogError::Corrupt { index: i, why: format!("{why} on read") })?;
            out.push(Record { index: i, bytes, appended_ms: frame.appended_ms() });
        }
        Ok(out)
    }

    fn head(&self) -> Result<u64, LogError> {
        Ok(self.index.read().unwrap_or_else(|p| p.into_inner()).len() as u64)
    }
}

/// A frame's body, checked again against its checksums.
fn read_frame(file: &File, format: Format, frame: Frame) -> Result<Vec<u8>, String> {
    let header_bytes = format.header_bytes();
    let mut h = vec![0u8; header_bytes as usize];
    file.read_exact_at(&mut h, frame.offset).map_err(|e| e.to_string())?;
    let (size, crc) = match format {
        Format::V1 => (u32_at(&h, 0), u32_at(&h, 4)),
        Format::V2 if header_crc(&h) != u32_at(&h, 20) => return Err("frame header checksum mismatch".to_owned()),
        Format::V2 => (u32_at(&h, 0), u32_at(&h, 16)),
    };
    if size != frame.body_bytes {
        return Err("frame length changed".to_owned());
    }
    let mut bytes = vec![0u8; size as usize];
    file.read_exact_at(&mut bytes, frame.offset + header_bytes).map_err(|e| e.to_string())?;
    if crc32fast::hash(&bytes) != crc {
        return Err("checksum mismatch".to_owned());
    }
    Ok(bytes)
}

/// What `repair` did, for its report.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepairReport {
    pub log: PathBuf,
    pub format: String,
    pub file_bytes: u64,
    /// Records that stay in the log, unchanged.
    pub records_kept: u64,
    /// `clean`, `torn-append-cut` or `cut-at-damage`.
    pub action: &'static str,
    pub why: Option<String>,
    /// Where the file as it was before the repair is kept (when anything was cut).
    pub original_kept_at: Option<PathBuf>,
    pub damage: Option<Damage>,
    /// Intact records after the damage that the repair dropped from the log; their
    /// bytes are in the kept original, and `ledger import` can append them again.
    pub dropped: Vec<DroppedRecord>,
    /// Kept records whose frame headers were rewritten (their bodies untouched) to end
    /// the append the damage cut short at the last of them.
    pub reframed: usize,
    pub next_steps: Vec<String>,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DroppedRecord {
    pub offset: u64,
    pub bytes: u32,
    pub sha256: String,
    /// The first 200 characters of the record, for a person to recognise it.
    pub preview: String,
}

/// The explicit repair: keeps a copy of the file as it is, then cuts the log back to
/// its last whole append before any damage or torn tail. Never run implicitly.
pub fn repair(path: &Path) -> Result<RepairReport, LogError> {
    let file = locked(OpenOptions::new().read(true).write(true).open(path)?, path)?;
    let scan = scan(&file)?;
    let file_bytes = file.metadata()?.len();
    let mut report = RepairReport {
        log: path.to_owned(),
        format: format!("{:?}", scan.format),
        file_bytes,
        records_kept: scan.frames.len() as u64,
        action: "clean",
        why: None,
        original_kept_at: None,
        damage: None,
        dropped: Vec::new(),
        reframed: 0,
        next_steps: Vec::new(),
    };
    let cut_to = match &scan.tail {
        Tail::Clean => return Ok(report),
        Tail::Torn { why, records, bytes } => {
            report.action = "torn-append-cut";
            report.why = Some(format!("{why}: {bytes} bytes, {records} whole record(s) of an unfinished append"));
            scan.end
        }
        Tail::Damaged(d) => {
            report.action = "cut-at-damage";
            report.why = Some(d.why.clone());
            report.damage = Some(d.clone());
            report.dropped = dropped(&file, scan.format, &d.intact_after)?;
            // The last whole append before the damage.
            scan.frames.last().map_or(MAGIC_BYTES, |f| f.offset + scan.format.header_bytes() + u64::from(f.body_bytes))
        }
    };
    let kept = keep_copy(path, &file)?;
    file.set_len(cut_to)?;
    if scan.open_append > 0 {
        // The intact records of the append the damage cut short become a whole append
        // of their own; otherwise the next open would take them for a torn one.
        close_append(&file, &scan.frames.iter_from(scan.frames.len() - scan.open_append).collect::<Vec<_>>())?;
        report.reframed = scan.open_append;
    }
    file.sync_all()?;
    report.original_kept_at = Some(kept);
    report.next_steps = vec![
        "stop every process using this data directory, then run `ledger rebuild --data DIR`: the read model may \
         hold records the log no longer has"
            .to_owned(),
        "if a replica or backup holds the dropped records, restore the log from it instead".to_owned(),
        "dropped records are in the kept original; `ledger import` appends them again as new records".to_owned(),
    ];
    Ok(report)
}

/// Rewrites the `more` counts (and header checksums) of `frames` so they form one
/// whole append ending at the last of them.
fn close_append(file: &File, frames: &[Frame]) -> Result<(), LogError> {
    for (i, frame) in frames.iter().enumerate() {
        let mut h = [0u8; HEADER_V2_BYTES as usize];
        file.read_exact_at(&mut h, frame.offset)?;
        h[4..8].copy_from_slice(&((frames.len() - 1 - i) as u32).to_le_bytes());
        let crc = header_crc(&h);
        h[20..].copy_from_slice(&crc.to_le_bytes());
        file.write_all_at(&h, frame.offset)?;
    }
    Ok(())
}

fn dropped(file: &File, format: Format, offsets: &[u64]) -> Result<Vec<DroppedRecord>, LogError> {
    use sha2::{Digest, Sha256};
    let len = file.metadata()?.len();
    let mut out = Vec::new();
    for &offset in offsets {
        if format != Format::V2 {
            break;
        }
        let Ok((frame, _)) = frame_v2(file, offset, len) else { continue };
        let mut body = vec![0u8; frame.body_bytes as usize];
        file.read_exact_at(&mut body, offset + HEADER_V2_BYTES)?;
        out.push(DroppedRecord {
            offset,
            bytes: frame.body_bytes,
            sha256: Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect(),
            preview: String::from_utf8_lossy(&body).chars().take(200).collect(),
        });
    }
    Ok(out)
}

/// Copies the file to `<name>.damaged-<unix seconds>` beside it, durably.
fn keep_copy(path: &Path, file: &File) -> Result<PathBuf, LogError> {
    let stamp = now_ms() / 1000;
    let name = format!("{}.damaged-{stamp}", path.file_name().and_then(|n| n.to_str()).unwrap_or("events.log"));
    let target = path.with_file_name(name);
    let mut copy = OpenOptions::new().write(true).create_new(true).open(&target)?;
    let mut source = file.try_clone()?;
    std::io::Seek::seek(&mut source, std::io::SeekFrom::Start(0))?;
    std::io::copy(&mut Read::by_ref(&mut source), &mut copy)?;
    copy.sync_all()?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(target)
}

/// `ledger upgrade-log`: copies a format-1 log's records byte for byte into a new
/// format-2 file, reads every record back and compares, then puts the new file in
/// place and keeps the old one as `<name>.v1`. Returns the number of records.
pub fn upgrade(path: &Path) -> Result<u64, LogError> {
    let file = locked(OpenOptions::new().read(true).write(true).open(path)?, path)?;
    let scan = scan(&file)?;
    match (&scan.format, &scan.tail) {
        (Format::V2, _) => return Err(LogError::Refused(format!("{} is already in format 2", path.display()))),
        (_, Tail::Damaged(d)) => return Err(LogError::Damaged(d.clone())),
        (_, Tail::Torn { bytes, .. }) => tracing::warn!(bytes, "the unfinished final append is not copied"),
        (_, Tail::Clean) => {}
    }
    let old = EmbeddedLog {
        writer: None,
        index: RwLock::new(scan.frames),
        reader: file.try_clone()?,
        format: Format::V1,
        syncer: None,
    };
    let head = old.head()?;
    let fresh = path.with_extension("log.upgrading");
    if fresh.exists() {
        std::fs::remove_file(&fresh)?;
    }
    {
        let new = OpenOptions::new().read(true).write(true).create_new(true).open(&fresh)?;
        new.write_all_at(MAGIC_V2, 0)?;
        let mut at = MAGIC_BYTES;
        let mut from = 0;
        while from < head {
            let records = old.read(from, 1000)?;
            let bodies: Vec<&[u8]> = records.iter().map(|r| r.bytes.as_slice()).collect();
            // One append per record: format 1 kept no append boundaries.
            for body in bodies {
                let mut framed = Framed::with_capacity(1, body.len());
                framed.push(body);
                framed.seal(APPENDED_UNKNOWN, at);
                new.write_all_at(&framed.bytes, at)?;
                at += framed.bytes.len() as u64;
            }
            from += records.len() as u64;
        }
        new.sync_all()?;
    }
    let copy = EmbeddedLog::open_read_only(&fresh)?;
    if copy.head()? != head {
        return Err(LogError::Corrupt { index: head, why: "the upgraded copy has another record count".to_owned() });
    }
    let mut from = 0;
    while from < head {
        let (a, b) = (old.read(from, 1000)?, copy.read(from, 1000)?);
        if a.iter().zip(&b).any(|(x, y)| x.bytes != y.bytes) || a.len() != b.len() {
            return Err(LogError::Corrupt { index: from, why: "the upgraded copy differs".to_owned() });
        }
        from += a.len() as u64;
    }
    std::fs::rename(path, path.with_extension("log.v1"))?;
    std::fs::rename(&fresh, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(s: &str) -> NewRecord {
        NewRecord { key: String::new(), id: String::new(), kind: String::new(), bytes: s.as_bytes().to_vec() }
    }

    #[test]
    fn a_torn_append_is_cut_whole_and_only_by_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.log");
        let log = EmbeddedLog::open(&path, 0).unwrap();
        log.append(&[rec("one")]).unwrap();
        log.append(&[rec("two"), rec("three")]).unwrap();
        drop(log);
        // A crash partway through the second append's last frame.
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 2).unwrap();
        let before = std::fs::read(&path).unwrap();
        assert_eq!(EmbeddedLog::open_read_only(&path).unwrap().head().unwrap(), 1, "the whole second append is unread");
        assert_eq!(std::fs::read(&path).unwrap(), before, "read-only changes nothing");
        assert!(EmbeddedLog::open(&path, 2).is_err(), "cutting below what the read model saw is refused");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let log = EmbeddedLog::open(&path, 1).unwrap();
        assert_eq!(log.head().unwrap(), 1);
        assert!(log.read(0, 10).unwrap()[0].appended_ms.is_some());
    }

    #[test]
    fn bodies_framed_by_the_caller_are_appended_as_bodies_given_whole_are() {
        let dir = tempfile::tempdir().unwrap();
        let (given, framed_path) = (dir.path().join("given.log"), dir.path().join("framed.log"));
        let bodies: [&[u8]; 3] = [b"one", b"{\"two\":2}", &[0xff; 700]];
        // Given the same bodies, once whole and once written into their frames,
        let log = EmbeddedLog::open(&given, 0).unwrap();
        log.append(&bodies.map(|b| NewRecord { bytes: b.to_vec(), ..rec("") })).unwrap();
        let framed_log = EmbeddedLog::open(&framed_path, 0).unwrap();
        let mut framed = Framed::with_capacity(3, 0);
        framed.push(bodies[0]);
        framed.push_with(|out| out.extend_from_slice(bodies[1]));
        framed.push_with(|out| out.extend_from_slice(bodies[2]));
        assert_eq!(framed_log.append_framed_unsynced(&mut framed).unwrap(), vec![0, 1, 2]);
        // then both files read back as the same records in one whole append,
        drop((log, framed_log));
        for path in [&given, &framed_path] {
            let read = EmbeddedLog::open(path, 3).unwrap().read(0, 10).unwrap();
            assert_eq!(read.iter().map(|r| r.bytes.as_slice()).collect::<Vec<_>>(), bodies);
            assert!(read.iter().all(|r| r.appended_ms.is_some()));
        }
        let (a, b) = (std::fs::read(&given).unwrap(), std::fs::read(&framed_path).unwrap());
        assert_eq!(a.len(), b.len());
        // and a framed append with an empty body is refused whole, writing nothing.
        let log = EmbeddedLog::open(&framed_path, 3).unwrap();
        let mut bad = Framed::with_capacity(2, 8);
        bad.push(b"fine");
        bad.push(b"");
        assert!(matches!(log.append_framed_unsynced(&mut bad), Err(LogError::Refused(_))));
        assert_eq!((log.head().unwrap(), std::fs::read(&framed_path).unwrap()), (3, b));
    }

    #[test]
    fn a_damaged_header_is_refused_with_what_follows_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.log");
        let log = EmbeddedLog::open(&path, 0).unwrap();
        for s in ["a", "bb", "ccc", "dddd"] {
            log.append(&[rec(s)]).unwrap();
        }
        drop(log);
        let mut bytes = std::fs::read(&path).unwrap();
        // The length field of record 1.
        let second = (MAGIC_BYTES + HEADER_V2_BYTES + 1) as usize;
        bytes[second] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let Err(LogError::Damaged(d)) = EmbeddedLog::open(&path, 0) else { panic!("damage must refuse") };
        assert_eq!((d.index, d.offset, d.intact_after.len()), (1, second as u64, 2));
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}
