//! The decision log, as an auditor uses it: every decision the PDP gave — through
//! Altinn's XACML endpoint, its external `/authorize`, and the native endpoint, each part
//! of a multi-request — is listed with who asked, the question, the answer and the
//! position it was made at; filtered by system user, party (however it was named),
//! resource and time; paged; as JSON or CSV; and each one, decided again at its position,
//! gives the same answer with its proof, however the history moved on since.

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};

async fn decisions(t: &TestLedger, query: &str) -> Value {
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    t.call(Method::GET, &format!("/v1/audit/decisions{query}"), Some(&auditor), None).await.assert_ok().clone()
}

async fn reproduce(t: &TestLedger, link: &str) -> Value {
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    t.call(Method::GET, link, Some(&auditor), None).await.assert_ok().clone()
}

fn column<'a>(page: &'a Value, member: &str) -> Vec<&'a Value> {
    page["data"].as_array().unwrap().iter().map(|e| &e[member]).collect()
}

#[tokio::test]
async fn every_decision_given_is_logged_and_reproduces_at_its_position() {
    // Given Rett Revisjon's agent system user, linked to Kunde A through REVI.
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    let linked_at = t.position();
    let kunde_a_id = t.party_id(KUNDE_A);

    // When the PDP is asked: one XACML request, a multi-request of three parts (one by
    // party id, one for a party the agent does not act for, one malformed), a service
    // owner's /authorize, and the native endpoint.
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "Permit");
    let multi = json!({"Request": {
        "AccessSubject": [{"Id": "s", "Attribute": [{"AttributeId": "urn:altinn:systemuser:uuid", "Value": agent}]}],
        "Action": [{"Id": "w", "Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": "write"}]}],
        "Resource": [
            {"Id": "a", "Attribute": [{"AttributeId": "urn:altinn:resource", "Value": "ske-aksjonaerregister"}, {"AttributeId": "urn:altinn:partyid", "Value": kunde_a_id}]},
            {"Id": "c", "Attribute": [{"AttributeId": "urn:altinn:resource", "Value": "ske-aksjonaerregister"}, {"AttributeId": "urn:altinn:organization:identifier-no", "Value": KUNDE_C}]}],
        "MultiRequests": {"RequestReference": [{"ReferenceId": ["s", "w", "a"]}, {"ReferenceId": ["s", "w", "c"]}, {"ReferenceId": ["w", "a"]}]}
    }});
    let answered: Vec<&str> = ["Permit", "NotApplicable", "Indeterminate"].to_vec();
    let reply = t.xacml(&multi).await;
    let given: Vec<&str> =
        reply.body["response"].as_array().unwrap().iter().map(|r| r["decision"].as_str().unwrap()).collect();
    assert_eq!(given, answered);
    let owner = t.token(ledger::auth::Role::ServiceOwner, Some(SKATTEETATEN));
    let body = xacml_request(&agent, "read", "ske-aksjonaerregister", KUNDE_A);
    let authorized = t.call(Method::POST, "/authorization/api/v1/authorize", Some(&owner), Some(body)).await;
    assert_eq!(authorized.assert_ok()["response"][0]["decision"], "Permit");
    let native = t.proof(&agent, "delete", "ske-aksjonaerregister", KUNDE_A).await;
    assert_eq!(native["decision"], "NotApplicable");

    // Then the log lists all six, in order, with who asked and where it was decided.
    let all = decisions(&t, "").await;
    let decided: Vec<&str> = column(&all, "decision").iter().map(|d| d.as_str().unwrap()).collect();
    assert_eq!(decided, ["Permit", "Permit", "NotApplicable", "Indeterminate", "Permit", "NotApplicable"]);
    let endpoints: Vec<&str> = column(&all, "endpoint").iter().map(|d| d.as_str().unwrap()).collect();
    assert_eq!(endpoints, ["xacml", "xacml", "xacml", "xacml", "authorize", "native"]);
    let roles: Vec<&str> =
        all["data"].as_array().unwrap().iter().map(|e| e["caller"]["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["pdp", "pdp", "pdp", "pdp", "service-owner", "pdp"]);
    assert_eq!(all["data"][4]["caller"]["org"], SKATTEETATEN);
    assert!(column(&all, "position").iter().all(|p| **p == json!(linked_at)), "{all}");
    assert_eq!(all["data"][1]["party"], json!({"partyId": kunde_a_id}), "the party as the request named it");
    assert_eq!(all["data"][2]["reason"].as_str().map(|r| r.contains(KUNDE_C)), Some(true), "{}", all["data"][2]);
    assert!(all["data"][3]["systemUser"].is_null(), "a malformed part names no question");
    assert_eq!(all["next"], Value::Null);

    // Filtered: by system user, by party however it was named, by resource, by time.
    assert_eq!(column(&decisions(&t, &format!("?systemUser={agent}")).await, "seq").len(), 5);
    let kunde_a = decisions(&t, &format!("?party={KUNDE_A}")).await;
    assert_eq!(column(&kunde_a, "seq"), [&json!(0), &json!(1), &json!(4), &json!(5)], "by org number and party id");
    assert_eq!(column(&decisions(&t, &format!("?party={kunde_a_id}")).await, "seq").len(), 4);
    assert_eq!(column(&decisions(&t, "?resource=ske-mva-rapportering").await, "seq").len(), 0);
    let later = decisions(&t, "?from=2026-03-02T00:00:00Z").await;
    assert_eq!(column(&later, "seq").len(), 0, "the test clock stands at 2026-03-01");
    assert_eq!(column(&decisions(&t, "?from=2026-03-01T00:00:00Z&to=2026-03-01T23:59:59Z").await, "seq").len(), 6);

    // Paged: two at a time, each page saying where the next begins.
    let first = decisions(&t, "?limit=2").await;
    assert_eq!((column(&first, "seq"), &first["next"]), (vec![&json!(0), &json!(1)], &json!(1)));
    let second = decisions(&t, "?limit=2&after=1").await;
    assert_eq!(column(&second, "seq"), [&json!(2), &json!(3)]);
    let last = decisions(&t, "?limit=2&after=3").await;
    assert_eq!(last["next"], Value::Null);

    // As CSV, one row per decision under a header.
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let csv = t.call_raw(Method::GET, "/v1/audit/decisions?format=csv", Some(&auditor), None, "application/json").await;
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    let rows: Vec<&str> = csv.raw.lines().collect();
    assert_eq!(rows.len(), 7, "{}", csv.raw);
    assert!(rows[0].starts_with("seq,time,endpoint,callerRole"));
    assert!(rows[1].contains(",Permit,") && rows[1].contains(&agent), "{}", rows[1]);

    // When Kunde A's client is unlinked, the same question is now NotApplicable…
    t.unlink(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "NotApplicable");
    // …and yet every logged decision, reproduced at its position, gives what was given,
    // a Permit with the link it rested on.
    let all = decisions(&t, "").await;
    for entry in all["data"].as_array().unwrap() {
        let again = reproduce(&t, entry["reproduce"].as_str().unwrap()).await;
        if entry["decision"] == "Indeterminate" {
            assert_eq!(again["reproducible"], false, "{again}");
            continue;
        }
        assert_eq!((&again["reproducible"], &again["same"]), (&json!(true), &json!(true)), "{again}");
        assert_eq!(again["reproduced"]["decision"], entry["decision"]);
        assert_eq!(again["reproduced"]["position"], entry["position"]);
    }
    let permit = reproduce(&t, "/v1/audit/decisions/0/reproduction").await;
    let grounds = permit["reproduced"]["grantedBy"].to_string();
    assert!(grounds.contains("linked") || grounds.contains("link"), "the proof names the client link: {grounds}");
    assert_eq!(all["data"][6]["decision"], "NotApplicable");
    assert!(all["data"][6]["position"].as_u64().unwrap() > linked_at);

    // A decision the log does not keep is a clear 404.
    let missing = t.call(Method::GET, "/v1/audit/decisions/99/reproduction", Some(&auditor), None).await;
    missing.assert_problem(404, "decision_not_found");
    let bad = t.call(Method::GET, "/v1/audit/decisions?systemUser=nope", Some(&auditor), None).await;
    bad.assert_problem(400, "invalid_parameter");
}

#[tokio::test]
async fn the_decision_log_survives_a_restart_and_continues_its_numbering() {
    let t = TestLedger::new();
    let nobody = "0195c1e2-0000-7000-8000-00000000dead";
    assert_eq!(t.decision(nobody, "read", "ske-mva-rapportering", KUNDE_A).await, "NotApplicable");
    let t = t.restart();
    assert_eq!(t.decision(nobody, "read", "ske-mva-rapportering", KUNDE_B).await, "NotApplicable");
    let all = decisions(&t, "").await;
    assert_eq!(column(&all, "seq"), [&json!(0), &json!(1)]);
    assert_eq!(all["data"][1]["party"], json!({"orgNo": KUNDE_B}));
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let status = t.call(Method::GET, "/v1/ledger/status", Some(&auditor), None).await;
    assert_eq!(
        status.assert_ok()["decisionLog"],
        json!({"storage": "embedded", "first": 0, "head": 2, "unshipped": null})
    );
}
