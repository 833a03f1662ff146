//! Altinn's system register, `/authentication/api/v1/systemregister`, as Altinn's
//! `SystemRegisterController` answers (see `docs/altinn-contract.md`, section 2):
//! bodies read without regard to case, `200` with the internal id as a JSON string on
//! create, `{"succeeded":true}` on changes, Altinn's DTOs on reads, and its validation
//! problems (`STD-00000` with `AUTH.VLD-000nn`), plain-text and ASP.NET answers where
//! Altinn gives those.
//!
//! Every rule is the domain's; this module reads Altinn's shapes into commands and
//! renders the outcome, mapping the domain's stable codes to Altinn's answers in one
//! place ([`refusal`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::altinn::{self, paths, AltinnError, AltinnJson, PackageBody, RightBody, ValidationError, Vld};
use super::error::ApiError;
use super::extract::{AsOfParams, Auth, CorrelationId, PathParams, QueryParams};
use super::openapi::{AccessPackage, AsOf, LocalisedText, Problem, Right as RightDto};
use super::views::packages_json;
use super::{read, AppState, Snapshot};
use crate::auth::{Principal, Role};
use crate::domain::events::SystemDefinition;
use crate::domain::ids::{OrgNo, PackageUrn, ResourceId, Right, SystemId};
use crate::domain::model::{history, keys, Kv, ReadModel, System};
use crate::domain::rules::{self, SystemRules, SystemWrite};
use crate::domain::{Code, Command};
use utoipa::ToSchema;

/// Who reads the register through the portal: people, and auditors.
const PORTAL: [Role; 3] = [Role::Admin, Role::ClientAdmin, Role::Auditor];
/// The ISO 6523 prefix of a Norwegian organisation number in `vendor.ID`.
const ORG_PREFIX: &str = "0192:";

/// Altinn's `RegisterSystemRequest`, member names lower-cased (see [`AltinnJson`]).
#[derive(Deserialize)]
pub struct SystemBody {
    id: String,
    vendor: VendorBody,
    name: BTreeMap<String, String>,
    description: BTreeMap<String, String>,
    #[serde(default)]
    rights: Vec<RightBody>,
    #[serde(default)]
    accesspackages: Option<Vec<PackageBody>>,
    #[serde(default)]
    clientid: Vec<String>,
    #[serde(default = "visible")]
    isvisible: bool,
    #[serde(default)]
    allowedredirecturls: Vec<String>,
}

fn visible() -> bool {
    true
}

#[derive(Deserialize)]
pub struct VendorBody {
    id: String,
}

fn invalid(vld: Vld, path: &'static str, detail: Option<String>) -> AltinnError {
    AltinnError::invalid(vld, path, detail, "invalid_field")
}

fn not_found_text(system: &str) -> AltinnError {
    AltinnError::Text(StatusCode::NOT_FOUND, format!("System with ID '{system}' not found."))
}

/// The vendor a body names: `0192:<orgno>`, or Altinn's validation error.
fn vendor_of_body(id: &str) -> Result<OrgNo, AltinnError> {
    let bare =
        id.strip_prefix(ORG_PREFIX).ok_or_else(|| invalid(altinn::VLD_ORG_IDENTIFIER, paths::VENDOR_ID, None))?;
    OrgNo::parse(bare).map_err(|_| invalid(altinn::VLD_ORG_IDENTIFIER, paths::VENDOR_ID, None))
}

/// A system id as Altinn checks it: no spaces, and the vendor's number before `_`.
fn system_id_of_body(id: &str, vendor: &OrgNo) -> Result<SystemId, AltinnError> {
    if id.contains(char::is_whitespace) {
        return Err(invalid(altinn::VLD_SYSTEM_ID_SPACES, paths::SYSTEM_ID, None));
    }
    match SystemId::parse(id) {
        Ok(system) if system.vendor() == *vendor => Ok(system),
        _ => Err(invalid(altinn::VLD_SYSTEM_ID_FORMAT, paths::SYSTEM_ID, None)),
    }
}

