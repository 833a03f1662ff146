//! Conformance with Altinn's `SystemUserController` and `SystemUserClientDelegationController`:
//! answers as Altinn's source gives them (`docs/altinn-contract.md`, sections 5 and 6):
//! standard and agent lists apart, a bare 404 for another party's system user, 202 with
//! `1` on a standard deletion, a vendor's list paged 50 at a time with Altinn's
//! continuation link, clients named by party UUID, `AUTH-000nn` problems and
//! `AUTH.VLD-000nn` validation errors. Every refusal writes nothing.

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};

const SYSTEMUSER: &str = "/authentication/api/v1/systemuser";
const CLIENTS: &str = "/authentication/api/v1/enduser/systemuser/clients";
const AGENTS: &str = "/authentication/api/v1/enduser/systemuser/agents";

/// Maestro's system: a right, the auditor's package; Kunde A is Rett Revisjon's audit client.
async fn ledger_with_system() -> TestLedger {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &["ske-mva-rapportering"]).await.assert_ok();
    t
}

/// Runs a refusal and checks that it wrote nothing.
async fn refused(t: &TestLedger, method: Method, path: &str, token: &str) -> Reply {
    let before = (t.position(), t.digest());
    let reply = t.call(method.clone(), path, Some(token), None).await;
    assert!(reply.status.is_client_error(), "{method} {path}: {} {}", reply.status, reply.body);
    assert_eq!((t.position(), t.digest()), before, "{method} {path}: a refusal wrote something");
    reply
}

fn assert_bare(reply: &Reply, status: u16) {
    assert_eq!((reply.status.as_u16(), &reply.body), (status, &Value::Null), "a bare {status}");
}

