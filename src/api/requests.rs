//! Altinn's system-user requests, `/authentication/api/v1/systemuser/request`, as
//! Altinn's `RequestSystemUserController` answers (`docs/altinn-contract.md`,
//! section 3): a vendor creates (201 with `Location`, or 200 with the pending request
//! for the same key), reads and deletes its requests; the customer approves or rejects
//! them (200 `true`). `{party}` in a path is the integer party id.
//!
//! Every rule is the domain's; this module reads Altinn's shapes into commands and maps
//! the domain's codes to Altinn's problems in one function ([`refusal`]).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::altinn::{self, AltinnError, AltinnJson, AuthProblem, PackageBody, RightBody};
use super::error::ApiError;
use super::extract::{AsOfParams, Auth, CorrelationId, PathParams, QueryParams};
use super::openapi::{AccessPackage, AsOf, Paginated, Problem, Right as RightDto};
use super::views::{packages_json, right_json, time};
use super::AUTHN;
use super::{AppState, Snapshot};
use crate::auth::{Principal, Role};
use crate::domain::decide::NewRequest;
use crate::domain::events::{EventData, UserType};
use crate::domain::ids::{Action, OrgNo, PackageUrn, ResourceId, Right, SystemId};
use crate::domain::model::{Kv, ReadModel, Request, RequestStatus};
use crate::domain::pdp::At;
use crate::domain::{Code, Command};
use utoipa::ToSchema;

/// Altinn's `CreateRequestSystemUser` and `CreateAgentRequestSystemUser` (member names
/// lower-cased). The agent form has no `rights`: a body that sends them has them
/// ignored, as Altinn ignores unknown members. It may carry the ledger's extension
/// `agentRights` instead (a limited agent, NAV's scenario A), in Altinn's `Right` shape;
/// a standard request ignores it.
#[derive(Deserialize)]
pub struct CreateBody {
    systemid: String,
    partyorgno: String,
    #[serde(default)]
    externalref: Option<String>,
    #[serde(default)]
    integrationtitle: Option<String>,
    #[serde(default)]
    rights: Option<Vec<RightBody>>,
    #[serde(default)]
    accesspackages: Option<Vec<PackageBody>>,
    #[serde(default)]
    redirecturl: Option<String>,
    #[serde(default)]
    agentrights: Option<Vec<RightBody>>,
}

/// The page a customer answers a request on, under the public base URL.
fn confirm_url(public_url: &str, r: &Request) -> String {
    let page = match r.user_type {
        UserType::Standard => "request",
        UserType::Agent => "agentrequest",
    };
    format!("{public_url}/accessmanagement/ui/systemuser/{page}?id={}&DONTCHOOSEREPORTEE=true", r.id)
}

/// Altinn's `RequestSystemResponse` (standard) or `AgentRequestSystemResponse`.
fn response_body<K: Kv + ?Sized>(model: &K, r: &Request, now: DateTime<Utc>, confirm: Option<&str>) -> Value {
    let title = r.integration_title.clone().or_else(|| {
        model
            .system(&r.system_id)
            .and_then(|s| s.definition.name.get("nb").or(s.definition.name.values().next()).cloned())
    });
    let mut v = json!({
        "id": r.id,
        "externalRef": r.external_ref,
        "systemId": r.system_id.as_str(),
        "partyOrgNo": r.party_org_no.as_str(),
        "accessPackages": packages_json(&r.access_packages),
        "status": status_word(r.status),
        "escalated": r.escalated.is_some(),
        "created": time(r.created),
        "timedOut": r.is_expired(now),
    });
    match r.user_type {
        UserType::Standard => v["rights"] = Value::Array(r.rights.iter().map(right_json).collect()),
        // Only a limited agent has the extension member: Altinn's shape is unchanged.
        UserType::Agent if !r.rights.is_empty() => {
            v["agentRights"] = Value::Array(r.rights.iter().map(right_json).collect())
        }
        UserType::Agent => {}
    }
    if let Some(title) = title {
        v["integrationTitle"] = json!(title);
    }
    if let Some(url) = &r.redirect_url {
        v["redirectUrl"] = json!(url);
    }
    if let Some(url) = confirm {
        v["confirmUrl"] = json!(url);
    }
    v
}

/// Altinn's status words. A request past its time-to-live keeps its status and reads
/// `timedOut: true`, as on Altinn.
pub(super) fn status_word(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::New => "New",
        RequestStatus::Accepted => "Accepted",
        RequestStatus::Rejected => "Rejected",
        // A withdrawn request is deleted on Altinn and never read back.
        RequestStatus::Withdrawn => "Withdrawn",
    }
}