fn rights_of_body(rights: &[RightBody]) -> Result<Vec<Right>, AltinnError> {
    rights
        .iter()
        .map(|r| {
            let bad = |detail: String| invalid(altinn::VLD_RESOURCE_ID_FORMAT, paths::RIGHTS, Some(detail));
            let [attribute] = r.resource.as_slice() else {
                return Err(bad("a right names exactly one resource".to_owned()));
            };
            if attribute.id != "urn:altinn:resource" {
                return Err(bad(crate::domain::ids::truncate(&attribute.id)));
            }
            let resource = ResourceId::parse(&attribute.value).map_err(|e| bad(e.message))?;
            let action = r.action.as_deref().map(crate::domain::ids::Action::parse).transpose();
            let action = action.map_err(|e| bad(e.message))?;
            Ok(Right { resource, action })
        })
        .collect()
}

fn packages_of_body(packages: &[PackageBody]) -> Result<Vec<PackageUrn>, AltinnError> {
    packages
        .iter()
        .map(|p| {
            let urn = p.urn.as_deref().unwrap_or("");
            PackageUrn::parse(urn)
                .map_err(|e| invalid(altinn::VLD_ACCESS_PACKAGE_NOT_VALID, paths::ACCESS_PACKAGES, Some(e.message)))
        })
        .collect()
}

fn definition(body: SystemBody) -> Result<SystemDefinition, AltinnError> {
    let vendor = vendor_of_body(&body.vendor.id)?;
    Ok(SystemDefinition {
        system_id: system_id_of_body(&body.id, &vendor)?,
        vendor_org_no: vendor,
        name: body.name,
        description: body.description,
        rights: rights_of_body(&body.rights)?,
        access_packages: packages_of_body(body.accesspackages.as_deref().unwrap_or_default())?,
        client_ids: body.clientid,
        allowed_redirect_urls: body.allowedredirecturls,
        is_visible: body.isvisible,
    })
}

/// What a write of the register is, for the answers that differ by action.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Update,
    Partial,
    Delete,
}

/// The validation error Altinn answers for a refusal of the system register's rules.
fn vld_of(code: Code) -> Option<(Vld, &'static str)> {
    Some(match code {
        Code::SystemExists => (altinn::VLD_SYSTEM_ID_EXISTS, paths::SYSTEM_ID),
        Code::UnknownResource => (altinn::VLD_RESOURCE_NOT_FOUND, paths::RIGHTS),
        Code::UnknownAccessPackage => (altinn::VLD_ACCESS_PACKAGE_NOT_VALID, paths::ACCESS_PACKAGES),
        Code::InvalidRedirectUrl => (altinn::VLD_REDIRECT_URL_FORMAT, paths::ALLOWED_REDIRECT_URLS),
        Code::DuplicateRight => (altinn::VLD_RESOURCE_DUPLICATES, paths::RIGHTS),
        Code::DuplicateAccessPackage => (altinn::VLD_ACCESS_PACKAGE_DUPLICATES, paths::ACCESS_PACKAGES),
        Code::ClientIdInUse => (altinn::VLD_CLIENT_ID_EXISTS, paths::CLIENT_ID),
        Code::DuplicateClientId => (altinn::VLD_CLIENT_ID_DUPLICATES, paths::CLIENT_ID),
        Code::ClientPackageOnVisibleSystem => (altinn::VLD_VISIBLE_WITH_CLIENT_PACKAGE, paths::ACCESS_PACKAGES),
        _ => return None,
    })
}

/// Every rule of the system register `def` breaks, as Altinn lists them in one
/// `STD-00000` problem; `None` when it breaks none, or one Altinn answers otherwise (a
/// body it cannot read, another vendor), which the command then refuses as it would.
fn all_problems<K: Kv + ?Sized>(
    model: &K,
    who: &Principal,
    def: &SystemDefinition,
    write: SystemWrite,
) -> Option<AltinnError> {
    let authority = who.authority()?;
    let problems = rules::system_problems(model, &authority, def, SystemRules::V2, write);
    let errors: Option<Vec<(Code, ValidationError)>> =
        problems.iter().map(|r| vld_of(r.code).map(|(vld, path)| (r.code, ValidationError::new(vld, path)))).collect();
    let mut errors = errors?;
    errors.sort_by_key(|(_, e)| ALTINN_ORDER.iter().position(|code| *code == e.vld.code));
    // The ledger's code rides along for the first error listed.
    let first = errors.first()?.0;
    Some(AltinnError::Validation(errors.into_iter().map(|(_, e)| e).collect(), Some(first.as_str())))
}

