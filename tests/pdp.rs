//! The XACML endpoint as real clients call it: multi-requests answered in order, the
//! party named three ways, property names in either case.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn a_multi_request_is_answered_in_order_whatever_names_the_party() {
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();

    // Kunde A is party 50003 with uuid …c353 in the fixture.
    let body = json!({"request": {
        "accessSubject": [{"id": "s", "attribute": [{"attributeId": "urn:altinn:systemuser:uuid", "value": agent}]}],
        "action": [{"id": "w", "attribute": [{"attributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "value": "write"}]},
                   {"id": "d", "attribute": [{"attributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "value": "delete"}]}],
        "resource": [
            {"id": "by-org", "attribute": [{"attributeId": "urn:altinn:resource", "value": "ske-aksjonaerregister"}, {"attributeId": "urn:altinn:organization:identifier-no", "value": KUNDE_A}]},
            {"id": "by-id", "attribute": [{"attributeId": "urn:altinn:resource", "value": "ske-aksjonaerregister"}, {"attributeId": "urn:altinn:partyid", "value": 50003}]},
            {"id": "by-uuid", "Attribute": [{"AttributeId": "urn:altinn:resource", "Value": "ske-aksjonaerregister"}, {"AttributeId": "urn:altinn:party:uuid", "Value": "01950000-0000-0000-0000-00000000c353"}]},
            {"id": "other", "attribute": [{"attributeId": "urn:altinn:resource", "value": "ske-aksjonaerregister"}, {"attributeId": "urn:altinn:partyid", "value": "50004"}]}
        ],
        "multiRequests": {"requestReference": [
            {"referenceId": ["s", "w", "by-org"]},
            {"referenceId": ["s", "w", "by-id"]},
            {"referenceId": ["s", "d", "by-uuid"]},
            {"referenceId": ["s", "w", "by-uuid"]},
            {"referenceId": ["s", "w", "other"]},
            {"referenceId": ["w", "by-org"]}
        ]}
    }});
    let reply = t.xacml(&body).await;
    let decisions: Vec<&str> =
        reply.body["response"].as_array().unwrap().iter().map(|r| r["decision"].as_str().unwrap()).collect();
    assert_eq!(decisions, ["Permit", "Permit", "NotApplicable", "Permit", "NotApplicable", "Indeterminate"]);
    assert!(reply.position_header.is_some(), "decisions name the position they were made at");
}

#[tokio::test]
async fn a_replica_behind_the_asked_position_says_so_instead_of_answering_stale() {
    use axum::http::Method;
    let t = TestLedger::new();
    let head = t.position();
    let ahead = head + 5;
    let req = |position: u64| {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri("/authorization/api/v1/decision")
            .header("authorization", format!("Bearer {}", t.pdp()))
            .header("content-type", "application/json")
            .header("ledger-min-position", position.to_string())
            .header("ledger-explain", "reasons")
            .body(axum::body::Body::from(
                xacml_request("0195c1e2-0000-7000-8000-000000000001", "write", "ske-mva-rapportering", KUNDE_A)
                    .to_string(),
            ))
            .unwrap()
    };
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let body = |res: axum::response::Response| async move {
        serde_json::from_slice::<serde_json::Value>(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
    };
    let behind = t.app.clone().oneshot(req(ahead)).await.unwrap();
    assert_eq!(behind.status(), 200);
    let behind = body(behind).await;
    assert_eq!(behind["response"][0]["decision"], "Indeterminate");
    assert!(behind["response"][0]["status"]["statusMessage"].as_str().unwrap().contains("not yet consistent"));
    let current = body(t.app.clone().oneshot(req(head)).await.unwrap()).await;
    assert_eq!(current["response"][0]["decision"], "NotApplicable");

    // Other reads answer 503 problem+json.
    let read = axum::http::Request::builder()
        .uri(format!("{AUTHN}/systemuser/{}", p(RETT_REVISJON)))
        .header("authorization", format!("Bearer {}", t.admin(RETT_REVISJON)))
        .header("ledger-min-position", ahead.to_string())
        .body(axum::body::Body::empty())
        .unwrap();
    let res = t.app.clone().oneshot(read).await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(body(res).await["code"], "not_yet_consistent");
    let garbage = axum::http::Request::builder()
        .uri("/v1/ledger/status")
        .header("authorization", format!("Bearer {}", t.operator()))
        .header("ledger-min-position", "soon")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = t.app.clone().oneshot(garbage).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(body(res).await["code"], "invalid_parameter");
}

/// Altinn's routes match as ASP.NET matches them: literal segments without regard to
/// case, a trailing slash accepted; parameters keep their spelling; the native surface
/// is matched exactly.
#[tokio::test]
async fn altinn_routes_match_without_regard_to_case_and_with_a_trailing_slash() {
    use axum::http::Method;
    let t = TestLedger::new();
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    let body = xacml_request(&agent, "write", "ske-aksjonaerregister", KUNDE_A);
    for path in ["/authorization/api/v1/Decision", "/Authorization/API/V1/decision/", "/authorization/api/v1/decision"]
    {
        let reply = t.call(Method::POST, path, Some(&t.pdp()), Some(body.clone())).await;
        assert_eq!(reply.body["response"][0]["decision"], "Permit", "{path}: {}", reply.body);
    }
    let vendor = t.vendor("310000019");
    let reply = t
        .call(Method::GET, "/Authentication/api/v1/SystemRegister/Vendor/310000019_maestro/", Some(&vendor), None)
        .await;
    assert_eq!(reply.body["id"], "310000019_maestro", "the system id keeps its spelling: {}", reply.body);
    let native = t.call(Method::POST, "/V1/decisions", Some(&t.pdp()), Some(json!({}))).await;
    native.assert_problem(404, "no_such_endpoint");
}
