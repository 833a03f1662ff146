//! The XACML 3.0 JSON profile as Altinn's PDP speaks it: requests in, responses out.
//!
//! Pure translation between JSON documents and [`pdp::Query`]/[`pdp::Decision`];
//! property names are matched case-insensitively because real clients send both
//! `AttributeId` and `attributeId`. A malformed request becomes an `Indeterminate`
//! result with a status message, never an error of the whole call.

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::ids::{Action, OrgNo, ResourceId};
use super::pdp::{evaluate, At, Decision, Facts, Missing, PartyRef, Query, Verdict};

pub const SUBJECT_SYSTEM_USER: &str = "urn:altinn:systemuser:uuid";
pub const ACTION_ID: &str = "urn:oasis:names:tc:xacml:1.0:action:action-id";
pub const RESOURCE_ID: &str = "urn:altinn:resource";
/// An Altinn app: its owner's code and its name (the resource `app_{org}_{app}`).
pub const APP_ORG: &str = "urn:altinn:org";
pub const APP_ID: &str = "urn:altinn:app";
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
/// Most category ids one `RequestReference` may name (a decision needs four at most:
/// subject, action, resource, environment; some clients split a category).
pub const REFERENCE_IDS_MAX: usize = 16;
/// Most attributes one call may carry across its categories.
pub const CALL_ATTRIBUTES_MAX: usize = 5_000;
/// Most attributes the elements of one category of one decision may carry together.
pub const DECISION_ATTRIBUTES_MAX: usize = 64;

/// What one request (or one reference of a multi-request) asks, or why it is malformed.
pub type Parsed = Result<Asked, String>;

/// One decision request, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Asked {
    /// `None` when the request names no action: no rule can match it, so it is
    /// NotApplicable with status ok, as Altinn's PDP answers it.
    pub query: Option<Query>,
    /// As of when: the Environment's current-dateTime or ledger position.
    pub at: Option<At>,
    /// The request's attributes marked `IncludeInResult`, by category element (subject,
    /// action, resource), to be echoed in the result.
    pub echo: Vec<Category>,
}

/// The result of one decision in a response.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A decision, with the attributes to echo (empty: `category` is null).
    Decided(Decision, Vec<Category>),
    /// Malformed or unanswerable; the message says why.
    Indeterminate { status: &'static str, message: String },
}

/// Decides what was asked, as Altinn's PDP does: the request's `IncludeInResult`
/// attributes are echoed only where a rule of the resource's policy matched the
/// resource and action (so never without a policy, or for an action no rule names).
pub fn decide<F: Facts + ?Sized>(facts: &F, asked: Asked) -> Outcome {
    let Some(query) = asked.query else {
        return Outcome::Decided(Decision::not_applicable(Missing::NoAction), Vec::new());
    };
    let decision = evaluate(facts, &query);
    let rule_matched =
        facts.policy_fact(&query.resource).is_some_and(|p| p.rules.iter().any(|r| r.actions.contains(&query.action)));
    Outcome::Decided(decision, if rule_matched { asked.echo } else { Vec::new() })
}

/// The property `name`, matched case-insensitively. Two properties that differ only in
/// case (`Value` and `VALUE`) are ambiguous: refused, never resolved by a pick.
fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<Option<&'a Value>, String> {
    let mut found = obj.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some((_, v)), None) => Ok(Some(v)),
        (Some((a, _)), Some((b, _))) => Err(format!(
            "both '{}' and '{}' are given (property names are matched without regard to case)",
            super::ids::truncate(a),
            super::ids::truncate(b)
        )),
    }
}

/// A category may be one object or an array of them.
fn category<'a>(request: &'a Map<String, Value>, name: &str) -> Result<Vec<&'a Map<String, Value>>, String> {
    Ok(match get_ci(request, name)? {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(o)) => vec![o],
        _ => Vec::new(),
    })
}

/// The attribute objects of one category element.
fn element_attributes(element: &Map<String, Value>) -> Result<Vec<&Value>, String> {
    Ok(match get_ci(element, "Attribute")? {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        None => Vec::new(),
        Some(_) => return Err("Attribute must be an array".to_owned()),
    })
}

/// One attribute as read: its id, its value as text, its data type as Altinn's converter
/// normalises it, and whether the request wants it echoed.
struct Attr<'a> {
    id: &'a str,
    value: String,
    data_type: &'static str,
    include_in_result: bool,
}