/// The order Altinn lists its validation errors in: the system itself, then its rights,
/// then its packages (`SystemRegisterController`'s `Validate…` methods, in turn).
const ALTINN_ORDER: [&str; 13] = [
    "AUTH.VLD-00013",
    "AUTH.VLD-00001",
    "AUTH.VLD-00002",
    "AUTH.VLD-00005",
    "AUTH.VLD-00004",
    "AUTH.VLD-00011",
    "AUTH.VLD-00009",
    "AUTH.VLD-00003",
    "AUTH.VLD-00017",
    "AUTH.VLD-00006",
    "AUTH.VLD-00008",
    "AUTH.VLD-00007",
    "AUTH.VLD-00018",
];

/// The one place where the domain's refusals become Altinn's answers.
fn refusal(e: ApiError, system: &str, action: Action) -> AltinnError {
    let ApiError::Rejected(r) = &e else { return e.into() };
    let code = r.code.as_str();
    let one = |vld, path| AltinnError::Validation(vec![ValidationError::new(vld, path)], Some(code));
    if let Some((vld, path)) = vld_of(r.code) {
        return one(vld, path);
    }
    match (r.code, action) {
        (Code::NotSystemVendor, _) => AltinnError::Forbidden,
        (Code::SystemNotFound, Action::Delete) => system_not_found_on_delete(),
        (Code::SystemNotFound, _) => not_found_text(system),
        (Code::SystemDeleted, _) => {
            AltinnError::Text(StatusCode::BAD_REQUEST, "Cannot update a system marked as deleted.".to_owned())
        }
        (Code::InvalidField, _) => {
            AltinnError::ModelState { path: "$".to_owned(), message: r.message.clone(), ledger_code: code }
        }
        _ => e.into(),
    }
}

/// Altinn's answer to deleting a system it does not know.
fn system_not_found_on_delete() -> AltinnError {
    AltinnError::ModelState {
        path: "return".to_owned(),
        message: "System not found".to_owned(),
        ledger_code: Code::SystemNotFound.as_str(),
    }
}

/// `{"succeeded":true}` with the ledger position in its header.
fn succeeded(position: u64) -> Response {
    let mut response = axum::Json(json!({"succeeded": true})).into_response();
    response.headers_mut().insert("ledger-position", axum::http::HeaderValue::from(position));
    response
}

/// The internal id Altinn gives a system: here, the id of the event that registered it.
pub(crate) fn internal_id<K: Kv + ?Sized>(model: &K, system: &SystemId) -> Option<uuid::Uuid> {
    let first = history::read_versions(model, &keys::system(system)).into_iter().next()?;
    model.outcome(first.0).map(|o| o.event_id)
}

fn right_json(r: &Right) -> Value {
    super::views::right_json(r)
}

/// Altinn's `RegisteredSystemResponse`: what the vendor reads.
fn vendor_view(s: &System) -> Value {
    let d = &s.definition;
    json!({
        "id": d.system_id.as_str(),
        "vendor": {"ID": format!("{ORG_PREFIX}{}", d.vendor_org_no)},
        "name": d.name,
        "description": d.description,
        "rights": d.rights.iter().map(right_json).collect::<Vec<_>>(),
        "accessPackages": packages_json(&d.access_packages),
        "isDeleted": s.deleted.is_some(),
        "clientId": d.client_ids,
        "isVisible": d.is_visible,
        "allowedRedirectUrls": d.allowed_redirect_urls,
    })
}

/// Altinn's `RegisteredSystemDTO`: what the portal and the vendor's list show.
fn listed_view(s: &System) -> Value {
    let d = &s.definition;
    json!({
        "systemId": d.system_id.as_str(),
        "systemVendorOrgNumber": d.vendor_org_no.as_str(),
        "systemVendorOrgName": "",
        "name": d.name,
        "description": d.description,
        "rights": d.rights.iter().map(right_json).collect::<Vec<_>>(),
        "accessPackages": packages_json(&d.access_packages),
        "isVisible": d.is_visible,
    })
}