/// The one place where the domain's refusals become Altinn's problems.
pub(super) fn refusal<K: Kv + ?Sized>(
    e: ApiError,
    model: &K,
    system: Option<&SystemId>,
    user_type: UserType,
) -> AltinnError {
    let ApiError::Rejected(r) = &e else { return e.into() };
    let code = r.code.as_str();
    let problem = |p: AuthProblem| AltinnError::problem(p, code, r.message.clone());
    let with = |p: AuthProblem, name: &str| {
        let mut e = problem(p);
        if let AltinnError::Problem(p) = &mut e {
            p.extensions.insert(name.to_owned(), json!(r.message));
        }
        e
    };
    let standard = user_type == UserType::Standard;
    match r.code {
        Code::SystemNotFound | Code::SystemDeleted | Code::NotSystemVendor => problem(altinn::SYSTEM_ID_NOT_FOUND),
        Code::PartyNotFound | Code::InvalidOrgNumber => problem(altinn::REPORTEE_ORGNO_NOT_FOUND),
        Code::InvalidRedirectUrl => {
            let none_allowed =
                system.and_then(|id| model.system(id)).is_some_and(|s| s.definition.allowed_redirect_urls.is_empty());
            problem(if none_allowed { altinn::NO_REDIRECT_URIS_ON_SYSTEM } else { altinn::REDIRECT_URI_NOT_FOUND })
        }
        Code::EmptyRequest if standard => problem(altinn::MISSING_RIGHTS_OR_PACKAGES),
        Code::EmptyRequest => problem(altinn::MISSING_ACCESS_PACKAGE),
        Code::RightNotInSystem | Code::UnknownResource => problem(altinn::RIGHTS_NOT_FOUND_OR_NOT_DELEGABLE),
        Code::PackageNotInSystem | Code::UnknownAccessPackage => {
            with(altinn::ACCESS_PACKAGE_NOT_FOUND, "NotFoundPackages")
        }
        Code::PackageNotAssignable => with(altinn::ACCESS_PACKAGE_NOT_DELEGABLE_STANDARD, "NotDelegablePackages"),
        Code::PackageNotDelegable => with(altinn::ACCESS_PACKAGE_NOT_DELEGABLE_AGENT, "NotDelegablePackages"),
        Code::SystemUserExists => problem(altinn::SYSTEM_USER_ALREADY_EXISTS),
        Code::RequestNotFound | Code::UserTypeMismatch if standard => problem(altinn::REQUEST_NOT_FOUND),
        Code::RequestNotFound | Code::UserTypeMismatch => problem(altinn::AGENT_REQUEST_NOT_FOUND),
        Code::NotRequestParty if standard => problem(altinn::PARTY_REQUEST_MISMATCH),
        Code::NotRequestParty => problem(altinn::PARTY_AGENT_REQUEST_MISMATCH),
        Code::RequestNotNew => problem(altinn::REQUEST_STATUS_NOT_NEW),
        Code::InvalidField => {
            AltinnError::ModelState { path: "$".to_owned(), message: r.message.clone(), ledger_code: code }
        }
        // The ledger's own rules (an expired request, say) keep the ledger's problem.
        _ => e.into(),
    }
}

pub(super) fn rights_of(body: Option<&[RightBody]>) -> Result<Vec<Right>, AltinnError> {
    let bad = |why: String| AltinnError::problem(altinn::RIGHTS_NOT_FOUND_OR_NOT_DELEGABLE, "invalid_field", why);
    body.unwrap_or_default()
        .iter()
        .map(|r| {
            let [attribute] = r.resource.as_slice() else {
                return Err(bad("a right names exactly one resource".to_owned()));
            };
            if attribute.id != "urn:altinn:resource" {
                return Err(bad(format!(
                    "'{}' is not urn:altinn:resource",
                    crate::domain::ids::truncate(&attribute.id)
                )));
            }
            let resource = ResourceId::parse(&attribute.value).map_err(|e| bad(e.message))?;
            let action = r.action.as_deref().map(Action::parse).transpose().map_err(|e| bad(e.message))?;
            Ok(Right { resource, action })
        })
        .collect()
}

pub(super) fn packages_of(body: Option<&[PackageBody]>) -> Result<Vec<PackageUrn>, AltinnError> {
    body.unwrap_or_default()
        .iter()
        .map(|p| {
            PackageUrn::parse(p.urn.as_deref().unwrap_or("")).map_err(|e| {
                AltinnError::problem(altinn::ACCESS_PACKAGE_NOT_FOUND, "invalid_access_package", e.message)
            })
        })
        .collect()
}

pub(super) fn located(status: StatusCode, body: Value, position: u64, location: Option<String>) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert("ledger-position", HeaderValue::from(position));
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(axum::http::header::LOCATION, location);
    }
    response
}

async fn create(
    state: AppState,
    who: &Principal,
    cid: Option<String>,
    body: CreateBody,
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let system_id = SystemId::parse(&body.systemid)
        .map_err(|e| AltinnError::problem(altinn::SYSTEM_ID_NOT_FOUND, "system_not_found", e.message))?;
    let party = OrgNo::parse(&body.partyorgno)
        .map_err(|e| AltinnError::problem(altinn::REPORTEE_ORGNO_NOT_FOUND, "invalid_org_number", e.message))?;
    let rights = match user_type {
        UserType::Standard => rights_of(body.rights.as_deref())?,
        UserType::Agent => rights_of(body.agentrights.as_deref())?,
    };
    let new = NewRequest {
        user_type,
        system_id: system_id.clone(),
        party_org_no: party.clone(),
        // Altinn reads an empty external ref, and an empty redirect, as none given.
        external_ref: body.externalref.filter(|r| !r.is_empty()),
        rights,
        access_packages: packages_of(body.accesspackages.as_deref())?,
        redirect_url: body.redirecturl.filter(|u| !u.is_empty()),
        integration_title: body.integrationtitle.filter(|t| !t.is_empty()),
    };
    let external_ref = new.external_ref.clone().unwrap_or_else(|| party.to_string());
    let written = state.execute(who, cid, Command::CreateRequest(new)).await;
    let model = state.ledger.model();
    let w = written.map_err(|e| refusal(e, model, Some(&system_id), user_type))?;
    let created = w.events.iter().find_map(|e| match &e.data {
        EventData::RequestCreated(r) => Some(r.request_id),
        _ => None,
    });
    let (status, request) = match created {
        Some(id) => (StatusCode::CREATED, model.request(&id)),
        // Already satisfied: the pending request for the same key is the answer.
        None => (StatusCode::OK, model.pending_request(&system_id, &party, &external_ref)),
    };
    let request = request.ok_or_else(|| ApiError::Internal("a request written is not in the read model".to_owned()))?;
    let confirm = confirm_url(&state.public_url, &request);
    let body = response_body(model, &request, state.now(), Some(&confirm));
    let location = (status == StatusCode::CREATED)
        .then(|| format!("{}/authentication/api/v1/systemuser/request/{}", state.public_url, request.id));
    Ok(located(status, body, w.position, location))
}

