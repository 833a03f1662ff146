//! Golden replays: each directory under `replay/golden/` holds an event log, the
//! questions an auditor asks of it (decisions as of positions, histories) and the
//! expected answers. The test replays the log into a fresh ledger and asks again.
//!
//! When a change is meant to alter the answers, regenerate them with
//! `LEDGER_REGENERATE_GOLDEN=1 cargo test --test golden` and review the diff. A new
//! read-model layout changes the digest (its bytes) and nothing else: the decisions and
//! histories of a golden replay are the proof that the new layout answers as the old.

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

use ledger::ledger::Ledger;

/// The parts of a history entry that are facts of the log (not of rendering).
fn essentials(entry: &Value) -> Value {
    let mut e = json!({
        "position": entry["position"],
        "type": entry["type"],
        "outcome": entry["outcome"],
        "actor": entry["actor"]["id"],
        "onBehalfOf": entry["onBehalfOf"],
    });
    if let Some(reason) = entry["changed"].get("reason") {
        e["reason"] = reason.clone();
    }
    if let Some(cause) = entry.get("cause") {
        e["cause"] = json!({"type": cause["type"], "actor": cause["actor"]["id"], "position": cause["position"]});
    }
    e
}

async fn answers(dir: &Path) -> Value {
    let records: Vec<Vec<u8>> = std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect();
    let questions: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("questions.json")).unwrap()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let ledger = Ledger::open_embedded(data.path()).unwrap();
    ledger.import(&records, chrono::Utc::now()).unwrap();
    let t = TestLedger::around(data, ledger);
    let auditor = t.token(ledger::auth::Role::Auditor, None);

    let d = &questions["decisions"];
    let mut decisions = serde_json::Map::new();
    for position in d["positions"].as_array().unwrap() {
        let mut row = Vec::new();
        for pair in d["pairs"].as_array().unwrap() {
            let body = json!({"systemUser": pair[0], "party": pair[1], "resource": d["resource"], "action": d["action"], "atPosition": position});
            let reply = t.call(Method::POST, "/v1/decisions", Some(&auditor), Some(body)).await;
            row.push(reply.assert_ok()["decision"].clone());
        }
        decisions.insert(position.to_string(), Value::Array(row));
    }
    let history = |path: String| {
        let (t, auditor) = (&t, auditor.clone());
        async move {
            let reply = t.call(Method::GET, &path, Some(&auditor), None).await;
            reply.assert_ok()["data"].as_array().unwrap().iter().map(essentials).collect::<Vec<_>>()
        }
    };
    let mut users = serde_json::Map::new();
    for id in questions["systemUserHistories"].as_array().unwrap() {
        let id = id.as_str().unwrap();
        users.insert(
            id.to_owned(),
            Value::Array(history(format!("/v1/audit/system-users/{id}/history?limit=1000")).await),
        );
    }
    let mut clients = serde_json::Map::new();
    for org in questions["clientHistories"].as_array().unwrap() {
        let org = org.as_str().unwrap();
        clients
            .insert(org.to_owned(), Value::Array(history(format!("/v1/audit/clients/{org}/history?limit=1000")).await));
    }
    json!({"status": {"position": t.position(), "layout": ledger::domain::model::keys::LAYOUT, "digest": t.digest()}, "decisions": decisions, "systemUserHistories": users, "clientHistories": clients})
}

#[tokio::test]
async fn golden_replays_give_the_expected_decisions_and_histories() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("replay/golden");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("events.jsonl").exists() {
            continue;
        }
        let got = answers(&dir).await;
        let expected_file = dir.join("expected.json");
        if std::env::var_os("LEDGER_REGENERATE_GOLDEN").is_some() {
            std::fs::write(&expected_file, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        }
        let expected: Value = serde_json::from_str(&std::fs::read_to_string(&expected_file).unwrap_or_else(|_| {
            panic!("{} is missing; generate it with LEDGER_REGENERATE_GOLDEN=1", expected_file.display())
        }))
        .unwrap();
        for key in ["status", "decisions", "systemUserHistories", "clientHistories"] {
            assert_eq!(got[key], expected[key], "{}: {key} differ from expected.json", dir.display());
        }
        checked += 1;
    }
    assert!(checked > 0, "no golden replays found under {}", root.display());
}