/// The calling vendor, or Altinn's empty 403.
fn vendor_org(who: &Principal) -> Result<OrgNo, AltinnError> {
    who.org.clone().ok_or(AltinnError::Forbidden)
}

/// The caller's own system, or Altinn's empty 403.
fn owned(who: &Principal, system: &System) -> Result<(), AltinnError> {
    if who.org.as_ref() == Some(&system.definition.vendor_org_no) {
        Ok(())
    } else {
        Err(AltinnError::Forbidden)
    }
}

fn no_store(body: Value, position: u64) -> Response {
    let mut response = read(body, position);
    let headers = response.headers_mut();
    headers.insert("cache-control", axum::http::HeaderValue::from_static("no-store, no-cache"));
    headers.insert("pragma", axum::http::HeaderValue::from_static("no-cache"));
    response
}

/// `GET /systemregister`: every visible, live system.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemregister", operation_id = "systemregister_list", tag = "System register",
    summary = "Every visible, live system", security(("bearer" = ["admin", "client-admin", "auditor"])), params(AsOf),
    responses((status = 200, description = "Visible, live systems", body = Vec<RegisteredSystemDto>))
)]
pub async fn list(State(state): State<AppState>, auth: Auth, AsOfParams(at): AsOfParams) -> Result<Response, ApiError> {
    auth.require(&PORTAL)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let systems: Vec<Value> =
        model.systems().iter().filter(|s| s.deleted.is_none() && s.definition.is_visible).map(listed_view).collect();
    Ok(no_store(Value::Array(systems), position))
}

/// `GET /systemregister/vendor`: the calling vendor's live systems, hidden ones too.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemregister/vendor", operation_id = "systemregister_vendor_list", tag = "System register",
    summary = "The calling vendor's live systems, hidden ones too", security(("bearer" = ["vendor"])), params(AsOf),
    responses((status = 200, description = "The vendor's live systems", body = Vec<RegisteredSystemDto>))
)]
pub async fn list_for_vendor(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let vendor = vendor_org(who)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let systems: Vec<Value> =
        model.scan_systems_of_vendor(&vendor).iter().filter(|s| s.deleted.is_none()).map(listed_view).collect();
    Ok(no_store(Value::Array(systems), position))
}

fn system_of<K: Kv + ?Sized>(model: &K, id: &str) -> Option<System> {
    SystemId::parse(id).ok().and_then(|id| model.system(&id))
}

/// `GET /systemregister/{systemId}`: one system as the portal shows it (deleted too).
#[utoipa::path(
    get, path = "/authentication/api/v1/systemregister/{system_id}", operation_id = "systemregister_get", tag = "System register",
    summary = "One system as the portal shows it (deleted ones too)", security(("bearer" = ["admin", "client-admin", "auditor"])), params(AsOf),
    responses(
        (status = 200, description = "The system", body = RegisteredSystemDto),
        (status = 404, description = "No such system", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_listed(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    auth.require(&PORTAL)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let system = system_of(&model, &id).ok_or(AltinnError::NotFound(Code::SystemNotFound.as_str()))?;
    Ok(read(listed_view(&system), position))
}

/// `GET /systemregister/vendor/{systemId}`: the vendor's own system, in full.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemregister/vendor/{system_id}", operation_id = "systemregister_vendor_get", tag = "System register",
    summary = "The vendor's own system, in full", security(("bearer" = ["vendor"])), params(AsOf),
    responses(
        (status = 200, description = "The system", body = RegisteredSystemResponse),
        (status = 404, description = "No such system", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn get_for_vendor(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let system = system_of(&model, &id).ok_or(AltinnError::NotFound(Code::SystemNotFound.as_str()))?;
    owned(who, &system)?;
    Ok(read(vendor_view(&system), position))
}

#[derive(Deserialize)]
pub struct RightsQuery {
    #[serde(default, rename = "useOldFormatForApp")]
    use_old_format_for_app: Option<bool>,
}

/// Altinn's older form of an app right: `urn:altinn:org` and `urn:altinn:app` instead
/// of the resource `app_<org>_<app>`.
fn old_format(r: &Right) -> Value {
    let mut v = right_json(r);
    if let Some((org, app)) = r.resource.as_str().strip_prefix("app_").and_then(|rest| rest.split_once('_')) {
        v["resource"] = json!([{"id": "urn:altinn:org", "value": org}, {"id": "urn:altinn:app", "value": app}]);
    }
    v
}

/// `GET /systemregister/{systemId}/rights`: `[]` for a system that does not exist.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemregister/{system_id}/rights", operation_id = "systemregister_rights", tag = "System register",
    summary = "A system's rights; `[]` for a system that does not exist", security(("bearer" = ["admin", "client-admin", "auditor"])),
    params(("useOldFormatForApp" = Option<bool>, Query, description = "Altinn's older shape of app rights"), AsOf),
    responses((status = 200, description = "The system's rights", body = Vec<RightDto>))
)]
pub async fn get_rights(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<RightsQuery>,
) -> Result<Response, ApiError> {
    auth.require(&PORTAL)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let render = if q.use_old_format_for_app == Some(true) { old_format } else { right_json };
    let rights = system_of(&model, &id).map(|s| s.definition.rights.iter().map(render).collect()).unwrap_or_default();
    Ok(read(Value::Array(rights), position))
}

/// `GET /systemregister/{systemId}/accesspackages`: `[]` for a system that does not exist.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemregister/{system_id}/accesspackages", operation_id = "systemregister_packages", tag = "System register",
    summary = "A system's access packages; `[]` for a system that does not exist", security(("bearer" = ["admin", "client-admin", "auditor"])), params(AsOf),
    responses((status = 200, description = "The system's access packages", body = Vec<AccessPackage>))
)]
pub async fn get_packages(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    auth.require(&PORTAL)?;
    let Snapshot { model, position, .. } = state.view(at)?;
    let packages = system_of(&model, &id).map(|s| packages_json(&s.definition.access_packages));
    Ok(read(packages.unwrap_or(Value::Array(Vec::new())), position))
}

