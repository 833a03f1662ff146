//! Evidence is never altered: damage to the embedded log is refused, never "repaired".
//!
//! Given a closed ledger, when one bit is flipped in a frame header field, a checksum or
//! the body of the first, a middle or the last record, then every command that reads
//! the log (verify, export, a bundle, rebuild) and every one that would write it
//! (serve, import, seal) refuses with the record's index and byte offset, and the file
//! is byte-identical afterwards. Only a provably torn final append is cut, only by the
//! writer, and only above what the read model saw; `repair-log` is the explicit way out.

mod common;

use axum::http::Method;
use common::*;
use std::path::Path;

/// Byte offsets of every frame in a format-2 log file (8-byte magic, 24-byte headers).
fn frames(bytes: &[u8]) -> Vec<usize> {
    let mut at = 8;
    let mut out = Vec::new();
    while at < bytes.len() {
        out.push(at);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 24 + len;
    }
    out
}

fn ledger(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ledger")).args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A closed data directory holding the fixture and a few commands' events.
async fn closed_ledger() -> tempfile::TempDir {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    t.call(Method::POST, "/v1/ledger/seals", Some(&t.operator()), None).await.assert_ok();
    t.ledger.close().unwrap();
    let TestLedger { dir, app, ledger, .. } = t;
    drop(app);
    drop(ledger);
    dir
}

/// Every command that touches the log, as (name, arguments) for a data directory.
fn commands(data: &str, scratch: &Path) -> Vec<(&'static str, Vec<String>)> {
    let bundle = scratch.join("bundle.json").to_str().unwrap().to_owned();
    let import = scratch.join("one.jsonl");
    std::fs::write(&import, std::fs::read_to_string(FIXTURE).unwrap().lines().next().unwrap()).unwrap();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        ("verify", s(&["verify", "--data", data])),
        ("export", s(&["export", "--data", data])),
        ("bundle", s(&["export", "--data", data, "--until", "2030-01-01T00:00:00Z", "--bundle", &bundle])),
        ("rebuild", s(&["rebuild", "--data", data])),
        ("seal", s(&["seal", "--data", data])),
        ("import", s(&["import", "--data", data, import.to_str().unwrap()])),
        ("serve", s(&["serve", "--data", data, "--listen", "127.0.0.1:0"])),
    ]
}

