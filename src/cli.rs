//! The `ledger` command line: the one module that knows clap. Each subcommand is a
//! small function over the library; `main.rs` only calls [`run`].

use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::api::{router, system_clock, Services, MIN_POSITION_WAIT_MS_DEFAULT};
use crate::auth::{DevKey, Role, Verifier};
use crate::domain::events::{Event, RECORD_BYTES_MAX};
use crate::domain::ids::OrgNo;
use crate::ledger::{record_with, DataDir, Ledger};
use crate::log::embedded::EmbeddedLog;
use crate::log::kafka::{KafkaConfig, KafkaLog};
use crate::log::{EventLog, NewRecord, APPEND_RECORDS_MAX};

#[derive(Parser)]
#[command(name = "ledger", version, about = "The delegation ledger for system users")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

/// Where the event log is: Kafka if `--kafka` is given, else the embedded log.
#[derive(Args, Clone)]
struct KafkaArgs {
    /// Kafka bootstrap servers (host:port,…); without it the embedded log is used.
    #[arg(long, requires = "topic")]
    kafka: Option<String>,
    /// The ledger topic (one partition, cleanup.policy=delete, retention.ms=-1).
    #[arg(long, requires = "kafka")]
    topic: Option<String>,
    /// Create the topic, safely configured, if it does not exist.
    #[arg(long, requires = "kafka")]
    create_topic: bool,
    /// Replication factor of a topic created with --create-topic.
    #[arg(long, default_value_t = 1, requires = "create_topic")]
    replication_factor: i32,
}

impl KafkaArgs {
    fn config(&self) -> Option<KafkaConfig> {
        Some(KafkaConfig {
            brokers: self.kafka.clone()?,
            topic: self.topic.clone()?,
            create_topic: self.create_topic,
            replication_factor: self.replication_factor,
        })
    }
}

