//! Altinn's change requests, `/authentication/api/v1/systemuser/changerequest`, as
//! Altinn's `ChangeRequestSystemUserController` answers (`docs/altinn-contract.md`,
//! section 4): a vendor asks, under its own correlation id, to add rights and packages
//! to a standard system user and to take some away; the owner approves (the system
//! user's rights change, on the log) or rejects. `{party}` is the integer party id.
//!
//! Every rule is the domain's; this module reads Altinn's shapes into commands and maps
//! the domain's codes to Altinn's answers in one function ([`refusal`]).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::altinn::{self, AltinnError, AltinnJson, PackageBody, RightBody};
use super::error::ApiError;
use super::extract::{AsOfParams, Auth, CorrelationId, PathParams, QueryParams};
use super::openapi::{AccessPackage, AsOf, Paginated, Problem, Right as RightDto};
use super::requests::{self, located, packages_of, party_of, rights_of, status_word};
use super::views::{packages_json, right_json, time};
use super::{AppState, Snapshot, AUTHN};
use crate::auth::Role;
use crate::domain::decide::NewChangeRequest;
use crate::domain::events::{EventData, UserType};
use crate::domain::ids::{OrgNo, SystemId};
use crate::domain::model::{ChangeRequest, Kv, ReadModel, RequestStatus};
use crate::domain::{Code, Command};
use utoipa::ToSchema;

/// Altinn's plain-text answers to the vendor's query parameters, word for word.
const MISSING_CORRELATION_ID: &str = "Missing or invalid QueryParameter: correlation-id. Generate a unique UUID \
     (RFC 4122) for this Change Request, and add as a Query Parameter.";
const CORRELATION_ID_IS_SYSTEM_USER_ID: &str =
    "The correlation-id should not be the same as the system-user-id. Generate a unique id.";

/// Altinn's `ChangeRequestSystemUser` (member names lower-cased); every list optional.
#[derive(Deserialize)]
pub struct ChangeBody {
    #[serde(default)]
    requiredrights: Option<Vec<RightBody>>,
    #[serde(default)]
    unwantedrights: Option<Vec<RightBody>>,
    #[serde(default)]
    requiredaccesspackages: Option<Vec<PackageBody>>,
    #[serde(default)]
    unwantedaccesspackages: Option<Vec<PackageBody>>,
    #[serde(default)]
    redirecturl: Option<String>,
}

#[derive(Deserialize)]
pub struct CreateQuery {
    #[serde(default, rename = "correlation-id")]
    correlation_id: Option<String>,
    #[serde(default, rename = "system-user-id")]
    system_user_id: Option<String>,
}

/// The page the owner answers a change request on, under the public base URL.
fn confirm_url(public_url: &str, c: &ChangeRequest) -> String {
    format!("{public_url}/accessmanagement/ui/systemuser/changerequest?id={}&DONTCHOOSEREPORTEE=true", c.id)
}

/// Altinn's `ChangeRequestResponse`. The external ref is the system user's.
fn response_body<K: Kv + ?Sized>(model: &K, c: &ChangeRequest, now: DateTime<Utc>, confirm: Option<&str>) -> Value {
    let mut v = json!({
        "id": c.id,
        "externalRef": model.system_user(&c.system_user_id).map(|u| u.external_ref),
        "systemId": c.system_id.as_str(),
        "systemUserId": c.system_user_id,
        "partyOrgNo": c.party_org_no.as_str(),
        "requiredRights": Value::Array(c.required_rights.iter().map(right_json).collect()),
        "unwantedRights": Value::Array(c.unwanted_rights.iter().map(right_json).collect()),
        "requiredAccessPackages": packages_json(&c.required_access_packages),
        "unwantedAccessPackages": packages_json(&c.unwanted_access_packages),
        "status": status_word(c.status),
        "created": time(c.created),
        "timedOut": c.is_expired(now),
    });
    if let Some(url) = &c.redirect_url {
        v["redirectUrl"] = json!(url);
    }
    if let Some(url) = confirm {
        v["confirmUrl"] = json!(url);
    }
    v
}

