//! The authorization matrix: every endpoint × every role, admitted or refused, and the
//! organisation-scoped endpoints with a token for the wrong organisation. The requests
//! name things that do not exist, so an admitted call answers 2xx/4xx of its own and
//! nothing is written; a refused one answers 403 `role_not_allowed`.

mod common;

use axum::http::Method;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

use ledger::auth::Role;
use Role::*;

const NONE_ID: &str = "0195c1e2-0000-7000-8000-0000000000aa";

struct Endpoint {
    method: Method,
    path: String,
    body: Option<Value>,
    /// `None`: open to everyone, no token needed.
    roles: Option<Vec<Role>>,
}

fn e(method: Method, path: impl Into<String>, body: Option<Value>, roles: &[Role]) -> Endpoint {
    Endpoint { method, path: path.into(), body, roles: Some(roles.to_vec()) }
}

fn endpoints() -> Vec<Endpoint> {
    let system = json!({"id": "310000019_nosuch", "vendor": {"ID": "0192:310000019"}, "name": {"nb": "x"}, "description": {"nb": "x"}});
    let request = json!({"systemId": "310000019_nosuch", "partyOrgNo": KUNDE_A, "accessPackages": [{"urn": pkg("skattegrunnlag")}]});
    let a = AUTHN;
    let rr = RETT_REVISJON;
    vec![
        e(
            Method::POST,
            format!("{a}/systemregister/vendor"),
            Some(
                json!({"id": "310000019_x y", "vendor": {"ID": "0192:310000019"}, "name": {"nb": "x"}, "description": {"nb": "x"}}),
            ),
            &[Vendor],
        ),
        e(Method::GET, format!("{a}/systemregister"), None, &[Admin, ClientAdmin, Auditor]),
        e(Method::GET, format!("{a}/systemregister/vendor"), None, &[Vendor]),
        e(Method::GET, format!("{a}/systemregister/310000019_nosuch"), None, &[Admin, ClientAdmin, Auditor]),
        e(Method::GET, format!("{a}/systemregister/310000019_nosuch/rights"), None, &[Admin, ClientAdmin, Auditor]),
        e(
            Method::GET,
            format!("{a}/systemregister/310000019_nosuch/accesspackages"),
            None,
            &[Admin, ClientAdmin, Auditor],
        ),
        e(Method::GET, format!("{a}/systemregister/vendor/310000019_nosuch"), None, &[Vendor]),
        e(Method::PUT, format!("{a}/systemregister/vendor/310000019_nosuch"), Some(system), &[Vendor]),
        e(Method::PUT, format!("{a}/systemregister/vendor/310000019_nosuch/rights"), Some(json!([])), &[Vendor]),
        e(
            Method::PUT,
            format!("{a}/systemregister/vendor/310000019_nosuch/accesspackages"),
            Some(json!([])),
            &[Vendor],
        ),
        e(Method::DELETE, format!("{a}/systemregister/vendor/310000019_nosuch"), None, &[Vendor]),
        e(Method::GET, format!("{a}/systemregister/vendor/310000019_nosuch/changelog"), None, &[Vendor]),
        e(Method::POST, format!("{a}/systemuser/request/vendor"), Some(request.clone()), &[Vendor]),
        e(Method::POST, format!("{a}/systemuser/request/vendor/agent"), Some(request), &[Vendor]),
        e(Method::GET, format!("{a}/systemuser/request/vendor/{NONE_ID}"), None, &[Vendor]),
        e(Method::DELETE, format!("{a}/systemuser/request/vendor/{NONE_ID}"), None, &[Vendor]),
        e(Method::GET, format!("{a}/systemuser/request/vendor/agent/{NONE_ID}"), None, &[Vendor]),
        e(
            Method::GET,
            format!("{a}/systemuser/request/vendor/byexternalref/310000019_nosuch/{KUNDE_A}/x"),
            None,
            &[Vendor],
        ),
        e(Method::GET, format!("{a}/systemuser/vendor/bysystem/310000019_nosuch"), None, &[Vendor]),
        e(
            Method::GET,
            format!(
                "{a}/systemuser/byExternalId?clientId=c&systemProviderOrgNo={MAESTRO}&systemUserOwnerOrgNo={KUNDE_A}"
            ),
            None,
            &[Vendor, Pdp],
        ),
        e(
            Method::GET,
            format!("{a}/systemuser/request/vendor/agent/byexternalref/310000019_nosuch/{KUNDE_A}/x"),
            None,
            &[Vendor],
        ),
        e(Method::GET, format!("{a}/systemuser/request/vendor/bysystem/310000019_nosuch"), None, &[Vendor]),
        e(Method::GET, format!("{a}/systemuser/request/vendor/agent/bysystem/310000019_nosuch"), None, &[Vendor]),
        e(Method::GET, format!("{a}/systemuser/request/{NONE_ID}"), None, &[Admin, ClientAdmin]),
        e(Method::GET, format!("{a}/systemuser/request/agent/{NONE_ID}"), None, &[Admin, ClientAdmin]),
        e(Method::GET, format!("{a}/systemuser/request/{}/{NONE_ID}", p(rr)), None, &[Admin, ClientAdmin, Auditor]),
        e(
            Method::GET,
            format!("{a}/systemuser/request/agent/{}/{NONE_ID}", p(rr)),
            None,
            &[Admin, ClientAdmin, Auditor],
        ),
        e(Method::GET, format!("{a}/systemuser/request/{}/{rr}/pending", p(rr)), None, &[Admin, Auditor]),
        e(Method::GET, format!("{a}/systemuser/request/agent/{}/{rr}/pending", p(rr)), None, &[Admin, Auditor]),
        e(Method::POST, format!("{a}/systemuser/request/{}/{NONE_ID}/escalate", p(rr)), None, &[Admin, ClientAdmin]),
        e(
            Method::POST,
            format!("{a}/systemuser/request/agent/{}/{NONE_ID}/escalate", p(rr)),
            None,
            &[Admin, ClientAdmin],
        ),
        e(Method::POST, format!("{a}/systemuser/request/{}/{NONE_ID}/approve", p(rr)), None, &[Admin]),
        e(Method::POST, format!("{a}/systemuser/request/{}/{NONE_ID}/reject", p(rr)), None, &[Admin]),
        e(Method::POST, format!("{a}/systemuser/request/agent/{}/{NONE_ID}/approve", p(rr)), None, &[Admin]),
        e(Method::POST, format!("{a}/systemuser/request/agent/{}/{NONE_ID}/reject", p(rr)), None, &[Admin]),
        e(
            Method::POST,
            format!("{a}/systemuser/changerequest/vendor?correlation-id={NONE_ID}&system-user-id={NONE_ID}"),
            Some(json!({"requiredRights": []})),
            &[Vendor],
        ),
        e(Method::GET, format!("{a}/systemuser/changerequest/vendor/{NONE_ID}"), None, &[Vendor]),
        e(Method::DELETE, format!("{a}/systemuser/changerequest/vendor/{NONE_ID}"), None, &[Vendor]),
        e(
            Method::GET,
            format!("{a}/systemuser/changerequest/vendor/byexternalref/310000019_nosuch/{KUNDE_A}/x"),
            None,
            &[Vendor],
        ),
        e(Method::GET, format!("{a}/systemuser/changerequest/vendor/bysystem/310000019_nosuch"), None, &[Vendor]),
        e(Method::GET, format!("{a}/systemuser/changerequest/{NONE_ID}"), None, &[Admin, ClientAdmin]),
        e(
            Method::GET,
            format!("{a}/systemuser/changerequest/{}/{NONE_ID}", p(rr)),
            None,
            &[Admin, ClientAdmin, Auditor],
        ),
        e(Method::POST, format!("{a}/systemuser/changerequest/{}/{NONE_ID}/approve", p(rr)), None, &[Admin]),
        e(Method::POST, format!("{a}/systemuser/changerequest/{}/{NONE_ID}/reject", p(rr)), None, &[Admin]),
        e(
            Method::GET,
            format!("{a}/systemuser/vendor/byquery?system-id=310000019_nosuch&orgno={KUNDE_A}"),
            None,
            &[Vendor],
        ),
        e(Method::GET, format!("{a}/systemuser/{}", p(rr)), None, &[Admin, ClientAdmin, Auditor]),
        e(Method::GET, format!("{a}/systemuser/agent/{}", p(rr)), None, &[Admin, ClientAdmin, Auditor]),
        e(
            Method::GET,
            format!("{a}/systemuser/agent/{}/clients?facilitator={NONE_ID}", p(rr)),
            None,
            &[ClientAdmin, Admin, Auditor],
        ),
        e(
            Method::GET,
            format!("{a}/systemuser/agent/{}/{NONE_ID}/{NONE_ID}/delegations", p(rr)),
            None,
            &[ClientAdmin, Admin, Auditor],
        ),
        e(
            Method::POST,
            format!("{a}/systemuser/agent/{}/{NONE_ID}?provider={NONE_ID}&client={NONE_ID}", p(rr)),
            None,
            &[ClientAdmin],
        ),
        e(
            Method::DELETE,
            format!("{a}/systemuser/agent/{}/{NONE_ID}/client?provider={NONE_ID}&client={NONE_ID}", p(rr)),
            None,
            &[ClientAdmin],
        ),
        e(Method::GET, format!("{a}/systemuser/{}/{NONE_ID}/delegations", p(rr)), None, &[Admin, ClientAdmin, Auditor]),
        e(Method::GET, format!("{a}/systemuser/internal/systemusers/stream"), None, &[Register, Operator]),
        e(Method::GET, format!("{a}/systemuser/internal/systemusers/{NONE_ID}"), None, &[Register, Operator]),
        e(Method::GET, format!("{a}/systemuser/{}/{NONE_ID}", p(rr)), None, &[Admin, ClientAdmin, Auditor]),
        e(Method::DELETE, format!("{a}/systemuser/{}/{NONE_ID}", p(rr)), None, &[Admin]),
        e(Method::DELETE, format!("{a}/systemuser/agent/{}/{NONE_ID}", p(rr)), None, &[Admin]),
        e(
            Method::GET,
            format!("{a}/systemuser/agent/{}/{NONE_ID}/self?partyUuid={NONE_ID}", p(rr)),
            None,
            &[Admin, ClientAdmin, Auditor],
        ),
        e(Method::POST, format!("{a}/systemuser/agent/{}/{NONE_ID}/self?partyUuid={NONE_ID}", p(rr)), None, &[Admin]),
        e(Method::DELETE, format!("{a}/systemuser/agent/{}/{NONE_ID}/self?partyUuid={NONE_ID}", p(rr)), None, &[Admin]),
        e(
            Method::POST,
            format!("{a}/systemuser/{}/create", p(rr)),
            Some(json!({"systemId": "310000019_nosuch"})),
            &[Admin],
        ),
        e(Method::PUT, format!("{a}/systemuser"), Some(json!({"id": NONE_ID})), &[Admin]),
        e(Method::GET, format!("{a}/enduser/systemuser/clients?agent={NONE_ID}"), None, &[ClientAdmin, Admin, Auditor]),
        e(
            Method::POST,
            format!("{a}/enduser/systemuser/clients?agent={NONE_ID}&client={}", u(KUNDE_A)),
            None,
            &[ClientAdmin],
        ),
        e(
            Method::DELETE,
            format!("{a}/enduser/systemuser/clients?agent={NONE_ID}&client={}", u(KUNDE_A)),
            None,
            &[ClientAdmin],
        ),
        e(
            Method::GET,
            format!("{a}/enduser/systemuser/clients/available?agent={NONE_ID}"),
            None,
            &[ClientAdmin, Admin],
        ),
        e(Method::GET, format!("{a}/enduser/systemuser/agents?party={rr}"), None, &[ClientAdmin, Admin, Auditor]),
        e(
            Method::POST,
            "/v1/parties",
            Some(json!({"orgNo": "310000018", "partyId": 1, "partyUuid": NONE_ID, "name": "x"})),
            &[Register],
        ),
        e(
            Method::POST,
            "/v1/access-packages",
            Some(json!({"urn": "bad", "assignable": true, "delegable": true})),
            &[Register],
        ),
        e(Method::PUT, "/v1/resources/nosuch/policy", Some(json!({"rules": []})), &[ServiceOwner]),
        e(Method::GET, "/v1/resources/nosuch/policy", None, &[ServiceOwner, Vendor, Auditor, Pdp]),
        e(
            Method::POST,
            "/v1/client-relationships",
            Some(json!({"client": "310000018", "facilitator": rr, "role": "REVI"})),
            &[Register, Admin],
        ),
        e(
            Method::DELETE,
            format!("/v1/client-relationships?client=310000018&facilitator={rr}"),
            None,
            &[Register, Admin],
        ),
        e(
            Method::GET,
            format!("/v1/client-relationships?facilitator={rr}"),
            None,
            &[Register, Admin, ClientAdmin, Auditor],
        ),
        e(
            Method::POST,
            format!("/v1/system-users/{NONE_ID}/clients"),
            Some(json!({"client": KUNDE_A})),
            &[ClientAdmin],
        ),
        e(Method::GET, format!("/v1/system-users/{NONE_ID}/clients"), None, &[Admin, ClientAdmin, Auditor]),
        e(Method::POST, "/authorization/api/v1/decision", Some(json!({"Request": {}})), &[Pdp]),
        e(Method::POST, "/authorization/api/v1/authorize", Some(json!({"Request": {}})), &[ServiceOwner]),
        e(
            Method::POST,
            "/v1/decisions",
            Some(json!({"systemUser": NONE_ID, "action": "write", "resource": "r", "party": KUNDE_A})),
            &[Pdp, Auditor],
        ),
        e(Method::GET, "/v1/ledger/status", None, &[Operator, Auditor]),
        e(Method::POST, "/v1/ledger/seals", None, &[Operator]),
        e(Method::GET, "/v1/ledger/quarantine", None, &[Operator, Auditor]),
        e(Method::GET, format!("/v1/audit/system-users/{NONE_ID}/history"), None, &[Auditor]),
        e(Method::GET, format!("/v1/audit/clients/{KUNDE_A}/history"), None, &[Auditor]),
        e(Method::GET, "/v1/audit/actors/someone/history", None, &[Auditor]),
        e(Method::GET, "/v1/audit/decisions", None, &[Auditor]),
        e(Method::GET, "/v1/audit/decisions/0/reproduction", None, &[Auditor]),
        e(Method::GET, format!("/v1/audit/access?party={KUNDE_A}&resource=r&action=write"), None, &[Auditor]),
        Endpoint { method: Method::GET, path: "/healthz".into(), body: None, roles: None },
        Endpoint { method: Method::GET, path: "/readyz".into(), body: None, roles: None },
        Endpoint { method: Method::GET, path: "/metrics".into(), body: None, roles: None },
        Endpoint { method: Method::GET, path: "/audit/".into(), body: None, roles: None },
    ]
}

