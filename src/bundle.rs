//! Evidence bundles: the events up to a moment, the seals among them and the digest of
//! the read model they produce, in one file an auditor can check offline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::events::{Event, EventData};
use crate::domain::model::{hex, history, ReadModel};
use crate::log::EventLog;
use crate::store::Store;

pub const BUNDLE_FORMAT: &str = "delegation-ledger-evidence/2";
/// Bundles written before records carried their log's append time; still checked.
pub const BUNDLE_FORMAT_V1: &str = "delegation-ledger-evidence/1";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    /// Events with an effective time up to this moment are included.
    pub until: DateTime<Utc>,
    /// How many records the bundle holds (the position they bring a ledger to).
    pub position: u64,
    /// The records, exactly as they lie on the log.
    pub events: Vec<String>,
    /// When the log took each record (milliseconds since the epoch), in record order:
    /// `apply` bounds each event's time by it, so a replay needs it. Absent in format 1.
    #[serde(default)]
    pub appended_ms: Vec<Option<i64>>,
    /// The seals among them: (position, chain hash).
    pub seals: Vec<SealRef>,
    /// The hash chain over all the records.
    pub chain_hash: String,
    /// The digest of the read model the records produce.
    pub read_model_digest: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealRef {
    pub position: u64,
    pub chain_hash: String,
}

/// Builds the bundle of every record whose effective time is at most `until`, reading
/// the positions from the live read model and the bytes from the log.
pub fn build(log: &dyn EventLog, live: &Store, until: DateTime<Utc>) -> Result<Bundle, String> {
    let position = history::position_at(live, until);
    let mut events = Vec::new();
    let mut appended_ms = Vec::new();
    let mut from = 0;
    while from < position {
        let records = log.read(from, (position - from).min(1000) as usize).map_err(|e| e.to_string())?;
        for r in records.into_iter().take((position - from) as usize) {
            appended_ms.push(r.appended_ms);
            events.push(String::from_utf8(r.bytes).map_err(|_| format!("record {} is not UTF-8", r.index))?);
        }
        from = events.len() as u64;
    }
    let replayed = replay(&events, &appended_ms)?;
    Ok(Bundle {
        format: BUNDLE_FORMAT.to_owned(),
        until,
        position,
        seals: seals(&events),
        chain_hash: hex(&replayed.chain()),
        read_model_digest: replayed.digest(),
        events,
        appended_ms,
    })
}

fn seals(events: &[String]) -> Vec<SealRef> {
    events
        .iter()
        .filter_map(|e| match Event::decode(e.as_bytes()).ok()?.data {
            EventData::LedgerSealed(s) => Some(SealRef { position: s.position, chain_hash: s.chain_hash }),
            _ => None,
        })
        .collect()
}

/// Projects records into a temporary read model, each with the time its log took it
/// (`None` for all when a format-1 bundle has no times).
fn replay(events: &[String], appended_ms: &[Option<i64>]) -> Result<Store, String> {
    let stamps = appended_ms.iter().copied().chain(std::iter::repeat(None));
    let log = crate::log::memory::MemoryLog::new(events.iter().map(|e| e.as_bytes().to_vec()).zip(stamps).collect());
    let store = Store::temporary().map_err(|e| e.to_string())?;
    crate::projector::catch_up(&log, &store).map_err(|e| e.to_string())?;
    Ok(store)
}

/// Checks a bundle with nothing but the file: replays it, recomputes the chain, checks
/// every seal and the digest.
pub fn check(bundle: &Bundle) -> Vec<String> {
    let mut problems = Vec::new();
    let times_expected = match bundle.format.as_str() {
        BUNDLE_FORMAT => bundle.events.len(),
        BUNDLE_FORMAT_V1 => 0,
        other => return vec![format!("unknown bundle format '{other}'")],
    };
    if bundle.events.len() as u64 != bundle.position {
        problems.push(format!("the bundle says {} records but holds {}", bundle.position, bundle.events.len()));
    }
    if bundle.appended_ms.len() != times_expected {
        problems.push(format!(
            "the bundle holds {} append times for {} records",
            bundle.appended_ms.len(),
            bundle.events.len()
        ));
    }
    let store = match replay(&bundle.events, &bundle.appended_ms) {
        Ok(s) => s,
        Err(e) => return vec![format!("the records do not replay: {e}")],
    };
    for (i, event) in bundle.events.iter().enumerate() {
        if let Ok(e) = Event::decode(event.as_bytes()) {
            if e.time > bundle.until && store.outcome(i as u64).is_some_and(|o| o.effective_time > bundle.until) {
                problems.push(format!("record {i} is after the bundle's moment {}", bundle.until));
            }
        }
    }
    for (index, seal) in crate::domain::model::ReadModel::seals(&store) {
        if let Some(void) = seal.void {
            problems.push(format!("seal at record {index} does not hold: {}", void.message));
        }
    }
    let listed = seals(&bundle.events);
    if listed.len() != bundle.seals.len()
        || listed.iter().zip(&bundle.seals).any(|(a, b)| a.position != b.position || a.chain_hash != b.chain_hash)
    {
        problems.push("the bundle's list of seals does not match the seals among its records".to_owned());
    }
    let chain = hex(&store.chain());
    if chain != bundle.chain_hash {
        problems.push(format!("the records hash to {chain}, the bundle says {}", bundle.chain_hash));
    }
    let digest = store.digest();
    if digest != bundle.read_model_digest {
        problems.push(format!("the records produce read model {digest}, the bundle says {}", bundle.read_model_digest));
    }
    problems
}

pub fn verify_file(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bundle: Bundle =
        serde_json::from_str(&text).map_err(|e| format!("{} is not an evidence bundle: {e}", path.display()))?;
    let problems = check(&bundle);
    println!("bundle: {} records up to {}, {} seals", bundle.position, bundle.until, bundle.seals.len());
    if problems.is_empty() {
        println!("ok: the records replay to the stated read-model digest, the hash chain and every seal hold");
        return Ok(());
    }
    for p in &problems {
        println!("FOUND: {p}");
    }
    Err(format!("the bundle failed {} check(s)", problems.len()))
}
