//! The OpenAPI contract: the document the service serves at `/openapi.json` is valid
//! OpenAPI 3.1, lists every route the router answers and nothing else, and says the
//! same of each operation as the service does. (Which roles each operation admits is
//! held against the authorization matrix in `tests/authorization.rs`; every answer's
//! shape against the document by Schemathesis, `scripts/schemathesis`.)

mod common;

use axum::http::Method;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;

const HOW_TO_GET_THE_VALIDATOR: &str = "The OpenAPI contract test needs openapi-spec-validator (PyPI). \
./scripts/test installs it into target/venv (scripts/schemathesis install) and sets LEDGER_TEST_OPENAPI_VALIDATOR.";

const METHODS: [&str; 4] = ["get", "put", "post", "delete"];

async fn document(t: &TestLedger) -> Value {
    let reply = t.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(reply.content_type, "application/json");
    reply.assert_ok().clone()
}

/// Every (method, path template, operation) of the document.
fn operations(document: &Value) -> Vec<(Method, String, Value)> {
    let mut all = vec![];
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}: only GET, PUT, POST and DELETE are served");
            all.push((method.to_uppercase().parse().unwrap(), path.clone(), op.clone()));
        }
    }
    all
}

/// A concrete path for a template: each parameter filled with a value of its kind.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{name}" => "cloudevent.json",
            "{party}" => "50002",
            "{org_no}" => KUNDE_A,
            "{system_id}" => "310000019_nosuch",
            "{resource_id}" => "ske-mva-rapportering",
            s if s.starts_with('{') => "0195c1e2-0000-7000-8000-0000000000aa",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    // Given the document the service serves,
    let t = TestLedger::new();
    let document = document(&t).await;
    assert_eq!(document["openapi"], "3.1.0");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), document.to_string()).unwrap();
    // when the OpenAPI 3.1 validator reads it,
    let validator = std::env::var("LEDGER_TEST_OPENAPI_VALIDATOR").expect(HOW_TO_GET_THE_VALIDATOR);
    let out = std::process::Command::new(&validator)
        .args(["--schema", "3.1"])
        .arg(file.path())
        .output()
        .unwrap_or_else(|e| panic!("{validator}: {e}. {HOW_TO_GET_THE_VALIDATOR}"));
    // then it finds nothing wrong.
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.trim_end().ends_with("OK"), "{said}{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn every_operation_has_a_unique_id_a_declared_tag_a_summary_and_an_answer_of_its_own() {
    let t = TestLedger::new();
    let document = document(&t).await;
    let tags: BTreeSet<&str> =
        document["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut ids = BTreeSet::new();
    let operations = operations(&document);
    for (method, path, op) in &operations {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        let tag = op["tags"][0].as_str().unwrap_or_else(|| panic!("{id} has no tag"));
        assert!(tags.contains(tag), "{id}: tag {tag} is not declared");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{id} has no summary");
        let own_success = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .any(|status| status.starts_with('2') || status.starts_with('3'));
        assert!(own_success, "{id} documents no answer of its own");
    }
    assert!(operations.len() >= 95, "{} operations", operations.len());
}

#[tokio::test]
async fn every_documented_operation_is_served_and_every_other_method_on_its_path_is_not() {
    // Given the document,
    let t = TestLedger::new();
    let document = document(&t).await;
    for (path, item) in document["paths"].as_object().unwrap() {
        let url = concrete(path);
        for method in ["GET", "PUT", "POST", "DELETE", "PATCH"] {
            let reply = t.call(method.parse().unwrap(), &url, None, None).await;
            let no_route = reply.status.as_u16() == 404 && reply.body["code"] == "no_such_endpoint";
            let not_allowed = reply.status.as_u16() == 405;
            if item.get(method.to_ascii_lowercase()).is_some() {
                // then every documented operation reaches a handler (which may refuse
                // the empty request: that is its own answer, not the router's),
                assert!(!no_route && !not_allowed, "{method} {path} is documented but not served: {}", reply.status);
            } else {
                // and every other method on a documented path is 405.
                assert!(not_allowed, "{method} {path} is not documented but answers {} {}", reply.status, reply.body);
            }
        }
    }
}

/// The router is built only from the documented routes (`routes!` of annotated
/// handlers, see `api::documented_routes`): axum cannot list its routes, so this holds
/// the only other way a route could be added — a `.route(`, `.nest(` or
/// `.route_service(` call — out of the API's source.
#[test]
fn no_route_is_added_beside_the_documented_ones() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            for call in [".route(", ".nest(", ".route_service(", ".nest_service("] {
                assert!(!source.contains(call), "{} adds an undocumented route with {call}", path.display());
            }
            files += 1;
        }
    }
    assert!(files >= 15, "read {files} files");
}

#[tokio::test]
async fn an_unknown_path_is_not_served() {
    let t = TestLedger::new();
    let document = document(&t).await;
    for path in ["/v1/nosuch", "/authentication/api/v1/nosuch", "/openapi.yaml", "/schemas"] {
        assert!(document["paths"].get(path).is_none());
        let reply = t.call(Method::GET, path, None, None).await;
        reply.assert_problem(404, "no_such_endpoint");
    }
}

