//! The numbered user scenarios of `shared/domain` (1–10 and 10b), end to end through the
//! HTTP API on the embedded log, with PDP decisions asserted before and after each step.

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};

const PERMIT: &str = "Permit";
const NA: &str = "NotApplicable";

/// 1. A registered accountant (REGN) reports VAT for a client through an agent system user.
#[tokio::test]
async fn scenario_01_registered_accountant_reports_for_a_client() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_B, RETT_REVISJON, "REGN").await;
    t.register_system("310000175_regnskap", &["regnskapsforer-med-signeringsrettighet"], &[]).await.assert_ok();
    let agent =
        t.agent_user("310000175_regnskap", RETT_REVISJON, None, &["regnskapsforer-med-signeringsrettighet"]).await;
    assert_eq!(t.decision(&agent, "write", "ske-mva-rapportering", KUNDE_B).await, NA, "not linked yet");

    // Step 1: the client administrator links the client; access follows automatically.
    let linked = t.link(RETT_REVISJON, &agent, KUNDE_B).await;
    assert_eq!(linked.assert_ok()["client"], json!(t.party_uuid(KUNDE_B)));
    // Steps 2-4: the system calls the API; the API asks the PDP.
    assert_eq!(t.decision(&agent, "write", "ske-mva-rapportering", KUNDE_B).await, PERMIT);
    assert_eq!(t.decision(&agent, "write", "ske-mva-rapportering", KUNDE_A).await, NA, "not a client");
    assert_eq!(
        t.decision(&agent, "write", "ske-mva-rapportering", RETT_REVISJON).await,
        NA,
        "an agent has nothing for its owner"
    );

    t.unlink(RETT_REVISJON, &agent, KUNDE_B).await.assert_ok();
    assert_eq!(t.decision(&agent, "write", "ske-mva-rapportering", KUNDE_B).await, NA, "after unlinking");
}

/// 2. A property manager (FFOR) reports for a housing cooperative.
#[tokio::test]
async fn scenario_02_property_manager_reports_for_the_principal() {
    let t = TestLedger::new();
    t.grant_role(BORETTSLAG, RETT_REVISJON, "FFOR").await;
    t.register_system("310000019_eiendom", &["forretningsforer-eiendom"], &[]).await.assert_ok();

    // Steps 1-2: the vendor asks, the property manager approves.
    let request =
        t.request_agent("310000019_eiendom", RETT_REVISJON, Some("boligteam"), &["forretningsforer-eiendom"]).await;
    let id = request.assert_ok()["id"].as_str().unwrap().to_owned();
    assert_eq!(request.body["status"], "New");
    assert_eq!(t.decision(&id, "write", "ske-innrapportering-boligsameie", BORETTSLAG).await, NA, "no system user yet");
    t.approve(RETT_REVISJON, &id, true).await.assert_ok();

    // Step 4: the client administrator adds the cooperative.
    assert_eq!(t.decision(&id, "write", "ske-innrapportering-boligsameie", BORETTSLAG).await, NA);
    t.link(RETT_REVISJON, &id, BORETTSLAG).await.assert_ok();
    // Steps 6-9: submission is authorised.
    assert_eq!(t.decision(&id, "write", "ske-innrapportering-boligsameie", BORETTSLAG).await, PERMIT);

    // The register ends the FFOR role: decisions stop at once and the link ends with it.
    let revoked = t
        .call(
            Method::DELETE,
            &format!("/v1/client-relationships?client={BORETTSLAG}&facilitator={RETT_REVISJON}&role=FFOR"),
            Some(&t.register()),
            None,
        )
        .await;
    assert_eq!(revoked.assert_ok()["clientsUnlinked"], 1);
    assert_eq!(t.decision(&id, "write", "ske-innrapportering-boligsameie", BORETTSLAG).await, NA, "after revocation");
    let clients = t
        .call(
            Method::GET,
            &format!("{AUTHN}/enduser/systemuser/clients?agent={id}"),
            Some(&t.client_admin(RETT_REVISJON)),
            None,
        )
        .await;
    assert_eq!(clients.assert_ok()["data"], json!([]));
}