// Parsed once at start; the size of the largest variant (serve's options) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP service (embedded event log by default, or a Kafka replica).
    Serve {
        /// Data directory (read model, dev key; and the event log when embedded).
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        log: KafkaArgs,
        /// Directory of the dev signing key (default: DATA/keys). Replicas that share
        /// it accept each other's dev tokens.
        #[arg(long)]
        keys: Option<PathBuf>,
        /// Trust the Ed25519 keys of this JWKS file instead of the dev key.
        #[arg(long, conflicts_with = "keys")]
        jwks: Option<PathBuf>,
        /// The issuer (`iss`) tokens must carry when --jwks is given.
        #[arg(long, requires = "jwks")]
        jwt_issuer: Option<String>,
        #[command(flatten)]
        maskinporten: MaskinportenArgs,
        /// Base URL people reach this service at (used in confirmUrl).
        #[arg(long)]
        public_url: Option<String>,
        /// Longest a read with `Ledger-Min-Position` waits for this replica to catch up.
        #[arg(long, default_value_t = MIN_POSITION_WAIT_MS_DEFAULT)]
        consistency_wait_ms: u64,
        /// `/readyz` is ready while the projection is at most this many records behind.
        #[arg(long, default_value_t = crate::api::metrics::READY_LAG_RECORDS_DEFAULT)]
        ready_lag_records: u64,
        /// Free space (MiB) the data directory's disk keeps: below it writes are refused
        /// with 503 storage_unavailable and /readyz answers 503, until space returns.
        #[arg(long, default_value_t = crate::ledger::STORAGE_RESERVE_BYTES_DEFAULT >> 20)]
        storage_reserve_mb: u64,
        /// Days the decision log keeps each decision (DATA/decisions, or its Kafka topic).
        #[arg(long, default_value_t = crate::decisions::RETENTION_DAYS_DEFAULT,
              value_parser = clap::value_parser!(u32).range(1..=36_500))]
        decision_retention_days: u32,
        /// The decision log's Kafka topic (default: the ledger topic's name + ".decisions").
        #[arg(long, requires = "kafka")]
        decision_topic: Option<String>,
        /// When a decision's record counts as kept, so that it may be answered:
        /// `after-answer` once written to the file (no process crash loses it; it is
        /// fsynced right after), `before-answer` once fsynced (no machine crash loses it;
        /// each answer waits for one fsync).
        #[arg(long, default_value = "after-answer", value_parser = crate::decisions::SyncMode::parse)]
        decision_log_sync: crate::decisions::SyncMode,
        /// Answer decisions without recording them: only for the benchmark's rows
        /// "without the decision log". Never in service.
        #[arg(long, hide = true)]
        benchmark_without_decision_log: bool,
    },
    /// Print a token signed with the dev key.
    Token {
        #[arg(long, required_unless_present = "keys")]
        data: Option<PathBuf>,
        /// Directory of the dev signing key (default: DATA/keys).
        #[arg(long)]
        keys: Option<PathBuf>,
        /// vendor, admin, client-admin, service-owner, register, operator, auditor or pdp.
        #[arg(long)]
        role: String,
        /// The organisation the bearer acts for.
        #[arg(long)]
        org: Option<String>,
        /// The person behind the token (recorded as the actor).
        #[arg(long)]
        person: Option<String>,
        #[arg(long, default_value_t = 3600)]
        ttl_seconds: i64,
    },
    /// Append the events of a JSON Lines file (one CloudEvent per line) to the log.
    Import {
        /// The embedded ledger to import into.
        #[arg(long, required_unless_present = "kafka", conflicts_with = "kafka")]
        data: Option<PathBuf>,
        #[command(flatten)]
        log: KafkaArgs,
        file: PathBuf,
        /// Free space (MiB) the data directory's disk keeps: an import that would eat
        /// into it is refused before anything is written.
        #[arg(long, default_value_t = crate::ledger::STORAGE_RESERVE_BYTES_DEFAULT >> 20)]
        storage_reserve_mb: u64,
    },
    /// Replay the log from position 0 into a new read model and replace the old one.
    Rebuild {
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        log: KafkaArgs,
    },
    /// Rebuild into a temporary read model and compare: digest, hash chain, seals.
    Verify {
        #[arg(long, required_unless_present = "bundle")]
        data: Option<PathBuf>,
        #[command(flatten)]
        log: KafkaArgs,
        /// Check an evidence bundle offline instead (no data directory needed).
        #[arg(long, conflicts_with_all = ["data", "kafka"])]
        bundle: Option<PathBuf>,
    },
    /// List the records that could not be applied (quarantined), with their reasons.
    Quarantine {
        #[arg(long)]
        data: PathBuf,
    },
    /// Append a seal: the hash chain over every record so far.
    Seal {
        #[arg(long)]
        data: PathBuf,
    },
    /// Explicit repair of a damaged embedded log: keeps the file as it is beside the log,
    /// cuts the log back to its last whole append before the damage, and writes a report
    /// of everything it dropped. Never done implicitly by any other command.
    RepairLog {
        #[arg(long)]
        data: PathBuf,
        /// Where to write the report (JSON).
        #[arg(long)]
        report: PathBuf,
    },
    /// Copy a format-1 embedded log into format 2 (frame headers with their own
    /// checksum), record for record, keeping the old file as events.log.v1.
    UpgradeLog {
        #[arg(long)]
        data: PathBuf,
    },
    /// Write every event on the log to standard output as JSON Lines, or an evidence
    /// bundle to a file.
    Export {
        /// The ledger's data directory (its read model is needed for --until).
        #[arg(long, required_unless_present = "kafka")]
        data: Option<PathBuf>,
        #[command(flatten)]
        log: KafkaArgs,
        /// Only events whose effective time is at most this (RFC 3339).
        #[arg(long, requires = "data")]
        until: Option<String>,
        /// Write an evidence bundle (events, seals, digest) to this file.
        #[arg(long, requires = "until")]
        bundle: Option<PathBuf>,
    },
}

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Serve {
            data,
            listen,
            log,
            keys,
            jwks,
            jwt_issuer,
            maskinporten,
            public_url,
            consistency_wait_ms,
            ready_lag_records,
            storage_reserve_mb,
            decision_retention_days,
            decision_topic,
            decision_log_sync,
            benchmark_without_decision_log,
        } => serve(ServeArgs {
            data,
            listen,
            kafka: log.config(),
            keys,
            jwks,
            jwt_issuer,
            maskinporten,
            public_url,
            consistency_wait_ms,
            ready_lag_records,
            storage_reserve_bytes: storage_reserve_mb << 20,
            decision_retention_days,
            decision_topic,
            decision_log_sync,
            benchmark_without_decision_log,
        }),
        Cmd::Token { data, keys, role, org, person, ttl_seconds } => {
            let keys = keys.unwrap_or_else(|| DataDir(data.expect("clap requires --data or --keys")).keys());
            token(&keys, &role, org, person, ttl_seconds)
        }
        Cmd::Import { data, log, file, storage_reserve_mb } => {
            import(data.as_deref(), log.config(), &file, storage_reserve_mb << 20)
        }
        Cmd::Export { data, log, until, bundle } => match until {
            Some(until) => {
                export_until(&data.expect("clap requires --data with --until"), log.config(), &until, bundle.as_deref())
            }
            None => export(data.as_deref(), log.config()),
        },
        Cmd::Rebuild { data, log } => rebuild(&data, log.config()),
        Cmd::Verify { data, log, bundle } => match bundle {
            Some(bundle) => crate::bundle::verify_file(&bundle),
            None => verify(&data.expect("clap requires --data or --bundle"), log.config()),
        },
        Cmd::Seal { data } => seal(&data),
        Cmd::RepairLog { data, report } => repair_log(&data, &report),
        Cmd::UpgradeLog { data } => upgrade_log(&data),
        Cmd::Quarantine { data } => list_quarantine(&data),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("ledger: {message}");
            1
        }
    }
}

