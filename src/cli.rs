//! The `ledger` command line: the one module that knows clap. Each subcommand is a
//! small function over the library; `main.rs` only calls [`run`].

use clap::{Parser, Subcommand};
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::api::{router, system_clock, AppState};
use crate::auth::{DevKey, Role, Verifier};
use crate::domain::events::{Event, RECORD_BYTES_MAX};
use crate::domain::ids::OrgNo;
use crate::ledger::{DataDir, Ledger};
use crate::log::APPEND_RECORDS_MAX;

#[derive(Parser)]
#[command(name = "ledger", version, about = "The delegation ledger for system users")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP service on the embedded event log.
    Serve {
        /// Data directory (event log, read model, dev key).
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Trust the Ed25519 keys of this JWKS file instead of the dev key.
        #[arg(long)]
        jwks: Option<PathBuf>,
        /// The issuer (`iss`) tokens must carry when --jwks is given.
        #[arg(long, requires = "jwks")]
        jwt_issuer: Option<String>,
        /// Base URL people reach this service at (used in confirmUrl).
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Print a token signed with the data directory's dev key.
    Token {
        #[arg(long)]
        data: PathBuf,
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
        #[arg(long)]
        data: PathBuf,
        file: PathBuf,
    },
    /// Write every event on the log to standard output as JSON Lines.
    Export {
        #[arg(long)]
        data: PathBuf,
    },
}

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Serve { data, listen, jwks, jwt_issuer, public_url } => serve(&data, listen, jwks, jwt_issuer, public_url),
        Cmd::Token { data, role, org, person, ttl_seconds } => token(&data, &role, org, person, ttl_seconds),
        Cmd::Import { data, file } => import(&data, &file),
        Cmd::Export { data } => export(&data),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("ledger: {message}");
            1
        }
    }
}

fn serve(
    data: &Path,
    listen: SocketAddr,
    jwks: Option<PathBuf>,
    jwt_issuer: Option<String>,
    public_url: Option<String>,
) -> Result<(), String> {
    let ledger = Ledger::open_embedded(data).map_err(|e| format!("cannot open {}: {e}", data.display()))?;
    let verifier = match jwks {
        Some(path) => Verifier::load_jwks(&path, jwt_issuer.as_deref().unwrap_or(crate::auth::DEV_ISSUER))?,
        None => {
            let key = DevKey::load_or_create(&DataDir(data.to_owned()).keys())?;
            tracing::info!(
                "trusting the dev signing key in {}; mint tokens with `ledger token`",
                DataDir(data.to_owned()).keys().display()
            );
            key.verifier()
        }
    };
    let ledger = Arc::new(ledger);
    let state = AppState {
        ledger: ledger.clone(),
        verifier: Arc::new(verifier),
        clock: system_clock(),
        public_url: public_url.unwrap_or_else(|| format!("http://{listen}")),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let status = ledger.status().map_err(|e| e.to_string())?;
        tracing::info!(%listen, head = status.head_position, projected = status.projected_position, "ledger serving");
        eprintln!(
            "ledger: serving on http://{listen} (data: {}, position {})",
            data.display(),
            status.projected_position
        );
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| e.to_string())?;
        ledger.close().map_err(|e| e.to_string())
    })
}

fn token(data: &Path, role: &str, org: Option<String>, person: Option<String>, ttl_seconds: i64) -> Result<(), String> {
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
    let key = DevKey::load(&DataDir(data.to_owned()).keys())?;
    println!("{}", key.mint(role, org.as_ref(), person.as_deref(), chrono::Utc::now().timestamp(), ttl_seconds));
    Ok(())
}

/// Reads and checks every line first: a file with one bad line writes nothing.
fn import(data: &Path, file: &Path) -> Result<(), String> {
    let reader = std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut events: Vec<Vec<u8>> = Vec::new();
    for (n, line) in std::io::BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > RECORD_BYTES_MAX {
            return Err(format!("{}:{}: line longer than {RECORD_BYTES_MAX} bytes", file.display(), n + 1));
        }
        Event::decode(line.as_bytes()).map_err(|e| format!("{}:{}: {e}", file.display(), n + 1))?;
        // The exact bytes go on the log: an imported record is evidence, not re-encoded.
        events.push(line.into_bytes());
    }
    let ledger = Ledger::open_embedded(data).map_err(|e| format!("cannot open {}: {e}", data.display()))?;
    let before = ledger.model_position();
    for chunk in events.chunks(APPEND_RECORDS_MAX) {
        ledger.import(chunk).map_err(|e| e.to_string())?;
    }
    let after = ledger.model_position();
    let void = ledger.void_between(before, after);
    ledger.close().map_err(|e| e.to_string())?;
    eprintln!(
        "ledger: imported {} events from {} (positions {before}..{after}, {} void)",
        events.len(),
        file.display(),
        void.len()
    );
    for (index, reason) in void.iter().take(20) {
        eprintln!("  void at {index}: {reason}");
    }
    Ok(())
}

fn export(data: &Path) -> Result<(), String> {
    let ledger = Ledger::open_embedded(data).map_err(|e| format!("cannot open {}: {e}", data.display()))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut from = 0;
    loop {
        let records = ledger.log().read(from, 1000).map_err(|e| e.to_string())?;
        if records.is_empty() {
            break;
        }
        for r in &records {
            out.write_all(&r.bytes).and_then(|_| out.write_all(b"\n")).map_err(|e| e.to_string())?;
        }
        from += records.len() as u64;
    }
    out.flush().map_err(|e| e.to_string())
}