/// 3. One firm, two agent system users: registered clients and unregistered ones.
#[tokio::test]
async fn scenario_03_accountant_differentiates_access_between_system_users() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_B, RETT_REVISJON, "REGN").await;
    t.delegate(KUNDE_C, RETT_REVISJON, &["skattegrunnlag"]).await;
    t.register_system("310000019_betalinger", &["regnskapsforer-med-signeringsrettighet", "skattegrunnlag"], &[])
        .await
        .assert_ok();

    // Steps 1-3: two requests, both approved.
    let registered = t
        .agent_user(
            "310000019_betalinger",
            RETT_REVISJON,
            Some("registrerte"),
            &["regnskapsforer-med-signeringsrettighet"],
        )
        .await;
    let unregistered =
        t.agent_user("310000019_betalinger", RETT_REVISJON, Some("uregistrerte"), &["skattegrunnlag"]).await;

    // Step 5: the client administrator distributes the clients.
    t.link(RETT_REVISJON, &registered, KUNDE_B).await.assert_ok();
    t.link(RETT_REVISJON, &unregistered, KUNDE_C).await.assert_ok();
    // A client that lacks the package cannot be put on the wrong system user.
    t.link(RETT_REVISJON, &registered, KUNDE_C).await.assert_altinn_problem(
        400,
        "AUTH-00080",
        "client_lacks_access_package",
    );

    let resource = "ske-betalinger-selvstendig-naeringsdrivende";
    assert_eq!(t.decision(&registered, "write", resource, KUNDE_B).await, PERMIT);
    assert_eq!(t.decision(&unregistered, "write", resource, KUNDE_C).await, PERMIT);
    assert_eq!(t.decision(&registered, "write", resource, KUNDE_C).await, NA);
    assert_eq!(t.decision(&unregistered, "write", resource, KUNDE_B).await, NA);
}

/// 4. An unregistered accountant: the client delegates the package itself.
#[tokio::test]
async fn scenario_04_unregistered_accountant_gets_the_clients_delegation() {
    let t = TestLedger::new();
    t.register_system("310000175_regnskap", &["skattegrunnlag"], &[]).await.assert_ok();
    let agent = t.agent_user("310000175_regnskap", RETT_REVISJON, None, &["skattegrunnlag"]).await;

    // Before the client delegates, the client cannot be linked.
    t.link(RETT_REVISJON, &agent, KUNDE_C).await.assert_altinn_problem(
        400,
        "AUTH-00080",
        "client_lacks_access_package",
    );
    // Steps 1-2: the client delegates via Altinn.
    t.delegate(KUNDE_C, RETT_REVISJON, &["skattegrunnlag"]).await;
    // Step 3: the client is linked; steps 4-6: access verified.
    t.link(RETT_REVISJON, &agent, KUNDE_C).await.assert_ok();
    assert_eq!(t.decision(&agent, "write", "ske-mva-rapportering", KUNDE_C).await, PERMIT);

    // The client withdraws its delegation: decisions stop.
    let revoked = t
        .call(
            Method::DELETE,
            &format!(
                "/v1/client-relationships?client={KUNDE_C}&facilitator={RETT_REVISJON}&accessPackage={}",
                pkg("skattegrunnlag")
            ),
            Some(&t.admin(KUNDE_C)),
            None,
        )
        .await;
    revoked.assert_ok();
    assert_eq!(t.decision(&agent, "write", "ske-mva-rapportering", KUNDE_C).await, NA, "after revocation");
}

