//! The ledger's native client links: an agent system user's clients, each with what its
//! link gives, and a link for only part of what the agent carries (NAV's scenarios:
//! "A06/A07 only"). Altinn's link takes no body and links a client to everything; these
//! run the same `LinkClient` command with a scope.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{AsOfParams, Auth, CorrelationId, JsonBody, PathParams};
use super::openapi::{AsOf, Correlation, Problem};
use super::register::NativeRight;
use super::views::time;
use super::{read, written, AppState, Snapshot};
use crate::auth::Role;
use crate::domain::events::Subset;
use crate::domain::ids::{OrgNo, PackageUrn};
use crate::domain::model::{Link, ReadModel};
use crate::domain::{Code, Command, Rejection};
use utoipa::ToSchema;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkBody {
    client: String,
    #[serde(default)]
    access_packages: Option<Vec<String>>,
    #[serde(default)]
    rights: Option<Vec<NativeRight>>,
}

impl LinkBody {
    /// Either list given, the link gives exactly what the two name; neither, everything.
    fn subset(&self) -> Result<Option<Subset>, Rejection> {
        if self.access_packages.is_none() && self.rights.is_none() {
            return Ok(None);
        }
        let packages = self.access_packages.iter().flatten().map(|p| PackageUrn::parse(p)).collect::<Result<_, _>>()?;
        let rights = self.rights.iter().flatten().map(NativeRight::parse).collect::<Result<_, _>>()?;
        Ok(Some(Subset { access_packages: packages, rights }))
    }
}

fn link_json(link: &Link) -> Value {
    let mut v = json!({
        "client": link.client_org_no.as_str(),
        "since": time(link.since),
        "eventId": link.event_id,
        "linkedBy": link.actor.id,
    });
    if let Some(subset) = &link.subset {
        v["accessPackages"] = json!(subset.access_packages);
        v["rights"] = json!(subset.rights);
    }
    v
}

fn agent_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| Rejection::new(Code::InvalidField, "the system user id is not a UUID").into())
}

#[utoipa::path(
    post, path = "/v1/system-users/{id}/clients", operation_id = "link_client_scoped", tag = "Client delegation",
    summary = "Link a client to an agent system user, for everything it carries or only part of it",
    description = "`accessPackages` and/or `rights` given: the link gives exactly those (each package the agent's, each right covered by one of the agent's), and the client must have given all of it to the agent's owner. Neither: everything, as Altinn's link. The same link again is 200 with nothing written; a link already there with another scope is 409 (unlink it first).",
    security(("bearer" = ["client-admin"])),
    params(("id" = uuid::Uuid, Path, description = "The agent system user's id"), Correlation),
    request_body = LinkRequest,
    responses(
        (status = 201, description = "Linked", body = ClientLink),
        (status = 200, description = "Already linked so; nothing written", body = ClientLink),
        (status = 404, description = "Names something the ledger does not know", content_type = "application/problem+json", body = Problem),
        (status = 409, description = "Conflicts with what the log holds", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn link(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(id): PathParams<String>,
    JsonBody(body): JsonBody<LinkBody>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::ClientAdmin])?;
    let agent = agent_id(&id)?;
    let client = OrgNo::parse(&body.client)?;
    let command = Command::LinkClient { agent, client: client.clone(), subset: body.subset()? };
    let w = state.execute(who, cid, command).await?;
    let status = if w.events.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    let link = state.ledger.model().link(&agent, &client).ok_or_else(|| {
        ApiError::Internal(format!("the link of {client} to {agent} is not in the read model after its write"))
    })?;
    Ok(written(status, link_json(&link), w.position))
}

#[utoipa::path(
    get, path = "/v1/system-users/{id}/clients", operation_id = "list_client_links", tag = "Client delegation",
    summary = "An agent system user's clients, each with what its link gives",
    security(("bearer" = ["admin", "client-admin", "auditor"])),
    params(("id" = uuid::Uuid, Path, description = "The agent system user's id"), AsOf),
    responses(
        (status = 200, description = "The links", body = ClientLinks),
        (status = 404, description = "Names something the ledger does not know", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let who = auth.require(&[Role::Admin, Role::ClientAdmin, Role::Auditor])?;
    let agent = agent_id(&id)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let user = model
        .system_user(&agent)
        .ok_or_else(|| Rejection::new(Code::SystemUserNotFound, format!("system user {agent} does not exist")))?;
    if who.role != Role::Auditor && who.org.as_ref() != Some(&user.owner_org_no) {
        return Err(
            Rejection::new(Code::NotOwner, "you may list only your own organisation's system users' clients").into()
        );
    }
    let data: Vec<Value> = model.links_of(&agent).iter().map(link_json).collect();
    Ok(read(json!({"systemUser": agent, "data": data}), position))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(link, list))
}

// Documentation-only shapes (no other members are taken).

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct LinkRequest {
    /// The client's organisation number.
    #[schema(example = "310000051")]
    client: String,
    /// Only these of the agent's access packages.
    #[schema(nullable = false)]
    access_packages: Option<Vec<String>>,
    /// Only these single rights, each covered by one of the agent's.
    #[schema(nullable = false)]
    rights: Option<Vec<NativeRight>>,
}

/// A client link, and the log position of the write.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ClientLink {
    client: String,
    since: String,
    event_id: Uuid,
    /// The person (or integration) that linked it.
    linked_by: String,
    /// Present on a link for part of what the agent carries (with `rights`).
    #[schema(nullable = false)]
    access_packages: Option<Vec<String>>,
    #[schema(nullable = false)]
    rights: Option<Vec<NativeRight>>,
    #[schema(nullable = false)]
    position: Option<u64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ClientLinks {
    system_user: Uuid,
    data: Vec<ClientLink>,
}