/// `POST /systemregister/vendor`: 200 with the new system's internal id as a string.
#[utoipa::path(
    post, path = "/authentication/api/v1/systemregister/vendor", operation_id = "systemregister_create", tag = "System register",
    summary = "Register a system", description = "Every broken rule is answered at once, as Altinn's STD-00000 problem.",
    security(("bearer" = ["vendor"])), request_body = RegisterSystemRequest,
    responses(
        (status = 200, description = "The new system's internal id", content_type = "application/json", body = String, example = json!("0195c1e2-0000-7000-8000-000000000001")),
        (status = 409, description = "The id was taken by a concurrent write", content_type = "application/problem+json", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    body: Result<AltinnJson<SystemBody>, AltinnError>,
) -> Result<Response, AltinnError> {
    // As ASP.NET does: who may call is settled before the body is read.
    let who = auth.require(&[Role::Vendor])?;
    let AltinnJson(body) = body?;
    let id = body.id.clone();
    let def = definition(body)?;
    if let Some(all) = all_problems(state.ledger.model(), who, &def, SystemWrite::Register) {
        return Err(all);
    }
    let w = state.execute(who, cid, Command::RegisterSystem(def)).await.map_err(|e| refusal(e, &id, Action::Create))?;
    let internal = w.events.first().map(|e| e.id.to_string()).unwrap_or_default();
    let mut response = axum::Json(Value::String(internal)).into_response();
    response.headers_mut().insert("ledger-position", axum::http::HeaderValue::from(w.position));
    Ok(response)
}

/// `PUT /systemregister/vendor/{systemId}`: the whole definition again.
#[utoipa::path(
    put, path = "/authentication/api/v1/systemregister/vendor/{system_id}", operation_id = "systemregister_update", tag = "System register",
    summary = "Replace a system's whole definition", security(("bearer" = ["vendor"])), request_body = RegisterSystemRequest,
    responses(
        (status = 400, description = "Bad input (a problem document), or a system marked as deleted (text, as Altinn words it)", content(
            (Problem = "application/problem+json"),
            (String = "text/plain"),
        )),
        (status = 200, description = "Updated", body = Succeeded),
        (status = 404, description = "No such system", content_type = "text/plain", body = String),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(system_id): PathParams<String>,
    body: Result<AltinnJson<SystemBody>, AltinnError>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let AltinnJson(body) = body?;
    let stored = system_of(state.ledger.model(), &system_id).ok_or_else(|| not_found_text(&system_id))?;
    owned(who, &stored)?;
    // The vendor cannot be changed: Altinn answers as if the system were not there.
    if body.vendor.id != format!("{ORG_PREFIX}{}", stored.definition.vendor_org_no) {
        return Err(not_found_text(&system_id));
    }
    if body.id != system_id {
        return Err(invalid(altinn::VLD_SYSTEM_ID_MISMATCH, paths::SYSTEM_ID, None));
    }
    let def = definition(body)?;
    if let Some(all) = all_problems(state.ledger.model(), who, &def, SystemWrite::Update) {
        return Err(all);
    }
    let w = state.execute(who, cid, Command::UpdateSystem(def)).await;
    Ok(succeeded(w.map_err(|e| refusal(e, &system_id, Action::Update))?.position))
}

/// The stored definition, changed by `change`, as a `PUT` of one list makes it.
async fn update_part(
    state: AppState,
    who: &Principal,
    cid: Option<String>,
    system_id: String,
    change: impl FnOnce(&mut SystemDefinition),
) -> Result<Response, AltinnError> {
    let stored = system_of(state.ledger.model(), &system_id).ok_or_else(|| not_found_text(&system_id))?;
    owned(who, &stored)?;
    let mut def = stored.definition;
    change(&mut def);
    if let Some(all) = all_problems(state.ledger.model(), who, &def, SystemWrite::Update) {
        return Err(all);
    }
    let w = state.execute(who, cid, Command::UpdateSystem(def)).await;
    Ok(succeeded(w.map_err(|e| refusal(e, &system_id, Action::Partial))?.position))
}

/// `PUT /systemregister/vendor/{systemId}/rights`: the system's rights, replaced.
#[utoipa::path(
    put, path = "/authentication/api/v1/systemregister/vendor/{system_id}/rights", operation_id = "systemregister_put_rights", tag = "System register",
    summary = "Replace a system's rights", security(("bearer" = ["vendor"])), request_body = Vec<RightDto>,
    responses(
        (status = 400, description = "Bad input (a problem document), or a system marked as deleted (text, as Altinn words it)", content(
            (Problem = "application/problem+json"),
            (String = "text/plain"),
        )),
        (status = 200, description = "Updated", body = Succeeded),
        (status = 404, description = "No such system", content_type = "text/plain", body = String),
    )
)]
pub async fn put_rights(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(system_id): PathParams<String>,
    body: Result<AltinnJson<Vec<RightBody>>, AltinnError>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let AltinnJson(body) = body?;
    let rights = rights_of_body(&body)?;
    update_part(state.clone(), who, cid, system_id, |d| d.rights = rights).await
}

