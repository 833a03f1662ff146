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

// ---- a synthetic ledger, and decisions over it -------------------------------------------

use crate::domain::decide::NewRequest;
use crate::domain::events::{ClientRelationshipGranted, SystemDefinition, UserType};
use crate::domain::ids::{Action, PackageUrn, RegisterRole, ResourceId, SystemId};
use crate::domain::model::{history::AsOf, MemKv, ReadModel};
use crate::domain::pdp::{evaluate, PartyRef, Query};
use crate::domain::{apply, decide, Authority, Command, Context};

/// A small deterministic generator (no dependency for benchmark data).
pub struct Lcg(u64);
impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The shape of a synthetic ledger.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub facilitators: usize,
    pub agents_per_facilitator: usize,
    pub clients: usize,
    pub links_per_agent: usize,
    pub seed: u64,
}

/// Builds a ledger's events by deciding and applying commands in memory: parties, a
/// policy, a system, agent system users, client relationships and links, then churn
/// (unlinks and re-links). Returns the events and the (agent, client) pairs linked.
pub fn synthetic_ledger(shape: Shape) -> (Vec<Event>, Vec<(Uuid, OrgNo)>) {
    let mut model = MemKv::default();
    let mut events: Vec<Event> = Vec::new();
    let mut rng = Lcg::new(shape.seed);
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let mut counter: u128 = 0;
    let mut run = |model: &mut MemKv, events: &mut Vec<Event>, authority: Authority, command: Command| {
        let now = t0 + chrono::Duration::seconds(events.len() as i64);
        let mut new_id = || {
            counter += 1;
            Uuid::from_u128((0x0190 << 112) | counter)
        };
        let mut ctx = Context {
            actor: Actor { kind: ActorKind::Person, id: "bench".to_owned() },
            authority,
            now,
            correlation_id: None,
            request_ttl: chrono::Duration::days(180),
            new_id: &mut new_id,
        };
        let new = decide(&command, model, &mut ctx).unwrap_or_else(|r| panic!("{command:?}: {r}"));
        for e in new {
            let index = events.len() as u64;
            apply(model, index, &e).expect("generated events apply");
            events.push(e);
        }
    };
    let orgs: Vec<OrgNo> = org_numbers(30_000_000).take(shape.facilitators + shape.clients + 2).collect();
    let (vendor, owner) = (orgs[0].clone(), orgs[1].clone());
    for (i, org) in orgs.iter().enumerate() {
        let party = PartyRegistered {
            org_no: org.clone(),
            party_id: 10_000_000 + i as i64,
            party_uuid: Uuid::from_u128((0xC0 << 120) + i as u128),
            name: format!("Organisation {i}"),
        };
        run(&mut model, &mut events, Authority::Register, Command::RegisterParty(party));
    }
    let package = PackageUrn::parse("urn:altinn:accesspackage:revisormedarbeider").expect("urn");
    run(
        &mut model,
        &mut events,
        Authority::Register,
        Command::DefineAccessPackage(crate::domain::events::AccessPackageDefined {
            urn: package.clone(),
            assignable: false,
            delegable: true,
        }),
    );
    let resource = ResourceId::parse("ske-aksjonaerregister").expect("id");
    run(
        &mut model,
        &mut events,
        Authority::Organisation(owner),
        Command::PublishPolicy(crate::domain::events::ResourcePolicyPublished {
            resource_id: resource,
            rules: vec![crate::domain::events::PolicyRule {
                access_package: Some(package.clone()),
                right: false,
                actions: vec![Action::parse("write").expect("action")],
            }],
            minimum_authentication_level: Some(3),
        }),
    );
    let system_id = SystemId::parse(&format!("{vendor}_bench")).expect("id");
    run(
        &mut model,
        &mut events,
        Authority::Organisation(vendor.clone()),
        Command::RegisterSystem(SystemDefinition {
            system_id: system_id.clone(),
            vendor_org_no: vendor.clone(),
            name: [("nb".to_owned(), "Bench".to_owned())].into(),
            description: Default::default(),
            rights: vec![],
            access_packages: vec![package.clone()],
            client_ids: vec![],
            allowed_redirect_urls: vec![],
            is_visible: true,
        }),
    );
    let facilitators = &orgs[2..2 + shape.facilitators];
    let clients = &orgs[2 + shape.facilitators..];
    let mut links = Vec::new();
    for facilitator in facilitators {
        for a in 0..shape.agents_per_facilitator {
            let before = events.len();
            run(
                &mut model,
                &mut events,
                Authority::Organisation(vendor.clone()),
                Command::CreateRequest(NewRequest {
                    user_type: UserType::Agent,
                    system_id: system_id.clone(),
                    party_org_no: facilitator.clone(),
                    external_ref: Some(format!("agent-{a}")),
                    rights: vec![],
                    access_packages: vec![package.clone()],
                    redirect_url: None,
                    integration_title: None,
                }),
            );
            let EventData::RequestCreated(r) = &events[before].data else { unreachable!("a request") };
            let id = r.request_id;
            let approve =
                Command::ApproveRequest { request_id: id, party: facilitator.clone(), user_type: UserType::Agent };
            run(&mut model, &mut events, Authority::Organisation(facilitator.clone()), approve);
            for _ in 0..shape.links_per_agent {
                let client = clients[rng.below(clients.len())].clone();
                if model.relationship(&client, facilitator).is_none() {
                    let grant = ClientRelationshipGranted {
                        client_org_no: client.clone(),
                        facilitator_org_no: facilitator.clone(),
                        role: Some(RegisterRole::Revi),
                        access_packages: vec![],
                    };
                    run(&mut model, &mut events, Authority::Register, Command::GrantRelationship(grant));
                }
                if model.link(&id, &client).is_none() {
                    let link = Command::LinkClient { agent: id, client: client.clone() };
                    run(&mut model, &mut events, Authority::Organisation(facilitator.clone()), link);
                    links.push((id, client));
                }
            }
        }
    }
    // Churn: a tenth of the links end and come back, so history holds several versions.
    for i in 0..links.len() / 10 {
        let (agent, client) = links[(i * 7) % links.len()].clone();
        let owner = model.system_user(&agent).expect("agent").owner_org_no;
        if model.link(&agent, &client).is_some() {
            run(
                &mut model,
                &mut events,
                Authority::Organisation(owner.clone()),
                Command::UnlinkClient { agent, client: client.clone() },
            );
            run(&mut model, &mut events, Authority::Organisation(owner), Command::LinkClient { agent, client });
        }
    }
    (events, links)
}

