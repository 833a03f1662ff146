//! The static pages for people (the auditor's view, the API reference at `/api/`; the
//! customer's pages are [`super::portal`]) and the OpenAPI document they and clients read.
//! Each page is served with a policy that lets it load only this origin's scripts and
//! styles, so no page depends on a CDN. This module knows no rule and no model.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::extract::PathParams;
use super::openapi::Problem;
use super::AppState;

const AUDIT_HTML: &str = include_str!("ui/audit.html");
const AUDIT_JS: &str = include_str!("ui/audit.js");
const AUDIT_CSS: &str = include_str!("ui/audit.css");
const API_HTML: &str = include_str!("ui/api.html");
const API_JS: &str = include_str!("ui/api.js");

/// The JSON Schemas of the log's events (`schemas/`), served as they are in the source.
const EVENT_SCHEMAS: &[(&str, &str)] = &[
    ("cloudevent", include_str!("../../schemas/cloudevent.json")),
    ("ledger.accesspackage.defined.v1", include_str!("../../schemas/ledger.accesspackage.defined.v1.json")),
    ("ledger.client.linked.v1", include_str!("../../schemas/ledger.client.linked.v1.json")),
    ("ledger.client.linked.v2", include_str!("../../schemas/ledger.client.linked.v2.json")),
    ("ledger.client.unlinked.v1", include_str!("../../schemas/ledger.client.unlinked.v1.json")),
    ("ledger.clientrelationship.granted.v1", include_str!("../../schemas/ledger.clientrelationship.granted.v1.json")),
    ("ledger.clientrelationship.granted.v2", include_str!("../../schemas/ledger.clientrelationship.granted.v2.json")),
    ("ledger.clientrelationship.revoked.v1", include_str!("../../schemas/ledger.clientrelationship.revoked.v1.json")),
    ("ledger.clientrelationship.revoked.v2", include_str!("../../schemas/ledger.clientrelationship.revoked.v2.json")),
    ("ledger.ledger.sealed.v1", include_str!("../../schemas/ledger.ledger.sealed.v1.json")),
    ("ledger.party.registered.v1", include_str!("../../schemas/ledger.party.registered.v1.json")),
    ("ledger.resourcepolicy.published.v1", include_str!("../../schemas/ledger.resourcepolicy.published.v1.json")),
    ("ledger.resourcepolicy.published.v2", include_str!("../../schemas/ledger.resourcepolicy.published.v2.json")),
    ("ledger.system.deleted.v1", include_str!("../../schemas/ledger.system.deleted.v1.json")),
    ("ledger.system.registered.v1", include_str!("../../schemas/ledger.system.registered.v1.json")),
    ("ledger.system.registered.v2", include_str!("../../schemas/ledger.system.registered.v2.json")),
    ("ledger.system.updated.v1", include_str!("../../schemas/ledger.system.updated.v1.json")),
    ("ledger.system.updated.v2", include_str!("../../schemas/ledger.system.updated.v2.json")),
    ("ledger.systemuser.created.v1", include_str!("../../schemas/ledger.systemuser.created.v1.json")),
    ("ledger.systemuser.createdbyowner.v1", include_str!("../../schemas/ledger.systemuser.createdbyowner.v1.json")),
    ("ledger.systemuser.deleted.v1", include_str!("../../schemas/ledger.systemuser.deleted.v1.json")),
    ("ledger.systemuser.rightschanged.v1", include_str!("../../schemas/ledger.systemuser.rightschanged.v1.json")),
    ("ledger.systemuser.selfdelegated.v1", include_str!("../../schemas/ledger.systemuser.selfdelegated.v1.json")),
    ("ledger.systemuser.selfrevoked.v1", include_str!("../../schemas/ledger.systemuser.selfrevoked.v1.json")),
    (
        "ledger.systemuserchangerequest.approved.v1",
        include_str!("../../schemas/ledger.systemuserchangerequest.approved.v1.json"),
    ),
    (
        "ledger.systemuserchangerequest.created.v1",
        include_str!("../../schemas/ledger.systemuserchangerequest.created.v1.json"),
    ),
    (
        "ledger.systemuserchangerequest.rejected.v1",
        include_str!("../../schemas/ledger.systemuserchangerequest.rejected.v1.json"),
    ),
    (
        "ledger.systemuserchangerequest.withdrawn.v1",
        include_str!("../../schemas/ledger.systemuserchangerequest.withdrawn.v1.json"),
    ),
    ("ledger.systemuserrequest.approved.v1", include_str!("../../schemas/ledger.systemuserrequest.approved.v1.json")),
    ("ledger.systemuserrequest.created.v1", include_str!("../../schemas/ledger.systemuserrequest.created.v1.json")),
    ("ledger.systemuserrequest.created.v2", include_str!("../../schemas/ledger.systemuserrequest.created.v2.json")),
    ("ledger.systemuserrequest.escalated.v1", include_str!("../../schemas/ledger.systemuserrequest.escalated.v1.json")),
    ("ledger.systemuserrequest.rejected.v1", include_str!("../../schemas/ledger.systemuserrequest.rejected.v1.json")),
    ("ledger.systemuserrequest.withdrawn.v1", include_str!("../../schemas/ledger.systemuserrequest.withdrawn.v1.json")),
    // Not an event: the decision log's entry (`GET /v1/audit/decisions` answers these).
    ("ledger.decision.v1", include_str!("../../schemas/decisions/ledger.decision.v1.json")),
];

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// The OpenAPI document, serialised once per process by the first router built (every
/// router is built from the same annotations, so every document is the same). A static
/// rather than a request extension: an extension would be inserted into every request,
/// PDP decisions included, for the sake of one route.
static DOCUMENT: std::sync::OnceLock<axum::body::Bytes> = std::sync::OnceLock::new();

