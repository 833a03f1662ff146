//! `ledger-bench run`: loads a generated ledger into a data directory and measures every
//! path the performance issue names, in one run, printing one table with its targets.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Bytes;

use ledger::auth::{DevKey, Role};
use ledger::domain::events::Event;
use ledger::domain::model::history::AsOf;
use ledger::domain::model::{keys, Kv, MemKv, ReadModel};
use ledger::domain::pdp::{evaluate, Decision, PartyRef, Query, Verdict};
use ledger::ledger::{record_with, DataDir};
use ledger::log::embedded::EmbeddedLog;
use ledger::log::{EventLog, NewRecord, APPEND_RECORDS_MAX};
use ledger::projector::catch_up_observed;
use ledger::store::Store;

use crate::cedar::Cedar;
use crate::facts::Facts;
use crate::http::{drive, Server};
use crate::{percentile, Row, Table};

pub struct Options {
    pub events: PathBuf,
    pub work: PathBuf,
    pub ledger_bin: PathBuf,
    pub kafka: Option<String>,
    pub decisions: usize,
    pub naive_decisions: usize,
    pub http_seconds: f64,
    pub connections: usize,
    pub write_connections: usize,
    pub kafka_events: usize,
    pub seed: u64,
    pub read_model_only: bool,
}

/// Keys each write-floor measurement puts (a fresh tree; a bigger one is slower still).
const FLOOR_KEYS: u64 = 600_000;

/// The rebuild target is stated for this many events.
const REBUILD_EVENTS: u64 = 1_000_000;
/// Issue 21's targets for the read model.
const PROJECT_EVENTS_PER_S_MIN: f64 = 40_000.0;
const REBUILD_S_MAX: f64 = 25.0;

