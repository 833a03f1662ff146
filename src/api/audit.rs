//! Auditor endpoints: the history of a system user, a client or an actor, each change
//! with its position, effective time, type, actor, the organisation acted for, what
//! changed, and for a cascade the event that caused it. Paginated; JSON or CSV.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Auth, PathParams, QueryParams};
use super::views::time;
use super::{read, AppState};
use crate::auth::Role;
use crate::domain::ids::{truncate, OrgNo};
use crate::domain::model::{keys, Kv, Outcome, ReadModel};
use utoipa::ToSchema;

/// Entries per page unless the caller asks for fewer.
pub const HISTORY_PAGE_ENTRIES_DEFAULT: usize = 100;
/// Most entries one page may hold.
pub const HISTORY_PAGE_ENTRIES_MAX: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Entries after this position (the `next` of the previous page).
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
    /// `json` (default) or `csv`; `Accept: text/csv` also selects CSV.
    #[serde(default)]
    format: Option<String>,
}

/// One change, as an auditor reads it.
fn entry<K: Kv + ?Sized>(model: &K, index: u64, o: &Outcome, changed: Value) -> Value {
    let mut v = json!({
        "position": index + 1,
        "eventId": o.event_id,
        "effectiveTime": time(o.effective_time),
        "recordedTime": time(o.recorded_time),
        "type": o.type_name,
        "outcome": if o.void.is_some() { "void" } else { "applied" },
        "actor": {"kind": o.actor.kind, "id": o.actor.id},
        "onBehalfOf": o.on_behalf_of,
        "subject": o.subject,
    });
    if let Some(void) = &o.void {
        v["voidReason"] = json!({"code": void.code, "message": void.message});
    }
    let cause = changed.get("causeEventId").and_then(Value::as_str).and_then(|c| Uuid::parse_str(c).ok());
    v["changed"] = changed;
    if let Some(cause) = cause {
        v["cause"] = match model.event_index(&cause).and_then(|i| model.outcome(i).map(|c| (i, c))) {
            Some((i, c)) => json!({
                "eventId": cause,
                "position": i + 1,
                "type": c.type_name,
                "actor": {"kind": c.actor.kind, "id": c.actor.id},
                "onBehalfOf": c.on_behalf_of,
                "effectiveTime": time(c.effective_time),
                "summary": format!("{} by {} {} at {}", c.type_name, serde_json::to_value(c.actor.kind).unwrap_or_default().as_str().unwrap_or(""), c.actor.id, time(c.effective_time)),
            }),
            None => json!({"eventId": cause}),
        };
    }
    v
}

/// A page of history, read and rendered on the blocking pool under a heavy slot.
async fn history(
    state: &AppState,
    prefix: Vec<u8>,
    q: PageQuery,
    headers: HeaderMap,
    title: String,
) -> Result<Response, ApiError> {
    let s = state.clone();
    state.heavy(move || history_page(&s, prefix, &q, &headers, title)).await?
}

fn history_page(
    state: &AppState,
    prefix: Vec<u8>,
    q: &PageQuery,
    headers: &HeaderMap,
    title: String,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(HISTORY_PAGE_ENTRIES_DEFAULT);
    if limit == 0 || limit > HISTORY_PAGE_ENTRIES_MAX {
        return Err(ApiError::InvalidParameter(format!("limit is between 1 and {HISTORY_PAGE_ENTRIES_MAX}")));
    }
    let model = state.ledger.model();
    let position = model.position();
    // `after` is a position; the history is by log index (position − 1).
    let page = model.history_page(&prefix, q.after.filter(|p| *p > 0).map(|p| p - 1), limit + 1);
    let more = page.len() > limit;
    let page = &page[..page.len().min(limit)];
    let changed = state.changed(&page.iter().map(|(index, _)| *index).collect::<Vec<_>>())?;
    let entries: Vec<Value> =
        page.iter().zip(changed).map(|((index, o), changed)| entry(model, *index, o, changed)).collect();
    let next = if more { entries.last().map(|e| e["position"].clone()) } else { None };
    let wants_csv = q.format.as_deref() == Some("csv")
        || headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"));
    match q.format.as_deref() {
        None | Some("json") | Some("csv") => {}
        Some(other) => {
            return Err(ApiError::InvalidParameter(format!("format '{}' is not json or csv", truncate(other))))
        }
    }
    if wants_csv {
        return Ok(csv_response(&entries, next, position));
    }
    Ok(read(json!({"history": title, "data": entries, "next": next}), position))
}