/// The organisation each role's token acts for in the matrix.
fn own_org(role: Role) -> Option<&'static str> {
    match role {
        Vendor => Some(MAESTRO),
        Admin | ClientAdmin => Some(RETT_REVISJON),
        ServiceOwner => Some(SKATTEETATEN),
        Register | Operator | Auditor | Pdp => None,
    }
}

#[tokio::test]
async fn every_endpoint_admits_exactly_its_roles() {
    let t = TestLedger::new();
    let tokens: Vec<(Role, String)> = Role::ALL.iter().map(|r| (*r, t.token(*r, own_org(*r)))).collect();
    let mut cases = 0;
    for ep in endpoints() {
        let body = ep.body.as_ref().map(|b| b.to_string());
        match &ep.roles {
            None => {
                let reply = t.call_raw(ep.method.clone(), &ep.path, None, body.as_deref(), "application/json").await;
                assert!(reply.status.is_success(), "{} {} is open: {}", ep.method, ep.path, reply.status);
                cases += 1;
            }
            Some(admitted) => {
                let before = (t.position(), t.digest());
                for (role, token) in &tokens {
                    let reply =
                        t.call_raw(ep.method.clone(), &ep.path, Some(token), body.as_deref(), "application/json").await;
                    let refused = reply.status.as_u16() == 403 && reply.body["code"] == "role_not_allowed";
                    if admitted.contains(role) {
                        assert!(
                            !refused && reply.status.as_u16() != 401,
                            "{} {} must admit {}: {} {}",
                            ep.method,
                            ep.path,
                            role.as_str(),
                            reply.status,
                            reply.body
                        );
                    } else {
                        assert!(
                            refused,
                            "{} {} must refuse {}: {} {}",
                            ep.method,
                            ep.path,
                            role.as_str(),
                            reply.status,
                            reply.body
                        );
                    }
                    cases += 1;
                }
                let no_token = t.call_raw(ep.method.clone(), &ep.path, None, body.as_deref(), "application/json").await;
                assert_eq!(no_token.status.as_u16(), 401, "{} {} without a token", ep.method, ep.path);
                cases += 1;
                if ep.path != "/v1/ledger/seals" {
                    assert_eq!(
                        (t.position(), t.digest()),
                        before,
                        "{} {}: the matrix must not write",
                        ep.method,
                        ep.path
                    );
                }
            }
        }
    }
    eprintln!("authorization matrix: {cases} cases");
    assert!(cases >= 40 * 9);
}

