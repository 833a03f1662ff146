//! Altinn's agent endpoints by party on `SystemUserController`
//! (`/authentication/api/v1/systemuser/agent/{party}/…`, `docs/altinn-contract.md`
//! section 5, rows 3, 13, 14 and 19): the facilitator's clients with what they carry, an
//! agent's client delegations, and linking and unlinking a client by party UUIDs. They
//! give the same commands as the client-delegation endpoints; only the shapes differ.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::altinn::{self, AltinnError};
use super::error::ApiError;
use super::extract::{AsOfParams, Auth, CorrelationId, PathParams, QueryPairs, QueryParams};
use super::openapi::{AsOf, Problem};
use super::requests::party_of;
use super::{read, AppState, Snapshot};
use crate::auth::Role;
use crate::domain::events::UserType;
use crate::domain::ids::{OrgNo, PackageUrn, RegisterRole};
use crate::domain::model::{Kv, ReadModel, Relationship, SystemUser};
use crate::domain::{Code, Command};
use utoipa::ToSchema;

/// Most `packages` values one call may filter by (they are repeated query parameters).
const PACKAGES_FILTER_MAX: usize = 50;

/// Access Management's name for the role that brought a package (`ExternalClientDto`):
/// the register roles by their Norwegian names, a client's own delegation as the
/// holder of a right.
fn role_name(role: Option<RegisterRole>) -> &'static str {
    match role {
        Some(RegisterRole::Revi) => "revisor",
        Some(RegisterRole::Regn) => "regnskapsforer",
        Some(RegisterRole::Ffor) => "forretningsforer",
        None => "rettighetshaver",
    }
}

/// The short package name Access Management uses (`revisormedarbeider`).
fn short(urn: &PackageUrn) -> &str {
    urn.as_str().rsplit(':').next().unwrap_or(urn.as_str())
}

/// Altinn's `ExternalClientDto`: a client, and per role the packages it gives.
fn external_client<K: Kv + ?Sized>(model: &K, rel: &Relationship) -> Option<Value> {
    let party = model.party(&rel.client_org_no)?;
    let mut roles: Vec<Option<RegisterRole>> = rel.grants.iter().map(|g| g.role).collect();
    roles.sort_by_key(|r| r.map(|r| r.as_str()));
    roles.dedup();
    let access: Vec<Value> = roles
        .into_iter()
        .map(|role| {
            let packages: Vec<&str> =
                rel.grants.iter().filter(|g| g.role == role).map(|g| short(&g.access_package)).collect();
            json!({"role": role_name(role), "packages": packages})
        })
        .collect();
    Some(json!({
        "partyUuid": party.party_uuid,
        "displayName": party.name,
        "organizationIdentifier": party.org_no.as_str(),
        "access": access,
    }))
}

/// The party named by `{party}`, which the caller must act for, and its party UUID.
fn facilitator<K: Kv + ?Sized>(
    model: &K,
    who: &crate::auth::Principal,
    party: &str,
) -> Result<(OrgNo, Uuid), AltinnError> {
    let org = party_of(model, party)?;
    altinn::acts_for(who, &org)?;
    let uuid = model.party(&org).map(|p| p.party_uuid).unwrap_or_default();
    Ok((org, uuid))
}

