//! The HTTP API: Altinn-shaped vendor, customer and client-admin endpoints, native
//! register and decision endpoints, and the ledger status. The only module that knows
//! axum. Handlers translate HTTP into domain commands and queries; they hold no rules
//! of their own beyond which roles may call them.
//!
//! [`router`] builds the whole application without a socket, so tests drive it
//! in-process exactly as a client would over TCP.

mod altinn;
mod altinn_path;
mod audit;
pub mod error;
pub mod extract;
mod heavy;
pub mod metrics;
mod openapi;
mod pages;
mod pdp;
mod portal;
pub use pdp::{XACML_INLINE_BODY_BYTES_MAX, XACML_PATH};
mod agentdelegation;
mod changerequests;
mod decisionlog;
mod links;
mod register;
mod requests;
mod scopes;
mod systemregister;
mod systemusers;
mod views;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;

use crate::auth::{Principal, Verifier};
use crate::domain::pdp::At;
use crate::domain::Command;
use crate::ledger::{Caller, Ledger, Written};
use error::ApiError;
use extract::REQUEST_BODY_BYTES_MAX;

/// The clock handlers read "now" from; tests pass one they control.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The router's state.
pub type AppState = Arc<Services>;

/// What every handler shares, behind one `Arc` ([`AppState`]): axum clones the state
/// for each extractor of each request, and one reference count is cheaper to move
/// between cores than one per field.
pub struct Services {
    pub ledger: Arc<Ledger>,
    pub verifier: Arc<Verifier>,
    pub clock: Clock,
    /// Where people reach this service; used to build `confirmUrl`s.
    pub public_url: Arc<str>,
    /// Longest a request with `Ledger-Min-Position` waits for the replica to catch up.
    pub min_position_wait: std::time::Duration,
    /// `/readyz` answers 200 while the projection is at most this many records behind.
    pub ready_lag_records: u64,
    pub metrics: Arc<metrics::Metrics>,
    /// Where every decision is recorded before it is answered. `None` only where a
    /// benchmark measures the PDP without it (`serve --benchmark-without-decision-log`).
    pub decisions: Option<Arc<crate::decisions::DecisionLog>>,
    /// The service's bounds on concurrent work.
    pub slots: Slots,
    /// The generated dev key the service trusts, where it trusts one: then the pages'
    /// sign-in mints tokens with it. `None` behind an identity provider (`--jwks`).
    pub dev_key: Option<Arc<crate::auth::DevKey>>,
}

/// Most writes that may wait for the ledger's write lock; more are refused with 503
/// rather than queued without bound.
pub const WRITES_WAITING_MAX: usize = 256;
/// Most requests in flight at once in the whole service; more are shed with 503 at once.
pub const REQUESTS_IN_FLIGHT_MAX: usize = 2048;
/// Most CPU-heavy requests (multi-decision calls, audit histories and CSV renders, who
/// could act) running at once per core, on the heavy-work pool at a lower priority than
/// the async workers that answer ordinary decisions. More wait for a slot (bounded by
/// the in-flight cap).
pub const HEAVY_WORK_PER_CORE_MAX: usize = 1;

/// Named bounds on concurrent work, shared by every request of one service.
#[derive(Clone)]
pub struct Slots {
    /// Requests in flight ([`REQUESTS_IN_FLIGHT_MAX`]), whatever their route.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Writes waiting for or holding the write lock ([`WRITES_WAITING_MAX`]).
    pub writes: Arc<tokio::sync::Semaphore>,
    /// CPU-heavy work on the heavy-work pool ([`HEAVY_WORK_PER_CORE_MAX`] per core).
    pub heavy: Arc<tokio::sync::Semaphore>,
    /// The threads heavy work runs on, one per heavy slot.
    heavy_pool: Arc<heavy::HeavyPool>,
}

impl Default for Slots {
    fn default() -> Slots {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Slots {
            in_flight: Arc::new(tokio::sync::Semaphore::new(REQUESTS_IN_FLIGHT_MAX)),
            writes: Arc::new(tokio::sync::Semaphore::new(WRITES_WAITING_MAX)),
            heavy: Arc::new(tokio::sync::Semaphore::new(HEAVY_WORK_PER_CORE_MAX * cores)),
            heavy_pool: Arc::new(heavy::HeavyPool::new(HEAVY_WORK_PER_CORE_MAX * cores)),
        }
    }
}