#[tokio::test]
async fn the_event_schemas_the_audit_histories_refer_to_are_served() {
    // Given a history entry, whose `changed` is its event's data,
    let t = TestLedger::new();
    let document = document(&t).await;
    let entry = &document["components"]["schemas"]["HistoryEntry"]["properties"];
    assert!(entry["changed"]["description"].as_str().unwrap().contains("/schemas/{type}.json"));
    // then each event type's schema is served, as it is in `schemas/`.
    use ledger::domain::events::{upcast_types, EVENT_TYPES};
    for t_name in EVENT_TYPES.iter().copied().chain(upcast_types()) {
        let reply = t.call(Method::GET, &format!("/schemas/{t_name}.json"), None, None).await;
        assert_eq!(reply.status.as_u16(), 200, "{t_name}");
        assert_eq!(reply.content_type, "application/schema+json");
        let file = std::fs::read_to_string(format!("{}/schemas/{t_name}.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert_eq!(reply.body, serde_json::from_str::<Value>(&file).unwrap(), "{t_name}");
    }
    t.call(Method::GET, "/schemas/nosuch.json", None, None).await.assert_problem(404, "no_such_endpoint");
}

/// Resolves an operation by its id, as a generated client does.
fn operation<'a>(document: &'a Value, id: &str) -> (Method, &'a str, &'a Value) {
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["operationId"] == id {
                return (method.to_uppercase().parse().unwrap(), path, op);
            }
        }
    }
    panic!("no operation {id}")
}

/// Follows a documented link: the target's path filled from the runtime expressions
/// (`$response.body#/x`, `$request.path.x`) and the values the caller adds.
fn follow(
    document: &Value,
    from: &str,
    status: &str,
    link: &str,
    request_path: &[(&str, &str)],
    response: &Value,
    more: &[(&str, &str)],
) -> (Method, String) {
    let (_, _, op) = operation(document, from);
    let link = &op["responses"][status]["links"][link];
    let (method, template, _) = operation(document, link["operationId"].as_str().unwrap());
    let mut values: Vec<(String, String)> = more.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    for (name, expression) in link["parameters"].as_object().unwrap() {
        let expression = expression.as_str().unwrap();
        let value = if let Some(pointer) = expression.strip_prefix("$response.body#") {
            response.pointer(pointer).and_then(Value::as_str).unwrap().to_owned()
        } else if let Some(name) = expression.strip_prefix("$request.path.") {
            request_path.iter().find(|(n, _)| *n == name).unwrap().1.to_owned()
        } else {
            panic!("an expression this client does not read: {expression}")
        };
        values.push((name.clone(), value));
    }
    let mut path = template.to_owned();
    let mut query = vec![];
    for (name, value) in values {
        let placeholder = format!("{{{name}}}");
        if path.contains(&placeholder) {
            path = path.replace(&placeholder, &value);
        } else {
            query.push(format!("{name}={value}"));
        }
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    (method, path)
}

#[tokio::test]
async fn a_client_that_knows_only_the_document_walks_scenario_1_by_its_links() {
    // Given a client that knows operation ids and nothing else,
    let t = TestLedger::new();
    let document = document(&t).await;
    t.grant_role(KUNDE_B, RETT_REVISJON, "REGN").await;
    t.register_system(&format!("{SYSTEMHUSET}_regnskap"), &["regnskapsforer-med-signeringsrettighet"], &[]).await;
    // when the vendor asks Rett Revisjon for an agent system user,
    let (method, path, _) = operation(&document, "request_vendor_create_agent");
    let ask = serde_json::json!({"systemId": format!("{SYSTEMHUSET}_regnskap"), "partyOrgNo": RETT_REVISJON,
        "accessPackages": [{"urn": pkg("regnskapsforer-med-signeringsrettighet")}]});
    let request = t.call(method, path, Some(&t.vendor(SYSTEMHUSET)), Some(ask)).await;
    assert_eq!(request.status.as_u16(), 201, "{}", request.body);
    // its administrator follows the link to approve it,
    let party = t.party_id(RETT_REVISJON).to_string();
    let (method, path) = follow(
        &document,
        "request_vendor_create_agent",
        "201",
        "ApproveAgentRequest",
        &[],
        &request.body,
        &[("party", &party)],
    );
    let approve = t.call(method, &path, Some(&t.admin(RETT_REVISJON)), None).await;
    assert_eq!(approve.assert_ok(), &Value::Bool(true));
    // and its client administrator follows the link to link Kunde B,
    let id = request.body["id"].as_str().unwrap();
    let kunde_b = t.party_uuid(KUNDE_B).to_string();
    let (method, path) = follow(
        &document,
        "request_approve_agent",
        "200",
        "LinkClient",
        &[("party", &party), ("id", id)],
        &approve.body,
        &[("client", &kunde_b)],
    );
    let linked = t.call(method, &path, Some(&t.client_admin(RETT_REVISJON)), None).await;
    assert_eq!(linked.assert_ok()["agent"], id);
    // then the PDP permits the system user to report VAT for Kunde B.
    assert_eq!(t.decision(id, "write", "ske-mva-rapportering", KUNDE_B).await, "Permit");
}