#[tokio::test]
async fn organisation_scoped_endpoints_refuse_another_organisations_token() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let pending = t.request_agent("310000019_maestro", RETT_REVISJON, Some("p"), &["revisormedarbeider"]).await;
    let pending = pending.assert_ok()["id"].as_str().unwrap().to_owned();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, Some("a"), &["revisormedarbeider"]).await;
    let a = AUTHN;
    let other_vendor = t.vendor(SYSTEMHUSET);
    let other_admin = t.admin(KUNDE_B);
    let other_client_admin = t.client_admin(KUNDE_B);
    // Altinn answers another vendor on its system register with an empty 403.
    for method in [Method::GET, Method::DELETE] {
        let path = format!("{a}/systemregister/vendor/310000019_maestro");
        let reply = t.call(method.clone(), &path, Some(&other_vendor), None).await;
        assert_eq!((reply.status.as_u16(), &reply.body), (403, &Value::Null), "{method} {path}");
    }
    for part in ["rights", "accesspackages"] {
        let path = format!("{a}/systemregister/vendor/310000019_maestro/{part}");
        let reply = t.call(Method::PUT, &path, Some(&other_vendor), Some(json!([]))).await;
        assert_eq!((reply.status.as_u16(), &reply.body), (403, &Value::Null), "PUT {path}");
    }
    // Altinn answers another vendor on a request as if it were not there (AUTH-00011),
    // and a person acting for another party with the PDP's empty 403.
    let on_requests = [
        (Method::GET, format!("{a}/systemuser/request/vendor/agent/{pending}")),
        (Method::DELETE, format!("{a}/systemuser/request/vendor/{pending}")),
    ];
    for (method, path) in on_requests {
        let reply = t.call(method.clone(), &path, Some(&other_vendor), None).await;
        assert_eq!((reply.status.as_u16(), &reply.body["code"]), (404, &json!("AUTH-00011")), "{method} {path}");
    }
    let rr_party = t.party_id(RETT_REVISJON);
    for verb in ["approve", "reject"] {
        let path = format!("{a}/systemuser/request/agent/{rr_party}/{pending}/{verb}");
        let reply = t.call(Method::POST, &path, Some(&other_admin), None).await;
        assert_eq!((reply.status.as_u16(), &reply.body), (403, &Value::Null), "POST {path}");
    }
    // The ledger's own endpoints answer with its problem; Altinn's as Altinn answers:
    // another vendor's system as if it were not there, another party with an empty 403.
    enum Refusal {
        Ledger(&'static str),
        Altinn(u16, &'static str),
        Empty403,
    }
    let cases: Vec<(Method, String, &String, Option<Value>, Refusal)> = vec![
        (
            Method::GET,
            format!("{a}/systemuser/vendor/bysystem/310000019_maestro"),
            &other_vendor,
            None,
            Refusal::Altinn(404, "AUTH-00011"),
        ),
        (
            Method::GET,
            format!("{a}/systemuser/request/agent/{}/{pending}", p(RETT_REVISJON)),
            &other_admin,
            None,
            Refusal::Empty403,
        ),
        (
            Method::GET,
            format!("{a}/systemuser/request/agent/{}/{RETT_REVISJON}/pending", p(RETT_REVISJON)),
            &other_admin,
            None,
            Refusal::Empty403,
        ),
        (
            Method::GET,
            format!("{a}/systemuser/request/agent/{pending}"),
            &other_admin,
            None,
            Refusal::Altinn(403, "AUTH-00066"),
        ),
        (Method::GET, format!("{a}/systemuser/{}", p(RETT_REVISJON)), &other_admin, None, Refusal::Empty403),
        (Method::GET, format!("{a}/systemuser/agent/{}", p(RETT_REVISJON)), &other_admin, None, Refusal::Empty403),
        (Method::GET, format!("{a}/systemuser/{}/{agent}", p(RETT_REVISJON)), &other_admin, None, Refusal::Empty403),
        (
            Method::DELETE,
            format!("{a}/systemuser/agent/{}/{agent}", p(RETT_REVISJON)),
            &other_admin,
            None,
            Refusal::Empty403,
        ),
        (
            Method::POST,
            format!("{a}/systemuser/agent/{}/{agent}/self?partyUuid={}", p(RETT_REVISJON), u(RETT_REVISJON)),
            &other_admin,
            None,
            Refusal::Empty403,
        ),
        (
            Method::POST,
            format!("{a}/systemuser/{}/create", p(RETT_REVISJON)),
            &other_admin,
            Some(json!({"systemId": "310000019_maestro"})),
            Refusal::Empty403,
        ),
        (
            Method::GET,
            format!("{a}/enduser/systemuser/clients?agent={agent}"),
            &other_client_admin,
            None,
            Refusal::Empty403,
        ),
        (
            Method::POST,
            format!("{a}/enduser/systemuser/clients?agent={agent}&client={}", u(KUNDE_A)),
            &other_client_admin,
            None,
            Refusal::Empty403,
        ),
        (
            Method::GET,
            format!("{a}/enduser/systemuser/clients/available?agent={agent}"),
            &other_client_admin,
            None,
            Refusal::Empty403,
        ),
        (
            Method::GET,
            format!("{a}/enduser/systemuser/agents?party={RETT_REVISJON}"),
            &other_client_admin,
            None,
            Refusal::Empty403,
        ),
        (
            Method::GET,
            format!("/v1/client-relationships?facilitator={RETT_REVISJON}"),
            &other_admin,
            None,
            Refusal::Ledger("not_owner"),
        ),
        (
            Method::POST,
            "/v1/client-relationships".to_owned(),
            &other_admin,
            Some(json!({"client": KUNDE_A, "facilitator": RETT_REVISJON, "accessPackages": [pkg("skattegrunnlag")]})),
            Refusal::Ledger("not_entitled"),
        ),
    ];
    let before = (t.position(), t.digest());
    for (method, path, token, body, refusal) in &cases {
        let reply = t.call(method.clone(), path, Some(token), body.clone()).await;
        match refusal {
            Refusal::Ledger(code) => reply.assert_problem(403, code),
            Refusal::Altinn(status, code) => {
                assert_eq!((reply.status.as_u16(), &reply.body["code"]), (*status, &json!(code)), "{method} {path}")
            }
            Refusal::Empty403 => {
                assert_eq!((reply.status.as_u16(), &reply.body), (403, &Value::Null), "{method} {path}")
            }
        }
    }
    assert_eq!((t.position(), t.digest()), before, "refusals write nothing");
}

/// The document's operation for a concrete path: the template whose literal segments
/// all match, preferring the one with the most literal segments (as the router does).
fn documented_operation<'a>(document: &'a Value, method: &Method, path: &str) -> (&'a str, &'a Value) {
    let path = path.split('?').next().unwrap();
    let segments: Vec<&str> = path.split('/').collect();
    let method = method.as_str().to_ascii_lowercase();
    let mut candidates: Vec<(usize, &str, &Value)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            let fits =
                parts.len() == segments.len() && parts.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s);
            let literal = parts.iter().filter(|t| !t.starts_with('{')).count();
            item.get(&method).filter(|_| fits).map(|op| (literal, template.as_str(), op))
        })
        .collect();
    candidates.sort_by_key(|(literal, ..)| std::cmp::Reverse(*literal));
    let (_, template, op) = candidates.first().unwrap_or_else(|| panic!("{method} {path} is not in the document"));
    (template, op)
}

