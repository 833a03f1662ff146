//! Restarting the ledger on the same data directory gives the same status digest and
//! the same decisions; a crash between append and projection loses nothing.

mod common;

use common::*;

use ledger::domain::events::Event;
use ledger::ledger::{record_of, Ledger};
use ledger::log::embedded::EmbeddedLog;
use ledger::log::EventLog;

#[tokio::test]
async fn a_restart_keeps_the_digest_and_the_decisions() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    let status = t.ledger.status().unwrap();
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "Permit");

    let t = t.restart();
    let again = t.ledger.status().unwrap();
    assert_eq!((again.head_position, again.projected_position), (status.head_position, status.projected_position));
    assert_eq!(again.read_model_digest, status.read_model_digest);
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "Permit");
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_B).await, "NotApplicable");
}

#[tokio::test]
async fn events_appended_but_not_projected_before_a_crash_are_projected_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let events = fixture_events();
    {
        // The process appends durably, then dies before projecting.
        let log = EmbeddedLog::open(&dir.path().join("events.log")).unwrap();
        log.append(&events.iter().map(record_of).collect::<Vec<_>>()).unwrap();
    }
    let recovered = Ledger::open_embedded(dir.path()).unwrap();
    let status = recovered.status().unwrap();
    assert_eq!(status.projected_position, events.len() as u64);

    // The same events imported the ordinary way give the same read model.
    let other = tempfile::tempdir().unwrap();
    let normal = Ledger::open_embedded(other.path()).unwrap();
    normal.import(&events.iter().map(Event::encode).collect::<Vec<_>>()).unwrap();
    assert_eq!(normal.status().unwrap().read_model_digest, status.read_model_digest);
}

#[test]
fn the_cli_import_refuses_a_file_with_one_bad_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let mut text = std::fs::read_to_string(FIXTURE).unwrap();
    text.push_str("{\"specversion\":\"1.0\"}\n");
    std::fs::write(&file, text).unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["import", "--data"])
        .arg(&data)
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(":32:"), "the bad line is named: {stderr}");
    assert!(!data.join("events.log").exists(), "nothing was written");

    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["import", "--data"])
        .arg(&data)
        .arg(FIXTURE)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let exported = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["export", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let exported = String::from_utf8(exported.stdout).unwrap();
    assert!(exported == std::fs::read_to_string(FIXTURE).unwrap(), "export gives back the exact records imported");
}
