//! The HTTP side of the benchmark: a real `ledger serve` process, and a load generator
//! that drives it over keep-alive HTTP/1.1 connections from this process.
//!
//! The server is the binary a user runs, on the data directory the benchmark projected,
//! so its resident memory is what serving that ledger costs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// A `ledger serve` child, stopped on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

/// Longest the server may take to open its data directory and become ready.
const SERVER_READY_TIMEOUT_MS: u64 = 600_000;

impl Server {
    pub fn start(ledger_bin: &Path, data: &Path, log: &Path, extra: &[&str]) -> Result<Server, String> {
        let addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            probe.local_addr().map_err(|e| e.to_string())?
        };
        let log = std::fs::File::create(log).map_err(|e| format!("cannot write {}: {e}", log.display()))?;
        let child = Command::new(ledger_bin)
            .args(["serve", "--listen", &addr.to_string(), "--data"])
            .arg(data)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", ledger_bin.display()))?;
        let mut server = Server { child, addr };
        let deadline = Instant::now() + Duration::from_millis(SERVER_READY_TIMEOUT_MS);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("ledger serve exited with {status} before it was ready"));
            }
            if get_status(addr, "/readyz") == Some(200) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err("ledger serve was not ready in time".to_owned());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// (resident, peak resident) in bytes, from /proc.
    pub fn memory_bytes(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: bench\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

pub struct Load {
    pub requests: u64,
    pub failures: u64,
    pub per_s: f64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub first_failure: Option<String>,
}

/// What the n-th request sends: (path, JSON body).
pub type Body = dyn Fn(u64) -> (String, Bytes) + Send + Sync;

/// Sends POSTs over `connections` keep-alive connections, each waiting for its answer
/// before the next (closed-loop clients), for `duration`.
pub fn drive(addr: SocketAddr, token: &str, connections: usize, duration: Duration, body: Arc<Body>) -> Load {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime for the load generator");
    let authorization = format!("Bearer {token}");
    let counter = Arc::new(AtomicU64::new(0));
    runtime.block_on(async move {
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (body, counter, authorization) = (body.clone(), counter.clone(), authorization.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies: Vec<u64> = Vec::new();
                let (mut failures, mut first_failure) = (0u64, None);
                let stream = match tokio::net::TcpStream::connect(addr).await {
                    Ok(s) => s,
                    Err(e) => return (latencies, 1, Some(e.to_string())),
                };
                let _ = stream.set_nodelay(true);
                let (mut sender, connection) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                    Ok(pair) => pair,
                    Err(e) => return (latencies, 1, Some(e.to_string())),
                };
                tokio::spawn(connection);
                while Instant::now() < deadline {
                    let (path, bytes) = body(counter.fetch_add(1, Ordering::Relaxed));
                    let request = hyper::Request::post(path)
                        .header("host", "bench")
                        .header("authorization", &authorization)
                        .header("content-type", "application/json")
                        .body(Full::new(bytes))
                        .expect("a request");
                    let t = Instant::now();
                    let outcome = match sender.send_request(request).await {
                        Ok(response) => {
                            let status = response.status();
                            match response.into_body().collect().await {
                                Ok(_) if status.is_success() => Ok(()),
                                Ok(b) => Err(format!("{status}: {}", String::from_utf8_lossy(&b.to_bytes()))),
                                Err(e) => Err(e.to_string()),
                            }
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    latencies.push(t.elapsed().as_nanos() as u64);
                    if let Err(e) = outcome {
                        failures += 1;
                        first_failure.get_or_insert(e);
                        if sender.ready().await.is_err() {
                            break;
                        }
                    }
                }
                (latencies, failures, first_failure)
            }));
        }
        let mut all: Vec<u64> = Vec::new();
        let (mut failures, mut first_failure) = (0, None);
        for task in tasks {
            let (latencies, f, first) = task.await.expect("a load task");
            all.extend(latencies);
            failures += f;
            if first_failure.is_none() {
                first_failure = first;
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        all.sort_unstable();
        Load {
            requests: all.len() as u64,
            failures,
            per_s: (all.len() as u64 - failures.min(all.len() as u64)) as f64 / elapsed,
            p50_ns: crate::percentile(&all, 0.50),
            p99_ns: crate::percentile(&all, 0.99),
            first_failure,
        }
    })
}

/// The `ledger` binary next to this one (both are built into the same target directory).
pub fn sibling_ledger_bin() -> PathBuf {
    let me = std::env::current_exe().expect("the benchmark's own path");
    me.with_file_name(format!("ledger{}", std::env::consts::EXE_SUFFIX))
}
