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
        &format!("{AUTHN}/systemuser/agent/{}/{regnskap}", p(RETT_REVISJON)),
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
                reply.body["response"][0]["decision"],
                m.decisions[q].as_str(),
                "moment {} question {q} by position",
                i + 1
            );
            // XACML, by the standard current-dateTime attribute.
            xacml["Request"]["Environment"] = json!([{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:environment:current-dateTime", "Value": m.time}]}]);
            let reply = t.xacml(&xacml).await;
            assert_eq!(
                reply.body["response"][0]["decision"],
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
        &format!("{AUTHN}/systemuser/agent/{}/{agent}", p(RETT_REVISJON)),
        Some(&t.admin(RETT_REVISJON)),
        None,
    )
    .await
    .assert_ok();
    let path = format!("{AUTHN}/systemuser/agent/{}", p(RETT_REVISJON));
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

#[tokio::test]
async fn histories_show_the_actor_and_cause_of_every_change_in_scenario_10() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.delegate(KUNDE_C, RETT_REVISJON, &["skattegrunnlag"]).await;
    t.register_system("310000019_maestro", &["revisormedarbeider", "skattegrunnlag"], &[]).await.assert_ok();
    let revisor = t.agent_user("310000019_maestro", RETT_REVISJON, Some("revisor"), &["revisormedarbeider"]).await;
    let skatt = t.agent_user("310000019_maestro", RETT_REVISJON, Some("skatt"), &["skattegrunnlag"]).await;
    t.link(RETT_REVISJON, &revisor, KUNDE_A).await.assert_ok();
    t.link(RETT_REVISJON, &skatt, KUNDE_C).await.assert_ok();
    t.advance(Duration::hours(2));
    t.call(
        Method::DELETE,
        &format!("{AUTHN}/systemuser/agent/{}/{skatt}", p(RETT_REVISJON)),
        Some(&t.admin(RETT_REVISJON)),
        None,
    )
    .await
    .assert_ok();
    t.call(
        Method::DELETE,
        &format!("/v1/client-relationships?client={KUNDE_A}&facilitator={RETT_REVISJON}"),
        Some(&t.register()),
        None,
    )
    .await
    .assert_ok();
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let get = |path: String| {
        let (t, auditor) = (&t, auditor.clone());
        async move { t.call(Method::GET, &path, Some(&auditor), None).await.assert_ok().clone() }
    };

    let user = get(format!("/v1/audit/system-users/{skatt}/history")).await;
    let types: Vec<&str> = user["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ledger.systemuserrequest.created.v2",
            "ledger.systemuserrequest.approved.v1",
            "ledger.systemuser.created.v1",
            "ledger.client.linked.v2",
            "ledger.systemuser.deleted.v1",
            "ledger.client.unlinked.v1"
        ]
    );
    for e in user["data"].as_array().unwrap() {
        assert!(!e["actor"]["id"].as_str().unwrap().is_empty(), "every change names its actor: {e}");
        assert_eq!(e["outcome"], "applied");
    }
    assert_eq!(user["data"][0]["actor"]["kind"], "vendor");
    assert_eq!(user["data"][0]["onBehalfOf"], MAESTRO);
    assert_eq!(user["data"][1]["actor"]["id"], format!("person-admin-{RETT_REVISJON}"));
    assert_eq!(user["data"][3]["actor"]["id"], format!("person-client-admin-{RETT_REVISJON}"));
    let unlinked = &user["data"][5];
    assert_eq!(unlinked["changed"]["reason"], "system-user-deleted");
    assert_eq!(unlinked["cause"]["type"], "ledger.systemuser.deleted.v1");
    assert_eq!(
        unlinked["cause"]["actor"]["id"],
        format!("person-admin-{RETT_REVISJON}"),
        "unlinked because person X deleted it"
    );
    assert_eq!(unlinked["cause"]["eventId"], user["data"][4]["eventId"]);

    // The client's history: every relationship change and link touching it.
    let client = get(format!("/v1/audit/clients/{KUNDE_A}/history")).await;
    let types: Vec<&str> = client["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ledger.clientrelationship.granted.v2",
            "ledger.client.linked.v2",
            "ledger.clientrelationship.revoked.v2",
            "ledger.client.unlinked.v1"
        ]
    );
    assert_eq!(client["data"][3]["changed"]["reason"], "relationship-revoked");
    assert_eq!(client["data"][3]["cause"]["actor"]["kind"], "register");
    let client_c = get(format!("/v1/audit/clients/{KUNDE_C}/history")).await;
    assert_eq!(client_c["data"][0]["actor"]["id"], format!("person-admin-{KUNDE_C}"), "the client delegated itself");

    // An actor's history, paginated.
    let actor = format!("person-client-admin-{RETT_REVISJON}");
    let first = get(format!("/v1/audit/actors/{actor}/history?limit=1")).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 1);
    let next = first["next"].as_u64().expect("a second page");
    let second = get(format!("/v1/audit/actors/{actor}/history?limit=1&after={next}")).await;
    assert_eq!(second["data"][0]["type"], "ledger.client.linked.v2");
    assert!(second["data"][0]["position"].as_u64().unwrap() > next);
    assert_eq!(second["next"], Value::Null);

    // CSV for spreadsheets.
    let csv =
        t.call(Method::GET, &format!("/v1/audit/system-users/{skatt}/history?format=csv"), Some(&auditor), None).await;
    assert_eq!(csv.status.as_u16(), 200);
    assert!(csv.content_type.starts_with("text/csv"));
    let text = csv.body.as_str().unwrap();
    assert!(text.starts_with("position,effectiveTime,type,outcome,actorKind,actorId,onBehalfOf,subject,cause,changed"));
    assert_eq!(text.lines().count(), 7, "{text}");
    assert!(text.contains("ledger.systemuser.deleted.v1 by person"), "{text}");

    // Auditors only.
    let vendor =
        t.call(Method::GET, &format!("/v1/audit/clients/{KUNDE_A}/history"), Some(&t.vendor(MAESTRO)), None).await;
    vendor.assert_problem(403, "role_not_allowed");
}

