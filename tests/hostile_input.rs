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
    // A member given twice, the second time with another value: serde would keep the
    // last silently; the ledger refuses the ambiguity.
    if let Some((key, value)) = template.as_object().and_then(|o| o.iter().next()) {
        let text = template.to_string();
        let other = if value.is_string() { json!("other") } else { json!(null) };
        let doubled = format!("{{{}:{},{}", json!(key), other, &text[1..]);
        out.push((format!("the member {key} given twice"), doubled));
    }
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

/// The endpoint where Altinn answers bad input with a status and no body: a vendor's
/// lookup by external id (`BadRequest()`/`NotFound()` in `SystemUserController`).
fn bare_on_altinn(method: &Method, path: &str) -> bool {
    *method == Method::GET && path.starts_with(&format!("{AUTHN}/systemuser/byExternalId?"))
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
    let standard = l.standard_user("310000019_maestro", KUNDE_A, Some("s"), &[], &["ske-mva-rapportering"]).await;
    // A system an organisation may make its own system user for.
    l.register_system("310000019_skatt", &["skattegrunnlag"], &[]).await.assert_ok();
    let a = AUTHN;
    let rr = RETT_REVISJON;
    let system = json!({"id": "310000019_ny", "vendor": {"ID": "0192:310000019"},
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
                s["clientId"] = json!(["c-maestro"]);
                s
            }),
        ),
        t(Method::POST, format!("{a}/systemuser/request/vendor"), Role::Vendor, Some(MAESTRO), Some(request.clone())),
        t(
            Method::POST,
            format!("{a}/systemuser/{}/create", p(KUNDE_B)),
            Role::Admin,
            Some(KUNDE_B),
            Some(json!({"systemId": "310000019_skatt", "integrationTitle": "t"})),
        ),
        t(Method::PUT, format!("{a}/systemuser"), Role::Admin, Some(KUNDE_A), Some(json!({"id": standard, "integrationTitle": "t"}))),
        t(
            Method::POST,
            format!("{a}/systemuser/changerequest/vendor?correlation-id=0195c1e2-0000-7000-8000-00000000c0de&system-user-id={standard}"),
            Role::Vendor,
            Some(MAESTRO),
            Some(json!({"requiredAccessPackages": [{"urn": pkg("skattegrunnlag")}],
                "unwantedRights": [{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}]})),
        ),
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
        t(Method::GET, format!("{a}/systemuser/request/vendor/bysystem/{{S}}"), Role::Vendor, Some(MAESTRO), None),
        t(Method::GET, format!("{a}/systemuser/changerequest/vendor/{{U}}"), Role::Vendor, Some(MAESTRO), None),
        t(Method::DELETE, format!("{a}/systemuser/changerequest/vendor/{{U}}"), Role::Vendor, Some(MAESTRO), None),
        t(
            Method::GET,
            format!("{a}/systemuser/changerequest/vendor/bysystem/{{S}}"),
            Role::Vendor,
            Some(MAESTRO),
            None,
        ),
        t(Method::GET, format!("{a}/systemuser/changerequest/{{U}}"), Role::Admin, Some(RETT_REVISJON), None),
        t(
            Method::GET,
            format!("{a}/systemuser/agent/{}/clients?facilitator={{U}}&packages={{N}}", p(rr)),
            Role::ClientAdmin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::POST,
            format!("{a}/systemuser/agent/{}/{agent}?provider={{U}}&client={}", p(rr), u(KUNDE_A)),
            Role::ClientAdmin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::DELETE,
            format!("{a}/systemuser/agent/{}/{{U}}/client?provider={}&client={}", p(rr), u(rr), u(KUNDE_A)),
            Role::ClientAdmin,
            Some(RETT_REVISJON),
            None,
        ),
        t(Method::GET, format!("{a}/systemuser/{}/{{U}}/delegations", p(rr)), Role::Admin, Some(RETT_REVISJON), None),
        t(
            Method::POST,
            format!("{a}/systemuser/agent/{}/{agent}/self?partyUuid={{U}}", p(rr)),
            Role::Admin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::DELETE,
            format!("{a}/systemuser/agent/{}/{{U}}/self?partyUuid={}", p(rr), u(rr)),
            Role::Admin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::GET,
            format!("{a}/systemuser/agent/{{O}}/{agent}/self?partyUuid={}", u(rr)),
            Role::Admin,
            Some(RETT_REVISJON),
            None,
        ),
        t(Method::GET, format!("{a}/systemuser/internal/systemusers/stream?token={{N}}"), Role::Register, None, None),
        t(Method::GET, format!("{a}/systemuser/internal/systemusers/{{U}}"), Role::Register, None, None),
        t(
            Method::POST,
            format!("{a}/systemuser/changerequest/{}/{{U}}/approve", p(rr)),
            Role::Admin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::GET,
            format!("{a}/systemuser/request/vendor/agent/bysystem/310000019_maestro?token={{U}}"),
            Role::Vendor,
            Some(MAESTRO),
            None,
        ),
        t(Method::GET, format!("{a}/systemuser/request/{{U}}"), Role::ClientAdmin, Some(RETT_REVISJON), None),
        t(Method::GET, format!("{a}/systemuser/request/agent/{{U}}"), Role::Admin, Some(RETT_REVISJON), None),
        t(Method::GET, format!("{a}/systemuser/request/{}/{{U}}", p(rr)), Role::Admin, Some(RETT_REVISJON), None),
        t(Method::GET, format!("{a}/systemuser/request/agent/{{O}}/{pending}"), Role::Admin, Some(RETT_REVISJON), None),
        t(
            Method::GET,
            format!("{a}/systemuser/request/agent/{}/{{O}}/pending", p(rr)),
            Role::Admin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::POST,
            format!("{a}/systemuser/request/agent/{}/{{U}}/escalate", p(rr)),
            Role::ClientAdmin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::GET,
            format!("{a}/systemuser/vendor/byquery?system-id={{S}}&orgno={KUNDE_A}"),
            Role::Vendor,
            Some(MAESTRO),
            None,
        ),
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
        t(Method::GET, format!("{a}/systemuser/{}/{{U}}", p(rr)), Role::Admin, Some(RETT_REVISJON), None),
        t(Method::DELETE, format!("{a}/systemuser/{}/{{U}}", p(rr)), Role::Admin, Some(RETT_REVISJON), None),
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
        t(Method::DELETE, format!("{a}/systemuser/agent/{}/{{U}}", p(rr)), Role::Admin, Some(RETT_REVISJON), None),
        t(
            Method::POST,
            format!("{a}/enduser/systemuser/clients?agent={agent}&client={{O}}"),
            Role::ClientAdmin,
            Some(RETT_REVISJON),
            None,
        ),
        t(
            Method::DELETE,
            format!("{a}/enduser/systemuser/clients?agent={{U}}&client={}", u(KUNDE_A)),
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
        t(Method::GET, format!("{a}/systemuser/{}?atPosition={{N}}", p(rr)), Role::Admin, Some(RETT_REVISJON), None),
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
            if reply.content_type.starts_with("text/plain") {
                // Some of Altinn's answers are plain text; it says what is wrong.
                assert!(
                    target.path.starts_with(AUTHN),
                    "{} {}: plain text only where Altinn answers so",
                    target.method,
                    target.path
                );
                assert!(
                    reply.body.as_str().is_some_and(|t| !t.is_empty()),
                    "{} {} with {what}",
                    target.method,
                    target.path
                );
                count += 1;
                continue;
            }
            assert_eq!(reply.content_type, "application/problem+json", "{} {} with {what}", target.method, target.path);
            // The native surface's `code`, or on Altinn's the ledger's code beside Altinn's.
            let code = reply.body.get("ledgerCode").unwrap_or(&reply.body["code"]);
            assert!(
                code.as_str().is_some_and(|c| !c.is_empty()),
                "{} {} with {what}: {}",
                target.method,
                target.path,
                reply.body
            );
            count += 1;
        }
        per_endpoint.push((format!("{} {}", target.method, target.path), count));
    }
    // The XACML endpoint answers a body it cannot read (no JSON, nested too deep) as
    // Altinn's PDP does: one Indeterminate syntax-error; a body too large is refused
    // like anywhere else. Nothing is written either way (held at the end).
    let pdp = l.pdp();
    for (what, body) in mutations(&json!({"Request": {}})).into_iter().take(3) {
        let reply = l
            .call_raw(Method::POST, "/authorization/api/v1/decision", Some(&pdp), Some(&body), "application/json")
            .await;
        if what == "oversize body" {
            reply.assert_problem(413, "body_too_large");
        } else {
            assert_eq!(reply.status.as_u16(), 200, "XACML with {what}: {}", reply.body);
            let status = &reply.body["response"][0]["status"]["statusCode"]["value"];
            assert_eq!(status, "urn:oasis:names:tc:xacml:1.0:status:syntax-error", "XACML with {what}");
        }
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
            if reply.body.is_null() {
                // Altinn answers these with a bare status; so does the ledger, there only.
                assert!(
                    bare_on_altinn(&target.method, &target.path),
                    "{} {path} with {what}: a bare {status} only where Altinn gives one",
                    target.method
                );
                count += 1;
                continue;
            }
            assert_eq!(reply.content_type, "application/problem+json", "{} {path} with {what}", target.method);
            let code = reply.body.get("ledgerCode").unwrap_or(&reply.body["code"]);
            assert!(
                code.as_str().is_some_and(|c| !c.is_empty()),
                "{} {path} with {what}: {}",
                target.method,
                reply.body
            );
            count += 1;
        }
        per_endpoint.push((format!("{} {}", target.method, target.path), count));
    }
    // Every query parameter given twice (`?a=1&a=2`): refused, never a silent pick.
    for target in params.iter().filter(|t| t.path.contains('?')) {
        let token = l.token(target.role, target.org);
        let path = target.path.replace("{S}", "x").replace("{U}", &agent).replace("{O}", KUNDE_A).replace("{N}", "1");
        let (base, query) = path.split_once('?').unwrap();
        let first = query.split('&').next().unwrap();
        let doubled = format!("{base}?{query}&{first}");
        let reply = l.call_raw(target.method.clone(), &doubled, Some(&token), None, "application/json").await;
        reply.assert_problem(400, "invalid_parameter");
        assert!(reply.body["detail"].as_str().unwrap().contains("more than once"), "{doubled}: {}", reply.body);
        per_endpoint.push((format!("{} {} (a parameter twice)", target.method, target.path), 1));
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

/// Given a token that does not verify and a `Ledger-Min-Position` far beyond the head,
/// when the request arrives, then it is refused 401 at once: the wait for the position
/// comes after authentication, so unauthenticated callers cannot hold in-flight slots.
#[tokio::test]
async fn a_bad_token_is_refused_before_any_wait_for_a_position() {
    let l = TestLedger::new();
    let slots_before = l.slots.in_flight.available_permits();
    for (method, path) in [
        (Method::GET, "/v1/ledger/status".to_owned()),
        (Method::GET, format!("{AUTHN}/systemuser/{}", p(RETT_REVISJON))),
        (Method::POST, "/authorization/api/v1/decision".to_owned()),
    ] {
        let request = axum::http::Request::builder()
            .method(method.clone())
            .uri(&path)
            .header("authorization", "Bearer not-a-token")
            .header("ledger-min-position", "999999999")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(xacml_request("x", "read", "r", KUNDE_A).to_string()))
            .unwrap();
        let started = std::time::Instant::now();
        let response = tower::ServiceExt::oneshot(l.app.clone(), request).await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{method} {path}");
        // The harness waits at most 200 ms for a position; a refusal after the wait
        // would be a 503 `not_yet_consistent`, not a 401.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    assert_eq!(l.slots.in_flight.available_permits(), slots_before);
}

/// A header the ledger reads, given twice, is refused: neither value is picked.
#[tokio::test]
async fn a_header_given_twice_is_refused() {
    let l = TestLedger::new();
    let (good, other) = (l.operator(), l.token(Role::Auditor, None));
    let before = l.position();
    for (name, first, second, method, uri) in [
        ("authorization", format!("Bearer {good}"), format!("Bearer {other}"), "GET", "/v1/ledger/status"),
        ("ledger-min-position", "1".to_owned(), "999999".to_owned(), "GET", "/v1/ledger/status"),
        ("x-correlation-id", "a".to_owned(), "b".to_owned(), "POST", "/v1/ledger/seals"),
    ] {
        let mut request = axum::http::Request::builder().method(method).uri(uri);
        if name != "authorization" {
            request = request.header("authorization", format!("Bearer {good}"));
        }
        let request = request.header(name, first).header(name, second).body(axum::body::Body::empty()).unwrap();
        let response = tower::ServiceExt::oneshot(l.app.clone(), request).await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{name} twice");
    }
    assert_eq!(l.position(), before, "the seal with two correlation ids was not written");
}

/// The cap on requests in flight is one for the whole service: when every slot is
/// taken (by whatever routes), any route is shed with 503 `overloaded`, while the
/// liveness and readiness probes still answer.
#[tokio::test]
async fn the_in_flight_cap_is_one_for_the_whole_service() {
    let l = TestLedger::new();
    let all = ledger::api::REQUESTS_IN_FLIGHT_MAX as u32;
    let held = l.slots.in_flight.clone().acquire_many_owned(all).await.unwrap();
    for path in ["/v1/ledger/status", "/metrics", "/audit/"] {
        l.call(Method::GET, path, Some(&l.operator()), None).await.assert_problem(503, "overloaded");
    }
    let body = xacml_request("0195c1e2-0000-7000-8000-000000000001", "read", "r", KUNDE_A);
    let decision = l.call(Method::POST, "/authorization/api/v1/decision", Some(&l.pdp()), Some(body)).await;
    decision.assert_problem(503, "overloaded");
    assert_eq!(l.call(Method::GET, "/healthz", None, None).await.status.as_u16(), 200);
    assert_eq!(l.call(Method::GET, "/readyz", None, None).await.status.as_u16(), 200);
    drop(held);
    l.call(Method::GET, "/v1/ledger/status", Some(&l.operator()), None).await.assert_ok();
}

/// An actor id shaped like a spreadsheet formula goes into the audit CSV neutralised
/// (OWASP: a leading `'`), so an auditor who opens the export runs nothing.
#[tokio::test]
async fn csv_exports_neutralise_formula_cells() {
    let l = TestLedger::new();
    let formula = r#"=HYPERLINK("http://evil.example","x")"#;
    let register = l.key.mint(Role::Register, None, Some(formula), chrono::Utc::now().timestamp(), 600);
    let body = json!({"client": KUNDE_B, "facilitator": RETT_REVISJON, "role": "REGN"});
    l.call(Method::POST, "/v1/client-relationships", Some(&register), Some(body)).await.assert_ok();
    let auditor = l.token(Role::Auditor, None);
    let path = format!("/v1/audit/clients/{KUNDE_B}/history?format=csv");
    let reply = l.call(Method::GET, &path, Some(&auditor), None).await;
    let text = reply.body.as_str().expect("CSV text").to_owned();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut cells = 0;
    for record in reader.records() {
        for cell in record.unwrap().iter() {
            cells += 1;
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "a live formula cell: {cell:?}");
        }
    }
    assert!(cells > 0);
    assert!(text.contains(r#"'=HYPERLINK"#), "the actor is still shown, neutralised: {text}");
}

/// The auditor's page cannot be framed by another site (clickjacking).
#[tokio::test]
async fn the_auditors_page_cannot_be_framed() {
    let l = TestLedger::new();
    let request = axum::http::Request::builder().uri("/audit/").body(axum::body::Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(l.app.clone(), request).await.unwrap();
    let header = |name: &str| response.headers().get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("x-frame-options"), "DENY");
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{csp}");
}

/// Ambiguity in a decision request is Indeterminate, never a pick: the same property
/// in two cases, two moments, a member given twice; and each named
/// limit on the work of one call is answered with the limit's name.
#[tokio::test]
async fn ambiguous_or_oversized_decision_requests_are_indeterminate() {
    use ledger::domain::xacml::{CALL_ATTRIBUTES_MAX, DECISION_ATTRIBUTES_MAX, REFERENCE_IDS_MAX};
    let l = TestLedger::new();
    let su = "0195c1e2-0000-7000-8000-000000000001";
    let indeterminate = |reply: &Reply, why: &str| {
        let result = &reply.body["response"][0];
        assert_eq!(result["decision"], "Indeterminate", "{}", reply.body);
        let message = result["status"]["statusMessage"].as_str().unwrap();
        assert!(message.contains(why), "{message} should say {why}");
    };
    // `Value` and `VALUE` with two different organisations.
    let mut body = xacml_request(su, "read", "r", KUNDE_A);
    body["Request"]["Resource"][0]["Attribute"][1]["VALUE"] = json!(KUNDE_B);
    // (Which of the two the message names first follows the JSON map's order, which a
    // dependency's serde_json feature may change: the test does not depend on it.)
    indeterminate(&l.xacml_explained(&body.to_string()).await, "are given (property names are matched without regard");
    // Two moments in the environment.
    let mut body = xacml_request(su, "read", "r", KUNDE_A);
    let at = "urn:oasis:names:tc:xacml:1.0:environment:current-dateTime";
    body["Request"]["Environment"] = json!([{"Attribute": [
        {"AttributeId": at, "Value": "2026-01-01T00:00:00Z"}, {"AttributeId": at, "Value": "2026-06-01T00:00:00Z"}]}]);
    indeterminate(&l.xacml_explained(&body.to_string()).await, "more than one");
    // A member given twice is no request at all: Indeterminate, as every body that is
    // not a request is on Altinn's PDP.
    let text =
        xacml_request(su, "read", "r", KUNDE_A).to_string().replacen("{\"Request\"", "{\"Request\":{},\"Request\"", 1);
    indeterminate(&l.xacml_explained(&text).await, "given more than once");

    // Limits: ids per reference, attributes per call, attributes per decision.
    let many_ids: Vec<String> = (0..=REFERENCE_IDS_MAX).map(|i| format!("s{i}")).collect();
    let body = json!({"Request": {
        "AccessSubject": many_ids.iter().map(|id| json!({"Id": id, "Attribute": []})).collect::<Vec<_>>(),
        "MultiRequests": {"RequestReference": [{"ReferenceId": many_ids}]}}});
    indeterminate(&l.xacml_explained(&body.to_string()).await, &format!("more than {REFERENCE_IDS_MAX} ids"));
    let attrs: Vec<Value> = (0..=CALL_ATTRIBUTES_MAX).map(|i| json!({"AttributeId": "urn:x", "Value": i})).collect();
    let body = json!({"Request": {"Resource": [{"Attribute": attrs}]}});
    indeterminate(&l.xacml_explained(&body.to_string()).await, &format!("more than {CALL_ATTRIBUTES_MAX} attributes"));
    let attrs: Vec<Value> =
        (0..=DECISION_ATTRIBUTES_MAX).map(|i| json!({"AttributeId": "urn:x", "Value": i})).collect();
    let mut body = xacml_request(su, "read", "r", KUNDE_A);
    body["Request"]["Resource"][0]["Attribute"] = json!(attrs);
    indeterminate(
        &l.xacml_explained(&body.to_string()).await,
        &format!("more than {DECISION_ATTRIBUTES_MAX} attributes"),
    );
}