/// A part of a frame: its name, and its offset in a frame whose body has the given length.
type Field = (&'static str, fn(usize) -> usize);

#[tokio::test]
async fn one_flipped_bit_anywhere_is_refused_by_every_command_and_changes_no_byte() {
    let original = closed_ledger().await;
    let log = original.path().join("events.log");
    let intact = std::fs::read(&log).unwrap();
    let offsets = frames(&intact);
    assert!(offsets.len() > 30, "the fixture and the commands give many records");
    let last = offsets.len() - 1;
    // (what, offset within the frame): every header field, both checksums, the body.
    let fields: [Field; 8] = [
        ("length", |_| 0),
        ("append count", |_| 4),
        ("append time", |_| 9),
        ("body checksum", |_| 17),
        ("header checksum", |_| 22),
        ("first body byte", |_| 24),
        ("middle body byte", |len| 24 + len / 2),
        ("last body byte", |len| 24 + len - 1),
    ];
    let mut flipped = 0;
    let mut runs = 0;
    for record in [0, offsets.len() / 2, last] {
        let at = offsets[record];
        let len = u32::from_le_bytes(intact[at..at + 4].try_into().unwrap()) as usize;
        for (what, field) in &fields {
            for bit in [0u8, 7] {
                let copy = tempfile::tempdir().unwrap();
                copy_dir(original.path(), copy.path());
                let file = copy.path().join("events.log");
                let mut damaged = intact.clone();
                damaged[at + field(len)] ^= 1 << bit;
                std::fs::write(&file, &damaged).unwrap();
                flipped += 1;
                let scratch = tempfile::tempdir().unwrap();
                for (name, args) in commands(copy.path().to_str().unwrap(), scratch.path()) {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let (ok, out) = ledger(&args);
                    runs += 1;
                    let case = format!("{name} with bit {bit} of the {what} of record {record} flipped");
                    assert!(!ok, "{case} must refuse: {out}");
                    assert!(out.contains(&format!("record {record} at byte {at}")), "{case} names where: {out}");
                    assert_eq!(std::fs::read(&file).unwrap(), damaged, "{case} changed the log");
                }
            }
        }
    }
    eprintln!("{flipped} flipped bits, {runs} command runs, every log file unchanged");
}

#[tokio::test]
async fn a_torn_final_append_is_cut_by_the_writer_alone_and_logged() {
    let dir = closed_ledger().await;
    let data = dir.path().to_str().unwrap();
    let log = dir.path().join("events.log");
    let whole = std::fs::read(&log).unwrap();
    // A crash partway through an append that was never acknowledged: a frame header
    // whose body never reached the disk.
    let mut torn = whole.clone();
    let header = &whole[frames(&whole)[0]..frames(&whole)[0] + 24];
    torn.extend_from_slice(header);
    torn.extend_from_slice(b"{\"specversion\"");
    std::fs::write(&log, &torn).unwrap();

    for args in [vec!["verify", "--data", data], vec!["export", "--data", data]] {
        let (ok, out) = ledger(&args);
        assert!(ok, "{args:?} reads the acknowledged records and leaves the torn tail: {out}");
        assert_eq!(std::fs::read(&log).unwrap(), torn, "{args:?} changed nothing");
    }
    let (ok, out) = ledger(&["seal", "--data", data]);
    assert!(ok, "{out}");
    assert!(out.contains("cutting off an append that never completed"), "the cut is logged: {out}");
    let after = std::fs::read(&log).unwrap();
    assert_eq!(&after[..whole.len()], &whole[..], "every acknowledged byte stays");
    let (ok, out) = ledger(&["verify", "--data", data]);
    assert!(ok, "{out}");
}

#[tokio::test]
async fn a_log_shorter_than_the_read_model_is_refused_not_followed() {
    let dir = closed_ledger().await;
    let data = dir.path().to_str().unwrap();
    let log = dir.path().join("events.log");
    let whole = std::fs::read(&log).unwrap();
    // The last acknowledged append (the seal) is lost: a clean cut at a frame boundary.
    let cut = *frames(&whole).last().unwrap();
    std::fs::write(&log, &whole[..cut]).unwrap();
    let before = std::fs::read(&log).unwrap();
    for args in [vec!["serve", "--data", data, "--listen", "127.0.0.1:0"], vec!["seal", "--data", data]] {
        let (ok, out) = ledger(&args);
        assert!(!ok, "{args:?} must refuse a log that lost acknowledged records: {out}");
        assert!(out.contains("Restore the log from a replica or a backup"), "{out}");
        assert_eq!(std::fs::read(&log).unwrap(), before);
    }
    let (ok, out) = ledger(&["verify", "--data", data]);
    assert!(!ok && out.contains("the log ends at"), "verify says the log is short: {out}");
}

#[tokio::test]
async fn repair_log_keeps_the_damaged_file_and_reports_what_it_dropped() {
    let dir = closed_ledger().await;
    let data = dir.path().to_str().unwrap();
    let log = dir.path().join("events.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let offsets = frames(&bytes);
    let middle = offsets.len() / 2;
    bytes[offsets[middle] + 1] ^= 0x10;
    std::fs::write(&log, &bytes).unwrap();
    let report = dir.path().join("repair.json");

    let (ok, out) = ledger(&["repair-log", "--data", data, "--report", report.to_str().unwrap()]);
    assert!(ok, "{out}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["action"], "cut-at-damage");
    assert_eq!(report["recordsKept"], middle as u64);
    assert_eq!(report["damage"]["index"], middle as u64);
    assert!(report["reframed"].as_u64().unwrap() > 0, "the fixture's one append was cut short: {report}");
    assert_eq!(report["dropped"].as_array().unwrap().len(), offsets.len() - middle - 1, "{report}");
    let kept = std::path::PathBuf::from(report["originalKeptAt"].as_str().unwrap());
    assert_eq!(std::fs::read(&kept).unwrap(), bytes, "the damaged file is kept exactly");
    let repaired = std::fs::read(&log).unwrap();
    assert_eq!(repaired.len(), offsets[middle], "the log is its intact prefix");
    let bodies = |b: &[u8]| {
        frames(b)
            .iter()
            .map(|&at| {
                let len = u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
                b[at + 24..at + 24 + len].to_vec()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(bodies(&repaired), bodies(&bytes[..offsets[middle]]), "every kept record byte for byte");

    // The read model saw more than the log now holds: serving refuses until a rebuild.
    let (ok, out) = ledger(&["seal", "--data", data]);
    assert!(!ok, "{out}");
    let (ok, out) = ledger(&["rebuild", "--data", data]);
    assert!(ok, "{out}");
    let (ok, out) = ledger(&["verify", "--data", data]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("records replayed: {middle}")), "{out}");
}

#[test]
fn a_format_1_log_is_read_refused_for_writing_and_upgraded_record_for_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let records: Vec<Vec<u8>> = fixture_records();
    let mut v1 = b"LEDGER\x00\x01".to_vec();
    for r in &records {
        v1.extend_from_slice(&(r.len() as u32).to_le_bytes());
        v1.extend_from_slice(&crc32(r).to_le_bytes());
        v1.extend_from_slice(r);
    }
    let log = dir.path().join("events.log");
    std::fs::write(&log, &v1).unwrap();

    let (ok, out) = ledger(&["export", "--data", data]);
    assert!(ok, "{out}");
    assert_eq!(out.lines().count(), records.len());
    let (ok, out) = ledger(&["seal", "--data", data]);
    assert!(!ok && out.contains("ledger upgrade-log"), "{out}");
    assert_eq!(std::fs::read(&log).unwrap(), v1);

    let (ok, out) = ledger(&["upgrade-log", "--data", data]);
    assert!(ok, "{out}");
    assert_eq!(std::fs::read(dir.path().join("events.log.v1")).unwrap(), v1, "the old file is kept");
    let (ok, exported) = ledger(&["export", "--data", data]);
    assert!(ok);
    let text: Vec<&str> = exported.lines().collect();
    assert_eq!(text.len(), records.len());
    assert!(text.iter().zip(&records).all(|(a, b)| a.as_bytes() == b.as_slice()), "byte for byte");
    let (ok, out) = ledger(&["seal", "--data", data]);
    assert!(ok, "{out}");
}

/// CRC-32 (IEEE), as format 1 framed its records.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// `export` opens the log read-only, without the writer's lock: it works while `serve`
/// runs, and gives back every acknowledged record exactly.
#[tokio::test]
async fn export_works_while_serve_runs() {
    let dir = closed_ledger().await;
    let data = dir.path().to_str().unwrap();
    let (ok, before) = ledger(&["export", "--data", data]);
    assert!(ok, "{before}");
    let _serving = common::kafka::Replica::serve(dir.path(), &[]);
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_ledger")).args(["export", "--data", data]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), before);
}