#[tokio::test]
async fn an_organisation_reads_and_deletes_its_system_users_as_on_altinn() {
    let t = ledger_with_system().await;
    let standard = t.standard_user("310000019_maestro", KUNDE_A, None, &[], &["ske-mva-rapportering"]).await;
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    let (a_admin, rr_admin) = (t.admin(KUNDE_A), t.admin(RETT_REVISJON));

    // The party's list holds its standard system users; its agents have their own list.
    let listed = t.call(Method::GET, &format!("{SYSTEMUSER}/{}", p(KUNDE_A)), Some(&a_admin), None).await;
    let listed = listed.assert_ok().as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    let one = &listed[0];
    assert_eq!(one["id"], standard.as_str());
    assert_eq!(one["partyId"], p(KUNDE_A).to_string(), "Altinn's partyId is a string");
    assert_eq!(one["partyUuId"], u(KUNDE_A).to_string());
    assert_eq!((&one["reporteeOrgNo"], &one["systemId"]), (&json!(KUNDE_A), &json!("310000019_maestro")));
    assert_eq!(
        (&one["userType"], &one["isDeleted"], &one["supplierOrgno"]),
        (&json!("standard"), &json!(false), &json!(MAESTRO))
    );
    assert_eq!(one["externalRef"], KUNDE_A, "no external ref: the owner's org number, as Altinn");
    assert!(one["systemInternalId"].as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()));
    let standard_of_rr =
        t.call(Method::GET, &format!("{SYSTEMUSER}/{}", p(RETT_REVISJON)), Some(&rr_admin), None).await;
    assert_eq!(standard_of_rr.assert_ok(), &json!([]), "standard system users only");
    let agents = t.call(Method::GET, &format!("{SYSTEMUSER}/agent/{}", p(RETT_REVISJON)), Some(&rr_admin), None).await;
    let agents = agents.assert_ok();
    assert_eq!((agents[0]["id"].as_str(), &agents[0]["userType"]), (Some(agent.as_str()), &json!("agent")));
    assert_eq!(agents[0]["accessPackages"][0]["urn"], pkg("revisormedarbeider"));

    // One system user in detail: a standard one's rights in Altinn's form.
    let detail = t.call(Method::GET, &format!("{SYSTEMUSER}/{}/{standard}", p(KUNDE_A)), Some(&a_admin), None).await;
    assert_eq!(
        detail.assert_ok()["rights"],
        json!([{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}])
    );
    let agent_path = format!("{SYSTEMUSER}/{}/{agent}", p(RETT_REVISJON));
    let agent_detail = t.call(Method::GET, &agent_path, Some(&rr_admin), None).await;
    assert!(agent_detail.assert_ok().get("rights").is_none(), "an agent's detail has no rights");
    let elsewhere = refused(&t, Method::GET, &format!("{SYSTEMUSER}/{}/{agent}", p(KUNDE_A)), &a_admin).await;
    assert_bare(&elsewhere, 404);
    let not_a_guid = refused(&t, Method::GET, &format!("{SYSTEMUSER}/{}/nope", p(KUNDE_A)), &a_admin).await;
    assert_eq!(not_a_guid.body["errors"]["systemUserId"][0], "The value 'nope' is not valid.");

    // Deletion: each kind through its own route, another party's refused.
    refused(&t, Method::DELETE, &format!("{SYSTEMUSER}/{}/{agent}", p(RETT_REVISJON)), &rr_admin)
        .await
        .assert_altinn_problem(400, "AUTH-00036", "user_type_mismatch");
    refused(&t, Method::DELETE, &format!("{SYSTEMUSER}/agent/{}/{standard}", p(KUNDE_A)), &a_admin)
        .await
        .assert_altinn_problem(400, "AUTH-00034", "user_type_mismatch");
    refused(&t, Method::DELETE, &format!("{SYSTEMUSER}/{}/{standard}", p(KUNDE_B)), &t.admin(KUNDE_B))
        .await
        .assert_altinn_problem(403, "AUTH-00024", "not_owner");
    assert_bare(&refused(&t, Method::DELETE, &format!("{SYSTEMUSER}/{}/{standard}", p(KUNDE_A)), &rr_admin).await, 403);

    let deleted =
        t.call(Method::DELETE, &format!("{SYSTEMUSER}/{}/{standard}", p(KUNDE_A)), Some(&a_admin), None).await;
    assert_eq!((deleted.status.as_u16(), &deleted.body), (202, &json!(1)));
    assert_eq!(deleted.position_header, Some(t.position()), "the ledger's position rides in a header");
    let again = refused(&t, Method::DELETE, &format!("{SYSTEMUSER}/{}/{standard}", p(KUNDE_A)), &a_admin).await;
    assert_eq!((again.status.as_u16(), &again.body), (404, &json!(0)));
    assert_bare(&refused(&t, Method::GET, &format!("{SYSTEMUSER}/{}/{standard}", p(KUNDE_A)), &a_admin).await, 404);
    // As on Altinn, the vendor may ask for the same system user again.
    let asked_again = t.request_standard("310000019_maestro", KUNDE_A, None, &[], &["ske-mva-rapportering"]).await;
    assert_eq!((asked_again.status.as_u16(), &asked_again.body["status"]), (201, &json!("New")));

    let agent_path = format!("{SYSTEMUSER}/agent/{}/{agent}", p(RETT_REVISJON));
    let deleted = t.call(Method::DELETE, &agent_path, Some(&rr_admin), None).await;
    assert_eq!((deleted.status.as_u16(), &deleted.body), (200, &Value::Null), "200, nothing");
    refused(&t, Method::DELETE, &agent_path, &rr_admin).await.assert_altinn_problem(
        404,
        "AUTH-00015",
        "system_user_deleted",
    );
    let asked_again = t.request_agent("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    assert_eq!((asked_again.status.as_u16(), &asked_again.body["status"]), (201, &json!("New")));
}

