//! Altinn's system users, `/authentication/api/v1/systemuser`, and client delegation,
//! `/authentication/api/v1/enduser/systemuser`, as Altinn's `SystemUserController` and
//! `SystemUserClientDelegationController` answer (`docs/altinn-contract.md`, sections
//! 5 and 6). `{party}` in a path is the integer party id; `client` in a query is the
//! client's party UUID.
//!
//! Every rule is the domain's; this module reads Altinn's shapes into commands and
//! queries and renders Altinn's DTOs.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::altinn::{self, acts_for, paths, AltinnError, AltinnJson, ValidationError, READERS};
use super::error::ApiError;
use super::extract::{AsOfParams, Auth, CorrelationId, PathParams, QueryParams};
use super::openapi::{AccessPackage, AsOf, PageLinks, Paginated, Problem, Right};
use super::requests::{self, party_of};
use super::views::{packages_json, right_json, time};
use super::{read, AppState, Snapshot, AUTHN};
use crate::auth::Role;
use crate::domain::events::UserType;
use crate::domain::ids::{OrgNo, SystemId};
use crate::domain::model::{Kv, ReadModel, SystemUser};
use crate::domain::pdp::At;
use crate::domain::{Code, Command};
use utoipa::ToSchema;

/// Altinn's `SystemUserExternalDTO`: what vendors and Maskinporten read.
fn external_dto<K: Kv + ?Sized>(model: &K, u: &SystemUser) -> Value {
    let title = u.integration_title.clone().or_else(|| {
        model
            .system(&u.system_id)
            .and_then(|s| s.definition.name.get("nb").or(s.definition.name.values().next()).cloned())
    });
    json!({
        "id": u.id,
        "integrationTitle": title,
        "systemId": u.system_id.as_str(),
        "productName": "",
        "reporteeOrgNo": u.owner_org_no.as_str(),
        "created": time(u.created),
        "isDeleted": u.deleted.is_some(),
        "supplierName": "",
        "supplierOrgno": u.system_id.vendor().as_str(),
        "externalRef": u.external_ref,
        "userType": u.user_type,
    })
}

/// Altinn's `SystemUserInternalDTO`: what the organisation's people read.
fn internal_dto<K: Kv + ?Sized>(model: &K, u: &SystemUser) -> Value {
    let party = model.party(&u.owner_org_no);
    let mut v = external_dto(model, u);
    v["partyId"] = json!(party.as_ref().map(|p| p.party_id.to_string()).unwrap_or_default());
    v["partyUuId"] = json!(party.as_ref().map(|p| p.party_uuid.to_string()).unwrap_or_default());
    if let Some(internal) = super::systemregister::internal_id(model, &u.system_id) {
        v["systemInternalId"] = json!(internal);
    }
    v["accessPackages"] = packages_json(&u.access_packages);
    v
}

/// Altinn's `SystemUserDetailInternalDTO`: the internal form with a standard user's rights.
fn detail_dto<K: Kv + ?Sized>(model: &K, u: &SystemUser) -> Value {
    let mut v = internal_dto(model, u);
    if u.user_type == UserType::Standard {
        v["rights"] = Value::Array(u.rights.iter().map(right_json).collect());
    }
    v
}

fn empty(status: StatusCode) -> AltinnError {
    AltinnError::Text(status, String::new())
}

async fn list_of(
    state: AppState,
    auth: Auth,
    at: Option<At>,
    party: String,
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let who = auth.require(&READERS)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let org = party_of(&model, &party)?;
    acts_for(who, &org)?;
    let users: Vec<Value> = model
        .system_users_of(&org)
        .iter()
        .filter(|u| u.user_type == user_type)
        .map(|u| internal_dto(&model, u))
        .collect();
    Ok(read(Value::Array(users), position))
}

/// `GET /systemuser/{party}`: the party's standard system users.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/{party}", operation_id = "systemuser_list", tag = "System users",
    summary = "The party's standard system users", security(("bearer" = ["admin", "client-admin", "auditor"])), params(AsOf),
    responses((status = 200, description = "The party's live standard system users", body = Vec<SystemUserInternalDto>))
)]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(party): PathParams<String>,
) -> Result<Response, AltinnError> {
    list_of(state, auth, at, party, UserType::Standard).await
}

/// `GET /systemuser/agent/{party}`: the party's agent system users.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/agent/{party}", operation_id = "systemuser_list_agents", tag = "System users",
    summary = "The party's agent system users", security(("bearer" = ["admin", "client-admin", "auditor"])), params(AsOf),
    responses((status = 200, description = "The party's live agent system users", body = Vec<SystemUserInternalDto>))
)]
pub async fn list_agents(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(party): PathParams<String>,
) -> Result<Response, AltinnError> {
    list_of(state, auth, at, party, UserType::Agent).await
}

/// `GET /systemuser/{party}/{systemUserId}`: an empty 404 unless it is the party's.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/{party}/{id}", operation_id = "systemuser_get", tag = "System users",
    summary = "One of the party's system users", security(("bearer" = ["admin", "client-admin", "auditor"])), params(AsOf),
    responses(
        (status = 200, description = "The system user; a standard one with its rights", body = SystemUserDetailInternalDto),
        (status = 404, description = "No live system user of the party's with this id (empty)"),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams((party, id)): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&READERS)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let org = party_of(&model, &party)?;
    acts_for(who, &org)?;
    let id = Uuid::parse_str(&id).map_err(|_| AltinnError::unbound("systemUserId", &id))?;
    let user = model.system_user(&id);
    let user = user.filter(|u| u.owner_org_no == org && u.deleted.is_none()).ok_or(empty(StatusCode::NOT_FOUND))?;
    Ok(read(detail_dto(&model, &user), position))
}

