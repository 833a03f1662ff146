//! Conformance with Altinn's `SystemRegisterController`: requests shaped as Altinn's
//! own tests and templates shape them (PascalCase members, `vendor.authority`, members
//! Altinn ignores), answers as Altinn's source gives them (`docs/altinn-contract.md`,
//! section 2).

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};

const REGISTER: &str = "/authentication/api/v1/systemregister";

/// A system as Altinn's integration-test templates post it.
fn template(id: &str) -> Value {
    json!({
        "Id": id,
        "Vendor": {"authority": "iso6523-actorid-upis", "ID": "0192:310000019"},
        "Name": {"en": "Maestro", "nb": "Maestro", "nn": "Maestro"},
        "Description": {"en": "Accounting", "nb": "Regnskap", "nn": "Rekneskap"},
        "Rights": [{"Resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}],
        "AccessPackages": [{"Urn": pkg("skattegrunnlag")}],
        "ClientId": [client_id(id)],
        "IsVisible": true,
        "AllowedRedirectUrls": ["https://maestro.example/done"],
        "softDeleted": false
    })
}

/// A client id of the system's own (Altinn's templates use a GUID).
fn client_id(system_id: &str) -> String {
    let n = system_id.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!("32ef65ac-6e62-498d-880f-{:012x}", n & 0xffff_ffff_ffff)
}

/// The validation errors of a `STD-00000` problem, as (code, first path).
fn validation_errors(reply: &Reply) -> Vec<(String, String)> {
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.body);
    assert_eq!(reply.body["code"], "STD-00000", "{}", reply.body);
    assert_eq!(reply.body["type"], "urn:altinn:error:STD-00000");
    reply.body["validationErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["code"].as_str().unwrap().to_owned(), e["paths"][0].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_vendor_registers_reads_changes_and_deletes_a_system_as_on_altinn() {
    let t = TestLedger::new();
    let vendor = t.vendor(MAESTRO);

    // Given Altinn's template, when posted (PascalCase, unknown members), then 200 with
    // the internal id as a JSON string, and the position in its header.
    let created =
        t.call(Method::POST, &format!("{REGISTER}/vendor"), Some(&vendor), Some(template("310000019_maestro"))).await;
    assert_eq!(created.status.as_u16(), 200, "{}", created.body);
    let internal = created.body.as_str().expect("a JSON string");
    assert!(uuid::Uuid::parse_str(internal).is_ok(), "{internal}");
    assert!(created.position_header.is_some());

    // The vendor reads it in Altinn's RegisteredSystemResponse.
    let system = t.call(Method::GET, &format!("{REGISTER}/vendor/310000019_maestro"), Some(&vendor), None).await;
    let body = system.assert_ok();
    assert_eq!(body["vendor"], json!({"ID": "0192:310000019"}));
    assert_eq!(body["isDeleted"], false);
    assert_eq!(body["clientId"], json!([client_id("310000019_maestro")]));
    assert_eq!(body["rights"], json!([{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}]));
    assert_eq!(body["accessPackages"], json!([{"urn": pkg("skattegrunnlag")}]));
    for member in ["id", "name", "description", "isVisible", "allowedRedirectUrls"] {
        assert!(body.get(member).is_some(), "{member} in {body}");
    }

    // The vendor's list and the portal's list show Altinn's RegisteredSystemDTO.
    let listed = t.call(Method::GET, &format!("{REGISTER}/vendor"), Some(&vendor), None).await;
    let listed = listed.assert_ok().as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["systemId"], "310000019_maestro");
    assert_eq!(listed[0]["systemVendorOrgNumber"], "310000019");
    assert_eq!(listed[0]["systemVendorOrgName"], "");
    let portal = t.call(Method::GET, REGISTER, Some(&t.admin(KUNDE_A)), None).await;
    assert_eq!(portal.assert_ok().as_array().unwrap().len(), 1);
    let rights =
        t.call(Method::GET, &format!("{REGISTER}/310000019_maestro/rights"), Some(&t.admin(KUNDE_A)), None).await;
    assert_eq!(rights.assert_ok().as_array().unwrap().len(), 1);
    let unknown =
        t.call(Method::GET, &format!("{REGISTER}/310000019_nosuch/rights"), Some(&t.admin(KUNDE_A)), None).await;
    assert_eq!(unknown.assert_ok(), &json!([]), "Altinn answers [] for a system it does not know");

    // PUT of the whole system, then of its rights and of its packages: {"succeeded":true}.
    let mut changed = template("310000019_maestro");
    changed["Name"]["nb"] = json!("Maestro 2");
    let put = t.call(Method::PUT, &format!("{REGISTER}/vendor/310000019_maestro"), Some(&vendor), Some(changed)).await;
    assert_eq!(put.assert_ok(), &json!({"succeeded": true}));
    let rights = json!([{"resource": [{"id": "urn:altinn:resource", "value": "ske-aksjonaerregister"}]}]);
    let put =
        t.call(Method::PUT, &format!("{REGISTER}/vendor/310000019_maestro/rights"), Some(&vendor), Some(rights)).await;
    assert_eq!(put.assert_ok(), &json!({"succeeded": true}));
    let packages = json!([{"urn": pkg("skatt-naering")}]);
    let path = format!("{REGISTER}/vendor/310000019_maestro/accesspackages");
    assert_eq!(
        t.call(Method::PUT, &path, Some(&vendor), Some(packages)).await.assert_ok(),
        &json!({"succeeded": true})
    );
    let packages = t
        .call(Method::GET, &format!("{REGISTER}/310000019_maestro/accesspackages"), Some(&t.admin(KUNDE_A)), None)
        .await;
    assert_eq!(packages.assert_ok(), &json!([{"urn": pkg("skatt-naering")}]));

    // The changelog, newest first, from the system's history on the log.
    let log = t.call(Method::GET, &format!("{REGISTER}/vendor/310000019_maestro/changelog"), Some(&vendor), None).await;
    let log = log.assert_ok().as_array().unwrap().clone();
    let types: Vec<&str> = log.iter().map(|e| e["changeType"].as_str().unwrap()).collect();
    assert_eq!(types, ["accesspackageupdate", "rightsupdate", "update", "create"]);
    assert!(log.iter().all(|e| e["systemInternalId"] == internal && e["changedByOrgNumber"] == MAESTRO), "{log:?}");
    assert_eq!(log[0]["changedData"], json!([{"Urn": pkg("skatt-naering")}]));
    assert_eq!(log[3]["changedData"]["Id"], "310000019_maestro");

    // DELETE: succeeded; the system stays readable to its vendor as deleted, leaves the
    // lists, and takes no more changes.
    let deleted = t.call(Method::DELETE, &format!("{REGISTER}/vendor/310000019_maestro"), Some(&vendor), None).await;
    assert_eq!(deleted.assert_ok(), &json!({"succeeded": true}));
    let system = t.call(Method::GET, &format!("{REGISTER}/vendor/310000019_maestro"), Some(&vendor), None).await;
    assert_eq!(system.assert_ok()["isDeleted"], true);
    let listed = t.call(Method::GET, &format!("{REGISTER}/vendor"), Some(&vendor), None).await;
    assert_eq!(listed.assert_ok(), &json!([]));
    let again = t
        .call(
            Method::PUT,
            &format!("{REGISTER}/vendor/310000019_maestro"),
            Some(&vendor),
            Some(template("310000019_maestro")),
        )
        .await;
    assert_eq!((again.status.as_u16(), again.body.as_str()), (400, Some("Cannot update a system marked as deleted.")));
}

#[tokio::test]
async fn refusals_are_altinns_validation_problems_and_write_nothing() {
    let t = TestLedger::new();
    let vendor = t.vendor(MAESTRO);
    let post = |body: Value| {
        let vendor = vendor.clone();
        let t = &t;
        async move { t.call(Method::POST, &format!("{REGISTER}/vendor"), Some(&vendor), Some(body)).await }
    };
    post(template("310000019_maestro")).await.assert_ok();
    let before = (t.position(), t.digest());

    // Every rule a body breaks at once, in Altinn's order: the system's id and its client
    // id are both taken.
    let errors = validation_errors(&post(template("310000019_maestro")).await);
    assert_eq!(
        errors,
        [
            ("AUTH.VLD-00002".to_owned(), "/registersystemrequest/systemid".to_owned()),
            ("AUTH.VLD-00004".to_owned(), "/registersystemrequest/clientid".to_owned())
        ]
    );
    let mut body = template("310000019_other");
    body["Rights"] = json!([{"resource": [{"id": "urn:altinn:resource", "value": "no-such-resource"}]},
        {"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]},
        {"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}]);
    body["AccessPackages"] = json!([{"urn": pkg("revisormedarbeider")}, {"urn": pkg("revisormedarbeider")}]);
    body["ClientId"] = json!(["c-1", "C-1"]);
    body["AllowedRedirectUrls"] = json!(["http://insecure.example"]);
    let codes: Vec<String> = validation_errors(&post(body).await).into_iter().map(|(code, _)| code).collect();
    assert_eq!(
        codes,
        ["AUTH.VLD-00005", "AUTH.VLD-00011", "AUTH.VLD-00003", "AUTH.VLD-00006", "AUTH.VLD-00007", "AUTH.VLD-00018"],
        "redirect, client ids twice (without regard to case), unknown resource, a right twice, a package twice, \
         a package meant for clients on a visible system"
    );
    assert_eq!((t.position(), t.digest()), before, "refusals wrote nothing");
    // A package meant for clients is fine on a system the portal does not list.
    let mut hidden = template("310000019_agent");
    hidden["AccessPackages"] = json!([{"urn": pkg("revisormedarbeider")}]);
    hidden["IsVisible"] = json!(false);
    post(hidden.clone()).await.assert_ok();
    // Another system may not take a client id a live system has, on create or update.
    let mut taken = template("310000019_taken");
    taken["ClientId"] = json!([client_id("310000019_agent").to_uppercase()]);
    assert_eq!(
        validation_errors(&post(taken).await),
        [("AUTH.VLD-00004".to_owned(), "/registersystemrequest/clientid".to_owned())]
    );
    let mut maestro = template("310000019_maestro");
    maestro["ClientId"] = json!([client_id("310000019_agent")]);
    let path = format!("{REGISTER}/vendor/310000019_maestro");
    let update = t.call(Method::PUT, &path, Some(&vendor), Some(maestro)).await;
    assert_eq!(validation_errors(&update)[0].0, "AUTH.VLD-00004");
    hidden["ClientId"] = json!([client_id("310000019_agent"), "another"]);
    let own = t.call(Method::PUT, &format!("{REGISTER}/vendor/310000019_agent"), Some(&vendor), Some(hidden)).await;
    own.assert_ok();
    let before = (t.position(), t.digest());
    let mut body = template("310000019_other");
    body["Vendor"]["ID"] = json!("0193:310000019");
    assert_eq!(validation_errors(&post(body).await)[0].0, "AUTH.VLD-00000");
    assert_eq!(validation_errors(&post(template("310000019_with space")).await)[0].0, "AUTH.VLD-00013");
    assert_eq!(validation_errors(&post(template("310000027_notmine")).await)[0].0, "AUTH.VLD-00001");
    let mut body = template("310000019_other");
    body["Rights"] = json!([{"resource": [{"id": "urn:altinn:app", "value": "x"}]}]);
    assert_eq!(
        validation_errors(&post(body).await)[0],
        ("AUTH.VLD-00009".to_owned(), "/registersystemrequest/rights/resource".to_owned())
    );
    let mut body = template("310000019_other");
    body["Rights"] = json!([{"resource": [{"id": "urn:altinn:resource", "value": "no-such-resource"}]}]);
    assert_eq!(validation_errors(&post(body).await)[0].0, "AUTH.VLD-00003");
    let mut body = template("310000019_other");
    body["AccessPackages"] = json!([{"urn": pkg("no-such-package")}]);
    assert_eq!(validation_errors(&post(body).await)[0].0, "AUTH.VLD-00008");
    let mut body = template("310000019_other");
    body["AllowedRedirectUrls"] = json!(["http://insecure.example"]);
    assert_eq!(validation_errors(&post(body).await)[0].0, "AUTH.VLD-00005");

    // A body ASP.NET cannot read: its own validation shape, keyed by the JSON path.
    let mut body = template("310000019_other");
    body.as_object_mut().unwrap().remove("Description");
    let reply = post(body).await;
    assert_eq!(reply.status.as_u16(), 400);
    assert_eq!(reply.body["title"], "One or more validation errors occurred.");
    assert!(reply.body["errors"].as_object().is_some_and(|e| !e.is_empty()), "{}", reply.body);
    // Two members that differ only in case say two things: refused, not picked.
    let mut body = template("310000019_other");
    body["id"] = json!("310000019_third");
    assert_eq!(post(body).await.status.as_u16(), 400);

    // PUT: the body's id must be the route's; another vendor gets an empty 403; an
    // unknown system is Altinn's plain-text 404.
    let path = format!("{REGISTER}/vendor/310000019_maestro");
    let errors =
        validation_errors(&t.call(Method::PUT, &path, Some(&vendor), Some(template("310000019_renamed"))).await);
    assert_eq!(errors[0].0, "AUTH.VLD-00012");
    let other = t.call(Method::PUT, &path, Some(&t.vendor(SYSTEMHUSET)), Some(template("310000019_maestro"))).await;
    assert_eq!((other.status.as_u16(), other.body), (403, Value::Null));
    let path = format!("{REGISTER}/vendor/310000019_nosuch");
    let unknown = t.call(Method::PUT, &path, Some(&vendor), Some(template("310000019_nosuch"))).await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.body.as_str()),
        (404, Some("System with ID '310000019_nosuch' not found."))
    );
    let unknown = t.call(Method::DELETE, &path, Some(&vendor), None).await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert_eq!(unknown.body["errors"]["return"], json!(["System not found"]));
    let unknown = t.call(Method::GET, &path, Some(&vendor), None).await;
    assert_eq!((unknown.status.as_u16(), &unknown.body["title"]), (404, &json!("Not Found")));

    assert_eq!((t.position(), t.digest()), before, "no refusal wrote anything");
}

#[tokio::test]
async fn an_app_right_reads_in_altinns_older_form_when_asked() {
    let t = TestLedger::new();
    let vendor = t.vendor(MAESTRO);
    t.call(
        Method::PUT,
        "/v1/resources/app_ttd_demo/policy",
        Some(&t.token(ledger::auth::Role::ServiceOwner, Some(SKATTEETATEN))),
        Some(json!({"rules": [{"right": true, "actions": ["read"]}]})),
    )
    .await
    .assert_ok();
    let mut body = template("310000019_app");
    body["Rights"] = json!([{"resource": [{"id": "urn:altinn:resource", "value": "app_ttd_demo"}]}]);
    t.call(Method::POST, &format!("{REGISTER}/vendor"), Some(&vendor), Some(body)).await.assert_ok();
    let path = format!("{REGISTER}/310000019_app/rights?useOldFormatForApp=true");
    let rights = t.call(Method::GET, &path, Some(&t.admin(KUNDE_A)), None).await;
    assert_eq!(
        rights.assert_ok(),
        &json!([{"resource": [{"id": "urn:altinn:org", "value": "ttd"}, {"id": "urn:altinn:app", "value": "demo"}]}])
    );
}
