//! Poison records: an undecodable, schema-invalid or unknown-version record on the log is
//! quarantined — kept with its position and reason, visible in status — and projection
//! goes on with decisions unharmed.

mod common;

use axum::http::Method;
use common::*;
use serde_json::json;

use ledger::log::NewRecord;

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