/// `GET /systemuser/{party}/{systemUserId}/delegations`: what the system user holds,
/// as Altinn's `StandardSystemUserDelegations`. (Altinn does not check that it is the
/// party's; here another party's is not found.)
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/{party}/{id}/delegations", operation_id = "systemuser_delegations", tag = "System users",
    summary = "What the system user holds: its rights and access packages", security(("bearer" = ["admin", "client-admin", "auditor"])),
    params(AsOf),
    responses(
        (status = 200, description = "The system user's rights and packages", body = StandardSystemUserDelegations),
        (status = 404, description = "No live system user of the party's with this id (AUTH-00015)", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn delegations(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams((party, id)): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&READERS)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let org = party_of(&model, &party)?;
    acts_for(who, &org)?;
    let id = Uuid::parse_str(&id).map_err(|_| AltinnError::unbound("systemUserId", &id))?;
    let user = model.system_user(&id).filter(|u| u.owner_org_no == org && u.deleted.is_none()).ok_or_else(|| {
        AltinnError::problem(altinn::SYSTEM_USER_NOT_FOUND, "system_user_not_found", format!("no system user {id}"))
    })?;
    let body = json!({
        "systemUserId": user.id,
        "rights": Value::Array(user.rights.iter().map(right_json).collect()),
        "accessPackages": packages_json(&user.access_packages),
    });
    Ok(read(body, position))
}

/// System users on one page of Register's stream, as Altinn pages it.
pub const STREAM_PAGE_ITEMS_MAX: usize = 100;

/// Altinn's `SystemUserRegisterDTO`: what Register keeps of a system user; its
/// sequence number is the log position of its latest change.
fn register_dto<K: Kv + ?Sized>(model: &K, u: &SystemUser, sequence: u64) -> Value {
    let party = model.party(&u.owner_org_no);
    let changed = model.outcome(sequence).map(|o| o.effective_time).unwrap_or(u.created);
    json!({
        "id": u.id.to_string(),
        "partyOrgNo": u.owner_org_no.as_str(),
        "partyId": party.map(|p| p.party_id.to_string()).unwrap_or_default(),
        "integrationTitle": external_dto(model, u)["integrationTitle"],
        "isDeleted": u.deleted.is_some(),
        "lastChanged": time(changed),
        "created": time(u.created),
        "sequenceNo": sequence,
        "systemUserType": u.user_type,
    })
}

/// `GET /systemuser/internal/systemusers/stream[?token=]`: every system user, deleted
/// ones too, each once at its latest change, 100 a page; Altinn's `ItemStream`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/internal/systemusers/stream", operation_id = "systemuser_stream", tag = "System users",
    summary = "Every system user, deleted ones too, each once at its latest change, 100 a page",
    description = "Altinn Register's feed (`ItemStream`): follow `links.next` until a page is empty.",
    security(("bearer" = ["register", "operator"])),
    params(("token" = Option<String>, Query, description = "The continuation token from `links.next` (opaque)")),
    responses((status = 200, description = "One page of the stream", body = SystemUserItemStream))
)]
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, AltinnError> {
    auth.require(&[Role::Register, Role::Operator])?;
    let after: u64 = q.token.as_deref().map(altinn::from_opaque).transpose()?.unwrap_or(0);
    let Snapshot { model, position, .. } = state.view(None)?;
    let page = model.system_user_stream(after, STREAM_PAGE_ITEMS_MAX);
    let data: Vec<Value> = page
        .iter()
        .filter_map(|(sequence, id)| model.system_user(id).map(|u| register_dto(&model, &u, *sequence)))
        .collect();
    let max = model.system_user_stream_max().unwrap_or(0);
    let mut links = json!({});
    if let Some((last, _)) = page.last() {
        let token = altinn::opaque(last);
        links["next"] =
            json!(format!("{}{AUTHN}/systemuser/internal/systemusers/stream?token={token}", state.public_url));
    }
    let (start, end) = match (page.first(), page.last()) {
        (Some((first, _)), Some((last, _))) => (*first, *last),
        _ => (max, max),
    };
    let body = json!({"links": links, "stats": {"pageStart": start, "pageEnd": end, "sequenceMax": max}, "data": data});
    Ok(read(body, position))
}

/// `GET /systemuser/internal/systemusers/{id}`: one live system user for Register;
/// 410 Gone, with nothing, when it is deleted or unknown.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/internal/systemusers/{id}", operation_id = "systemuser_for_register", tag = "System users",
    summary = "One live system user, as Altinn Register keeps it", security(("bearer" = ["register", "operator"])),
    responses(
        (status = 200, description = "The system user", body = SystemUserRegisterDto),
        (status = 410, description = "Deleted or unknown (empty)"),
    )
)]
pub async fn for_register(
    State(state): State<AppState>,
    auth: Auth,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    auth.require(&[Role::Register, Role::Operator])?;
    let id = Uuid::parse_str(&id).map_err(|_| AltinnError::unbound("id", &id))?;
    let Snapshot { model, position, .. } = state.view(None)?;
    let gone = || empty(StatusCode::GONE);
    let user = model.system_user(&id).filter(|u| u.deleted.is_none()).ok_or_else(gone)?;
    let sequence = model.system_user_sequence(&id).ok_or_else(gone)?;
    Ok(read(register_dto(&model, &user, sequence), position))
}