/// The roles an operation's `bearer` requirement lists; `None` where it needs no token.
fn documented_roles(operation: &Value) -> Option<Vec<String>> {
    let security = operation.get("security")?.as_array()?;
    let roles = security.iter().filter_map(|r| r.get("bearer")).flat_map(|r| r.as_array().unwrap());
    Some(roles.map(|r| r.as_str().unwrap().to_owned()).collect())
}

#[tokio::test]
async fn the_document_names_exactly_the_roles_the_matrix_admits_and_the_matrix_covers_the_document() {
    // Given the OpenAPI document the service serves,
    let t = TestLedger::new();
    let document = t.call(Method::GET, "/openapi.json", None, None).await.assert_ok().clone();
    let mut covered = BTreeSet::new();
    // then every endpoint of the matrix (whose roles the test above holds the service
    // to) is documented with exactly those roles,
    for ep in endpoints() {
        let (template, op) = documented_operation(&document, &ep.method, &ep.path);
        let documented: Option<BTreeSet<String>> = documented_roles(op).map(|r| r.into_iter().collect());
        let admitted: Option<BTreeSet<String>> =
            ep.roles.as_ref().map(|r| r.iter().map(|r| r.as_str().to_owned()).collect());
        assert_eq!(documented, admitted, "{} {template}: the document's roles", ep.method);
        covered.insert(op["operationId"].as_str().unwrap().to_owned());
    }
    // and every operation that needs a token is in the matrix.
    for item in document["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if documented_roles(op).is_some() {
                let id = op["operationId"].as_str().unwrap();
                assert!(covered.contains(id), "{id} needs a token but the authorization matrix does not test it");
            }
        }
    }
    assert!(covered.len() >= 80, "{} operations", covered.len());
}
