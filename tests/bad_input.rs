//! Bad input never hurts: every refusal is `application/problem+json` with a stable
//! code, and the log position does not move.

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};

use ledger::auth::{Claims, Role};

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    token: Option<String>,
    body: Option<String>,
    status: u16,
    code: &'static str,
}

fn case(
    name: &'static str,
    method: Method,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    status: u16,
    code: &'static str,
) -> Case {
    Case { name, method, path, token, body: body.map(|b| b.to_string()), status, code }
}

/// A ledger with Maestro's agent system and one pending and one approved request.
async fn setup() -> (TestLedger, String, String) {
    let t = TestLedger::new();
    t.register_system("310000019_maestro", &["skattegrunnlag", "revisormedarbeider"], &["ske-mva-rapportering"])
        .await
        .assert_ok();
    let pending = t.request_agent("310000019_maestro", RETT_REVISJON, Some("pending"), &["revisormedarbeider"]).await;
    let pending = pending.assert_ok()["id"].as_str().unwrap().to_owned();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, Some("agent"), &["revisormedarbeider"]).await;
    (t, pending, agent)
}

async fn run(t: &TestLedger, cases: Vec<Case>) {
    for c in cases {
        let before_head = t.position();
        let before_digest = t.digest();
        let reply =
            t.call_raw(c.method.clone(), &c.path, c.token.as_deref(), c.body.as_deref(), "application/json").await;
        assert_eq!(reply.status.as_u16(), c.status, "{}: {}", c.name, reply.body);
        assert_eq!(reply.content_type, "application/problem+json", "{}", c.name);
        assert_eq!(reply.body["code"], c.code, "{}: {}", c.name, reply.body);
        assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}: a problem explains itself", c.name);
        assert_eq!(t.position(), before_head, "{}: nothing may be written", c.name);
        assert_eq!(t.digest(), before_digest, "{}: the read model may not change", c.name);
    }
}

#[tokio::test]
async fn bad_requests_are_refused_with_stable_codes_and_write_nothing() {
    let (t, pending, _) = setup().await;
    let vendor = Some(t.vendor(MAESTRO));
    let std_path = format!("{AUTHN}/systemuser/request/vendor");
    let cases = vec![
        case(
            "a token of the wrong role",
            Method::POST,
            format!("{AUTHN}/systemuser/request/agent/{}/{pending}/approve", p(RETT_REVISJON)),
            Some(t.vendor(RETT_REVISJON)),
            None,
            403,
            "role_not_allowed",
        ),
        case(
            "a PDP token writing",
            Method::POST,
            "/v1/parties".to_owned(),
            Some(t.pdp()),
            Some(
                json!({"orgNo": KUNDE_A, "partyId": 1, "partyUuid": "0195c1e2-0000-7000-8000-000000000001", "name": "x"}),
            ),
            403,
            "role_not_allowed",
        ),
        case(
            "an admin granting a register role",
            Method::POST,
            "/v1/client-relationships".to_owned(),
            Some(t.admin(KUNDE_A)),
            Some(json!({"client": KUNDE_A, "facilitator": RETT_REVISJON, "role": "REVI"})),
            403,
            "not_entitled",
        ),
        case(
            "an unknown register role",
            Method::POST,
            "/v1/client-relationships".to_owned(),
            Some(t.register()),
            Some(json!({"client": KUNDE_A, "facilitator": RETT_REVISJON, "role": "BOSS"})),
            400,
            "invalid_role",
        ),
        case(
            "revoking a relationship that does not exist",
            Method::DELETE,
            format!("/v1/client-relationships?client={KUNDE_A}&facilitator={RETT_REVISJON}"),
            Some(t.register()),
            None,
            404,
            "client_relationship_not_found",
        ),
        case(
            "a policy naming an undefined package",
            Method::PUT,
            "/v1/resources/ny-tjeneste/policy".to_owned(),
            Some(t.token(Role::ServiceOwner, Some(SKATTEETATEN))),
            Some(json!({"rules": [{"accessPackage": pkg("finnes-ikke"), "actions": ["read"]}]})),
            400,
            "unknown_access_package",
        ),
        case(
            "another service owner's policy",
            Method::PUT,
            "/v1/resources/ske-mva-rapportering/policy".to_owned(),
            Some(t.token(Role::ServiceOwner, Some(MEGLER))),
            Some(json!({"rules": [{"right": true, "actions": ["read"]}]})),
            403,
            "not_policy_owner",
        ),
        case(
            "a party id used by another party",
            Method::POST,
            "/v1/parties".to_owned(),
            Some(t.register()),
            Some(
                json!({"orgNo": "310000191", "partyId": 50001, "partyUuid": "0195c1e2-0000-7000-8000-0000000000ff", "name": "x"}),
            ),
            409,
            "party_id_in_use",
        ),
        case(
            "no token",
            Method::POST,
            std_path.clone(),
            None,
            Some(json!({"systemId": "310000019_maestro", "partyOrgNo": KUNDE_A})),
            401,
            "unauthenticated",
        ),
        case(
            "a garbage token",
            Method::POST,
            std_path.clone(),
            Some("not.a.token".to_owned()),
            Some(json!({"systemId": "310000019_maestro", "partyOrgNo": KUNDE_A})),
            401,
            "unauthenticated",
        ),
        case(
            "no such endpoint",
            Method::GET,
            "/v1/nothing-here".to_owned(),
            vendor.clone(),
            None,
            404,
            "no_such_endpoint",
        ),
        case("method not allowed", Method::PATCH, std_path.clone(), vendor.clone(), None, 405, "method_not_allowed"),
    ];
    run(&t, cases).await;
}

