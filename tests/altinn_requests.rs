//! Conformance with Altinn's `RequestSystemUserController`: requests shaped as Altinn's
//! own templates shape them (`CreateRequest.json`, `ClientDelegation/CreateRequest.json`),
//! answers as Altinn's source gives them (`docs/altinn-contract.md`, section 3): 201
//! with `Location`, 200 with the pending request, `true` on approve and reject, 202 on
//! delete, `AUTH-000nn` problems; `{party}` is the integer party id.

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};

const REQUEST: &str = "/authentication/api/v1/systemuser/request";

/// Maestro's system: a right, an assignable and a client package, one redirect.
async fn ledger_with_system() -> TestLedger {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["skattegrunnlag", "revisormedarbeider"], &["ske-mva-rapportering"])
        .await
        .assert_ok();
    t
}

/// A standard request as Altinn's `CreateRequest.json` template has it.
fn standard(party: &str, external_ref: &str) -> Value {
    json!({"systemId": "310000019_maestro", "partyOrgNo": party, "externalRef": external_ref,
        "rights": [{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}],
        "redirectUrl": "https://vendor.example/done?state=42"})
}

/// An agent request as Altinn's `ClientDelegation/CreateRequest.json` has it.
fn agent(party: &str, external_ref: &str) -> Value {
    json!({"externalRef": external_ref, "systemId": "310000019_maestro", "partyOrgNo": party,
        "accessPackages": [{"urn": pkg("revisormedarbeider")}], "redirectUrl": ""})
}