/// 5. An organisation reports its own data through a standard system user.
#[tokio::test]
async fn scenario_05_organisation_reports_its_own_data() {
    let t = TestLedger::new();
    // Step 1: the organisation buys a system; single rights and an assignable package.
    t.register_system("310000175_mva", &["skatt-naering"], &["ske-mva-rapportering"]).await.assert_ok();
    // Step 2: the vendor requests a system user with a single right.
    let with_right = t.request_standard("310000175_mva", BYGGMESTER, None, &[], &["ske-mva-rapportering"]).await;
    let id = with_right.assert_ok()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        with_right.body["confirmUrl"],
        format!("http://ledger.test/accessmanagement/ui/systemuser/request?id={id}&DONTCHOOSEREPORTEE=true")
    );
    assert_eq!(t.decision(&id, "write", "ske-mva-rapportering", BYGGMESTER).await, NA, "before approval");
    // Step 3: approval creates the system user with the request's id.
    let approved = t.approve(BYGGMESTER, &id, false).await;
    assert_eq!(approved.assert_ok(), &json!(true));
    let user = t
        .call(Method::GET, &format!("{AUTHN}/systemuser/{}/{id}", p(BYGGMESTER)), Some(&t.admin(BYGGMESTER)), None)
        .await;
    assert_eq!(user.assert_ok()["id"], id.as_str(), "the system user has the request's id");
    // Steps 4-5: the API checks access; the minimum authentication level comes as an obligation.
    let reply = t.xacml(&xacml_request(&id, "write", "ske-mva-rapportering", BYGGMESTER)).await;
    assert_eq!(reply.body["response"][0]["decision"], PERMIT);
    assert_eq!(reply.body["response"][0]["obligations"][0]["attributeAssignment"][0]["value"], "3");
    assert_eq!(t.decision(&id, "write", "ske-mva-rapportering", KUNDE_A).await, NA, "only for its owner");
    assert_eq!(t.decision(&id, "write", "ske-aksjonaerregister", BYGGMESTER).await, NA, "no right there");

    // The same setup with an access package (delivery 4).
    let by_package = t.standard_user("310000175_mva", BYGGMESTER, Some("pakke"), &["skatt-naering"], &[]).await;
    assert_eq!(t.decision(&by_package, "read", "ske-mva-rapportering", BYGGMESTER).await, PERMIT);

    // Deleting the system user ends its access.
    let deleted = t
        .call(Method::DELETE, &format!("{AUTHN}/systemuser/{}/{id}", p(BYGGMESTER)), Some(&t.admin(BYGGMESTER)), None)
        .await;
    deleted.assert_ok();
    assert_eq!(t.decision(&id, "write", "ske-mva-rapportering", BYGGMESTER).await, NA, "after deletion");
    assert_eq!(
        t.decision(&by_package, "read", "ske-mva-rapportering", BYGGMESTER).await,
        PERMIT,
        "the other one lives"
    );
}

/// 6. An accountant retrieves a client's messages through Dialogporten.
#[tokio::test]
async fn scenario_06_accountant_retrieves_messages_for_a_client() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_B, RETT_REVISJON, "REGN").await;
    t.register_system("310000019_meldinger", &["regnskapsforer-uten-signeringsrettighet"], &[]).await.assert_ok();
    let agent =
        t.agent_user("310000019_meldinger", RETT_REVISJON, None, &["regnskapsforer-uten-signeringsrettighet"]).await;
    assert_eq!(t.decision(&agent, "read", "dialogporten-skatt-meldinger", KUNDE_B).await, NA);
    t.link(RETT_REVISJON, &agent, KUNDE_B).await.assert_ok();
    assert_eq!(t.decision(&agent, "read", "dialogporten-skatt-meldinger", KUNDE_B).await, PERMIT);
    assert_eq!(t.decision(&agent, "write", "dialogporten-skatt-meldinger", KUNDE_B).await, NA, "reading only");
    assert_eq!(
        t.decision(&agent, "write", "ske-mva-rapportering", KUNDE_B).await,
        NA,
        "package without signing rights"
    );
}

/// 7. An organisation sends a registration of title through the Land Registry's broker.
#[tokio::test]
async fn scenario_07_organisation_sends_a_file_through_a_broker_service() {
    let t = TestLedger::new();
    t.register_system("310000175_tinglysning", &[], &["kartverket-tinglysning"]).await.assert_ok();
    let user = t.standard_user("310000175_tinglysning", MEGLER, None, &[], &["kartverket-tinglysning"]).await;
    assert_eq!(t.decision(&user, "write", "kartverket-tinglysning", MEGLER).await, PERMIT);
    assert_eq!(t.decision(&user, "write", "kartverket-tinglysning", KUNDE_A).await, NA);
}

