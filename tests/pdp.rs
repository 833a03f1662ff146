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
        reply.body["Response"].as_array().unwrap().iter().map(|r| r["Decision"].as_str().unwrap()).collect();
    assert_eq!(decisions, ["Permit", "Permit", "NotApplicable", "Permit", "NotApplicable", "Indeterminate"]);
    assert!(reply.position_header.is_some(), "decisions name the position they were made at");
}
