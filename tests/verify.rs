//! Rebuild, verify and tamper evidence: a rebuild reproduces the live read model; verify
//! finds a flipped byte, a removed event and a reordered pair in a copied log (framing
//! rewritten so the damage is not a mere checksum error); evidence bundles check offline.

mod common;

use axum::http::Method;
use common::*;
use std::path::Path;

use ledger::log::embedded::EmbeddedLog;
use ledger::log::{EventLog, NewRecord};

/// A closed data directory with scenario history and two seals; returns its path holder
/// and the number of records.
async fn sealed_ledger() -> (tempfile::TempDir, u64) {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let seal = t.call(Method::POST, "/v1/ledger/seals", Some(&t.operator()), None).await;
    assert_eq!(seal.assert_ok()["sealedRecords"], seal.body["position"].as_u64().unwrap() - 1);
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    t.call(Method::POST, "/v1/ledger/seals", Some(&t.operator()), None).await.assert_ok();
    let head = t.position();
    t.ledger.close().unwrap();
    let TestLedger { dir, app, ledger, .. } = t;
    drop(app);
    drop(ledger);
    (dir, head)
}

/// Copies the data directory, lets `tamper` rewrite the records, and writes them back
/// as a well-formed log (valid framing and checksums).
fn tampered(original: &Path, tamper: impl FnOnce(&mut Vec<Vec<u8>>)) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(original, copy.path());
    let file = copy.path().join("events.log");
    let mut records: Vec<Vec<u8>> = {
        let log = EmbeddedLog::open_read_only(&file).unwrap();
        log.read(0, 100_000).unwrap().into_iter().map(|r| r.bytes).collect()
    };
    tamper(&mut records);
    std::fs::remove_file(&file).unwrap();
    let log = EmbeddedLog::open(&file, 0).unwrap();
    let new: Vec<NewRecord> = records
        .into_iter()
        .map(|bytes| NewRecord { key: String::new(), id: String::new(), kind: String::new(), bytes })
        .collect();
    log.append(&new).unwrap();
    copy
}

fn ledger_cmd(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ledger")).args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn verify(dir: &Path) -> (bool, String) {
    ledger_cmd(&["verify", "--data", dir.to_str().unwrap()])
}

#[tokio::test]
async fn verify_accepts_an_intact_ledger_and_rebuild_reproduces_its_digest() {
    let (dir, head) = sealed_ledger().await;
    let (ok, out) = verify(dir.path());
    assert!(ok, "{out}");
    assert!(out.contains(&format!("records replayed: {head}")), "{out}");
    assert!(out.contains("seals checked:    2"), "{out}");
    let before = ledger::ledger::Ledger::open_embedded(dir.path()).unwrap().status().unwrap().read_model_digest;
    let (ok, out) = ledger_cmd(&["rebuild", "--data", dir.path().to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains(&before), "the rebuilt read model has the live digest: {out}");
    let after = ledger::ledger::Ledger::open_embedded(dir.path()).unwrap().status().unwrap().read_model_digest;
    assert_eq!(before, after);
}

#[tokio::test]
async fn verify_names_a_flipped_byte() {
    let (dir, _) = sealed_ledger().await;
    // Record 2 is Kunde A AS's registration in the fixture: make it "Kunde C AS".
    let copy = tampered(dir.path(), |records| {
        let text = String::from_utf8(records[2].clone()).unwrap();
        assert!(text.contains("Kunde A AS"));
        let at = text.find("Kunde A AS").unwrap() + "Kunde ".len();
        records[2][at] ^= 0x02;
    });
    let (ok, out) = verify(copy.path());
    assert!(!ok, "{out}");
    assert!(out.contains("record 2 was altered"), "{out}");
    assert!(out.contains("seal at record"), "the seals after the damage no longer hold: {out}");
    assert!(out.contains("first divergence: tree read-model"), "{out}");
}

#[tokio::test]
async fn verify_names_a_removed_event() {
    let (dir, _) = sealed_ledger().await;
    let copy = tampered(dir.path(), |records| {
        records.remove(5);
    });
    let (ok, out) = verify(copy.path());
    assert!(!ok, "{out}");
    assert!(out.contains("record 5 is missing"), "{out}");
}

#[tokio::test]
async fn verify_names_a_reordered_pair() {
    let (dir, _) = sealed_ledger().await;
    let copy = tampered(dir.path(), |records| records.swap(7, 8));
    let (ok, out) = verify(copy.path());
    assert!(!ok, "{out}");
    assert!(out.contains("record 7 was reordered"), "{out}");
}

#[tokio::test]
async fn an_evidence_bundle_checks_offline_and_reveals_tampering() {
    let (dir, head) = sealed_ledger().await;
    let data = dir.path().to_str().unwrap();
    let bundle = dir.path().join("evidence.json");
    let (ok, out) = ledger_cmd(&[
        "export",
        "--data",
        data,
        "--until",
        "2099-01-01T00:00:00Z",
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = ledger_cmd(&["verify", "--bundle", bundle.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("{head} records")) && out.contains("2 seals"), "{out}");

    // An earlier moment holds only the fixture (recorded in January 2026).
    let early = dir.path().join("early.json");
    let (ok, out) =
        ledger_cmd(&["export", "--data", data, "--until", "2026-02-01T00:00:00Z", "--bundle", early.to_str().unwrap()]);
    assert!(ok, "{out}");
    let early: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&early).unwrap()).unwrap();
    assert_eq!(early["position"], fixture_records().len());

    // Change one character of one event: the bundle no longer checks.
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let altered = doc["events"][3].as_str().unwrap().replace("Kunde B AS", "Kunde X AS");
    doc["events"][3] = serde_json::Value::String(altered);
    std::fs::write(&bundle, serde_json::to_vec(&doc).unwrap()).unwrap();
    let (ok, out) = ledger_cmd(&["verify", "--bundle", bundle.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(out.contains("seal at record") && out.contains("does not hold"), "{out}");
}

#[tokio::test]
async fn the_status_digest_is_scanned_once_per_position_and_is_the_digest_at_the_position_it_reports() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    let store = t.ledger.model();

    // Given a quiet ledger, when status is asked twice, then the read model is scanned once.
    let scans = store.digest_scans();
    let first = t.ledger.status().unwrap();
    let again = t.ledger.status().unwrap();
    assert_eq!(store.digest_scans(), scans + 1, "the second status reuses the first scan");
    assert_eq!(
        (again.projected_position, &again.read_model_digest),
        (first.projected_position, &first.read_model_digest)
    );

    // When a write moves the position, then the next status scans again and reports the new state.
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let moved = t.ledger.status().unwrap();
    assert_eq!(store.digest_scans(), scans + 2);
    assert!(moved.projected_position > first.projected_position);
    assert_ne!(moved.read_model_digest, first.read_model_digest);
    assert_eq!(moved.read_model_digest, store.digest(), "the reported digest is the read model's");
}