/// Default of `--consistency-wait-ms`.
pub const MIN_POSITION_WAIT_MS_DEFAULT: u64 = 2_000;
pub const MIN_POSITION_HEADER: &str = "ledger-min-position";

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Where Altinn's authentication API lives, on Altinn and here.
pub(crate) const AUTHN: &str = "/authentication/api/v1";

/// Every route the service answers, each built by `routes!` from its handler's
/// `#[utoipa::path]`, and the OpenAPI document they make together ([`openapi`]).
fn documented_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    let (app, mut api) = utoipa_axum::router::OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(systemregister::routes())
        .merge(requests::routes())
        .merge(changerequests::routes())
        .merge(systemusers::routes())
        .merge(agentdelegation::routes())
        .merge(pdp::routes())
        .merge(register::routes())
        .merge(links::routes())
        .merge(audit::routes())
        .merge(decisionlog::routes())
        .merge(ledger_routes())
        .merge(metrics::routes())
        .merge(pages::routes())
        .merge(portal::routes())
        .split_for_parts();
    openapi::complete(&mut api);
    (app, api)
}

/// The log's own routes: status, seals, quarantine.
fn ledger_routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(status)).routes(routes!(seal)).routes(routes!(quarantine))
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (app, api) = documented_routes();
    // Altinn's surface (its authentication API and its PDP) matches as ASP.NET does.
    let altinn = |p: &&str| p.starts_with(AUTHN) || [pdp::XACML_PATH, pdp::AUTHORIZE_PATH].contains(p);
    let templates = Arc::new(altinn_path::Templates::new(api.paths.paths.keys().map(String::as_str).filter(altinn)));
    pages::publish(&api);
    let app = app
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(state.clone(), read_your_writes))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::observe))
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn_with_state(state.clone(), answer_panics))
        // Outermost: the one cap on requests in flight, for the whole service (a
        // `Router::layer` of a per-service limiter would give each route its own).
        .layer(axum::middleware::from_fn_with_state(state.clone(), shed))
        .with_state(state);
    // A rewrite of the path must run before routing, so it wraps the routed app (a
    // `Router::layer` runs after routing).
    Router::new()
        .fallback_service(app)
        .layer(axum::middleware::from_fn(move |request, next| canonical_path(templates.clone(), request, next)))
}

/// Rewrites a request on the Altinn surface to the canonical spelling of its route.
async fn canonical_path(
    templates: Arc<altinn_path::Templates>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(path) = templates.canonical(request.uri().path()) {
        let path_and_query = match request.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut parts = request.uri().clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    next.run(request).await
}

/// A handler that panics still answers: a read of a failed read model (sled reports an
/// I/O error, and the store panics rather than answer wrongly) is 503
/// `storage_unavailable`; any other panic is a 500 whose text is only logged.
async fn answer_panics(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => state.panicked(panic.as_ref()).into_response(),
    }
}

/// Sheds a request with 503 at once when [`REQUESTS_IN_FLIGHT_MAX`] are in flight, so
/// overload never becomes an unbounded queue. Liveness and readiness are exempt: an
/// orchestrator must not restart a replica for being busy.
async fn shed(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    match state.slots.in_flight.clone().try_acquire_owned() {
        Ok(_slot) => next.run(request).await,
        Err(_) => ApiError::Overloaded.into_response(),
    }
}

/// Reads the `Ledger-Min-Position` header: absent is `None`; not a number is an error.
pub(crate) fn min_position(headers: &axum::http::HeaderMap) -> Result<Option<u64>, ApiError> {
    match extract::one_header(headers, MIN_POSITION_HEADER)? {
        None => Ok(None),
        Some(v) => v.to_str().ok().and_then(|s| s.trim().parse().ok()).map(Some).ok_or_else(|| {
            ApiError::InvalidParameter("Ledger-Min-Position must be a non-negative integer position".to_owned())
        }),
    }
}