/// Maskinporten's tokens, accepted beside the ledger's own when its JWKS is given.
#[derive(clap::Args, Debug)]
struct MaskinportenArgs {
    /// Trust Maskinporten's RS256 tokens signed by the keys of this JWKS file (a copy of
    /// https://maskinporten.no/jwk): vendors then send the token they send to Altinn.
    #[arg(long)]
    maskinporten_jwks: Option<PathBuf>,
    /// The issuer Maskinporten's tokens carry.
    #[arg(long, requires = "maskinporten_jwks", default_value = crate::auth::maskinporten::ISSUER_DEFAULT)]
    maskinporten_issuer: String,
    /// The audience Maskinporten's tokens must carry (not checked when not given).
    #[arg(long, requires = "maskinporten_jwks")]
    maskinporten_audience: Option<String>,
}

impl MaskinportenArgs {
    fn trust(&self, verifier: Verifier) -> Result<Verifier, String> {
        let Some(path) = &self.maskinporten_jwks else { return Ok(verifier) };
        let jwks = crate::auth::read_jwks(path)?;
        tracing::info!("trusting Maskinporten's tokens from {} (keys in {})", self.maskinporten_issuer, path.display());
        verifier.with_maskinporten(&jwks, &self.maskinporten_issuer, self.maskinporten_audience.as_deref())
    }
}

struct ServeArgs {
    data: PathBuf,
    listen: SocketAddr,
    kafka: Option<KafkaConfig>,
    keys: Option<PathBuf>,
    jwks: Option<PathBuf>,
    jwt_issuer: Option<String>,
    maskinporten: MaskinportenArgs,
    public_url: Option<String>,
    consistency_wait_ms: u64,
    ready_lag_records: u64,
    storage_reserve_bytes: u64,
    decision_retention_days: u32,
    decision_topic: Option<String>,
    decision_log_sync: crate::decisions::SyncMode,
    benchmark_without_decision_log: bool,
}

