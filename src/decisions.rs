//! The decision log: every decision the service gives, recorded before it is given.
//!
//! Each answered decision (XACML, Altinn's `/authorize`, the native endpoint; every part
//! of a multi-request) becomes one [`Entry`]: when, which endpoint, who asked (from the
//! token), the question, the answer, and the ledger position the answer was made at — so
//! an auditor can decide it again at that position, with its proof, at any later time.
//!
//! **Nothing answered is lost.** A handler answers only once its entries are kept in the
//! replica's own decision log, `DATA/decisions/` (segments of [`SEGMENT_RECORDS_MAX`]
//! records). When "kept" is, is the [`SyncMode`]. `after-answer` (the default): once the
//! handler itself has written them to the file — no crash of the process can lose them —
//! with a syncer thread `fsync`ing behind (at most every [`SYNC_SPACING_MS`]), never
//! holding an answer up. `before-answer`: once `fsync`ed, so not even a machine crash
//! can; handlers queue their entries for one writer thread, which takes whatever has
//! queued while its previous append ran as one synced append (group commit). Either way,
//! what is synced is let go from the page cache: the log is written far more than it is
//! read, and cached it would crowd out the read model's pages. If the log cannot take an
//! entry (queue full, disk failing), the decision is not answered (503): an unrecorded
//! answer would be one no auditor can see.
//!
//! **On Kafka** each replica still makes its decisions durable on its own disk first — so
//! a broker outage stops no decision — and a shipper thread forwards them to the decision
//! topic (`acks=all`), moving its cursor (`DATA/decisions.shipped`) only after the brokers
//! have acknowledged what it covers: at least once, never lost; a replica killed between
//! the acknowledgement and the cursor's write ships that batch again, and the copies carry
//! the same entry `id`. Auditors read the topic, where every replica's decisions meet.
//!
//! The log lives apart from the delegation log and has its own retention: whole expired
//! segments are deleted (once shipped, on Kafka), and the topic carries the same
//! `retention.ms`. It knows nothing of HTTP; the API reads pages of it and reproduces
//! entries through [`Entry::query`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::ids::{Action, OrgNo, ResourceId};
use crate::domain::pdp::{PartyRef, Query, Verdict};
use crate::log::embedded::{EmbeddedLog, Framed};
use crate::log::kafka::{KafkaConfig, KafkaLog};
use crate::log::{EventLog, LogError, NewRecord, Record};

mod encode;

/// Most entries waiting for the writer; past it a decision is refused (503 overloaded),
/// never answered unrecorded.
pub const DECISION_QUEUE_ENTRIES_MAX: usize = 65_536;
/// Most entries one append carries (one `fsync`, or one round of broker acknowledgements).
pub const DECISION_BATCH_ENTRIES_MAX: usize = 4_096;
/// Records per segment file of the embedded decision log: retention deletes whole
/// segments, and only the open segment's frame index is held in memory (24 bytes a record).
pub const SEGMENT_RECORDS_MAX: u64 = 1 << 20;
/// Sealed segments kept open for reading at once (each holds its frame index).
pub const SEALED_SEGMENTS_OPEN_MAX: usize = 4;
/// Default retention: five years, as long as Norway's bookkeeping act keeps primary
/// documentation; an operator sets another with `--decision-retention-days`.
pub const RETENTION_DAYS_DEFAULT: u32 = 1_827;
/// How often the writer looks for expired segments.
pub const EXPIRY_INTERVAL_MS: u64 = 60 * 60 * 1000;
/// Most records one page of a query scans; a page that stops here says where to go on.
pub const QUERY_SCAN_RECORDS_MAX: usize = 200_000;
/// Records read from storage at a time while scanning.
const SCAN_READ_RECORDS_MAX: usize = 1_000;
/// How far out of order entry times may be in the log (decisions made on several
/// threads reach the writer in any order; replicas' clocks differ on Kafka): a query's
/// time bounds are widened by this much when they are mapped to places in the log.
pub const TIME_SLACK_MS: i64 = 60_000;
/// Least time between the starts of two `fsync`s of the syncer (`after-answer`). Back to
/// back, the syncer's `fsync`s took a seventh of a busy 2-core machine's CPU (measured
/// with `perf`); spaced, one covers everything written in the interval. A process crash
/// loses nothing either way; a machine crash may lose the last interval's entries.
pub const SYNC_SPACING_MS: u64 = 20;
/// Room reserved for one encoded entry, so encoding allocates once: a decision's entry
/// is about 310 bytes; a longer one grows the buffer as usual.
const ENTRY_BYTES_TYPICAL: usize = 384;
/// The CloudEvents type the records carry (a Kafka header; the body is the entry).
pub const ENTRY_TYPE: &str = "ledger.decision.v1";
/// Most records the shipper sends to the decision topic in one append.
pub const SHIP_BATCH_RECORDS_MAX: usize = 1_000;
/// How long the shipper sleeps when everything is shipped.
pub const SHIP_IDLE_MS: u64 = 20;
/// How long the shipper waits after the brokers refused or failed an append.
pub const SHIP_RETRY_MS: u64 = 1_000;

