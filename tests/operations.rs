//! Operations: liveness, readiness (the projection within a lag of the head) and
//! Prometheus metrics (decisions by result, projection lag, appends, quarantine,
//! request latency).

mod common;

use axum::http::Method;
use common::*;

use ledger::ledger::record_of;

#[tokio::test]
async fn health_readiness_and_metrics_tell_an_operator_what_is_going_on() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "Permit");
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_B).await, "NotApplicable");

    let health = t.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status.as_u16(), 200);
    let ready = t.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status.as_u16(), 200, "{}", ready.body);

    // A record on the log that this replica has not projected yet: not ready (lag 0 allowed here).
    let extra = fixture_events().into_iter().next().unwrap();
    let mut extra = extra;
    extra.id = uuid::Uuid::now_v7();
    t.ledger.log().append(&[record_of(&extra)]).unwrap();
    let behind = t.call(Method::GET, "/readyz", None, None).await;
    behind.assert_problem(503, "not_yet_consistent");
    let metrics = t.call(Method::GET, "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap().to_owned();
    assert!(text.contains("ledger_projection_lag_records 1"), "{text}");
    t.ledger.project().unwrap();
    assert_eq!(t.call(Method::GET, "/readyz", None, None).await.status.as_u16(), 200);

    let text = t.call(Method::GET, "/metrics", None, None).await.body.as_str().unwrap().to_owned();
    for line in [
        r#"ledger_decisions_total{api="xacml",result="permit"} 1"#,
        r#"ledger_decisions_total{api="xacml",result="not_applicable"} 1"#,
        "ledger_projection_lag_records 0",
        "ledger_quarantined_records 0",
        r#"route="/authorization/api/v1/decision""#,
        "ledger_http_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(line), "metrics lack '{line}':\n{text}");
    }
    let appended: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("ledger_appended_records "))
        .expect("appended records")
        .trim()
        .parse()
        .unwrap();
    assert!(appended >= 8, "the writes of this test: {appended}");
}

#[tokio::test]
async fn writes_beyond_the_waiting_limit_are_shed_with_503_and_reads_go_on() {
    let t = TestLedger::new();
    // Every write slot taken, as by WRITES_WAITING_MAX writers queued for the lock.
    let held = t.slots.writes.clone().acquire_many_owned(ledger::api::WRITES_WAITING_MAX as u32).await.unwrap();
    let before = t.position();
    let shed = t.grant_role_reply(KUNDE_A, RETT_REVISJON, "REVI").await;
    shed.assert_problem(503, "overloaded");
    assert_eq!(t.position(), before, "a shed write writes nothing");
    let status = t.call(Method::GET, "/v1/ledger/status", Some(&t.operator()), None).await;
    status.assert_ok();
    drop(held);
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    assert_eq!(t.position(), before + 1);
}