/// 8. An organisation that built its own reporting system asks itself for a system user.
#[tokio::test]
async fn scenario_08_organisation_with_its_own_system() {
    let t = TestLedger::new();
    t.register_system("310000108_egen", &[], &["kartverket-tinglysning"]).await.assert_ok();
    let request = t.request_standard("310000108_egen", EGENUTVIKLING, None, &[], &["kartverket-tinglysning"]).await;
    let id = request.assert_ok()["id"].as_str().unwrap().to_owned();
    assert_eq!(t.decision(&id, "write", "kartverket-tinglysning", EGENUTVIKLING).await, NA);
    t.approve(EGENUTVIKLING, &id, false).await.assert_ok();
    assert_eq!(t.decision(&id, "write", "kartverket-tinglysning", EGENUTVIKLING).await, PERMIT);
}

/// 9. A locally installed SAP: the organisation registers the installation as its own system.
#[tokio::test]
async fn scenario_09_locally_installed_sap() {
    let t = TestLedger::new();
    t.register_system("310000116_sap-lokal", &["skatt-naering"], &[]).await.assert_ok();
    // SAP, the software's maker, has no say over the customer's installation.
    let foreign = t
        .call(
            Method::POST,
            &format!("{AUTHN}/systemuser/request/vendor"),
            Some(&t.vendor(SAP)),
            Some(json!({"systemId": "310000116_sap-lokal", "partyOrgNo": INDUSTRI, "accessPackages": [{"urn": pkg("skatt-naering")}]})),
        )
        .await;
    // Altinn answers a vendor that is not the system's as if the system were not there.
    assert_eq!((foreign.status.as_u16(), &foreign.body["code"]), (404, &json!("AUTH-00011")));
    assert_eq!(foreign.body["ledgerCode"], "not_system_vendor");
    let user = t.standard_user("310000116_sap-lokal", INDUSTRI, None, &["skatt-naering"], &[]).await;
    assert_eq!(t.decision(&user, "write", "ske-mva-rapportering", INDUSTRI).await, PERMIT);
    // Maskinporten finds the system user from the installation's client id.
    let found = t
        .call(
            Method::GET,
            &format!("{AUTHN}/systemuser/byExternalId?clientId=client-310000116_sap-lokal&systemProviderOrgNo={INDUSTRI}&systemUserOwnerOrgNo={INDUSTRI}"),
            Some(&t.pdp()),
            None,
        )
        .await;
    assert_eq!(found.assert_ok()["id"], user.as_str());
}

struct Scenario10 {
    revisor: String,
    skatt: String,
    regnskap: String,
}

/// Steps 1-5 of scenario 10, shared with 10b.
async fn scenario_10_setup(t: &TestLedger) -> Scenario10 {
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.grant_role(KUNDE_B, RETT_REVISJON, "REGN").await;
    t.delegate(KUNDE_C, RETT_REVISJON, &["skattegrunnlag"]).await;
    t.register_system(
        "310000019_maestro",
        &["revisormedarbeider", "skattegrunnlag", "regnskapsforer-med-signeringsrettighet"],
        &[],
    )
    .await
    .assert_ok();
    // Steps 1-3: Maestro asks for one system user per kind of client relationship.
    let mut ids = Vec::new();
    for (external_ref, package) in [
        ("revisor", "revisormedarbeider"),
        ("skatt", "skattegrunnlag"),
        ("regnskap", "regnskapsforer-med-signeringsrettighet"),
    ] {
        let r = t.request_agent("310000019_maestro", RETT_REVISJON, Some(external_ref), &[package]).await;
        ids.push(r.assert_ok()["id"].as_str().unwrap().to_owned());
    }
    // Step 4: Rett Revisjon accepts them.
    for id in &ids {
        t.approve(RETT_REVISJON, id, true).await.assert_ok();
    }
    let s = Scenario10 { revisor: ids[0].clone(), skatt: ids[1].clone(), regnskap: ids[2].clone() };
    // Step 5: clients go to the system user matching their relationship.
    t.link(RETT_REVISJON, &s.revisor, KUNDE_A).await.assert_ok();
    t.link(RETT_REVISJON, &s.regnskap, KUNDE_B).await.assert_ok();
    t.link(RETT_REVISJON, &s.skatt, KUNDE_C).await.assert_ok();
    s
}

