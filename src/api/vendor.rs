//! The vendor API: system-user requests and the vendor's system-user lookups (Altinn
//! paths). The system register is `systemregister.rs`.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{AsOfParams, Auth, PathParams, QueryParams};
use super::views::*;
use super::{read, AppState, Snapshot};
use crate::auth::{Principal, Role};
use crate::domain::ids::{OrgNo, SystemId};
use crate::domain::model::ReadModel;
use crate::domain::{Code, Rejection};

/// Reads are for the system's own vendor only.
fn own_system(who: &Principal, id: &SystemId) -> Result<(), ApiError> {
    if who.org.as_ref() == Some(&id.vendor()) {
        Ok(())
    } else {
        Err(Rejection::new(Code::NotSystemVendor, format!("system {id} belongs to vendor {}", id.vendor())).into())
    }
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