/// The decision log beside the ledger: in DATA/decisions, or on its own Kafka topic.
fn open_decision_log(args: &ServeArgs) -> Result<Option<Arc<crate::decisions::DecisionLog>>, String> {
    use crate::decisions::DecisionLog;
    if args.benchmark_without_decision_log {
        tracing::warn!("decisions are NOT recorded (--benchmark-without-decision-log): a benchmark, not a service");
        return Ok(None);
    }
    let days = args.decision_retention_days;
    let log = match &args.kafka {
        Some(config) => {
            let topic = args.decision_topic.clone().unwrap_or_else(|| format!("{}.decisions", config.topic));
            // The service's own companion topic is made when missing, configured exactly
            // (one partition, this retention, LogAppendTime); an existing one must match.
            let config = KafkaConfig { topic, create_topic: true, ..config.clone() };
            DecisionLog::open_kafka(&args.data, &config, days, args.decision_log_sync)
        }
        None => DecisionLog::open_embedded(&args.data, days, args.decision_log_sync),
    };
    let log = log.map_err(|e| format!("cannot open the decision log: {e}"))?;
    let sync = format!("{:?}", args.decision_log_sync);
    tracing::info!(storage = log.storage().describe(), retention_days = days, sync, "decision log open");
    Ok(Some(Arc::new(log)))
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let data = &args.data;
    let ledger = match &args.kafka {
        Some(config) => Ledger::open_kafka(data, config),
        None => Ledger::open_embedded(data),
    }
    .map_err(|e| format!("cannot open the ledger in {}: {e}", data.display()))?
    .with_storage(data, args.storage_reserve_bytes);
    let (verifier, dev_key) = match &args.jwks {
        Some(path) => (Verifier::load_jwks(path, args.jwt_issuer.as_deref().unwrap_or(crate::auth::DEV_ISSUER))?, None),
        None => {
            let keys = args.keys.clone().unwrap_or_else(|| DataDir(data.clone()).keys());
            let key = DevKey::load_or_create(&keys)?;
            tracing::info!("trusting the dev signing key in {}; mint tokens with `ledger token`", keys.display());
            (key.verifier(), Some(Arc::new(key)))
        }
    };
    let verifier = args.maskinporten.trust(verifier)?;
    let decisions = open_decision_log(&args)?;
    let ledger = Arc::new(ledger);
    let stop = Arc::new(AtomicBool::new(false));
    // A replica on a shared log follows the other replicas' writes as they come.
    let tailer = args.kafka.is_some().then(|| spawn_tailer(ledger.clone(), stop.clone()));

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        let state = Arc::new(Services {
            ledger: ledger.clone(),
            verifier: Arc::new(verifier),
            clock: system_clock(),
            public_url: args.public_url.clone().unwrap_or_else(|| format!("http://{bound}")).into(),
            min_position_wait: Duration::from_millis(args.consistency_wait_ms),
            ready_lag_records: args.ready_lag_records,
            metrics: Default::default(),
            decisions,
            slots: Default::default(),
            dev_key,
        });
        // Not `ledger.status()`: its digest reads the whole read model (minutes at
        // national scale), and nothing here needs it.
        let head = ledger.log().head().map_err(|e| e.to_string())?;
        let projected = ledger.model_position();
        tracing::info!(%bound, head, projected, log = ledger.log_description(), "ledger serving");
        // Tests and scripts read the bound address from this line.
        eprintln!("ledger: serving on http://{bound} (data: {}, position {projected})", data.display());
        let reopen = Arc::new(AtomicBool::new(false));
        let stopping = stop_when(ledger.clone(), reopen.clone());
        axum::serve(listener, router(state)).with_graceful_shutdown(stopping).await.map_err(|e| e.to_string())?;
        Ok::<bool, String>(reopen.load(Ordering::Relaxed))
    });
    stop.store(true, Ordering::Relaxed);
    if let Some(t) = tailer {
        let _ = t.join();
    }
    if result? {
        return restart_in_place();
    }
    ledger.close().map_err(|e| e.to_string())
}

/// How often a serving replica whose read model failed asks whether its disk has room
/// again.
const STORAGE_WATCH_MS: u64 = 1_000;

