//! Decision endpoints: Altinn's XACML JSON profile and the native one with proof.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{parse_at, parse_json, AsOfParams, Auth, JsonBody, JsonBytes};
use super::openapi::AsOf;
use super::{min_position, read, AppState, Snapshot};
use crate::auth::Role;
use crate::decisions::{Answer, Caller, Durable, Endpoint, NewEntry, RecordError};
use crate::domain::ids::{Action, OrgNo, ResourceId};
use crate::domain::model::ReadModel;
use crate::domain::pdp::{At, PartyRef, Query, Verdict};
use crate::domain::xacml::{self, Explain, Outcome, STATUS_PROCESSING_ERROR, STATUS_SYNTAX_ERROR};
use crate::domain::{Code, Rejection};
use axum::http::HeaderMap;
use utoipa::ToSchema;

pub const XACML_PATH: &str = "/authorization/api/v1/decision";

/// Altinn's PDP: XACML 3.0 JSON profile requests, one or many (`MultiRequests`).
#[utoipa::path(post, path = "/authorization/api/v1/decision", operation_id = "xacml_decision", tag = "Decisions",
    summary = "Decide XACML JSON requests as Altinn's PDP does",
    description = "Answered as Altinn's PDP answers (camelCase, every member written). A request that cannot \
                   be read, names an unknown party or is ambiguous is an `Indeterminate` result, never a guess; \
                   with `Ledger-Explain: reasons` its `statusMessage` says why. `Ledger-Min-Position` makes the \
                   answer wait for this replica to reach that position (Indeterminate if it does not in time).",
    security(("bearer" = ["pdp"])),
    params(
        AsOf,
        ("Ledger-Explain" = Option<String>, Header, description = "`reasons`: each Indeterminate result's \
            `statusMessage` carries the ledger's reason (Altinn's PDP leaves it null)", pattern = "^reasons$"),
    ),
    request_body(content = XacmlRequest, description = "A XACML JSON profile request. Any body is answered: one \
        that is not such a request (no JSON, no `Request`, a wrong shape) gets 200 with an `Indeterminate` \
        `syntax-error` result, as Altinn's PDP answers it."),
    responses((status = 200, description = "One result per request, in order", body = XacmlResponse)))]
pub async fn xacml_decision(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    headers: HeaderMap,
    body: Result<JsonBytes, ApiError>,
) -> Result<Response, ApiError> {
    auth.require(&[Role::Pdp])?;
    let explain = explain(&headers)?;
    let read = match body {
        Ok(JsonBytes(body)) => {
            read_xacml(&state, body, |body| parse_json::<Value>(body).map(|b| xacml::parse(&b))).await?
        }
        Err(e) => Err(e),
    };
    let asked = match read {
        Ok(parsed) => parsed
            .into_iter()
            .map(|p| p.map_err(|message| Outcome::Indeterminate { status: STATUS_SYNTAX_ERROR, message }))
            .collect(),
        // Text that is no JSON (or names a member twice) is one Indeterminate
        // syntax-error, as Altinn's PDP answers it; a body too large or not JSON by its
        // media type is still refused.
        Err(ApiError::MalformedJson(why) | ApiError::InvalidBody(why)) => {
            vec![Err(Outcome::Indeterminate { status: STATUS_SYNTAX_ERROR, message: why })]
        }
        Err(other) => return Err(other),
    };
    let caller = caller(&auth.0);
    answer_xacml(&state, &headers, asked, at, explain, Endpoint::Xacml, caller).await
}

pub const AUTHORIZE_PATH: &str = "/authorization/api/v1/authorize";

/// Altinn's external PDP endpoint for service owners: the same request and answer as
/// `/decision`, with Altinn's differences — a body that is no JSON is refused (400), and
/// a request that is read but cannot be decided is a `processing-error`.
#[utoipa::path(post, path = "/authorization/api/v1/authorize", operation_id = "authorize_external",
    tag = "Decisions", summary = "Decide XACML JSON requests for a service owner, as Altinn's external PDP does",
    description = "Altinn's `AuthorizeExternal`: a service owner's Maskinporten token with the scope \
                   `altinn:authorization/authorize` (or `.admin`), or a ledger token with the `service-owner` role. \
                   Answered as `/decision` is; a request that names no `Request` is a `syntax-error`, one that is \
                   read but cannot be decided (no subject, an unknown data type, an ambiguous party) a \
                   `processing-error`, each with 200; a body that is no JSON is a 400 problem.",
    security(("bearer" = ["service-owner"])),
    params(
        AsOf,
        ("Ledger-Explain" = Option<String>, Header, description = "`reasons`: each Indeterminate result's \
            `statusMessage` carries the ledger's reason (Altinn's PDP leaves it null)", pattern = "^reasons$"),
    ),
    request_body(content = XacmlRequest, description = "A XACML JSON profile request"),
    responses((status = 200, description = "One result per request, in order", body = XacmlResponse)))]