/// The domain's refusals, as Altinn answers them: change-request codes first, the rest
/// as the request endpoints map them.
fn refusal<K: Kv + ?Sized>(e: ApiError, model: &K, system: Option<&SystemId>) -> AltinnError {
    if let ApiError::Rejected(r) = &e {
        let problem = |p| AltinnError::problem(p, r.code.as_str(), r.message.clone());
        match r.code {
            Code::ChangeRequestNotFound => return problem(altinn::REQUEST_NOT_FOUND),
            // Altinn answers an agent as it answers a system user it cannot find.
            Code::SystemUserNotFound | Code::SystemUserDeleted | Code::UserTypeMismatch => {
                return problem(altinn::SYSTEM_USER_NOT_FOUND)
            }
            _ => {}
        }
    }
    requests::refusal(e, model, system, UserType::Standard)
}

fn uuid_of(value: Option<&str>) -> Option<Uuid> {
    value.and_then(|v| Uuid::parse_str(v).ok()).filter(|id| !id.is_nil())
}

/// Altinn's answer when nothing is asked: a change request that is not stored.
fn no_change_needed(id: Uuid, user: &crate::domain::model::SystemUser, redirect_url: Option<String>) -> Value {
    json!({
        "id": id,
        "externalRef": user.external_ref,
        "systemId": user.system_id.as_str(),
        "systemUserId": user.id,
        "partyOrgNo": user.owner_org_no.as_str(),
        "requiredRights": [], "unwantedRights": [], "requiredAccessPackages": [], "unwantedAccessPackages": [],
        "status": "NoChangeNeeded",
        "redirectUrl": redirect_url,
        "confirmUrl": "",
        "created": "0001-01-01T00:00:00",
        "timedOut": false,
    })
}

