//! Conformance with Altinn's `ChangeRequestSystemUserController`: change requests made,
//! read and answered as Altinn's source has them (`docs/altinn-contract.md`, section 4),
//! and what an approval changes — the system user's rights, its decisions now and as of
//! before, and its history.

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};

const CHANGE: &str = "/authentication/api/v1/systemuser/changerequest";
const CORRELATION: &str = "0195c1e2-0000-7000-8000-00000000c0de";

fn right(resource: &str) -> Value {
    json!({"resource": [{"id": "urn:altinn:resource", "value": resource}]})
}

/// Maestro's system gives two rights and a package; Kunde A has a standard system user
/// holding the right on VAT reporting.
async fn ledger_with_user() -> (TestLedger, String) {
    let t = TestLedger::new();
    t.register_system("310000019_maestro", &["skattegrunnlag"], &["ske-mva-rapportering", "kartverket-tinglysning"])
        .await
        .assert_ok();
    let user = t.standard_user("310000019_maestro", KUNDE_A, None, &[], &["ske-mva-rapportering"]).await;
    (t, user)
}

/// The change Altinn's template asks for, here: the land registry instead of VAT.
fn swap() -> Value {
    json!({"requiredRights": [right("kartverket-tinglysning")], "unwantedRights": [right("ske-mva-rapportering")],
        "requiredAccessPackages": [], "unwantedAccessPackages": [], "redirectUrl": "https://vendor.example/done?x=1"})
}

fn create_path(correlation: &str, user: &str) -> String {
    format!("{CHANGE}/vendor?correlation-id={correlation}&system-user-id={user}")
}

