//! What the Kafka tests need: the broker the test command started, fresh topics, and
//! `ledger serve` replicas as separate processes.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ledger::log::kafka::KafkaConfig;

const HOW_TO_GET_A_BROKER: &str = "The Kafka tests need a Kafka-protocol broker. Run ./scripts/test: it installs \
the tansu broker once (cargo install tansu --locked --features dynostore) and starts it on loopback for the tests. \
To use a broker of your own, set LEDGER_TEST_KAFKA_BROKERS=host:port.";

/// The broker the test command started. Missing is a failure, never a skip.
pub fn brokers() -> String {
    std::env::var("LEDGER_TEST_KAFKA_BROKERS")
        .unwrap_or_else(|_| panic!("LEDGER_TEST_KAFKA_BROKERS is not set. {HOW_TO_GET_A_BROKER}"))
}

/// The broker binary, for tests that start a broker of their own.
pub fn tansu_bin() -> PathBuf {
    std::env::var("LEDGER_TEST_TANSU_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| panic!("LEDGER_TEST_TANSU_BIN is not set. {HOW_TO_GET_A_BROKER}"))
}

pub fn new_topic() -> String {
    format!("ledger-test-{}", uuid::Uuid::now_v7())
}

pub fn config(topic: &str) -> KafkaConfig {
    KafkaConfig { brokers: brokers(), topic: topic.to_owned(), create_topic: true, replication_factor: 1 }
}

/// Runs the `ledger` binary to completion.
pub fn ledger_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ledger")).args(args).output().expect("run ledger")
}

/// A `ledger serve` process; killed when dropped.
pub struct Replica {
    pub child: Child,
    pub url: String,
    pub data: PathBuf,
}

impl Replica {
    /// Starts `ledger serve` on `topic` with its own data directory and the shared keys.
    pub fn start(brokers: &str, topic: &str, data: &Path, keys: &Path, extra: &[&str]) -> Replica {
        let mut args: Vec<std::ffi::OsString> = vec!["--kafka".into(), brokers.into(), "--topic".into(), topic.into()];
        args.extend(["--keys".into(), keys.as_os_str().to_owned()]);
        args.extend(extra.iter().map(|e| e.into()));
        Replica::serve(data, &args)
    }

    /// Starts `ledger serve` on `data` (the embedded log unless `args` say otherwise).
    pub fn serve(data: &Path, args: &[std::ffi::OsString]) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg("--data")
            .arg(data)
            .args(args)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ledger serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Keep draining stderr so the replica never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("ledger: serving on ").and_then(|r| r.split(' ').next()) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(Ok(url.to_owned()));
                    }
                } else if let Some(tx) = &tx {
                    let _ = tx.send(Err(line.clone()));
                }
                eprintln!("[replica] {line}");
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Ok(url)) => return Replica { child, url, data: data.to_owned() },
                Ok(Err(line)) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("the replica did not start: {}", seen.join("\n"));
                }
            }
        }
    }

    fn request(&self, method: &str, path: &str, token: &str, min_position: Option<u64>) -> ureq::Request {
        let mut r =
            ureq::request(method, &format!("{}{path}", self.url)).set("Authorization", &format!("Bearer {token}"));
        if let Some(p) = min_position {
            r = r.set("Ledger-Min-Position", &p.to_string());
        }
        r
    }

    /// Sends a request; returns the status and the JSON body, whatever the status.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
        min_position: Option<u64>,
    ) -> (u16, Value) {
        let (status, body, _) = self.call_with_position(method, path, token, body, min_position);
        (status, body)
    }

    /// Sends a request; returns the status, the JSON body and the `Ledger-Position` header.
    pub fn call_with_position(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
        min_position: Option<u64>,
    ) -> (u16, Value, Option<u64>) {
        let req = self.request(method, path, token, min_position);
        let result = match body {
            Some(b) => req.send_json(b.clone()),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let position = response.header("ledger-position").map(|v| v.parse().unwrap());
        let text = response.into_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), position)
    }

    pub fn ok(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> Value {
        let (status, body) = self.call(method, path, token, body, None);
        assert!((200..300).contains(&status), "{method} {path}: {status} {body}");
        body
    }

    /// A write that must succeed; answers the position its `Ledger-Position` header names.
    pub fn write(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> u64 {
        let (status, body, position) = self.call_with_position(method, path, token, body, None);
        assert!((200..300).contains(&status), "{method} {path}: {status} {body}");
        position.expect("a write answers with its Ledger-Position")
    }

    pub fn status(&self, token: &str, min_position: u64) -> Value {
        let (status, body) = self.call("GET", "/v1/ledger/status", token, None, Some(min_position));
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
