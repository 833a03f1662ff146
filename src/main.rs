//! `ledger`: parses the command line and runs it. Everything else lives in the library.

/// See Cargo.toml: sled's write path is allocation-bound, and mimalloc halves its cost.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sled=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    std::process::exit(ledger::cli::run());
}