/// 10. Rett Revisjon, accountant and auditor, reports the shareholder register for clients.
#[tokio::test]
async fn scenario_10_accountant_and_auditor_report_the_shareholder_register() {
    let t = TestLedger::new();
    let s = scenario_10_setup(&t).await;
    let r = "ske-aksjonaerregister";
    // Steps 6-10: the right system user for each customer's relationship is authorised.
    assert_eq!(t.decision(&s.revisor, "write", r, KUNDE_A).await, PERMIT);
    assert_eq!(t.decision(&s.regnskap, "write", r, KUNDE_B).await, PERMIT);
    assert_eq!(t.decision(&s.skatt, "write", r, KUNDE_C).await, PERMIT);
    // The wrong one is not.
    assert_eq!(t.decision(&s.revisor, "write", r, KUNDE_B).await, NA);
    assert_eq!(t.decision(&s.regnskap, "write", r, KUNDE_A).await, NA);

    // The proof names the events that grant it.
    let proof = t.proof(&s.revisor, "write", r, KUNDE_A).await;
    assert_eq!(proof["decision"], PERMIT);
    let facts: Vec<&str> = proof["grantedBy"].as_array().unwrap().iter().map(|g| g["fact"].as_str().unwrap()).collect();
    assert_eq!(facts.len(), 4, "{proof}");
    assert!(facts[1].contains("linked") && facts[2].contains("REVI"), "{facts:?}");

    // Unlinking a client stops it.
    t.unlink(RETT_REVISJON, &s.regnskap, KUNDE_B).await.assert_ok();
    assert_eq!(t.decision(&s.regnskap, "write", r, KUNDE_B).await, NA, "after unlink");
    let missing = t.proof(&s.regnskap, "write", r, KUNDE_B).await;
    assert!(missing["missing"].as_str().unwrap().contains("not linked"), "{missing}");

    // Deleting an agent system user ends its links, each recorded.
    let deleted = t
        .call(
            Method::DELETE,
            &format!("{AUTHN}/systemuser/agent/{}/{}", p(RETT_REVISJON), s.skatt),
            Some(&t.admin(RETT_REVISJON)),
            None,
        )
        .await;
    assert_eq!((deleted.status.as_u16(), &deleted.body), (200, &Value::Null), "Altinn's answer: 200, nothing");
    let history = t
        .call(
            Method::GET,
            &format!("/v1/audit/system-users/{}/history", s.skatt),
            Some(&t.token(ledger::auth::Role::Auditor, None)),
            None,
        )
        .await;
    let ended: Vec<&Value> = history.assert_ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "ledger.client.unlinked.v1")
        .collect();
    assert_eq!(ended.len(), 1, "its one link ended, recorded as its own event");
    assert_eq!(ended[0]["changed"]["reason"], "system-user-deleted");
    assert_eq!(t.decision(&s.skatt, "write", r, KUNDE_C).await, NA, "after deletion");

    // Revoking the auditor relationship stops the auditor system user for that client.
    t.call(
        Method::DELETE,
        &format!("/v1/client-relationships?client={KUNDE_A}&facilitator={RETT_REVISJON}"),
        Some(&t.register()),
        None,
    )
    .await
    .assert_ok();
    assert_eq!(t.decision(&s.revisor, "write", r, KUNDE_A).await, NA, "after revocation");
}

/// 10b. New customers are linked to the system user matching their relationship.
#[tokio::test]
async fn scenario_10b_new_customers() {
    let t = TestLedger::new();
    let s = scenario_10_setup(&t).await;
    t.grant_role(KUNDE_D, RETT_REVISJON, "REVI").await;
    t.grant_role(KUNDE_E, RETT_REVISJON, "REGN").await;
    let r = "ske-aksjonaerregister";
    assert_eq!(t.decision(&s.revisor, "write", r, KUNDE_D).await, NA);

    // Step 1: system user administration lists the agents.
    let agents = t
        .call(
            Method::GET,
            &format!("{AUTHN}/enduser/systemuser/agents?party={RETT_REVISJON}"),
            Some(&t.client_admin(RETT_REVISJON)),
            None,
        )
        .await;
    assert_eq!(agents.assert_ok().as_array().unwrap().len(), 3);
    // Step 2: the available clients show which can go on which system user.
    let available = t
        .call(
            Method::GET,
            &format!("{AUTHN}/enduser/systemuser/clients/available?agent={}", s.revisor),
            Some(&t.client_admin(RETT_REVISJON)),
            None,
        )
        .await;
    let eligible: Vec<&str> = available.assert_ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clientOrganizationNumber"].as_str().unwrap())
        .collect();
    assert_eq!(eligible, vec![KUNDE_A, KUNDE_D]);
    // Step 3: add the customers.
    t.link(RETT_REVISJON, &s.revisor, KUNDE_D).await.assert_ok();
    t.link(RETT_REVISJON, &s.regnskap, KUNDE_E).await.assert_ok();
    assert_eq!(t.decision(&s.revisor, "write", r, KUNDE_D).await, PERMIT);
    assert_eq!(t.decision(&s.regnskap, "write", r, KUNDE_E).await, PERMIT);
    assert_eq!(t.decision(&s.revisor, "write", r, KUNDE_E).await, NA);
    // Linking again is idempotent: no new event.
    let before = t.position();
    t.link(RETT_REVISJON, &s.revisor, KUNDE_D).await.assert_ok();
    assert_eq!(t.position(), before);
}