/// `GET /systemuser/agent/{party}/clients?facilitator=<uuid>[&packages=…]`: the
/// facilitator's clients, those carrying every package named when any are.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/agent/{party}/clients", operation_id = "agent_clients", tag = "Client delegation",
    summary = "The facilitator's clients, with the packages each gives it by role", security(("bearer" = ["admin", "client-admin", "auditor"])),
    params(
        ("facilitator" = uuid::Uuid, Query, description = "The facilitator's party UUID: the party's own"),
        ("packages" = Option<Vec<String>>, Query, max_items = 50, description = "Only clients that give every one of these packages (short names, e.g. `revisormedarbeider`); once per value"),
        AsOf,
    ),
    responses((status = 200, description = "The facilitator's clients", body = Vec<ExternalClientDto>))
)]
pub async fn clients(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(party): PathParams<String>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::ClientAdmin, Role::Admin, Role::Auditor])?;
    // Altinn reads a missing facilitator as the empty GUID: AUTH-00000.
    let Some((_, facilitator_id)) = pairs.iter().find(|(k, _)| k == "facilitator") else {
        return Err(AltinnError::problem(
            altinn::REPORTEE_ORGNO_NOT_FOUND,
            "invalid_parameter",
            "facilitator is missing",
        ));
    };
    let facilitator_id =
        Uuid::parse_str(facilitator_id).map_err(|_| AltinnError::unbound("facilitator", facilitator_id))?;
    let packages: Vec<&str> = pairs.iter().filter(|(k, _)| k == "packages").map(|(_, v)| v.as_str()).collect();
    if packages.len() > PACKAGES_FILTER_MAX {
        let why = format!("at most {PACKAGES_FILTER_MAX} packages filter one call");
        return Err(ApiError::InvalidParameter(why).into());
    }
    let Snapshot { model, position, .. } = state.view(at)?;
    let (org, uuid) = facilitator(&model, who, &party)?;
    // Altinn passes `facilitator` on unchecked; here it must be the party's own.
    if facilitator_id != uuid {
        return Err(AltinnError::Forbidden);
    }
    let clients: Vec<Value> = model
        .relationships_of(&org)
        .iter()
        .filter(|rel| packages.iter().all(|p| rel.grants.iter().any(|g| short(&g.access_package) == *p)))
        .filter_map(|rel| external_client(&model, rel))
        .collect();
    Ok(read(Value::Array(clients), position))
}

/// Altinn's `DelegationResponse` for one client of an agent.
fn delegation<K: Kv + ?Sized>(model: &K, agent: &Uuid, client: &OrgNo, with_names: bool) -> Option<Value> {
    let party = model.party(client)?;
    let mut v = json!({
        "agentSystemUserId": agent,
        "delegationId": party.party_uuid,
        "customerId": party.party_uuid,
        "assignmentId": Uuid::nil(),
    });
    if with_names {
        v["customerName"] = json!(party.name);
        v["customerOrganizationNumber"] = json!(party.org_no.as_str());
    }
    Some(v)
}

/// `GET /systemuser/agent/{party}/{facilitator}/{systemUserId}/delegations`: the agent's
/// clients. Always 200, as on Altinn: `[]` where there is nothing to show.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/agent/{party}/{facilitator}/{id}/delegations", operation_id = "agent_delegations", tag = "Client delegation",
    summary = "The agent system user's clients; `[]` where there is nothing to show", security(("bearer" = ["admin", "client-admin", "auditor"])),
    params(AsOf),
    responses((status = 200, description = "One delegation per linked client, with its name and number", body = Vec<AgentDelegationResponse>))
)]
pub async fn delegations(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams((party, facilitator_id, agent)): PathParams<(String, String, String)>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::ClientAdmin, Role::Admin, Role::Auditor])?;
    let facilitator_id =
        Uuid::parse_str(&facilitator_id).map_err(|_| AltinnError::unbound("facilitator", &facilitator_id))?;
    let agent = Uuid::parse_str(&agent).map_err(|_| AltinnError::unbound("systemUserId", &agent))?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let (org, uuid) = facilitator(&model, who, &party)?;
    let user = model.system_user(&agent).filter(|u| u.owner_org_no == org && u.deleted.is_none());
    let items: Vec<Value> = match user {
        Some(user) if facilitator_id == uuid => model
            .links_of(&user.id)
            .iter()
            .filter_map(|l| delegation(&model, &user.id, &l.client_org_no, true))
            .collect(),
        _ => Vec::new(),
    };
    Ok(read(Value::Array(items), position))
}

#[derive(Deserialize)]
pub struct ProviderClient {
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    client: Option<String>,
}