fn csv_response(entries: &[Value], next: Option<Value>, position: u64) -> Response {
    let mut w = csv::Writer::from_writer(Vec::new());
    let columns = [
        "position",
        "effectiveTime",
        "type",
        "outcome",
        "actorKind",
        "actorId",
        "onBehalfOf",
        "subject",
        "cause",
        "changed",
    ];
    w.write_record(columns).expect("in-memory CSV");
    let text = |v: &Value| {
        neutralised(match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
    };
    for e in entries {
        let cause = e.get("cause").and_then(|c| c.get("summary")).map(text).unwrap_or_default();
        w.write_record([
            text(&e["position"]),
            text(&e["effectiveTime"]),
            text(&e["type"]),
            text(&e["outcome"]),
            text(&e["actor"]["kind"]),
            text(&e["actor"]["id"]),
            text(&e["onBehalfOf"]),
            text(&e["subject"]),
            neutralised(cause),
            neutralised(e["changed"].to_string()),
        ])
        .expect("in-memory CSV");
    }
    csv_reply(w.into_inner().expect("in-memory CSV"), position, next.map(|n| n.to_string()))
}

/// A page of CSV with the position it was read at and, when more follow, where the next
/// page starts (`Ledger-Next-After`).
pub fn csv_reply(body: Vec<u8>, position: u64, next: Option<String>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert("ledger-position", HeaderValue::from(position));
    if let Some(v) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
        headers.insert("ledger-next-after", v);
    }
    response
}

/// A cell a spreadsheet will not run as a formula, as OWASP recommends for CSV: a cell
/// that begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`.
/// (Numbers are ours and never negative, so no value is misread by the prefix.)
pub fn neutralised(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

#[utoipa::path(
    get, path = "/v1/audit/system-users/{id}/history", operation_id = "audit_system_user_history", tag = "Audit",
    summary = "Every change to a system user, with who made it, when, for whom and why", security(("bearer" = ["auditor"])),
    params(
        ("after" = Option<u64>, Query, description = "Entries after this position (the `next` of the previous page)", minimum = 0),
        ("limit" = Option<u32>, Query, description = "Entries on this page (default 100)", minimum = 1, maximum = 1000),
        ("format" = inline(Option<HistoryFormat>), Query, description = "`json` (default) or `csv`; `Accept: text/csv` also selects CSV"),
    ),
    responses(
        (status = 200, description = "A page of the history, oldest first", content(
            (History = "application/json"),
            (String = "text/csv", example = "position,effectiveTime,type,outcome,actorKind,actorId,onBehalfOf,subject,cause,changed"),
        )),
    )
)]
pub async fn system_user_history(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    auth.require(&[Role::Auditor])?;
    let id =
        Uuid::parse_str(&id).map_err(|_| ApiError::InvalidParameter("the system user id must be a UUID".to_owned()))?;
    let subject = crate::domain::events::subject::system_user(&id);
    history(&state, keys::by_subject(&subject), q, headers, format!("system user {id}")).await
}