#[tokio::test]
async fn a_vendor_finds_its_system_users_as_on_altinn() {
    let t = ledger_with_system().await;
    let vendor = t.vendor(MAESTRO);
    let mut made = Vec::new();
    for i in 0..51 {
        let external_ref = format!("r{i}");
        made.push(
            t.standard_user("310000019_maestro", KUNDE_A, Some(&external_ref), &[], &["ske-mva-rapportering"]).await,
        );
    }

    // Fifty a page in the order they were made, and Altinn's link to the next page.
    let by_system = format!("{SYSTEMUSER}/vendor/bysystem/310000019_maestro");
    let first = t.call(Method::GET, &by_system, Some(&vendor), None).await.assert_ok().clone();
    let ids = |page: &Value| -> Vec<String> {
        page["data"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&first), made[..50]);
    let next = first["links"]["next"].as_str().expect("a next page");
    let next = next.strip_prefix("http://ledger.test").expect("an absolute link on the ledger's public URL");
    assert!(next.starts_with(&format!("{SYSTEMUSER}/vendor/bysystem/310000019_maestro?token=")), "{next}");
    let second = t.call(Method::GET, next, Some(&vendor), None).await.assert_ok().clone();
    assert_eq!(ids(&second), made[50..]);
    assert!(second["links"].get("next").is_none(), "the last page links nowhere");
    assert_eq!(first["data"][0]["externalRef"], "r0");
    assert!(first["data"][0].get("partyId").is_none(), "the vendor's form, without the party's internals");

    // Another vendor's system, an unknown one, a token that is not one: refused.
    for (path, token) in [
        (format!("{SYSTEMUSER}/vendor/bysystem/310000019_maestro"), t.vendor(SYSTEMHUSET)),
        (format!("{SYSTEMUSER}/vendor/bysystem/310000019_nothing"), vendor.clone()),
    ] {
        refused(&t, Method::GET, &path, &token).await.assert_altinn_problem(404, "AUTH-00011", "system_not_found");
    }
    let bad_token = format!("{SYSTEMUSER}/vendor/bysystem/310000019_maestro?token=%%%");
    assert_eq!(refused(&t, Method::GET, &bad_token, &vendor).await.status.as_u16(), 400);

    // By query: the system, the owner and the external ref.
    let query = format!("{SYSTEMUSER}/vendor/byquery?system-id=310000019_maestro&orgno={KUNDE_A}&external-ref=r7");
    let found = t.call(Method::GET, &query, Some(&vendor), None).await;
    assert_eq!(found.assert_ok()["id"], made[7].as_str());
    assert_eq!(refused(&t, Method::GET, &query, &t.vendor(SYSTEMHUSET)).await.status.as_u16(), 404);

    // Maskinporten's lookup by client id: the product name is the system id.
    let lookup = format!(
        "{SYSTEMUSER}/byExternalId?clientId=client-310000019_maestro&systemProviderOrgNo={MAESTRO}&systemUserOwnerOrgNo={KUNDE_A}&externalRef=r7"
    );
    let found = t.call(Method::GET, &lookup, Some(&vendor), None).await;
    assert_eq!((&found.assert_ok()["id"], &found.body["productName"]), (&json!(made[7]), &json!("310000019_maestro")));
    let no_client = lookup.replace("clientId=client-310000019_maestro", "clientId=");
    assert_bare(&refused(&t, Method::GET, &no_client, &vendor).await, 400);
    assert_bare(&refused(&t, Method::GET, &lookup.replace("r7", "r99"), &vendor).await, 404);
}