/// The domain's refusals of a deletion, as Altinn answers them.
fn deletion_refusal(e: ApiError, user_type: UserType) -> AltinnError {
    let ApiError::Rejected(r) = &e else { return e.into() };
    let code = r.code.as_str();
    let problem = |p| AltinnError::problem(p, code, r.message.clone());
    match (r.code, user_type) {
        (Code::SystemUserNotFound | Code::SystemUserDeleted, UserType::Standard) => {
            AltinnError::Json(StatusCode::NOT_FOUND, json!(0))
        }
        (Code::SystemUserNotFound | Code::SystemUserDeleted, UserType::Agent) => problem(altinn::SYSTEM_USER_NOT_FOUND),
        (Code::NotOwner, _) => problem(altinn::DELETE_SYSTEM_USER_NOT_OWNED),
        (Code::UserTypeMismatch, UserType::Standard) => problem(altinn::EXPECTED_STANDARD_USER_TYPE),
        (Code::UserTypeMismatch, UserType::Agent) => problem(altinn::EXPECTED_AGENT_USER_TYPE),
        _ => e.into(),
    }
}

async fn delete(
    state: AppState,
    auth: Auth,
    cid: Option<String>,
    (party, id): (String, String),
    user_type: UserType,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Admin])?;
    let party = party_of(state.ledger.model(), &party)?;
    acts_for(who, &party)?;
    let system_user_id = Uuid::parse_str(&id).map_err(|_| AltinnError::unbound("systemUserId", &id))?;
    let command = Command::DeleteSystemUser { system_user_id, party, user_type };
    let w = state.execute(who, cid, command).await.map_err(|e| deletion_refusal(e, user_type))?;
    // Altinn answers a standard deletion 202 with `1`, an agent's 200 with nothing.
    let mut response = match user_type {
        UserType::Standard => (StatusCode::ACCEPTED, axum::Json(json!(1))).into_response(),
        UserType::Agent => StatusCode::OK.into_response(),
    };
    response.headers_mut().insert("ledger-position", HeaderValue::from(w.position));
    Ok(response)
}

