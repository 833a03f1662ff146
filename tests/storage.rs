//! Honest failure on a full disk, on a real full disk: `ledger serve` runs on a small
//! tmpfs of its own (a user and mount namespace, so no privilege is needed), the test
//! fills that disk with a ballast file and empties it again.
//!
//! Given the disk below the reserve, writes answer 503 `storage_unavailable` with
//! `Retry-After` and write nothing, `/readyz` answers 503, status still answers, and the
//! metrics count the refusals; when space returns, all of it recovers by itself.
//! Given no reserve at all, the log or the read model meets the full disk: a refused
//! append writes nothing, a write the log took but the read model could not follow
//! answers "outcome unknown, a retry is safe", nothing panics, and when space returns
//! the replica recovers — after a read-model failure by restarting itself in place —
//! with every acknowledged write.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/replay/fixtures/scenario-base.jsonl");
const DISK_MIB: u64 = 16;

/// `ledger serve` on a tmpfs of its own, reached through `/proc/<pid>/root`.
struct Served {
    child: Child,
    lines: Receiver<String>,
    url: String,
    /// The tmpfs as this process sees it.
    disk: PathBuf,
}

impl Served {
    fn start(reserve_mib: u64) -> Served {
        let mount = tempfile::tempdir().unwrap().keep();
        let bin = env!("CARGO_BIN_EXE_ledger");
        let script = format!(
            "set -e; mount -t tmpfs -o size={DISK_MIB}m tmpfs {m}; \
             {bin} import --storage-reserve-mb 0 --data {m}/data {FIXTURE} 2>/dev/null; \
             exec {bin} serve --data {m}/data --listen 127.0.0.1:0 --storage-reserve-mb {reserve_mib}",
            m = mount.display()
        );
        let mut child = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux) runs ledger serve in a namespace of its own");
        let (tx, lines) = channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[serve] {line}");
                let _ = tx.send(line);
            }
        });
        let url = next_url(&lines);
        let disk = PathBuf::from(format!("/proc/{}/root{}", child.id(), mount.display()));
        Served { child, lines, url, disk }
    }

    fn keys(&self) -> PathBuf {
        self.disk.join("data/keys")
    }

    fn token(&self, role: ledger::auth::Role) -> String {
        let key = ledger::auth::DevKey::load(&self.keys()).unwrap();
        key.mint(role, None, None, chrono::Utc::now().timestamp(), 600)
    }

    fn free_bytes(&self) -> u64 {
        fs2::available_space(&self.disk).unwrap()
    }

    /// Fills the disk until `leave` bytes are free.
    fn fill(&self, leave: u64) {
        let free = self.free_bytes();
        let ballast = vec![0u8; (free.saturating_sub(leave) / 4096 * 4096) as usize];
        std::fs::write(self.disk.join("ballast"), ballast).unwrap();
    }

    fn empty(&self) {
        std::fs::remove_file(self.disk.join("ballast")).unwrap();
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Option<String>, Value) {
        let request = ureq::request(method, &format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {token}"))
            .timeout(Duration::from_secs(30));
        let result = match body {
            Some(b) => request.send_json(b),
            None => request.call(),
        };
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let retry_after = response.header("retry-after").map(str::to_owned);
        let text = response.into_string().unwrap();
        (status, retry_after, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn metric(&self, name: &str) -> u64 {
        let (_, _, text) = self.call("GET", "/metrics", "", None);
        let text = text.as_str().unwrap().to_owned();
        text.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).unwrap().trim().parse().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next "serving on" address the process prints (it prints one each time it starts).
fn next_url(lines: &Receiver<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("ledger serve starts");
        if let Some(url) = line.strip_prefix("ledger: serving on ").and_then(|r| r.split(' ').next()) {
            return url.to_owned();
        }
    }
}

/// Valid organisation numbers from `start` on.
fn orgs(start: u32) -> impl Iterator<Item = String> {
    ledger::bench::org_numbers(start).map(|o| o.to_string())
}

fn party(org: &str, n: u64) -> Value {
    json!({"orgNo": org, "partyId": 700_000 + n, "partyUuid": uuid::Uuid::now_v7(), "name": format!("Disk {n} {}", "x".repeat(150))})
}

#[test]
fn below_the_reserve_writes_are_refused_whole_and_everything_recovers_when_space_returns() {
    let served = Served::start(4);
    let register = served.token(ledger::auth::Role::Register);
    let operator = served.token(ledger::auth::Role::Operator);
    let mut orgs = orgs(42_000_000);
    let (status, _, _) = served.call("POST", "/v1/parties", &register, Some(party(&orgs.next().unwrap(), 1)));
    assert_eq!(status, 201);

    served.fill(2 << 20);
    let (_, _, before) = served.call("GET", "/v1/ledger/status", &operator, None);
    for n in 2..6 {
        let (status, retry_after, body) =
            served.call("POST", "/v1/parties", &register, Some(party(&orgs.next().unwrap(), n)));
        assert_eq!((status, body["code"].as_str()), (503, Some("storage_unavailable")), "{body}");
        assert!(retry_after.is_some(), "a 503 says when to come back");
    }
    let (status, _, body) = served.call("GET", "/readyz", "", None);
    assert_eq!((status, body["code"].as_str()), (503, Some("storage_unavailable")), "{body}");
    let (status, _, after) = served.call("GET", "/v1/ledger/status", &operator, None);
    assert_eq!(status, 200, "status answers while the disk is full: {after}");
    assert_eq!(after["headPosition"], before["headPosition"], "nothing was written");
    assert_eq!(after["readModelDigest"], before["readModelDigest"]);
    assert_eq!(served.metric("ledger_storage_refusals"), 4);

    served.empty();
    let (status, _, _) = served.call("GET", "/readyz", "", None);
    assert_eq!(status, 200, "ready again without a restart");
    let (status, _, body) = served.call("POST", "/v1/parties", &register, Some(party(&orgs.next().unwrap(), 9)));
    assert_eq!(status, 201, "{body}");
}

#[test]
fn with_no_reserve_a_failed_read_model_answers_honestly_and_restarts_itself_when_space_returns() {
    let mut served = Served::start(0);
    let register = served.token(ledger::auth::Role::Register);
    let operator = served.token(ledger::auth::Role::Operator);
    let pid = served.child.id();
    served.fill(300 << 10);
    let mut acknowledged = Vec::new();
    let mut unknown = 0;
    let mut codes = std::collections::BTreeMap::new();
    for (n, org) in orgs(43_000_000).take(3000).enumerate() {
        let (status, retry_after, body) = served.call("POST", "/v1/parties", &register, Some(party(&org, n as u64)));
        match (status, body["code"].as_str()) {
            (201, _) => acknowledged.push(org),
            (503, Some(code @ ("outcome_unknown" | "storage_unavailable"))) => {
                assert!(retry_after.is_some());
                if code == "outcome_unknown" {
                    assert!(body["detail"].as_str().unwrap().contains("a retry is safe"), "{body}");
                    unknown += 1;
                }
                *codes.entry(code.to_owned()).or_insert(0) += 1;
            }
            other => panic!("a full disk must never answer {other:?}: {body}"),
        }
        if codes.get("storage_unavailable").is_some_and(|c| *c >= 5) {
            break;
        }
    }
    assert!(!acknowledged.is_empty() && codes.contains_key("storage_unavailable"), "{codes:?}");
    let (status, _, body) = served.call("GET", "/v1/ledger/status", &operator, None);
    assert!(status == 200 || body["code"] == "storage_unavailable", "status never panics: {status} {body}");
    let (status, _, _) = served.call("GET", "/readyz", "", None);
    assert_eq!(status, 503);
    // Which part met the full disk first depends on how much room sled had left in its
    // current segment: the log (the append is refused, nothing written) or the read
    // model (sled fails; the replica restarts itself once there is room).
    let read_model_failed = served.metric("ledger_read_model_failed") == 1;
    assert!(served.metric("ledger_append_failures") > 0 || read_model_failed);

    served.empty();
    if read_model_failed {
        let url = next_url(&served.lines);
        assert_eq!(served.child.id(), pid, "the same process, restarted in place");
        served.url = url;
    }
    // Ready again by itself; sled's flusher may still fail late, so a restart is
    // followed wherever it comes.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        while let Ok(line) = served.lines.try_recv() {
            if let Some(url) = line.strip_prefix("ledger: serving on ").and_then(|r| r.split(' ').next()) {
                served.url = url.to_owned();
            }
        }
        if ureq::get(&format!("{}/readyz", served.url)).call().is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "ready again once the disk has room");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(served.child.id(), pid, "the same process throughout");
    let (status, _, now) = served.call("GET", "/v1/ledger/status", &operator, None);
    assert_eq!(status, 200, "{now}");
    assert_eq!(now["headPosition"], now["projectedPosition"], "the read model caught up with the log");
    let (status, _, _) = served.call("GET", "/readyz", "", None);
    assert_eq!(status, 200);
    // Every acknowledged write is on the log (read beside the running replica).
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["export", "--data"])
        .arg(served.disk.join("data"))
        .output()
        .unwrap();
    let exported = String::from_utf8(out.stdout).unwrap();
    for org in &acknowledged {
        assert!(exported.contains(&format!("\"orgNo\":\"{org}\"")), "acknowledged {org} is on the log");
    }
    eprintln!(
        "acknowledged {}, outcome unknown {unknown}, refusals {codes:?}, read model failed: {read_model_failed}",
        acknowledged.len()
    );
}