/// Resolves on SIGINT or SIGTERM, or — setting `reopen` — once a failed read model's
/// disk has its reserve free again.
async fn stop_when(ledger: Arc<Ledger>, reopen: Arc<AtomicBool>) {
    let storage_back = async {
        loop {
            tokio::time::sleep(Duration::from_millis(STORAGE_WATCH_MS)).await;
            if ledger.read_model_failure().is_some() && ledger.space_check().is_ok() {
                return;
            }
        }
    };
    tokio::select! {
        _ = shutdown_signal() => {}
        _ = storage_back => {
            tracing::warn!("the disk has room again: restarting in place to reopen the read model");
            reopen.store(true, Ordering::Relaxed);
        }
    }
}

/// A failed read model (sled) takes no writes until it is reopened, and a reopen needs
/// every handle on it gone: the surest way is this process's own image, run again with
/// the same arguments. Every file it held closes on exec (and with them their locks);
/// the new image opens the log and read model and catches up from the log, which holds
/// everything that was acknowledged.
fn restart_in_place() -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program to restart it: {e}"))?;
    let error = std::process::Command::new(exe).args(std::env::args_os().skip(1)).exec();
    Err(format!("cannot restart in place: {error}"))
}

/// SIGINT (Ctrl-C) or SIGTERM (`docker stop`, systemd, Kubernetes): both stop taking
/// requests, let those in flight finish, and flush the read model.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops gracefully");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
    }
}

/// Projects other replicas' events continuously: asks the log for its head every
/// `TAIL_IDLE_MS` and projects whatever is new. Broker errors are logged and retried with
/// a growing pause; the log client reconnects by itself.
fn spawn_tailer(ledger: Arc<Ledger>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    const TAIL_IDLE_MS: u64 = 20;
    const RETRY_PAUSE_MS_MAX: u64 = 2_000;
    std::thread::spawn(move || {
        let mut pause_ms = 0;
        while !stop.load(Ordering::Relaxed) {
            let before = ledger.model_position();
            match ledger.project() {
                Ok(reached) => {
                    if pause_ms > 0 {
                        tracing::info!(position = reached, "projection resumed");
                    }
                    pause_ms = 0;
                    if reached == before {
                        std::thread::sleep(Duration::from_millis(TAIL_IDLE_MS));
                    }
                }
                Err(e) => {
                    if pause_ms == 0 {
                        tracing::warn!("projection paused: {e}");
                    }
                    pause_ms = (pause_ms * 2).clamp(50, RETRY_PAUSE_MS_MAX);
                    std::thread::sleep(Duration::from_millis(pause_ms));
                }
            }
        }
    })
}

fn token(keys: &Path, role: &str, org: Option<String>, person: Option<String>, ttl_seconds: i64) -> Result<(), String> {
    let role = Role::parse(role).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role '{role}' (one of {})", all.join(", "))
    })?;
    let org = org.map(|o| OrgNo::parse(&o).map_err(|e| e.message)).transpose()?;
    if !(1..=30 * 24 * 3600).contains(&ttl_seconds) {
        return Err("--ttl-seconds must be between 1 and 2592000 (30 days)".to_owned());
    }
    if org.is_none() && !matches!(role, Role::Register | Role::Operator | Role::Auditor | Role::Pdp) {
        return Err(format!("a {} token needs --org", role.as_str()));
    }
    let key = DevKey::load(keys)?;
    println!("{}", key.mint(role, org.as_ref(), person.as_deref(), chrono::Utc::now().timestamp(), ttl_seconds));
    Ok(())
}