/// The agent, its owner's party UUID as `provider`, and the client, as the two agent
/// routes below name them; an agent of another party is an empty 403, as on Altinn.
fn agent_and_client<K: Kv + ?Sized>(
    model: &K,
    who: &crate::auth::Principal,
    party: &str,
    agent: &str,
    q: &ProviderClient,
) -> Result<(SystemUser, OrgNo, Uuid), AltinnError> {
    let agent = Uuid::parse_str(agent).map_err(|_| AltinnError::unbound("systemUserId", agent))?;
    let uuid_of = |name: &str, value: &Option<String>| {
        let value = value.as_deref().unwrap_or("");
        Uuid::parse_str(value).map_err(|_| AltinnError::unbound(name, value))
    };
    let (provider, client) = (uuid_of("provider", &q.provider)?, uuid_of("client", &q.client)?);
    let (org, uuid) = facilitator(model, who, party)?;
    let user = model.system_user(&agent).filter(|u| u.deleted.is_none()).ok_or_else(|| not_found(&agent))?;
    if user.owner_org_no != org || provider != uuid {
        return Err(AltinnError::Forbidden);
    }
    if user.user_type != UserType::Agent {
        return Err(AltinnError::problem(altinn::EXPECTED_AGENT_USER_TYPE, "not_agent_system_user", "not an agent"));
    }
    let client_org = model.party_by_uuid(&client).map(|p| p.org_no).ok_or_else(|| {
        AltinnError::problem(altinn::CLIENT_NOT_FOUND, "party_not_found", format!("no party with uuid {client}"))
    })?;
    Ok((user, client_org, client))
}

/// ASP.NET's validation answer Altinn gives for a system user it cannot find here.
pub(super) fn not_found(id: &Uuid) -> AltinnError {
    AltinnError::ModelState {
        path: "return".to_owned(),
        message: format!("SystemUser with Id {id} Not Found"),
        ledger_code: "system_user_not_found",
    }
}

/// `POST /systemuser/agent/{party}/{systemUserId}?provider=&client=`: links the client;
/// 200 with Altinn's `DelegationResponse` list.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemuser/agent/{party}/{id}", operation_id = "agent_delegate", tag = "Client delegation",
    summary = "Link a client to the party's agent system user", security(("bearer" = ["client-admin"])),
    params(
        ("provider" = uuid::Uuid, Query, description = "The facilitator's party UUID: the party's own"),
        ("client" = uuid::Uuid, Query, description = "The client's party UUID"),
    ),
    responses(
        (status = 200, description = "Linked (also when it already was): the delegation", body = Vec<AgentDelegationResponse>),
        (status = 409, description = "A concurrent write decided first; the event was recorded as void", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn delegate(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams((party, agent)): PathParams<(String, String)>,
    QueryParams(q): QueryParams<ProviderClient>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::ClientAdmin])?;
    let (user, client, _) = agent_and_client(state.ledger.model(), who, &party, &agent, &q)?;
    let command = Command::LinkClient { agent: user.id, client: client.clone(), subset: None };
    let w = state.execute(who, cid, command).await.map_err(|e| {
        let ApiError::Rejected(r) = &e else { return e.into() };
        match r.code {
            Code::ClientLacksPackage => {
                AltinnError::problem(altinn::CLIENT_MISSING_ACCESS_PACKAGES, r.code.as_str(), r.message.clone())
            }
            Code::RelationshipNotFound | Code::PartyNotFound => {
                AltinnError::problem(altinn::CLIENT_NOT_FOUND, r.code.as_str(), r.message.clone())
            }
            _ => e.into(),
        }
    })?;
    let model = state.ledger.model();
    let items: Vec<Value> = delegation(model, &user.id, &client, false).into_iter().collect();
    let mut response = axum::Json(Value::Array(items)).into_response();
    response.headers_mut().insert("ledger-position", HeaderValue::from(w.position));
    Ok(response)
}