pub fn run(o: &Options) -> Result<(), String> {
    if o.work.exists() && std::fs::read_dir(&o.work).map_err(|e| e.to_string())?.next().is_some() {
        return Err(format!("{} is not empty; give a new --work directory", o.work.display()));
    }
    let dir = DataDir(o.work.join("ledger"));
    std::fs::create_dir_all(&dir.0).map_err(|e| e.to_string())?;
    let mut table = Table::default();

    // Load: every generated line goes on the embedded log as it is (its exact bytes).
    eprintln!("loading {}", o.events.display());
    let log = EmbeddedLog::open(&dir.log_file(), 0).map_err(|e| e.to_string())?;
    let mut facts = Facts::default();
    let mut kafka_records: Vec<NewRecord> = Vec::new();
    let file = std::fs::File::open(&o.events).map_err(|e| format!("cannot read {}: {e}", o.events.display()))?;
    let mut batch: Vec<NewRecord> = Vec::with_capacity(APPEND_RECORDS_MAX);
    let mut append_s = 0.0;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("{}:{}: {e}", o.events.display(), n + 1))?;
        let event = Event::decode(line.as_bytes()).map_err(|e| format!("{}:{}: {e}", o.events.display(), n + 1))?;
        facts.fold(&event);
        let record = record_with(&event, line.into_bytes());
        if kafka_records.len() < o.kafka_events && o.kafka.is_some() {
            kafka_records.push(record.clone());
        }
        batch.push(record);
        if batch.len() == APPEND_RECORDS_MAX {
            let t = Instant::now();
            log.append(&batch).map_err(|e| e.to_string())?;
            append_s += t.elapsed().as_secs_f64();
            batch.clear();
        }
    }
    let t = Instant::now();
    log.append(&batch).map_err(|e| e.to_string())?;
    append_s += t.elapsed().as_secs_f64();
    let head = facts.events;
    let log_bytes = std::fs::metadata(dir.log_file()).map_err(|e| e.to_string())?.len();
    eprintln!("{head} events, {:.0} MiB of log, appended at {:.0} events/s", mib(log_bytes), head as f64 / append_s);

    // Projection of the whole log into a new read model; the first million is the rebuild figure.
    let store = Store::open(&dir.read_model()).map_err(|e| e.to_string())?;
    store.bind_log("embedded").map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut rebuild_s = None;
    let rebuild_events = REBUILD_EVENTS.min(head);
    let caught = catch_up_observed(&log, &store, &mut |position, head| {
        if rebuild_s.is_none() && position >= rebuild_events {
            rebuild_s = Some(started.elapsed().as_secs_f64());
        }
        if position.is_multiple_of(100_000) || position == head {
            eprint!("\rprojected {position}/{head}");
        }
    })
    .map_err(|e| e.to_string())?;
    let project_s = started.elapsed().as_secs_f64();
    eprintln!();
    let project_per_s = head as f64 / project_s;
    table.push(Row::new(
        "Projection from the embedded log",
        format!("{project_per_s:.0} events/s ({head} events in {project_s:.1} s: {})", caught.split()),
        &format!("≥ {PROJECT_EVENTS_PER_S_MIN:.0} events/s"),
        project_per_s / PROJECT_EVENTS_PER_S_MIN,
    ));
    let rebuild_s = rebuild_s.unwrap_or(project_s);
    let rebuild_target_s = REBUILD_S_MAX * rebuild_events as f64 / REBUILD_EVENTS as f64;
    table.push(Row::new(
        &format!("Rebuild of the first {rebuild_events} events"),
        format!("{rebuild_s:.1} s (the projection above, up to that event: its limit is the one that row names)"),
        &format!("≤ {rebuild_target_s:.1} s"),
        rebuild_target_s / rebuild_s,
    ));
    store.flush().map_err(|e| e.to_string())?;
    let disk = store.size_on_disk();
    let census = store.census();
    let entries: u64 = census.iter().map(|c| c.entries).sum();
    // What the read model holds beside what sled makes of it: the disk row's limit.
    let data: u64 = census.iter().map(|c| c.key_bytes + c.value_bytes).sum();
    table.push(Row::new(
        "Read model on disk",
        format!(
            "{:.0} MiB = {:.2} × the log's {:.0} MiB (its keys and values: {:.0} MiB = {:.2} × the log, which sled \
             stores in {:.2} × their size)",
            mib(disk),
            disk as f64 / log_bytes as f64,
            mib(log_bytes),
            mib(data),
            data as f64 / log_bytes as f64,
            disk as f64 / data.max(1) as f64
        ),
        "≤ 3 × the log",
        3.0 / (disk as f64 / log_bytes as f64),
    ));

    table.push(Row::info(
        "Read model by kind: entries per event, bytes (keys + values)",
        census
            .iter()
            .map(|c| {
                let name = match c.versioned {
                    Some(of) => format!("versions of {}", of.name()),
                    None => c.kind.name().to_owned(),
                };
                format!(
                    "{name} {:.2}/event {:.0} MiB",
                    c.entries as f64 / head as f64,
                    mib(c.key_bytes + c.value_bytes)
                )
            })
            .chain(std::iter::once(format!("all {:.2}/event", entries as f64 / head as f64)))
            .collect::<Vec<_>>()
            .join("; "),
    ));
    let (rss, peak) = own_memory_bytes().ok_or("cannot read this process's memory from /proc")?;
    table.push(Row::info(
        "Resident memory of this process after projecting (sled, decision index, the loaded facts)",
        format!("{:.0} MiB now, {:.0} MiB at peak", mib(rss), mib(peak)),
    ));
    let keys_written = store.keys_written();
    drop(store);
    let (opening_row, sled_bytes) = memory_row(&dir.read_model())?;
    table.push(opening_row);
    let store = Store::open(&dir.read_model()).map_err(|e| e.to_string())?;

    // The write floor: what sled itself accepts, in batches the size of a projected
    // batch, into a fresh store configured as the read model. Every event writes at least
    // one key at a random place in the tree (the record it changes, keyed by uuid or org
    // number), so the random-key rate bounds projection whatever the key layout.
    let keys_per_event = keys_written as f64 / head as f64;
    let random = write_floor(&o.work.join("floor-random"), FLOOR_KEYS, true)?;
    let sequential = write_floor(&o.work.join("floor-sequential"), FLOOR_KEYS, false)?;
    table.push(Row::info(
        "Floor: sled's own write rate (fresh tree, 100-byte values)",
        format!(
            "{random:.0} random keys/s, {sequential:.0} in key order; projection wrote {keys_per_event:.1} keys per \
             event, ≥ 1 of them random, so sled alone caps projection at ≤ {random:.0} events/s here; its commits \
             took them at {:.0} keys/s",
            keys_written as f64 / caught.committing.as_secs_f64()
        ),
    ));

    if o.read_model_only {
        if let Some(brokers) = &o.kafka {
            kafka_rows(&mut table, brokers, &kafka_records)?;
        }
        println!();
        println!("ledger: {head} events ({}); read model rows only", o.events.display());
        table.print();
        return Ok(());
    }

    // Decisions in process, one thread.
    let now_queries = facts.queries(o.decisions, u64::MAX, o.seed);
    let past_position = head / 2;
    let past_queries = facts.queries(o.decisions, past_position, o.seed + 1);
    // Current decisions come from the store's in-memory decision index (as the HTTP
    // API's do); first, proof that it answers every question as the records do.
    let index_agrees = now_queries.iter().all(|q| evaluate(&store.decision_index().now(), q) == evaluate(&store, q));
    if !index_agrees {
        return Err("the decision index and the stored records decided a question differently".to_owned());
    }
    let counts = store.decision_index().counts();
    let _ = time_decisions(&now_queries, |q| evaluate(&store.decision_index().now(), q));
    let now = time_decisions(&now_queries, |q| evaluate(&store.decision_index().now(), q));
    let permits =
        now_queries.iter().filter(|q| evaluate(&store.decision_index().now(), q).decision == Verdict::Permit).count();
    table.push(Row::new(
        "PDP in process, one thread (current)",
        format!(
            "{:.0}/s, p50 {:.1} µs, p99 {:.1} µs ({permits} of {} permitted; decision index of {} facts, \
             equal to the records' decisions on all)",
            now.0,
            us(now.1),
            us(now.2),
            now_queries.len(),
            counts.total(),
        ),
        "≥ 200,000/s, p99 ≤ 20 µs",
        (now.0 / 200_000.0).min(20_000.0 / now.2 as f64),
    ));
    let logged = logged_decisions(o, &store, &now_queries)?;
    table.push(Row::new(
        &format!(
            "PDP in process, one thread, each decision in the decision log (durable every {LOGGED_BATCH} decisions; \
             of {LOGGED_ROUNDS} rounds alternated with rounds without the log, the one of the median ratio)"
        ),
        format!(
            "{:.0}/s; {:.2} × without the log in its round ({:.0}/s; the log's cost {:.2} µs a decision; rounds: {})",
            logged.with_per_s,
            logged.with_per_s / logged.without_per_s,
            logged.without_per_s,
            1e6 / logged.with_per_s - 1e6 / logged.without_per_s,
            logged.ratios
        ),
        "≥ 200,000/s",
        logged.with_per_s / 200_000.0,
    ));
    // Past decisions come from the index's history (as the HTTP API's do); first, proof
    // that it answers every question as the versions on disk do.
    let past = AsOf { base: &store, position: past_position };
    let history_agrees =
        past_queries.iter().all(|q| evaluate(&store.decision_index().at(past_position), q) == evaluate(&past, q));
    if !history_agrees {
        return Err("the decision index's history and the stored versions decided a question differently".to_owned());
    }
    let _ = time_decisions(&past_queries, |q| evaluate(&store.decision_index().at(past_position), q));
    let then = time_decisions(&past_queries, |q| evaluate(&store.decision_index().at(past_position), q));
    let ratio = then.2 as f64 / now.2 as f64;
    table.push(Row::new(
        &format!("As-of decision at position {past_position}"),
        format!(
            "{:.0}/s, p50 {:.1} µs, p99 {:.1} µs; p99 {ratio:.2} × current (the index's history of {} versions, \
             equal to the stored versions' decisions on all)",
            then.0,
            us(then.1),
            us(then.2),
            counts.versions,
        ),
        "≤ 2 × current",
        2.0 / ratio,
    ));

    // The floor: only the point reads a decision makes, no decoding, no logic.
    let reads: Vec<Vec<Vec<u8>>> = now_queries.iter().map(|q| keys_read(&store, q)).collect();
    let t = Instant::now();
    for keys in &reads {
        for key in keys {
            std::hint::black_box(store.get(key));
        }
    }
    let floor_ns = t.elapsed().as_nanos() as f64 / reads.len() as f64;
    let ours_ns = 1e9 / now.0;
    table.push(Row::info(
        "Floor: the sled point reads one decision makes, alone",
        format!("{:.1} µs per decision; our decision costs {:.1} × that", floor_ns / 1e3, ours_ns / floor_ns),
    ));

    // Naive: fold the log for each question.
    let naive_queries = &now_queries[..o.naive_decisions.min(now_queries.len())];
    let t = Instant::now();
    let mut agree = 0;
    for q in naive_queries {
        let naive = naive_decision(&log, head, &facts, q)?;
        agree += usize::from(naive == evaluate(&store, q).decision);
    }
    let naive_per_s = naive_queries.len() as f64 / t.elapsed().as_secs_f64();
    table.push(Row::info(
        "Naive baseline: fold the log for each question",
        format!(
            "{naive_per_s:.2}/s; projection answers {:.0} × faster (agreed on {agree} of {})",
            now.0 / naive_per_s,
            naive_queries.len()
        ),
    ));

    // Cedar over the same data and questions.
    eprintln!("loading the same ledger into Cedar");
    let cedar = Cedar::load(&facts)?;
    let requests: Vec<_> = now_queries.iter().map(|q| cedar.request(&facts, q)).collect();
    let mut agree = 0;
    for (q, r) in now_queries.iter().zip(&requests) {
        agree += usize::from(cedar.allows(r) == (evaluate(&store, q).decision == Verdict::Permit));
    }
    let mut ns: Vec<u64> = Vec::with_capacity(requests.len());
    let t = Instant::now();
    for r in &requests {
        let t = Instant::now();
        std::hint::black_box(cedar.allows(r));
        ns.push(t.elapsed().as_nanos() as u64);
    }
    let cedar_per_s = requests.len() as f64 / t.elapsed().as_secs_f64();
    ns.sort_unstable();
    table.push(Row::new(
        "Cedar (cedar-policy) on the same questions, one thread",
        format!(
            "{cedar_per_s:.0}/s, p99 {:.1} µs; ours ÷ Cedar = {:.2} (agreed on {agree} of {})",
            us(percentile(&ns, 0.99)),
            now.0 / cedar_per_s,
            requests.len()
        ),
        "ours ÷ Cedar ≥ 1",
        now.0 / cedar_per_s,
    ));
    drop((cedar, requests));
    drop(store);
    drop(log);

    // The service itself: XACML over HTTP, and its memory while it serves.
    eprintln!("starting ledger serve on the projected data directory");
    let key = DevKey::load_or_create(&dir.keys())?;
    let token = key.mint(Role::Pdp, None, None, chrono::Utc::now().timestamp(), 3600);
    let bodies: Arc<Vec<Bytes>> = Arc::new(now_queries.iter().map(xacml_body).collect());
    let drive_xacml = |server: &Server| {
        let bodies = bodies.clone();
        drive(
            server.addr,
            &token,
            o.connections,
            Duration::from_secs_f64(o.http_seconds),
            Arc::new(move |n| (ledger::api::XACML_PATH.to_owned(), bodies[n as usize % bodies.len()].clone())),
        )
    };
    let serve = |log: &str, extra: &[&str]| Server::start(&o.ledger_bin, &dir.0, &o.work.join(log), extra);
    let strict = drive_xacml(&serve("serve-before-answer.log", &["--decision-log-sync", "before-answer"])?);
    // Without and with the decision log, alternated: this machine's speed drifts by a
    // fifth within minutes, and alternating lets the drift fall on both alike. Each
    // logged load lies between two unlogged ones and is compared with their mean, so a
    // drift during a round falls on neither side (with "unlogged, then logged" pairs, a
    // machine slowing down under the load would count against the log in every round).
    let unlogged_load = |round: usize| -> Result<_, String> {
        Ok(drive_xacml(&serve(&format!("serve-unlogged-{round}.log"), &["--benchmark-without-decision-log"])?))
    };
    let mut unlogged = vec![unlogged_load(0)?];
    let mut logged = Vec::with_capacity(LOG_COST_ROUNDS);
    for round in 1..=LOG_COST_ROUNDS {
        // One process at a time owns the data directory: each server stops when dropped.
        logged.push(drive_xacml(&serve(&format!("serve-{round}.log"), &[])?));
        unlogged.push(unlogged_load(round)?);
    }
    // The service as it runs (with the log) serves the rows after.
    let server = serve("serve.log", &[])?;
    let ratios: Vec<f64> = logged
        .iter()
        .enumerate()
        .map(|(k, load)| load.per_s / ((unlogged[k].per_s + unlogged[k + 1].per_s) / 2.0))
        .collect();
    let median = median_index(&ratios);
    let (load, unlogged) = (&logged[median], &unlogged[median]);
    table.push(Row::info(
        &format!(
            "PDP over HTTP without the decision log ({} connections; of {LOG_COST_ROUNDS} rounds, the load just before \
             the logged one of the median ratio below)",
            o.connections
        ),
        load_figure(unlogged, "decisions"),
    ));
    table.push(Row::info(
        &format!(
            "PDP over HTTP ({} connections), decision log before-answer: each answer waits for its fsync",
            o.connections
        ),
        format!("{}; {:.2} × without the log", load_figure(&strict, "decisions"), strict.per_s / unlogged.per_s),
    ));
    table.push(Row::new(
        &format!(
            "PDP over HTTP (XACML JSON, {} keep-alive connections), every decision in the decision log (the same round)",
            o.connections
        ),
        format!(
            "{}; without the log, in the load just before: {:.0}/s, p99 {:.2} ms",
            load_figure(load, "decisions"),
            unlogged.per_s,
            unlogged.p99_ns as f64 / 1e6
        ),
        "≥ 25,000/s, p99 ≤ 5 ms",
        (load.per_s / 25_000.0).min(5e6 / load.p99_ns as f64),
    ));
    let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    table.push(Row::new(
        "Decision log's cost over HTTP (after-answer, the default): throughput with it ÷ the mean of the loads \
         without it just before and just after, per round",
        format!("median {:.2} (rounds: {})", ratios[median], listed.join(", ")),
        "≥ 0.85",
        ratios[median] / 0.85,
    ));
    // The same ordinary decisions while clients send the largest multi-requests the
    // service takes (MULTI_REQUESTS_MAX decisions each): the heavy ones run on the
    // blocking pool under their slots, so ordinary ones keep their latency.
    let maximal = Arc::new(multi_body(&now_queries));
    let (ordinary, heavy) = {
        let (bodies, token2, addr, seconds) = (bodies.clone(), token.clone(), server.addr, o.http_seconds);
        let heavy_thread = std::thread::spawn(move || {
            drive(
                addr,
                &token2,
                MAXIMAL_CONNECTIONS,
                Duration::from_secs_f64(seconds),
                Arc::new(move |_| (ledger::api::XACML_PATH.to_owned(), (*maximal).clone())),
            )
        });
        let ordinary = drive(
            server.addr,
            &token,
            ORDINARY_CONNECTIONS,
            Duration::from_secs_f64(o.http_seconds),
            Arc::new(move |n| (ledger::api::XACML_PATH.to_owned(), bodies[n as usize % bodies.len()].clone())),
        );
        (ordinary, heavy_thread.join().map_err(|_| "the maximal load panicked")?)
    };
    table.push(Row::new(
        &format!(
            "Ordinary decisions ({ORDINARY_CONNECTIONS} connections) while {MAXIMAL_CONNECTIONS} clients send \
             maximal multi-requests ({} decisions each: {:.0} calls/s, {} failed)",
            ledger::domain::xacml::MULTI_REQUESTS_MAX,
            heavy.per_s,
            heavy.failures
        ),
        load_figure(&ordinary, "decisions"),
        "p99 ≤ 5 ms, every maximal call answered",
        if heavy.failures > 0 { 0.0 } else { 5e6 / ordinary.p99_ns.max(1) as f64 },
    ));
    let (rss, peak) = server.memory_bytes().ok_or("cannot read the server's memory from /proc")?;
    table.push(Row::new(
        &format!("Resident memory serving the {head}-event ledger"),
        format!(
            "{:.0} MiB now, {:.0} MiB at peak (sled's tables alone take {:.0} MiB opening this read model: the row \
             above)",
            mib(rss),
            mib(peak),
            mib(sled_bytes)
        ),
        "≤ 512 MiB",
        512.0 / mib(peak),
    ));
    drop(server);

    // The write path on a new embedded ledger: register parties, many clients at once.
    let writes = DataDir(o.work.join("writes"));
    let server = Server::start(&o.ledger_bin, &writes.0, &o.work.join("serve-writes.log"), &[])?;
    let key = DevKey::load_or_create(&writes.keys())?;
    let token = key.mint(Role::Register, None, None, chrono::Utc::now().timestamp(), 3600);
    let orgs: Arc<Vec<String>> =
        Arc::new(ledger::bench::org_numbers(70_000_000).take(2_000_000).map(|o| o.as_str().to_owned()).collect());
    let load = drive(
        server.addr,
        &token,
        o.write_connections,
        Duration::from_secs_f64(o.http_seconds),
        Arc::new(move |n| {
            let body = serde_json::json!({
                "orgNo": orgs[n as usize % orgs.len()],
                "partyId": 90_000_000 + n,
                "partyUuid": uuid::Uuid::from_u128((0xD0 << 120) + u128::from(n)),
                "name": format!("Written {n}"),
            });
            ("/v1/parties".to_owned(), Bytes::from(body.to_string()))
        }),
    );
    table.push(Row::new(
        &format!("Write path over HTTP, embedded ({} concurrent clients)", o.write_connections),
        load_figure(&load, "commands"),
        "≥ 2,000/s, p99 ≤ 10 ms",
        (load.per_s / 2_000.0).min(10e6 / load.p99_ns as f64),
    ));
    drop(server);

    match &o.kafka {
        Some(brokers) => kafka_rows(&mut table, brokers, &kafka_records)?,
        None => table.push(Row::info(
            "Projection from the Kafka broker",
            "not measured: give --kafka BROKERS (scripts/bench starts a broker)".to_owned(),
        )),
    }

    println!();
    println!("ledger: {head} events ({})", o.events.display());
    table.print();
    Ok(())
}