#[utoipa::path(
    get, path = "/v1/audit/clients/{org_no}/history", operation_id = "audit_client_history", tag = "Audit",
    summary = "Every change that concerns a client organisation", security(("bearer" = ["auditor"])),
    params(
        ("after" = Option<u64>, Query, description = "Entries after this position (the `next` of the previous page)", minimum = 0),
        ("limit" = Option<u32>, Query, description = "Entries on this page (default 100)", minimum = 1, maximum = 1000),
        ("format" = inline(Option<HistoryFormat>), Query, description = "`json` (default) or `csv`; `Accept: text/csv` also selects CSV"),
    ),
    responses(
        (status = 200, description = "A page of the history, oldest first", content(
            (History = "application/json"),
            (String = "text/csv", example = "position,effectiveTime,type,outcome,actorKind,actorId,onBehalfOf,subject,cause,changed"),
        )),
    )
)]
pub async fn client_history(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    PathParams(org): PathParams<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    auth.require(&[Role::Auditor])?;
    let org = OrgNo::parse(&org)?;
    history(&state, keys::by_client(&org), q, headers, format!("client {org}")).await
}

#[utoipa::path(
    get, path = "/v1/audit/actors/{actor_id}/history", operation_id = "audit_actor_history", tag = "Audit",
    summary = "Every change an actor (a person or an integration) made", security(("bearer" = ["auditor"])),
    params(
        ("after" = Option<u64>, Query, description = "Entries after this position (the `next` of the previous page)", minimum = 0),
        ("limit" = Option<u32>, Query, description = "Entries on this page (default 100)", minimum = 1, maximum = 1000),
        ("format" = inline(Option<HistoryFormat>), Query, description = "`json` (default) or `csv`; `Accept: text/csv` also selects CSV"),
    ),
    responses(
        (status = 200, description = "A page of the history, oldest first", content(
            (History = "application/json"),
            (String = "text/csv", example = "position,effectiveTime,type,outcome,actorKind,actorId,onBehalfOf,subject,cause,changed"),
        )),
    )
)]
pub async fn actor_history(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    PathParams(actor): PathParams<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    auth.require(&[Role::Auditor])?;
    if actor.is_empty() || actor.len() > 200 {
        return Err(ApiError::InvalidParameter("the actor id is 1 to 200 characters".to_owned()));
    }
    history(&state, keys::by_actor(&actor), q, headers, format!("actor {}", truncate(&actor))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessQuery {
    party: String,
    resource: String,
    action: String,
    /// RFC 3339; the beginning of the ledger if absent.
    #[serde(default)]
    from: Option<String>,
    /// RFC 3339; now if absent.
    #[serde(default)]
    to: Option<String>,
}

fn moment(s: &Option<String>, name: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    s.as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| ApiError::InvalidParameter(format!("{name} must be an RFC 3339 time")))
        })
        .transpose()
}

/// Which system users could have performed the action for the party during the
/// interval: the windows, and for each the chain of events that granted it.
#[utoipa::path(
    get, path = "/v1/audit/access", operation_id = "audit_who_could_act", tag = "Audit",
    summary = "Which system users could act for a party on a resource during an interval, and by which events",
    security(("bearer" = ["auditor"])),
    params(
        ("party" = String, Query, description = "The party's organisation number"),
        ("resource" = String, Query, description = "The resource id"),
        ("action" = String, Query, description = "The action, e.g. `read`"),
        ("from" = Option<String>, Query, format = DateTime, description = "RFC 3339; the beginning of the ledger if absent"),
        ("to" = Option<String>, Query, format = DateTime, description = "RFC 3339; now if absent"),
    ),
    responses((status = 200, description = "The windows in which each system user could act", body = WhoCouldAct))
)]
pub async fn who_could_act(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(q): QueryParams<AccessQuery>,
) -> Result<Response, ApiError> {
    use crate::domain::ids::{Action, ResourceId};
    auth.require(&[Role::Auditor])?;
    let party = OrgNo::parse(&q.party)?;
    let resource = ResourceId::parse(&q.resource)?;
    let action = Action::parse(&q.action)?;
    let (from, to) = (moment(&q.from, "from")?, moment(&q.to, "to")?);
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::InvalidParameter("from is after to".to_owned()));
        }
    }
    let s = state.clone();
    state.heavy(move || who_could_act_now(&s, party, resource, action, from, to)).await?
}

type Moment = Option<chrono::DateTime<chrono::Utc>>;