/// `DELETE /systemuser/{party}/{systemUserId}`.
#[utoipa::path(
    delete, path = "/authentication/api/v1/systemuser/{party}/{id}", operation_id = "systemuser_delete", tag = "System users",
    summary = "Delete one of the party's standard system users", security(("bearer" = ["admin"])),
    responses(
        (status = 202, description = "Deleted: `1`, as Altinn answers", content_type = "application/json", body = i32, example = json!(1)),
        (status = 404, description = "No live system user with this id: `0`, as Altinn answers", content_type = "application/json", body = i32, example = json!(0)),
        (status = 409, description = "A concurrent write decided first; the event was recorded as void", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn delete_standard(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(path): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    delete(state, auth, cid, path, UserType::Standard).await
}

/// `DELETE /systemuser/agent/{party}/{systemUserId}`: its client links end with it,
/// each recorded as its own event naming the deletion as its cause.
#[utoipa::path(
    delete, path = "/authentication/api/v1/systemuser/agent/{party}/{id}", operation_id = "systemuser_delete_agent", tag = "System users",
    summary = "Delete one of the party's agent system users; its client links end with it", security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Deleted (empty)"),
        (status = 404, description = "No live system user with this id (AUTH-00015)", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "A concurrent write decided first; the event was recorded as void", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn delete_agent(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(path): PathParams<(String, String)>,
) -> Result<Response, AltinnError> {
    delete(state, auth, cid, path, UserType::Agent).await
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    token: Option<String>,
}

/// `GET /systemuser/vendor/bysystem/{systemId}?token=`: the live system users of the
/// vendor's system in the order they were created, paged as Altinn pages them.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/vendor/bysystem/{system_id}", operation_id = "systemuser_vendor_by_system", tag = "System users",
    summary = "The live system users of the vendor's system, in the order they were created, 50 a page",
    security(("bearer" = ["vendor"])),
    params(("token" = Option<String>, Query, description = "The continuation token from `links.next` (opaque)"), AsOf),
    responses(
        (status = 200, description = "One page of the system's system users", body = Paginated<SystemUserExternalDto>),
        (status = 404, description = "No such system of this vendor (AUTH-00011)", content_type = "application/problem+json", body = Problem),
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
    let Snapshot { model, position, .. } = state.view(at)?;
    if model.system(&system_id).is_none() || who.org.as_ref() != Some(&system_id.vendor()) {
        return Err(not_found());
    }
    // The continuation is Altinn's opaque sequence number: here a log position.
    let from: Option<u64> = q.token.as_deref().map(altinn::from_opaque).transpose()?;
    // The sequence of a system user is the position of the event that made it.
    let users: Vec<(u64, SystemUser)> = model
        .system_users_of_system(&system_id)
        .into_iter()
        .filter_map(|u| model.event_index(&u.event_id).map(|i| (i, u)))
        .collect();
    let (users, next) = altinn::page(users, |(i, _)| *i, from);
    let next = next.map(|i| {
        let token = altinn::opaque(&i);
        format!("{}{AUTHN}/systemuser/vendor/bysystem/{system_id}?token={token}", state.public_url)
    });
    let data: Vec<Value> = users.iter().map(|(_, u)| external_dto(&model, u)).collect();
    Ok(read(altinn::paginated(data, next), position))
}

#[derive(Deserialize)]
pub struct ByQuery {
    #[serde(rename = "system-id")]
    system_id: String,
    orgno: String,
    #[serde(default, rename = "external-ref")]
    external_ref: Option<String>,
}

/// `GET /systemuser/vendor/byquery?system-id=&orgno=[&external-ref=]`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/vendor/byquery", operation_id = "systemuser_vendor_by_query", tag = "System users",
    summary = "The vendor's live system user for a system, an owner and an external reference", security(("bearer" = ["vendor"])),
    params(
        ("system-id" = String, Query, description = "The system's id, `<vendor org number>_<name>`"),
        ("orgno" = String, Query, description = "The owner's organisation number"),
        ("external-ref" = Option<String>, Query, description = "The vendor's external reference; the owner's organisation number when not given"),
        AsOf,
    ),
    responses(
        (status = 200, description = "The system user", body = SystemUserExternalDto),
        (status = 404, description = "None matches, or the system is not the caller's", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn by_query(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    QueryParams(q): QueryParams<ByQuery>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let not_found = || AltinnError::NotFound(Code::SystemUserNotFound.as_str());
    let (Ok(system_id), Ok(owner)) = (SystemId::parse(&q.system_id), OrgNo::parse(&q.orgno)) else {
        return Err(not_found());
    };
    if who.org.as_ref() != Some(&system_id.vendor()) {
        return Err(not_found());
    }
    let external_ref = q.external_ref.unwrap_or_else(|| owner.to_string());
    let user = model.live_system_user(&system_id, &owner, &external_ref).ok_or_else(not_found)?;
    Ok(read(external_dto(&model, &user), position))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByExternalId {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    system_provider_org_no: String,
    #[serde(default)]
    system_user_owner_org_no: String,
    #[serde(default)]
    external_ref: Option<String>,
}

/// `GET /systemuser/byExternalId`: Maskinporten's lookup of the system user a client
/// acts as for an owner. Empty 400 without a value, empty 404 when none matches.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/byExternalId", operation_id = "systemuser_by_external_id", tag = "System users",
    summary = "Maskinporten's lookup of the system user a client acts as for an owner", security(("bearer" = ["vendor", "pdp"])),
    params(
        ("clientId" = String, Query, min_length = 1, description = "The Maskinporten client id"),
        ("systemProviderOrgNo" = String, Query, min_length = 1, description = "The vendor's organisation number"),
        ("systemUserOwnerOrgNo" = String, Query, min_length = 1, description = "The owner's organisation number"),
        ("externalRef" = Option<String>, Query, description = "The vendor's external reference; the owner's organisation number when not given"),
        AsOf,
    ),
    responses(
        (status = 200, description = "The system user; `productName` is the system id", body = SystemUserExternalDto),
        (status = 400, description = "A value is missing (empty), or a parameter cannot be read (a problem)"),
        (status = 404, description = "No system user matches (empty)"),
        (status = 409, description = "The client id names more than one system user of this owner", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn by_external_id(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    QueryParams(q): QueryParams<ByExternalId>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor, Role::Pdp])?;
    if q.client_id.is_empty() || q.system_provider_org_no.is_empty() || q.system_user_owner_org_no.is_empty() {
        return Err(empty(StatusCode::BAD_REQUEST));
    }
    let (Ok(provider), Ok(owner)) =
        (OrgNo::parse(&q.system_provider_org_no), OrgNo::parse(&q.system_user_owner_org_no))
    else {
        return Err(empty(StatusCode::NOT_FOUND));
    };
    if who.role == Role::Vendor && who.org.as_ref() != Some(&provider) {
        return Err(empty(StatusCode::NOT_FOUND));
    }
    let external_ref = q.external_ref.unwrap_or_else(|| owner.to_string());
    let Snapshot { model, position, .. } = state.view(at)?;
    let users: Vec<SystemUser> = model
        .scan_systems_of_vendor(&provider)
        .into_iter()
        .filter(|s| s.deleted.is_none() && s.definition.client_ids.contains(&q.client_id))
        .filter_map(|s| model.live_system_user(&s.definition.system_id, &owner, &external_ref))
        .collect();
    // Two live systems share a client id only where they were registered before the
    // rule against it (version 2): which one is meant cannot be told, so none is picked.
    let user = match <[SystemUser; 1]>::try_from(users) {
        Ok([user]) => user,
        Err(users) if users.is_empty() => return Err(empty(StatusCode::NOT_FOUND)),
        Err(users) => {
            let why = format!(
                "client id {} names {} system users of this owner",
                crate::domain::ids::truncate(&q.client_id),
                users.len()
            );
            return Err(ApiError::Rejected(crate::domain::Rejection::new(Code::ClientIdInUse, why)).into());
        }
    };
    let mut body = external_dto(&model, &user);
    // Altinn's "temporary fix until Maskinporten changes": the product is the system id.
    body["productName"] = json!(user.system_id.as_str());
    Ok(read(body, position))
}

// ---- client delegation --------------------------------------------------------------

#[derive(Deserialize)]
pub struct ClientQuery {
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    client: Option<String>,
}

/// The agent a client-delegation call names, checked as Altinn checks it (its
/// validation errors merged with the client's when `needs_client`), and the client.
fn agent_and_client<K: Kv + ?Sized>(
    model: &K,
    q: &ClientQuery,
    needs_client: bool,
) -> Result<(SystemUser, Option<Uuid>), AltinnError> {
    let mut errors = Vec::new();
    let agent = match q.agent.as_deref().and_then(|a| Uuid::parse_str(a).ok()) {
        None => {
            errors.push(ValidationError::new(altinn::VLD_AGENT_MISSING, paths::AGENT));
            None
        }
        Some(id) => match model.system_user(&id).filter(|u| u.deleted.is_none()) {
            None => {
                errors.push(ValidationError::new(altinn::VLD_SYSTEM_USER_NOT_FOUND, paths::AGENT));
                None
            }
            Some(u) if u.user_type != UserType::Agent => {
                errors.push(ValidationError::new(altinn::VLD_NOT_AGENT, paths::AGENT));
                None
            }
            Some(u) => Some(u),
        },
    };
    let client = q.client.as_deref().and_then(|c| Uuid::parse_str(c).ok());
    if needs_client && client.is_none() {
        errors.push(ValidationError::new(altinn::VLD_CLIENT_MISSING, paths::CLIENT));
    }
    match agent {
        Some(agent) if errors.is_empty() => Ok((agent, client)),
        _ => Err(AltinnError::Validation(errors, Some("invalid_parameter"))),
    }
}

/// Altinn's `ClientInfoPaginated`: the agent, and clients (never paged).
fn client_info<K: Kv + ?Sized>(model: &K, agent: &SystemUser, clients: impl Iterator<Item = OrgNo>) -> Value {
    let data: Vec<Value> = clients
        .filter_map(|org| model.party(&org))
        .map(|p| json!({"clientId": p.party_uuid, "clientOrganizationNumber": p.org_no.as_str(), "clientOrganizationName": p.name}))
        .collect();
    json!({
        "links": {},
        "systemUserInformation": {"systemUserId": agent.id, "systemUserOwnerOrg": agent.owner_org_no.as_str()},
        "data": data,
    })
}

/// `GET /enduser/systemuser/clients?agent=`: the clients linked to the agent.
#[utoipa::path(
    get, path = "/authentication/api/v1/enduser/systemuser/clients", operation_id = "client_list", tag = "Client delegation",
    summary = "The clients linked to the agent system user", security(("bearer" = ["admin", "client-admin", "auditor"])),
    params(("agent" = uuid::Uuid, Query, description = "The agent system user's id"), AsOf),
    responses((status = 200, description = "The agent and its clients (never paged)", body = ClientInfoPaginated))
)]
pub async fn list_clients(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    QueryParams(q): QueryParams<ClientQuery>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&READERS)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let (agent, _) = agent_and_client(&model, &q, false)?;
    acts_for(who, &agent.owner_org_no)?;
    let clients = model.links_of(&agent.id).into_iter().map(|l| l.client_org_no);
    Ok(read(client_info(&model, &agent, clients), position))
}

/// `GET /enduser/systemuser/clients/available?agent=`: the facilitator's clients that
/// have given it every package the agent carries.
#[utoipa::path(
    get, path = "/authentication/api/v1/enduser/systemuser/clients/available", operation_id = "client_available", tag = "Client delegation",
    summary = "The facilitator's clients that have given it every package the agent carries",
    security(("bearer" = ["admin", "client-admin"])),
    params(("agent" = uuid::Uuid, Query, description = "The agent system user's id"), AsOf),
    responses((status = 200, description = "The agent and the clients it may be linked to (never paged)", body = ClientInfoPaginated))
)]
pub async fn available_clients(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    QueryParams(q): QueryParams<ClientQuery>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::ClientAdmin, Role::Admin])?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let (agent, _) = agent_and_client(&model, &q, false)?;
    acts_for(who, &agent.owner_org_no)?;
    let clients = model
        .relationships_of(&agent.owner_org_no)
        .into_iter()
        .filter(|rel| {
            let gives = agent.carries();
            crate::domain::rules::link_supported(&model, Some(rel), &rel.facilitator_org_no, &rel.client_org_no, &gives)
                .is_ok()
        })
        .map(|rel| rel.client_org_no);
    Ok(read(client_info(&model, &agent, clients), position))
}