#[tokio::test]
async fn a_client_administrator_delegates_clients_as_on_altinn() {
    let t = ledger_with_system().await;
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    let standard = t.standard_user("310000019_maestro", KUNDE_A, None, &[], &["ske-mva-rapportering"]).await;
    let admin = t.client_admin(RETT_REVISJON);
    let info = json!({"systemUserId": agent, "systemUserOwnerOrg": RETT_REVISJON});

    // The clients that can go on the agent: those that gave every package it carries.
    let available = t.call(Method::GET, &format!("{CLIENTS}/available?agent={agent}"), Some(&admin), None).await;
    let available = available.assert_ok();
    assert_eq!((&available["links"], &available["systemUserInformation"]), (&json!({}), &info));
    assert_eq!(available["data"].as_array().unwrap().len(), 1);
    assert_eq!(available["data"][0]["clientId"], u(KUNDE_A).to_string());
    assert_eq!(available["data"][0]["clientOrganizationNumber"], KUNDE_A);
    assert!(available["data"][0]["clientOrganizationName"].as_str().is_some_and(|n| !n.is_empty()));

    // Linking names the client by its party UUID and answers both ids.
    let linked = t.link(RETT_REVISJON, &agent, KUNDE_A).await;
    assert_eq!(linked.assert_ok(), &json!({"agent": agent, "client": u(KUNDE_A)}));
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "Permit");
    let before = (t.position(), t.digest());
    let again = t.link(RETT_REVISJON, &agent, KUNDE_A).await;
    assert_eq!(again.assert_ok(), &json!({"agent": agent, "client": u(KUNDE_A)}), "linked already: the same answer");
    assert_eq!((t.position(), t.digest()), before, "and nothing written");
    let clients = t.call(Method::GET, &format!("{CLIENTS}?agent={agent}"), Some(&admin), None).await;
    assert_eq!(clients.assert_ok()["data"][0]["clientOrganizationNumber"], KUNDE_A);
    assert_eq!(clients.body["systemUserInformation"], info);

    // Refusals: Altinn's problems, its validation errors merged into one answer.
    let link = |query: String| format!("{CLIENTS}?{query}");
    refused(&t, Method::POST, &link(format!("agent={agent}&client={}", u(KUNDE_B))), &admin)
        .await
        .assert_altinn_problem(400, "AUTH-00080", "client_lacks_access_package");
    let nobody = uuid::Uuid::nil();
    refused(&t, Method::POST, &link(format!("agent={agent}&client={nobody}")), &admin).await.assert_altinn_problem(
        400,
        "AUTH-00079",
        "party_not_found",
    );
    let vld = |reply: &Reply| -> Vec<(String, String)> {
        assert_eq!((reply.status.as_u16(), &reply.body["code"]), (400, &json!("STD-00000")), "{}", reply.body);
        let errors = reply.body["validationErrors"].as_array().unwrap();
        errors
            .iter()
            .map(|e| (e["code"].as_str().unwrap().to_owned(), e["paths"][0].as_str().unwrap().to_owned()))
            .collect()
    };
    let pair = |code: &str, path: &str| (code.to_owned(), path.to_owned());
    let neither = refused(&t, Method::POST, CLIENTS, &admin).await;
    assert_eq!(vld(&neither), [pair("AUTH.VLD-00014", "?agent"), pair("AUTH.VLD-00016", "?client")]);
    let unknown = refused(&t, Method::POST, &link(format!("agent={nobody}&client={}", u(KUNDE_A))), &admin).await;
    assert_eq!(vld(&unknown), [pair("AUTH.VLD-00014", "?agent")]);
    assert_eq!(unknown.body["validationErrors"][0]["title"], "System user not found");
    let not_agent = refused(&t, Method::POST, &link(format!("agent={standard}&client={}", u(KUNDE_A))), &admin).await;
    assert_eq!(vld(&not_agent), [pair("AUTH.VLD-00015", "?agent")]);
    let other = t.client_admin(KUNDE_B);
    assert_bare(&refused(&t, Method::POST, &link(format!("agent={agent}&client={}", u(KUNDE_A))), &other).await, 403);
    assert_bare(&refused(&t, Method::GET, &link(format!("agent={agent}")), &other).await, 403);
    refused(&t, Method::DELETE, &link(format!("agent={agent}&client={}", u(KUNDE_B))), &admin)
        .await
        .assert_altinn_problem(400, "AUTH-00031", "client_not_linked");

    // Unlinking answers as linking does, and the access ends.
    let unlinked = t.unlink(RETT_REVISJON, &agent, KUNDE_A).await;
    assert_eq!(unlinked.assert_ok(), &json!({"agent": agent, "client": u(KUNDE_A)}));
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "NotApplicable");

    // The facilitator's agents, by organisation number.
    let agents = t.call(Method::GET, &format!("{AGENTS}?party={RETT_REVISJON}"), Some(&admin), None).await;
    let listed: Vec<&str> = agents.assert_ok().as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [agent.as_str()]);
    let unknown = refused(&t, Method::GET, &format!("{AGENTS}?party=310000191"), &admin).await;
    assert_eq!((unknown.status.as_u16(), &unknown.body["title"]), (404, &json!("Party not found")));
}