fn kafka_rows(table: &mut Table, brokers: &str, records: &[NewRecord]) -> Result<(), String> {
    use ledger::log::kafka::{KafkaConfig, KafkaLog};
    let topic = format!("ledger-bench-{}-{}", std::process::id(), chrono::Utc::now().timestamp());
    let config = KafkaConfig { brokers: brokers.to_owned(), topic, create_topic: true, replication_factor: 1 };
    let open = || KafkaLog::open(&config).map_err(|e| e.to_string());
    let writer = open()?;
    eprintln!("producing {} records to {}", records.len(), config.topic);
    for (i, chunk) in records.chunks(1000).enumerate() {
        writer.append(chunk).map_err(|e| e.to_string())?;
        if i % 10 == 9 {
            eprint!("\rproduced {}", (i + 1) * 1000);
        }
    }
    eprintln!();
    let n = records.len() as u64;
    let reader = open()?;
    let t = Instant::now();
    let mut from = 0;
    while from < n {
        from += reader.read(from, 1000).map_err(|e| e.to_string())?.len() as u64;
    }
    let raw_per_s = n as f64 / t.elapsed().as_secs_f64();
    let projector = open()?;
    let store = Store::temporary().map_err(|e| e.to_string())?;
    let t = Instant::now();
    catch_up_observed(&projector, &store, &mut |_, _| {}).map_err(|e| e.to_string())?;
    let project_per_s = n as f64 / t.elapsed().as_secs_f64();
    // The row's limit, in the same run: the same records projected with no broker at all
    // (from memory into a fresh store). If that alone is below the target, projection
    // itself — `apply` and sled — is what stops the row, not reading from Kafka.
    let appended_ms = Some(chrono::Utc::now().timestamp_millis());
    let memory = ledger::log::memory::MemoryLog::new(records.iter().map(|r| (r.bytes.clone(), appended_ms)).collect());
    let store = Store::temporary().map_err(|e| e.to_string())?;
    let t = Instant::now();
    catch_up_observed(&memory, &store, &mut |_, _| {}).map_err(|e| e.to_string())?;
    let local_per_s = n as f64 / t.elapsed().as_secs_f64();
    let limit = if local_per_s / raw_per_s < 0.8 {
        "projection itself (apply and sled) is below the target, broker or not"
    } else {
        "reading from the broker costs the rest"
    };
    table.push(Row::new(
        &format!("Projection from the Kafka broker ({n} events)"),
        format!(
            "{project_per_s:.0} events/s; raw consume {raw_per_s:.0} events/s; ratio {:.2}; the same events from \
             memory into a fresh store {local_per_s:.0} events/s = {:.2} × raw consume: {limit}",
            project_per_s / raw_per_s,
            local_per_s / raw_per_s
        ),
        "≥ 0.80 × raw consume",
        project_per_s / raw_per_s / 0.8,
    ));
    Ok(())
}