pub async fn authorize_external(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Response, ApiError> {
    auth.require(&[Role::ServiceOwner])?;
    let explain = explain(&headers)?;
    let body = read_xacml(&state, body, parse_json::<Value>).await??;
    let asked = match xacml::parse_parts(&body) {
        Ok(parts) => parts
            .into_iter()
            .map(|p| p.map_err(|message| Outcome::Indeterminate { status: STATUS_PROCESSING_ERROR, message }))
            .collect(),
        Err(message) => vec![Err(Outcome::Indeterminate { status: STATUS_SYNTAX_ERROR, message })],
    };
    let caller = caller(&auth.0);
    answer_xacml(&state, &headers, asked, at, explain, Endpoint::Authorize, caller).await
}

/// Most bytes of a XACML body read on the async worker that took it (a few requests'
/// worth); a larger one is read on the heavy-work pool. A maximal multi-request's JSON
/// takes milliseconds to parse, and an ordinary decision queued behind it on the same
/// worker would wait as long (measured by the benchmark's row of ordinary decisions
/// beside maximal ones).
pub const XACML_INLINE_BODY_BYTES_MAX: usize = 8 * 1024;

/// `read(body)`, on the async worker for a small body, else on the heavy-work pool.
async fn read_xacml<T: Send + 'static>(
    state: &AppState,
    body: axum::body::Bytes,
    read: impl FnOnce(&[u8]) -> T + Send + 'static,
) -> Result<T, ApiError> {
    if body.len() <= XACML_INLINE_BODY_BYTES_MAX {
        return Ok(read(&body));
    }
    state.heavy(move || read(&body)).await
}

/// What was asked, or the outcome of a request that could not be asked.
type Asking = Result<xacml::Asked, Outcome>;

/// Decides what was asked (after waiting for `Ledger-Min-Position`, if sent), records
/// every decision in the decision log, and answers on Altinn's wire once the records
/// are kept; `kind` names the endpoint in the log and the metrics.
async fn answer_xacml(
    state: &AppState,
    headers: &HeaderMap,
    asked: Vec<Asking>,
    at: Option<At>,
    explain: Explain,
    kind: Endpoint,
    caller: Caller,
) -> Result<Response, ApiError> {
    // A PDP client that asks for a position this replica has not reached gets an
    // Indeterminate with the reason, never a decision from older state.
    if let Some(wanted) = min_position(headers)? {
        let reached = state.ledger.wait_for(wanted, state.min_position_wait).await;
        if reached < wanted {
            let message =
                format!("not yet consistent: this replica is at position {reached}, the request needs {wanted}");
            let given: Vec<Given> = asked
                .into_iter()
                .map(|a| Given {
                    query: a.ok().and_then(|a| a.query),
                    outcome: Outcome::Indeterminate { status: STATUS_PROCESSING_ERROR, message: message.clone() },
                    position: reached,
                    as_of: false,
                })
                .collect();
            let durable = record(state, kind, &caller, &given);
            let outcomes = settled(given, durable).await?;
            return Ok(answer(&xacml::render(&outcomes, explain), reached));
        }
    }
    let position = state.ledger.model().position();
    // A multi-request's decisions (and their records' encoding) run on the blocking pool
    // under a heavy slot, so that ordinary single decisions keep the async workers.
    let (given, durable) = if asked.len() > XACML_INLINE_DECISIONS_MAX {
        let s = state.clone();
        state
            .heavy(move || {
                let given = decide_all(&s.ledger, asked, at);
                let durable = record(&s, kind, &caller, &given);
                (given, durable)
            })
            .await?
    } else {
        let given = decide_all(&state.ledger, asked, at);
        let durable = record(state, kind, &caller, &given);
        (given, durable)
    };
    let outcomes = settled(given, durable).await?;
    for o in &outcomes {
        let result = match o {
            Outcome::Decided(d, _) if d.decision == Verdict::Permit => "permit",
            Outcome::Decided(..) => "not_applicable",
            Outcome::Indeterminate { .. } => "indeterminate",
        };
        state.metrics.decided(kind.as_str(), result);
    }
    if outcomes.len() > XACML_INLINE_DECISIONS_MAX {
        // Writing a maximal answer takes as long as reading its question did.
        return state.heavy(move || answer(&xacml::render(&outcomes, explain), position)).await;
    }
    Ok(answer(&xacml::render(&outcomes, explain), position))
}