/// Reads a body only after the role is settled, as ASP.NET does.
async fn create_as_vendor(
    state: AppState,
    auth: Auth,
    cid: Option<String>,
    body: Result<AltinnJson<CreateBody>, AltinnError>,
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let AltinnJson(body) = body?;
    create(state.clone(), who, cid, body, user_type).await
}

/// `POST /systemuser/request/vendor`.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemuser/request/vendor", operation_id = "request_vendor_create_standard", tag = "System-user requests",
    summary = "Ask a customer for a standard system user",
    description = "201 with `Location` when made; 200 with the pending request when one with the same system, party and external ref is waiting.",
    security(("bearer" = ["vendor"])), request_body = CreateRequestSystemUser,
    responses(
        (status = 201, description = "Made; `Location` names it", body = RequestSystemResponse, headers(("Location" = String, description = "The new request's URL"))),
        (status = 200, description = "The pending request for the same system, party and external ref", body = RequestSystemResponse),
        (status = 404, description = "No such system of the vendor (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "A concurrent write took the key, or the ledger's state forbids it", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn create_standard(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    body: Result<AltinnJson<CreateBody>, AltinnError>,
) -> Result<Response, AltinnError> {
    create_as_vendor(state, auth, cid, body, UserType::Standard).await
}

/// `POST /systemuser/request/vendor/agent`.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemuser/request/vendor/agent", operation_id = "request_vendor_create_agent", tag = "System-user requests",
    summary = "Ask a customer for an agent system user",
    description = "201 with `Location` when made; 200 with the pending request when one with the same system, party and external ref is waiting. On Altinn an agent request has no rights, only access packages; the ledger's extension `agentRights` asks for single rights of the system too (a limited agent), with or without packages.",
    security(("bearer" = ["vendor"])), request_body = CreateAgentRequestSystemUser,
    responses(
        (status = 201, description = "Made; `Location` names it", body = AgentRequestSystemResponse, headers(("Location" = String, description = "The new request's URL"))),
        (status = 200, description = "The pending request for the same system, party and external ref", body = AgentRequestSystemResponse),
        (status = 404, description = "No such system of the vendor (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "A concurrent write took the key, or the ledger's state forbids it", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn create_agent(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    body: Result<AltinnJson<CreateBody>, AltinnError>,
) -> Result<Response, AltinnError> {
    create_as_vendor(state, auth, cid, body, UserType::Agent).await
}

fn request_id(segment: &str, user_type: UserType) -> Result<Uuid, AltinnError> {
    let p = if user_type == UserType::Standard { altinn::REQUEST_NOT_FOUND } else { altinn::AGENT_REQUEST_NOT_FOUND };
    Uuid::parse_str(segment).map_err(|_| AltinnError::problem(p, "request_not_found", "the request id is not a UUID"))
}

/// The vendor's own request of this type that was not withdrawn.
fn vendors_request<K: Kv + ?Sized>(
    model: &K,
    who: &Principal,
    id: &Uuid,
    user_type: UserType,
) -> Result<Request, AltinnError> {
    let not_found =
        || AltinnError::problem(altinn::REQUEST_NOT_FOUND, "request_not_found", format!("request {id} does not exist"));
    let request = model.request(id).filter(|r| r.user_type == user_type && r.status != RequestStatus::Withdrawn);
    let request = request.ok_or_else(not_found)?;
    if who.org.as_ref() != Some(&request.system_id.vendor()) {
        return Err(AltinnError::problem(
            altinn::SYSTEM_ID_NOT_FOUND,
            "not_system_vendor",
            "the request is another vendor's",
        ));
    }
    Ok(request)
}

async fn get(
    state: AppState,
    auth: Auth,
    at: Option<At>,
    id: String,
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let Snapshot { model, position, time } = state.view(at)?;
    let request = vendors_request(&model, who, &request_id(&id, UserType::Standard)?, user_type)?;
    let confirm = confirm_url(&state.public_url, &request);
    Ok(located(StatusCode::OK, response_body(&model, &request, time, Some(&confirm)), position, None))
}

/// `GET /systemuser/request/vendor/{requestId}`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/vendor/{id}", operation_id = "request_vendor_get_standard", tag = "System-user requests",
    summary = "The vendor's standard request",
    security(("bearer" = ["vendor"])), params(AsOf),
    responses(
        (status = 200, description = "The request", body = RequestSystemResponse),
        (status = 404, description = "No such request of the vendor (`AUTH-00010`), or another vendor's (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_standard(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    get(state, auth, at, id, UserType::Standard).await
}

/// `GET /systemuser/request/vendor/agent/{requestId}`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/vendor/agent/{id}", operation_id = "request_vendor_get_agent", tag = "System-user requests",
    summary = "The vendor's agent request",
    security(("bearer" = ["vendor"])), params(AsOf),
    responses(
        (status = 200, description = "The request", body = AgentRequestSystemResponse),
        (status = 404, description = "No such request of the vendor (`AUTH-00010`), or another vendor's (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_agent(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    get(state, auth, at, id, UserType::Agent).await
}

async fn by_external_ref(
    state: AppState,
    auth: Auth,
    at: Option<At>,
    (system_id, org_no, external_ref): (String, String, String),
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let not_found = || {
        AltinnError::problem(
            altinn::REQUEST_NOT_FOUND,
            "request_not_found",
            "no request with this system, party and external ref",
        )
    };
    let (Ok(system_id), Ok(org)) = (SystemId::parse(&system_id), OrgNo::parse(&org_no)) else {
        return Err(not_found());
    };
    if who.org.as_ref() != Some(&system_id.vendor()) {
        return Err(AltinnError::problem(
            altinn::SYSTEM_ID_NOT_FOUND,
            "not_system_vendor",
            "the system is another vendor's",
        ));
    }
    let Snapshot { model, position, time } = state.view(at)?;
    // The newest request with this key that was not withdrawn.
    let request = model
        .requests_of_system(&system_id)
        .into_iter()
        .filter(|r| r.user_type == user_type && r.party_org_no == org && r.external_ref == external_ref)
        .filter(|r| r.status != RequestStatus::Withdrawn)
        .max_by_key(|r| r.created)
        .ok_or_else(not_found)?;
    let confirm = confirm_url(&state.public_url, &request);
    Ok(located(StatusCode::OK, response_body(&model, &request, time, Some(&confirm)), position, None))
}

/// `GET /systemuser/request/vendor/byexternalref/{systemId}/{orgNo}/{externalRef}`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/vendor/byexternalref/{system_id}/{org_no}/{external_ref}", operation_id = "request_vendor_by_external_ref_standard", tag = "System-user requests",
    summary = "The newest standard request for a system, party and external ref",
    security(("bearer" = ["vendor"])), params(AsOf),
    responses(
        (status = 200, description = "The request", body = RequestSystemResponse),
        (status = 404, description = "No request with this key (`AUTH-00010`), or the system is another vendor's (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn by_external_ref_standard(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(key): PathParams<(String, String, String)>,
) -> Result<Response, AltinnError> {
    by_external_ref(state, auth, at, key, UserType::Standard).await
}

/// `GET /systemuser/request/vendor/agent/byexternalref/{systemId}/{orgNo}/{externalRef}`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/vendor/agent/byexternalref/{system_id}/{org_no}/{external_ref}", operation_id = "request_vendor_by_external_ref_agent", tag = "System-user requests",
    summary = "The newest agent request for a system, party and external ref",
    security(("bearer" = ["vendor"])), params(AsOf),
    responses(
        (status = 200, description = "The request", body = AgentRequestSystemResponse),
        (status = 404, description = "No request with this key (`AUTH-00010`), or the system is another vendor's (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn by_external_ref_agent(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(key): PathParams<(String, String, String)>,
) -> Result<Response, AltinnError> {
    by_external_ref(state, auth, at, key, UserType::Agent).await
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    token: Option<String>,
}

/// A vendor's requests for one of its systems, paged as Altinn pages them: by id, 50 a
/// page, the token naming the first id of the next page. (Altinn's query skips that
/// item at each page boundary; here the next page starts with it.)
async fn by_system(
    state: AppState,
    auth: Auth,
    at: Option<At>,
    system_id: String,
    token: Option<String>,
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let not_found =
        || AltinnError::problem(altinn::SYSTEM_ID_NOT_FOUND, "system_not_found", "no such system of this vendor");
    let system_id = SystemId::parse(&system_id).map_err(|_| not_found())?;
    let Snapshot { model, position, time } = state.view(at)?;
    if model.system(&system_id).is_none() || who.org.as_ref() != Some(&system_id.vendor()) {
        return Err(not_found());
    }
    let from: Option<Uuid> = token.as_deref().map(altinn::from_opaque).transpose()?;
    let requests: Vec<Request> = model
        .requests_of_system(&system_id)
        .into_iter()
        .filter(|r| r.user_type == user_type && r.status != RequestStatus::Withdrawn)
        .collect();
    let (requests, next) = altinn::page(requests, |r| r.id, from);
    let next = next.map(|id| {
        let kind = if user_type == UserType::Agent { "agent/" } else { "" };
        let token = altinn::opaque(&id);
        format!("{}{AUTHN}/systemuser/request/vendor/{kind}bysystem/{system_id}?token={token}", state.public_url)
    });
    let data = requests.iter().map(|r| response_body(&model, r, time, None)).collect();
    Ok(located(StatusCode::OK, altinn::paginated(data, next), position, None))
}

/// `GET /systemuser/request/vendor/bysystem/{systemId}[?token=]`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/vendor/bysystem/{system_id}", operation_id = "request_vendor_by_system_standard", tag = "System-user requests",
    summary = "The standard requests for one of the vendor's systems, 50 a page",
    security(("bearer" = ["vendor"])), params(("token" = Option<String>, Query, description = "The continuation token of a previous page's `links.next`"), AsOf),
    responses(
        (status = 200, description = "A page of requests", body = Paginated<RequestSystemResponse>),
        (status = 404, description = "No such system of the vendor (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn by_system_standard(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(system_id): PathParams<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, AltinnError> {
    by_system(state, auth, at, system_id, q.token, UserType::Standard).await
}

/// `GET /systemuser/request/vendor/agent/bysystem/{systemId}[?token=]`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/vendor/agent/bysystem/{system_id}", operation_id = "request_vendor_by_system_agent", tag = "System-user requests",
    summary = "The agent requests for one of the vendor's systems, 50 a page",
    security(("bearer" = ["vendor"])), params(("token" = Option<String>, Query, description = "The continuation token of a previous page's `links.next`"), AsOf),
    responses(
        (status = 200, description = "A page of requests", body = Paginated<AgentRequestSystemResponse>),
        (status = 404, description = "No such system of the vendor (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn by_system_agent(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(system_id): PathParams<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, AltinnError> {
    by_system(state, auth, at, system_id, q.token, UserType::Agent).await
}

/// `DELETE /systemuser/request/vendor/{requestId}`: 202, no body. The request is
/// recorded as withdrawn (Altinn deletes it; here nothing recorded is ever deleted).
#[utoipa::path(
    delete, path = "/authentication/api/v1/systemuser/request/vendor/{id}", operation_id = "request_vendor_delete", tag = "System-user requests",
    summary = "Withdraw the vendor's standard request",
    description = "Recorded as withdrawn (Altinn deletes it; nothing recorded here is ever deleted).",
    security(("bearer" = ["vendor"])),
    responses(
        (status = 202, description = "Withdrawn"),
        (status = 404, description = "No such request of the vendor (`AUTH-00010`), or another vendor's (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The request is not New, or a concurrent write", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let request_id = request_id(&id, UserType::Standard)?;
    let written = state.execute(who, cid, Command::WithdrawRequest { request_id }).await;
    let w = written.map_err(|e| refusal(e, state.ledger.model(), None, UserType::Standard))?;
    let mut response = StatusCode::ACCEPTED.into_response();
    response.headers_mut().insert("ledger-position", HeaderValue::from(w.position));
    Ok(response)
}

/// `{party}`: the integer party id of an organisation in the party register.
pub fn party_of<K: Kv + ?Sized>(model: &K, segment: &str) -> Result<OrgNo, AltinnError> {
    let id: i64 = segment.parse().map_err(|_| AltinnError::unbound("party", segment))?;
    model.party_by_id(id).map(|p| p.org_no).ok_or_else(|| {
        AltinnError::problem(altinn::REPORTEE_ORGNO_NOT_FOUND, "party_not_found", format!("no party with id {id}"))
    })
}

async fn answer(
    state: AppState,
    auth: Auth,
    cid: Option<String>,
    (party, id): (String, String),
    user_type: UserType,
    approve: bool,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Admin])?;
    let party = party_of(state.ledger.model(), &party)?;
    // Acting for the party is Altinn's PDP check on `{party}`: an empty 403 when not.
    if who.org.as_ref() != Some(&party) {
        return Err(AltinnError::Forbidden);
    }
    let request_id = request_id(&id, user_type)?;
    let command = if approve {
        Command::ApproveRequest { request_id, party, user_type }
    } else {
        Command::RejectRequest { request_id, party, user_type }
    };
    let written = state.execute(who, cid, command).await;
    let w = written.map_err(|e| refusal(e, state.ledger.model(), None, user_type))?;
    Ok(located(StatusCode::OK, Value::Bool(true), w.position, None))
}

macro_rules! answers {
    ($($(#[$meta:meta])* $name:ident: $user_type:expr, $approve:expr;)*) => {$(
        $(#[$meta])*
        pub async fn $name(
            State(state): State<AppState>,
            auth: Auth,
            CorrelationId(cid): CorrelationId,
            PathParams(path): PathParams<(String, String)>,
        ) -> Result<Response, AltinnError> {
            answer(state, auth, cid, path, $user_type, $approve).await
        }
    )*};
}

answers! {
    #[utoipa::path(
        post, path = "/authentication/api/v1/systemuser/request/{party}/{id}/approve", operation_id = "request_approve_standard", tag = "System-user requests",
        summary = "Approve a standard request: the system user is made",
        security(("bearer" = ["admin"])),
        responses(
            (status = 200, description = "Approved: the system user is made", content_type = "application/json", body = bool, example = json!(true)),
            (status = 404, description = "No such standard request (`AUTH-00010`)", content_type = "application/problem+json", body = Problem),
            (status = 409, description = "The request is not New (`AUTH-00013`), has expired, or a concurrent write", content_type = "application/problem+json", body = Problem),
        )
    )]
    approve_standard: UserType::Standard, true;
    #[utoipa::path(
        post, path = "/authentication/api/v1/systemuser/request/{party}/{id}/reject", operation_id = "request_reject_standard", tag = "System-user requests",
        summary = "Reject a standard request",
        security(("bearer" = ["admin"])),
        responses(
            (status = 200, description = "Rejected", content_type = "application/json", body = bool, example = json!(true)),
            (status = 404, description = "No such standard request (`AUTH-00010`)", content_type = "application/problem+json", body = Problem),
            (status = 409, description = "The request is not New (`AUTH-00013`), has expired, or a concurrent write", content_type = "application/problem+json", body = Problem),
        )
    )]
    reject_standard: UserType::Standard, false;
    #[utoipa::path(
        post, path = "/authentication/api/v1/systemuser/request/agent/{party}/{id}/approve", operation_id = "request_approve_agent", tag = "System-user requests",
        summary = "Approve an agent request: the agent system user is made",
        security(("bearer" = ["admin"])),
        responses(
            (status = 200, description = "Approved: the system user is made", content_type = "application/json", body = bool, example = json!(true)),
            (status = 404, description = "No such agent request (`AUTH-00030`)", content_type = "application/problem+json", body = Problem),
            (status = 409, description = "The request is not New (`AUTH-00013`), has expired, or a concurrent write", content_type = "application/problem+json", body = Problem),
        )
    )]
    approve_agent: UserType::Agent, true;
    #[utoipa::path(
        post, path = "/authentication/api/v1/systemuser/request/agent/{party}/{id}/reject", operation_id = "request_reject_agent", tag = "System-user requests",
        summary = "Reject an agent request",
        security(("bearer" = ["admin"])),
        responses(
            (status = 200, description = "Rejected", content_type = "application/json", body = bool, example = json!(true)),
            (status = 404, description = "No such agent request (`AUTH-00030`)", content_type = "application/problem+json", body = Problem),
            (status = 409, description = "The request is not New (`AUTH-00013`), has expired, or a concurrent write", content_type = "application/problem+json", body = Problem),
        )
    )]
    reject_agent: UserType::Agent, false;
}

// ---- the customer's reads and escalation ---------------------------------------------

/// A request of this type that was not withdrawn (Altinn deletes withdrawn ones).
fn live_request<K: Kv + ?Sized>(model: &K, segment: &str, user_type: UserType) -> Result<Request, AltinnError> {
    let id = Uuid::parse_str(segment).map_err(|_| AltinnError::unbound("requestId", segment))?;
    let request = model.request(&id).filter(|r| r.user_type == user_type && r.status != RequestStatus::Withdrawn);
    request.ok_or_else(|| {
        AltinnError::problem(altinn::REQUEST_NOT_FOUND, "request_not_found", format!("request {id} does not exist"))
    })
}

async fn get_for_party(
    state: AppState,
    auth: Auth,
    at: Option<At>,
    (party, id): (String, String),
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let who = auth.require(&altinn::READERS)?;
    let Snapshot { model, position, time } = state.view(at)?;
    let org = party_of(&model, &party)?;
    altinn::acts_for(who, &org)?;
    let request = live_request(&model, &id, user_type)?;
    if request.party_org_no != org {
        let detail = format!("request {} is not to party {party}", request.id);
        return Err(AltinnError::problem(altinn::REQUEST_NOT_FOUND, "not_request_party", detail));
    }
    Ok(located(StatusCode::OK, response_body(&model, &request, time, None), position, None))
}

/// `GET /systemuser/request/{party}/{requestId}`: the party's request, without `confirmUrl`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/{party}/{id}", operation_id = "request_get_for_party_standard", tag = "System-user requests",
    summary = "The party's standard request, without `confirmUrl`",
    security(("bearer" = ["admin", "client-admin", "auditor"])), params(AsOf),
    responses(
        (status = 200, description = "The request", body = RequestSystemResponse),
        (status = 404, description = "No such request to this party (`AUTH-00010`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_for_party_standard(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(path): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    get_for_party(state, auth, at, path, UserType::Standard).await
}

/// `GET /systemuser/request/agent/{party}/{requestId}`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/agent/{party}/{id}", operation_id = "request_get_for_party_agent", tag = "System-user requests",
    summary = "The party's agent request, without `confirmUrl`",
    security(("bearer" = ["admin", "client-admin", "auditor"])), params(AsOf),
    responses(
        (status = 200, description = "The request", body = AgentRequestSystemResponse),
        (status = 404, description = "No such request to this party (`AUTH-00010`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_for_party_agent(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(path): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    get_for_party(state, auth, at, path, UserType::Agent).await
}

/// Altinn's `RequestSystemResponseInternal`: what the customer's pages show, with
/// whether the reader may only pass the request on.
fn internal_body<K: Kv + ?Sized>(model: &K, r: &Request, may_escalate_but_not_approve: bool) -> Value {
    let party = model.party(&r.party_org_no);
    let mut v = json!({
        "id": r.id,
        "externalRef": r.external_ref,
        "systemId": r.system_id.as_str(),
        "partyOrgNo": r.party_org_no.as_str(),
        "partyId": party.as_ref().map(|p| p.party_id),
        "partyUuid": party.as_ref().map(|p| p.party_uuid),
        "rights": Value::Array(r.rights.iter().map(right_json).collect()),
        "accessPackages": packages_json(&r.access_packages),
        "status": status_word(r.status),
        "escalated": r.escalated.is_some(),
        "userMayEscalateButNotApprove": may_escalate_but_not_approve,
        "created": time(r.created),
    });
    if let Some(url) = &r.redirect_url {
        v["redirectUrl"] = json!(url);
    }
    if r.user_type == UserType::Agent {
        v["systemUserType"] = json!("Agent");
    }
    v
}

/// The customer's page reads a request by id alone: a person of the customer reads it;
/// one who is not its access manager (here: not its administrator) may only escalate.
async fn get_for_person(
    state: AppState,
    auth: Auth,
    at: Option<At>,
    id: String,
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Admin, Role::ClientAdmin])?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let request = live_request(&model, &id, user_type)?;
    if who.org.as_ref() != Some(&request.party_org_no) {
        let detail = "only a person of the customer organisation reads its request";
        return Err(AltinnError::problem(altinn::USER_IS_NOT_ACCESS_MANAGER, "not_request_party", detail));
    }
    let body = internal_body(&model, &request, who.role != Role::Admin);
    Ok(located(StatusCode::OK, body, position, None))
}

/// `GET /systemuser/request/{requestId}`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/{id}", operation_id = "request_get_for_person_standard", tag = "System-user requests",
    summary = "A standard request as the customer's page shows it",
    description = "To a person of the customer; one who is not its administrator may only escalate it.",
    security(("bearer" = ["admin", "client-admin"])), params(AsOf),
    responses(
        (status = 200, description = "The request", body = RequestSystemResponseInternal),
        (status = 404, description = "No such request (`AUTH-00010`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_for_person_standard(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    get_for_person(state, auth, at, id, UserType::Standard).await
}

/// `GET /systemuser/request/agent/{requestId}`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/agent/{id}", operation_id = "request_get_for_person_agent", tag = "System-user requests",
    summary = "An agent request as the customer's page shows it",
    description = "To a person of the customer; one who is not its administrator may only escalate it.",
    security(("bearer" = ["admin", "client-admin"])), params(AsOf),
    responses(
        (status = 200, description = "The request", body = RequestSystemResponseInternal),
        (status = 404, description = "No such request (`AUTH-00010`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_for_person_agent(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    get_for_person(state, auth, at, id, UserType::Agent).await
}

/// The party's `New` requests; agent requests only once escalated, as on Altinn (its
/// access managers see agent requests that someone passed on to them).
async fn pending(
    state: AppState,
    auth: Auth,
    at: Option<At>,
    (party, org_no): (String, String),
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Admin, Role::Auditor])?;
    let Snapshot { model, position, time } = state.view(at)?;
    let org = party_of(&model, &party)?;
    altinn::acts_for(who, &org)?;
    // Altinn reads `{orgno}` without checking it is the party's; here it must be.
    let named = OrgNo::parse(&org_no).map_err(|_| AltinnError::unbound("orgno", &org_no))?;
    if named != org {
        return Err(AltinnError::Forbidden);
    }
    let requests: Vec<Value> = model
        .requests_of_party(&org)
        .iter()
        .filter(|r| r.user_type == user_type && r.status == RequestStatus::New)
        .filter(|r| user_type == UserType::Standard || r.escalated.is_some())
        .map(|r| response_body(&model, r, time, None))
        .collect();
    Ok(located(StatusCode::OK, Value::Array(requests), position, None))
}

/// `GET /systemuser/request/{party}/{orgno}/pending`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/{party}/{id}/pending", operation_id = "request_pending_standard", tag = "System-user requests",
    summary = "The party's New standard requests",
    security(("bearer" = ["admin", "auditor"])), params(("id" = String, Path, description = "The party's organisation number (nine digits); it must be the party's"), AsOf),
    responses(
        (status = 200, description = "The New requests", body = Vec<RequestSystemResponse>),
    )
)]
pub async fn pending_standard(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(path): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    pending(state, auth, at, path, UserType::Standard).await
}