pub fn publish(api: &utoipa::openapi::OpenApi) {
    DOCUMENT.get_or_init(|| serde_json::to_vec(api).expect("the OpenAPI document serialises").into());
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(api_page))
        .routes(routes!(api_script))
        .routes(routes!(audit_redirect))
        .routes(routes!(audit_page))
        .routes(routes!(audit_script))
        .routes(routes!(audit_style))
        .routes(routes!(event_schema))
}

/// One event type's JSON Schema (`schemas/<type>.json`), or the CloudEvents envelope's
/// (`cloudevent.json`): the audit histories' `changed` members are these events' data;
/// or the decision log's entry (`ledger.decision.v1.json`).
#[utoipa::path(get, path = "/schemas/{name}", operation_id = "event_schema", tag = "Audit",
    summary = "The JSON Schema of an event type's data",
    params(("name" = String, Path, description = "`<event type>.json`, e.g. `ledger.client.linked.v1.json`; `cloudevent.json`; or `ledger.decision.v1.json`, the decision log's entry")),
    responses(
        (status = 200, description = "The JSON Schema (draft 2020-12)", content_type = "application/schema+json", body = Object),
        (status = 404, description = "No such schema", content_type = "application/problem+json", body = Problem),
    ))]
pub async fn event_schema(PathParams(name): PathParams<String>) -> Result<Response, ApiError> {
    let schema = name.strip_suffix(".json").and_then(|n| EVENT_SCHEMAS.iter().find(|(t, _)| *t == n));
    let (_, text) = schema.ok_or(ApiError::NoRoute)?;
    let mut response = (*text).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/schema+json"));
    Ok(response)
}

/// The OpenAPI 3.1 document of every route this service answers.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "Pages", summary = "The OpenAPI 3.1 document of every route this service answers",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> Response {
    let document = DOCUMENT.get().expect("the router publishes the document when it is built");
    let mut response = document.clone().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The API reference for people, rendered in the browser from `/openapi.json`.
#[utoipa::path(get, path = "/api/", operation_id = "api_page", tag = "Pages", summary = "The API reference for people",
    responses((status = 200, description = "The API reference page", content_type = "text/html", body = String)))]
pub async fn api_page() -> Response {
    page(API_HTML, HTML)
}

#[utoipa::path(get, path = "/api/api.js", operation_id = "api_script", tag = "Pages", summary = "The API reference page's script",
    responses((status = 200, description = "The API reference page's script", content_type = "text/javascript", body = String)))]
pub async fn api_script() -> Response {
    page(API_JS, JS)
}

#[utoipa::path(get, path = "/audit", operation_id = "audit_redirect", tag = "Pages", summary = "The auditor's page, at its canonical path",
    responses((status = 308, description = "To `/audit/`")))]
pub async fn audit_redirect() -> axum::response::Redirect {
    axum::response::Redirect::permanent("/audit/")
}

/// The auditor's page (static; its API calls carry the auditor's token).
#[utoipa::path(get, path = "/audit/", operation_id = "audit_page", tag = "Pages", summary = "The auditor's page",
    responses((status = 200, description = "The auditor's page", content_type = "text/html", body = String)))]
pub async fn audit_page() -> Response {
    page(AUDIT_HTML, HTML)
}

#[utoipa::path(get, path = "/audit/audit.js", operation_id = "audit_script", tag = "Pages", summary = "The auditor's page's script",
    responses((status = 200, description = "The auditor's page's script", content_type = "text/javascript", body = String)))]
pub async fn audit_script() -> Response {
    page(AUDIT_JS, JS)
}

#[utoipa::path(get, path = "/audit/audit.css", operation_id = "audit_style", tag = "Pages", summary = "The auditor's page's style",
    responses((status = 200, description = "The auditor's page's style", content_type = "text/css", body = String)))]
pub async fn audit_style() -> Response {
    page(AUDIT_CSS, "text/css; charset=utf-8")
}

/// A static page or part of one, with a policy that allows only this origin's scripts,
/// styles and API calls.
fn page(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    );
    // For browsers that predate `frame-ancestors`: the page is never framed (clickjacking).
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::EVENT_SCHEMAS;

    #[test]
    fn every_event_type_and_the_decision_entry_has_its_schema_served() {
        use crate::domain::events::{upcast_types, EVENT_TYPES};
        let types: Vec<&str> = EVENT_TYPES.iter().copied().chain(upcast_types()).collect();
        for t in &types {
            let (_, text) = EVENT_SCHEMAS.iter().find(|(n, _)| n == t).unwrap_or_else(|| panic!("{t} is not served"));
            let schema: serde_json::Value = serde_json::from_str(text).expect("a schema is JSON");
            assert_eq!(schema["title"], *t);
        }
        let entry = crate::decisions::ENTRY_TYPE;
        assert!(EVENT_SCHEMAS.iter().any(|(n, _)| *n == entry), "the decision log's entry is served");
        assert_eq!(EVENT_SCHEMAS.len(), types.len() + 2, "every type, current or older, the envelope and the entry");
    }
}