/// `PUT /systemregister/vendor/{systemId}/accesspackages`: the system's packages, replaced.
#[utoipa::path(
    put, path = "/authentication/api/v1/systemregister/vendor/{system_id}/accesspackages", operation_id = "systemregister_put_packages", tag = "System register",
    summary = "Replace a system's access packages", security(("bearer" = ["vendor"])), request_body = Vec<AccessPackage>,
    responses(
        (status = 400, description = "Bad input (a problem document), or a system marked as deleted (text, as Altinn words it)", content(
            (Problem = "application/problem+json"),
            (String = "text/plain"),
        )),
        (status = 200, description = "Updated", body = Succeeded),
        (status = 404, description = "No such system", content_type = "text/plain", body = String),
    )
)]
pub async fn put_packages(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(system_id): PathParams<String>,
    body: Result<AltinnJson<Vec<PackageBody>>, AltinnError>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let AltinnJson(body) = body?;
    let packages = packages_of_body(&body)?;
    update_part(state.clone(), who, cid, system_id, |d| d.access_packages = packages).await
}

/// `DELETE /systemregister/vendor/{systemId}`: the system is deleted (its record stays).
#[utoipa::path(
    delete, path = "/authentication/api/v1/systemregister/vendor/{system_id}", operation_id = "systemregister_delete", tag = "System register",
    summary = "Delete a system (its record stays on the log)", security(("bearer" = ["vendor"])),
    responses(
        (status = 200, description = "Deleted", body = Succeeded),
        (status = 400, description = "Bad input (a problem document), or a system marked as deleted (text, as Altinn words it)", content(
            (Problem = "application/problem+json"),
            (String = "text/plain"),
        )),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    CorrelationId(cid): CorrelationId,
    PathParams(system_id): PathParams<String>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let stored = system_of(state.ledger.model(), &system_id).ok_or_else(system_not_found_on_delete)?;
    owned(who, &stored)?;
    let w = state.execute(who, cid, Command::DeleteSystem(stored.definition.system_id)).await;
    Ok(succeeded(w.map_err(|e| refusal(e, &system_id, Action::Delete))?.position))
}