/// Rate, latencies and failures of an HTTP load, as one table cell.
fn load_figure(load: &crate::http::Load, unit: &str) -> String {
    format!(
        "{:.0} {unit}/s, p50 {:.2} ms, p99 {:.2} ms ({} requests, {} failed{})",
        load.per_s,
        load.p50_ns as f64 / 1e6,
        load.p99_ns as f64 / 1e6,
        load.requests,
        load.failures,
        load.first_failure.as_deref().map(|f| format!(": {f}")).unwrap_or_default()
    )
}

/// Decisions a PEP library would record and wait for together (a multi-request's worth).
const LOGGED_BATCH: usize = 1_000;

/// Alternated rounds of in-process decisions without and with the decision log: the
/// machine's speed drifts within minutes, and a round of each side by side lets the
/// drift fall on both alike.
const LOGGED_ROUNDS: usize = 3;

/// The decision log's row: the round of the median ratio, and every round's ratio.
struct Logged {
    with_per_s: f64,
    without_per_s: f64,
    ratios: String,
}

/// Decides every question on one thread, [`LOGGED_ROUNDS`] times without and with the
/// decision log, alternated. With the log, each decision is recorded in one embedded
/// decision log kept open across rounds (as the service keeps its own),
/// [`LOGGED_BATCH`] at a time: a batch counts as answered once it is kept, which the
/// thread waits for after deciding the next (the writer overlaps the next batch's
/// decisions, as concurrent callers overlap it in the service).
fn logged_decisions(o: &Options, store: &Store, queries: &[Query]) -> Result<Logged, String> {
    use ledger::decisions::DecisionLog;
    let dir = o.work.join("decisions-in-process");
    let _ = std::fs::remove_dir_all(&dir);
    let log =
        DecisionLog::open_embedded(&dir, 30, ledger::decisions::SyncMode::AfterAnswer).map_err(|e| e.to_string())?;
    let mut rounds = Vec::with_capacity(LOGGED_ROUNDS);
    for _ in 0..LOGGED_ROUNDS {
        let t = Instant::now();
        for q in queries {
            std::hint::black_box(evaluate(&store.decision_index().now(), q));
        }
        let without = queries.len() as f64 / t.elapsed().as_secs_f64();
        let with = decide_logged(&log, store, queries)?;
        rounds.push((with, without));
    }
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
    let ratios: Vec<f64> = rounds.iter().map(|(with, without)| with / without).collect();
    let (with_per_s, without_per_s) = rounds[median_index(&ratios)];
    let ratios = ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ");
    Ok(Logged { with_per_s, without_per_s, ratios })
}