// ---- NAV's scenarios A–C: single rights through the whole chain ----------------------
//
// Superavstemming (Kontrollen AS; the fixture's Systemhuset stands in) reads NAV's
// a-ordning reconciliation data, A06 and A07, for an accountant's clients, and nothing
// more. No access package holds just those rights.

/// Links `client` to the agent, for only what `scope` names (the native link).
async fn link_only(t: &TestLedger, agent: &str, client: &str, mut scope: Value) -> Reply {
    scope["client"] = json!(client);
    let path = format!("/v1/system-users/{agent}/clients");
    t.call(Method::POST, &path, Some(&t.client_admin(RETT_REVISJON)), Some(scope)).await
}

fn native(resource: &str) -> Value {
    json!({"resource": resource})
}

fn facts(proof: &Value) -> Vec<String> {
    proof["grantedBy"].as_array().unwrap().iter().map(|g| g["fact"].as_str().unwrap().to_owned()).collect()
}

/// NAV A. The vendor asks for a *limited* agent (A06/A07 only, no package); the
/// accountant approves; its REGN clients are added. The agent reads A06/A07 for them —
/// REGN's payroll package gets those — and nothing else the package would give. An
/// agent that does carry the package has a client added for A06/A07 only.
#[tokio::test]
async fn nav_scenario_a_a_limited_agent_and_a_client_added_for_a06_a07_only() {
    let t = TestLedger::new();
    nav_services(&t).await;
    t.grant_role(KUNDE_B, RETT_REVISJON, "REGN").await;
    t.grant_role(KUNDE_C, RETT_REVISJON, "REGN").await;

    // Steps 1-2: a limited system user, approved.
    let limited = superavstemming_agent(&t, "limited", &[A06, A07], &[]).await;
    assert_eq!(t.decision(&limited, "read", A06, KUNDE_B).await, NA, "no client linked yet");
    // Step 3: the client is added; it gives the accountant what A06/A07 need.
    t.link(RETT_REVISJON, &limited, KUNDE_B).await.assert_ok();
    // Steps 5-6: the PDP permits A06/A07, and nothing beyond.
    assert_eq!(t.decision(&limited, "read", A06, KUNDE_B).await, PERMIT);
    assert_eq!(t.decision(&limited, "read", A07, KUNDE_B).await, PERMIT);
    assert_eq!(
        t.decision(&limited, "read", INNTEKTSMELDING, KUNDE_B).await,
        NA,
        "REGN's package would, the agent does not"
    );
    assert_eq!(t.decision(&limited, "write", "ske-mva-rapportering", KUNDE_B).await, NA);
    let proof = t.proof(&limited, "read", A06, KUNDE_B).await;
    assert!(
        facts(&proof)
            .iter()
            .any(|f| f.contains("regnskapsforer-lonn (REGN), which gets nav-aordning-avstemming-a06/read")),
        "{proof}"
    );

    // A full agent (the package too): one client for everything, one for A06/A07 only.
    let full = superavstemming_agent(&t, "full", &[A06, A07], &[LONN]).await;
    t.link(RETT_REVISJON, &full, KUNDE_B).await.assert_ok();
    let linked = link_only(&t, &full, KUNDE_C, json!({"rights": [native(A06), native(A07)]})).await;
    assert_eq!(linked.status.as_u16(), 201, "{}", linked.body);
    assert_eq!(linked.body["rights"], json!([native(A06), native(A07)]));
    let again = link_only(&t, &full, KUNDE_C, json!({"rights": [native(A06), native(A07)]})).await;
    assert_eq!(again.status.as_u16(), 200, "the same link again writes nothing");
    let other = link_only(&t, &full, KUNDE_C, json!({"rights": [native(A06)]})).await;
    other.assert_problem(409, "version_conflict");
    assert_eq!(t.decision(&full, "read", INNTEKTSMELDING, KUNDE_B).await, PERMIT, "the whole package");
    assert_eq!(t.decision(&full, "read", INNTEKTSMELDING, KUNDE_C).await, NA, "A06/A07 only");
    assert_eq!(t.decision(&full, "read", A07, KUNDE_C).await, PERMIT);
    let proof = t.proof(&full, "read", A07, KUNDE_C).await;
    let linked = format!("client {KUNDE_C} linked for {A06}, {A07} only");
    assert!(facts(&proof).contains(&linked), "the proof names the link's restriction: {proof}");

    // A subset beyond what the agent holds, or an empty one, is refused; nothing written.
    let before = t.position();
    let refused = link_only(&t, &limited, KUNDE_C, json!({"rights": [native(INNTEKTSMELDING)]})).await;
    refused.assert_problem(400, "invalid_field");
    let refused = link_only(&t, &full, KUNDE_B, json!({"accessPackages": []})).await;
    refused.assert_problem(400, "invalid_field");
    assert_eq!(t.position(), before);
    // The agent's clients, each with what its link gives.
    let links =
        t.call(Method::GET, &format!("/v1/system-users/{full}/clients"), Some(&t.admin(RETT_REVISJON)), None).await;
    let data = links.assert_ok()["data"].as_array().unwrap().clone();
    let c = data.iter().find(|l| l["client"] == KUNDE_C).expect("Kunde C's link");
    assert_eq!(c["rights"], json!([native(A06), native(A07)]));
    let b = data.iter().find(|l| l["client"] == KUNDE_B).expect("Kunde B's link");
    assert!(b.get("rights").is_none() && b.get("accessPackages").is_none(), "a link to everything: {b}");
}

