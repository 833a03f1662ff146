//! The XACML 3.0 JSON profile as Altinn's PDP speaks it: requests in, responses out.
//!
//! Pure translation between JSON documents and [`pdp::Query`]/[`pdp::Decision`];
//! property names are matched case-insensitively because real clients send both
//! `AttributeId` and `attributeId`. A malformed request becomes an `Indeterminate`
//! result with a status message, never an error of the whole call.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::ids::{Action, OrgNo, ResourceId};
use super::pdp::{At, Decision, PartyRef, Query, Verdict};

pub const SUBJECT_SYSTEM_USER: &str = "urn:altinn:systemuser:uuid";
pub const ACTION_ID: &str = "urn:oasis:names:tc:xacml:1.0:action:action-id";
pub const RESOURCE_ID: &str = "urn:altinn:resource";
pub const PARTY_ORG_NO: &str = "urn:altinn:organization:identifier-no";
pub const PARTY_ID: &str = "urn:altinn:partyid";
pub const PARTY_UUID: &str = "urn:altinn:party:uuid";
/// The moment to decide at ("as of"), in the standard environment attribute.
pub const ENV_CURRENT_DATETIME: &str = "urn:oasis:names:tc:xacml:1.0:environment:current-dateTime";
/// The ledger position to decide at, in the ledger's own environment attribute.
pub const ENV_POSITION: &str = "urn:delegation-ledger:environment:position";
pub const STATUS_OK: &str = "urn:oasis:names:tc:xacml:1.0:status:ok";
pub const STATUS_SYNTAX_ERROR: &str = "urn:oasis:names:tc:xacml:1.0:status:syntax-error";
pub const STATUS_PROCESSING_ERROR: &str = "urn:oasis:names:tc:xacml:1.0:status:processing-error";

/// Most decisions one multi-request may ask for; bounds the work of one HTTP call.
pub const MULTI_REQUESTS_MAX: usize = 1000;

/// What one request (or one reference of a multi-request) asked, and as of when (the
/// environment's current-dateTime or ledger position), or why it is malformed.
pub type Parsed = Result<(Query, Option<At>), String>;

/// The result of one decision in a response.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Decided(Decision),
    /// Malformed or unanswerable; the message says why.
    Indeterminate {
        status: &'static str,
        message: String,
    },
}

fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// A category may be one object or an array of them.
fn category<'a>(request: &'a Map<String, Value>, name: &str) -> Vec<&'a Map<String, Value>> {
    match get_ci(request, name) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(o)) => vec![o],
        _ => Vec::new(),
    }
}

/// (attribute id, value) pairs of category elements; values may be strings or numbers.
fn attributes<'a>(elements: &[&'a Map<String, Value>]) -> Result<Vec<(&'a str, String)>, String> {
    let mut out = Vec::new();
    for element in elements {
        let attrs = match get_ci(element, "Attribute") {
            Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
            Some(v @ Value::Object(_)) => vec![v],
            None => Vec::new(),
            Some(_) => return Err("Attribute must be an array".to_owned()),
        };
        for attr in attrs {
            let attr = attr.as_object().ok_or("each Attribute must be an object")?;
            let id = get_ci(attr, "AttributeId").and_then(Value::as_str).ok_or("an Attribute lacks AttributeId")?;
            let value = match get_ci(attr, "Value") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(format!("attribute {id} lacks a string or number Value")),
            };
            out.push((id, value));
        }
    }
    Ok(out)
}

fn one<'a>(attrs: &'a [(&str, String)], id: &str, what: &str) -> Result<&'a str, String> {
    let mut found = attrs.iter().filter(|(k, _)| *k == id);
    match (found.next(), found.next()) {
        (Some((_, v)), None) => Ok(v),
        (None, _) => Err(format!("no {what} ({id})")),
        (Some(_), Some(_)) => Err(format!("more than one {what} ({id})")),
    }
}

fn environment(elements: &[&Map<String, Value>]) -> Result<Option<At>, String> {
    let attrs = attributes(elements)?;
    let time = attrs.iter().find(|(k, _)| *k == ENV_CURRENT_DATETIME).map(|(_, v)| v);
    let position = attrs.iter().find(|(k, _)| *k == ENV_POSITION).map(|(_, v)| v);
    match (time, position) {
        (Some(_), Some(_)) => Err(format!("give {ENV_CURRENT_DATETIME} or {ENV_POSITION}, not both")),
        (Some(t), None) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| Some(At::Time(t.with_timezone(&chrono::Utc))))
            .map_err(|_| format!("{ENV_CURRENT_DATETIME} is not an RFC 3339 time")),
        (None, Some(p)) => {
            p.parse().map(|p| Some(At::Position(p))).map_err(|_| format!("{ENV_POSITION} is not a position"))
        }
        (None, None) => Ok(None),
    }
}