/// Reads and checks every line first: a file with one bad line writes nothing.
fn import(data: Option<&Path>, kafka: Option<KafkaConfig>, file: &Path, reserve_bytes: u64) -> Result<(), String> {
    let now = chrono::Utc::now();
    let records = read_import_file(file, now)?;
    let (before, after, void) = match (data, kafka) {
        (Some(data), _) => {
            let ledger = Ledger::open_embedded(data)
                .map_err(|e| format!("cannot open {}: {e}", data.display()))?
                .with_storage(data, reserve_bytes);
            let before = ledger.model_position();
            for chunk in records.chunks(APPEND_RECORDS_MAX) {
                let bytes: Vec<Vec<u8>> = chunk.iter().map(|r| r.bytes.clone()).collect();
                ledger.import(&bytes, now).map_err(|e| e.to_string())?;
            }
            let after = ledger.model_position();
            let void = ledger.void_between(before, after);
            ledger.close().map_err(|e| e.to_string())?;
            (before, after, Some(void))
        }
        (None, Some(config)) => {
            // Straight onto the topic; every replica judges the events as it projects them.
            let log = KafkaLog::open(&config).map_err(|e| e.to_string())?;
            let before = log.head().map_err(|e| e.to_string())?;
            let mut after = before;
            for chunk in records.chunks(APPEND_RECORDS_MAX) {
                let indexes = log.append(chunk).map_err(|e| e.to_string())?;
                after = indexes.last().map(|i| i + 1).unwrap_or(after);
            }
            (before, after, None)
        }
        (None, None) => return Err("give --data DIR or --kafka BROKERS --topic TOPIC".to_owned()),
    };
    eprintln!("ledger: imported {} events from {} (positions {before}..{after})", records.len(), file.display());
    for (index, reason) in void.iter().flatten().take(20) {
        eprintln!("  void at {index}: {reason}");
    }
    Ok(())
}

/// Every line of a JSON Lines file as a record to append, exactly as given. A line is
/// read no further than [`RECORD_BYTES_MAX`] before it is refused, so a huge line costs
/// no more memory than a record may have.
fn read_import_file(file: &Path, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<NewRecord>, String> {
    use std::io::Read;
    let reader = std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut reader = std::io::BufReader::new(reader);
    let mut records: Vec<NewRecord> = Vec::new();
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        let read = (&mut reader)
            .take(RECORD_BYTES_MAX as u64 + 2)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("{}:{n}: {e}", file.display()))?;
        if read == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        } else if read > RECORD_BYTES_MAX {
            return Err(format!("{}:{n}: line longer than {RECORD_BYTES_MAX} bytes", file.display()));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if line.len() > RECORD_BYTES_MAX {
            return Err(format!("{}:{n}: line longer than {RECORD_BYTES_MAX} bytes", file.display()));
        }
        let event = Event::decode(&line).map_err(|e| format!("{}:{n}: {e}", file.display()))?;
        crate::ledger::import_time_ok(&event, now).map_err(|e| format!("{}:{n}: {e}", file.display()))?;
        // The exact bytes go on the log: an imported record is evidence, not re-encoded.
        records.push(record_with(&event, line.clone()));
    }
    Ok(records)
}

fn export(data: Option<&Path>, kafka: Option<KafkaConfig>) -> Result<(), String> {
    let log: Box<dyn EventLog> = match (data, kafka) {
        (Some(data), _) => {
            let file = DataDir(data.to_owned()).log_file();
            if !file.exists() {
                return Err(format!("{} holds no event log", data.display()));
            }
            // Read-only, without the lock: works beside a running `serve`.
            Box::new(EmbeddedLog::open_read_only(&file).map_err(|e| e.to_string())?)
        }
        (None, Some(config)) => Box::new(KafkaLog::open(&config).map_err(|e| e.to_string())?),
        (None, None) => return Err("give --data DIR or --kafka BROKERS --topic TOPIC".to_owned()),
    };
    let head = log.head().map_err(|e| e.to_string())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut from = 0;
    while from < head {
        let records = log.read(from, 1000).map_err(|e| e.to_string())?;
        for r in &records {
            out.write_all(&r.bytes).and_then(|_| out.write_all(b"\n")).map_err(|e| e.to_string())?;
        }
        from += records.len() as u64;
    }
    out.flush().map_err(|e| e.to_string())
}