/// Where the median of `ratios` is (the upper one of an even count).
fn median_index(ratios: &[f64]) -> usize {
    assert!(!ratios.is_empty(), "at least one round");
    let mut order: Vec<usize> = (0..ratios.len()).collect();
    order.sort_by(|a, b| ratios[*a].total_cmp(&ratios[*b]));
    order[order.len() / 2]
}

/// One round with the log: decisions per second, every one kept in `log`. A batch is
/// decided, then recorded, as the service records a multi-request's decisions; until it
/// is recorded, a decision keeps what its entry holds (the answer and what was missing),
/// and its proof, which no entry holds, goes as it is made.
fn decide_logged(log: &ledger::decisions::DecisionLog, store: &Store, queries: &[Query]) -> Result<f64, String> {
    use ledger::decisions::{Answer, Caller, Endpoint, NewEntry};
    let caller = Caller { role: "pdp".to_owned(), subject: "bench".to_owned(), org: None };
    let t = Instant::now();
    let mut in_flight = None;
    let mut decided = Vec::with_capacity(LOGGED_BATCH);
    for chunk in queries.chunks(LOGGED_BATCH) {
        decided.clear();
        decided.extend(chunk.iter().map(|q| {
            let index = store.decision_index();
            let decision = evaluate(&index.now(), q);
            (chrono::Utc::now(), Answer::from(decision.decision), decision.missing, index.position())
        }));
        let entries: Vec<NewEntry> = (chunk.iter().zip(&decided))
            .map(|(q, (time, answer, missing, position))| {
                let reason = missing.as_deref().map(|m| m as &dyn std::fmt::Display);
                NewEntry::given(*time, Endpoint::Native, &caller, Some(q), *answer, reason, *position, false)
            })
            .collect();
        let durable = log.record(&entries).map_err(|e| format!("{e:?}"))?;
        if let Some(previous) = in_flight.replace(durable) {
            previous.wait_blocking().map_err(|e| format!("{e:?}"))?;
        }
    }
    if let Some(last) = in_flight {
        last.wait_blocking().map_err(|e| format!("{e:?}"))?;
    }
    Ok(queries.len() as f64 / t.elapsed().as_secs_f64())
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// (decisions/s, p50 ns, p99 ns), one decision at a time.
fn time_decisions(queries: &[Query], decide: impl Fn(&Query) -> Decision) -> (f64, u64, u64) {
    let mut ns = Vec::with_capacity(queries.len());
    let started = Instant::now();
    for q in queries {
        let t = Instant::now();
        std::hint::black_box(decide(q));
        ns.push(t.elapsed().as_nanos() as u64);
    }
    let per_s = queries.len() as f64 / started.elapsed().as_secs_f64();
    ns.sort_unstable();
    (per_s, percentile(&ns, 0.5), percentile(&ns, 0.99))
}

/// The keys `evaluate` reads for `q` (found untimed, by reading the records).
fn keys_read(store: &Store, q: &Query) -> Vec<Vec<u8>> {
    let PartyRef::OrgNo(party) = &q.party else { unreachable!("the benchmark asks by organisation number") };
    let mut out = vec![keys::system_user(&q.system_user)];
    if let Some(user) = store.system_user(&q.system_user) {
        out.push(keys::system(&user.system_id));
        out.push(keys::policy(&q.resource));
        out.push(keys::party(party));
        if user.user_type == ledger::domain::events::UserType::Agent {
            out.push(keys::link(&user.id, party));
            out.push(keys::relationship(party, &user.owner_org_no));
        }
    }
    out
}

/// The answer without a read model: read the whole log, fold the events that mention the
/// question's system user, party, owner, system or resource (and every party, package
/// and policy definition, which the rules a system's registration meets consult) into
/// an empty state, and decide over that.
fn naive_decision(log: &EmbeddedLog, head: u64, facts: &Facts, q: &Query) -> Result<Verdict, String> {
    let PartyRef::OrgNo(party) = &q.party else { unreachable!("the benchmark asks by organisation number") };
    let mut needles: Vec<String> = vec![q.system_user.to_string(), party.to_string(), format!("\"{}\"", q.resource)];
    if let Some(user) = facts.users.get(&q.system_user) {
        needles.push(user.owner.to_string());
        needles.push(user.system.to_string());
        needles.push(user.system.vendor().to_string());
    }
    let always = [
        &b"\"type\":\"ledger.party.registered."[..],
        b"\"type\":\"ledger.accesspackage.defined.",
        b"\"type\":\"ledger.resourcepolicy.published.",
    ];
    let mut model = MemKv::default();
    let mut from = 0;
    while from < head {
        let records = log.read(from, 10_000).map_err(|e| e.to_string())?;
        from += records.len() as u64;
        for r in records {
            let wanted = needles.iter().any(|n| contains(&r.bytes, n.as_bytes()))
                || always.iter().any(|n| contains(&r.bytes, n));
            if wanted {
                let event = Event::decode(&r.bytes).map_err(|e| e.to_string())?;
                let position = model.position();
                let _ = ledger::domain::apply(&mut model, position, &event);
            }
        }
    }
    Ok(evaluate(&model, q).decision)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Rounds of the HTTP decision load with the decision log, each between two loads
/// without it; the log's cost is the median of the rounds' ratios.
const LOG_COST_ROUNDS: usize = 3;

/// Connections sending ordinary single decisions in the maximal-load row.
const ORDINARY_CONNECTIONS: usize = 4;
/// Connections sending maximal multi-requests at the same time.
const MAXIMAL_CONNECTIONS: usize = 3;

/// One XACML multi-request of `MULTI_REQUESTS_MAX` decisions: the first question's
/// system user and action over the resources and parties of as many questions, each
/// resource element referenced by id (as a PEP asking about many parties at once does;
/// it fits the body limit, which one subject per decision would not).
fn multi_body(queries: &[Query]) -> Bytes {
    let n = ledger::domain::xacml::MULTI_REQUESTS_MAX.min(queries.len());
    let first = &queries[0];
    let (mut resources, mut references) = (vec![], vec![]);
    for (i, q) in queries.iter().take(n).enumerate() {
        let PartyRef::OrgNo(party) = &q.party else { unreachable!("the benchmark asks by organisation number") };
        resources.push(serde_json::json!({"Id": format!("r{i}"), "Attribute": [{"AttributeId": "urn:altinn:resource", "Value": q.resource.as_str()},
            {"AttributeId": "urn:altinn:organization:identifier-no", "Value": party.as_str()}]}));
        references.push(serde_json::json!({"ReferenceId": ["s", "a", format!("r{i}")]}));
    }
    let body = serde_json::json!({"Request": {
        "AccessSubject": [{"Id": "s", "Attribute": [{"AttributeId": "urn:altinn:systemuser:uuid", "Value": first.system_user.to_string()}]}],
        "Action": [{"Id": "a", "Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": first.action.as_str()}]}],
        "Resource": resources,
        "MultiRequests": {"RequestReference": references}}});
    let bytes = body.to_string();
    assert!(bytes.len() <= ledger::api::extract::REQUEST_BODY_BYTES_MAX, "the maximal body fits the limit");
    Bytes::from(bytes)
}

