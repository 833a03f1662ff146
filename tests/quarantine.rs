//! Poison records: an undecodable, schema-invalid or unknown-version record on the log is
//! quarantined — kept with its position and reason, visible in status — and projection
//! goes on with decisions unharmed.

mod common;

use axum::http::Method;
use common::*;
use serde_json::json;

use ledger::domain::model::ReadModel;
use ledger::log::{EventLog, NewRecord};

fn raw(bytes: &[u8]) -> NewRecord {
    NewRecord { key: String::new(), id: String::new(), kind: String::new(), bytes: bytes.to_vec() }
}

#[tokio::test]
async fn poison_records_are_quarantined_and_projection_goes_on() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;

    // Whatever wrote these to the log, they are no events of this build.
    let mut unknown_version: serde_json::Value = serde_json::from_slice(&fixture_records()[0]).unwrap();
    unknown_version["type"] = json!("ledger.party.registered.v9");
    unknown_version["dataschema"] = json!("urn:delegation-ledger:schema:ledger.party.registered.v9");
    let mut schema_invalid: serde_json::Value = serde_json::from_slice(&fixture_records()[0]).unwrap();
    schema_invalid["data"]["orgNo"] = json!("310000018");
    let poison = [
        raw(b"\x00\x01 not json at all"),
        raw(unknown_version.to_string().as_bytes()),
        raw(schema_invalid.to_string().as_bytes()),
    ];
    let before = t.position();
    t.ledger.log().append(&poison).unwrap();
    t.ledger.project().unwrap();

    // Projection went past them, and goes on.
    let linked = t.link(RETT_REVISJON, &agent, KUNDE_A).await;
    assert_eq!(linked.written_at(), before + 4);
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "Permit");

    let status = t.ledger.status().unwrap();
    assert_eq!(status.quarantined_records, 3);
    let listed = t.call(Method::GET, "/v1/ledger/quarantine", Some(&t.operator()), None).await;
    let data = listed.assert_ok()["data"].as_array().unwrap().clone();
    assert_eq!(
        data.iter().map(|q| q["index"].as_u64().unwrap()).collect::<Vec<_>>(),
        vec![before, before + 1, before + 2]
    );
    assert!(data[0]["reason"].as_str().unwrap().contains("not JSON"), "{data:?}");
    assert!(
        data[1]["reason"].as_str().unwrap().contains("unknown event type 'ledger.party.registered.v9'"),
        "{data:?}"
    );
    assert!(data[2]["reason"].as_str().unwrap().contains("invalid data"), "{data:?}");

    // A rebuild quarantines the same records and reaches the same read model.
    let digest = status.read_model_digest.clone();
    let rebuilt = ledger::store::Store::temporary().unwrap();
    ledger::verify::rebuild_into(t.ledger.log(), &rebuilt, &mut |_, _| {}).unwrap();
    assert_eq!(rebuilt.digest(), digest);
}

#[test]
fn a_long_catch_up_read_ahead_reaches_what_projecting_batch_by_batch_reaches() {
    use ledger::projector::{catch_up, PROJECT_BATCH_EVENTS_MAX};
    // Given a log of several projected batches' worth of records, a poison record among them.
    let batch = PROJECT_BATCH_EVENTS_MAX as u64;
    let data = tempfile::tempdir().unwrap();
    let log = ledger::log::embedded::EmbeddedLog::open(&data.path().join("events.log"), 0).unwrap();
    let stepwise = ledger::store::Store::temporary().unwrap();
    let records: Vec<NewRecord> = parties(3 * batch).iter().map(|bytes| raw(bytes)).collect();
    let (first, rest) = records.split_at(batch as usize + 17);
    for chunk in first.chunks(500).chain([&[raw(b"not an event")][..]]).chain(rest.chunks(500)) {
        log.append(chunk).unwrap();
        // Each catch-up here is at most one batch: it reads on the caller's thread.
        catch_up(&log, &stepwise).unwrap();
    }
    assert_eq!(stepwise.position(), 3 * batch + 1);

    // When a new read model catches up with all of it at once (read and decoded ahead).
    let whole = ledger::store::Store::temporary().unwrap();
    let mut seen = Vec::new();
    ledger::projector::catch_up_observed(&log, &whole, &mut |position, _| seen.push(position)).unwrap();

    // Then it committed batch by batch and reached the same read model, poison quarantined.
    assert_eq!(seen, vec![batch, 2 * batch, 3 * batch, 3 * batch + 1]);
    assert_eq!(whole.quarantined().iter().map(|q| q.index).collect::<Vec<_>>(), vec![batch + 17]);
    assert_eq!(whole.digest(), stepwise.digest());
}