/// NAV B. The client has bought only "reconciliation of a-reporting" and delegates just
/// the rights it needs, A06/A07 read, not a package. Revoking one of them ends exactly
/// the links that relied on it, each with its cause.
#[tokio::test]
async fn nav_scenario_b_the_client_delegates_single_rights_not_a_package() {
    let t = TestLedger::new();
    nav_services(&t).await;
    let limited = superavstemming_agent(&t, "limited", &[A06, A07], &[]).await;
    let full = superavstemming_agent(&t, "full", &[A06, A07], &[LONN]).await;

    // Without a delegation the client cannot be added.
    let refused = t.link(RETT_REVISJON, &limited, KUNDE_D).await;
    assert!(refused.status.is_client_error(), "{}", refused.body);
    let delegate = json!({"client": KUNDE_D, "facilitator": RETT_REVISJON,
        "rights": [{"resource": A06, "action": "read"}, {"resource": A07, "action": "read"}]});
    let granted = t.call(Method::POST, "/v1/client-relationships", Some(&t.admin(KUNDE_D)), Some(delegate)).await;
    assert_eq!(granted.assert_ok()["rights"].as_array().unwrap().len(), 2);
    assert!(granted.body["grants"].as_array().unwrap().is_empty(), "no package");

    t.link(RETT_REVISJON, &limited, KUNDE_D).await.assert_ok();
    assert_eq!(t.decision(&limited, "read", A06, KUNDE_D).await, PERMIT);
    assert_eq!(t.decision(&limited, "read", INNTEKTSMELDING, KUNDE_D).await, NA);
    let proof = t.proof(&limited, "read", A07, KUNDE_D).await;
    let delegated = format!("{KUNDE_D} delegates {A07}/read to {RETT_REVISJON} (client delegation)");
    assert!(facts(&proof).contains(&delegated), "the proof names the client's delegation: {proof}");
    // The agent with the package cannot have the client for everything (the client gave
    // no package), but can for A06 only.
    let refused = t.link(RETT_REVISJON, &full, KUNDE_D).await;
    assert!(refused.status.is_client_error(), "{}", refused.body);
    link_only(&t, &full, KUNDE_D, json!({"rights": [native(A06)]})).await.assert_ok();
    assert_eq!(t.decision(&full, "read", A06, KUNDE_D).await, PERMIT);

    // The client takes back A07: the limited agent's link relied on it and ends; the
    // A06-only link did not and stays.
    let revoke =
        format!("/v1/client-relationships?client={KUNDE_D}&facilitator={RETT_REVISJON}&resource={A07}&action=read");
    let revoked = t.call(Method::DELETE, &revoke, Some(&t.admin(KUNDE_D)), None).await;
    assert_eq!(revoked.assert_ok()["clientsUnlinked"], 1);
    assert_eq!(t.decision(&limited, "read", A06, KUNDE_D).await, NA, "unlinked");
    assert_eq!(t.decision(&full, "read", A06, KUNDE_D).await, PERMIT, "its link never relied on A07");
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let history = t.call(Method::GET, &format!("/v1/audit/clients/{KUNDE_D}/history"), Some(&auditor), None).await;
    let unlinked = history.assert_ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "ledger.client.unlinked.v1")
        .cloned();
    let unlinked = unlinked.expect("the unlink is in the client's history");
    assert_eq!(unlinked["changed"]["reason"], "relationship-revoked");
    assert_eq!(unlinked["cause"]["type"], "ledger.clientrelationship.revoked.v2", "{unlinked}");
}