/// The log of a data directory (embedded) or a topic, for offline tools.
fn open_log(data: &Path, kafka: &Option<KafkaConfig>) -> Result<(Box<dyn EventLog>, String), String> {
    match kafka {
        Some(config) => {
            let config = KafkaConfig { create_topic: false, ..config.clone() };
            Ok((Box::new(KafkaLog::open(&config).map_err(|e| e.to_string())?), KafkaLog::identity(&config)))
        }
        None => {
            let file = DataDir(data.to_owned()).log_file();
            if !file.exists() {
                return Err(format!("{} holds no event log", data.display()));
            }
            // Offline tools never change a byte of the log.
            Ok((Box::new(EmbeddedLog::open_read_only(&file).map_err(|e| e.to_string())?), "embedded".to_owned()))
        }
    }
}

/// A progress bar on standard error: events, events per second, time left.
fn progress_bar(label: &'static str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {human_pos}/{human_len} events, {per_sec}, ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(label);
    bar
}

fn rebuild(data: &Path, kafka: Option<KafkaConfig>) -> Result<(), String> {
    use crate::store::Store;
    let (log, identity) = open_log(data, &kafka)?;
    let dir = DataDir(data.to_owned());
    let target = dir.read_model();
    // Refuses if a running ledger holds the read model.
    drop(Store::open(&target).map_err(|e| e.to_string())?);
    let fresh = data.join("read-model.rebuild");
    if fresh.exists() {
        std::fs::remove_dir_all(&fresh).map_err(|e| e.to_string())?;
    }
    let started = std::time::Instant::now();
    let bar = progress_bar("rebuilding");
    let (caught, digest) = {
        let store = Store::open(&fresh).map_err(|e| e.to_string())?;
        store.bind_log(&identity).map_err(|e| e.to_string())?;
        let caught = crate::verify::rebuild_into(log.as_ref(), &store, &mut |p, head| {
            bar.set_length(head);
            bar.set_position(p);
        })
        .map_err(|e| e.to_string())?;
        store.flush().map_err(|e| e.to_string())?;
        (caught, store.digest())
    };
    bar.finish_and_clear();
    let old = data.join("read-model.old");
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| e.to_string())?;
    }
    if target.exists() {
        std::fs::rename(&target, &old).map_err(|e| e.to_string())?;
    }
    std::fs::rename(&fresh, &target).map_err(|e| e.to_string())?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| e.to_string())?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rebuilt {} events in {secs:.2} s ({:.0} events/s: {}); read-model digest {digest}",
        caught.position,
        caught.position as f64 / secs.max(1e-9),
        caught.split()
    );
    Ok(())
}

fn verify(data: &Path, kafka: Option<KafkaConfig>) -> Result<(), String> {
    use crate::store::Store;
    let (log, _) = open_log(data, &kafka)?;
    let live = Store::open(&DataDir(data.to_owned()).read_model()).map_err(|e| e.to_string())?;
    let bar = progress_bar("verifying");
    let report = crate::verify::verify(log.as_ref(), Some(&live), &mut |p, head| {
        bar.set_length(head);
        bar.set_position(p);
    })?;
    bar.finish_and_clear();
    println!("records replayed: {}", report.records);
    println!("seals checked:    {}", report.seals_checked);
    println!("quarantined:      {}", report.quarantined);
    println!("live digest:      {}", report.live_digest.as_deref().unwrap_or("-"));
    println!("rebuilt digest:   {}", report.rebuilt_digest);
    if report.findings.is_empty() && report.behind > 0 {
        println!(
            "ok, behind: the read model is {} record(s) behind the log and equals a rebuild at its own position \
             (the next `ledger serve` catches up); the hash chain and every seal hold",
            report.behind
        );
        return Ok(());
    }
    if report.findings.is_empty() {
        println!("ok: the read model equals a rebuild from the log, and the hash chain and every seal hold");
        return Ok(());
    }
    println!("DIVERGED: the read model is not what the log produces; this is a fault, not a lag");
    for f in &report.findings {
        println!("FOUND: {f}");
    }
    Err(format!("verify found {} problem(s)", report.findings.len()))
}