/// Read your writes across replicas: a request carrying `Ledger-Min-Position: N` is
/// served only once this replica has projected position N, waiting at most
/// `min_position_wait`; past that it gets 503 `not_yet_consistent`, never stale data.
/// The XACML endpoint answers that case itself, as an `Indeterminate` decision.
async fn read_your_writes(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let wanted = match min_position(request.headers()) {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    if let Some(wanted) = wanted {
        // Nobody waits on the ledger's behalf before showing who they are: a bad token
        // is refused at once, never after the wait.
        if let Err(e) = extract::authenticate(request.headers(), &state) {
            return e.into_response();
        }
        // The PDP's endpoints answer a replica behind the position with an Indeterminate.
        if ![pdp::XACML_PATH, pdp::AUTHORIZE_PATH].contains(&request.uri().path()) {
            let reached = state.ledger.wait_for(wanted, state.min_position_wait).await;
            if reached < wanted {
                return ApiError::NotYetConsistent { wanted, reached }.into_response();
            }
        }
    }
    next.run(request).await
}

impl Services {
    /// Runs a command on the blocking pool: appending waits for fsync.
    async fn execute(
        &self,
        principal: &Principal,
        correlation_id: Option<String>,
        command: Command,
    ) -> Result<Written, ApiError> {
        let authority = principal
            .authority()
            .ok_or_else(|| ApiError::WrongRole(format!("the role '{}' gives no commands", principal.role.as_str())))?;
        let caller = Caller { actor: principal.actor(), authority, correlation_id };
        let slot = self.slots.writes.clone().try_acquire_owned().map_err(|_| ApiError::Overloaded)?;
        let ledger = self.ledger.clone();
        let now = (self.clock)();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            ledger.execute(&command, &caller, now)
        })
        .await
        .map_err(|e| {
            // Interrupted mid-write (a read of a failed read model panics): its events may
            // or may not be on the log, and a retry is safe either way.
            tracing::error!("a write was interrupted: {e}");
            ApiError::OutcomeUnknown("the write was interrupted before its outcome was known".to_owned())
        })?
        .map_err(ApiError::from)
    }

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Runs CPU-heavy work on the heavy-work pool under one of the heavy slots, so the
    /// async workers stay free (and first in line for a core) for ordinary decisions.
    async fn heavy<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let _slot = self.slots.heavy.clone().acquire_owned().await.map_err(|_| ApiError::Overloaded)?;
        self.slots.heavy_pool.run(work).await.map_err(|panic| self.panicked(panic.as_ref()))
    }

    /// What a panic in a handler means for its caller.
    fn panicked(&self, panic: &(dyn std::any::Any + Send)) -> ApiError {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        match self.ledger.read_model_failure() {
            Some(failure) => ApiError::StorageUnavailable(format!("{failure} ({text})")),
            None => ApiError::Internal(format!("a handler panicked: {text}")),
        }
    }

    /// What the events at log `indexes` (ascending) changed (`Ledger::changed_many`); a
    /// log that cannot be read answers 503, its detail logged, not sent.
    fn changed(&self, indexes: &[u64]) -> Result<Vec<serde_json::Value>, ApiError> {
        self.ledger.changed_many(indexes).map_err(|e| {
            tracing::error!(?indexes, "reading events' data from the log: {e}");
            ApiError::Unavailable("the event log could not be read; retry shortly".to_owned())
        })
    }

    /// The read model as of `at` (now if `None`), the position it stands for, and the
    /// time it stands for (which decides, e.g., whether a request had timed out).
    fn view(&self, at: Option<At>) -> Result<Snapshot<'_>, ApiError> {
        let (model, position) = self.ledger.view(at).map_err(ApiError::InvalidParameter)?;
        let time = match at {
            None => self.now(),
            Some(At::Time(t)) => t,
            Some(At::Position(_)) => position
                .checked_sub(1)
                .and_then(|last| crate::domain::model::history::time_of(self.ledger.model(), last))
                .unwrap_or_else(|| self.now()),
        };
        Ok(Snapshot { model, position, time })
    }
}

