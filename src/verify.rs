//! Rebuild and verify: replay the log from position 0 into a fresh read model, compare
//! it with the live one, and recompute the hash chain to find tampering.
//!
//! The hash chain (`chain = SHA-256(previous ‖ index ‖ record bytes)`) is part of the
//! read model, one entry per record. A record changed after the fact changes the chain
//! from its index on, so the first index where a rebuilt chain differs from the live
//! one names the first altered, inserted, removed or reordered record. Seals carry the
//! chain at a position; a rebuild of a tampered log finds the seals after the damage
//! void. The live read model and seals anchor the comparison: for evidence that stands
//! alone, publish seal hashes outside the ledger (see `replay/README.md`).

use std::fmt;

use crate::domain::events::Event;
use crate::domain::model::{keys, Quarantined, ReadModel};
use crate::log::EventLog;
use crate::projector::{catch_up_observed, CaughtUp, ProjectError};
use crate::store::Store;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// The record at `index` is not the one the live read model applied.
    ChainBreak { index: u64, what: &'static str, detail: String },
    /// A seal whose hash the records before it no longer match.
    SealBroken { index: u64, reason: String },
    /// The record at `index` does not decode, but the live model applied it.
    Undecodable { index: u64, error: String },
    /// The log ends before the live read model's position.
    Truncated { log_head: u64, live_position: u64 },
    /// The first key where the rebuilt and live read models differ.
    Diverges { kind: String, key: String },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::ChainBreak { index, what, detail } => write!(f, "record {index} {what}: {detail}"),
            Finding::SealBroken { index, reason } => write!(f, "seal at record {index} no longer holds: {reason}"),
            Finding::Undecodable { index, error } => write!(f, "record {index} does not decode: {error}"),
            Finding::Truncated { log_head, live_position } => {
                write!(f, "the log ends at {log_head} but the read model had applied {live_position} records")
            }
            Finding::Diverges { kind, key } => write!(f, "first divergence: tree read-model, {kind} key {key}"),
        }
    }
}

#[derive(Debug)]
pub struct Report {
    pub records: u64,
    /// Records on the log beyond the live read model's position: it is behind (a
    /// restart catches up), which is no fault. The comparison is made at its position.
    pub behind: u64,
    pub live_digest: Option<String>,
    pub rebuilt_digest: String,
    pub seals_checked: usize,
    /// Records neither model could apply (listed by `ledger quarantine`).
    pub quarantined: usize,
    pub findings: Vec<Finding>,
}

/// Rebuilds a read model from position 0 into `store`.
pub fn rebuild_into(
    log: &dyn EventLog,
    store: &Store,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CaughtUp, ProjectError> {
    catch_up_observed(log, store, progress)
}

/// The hash chain after the record at `index`, from its outcome or, for a record that
/// is no event, its quarantine entry.
fn chain_at(model: &Store, index: u64) -> Option<String> {
    match model.outcome(index) {
        Some(outcome) => outcome.chain,
        None => model.record::<Quarantined>(&keys::quarantined(index)).map(|q| q.chain),
    }
}

fn kind_name(key: &[u8]) -> &'static str {
    keys::Kind::of(key).map_or("unknown", keys::Kind::name)
}

fn show(key: &[u8]) -> String {
    key.iter().map(|b| if b.is_ascii_graphic() { (*b as char).to_string() } else { format!("\\x{b:02x}") }).collect()
}

/// The id of the event in a record, if it decodes.
fn event_id(bytes: &[u8]) -> Option<uuid::Uuid> {
    Event::decode(bytes).ok().map(|e| e.id)
}

/// A log seen only up to `limit` records: verify compares the live read model with a
/// rebuild at the live model's own position, so a model that is merely behind the log
/// is told apart from one that diverged.
struct Prefix<'a> {
    log: &'a dyn EventLog,
    limit: u64,
}

impl EventLog for Prefix<'_> {
    fn append(&self, _: &[crate::log::NewRecord]) -> Result<Vec<u64>, crate::log::LogError> {
        Err(crate::log::LogError::Refused("verify reads only".to_owned()))
    }
    fn read(&self, from: u64, max: usize) -> Result<Vec<crate::log::Record>, crate::log::LogError> {
        let max = max.min(self.limit.saturating_sub(from) as usize);
        if max == 0 {
            return Ok(Vec::new());
        }
        self.log.read(from, max)
    }
    fn head(&self) -> Result<u64, crate::log::LogError> {
        Ok(self.log.head()?.min(self.limit))
    }
}

