//! `ledger-bench`: generates national-scale ledgers and measures the delegation ledger
//! against the targets of its performance issue and against its peers.
//!
//! Figures are printed, never asserted: speed is shown by this command, not by tests.

mod cedar;
mod facts;
mod generate;
mod http;
mod run;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The allocator the `ledger` binary uses, so in-process figures match the service's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "ledger-bench", about = "Generate ledgers and measure the delegation ledger")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a seeded, realistic ledger as JSON lines (`ledger import` reads them).
    Generate {
        #[arg(long)]
        out: PathBuf,
        /// 1 is national scale (about 2.9 million events); 0.01 is a quick run.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        #[arg(long, default_value_t = 20261122)]
        seed: u64,
    },
    /// Load a generated ledger into WORK and measure every path; prints one table.
    Run {
        /// A ledger from `ledger-bench generate`.
        #[arg(long)]
        events: PathBuf,
        /// A new directory for the data the run makes.
        #[arg(long)]
        work: PathBuf,
        /// The `ledger` binary to serve with (default: the one beside this binary).
        #[arg(long)]
        ledger_bin: Option<PathBuf>,
        /// Kafka bootstrap servers for the Kafka projection row.
        #[arg(long)]
        kafka: Option<String>,
        /// Events produced to Kafka for its row (the broker's append rate bounds this).
        #[arg(long, default_value_t = 100_000)]
        kafka_events: usize,
        #[arg(long, default_value_t = 200_000)]
        decisions: usize,
        #[arg(long, default_value_t = 5)]
        naive_decisions: usize,
        /// Seconds each HTTP load runs.
        #[arg(long, default_value_t = 10.0)]
        http_seconds: f64,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Concurrent writers (the p99 target holds up to about 10; beyond, commands queue).
        #[arg(long, default_value_t = 8)]
        write_connections: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Only the read model's rows: projection, rebuild, disk, sled's floor, memory
        /// while projecting, and (with --kafka) the Kafka projection.
        #[arg(long)]
        read_model_only: bool,
    },
    /// Open a read model in this fresh process and print, as one JSON line, its
    /// resident memory by part: sled's tables and the decision index (`run` calls it).
    Memory {
        /// A read model directory (`<data>/read-model`).
        #[arg(long)]
        read_model: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Generate { out, scale, seed } => generate_file(&out, scale, seed),
        Cmd::Run {
            events,
            work,
            ledger_bin,
            kafka,
            kafka_events,
            decisions,
            naive_decisions,
            http_seconds,
            connections,
            write_connections,
            seed,
            read_model_only,
        } => run::run(&run::Options {
            events,
            work,
            ledger_bin: ledger_bin.unwrap_or_else(http::sibling_ledger_bin),
            kafka,
            decisions,
            naive_decisions,
            http_seconds,
            connections,
            write_connections,
            kafka_events,
            seed,
            read_model_only,
        }),
        Cmd::Memory { read_model } => run::memory_by_part(&read_model),
    };
    if let Err(e) = result {
        eprintln!("ledger-bench: {e}");
        std::process::exit(1);
    }
}

fn generate_file(out: &std::path::Path, scale: f64, seed: u64) -> Result<(), String> {
    if !(scale > 0.0 && scale <= 10.0) {
        return Err("--scale must be above 0 and at most 10".to_owned());
    }
    let file = std::fs::File::create(out).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let started = std::time::Instant::now();
    let events = generate::generate(generate::Shape::at(scale, seed), &mut writer, &mut |n| {
        eprint!("\rgenerated {n} events");
    })?;
    eprintln!("\rgenerated {events} events into {} in {:.1} s", out.display(), started.elapsed().as_secs_f64());
    Ok(())
}

/// The value at quantile `p` of sorted nanoseconds (0 when there are none).
pub fn percentile(sorted_ns: &[u64], p: f64) -> u64 {
    if sorted_ns.is_empty() {
        return 0;
    }
    sorted_ns[((sorted_ns.len() as f64 - 1.0) * p).round() as usize]
}

/// One line of the result table: what was measured, the figure, the target, and the
/// ratio of figure to target oriented so that ≥ 1 meets it.
pub struct Row {
    path: String,
    figure: String,
    target: String,
    margin: Option<f64>,
}

impl Row {
    pub fn new(path: &str, figure: String, target: &str, margin: f64) -> Row {
        Row { path: path.to_owned(), figure, target: target.to_owned(), margin: Some(margin) }
    }
    /// A row with no target of its own (a comparison).
    pub fn info(path: &str, figure: String) -> Row {
        Row { path: path.to_owned(), figure, target: "—".to_owned(), margin: None }
    }
}

#[derive(Default)]
pub struct Table(Vec<Row>);

impl Table {
    pub fn push(&mut self, row: Row) {
        self.0.push(row);
    }
    pub fn print(&self) {
        println!("| path | measured | target | figure ÷ target (≥ 1 meets it) |");
        println!("|---|---|---|---|");
        for r in &self.0 {
            let margin = match r.margin {
                Some(m) if m >= 1.0 => format!("{m:.2} met"),
                Some(m) => format!("{m:.2} MISSED"),
                None => "—".to_owned(),
            };
            println!("| {} | {} | {} | {margin} |", r.path, r.figure, r.target);
        }
        let (met, missed) =
            self.0
                .iter()
                .filter_map(|r| r.margin)
                .fold((0, 0), |(a, b), m| if m >= 1.0 { (a + 1, b) } else { (a, b + 1) });
        println!("targets met: {met}, missed: {missed}");
        println!(
            "machine: {} logical CPUs, {}",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_owned()))
                .unwrap_or_else(|| "unknown CPU".to_owned())
        );
    }
}
