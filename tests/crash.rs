//! Crash consistency: `ledger serve` is killed with SIGKILL at seeded random moments
//! while it appends and projects. After each restart every acknowledged write is on the
//! log, and `ledger verify` finds the read model equal to a fresh rebuild (so decisions
//! equal the rebuild's) with the hash chain intact.
//!
//! `LEDGER_CRASH_SEED` and `LEDGER_CRASH_KILLS` reproduce or extend a run.

mod common;

use common::kafka::Replica;
use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledger::bench::{org_numbers, Lcg};

/// The crash tests run one at a time: each needs the machine's cores and disk to itself
/// for its kills to land while its load is running.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn killed_at_random_points_nothing_acknowledged_is_lost_and_the_read_model_matches_a_rebuild() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let seed: u64 = std::env::var("LEDGER_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261122);
    let kills: usize = std::env::var("LEDGER_CRASH_KILLS").ok().and_then(|s| s.parse().ok()).unwrap_or(50);
    let mut rng = Lcg::new(seed);
    let data = tempfile::tempdir().unwrap();
    let mut orgs = org_numbers(40_000_000).map(|o| o.to_string());
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut killed_while_writing = 0;

    for round in 0..kills {
        let replica = Replica::serve(data.path(), &[]);
        let key = ledger::auth::DevKey::load(&data.path().join("keys")).unwrap();
        let token = key.mint(ledger::auth::Role::Register, None, None, chrono::Utc::now().timestamp(), 600);
        let before = acknowledged.lock().unwrap().len();
        let names: Vec<String> = (&mut orgs).take(200).collect();
        let stop = Arc::new(AtomicBool::new(false));
        // Two writers register parties as fast as the ledger acknowledges them.
        let writers: Vec<_> = names
            .chunks(100)
            .enumerate()
            .map(|(w, chunk)| {
                let (url, token, stop, acknowledged) = (replica.url.clone(), token.clone(), stop.clone(), acknowledged.clone());
                let chunk = chunk.to_vec();
                std::thread::spawn(move || {
                    for (i, org) in chunk.iter().enumerate() {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let body = json!({"orgNo": org, "partyId": 900_000_000i64 + (round * 1000 + w * 100 + i) as i64, "partyUuid": uuid::Uuid::now_v7(), "name": format!("crash {org}")});
                        let answer = ureq::post(&format!("{url}/v1/parties"))
                            .set("Authorization", &format!("Bearer {token}"))
                            .timeout(Duration::from_secs(5))
                            .send_json(body);
                        match answer {
                            Ok(r) if r.status() == 201 => acknowledged.lock().unwrap().push(org.clone()),
                            _ => break,
                        }
                    }
                })
            })
            .collect();
        // The kill lands at a random moment once the writes are under way.
        let started = std::time::Instant::now();
        while acknowledged.lock().unwrap().len() == before && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.below(60) as u64));
        let still_writing = writers.iter().any(|w| !w.is_finished());
        drop(replica); // SIGKILL
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        if still_writing {
            killed_while_writing += 1;
        }
    }
    assert!(killed_while_writing * 2 >= kills, "most kills must land during writes ({killed_while_writing}/{kills})");

    // Every acknowledged write is on the log.
    let exported = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["export", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let on_log: HashSet<String> = String::from_utf8(exported.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|e| e["data"]["orgNo"].as_str().map(str::to_owned))
        .collect();
    let acknowledged = acknowledged.lock().unwrap();
    assert!(acknowledged.len() >= kills, "the load wrote in every round ({} acknowledged)", acknowledged.len());
    let lost: Vec<&String> = acknowledged.iter().filter(|o| !on_log.contains(*o)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");

    // The read model (after the restart's catch-up) equals a rebuild, chain and all.
    drop(ledger::ledger::Ledger::open_embedded(data.path()).unwrap());
    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["verify", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{report}{}", String::from_utf8_lossy(&verified.stderr));
    eprintln!(
        "{kills} kills ({killed_while_writing} during writes), {} writes acknowledged, none lost; {report}",
        acknowledged.len()
    );
}

/// The decision log under SIGKILL: `ledger serve` is killed at seeded random moments
/// while two PEPs ask it for decisions as fast as it answers. Every decision that was
/// answered (a 200 with its result) is in the decision log afterwards: a decision is
/// answered only once its record is durable.
#[test]
fn killed_while_deciding_every_answered_decision_is_in_the_decision_log() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    use ledger::decisions::{DecisionLog, Filter};
    let seed: u64 = std::env::var("LEDGER_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261130);
    let kills: usize = std::env::var("LEDGER_CRASH_KILLS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let mut rng = Lcg::new(seed);
    let data = tempfile::tempdir().unwrap();
    let answered: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut killed_while_deciding = 0;
    for round in 0..kills {
        let replica = Replica::serve(data.path(), &[]);
        let key = ledger::auth::DevKey::load(&data.path().join("keys")).unwrap();
        let token = key.mint(ledger::auth::Role::Pdp, None, None, chrono::Utc::now().timestamp(), 600);
        let stop = Arc::new(AtomicBool::new(false));
        let peps: Vec<_> = (0..2)
            .map(|pep| {
                let (url, token, stop, answered) = (replica.url.clone(), token.clone(), stop.clone(), answered.clone());
                std::thread::spawn(move || {
                    for i in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        // Each question names a resource of its own, to be found in the log.
                        let resource = format!("crash-{round}-{pep}-{i}");
                        let body = json!({"Request": {
                            "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:systemuser:uuid", "Value": uuid::Uuid::now_v7()}]}],
                            "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": "read"}]}],
                            "Resource": [{"Attribute": [{"AttributeId": "urn:altinn:resource", "Value": resource},
                                {"AttributeId": "urn:altinn:organization:identifier-no", "Value": "310000035"}]}]}});
                        let answer = ureq::post(&format!("{url}/authorization/api/v1/decision"))
                            .set("Authorization", &format!("Bearer {token}"))
                            .timeout(Duration::from_secs(5))
                            .send_json(body);
                        let Ok(answer) = answer else { break };
                        let Ok(body) = answer.into_json::<serde_json::Value>() else { break };
                        assert_eq!(body["response"][0]["decision"], "NotApplicable", "{body}");
                        answered.lock().unwrap().push(resource);
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + rng.below(80) as u64));
        let still_deciding = peps.iter().any(|p| !p.is_finished());
        drop(replica); // SIGKILL
        stop.store(true, Ordering::Relaxed);
        for p in peps {
            p.join().unwrap();
        }
        if still_deciding {
            killed_while_deciding += 1;
        }
    }
    assert!(
        killed_while_deciding * 2 >= kills,
        "most kills must land during decisions ({killed_while_deciding}/{kills})"
    );

    let log = DecisionLog::open_embedded(data.path(), 30, ledger::decisions::SyncMode::AfterAnswer)
        .expect("the decision log opens after the kills");
    let (mut logged, mut after) = (HashSet::new(), None);
    loop {
        let page = log.page(&Filter::default(), after, 1000).unwrap();
        logged.extend(page.entries.iter().filter_map(|(_, e)| e.resource.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let answered = answered.lock().unwrap();
    assert!(answered.len() > kills, "the PEPs were answered ({} decisions)", answered.len());
    let lost: Vec<&String> = answered.iter().filter(|r| !logged.contains(*r)).collect();
    assert!(lost.is_empty(), "answered but not in the decision log: {} of {}: {lost:?}", lost.len(), answered.len());
    eprintln!(
        "{kills} kills ({killed_while_deciding} while deciding), {} decisions answered, {} logged, none lost",
        answered.len(),
        logged.len()
    );
}