/// `POST /systemuser/changerequest/vendor?correlation-id=&system-user-id=`: 201 with
/// `Location` when made, 200 with the change request when the id was used for it
/// before, 200 `NoChangeNeeded` when nothing is asked.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemuser/changerequest/vendor", operation_id = "changerequest_vendor_create", tag = "Change requests",
    summary = "Ask a system user's owner for more or fewer rights and access packages",
    description = "201 with `Location` when made; 200 with the change request when the correlation id was used for it before; 200 with status `NoChangeNeeded` (not stored) when nothing is asked.",
    security(("bearer" = ["vendor"])), params(("correlation-id" = Uuid, Query, description = "The vendor's id for this change request (a UUID, not nil, not the system user's id); the change request's id"), ("system-user-id" = Uuid, Query, description = "The standard system user to change")), request_body = ChangeRequestSystemUser,
    responses(
        (status = 201, description = "Made; `Location` names it", body = ChangeRequestResponse, headers(("Location" = String, description = "The new change request's URL"))),
        (status = 200, description = "The change request made before under this correlation id, or `NoChangeNeeded` when nothing is asked", body = ChangeRequestResponse),
        (status = 400, description = "A missing or bad `correlation-id`, or one that is the system user's id (Altinn's plain text); bad input (a problem)", content((Problem = "application/problem+json"), (String = "text/plain"))),
        (status = 404, description = "No such system user (`AUTH-00015`), or no such system (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The correlation id names another change request, or a concurrent write", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    QueryParams(q): QueryParams<CreateQuery>,
    body: Result<AltinnJson<ChangeBody>, AltinnError>,
) -> Result<Response, AltinnError> {
    let Some(change_request_id) = uuid_of(q.correlation_id.as_deref()) else {
        return Err(AltinnError::Text(StatusCode::BAD_REQUEST, MISSING_CORRELATION_ID.to_owned()));
    };
    let who = auth.require(&[Role::Vendor])?;
    let AltinnJson(body) = body?;
    let model = state.ledger.model();
    let user_id = uuid_of(q.system_user_id.as_deref()).unwrap_or_default();
    let user = model.system_user(&user_id).filter(|u| u.deleted.is_none()).ok_or_else(|| {
        AltinnError::problem(
            altinn::SYSTEM_USER_NOT_FOUND,
            "system_user_not_found",
            format!("no system user {user_id}"),
        )
    })?;
    if change_request_id == user.id {
        return Err(AltinnError::Text(StatusCode::BAD_REQUEST, CORRELATION_ID_IS_SYSTEM_USER_ID.to_owned()));
    }
    if who.org.as_ref() != Some(&user.system_id.vendor()) {
        return Err(AltinnError::Text(StatusCode::UNAUTHORIZED, String::new()));
    }
    let new = NewChangeRequest {
        change_request_id,
        system_user_id: user.id,
        required_rights: rights_of(body.requiredrights.as_deref())?,
        unwanted_rights: rights_of(body.unwantedrights.as_deref())?,
        required_access_packages: packages_of(body.requiredaccesspackages.as_deref())?,
        unwanted_access_packages: packages_of(body.unwantedaccesspackages.as_deref())?,
        redirect_url: body.redirecturl.filter(|u| !u.is_empty()),
    };
    let nothing_asked = new.required_rights.is_empty()
        && new.unwanted_rights.is_empty()
        && new.required_access_packages.is_empty()
        && new.unwanted_access_packages.is_empty();
    if nothing_asked {
        let body = no_change_needed(change_request_id, &user, new.redirect_url);
        return Ok(located(StatusCode::OK, body, model.position(), None));
    }
    let written = state.execute(who, cid, Command::CreateChangeRequest(new)).await;
    let w = written.map_err(|e| refusal(e, model, Some(&user.system_id)))?;
    let created = w.events.iter().any(|e| matches!(e.data, EventData::ChangeRequestCreated(_)));
    let change = model
        .change_request(&change_request_id)
        .ok_or_else(|| ApiError::Internal("a change request written is not in the read model".to_owned()))?;
    let confirm = confirm_url(&state.public_url, &change);
    let body = response_body(model, &change, state.now(), Some(&confirm));
    if created {
        let location = format!("{}{AUTHN}/systemuser/changerequest/{}", state.public_url, change.id);
        Ok(located(StatusCode::CREATED, body, w.position, Some(location)))
    } else {
        Ok(located(StatusCode::OK, body, w.position, None))
    }
}

/// A change request that was not withdrawn (Altinn deletes withdrawn ones).
fn live_change<K: Kv + ?Sized>(model: &K, segment: &str) -> Result<ChangeRequest, AltinnError> {
    let id = Uuid::parse_str(segment).map_err(|_| AltinnError::unbound("requestId", segment))?;
    let change = model.change_request(&id).filter(|c| c.status != RequestStatus::Withdrawn);
    change.ok_or_else(|| {
        AltinnError::problem(altinn::REQUEST_NOT_FOUND, "change_request_not_found", format!("no change request {id}"))
    })
}

/// The vendor's own: another vendor's is not there for it (`AUTH-00011`).
fn vendors(who: &crate::auth::Principal, system: &SystemId) -> Result<(), AltinnError> {
    if who.org.as_ref() == Some(&system.vendor()) {
        Ok(())
    } else {
        Err(AltinnError::problem(altinn::SYSTEM_ID_NOT_FOUND, "not_system_vendor", "the system is another vendor's"))
    }
}

/// `GET /systemuser/changerequest/vendor/{requestId}`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/changerequest/vendor/{id}", operation_id = "changerequest_vendor_get", tag = "Change requests",
    summary = "The vendor's change request",
    security(("bearer" = ["vendor"])), params(AsOf),
    responses(
        (status = 200, description = "The change request", body = ChangeRequestResponse),
        (status = 404, description = "No such change request (`AUTH-00010`), or the system is another vendor's (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_for_vendor(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let Snapshot { model, position, time } = state.view(at)?;
    let change = live_change(&model, &id)?;
    vendors(who, &change.system_id)?;
    let confirm = confirm_url(&state.public_url, &change);
    Ok(located(StatusCode::OK, response_body(&model, &change, time, Some(&confirm)), position, None))
}

/// `GET /systemuser/changerequest/vendor/byexternalref/{systemId}/{orgNo}/{externalRef}`:
/// the newest change request of the system user with that external ref.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/changerequest/vendor/byexternalref/{system_id}/{org_no}/{external_ref}", operation_id = "changerequest_vendor_by_external_ref", tag = "Change requests",
    summary = "The newest change request of the system user with this system, party and external ref",
    security(("bearer" = ["vendor"])), params(AsOf),
    responses(
        (status = 200, description = "The change request", body = ChangeRequestResponse),
        (status = 404, description = "No change request for this key (`AUTH-00010`), or the system is another vendor's (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn by_external_ref(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams((system_id, org_no, external_ref)): PathParams<(String, String, String)>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let not_found = || {
        AltinnError::problem(altinn::REQUEST_NOT_FOUND, "change_request_not_found", "no change request for this key")
    };
    let (Ok(system_id), Ok(org)) = (SystemId::parse(&system_id), OrgNo::parse(&org_no)) else {
        return Err(not_found());
    };
    vendors(who, &system_id)?;
    let Snapshot { model, position, time } = state.view(at)?;
    let user = model.live_system_user(&system_id, &org, &external_ref).ok_or_else(not_found)?;
    let change = model
        .change_requests_of_system(&system_id)
        .into_iter()
        .filter(|c| c.system_user_id == user.id && c.status != RequestStatus::Withdrawn)
        .max_by_key(|c| c.created)
        .ok_or_else(not_found)?;
    let confirm = confirm_url(&state.public_url, &change);
    Ok(located(StatusCode::OK, response_body(&model, &change, time, Some(&confirm)), position, None))
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    token: Option<String>,
}

/// `GET /systemuser/changerequest/vendor/bysystem/{systemId}[?token=]`: paged by id, 50
/// a page. (Altinn ignores the token and answers the first page again; here the token
/// moves on.)
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/changerequest/vendor/bysystem/{system_id}", operation_id = "changerequest_vendor_by_system", tag = "Change requests",
    summary = "The change requests for one of the vendor's systems, 50 a page",
    security(("bearer" = ["vendor"])), params(("token" = Option<String>, Query, description = "The continuation token of a previous page's `links.next`"), AsOf),
    responses(
        (status = 200, description = "A page of change requests", body = Paginated<ChangeRequestResponse>),
        (status = 404, description = "No such system of the vendor (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn by_system(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(system_id): PathParams<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let not_found =
        || AltinnError::problem(altinn::SYSTEM_ID_NOT_FOUND, "system_not_found", "no such system of this vendor");
    let system_id = SystemId::parse(&system_id).map_err(|_| not_found())?;
    let Snapshot { model, position, time } = state.view(at)?;
    if model.system(&system_id).is_none() || who.org.as_ref() != Some(&system_id.vendor()) {
        return Err(not_found());
    }
    let from: Option<Uuid> = q.token.as_deref().map(altinn::from_opaque).transpose()?;
    let changes: Vec<ChangeRequest> = model
        .change_requests_of_system(&system_id)
        .into_iter()
        .filter(|c| c.status != RequestStatus::Withdrawn)
        .collect();
    let (changes, next) = altinn::page(changes, |c| c.id, from);
    let next = next.map(|id| {
        let token = altinn::opaque(&id);
        format!("{}{AUTHN}/systemuser/changerequest/vendor/bysystem/{system_id}?token={token}", state.public_url)
    });
    let data = changes.iter().map(|c| response_body(&model, c, time, None)).collect();
    Ok(located(StatusCode::OK, altinn::paginated(data, next), position, None))
}

/// `DELETE /systemuser/changerequest/vendor/{requestId}`: 202, no body; recorded as
/// withdrawn, by the system's vendor, while it is New.
#[utoipa::path(
    delete, path = "/authentication/api/v1/systemuser/changerequest/vendor/{id}", operation_id = "changerequest_vendor_delete", tag = "Change requests",
    summary = "Withdraw the vendor's change request while it is New",
    description = "Recorded as withdrawn (Altinn deletes it; nothing recorded here is ever deleted).",
    security(("bearer" = ["vendor"])),
    responses(
        (status = 202, description = "Withdrawn"),
        (status = 404, description = "No such change request (`AUTH-00010`), or the system is another vendor's (`AUTH-00011`)", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The change request is not New, or a concurrent write", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let change_request_id = Uuid::parse_str(&id).map_err(|_| AltinnError::unbound("requestId", &id))?;
    let command = Command::WithdrawChangeRequest { change_request_id };
    let w = state.execute(who, cid, command).await.map_err(|e| refusal(e, state.ledger.model(), None))?;
    let mut response = StatusCode::ACCEPTED.into_response();
    response.headers_mut().insert("ledger-position", HeaderValue::from(w.position));
    Ok(response)
}

/// `GET /systemuser/changerequest/{party}/{requestId}`: the party's, without `confirmUrl`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/changerequest/{party}/{id}", operation_id = "changerequest_get_for_party", tag = "Change requests",
    summary = "The party's change request, without `confirmUrl`",
    security(("bearer" = ["admin", "client-admin", "auditor"])), params(AsOf),
    responses(
        (status = 200, description = "The change request", body = ChangeRequestResponse),
        (status = 404, description = "No such change request to this party (`AUTH-00010`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_for_party(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams((party, id)): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&altinn::READERS)?;
    let Snapshot { model, position, time } = state.view(at)?;
    let org = party_of(&model, &party)?;
    altinn::acts_for(who, &org)?;
    let change = live_change(&model, &id)?;
    if change.party_org_no != org {
        let detail = format!("change request {} is not to party {party}", change.id);
        return Err(AltinnError::problem(altinn::REQUEST_NOT_FOUND, "not_request_party", detail));
    }
    Ok(located(StatusCode::OK, response_body(&model, &change, time, None), position, None))
}

/// `GET /systemuser/changerequest/{requestId}`: what the owner's page shows, to its
/// access manager (here: its administrator) only.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/changerequest/{id}", operation_id = "changerequest_get_for_person", tag = "Change requests",
    summary = "A change request as the owner's page shows it, to its administrator only",
    security(("bearer" = ["admin", "client-admin"])), params(AsOf),
    responses(
        (status = 200, description = "The change request", body = ChangeRequestResponseInternal),
        (status = 404, description = "No such change request (`AUTH-00010`)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_for_person(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Admin, Role::ClientAdmin])?;
    let Snapshot { model, position, time } = state.view(at)?;
    let change = live_change(&model, &id)?;
    if who.role != Role::Admin || who.org.as_ref() != Some(&change.party_org_no) {
        let detail = "only the owner's access manager reads its change request";
        return Err(AltinnError::problem(altinn::USER_IS_NOT_ACCESS_MANAGER, "not_request_party", detail));
    }
    let mut body = response_body(&model, &change, time, None);
    let party = model.party(&change.party_org_no);
    body["partyId"] = json!(party.as_ref().map(|p| p.party_id));
    body["partyUuid"] = json!(party.as_ref().map(|p| p.party_uuid));
    let object = body.as_object_mut().expect("an object");
    object.remove("created");
    object.remove("timedOut");
    Ok(located(StatusCode::OK, body, position, None))
}

async fn answer(
    state: AppState,
    auth: Auth,
    cid: Option<String>,
    (party, id): (String, String),
    approve: bool,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Admin])?;
    let party = party_of(state.ledger.model(), &party)?;
    altinn::acts_for(who, &party)?;
    let change_request_id = Uuid::parse_str(&id).map_err(|_| AltinnError::unbound("requestId", &id))?;
    let command = if approve {
        Command::ApproveChangeRequest { change_request_id, party }
    } else {
        Command::RejectChangeRequest { change_request_id, party }
    };
    let w = state.execute(who, cid, command).await.map_err(|e| refusal(e, state.ledger.model(), None))?;
    Ok(located(StatusCode::OK, Value::Bool(true), w.position, None))
}

/// `POST /systemuser/changerequest/{party}/{requestId}/approve`: 200 `true`; the system
/// user's rights and packages change as asked.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemuser/changerequest/{party}/{id}/approve", operation_id = "changerequest_approve", tag = "Change requests",
    summary = "Approve a change request: the system user's rights and packages change as asked",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Approved: the system user's rights and packages changed as asked", content_type = "application/json", body = bool, example = json!(true)),
        (status = 404, description = "No such change request (`AUTH-00010`), or its system user is gone (`AUTH-00015`)", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The change request is not New (`AUTH-00013`), has expired, or a concurrent write", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(path): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    answer(state, auth, cid, path, true).await
}

/// `POST /systemuser/changerequest/{party}/{requestId}/reject`: 200 `true`.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemuser/changerequest/{party}/{id}/reject", operation_id = "changerequest_reject", tag = "Change requests",
    summary = "Reject a change request",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Rejected", content_type = "application/json", body = bool, example = json!(true)),
        (status = 404, description = "No such change request (`AUTH-00010`), or its system user is gone (`AUTH-00015`)", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "The change request is not New (`AUTH-00013`), has expired, or a concurrent write", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn reject(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(path): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    answer(state, auth, cid, path, false).await
}

/// This module's routes: one `routes!` per path, of its annotated handlers.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(get_for_vendor, delete))
        .routes(routes!(by_external_ref))
        .routes(routes!(by_system))
        .routes(routes!(get_for_person))
        .routes(routes!(get_for_party))
        .routes(routes!(approve))
        .routes(routes!(reject))
}

// Documentation-only shapes of the bodies above (they are read by `ChangeBody` and
// written with `json!`); Schemathesis checks every answer against them.

/// Altinn's `ChangeRequestSystemUser`: every list optional. Member names are read
/// without regard to case; unknown members are ignored; an empty `redirectUrl` reads as
/// none given.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ChangeRequestSystemUser {
    required_rights: Option<Vec<RightDto>>,
    unwanted_rights: Option<Vec<RightDto>>,
    required_access_packages: Option<Vec<AccessPackage>>,
    unwanted_access_packages: Option<Vec<AccessPackage>>,
    /// One of the system's allowed redirect URLs.
    redirect_url: Option<String>,
}

/// A change request's status; `NoChangeNeeded` only on a create that asked nothing.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum ChangeRequestStatusWord {
    New,
    Accepted,
    Rejected,
    Withdrawn,
    NoChangeNeeded,
}

/// Altinn's `ChangeRequestResponse`. The external ref is the system user's.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ChangeRequestResponse {
    id: Uuid,
    /// The system user's; `null` when the system user is not in the read model.
    #[schema(required = true)]
    external_ref: Option<String>,
    #[schema(example = "310000019_maestro")]
    system_id: String,
    system_user_id: Uuid,
    #[schema(example = "313725138")]
    party_org_no: String,
    required_rights: Vec<RightDto>,
    unwanted_rights: Vec<RightDto>,
    required_access_packages: Vec<AccessPackage>,
    unwanted_access_packages: Vec<AccessPackage>,
    status: ChangeRequestStatusWord,
    /// `0001-01-01T00:00:00` on `NoChangeNeeded`, as Altinn writes it.
    created: String,
    timed_out: bool,
    /// `null` only on a `NoChangeNeeded` that named none.
    redirect_url: Option<String>,
    /// The page the owner answers on; on the vendor's single reads and creates only
    /// (`""` on `NoChangeNeeded`).
    #[schema(nullable = false)]
    confirm_url: Option<String>,
}

/// What the owner's page shows: Altinn's `ChangeRequestResponse` with the party's ids,
/// without `created` and `timedOut`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ChangeRequestResponseInternal {
    id: Uuid,
    /// The system user's; `null` when the system user is not in the read model.
    #[schema(required = true)]
    external_ref: Option<String>,
    #[schema(example = "310000019_maestro")]
    system_id: String,
    system_user_id: Uuid,
    #[schema(example = "313725138")]
    party_org_no: String,
    required_rights: Vec<RightDto>,
    unwanted_rights: Vec<RightDto>,
    required_access_packages: Vec<AccessPackage>,
    unwanted_access_packages: Vec<AccessPackage>,
    status: ChangeRequestStatusWord,
    #[schema(nullable = false)]
    redirect_url: Option<String>,
    /// `null` when the party is not in the party register.
    #[schema(required = true)]
    party_id: Option<i64>,
    /// `null` when the party is not in the party register.
    #[schema(required = true)]
    party_uuid: Option<Uuid>,
}