/// The domain's refusals of a link or an unlink, as Altinn answers them.
fn link_refusal(e: ApiError, linking: bool) -> AltinnError {
    let ApiError::Rejected(r) = &e else { return e.into() };
    let code = r.code.as_str();
    match r.code {
        Code::NotOwner => AltinnError::Forbidden,
        Code::ClientLacksPackage => {
            AltinnError::problem(altinn::CLIENT_MISSING_ACCESS_PACKAGES, code, r.message.clone())
        }
        Code::PartyNotFound => AltinnError::problem(altinn::CLIENT_NOT_FOUND, code, r.message.clone()),
        // Altinn answers every failed unlink so, whatever its cause.
        _ if !linking => AltinnError::problem(altinn::CUSTOMER_DELEGATION_FAILED_TO_REVOKE, code, r.message.clone()),
        _ => e.into(),
    }
}

async fn change_link(
    state: AppState,
    auth: Auth,
    cid: Option<String>,
    q: ClientQuery,
    linking: bool,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::ClientAdmin])?;
    let (agent, client_uuid) = agent_and_client(state.ledger.model(), &q, true)?;
    acts_for(who, &agent.owner_org_no)?;
    let client_uuid = client_uuid.expect("checked: the client is given");
    let client = state.ledger.model().party_by_uuid(&client_uuid).map(|p| p.org_no).ok_or_else(|| {
        AltinnError::problem(altinn::CLIENT_NOT_FOUND, "party_not_found", format!("no party with uuid {client_uuid}"))
    })?;
    let command = if linking {
        Command::LinkClient { agent: agent.id, client, subset: None }
    } else {
        Command::UnlinkClient { agent: agent.id, client }
    };
    let w = state.execute(who, cid, command).await.map_err(|e| link_refusal(e, linking))?;
    let mut response = axum::Json(json!({"agent": agent.id, "client": client_uuid})).into_response();
    response.headers_mut().insert("ledger-position", HeaderValue::from(w.position));
    Ok(response)
}

