//! The vendor API: system-user requests and the vendor's system-user lookups (Altinn
//! paths). The system register is `systemregister.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{AsOfParams, Auth, CorrelationId, JsonBody, PathParams, QueryParams};
use super::views::*;
use super::{read, written, AppState, Snapshot};
use crate::auth::{Principal, Role};
use crate::domain::decide::NewRequest;
use crate::domain::events::{EventData, UserType};
use crate::domain::ids::{OrgNo, SystemId};
use crate::domain::model::Kv;
use crate::domain::model::{ReadModel, Request, RequestStatus};
use crate::domain::pdp::At;
use crate::domain::{Code, Command, Rejection};

/// Reads are for the system's own vendor only.
fn own_system(who: &Principal, id: &SystemId) -> Result<(), ApiError> {
    if who.org.as_ref() == Some(&id.vendor()) {
        Ok(())
    } else {
        Err(Rejection::new(Code::NotSystemVendor, format!("system {id} belongs to vendor {}", id.vendor())).into())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestBody {
    #[serde(default)]
    external_ref: Option<String>,
    system_id: String,
    party_org_no: String,
    #[serde(default)]
    rights: Vec<RightDto>,
    #[serde(default)]
    access_packages: Vec<PackageDto>,
    #[serde(default)]
    redirect_url: Option<String>,
    #[serde(default)]
    integration_title: Option<String>,
}

async fn create_request(
    state: AppState,
    auth: Auth,
    cid: Option<String>,
    body: RequestBody,
    user_type: UserType,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Vendor])?;
    let new = NewRequest {
        user_type,
        system_id: SystemId::parse(&body.system_id)?,
        party_org_no: OrgNo::parse(&body.party_org_no)?,
        external_ref: body.external_ref,
        rights: parse_rights(&body.rights)?,
        access_packages: parse_packages(&body.access_packages)?,
        redirect_url: body.redirect_url,
        integration_title: body.integration_title,
    };
    let (system_id, party) = (new.system_id.clone(), new.party_org_no.clone());
    let external_ref = new.external_ref.clone().unwrap_or_else(|| party.to_string());
    let w = state.execute(who, cid, Command::CreateRequest(new)).await?;
    let model = state.ledger.model();
    let created = w.events.iter().find_map(|e| match &e.data {
        EventData::RequestCreated(r) => Some(r.request_id),
        _ => None,
    });
    let (status, request) = match created {
        Some(id) => (StatusCode::CREATED, model.request(&id)),
        // An identical pending request already exists: it is the answer.
        None => (StatusCode::OK, model.pending_request(&system_id, &party, &external_ref)),
    };
    let request = request.ok_or_else(|| ApiError::Internal("the request is not in the read model".to_owned()))?;
    Ok(written(status, request_json(&request, state.now(), &state.public_url), w.position))
}

pub async fn create_standard_request(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    JsonBody(body): JsonBody<RequestBody>,
) -> Result<Response, ApiError> {
    create_request(state, auth, cid, body, UserType::Standard).await
}

pub async fn create_agent_request(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    JsonBody(body): JsonBody<RequestBody>,
) -> Result<Response, ApiError> {
    if !body.rights.is_empty() {
        return Err(
            Rejection::new(Code::RightsNotAllowedForAgent, "an agent request carries access packages only").into()
        );
    }
    create_request(state, auth, cid, body, UserType::Agent).await
}

fn parse_uuid(s: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::InvalidParameter(format!("{what} must be a UUID")))
}

/// A vendor's own request, visible unless withdrawn.
fn vendor_request<K: Kv + ?Sized>(
    model: &K,
    who: &Principal,
    id: &Uuid,
    user_type: UserType,
) -> Result<Request, ApiError> {
    let not_found =
        || ApiError::Rejected(Rejection::new(Code::RequestNotFound, format!("request {id} does not exist")));
    let request = model.request(id).ok_or_else(not_found)?;
    own_system(who, &request.system_id)?;
    if request.user_type != user_type || request.status == RequestStatus::Withdrawn {
        return Err(not_found());
    }
    Ok(request)
}

async fn get_request(
    state: AppState,
    auth: Auth,
    at: Option<At>,
    id: String,
    user_type: UserType,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Vendor])?;
    let snap = state.view(at)?;
    let request = vendor_request(&snap.model, who, &parse_uuid(&id, "the request id")?, user_type)?;
    Ok(read(request_json(&request, snap.time, &state.public_url), snap.position))
}

pub async fn get_standard_request(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    get_request(state, auth, at, id, UserType::Standard).await
}

pub async fn get_agent_request(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    get_request(state, auth, at, id, UserType::Agent).await
}

pub async fn withdraw_request(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Vendor])?;
    let request_id = parse_uuid(&id, "the request id")?;
    let w = state.execute(who, cid, Command::WithdrawRequest { request_id }).await?;
    Ok(written(StatusCode::OK, json!({"id": request_id, "status": "Withdrawn"}), w.position))
}

pub async fn get_request_by_external_ref(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams((system_id, org_no, external_ref)): PathParams<(String, String, String)>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Vendor])?;
    let system_id = SystemId::parse(&system_id)?;
    let org = OrgNo::parse(&org_no)?;
    own_system(who, &system_id)?;
    let Snapshot { model, position, time } = state.view(at)?;
    // The newest request with this key that was not withdrawn.
    let request = model
        .requests_of_system(&system_id)
        .into_iter()
        .filter(|r| r.party_org_no == org && r.external_ref == external_ref && r.status != RequestStatus::Withdrawn)
        .max_by_key(|r| r.created)
        .ok_or_else(|| Rejection::new(Code::RequestNotFound, "no request with this system, party and external ref"))?;
    Ok(read(request_json(&request, time, &state.public_url), position))
}

pub async fn system_users_by_system(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(system_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Vendor])?;
    let system_id = SystemId::parse(&system_id)?;
    own_system(who, &system_id)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    if model.system(&system_id).is_none() {
        return Err(Rejection::new(Code::SystemNotFound, format!("system {system_id} is not registered")).into());
    }
    let users: Vec<_> = model.system_users_of_system(&system_id).iter().map(|u| system_user_json(&model, u)).collect();
    Ok(read(json!({"links": {"next": null}, "data": users}), position))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ByExternalId {
    client_id: String,
    system_provider_org_no: String,
    system_user_owner_org_no: String,
    #[serde(default)]
    external_ref: Option<String>,
}

/// Maskinporten's lookup: which system user does this client act as for this owner?
pub async fn system_user_by_external_id(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    QueryParams(q): QueryParams<ByExternalId>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Vendor, Role::Pdp])?;
    let provider = OrgNo::parse(&q.system_provider_org_no)?;
    let owner = OrgNo::parse(&q.system_user_owner_org_no)?;
    if who.role == Role::Vendor && who.org.as_ref() != Some(&provider) {
        return Err(Rejection::new(Code::NotSystemVendor, "vendors look up only their own system users").into());
    }
    let external_ref = q.external_ref.unwrap_or_else(|| owner.to_string());
    let Snapshot { model, position, .. } = state.view(at)?;
    let found = model
        .scan_systems_of_vendor(&provider)
        .into_iter()
        .filter(|s| s.deleted.is_none() && s.definition.client_ids.contains(&q.client_id))
        .find_map(|s| model.live_system_user(&s.definition.system_id, &owner, &external_ref));
    let user = found.ok_or_else(|| Rejection::new(Code::SystemUserNotFound, "no live system user matches"))?;
    Ok(read(system_user_json(&model, &user), position))
}
