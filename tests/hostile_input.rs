//! Hostile input, endpoint by endpoint: malformed JSON, oversize bodies (the named
//! limit), deep nesting, and every string field of a valid body replaced by a very long
//! string, by one with control characters, and by a value of the wrong type; hostile
//! path and query parameters. Each answer is 4xx problem+json with a stable code, and
//! neither the log nor the read model moves.

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};

use ledger::api::extract::REQUEST_BODY_BYTES_MAX;
use ledger::auth::Role;

/// Paths (as JSON pointers) to every string in a document.
fn string_leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(_) => out.push(at),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, x)| string_leaves(x, format!("{at}/{i}"), out)),
        Value::Object(map) => map.iter().for_each(|(k, x)| string_leaves(x, format!("{at}/{k}"), out)),
        _ => {}
    }
}

fn mutations(template: &Value) -> Vec<(String, String)> {
    let mut leaves = Vec::new();
    string_leaves(template, String::new(), &mut leaves);
    let mut out = vec![
        ("malformed JSON".to_owned(), template.to_string()[..template.to_string().len() / 2].to_owned()),
        ("oversize body".to_owned(), json!({"padding": "x".repeat(REQUEST_BODY_BYTES_MAX + 1)}).to_string()),
        ("deep nesting".to_owned(), format!("{}{}", "[".repeat(100_000), "]".repeat(100_000))),
        ("not an object".to_owned(), "\"just a string\"".to_owned()),
    ];
    for leaf in leaves {
        for (what, value) in [
            ("a very long string", Value::String("ž".repeat(20_000))),
            ("control characters", Value::String("a\u{0000}b\u{0007}c\u{001b}[31m".to_owned())),
            ("the wrong type", json!([true])),
        ] {
            let mut doc = template.clone();
            *doc.pointer_mut(&leaf).expect("leaf") = value;
            out.push((format!("{what} at {leaf}"), doc.to_string()));
        }
    }
    out
}

struct Target {
    method: Method,
    path: String,
    role: Role,
    org: Option<&'static str>,
    body: Option<Value>,
}

fn t(method: Method, path: impl Into<String>, role: Role, org: Option<&'static str>, body: Option<Value>) -> Target {
    Target { method, path: path.into(), role, org, body }
}