/// `POST /enduser/systemuser/clients?agent=&client=`: links the client (its party UUID).
#[utoipa::path(
    post, path = "/authentication/api/v1/enduser/systemuser/clients", operation_id = "client_link", tag = "Client delegation",
    summary = "Link a client (by its party UUID) to the agent system user", security(("bearer" = ["client-admin"])),
    description = "As on Altinn: no body, and the client is linked to everything the agent carries. A link for part of it (NAV's \"A06/A07 only\") is the native `POST /v1/system-users/{id}/clients`.",
    params(
        ("agent" = uuid::Uuid, Query, description = "The agent system user's id"),
        ("client" = uuid::Uuid, Query, description = "The client's party UUID"),
    ),
    responses(
        (status = 200, description = "Linked (also when it already was)", body = AgentClient),
        (status = 404, description = "The system user was deleted by a concurrent write", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "A concurrent write decided first; the event was recorded as void", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn link_client(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    QueryParams(q): QueryParams<ClientQuery>,
) -> Result<Response, AltinnError> {
    change_link(state, auth, cid, q, true).await
}

/// `DELETE /enduser/systemuser/clients?agent=&client=`: unlinks the client.
#[utoipa::path(
    delete, path = "/authentication/api/v1/enduser/systemuser/clients", operation_id = "client_unlink", tag = "Client delegation",
    summary = "Unlink a client (by its party UUID) from the agent system user", security(("bearer" = ["client-admin"])),
    params(
        ("agent" = uuid::Uuid, Query, description = "The agent system user's id"),
        ("client" = uuid::Uuid, Query, description = "The client's party UUID"),
    ),
    responses(
        (status = 200, description = "Unlinked", body = AgentClient),
        (status = 409, description = "A concurrent write decided first; the event was recorded as void", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn unlink_client(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    QueryParams(q): QueryParams<ClientQuery>,
) -> Result<Response, AltinnError> {
    change_link(state, auth, cid, q, false).await
}

#[derive(Deserialize)]
pub struct AgentsQuery {
    #[serde(default)]
    party: String,
}

/// `GET /enduser/systemuser/agents?party=<orgno>`: the organisation's agents.
#[utoipa::path(
    get, path = "/authentication/api/v1/enduser/systemuser/agents", operation_id = "client_agents", tag = "Client delegation",
    summary = "The organisation's agent system users", security(("bearer" = ["admin", "client-admin", "auditor"])),
    params(("party" = String, Query, description = "The organisation's number"), AsOf),
    responses(
        (status = 200, description = "The organisation's agent system users", body = Vec<SystemUserInternalDto>),
        (status = 404, description = "No such organisation in the party register", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn agents(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    QueryParams(q): QueryParams<AgentsQuery>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&READERS)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let org = OrgNo::parse(&q.party).ok().filter(|o| model.party(o).is_some());
    let org = org.ok_or_else(|| {
        AltinnError::PartyNotFound(format!(
            "No associated party information found for organisation {}",
            crate::domain::ids::truncate(&q.party)
        ))
    })?;
    acts_for(who, &org)?;
    let agents: Vec<Value> = model
        .system_users_of(&org)
        .iter()
        .filter(|u| u.user_type == UserType::Agent)
        .map(|u| internal_dto(&model, u))
        .collect();
    Ok(read(Value::Array(agents), position))
}

/// Altinn's `SystemUserRequestDto`: the system and, optionally, the integration's title.
#[derive(Deserialize)]
pub struct CreateBody {
    #[serde(default)]
    systemid: Option<String>,
    #[serde(default)]
    integrationtitle: Option<String>,
}

/// `POST /systemuser/{party}/create`: the organisation makes a standard system user for
/// a system itself, with everything the system gives; 200 with `SystemUserInternalDTO`.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemuser/{party}/create", operation_id = "systemuser_create", tag = "System users",
    summary = "The organisation makes a standard system user for a system itself, with everything the system gives",
    security(("bearer" = ["admin"])), request_body = SystemUserRequestDto,
    responses(
        (status = 200, description = "The new system user", body = SystemUserInternalDto),
        (status = 404, description = "No such live system (AUTH-00011)", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "A concurrent write decided first; the event was recorded as void", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(party): PathParams<String>,
    body: Result<AltinnJson<CreateBody>, AltinnError>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Admin])?;
    let AltinnJson(body) = body?;
    let model = state.ledger.model();
    let party = party_of(model, &party)?;
    acts_for(who, &party)?;
    let system_id = SystemId::parse(body.systemid.as_deref().unwrap_or(""))
        .map_err(|_| AltinnError::problem(altinn::SYSTEM_ID_NOT_FOUND, "system_not_found", "no such system"))?;
    let integration_title = body.integrationtitle.filter(|t| !t.is_empty());
    let command = Command::CreateSystemUserByOwner { party, system_id: system_id.clone(), integration_title };
    let w = state
        .execute(who, cid, command)
        .await
        .map_err(|e| requests::refusal(e, model, Some(&system_id), UserType::Standard))?;
    let model = state.ledger.model();
    let id = w.events.iter().find_map(|e| e.data.system_user_changed()).expect("a created system user");
    let user = model.system_user(&id).expect("applied before the answer");
    Ok(requests::located(StatusCode::OK, internal_dto(model, &user), w.position, None))
}

/// Altinn's `SystemUserUpdateDto`. Altinn reads only its id; the others are held to the
/// limits every text of the ledger is held to, so that nothing unreadable is taken.
#[derive(Deserialize)]
pub struct UpdateBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    partyid: Option<String>,
    #[serde(default)]
    reporteeorgno: Option<String>,
    #[serde(default)]
    integrationtitle: Option<String>,
    #[serde(default)]
    systemid: Option<String>,
}

impl UpdateBody {
    fn check(&self) -> Result<(), AltinnError> {
        let members = [
            ("partyId", &self.partyid),
            ("reporteeOrgNo", &self.reporteeorgno),
            ("integrationTitle", &self.integrationtitle),
            ("systemId", &self.systemid),
        ];
        for (name, value) in members {
            let Some(value) = value else { continue };
            crate::domain::rules::text(name, value, crate::domain::ids::IDENTIFIER_BYTES_MAX).map_err(|r| {
                AltinnError::ModelState { path: format!("$.{name}"), message: r.message, ledger_code: "invalid_field" }
            })?;
        }
        Ok(())
    }
}

/// `PUT /systemuser`: Altinn changes nothing here (its update is not written yet) and
/// answers 200 for a system user it knows, an empty 404 otherwise; the ledger does the
/// same, for a live system user of an organisation the caller acts for.
#[utoipa::path(
    put, path = "/authentication/api/v1/systemuser", operation_id = "systemuser_update", tag = "System users",
    summary = "Altinn's update, which changes nothing: 200 for a live system user the caller acts for",
    security(("bearer" = ["admin"])), request_body = SystemUserUpdateDto,
    responses(
        (status = 200, description = "Known (nothing is changed; empty)"),
        (status = 404, description = "No live system user of the caller's organisation with this id (empty)"),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    body: Result<AltinnJson<UpdateBody>, AltinnError>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Admin])?;
    let AltinnJson(body) = body?;
    body.check()?;
    let id = body.id.unwrap_or_default();
    let id = Uuid::parse_str(&id).map_err(|_| AltinnError::unbound("id", &id))?;
    let model = state.ledger.model();
    let user = model.system_user(&id).filter(|u| u.deleted.is_none());
    match user {
        Some(u) if acts_for(who, &u.owner_org_no).is_ok() => {
            let mut response = StatusCode::OK.into_response();
            response.headers_mut().insert("ledger-position", HeaderValue::from(model.position()));
            Ok(response)
        }
        _ => Err(empty(StatusCode::NOT_FOUND)),
    }
}

/// This module's routes. Undocumented routes (`route`) are refused by the contract test;
/// each becomes a `routes!` of its annotated handlers.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(by_system))
        .routes(routes!(by_query))
        .routes(routes!(by_external_id))
        .routes(routes!(list))
        .routes(routes!(list_agents))
        .routes(routes!(delegations))
        .routes(routes!(stream))
        .routes(routes!(for_register))
        .routes(routes!(create))
        .routes(routes!(update))
        .routes(routes!(get_one, delete_standard))
        .routes(routes!(list_clients, link_client, unlink_client))
        .routes(routes!(available_clients))
        .routes(routes!(agents))
}