/// `GET /systemregister/vendor/{systemId}/changelog`: every change, newest first, from
/// the system's history on the log.
#[utoipa::path(
    get, path = "/authentication/api/v1/systemregister/vendor/{system_id}/changelog", operation_id = "systemregister_changelog", tag = "System register",
    summary = "Every change of a system, newest first, from its history on the log", security(("bearer" = ["vendor"])), params(AsOf),
    responses(
        (status = 200, description = "The changes", body = Vec<SystemChange>),
        (status = 404, description = "No such system", content_type = "text/plain", body = String),
    )
)]
pub async fn changelog(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    PathParams(system_id): PathParams<String>,
) -> Result<Response, AltinnError> {
    let who = auth.require(&[Role::Vendor])?;
    let Snapshot { model, position, .. } = state.view(at)?;
    // Altinn words this one without quotes around the id.
    let not_found = || AltinnError::Text(StatusCode::NOT_FOUND, format!("System with ID {system_id} not found."));
    let system = system_of(&model, &system_id).ok_or_else(not_found)?;
    owned(who, &system)?;
    let internal = internal_id(&model, &system.definition.system_id);
    let subject = crate::domain::events::subject::system(&system.definition.system_id);
    let prefix = keys::by_subject(&subject);
    let mut entries = Vec::new();
    let mut previous: Option<Value> = None;
    let applied: Vec<(u64, crate::domain::model::Outcome)> = model
        .scan_prefix(&prefix)
        .into_iter()
        .map(|(key, _)| keys::index_in(&key).expect("an audit posting ends in its index"))
        .filter_map(|index| model.outcome(index).filter(|o| o.void.is_none()).map(|o| (index, o)))
        .collect();
    let data = state.changed(&applied.iter().map(|(index, _)| *index).collect::<Vec<_>>())?;
    for ((_, outcome), data) in applied.into_iter().zip(data) {
        let (change_type, changed) = change_of(&outcome.type_name, &data, previous.as_ref());
        if outcome.type_name != "ledger.system.deleted.v1" {
            previous = Some(data);
        }
        let mut entry = json!({
            "systemInternalId": internal,
            "changeType": change_type,
            "created": super::views::time(outcome.effective_time),
        });
        if let Some(org) = &outcome.on_behalf_of {
            entry["changedByOrgNumber"] = json!(org.as_str());
        }
        if let Some(changed) = changed {
            entry["changedData"] = changed;
        }
        entries.push(entry);
    }
    entries.reverse();
    Ok(read(Value::Array(entries), position))
}

/// Altinn's change type of one applied event and what it changed, in the PascalCase
/// Altinn stored it in: the whole definition, or the one list a `PUT` replaced.
fn change_of(type_name: &str, data: &Value, previous: Option<&Value>) -> (&'static str, Option<Value>) {
    match type_name {
        "ledger.system.registered.v1" | "ledger.system.registered.v2" => ("create", Some(pascal_definition(data))),
        "ledger.system.deleted.v1" => ("delete", None),
        _ => {
            let differs = |member: &str| previous.is_none_or(|p| p.get(member) != data.get(member));
            let others = ["name", "description", "clientIds", "allowedRedirectUrls", "isVisible"];
            let rest_same = !others.iter().any(|m| differs(m));
            match (differs("rights"), differs("accessPackages")) {
                (true, false) if rest_same => ("rightsupdate", Some(pascal_rights(data))),
                (false, true) if rest_same => ("accesspackageupdate", Some(pascal_packages(data))),
                _ => ("update", Some(pascal_definition(data))),
            }
        }
    }
}