#[tokio::test]
async fn a_vendor_asks_to_change_a_system_users_rights_and_the_owner_approves_as_on_altinn() {
    let (t, user) = ledger_with_user().await;
    let vendor = t.vendor(MAESTRO);
    let admin = t.admin(KUNDE_A);
    let a = t.party_id(KUNDE_A);
    assert_eq!(t.decision(&user, "write", "ske-mva-rapportering", KUNDE_A).await, "Permit");
    assert_eq!(t.decision(&user, "write", "kartverket-tinglysning", KUNDE_A).await, "NotApplicable");

    // Asked: 201 with Location; the id is the vendor's correlation id.
    let created = t.call(Method::POST, &create_path(CORRELATION, &user), Some(&vendor), Some(swap())).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let body = created.body.clone();
    assert_eq!(
        (&body["id"], &body["systemUserId"], &body["status"]),
        (&json!(CORRELATION), &json!(user), &json!("New"))
    );
    assert_eq!(
        (&body["externalRef"], &body["partyOrgNo"], &body["timedOut"]),
        (&json!(KUNDE_A), &json!(KUNDE_A), &json!(false))
    );
    assert_eq!(body["requiredRights"], json!([right("kartverket-tinglysning")]));
    assert_eq!(
        body["confirmUrl"],
        format!(
            "http://ledger.test/accessmanagement/ui/systemuser/changerequest?id={CORRELATION}&DONTCHOOSEREPORTEE=true"
        )
    );
    assert!(body.get("integrationTitle").is_none() && body.get("escalated").is_none(), "not in Altinn's shape");
    let asked_at = created.written_at();
    // The same correlation id again: 200 with it, nothing more written.
    let again = t.call(Method::POST, &create_path(CORRELATION, &user), Some(&vendor), Some(swap())).await;
    assert_eq!((again.status.as_u16(), &again.body["id"], t.position()), (200, &json!(CORRELATION), asked_at));
    // Nothing asked: Altinn's NoChangeNeeded, not stored.
    let nothing = json!({"requiredRights": [], "unwantedRights": []});
    let other_id = "0195c1e2-0000-7000-8000-00000000c0df";
    let none = t.call(Method::POST, &create_path(other_id, &user), Some(&vendor), Some(nothing)).await;
    assert_eq!(
        (none.status.as_u16(), &none.body["status"], &none.body["confirmUrl"]),
        (200, &json!("NoChangeNeeded"), &json!(""))
    );
    assert_eq!(t.position(), asked_at);

    // The vendor reads it by id, by the system user's external ref and in its list.
    let by_id = t.call(Method::GET, &format!("{CHANGE}/vendor/{CORRELATION}"), Some(&vendor), None).await;
    assert_eq!(by_id.assert_ok()["confirmUrl"], body["confirmUrl"]);
    let by_ref = format!("{CHANGE}/vendor/byexternalref/310000019_maestro/{KUNDE_A}/{KUNDE_A}");
    assert_eq!(t.call(Method::GET, &by_ref, Some(&vendor), None).await.assert_ok()["id"], CORRELATION);
    let listed = t.call(Method::GET, &format!("{CHANGE}/vendor/bysystem/310000019_maestro"), Some(&vendor), None).await;
    assert_eq!((&listed.assert_ok()["data"][0]["id"], &listed.body["links"]), (&json!(CORRELATION), &json!({})));

    // The owner reads it: by party (no confirm URL), and on its page (party id and uuid).
    let by_party = t.call(Method::GET, &format!("{CHANGE}/{a}/{CORRELATION}"), Some(&admin), None).await;
    assert!(by_party.assert_ok().get("confirmUrl").is_none());
    let page = t.call(Method::GET, &format!("{CHANGE}/{CORRELATION}"), Some(&admin), None).await;
    let page = page.assert_ok();
    assert_eq!((&page["partyId"], &page["partyUuid"]), (&json!(a), &json!(t.party_uuid(KUNDE_A))));
    assert!(page.get("created").is_none() && page.get("timedOut").is_none());

    // Approved: `true`; the rights are what was asked, in decisions and in reads.
    let approved = t.call(Method::POST, &format!("{CHANGE}/{a}/{CORRELATION}/approve"), Some(&admin), None).await;
    assert_eq!((approved.status.as_u16(), &approved.body), (200, &json!(true)));
    let before_approval = asked_at;
    assert_eq!(t.decision(&user, "write", "ske-mva-rapportering", KUNDE_A).await, "NotApplicable");
    assert_eq!(t.decision(&user, "write", "kartverket-tinglysning", KUNDE_A).await, "Permit");
    t.assert_index_agrees(&user, "write", "kartverket-tinglysning", KUNDE_A);
    let detail_path = format!("/authentication/api/v1/systemuser/{a}/{user}");
    let now = t.call(Method::GET, &detail_path, Some(&admin), None).await;
    assert_eq!(now.assert_ok()["rights"], json!([right("kartverket-tinglysning")]));
    let then = t.call(Method::GET, &format!("{detail_path}?atPosition={before_approval}"), Some(&admin), None).await;
    assert_eq!(then.assert_ok()["rights"], json!([right("ske-mva-rapportering")]), "as it stood before");
    let read = t.call(Method::GET, &format!("{CHANGE}/vendor/{CORRELATION}"), Some(&vendor), None).await;
    assert_eq!(read.assert_ok()["status"], "Accepted");
    let proof = t.proof(&user, "write", "kartverket-tinglysning", KUNDE_A).await;
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let history = t.call(Method::GET, &format!("/v1/audit/system-users/{user}/history"), Some(&auditor), None).await;
    let entries = history.assert_ok()["data"].as_array().unwrap().clone();
    let changed = entries.iter().find(|e| e["type"] == "ledger.systemuser.rightschanged.v1").expect("on the record");
    assert_eq!(changed["actor"]["id"], format!("person-admin-{KUNDE_A}"));
    assert!(proof.to_string().contains(changed["eventId"].as_str().unwrap()), "the change is the proof: {proof}");
    let again = t.call(Method::POST, &format!("{CHANGE}/{a}/{CORRELATION}/approve"), Some(&admin), None).await;
    assert_eq!((again.status.as_u16(), &again.body["code"]), (409, &json!("AUTH-00013")));
}