// Documentation-only shapes of the bodies above (they are written with `json!`);
// Schemathesis checks every answer against them.

/// A system user's type, as the ledger writes it.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase", as = UserType)]
#[allow(dead_code)]
pub enum SystemUserTypeDto {
    Standard,
    Agent,
}

/// Altinn's `SystemUserExternalDTO`: what vendors and Maskinporten read.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = SystemUserExternalDTO)]
#[allow(dead_code)]
pub struct SystemUserExternalDto {
    id: Uuid,
    /// The title given, or the system's name (null when neither is known).
    #[schema(required = true)]
    integration_title: Option<String>,
    #[schema(example = "310000019_maestro")]
    system_id: String,
    /// Empty, but on `byExternalId`, where it is the system id.
    product_name: String,
    reportee_org_no: String,
    created: String,
    is_deleted: bool,
    supplier_name: String,
    supplier_orgno: String,
    external_ref: String,
    user_type: SystemUserTypeDto,
}

/// Altinn's `SystemUserInternalDTO`: what the organisation's people read.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = SystemUserInternalDTO)]
#[allow(dead_code)]
pub struct SystemUserInternalDto {
    id: Uuid,
    /// The title given, or the system's name (null when neither is known).
    #[schema(required = true)]
    integration_title: Option<String>,
    #[schema(example = "310000019_maestro")]
    system_id: String,
    product_name: String,
    reportee_org_no: String,
    created: String,
    is_deleted: bool,
    supplier_name: String,
    supplier_orgno: String,
    external_ref: String,
    user_type: SystemUserTypeDto,
    /// The owner's party id (empty when the party is not registered).
    party_id: String,
    /// The owner's party UUID (empty when the party is not registered).
    #[schema(rename = "partyUuId")]
    party_uu_id: String,
    #[schema(nullable = false)]
    system_internal_id: Option<Uuid>,
    access_packages: Vec<AccessPackage>,
}

