//! The benchmark runs end to end at a tiny scale: every row is printed, the comparison
//! engines agree with the PDP, and no request fails. A smoke test only — figures are
//! never asserted (speed is shown by `scripts/bench`, not by tests).

use std::process::Command;

fn brokers() -> String {
    std::env::var("LEDGER_TEST_KAFKA_BROKERS").unwrap_or_else(|_| {
        panic!(
            "LEDGER_TEST_KAFKA_BROKERS is not set: the benchmark's Kafka row needs a broker. \
             Run the suite with scripts/test, which installs and starts tansu on loopback."
        )
    })
}

#[test]
fn given_a_small_generated_ledger_when_benchmarked_then_every_row_is_printed_and_the_engines_agree() {
    let brokers = brokers();
    let bench = env!("CARGO_BIN_EXE_ledger-bench");
    let ledger = std::path::Path::new(bench).with_file_name("ledger");
    assert!(
        ledger.exists(),
        "{} is missing: build the workspace first (scripts/test does: cargo test --workspace)",
        ledger.display()
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let events = dir.path().join("ledger.jsonl");
    let generated = Command::new(bench)
        .args(["generate", "--scale", "0.002", "--out"])
        .arg(&events)
        .output()
        .expect("ledger-bench runs");
    assert!(generated.status.success(), "generate failed: {}", String::from_utf8_lossy(&generated.stderr));

    let run = Command::new(bench)
        .args(["run", "--decisions", "400", "--naive-decisions", "2", "--http-seconds", "0.5"])
        .args(["--kafka-events", "300", "--kafka", &brokers, "--events"])
        .arg(&events)
        .arg("--work")
        .arg(dir.path().join("work"))
        .arg("--ledger-bin")
        .arg(&ledger)
        .output()
        .expect("ledger-bench runs");
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "run failed: {}\n{out}", String::from_utf8_lossy(&run.stderr));
    for row in [
        "| Projection from the embedded log |",
        "| Rebuild of the first",
        "| Read model on disk |",
        "| Resident memory opening this read model in a fresh process, by part | ",
        "| PDP in process, one thread (current) |",
        "| As-of decision at position",
        "| Floor: the sled point reads",
        "| Naive baseline: fold the log",
        "| Cedar (cedar-policy)",
        "| PDP in process, one thread, each decision in the decision log",
        "| PDP over HTTP without the decision log",
        "| PDP over HTTP",
        "| PDP over HTTP (32 connections), decision log before-answer",
        "| Decision log's cost over HTTP",
        "| Ordinary decisions (4 connections) while 3 clients send maximal multi-requests",
        "| Resident memory serving",
        "| Write path over HTTP",
        "| Projection from the Kafka broker (300 events) |",
        "targets met:",
    ] {
        assert!(out.contains(row), "the table lacks {row:?}:\n{out}");
    }
    assert!(out.contains("(agreed on 2 of 2)"), "the naive fold disagrees with the PDP:\n{out}");
    assert!(out.contains("(agreed on 400 of 400)"), "Cedar disagrees with the PDP:\n{out}");
    // The PDP without the decision log and with it (both modes), the ordinary decisions beside the
    // maximal calls, the maximal calls themselves (in that row's label) and the write path.
    assert_eq!(out.matches(", 0 failed)").count(), 6, "an HTTP request failed:\n{out}");
}
