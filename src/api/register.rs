//! Native endpoints for facts that come from upstream registers: parties, access
//! packages, resource policies and client relationships.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{AsOfParams, Auth, CorrelationId, JsonBody, PathParams, QueryParams};
use super::openapi::{AsOf, Correlation, Problem};
use super::views::time;
use super::{read, written, AppState, Snapshot};
use crate::auth::Role;
use crate::domain::events::{
    AccessPackageDefined, ClientRelationshipGranted, ClientRelationshipRevoked, PartyRegistered, PolicyRule,
    ResourcePolicyPublished,
};
use crate::domain::ids::{Action, OrgNo, PackageUrn, RegisterRole, ResourceId, Right};
use crate::domain::model::Kv;
use crate::domain::model::ReadModel;
use crate::domain::{Code, Command, Rejection};
use utoipa::ToSchema;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartyBody {
    org_no: String,
    party_id: i64,
    party_uuid: String,
    name: String,
}

#[utoipa::path(
    post, path = "/v1/parties", operation_id = "register_party", tag = "Register",
    summary = "Record a party from the Central Coordinating Register", security(("bearer" = ["register"])),
    params(Correlation), request_body = PartyRequest,
    responses(
        (status = 201, description = "Recorded", body = PartyRecorded),
        (status = 200, description = "Already recorded exactly so; nothing written", body = PartyRecorded),
        (status = 409, description = "Conflicts with what the log holds", content_type = "application/problem+json", body = Problem),
    )
)]
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

#[utoipa::path(
    post, path = "/v1/access-packages", operation_id = "define_access_package", tag = "Register",
    summary = "Define an access package", security(("bearer" = ["register"])),
    params(Correlation), request_body = PackageRequest,
    responses(
        (status = 201, description = "Defined", body = PackageDefined),
        (status = 200, description = "Already defined exactly so; nothing written", body = PackageDefined),
        (status = 409, description = "Conflicts with what the log holds", content_type = "application/problem+json", body = Problem),
    )
)]
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
    #[serde(default)]
    title: Title,
    rules: Vec<RuleBody>,
    #[serde(default)]
    minimum_authentication_level: Option<u8>,
}

/// A resource's title in Altinn's resource registry's three languages; any may be left out.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Title {
    #[schema(example = "Krav og betalinger")]
    nb: Option<String>,
    nn: Option<String>,
    #[schema(example = "Claims and payments")]
    en: Option<String>,
}

impl Title {
    fn into_map(self) -> BTreeMap<String, String> {
        [("nb", self.nb), ("nn", self.nn), ("en", self.en)]
            .into_iter()
            .filter_map(|(lang, text)| Some((lang.to_owned(), text?)))
            .collect()
    }
}

fn policy_json(p: &ResourcePolicyPublished) -> serde_json::Value {
    json!({
        "resourceId": p.resource_id.as_str(),
        "title": p.title,
        "rules": p.rules,
        "minimumAuthenticationLevel": p.minimum_authentication_level,
    })
}

#[utoipa::path(
    put, path = "/v1/resources/{resource_id}/policy", operation_id = "publish_policy", tag = "Register",
    summary = "Publish a resource's policy (its service owner only)", security(("bearer" = ["service-owner"])),
    params(Correlation), request_body = PolicyRequest,
    responses((status = 200, description = "Published", body = PolicyPublished), (status = 404, description = "Names something the ledger does not know", content_type = "application/problem+json", body = Problem), (status = 409, description = "Conflicts with what the log holds", content_type = "application/problem+json", body = Problem))
)]
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
        title: body.title.into_map(),
        rules,
        minimum_authentication_level: body.minimum_authentication_level,
    };
    let response = policy_json(&policy);
    let w = state.execute(who, cid, Command::PublishPolicy(policy)).await?;
    Ok(written(StatusCode::OK, response, w.position))
}