#[tokio::test]
async fn the_agent_endpoints_by_party_answer_as_on_altinn() {
    let t = ledger_with_system().await;
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    let standard = t.standard_user("310000019_maestro", KUNDE_A, None, &[], &["ske-mva-rapportering"]).await;
    let admin = t.client_admin(RETT_REVISJON);
    let (rr, rr_uuid) = (p(RETT_REVISJON), u(RETT_REVISJON));
    let agent_path = format!("{SYSTEMUSER}/agent/{rr}");

    // The facilitator's clients, as Access Management names their roles and packages.
    let clients = t.call(Method::GET, &format!("{agent_path}/clients?facilitator={rr_uuid}"), Some(&admin), None).await;
    let clients = clients.assert_ok().clone();
    assert_eq!(clients.as_array().unwrap().len(), 1);
    assert_eq!(
        (&clients[0]["partyUuid"], &clients[0]["organizationIdentifier"]),
        (&json!(u(KUNDE_A)), &json!(KUNDE_A))
    );
    assert_eq!(clients[0]["access"][0]["role"], "revisor");
    assert!(clients[0]["access"][0]["packages"].as_array().unwrap().contains(&json!("revisormedarbeider")));
    let filtered =
        format!("{agent_path}/clients?facilitator={rr_uuid}&packages=revisormedarbeider&packages=ansvarlig-revisor");
    assert_eq!(t.call(Method::GET, &filtered, Some(&admin), None).await.assert_ok().as_array().unwrap().len(), 1);
    let none = format!("{agent_path}/clients?facilitator={rr_uuid}&packages=regnskapsforer-lonn");
    assert_eq!(t.call(Method::GET, &none, Some(&admin), None).await.assert_ok(), &json!([]));
    let missing = refused(&t, Method::GET, &format!("{agent_path}/clients"), &admin).await;
    missing.assert_altinn_problem(400, "AUTH-00000", "invalid_parameter");
    let elsewhere = format!("{agent_path}/clients?facilitator={}", u(KUNDE_B));
    assert_bare(&refused(&t, Method::GET, &elsewhere, &admin).await, 403);

    // Delegating a client to the agent by party UUIDs: Altinn's DelegationResponse list.
    let delegate =
        |client: uuid::Uuid, provider: uuid::Uuid| format!("{agent_path}/{agent}?provider={provider}&client={client}");
    let given = t.call(Method::POST, &delegate(u(KUNDE_A), rr_uuid), Some(&admin), None).await;
    assert_eq!(
        given.assert_ok(),
        &json!([{"agentSystemUserId": agent, "delegationId": u(KUNDE_A), "customerId": u(KUNDE_A), "assignmentId": uuid::Uuid::nil()}])
    );
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "Permit");
    let listed = format!("{agent_path}/{rr_uuid}/{agent}/delegations");
    let listed = t.call(Method::GET, &listed, Some(&admin), None).await;
    assert_eq!(
        (&listed.assert_ok()[0]["customerOrganizationNumber"], &listed.body[0]["customerId"]),
        (&json!(KUNDE_A), &json!(u(KUNDE_A)))
    );
    let wrong_facilitator = format!("{agent_path}/{}/{agent}/delegations", u(KUNDE_B));
    assert_eq!(t.call(Method::GET, &wrong_facilitator, Some(&admin), None).await.assert_ok(), &json!([]), "always 200");

    // Refusals, as Altinn answers them.
    refused(&t, Method::POST, &delegate(u(KUNDE_B), rr_uuid), &admin).await.assert_altinn_problem(
        400,
        "AUTH-00080",
        "client_lacks_access_package",
    );
    refused(&t, Method::POST, &delegate(uuid::Uuid::nil(), rr_uuid), &admin).await.assert_altinn_problem(
        400,
        "AUTH-00079",
        "party_not_found",
    );
    assert_bare(&refused(&t, Method::POST, &delegate(u(KUNDE_A), u(KUNDE_B)), &admin).await, 403);
    let not_agent =
        format!("{SYSTEMUSER}/agent/{}/{standard}?provider={}&client={}", p(KUNDE_A), u(KUNDE_A), u(KUNDE_A));
    refused(&t, Method::POST, &not_agent, &t.client_admin(KUNDE_A)).await.assert_altinn_problem(
        400,
        "AUTH-00034",
        "not_agent_system_user",
    );
    let unknown = format!("{agent_path}/{}?provider={rr_uuid}&client={}", uuid::Uuid::nil(), u(KUNDE_A));
    let unknown = refused(&t, Method::POST, &unknown, &admin).await;
    assert_eq!(unknown.body["errors"]["return"][0], format!("SystemUser with Id {} Not Found", uuid::Uuid::nil()));

    // Revoking: 200 with nothing; what cannot be revoked is AUTH-00031, whatever the cause.
    let revoke = |client: uuid::Uuid| format!("{agent_path}/{agent}/client?client={client}&provider={rr_uuid}");
    let revoked = t.call(Method::DELETE, &revoke(u(KUNDE_A)), Some(&admin), None).await;
    assert_eq!((revoked.status.as_u16(), &revoked.body), (200, &Value::Null));
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "NotApplicable");
    refused(&t, Method::DELETE, &revoke(u(KUNDE_A)), &admin).await.assert_altinn_problem(
        400,
        "AUTH-00031",
        "client_not_linked",
    );

    // A standard system user's delegations: what it holds.
    let held = format!("{SYSTEMUSER}/{}/{standard}/delegations", p(KUNDE_A));
    let held = t.call(Method::GET, &held, Some(&t.admin(KUNDE_A)), None).await;
    assert_eq!(
        held.assert_ok(),
        &json!({"systemUserId": standard, "rights": [{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}], "accessPackages": []})
    );
}