fn pascal_rights(data: &Value) -> Value {
    let rights = data.get("rights").and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(
        rights
            .iter()
            .map(|r| {
                json!({"Action": r.get("action").cloned().unwrap_or(Value::Null),
                       "Resource": [{"id": "urn:altinn:resource", "value": r.get("resource").cloned().unwrap_or(Value::Null)}]})
            })
            .collect(),
    )
}

fn pascal_packages(data: &Value) -> Value {
    let packages = data.get("accessPackages").and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(packages.iter().map(|p| json!({"Urn": p})).collect())
}

fn pascal_definition(data: &Value) -> Value {
    let vendor = data.get("vendorOrgNo").and_then(Value::as_str).unwrap_or_default();
    json!({
        "Id": data.get("systemId"),
        "Vendor": {"ID": format!("{ORG_PREFIX}{vendor}")},
        "Name": data.get("name"),
        "Description": data.get("description"),
        "Rights": pascal_rights(data),
        "AccessPackages": pascal_packages(data),
        "ClientId": data.get("clientIds"),
        "IsVisible": data.get("isVisible"),
        "AllowedRedirectUrls": data.get("allowedRedirectUrls"),
    })
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(list_for_vendor, create))
        .routes(routes!(get_listed))
        .routes(routes!(get_for_vendor, update, delete))
        .routes(routes!(get_rights))
        .routes(routes!(get_packages))
        .routes(routes!(put_rights))
        .routes(routes!(put_packages))
        .routes(routes!(changelog))
}

// Documentation-only shapes of the bodies above (they are written with `json!`);
// Schemathesis checks every answer against them.

/// Altinn's `RegisteredSystemDTO`: what the portal and the vendor's list show.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase", as = RegisteredSystemDTO)]
#[allow(dead_code)]
pub struct RegisteredSystemDto {
    #[schema(example = "310000019_maestro")]
    system_id: String,
    system_vendor_org_number: String,
    system_vendor_org_name: String,
    name: LocalisedText,
    description: LocalisedText,
    rights: Vec<RightDto>,
    access_packages: Vec<AccessPackage>,
    is_visible: bool,
}

/// Altinn's `RegisteredSystemResponse`: the vendor's own system in full.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RegisteredSystemResponse {
    id: String,
    vendor: Vendor,
    name: LocalisedText,
    description: LocalisedText,
    rights: Vec<RightDto>,
    access_packages: Vec<AccessPackage>,
    is_deleted: bool,
    client_id: Vec<String>,
    is_visible: bool,
    allowed_redirect_urls: Vec<String>,
}

/// Altinn's `RegisterSystemRequest`. Member names are read without regard to case, as
/// ASP.NET reads them; unknown members are ignored.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RegisterSystemRequest {
    /// `<vendor org number>_<name>`, no spaces; the number is the vendor's own.
    #[schema(example = "310000019_maestro", min_length = 11, max_length = 200, pattern = r"^[0-9]{9}_\S+$")]
    id: String,
    vendor: Vendor,
    name: LocalisedText,
    description: LocalisedText,
    #[schema(nullable = false)]
    rights: Option<Vec<RightDto>>,
    #[schema(nullable = false)]
    access_packages: Option<Vec<AccessPackage>>,
    #[schema(nullable = false)]
    client_id: Option<Vec<String>>,
    /// Defaults to `true`; a system with client packages must be `false`.
    #[schema(nullable = false)]
    is_visible: Option<bool>,
    #[schema(nullable = false)]
    allowed_redirect_urls: Option<Vec<String>>,
}

/// The vendor, as `0192:<org number>`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Vendor {
    #[schema(rename = "ID", example = "0192:310000019", pattern = "^0192:[0-9]{9}$")]
    id: String,
}

/// `{"succeeded": true}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Succeeded {
    succeeded: bool,
}

/// One entry of a system's changelog.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SystemChange {
    system_internal_id: Option<uuid::Uuid>,
    #[schema(example = "create")]
    change_type: ChangeType,
    created: String,
    #[schema(nullable = false)]
    changed_by_org_number: Option<String>,
    /// What changed, in the PascalCase Altinn stored it in.
    #[schema(nullable = false)]
    changed_data: Option<serde_json::Value>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ChangeType {
    Create,
    Update,
    Rightsupdate,
    Accesspackageupdate,
    Delete,
}