fn who_could_act_now(
    state: &AppState,
    party: OrgNo,
    resource: crate::domain::ids::ResourceId,
    action: crate::domain::ids::Action,
    from: Moment,
    to: Moment,
) -> Result<Response, ApiError> {
    use crate::domain::model::history::{position_at, time_of};
    let model = state.ledger.model();
    let now = model.position();
    let from_position = from.map(|t| position_at(model, t)).unwrap_or(0);
    let to_position = to.map(|t| position_at(model, t).min(now)).unwrap_or(now);
    let at = |p: u64| p.checked_sub(1).and_then(|i| time_of(model, i)).map(time);
    let found = crate::domain::pdp::who_could_act(model, &party, &resource, &action, from_position, to_position);
    let users: Vec<Value> = found
        .iter()
        .map(|a| {
            let user = model.system_user(&a.system_user);
            json!({
                "systemUser": a.system_user,
                "userType": user.as_ref().map(|u| u.user_type),
                "owner": user.as_ref().map(|u| u.owner_org_no.as_str().to_owned()),
                "systemId": user.as_ref().map(|u| u.system_id.as_str().to_owned()),
                "windows": a.windows.iter().map(|w| json!({
                    "fromPosition": w.from_position,
                    "from": at(w.from_position),
                    "untilPosition": w.until_position,
                    "until": w.until_position.and_then(at),
                    "grantedBy": w.granted_by,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(read(
        json!({
            "party": party.as_str(), "resource": resource.as_str(), "action": action.as_str(),
            "fromPosition": from_position, "toPosition": to_position,
            "systemUsers": users,
        }),
        now,
    ))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(system_user_history))
        .routes(routes!(client_history))
        .routes(routes!(actor_history))
        .routes(routes!(who_could_act))
}

// Documentation-only shapes of the bodies above; Schemathesis checks every answer
// against them.

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum HistoryFormat {
    Json,
    Csv,
}

/// A page of history: `next` is the `after` of the next page, `null` on the last.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct History {
    /// What the history is of.
    history: String,
    data: Vec<HistoryEntry>,
    next: Option<u64>,
}

/// One event on the log, as an auditor reads it.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct HistoryEntry {
    /// The event's position on the log (1-based).
    position: u64,
    event_id: uuid::Uuid,
    effective_time: String,
    recorded_time: String,
    /// The event's type; its data's JSON Schema is served at `/schemas/{type}.json`.
    #[schema(example = "ledger.client.linked.v2")]
    r#type: String,
    outcome: EntryOutcome,
    actor: Actor,
    /// The organisation the actor acted for.
    on_behalf_of: Option<String>,
    subject: String,
    /// The event's data, as its schema (`/schemas/{type}.json`) describes it.
    changed: serde_json::Value,
    /// Why the event was recorded as void (it changed nothing).
    #[schema(nullable = false)]
    void_reason: Option<VoidReason>,
    /// For a cascade: the event that caused this one.
    #[schema(nullable = false)]
    cause: Option<Cause>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum EntryOutcome {
    Applied,
    Void,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Actor {
    #[schema(example = "person")]
    kind: String,
    id: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct VoidReason {
    code: String,
    message: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Cause {
    event_id: uuid::Uuid,
    #[schema(nullable = false)]
    position: Option<u64>,
    #[schema(nullable = false)]
    r#type: Option<String>,
    #[schema(nullable = false)]
    actor: Option<Actor>,
    on_behalf_of: Option<String>,
    #[schema(nullable = false)]
    effective_time: Option<String>,
    #[schema(nullable = false)]
    summary: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct WhoCouldAct {
    party: String,
    resource: String,
    action: String,
    from_position: u64,
    to_position: u64,
    system_users: Vec<CouldAct>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CouldAct {
    system_user: uuid::Uuid,
    user_type: Option<String>,
    owner: Option<String>,
    system_id: Option<String>,
    windows: Vec<Window>,
}

/// A span of positions in which the system user could act, and the events that let it.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Window {
    from_position: u64,
    from: Option<String>,
    /// `null` while the window is open.
    until_position: Option<u64>,
    until: Option<String>,
    granted_by: Vec<serde_json::Value>,
}
