//! The service's pages in a real browser: headless Chromium loads them from a running
//! ledger and runs their scripts against the API — the auditor's page (a system user's
//! history with actors and causes, an as-of decision), the page a request's
//! `confirmUrl` names and the sign-in page.

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

/// The page a request's `confirmUrl` names, in a real browser: it is there (no 404),
/// renders under its strict policy, and shows a person who is not signed in the way to
/// sign in; the sign-in page renders too. (The answering itself, with cookies and forms,
/// is `tests/portal.rs`.)
#[test]
fn the_confirm_url_is_a_page_that_shows_the_way_to_sign_in() {
    use common::{pkg, FIXTURE, KUNDE_A, MAESTRO};
    use ledger::auth::Role;
    use serde_json::json;

    let data = tempfile::tempdir().unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["import", "--data"])
        .arg(data.path())
        .arg(FIXTURE)
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let replica = Replica::serve(data.path(), &[]);
    let key = ledger::auth::DevKey::load(&data.path().join("keys")).unwrap();
    let now = chrono::Utc::now().timestamp();
    let org = |o: &str| ledger::domain::ids::OrgNo::parse(o).unwrap();
    let vendor = key.mint(Role::Vendor, Some(&org(MAESTRO)), None, now, 600);
    let a = "/authentication/api/v1";
    replica.ok(
        "POST",
        &format!("{a}/systemregister/vendor"),
        &vendor,
        Some(&json!({"id": "310000019_maestro", "vendor": {"ID": "0192:310000019"}, "name": {"nb": "Maestro"},
            "description": {"nb": "Maestro"}, "accessPackages": [{"urn": pkg("skattegrunnlag")}],
            "rights": [{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}]})),
    );
    let request = replica.ok(
        "POST",
        &format!("{a}/systemuser/request/vendor"),
        &vendor,
        Some(&json!({"systemId": "310000019_maestro", "partyOrgNo": KUNDE_A,
            "rights": [{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}]})),
    );
    let (id, confirm) = (request["id"].as_str().unwrap(), request["confirmUrl"].as_str().unwrap());
    assert!(confirm.starts_with(&format!("{}/accessmanagement/ui/systemuser/request?id={id}", replica.url)));

    let dom = rendered(&format!("{confirm}&lang=en"));
    assert!(dom.contains("<html lang=\"en\">") && dom.contains("Sign in to see this page."), "{dom}");
    assert!(dom.contains("href=\"/accessmanagement/ui/signin?next="), "{dom}");
    let dom = rendered(&format!("{}/accessmanagement/ui/signin?lang=nb", replica.url));
    assert!(dom.contains("Logg inn (lokal utvikling)") && dom.contains("name=\"org\""), "{dom}");
    assert!(dom.contains("lang=\"en\">In English</a>"), "the switch offers English, in English: {dom}");
}

/// The API reference page, in a real browser: it renders `/openapi.json` (same origin,
/// under the pages' strict policy) as every operation, grouped by tag, with who may
/// call it.
#[test]
fn the_api_page_lists_every_documented_operation_with_its_roles() {
    let data = tempfile::tempdir().unwrap();
    let replica = Replica::serve(data.path(), &[]);
    // (The document needs no token; the harness sends one anyway.)
    let (status, document) = replica.call("GET", "/openapi.json", "unused", None, None);
    assert_eq!(status, 200);
    let dom = rendered(&format!("{}/api/", replica.url));
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let shown = format!("{} {path}", method.to_uppercase());
            assert!(dom.contains(&shown), "the page lists {shown}");
            operations += 1;
        }
    }
    assert!(operations >= 95, "{operations} operations");
    assert!(dom.contains("Client delegation (") && dom.contains("Who: bearer: client-admin"), "{dom}");
    assert!(dom.contains("maskinporten: altinn:authentication/systemuser.request.write"), "scopes are shown");
}