/// NAV C. The client has bought several services and delegates only the rights those
/// need, across three resources, with no package that fits. The agent acts exactly
/// within them, and as-of answers and who-could-act see the same.
#[tokio::test]
async fn nav_scenario_c_rights_across_several_resources_and_no_package() {
    let t = TestLedger::new();
    nav_services(&t).await;
    let agent = superavstemming_agent(&t, "several", &[A06, A07, INNTEKTSMELDING], &[]).await;
    let delegate = json!({"client": KUNDE_E, "facilitator": RETT_REVISJON, "rights": [
        {"resource": A06, "action": "read"}, {"resource": A07, "action": "read"}, {"resource": INNTEKTSMELDING}]});
    t.call(Method::POST, "/v1/client-relationships", Some(&t.admin(KUNDE_E)), Some(delegate)).await.assert_ok();
    let before_link = t.position();
    t.link(RETT_REVISJON, &agent, KUNDE_E).await.assert_ok();

    for (action, resource, expected) in [
        ("read", A06, PERMIT),
        ("read", A07, PERMIT),
        ("read", INNTEKTSMELDING, PERMIT),
        ("write", INNTEKTSMELDING, PERMIT),
        ("write", A06, NA),
        ("write", "ske-mva-rapportering", NA),
    ] {
        assert_eq!(t.decision(&agent, action, resource, KUNDE_E).await, expected, "{action} {resource}");
    }
    // As of before the link: nothing; who could act on the inntektsmelding: this agent,
    // from the link on, on the client's delegation.
    let pdp = t.pdp();
    let asked = json!({"systemUser": agent, "action": "write", "resource": INNTEKTSMELDING, "party": KUNDE_E, "atPosition": before_link});
    let then = t.call(Method::POST, "/v1/decisions", Some(&pdp), Some(asked)).await;
    assert_eq!(then.assert_ok()["decision"], NA);
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let who = format!("/v1/audit/access?party={KUNDE_E}&resource={INNTEKTSMELDING}&action=write");
    let who = t.call(Method::GET, &who, Some(&auditor), None).await;
    let access = who.assert_ok()["systemUsers"].as_array().unwrap().clone();
    assert_eq!(access.len(), 1, "{access:?}");
    assert_eq!(access[0]["systemUser"], json!(agent));
    let window = &access[0]["windows"][0];
    assert_eq!(window["fromPosition"], before_link + 1);
    let delegated = format!("{KUNDE_E} delegates {INNTEKTSMELDING}/write to {RETT_REVISJON} (client delegation)");
    assert!(window["grantedBy"].as_array().unwrap().iter().any(|g| g["fact"] == delegated.as_str()), "{window}");
}
