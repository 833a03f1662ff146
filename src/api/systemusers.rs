//! The customer and client-admin API: answering requests, listing and deleting system
//! users, and linking clients to agent system users (Altinn paths).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{AsOfParams, Auth, CorrelationId, PathParams, QueryParams};
use super::views::*;
use super::{read, written, AppState, Snapshot};
use crate::auth::{Principal, Role};
use crate::domain::events::UserType;
use crate::domain::ids::OrgNo;
use crate::domain::model::{Kv, ReadModel, SystemUser};
use crate::domain::{Code, Command, Rejection};

/// Altinn's `{party}` path segment: an organisation number, or a party id.
fn party_org<K: Kv + ?Sized>(model: &K, segment: &str) -> Result<OrgNo, ApiError> {
    if segment.len() == 9 {
        if let Ok(org) = OrgNo::parse(segment) {
            return Ok(org);
        }
    }
    match segment.parse::<i64>() {
        Ok(party_id) => model
            .party_by_id(party_id)
            .map(|p| p.org_no)
            .ok_or_else(|| Rejection::new(Code::PartyNotFound, format!("no party with id {party_id}")).into()),
        Err(_) => Err(Rejection::new(
            Code::InvalidOrgNumber,
            format!("'{}' is neither an organisation number nor a party id", crate::domain::ids::truncate(segment)),
        )
        .into()),
    }
}

fn uuid(s: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::InvalidParameter(format!("{what} must be a UUID")))
}

/// People act only for their own organisation; auditors read everything.
fn acts_for(who: &Principal, org: &OrgNo) -> Result<(), ApiError> {
    if who.role == Role::Auditor || who.org.as_ref() == Some(org) {
        Ok(())
    } else {
        Err(Rejection::new(
            Code::NotOwner,
            format!("you act for {}, not {org}", who.org.as_ref().map(|o| o.as_str()).unwrap_or("no organisation")),
        )
        .into())
    }
}

pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(party): PathParams<String>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Admin, Role::ClientAdmin, Role::Auditor])?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let org = party_org(&model, &party)?;
    acts_for(who, &org)?;
    let users: Vec<_> = model.system_users_of(&org).iter().map(|u| system_user_json(&model, u)).collect();
    Ok(read(serde_json::Value::Array(users), position))
}

fn owned_user<K: Kv + ?Sized>(model: &K, who: &Principal, org: &OrgNo, id: &Uuid) -> Result<SystemUser, ApiError> {
    let user = model
        .system_user(id)
        .filter(|u| &u.owner_org_no == org)
        .ok_or_else(|| Rejection::new(Code::SystemUserNotFound, format!("{org} has no system user {id}")))?;
    acts_for(who, &user.owner_org_no)?;
    Ok(user)
}

pub async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams((party, id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Admin, Role::ClientAdmin, Role::Auditor])?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let org = party_org(&model, &party)?;
    acts_for(who, &org)?;
    let user = owned_user(&model, who, &org, &uuid(&id, "the system user id")?)?;
    Ok(read(system_user_json(&model, &user), position))
}

async fn delete(
    state: AppState,
    auth: Auth,
    cid: Option<String>,
    party: String,
    id: String,
    user_type: UserType,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Admin])?;
    let party = party_org(state.ledger.model(), &party)?;
    let system_user_id = uuid(&id, "the system user id")?;
    let w = state.execute(who, cid, Command::DeleteSystemUser { system_user_id, party, user_type }).await?;
    let unlinked = w.events.len().saturating_sub(1);
    Ok(written(
        StatusCode::OK,
        json!({"id": system_user_id, "isDeleted": true, "clientsUnlinked": unlinked}),
        w.position,
    ))
}

pub async fn delete_standard(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams((party, id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    delete(state, auth, cid, party, id, UserType::Standard).await
}

pub async fn delete_agent(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams((party, id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    delete(state, auth, cid, party, id, UserType::Agent).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientQuery {
    agent: String,
    #[serde(default)]
    client: Option<String>,
}

impl ClientQuery {
    fn agent(&self) -> Result<Uuid, ApiError> {
        uuid(&self.agent, "agent")
    }
    fn client(&self) -> Result<OrgNo, ApiError> {
        let client =
            self.client.as_deref().ok_or_else(|| ApiError::InvalidParameter("client is required".to_owned()))?;
        Ok(OrgNo::parse(client)?)
    }
}

/// An agent system user the caller administers.
fn administered_agent<K: Kv + ?Sized>(model: &K, who: &Principal, agent: &Uuid) -> Result<SystemUser, ApiError> {
    let user = model
        .system_user(agent)
        .ok_or_else(|| Rejection::new(Code::SystemUserNotFound, format!("system user {agent} does not exist")))?;
    acts_for(who, &user.owner_org_no)?;
    Ok(user)
}

pub async fn list_clients(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    QueryParams(q): QueryParams<ClientQuery>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::ClientAdmin, Role::Admin, Role::Auditor])?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let user = administered_agent(&model, who, &q.agent()?)?;
    let clients: Vec<_> = model
        .links_of(&user.id)
        .into_iter()
        .map(|l| {
            json!({
                "client": l.client_org_no.as_str(),
                "clientName": model.party(&l.client_org_no).map(|p| p.name),
                "linked": time(l.since),
                "linkedBy": l.actor.id,
                "accessPackages": packages_json(&user.access_packages),
            })
        })
        .collect();
    Ok(read(json!({"agent": user.id, "data": clients}), position))
}

pub async fn link_client(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    QueryParams(q): QueryParams<ClientQuery>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::ClientAdmin])?;
    let (agent, client) = (q.agent()?, q.client()?);
    let w = state.execute(who, cid, Command::LinkClient { agent, client: client.clone() }).await?;
    Ok(written(StatusCode::OK, json!({"agent": agent, "client": client.as_str()}), w.position))
}

pub async fn unlink_client(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    QueryParams(q): QueryParams<ClientQuery>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::ClientAdmin])?;
    let (agent, client) = (q.agent()?, q.client()?);
    let w = state.execute(who, cid, Command::UnlinkClient { agent, client: client.clone() }).await?;
    Ok(written(StatusCode::OK, json!({"agent": agent, "client": client.as_str()}), w.position))
}

/// The facilitator's clients, and whether each could be linked to this agent now.
pub async fn available_clients(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    QueryParams(q): QueryParams<ClientQuery>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::ClientAdmin, Role::Admin])?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let user = administered_agent(&model, who, &q.agent()?)?;
    let clients: Vec<_> = model
        .relationships_of(&user.owner_org_no)
        .into_iter()
        .map(|rel| {
            json!({
                "client": rel.client_org_no.as_str(),
                "clientName": model.party(&rel.client_org_no).map(|p| p.name),
                "accessPackages": packages_json(&rel.packages()),
                "eligible": rel.carries_all(&user.access_packages),
                "linked": model.link(&user.id, &rel.client_org_no).is_some(),
            })
        })
        .collect();
    Ok(read(json!({"agent": user.id, "data": clients}), position))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsQuery {
    party: String,
}

pub async fn agents(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    QueryParams(q): QueryParams<AgentsQuery>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::ClientAdmin, Role::Admin, Role::Auditor])?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let org = party_org(&model, &q.party)?;
    acts_for(who, &org)?;
    let agents: Vec<_> = model
        .system_users_of(&org)
        .iter()
        .filter(|u| u.user_type == UserType::Agent)
        .map(|u| system_user_json(&model, u))
        .collect();
    Ok(read(serde_json::Value::Array(agents), position))
}
