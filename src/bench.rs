//! `ledger bench`: measurements printed as figures and ratios, never asserted by tests.
//!
//! `bench log` appends N synthetic events through an event log (embedded or Kafka),
//! reads them back raw, and projects them into a fresh read model, so the cost of the
//! projection can be compared with the raw read rate of the same records in one run.

use chrono::{TimeZone, Utc};
use std::time::Instant;
use uuid::Uuid;

use crate::domain::events::{Actor, ActorKind, Event, EventData, PartyRegistered};
use crate::domain::ids::OrgNo;
use crate::ledger::record_of;
use crate::log::{EventLog, NewRecord};
use crate::projector::catch_up;
use crate::store::Store;

/// Records per append in the benchmark (one command's worth is 1–3; an import's more).
const BENCH_APPEND_RECORDS: usize = 500;
/// Records per raw read.
const BENCH_READ_RECORDS: usize = 1000;

/// Valid organisation numbers, in order, from an 8-digit prefix on.
pub fn org_numbers(from: u32) -> impl Iterator<Item = OrgNo> {
    (from..99_999_999).filter_map(|prefix| {
        const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
        let digits = format!("{prefix:08}");
        let sum: u32 = digits.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        let check = match sum % 11 {
            0 => 0,
            1 => return None,
            r => 11 - r,
        };
        OrgNo::parse(&format!("{digits}{check}")).ok()
    })
}

/// `n` party-registration events: cheap to make, and each writes several keys.
pub fn synthetic_events(n: usize) -> Vec<Event> {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    org_numbers(20_000_000)
        .take(n)
        .enumerate()
        .map(|(i, org)| {
            let data = EventData::PartyRegistered(PartyRegistered {
                org_no: org,
                party_id: 1_000_000 + i as i64,
                party_uuid: Uuid::from_u128((0xB0 << 120) + i as u128),
                name: format!("Bench Organisation {i}"),
            });
            Event {
                id: Uuid::now_v7(),
                time: t0 + chrono::Duration::milliseconds(i as i64),
                subject: data.subject(),
                actor: Actor { kind: ActorKind::Register, id: "bench".to_owned() },
                on_behalf_of: None,
                correlation_id: None,
                expected_version: None,
                data,
            }
        })
        .collect()
}

pub struct LogFigures {
    pub events: usize,
    pub append_per_s: f64,
    pub raw_read_per_s: f64,
    pub project_per_s: f64,
}

fn rate(n: usize, since: Instant) -> f64 {
    n as f64 / since.elapsed().as_secs_f64().max(1e-9)
}

/// Appends `n` events to an empty log, reads them back raw through `reader`, and
/// projects them through `projector` (fresh handles, so nothing is served from the
/// writer's caches).
pub fn log_figures(
    n: usize,
    writer: &dyn EventLog,
    reader: &dyn EventLog,
    projector: &dyn EventLog,
) -> Result<LogFigures, String> {
    let records: Vec<NewRecord> = synthetic_events(n).iter().map(record_of).collect();
    let start = writer.head().map_err(|e| e.to_string())?;
    let t = Instant::now();
    for chunk in records.chunks(BENCH_APPEND_RECORDS) {
        writer.append(chunk).map_err(|e| e.to_string())?;
    }
    let append_per_s = rate(n, t);

    let t = Instant::now();
    let mut from = start;
    let end = start + n as u64;
    while from < end {
        from += reader.read(from, BENCH_READ_RECORDS).map_err(|e| e.to_string())?.len() as u64;
    }
    let raw_read_per_s = rate(n, t);

    if start != 0 {
        return Err("bench log needs an empty log (a new topic or data directory)".to_owned());
    }
    let store = Store::temporary().map_err(|e| e.to_string())?;
    let t = Instant::now();
    while catch_up(projector, &store).map_err(|e| e.to_string())? < end {}
    let project_per_s = rate(n, t);
    Ok(LogFigures { events: n, append_per_s, raw_read_per_s, project_per_s })
}

pub fn print_log_figures(what: &str, f: &LogFigures) {
    println!("{what}: {} events", f.events);
    println!("| path | events/s |");
    println!("|---|---|");
    println!("| append (durable, {BENCH_APPEND_RECORDS} per append) | {:.0} |", f.append_per_s);
    println!("| raw read of the same records | {:.0} |", f.raw_read_per_s);
    println!("| projection into a fresh read model | {:.0} |", f.project_per_s);
    println!("projection ÷ raw read = {:.2}", f.project_per_s / f.raw_read_per_s);
}
