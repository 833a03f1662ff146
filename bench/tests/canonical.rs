//! The read model's bytes do not depend on how the binary was built. This package pulls
//! in Cedar, which switches on serde_json's `preserve_order` for the whole build, so the
//! ledger library here encodes JSON objects differently unless it sorts them itself.
//! Given the golden replay's log, when it is projected by this build, then the read model
//! has the digest the service build recorded in the golden answers.

use ledger::ledger::Ledger;
use serde_json::Value;

#[test]
fn given_the_golden_log_when_projected_by_a_preserve_order_build_then_the_digest_is_the_service_builds() {
    // The premise: without it this test would prove nothing.
    let probe: Value = serde_json::from_str(r#"{"b":1,"a":2}"#).unwrap();
    assert_eq!(
        probe.to_string(),
        r#"{"b":1,"a":2}"#,
        "this build no longer has serde_json's preserve_order; move this test to a package that has it"
    );

    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../replay/golden/scenario-10-history");
    let records: Vec<Vec<u8>> = std::fs::read_to_string(golden.join("events.jsonl"))
        .expect("the golden log")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(golden.join("expected.json")).expect("the golden answers"))
            .unwrap();

    let data = tempfile::tempdir().expect("a temporary directory");
    let ledger = Ledger::open_embedded(data.path()).unwrap();
    ledger.import(&records, chrono::Utc::now()).unwrap();
    let status = ledger.status().unwrap();
    assert_eq!(status.read_model_digest, expected["status"]["digest"].as_str().unwrap());
}