fn assert_auth_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json", "{}", reply.body);
    assert_eq!(reply.body["code"], code, "{}", reply.body);
    assert_eq!(reply.body["type"], format!("urn:altinn:error:{code}"));
    assert!(reply.body["title"].as_str().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn a_vendor_creates_reads_and_deletes_requests_and_the_customer_answers_them_as_on_altinn() {
    let t = ledger_with_system().await;
    let vendor = t.vendor(MAESTRO);

    // Create: 201, Location, Altinn's RequestSystemResponse.
    let created =
        t.call(Method::POST, &format!("{REQUEST}/vendor"), Some(&vendor), Some(standard(KUNDE_A, "ext-1"))).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let body = &created.body;
    assert_eq!(body["status"], "New");
    assert_eq!((body["escalated"].clone(), body["timedOut"].clone()), (json!(false), json!(false)));
    assert_eq!(body["integrationTitle"], "310000019_maestro", "the system's name when none is given");
    assert_eq!(
        body["confirmUrl"],
        format!("http://ledger.test/accessmanagement/ui/systemuser/request?id={id}&DONTCHOOSEREPORTEE=true")
    );
    assert_eq!(body["rights"], json!([{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}]));
    for member in ["externalRef", "systemId", "partyOrgNo", "accessPackages", "redirectUrl", "created"] {
        assert!(body.get(member).is_some(), "{member} in {body}");
    }
    // The same key again: 200 with the pending request.
    let again =
        t.call(Method::POST, &format!("{REQUEST}/vendor"), Some(&vendor), Some(standard(KUNDE_A, "ext-1"))).await;
    assert_eq!((again.status.as_u16(), again.body["id"].as_str()), (200, Some(id.as_str())));
    // Read back by id and by external ref, with the confirm URL.
    let read = t.call(Method::GET, &format!("{REQUEST}/vendor/{id}"), Some(&vendor), None).await;
    assert_eq!(read.assert_ok()["confirmUrl"], body["confirmUrl"]);
    let path = format!("{REQUEST}/vendor/byexternalref/310000019_maestro/{KUNDE_A}/ext-1");
    assert_eq!(t.call(Method::GET, &path, Some(&vendor), None).await.assert_ok()["id"], id.as_str());

    // Approve by party id: 200 `true`; again: 409 AUTH-00013.
    let party = t.party_id(KUNDE_A);
    let approve = format!("{REQUEST}/{party}/{id}/approve");
    let approved = t.call(Method::POST, &approve, Some(&t.admin(KUNDE_A)), None).await;
    assert_eq!((approved.status.as_u16(), &approved.body), (200, &json!(true)));
    assert!(approved.position_header.is_some());
    assert_auth_problem(&t.call(Method::POST, &approve, Some(&t.admin(KUNDE_A)), None).await, 409, "AUTH-00013");
    let read = t.call(Method::GET, &format!("{REQUEST}/vendor/{id}"), Some(&vendor), None).await;
    assert_eq!(read.assert_ok()["status"], "Accepted");

    // An agent request from the template (an empty redirect is none), rejected.
    let created = t
        .call(Method::POST, &format!("{REQUEST}/vendor/agent"), Some(&vendor), Some(agent(RETT_REVISJON, "agent-1")))
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let agent_id = created.body["id"].as_str().unwrap().to_owned();
    assert!(created.body.get("rights").is_none(), "an agent request has no rights member");
    assert!(created.body.get("redirectUrl").is_none());
    assert!(created.body["confirmUrl"].as_str().unwrap().contains("/accessmanagement/ui/systemuser/agentrequest?id="));
    let path = format!("{REQUEST}/vendor/agent/byexternalref/310000019_maestro/{RETT_REVISJON}/agent-1");
    assert_eq!(t.call(Method::GET, &path, Some(&vendor), None).await.assert_ok()["id"], agent_id.as_str());
    let reject = format!("{REQUEST}/agent/{}/{agent_id}/reject", t.party_id(RETT_REVISJON));
    let rejected = t.call(Method::POST, &reject, Some(&t.admin(RETT_REVISJON)), None).await;
    assert_eq!((rejected.status.as_u16(), &rejected.body), (200, &json!(true)));

    // Delete (withdraw) a pending one: 202, no body; then it reads as not found.
    let created =
        t.call(Method::POST, &format!("{REQUEST}/vendor"), Some(&vendor), Some(standard(KUNDE_B, "ext-2"))).await;
    let other = created.body["id"].as_str().unwrap().to_owned();
    let deleted = t.call(Method::DELETE, &format!("{REQUEST}/vendor/{other}"), Some(&vendor), None).await;
    assert_eq!((deleted.status.as_u16(), &deleted.body), (202, &Value::Null));
    assert_auth_problem(
        &t.call(Method::GET, &format!("{REQUEST}/vendor/{other}"), Some(&vendor), None).await,
        404,
        "AUTH-00010",
    );
}

#[tokio::test]
async fn refusals_are_altinns_problems_and_write_nothing() {
    let t = ledger_with_system().await;
    let vendor = t.vendor(MAESTRO);
    let pending = t.request_agent("310000019_maestro", RETT_REVISJON, Some("pending"), &["revisormedarbeider"]).await;
    let pending = pending.assert_ok()["id"].as_str().unwrap().to_owned();
    let before = (t.position(), t.digest());
    let post = |path: &str, body: Value| {
        let (t, vendor, path) = (&t, vendor.clone(), format!("{REQUEST}/{path}"));
        async move { t.call(Method::POST, &path, Some(&vendor), Some(body)).await }
    };
    let with = |mut body: Value, member: &str, value: Value| {
        body[member] = value;
        body
    };
    let cases: Vec<(&str, Reply, u16, &str)> = vec![
        (
            "unknown system",
            post("vendor", with(standard(KUNDE_A, "x"), "systemId", json!("310000019_nope"))).await,
            404,
            "AUTH-00011",
        ),
        (
            "another vendor's system",
            {
                let other = t.vendor(SYSTEMHUSET);
                t.call(Method::POST, &format!("{REQUEST}/vendor"), Some(&other), Some(standard(KUNDE_A, "x"))).await
            },
            404,
            "AUTH-00011",
        ),
        ("an invalid customer org number", post("vendor", standard("310000018", "x")).await, 400, "AUTH-00000"),
        ("a customer not in the register", post("vendor", standard("310000191", "x")).await, 400, "AUTH-00000"),
        (
            "a right the system lacks",
            post(
                "vendor",
                with(
                    standard(KUNDE_A, "x"),
                    "rights",
                    json!([{"resource": [{"id": "urn:altinn:resource", "value": "kartverket-tinglysning"}]}]),
                ),
            )
            .await,
            400,
            "AUTH-00001",
        ),
        (
            "a package the system lacks",
            post("vendor", with(standard(KUNDE_A, "x"), "accessPackages", json!([{"urn": pkg("skatt-naering")}])))
                .await,
            400,
            "AUTH-00063",
        ),
        (
            "a client package on a standard request",
            post("vendor", with(standard(KUNDE_A, "x"), "accessPackages", json!([{"urn": pkg("revisormedarbeider")}])))
                .await,
            400,
            "AUTH-00064",
        ),
        (
            "nothing asked",
            post("vendor", json!({"systemId": "310000019_maestro", "partyOrgNo": KUNDE_A})).await,
            400,
            "AUTH-00059",
        ),
        (
            "an agent request without packages",
            post("vendor/agent", json!({"systemId": "310000019_maestro", "partyOrgNo": RETT_REVISJON})).await,
            400,
            "AUTH-00058",
        ),
        (
            "a redirect the system does not allow",
            post("vendor", with(standard(KUNDE_A, "x"), "redirectUrl", json!("https://evil.example/x"))).await,
            400,
            "AUTH-00021",
        ),
        (
            "another vendor reading a request",
            t.call(Method::GET, &format!("{REQUEST}/vendor/agent/{pending}"), Some(&t.vendor(SYSTEMHUSET)), None).await,
            404,
            "AUTH-00011",
        ),
        (
            "a standard read of an agent request",
            t.call(Method::GET, &format!("{REQUEST}/vendor/{pending}"), Some(&vendor), None).await,
            404,
            "AUTH-00010",
        ),
        (
            "approving an agent request on the standard path",
            t.call(
                Method::POST,
                &format!("{REQUEST}/{}/{pending}/approve", t.party_id(RETT_REVISJON)),
                Some(&t.admin(RETT_REVISJON)),
                None,
            )
            .await,
            404,
            "AUTH-00010",
        ),
        (
            "approving an unknown agent request",
            t.call(
                Method::POST,
                &format!("{REQUEST}/agent/{}/0195c1e2-0000-7000-8000-000000000001/approve", t.party_id(RETT_REVISJON)),
                Some(&t.admin(RETT_REVISJON)),
                None,
            )
            .await,
            404,
            "AUTH-00030",
        ),
        (
            "a party the request is not for",
            t.call(
                Method::POST,
                &format!("{REQUEST}/agent/{}/{pending}/approve", t.party_id(KUNDE_A)),
                Some(&t.admin(KUNDE_A)),
                None,
            )
            .await,
            403,
            "AUTH-00042",
        ),
        (
            "a party id not in the register",
            t.call(
                Method::POST,
                &format!("{REQUEST}/agent/999999/{pending}/approve"),
                Some(&t.admin(RETT_REVISJON)),
                None,
            )
            .await,
            400,
            "AUTH-00000",
        ),
    ];
    for (what, reply, status, code) in &cases {
        assert_eq!(reply.status.as_u16(), *status, "{what}: {}", reply.body);
        assert_eq!(reply.body["code"], *code, "{what}: {}", reply.body);
        assert!(reply.body["ledgerCode"].as_str().is_some(), "{what}: the ledger's code rides along");
    }
    // Acting for another party than one's own is Altinn's PDP deny: an empty 403.
    let path = format!("{REQUEST}/agent/{}/{pending}/approve", t.party_id(RETT_REVISJON));
    let other = t.call(Method::POST, &path, Some(&t.admin(KUNDE_A)), None).await;
    assert_eq!((other.status.as_u16(), &other.body), (403, &Value::Null));
    // A party that is no integer, and bodies ASP.NET cannot read: its own shape.
    let reply = t
        .call(
            Method::POST,
            &format!("{REQUEST}/agent/{RETT_REVISJON}x/{pending}/approve"),
            Some(&t.admin(RETT_REVISJON)),
            None,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 400);
    assert!(reply.body["errors"]["party"].is_array(), "{}", reply.body);
    let wrong_type = post("vendor", json!({"systemId": 5, "partyOrgNo": KUNDE_A})).await;
    assert_eq!((wrong_type.status.as_u16(), wrong_type.body["ledgerCode"].as_str()), (400, Some("invalid_body")));
    assert!(wrong_type.body["errors"]["$.systemid"].is_array(), "{}", wrong_type.body);
    let malformed = t
        .call_raw(
            Method::POST,
            &format!("{REQUEST}/vendor"),
            Some(&vendor),
            Some("{\"systemId\": "),
            "application/json",
        )
        .await;
    assert_eq!((malformed.status.as_u16(), malformed.body["ledgerCode"].as_str()), (400, Some("malformed_json")));
    assert_eq!((t.position(), t.digest()), before, "no refusal wrote anything");

    // Members Altinn does not know are ignored, as Altinn ignores them: rights on an
    // agent request, an unknown member.
    let body = with(with(agent(RETT_REVISJON, "lenient"), "rights", json!([{"resource": []}])), "bogus", json!(1));
    assert_eq!(post("vendor/agent", body).await.status.as_u16(), 201);
}

/// The ledger keeps the time-to-live Altinn only reports: an expired request reads
/// `timedOut: true` with its status, and approving it is refused with the ledger's
/// own problem (Altinn would approve it; see the contract's deliberate differences).
#[tokio::test]
async fn an_expired_request_reads_timed_out_and_is_not_approved() {
    let t = ledger_with_system().await;
    let pending = t.request_agent("310000019_maestro", RETT_REVISJON, Some("old"), &["revisormedarbeider"]).await;
    let pending = pending.assert_ok()["id"].as_str().unwrap().to_owned();
    t.advance(chrono::Duration::days(181));
    let before = t.position();
    let reply = t.approve(RETT_REVISJON, &pending, true).await;
    reply.assert_problem(409, "request_expired");
    assert_eq!(t.position(), before);
    let seen = t.call(Method::GET, &format!("{REQUEST}/vendor/agent/{pending}"), Some(&t.vendor(MAESTRO)), None).await;
    let seen = seen.assert_ok();
    assert_eq!((seen["status"].clone(), seen["timedOut"].clone()), (json!("New"), json!(true)));
}

#[tokio::test]
async fn a_vendor_pages_its_requests_by_system_as_on_altinn() {
    let t = ledger_with_system().await;
    let vendor = t.vendor(MAESTRO);
    let mut made = Vec::new();
    for i in 0..51 {
        let r = t
            .call(Method::POST, &format!("{REQUEST}/vendor"), Some(&vendor), Some(standard(KUNDE_A, &format!("r{i}"))))
            .await;
        made.push(r.assert_ok()["id"].as_str().unwrap().to_owned());
    }
    made.sort();
    let agent_request = t.request_agent("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    let agent_request = agent_request.assert_ok()["id"].as_str().unwrap().to_owned();

    // Fifty a page by id; Altinn's link to the next page; no confirmUrl in a list.
    let first = t.call(Method::GET, &format!("{REQUEST}/vendor/bysystem/310000019_maestro"), Some(&vendor), None).await;
    let first = first.assert_ok().clone();
    let ids = |page: &Value| -> Vec<String> {
        page["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&first), made[..50]);
    assert!(first["data"][0].get("confirmUrl").is_none());
    let next = first["links"]["next"].as_str().expect("a next page").strip_prefix("http://ledger.test").unwrap();
    assert!(next.starts_with(&format!("{REQUEST}/vendor/bysystem/310000019_maestro?token=")), "{next}");
    let second = t.call(Method::GET, next, Some(&vendor), None).await.assert_ok().clone();
    assert_eq!(ids(&second), made[50..], "the next page starts where the first ended, nothing skipped");
    assert_eq!(second["links"], json!({}));

    // The agent list holds the agent request, in the agent shape.
    let agents =
        t.call(Method::GET, &format!("{REQUEST}/vendor/agent/bysystem/310000019_maestro"), Some(&vendor), None).await;
    let agents = agents.assert_ok().clone();
    assert_eq!(ids(&agents), [agent_request]);
    assert!(agents["data"][0].get("rights").is_none());

    // Another vendor's system is not there for it; a token that is not one is refused.
    let before = (t.position(), t.digest());
    let foreign = t
        .call(Method::GET, &format!("{REQUEST}/vendor/bysystem/310000019_maestro"), Some(&t.vendor(SYSTEMHUSET)), None)
        .await;
    assert_auth_problem(&foreign, 404, "AUTH-00011");
    let bad = t
        .call(Method::GET, &format!("{REQUEST}/vendor/bysystem/310000019_maestro?token=nope"), Some(&vendor), None)
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.body["errors"]["token"][0].as_str()),
        (400, Some("The value 'nope' is not valid."))
    );
    assert_eq!((t.position(), t.digest()), before);
}

#[tokio::test]
async fn the_customer_reads_escalates_and_lists_its_pending_requests_as_on_altinn() {
    let t = ledger_with_system().await;
    let vendor = t.vendor(MAESTRO);
    let standard_id =
        t.call(Method::POST, &format!("{REQUEST}/vendor"), Some(&vendor), Some(standard(KUNDE_A, "s"))).await;
    let standard_id = standard_id.assert_ok()["id"].as_str().unwrap().to_owned();
    let agent_id =
        t.call(Method::POST, &format!("{REQUEST}/vendor/agent"), Some(&vendor), Some(agent(RETT_REVISJON, "a"))).await;
    let agent_id = agent_id.assert_ok()["id"].as_str().unwrap().to_owned();
    let (a, rr) = (t.party_id(KUNDE_A), t.party_id(RETT_REVISJON));
    let (a_admin, a_person) = (t.admin(KUNDE_A), t.client_admin(KUNDE_A));
    let (rr_admin, rr_person) = (t.admin(RETT_REVISJON), t.client_admin(RETT_REVISJON));

    // The party reads its request by party and id, without the confirm URL.
    let read = t.call(Method::GET, &format!("{REQUEST}/{a}/{standard_id}"), Some(&a_admin), None).await;
    assert_eq!((read.assert_ok()["status"].as_str(), read.body.get("confirmUrl")), (Some("New"), None));
    let other_party = t
        .call(Method::GET, &format!("{REQUEST}/{}/{standard_id}", t.party_id(KUNDE_B)), Some(&t.admin(KUNDE_B)), None)
        .await;
    assert_auth_problem(&other_party, 404, "AUTH-00010");
    let not_acting = t.call(Method::GET, &format!("{REQUEST}/{a}/{standard_id}"), Some(&t.admin(KUNDE_B)), None).await;
    assert_eq!((not_acting.status.as_u16(), &not_acting.body), (403, &Value::Null));

    // The customer's page reads it by id alone: whoever is not the access manager may
    // only escalate; a person of another organisation is refused.
    let page = t.call(Method::GET, &format!("{REQUEST}/{standard_id}"), Some(&a_person), None).await;
    let page = page.assert_ok();
    assert_eq!((&page["userMayEscalateButNotApprove"], &page["partyId"]), (&json!(true), &json!(a)));
    assert_eq!(page["partyUuid"], t.party_uuid(KUNDE_A).to_string());
    assert!(page.get("systemUserType").is_none(), "Altinn leaves it out for a standard request");
    let page = t.call(Method::GET, &format!("{REQUEST}/{standard_id}"), Some(&a_admin), None).await;
    assert_eq!(page.assert_ok()["userMayEscalateButNotApprove"], false);
    let stranger = t.call(Method::GET, &format!("{REQUEST}/{standard_id}"), Some(&t.admin(KUNDE_B)), None).await;
    assert_auth_problem(&stranger, 403, "AUTH-00066");
    let agent_page = t.call(Method::GET, &format!("{REQUEST}/agent/{agent_id}"), Some(&rr_person), None).await;
    assert_eq!((&agent_page.assert_ok()["systemUserType"], &agent_page.body["rights"]), (&json!("Agent"), &json!([])));

    // Pending: standard requests as they come; agent requests once escalated.
    let pending = |kind: &'static str, party: i64, org: &'static str, token: String| {
        let t = &t;
        async move {
            let path = format!("{REQUEST}/{kind}{party}/{org}/pending");
            let reply = t.call(Method::GET, &path, Some(&token), None).await;
            let ids: Vec<String> =
                reply.assert_ok().as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
            ids
        }
    };
    assert_eq!(pending("", a, KUNDE_A, a_admin.clone()).await, [standard_id.as_str()]);
    assert!(pending("agent/", rr, RETT_REVISJON, rr_admin.clone()).await.is_empty(), "not escalated yet");
    let elsewhere = t.call(Method::GET, &format!("{REQUEST}/{a}/{KUNDE_B}/pending"), Some(&a_admin), None).await;
    assert_eq!((elsewhere.status.as_u16(), &elsewhere.body), (403, &Value::Null), "another org's list");

    // Escalation: `true`, recorded once with its actor; the access managers see it.
    let escalate = format!("{REQUEST}/agent/{rr}/{agent_id}/escalate");
    let escalated = t.call(Method::POST, &escalate, Some(&rr_person), None).await;
    assert_eq!((escalated.status.as_u16(), &escalated.body), (200, &json!(true)));
    let at = escalated.written_at();
    let again = t.call(Method::POST, &escalate, Some(&rr_person), None).await;
    assert_eq!((&again.body, t.position()), (&json!(true), at), "once is enough: nothing more written");
    assert_eq!(pending("agent/", rr, RETT_REVISJON, rr_admin.clone()).await, [agent_id.as_str()]);
    let read = t.call(Method::GET, &format!("{REQUEST}/vendor/agent/{agent_id}"), Some(&vendor), None).await;
    assert_eq!(read.assert_ok()["escalated"], true);
    let history = t
        .call(
            Method::GET,
            &format!("/v1/audit/system-users/{agent_id}/history"),
            Some(&t.token(ledger::auth::Role::Auditor, None)),
            None,
        )
        .await;
    let entry = history.assert_ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "ledger.systemuserrequest.escalated.v1")
        .cloned();
    let entry = entry.expect("the escalation is on the record");
    assert_eq!(
        (&entry["actor"]["id"], &entry["onBehalfOf"]),
        (&json!(format!("person-client-admin-{RETT_REVISJON}")), &json!(RETT_REVISJON))
    );

    // What cannot be escalated answers `false`, with the ledger's reason, and writes nothing.
    let before = (t.position(), t.digest());
    let foreign = t
        .call(Method::POST, &format!("{REQUEST}/agent/{rr}/{agent_id}/escalate"), Some(&t.client_admin(KUNDE_B)), None)
        .await;
    assert_eq!((&foreign.body, foreign.ledger_code.as_deref()), (&json!(false), Some("not_request_party")));
    assert_eq!((t.position(), t.digest()), before);
    t.approve(KUNDE_A, &standard_id, false).await.assert_ok();
    let before = (t.position(), t.digest());
    let answered = t.call(Method::POST, &format!("{REQUEST}/{a}/{standard_id}/escalate"), Some(&a_person), None).await;
    assert_eq!((&answered.body, answered.ledger_code.as_deref()), (&json!(false), Some("request_not_new")));
    assert_eq!((t.position(), t.digest()), before);
    assert!(pending("", a, KUNDE_A, a_admin).await.is_empty(), "answered: no longer pending");
}