#[tokio::test]
async fn who_could_act_lists_each_system_user_with_its_windows_and_grants() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider", "ansvarlig-revisor"], &[]).await.assert_ok();
    let one = t.agent_user("310000019_maestro", RETT_REVISJON, Some("one"), &["revisormedarbeider"]).await;
    let two = t.agent_user("310000019_maestro", RETT_REVISJON, Some("two"), &["ansvarlig-revisor"]).await;
    let start = t.now.lock().unwrap().to_rfc3339();
    t.advance(Duration::days(1));
    let linked = t.link(RETT_REVISJON, &one, KUNDE_A).await.written_at();
    t.advance(Duration::days(1));
    let unlinked = t.unlink(RETT_REVISJON, &one, KUNDE_A).await.written_at();
    t.advance(Duration::days(1));
    let two_linked = t.link(RETT_REVISJON, &two, KUNDE_A).await.written_at();
    t.advance(Duration::days(1));
    let end = t.now.lock().unwrap().to_rfc3339();

    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let path = format!(
        "/v1/audit/access?party={KUNDE_A}&resource={R}&action=write&from={}&to={}",
        urlencode(&start),
        urlencode(&end)
    );
    let reply = t.call(Method::GET, &path, Some(&auditor), None).await;
    let users = reply.assert_ok()["systemUsers"].as_array().unwrap().clone();
    assert_eq!(users.len(), 2, "{users:?}");
    let first = users.iter().find(|u| u["systemUser"] == one.as_str()).unwrap();
    assert_eq!(first["windows"].as_array().unwrap().len(), 1);
    assert_eq!(first["windows"][0]["fromPosition"], linked);
    assert_eq!(first["windows"][0]["untilPosition"], unlinked);
    let chain: Vec<&str> =
        first["windows"][0]["grantedBy"].as_array().unwrap().iter().map(|g| g["fact"].as_str().unwrap()).collect();
    assert_eq!(chain.len(), 4, "user, link, relationship, policy: {chain:?}");
    let second = users.iter().find(|u| u["systemUser"] == two.as_str()).unwrap();
    assert_eq!(second["windows"][0]["fromPosition"], two_linked);
    assert_eq!(second["windows"][0]["untilPosition"], Value::Null, "still could at the end");

    // An interval before any link holds nobody.
    let early = format!("/v1/audit/access?party={KUNDE_A}&resource={R}&action=write&to={}", urlencode(&start));
    let reply = t.call(Method::GET, &early, Some(&auditor), None).await;
    assert_eq!(reply.assert_ok()["systemUsers"], json!([]));
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn a_history_reads_what_an_event_changed_from_the_log_and_refuses_when_the_log_is_damaged() {
    use ledger::domain::model::ReadModel;
    // Given an agent of Rett Revisjon linked to Kunde A.
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    let index = t.link(RETT_REVISJON, &agent, KUNDE_A).await.written_at() - 1;
    // The read model keeps the link's outcome (who, when, for whom) but no copy of what
    // the event says: the client is named only on the log.
    let outcome = serde_json::to_string(&t.ledger.model().outcome(index).expect("the link's outcome")).unwrap();
    assert!(!outcome.contains(KUNDE_A), "{outcome}");

    // When an auditor reads the agent's history, the link names its client, read from the log.
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let path = format!("/v1/audit/system-users/{agent}/history");
    let history = t.call(Method::GET, &path, Some(&auditor), None).await;
    let link = history.assert_ok()["data"].as_array().unwrap().iter().find(|e| e["position"] == index + 1).cloned();
    assert_eq!(link.expect("the link in the history")["changed"]["clientOrgNo"], KUNDE_A);

    // When the link's record on disk no longer reads back as written (one byte of its
    // client changed under the running ledger)...
    let file = t.dir.path().join("events.log");
    let mut bytes = std::fs::read(&file).unwrap();
    let needle = format!("\"clientOrgNo\":\"{KUNDE_A}\"");
    let at = bytes.windows(needle.len()).rposition(|w| w == needle.as_bytes()).expect("the record on disk");
    bytes[at + needle.len() - 2] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    // ...then the history is refused as unavailable, naming nothing of the log's
    // internals, and nothing is written.
    let before = t.position();
    let refused = t.call(Method::GET, &path, Some(&auditor), None).await;
    assert_eq!(refused.status, axum::http::StatusCode::SERVICE_UNAVAILABLE, "{}", refused.body);
    assert_eq!(refused.body["code"], "log_unavailable", "{}", refused.body);
    assert!(!refused.raw.contains("checksum"), "{}", refused.raw);
    assert_eq!(t.position(), before);
}

#[test]
fn what_events_changed_reads_alike_one_by_one_and_in_runs() {
    // Given the fixture and 1,500 parties after it.
    let t = TestLedger::new();
    let first = t.position();
    t.ledger.import(&parties(1500), chrono::Utc::now()).unwrap();
    // When the data of events near and far from each other is read at once (runs of
    // records) and one by one (a read each)...
    let indexes: Vec<u64> = [0, 1, 2, 300, 301, 900, 1499].iter().map(|i| first + i).collect();
    let at_once = t.ledger.changed_many(&indexes).unwrap();
    // ...then each is its own event's data, and both ways agree.
    for (index, data) in indexes.iter().zip(&at_once) {
        assert_eq!(data, &t.ledger.changed(*index).unwrap());
        let org = ledger::bench::org_numbers(80_000_000).nth((index - first) as usize).unwrap();
        assert_eq!(data["orgNo"], org.as_str(), "index {index}");
    }
}