/// When a decision's record counts as kept, so that the decision may be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Once written to the file: a crash of the process (SIGKILL, panic, OOM kill) loses
    /// nothing answered; a crash of the machine can lose the decisions written since the
    /// last `fsync` that completed (a syncer thread syncs whenever something was written,
    /// at most every [`SYNC_SPACING_MS`]: the last spacing's worth and one `fsync`'s).
    AfterAnswer,
    /// Once `fsync`ed: nothing answered is lost on any crash; each answer waits for one
    /// `fsync` (its latency, at the concurrency of the callers).
    BeforeAnswer,
}

impl SyncMode {
    pub fn parse(s: &str) -> Result<SyncMode, String> {
        match s {
            "after-answer" => Ok(SyncMode::AfterAnswer),
            "before-answer" => Ok(SyncMode::BeforeAnswer),
            other => Err(format!("'{other}' is not after-answer or before-answer")),
        }
    }
}

/// Which endpoint gave the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// `POST /authorization/api/v1/decision` (Altinn's PDP).
    Xacml,
    /// `POST /authorization/api/v1/authorize` (Altinn's external PDP).
    Authorize,
    /// `POST /v1/decisions`.
    Native,
}

impl Endpoint {
    /// Its name in the log and in the metrics' `api` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Xacml => "xacml",
            Endpoint::Authorize => "authorize",
            Endpoint::Native => "native",
        }
    }
}

/// The answer given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    Permit,
    NotApplicable,
    Indeterminate,
}

impl From<Verdict> for Answer {
    fn from(v: Verdict) -> Answer {
        match v {
            Verdict::Permit => Answer::Permit,
            Verdict::NotApplicable => Answer::NotApplicable,
        }
    }
}

/// Who asked: the token's role, subject and organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Caller {
    pub role: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

/// The party as the request named it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Party {
    OrgNo(String),
    PartyId(i64),
    PartyUuid(Uuid),
}

impl From<&PartyRef> for Party {
    fn from(p: &PartyRef) -> Party {
        match p {
            PartyRef::OrgNo(o) => Party::OrgNo(o.to_string()),
            PartyRef::PartyId(id) => Party::PartyId(*id),
            PartyRef::PartyUuid(u) => Party::PartyUuid(*u),
        }
    }
}

/// One decision as given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Entry {
    /// The entry's own id (a copy shipped twice to the topic carries the same one).
    pub id: Uuid,
    /// When the decision was made (the service's clock).
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub time: DateTime<Utc>,
    pub endpoint: Endpoint,
    pub caller: Caller,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_user: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<Party>,
    pub decision: Answer,
    /// Why: what a NotApplicable lacked, or why the request was Indeterminate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The ledger position the decision was made at (the earlier one, for as-of).
    pub position: u64,
    /// Whether the caller asked as of an earlier moment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub as_of: bool,
}

/// A version-7 id stamped with the entry's own time, its other 74 bits random.
/// `Uuid::now_v7` would read the clock a second time for every decision and keep ids
/// ordered within a millisecond, which nothing needs: the log's sequence numbers order
/// entries, and the id only tells a copy from another entry.
fn entry_id(time: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(time.timestamp()).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, seconds, time.timestamp_subsec_nanos()))
}

/// An entry to record, borrowed from the answer being given: [`DecisionLog::record`]
/// encodes it straight into its frame, so nothing the answer holds (the caller, the
/// question, the typed lack) is copied to be logged. It reads back as an [`Entry`]
/// with the same members (the encoder's tests hold the two to the same bytes).
#[derive(Clone, Copy)]
pub struct NewEntry<'a> {
    id: Uuid,
    time: DateTime<Utc>,
    endpoint: Endpoint,
    caller: &'a Caller,
    query: Option<&'a Query>,
    decision: Answer,
    reason: Option<&'a dyn std::fmt::Display>,
    position: u64,
    as_of: bool,
}

impl<'a> NewEntry<'a> {
    /// The entry of a question decided at `position`.
    pub fn decided(
        time: DateTime<Utc>,
        endpoint: Endpoint,
        caller: &'a Caller,
        query: &'a Query,
        decision: &'a crate::domain::pdp::Decision,
        position: u64,
        as_of: bool,
    ) -> NewEntry<'a> {
        let reason = decision.missing.as_deref().map(|m| m as &dyn std::fmt::Display);
        NewEntry::given(time, endpoint, caller, Some(query), decision.decision.into(), reason, position, as_of)
    }

    /// The entry of any answer: the question where there was a whole one, and why it
    /// was answered so (written as it shows itself).
    #[allow(clippy::too_many_arguments)] // one per member of the entry, each named
    pub fn given(
        time: DateTime<Utc>,
        endpoint: Endpoint,
        caller: &'a Caller,
        query: Option<&'a Query>,
        decision: Answer,
        reason: Option<&'a dyn std::fmt::Display>,
        position: u64,
        as_of: bool,
    ) -> NewEntry<'a> {
        NewEntry { id: entry_id(time), time, endpoint, caller, query, decision, reason, position, as_of }
    }

    fn view(&self) -> encode::View<'a> {
        encode::View {
            id: self.id,
            time: self.time,
            endpoint: self.endpoint,
            caller: self.caller,
            system_user: self.query.map(|q| q.system_user),
            action: self.query.map(|q| q.action.as_str()),
            resource: self.query.map(|q| q.resource.as_str()),
            party: self.query.map(|q| match &q.party {
                PartyRef::OrgNo(o) => encode::PartyView::OrgNo(o.as_str()),
                PartyRef::PartyId(id) => encode::PartyView::PartyId(*id),
                PartyRef::PartyUuid(u) => encode::PartyView::PartyUuid(*u),
            }),
            decision: self.decision,
            reason: self.reason,
            position: self.position,
            as_of: self.as_of,
        }
    }

    /// The entry this one reads back as.
    #[cfg(test)]
    fn entry(&self) -> Entry {
        Entry {
            id: self.id,
            time: self.time,
            endpoint: self.endpoint,
            caller: self.caller.clone(),
            system_user: self.query.map(|q| q.system_user),
            action: self.query.map(|q| q.action.as_str().to_owned()),
            resource: self.query.map(|q| q.resource.as_str().to_owned()),
            party: self.query.map(|q| Party::from(&q.party)),
            decision: self.decision,
            reason: self.reason.map(ToString::to_string),
            position: self.position,
            as_of: self.as_of,
        }
    }

    /// The entry's record in the log: its JSON (written by [`encode`]; the bytes of the
    /// serde serialisation of [`NewEntry::entry`]). The local log keeps no key, id or
    /// kind; the shipper gives the topic's records theirs.
    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(ENTRY_BYTES_TYPICAL);
        encode::entry(&self.view(), &mut bytes);
        bytes
    }
}