pub const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
pub const XSD_ANY_URI: &str = "http://www.w3.org/2001/XMLSchema#anyURI";
pub const XSD_INTEGER: &str = "http://www.w3.org/2001/XMLSchema#integer";

/// Reads one attribute object. Values may be strings or numbers. The data types are
/// those Altinn's converter takes (absent is a string); any other is refused, as there.
fn attribute(attr: &Value) -> Result<Attr<'_>, String> {
    let attr = attr.as_object().ok_or("each Attribute must be an object")?;
    let id = get_ci(attr, "AttributeId")?.and_then(Value::as_str).ok_or("an Attribute lacks AttributeId")?;
    let value = match get_ci(attr, "Value")? {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(format!("attribute {} lacks a string or number Value", super::ids::truncate(id))),
    };
    let data_type = match get_ci(attr, "DataType")? {
        None | Some(Value::Null) => XSD_STRING,
        Some(Value::String(t)) => match t.as_str() {
            "" | "string" | XSD_STRING => XSD_STRING,
            "anyURI" | XSD_ANY_URI => XSD_ANY_URI,
            XSD_INTEGER => XSD_INTEGER,
            other => return Err(format!("data type {} is not supported", super::ids::truncate(other))),
        },
        Some(_) => return Err("DataType must be a string".to_owned()),
    };
    let include_in_result = match get_ci(attr, "IncludeInResult")? {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("IncludeInResult must be true or false".to_owned()),
    };
    Ok(Attr { id, value, data_type, include_in_result })
}

/// (attribute id, value) pairs of category elements.
fn attributes<'a>(elements: &[&'a Map<String, Value>]) -> Result<Vec<(&'a str, String)>, String> {
    let mut out = Vec::new();
    for element in elements {
        for attr in element_attributes(element)? {
            if out.len() == DECISION_ATTRIBUTES_MAX {
                return Err(format!(
                    "one category of a decision carries more than {DECISION_ATTRIBUTES_MAX} attributes"
                ));
            }
            let attr = attribute(attr)?;
            out.push((attr.id, attr.value));
        }
    }
    Ok(out)
}

pub const CATEGORY_SUBJECT: &str = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject";
pub const CATEGORY_ACTION: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:action";
pub const CATEGORY_RESOURCE: &str = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource";