/// One decision given: what it answers, the question where there was a whole one, and
/// the position it was made at.
struct Given {
    outcome: Outcome,
    query: Option<Query>,
    position: u64,
    as_of: bool,
}

/// Who asked, as the decision log records it.
fn caller(principal: &crate::auth::Principal) -> Caller {
    Caller {
        role: principal.role.as_str().to_owned(),
        subject: principal.subject.clone(),
        org: principal.org.as_ref().map(|o| o.to_string()),
    }
}

/// The decision log's entry for one decision, borrowed from it.
fn entry<'a>(
    time: chrono::DateTime<chrono::Utc>,
    endpoint: Endpoint,
    caller: &'a Caller,
    given: &'a Given,
) -> NewEntry<'a> {
    let (answer, reason): (_, Option<&dyn std::fmt::Display>) = match &given.outcome {
        Outcome::Decided(d, _) => (Answer::from(d.decision), d.missing.as_deref().map(|m| m as _)),
        Outcome::Indeterminate { message, .. } => (Answer::Indeterminate, Some(message)),
    };
    NewEntry::given(time, endpoint, caller, given.query.as_ref(), answer, reason, given.position, given.as_of)
}

/// Hands the decisions of one call to the decision log (`None` where the instance
/// records none).
fn record(state: &AppState, endpoint: Endpoint, caller: &Caller, given: &[Given]) -> Result<Option<Durable>, ApiError> {
    let Some(log) = &state.decisions else { return Ok(None) };
    let time = (state.clock)();
    let entries: Vec<NewEntry> = given.iter().map(|g| entry(time, endpoint, caller, g)).collect();
    log.record(&entries).map(Some).map_err(record_error)
}

/// Waits until the decision log keeps the records of `given`: no answer leaves before
/// its record is kept. Their outcomes, to answer with.
async fn settled(given: Vec<Given>, durable: Result<Option<Durable>, ApiError>) -> Result<Vec<Outcome>, ApiError> {
    if let Some(durable) = durable? {
        durable.wait().await.map_err(record_error)?;
    }
    Ok(given.into_iter().map(|g| g.outcome).collect())
}

fn record_error(e: RecordError) -> ApiError {
    match e {
        RecordError::Full => ApiError::Overloaded,
        RecordError::Unavailable(why) => ApiError::StorageUnavailable(format!("decision log: {why}")),
    }
}

/// `Ledger-Explain: reasons` puts the ledger's reason for each Indeterminate result in
/// its `statusMessage`; without it the answer is Altinn's, whose messages are null.
pub const EXPLAIN_HEADER: &str = "ledger-explain";

fn explain(headers: &HeaderMap) -> Result<Explain, ApiError> {
    match super::extract::one_header(headers, EXPLAIN_HEADER)?.map(|v| v.as_bytes()) {
        None => Ok(Explain::AsAltinn),
        Some(b"reasons") => Ok(Explain::Reasons),
        Some(_) => Err(ApiError::InvalidParameter("Ledger-Explain takes one value: reasons".to_owned())),
    }
}

/// The XACML answer, serialised from its typed form so that members keep Altinn's order.
fn answer(response: &xacml::Response, position: u64) -> Response {
    let mut answer = axum::Json(response).into_response();
    answer.headers_mut().insert("ledger-position", axum::http::HeaderValue::from(position));
    answer
}

/// Most decisions one call answers on the async worker that took it; more go to the
/// blocking pool.
pub const XACML_INLINE_DECISIONS_MAX: usize = 4;