#[tokio::test]
async fn every_endpoint_refuses_hostile_input_and_writes_nothing() {
    let l = TestLedger::new();
    l.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    l.register_system("310000019_maestro", &["revisormedarbeider", "skattegrunnlag"], &["ske-mva-rapportering"])
        .await
        .assert_ok();
    let pending = l.request_agent("310000019_maestro", RETT_REVISJON, Some("p"), &["revisormedarbeider"]).await;
    let pending = pending.assert_ok()["id"].as_str().unwrap().to_owned();
    let agent = l.agent_user("310000019_maestro", RETT_REVISJON, Some("a"), &["revisormedarbeider"]).await;
    let a = AUTHN;
    let rr = RETT_REVISJON;
    let system = json!({"id": "310000019_ny", "vendor": {"authority": "iso6523-actorid-upis", "ID": "0192:310000019"},
        "name": {"nb": "Ny"}, "description": {"nb": "d"}, "rights": [{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}], "action": "write"}],
        "accessPackages": [{"urn": pkg("skattegrunnlag")}], "clientId": ["c"], "allowedRedirectUrls": ["https://x.example/done"]});
    let request = json!({"externalRef": "e", "systemId": "310000019_maestro", "partyOrgNo": KUNDE_B,
        "rights": [{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}], "action": "write"}],
        "accessPackages": [{"urn": pkg("skattegrunnlag")}], "redirectUrl": "https://x.example/done", "integrationTitle": "t"});
    let bodies = vec![
        t(Method::POST, format!("{a}/systemregister/vendor"), Role::Vendor, Some(MAESTRO), Some(system.clone())),
        t(
            Method::PUT,
            format!("{a}/systemregister/vendor/310000019_maestro"),
            Role::Vendor,
            Some(MAESTRO),
            Some({
                let mut s = system.clone();
                s["id"] = json!("310000019_maestro");
                s
            }),
        ),
        t(Method::POST, format!("{a}/systemuser/request/vendor"), Role::Vendor, Some(MAESTRO), Some(request.clone())),
        t(
            Method::POST,
            format!("{a}/systemuser/request/vendor/agent"),
            Role::Vendor,
            Some(MAESTRO),
            Some({
                let mut r = request.clone();
                r.as_object_mut().unwrap().remove("rights");
                r
            }),
        ),
        t(
            Method::POST,
            "/v1/parties",
            Role::Register,
            None,
            Some(
                json!({"orgNo": "310000191", "partyId": 777, "partyUuid": "0195c1e2-0000-7000-8000-0000000000bb", "name": "Ny"}),
            ),
        ),
        t(
            Method::POST,
            "/v1/access-packages",
            Role::Register,
            None,
            Some(json!({"urn": pkg("ny-pakke"), "assignable": true, "delegable": false})),
        ),
        t(
            Method::PUT,
            "/v1/resources/ny-tjeneste/policy",
            Role::ServiceOwner,
            Some(SKATTEETATEN),
            Some(
                json!({"rules": [{"accessPackage": pkg("skattegrunnlag"), "actions": ["read"]}], "minimumAuthenticationLevel": 2}),
            ),
        ),
        t(
            Method::POST,
            "/v1/client-relationships",
            Role::Register,
            None,
            Some(json!({"client": KUNDE_B, "facilitator": rr, "role": "REGN"})),
        ),
        t(
            Method::POST,
            "/v1/decisions",
            Role::Pdp,
            None,
            Some(
                json!({"systemUser": agent, "action": "write", "resource": "ske-aksjonaerregister", "party": KUNDE_A, "at": "2026-03-01T00:00:00Z"}),
            ),
        ),
    ];
    let params = vec![
        t(Method::GET, format!("{a}/systemregister/vendor/{{S}}"), Role::Vendor, Some(MAESTRO), None),
        t(Method::DELETE, format!("{a}/systemregister/vendor/{{S}}"), Role::Vendor, Some(MAESTRO), None),
        t(Method::GET, format!("{a}/systemuser/request/vendor/{{U}}"), Role::Vendor, Some(MAESTRO), None),
        t(Method::DELETE, format!("{a}/systemuser/request/vendor/{{U}}"), Role::Vendor, Some(MAESTRO), None),
        t(Method::GET, format!("{a}/systemuser/request/vendor/agent/{{U}}"), Role::Vendor, Some(MAESTRO), None),
        t(
            Method::GET,
            format!("{a}/systemuser/request/vendor/byexternalref/310000019_maestro/{{O}}/x"),
            Role::Vendor,
            Some(MAESTRO),
            None,
        ),
        t(Method::GET, format!("{a}/systemuser/vendor/bysystem/{{S}}"), Role::Vendor, Some(MAESTRO), None),
        t(
            Method::GET,
            format!("{a}/systemuser/byExternalId?clientId=c&systemProviderOrgNo={MAESTRO}&systemUserOwnerOrgNo={{O}}"),
            Role::Pdp,
            None,
            None,
        ),
        t(
            Method::POST,
            format!("{a}/systemuser/request/agent/{rr}/{{U}}/approve"),
            Role::Admin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::POST,
            format!("{a}/systemuser/request/agent/{{O}}/{pending}/reject"),
            Role::Admin,
            Some(RETT_REVISJON),
            None,
        ),
        t(Method::GET, format!("{a}/systemuser/{{O}}"), Role::Admin, Some(RETT_REVISJON), None),
        t(Method::GET, format!("{a}/systemuser/{rr}/{{U}}"), Role::Admin, Some(RETT_REVISJON), None),
        t(Method::DELETE, format!("{a}/systemuser/{rr}/{{U}}"), Role::Admin, Some(RETT_REVISJON), None),
        t(Method::POST, format!("{a}/systemuser/request/{rr}/{{U}}/approve"), Role::Admin, Some(RETT_REVISJON), None),
        t(
            Method::POST,
            format!("{a}/systemuser/request/{{O}}/{pending}/reject"),
            Role::Admin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::GET,
            format!("{a}/enduser/systemuser/clients?agent={{U}}"),
            Role::ClientAdmin,
            Some(RETT_REVISJON),
            None,
        ),
        t(Method::GET, "/v1/audit/actors/{U}/history?limit={N}", Role::Auditor, None, None),
        t(Method::DELETE, format!("{a}/systemuser/agent/{rr}/{{U}}"), Role::Admin, Some(RETT_REVISJON), None),
        t(
            Method::POST,
            format!("{a}/enduser/systemuser/clients?agent={agent}&client={{O}}"),
            Role::ClientAdmin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::DELETE,
            format!("{a}/enduser/systemuser/clients?agent={{U}}&client={KUNDE_A}"),
            Role::ClientAdmin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::GET,
            format!("{a}/enduser/systemuser/clients/available?agent={{U}}"),
            Role::ClientAdmin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::GET,
            format!("{a}/enduser/systemuser/agents?party={{O}}"),
            Role::ClientAdmin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::DELETE,
            format!("/v1/client-relationships?client={{O}}&facilitator={rr}"),
            Role::Register,
            None,
            None,
        ),
        t(Method::GET, "/v1/client-relationships?facilitator={O}", Role::Register, None, None),
        t(Method::GET, "/v1/resources/{R}/policy", Role::Pdp, None, None),
        t(Method::GET, "/v1/audit/system-users/{U}/history", Role::Auditor, None, None),
        t(Method::GET, "/v1/audit/clients/{O}/history", Role::Auditor, None, None),
        t(Method::GET, "/v1/audit/access?party={O}&resource=r&action=write", Role::Auditor, None, None),
        t(Method::GET, format!("{a}/systemuser/{rr}?atPosition={{N}}"), Role::Admin, Some(RETT_REVISJON), None),
    ];
    let hostile_segments = [
        ("an invalid org number", "310000018"),
        ("a malformed uuid", "0195c1e2-zzzz"),
        ("a very long string", &"9".repeat(5000) as &str),
        ("control characters", "%00%07%1b"),
        ("an invalid urn", "urn:altinn:accesspackage:NOT%20VALID"),
    ];

    let before = (l.position(), l.digest());
    let mut per_endpoint: Vec<(String, usize)> = Vec::new();
    for target in &bodies {
        let token = l.token(target.role, target.org);
        let mut count = 0;
        for (what, body) in mutations(target.body.as_ref().unwrap()) {
            let reply =
                l.call_raw(target.method.clone(), &target.path, Some(&token), Some(&body), "application/json").await;
            let status = reply.status.as_u16();
            assert!(
                (400..500).contains(&status),
                "{} {} with {what}: {status} {}",
                target.method,
                target.path,
                reply.body
            );
            assert_eq!(reply.content_type, "application/problem+json", "{} {} with {what}", target.method, target.path);
            assert!(
                reply.body["code"].as_str().is_some_and(|c| !c.is_empty()),
                "{} {} with {what}: {}",
                target.method,
                target.path,
                reply.body
            );
            count += 1;
        }
        per_endpoint.push((format!("{} {}", target.method, target.path), count));
    }
    // The XACML endpoint answers a malformed *request* with Indeterminate, but a body
    // that is not JSON, too large or too deep is refused like anywhere else.
    let pdp = l.pdp();
    for (what, body) in mutations(&json!({"Request": {}})).into_iter().take(3) {
        let reply = l
            .call_raw(Method::POST, "/authorization/api/v1/decision", Some(&pdp), Some(&body), "application/json")
            .await;
        assert!(
            (400..500).contains(&reply.status.as_u16()) && reply.content_type == "application/problem+json",
            "XACML with {what}: {}",
            reply.status
        );
    }
    per_endpoint.push(("POST /authorization/api/v1/decision".to_owned(), 3));
    for target in &params {
        let token = l.token(target.role, target.org);
        let mut count = 0;
        for (what, segment) in hostile_segments {
            let path = target
                .path
                .replace("{S}", segment)
                .replace("{U}", segment)
                .replace("{O}", segment)
                .replace("{R}", segment)
                .replace("{N}", segment);
            let reply = l.call_raw(target.method.clone(), &path, Some(&token), None, "application/json").await;
            let status = reply.status.as_u16();
            assert!((400..500).contains(&status), "{} {path} with {what}: {status} {}", target.method, reply.body);
            assert_eq!(reply.content_type, "application/problem+json", "{} {path} with {what}", target.method);
            count += 1;
        }
        per_endpoint.push((format!("{} {}", target.method, target.path), count));
    }
    assert_eq!((l.position(), l.digest()), before, "hostile input wrote something");
    // The templates themselves are valid: each refusal above was the mutation's doing.
    for target in &bodies {
        let token = l.token(target.role, target.org);
        let body = target.body.as_ref().unwrap().to_string();
        let reply =
            l.call_raw(target.method.clone(), &target.path, Some(&token), Some(&body), "application/json").await;
        assert!(
            reply.status.is_success(),
            "template for {} {} is valid: {} {}",
            target.method,
            target.path,
            reply.status,
            reply.body
        );
    }
    let total: usize = per_endpoint.iter().map(|(_, c)| c).sum();
    eprintln!("hostile inputs: {total} over {} endpoints", per_endpoint.len());
    for (endpoint, count) in &per_endpoint {
        eprintln!("  {count:4}  {endpoint}");
    }
}