/// `DELETE /systemuser/agent/{party}/{systemuser}/client?client=&provider=`: unlinks the
/// client; 200 with nothing, and every refusal of the unlink AUTH-00031, as on Altinn.
#[utoipa::path(
    delete, path = "/authentication/api/v1/systemuser/agent/{party}/{id}/client", operation_id = "agent_revoke", tag = "Client delegation",
    summary = "Unlink a client from the party's agent system user", security(("bearer" = ["client-admin"])),
    params(
        ("provider" = uuid::Uuid, Query, description = "The facilitator's party UUID: the party's own"),
        ("client" = uuid::Uuid, Query, description = "The client's party UUID"),
    ),
    responses(
        (status = 200, description = "Unlinked (empty)"),
        (status = 409, description = "A concurrent write decided first; the event was recorded as void", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams((party, agent)): PathParams<(String, String)>,
    QueryParams(q): QueryParams<ProviderClient>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::ClientAdmin])?;
    let (user, client, _) = agent_and_client(state.ledger.model(), who, &party, &agent, &q)?;
    let command = Command::UnlinkClient { agent: user.id, client };
    let w = state.execute(who, cid, command).await.map_err(|e| match &e {
        ApiError::Rejected(r) => {
            AltinnError::problem(altinn::CUSTOMER_DELEGATION_FAILED_TO_REVOKE, r.code.as_str(), r.message.clone())
        }
        _ => e.into(),
    })?;
    let mut response = StatusCode::OK.into_response();
    response.headers_mut().insert("ledger-position", HeaderValue::from(w.position));
    Ok(response)
}

#[derive(Deserialize)]
pub struct SelfQuery {
    #[serde(default, rename = "partyUuid")]
    party_uuid: Option<String>,
}

/// The party's own live agent the self routes name. Altinn takes `partyUuid` on trust
/// and reads a missing one as the empty GUID; here it must be the party's own UUID, and
/// anything else is the empty 403 Altinn gives for another party's system user.
fn own_agent<K: Kv + ?Sized>(
    model: &K,
    who: &crate::auth::Principal,
    party: &str,
    id: &str,
    q: &SelfQuery,
) -> Result<(SystemUser, OrgNo), AltinnError> {
    let id = Uuid::parse_str(id).map_err(|_| AltinnError::unbound("systemUserId", id))?;
    let party_uuid = match q.party_uuid.as_deref() {
        None => Uuid::nil(),
        Some(v) => Uuid::parse_str(v).map_err(|_| AltinnError::unbound("partyUuid", v))?,
    };
    let (org, uuid) = facilitator(model, who, party)?;
    let user = model.system_user(&id).filter(|u| u.deleted.is_none()).ok_or_else(|| not_found(&id))?;
    if user.owner_org_no != org || party_uuid != uuid {
        return Err(AltinnError::Forbidden);
    }
    Ok((user, org))
}

/// The domain's refusals of a self delegation or its revocation, as Altinn answers them.
fn self_refusal<K: Kv + ?Sized>(e: ApiError, model: &K, user: &SystemUser) -> AltinnError {
    match &e {
        ApiError::Rejected(r) if r.code == Code::UserTypeMismatch => {
            AltinnError::problem(altinn::EXPECTED_AGENT_USER_TYPE, r.code.as_str(), r.message.clone())
        }
        _ => super::requests::refusal(e, model, Some(&user.system_id), UserType::Standard),
    }
}

/// `true` as a write's answer, with its position.
fn done(position: u64) -> Response {
    read(Value::Bool(true), position)
}

/// A change of whether the party's own agent acts for the party: 200 `true`, whether or
/// not anything changed (Altinn's self routes are idempotent).
async fn change_self(
    state: AppState,
    auth: Auth,
    cid: Option<String>,
    (party, id): (String, String),
    q: SelfQuery,
    command: fn(Uuid, OrgNo) -> Command,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Admin])?;
    let model = state.ledger.model();
    let (user, party) = own_agent(model, who, &party, &id, &q)?;
    let w = state.execute(who, cid, command(user.id, party)).await.map_err(|e| self_refusal(e, model, &user))?;
    Ok(done(w.position))
}