impl Entry {
    /// The entry's members as the encoder reads them.
    #[cfg(test)]
    fn view(&self) -> encode::View<'_> {
        encode::View {
            id: self.id,
            time: self.time,
            endpoint: self.endpoint,
            caller: &self.caller,
            system_user: self.system_user,
            action: self.action.as_deref(),
            resource: self.resource.as_deref(),
            party: self.party.as_ref().map(|p| match p {
                Party::OrgNo(o) => encode::PartyView::OrgNo(o),
                Party::PartyId(id) => encode::PartyView::PartyId(*id),
                Party::PartyUuid(u) => encode::PartyView::PartyUuid(*u),
            }),
            decision: self.decision,
            reason: self.reason.as_ref().map(|r| r as &dyn std::fmt::Display),
            position: self.position,
            as_of: self.as_of,
        }
    }

    /// The question again, where the entry holds a whole one and was decided: what
    /// reproducing it asks. `None` for a request that was never decided (malformed,
    /// Indeterminate) or named no action.
    pub fn query(&self) -> Option<Query> {
        if self.decision == Answer::Indeterminate {
            return None;
        }
        let party = match self.party.as_ref()? {
            Party::OrgNo(o) => PartyRef::OrgNo(OrgNo::parse(o).ok()?),
            Party::PartyId(id) => PartyRef::PartyId(*id),
            Party::PartyUuid(u) => PartyRef::PartyUuid(*u),
        };
        Some(Query {
            system_user: self.system_user?,
            action: Action::parse(self.action.as_deref()?).ok()?,
            resource: ResourceId::parse(self.resource.as_deref()?).ok()?,
            party,
        })
    }
}

/// Why an entry was not recorded (and so its decision not answered).
#[derive(Debug)]
pub enum RecordError {
    /// [`DECISION_QUEUE_ENTRIES_MAX`] entries are waiting already.
    Full,
    /// The storage refused or failed; the detail is for the service's own log.
    Unavailable(String),
}

/// Where the entries are kept: the embedded segments or a Kafka topic.
pub trait Storage: Send + Sync {
    /// Appends durably; returns each record's sequence number.
    fn append(&self, records: &[NewRecord]) -> Result<Vec<u64>, LogError>;
    /// Up to `max` records from sequence number `from` (within one segment).
    fn read(&self, from: u64, max: usize) -> Result<Vec<Record>, LogError>;
    /// The first sequence number still kept, and one past the last.
    fn bounds(&self) -> Result<(u64, u64), LogError>;
    /// Deletes what was appended before `before_ms` (whole segments), and only records
    /// below `floor` (what is shipped); returns how many records went. A broker expires
    /// its own records: there it deletes nothing.
    fn expire(&self, before_ms: i64, floor: u64) -> Result<u64, LogError>;
    fn describe(&self) -> String;
}

struct Pending {
    body: Vec<u8>,
    durable: tokio::sync::oneshot::Sender<Result<u64, String>>,
}

/// The decision log: a queue in front of one writer thread, the replica's own segments,
/// and on Kafka the shipper to the decision topic.
pub struct DecisionLog {
    /// `None` only while dropping: closing the queue ends the writer.
    queue: Option<SyncSender<Pending>>,
    writer: Option<std::thread::JoinHandle<()>>,
    syncer: Option<std::thread::JoinHandle<()>>,
    local: Arc<Segments>,
    /// On Kafka: the topic (where auditors read), its shipper, and how far it shipped.
    topic: Option<Arc<TopicStorage>>,
    shipper: Option<std::thread::JoinHandle<()>>,
    shipped: Arc<AtomicU64>,
    stopping: Arc<AtomicBool>,
    sync: SyncMode,
}

impl Drop for DecisionLog {
    /// Writes what is queued, stops the shipper (what it has not shipped goes at the next
    /// start), then lets go of the storage (and its file lock).
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        self.local.syncer.stop();
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
        self.stopping.store(true, Ordering::Relaxed);
        if let Some(shipper) = self.shipper.take() {
            let _ = shipper.join();
        }
    }
}

/// Recorded entries: wait on it before answering.
pub enum Durable {
    /// Already kept (`after-answer`: written by the caller itself); their sequence numbers.
    Kept(Vec<u64>),
    /// Handed to the writer thread (`before-answer`): kept once each receiver answers.
    Queued(Vec<tokio::sync::oneshot::Receiver<Result<u64, String>>>),
}