fn seal(data: &Path) -> Result<(), String> {
    use crate::domain::events::{Actor, ActorKind};
    use crate::domain::{Authority, Command};
    let ledger = Ledger::open_embedded(data).map_err(|e| format!("cannot open {}: {e}", data.display()))?;
    let caller = crate::ledger::Caller {
        actor: Actor { kind: ActorKind::Operator, id: std::env::var("USER").unwrap_or_else(|_| "operator".to_owned()) },
        authority: Authority::Operator,
        correlation_id: None,
    };
    let written = ledger.execute(&Command::Seal, &caller, chrono::Utc::now()).map_err(|e| e.to_string())?;
    ledger.close().map_err(|e| e.to_string())?;
    if let Some(crate::domain::events::EventData::LedgerSealed(s)) = written.events.first().map(|e| &e.data) {
        println!("sealed {} records: chain {} (position {})", s.position, s.chain_hash, written.position);
    }
    Ok(())
}

fn export_until(data: &Path, kafka: Option<KafkaConfig>, until: &str, bundle: Option<&Path>) -> Result<(), String> {
    use crate::store::Store;
    let until = chrono::DateTime::parse_from_rfc3339(until)
        .map_err(|_| "--until must be an RFC 3339 time, e.g. 2026-03-01T00:00:00Z".to_owned())?
        .with_timezone(&chrono::Utc);
    let (log, _) = open_log(data, &kafka)?;
    let live = Store::open(&DataDir(data.to_owned()).read_model()).map_err(|e| e.to_string())?;
    let evidence = crate::bundle::build(log.as_ref(), &live, until)?;
    match bundle {
        Some(path) => {
            let text = serde_json::to_vec_pretty(&evidence).map_err(|e| e.to_string())?;
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "ledger: wrote {} records up to {until} with {} seals to {}",
                evidence.position,
                evidence.seals.len(),
                path.display()
            );
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            for e in &evidence.events {
                out.write_all(e.as_bytes()).and_then(|_| out.write_all(b"\n")).map_err(|e| e.to_string())?;
            }
            out.flush().map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn repair_log(data: &Path, report_path: &Path) -> Result<(), String> {
    let file = DataDir(data.to_owned()).log_file();
    if !file.exists() {
        return Err(format!("{} holds no event log", data.display()));
    }
    if report_path.exists() {
        return Err(format!("{} exists; name a new file for the report", report_path.display()));
    }
    let report = crate::log::embedded::repair(&file).map_err(|e| e.to_string())?;
    let text = serde_json::to_vec_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(report_path, text).map_err(|e| format!("cannot write {}: {e}", report_path.display()))?;
    println!("{}: {} record(s) kept", report.action, report.records_kept);
    if let Some(kept) = &report.original_kept_at {
        println!("the log as it was is kept at {}", kept.display());
        println!(
            "{} intact record(s) after the damage were dropped; see {}",
            report.dropped.len(),
            report_path.display()
        );
        for step in &report.next_steps {
            println!("next: {step}");
        }
    }
    Ok(())
}

fn upgrade_log(data: &Path) -> Result<(), String> {
    let file = DataDir(data.to_owned()).log_file();
    let records = crate::log::embedded::upgrade(&file).map_err(|e| e.to_string())?;
    println!(
        "upgraded {records} records to log format 2; the old file is kept as {}",
        file.with_extension("log.v1").display()
    );
    Ok(())
}

fn list_quarantine(data: &Path) -> Result<(), String> {
    use crate::domain::model::ReadModel;
    let store = crate::store::Store::open(&DataDir(data.to_owned()).read_model()).map_err(|e| e.to_string())?;
    let records = store.quarantined();
    println!("{} quarantined record(s)", records.len());
    for q in records {
        println!("position {}: {} bytes, sha256 {}: {}", q.index + 1, q.bytes, q.sha256, q.reason);
        println!("    {}", q.preview);
    }
    Ok(())
}
