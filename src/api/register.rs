//! Native endpoints for facts that come from upstream registers: parties, access
//! packages, resource policies and client relationships.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{AsOfParams, Auth, CorrelationId, JsonBody, PathParams, QueryParams};
use super::views::time;
use super::{read, written, AppState, Snapshot};
use crate::auth::Role;
use crate::domain::events::{
    AccessPackageDefined, ClientRelationshipGranted, ClientRelationshipRevoked, PartyRegistered, PolicyRule,
    ResourcePolicyPublished,
};
use crate::domain::ids::{Action, OrgNo, PackageUrn, RegisterRole, ResourceId};
use crate::domain::model::Kv;
use crate::domain::model::ReadModel;
use crate::domain::{Code, Command, Rejection};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartyBody {
    org_no: String,
    party_id: i64,
    party_uuid: String,
    name: String,
}

pub async fn register_party(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    JsonBody(body): JsonBody<PartyBody>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Register])?;
    let party = PartyRegistered {
        org_no: OrgNo::parse(&body.org_no)?,
        party_id: body.party_id,
        party_uuid: Uuid::parse_str(&body.party_uuid)
            .map_err(|_| Rejection::new(Code::InvalidField, "partyUuid must be a UUID"))?,
        name: body.name,
    };
    let response = json!({"orgNo": party.org_no.as_str(), "partyId": party.party_id, "partyUuid": party.party_uuid, "name": party.name});
    let w = state.execute(who, cid, Command::RegisterParty(party)).await?;
    let status = if w.events.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    Ok(written(status, response, w.position))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageBody {
    urn: String,
    assignable: bool,
    delegable: bool,
}

pub async fn define_access_package(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    JsonBody(body): JsonBody<PackageBody>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Register])?;
    let p = AccessPackageDefined {
        urn: PackageUrn::parse(&body.urn)?,
        assignable: body.assignable,
        delegable: body.delegable,
    };
    let response = json!({"urn": p.urn.as_str(), "assignable": p.assignable, "delegable": p.delegable});
    let w = state.execute(who, cid, Command::DefineAccessPackage(p)).await?;
    let status = if w.events.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    Ok(written(status, response, w.position))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleBody {
    #[serde(default)]
    access_package: Option<String>,
    #[serde(default)]
    right: bool,
    actions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyBody {
    rules: Vec<RuleBody>,
    #[serde(default)]
    minimum_authentication_level: Option<u8>,
}

fn policy_json(p: &ResourcePolicyPublished) -> serde_json::Value {
    json!({
        "resourceId": p.resource_id.as_str(),
        "rules": p.rules,
        "minimumAuthenticationLevel": p.minimum_authentication_level,
    })
}

pub async fn publish_policy(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(resource_id): PathParams<String>,
    JsonBody(body): JsonBody<PolicyBody>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::ServiceOwner])?;
    let mut rules = Vec::with_capacity(body.rules.len());
    for r in body.rules {
        rules.push(PolicyRule {
            access_package: r.access_package.as_deref().map(PackageUrn::parse).transpose()?,
            right: r.right,
            actions: r.actions.iter().map(|a| Action::parse(a)).collect::<Result<_, _>>()?,
        });
    }
    let policy = ResourcePolicyPublished {
        resource_id: ResourceId::parse(&resource_id)?,
        rules,
        minimum_authentication_level: body.minimum_authentication_level,
    };
    let response = policy_json(&policy);
    let w = state.execute(who, cid, Command::PublishPolicy(policy)).await?;
    Ok(written(StatusCode::OK, response, w.position))
}

