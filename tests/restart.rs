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
        let log = EmbeddedLog::open(&dir.path().join("events.log"), 0).unwrap();
        log.append(&events.iter().map(record_of).collect::<Vec<_>>()).unwrap();
    }
    let recovered = Ledger::open_embedded(dir.path()).unwrap();
    let status = recovered.status().unwrap();
    assert_eq!(status.projected_position, events.len() as u64);

    // The same events imported the ordinary way give the same read model.
    let other = tempfile::tempdir().unwrap();
    let normal = Ledger::open_embedded(other.path()).unwrap();
    normal.import(&events.iter().map(Event::encode).collect::<Vec<_>>(), chrono::Utc::now()).unwrap();
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

#[tokio::test]
async fn a_read_model_restored_from_an_older_backup_catches_up_to_the_same_digest() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    // Back up the read model at this position (the service stopped, as for any backup).
    let t = t.restart();
    let backup = tempfile::tempdir().unwrap();
    t.ledger.close().unwrap();
    let data = t.path().to_owned();
    let t = {
        let TestLedger { app, ledger, dir, .. } = t;
        drop(app);
        drop(ledger);
        copy_dir(&data.join("read-model"), backup.path());
        TestLedger::around(dir, Ledger::open_embedded(&data).unwrap())
    };
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    let current = t.ledger.status().unwrap();

    // Restore the old backup: projection resumes from its older position and replays
    // events the model had already seen once — with no double effects.
    let TestLedger { app, ledger, dir, .. } = t;
    ledger.close().unwrap();
    drop(app);
    drop(ledger);
    std::fs::remove_dir_all(data.join("read-model")).unwrap();
    copy_dir(backup.path(), &data.join("read-model"));
    let restored = Ledger::open_embedded(&data).unwrap();
    let status = restored.status().unwrap();
    assert_eq!(status.projected_position, current.projected_position);
    assert_eq!(status.read_model_digest, current.read_model_digest);
    drop(dir);
}

#[test]
fn a_read_model_an_older_build_wrote_is_refused_until_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let ledger_cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ledger")).args(args).output().unwrap();
        assert!(out.status.success(), "ledger {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let data = dir.path().to_str().unwrap();
    ledger_cli(&["import", "--data", data, FIXTURE]);
    let current = ledger::domain::model::keys::LAYOUT;
    // Given a read model as a build before layouts were recorded left it (entries, no
    // layout), and one in the layout before this build's.
    for (older, named) in [(None, "layout 1".to_owned()), (Some(current - 1), format!("layout {}", current - 1))] {
        {
            let db = sled::open(dir.path().join("read-model")).unwrap();
            let meta = db.open_tree("store-meta").unwrap();
            match older {
                None => meta.remove("layout").unwrap(),
                Some(layout) => meta.insert("layout", layout.to_string().as_bytes()).unwrap(),
            };
            db.flush().unwrap();
        }
        // When the ledger opens it, it refuses and names the repair, rather than misread it.
        let refused = Ledger::open_embedded(dir.path()).err().expect("an older layout is refused").to_string();
        assert!(refused.contains("ledger rebuild"), "{refused}");
        assert!(refused.contains(&format!("{named}, this build reads layout {current}")), "{refused}");
        // Then a rebuild makes it readable, every record projected.
        ledger_cli(&["rebuild", "--data", data]);
        let status = Ledger::open_embedded(dir.path()).unwrap().status().unwrap();
        assert_eq!(status.projected_position, fixture_events().len() as u64);
    }
}

/// Given `ledger serve` with writes behind it, when the service manager sends SIGTERM
/// (`docker stop`, systemd, Kubernetes), then it shuts down as on Ctrl-C: exit 0, the
/// read model flushed, and `ledger verify` finds it equal to a rebuild.
#[test]
fn sigterm_shuts_down_gracefully_like_ctrl_c() {
    use common::kafka::{ledger_cli, Replica};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    assert!(ledger_cli(&["import", "--data", data, FIXTURE]).status.success());
    let mut replica = Replica::serve(dir.path(), &[]);
    let key = ledger::auth::DevKey::load(&dir.path().join("keys")).unwrap();
    let register = key.mint(ledger::auth::Role::Register, None, None, chrono::Utc::now().timestamp(), 600);
    for (i, org) in ledger::bench::org_numbers(41_000_000).take(20).enumerate() {
        let body = serde_json::json!({"orgNo": org.to_string(), "partyId": 800_000 + i, "partyUuid": uuid::Uuid::now_v7(), "name": "Sigterm AS"});
        replica.ok("POST", "/v1/parties", &register, Some(&body));
    }
    let pid = replica.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = replica.child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "a graceful stop, not a kill: {status:?}");
    let out = ledger_cli(&["verify", "--data", data]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("ok: the read model equals a rebuild"), "{text}");
}

/// Given a read model that is only behind its log (a crash after an append), verify
/// says so and succeeds; given one whose contents differ, it says it diverged and fails.
#[test]
fn verify_tells_a_read_model_behind_the_log_from_one_that_diverged() {
    use common::kafka::ledger_cli;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let events = fixture_events();
    assert!(ledger_cli(&["import", "--data", data, FIXTURE]).status.success());
    {
        // Appended durably, never projected: the process died in between.
        let log = EmbeddedLog::open(&dir.path().join("events.log"), 0).unwrap();
        let mut again = events[0].clone();
        again.id = uuid::Uuid::now_v7();
        log.append(&[record_of(&again)]).unwrap();
    }
    let out = ledger_cli(&["verify", "--data", data]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok, behind: the read model is 1 record(s) behind the log"), "{text}");

    {
        // A read model changed behind the ledger's back: a real fault.
        let db = sled::open(dir.path().join("read-model")).unwrap();
        let tree = db.open_tree("read-model").unwrap();
        let (key, _) = tree.iter().nth(tree.len() / 2).unwrap().unwrap();
        tree.insert(key, b"tampered".to_vec()).unwrap();
        db.flush().unwrap();
    }
    let out = ledger_cli(&["verify", "--data", data]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("DIVERGED"), "{text}");
}

/// `ledger import` refuses a file holding an event dated after its clock allows, and
/// writes nothing: one such event would otherwise hold the ledger's time hostage.
#[test]
fn import_refuses_an_event_from_the_far_future_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(FIXTURE).unwrap().lines().map(str::to_owned).collect();
    let mut poisoned: serde_json::Value = serde_json::from_str(&lines[3]).unwrap();
    poisoned["time"] = "9999-12-31T23:59:59Z".into();
    lines[3] = poisoned.to_string();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let data = dir.path().join("data");
    let out = common::kafka::ledger_cli(&["import", "--data", data.to_str().unwrap(), file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(":4:") && stderr.contains("time_out_of_range"), "{stderr}");
    assert!(!data.join("events.log").exists(), "nothing was written");
}

/// A line longer than any record is refused after reading no more than a record's
/// limit of it: the line comes through a pipe that never ends it, so an import that
/// read lines whole would wait forever instead of answering.
#[test]
fn import_refuses_an_oversized_line_without_reading_it_whole() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["import", "--data"])
        .arg(&data)
        .arg("/dev/stdin")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // 2 MiB of one line, and the pipe stays open: no newline, no end of file.
    let _ = stdin.write_all(&vec![b'x'; 2 << 20]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "import kept reading an endless line");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(stdin);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains(":1: line longer than"), "{stderr}");
    assert!(!data.join("events.log").exists(), "nothing was written");
}
