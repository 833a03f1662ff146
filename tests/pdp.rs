//! The XACML endpoint as real clients call it: multi-requests answered in order, the
//! party named three ways, property names in either case.

mod common;

use axum::http::Method;
use common::*;
use serde_json::json;

/// An agent system user of the auditor Rett Revisjon, linked to its client Kunde A
/// (whose auditor it is), with the auditor's access package.
async fn auditors_agent_for_kunde_a(t: &TestLedger) -> String {
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    t.link(RETT_REVISJON, &agent, KUNDE_A).await.assert_ok();
    agent
}

#[tokio::test]
async fn a_multi_request_is_answered_in_order_whatever_names_the_party() {
    let t = TestLedger::new();
    let agent = auditors_agent_for_kunde_a(&t).await;

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
async fn a_multi_request_too_large_to_read_inline_is_answered_as_its_parts_are() {
    let t = TestLedger::new();
    let agent = auditors_agent_for_kunde_a(&t).await;
    // Given a multi-request of 900 decisions, its body far above the bytes the service
    // reads on the worker that took it (so it is read, decided and written on the
    // heavy-work pool),
    let pattern = [json!({"referenceId": ["s", "w", "a"]}), json!({"referenceId": ["s", "d", "a"]})];
    let references: Vec<_> = pattern.iter().cycle().take(900).cloned().collect();
    let body = json!({"request": {
        "accessSubject": [{"id": "s", "attribute": [{"attributeId": "urn:altinn:systemuser:uuid", "value": agent}]}],
        "action": [{"id": "w", "attribute": [{"attributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "value": "write"}]},
                   {"id": "d", "attribute": [{"attributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "value": "delete"}]}],
        "resource": [{"id": "a", "attribute": [{"attributeId": "urn:altinn:resource", "value": "ske-aksjonaerregister"}, {"attributeId": "urn:altinn:organization:identifier-no", "value": KUNDE_A}]}],
        "multiRequests": {"requestReference": references}
    }});
    assert!(body.to_string().len() > 3 * ledger::api::XACML_INLINE_BODY_BYTES_MAX);
    // when it is asked, then every one is answered, in order, as it is alone,
    let reply = t.xacml(&body).await;
    let decisions: Vec<&str> =
        reply.body["response"].as_array().unwrap().iter().map(|r| r["decision"].as_str().unwrap()).collect();
    let alone = ["Permit", "NotApplicable"];
    assert_eq!(decisions.len(), 900);
    assert!(decisions.iter().enumerate().all(|(i, d)| *d == alone[i % 2]), "{decisions:?}");
    // and a body that is no JSON at that size is still one Indeterminate syntax-error.
    let text = format!("{}]", body);
    let reply = t.xacml_explained(&text).await;
    assert_eq!(reply.body["response"].as_array().unwrap().len(), 1);
    assert_eq!(
        reply.body["response"][0]["status"]["statusCode"]["value"],
        "urn:oasis:names:tc:xacml:1.0:status:syntax-error"
    );
}

#[tokio::test]
async fn a_replica_behind_the_asked_position_says_so_instead_of_answering_stale() {
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
    let t = TestLedger::new();
    let agent = auditors_agent_for_kunde_a(&t).await;
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

/// Altinn's own test `ResourceRegistry_SystemUserWithDelegations_MultiRequest_Permit`
/// (facts restated in the fixture's terms): a system user with rights on two resources,
/// every attribute marked `IncludeInResult`, asked in one multi-request — here one
/// resource is an Altinn app named by org and app. Each Permit carries its policy's
/// obligation and echoes subject, action and resource; an action no rule names and a
/// request without an action are NotApplicable and echo nothing; a system user the
/// ledger does not know is NotApplicable but echoes, because a rule matched.
#[tokio::test]
async fn altinns_multi_request_with_include_in_result_is_answered_as_altinn_answers_it() {
    let t = TestLedger::new();
    let owner = t.token(ledger::auth::Role::ServiceOwner, Some(SKATTEETATEN));
    let app_policy = json!({"rules": [{"right": true, "actions": ["read"]}], "minimumAuthenticationLevel": 2});
    t.call(Method::PUT, "/v1/resources/app_ttd_externalpdp/policy", Some(&owner), Some(app_policy)).await.assert_ok();
    t.register_system("310000019_pdp", &[], &["ske-mva-rapportering", "app_ttd_externalpdp"]).await.assert_ok();
    let user =
        t.standard_user("310000019_pdp", KUNDE_A, None, &[], &["ske-mva-rapportering", "app_ttd_externalpdp"]).await;
    let unknown = "0195c1e2-0000-7000-8000-00000000dead";

    let attr = |id: &str, value: &str| json!({"AttributeId": id, "Value": value, "IncludeInResult": true});
    let action = |id: &str, value: &str| json!({"Id": id, "Attribute": [attr("urn:oasis:names:tc:xacml:1.0:action:action-id", value)]});
    let body = json!({"Request": {
        "ReturnPolicyIdList": true,
        "AccessSubject": [
            {"Id": "s1", "Attribute": [attr("urn:altinn:systemuser:uuid", &user)]},
            {"Id": "s2", "Attribute": [attr("urn:altinn:systemuser:uuid", unknown)]}],
        "Action": [action("a1", "read"), action("a2", "sign")],
        "Resource": [
            {"Id": "r1", "Attribute": [attr("urn:altinn:resource", "ske-mva-rapportering"), attr("urn:altinn:organization:identifier-no", KUNDE_A)]},
            {"Id": "r2", "Attribute": [attr("urn:altinn:org", "ttd"), attr("urn:altinn:app", "externalpdp"), attr("urn:altinn:organization:identifier-no", KUNDE_A)]}],
        "MultiRequests": {"RequestReference": [
            {"ReferenceId": ["s1", "a1", "r1"]},
            {"ReferenceId": ["s1", "a1", "r2"]},
            {"ReferenceId": ["s1", "a2", "r1"]},
            {"ReferenceId": ["s1", "r1"]},
            {"ReferenceId": ["s2", "a1", "r1"]}]}
    }});
    let reply = t.xacml(&body).await;

    let echoed = |category: &str, attributes: &[(&str, &str)]| {
        let attribute: Vec<String> = attributes
            .iter()
            .map(|(id, value)| format!(r#"{{"attributeId":"{id}","value":"{value}","issuer":null,"dataType":"http://www.w3.org/2001/XMLSchema#string","includeInResult":false}}"#))
            .collect();
        format!(r#"{{"categoryId":"{category}","id":null,"content":null,"attribute":[{}]}}"#, attribute.join(","))
    };
    let categories = |subject: &str, resource: &[(&str, &str)]| {
        [
            echoed(
                "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject",
                &[("urn:altinn:systemuser:uuid", subject)],
            ),
            echoed(
                "urn:oasis:names:tc:xacml:3.0:attribute-category:action",
                &[("urn:oasis:names:tc:xacml:1.0:action:action-id", "read")],
            ),
            echoed("urn:oasis:names:tc:xacml:3.0:attribute-category:resource", resource),
        ]
        .join(",")
    };
    let r1 = [("urn:altinn:resource", "ske-mva-rapportering"), ("urn:altinn:organization:identifier-no", KUNDE_A)];
    let r2 = [
        ("urn:altinn:org", "ttd"),
        ("urn:altinn:app", "externalpdp"),
        ("urn:altinn:organization:identifier-no", KUNDE_A),
    ];
    let status_ok = r#""status":{"statusMessage":null,"statusDetails":null,"statusCode":{"value":"urn:oasis:names:tc:xacml:1.0:status:ok","statusCode":null}}"#;
    let permit = |level: u8, category: String| {
        format!(
            r#"{{"decision":"Permit",{status_ok},"obligations":[{{"id":"urn:altinn:obligation:authenticationLevel1","attributeAssignment":[{{"attributeId":"urn:altinn:obligation-assignment:1","value":"{level}","category":"urn:altinn:minimum-authenticationlevel","dataType":"http://www.w3.org/2001/XMLSchema#integer","issuer":null}}]}}],"associateAdvice":null,"category":[{category}],"policyIdentifierList":null}}"#
        )
    };
    let not_applicable = |category: Option<String>| {
        let category = category.map_or("null".to_owned(), |c| format!("[{c}]"));
        format!(
            r#"{{"decision":"NotApplicable",{status_ok},"obligations":null,"associateAdvice":null,"category":{category},"policyIdentifierList":null}}"#
        )
    };
    let expected = [
        permit(3, categories(&user, &r1)),
        permit(2, categories(&user, &r2)),
        not_applicable(None),
        not_applicable(None),
        not_applicable(Some(categories(unknown, &r1))),
    ];
    assert_eq!(reply.raw, format!(r#"{{"response":[{}]}}"#, expected.join(",")));
}

/// Altinn's external endpoint, as `ExternalDecisionTest` calls it: a service owner's
/// token, the same request and answer as `/decision`; a request read but not decidable
/// is a `processing-error` (Altinn's own expected answer, byte for byte), a body without
/// `Request` a `syntax-error`, text that is no JSON a 400 problem; a PDP token is refused.
#[tokio::test]
async fn a_service_owner_asks_altinns_external_authorize_endpoint() {
    let t = TestLedger::new();
    t.register_system("310000019_pdp", &[], &["ske-mva-rapportering"]).await.assert_ok();
    let user = t.standard_user("310000019_pdp", KUNDE_A, None, &[], &["ske-mva-rapportering"]).await;
    let owner = t.token(ledger::auth::Role::ServiceOwner, Some(SKATTEETATEN));
    let ask = |body: String, token: String| {
        let t = &t;
        async move {
            t.call_raw(Method::POST, "/authorization/api/v1/authorize", Some(&token), Some(&body), "application/json")
                .await
        }
    };
    let permit = xacml_request(&user, "read", "ske-mva-rapportering", KUNDE_A).to_string();
    let reply = ask(permit.clone(), owner.clone()).await;
    assert_eq!(reply.status.as_u16(), 200);
    let answer: serde_json::Value = serde_json::from_str(&reply.raw).unwrap();
    assert_eq!(answer["response"][0]["decision"], "Permit", "{}", reply.raw);

    let no_subject = r#"{"Request":{"ReturnPolicyIdList":true,"AccessSubject":[],
        "Action":[{"Attribute":[{"AttributeId":"urn:oasis:names:tc:xacml:1.0:action:action-id","Value":"read","DataType":"http://www.w3.org/2001/XMLSchema#string"}]}],
        "Resource":[{"Attribute":[{"AttributeId":"urn:altinn:resource","Value":"ske-mva-rapportering"},{"AttributeId":"urn:altinn:organization:identifier-no","Value":"310000035"}]}]}}"#;
    let altinns_answer = r#"{"response":[{"decision":"Indeterminate","status":{"statusMessage":null,"statusDetails":null,"statusCode":{"value":"urn:oasis:names:tc:xacml:1.0:status:processing-error","statusCode":null}},"obligations":null,"associateAdvice":null,"category":null,"policyIdentifierList":null}]}"#;
    assert_eq!(ask(no_subject.to_owned(), owner.clone()).await.raw, altinns_answer);
    let two_subjects = permit.replace(
        r#""AccessSubject":[{"Attribute":["#,
        r#""AccessSubject":[{"Attribute":[{"AttributeId":"urn:altinn:organization:identifier-no","Value":"310000019"},"#,
    );
    assert_ne!(two_subjects, permit, "the fixture request is rewritten");
    assert_eq!(ask(two_subjects, owner.clone()).await.raw, altinns_answer);

    let no_request = ask(r#"{"request": null}"#.to_owned(), owner.clone()).await;
    assert!(no_request.raw.contains("status:syntax-error"), "{}", no_request.raw);
    let not_json = ask("{\"Request\": ".to_owned(), owner.clone()).await;
    assert_eq!((not_json.status.as_u16(), not_json.content_type.as_str()), (400, "application/problem+json"));
    let pdp = ask(permit, t.pdp()).await;
    assert_eq!(pdp.status.as_u16(), 403, "the external endpoint is the service owners'");
}