#[utoipa::path(
    get, path = "/v1/resources/{resource_id}/policy", operation_id = "get_policy", tag = "Register",
    summary = "A resource's published policy", security(("bearer" = ["service-owner", "vendor", "auditor", "pdp"])),
    params(AsOf),
    responses((status = 200, description = "The policy", body = StoredPolicy), (status = 404, description = "Names something the ledger does not know", content_type = "application/problem+json", body = Problem))
)]
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
        "title": policy.title,
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
    #[serde(default)]
    rights: Vec<NativeRight>,
}

/// A single right as the ledger's own endpoints spell it: a resource, optionally one
/// action (Altinn's endpoints take its `Right` shape instead).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NativeRight {
    #[schema(example = "nav-a-ordning-avstemming")]
    resource: String,
    #[schema(nullable = false, example = "read")]
    #[serde(default)]
    action: Option<String>,
}

impl NativeRight {
    pub(super) fn parse(&self) -> Result<Right, Rejection> {
        Ok(Right {
            resource: ResourceId::parse(&self.resource)?,
            action: self.action.as_deref().map(Action::parse).transpose()?,
        })
    }
}

#[utoipa::path(
    post, path = "/v1/client-relationships", operation_id = "grant_relationship", tag = "Register",
    summary = "A client relationship: a register role (REGN, REVI, FFOR), or packages or single rights a client delegates",
    security(("bearer" = ["register", "admin"])), params(Correlation), request_body = RelationshipRequest,
    responses(
        (status = 201, description = "Granted", body = RelationshipGranted),
        (status = 200, description = "Already granted; nothing written", body = RelationshipGranted),
        (status = 404, description = "Names something the ledger does not know", content_type = "application/problem+json", body = Problem), (status = 409, description = "Conflicts with what the log holds", content_type = "application/problem+json", body = Problem),
    )
)]
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
        rights: body.rights.iter().map(NativeRight::parse).collect::<Result<_, _>>()?,
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
    let rights: Vec<_> = rel
        .iter()
        .flat_map(|r| r.rights.iter())
        .map(|g| json!({"right": g.right, "since": time(g.since), "eventId": g.event_id}))
        .collect();
    json!({"client": client.as_str(), "facilitator": facilitator.as_str(), "grants": grants, "rights": rights})
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
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

#[utoipa::path(
    delete, path = "/v1/client-relationships", operation_id = "revoke_relationship", tag = "Register",
    summary = "End a client relationship (or one role or package of it); clients it carried are unlinked",
    security(("bearer" = ["register", "admin"])),
    params(
        ("client" = String, Query, description = "The client's organisation number"),
        ("facilitator" = String, Query, description = "The facilitator's organisation number"),
        ("role" = Option<String>, Query, description = "Only this register role (REGN, REVI, FFOR)"),
        ("accessPackage" = Option<String>, Query, description = "Only this delegated package"),
        ("resource" = Option<String>, Query, description = "Only the single right the client delegated on this resource (with `action`, the one for that action)"),
        ("action" = Option<String>, Query, description = "With `resource`: the delegated right's action"),
        Correlation,
    ),
    responses((status = 200, description = "Revoked", body = RevokedRelationship), (status = 404, description = "Names something the ledger does not know", content_type = "application/problem+json", body = Problem), (status = 409, description = "Conflicts with what the log holds", content_type = "application/problem+json", body = Problem))
)]
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
        right: match (&q.resource, &q.action) {
            (None, None) => None,
            (Some(resource), action) => {
                Some(NativeRight { resource: resource.clone(), action: action.clone() }.parse()?)
            }
            (None, Some(_)) => {
                return Err(Rejection::new(Code::InvalidField, "action names a right only with its resource").into())
            }
        },
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

#[utoipa::path(
    get, path = "/v1/client-relationships", operation_id = "list_relationships", tag = "Register",
    summary = "A facilitator's client relationships", security(("bearer" = ["register", "admin", "client-admin", "auditor"])),
    params(("facilitator" = String, Query, description = "The facilitator's organisation number"), AsOf),
    responses((status = 200, description = "The relationships", body = RelationshipList))
)]
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

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(register_party))
        .routes(routes!(define_access_package))
        .routes(routes!(publish_policy, get_policy))
        .routes(routes!(grant_relationship, revoke_relationship, list_relationships))
}