/// Rebuilds from `log` into a temporary read model and compares it with `live` (when
/// given) at the live model's position: chain and every key. Then rebuilds on to the
/// log's head and checks every seal. An empty `findings` means the log is intact and
/// the live model equals a rebuild (perhaps behind the log: see [`Report::behind`]).
pub fn verify(log: &dyn EventLog, live: Option<&Store>, progress: &mut dyn FnMut(u64, u64)) -> Result<Report, String> {
    let rebuilt = Store::temporary().map_err(|e| e.to_string())?;
    let mut findings = Vec::new();
    let head = log.head().map_err(|e| e.to_string())?;
    let live_digest = live.map(|l| l.digest());
    let mut behind = 0;
    if let Some(live) = live {
        let live_position = live.position();
        if head < live_position {
            findings.push(Finding::Truncated { log_head: head, live_position });
        }
        behind = head.saturating_sub(live_position);
        rebuild_into(&Prefix { log, limit: live_position }, &rebuilt, progress).map_err(|e| e.to_string())?;
        findings.extend(compare(log, live, &rebuilt)?);
    }
    rebuild_into(log, &rebuilt, progress).map_err(|e| e.to_string())?;
    // Records the live model applied but the log now holds undecodable: damage.
    for q in rebuilt.quarantined() {
        if live.is_some_and(|l| l.outcome(q.index).is_some()) {
            findings.push(Finding::Undecodable { index: q.index, error: q.reason });
        }
    }
    let records = rebuilt.position();

    // Seals: a seal that no longer matches the records before it is void in the rebuild.
    let mut seals_checked = 0;
    for (index, outcome) in rebuilt.seals() {
        seals_checked += 1;
        if let Some(void) = outcome.void {
            findings.push(Finding::SealBroken { index, reason: void.message });
        }
    }
    let quarantined = rebuilt.quarantined().len();
    Ok(Report { records, behind, live_digest, rebuilt_digest: rebuilt.digest(), seals_checked, quarantined, findings })
}

/// The live model against a rebuild at the same position: the first record whose chain
/// differs (what happened to it), and the first key where the models differ.
fn compare(log: &dyn EventLog, live: &Store, rebuilt: &Store) -> Result<Vec<Finding>, String> {
    let mut findings = Vec::new();
    for index in 0..rebuilt.position() {
        if chain_at(live, index) == chain_at(rebuilt, index) {
            continue;
        }
        let here = log.read(index, 2).map_err(|e| e.to_string())?;
        let found = here.first().and_then(|r| event_id(&r.bytes));
        let next = here.get(1).and_then(|r| event_id(&r.bytes));
        let expected = live.outcome(index).map(|o| o.event_id);
        let expected_next = live.outcome(index + 1).map(|o| o.event_id);
        let (what, detail) = if found.is_some() && found == expected {
            ("was altered", format!("event {} has other bytes than when it was applied", found.unwrap_or_default()))
        } else if found.is_some() && found == expected_next && next == expected {
            (
                "was reordered",
                format!("events {} and {} swapped places", expected.unwrap_or_default(), found.unwrap_or_default()),
            )
        } else if found.is_some() && found == expected_next {
            ("is missing", format!("event {} was removed", expected.unwrap_or_default()))
        } else if found.is_some() && found.is_some_and(|id| live.event_index(&id).is_none()) {
            ("was inserted", format!("event {} was never applied here", found.unwrap_or_default()))
        } else {
            ("differs", format!("expected event {:?}, found {:?}", expected, found))
        };
        findings.push(Finding::ChainBreak { index, what, detail });
        break;
    }
    let (mut a, mut b) = (live.entries(), rebuilt.entries());
    loop {
        match (a.next(), b.next()) {
            (None, None) => break,
            (Some(x), Some(y)) if x == y => continue,
            (x, y) => {
                let key = match (&x, &y) {
                    (Some((kx, _)), Some((ky, _))) => kx.min(ky).clone(),
                    (Some((k, _)), None) | (None, Some((k, _))) => k.clone(),
                    (None, None) => unreachable!(),
                };
                findings.push(Finding::Diverges { kind: kind_name(&key).to_owned(), key: show(&key) });
                break;
            }
        }
    }
    Ok(findings)
}