/// The attributes of `elements` marked `IncludeInResult`, one entry per element that has
/// any, as Altinn echoes them: an element's attributes grouped by id in order of first
/// appearance (the first decides whether the id is echoed), one object per value, the
/// element's `Id` and `Content` not carried over. Called after [`attributes`] has
/// bounded the elements' size.
fn echo(elements: &[&Map<String, Value>], default_category: &str) -> Result<Vec<Category>, String> {
    let mut out = Vec::new();
    for element in elements {
        let category_id = match get_ci(element, "CategoryId")? {
            None | Some(Value::Null) => default_category.to_owned(),
            Some(Value::String(c)) if c.is_empty() => default_category.to_owned(),
            Some(Value::String(c)) => c.clone(),
            Some(_) => return Err("CategoryId must be a string".to_owned()),
        };
        let mut groups: Vec<(&str, bool, Vec<EchoedAttribute>)> = Vec::new();
        for attr in element_attributes(element)? {
            let attr = attribute(attr)?;
            let echoed = EchoedAttribute {
                attribute_id: attr.id.to_owned(),
                value: attr.value,
                issuer: None,
                data_type: attr.data_type,
                include_in_result: false,
            };
            match groups.iter_mut().find(|(id, _, _)| *id == attr.id) {
                Some((_, _, values)) => values.push(echoed),
                None => groups.push((attr.id, attr.include_in_result, vec![echoed])),
            }
        }
        let attribute: Vec<EchoedAttribute> =
            groups.into_iter().filter(|(_, include, _)| *include).flat_map(|(_, _, values)| values).collect();
        if !attribute.is_empty() {
            out.push(Category { category_id, id: None, content: None, attribute });
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

/// At most one value of `id`: two are ambiguous.
fn at_most_one<'a>(attrs: &'a [(&str, String)], id: &str) -> Result<Option<&'a String>, String> {
    let mut found = attrs.iter().filter(|(k, _)| *k == id).map(|(_, v)| v);
    match (found.next(), found.next()) {
        (_, Some(_)) => Err(format!("more than one {id}")),
        (one, None) => Ok(one),
    }
}

fn environment(elements: &[&Map<String, Value>]) -> Result<Option<At>, String> {
    let attrs = attributes(elements)?;
    let time = at_most_one(&attrs, ENV_CURRENT_DATETIME)?;
    let position = at_most_one(&attrs, ENV_POSITION)?;
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
    let subject_attrs = attributes(subject)?;
    if subject_attrs.len() != 1 {
        return Err(format!("exactly one subject attribute is required, found {}", subject_attrs.len()));
    }
    let system_user = one(&subject_attrs, SUBJECT_SYSTEM_USER, "system user subject")?;
    let system_user = Uuid::parse_str(system_user).map_err(|_| format!("{SUBJECT_SYSTEM_USER} is not a UUID"))?;
    let action_attrs = attributes(action)?;
    let action_id =
        at_most_one(&action_attrs, ACTION_ID)?.map(|a| Action::parse(a).map_err(|e| e.message)).transpose()?;
    let resource_attrs = attributes(resource)?;
    if resource_attrs.is_empty() {
        return Err("no resource".to_owned());
    }
    let resource_id = resource_id(&resource_attrs)?;
    let party = party(&resource_attrs)?;
    let echo = [(subject, CATEGORY_SUBJECT), (action, CATEGORY_ACTION), (resource, CATEGORY_RESOURCE)]
        .into_iter()
        .map(|(elements, category)| echo(elements, category))
        .collect::<Result<Vec<_>, _>>()?
        .concat();
    let query = action_id.map(|action| Query { system_user, action, resource: resource_id, party });
    Ok(Asked { query, at, echo })
}

/// The resource asked about: `urn:altinn:resource`, or an Altinn app named by
/// `urn:altinn:org` and `urn:altinn:app`, which Altinn evaluates as the resource
/// `app_{org}_{app}`. Altinn splits such an id on `_`, so an org or app holding `_` is
/// ambiguous and refused; so is a plain resource id that names a different resource.
fn resource_id(attrs: &[(&str, String)]) -> Result<ResourceId, String> {
    let plain = at_most_one(attrs, RESOURCE_ID)?;
    let (org, app) = (at_most_one(attrs, APP_ORG)?, at_most_one(attrs, APP_ID)?);
    let id = match (org, app, plain) {
        (Some(org), Some(app), plain) => {
            if org.contains('_') || app.contains('_') {
                return Err(format!("{APP_ORG} and {APP_ID} may not hold '_' (app resource ids are split on it)"));
            }
            let derived = format!("app_{org}_{app}");
            if plain.is_some_and(|p| *p != derived) {
                return Err(format!("{RESOURCE_ID} names another resource than {APP_ORG} and {APP_ID} ({derived})"));
            }
            derived
        }
        (Some(_), None, _) | (None, Some(_), _) => return Err(format!("{APP_ORG} and {APP_ID} go together")),
        (None, None, Some(plain)) => plain.clone(),
        (None, None, None) => return Err(format!("no resource ({RESOURCE_ID}, or {APP_ORG} and {APP_ID})")),
    };
    ResourceId::parse(&id).map_err(|e| e.message)
}

/// The party acted for: exactly one of organisation number, party id and party uuid.
fn party(attrs: &[(&str, String)]) -> Result<PartyRef, String> {
    let parties: Vec<&(&str, String)> =
        attrs.iter().filter(|(k, _)| [PARTY_ORG_NO, PARTY_ID, PARTY_UUID].contains(k)).collect();
    Ok(match parties.as_slice() {
        [(PARTY_ORG_NO, v)] => PartyRef::OrgNo(OrgNo::parse(v).map_err(|e| e.message)?),
        [(PARTY_ID, v)] => PartyRef::PartyId(v.parse().map_err(|_| format!("{PARTY_ID} is not an integer"))?),
        [(PARTY_UUID, v)] => {
            PartyRef::PartyUuid(Uuid::parse_str(v).map_err(|_| format!("{PARTY_UUID} is not a UUID"))?)
        }
        [] => return Err("no party (organisation number, party id or party uuid)".to_owned()),
        _ => return Err("more than one party attribute".to_owned()),
    })
}

/// Reads a decision request: one request, or a multi-request whose answers come back in
/// the order of its `RequestReference`s. A call beyond a named limit is one
/// Indeterminate result that says which limit.
pub fn parse(body: &Value) -> Vec<Parsed> {
    parse_parts(body).unwrap_or_else(|message| vec![Err(message)])
}

/// Reads a decision request into its parts, or says why the call as a whole cannot be
/// read (no `Request`, a limit passed): the distinction Altinn's external endpoint
/// answers with `syntax-error` and `processing-error`.
pub fn parse_parts(body: &Value) -> Result<Vec<Parsed>, String> {
    /// The elements of each category by their `Id`, built once per call.
    type ById<'a> = std::collections::HashMap<&'a str, Vec<&'a Map<String, Value>>>;

    fn index_by_id<'a>(elements: &[&'a Map<String, Value>]) -> Result<ById<'a>, String> {
        let mut out = ById::new();
        for element in elements {
            if let Some(id) = get_ci(element, "Id")?.and_then(Value::as_str) {
                out.entry(id).or_default().push(element);
            }
        }
        Ok(out)
    }

    let request = match body.as_object().map(|o| get_ci(o, "Request")).transpose()?.flatten() {
        Some(Value::Object(request)) => request,
        _ => return Err("the body has no Request object".to_owned()),
    };
    let categories = ["AccessSubject", "Action", "Resource", "Environment"].map(|name| category(request, name));
    let [subjects, actions, resources, environments] = categories;
    let (subjects, actions, resources, environments) = (subjects?, actions?, resources?, environments?);
    let mut attribute_count = 0;
    for element in subjects.iter().chain(&actions).chain(&resources).chain(&environments) {
        attribute_count += element_attributes(element)?.len();
    }
    if attribute_count > CALL_ATTRIBUTES_MAX {
        return Err(format!("more than {CALL_ATTRIBUTES_MAX} attributes in one call"));
    }
    let multi = get_ci(request, "MultiRequests")?.and_then(Value::as_object);
    let references = multi.map(|m| get_ci(m, "RequestReference")).transpose()?.flatten().and_then(Value::as_array);
    let Some(references) = references else {
        if subjects.len() > 1 || actions.len() > 1 || resources.len() > 1 {
            return Err("several elements in one category need MultiRequests".to_owned());
        }
        return Ok(vec![query(&subjects, &actions, &resources, &environments)]);
    };
    if references.is_empty() {
        return Err("MultiRequests has no RequestReference".to_owned());
    }
    if references.len() > MULTI_REQUESTS_MAX {
        return Err(format!("more than {MULTI_REQUESTS_MAX} requests in one call"));
    }
    let by_id = [&subjects, &actions, &resources, &environments].map(|c| index_by_id(c));
    let [s_ids, a_ids, r_ids, e_ids] = by_id;
    let (s_ids, a_ids, r_ids, e_ids) = (s_ids?, a_ids?, r_ids?, e_ids?);
    // An Environment without an Id applies to every reference.
    let mut shared_env = Vec::new();
    for x in &environments {
        if get_ci(x, "Id")?.is_none() {
            shared_env.push(*x);
        }
    }
    let reference = |reference: &Value| -> Parsed {
        let ids = match reference.as_object().map(|r| get_ci(r, "ReferenceId")).transpose()?.flatten() {
            Some(Value::Array(ids)) => ids,
            _ => return Err("a RequestReference lacks ReferenceId".to_owned()),
        };
        if ids.len() > REFERENCE_IDS_MAX {
            return Err(format!("a RequestReference names more than {REFERENCE_IDS_MAX} ids"));
        }
        let (mut s, mut a, mut r, mut e) = (Vec::new(), Vec::new(), Vec::new(), shared_env.clone());
        for id in ids {
            let id = id.as_str().ok_or("ReferenceId entries are strings")?;
            let mut named = false;
            for (index, into) in [(&s_ids, &mut s), (&a_ids, &mut a), (&r_ids, &mut r), (&e_ids, &mut e)] {
                if let Some(found) = index.get(id) {
                    named = true;
                    into.extend(found);
                }
            }
            if !named {
                return Err(format!("ReferenceId '{}' names no category", super::ids::truncate(id)));
            }
        }
        query(&s, &a, &r, &e)
    };
    Ok(references.iter().map(reference).collect())
}

