//! The auditor's view of the decision log: which decisions were given, filtered by
//! system user, party, resource and time (paged; JSON or CSV), and each one decided
//! again at the position it was made at, with its proof.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::audit::neutralised;
use super::error::ApiError;
use super::extract::{Auth, PathParams, QueryParams};
use super::views::time;
use super::{read, AppState};
use crate::auth::Role;
use crate::decisions::{DecisionLog, Entry, Filter, Party};
use crate::domain::ids::{truncate, OrgNo};
use crate::domain::model::ReadModel;
use crate::domain::pdp::{At, Facts, PartyRef};
use crate::log::LogError;

/// Entries per page unless the caller asks for fewer.
pub const DECISIONS_PAGE_ENTRIES_DEFAULT: usize = 100;
/// Most entries one page may hold.
pub const DECISIONS_PAGE_ENTRIES_MAX: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DecisionsQuery {
    #[serde(default)]
    system_user: Option<String>,
    #[serde(default)]
    party: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    format: Option<String>,
}

fn log_of(state: &AppState) -> Result<&DecisionLog, ApiError> {
    state.decisions.as_deref().ok_or_else(|| {
        ApiError::Unavailable("this instance records no decisions (it was started for a benchmark)".to_owned())
    })
}

fn log_error(e: LogError) -> ApiError {
    match e {
        LogError::Unavailable(why) => ApiError::Unavailable(format!("decision log: {why}")),
        other => ApiError::Internal(format!("decision log: {other}")),
    }
}

fn moment(name: &str, value: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| ApiError::InvalidParameter(format!("{name} is not an RFC 3339 time")))
        })
        .transpose()
}

/// Every name the party goes by (organisation number, party id, party uuid), so that a
/// decision matches however its request named the party. A party the register does not
/// know matches by the name given.
fn party_names<R: ReadModel + Facts + ?Sized>(model: &R, given: &str) -> Result<Vec<Party>, ApiError> {
    let named = if given.len() == 9 && given.bytes().all(|b| b.is_ascii_digit()) {
        PartyRef::OrgNo(OrgNo::parse(given)?)
    } else if let Ok(uuid) = Uuid::parse_str(given) {
        PartyRef::PartyUuid(uuid)
    } else if let Ok(id) = given.parse::<i64>() {
        PartyRef::PartyId(id)
    } else {
        return Err(ApiError::InvalidParameter(
            "party is an organisation number, a party id or a party uuid".to_owned(),
        ));
    };
    let found = model.party_org(&named).and_then(|org| model.party(&org));
    Ok(match found {
        Some(p) => vec![Party::OrgNo(p.org_no.to_string()), Party::PartyId(p.party_id), Party::PartyUuid(p.party_uuid)],
        None => vec![Party::from(&named)],
    })
}

fn filter(state: &AppState, q: &DecisionsQuery) -> Result<Filter, ApiError> {
    let system_user = q
        .system_user
        .as_deref()
        .map(|s| Uuid::parse_str(s).map_err(|_| ApiError::InvalidParameter("systemUser must be a UUID".to_owned())))
        .transpose()?;
    let model = state.ledger.model();
    let party = q.party.as_deref().map(|p| party_names(model, p)).transpose()?;
    let (from, to) = (moment("from", q.from.as_deref())?, moment("to", q.to.as_deref())?);
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(ApiError::InvalidParameter("from is after to".to_owned()));
        }
    }
    Ok(Filter { system_user, party, resource: q.resource.clone(), from, to })
}

/// One entry as an auditor reads it, with the link that reproduces it.
fn view(seq: u64, e: &Entry) -> Value {
    let mut v = serde_json::to_value(e).expect("an entry serialises");
    v["seq"] = json!(seq);
    v["time"] = json!(time(e.time));
    v["reproduce"] = json!(format!("/v1/audit/decisions/{seq}/reproduction"));
    v
}