/// Each request decided in order, at its own moment (the Environment's) or `at`.
fn decide_all(ledger: &crate::ledger::Ledger, asked: Vec<Asking>, at: Option<At>) -> Vec<Given> {
    let now = ledger.model().position();
    asked
        .into_iter()
        .map(|asked| match asked {
            Ok(asked) => {
                let when = asked.at.or(at);
                let query = asked.query.clone();
                match ledger.view(when) {
                    Ok((model, _)) => {
                        let (outcome, position) = model.decide_xacml(asked);
                        Given { outcome, query, position, as_of: when.is_some() }
                    }
                    Err(message) => Given {
                        outcome: Outcome::Indeterminate { status: STATUS_PROCESSING_ERROR, message },
                        query,
                        position: now,
                        as_of: when.is_some(),
                    },
                }
            }
            Err(unasked) => Given { outcome: unasked, query: None, position: now, as_of: false },
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionBody {
    system_user: String,
    action: String,
    resource: String,
    /// An organisation number, a party id, or a party uuid.
    party: Value,
    /// Decide as of this RFC 3339 time…
    #[serde(default)]
    at: Option<String>,
    /// …or as of this ledger position.
    #[serde(default)]
    at_position: Option<u64>,
}

fn party_ref(v: &Value) -> Result<PartyRef, ApiError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(PartyRef::PartyId)
            .ok_or_else(|| ApiError::InvalidBody("party id must be an integer".to_owned())),
        Value::String(s) if s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(PartyRef::OrgNo(OrgNo::parse(s)?))
        }
        Value::String(s) => match (Uuid::parse_str(s), s.parse::<i64>()) {
            (Ok(u), _) => Ok(PartyRef::PartyUuid(u)),
            (_, Ok(id)) => Ok(PartyRef::PartyId(id)),
            _ => Err(Rejection::new(
                Code::InvalidOrgNumber,
                "party is an organisation number, a party id or a party uuid",
            )
            .into()),
        },
        _ => Err(ApiError::InvalidBody("party is a string or an integer".to_owned())),
    }
}

/// The ledger's own decision: one question, answered with the events it rests on.
#[utoipa::path(post, path = "/v1/decisions", operation_id = "decide", tag = "Decisions",
    summary = "May this system user do this action on this resource for this party? With proof",
    security(("bearer" = ["pdp", "auditor"])), params(AsOf), request_body = DecisionRequest,
    responses((status = 200, description = "The decision and what it rests on", body = DecisionResponse)))]
pub async fn native_decision(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(query_at): AsOfParams,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Response, ApiError> {
    let position_text = body.at_position.map(|p| p.to_string());
    let body_at = parse_at(body.at.as_deref(), position_text.as_deref())?;
    let at = match (body_at, query_at) {
        (Some(_), Some(_)) => {
            return Err(ApiError::InvalidParameter("give the moment in the body or the query, not both".to_owned()))
        }
        (a, b) => a.or(b),
    };
    auth.require(&[Role::Pdp, Role::Auditor])?;
    let query = Query {
        system_user: Uuid::parse_str(&body.system_user)
            .map_err(|_| ApiError::InvalidBody("systemUser must be a UUID".to_owned()))?,
        action: Action::parse(&body.action)?,
        resource: ResourceId::parse(&body.resource)?,
        party: party_ref(&body.party)?,
    };
    let Snapshot { model, time, .. } = state.view(at)?;
    let (decision, position) = model.decide(&query);
    let given = Given {
        outcome: Outcome::Decided(decision.clone(), Vec::new()),
        query: Some(query),
        position,
        as_of: at.is_some(),
    };
    let given = vec![given];
    let durable = record(&state, Endpoint::Native, &caller(&auth.0), &given);
    settled(given, durable).await?;
    state.metrics.decided(
        Endpoint::Native.as_str(),
        if decision.decision == Verdict::Permit { "permit" } else { "not_applicable" },
    );
    let mut body = serde_json::to_value(&decision).expect("decisions serialise");
    body["position"] = Value::from(position);
    if at.is_some() {
        body["asOf"] = Value::from(super::views::time(time));
    }
    Ok(read(body, position))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(xacml_decision))
        .routes(routes!(authorize_external))
        .routes(routes!(native_decision))
}

// Documentation-only shapes of the bodies above; Schemathesis checks every answer
// against them.

/// A XACML 3.0 JSON profile request (`{"Request": {...}}`), as Altinn's PEPs send it.
/// Documented as any JSON value, with a request as its example: every JSON body is
/// answered (see the operation).
pub struct XacmlRequest;

impl utoipa::PartialSchema for XacmlRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType};
        let example = serde_json::json!({"Request": {
            "AccessSubject": [{"Attribute": [{"AttributeId": "urn:altinn:systemuser:uuid", "Value": "0195c1e2-0000-7000-8000-000000000001"}]}],
            "Action": [{"Attribute": [{"AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id", "Value": "read"}]}],
            "Resource": [{"Attribute": [
                {"AttributeId": "urn:altinn:resource", "Value": "ske-krav-og-betalinger"},
                {"AttributeId": "urn:altinn:organization:identifier-no", "Value": "310000035"}]}]}});
        ObjectBuilder::new()
            .schema_type(SchemaType::AnyValue)
            .description(Some("A XACML 3.0 JSON profile request; any JSON is answered"))
            .examples([example])
            .into()
    }
}