/// `GET /systemuser/request/agent/{party}/{orgno}/pending`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/request/agent/{party}/{id}/pending", operation_id = "request_pending_agent", tag = "System-user requests",
    summary = "The party's New agent requests that were escalated",
    security(("bearer" = ["admin", "auditor"])), params(("id" = String, Path, description = "The party's organisation number (nine digits); it must be the party's"), AsOf),
    responses(
        (status = 200, description = "The escalated New requests", body = Vec<AgentRequestSystemResponse>),
    )
)]
pub async fn pending_agent(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(path): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    pending(state, auth, at, path, UserType::Agent).await
}

/// Escalation answers `true` when the request is (now or already) passed on, `false`
/// when it cannot be — as Altinn answers; the domain's reason for a `false` travels in
/// the `Ledger-Code` header, since Altinn's body is the bare boolean.
async fn escalate(
    state: AppState,
    auth: Auth,
    cid: Option<String>,
    (party, id): (String, String),
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Admin, Role::ClientAdmin])?;
    let party = party_of(state.ledger.model(), &party)?;
    let request_id = Uuid::parse_str(&id).map_err(|_| AltinnError::unbound("requestId", &id))?;
    let command = Command::EscalateRequest { request_id, party, user_type };
    match state.execute(who, cid, command).await {
        Ok(w) => Ok(located(StatusCode::OK, Value::Bool(true), w.position, None)),
        Err(ApiError::Rejected(r)) => {
            let mut response = axum::Json(Value::Bool(false)).into_response();
            response.headers_mut().insert("ledger-code", HeaderValue::from_static(r.code.as_str()));
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /systemuser/request/{party}/{requestId}/escalate`.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemuser/request/{party}/{id}/escalate", operation_id = "request_escalate_standard", tag = "System-user requests",
    summary = "Pass a standard request on to the party's access managers",
    security(("bearer" = ["admin", "client-admin"])),
    responses(
        (status = 200, description = "`true` when the request is (now or already) escalated; `false` when it cannot be, the reason in `Ledger-Code`", content_type = "application/json", body = bool, headers(("Ledger-Code" = String, description = "The ledger's reason for a `false`"))),
        (status = 409, description = "A concurrent write", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn escalate_standard(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(path): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    escalate(state, auth, cid, path, UserType::Standard).await
}

/// `POST /systemuser/request/agent/{party}/{requestId}/escalate`.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemuser/request/agent/{party}/{id}/escalate", operation_id = "request_escalate_agent", tag = "System-user requests",
    summary = "Pass an agent request on to the party's access managers",
    security(("bearer" = ["admin", "client-admin"])),
    responses(
        (status = 200, description = "`true` when the request is (now or already) escalated; `false` when it cannot be, the reason in `Ledger-Code`", content_type = "application/json", body = bool, headers(("Ledger-Code" = String, description = "The ledger's reason for a `false`"))),
        (status = 409, description = "A concurrent write", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn escalate_agent(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(path): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    escalate(state, auth, cid, path, UserType::Agent).await
}

/// This module's routes: one `routes!` per path, of its annotated handlers.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(create_standard))
        .routes(routes!(create_agent))
        .routes(routes!(get_standard, delete))
        .routes(routes!(get_agent))
        .routes(routes!(by_external_ref_standard))
        .routes(routes!(by_external_ref_agent))
        .routes(routes!(by_system_standard))
        .routes(routes!(by_system_agent))
        .routes(routes!(get_for_person_standard))
        .routes(routes!(get_for_person_agent))
        .routes(routes!(get_for_party_standard))
        .routes(routes!(get_for_party_agent))
        .routes(routes!(pending_standard))
        .routes(routes!(pending_agent))
        .routes(routes!(escalate_standard))
        .routes(routes!(escalate_agent))
        .routes(routes!(approve_standard))
        .routes(routes!(reject_standard))
        .routes(routes!(approve_agent))
        .routes(routes!(reject_agent))
}

// Documentation-only shapes of the bodies above (they are read by `CreateBody` and
// written with `json!`); Schemathesis checks every answer against them.

/// Altinn's `CreateRequestSystemUser`. Member names are read without regard to case;
/// unknown members are ignored; an empty `externalRef`, `integrationTitle` or
/// `redirectUrl` reads as none given.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CreateRequestSystemUser {
    #[schema(example = "310000019_maestro")]
    system_id: String,
    #[schema(example = "313725138")]
    party_org_no: String,
    /// The vendor's reference; the party's organisation number when none is given.
    #[schema(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    external_ref: Option<String>,
    #[schema(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    integration_title: Option<String>,
    rights: Option<Vec<RightDto>>,
    access_packages: Option<Vec<AccessPackage>>,
    /// One of the system's allowed redirect URLs.
    redirect_url: Option<String>,
}

/// Altinn's `CreateAgentRequestSystemUser`: as [`CreateRequestSystemUser`], without
/// rights (a body that sends them has them ignored).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CreateAgentRequestSystemUser {
    #[schema(example = "310000019_maestro")]
    system_id: String,
    #[schema(example = "313725138")]
    party_org_no: String,
    /// The vendor's reference; the party's organisation number when none is given.
    #[schema(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    external_ref: Option<String>,
    #[schema(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    integration_title: Option<String>,
    /// At least one (AUTH-00058 otherwise), unless `agentRights` names one.
    access_packages: Option<Vec<AccessPackage>>,
    /// The ledger's extension (Altinn has none): single rights of the system for a
    /// limited agent, e.g. only A06/A07. Absent: packages only, as on Altinn.
    #[schema(nullable = false)]
    agent_rights: Option<Vec<RightDto>>,
    /// One of the system's allowed redirect URLs.
    redirect_url: Option<String>,
}

/// A request's status. A request past its time-to-live keeps its status and reads
/// `timedOut: true`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum RequestStatusWord {
    New,
    Accepted,
    Rejected,
    Withdrawn,
}

/// Altinn's `RequestSystemResponse`: a standard system user request.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RequestSystemResponse {
    id: Uuid,
    external_ref: String,
    #[schema(example = "310000019_maestro")]
    system_id: String,
    #[schema(example = "313725138")]
    party_org_no: String,
    rights: Vec<RightDto>,
    access_packages: Vec<AccessPackage>,
    status: RequestStatusWord,
    escalated: bool,
    created: String,
    timed_out: bool,
    /// The request's title, or else the system's name.
    #[schema(nullable = false)]
    integration_title: Option<String>,
    #[schema(nullable = false)]
    redirect_url: Option<String>,
    /// The page the customer answers on; on the vendor's single reads and creates only.
    #[schema(nullable = false)]
    confirm_url: Option<String>,
}

/// Altinn's `AgentRequestSystemResponse`: an agent system user request (no rights).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AgentRequestSystemResponse {
    id: Uuid,
    external_ref: String,
    #[schema(example = "310000019_maestro")]
    system_id: String,
    #[schema(example = "313725138")]
    party_org_no: String,
    access_packages: Vec<AccessPackage>,
    /// The ledger's extension: a limited agent's single rights (absent when none).
    #[schema(nullable = false)]
    agent_rights: Option<Vec<RightDto>>,
    status: RequestStatusWord,
    escalated: bool,
    created: String,
    timed_out: bool,
    /// The request's title, or else the system's name.
    #[schema(nullable = false)]
    integration_title: Option<String>,
    #[schema(nullable = false)]
    redirect_url: Option<String>,
    /// The page the customer answers on; on the vendor's single reads and creates only.
    #[schema(nullable = false)]
    confirm_url: Option<String>,
}

/// Altinn's `RequestSystemResponseInternal`: what the customer's pages show.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RequestSystemResponseInternal {
    id: Uuid,
    external_ref: String,
    #[schema(example = "310000019_maestro")]
    system_id: String,
    #[schema(example = "313725138")]
    party_org_no: String,
    /// `null` when the party is not in the party register.
    #[schema(required = true)]
    party_id: Option<i64>,
    /// `null` when the party is not in the party register.
    #[schema(required = true)]
    party_uuid: Option<Uuid>,
    /// Empty on an agent request.
    rights: Vec<RightDto>,
    access_packages: Vec<AccessPackage>,
    status: RequestStatusWord,
    escalated: bool,
    /// The reader may pass the request on but not answer it.
    user_may_escalate_but_not_approve: bool,
    created: String,
    #[schema(nullable = false)]
    redirect_url: Option<String>,
    /// `Agent` on an agent request; absent on a standard one.
    #[schema(nullable = false, example = "Agent")]
    system_user_type: Option<String>,
}