#[utoipa::path(get, path = "/v1/audit/decisions", operation_id = "audit_decisions", tag = "Audit",
    summary = "Every decision the PDP gave: who asked, about what, the answer, and the position it was made at",
    description = "Oldest first, filtered by any of system user, party (however the request named it), resource \
                   and time. A page scans at most 200,000 entries: a page may hold fewer than `limit` entries and \
                   still have a `next`. Each entry links to its reproduction.",
    security(("bearer" = ["auditor"])),
    params(
        ("systemUser" = Option<uuid::Uuid>, Query, description = "Only decisions about this system user"),
        ("party" = Option<String>, Query, description = "Only decisions for this party: organisation number, party id or party uuid"),
        ("resource" = Option<String>, Query, description = "Only decisions about this resource"),
        ("from" = Option<String>, Query, format = DateTime, description = "Only decisions made at or after this time"),
        ("to" = Option<String>, Query, format = DateTime, description = "Only decisions made at or before this time"),
        ("after" = Option<u64>, Query, minimum = 0, description = "Entries after this sequence number (the `next` of the previous page)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Entries on this page (default 100)"),
        ("format" = inline(Option<super::audit::HistoryFormat>), Query, description = "`json` (default) or `csv`; `Accept: text/csv` also selects CSV"),
    ),
    responses((status = 200, description = "A page of decisions", content(
        (DecisionPage = "application/json"),
        (String = "text/csv", example = "seq,time,endpoint,callerRole,callerSubject,callerOrg,systemUser,action,resource,party,decision,reason,position,asOf,reproduce"),
    ))))]
pub async fn decisions(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    QueryParams(q): QueryParams<DecisionsQuery>,
) -> Result<Response, ApiError> {
    auth.require(&[Role::Auditor])?;
    let limit = q.limit.unwrap_or(DECISIONS_PAGE_ENTRIES_DEFAULT);
    if limit == 0 || limit > DECISIONS_PAGE_ENTRIES_MAX {
        return Err(ApiError::InvalidParameter(format!("limit is between 1 and {DECISIONS_PAGE_ENTRIES_MAX}")));
    }
    let csv = match q.format.as_deref() {
        None => headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv")),
        Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::InvalidParameter(format!("format '{}' is not json or csv", truncate(other))))
        }
    };
    let filter = filter(&state, &q)?;
    log_of(&state)?;
    let s = state.clone();
    let page = state.heavy(move || log_of(&s)?.page(&filter, q.after, limit).map_err(log_error)).await??;
    let position = state.ledger.model().position();
    if csv {
        return Ok(csv_page(&page.entries, page.next, position));
    }
    let data: Vec<Value> = page.entries.iter().map(|(seq, e)| view(*seq, e)).collect();
    Ok(read(json!({"data": data, "next": page.next}), position))
}

fn csv_page(entries: &[(u64, Entry)], next: Option<u64>, position: u64) -> Response {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "seq",
        "time",
        "endpoint",
        "callerRole",
        "callerSubject",
        "callerOrg",
        "systemUser",
        "action",
        "resource",
        "party",
        "decision",
        "reason",
        "position",
        "asOf",
        "reproduce",
    ])
    .expect("in-memory CSV");
    for (seq, e) in entries {
        let v = view(*seq, e);
        let text = |v: &Value| match v {
            Value::String(s) => neutralised(s.clone()),
            Value::Null => String::new(),
            other => neutralised(other.to_string()),
        };
        let party = e.party.as_ref().map(|p| match p {
            Party::OrgNo(o) => o.clone(),
            Party::PartyId(id) => id.to_string(),
            Party::PartyUuid(u) => u.to_string(),
        });
        w.write_record([
            seq.to_string(),
            text(&v["time"]),
            text(&v["endpoint"]),
            text(&v["caller"]["role"]),
            text(&v["caller"]["subject"]),
            text(&v["caller"]["org"]),
            text(&v["systemUser"]),
            text(&v["action"]),
            text(&v["resource"]),
            party.map(neutralised).unwrap_or_default(),
            text(&v["decision"]),
            text(&v["reason"]),
            e.position.to_string(),
            e.as_of.to_string(),
            text(&v["reproduce"]),
        ])
        .expect("in-memory CSV");
    }
    super::audit::csv_reply(w.into_inner().expect("in-memory CSV"), position, next.map(|n| n.to_string()))
}