impl Durable {
    /// Waits until every entry is durable; their sequence numbers.
    pub async fn wait(self) -> Result<Vec<u64>, RecordError> {
        let receivers = match self {
            Durable::Kept(seqs) => return Ok(seqs),
            Durable::Queued(receivers) => receivers,
        };
        let mut seqs = Vec::with_capacity(receivers.len());
        for receiver in receivers {
            let seq = receiver.await.map_err(|_| RecordError::Unavailable("the decision log writer stopped".into()))?;
            seqs.push(seq.map_err(RecordError::Unavailable)?);
        }
        Ok(seqs)
    }

    /// As [`Durable::wait`], for a caller outside the async runtime.
    pub fn wait_blocking(self) -> Result<Vec<u64>, RecordError> {
        futures_executor::block_on(self.wait())
    }
}

impl DecisionLog {
    /// The log in `DATA/decisions`, expiring what is older than `retention_days`.
    pub fn open_embedded(data: &Path, retention_days: u32, sync: SyncMode) -> Result<DecisionLog, LogError> {
        let local = Arc::new(Segments::open(&data.join("decisions"))?);
        Ok(DecisionLog::start(local, None, retention_days, sync))
    }

    /// The log in `DATA/decisions`, shipped to its own Kafka topic, whose retention the
    /// broker applies.
    pub fn open_kafka(
        data: &Path,
        config: &KafkaConfig,
        retention_days: u32,
        sync: SyncMode,
    ) -> Result<DecisionLog, LogError> {
        let retention_ms = i64::from(retention_days) * 86_400_000;
        let log = KafkaLog::open_with_retention(config, retention_ms)?;
        let local = Arc::new(Segments::open(&data.join("decisions"))?);
        let cursor = Cursor(data.join("decisions.shipped"));
        let topic = Arc::new(TopicStorage { log, topic: config.topic.clone() });
        Ok(DecisionLog::start(local, Some((topic, cursor)), retention_days, sync))
    }

    fn start(
        local: Arc<Segments>,
        topic: Option<(Arc<TopicStorage>, Cursor)>,
        retention_days: u32,
        sync: SyncMode,
    ) -> DecisionLog {
        let (queue, receiver) = std::sync::mpsc::sync_channel(DECISION_QUEUE_ENTRIES_MAX);
        let retention_ms = i64::from(retention_days) * 86_400_000;
        let stopping = Arc::new(AtomicBool::new(false));
        let (shipped, shipper, topic) = match topic {
            None => (Arc::new(AtomicU64::new(u64::MAX)), None, None),
            Some((topic, cursor)) => {
                let first = local.bounds().map(|(first, _)| first).unwrap_or(0);
                let from = cursor.load().unwrap_or_else(|e| {
                    tracing::error!("decision log: {e}; shipping again from the oldest local record");
                    0
                });
                let shipped = Arc::new(AtomicU64::new(from.max(first)));
                let (l, t, s, stop) = (local.clone(), topic.clone(), shipped.clone(), stopping.clone());
                let shipper = std::thread::Builder::new()
                    .name("decision-shipper".to_owned())
                    .spawn(move || ship_loop(&l, &t, &cursor, &s, &stop))
                    .expect("a thread for the decision shipper");
                (shipped, Some(shipper), Some(topic))
            }
        };
        let syncer = (sync == SyncMode::AfterAnswer).then(|| {
            let l = local.clone();
            std::thread::Builder::new()
                .name("decision-sync".to_owned())
                .spawn(move || sync_loop(&l))
                .expect("a thread for the decision log's fsync")
        });
        let (l, s) = (local.clone(), shipped.clone());
        let writer = std::thread::Builder::new()
            .name("decision-log".to_owned())
            .spawn(move || write_loop(receiver, &l, retention_ms, &s))
            .expect("a thread for the decision log");
        DecisionLog { queue: Some(queue), writer: Some(writer), syncer, local, topic, shipper, shipped, stopping, sync }
    }

    /// On Kafka: how many of this replica's decisions are not yet on the topic.
    pub fn unshipped(&self) -> Option<u64> {
        self.topic.as_ref()?;
        let head = self.local.bounds().map(|(_, head)| head).unwrap_or(0);
        Some(head.saturating_sub(self.shipped.load(Ordering::Relaxed)))
    }