#[tokio::test]
async fn register_follows_every_system_user_through_the_internal_stream() {
    let t = ledger_with_system().await;
    let first = t.standard_user("310000019_maestro", KUNDE_A, Some("one"), &[], &["ske-mva-rapportering"]).await;
    let second = t.standard_user("310000019_maestro", KUNDE_A, Some("two"), &[], &["ske-mva-rapportering"]).await;
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    // The first is deleted last: it moves to the end of the stream, marked deleted.
    let (path, admin) = (format!("{SYSTEMUSER}/{}/{first}", p(KUNDE_A)), t.admin(KUNDE_A));
    let deleted_at = t.call(Method::DELETE, &path, Some(&admin), None).await.written_at() - 1;
    let register = t.register();

    let stream = format!("{SYSTEMUSER}/internal/systemusers/stream");
    let page = t.call(Method::GET, &stream, Some(&register), None).await.assert_ok().clone();
    let ids: Vec<&str> = page["data"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str(), agent.as_str(), first.as_str()], "each once, at its latest change");
    let last = &page["data"][2];
    assert_eq!(
        (&last["isDeleted"], &last["sequenceNo"], &last["systemUserType"]),
        (&json!(true), &json!(deleted_at), &json!("standard"))
    );
    assert_eq!((&last["partyOrgNo"], &last["partyId"]), (&json!(KUNDE_A), &json!(p(KUNDE_A).to_string())));
    assert_eq!(page["stats"]["sequenceMax"], deleted_at);
    assert_eq!(page["stats"]["pageEnd"], deleted_at);
    // Following next: an empty page, no next, start and end at the maximum.
    let next = page["links"]["next"].as_str().unwrap().strip_prefix("http://ledger.test").unwrap().to_owned();
    let empty = t.call(Method::GET, &next, Some(&register), None).await.assert_ok().clone();
    assert_eq!(
        empty,
        json!({"links": {}, "stats": {"pageStart": deleted_at, "pageEnd": deleted_at, "sequenceMax": deleted_at}, "data": []})
    );

    // One by id: the live one; a deleted one is gone (410, nothing).
    let one = t.call(Method::GET, &format!("{SYSTEMUSER}/internal/systemusers/{second}"), Some(&register), None).await;
    assert_eq!(one.assert_ok()["id"], second.as_str());
    let gone = refused(&t, Method::GET, &format!("{SYSTEMUSER}/internal/systemusers/{first}"), &register).await;
    assert_bare(&gone, 410);
}

#[tokio::test]
async fn an_organisation_makes_its_own_system_user_and_lets_its_agent_act_for_it() {
    let t = ledger_with_system().await;
    // A system whose package an organisation may hold itself, and a right.
    t.register_system("310000019_skatt", &["skattegrunnlag"], &["ske-mva-rapportering"]).await.assert_ok();
    let a_admin = t.admin(KUNDE_A);
    let create = format!("{SYSTEMUSER}/{}/create", p(KUNDE_A));

    // Given no request, when Kunde A's administrator makes a system user for the system,
    // then it is a standard system user with everything the system gives, under Kunde A's
    // org number as external ref (PascalCase members read, as ASP.NET reads them).
    let body = json!({"SystemId": "310000019_skatt", "integrationTitle": "Egen integrasjon"});
    let made = t.call(Method::POST, &create, Some(&a_admin), Some(body.clone())).await;
    let made = made.assert_ok().clone();
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (&made["userType"], &made["externalRef"], &made["integrationTitle"], &made["partyId"]),
        (&json!("standard"), &json!(KUNDE_A), &json!("Egen integrasjon"), &json!(p(KUNDE_A).to_string()))
    );
    assert_eq!(made["accessPackages"][0]["urn"], pkg("skattegrunnlag"));
    assert_eq!(t.decision(&id, "write", "ske-betalinger-selvstendig-naeringsdrivende", KUNDE_A).await, "Permit");
    assert_eq!(t.decision(&id, "write", "ske-mva-rapportering", KUNDE_A).await, "Permit");
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let history = t.call(Method::GET, &format!("/v1/audit/system-users/{id}/history"), Some(&auditor), None).await;
    let first = &history.assert_ok()["data"][0];
    assert_eq!(
        (&first["type"], &first["actor"]["id"]),
        (&json!("ledger.systemuser.createdbyowner.v1"), &json!(format!("person-admin-{KUNDE_A}")))
    );

    // Refusals, as Altinn answers them, writing nothing.
    refused(&t, Method::POST, &create, &a_admin).await; // no body
    let again = t.call(Method::POST, &create, Some(&a_admin), Some(body.clone())).await;
    again.assert_altinn_problem(400, "AUTH-00004", "system_user_exists");
    let unknown = json!({"systemId": "310000019_ingen"});
    let unknown_reply = t.call(Method::POST, &create, Some(&a_admin), Some(unknown)).await;
    unknown_reply.assert_altinn_problem(404, "AUTH-00011", "system_not_found");
    let for_clients = json!({"systemId": "310000019_maestro"});
    let for_clients = t.call(Method::POST, &create, Some(&a_admin), Some(for_clients)).await;
    for_clients.assert_altinn_problem(400, "AUTH-00064", "access_package_not_assignable");
    let elsewhere = t.call(Method::POST, &create, Some(&t.admin(KUNDE_B)), Some(body.clone())).await;
    assert_bare(&elsewhere, 403);

    // Altinn's update changes nothing: 200 for a system user the caller's organisation
    // has, an empty 404 for any other; no write either way.
    let before = (t.position(), t.digest());
    let update = SYSTEMUSER;
    let ok = t.call(Method::PUT, update, Some(&a_admin), Some(json!({"id": id, "integrationTitle": "x"}))).await;
    assert_eq!((ok.status.as_u16(), &ok.body), (200, &Value::Null));
    assert_bare(&t.call(Method::PUT, update, Some(&t.admin(KUNDE_B)), Some(json!({"id": id}))).await, 404);
    let nil = json!({"id": uuid::Uuid::nil()});
    assert_bare(&t.call(Method::PUT, update, Some(&a_admin), Some(nil)).await, 404);
    let not_a_guid = t.call(Method::PUT, update, Some(&a_admin), Some(json!({"id": "nope"}))).await;
    assert_eq!(
        (not_a_guid.status.as_u16(), &not_a_guid.body["errors"]["id"][0]),
        (400, &json!("The value 'nope' is not valid."))
    );
    assert_eq!((t.position(), t.digest()), before, "an update writes nothing");
}