#[utoipa::path(get, path = "/v1/audit/decisions/{seq}/reproduction", operation_id = "audit_decision_reproduction",
    tag = "Audit", summary = "One logged decision, decided again at the position it was made at, with its proof",
    description = "`same` says whether the reproduction gives the logged answer. A decision that was never made \
                   (an Indeterminate: a malformed request, a replica behind) or named no action is not \
                   reproducible, and says so.",
    security(("bearer" = ["auditor"])),
    responses(
        (status = 200, description = "The entry and its reproduction", body = Reproduction),
        (status = 404, description = "No entry has this sequence number (or it is past its retention)", content_type = "application/problem+json", body = super::openapi::Problem),
    ))]
pub async fn reproduction(
    State(state): State<AppState>,
    auth: Auth,
    PathParams(seq): PathParams<String>,
) -> Result<Response, ApiError> {
    auth.require(&[Role::Auditor])?;
    let seq: u64 =
        seq.parse().map_err(|_| ApiError::InvalidParameter("the sequence number is a non-negative integer".into()))?;
    let entry = log_of(&state)?.entry(seq).map_err(log_error)?.ok_or_else(|| {
        crate::domain::Rejection::new(
            crate::domain::Code::DecisionNotFound,
            format!("the decision log keeps no decision {seq} (never given, or past its retention)"),
        )
    })?;
    let logged = view(seq, &entry);
    let Some(query) = entry.query() else {
        let why = if entry.decision == crate::decisions::Answer::Indeterminate {
            "an Indeterminate answer is no decision: the request could not be decided then"
        } else {
            "the request named no action, so no rule could match it"
        };
        let body = json!({"entry": logged, "reproducible": false, "why": why});
        return Ok(read(body, state.ledger.model().position()));
    };
    // A replica behind the entry's position cannot decide there yet: it says so.
    let (model, _) = state
        .ledger
        .view(Some(At::Position(entry.position)))
        .map_err(|_| ApiError::NotYetConsistent { wanted: entry.position, reached: state.ledger.model().position() })?;
    let (decision, position) = model.decide(&query);
    let same = crate::decisions::Answer::from(decision.decision) == entry.decision;
    let mut reproduced = serde_json::to_value(&decision).expect("decisions serialise");
    reproduced["position"] = json!(position);
    let body = json!({"entry": logged, "reproducible": true, "reproduced": reproduced, "same": same});
    Ok(read(body, position))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(decisions)).routes(routes!(reproduction))
}

/// A page of the decision log (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DecisionPage {
    data: Vec<LoggedDecision>,
    /// The `after` of the next page; null on the last one.
    next: Option<u64>,
}

/// One logged decision.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct LoggedDecision {
    /// Its sequence number in the decision log.
    seq: u64,
    #[schema(format = DateTime)]
    time: String,
    #[schema(example = "xacml")]
    endpoint: String,
    caller: LoggedCaller,
    #[schema(nullable = false)]
    system_user: Option<uuid::Uuid>,
    #[schema(nullable = false)]
    action: Option<String>,
    #[schema(nullable = false)]
    resource: Option<String>,
    /// `{"orgNo": …}`, `{"partyId": …}` or `{"partyUuid": …}`, as the request named it.
    #[schema(nullable = false)]
    party: Option<Value>,
    #[schema(example = "Permit")]
    decision: String,
    #[schema(nullable = false)]
    reason: Option<String>,
    /// The ledger position the decision was made at.
    position: u64,
    #[schema(nullable = false)]
    as_of: Option<bool>,
    /// Where its reproduction is.
    reproduce: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LoggedCaller {
    role: String,
    subject: String,
    #[schema(nullable = false)]
    org: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Reproduction {
    entry: LoggedDecision,
    reproducible: bool,
    /// Why not, when it is not.
    #[schema(nullable = false)]
    why: Option<String>,
    /// The decision made again, with its proof and the position.
    #[schema(nullable = false)]
    reproduced: Option<Value>,
    /// Whether the reproduction gives the logged answer.
    #[schema(nullable = false)]
    same: Option<bool>,
}
