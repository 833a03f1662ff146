//! The auditor's page in a real browser: headless Chromium loads `/audit/` from a
//! running ledger, runs its script against the API with an auditor token, and shows a
//! system user's history (actors and causes) and an as-of decision.

mod common;

use common::kafka::Replica;
use std::path::PathBuf;
use std::process::Command;

const HOW_TO_GET_CHROMIUM: &str = "The UI test needs Chromium. ./scripts/test installs Debian's `chromium` package \
(apt-get install chromium); or set LEDGER_TEST_CHROMIUM to a Chromium binary.";

fn chromium() -> PathBuf {
    let path =
        std::env::var("LEDGER_TEST_CHROMIUM").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("/usr/bin/chromium"));
    assert!(path.exists(), "{} not found. {HOW_TO_GET_CHROMIUM}", path.display());
    path
}

/// Loads `url` in headless Chromium, lets its scripts and requests finish, returns the DOM.
fn rendered(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_audit_page_shows_a_history_with_actors_and_causes_and_an_as_of_decision() {
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("replay/golden/scenario-10-history");
    let questions: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden.join("questions.json")).unwrap()).unwrap();
    let skatt = questions["systemUserHistories"][1].as_str().unwrap().to_owned();
    let revisor = questions["systemUserHistories"][0].as_str().unwrap().to_owned();

    let data = tempfile::tempdir().unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["import", "--data"])
        .arg(data.path())
        .arg(golden.join("events.jsonl"))
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let replica = Replica::serve(data.path(), &[]);
    let key = ledger::auth::DevKey::load(&data.path().join("keys")).unwrap();
    let token = key.mint(ledger::auth::Role::Auditor, None, Some("auditor-anne"), chrono::Utc::now().timestamp(), 600);

    // History of the system user that was deleted, cascading an unlink.
    let dom = rendered(&format!("{}/audit/#token={token}&systemUser={skatt}", replica.url));
    assert!(dom.contains(&format!("system user {skatt}: 6 change(s)")), "{dom}");
    for text in [
        "system user requested",
        "request approved",
        "client linked",
        "system user deleted",
        "client unlinked",
        "by person kari.nordmann for 310000027",
        "by person ola.nordmann",
    ] {
        assert!(dom.contains(text), "the timeline shows '{text}': {dom}");
    }
    assert!(
        dom.contains("because system user deleted by person kari.nordmann at"),
        "the cascade names its cause: {dom}"
    );

    // Now Kunde A is linked again: permitted, with the grants.
    let decide = |at: &str| {
        rendered(&format!(
            "{}/audit/#token={token}&decide=1&systemUser={revisor}&action=write&resource=ske-aksjonaerregister&party=310000035&at={at}",
            replica.url
        ))
    };
    let dom = decide("");
    assert!(dom.contains("decision-Permit"), "{dom}");
    assert!(dom.contains("Granted by:") && dom.contains("REVI"), "{dom}");
    // As of the moment the auditor relationship was revoked (record 48): not permitted.
    let revoked: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(golden.join("events.jsonl")).unwrap().lines().nth(48).unwrap())
            .unwrap();
    assert_eq!(revoked["type"], "ledger.clientrelationship.revoked.v1");
    let dom = decide(revoked["time"].as_str().unwrap());
    assert!(dom.contains("decision-NotApplicable"), "{dom}");
    assert!(dom.contains("as of position 50"), "{dom}");

    // A bad token is shown as an error, not a blank page.
    let dom = rendered(&format!("{}/audit/#token=not-a-token&client=310000035", replica.url));
    assert!(dom.contains("Could not load the history: unauthenticated"), "{dom}");
}