#[tokio::test]
async fn change_request_refusals_are_altinns_answers_and_write_nothing() {
    let (t, user) = ledger_with_user().await;
    let vendor = t.vendor(MAESTRO);
    let a = t.party_id(KUNDE_A);
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["skattegrunnlag"]).await;
    let before = (t.position(), t.digest());
    let send = |method: Method, path: String, token: String| {
        let t = &t;
        async move { t.call(method, &path, Some(&token), None).await }
    };
    let post = |path: String, token: String, body: Value| {
        let t = &t;
        async move { t.call(Method::POST, &path, Some(&token), Some(body)).await }
    };

    let missing = post(format!("{CHANGE}/vendor?system-user-id={user}"), vendor.clone(), swap()).await;
    assert_eq!(missing.status.as_u16(), 400);
    assert!(missing.body.as_str().unwrap().starts_with("Missing or invalid QueryParameter: correlation-id."));
    let same = post(create_path(&user, &user), vendor.clone(), swap()).await;
    assert_eq!(
        (same.status.as_u16(), &same.body),
        (400, &json!("The correlation-id should not be the same as the system-user-id. Generate a unique id."))
    );
    let nobody = post(create_path(CORRELATION, "0195c1e2-0000-7000-8000-0000000000aa"), vendor.clone(), swap()).await;
    nobody.assert_altinn_problem(404, "AUTH-00015", "system_user_not_found");
    let an_agent = post(create_path(CORRELATION, &agent), vendor.clone(), swap()).await;
    an_agent.assert_altinn_problem(404, "AUTH-00015", "user_type_mismatch");
    let foreign = post(create_path(CORRELATION, &user), t.vendor(SYSTEMHUSET), swap()).await;
    assert_eq!((foreign.status.as_u16(), &foreign.body), (401, &Value::Null));
    let not_in_system = json!({"requiredRights": [right("ske-aksjonaerregister")]});
    post(create_path(CORRELATION, &user), vendor.clone(), not_in_system).await.assert_altinn_problem(
        400,
        "AUTH-00001",
        "right_not_in_system",
    );
    let package = json!({"requiredAccessPackages": [{"urn": pkg("revisormedarbeider")}]});
    post(create_path(CORRELATION, &user), vendor.clone(), package).await.assert_altinn_problem(
        400,
        "AUTH-00063",
        "access_package_not_in_system",
    );
    let redirect =
        json!({"requiredRights": [right("kartverket-tinglysning")], "redirectUrl": "https://elsewhere.example/"});
    post(create_path(CORRELATION, &user), vendor.clone(), redirect).await.assert_altinn_problem(
        400,
        "AUTH-00021",
        "invalid_redirect_url",
    );
    let unknown = t.call(Method::GET, &format!("{CHANGE}/vendor/{CORRELATION}"), Some(&vendor), None).await;
    unknown.assert_altinn_problem(404, "AUTH-00010", "change_request_not_found");
    assert_eq!((t.position(), t.digest()), before, "refusals wrote nothing");

    // Made, then refused to the wrong people, rejected, and no longer answerable.
    post(create_path(CORRELATION, &user), vendor.clone(), swap()).await.assert_ok();
    let before = (t.position(), t.digest());
    let other_vendor = send(Method::GET, format!("{CHANGE}/vendor/{CORRELATION}"), t.vendor(SYSTEMHUSET)).await;
    other_vendor.assert_altinn_problem(404, "AUTH-00011", "not_system_vendor");
    let b = t.party_id(KUNDE_B);
    let wrong_party = send(Method::POST, format!("{CHANGE}/{b}/{CORRELATION}/approve"), t.admin(KUNDE_B)).await;
    wrong_party.assert_altinn_problem(403, "AUTH-00041", "not_request_party");
    let not_acting = send(Method::POST, format!("{CHANGE}/{a}/{CORRELATION}/approve"), t.admin(KUNDE_B)).await;
    assert_eq!((not_acting.status.as_u16(), &not_acting.body), (403, &Value::Null));
    let client_admin = send(Method::GET, format!("{CHANGE}/{CORRELATION}"), t.client_admin(KUNDE_A)).await;
    client_admin.assert_altinn_problem(403, "AUTH-00066", "not_request_party");
    assert_eq!((t.position(), t.digest()), before, "refusals wrote nothing");
    let rejected = send(Method::POST, format!("{CHANGE}/{a}/{CORRELATION}/reject"), t.admin(KUNDE_A)).await;
    assert_eq!(rejected.body, json!(true));
    let late = send(Method::POST, format!("{CHANGE}/{a}/{CORRELATION}/approve"), t.admin(KUNDE_A)).await;
    late.assert_altinn_problem(409, "AUTH-00013", "request_not_new");
    assert_eq!(t.decision(&user, "write", "kartverket-tinglysning", KUNDE_A).await, "NotApplicable");

    // Withdrawn by its vendor while New: 202, and then it is not there.
    let second = "0195c1e2-0000-7000-8000-00000000c0e0";
    post(create_path(second, &user), vendor.clone(), swap()).await.assert_ok();
    let deleted = t.call(Method::DELETE, &format!("{CHANGE}/vendor/{second}"), Some(&vendor), None).await;
    assert_eq!((deleted.status.as_u16(), &deleted.body), (202, &Value::Null));
    let gone = t.call(Method::GET, &format!("{CHANGE}/vendor/{second}"), Some(&vendor), None).await;
    gone.assert_altinn_problem(404, "AUTH-00010", "change_request_not_found");
}