impl ToSchema for XacmlRequest {}

/// `{"response": [result, ...]}`, as Altinn's PDP writes it: camelCase, every member
/// written, `null` where empty.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct XacmlResponse {
    response: Vec<XacmlResult>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct XacmlResult {
    decision: XacmlDecision,
    status: XacmlStatus,
    /// On a Permit that requires an authentication level.
    obligations: Option<Vec<XacmlObligation>>,
    /// Always null.
    associate_advice: Option<Vec<serde_json::Value>>,
    /// The request's attributes marked `IncludeInResult` (subject, action, resource),
    /// where a rule of the resource's policy names the action; otherwise null.
    category: Option<Vec<XacmlCategory>>,
    /// Always null: `ReturnPolicyIdList` is ignored, as by Altinn.
    policy_identifier_list: Option<serde_json::Value>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct XacmlCategory {
    #[schema(example = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource")]
    category_id: String,
    /// Always null.
    id: Option<String>,
    /// Always null.
    content: Option<String>,
    attribute: Vec<XacmlEchoedAttribute>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct XacmlEchoedAttribute {
    #[schema(example = "urn:altinn:resource")]
    attribute_id: String,
    value: String,
    /// Always null.
    issuer: Option<String>,
    #[schema(example = "http://www.w3.org/2001/XMLSchema#string")]
    data_type: String,
    /// Always false, as Altinn writes it back.
    include_in_result: bool,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub enum XacmlDecision {
    Permit,
    NotApplicable,
    Indeterminate,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct XacmlStatus {
    /// Null, as Altinn writes it; the ledger's reason for an Indeterminate with
    /// `Ledger-Explain: reasons`.
    status_message: Option<String>,
    /// Always null.
    status_details: Option<Vec<String>>,
    status_code: XacmlStatusCode,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct XacmlStatusCode {
    #[schema(example = "urn:oasis:names:tc:xacml:1.0:status:ok")]
    value: String,
    /// Always null.
    status_code: Option<serde_json::Value>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct XacmlObligation {
    #[schema(example = "urn:altinn:obligation:authenticationLevel1")]
    id: String,
    attribute_assignment: Vec<XacmlAttributeAssignment>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct XacmlAttributeAssignment {
    #[schema(example = "urn:altinn:obligation-assignment:1")]
    attribute_id: String,
    #[schema(example = "3")]
    value: String,
    #[schema(example = "urn:altinn:minimum-authenticationlevel")]
    category: String,
    #[schema(example = "http://www.w3.org/2001/XMLSchema#integer")]
    data_type: String,
    issuer: Option<String>,
}

/// The native question (no other members are taken).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct DecisionRequest {
    system_user: uuid::Uuid,
    #[schema(example = "read")]
    action: String,
    #[schema(example = "ske-krav-og-betalinger")]
    resource: String,
    /// An organisation number (string), a party id (integer or string) or a party UUID.
    #[schema(example = "310000035")]
    party: PartyRefDoc,
    /// Decide as of this RFC 3339 time (or give `atPosition`, or neither).
    #[schema(nullable = false, format = DateTime)]
    at: Option<String>,
    #[schema(nullable = false, minimum = 0)]
    at_position: Option<u64>,
}

/// An organisation number, a party id or a party UUID.
#[derive(ToSchema)]
#[serde(untagged)]
#[schema(as = PartyRef)]
#[allow(dead_code)]
pub enum PartyRefDoc {
    Text(String),
    PartyId(i64),
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct DecisionResponse {
    decision: NativeVerdict,
    /// For a Permit: the events that grant it, from the system user to the policy.
    #[schema(nullable = false)]
    granted_by: Option<Vec<GroundDto>>,
    /// For a NotApplicable: what would have been needed.
    #[schema(nullable = false)]
    missing: Option<String>,
    #[schema(nullable = false)]
    minimum_authentication_level: Option<u8>,
    /// The ledger position the decision was made at.
    position: u64,
    /// The time of the state decided on, when asked as of an earlier moment.
    #[schema(nullable = false)]
    as_of: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub enum NativeVerdict {
    Permit,
    NotApplicable,
}

/// One fact a Permit rests on: the event that established it.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = Ground)]
#[allow(dead_code)]
pub struct GroundDto {
    event_id: uuid::Uuid,
    fact: String,
}