fn query(
    subject: &[&Map<String, Value>],
    action: &[&Map<String, Value>],
    resource: &[&Map<String, Value>],
    env: &[&Map<String, Value>],
) -> Parsed {
    let at = environment(env)?;
    let subject = attributes(subject)?;
    if subject.len() != 1 {
        return Err(format!("exactly one subject attribute is required, found {}", subject.len()));
    }
    let system_user = one(&subject, SUBJECT_SYSTEM_USER, "system user subject")?;
    let system_user = Uuid::parse_str(system_user).map_err(|_| format!("{SUBJECT_SYSTEM_USER} is not a UUID"))?;
    let action = attributes(action)?;
    let action = Action::parse(one(&action, ACTION_ID, "action")?).map_err(|e| e.message)?;
    let resource = attributes(resource)?;
    if resource.is_empty() {
        return Err("no resource".to_owned());
    }
    let resource_id = ResourceId::parse(one(&resource, RESOURCE_ID, "resource")?).map_err(|e| e.message)?;
    let parties: Vec<&(&str, String)> =
        resource.iter().filter(|(k, _)| [PARTY_ORG_NO, PARTY_ID, PARTY_UUID].contains(k)).collect();
    let party = match parties.as_slice() {
        [(PARTY_ORG_NO, v)] => PartyRef::OrgNo(OrgNo::parse(v).map_err(|e| e.message)?),
        [(PARTY_ID, v)] => PartyRef::PartyId(v.parse().map_err(|_| format!("{PARTY_ID} is not an integer"))?),
        [(PARTY_UUID, v)] => {
            PartyRef::PartyUuid(Uuid::parse_str(v).map_err(|_| format!("{PARTY_UUID} is not a UUID"))?)
        }
        [] => return Err("no party (organisation number, party id or party uuid)".to_owned()),
        _ => return Err("more than one party attribute".to_owned()),
    };
    Ok((Query { system_user, action, resource: resource_id, party }, at))
}

fn by_id<'a>(elements: &[&'a Map<String, Value>], id: &str) -> Vec<&'a Map<String, Value>> {
    elements.iter().filter(|e| get_ci(e, "Id").and_then(Value::as_str) == Some(id)).copied().collect()
}

/// Reads a decision request: one request, or a multi-request whose answers come back in
/// the order of its `RequestReference`s.
pub fn parse(body: &Value) -> Vec<Parsed> {
    let Some(request) = body.as_object().and_then(|o| get_ci(o, "Request")).and_then(Value::as_object) else {
        return vec![Err("the body has no Request object".to_owned())];
    };
    let subjects = category(request, "AccessSubject");
    let actions = category(request, "Action");
    let resources = category(request, "Resource");
    let environments = category(request, "Environment");
    let references = get_ci(request, "MultiRequests")
        .and_then(Value::as_object)
        .and_then(|m| get_ci(m, "RequestReference"))
        .and_then(Value::as_array);
    let Some(references) = references else {
        if subjects.len() > 1 || actions.len() > 1 || resources.len() > 1 {
            return vec![Err("several elements in one category need MultiRequests".to_owned())];
        }
        return vec![query(&subjects, &actions, &resources, &environments)];
    };
    if references.is_empty() {
        return vec![Err("MultiRequests has no RequestReference".to_owned())];
    }
    if references.len() > MULTI_REQUESTS_MAX {
        return vec![Err(format!("more than {MULTI_REQUESTS_MAX} requests in one call"))];
    }
    references
        .iter()
        .map(|reference| {
            let ids = reference
                .as_object()
                .and_then(|r| get_ci(r, "ReferenceId"))
                .and_then(Value::as_array)
                .ok_or("a RequestReference lacks ReferenceId")?;
            let (mut s, mut a, mut r) = (Vec::new(), Vec::new(), Vec::new());
            // An Environment without an Id applies to every reference.
            let mut e: Vec<&Map<String, Value>> =
                environments.iter().filter(|x| get_ci(x, "Id").is_none()).copied().collect();
            for id in ids {
                let id = id.as_str().ok_or("ReferenceId entries are strings")?;
                let (fs, fa, fr, fe) =
                    (by_id(&subjects, id), by_id(&actions, id), by_id(&resources, id), by_id(&environments, id));
                if fs.is_empty() && fa.is_empty() && fr.is_empty() && fe.is_empty() {
                    return Err(format!("ReferenceId '{}' names no category", super::ids::truncate(id)));
                }
                s.extend(fs);
                a.extend(fa);
                r.extend(fr);
                e.extend(fe);
            }
            query(&s, &a, &r, &e)
        })
        .collect()
}