#[tokio::test]
async fn bodies_beyond_the_limit_and_wrong_media_types_are_refused() {
    let (t, _, _) = setup().await;
    let before = t.position();
    let huge = format!("{{\"systemId\":\"{}\"}}", "x".repeat(ledger::api::extract::REQUEST_BODY_BYTES_MAX));
    let path = format!("{AUTHN}/systemuser/request/vendor");
    let reply = t.call_raw(Method::POST, &path, Some(&t.vendor(MAESTRO)), Some(&huge), "application/json").await;
    reply.assert_problem(413, "body_too_large");
    let reply = t.call_raw(Method::POST, &path, Some(&t.vendor(MAESTRO)), Some("{}"), "text/plain").await;
    reply.assert_problem(415, "unsupported_media_type");
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let reply = t.call_raw(Method::POST, &path, Some(&t.vendor(MAESTRO)), Some(&deep), "application/json").await;
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.body);
    assert_eq!(t.position(), before);
}

#[tokio::test]
async fn tokens_that_are_expired_foreign_or_unsigned_are_refused() {
    let (t, _, _) = setup().await;
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, aud: &str, nbf: i64, exp: i64| Claims {
        iss: iss.to_owned(),
        aud: aud.to_owned(),
        sub: "vendor".to_owned(),
        role: Role::Vendor,
        org: Some(MAESTRO.to_owned()),
        person: None,
        iat: now,
        nbf,
        exp,
    };
    let iss = ledger::auth::DEV_ISSUER;
    let aud = ledger::auth::AUDIENCE;
    let other_key = ledger::auth::DevKey::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
    let unsigned = {
        use base64::Engine;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let c = serde_json::to_value(claims(iss, aud, now, now + 600)).unwrap();
        format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&c))
    };
    let tokens = [
        ("expired", t.key.sign(&claims(iss, aud, now - 7200, now - 3600))),
        ("not yet valid", t.key.sign(&claims(iss, aud, now + 3600, now + 7200))),
        ("wrong issuer", t.key.sign(&claims("someone-else", aud, now, now + 600))),
        ("wrong audience", t.key.sign(&claims(iss, "another-service", now, now + 600))),
        ("signed by another key", other_key.sign(&claims(iss, aud, now, now + 600))),
        ("alg none", unsigned),
    ];
    let path = format!("{AUTHN}/systemregister/vendor/310000019_maestro");
    for (what, token) in tokens {
        let reply = t.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(reply.status.as_u16(), 401, "{what}: {}", reply.body);
        assert_eq!(reply.body["code"], "unauthenticated", "{what}");
    }
    t.call(Method::GET, &path, Some(&t.vendor(MAESTRO)), None).await.assert_ok();
}