/// What a read sees: the model, its position and its time.
pub(crate) struct Snapshot<'a> {
    pub model: crate::ledger::View<'a>,
    pub position: u64,
    pub time: DateTime<Utc>,
}

/// A write's answer: the body with its `position`, and the `Ledger-Position` header.
fn written(status: StatusCode, mut body: Value, position: u64) -> Response {
    if let Value::Object(map) = &mut body {
        map.insert("position".to_owned(), Value::from(position));
    }
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert("ledger-position", HeaderValue::from(position));
    response
}

/// A read's answer, with the position of the read model it was read from.
fn read(body: Value, position: u64) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert("ledger-position", HeaderValue::from(position));
    response
}

/// The log's head, this replica's projection and the read model's digest.
#[utoipa::path(get, path = "/v1/ledger/status", operation_id = "ledger_status", tag = "Ledger",
    summary = "The log's head, the projection and the read model's digest", security(("bearer" = ["operator", "auditor"])),
    responses((status = 200, description = "The status", body = openapi::LedgerStatus)))]
async fn status(state: axum::extract::State<AppState>, auth: extract::Auth) -> Result<Response, ApiError> {
    use crate::auth::Role;
    use crate::ledger::StatusError;
    auth.require(&[Role::Operator, Role::Auditor])?;
    if let Some(failure) = state.ledger.read_model_failure() {
        // The digest would scan a read model that no longer reads.
        return Err(ApiError::StorageUnavailable(failure));
    }
    let ledger = state.ledger.clone();
    let status = state.heavy(move || ledger.status()).await?.map_err(|e| match e {
        StatusError::Log(e) => ApiError::Unavailable(e.to_string()),
        StatusError::Store(e) => ApiError::DigestUnsettled(e.to_string()),
    })?;
    let position = status.projected_position;
    let mut body = serde_json::to_value(status).expect("status serialises");
    body["decisionLog"] = match &state.decisions {
        Some(log) => {
            let (first, head) = log.storage().bounds().map_err(|e| ApiError::Unavailable(e.to_string()))?;
            let unshipped = log.unshipped();
            serde_json::json!({"storage": log.storage().describe(), "first": first, "head": head, "unshipped": unshipped})
        }
        None => Value::Null,
    };
    Ok(read(body, position))
}

/// An operator seals the ledger: the hash chain over every record so far goes on the log.
#[utoipa::path(post, path = "/v1/ledger/seals", operation_id = "ledger_seal", tag = "Ledger",
    summary = "Seal the log: the hash chain over every record so far goes on the log", security(("bearer" = ["operator"])),
    params(openapi::Correlation),
    responses((status = 201, description = "Sealed", body = openapi::Seal)))]
async fn seal(
    state: axum::extract::State<AppState>,
    auth: extract::Auth,
    extract::CorrelationId(cid): extract::CorrelationId,
) -> Result<Response, ApiError> {
    use crate::auth::Role;
    let who = auth.require(&[Role::Operator])?;
    let w = state.execute(who, cid, Command::Seal).await?;
    let body = match w.events.first().map(|e| &e.data) {
        Some(crate::domain::events::EventData::LedgerSealed(s)) => {
            serde_json::json!({"sealedRecords": s.position, "chainHash": s.chain_hash})
        }
        _ => serde_json::json!({}),
    };
    Ok(written(StatusCode::CREATED, body, w.position))
}

/// The records this replica could not apply, with their positions and reasons.
#[utoipa::path(get, path = "/v1/ledger/quarantine", operation_id = "ledger_quarantine", tag = "Ledger",
    summary = "Records this replica could not apply, with their positions and reasons", security(("bearer" = ["operator", "auditor"])),
    responses((status = 200, description = "The quarantined records", body = openapi::QuarantineList)))]
async fn quarantine(state: axum::extract::State<AppState>, auth: extract::Auth) -> Result<Response, ApiError> {
    use crate::auth::Role;
    use crate::domain::model::ReadModel;
    auth.require(&[Role::Operator, Role::Auditor])?;
    let model = state.ledger.model();
    let records = model.quarantined();
    Ok(read(serde_json::json!({"count": records.len(), "data": records}), model.position()))
}
