//! Auditors' questions: decisions "as of" any moment equal the live decisions that were
//! made at that moment, by time or by position, through both PDP endpoints.

mod common;

use axum::http::Method;
use chrono::Duration;
use common::*;
use serde_json::{json, Value};

const R: &str = "ske-aksjonaerregister";

struct Moment {
    time: String,
    position: u64,
    decisions: Vec<String>,
}

#[tokio::test]
async fn as_of_decisions_at_five_moments_equal_the_live_decisions_made_then() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.grant_role(KUNDE_B, RETT_REVISJON, "REGN").await;
    t.register_system("310000019_maestro", &["revisormedarbeider", "regnskapsforer-med-signeringsrettighet"], &[])
        .await
        .assert_ok();
    let revisor = t.agent_user("310000019_maestro", RETT_REVISJON, Some("revisor"), &["revisormedarbeider"]).await;
    let regnskap = t
        .agent_user("310000019_maestro", RETT_REVISJON, Some("regnskap"), &["regnskapsforer-med-signeringsrettighet"])
        .await;
    t.link(RETT_REVISJON, &revisor, KUNDE_A).await.assert_ok();
    t.link(RETT_REVISJON, &regnskap, KUNDE_B).await.assert_ok();

    let questions = [(&revisor, KUNDE_A), (&regnskap, KUNDE_B), (&revisor, KUNDE_B), (&regnskap, KUNDE_A)];
    let mut moments: Vec<Moment> = Vec::new();
    let record = |t: &TestLedger| {
        let time = t.now.lock().unwrap().to_rfc3339();
        let position = t.position();
        (time, position)
    };
    macro_rules! observe {
        () => {{
            let (time, position) = record(&t);
            let mut decisions = Vec::new();
            for (su, party) in questions {
                decisions.push(t.decision(su, "write", R, party).await);
            }
            moments.push(Moment { time, position, decisions });
            t.advance(Duration::days(1));
        }};
    }

    observe!(); // 1: both clients linked
    t.call(
        Method::DELETE,
        &format!("/v1/client-relationships?client={KUNDE_A}&facilitator={RETT_REVISJON}"),
        Some(&t.register()),
        None,
    )
    .await
    .assert_ok();
    observe!(); // 2: Kunde A's auditor relationship revoked (and its link ended)
    t.call(
        Method::DELETE,
        &format!("{AUTHN}/systemuser/agent/{RETT_REVISJON}/{regnskap}"),
        Some(&t.admin(RETT_REVISJON)),
        None,
    )
    .await
    .assert_ok();
    observe!(); // 3: the accountant system user deleted
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.link(RETT_REVISJON, &revisor, KUNDE_A).await.assert_ok();
    observe!(); // 4: Kunde A re-linked after the relationship came back
    t.unlink(RETT_REVISJON, &revisor, KUNDE_A).await.assert_ok();
    observe!(); // 5: unlinked again

    let live: Vec<&Vec<String>> = moments.iter().map(|m| &m.decisions).collect();
    assert_eq!(*live[0], ["Permit", "Permit", "NotApplicable", "NotApplicable"]);
    assert_eq!(*live[1], ["NotApplicable", "Permit", "NotApplicable", "NotApplicable"]);
    assert_eq!(*live[2], ["NotApplicable", "NotApplicable", "NotApplicable", "NotApplicable"]);
    assert_eq!(*live[3], ["Permit", "NotApplicable", "NotApplicable", "NotApplicable"]);
    assert_eq!(*live[4], ["NotApplicable", "NotApplicable", "NotApplicable", "NotApplicable"]);

    for (i, m) in moments.iter().enumerate() {
        for (q, (su, party)) in questions.iter().enumerate() {
            // Native, by time.
            let body = json!({"systemUser": su, "action": "write", "resource": R, "party": party, "at": m.time});
            let native = t
                .call(Method::POST, "/v1/decisions", Some(&t.token(ledger::auth::Role::Auditor, None)), Some(body))
                .await;
            assert_eq!(
                native.assert_ok()["decision"],
                m.decisions[q].as_str(),
                "moment {} question {q} by time",
                i + 1
            );
            assert_eq!(native.body["position"], m.position, "a time maps to the position reached then");
            // XACML, by position in the environment.
            let mut xacml = xacml_request(su, "write", R, party);
            xacml["Request"]["Environment"] = json!([{"Attribute": [{"AttributeId": "urn:delegation-ledger:environment:position", "Value": m.position.to_string()}]}]);
            let reply = t.xacml(&xacml).await;
            assert_eq!(
                reply.body["Response"][0]["Decision"],
                m.decisions[q].as_str(),
                "moment {} question {q} by position",
                i + 1
            );
            // XACML, by the standard current-dateTime attribute.
            xacml["Request"]["Environment"] = json!([{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:environment:current-dateTime", "Value": m.time}]}]);
            let reply = t.xacml(&xacml).await;
            assert_eq!(
                reply.body["Response"][0]["Decision"],
                m.decisions[q].as_str(),
                "moment {} question {q} by dateTime",
                i + 1
            );
        }
    }
}

#[tokio::test]
async fn read_endpoints_answer_as_of_a_position() {
    let t = TestLedger::new();
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    let before_delete = t.position();
    t.call(
        Method::DELETE,
        &format!("{AUTHN}/systemuser/agent/{RETT_REVISJON}/{agent}"),
        Some(&t.admin(RETT_REVISJON)),
        None,
    )
    .await
    .assert_ok();
    let path = format!("{AUTHN}/systemuser/{RETT_REVISJON}");
    let now = t.call(Method::GET, &path, Some(&t.admin(RETT_REVISJON)), None).await;
    assert_eq!(now.assert_ok(), &json!([]));
    let then =
        t.call(Method::GET, &format!("{path}?atPosition={before_delete}"), Some(&t.admin(RETT_REVISJON)), None).await;
    let then: &Value = then.assert_ok();
    assert_eq!(then[0]["id"], agent.as_str());
    assert_eq!(then[0]["isDeleted"], false, "as it stood then");

    let beyond = t
        .call(Method::GET, &format!("{path}?atPosition={}", t.position() + 10), Some(&t.admin(RETT_REVISJON)), None)
        .await;
    beyond.assert_problem(400, "invalid_parameter");
    let both = t
        .call(Method::GET, &format!("{path}?atPosition=1&at=2026-01-01T00:00:00Z"), Some(&t.admin(RETT_REVISJON)), None)
        .await;
    both.assert_problem(400, "invalid_parameter");
    let bad_time = t.call(Method::GET, &format!("{path}?at=yesterday"), Some(&t.admin(RETT_REVISJON)), None).await;
    bad_time.assert_problem(400, "invalid_parameter");
}