/// Renders results as an XACML JSON response, in request order.
pub fn render(outcomes: &[Outcome]) -> Value {
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Decided(d) => {
                let decision = match d.decision {
                    Verdict::Permit => "Permit",
                    Verdict::NotApplicable => "NotApplicable",
                };
                let mut result = json!({"Decision": decision, "Status": {"StatusCode": {"Value": STATUS_OK}}});
                if let (Verdict::Permit, Some(level)) = (d.decision, d.minimum_authentication_level) {
                    result["Obligations"] = json!([{
                        "Id": "urn:altinn:obligation:authenticationLevel1",
                        "AttributeAssignment": [{
                            "AttributeId": "urn:altinn:obligation-assignment:1",
                            "Value": level.to_string(),
                            "Category": "urn:altinn:minimum-authenticationlevel",
                            "DataType": "http://www.w3.org/2001/XMLSchema#integer"
                        }]
                    }]);
                }
                result
            }
            Outcome::Indeterminate { status, message } => json!({
                "Decision": "Indeterminate",
                "Status": {"StatusCode": {"Value": status}, "StatusMessage": message}
            }),
        })
        .collect();
    json!({ "Response": results })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(subject: Value, action: Value, resource: Value) -> Value {
        json!({"Request": {"AccessSubject": [{"Attribute": subject}], "Action": [{"Attribute": action}], "Resource": [{"Attribute": resource}]}})
    }

    const SU: &str = "0195c1e2-0000-7000-8000-000000000001";

    #[test]
    fn reads_a_single_request_in_either_case() {
        let body = json!({"request": {
            "accessSubject": [{"attribute": [{"attributeId": SUBJECT_SYSTEM_USER, "value": SU}]}],
            "action": [{"attribute": [{"attributeId": ACTION_ID, "value": "write"}]}],
            "resource": [{"attribute": [{"attributeId": RESOURCE_ID, "value": "ske-mva"}, {"attributeId": PARTY_ID, "value": 50001}]}]
        }});
        let parsed = parse(&body);
        let (q, at) = parsed[0].as_ref().unwrap();
        assert_eq!(*at, None);
        assert_eq!(q.party, PartyRef::PartyId(50001));
        assert_eq!(q.action.as_str(), "write");
    }

    #[test]
    fn malformed_requests_are_indeterminate_with_a_reason() {
        let subject = json!([{"AttributeId": SUBJECT_SYSTEM_USER, "Value": SU}]);
        let action = json!([{"AttributeId": ACTION_ID, "Value": "read"}]);
        let resource =
            json!([{"AttributeId": RESOURCE_ID, "Value": "r"}, {"AttributeId": PARTY_ORG_NO, "Value": "310000027"}]);
        let two_subjects = json!([{"AttributeId": SUBJECT_SYSTEM_USER, "Value": SU}, {"AttributeId": "urn:altinn:userid", "Value": "1"}]);
        let cases = [
            (single(json!([]), action.clone(), resource.clone()), "exactly one subject"),
            (single(two_subjects, action.clone(), resource.clone()), "exactly one subject"),
            (single(subject.clone(), action.clone(), json!([])), "no resource"),
            (single(subject.clone(), json!([]), resource.clone()), "no action"),
            (single(subject.clone(), action.clone(), json!([{"AttributeId": RESOURCE_ID, "Value": "r"}])), "no party"),
            (json!({"nothing": 1}), "no Request"),
        ];
        for (body, why) in cases {
            let err = parse(&body).remove(0).unwrap_err();
            assert!(err.contains(why), "{err} should mention {why}");
        }
        assert!(parse(&single(subject, action, resource))[0].is_ok());
    }

    #[test]
    fn multi_requests_answer_in_reference_order() {
        let body = json!({"Request": {
            "AccessSubject": [{"Id": "s1", "Attribute": [{"AttributeId": SUBJECT_SYSTEM_USER, "Value": SU}]}],
            "Action": [{"Id": "a1", "Attribute": [{"AttributeId": ACTION_ID, "Value": "read"}]},
                       {"Id": "a2", "Attribute": [{"AttributeId": ACTION_ID, "Value": "write"}]}],
            "Resource": [{"Id": "r1", "Attribute": [{"AttributeId": RESOURCE_ID, "Value": "r"}, {"AttributeId": PARTY_ORG_NO, "Value": "310000027"}]}],
            "MultiRequests": {"RequestReference": [{"ReferenceId": ["s1", "a2", "r1"]}, {"ReferenceId": ["s1", "a1", "r1"]}, {"ReferenceId": ["s1", "zz"]}]}
        }});
        let parsed = parse(&body);
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].as_ref().unwrap().0.action.as_str(), "write");
        assert_eq!(parsed[1].as_ref().unwrap().0.action.as_str(), "read");
        assert!(parsed[2].is_err());
    }
}