fn percentile(sorted_ns: &[u64], p: f64) -> u64 {
    sorted_ns[((sorted_ns.len() as f64 - 1.0) * p).round() as usize]
}

/// Times `decisions` decisions, one at a time, over `model`; returns (decisions/s, p50 ns, p99 ns).
fn time_decisions<K: crate::domain::model::Kv + ?Sized>(model: &K, queries: &[Query]) -> (f64, u64, u64) {
    let mut ns = Vec::with_capacity(queries.len());
    let started = Instant::now();
    for q in queries {
        let t = Instant::now();
        std::hint::black_box(evaluate(model, q));
        ns.push(t.elapsed().as_nanos() as u64);
    }
    let per_s = queries.len() as f64 / started.elapsed().as_secs_f64();
    ns.sort_unstable();
    (per_s, percentile(&ns, 0.5), percentile(&ns, 0.99))
}

/// Builds a synthetic ledger, rebuilds a read model from its log, and times current
/// and as-of decisions over it.
pub fn decisions(shape: Shape, decisions: usize, dir: &std::path::Path) -> Result<(), String> {
    let t = Instant::now();
    let (events, links) = synthetic_ledger(shape);
    println!("generated {} events ({} links) in {:.1} s", events.len(), links.len(), t.elapsed().as_secs_f64());
    let log = crate::log::embedded::EmbeddedLog::open(&dir.join("events.log")).map_err(|e| e.to_string())?;
    let records: Vec<NewRecord> = events.iter().map(record_of).collect();
    for chunk in records.chunks(crate::log::APPEND_RECORDS_MAX) {
        log.append(chunk).map_err(|e| e.to_string())?;
    }
    let store = Store::open(&dir.join("read-model")).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let head = catch_up(&log, &store).map_err(|e| e.to_string())?;
    let rebuild_s = t.elapsed().as_secs_f64();

    let mut rng = Lcg::new(shape.seed + 1);
    let clients: Vec<&OrgNo> = links.iter().map(|(_, c)| c).collect();
    let queries = |rng: &mut Lcg, pairs: &[(Uuid, OrgNo)]| -> Vec<Query> {
        (0..decisions)
            .map(|i| {
                let (agent, linked) = &pairs[rng.below(pairs.len())];
                // Half ask about the linked client, half about some other client.
                let party = if i % 2 == 0 { linked.clone() } else { clients[rng.below(clients.len())].clone() };
                Query {
                    system_user: *agent,
                    action: Action::parse("write").expect("action"),
                    resource: ResourceId::parse("ske-aksjonaerregister").expect("id"),
                    party: PartyRef::OrgNo(party),
                }
            })
            .collect()
    };
    let now_queries = queries(&mut rng, &links);
    // Deep in history: the first third of the links all existed at the middle of the log.
    let early_queries = queries(&mut rng, &links[..links.len() / 3]);
    // Warm the cache the same way for each.
    let _ = time_decisions(&store, &now_queries);
    let (live_rate, live_p50, live_p99) = time_decisions(&store, &now_queries);
    let past = AsOf { base: &store, position: head / 2 };
    let _ = time_decisions(&past, &early_queries);
    let (past_rate, past_p50, past_p99) = time_decisions(&past, &early_queries);
    let permits = |model: &dyn Fn(&Query) -> bool, qs: &[Query]| qs.iter().filter(|q| model(q)).count();
    let live_permits = permits(&|q| evaluate(&store, q).decision == crate::domain::pdp::Verdict::Permit, &now_queries);
    let past_permits = permits(&|q| evaluate(&past, q).decision == crate::domain::pdp::Verdict::Permit, &early_queries);
    println!("permits: current {live_permits}/{decisions}, as of position {} {past_permits}/{decisions}", head / 2);

    println!("ledger: {head} events; read model {:.1} MiB", store.size_on_disk() as f64 / (1024.0 * 1024.0));
    println!("| path | figure |");
    println!("|---|---|");
    println!(
        "| rebuild (projection from the embedded log) | {:.0} events/s ({head} events in {rebuild_s:.2} s) |",
        head as f64 / rebuild_s
    );
    println!(
        "| current decision, in process, one thread | {live_rate:.0} decisions/s, p50 {:.1} µs, p99 {:.1} µs |",
        live_p50 as f64 / 1e3,
        live_p99 as f64 / 1e3
    );
    println!(
        "| as-of decision at position {} | {past_rate:.0} decisions/s, p50 {:.1} µs, p99 {:.1} µs |",
        head / 2,
        past_p50 as f64 / 1e3,
        past_p99 as f64 / 1e3
    );
    println!(
        "as-of ÷ current latency: p50 {:.2}, p99 {:.2}",
        past_p50 as f64 / live_p50 as f64,
        past_p99 as f64 / live_p99 as f64
    );
    Ok(())
}