// Documentation-only shapes of the bodies above (no other members are taken);
// Schemathesis checks every answer against them.

/// A party, as the Central Coordinating Register gives it.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PartyRequest {
    #[schema(example = "310000035", pattern = "^[0-9]{9}$")]
    org_no: String,
    #[schema(example = 50003)]
    party_id: i64,
    party_uuid: uuid::Uuid,
    name: String,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PackageRequest {
    #[schema(example = "urn:altinn:accesspackage:skattegrunnlag")]
    urn: String,
    assignable: bool,
    delegable: bool,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PolicyRequest {
    /// What a person is shown for the resource (the request pages); absent: its id.
    title: Option<Title>,
    rules: Vec<Rule>,
    #[schema(nullable = false, minimum = 0, maximum = 255)]
    minimum_authentication_level: Option<u8>,
}

/// Holders of `accessPackage` (or of a single right on the resource, `right`) may do
/// `actions`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Rule {
    #[schema(nullable = false)]
    access_package: Option<String>,
    #[schema(nullable = false)]
    right: Option<bool>,
    #[schema(example = json!(["read", "write"]))]
    actions: Vec<String>,
}

/// A party as recorded, and the log position of the write.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PartyRecorded {
    org_no: String,
    party_id: i64,
    party_uuid: uuid::Uuid,
    name: String,
    position: u64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PackageDefined {
    urn: String,
    assignable: bool,
    delegable: bool,
    position: u64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PolicyPublished {
    resource_id: String,
    /// By language code (`nb`, `nn`, `en`); empty when the policy was published without.
    title: BTreeMap<String, String>,
    rules: Vec<Rule>,
    minimum_authentication_level: Option<u8>,
    position: u64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct StoredPolicy {
    resource_id: String,
    /// By language code (`nb`, `nn`, `en`); empty when the policy was published without.
    title: BTreeMap<String, String>,
    rules: Vec<Rule>,
    minimum_authentication_level: Option<u8>,
    /// The service owner that first published it; only it may publish again.
    owner: Option<String>,
    /// The event that published this version.
    event_id: uuid::Uuid,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RelationshipRequest {
    #[schema(example = "310000043")]
    client: String,
    #[schema(example = "310000051")]
    facilitator: String,
    #[schema(nullable = false, example = "REGN")]
    role: Option<String>,
    #[schema(nullable = false)]
    access_packages: Option<Vec<String>>,
    /// Single rights the client delegates (never with a role); NAV's "only A06/A07".
    #[schema(nullable = false)]
    rights: Option<Vec<NativeRight>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RelationshipDto {
    client: String,
    facilitator: String,
    grants: Vec<GrantDto>,
    rights: Vec<RightGrantDto>,
}

/// A single right a client delegated.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = RightGrant)]
#[allow(dead_code)]
pub struct RightGrantDto {
    right: NativeRight,
    since: String,
    event_id: uuid::Uuid,
}

/// One grant of a relationship: a package, carried by a register role or delegated.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = Grant)]
#[allow(dead_code)]
pub struct GrantDto {
    role: Option<String>,
    access_package: String,
    since: String,
    event_id: uuid::Uuid,
}

/// The relationship after the grant, and the log position of the write.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RelationshipGranted {
    client: String,
    facilitator: String,
    grants: Vec<GrantDto>,
    rights: Vec<RightGrantDto>,
    position: u64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RevokedRelationship {
    client: String,
    facilitator: String,
    grants: Vec<GrantDto>,
    rights: Vec<RightGrantDto>,
    /// Client links that ended with the relationship.
    clients_unlinked: u64,
    position: u64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RelationshipList {
    facilitator: String,
    data: Vec<RelationshipDto>,
}