/// `POST /systemuser/agent/{party}/{systemUserId}/self?partyUuid=`: the party's own agent
/// acts for the party too, with the packages it carries.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemuser/agent/{party}/{id}/self", operation_id = "agent_delegate_self", tag = "Client delegation",
    summary = "The party's own agent system user acts for the party too, with the packages it carries", security(("bearer" = ["admin"])),
    params(("partyUuid" = uuid::Uuid, Query, description = "The party's own party UUID")),
    responses(
        (status = 200, description = "Done, whether or not anything changed", content_type = "application/json", body = bool, example = json!(true)),
        (status = 409, description = "A concurrent write decided first; the event was recorded as void", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn delegate_self(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(path): PathParams<(String, String)>,
    QueryParams(q): QueryParams<SelfQuery>,
) -> Result<Response, AltinnError> {
    let command = |system_user_id, party| Command::DelegateToOwnAgent { system_user_id, party };
    change_self(state, auth, cid, path, q, command).await
}

/// `DELETE /systemuser/agent/{party}/{systemUserId}/self?partyUuid=`: the agent stops
/// acting for its owner; its clients are untouched.
#[utoipa::path(
    delete, path = "/authentication/api/v1/systemuser/agent/{party}/{id}/self", operation_id = "agent_revoke_self", tag = "Client delegation",
    summary = "The party's own agent system user stops acting for the party; its clients are untouched", security(("bearer" = ["admin"])),
    params(("partyUuid" = uuid::Uuid, Query, description = "The party's own party UUID")),
    responses(
        (status = 200, description = "Done, whether or not anything changed", content_type = "application/json", body = bool, example = json!(true)),
        (status = 409, description = "A concurrent write decided first; the event was recorded as void", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn revoke_self(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(path): PathParams<(String, String)>,
    QueryParams(q): QueryParams<SelfQuery>,
) -> Result<Response, AltinnError> {
    let command = |system_user_id, party| Command::RevokeFromOwnAgent { system_user_id, party };
    change_self(state, auth, cid, path, q, command).await
}

/// `GET /systemuser/agent/{party}/{systemUserId}/self?partyUuid=`: whether the agent
/// acts for its owner (`true`/`false`), as of now or of `at`.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemuser/agent/{party}/{id}/self", operation_id = "agent_is_self_delegated", tag = "Client delegation",
    summary = "Whether the party's own agent system user acts for the party", security(("bearer" = ["admin", "client-admin", "auditor"])),
    params(("partyUuid" = uuid::Uuid, Query, description = "The party's own party UUID"), AsOf),
    responses((status = 200, description = "`true` or `false`", content_type = "application/json", body = bool))
)]
pub async fn is_self_delegated(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams((party, id)): PathParams<(String, String)>,
    QueryParams(q): QueryParams<SelfQuery>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&altinn::READERS)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let (user, _) = own_agent(&model, who, &party, &id, &q)?;
    Ok(read(Value::Bool(user.acts_for_owner.is_some()), position))
}

/// This module's routes. Undocumented routes (`route`) are refused by the contract test;
/// each becomes a `routes!` of its annotated handlers.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(clients))
        .routes(routes!(delegations))
        .routes(routes!(revoke))
        .routes(routes!(is_self_delegated, delegate_self, revoke_self))
        .routes(routes!(delegate, super::systemusers::delete_agent))
}

// Documentation-only shapes of the bodies above (they are written with `json!`);
// Schemathesis checks every answer against them.

/// Altinn's `ExternalClientDto`: a client, and per role the packages it gives.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ExternalClientDto {
    party_uuid: Uuid,
    display_name: String,
    organization_identifier: String,
    access: Vec<ClientRoleAccessPackages>,
}

/// One role of a client and the packages it brings (short names).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ClientRoleAccessPackages {
    role: ClientRoleName,
    #[schema(example = json!(["revisormedarbeider"]))]
    packages: Vec<String>,
}

/// Access Management's name for the role that brought a package: a register role, or
/// the client's own delegation (`rettighetshaver`).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ClientRoleName {
    Revisor,
    Regnskapsforer,
    Forretningsforer,
    Rettighetshaver,
}

/// Altinn's `DelegationResponse`: one client of an agent system user.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AgentDelegationResponse {
    agent_system_user_id: Uuid,
    /// The client's party UUID.
    delegation_id: Uuid,
    /// The client's party UUID.
    customer_id: Uuid,
    /// Always the nil UUID.
    assignment_id: Uuid,
    /// On the list of delegations only.
    #[schema(nullable = false)]
    customer_name: Option<String>,
    /// On the list of delegations only.
    #[schema(nullable = false)]
    customer_organization_number: Option<String>,
}