#[tokio::test]
async fn an_agents_owner_delegates_its_own_packages_to_it_as_on_altinn() {
    let t = ledger_with_system().await;
    t.register_system("310000019_skatt", &["skattegrunnlag"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_skatt", RETT_REVISJON, None, &["skattegrunnlag"]).await;
    let admin = t.admin(RETT_REVISJON);
    let (rr, rr_uuid) = (p(RETT_REVISJON), u(RETT_REVISJON));
    let self_path = |id: &str, party_uuid: &str| format!("{SYSTEMUSER}/agent/{rr}/{id}/self?partyUuid={party_uuid}");
    let own = self_path(&agent, &rr_uuid.to_string());
    let resource = "ske-betalinger-selvstendig-naeringsdrivende";

    // Given an agent of Rett Revisjon, it does not act for Rett Revisjon itself.
    assert_eq!(t.decision(&agent, "write", resource, RETT_REVISJON).await, "NotApplicable");
    assert_eq!(t.call(Method::GET, &own, Some(&admin), None).await.assert_ok(), &json!(false));
    let before_delegation = t.position();

    // When Rett Revisjon's administrator delegates its own packages to it, then it does,
    // and the delegation is the proof; again is the same (no second event).
    assert_eq!(t.call(Method::POST, &own, Some(&admin), None).await.assert_ok(), &json!(true));
    assert_eq!(t.decision(&agent, "write", resource, RETT_REVISJON).await, "Permit");
    let proof = t.proof(&agent, "write", resource, RETT_REVISJON).await;
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let history = t.call(Method::GET, &format!("/v1/audit/system-users/{agent}/history"), Some(&auditor), None).await;
    let entries = history.assert_ok()["data"].as_array().unwrap().clone();
    let delegated = entries.iter().find(|e| e["type"] == "ledger.systemuser.selfdelegated.v1").expect("on the record");
    assert_eq!(delegated["actor"]["id"], format!("person-admin-{RETT_REVISJON}"));
    let delegated = delegated["eventId"].as_str().unwrap();
    assert!(proof.to_string().contains(delegated), "the self delegation is the proof: {proof}");
    assert_eq!(t.call(Method::GET, &own, Some(&admin), None).await.assert_ok(), &json!(true));
    let as_of = format!("{own}&atPosition={before_delegation}");
    assert_eq!(t.call(Method::GET, &as_of, Some(&admin), None).await.assert_ok(), &json!(false), "as of before");
    let position = t.position();
    assert_eq!(t.call(Method::POST, &own, Some(&admin), None).await.assert_ok(), &json!(true));
    assert_eq!(t.position(), position, "idempotent, as on Altinn");

    // Its clients are another matter: it still acts for none.
    assert_eq!(t.decision(&agent, "write", resource, KUNDE_A).await, "NotApplicable");

    // Refusals, writing nothing.
    assert_bare(&refused(&t, Method::POST, &self_path(&agent, &u(KUNDE_A).to_string()), &admin).await, 403);
    assert_bare(&refused(&t, Method::POST, &format!("{SYSTEMUSER}/agent/{rr}/{agent}/self"), &admin).await, 403);
    let not_a_guid = refused(&t, Method::POST, &self_path(&agent, "nope"), &admin).await;
    assert_eq!(not_a_guid.body["errors"]["partyUuid"][0], "The value 'nope' is not valid.");
    let nobody = "00000000-0000-4000-8000-00000000beef".to_owned();
    let unknown = refused(&t, Method::POST, &self_path(&nobody, &rr_uuid.to_string()), &admin).await;
    assert_eq!(unknown.body["errors"]["return"][0], format!("SystemUser with Id {nobody} Not Found"));
    let client_only = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    refused(&t, Method::POST, &self_path(&client_only, &rr_uuid.to_string()), &admin).await.assert_altinn_problem(
        400,
        "AUTH-00064",
        "access_package_not_assignable",
    );
    let standard = t.standard_user("310000019_maestro", KUNDE_A, None, &[], &["ske-mva-rapportering"]).await;
    let standard_self = format!("{SYSTEMUSER}/agent/{}/{standard}/self?partyUuid={}", p(KUNDE_A), u(KUNDE_A));
    refused(&t, Method::POST, &standard_self, &t.admin(KUNDE_A)).await.assert_altinn_problem(
        400,
        "AUTH-00034",
        "user_type_mismatch",
    );
    refused(&t, Method::POST, &own, &t.client_admin(RETT_REVISJON)).await;

    // When it is revoked, then it acts for its owner no more; revoking again is the same.
    assert_eq!(t.call(Method::DELETE, &own, Some(&admin), None).await.assert_ok(), &json!(true));
    assert_eq!(t.decision(&agent, "write", resource, RETT_REVISJON).await, "NotApplicable");
    let position = t.position();
    assert_eq!(t.call(Method::DELETE, &own, Some(&admin), None).await.assert_ok(), &json!(true));
    assert_eq!(t.position(), position, "idempotent, as on Altinn");
    assert_eq!(t.call(Method::GET, &own, Some(&admin), None).await.assert_ok(), &json!(false));

    // An auditor sees the window in which it could act for its owner, and no other.
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let access = format!("/v1/audit/access?party={RETT_REVISJON}&resource={resource}&action=write");
    let access = t.call(Method::GET, &access, Some(&auditor), None).await;
    let users = access.assert_ok()["systemUsers"].as_array().unwrap().clone();
    let windows = &users.iter().find(|u| u["systemUser"] == agent.as_str()).expect("the agent could act")["windows"];
    assert_eq!(windows.as_array().unwrap().len(), 1, "{windows}");
    assert!(!windows[0]["untilPosition"].is_null(), "closed by the revocation: {windows}");
}

#[tokio::test]
async fn maskinportens_lookup_refuses_a_client_id_two_older_systems_share() {
    let t = TestLedger::new();
    // Given two of Maestro's systems registered before client ids had to be unique
    // (version-1 events, as an older log holds them), both with the client id "shared".
    let v1 = |n: u128, slug: &str| {
        let id = format!("310000019_{slug}");
        json!({"specversion": "1.0", "id": uuid::Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_0000 + n),
            "source": "urn:delegation-ledger", "type": "ledger.system.registered.v1",
            "time": "2026-01-02T00:00:00Z", "subject": format!("system/{id}"), "datacontenttype": "application/json",
            "dataschema": "urn:delegation-ledger:schema:ledger.system.registered.v1",
            "actorkind": "vendor", "actorid": "maestro", "onbehalfof": MAESTRO,
            "data": {"systemId": id, "vendorOrgNo": MAESTRO, "name": {"nb": slug}, "description": {},
                "rights": [{"resource": "ske-mva-rapportering"}], "accessPackages": [], "clientIds": ["shared"],
                "allowedRedirectUrls": [], "isVisible": true}})
        .to_string()
        .into_bytes()
    };
    t.ledger.import(&[v1(1, "one"), v1(2, "two")], chrono::Utc::now()).expect("older events apply as then");
    let lookup = format!(
        "{SYSTEMUSER}/byExternalId?clientId=shared&systemProviderOrgNo={MAESTRO}&systemUserOwnerOrgNo={KUNDE_A}"
    );
    let one = t.standard_user("310000019_one", KUNDE_A, None, &[], &["ske-mva-rapportering"]).await;
    let found = t.call(Method::GET, &lookup, Some(&t.pdp()), None).await;
    assert_eq!(found.assert_ok()["id"], one.as_str(), "one system user: no doubt");

    // When Kunde A has a system user of each, then which one the client means cannot be
    // told, and none is picked.
    t.standard_user("310000019_two", KUNDE_A, None, &[], &["ske-mva-rapportering"]).await;
    let ambiguous = t.call(Method::GET, &lookup, Some(&t.pdp()), None).await;
    ambiguous.assert_problem(409, "client_id_in_use");
}
