//! Decision endpoints: Altinn's XACML JSON profile and the native one with proof.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{parse_at, AsOfParams, Auth, JsonBody};
use super::{min_position, read, AppState, Snapshot};
use crate::auth::Role;
use crate::domain::ids::{Action, OrgNo, ResourceId};
use crate::domain::model::ReadModel;
use crate::domain::pdp::{At, PartyRef, Query, Verdict};
use crate::domain::xacml::{self, Outcome, STATUS_PROCESSING_ERROR, STATUS_SYNTAX_ERROR};
use crate::domain::{Code, Rejection};
use axum::http::HeaderMap;

pub const XACML_PATH: &str = "/authorization/api/v1/decision";

pub async fn xacml_decision(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(at): AsOfParams,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    auth.require(&[Role::Pdp])?;
    let parsed = xacml::parse(&body);
    // A PDP client that asks for a position this replica has not reached gets an
    // Indeterminate with the reason, never a decision from older state.
    if let Some(wanted) = min_position(&headers)? {
        let reached = state.ledger.wait_for(wanted, state.min_position_wait).await;
        if reached < wanted {
            let message =
                format!("not yet consistent: this replica is at position {reached}, the request needs {wanted}");
            let outcomes: Vec<Outcome> = parsed
                .iter()
                .map(|_| Outcome::Indeterminate { status: STATUS_PROCESSING_ERROR, message: message.clone() })
                .collect();
            return Ok(read(xacml::render(&outcomes), reached));
        }
    }
    let position = state.ledger.model().position();
    // A multi-request's decisions run on the blocking pool under a heavy slot, so that
    // ordinary single decisions keep the async workers while it runs.
    let outcomes = if parsed.len() > XACML_INLINE_DECISIONS_MAX {
        let ledger = state.ledger.clone();
        state.heavy(move || decide_all(&ledger, parsed, at)).await?
    } else {
        decide_all(&state.ledger, parsed, at)
    };
    for o in &outcomes {
        let result = match o {
            Outcome::Decided(d) if d.decision == Verdict::Permit => "permit",
            Outcome::Decided(_) => "not_applicable",
            Outcome::Indeterminate { .. } => "indeterminate",
        };
        state.metrics.decided("xacml", result);
    }
    Ok(read(xacml::render(&outcomes), position))
}

/// Most decisions one call answers on the async worker that took it; more go to the
/// blocking pool.
pub const XACML_INLINE_DECISIONS_MAX: usize = 4;

/// Each parsed request decided in order, at its own moment (the Environment's) or `at`.
fn decide_all(ledger: &crate::ledger::Ledger, parsed: Vec<xacml::Parsed>, at: Option<At>) -> Vec<Outcome> {
    parsed
        .into_iter()
        .map(|parsed| match parsed {
            Ok((query, own_at)) => match ledger.view(own_at.or(at)) {
                Ok((model, _)) => Outcome::Decided(model.decide(&query)),
                Err(message) => Outcome::Indeterminate { status: STATUS_PROCESSING_ERROR, message },
            },
            Err(message) => Outcome::Indeterminate { status: STATUS_SYNTAX_ERROR, message },
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionBody {
    system_user: String,
    action: String,
    resource: String,
    /// An organisation number, a party id, or a party uuid.
    party: Value,
    /// Decide as of this RFC 3339 time…
    #[serde(default)]
    at: Option<String>,
    /// …or as of this ledger position.
    #[serde(default)]
    at_position: Option<u64>,
}

fn party_ref(v: &Value) -> Result<PartyRef, ApiError> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(PartyRef::PartyId)
            .ok_or_else(|| ApiError::InvalidBody("party id must be an integer".to_owned())),
        Value::String(s) if s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(PartyRef::OrgNo(OrgNo::parse(s)?))
        }
        Value::String(s) => match (Uuid::parse_str(s), s.parse::<i64>()) {
            (Ok(u), _) => Ok(PartyRef::PartyUuid(u)),
            (_, Ok(id)) => Ok(PartyRef::PartyId(id)),
            _ => Err(Rejection::new(
                Code::InvalidOrgNumber,
                "party is an organisation number, a party id or a party uuid",
            )
            .into()),
        },
        _ => Err(ApiError::InvalidBody("party is a string or an integer".to_owned())),
    }
}

pub async fn native_decision(
    State(state): State<AppState>,
    auth: Auth,
    AsOfParams(query_at): AsOfParams,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Response, ApiError> {
    let position_text = body.at_position.map(|p| p.to_string());
    let body_at = parse_at(body.at.as_deref(), position_text.as_deref())?;
    let at = match (body_at, query_at) {
        (Some(_), Some(_)) => {
            return Err(ApiError::InvalidParameter("give the moment in the body or the query, not both".to_owned()))
        }
        (a, b) => a.or(b),
    };
    auth.require(&[Role::Pdp, Role::Auditor])?;
    let query = Query {
        system_user: Uuid::parse_str(&body.system_user)
            .map_err(|_| ApiError::InvalidBody("systemUser must be a UUID".to_owned()))?,
        action: Action::parse(&body.action)?,
        resource: ResourceId::parse(&body.resource)?,
        party: party_ref(&body.party)?,
    };
    let Snapshot { model, position, time } = state.view(at)?;
    let decision = model.decide(&query);
    state.metrics.decided("native", if decision.decision == Verdict::Permit { "permit" } else { "not_applicable" });
    let mut body = serde_json::to_value(&decision).expect("decisions serialise");
    body["position"] = Value::from(position);
    if at.is_some() {
        body["asOf"] = Value::from(super::views::time(time));
    }
    Ok(read(body, position))
}

/// This module's routes. Undocumented routes (`route`) are refused by the contract test;
/// each becomes a `routes!` of its annotated handlers.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use axum::routing::post;
    utoipa_axum::router::OpenApiRouter::new()
        .route("/authorization/api/v1/decision", post(xacml_decision))
        .route("/v1/decisions", post(native_decision))
}