/// An XACML JSON response as Altinn's PDP writes it (ASP.NET's web defaults over the
/// JSON-profile models): camelCase members in the models' declaration order, every
/// member written, `null` where empty. The field order below is the wire order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Response {
    pub response: Vec<ResultWire>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultWire {
    pub decision: &'static str,
    pub status: StatusWire,
    pub obligations: Option<Vec<Obligation>>,
    pub associate_advice: Option<Vec<Value>>,
    pub category: Option<Vec<Category>>,
    /// Always null: Altinn ignores `ReturnPolicyIdList`.
    pub policy_identifier_list: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusWire {
    /// Null, as Altinn's converter leaves it, unless the caller asked for the ledger's
    /// reasons ([`Explain::Reasons`]).
    pub status_message: Option<String>,
    pub status_details: Option<Vec<String>>,
    pub status_code: StatusCodeWire,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCodeWire {
    pub value: &'static str,
    pub status_code: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Obligation {
    pub id: &'static str,
    pub attribute_assignment: Vec<AttributeAssignment>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeAssignment {
    pub attribute_id: &'static str,
    pub value: String,
    pub category: &'static str,
    pub data_type: &'static str,
    pub issuer: Option<String>,
}

/// One echoed category of a result (Altinn's `XacmlJsonCategory`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    pub category_id: String,
    /// Always null: Altinn does not carry a category's `Id` into its result.
    pub id: Option<String>,
    pub content: Option<String>,
    pub attribute: Vec<EchoedAttribute>,
}

/// One echoed attribute value (Altinn's `XacmlJsonAttribute`, as its converter writes it
/// back: no issuer, `includeInResult` false).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EchoedAttribute {
    pub attribute_id: String,
    pub value: String,
    pub issuer: Option<String>,
    pub data_type: &'static str,
    pub include_in_result: bool,
}

/// Whether an Indeterminate result carries the ledger's reason in `statusMessage`.
/// Altinn's PDP never writes one; a caller that wants the ledger's reason asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Explain {
    AsAltinn,
    Reasons,
}

/// Renders results as Altinn's PDP answers them, in request order.
pub fn render(outcomes: &[Outcome], explain: Explain) -> Response {
    let result = |decision, value, message: Option<&String>, obligations, echo: &[Category]| ResultWire {
        decision,
        status: StatusWire {
            status_message: message.filter(|_| explain == Explain::Reasons).cloned(),
            status_details: None,
            status_code: StatusCodeWire { value, status_code: None },
        },
        obligations,
        associate_advice: None,
        category: (!echo.is_empty()).then(|| echo.to_vec()),
        policy_identifier_list: None,
    };
    let response = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Decided(d, echo) => {
                let decision = match d.decision {
                    Verdict::Permit => "Permit",
                    Verdict::NotApplicable => "NotApplicable",
                };
                let level = d.minimum_authentication_level.filter(|_| d.decision == Verdict::Permit);
                let obligations = level.map(|level| {
                    vec![Obligation {
                        id: "urn:altinn:obligation:authenticationLevel1",
                        attribute_assignment: vec![AttributeAssignment {
                            attribute_id: "urn:altinn:obligation-assignment:1",
                            value: level.to_string(),
                            category: "urn:altinn:minimum-authenticationlevel",
                            data_type: XSD_INTEGER,
                            issuer: None,
                        }],
                    }]
                });
                result(decision, STATUS_OK, None, obligations, echo)
            }
            Outcome::Indeterminate { status, message } => result("Indeterminate", status, Some(message), None, &[]),
        })
        .collect();
    Response { response }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let asked = parsed[0].as_ref().unwrap();
        assert_eq!(asked.at, None);
        let q = asked.query.as_ref().unwrap();
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
            (
                single(
                    subject.clone(),
                    action.clone(),
                    json!([{"AttributeId": RESOURCE_ID, "Value": "r", "DataType": "boolean"}]),
                ),
                "not supported",
            ),
            (
                single(
                    subject.clone(),
                    action.clone(),
                    json!([{"AttributeId": RESOURCE_ID, "Value": "r", "IncludeInResult": "yes"}]),
                ),
                "IncludeInResult",
            ),
            (single(subject.clone(), action.clone(), json!([{"AttributeId": RESOURCE_ID, "Value": "r"}])), "no party"),
            (json!({"nothing": 1}), "no Request"),
        ];
        for (body, why) in cases {
            let err = parse(&body).remove(0).unwrap_err();
            assert!(err.contains(why), "{err} should mention {why}");
        }
        assert!(parse(&single(subject.clone(), action, resource.clone()))[0].is_ok());
        let no_action = parse(&single(subject, json!([]), resource)).remove(0).unwrap();
        assert_eq!(no_action.query, None, "a request without an action is asked, and answered NotApplicable");
    }

    #[test]
    fn an_app_is_the_resource_altinn_names_it_and_an_ambiguous_one_is_refused() {
        let subject = json!([{"AttributeId": SUBJECT_SYSTEM_USER, "Value": SU}]);
        let action = json!([{"AttributeId": ACTION_ID, "Value": "read"}]);
        let party = json!({"AttributeId": PARTY_ID, "Value": "50001"});
        let app = |attrs: Value| {
            let mut resource = attrs.as_array().unwrap().clone();
            resource.push(party.clone());
            parse(&single(subject.clone(), action.clone(), Value::Array(resource))).remove(0)
        };
        let org_app =
            json!([{"AttributeId": APP_ORG, "Value": "skd"}, {"AttributeId": APP_ID, "Value": "mva-melding"}]);
        let asked = app(org_app).unwrap();
        assert_eq!(asked.query.unwrap().resource.as_str(), "app_skd_mva-melding");
        let both = json!([{"AttributeId": APP_ORG, "Value": "skd"}, {"AttributeId": APP_ID, "Value": "mva"}, {"AttributeId": RESOURCE_ID, "Value": "app_skd_mva"}]);
        assert!(app(both).is_ok(), "the same resource named both ways");
        let cases = [
            (json!([{"AttributeId": APP_ORG, "Value": "skd"}, {"AttributeId": APP_ID, "Value": "a_b"}]), "'_'"),
            (json!([{"AttributeId": APP_ORG, "Value": "skd"}]), "go together"),
            (
                json!([{"AttributeId": APP_ORG, "Value": "skd"}, {"AttributeId": APP_ID, "Value": "mva"}, {"AttributeId": RESOURCE_ID, "Value": "other"}]),
                "another resource",
            ),
        ];
        for (attrs, why) in cases {
            let err = app(attrs).unwrap_err();
            assert!(err.contains(why), "{err} should mention {why}");
        }
    }

    #[test]
    fn included_attributes_are_echoed_subject_action_resource_grouped_by_id() {
        let body = json!({"Request": {
            "Resource": [{"Attribute": [
                {"AttributeId": RESOURCE_ID, "Value": "r", "IncludeInResult": true, "DataType": "string"},
                {"AttributeId": PARTY_ID, "Value": 50001, "DataType": XSD_INTEGER, "IncludeInResult": false}]}],
            "Action": [{"Attribute": [{"AttributeId": ACTION_ID, "Value": "read", "IncludeInResult": true}]}],
            "AccessSubject": [{"Id": "s1", "Attribute": [{"AttributeId": SUBJECT_SYSTEM_USER, "Value": SU, "IncludeInResult": true}]}]
        }});
        let asked = parse(&body).remove(0).unwrap();
        let ids: Vec<(&str, Vec<&str>)> = asked
            .echo
            .iter()
            .map(|c| (c.category_id.as_str(), c.attribute.iter().map(|a| a.attribute_id.as_str()).collect()))
            .collect();
        assert_eq!(
            ids,
            [
                (CATEGORY_SUBJECT, vec![SUBJECT_SYSTEM_USER]),
                (CATEGORY_ACTION, vec![ACTION_ID]),
                (CATEGORY_RESOURCE, vec![RESOURCE_ID])
            ]
        );
        assert_eq!(asked.echo[0].id, None, "a category's Id is not carried over");
        assert_eq!(asked.echo[2].attribute[0].data_type, XSD_STRING);
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
        let action = |i: usize| parsed[i].as_ref().unwrap().query.as_ref().unwrap().action.as_str().to_owned();
        assert_eq!(action(0), "write");
        assert_eq!(action(1), "read");
        assert!(parsed[2].is_err());
    }
}