/// Altinn's `SystemUserDetailInternalDTO`: the internal form, with a standard system
/// user's rights.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = SystemUserDetailInternalDTO)]
#[allow(dead_code)]
pub struct SystemUserDetailInternalDto {
    id: Uuid,
    /// The title given, or the system's name (null when neither is known).
    #[schema(required = true)]
    integration_title: Option<String>,
    #[schema(example = "310000019_maestro")]
    system_id: String,
    product_name: String,
    reportee_org_no: String,
    created: String,
    is_deleted: bool,
    supplier_name: String,
    supplier_orgno: String,
    external_ref: String,
    user_type: SystemUserTypeDto,
    party_id: String,
    #[schema(rename = "partyUuId")]
    party_uu_id: String,
    #[schema(nullable = false)]
    system_internal_id: Option<Uuid>,
    access_packages: Vec<AccessPackage>,
    /// A standard system user's rights (absent on an agent).
    #[schema(nullable = false)]
    rights: Option<Vec<Right>>,
}

/// Altinn's `StandardSystemUserDelegations`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct StandardSystemUserDelegations {
    system_user_id: Uuid,
    rights: Vec<Right>,
    access_packages: Vec<AccessPackage>,
}

/// Altinn's `SystemUserRegisterDTO`: what Register keeps of a system user.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = SystemUserRegisterDTO)]
#[allow(dead_code)]
pub struct SystemUserRegisterDto {
    id: Uuid,
    party_org_no: String,
    /// The owner's party id (empty when the party is not registered).
    party_id: String,
    #[schema(required = true)]
    integration_title: Option<String>,
    is_deleted: bool,
    last_changed: String,
    created: String,
    /// The log position of its latest change.
    #[schema(minimum = 0)]
    sequence_no: u64,
    system_user_type: SystemUserTypeDto,
}

/// Altinn's `ItemStream<SystemUserRegisterDTO>`: one page of Register's stream.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SystemUserItemStream {
    links: PageLinks,
    stats: ItemStreamStats,
    data: Vec<SystemUserRegisterDto>,
}

/// Altinn's `ItemStreamStats`: the page's first and last sequence numbers, and the
/// highest there is.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ItemStreamStats {
    #[schema(minimum = 0)]
    page_start: u64,
    #[schema(minimum = 0)]
    page_end: u64,
    #[schema(minimum = 0)]
    sequence_max: u64,
}

/// Altinn's `ClientInfoPaginated<ClientInfo>`: the agent and its clients (never paged).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ClientInfoPaginated {
    links: PageLinks,
    system_user_information: SystemUserInfo,
    data: Vec<ClientInfo>,
}

/// Altinn's `SystemUserInfo`: the agent system user and its owner.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SystemUserInfo {
    system_user_id: Uuid,
    system_user_owner_org: String,
}

/// Altinn's `ClientInfo`: one client.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ClientInfo {
    /// The client's party UUID.
    client_id: Uuid,
    client_organization_number: String,
    client_organization_name: String,
}

/// The agent and the client a link or an unlink names.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AgentClient {
    agent: Uuid,
    /// The client's party UUID.
    client: Uuid,
}

/// Altinn's `SystemUserRequestDto`. Member names are read without regard to case.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SystemUserRequestDto {
    /// The system's id; a missing or unknown one is answered 404 (AUTH-00011).
    #[schema(example = "310000019_maestro")]
    system_id: Option<String>,
    /// The title; empty is no title (the system's name is shown).
    integration_title: Option<String>,
}

/// Altinn's `SystemUserUpdateDto`. Only `id` is read; the others are held to the limits
/// of every text (at most 200 bytes, no control characters). Member names are read
/// without regard to case.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SystemUserUpdateDto {
    /// The system user's id; one that is missing or no UUID is answered 400.
    id: Uuid,
    party_id: Option<String>,
    reportee_org_no: Option<String>,
    integration_title: Option<String>,
    system_id: Option<String>,
}