pub async fn get_policy(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(resource_id): PathParams<String>,
) -> Result<Response, ApiError> {
    auth.require(&[Role::ServiceOwner, Role::Vendor, Role::Auditor, Role::Pdp])?;
    let resource = ResourceId::parse(&resource_id)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let policy = model
        .policy(&resource)
        .ok_or_else(|| Rejection::new(Code::UnknownResource, format!("resource {resource} has no published policy")))?;
    let body = json!({
        "resourceId": policy.resource_id.as_str(),
        "rules": policy.rules,
        "minimumAuthenticationLevel": policy.minimum_authentication_level,
        "owner": policy.owner,
        "eventId": policy.event_id,
    });
    Ok(read(body, position))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelationshipBody {
    client: String,
    facilitator: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    access_packages: Vec<String>,
}

pub async fn grant_relationship(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    JsonBody(body): JsonBody<RelationshipBody>,
) -> Result<Response, ApiError> {
    // The register records roles; a client's own administrator delegates packages.
    let who = auth.require(&[Role::Register, Role::Admin])?;
    let grant = ClientRelationshipGranted {
        client_org_no: OrgNo::parse(&body.client)?,
        facilitator_org_no: OrgNo::parse(&body.facilitator)?,
        role: body.role.as_deref().map(RegisterRole::parse).transpose()?,
        access_packages: body.access_packages.iter().map(|p| PackageUrn::parse(p)).collect::<Result<_, _>>()?,
    };
    let (client, facilitator) = (grant.client_org_no.clone(), grant.facilitator_org_no.clone());
    let w = state.execute(who, cid, Command::GrantRelationship(grant)).await?;
    let status = if w.events.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    Ok(written(status, relationship_json(state.ledger.model(), &client, &facilitator), w.position))
}

fn relationship_json<K: Kv + ?Sized>(model: &K, client: &OrgNo, facilitator: &OrgNo) -> serde_json::Value {
    let rel = model.relationship(client, facilitator);
    let grants: Vec<_> = rel
        .iter()
        .flat_map(|r| r.grants.iter())
        .map(|g| json!({"role": g.role, "accessPackage": g.access_package.as_str(), "since": time(g.since), "eventId": g.event_id}))
        .collect();
    json!({"client": client.as_str(), "facilitator": facilitator.as_str(), "grants": grants})
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeQuery {
    client: String,
    facilitator: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    access_package: Option<String>,
}

pub async fn revoke_relationship(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    QueryParams(q): QueryParams<RevokeQuery>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Register, Role::Admin])?;
    let revoke = ClientRelationshipRevoked {
        client_org_no: OrgNo::parse(&q.client)?,
        facilitator_org_no: OrgNo::parse(&q.facilitator)?,
        role: q.role.as_deref().map(RegisterRole::parse).transpose()?,
        access_package: q.access_package.as_deref().map(PackageUrn::parse).transpose()?,
    };
    let (client, facilitator) = (revoke.client_org_no.clone(), revoke.facilitator_org_no.clone());
    let w = state.execute(who, cid, Command::RevokeRelationship(revoke)).await?;
    let mut body = relationship_json(state.ledger.model(), &client, &facilitator);
    body["clientsUnlinked"] = json!(w.events.len().saturating_sub(1));
    Ok(written(StatusCode::OK, body, w.position))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    facilitator: String,
}

pub async fn list_relationships(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Register, Role::Admin, Role::ClientAdmin, Role::Auditor])?;
    let facilitator = OrgNo::parse(&q.facilitator)?;
    if matches!(who.role, Role::Admin | Role::ClientAdmin) && who.org.as_ref() != Some(&facilitator) {
        return Err(Rejection::new(Code::NotOwner, "you may list only your own organisation's clients").into());
    }
    let Snapshot { model, position, .. } = state.view(at)?;
    let data: Vec<_> = model
        .relationships_of(&facilitator)
        .iter()
        .map(|rel| relationship_json(&model, &rel.client_org_no, &facilitator))
        .collect();
    Ok(read(json!({"facilitator": facilitator.as_str(), "data": data}), position))
}

/// This module's routes. Undocumented routes (`route`) are refused by the contract test;
/// each becomes a `routes!` of its annotated handlers.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use axum::routing::{post, put};
    utoipa_axum::router::OpenApiRouter::new()
        .route("/v1/parties", post(register_party))
        .route("/v1/access-packages", post(define_access_package))
        .route("/v1/resources/{resource_id}/policy", put(publish_policy).get(get_policy))
        .route("/v1/client-relationships", post(grant_relationship).delete(revoke_relationship).get(list_relationships))
}
