//! Operations endpoints: `GET /metrics` (Prometheus text), `GET /healthz` (the process
//! answers) and `GET /readyz` (the projection is within the configured lag of the log's
//! head). None needs a token: they reveal counts, never delegations.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Instant;

use super::error::ApiError;
use super::AppState;
use crate::domain::model::ReadModel;

/// Default of `--ready-lag-records`.
pub const READY_LAG_RECORDS_DEFAULT: u64 = 1_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub api: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

pub struct Metrics {
    registry: Registry,
    pub decisions: Family<DecisionLabels, Counter>,
    requests: Family<RequestLabels, Histogram>,
    head: Gauge,
    projected: Gauge,
    lag: Gauge,
    quarantined: Gauge,
    appended: Gauge,
    append_failures: Gauge,
    storage_refusals: Gauge,
    projection_failures: Gauge,
    read_model_failed: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ledger");
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register("decisions", "PDP decisions by endpoint and result", decisions.clone());
        let requests = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0])
        });
        registry.register("http_request_duration_seconds", "HTTP request latency", requests.clone());
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g: Gauge = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let head = gauge(&mut registry, "log_head_position", "Records on the event log");
        let projected = gauge(&mut registry, "projected_position", "Records applied to this replica's read model");
        let lag = gauge(&mut registry, "projection_lag_records", "Records on the log not yet applied here");
        let quarantined =
            gauge(&mut registry, "quarantined_records", "Records on the log that are no event this build can apply");
        let appended = gauge(&mut registry, "appended_records", "Records this process appended since it started");
        let append_failures =
            gauge(&mut registry, "append_failures", "Appends this process could not make since it started");
        let storage_refusals = gauge(
            &mut registry,
            "storage_refusals",
            "Writes refused since start because the storage could not take them (disk below its reserve, read model failed)",
        );
        let projection_failures =
            gauge(&mut registry, "projection_failures", "Read-model commits that failed since start");
        let read_model_failed = gauge(
            &mut registry,
            "read_model_failed",
            "1 while the read model has failed (the replica restarts itself once its disk has room), else 0",
        );
        Metrics {
            registry,
            decisions,
            requests,
            head,
            projected,
            lag,
            quarantined,
            appended,
            append_failures,
            storage_refusals,
            projection_failures,
            read_model_failed,
        }
    }
}

impl Metrics {
    pub fn decided(&self, api: &'static str, result: &'static str) {
        self.decisions.get_or_create(&DecisionLabels { api, result }).inc();
    }
}

/// Records every request's latency by route (the matched pattern, never raw paths).
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let labels = RequestLabels { method, route, status: response.status().as_u16() };
    state.metrics.requests.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    response
}

/// Prometheus metrics (OpenMetrics text): requests, decisions, the log and the projection.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "Operations", summary = "Metrics, in OpenMetrics text",
    responses((status = 200, description = "The metrics", content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let ledger = state.ledger.clone();
    let (head, projected, quarantined, appended, failures, refusals, projection_failures, failed) =
        tokio::task::spawn_blocking(move || {
            let head = ledger.log().head().ok();
            let model = ledger.model();
            // A failed read model may not answer reads; the counts still do.
            let quarantined = ledger.read_model_failure().is_none().then(|| model.quarantined().len());
            (
                head,
                model.position(),
                quarantined,
                ledger.appended_records(),
                ledger.append_failures(),
                ledger.storage_refusals(),
                ledger.projection_failures(),
                ledger.read_model_failure().is_some(),
            )
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let m = &state.metrics;
    m.projected.set(projected as i64);
    if let Some(head) = head {
        m.head.set(head as i64);
        m.lag.set(head.saturating_sub(projected) as i64);
    }
    if let Some(quarantined) = quarantined {
        m.quarantined.set(quarantined as i64);
    }
    m.appended.set(appended as i64);
    m.append_failures.set(failures as i64);
    m.storage_refusals.set(refusals as i64);
    m.projection_failures.set(projection_failures as i64);
    m.read_model_failed.set(i64::from(failed));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &m.registry).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "Operations", summary = "Liveness: the process answers",
    responses((status = 200, description = "Alive", content_type = "text/plain", body = String, example = "ok\n")))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when this replica's projection is within `ready_lag_records` of the log's head
/// and its storage can take writes (the data directory's disk keeps its reserve free,
/// the read model has not failed). Both are checked anew on every probe, so readiness
/// returns by itself when space does.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "Operations",
    summary = "Readiness: projected near the log's head, and storage can take writes",
    responses((status = 200, description = "Ready", content_type = "text/plain", body = String, example = "ready: position 12 of 12\n")))]
pub async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    state.ledger.storage_check().map_err(|p| ApiError::StorageUnavailable(format!("not ready: {p}")))?;
    let ledger = state.ledger.clone();
    let head = tokio::task::spawn_blocking(move || ledger.log().head())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Unavailable(format!("not ready: {e}")))?;
    let projected = state.ledger.model().position();
    let lag = head.saturating_sub(projected);
    if lag > state.ready_lag_records {
        return Err(ApiError::NotYetConsistent { wanted: head, reached: projected });
    }
    Ok((StatusCode::OK, format!("ready: position {projected} of {head}\n")).into_response())
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(metrics)).routes(routes!(healthz)).routes(routes!(readyz))
}