fn xacml_body(q: &Query) -> Bytes {
    let PartyRef::OrgNo(party) = &q.party else { unreachable!("the benchmark asks by organisation number") };
    let body = serde_json::json!({"Request": {
        "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:systemuser:uuid", "Value": q.system_user.to_string()}]}],
        "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": q.action.as_str()}]}],
        "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:resource", "Value": q.resource.as_str()},
                                    {"AttributeId": "urn:altinn:organization:identifier-no", "Value": party.as_str()}]}]}});
    Bytes::from(body.to_string())
}

/// Keys per second sled accepts through [`Store::commit`] into a fresh store: `keys`
/// puts of 17-byte keys with 100-byte values, in commits of 12,000 keys (one projected
/// batch's worth), either at random places in the tree or in key order.
fn write_floor(dir: &std::path::Path, keys: u64, random: bool) -> Result<f64, String> {
    use ledger::domain::change::Commit;
    use ledger::domain::model::Write;
    const COMMIT_KEYS: u64 = 12_000;
    let store = Store::open(dir).map_err(|e| e.to_string())?;
    // xorshift64: a fixed, dependency-free stream of well-spread keys.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let started = Instant::now();
    let mut written = 0;
    while written < keys {
        let mut batch: Vec<Vec<u8>> = (written..written + COMMIT_KEYS)
            .map(|i| {
                let (high, low) = if random { (next(), next()) } else { (0, i) };
                [&[b'~'][..], &high.to_be_bytes(), &low.to_be_bytes()].concat()
            })
            .collect();
        // A projected batch reaches sled in key order too.
        batch.sort_unstable();
        let writes = batch.into_iter().map(|key| Write::Put(key, vec![7; 100])).collect();
        store.commit(Commit { writes, changes: Vec::new() }).map_err(|e| e.to_string())?;
        written += COMMIT_KEYS;
    }
    let per_s = written as f64 / started.elapsed().as_secs_f64();
    drop(store);
    std::fs::remove_dir_all(dir).map_err(|e| e.to_string())?;
    Ok(per_s)
}