    /// Hands `entries` to the writer, in order. Either all are queued or none.
    pub fn record(&self, entries: &[NewEntry<'_>]) -> Result<Durable, RecordError> {
        if self.sync == SyncMode::AfterAnswer {
            // The caller writes its own records (encoded and framed before the lock): a
            // write to the page cache is a few microseconds, where a hop to the writer
            // thread and back waits for two threads to be scheduled on a busy machine.
            // Each entry is encoded straight into its frame: an allocation per entry, and
            // then a copy of the whole append, showed in the profile.
            let mut framed = Framed::with_capacity(entries.len(), entries.len() * ENTRY_BYTES_TYPICAL);
            for entry in entries {
                framed.push_with(|out| encode::entry(&entry.view(), out));
            }
            let seqs =
                self.local.append_framed_unsynced(&mut framed).map_err(|e| RecordError::Unavailable(e.to_string()))?;
            return Ok(Durable::Kept(seqs));
        }
        self.queue_records(entries.iter().map(NewEntry::encode).collect())
    }

    /// Hands records to the writer thread, in order.
    fn queue_records(&self, bodies: Vec<Vec<u8>>) -> Result<Durable, RecordError> {
        let mut receivers = Vec::with_capacity(bodies.len());
        for body in bodies {
            let (durable, receiver) = tokio::sync::oneshot::channel();
            let queue = self.queue.as_ref().expect("the queue is open until drop");
            match queue.try_send(Pending { body, durable }) {
                Ok(()) => receivers.push(receiver),
                // The ones already queued are written all the same: a decision logged
                // but not answered is harmless; the reverse is what must never happen.
                Err(TrySendError::Full(_)) => return Err(RecordError::Full),
                Err(TrySendError::Disconnected(_)) => {
                    return Err(RecordError::Unavailable("the decision log writer stopped".to_owned()))
                }
            }
        }
        Ok(Durable::Queued(receivers))
    }

    /// Where auditors read: the topic on Kafka (every replica's decisions), else the
    /// local segments.
    pub fn storage(&self) -> &dyn Storage {
        match &self.topic {
            Some(topic) => topic.as_ref(),
            None => self.local.as_ref(),
        }
    }

    /// The entry with sequence number `seq`, if it is kept.
    pub fn entry(&self, seq: u64) -> Result<Option<Entry>, LogError> {
        let (first, head) = self.storage().bounds()?;
        if seq < first || seq >= head {
            return Ok(None);
        }
        let records = self.storage().read(seq, 1)?;
        let record = records.first().filter(|r| r.index == seq).ok_or_else(|| LogError::Corrupt {
            index: seq,
            why: "the decision log did not return a record it reports keeping".to_owned(),
        })?;
        decode(record).map(Some)
    }

    /// One page of the entries that pass `filter`, after sequence number `after`.
    pub fn page(&self, filter: &Filter, after: Option<u64>, limit: usize) -> Result<Page, LogError> {
        assert!(limit > 0, "a page holds at least one entry");
        let (first, head) = self.storage().bounds()?;
        let mut seq = after.map_or(first, |a| a.saturating_add(1)).max(first);
        let slack = chrono::Duration::milliseconds(TIME_SLACK_MS);
        if let Some(from) = filter.from {
            seq = seq.max(self.first_at(first, head, from - slack)?);
        }
        let stop = filter.to.map(|to| to + slack);
        let (mut entries, mut scanned) = (Vec::new(), 0);
        while seq < head {
            let records = self.storage().read(seq, SCAN_READ_RECORDS_MAX)?;
            if records.is_empty() {
                break;
            }
            for record in records {
                seq = record.index + 1;
                scanned += 1;
                let entry = decode(&record)?;
                if stop.is_some_and(|stop| entry.time > stop) {
                    return Ok(Page { entries, next: None });
                }
                if filter.admits(&entry) {
                    entries.push((record.index, entry));
                }
                if entries.len() == limit || scanned == QUERY_SCAN_RECORDS_MAX {
                    let next = (seq < head).then_some(record.index);
                    return Ok(Page { entries, next });
                }
            }
        }
        Ok(Page { entries, next: None })
    }

    /// The first sequence number in `first..head` whose entry was made at or after `at`
    /// (entry times grow with sequence numbers, give or take the slack the caller allowed).
    fn first_at(&self, first: u64, head: u64, at: DateTime<Utc>) -> Result<u64, LogError> {
        let (mut low, mut high) = (first, head);
        while low < high {
            let middle = low + (high - low) / 2;
            let record = self.storage().read(middle, 1)?;
            let made = record.first().map(decode).transpose()?.map(|e| e.time);
            if made.is_some_and(|made| made < at) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        Ok(low)
    }
}

fn decode(record: &Record) -> Result<Entry, LogError> {
    serde_json::from_slice(&record.bytes).map_err(|e| LogError::Corrupt {
        index: record.index,
        why: format!("a decision log record does not read as an entry: {e}"),
    })
}

/// The writer: waits for entries (`before-answer`), appends what has queued as one synced
/// batch, and reports each entry durable (or not) to the handler waiting on it; now and
/// then, in either mode, expires old records.
fn write_loop(receiver: Receiver<Pending>, local: &Segments, retention_ms: i64, shipped: &AtomicU64) {
    let mut expired_at: Option<Instant> = None;
    loop {
        if expired_at.is_none_or(|at| at.elapsed() >= Duration::from_millis(EXPIRY_INTERVAL_MS)) {
            expired_at = Some(Instant::now());
            let floor = shipped.load(Ordering::Relaxed);
            match local.expire(Utc::now().timestamp_millis() - retention_ms, floor) {
                Ok(0) => {}
                Ok(records) => tracing::info!(records, "decision log: deleted records past their retention"),
                Err(e) => tracing::error!("decision log: expiry failed: {e}"),
            }
        }
        let first = match receiver.recv_timeout(Duration::from_millis(EXPIRY_INTERVAL_MS)) {
            Ok(first) => first,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < DECISION_BATCH_ENTRIES_MAX {
            match receiver.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let (bodies, waiting): (Vec<Vec<u8>>, Vec<_>) = batch.into_iter().map(|p| (p.body, p.durable)).unzip();
        let bodies: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
        let mut waiting = Some(waiting);
        let acknowledge = |seqs: &[u64]| {
            let waiting = waiting.take().expect("acknowledged once");
            assert_eq!(seqs.len(), waiting.len(), "one sequence number per record");
            for (durable, seq) in waiting.into_iter().zip(seqs) {
                let _ = durable.send(Ok(*seq));
            }
        };
        if let Err(e) = local.append_then(&bodies, acknowledge) {
            tracing::error!("decision log: append failed, the decisions are refused: {e}");
            for durable in waiting.take().into_iter().flatten() {
                let _ = durable.send(Err(e.to_string()));
            }
        }
    }
}

/// The syncer (`after-answer`): `fsync`s the open segment whenever anything has been
/// written since the last time, at most once per [`SYNC_SPACING_MS`], so no writer ever
/// waits for a sync and a machine crash can lose at most what was written in the last
/// spacing and the sync that was running.
fn sync_loop(local: &Segments) {
    let spacing = Duration::from_millis(SYNC_SPACING_MS);
    let mut last: Option<Instant> = None;
    while local.syncer.next() {
        if let Some(wait) = last.and_then(|started| spacing.checked_sub(started.elapsed())) {
            std::thread::sleep(wait);
        }
        last = Some(Instant::now());
        let log = local.active.lock().unwrap_or_else(|p| p.into_inner()).log.clone();
        if let Err(e) = log.sync_and_uncache() {
            tracing::error!("decision log: fsync failed; answered decisions may not survive a machine crash: {e}");
        }
    }
}

/// Where the shipper has got to: the first local sequence number not yet on the topic,
/// as a decimal in a file replaced atomically (written, synced, renamed, directory synced).
struct Cursor(PathBuf);

impl Cursor {
    fn load(&self) -> Result<u64, String> {
        match std::fs::read_to_string(&self.0) {
            Ok(text) => text.trim().parse().map_err(|_| format!("{} holds no sequence number", self.0.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(format!("cannot read {}: {e}", self.0.display())),
        }
    }

    fn store(&self, next: u64) -> std::io::Result<()> {
        let fresh = self.0.with_extension("shipped.new");
        let file = std::fs::File::create(&fresh)?;
        std::io::Write::write_all(&mut &file, next.to_string().as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&fresh, &self.0)?;
        if let Some(dir) = self.0.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

/// Only the id of an entry, to name the record on the topic.
#[derive(Deserialize)]
struct EntryId {
    id: Uuid,
}

/// The shipper: sends what the local log holds past the cursor to the topic, and moves
/// the cursor only once the brokers have acknowledged it. A refused or failed append is
/// retried; nothing is skipped.
fn ship_loop(local: &Segments, topic: &TopicStorage, cursor: &Cursor, shipped: &AtomicU64, stopping: &AtomicBool) {
    let mut failing = false;
    while !stopping.load(Ordering::Relaxed) {
        let next = shipped.load(Ordering::Relaxed);
        let records = match local.bounds() {
            Ok((_, head)) if next < head => local.read(next, SHIP_BATCH_RECORDS_MAX),
            Ok(_) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
        let records = match records {
            Ok(records) if records.is_empty() => {
                std::thread::sleep(Duration::from_millis(SHIP_IDLE_MS));
                continue;
            }
            Ok(records) => records,
            Err(e) => {
                tracing::error!("decision log: cannot read the local log to ship it: {e}");
                std::thread::sleep(Duration::from_millis(SHIP_RETRY_MS));
                continue;
            }
        };
        let batch: Vec<NewRecord> = records
            .iter()
            .map(|r| NewRecord {
                key: String::new(),
                id: serde_json::from_slice::<EntryId>(&r.bytes).map(|e| e.id.to_string()).unwrap_or_default(),
                kind: ENTRY_TYPE.to_owned(),
                bytes: r.bytes.clone(),
            })
            .collect();
        match topic.append(&batch) {
            Ok(_) => {
                let last = records.last().expect("a batch holds a record").index;
                if let Err(e) = cursor.store(last + 1) {
                    // Shipped all the same; after a restart this batch would go again.
                    tracing::error!("decision log: cannot record how far it shipped: {e}");
                }
                shipped.store(last + 1, Ordering::Relaxed);
                if failing {
                    tracing::info!("decision log: shipping to the topic again");
                    failing = false;
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!("decision log: the topic takes nothing now ({e}); decisions stay on this replica's disk until it does");
                    failing = true;
                }
                std::thread::sleep(Duration::from_millis(SHIP_RETRY_MS));
            }
        }
    }
}

/// What a query admits. The party matches however the request named it: the caller
/// passes every name the party has.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub system_user: Option<Uuid>,
    pub party: Option<Vec<Party>>,
    pub resource: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Filter {
    pub fn admits(&self, e: &Entry) -> bool {
        self.system_user.is_none_or(|u| e.system_user == Some(u))
            && self.party.as_ref().is_none_or(|names| e.party.as_ref().is_some_and(|p| names.contains(p)))
            && self.resource.as_ref().is_none_or(|r| e.resource.as_ref() == Some(r))
            && self.from.is_none_or(|from| e.time >= from)
            && self.to.is_none_or(|to| e.time <= to)
    }
}

/// Entries with their sequence numbers, and where the next page starts (after it).
#[derive(Debug)]
pub struct Page {
    pub entries: Vec<(u64, Entry)>,
    pub next: Option<u64>,
}

/// The decision log on Kafka: the broker keeps and expires the records.
struct TopicStorage {
    log: KafkaLog,
    topic: String,
}

impl Storage for TopicStorage {
    fn append(&self, records: &[NewRecord]) -> Result<Vec<u64>, LogError> {
        self.log.append(records)
    }
    fn read(&self, from: u64, max: usize) -> Result<Vec<Record>, LogError> {
        self.log.read(from, max)
    }
    fn bounds(&self) -> Result<(u64, u64), LogError> {
        Ok((self.log.first()?, self.log.head()?))
    }
    fn expire(&self, _before_ms: i64, _floor: u64) -> Result<u64, LogError> {
        Ok(0)
    }
    fn describe(&self) -> String {
        format!("kafka:{}", self.topic)
    }
}

/// The embedded decision log: a directory of embedded-log files, each named by the
/// sequence number of its first record, the last one open for appending.
pub struct Segments {
    dir: PathBuf,
    /// Records per segment ([`SEGMENT_RECORDS_MAX`]; smaller in tests).
    records_max: u64,
    active: Mutex<Active>,
    /// First sequence numbers of the sealed segments, oldest first.
    sealed: Mutex<Vec<u64>>,
    /// Sealed segments open for reading, most recently used last.
    open: Mutex<Vec<(u64, Arc<EmbeddedLog>)>>,
    /// Where `after-answer` appends ask for the `fsync` that follows them.
    syncer: SyncRequests,
}

/// Requests for the syncer thread: a flag under a lock, and a condition to wake it.
#[derive(Default)]
struct SyncRequests {
    wanted: Mutex<SyncState>,
    wake: std::sync::Condvar,
}

#[derive(Default)]
struct SyncState {
    requested: bool,
    stopping: bool,
}

impl SyncRequests {
    fn request(&self) {
        let mut state = self.wanted.lock().unwrap_or_else(|p| p.into_inner());
        // Only the first request since the syncer last looked wakes it: a wake is a
        // system call, and one per decision showed in the profile.
        if !state.requested {
            state.requested = true;
            self.wake.notify_one();
        }
    }

    fn stop(&self) {
        self.wanted.lock().unwrap_or_else(|p| p.into_inner()).stopping = true;
        self.wake.notify_one();
    }

    /// Waits for a request; `false` once stopping and nothing is left to sync.
    fn next(&self) -> bool {
        let mut state = self.wanted.lock().unwrap_or_else(|p| p.into_inner());
        while !state.requested && !state.stopping {
            state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        let go_on = state.requested;
        state.requested = false;
        go_on
    }
}

struct Active {
    first: u64,
    log: Arc<EmbeddedLog>,
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.log"))
}

impl Segments {
    /// Opens (creating) the directory; the newest segment takes the appends.
    pub fn open(dir: &Path) -> Result<Segments, LogError> {
        Segments::open_with(dir, SEGMENT_RECORDS_MAX)
    }

    fn open_with(dir: &Path, records_max: u64) -> Result<Segments, LogError> {
        std::fs::create_dir_all(dir)?;
        let mut firsts = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            let Some(first) = name.strip_suffix(".log").and_then(|n| n.parse::<u64>().ok()) else {
                return Err(LogError::Refused(format!(
                    "{} holds '{name}', which is no decision log segment; move it away",
                    dir.display()
                )));
            };
            firsts.push(first);
        }
        firsts.sort_unstable();
        let first = firsts.pop().unwrap_or(0);
        let log = EmbeddedLog::open(&segment_path(dir, first), 0)?;
        Ok(Segments {
            dir: dir.to_owned(),
            records_max,
            active: Mutex::new(Active { first, log: Arc::new(log) }),
            sealed: Mutex::new(firsts),
            open: Mutex::new(Vec::new()),
            syncer: SyncRequests::default(),
        })
    }

    /// The segment holding `seq`: its first sequence number and its log.
    fn segment_of(&self, seq: u64) -> Result<Option<(u64, Arc<EmbeddedLog>)>, LogError> {
        {
            let active = self.active.lock().unwrap_or_else(|p| p.into_inner());
            if seq >= active.first {
                return Ok(Some((active.first, active.log.clone())));
            }
        }
        let sealed = self.sealed.lock().unwrap_or_else(|p| p.into_inner());
        let Some(&first) = sealed.iter().rev().find(|f| **f <= seq) else { return Ok(None) };
        drop(sealed);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = open.iter().position(|(f, _)| *f == first) {
            let found = open.remove(at);
            open.push(found.clone());
            return Ok(Some(found));
        }
        let log = Arc::new(EmbeddedLog::open_read_only(&segment_path(&self.dir, first))?);
        if open.len() == SEALED_SEGMENTS_OPEN_MAX {
            open.remove(0);
        }
        open.push((first, log.clone()));
        Ok(Some((first, log)))
    }
}

impl Segments {
    /// Appends `bodies`, synced, and calls `acknowledge` with their sequence numbers. The
    /// open segment stays locked throughout, so that a roll never splits an append's
    /// numbering.
    fn append_then(&self, bodies: &[&[u8]], acknowledge: impl FnOnce(&[u64])) -> Result<Vec<u64>, LogError> {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        self.roll_if_full(&mut active, bodies.len())?;
        let first = active.first;
        let seqs: Vec<u64> = active.log.append_bodies_uncached(bodies)?.into_iter().map(|i| first + i).collect();
        acknowledge(&seqs);
        Ok(seqs)
    }

    /// `after-answer` on the caller's thread: appends now, unsynced (the syncer follows).
    fn append_framed_unsynced(&self, framed: &mut Framed) -> Result<Vec<u64>, LogError> {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        self.roll_if_full(&mut active, framed.len())?;
        let first = active.first;
        let seqs = active.log.append_framed_unsynced(framed)?.into_iter().map(|i| first + i).collect();
        self.syncer.request();
        Ok(seqs)
    }

    /// Starts the next segment when `count` more records would overfill the open one.
    fn roll_if_full(&self, active: &mut Active, count: usize) -> Result<(), LogError> {
        let held = active.log.head()?;
        if held > 0 && held + count as u64 > self.records_max {
            let first = active.first + held;
            // What the sealed segment holds is synced before the next takes appends (the
            // syncer only ever syncs the open one); opening the next creates the file and
            // makes its directory entry durable.
            active.log.sync()?;
            let log = EmbeddedLog::open(&segment_path(&self.dir, first), 0)?;
            self.sealed.lock().unwrap_or_else(|p| p.into_inner()).push(active.first);
            *active = Active { first, log: Arc::new(log) };
        }
        Ok(())
    }
}

impl Storage for Segments {
    fn append(&self, records: &[NewRecord]) -> Result<Vec<u64>, LogError> {
        let bodies: Vec<&[u8]> = records.iter().map(|r| r.bytes.as_slice()).collect();
        self.append_then(&bodies, |_| {})
    }

    fn read(&self, from: u64, max: usize) -> Result<Vec<Record>, LogError> {
        let Some((first, log)) = self.segment_of(from)? else { return Ok(Vec::new()) };
        let mut records = log.read(from - first, max)?;
        for r in &mut records {
            r.index += first;
        }
        Ok(records)
    }

    fn bounds(&self) -> Result<(u64, u64), LogError> {
        let active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        let head = active.first + active.log.head()?;
        let sealed = self.sealed.lock().unwrap_or_else(|p| p.into_inner());
        Ok((sealed.first().copied().unwrap_or(active.first), head))
    }

    fn expire(&self, before_ms: i64, floor: u64) -> Result<u64, LogError> {
        let mut deleted = 0;
        loop {
            let oldest = self.sealed.lock().unwrap_or_else(|p| p.into_inner()).first().copied();
            let Some(first) = oldest else { return Ok(deleted) };
            let next = self
                .sealed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(1)
                .copied()
                .unwrap_or_else(|| self.active.lock().unwrap_or_else(|p| p.into_inner()).first);
            // The segment's last record is the newest in it.
            let last = self.read(next - 1, 1)?;
            let newest_ms = last.first().and_then(|r| r.appended_ms).unwrap_or(i64::MAX);
            if newest_ms >= before_ms || next > floor {
                return Ok(deleted);
            }
            self.open.lock().unwrap_or_else(|p| p.into_inner()).retain(|(f, _)| *f != first);
            self.sealed.lock().unwrap_or_else(|p| p.into_inner()).remove(0);
            std::fs::remove_file(segment_path(&self.dir, first))?;
            deleted += next - first;
        }
    }

    /// `embedded` (the directory is the data directory's `decisions/`; not shown to
    /// callers, who have no business with the server's paths).
    fn describe(&self) -> String {
        "embedded".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> NewRecord {
        NewRecord { key: String::new(), id: i.to_string(), kind: ENTRY_TYPE.to_owned(), bytes: vec![b'x'; 8] }
    }

    #[test]
    fn segments_roll_number_on_across_files_and_expire_whole_sealed_ones_only() {
        let dir = tempfile::tempdir().unwrap();
        let segments = Segments::open_with(dir.path(), 4).unwrap();
        for batch in 0..5u64 {
            let seqs = segments.append(&[record(batch * 3), record(batch * 3 + 1), record(batch * 3 + 2)]).unwrap();
            assert_eq!(seqs, [batch * 3, batch * 3 + 1, batch * 3 + 2], "numbers run on across segments");
        }
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, 5, "an append that would overfill a segment starts the next");
        assert_eq!(segments.bounds().unwrap(), (0, 15));
        let read: Vec<u64> = (0..15).flat_map(|s| segments.read(s, 1).unwrap()).map(|r| r.index).collect();
        assert_eq!(read, (0..15).collect::<Vec<_>>());

        // Nothing is old enough: nothing goes. Everything is: every sealed segment goes,
        // never the open one.
        assert_eq!(segments.expire(0, u64::MAX).unwrap(), 0);
        assert_eq!(segments.expire(i64::MAX, 7).unwrap(), 6, "only what is shipped (below 7) may go");
        assert_eq!(segments.expire(i64::MAX, u64::MAX).unwrap(), 6);
        assert_eq!(segments.bounds().unwrap(), (12, 15));
        assert_eq!(segments.read(3, 10).unwrap(), Vec::new(), "an expired record is gone");
        drop(segments);

        // Reopened, the numbering goes on where it stopped.
        let segments = Segments::open_with(dir.path(), 4).unwrap();
        assert_eq!(segments.bounds().unwrap(), (12, 15));
        assert_eq!(segments.append(&[record(15)]).unwrap(), [15]);
    }

    #[test]
    fn a_stranger_in_the_directory_is_refused_not_guessed_at() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        let refused = Segments::open(dir.path()).err().expect("refused");
        assert!(refused.to_string().contains("notes.txt"), "{refused}");
    }
}