#[tokio::test]
async fn malformed_decision_requests_are_indeterminate_not_errors() {
    let (t, _, agent) = setup().await;
    let body = json!({"Request": {"AccessSubject": [{"Attribute": []}], "Action": [], "Resource": []}});
    let reply = t.xacml_explained(&body.to_string()).await;
    assert_eq!(reply.body["response"][0]["decision"], "Indeterminate");
    assert!(reply.body["response"][0]["status"]["statusMessage"].as_str().unwrap().contains("subject"));
    let reply = t.xacml(&xacml_request(&agent, "write", "ske-mva-rapportering", "310000018")).await;
    assert_eq!(reply.body["response"][0]["decision"], "Indeterminate", "an invalid org number is malformed");
    // Text that is no JSON is answered as Altinn's PDP answers it: one Indeterminate
    // syntax-error, HTTP 200, no message unless asked for.
    let not_json = t.call_raw(Method::POST, XACML, Some(&t.pdp()), Some("{"), "application/json").await;
    assert_eq!(not_json.status.as_u16(), 200);
    assert_eq!(not_json.body, json!({"response": [ALTINN_SYNTAX_ERROR.clone()]}));
    let explained = t.xacml_explained("{").await;
    assert!(explained.body["response"][0]["status"]["statusMessage"].as_str().unwrap().contains("EOF"));
    // A body too large or of another media type is still refused.
    let xml = t.call_raw(Method::POST, XACML, Some(&t.pdp()), Some("<Request/>"), "application/xml").await;
    xml.assert_problem(415, "unsupported_media_type");
}

const XACML: &str = "/authorization/api/v1/decision";

/// Altinn's answer to a request it cannot read (`DecisionController` catches every
/// exception as this one result).
static ALTINN_SYNTAX_ERROR: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    json!({"decision": "Indeterminate", "status": {"statusMessage": null, "statusDetails": null,
        "statusCode": {"value": "urn:oasis:names:tc:xacml:1.0:status:syntax-error", "statusCode": null}},
        "obligations": null, "associateAdvice": null, "category": null, "policyIdentifierList": null})
});

/// The XACML answer is Altinn's wire byte for byte: camelCase members in the order of
/// Altinn's JSON-profile models, every member written, null where empty (a Permit with
/// the authentication-level obligation as Altinn's `ResourceRegistry_SystemUserWithDelegation`
/// case answers it, and a NotApplicable).
#[tokio::test]
async fn the_decision_answer_is_altinns_wire_byte_for_byte() {
    let (t, _, agent) = setup().await;
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    let ask = |party: &'static str| {
        let body = xacml_request(&agent, "write", "ske-aksjonaerregister", party).to_string();
        let t = &t;
        async move { t.call_raw(Method::POST, XACML, Some(&t.pdp()), Some(&body), "application/json").await }
    };
    let status_ok = r#""status":{"statusMessage":null,"statusDetails":null,"statusCode":{"value":"urn:oasis:names:tc:xacml:1.0:status:ok","statusCode":null}}"#;
    let permit = ask(KUNDE_A).await;
    assert_eq!(permit.content_type, "application/json");
    let level = 3; // the fixture's policy of ske-aksjonaerregister
    let expected = format!(
        r#"{{"response":[{{"decision":"Permit",{status_ok},"obligations":[{{"id":"urn:altinn:obligation:authenticationLevel1","attributeAssignment":[{{"attributeId":"urn:altinn:obligation-assignment:1","value":"{level}","category":"urn:altinn:minimum-authenticationlevel","dataType":"http://www.w3.org/2001/XMLSchema#integer","issuer":null}}]}}],"associateAdvice":null,"category":null,"policyIdentifierList":null}}]}}"#
    );
    assert_eq!(permit.raw, expected);
    let not_applicable = ask(KUNDE_C).await;
    let expected = format!(
        r#"{{"response":[{{"decision":"NotApplicable",{status_ok},"obligations":null,"associateAdvice":null,"category":null,"policyIdentifierList":null}}]}}"#
    );
    assert_eq!(not_applicable.raw, expected);
}