/// What a fresh process opening `read_model` holds resident, by part (see
/// [`memory_by_part`], which this runs as a child so nothing else is in its memory),
/// and sled's part in bytes.
fn memory_row(read_model: &std::path::Path) -> Result<(Row, u64), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .arg("memory")
        .arg("--read-model")
        .arg(read_model)
        .output()
        .map_err(|e| format!("cannot start the memory probe: {e}"))?;
    if !out.status.success() {
        return Err(format!("the memory probe failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let parts: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let bytes = |name: &str| parts[name].as_u64().ok_or_else(|| format!("the memory probe did not say {name}"));
    let (baseline, opened, second) = (bytes("baseline")?, bytes("opened")?, bytes("with_second_index")?);
    let index = second.saturating_sub(opened);
    let sled = opened.saturating_sub(baseline).saturating_sub(index);
    let row = Row::info(
        "Resident memory opening this read model in a fresh process, by part",
        format!(
            "{:.0} MiB in all: sled's tables {:.0} MiB, the decision index {:.0} MiB ({} facts, {} versions; \
             measured as what a second fold of it adds), the process before opening {:.0} MiB",
            mib(opened),
            mib(sled),
            mib(index),
            bytes("facts")?,
            bytes("versions")?,
            mib(baseline)
        ),
    );
    Ok((row, sled))
}

/// The `memory` command: resident memory before opening `read_model`, after opening it
/// as the service does (sled and the decision index folded from it), and after folding
/// a second decision index beside the first — what the index alone costs. Prints one
/// JSON line.
pub fn memory_by_part(read_model: &std::path::Path) -> Result<(), String> {
    let resident = || own_memory_bytes().map(|(rss, _)| rss).ok_or("cannot read this process's memory from /proc");
    // Opening a store creates one where there is none: a probe must not.
    if !read_model.join("db").is_file() {
        return Err(format!("no read model at {}", read_model.display()));
    }
    let baseline = resident()?;
    let store = Store::open(read_model).map_err(|e| e.to_string())?;
    let opened = resident()?;
    let second = store.load_decision_index();
    let with_second_index = resident()?;
    let counts = second.counts();
    println!(
        "{}",
        serde_json::json!({
            "baseline": baseline,
            "opened": opened,
            "with_second_index": with_second_index,
            "facts": counts.total(),
            "versions": counts.versions,
        })
    );
    drop((second, store));
    Ok(())
}

/// (resident, peak resident) of this process, from /proc/self/status.
fn own_memory_bytes() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
