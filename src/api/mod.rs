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
mod pdp;
pub use pdp::XACML_PATH;
mod agentdelegation;
mod changerequests;
mod register;
mod requests;
mod scopes;
mod systemregister;
mod systemusers;
mod views;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
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
    /// The service's bounds on concurrent work.
    pub slots: Slots,
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

/// The routes of the Altinn-compatible surface: Altinn's paths, matched as ASP.NET
/// matches them (see [`altinn_path`]).
fn altinn_routes() -> Vec<(String, axum::routing::MethodRouter<AppState>)> {
    let r = |template: String, methods| (template, methods);
    vec![
        // The system register.
        r(format!("{AUTHN}/systemregister"), get(systemregister::list)),
        r(format!("{AUTHN}/systemregister/vendor"), get(systemregister::list_for_vendor).post(systemregister::create)),
        r(format!("{AUTHN}/systemregister/{{system_id}}"), get(systemregister::get_listed)),
        r(
            format!("{AUTHN}/systemregister/vendor/{{system_id}}"),
            get(systemregister::get_for_vendor).put(systemregister::update).delete(systemregister::delete),
        ),
        r(format!("{AUTHN}/systemregister/{{system_id}}/rights"), get(systemregister::get_rights)),
        r(format!("{AUTHN}/systemregister/{{system_id}}/accesspackages"), get(systemregister::get_packages)),
        r(format!("{AUTHN}/systemregister/vendor/{{system_id}}/rights"), put(systemregister::put_rights)),
        r(format!("{AUTHN}/systemregister/vendor/{{system_id}}/accesspackages"), put(systemregister::put_packages)),
        r(format!("{AUTHN}/systemregister/vendor/{{system_id}}/changelog"), get(systemregister::changelog)),
        // System-user requests.
        r(format!("{AUTHN}/systemuser/request/vendor"), post(requests::create_standard)),
        r(format!("{AUTHN}/systemuser/request/vendor/agent"), post(requests::create_agent)),
        r(format!("{AUTHN}/systemuser/request/vendor/{{id}}"), get(requests::get_standard).delete(requests::delete)),
        r(format!("{AUTHN}/systemuser/request/vendor/agent/{{id}}"), get(requests::get_agent)),
        r(
            format!("{AUTHN}/systemuser/request/vendor/byexternalref/{{system_id}}/{{org_no}}/{{external_ref}}"),
            get(requests::by_external_ref_standard),
        ),
        r(
            format!("{AUTHN}/systemuser/request/vendor/agent/byexternalref/{{system_id}}/{{org_no}}/{{external_ref}}"),
            get(requests::by_external_ref_agent),
        ),
        r(format!("{AUTHN}/systemuser/request/vendor/bysystem/{{system_id}}"), get(requests::by_system_standard)),
        r(format!("{AUTHN}/systemuser/request/vendor/agent/bysystem/{{system_id}}"), get(requests::by_system_agent)),
        r(format!("{AUTHN}/systemuser/request/{{id}}"), get(requests::get_for_person_standard)),
        r(format!("{AUTHN}/systemuser/request/agent/{{id}}"), get(requests::get_for_person_agent)),
        r(format!("{AUTHN}/systemuser/request/{{party}}/{{id}}"), get(requests::get_for_party_standard)),
        r(format!("{AUTHN}/systemuser/request/agent/{{party}}/{{id}}"), get(requests::get_for_party_agent)),
        r(format!("{AUTHN}/systemuser/request/{{party}}/{{id}}/pending"), get(requests::pending_standard)),
        r(format!("{AUTHN}/systemuser/request/agent/{{party}}/{{id}}/pending"), get(requests::pending_agent)),
        r(format!("{AUTHN}/systemuser/request/{{party}}/{{id}}/escalate"), post(requests::escalate_standard)),
        r(format!("{AUTHN}/systemuser/request/agent/{{party}}/{{id}}/escalate"), post(requests::escalate_agent)),
        r(format!("{AUTHN}/systemuser/request/{{party}}/{{id}}/approve"), post(requests::approve_standard)),
        r(format!("{AUTHN}/systemuser/request/{{party}}/{{id}}/reject"), post(requests::reject_standard)),
        r(format!("{AUTHN}/systemuser/request/agent/{{party}}/{{id}}/approve"), post(requests::approve_agent)),
        r(format!("{AUTHN}/systemuser/request/agent/{{party}}/{{id}}/reject"), post(requests::reject_agent)),
        // Change requests.
        r(format!("{AUTHN}/systemuser/changerequest/vendor"), post(changerequests::create)),
        r(
            format!("{AUTHN}/systemuser/changerequest/vendor/{{id}}"),
            get(changerequests::get_for_vendor).delete(changerequests::delete),
        ),
        r(
            format!("{AUTHN}/systemuser/changerequest/vendor/byexternalref/{{system_id}}/{{org_no}}/{{external_ref}}"),
            get(changerequests::by_external_ref),
        ),
        r(format!("{AUTHN}/systemuser/changerequest/vendor/bysystem/{{system_id}}"), get(changerequests::by_system)),
        r(format!("{AUTHN}/systemuser/changerequest/{{id}}"), get(changerequests::get_for_person)),
        r(format!("{AUTHN}/systemuser/changerequest/{{party}}/{{id}}"), get(changerequests::get_for_party)),
        r(format!("{AUTHN}/systemuser/changerequest/{{party}}/{{id}}/approve"), post(changerequests::approve)),
        r(format!("{AUTHN}/systemuser/changerequest/{{party}}/{{id}}/reject"), post(changerequests::reject)),
        r(format!("{AUTHN}/systemuser/vendor/bysystem/{{system_id}}"), get(systemusers::by_system)),
        r(format!("{AUTHN}/systemuser/vendor/byquery"), get(systemusers::by_query)),
        r(format!("{AUTHN}/systemuser/byExternalId"), get(systemusers::by_external_id)),
        // Customer and client-admin API.
        r(format!("{AUTHN}/systemuser/{{party}}"), get(systemusers::list)),
        r(format!("{AUTHN}/systemuser/agent/{{party}}"), get(systemusers::list_agents)),
        r(format!("{AUTHN}/systemuser/{{party}}/{{id}}/delegations"), get(systemusers::delegations)),
        r(format!("{AUTHN}/systemuser/internal/systemusers/stream"), get(systemusers::stream)),
        r(format!("{AUTHN}/systemuser/internal/systemusers/{{id}}"), get(systemusers::for_register)),
        r(format!("{AUTHN}/systemuser/agent/{{party}}/clients"), get(agentdelegation::clients)),
        r(
            format!("{AUTHN}/systemuser/agent/{{party}}/{{facilitator}}/{{id}}/delegations"),
            get(agentdelegation::delegations),
        ),
        r(format!("{AUTHN}/systemuser/agent/{{party}}/{{id}}/client"), delete(agentdelegation::revoke)),
        r(
            format!("{AUTHN}/systemuser/agent/{{party}}/{{id}}/self"),
            get(agentdelegation::is_self_delegated)
                .post(agentdelegation::delegate_self)
                .delete(agentdelegation::revoke_self),
        ),
        r(format!("{AUTHN}/systemuser/{{party}}/create"), post(systemusers::create)),
        r(format!("{AUTHN}/systemuser"), put(systemusers::update)),
        r(
            format!("{AUTHN}/systemuser/{{party}}/{{id}}"),
            get(systemusers::get_one).delete(systemusers::delete_standard),
        ),
        r(
            format!("{AUTHN}/systemuser/agent/{{party}}/{{id}}"),
            delete(systemusers::delete_agent).post(agentdelegation::delegate),
        ),
        r(
            format!("{AUTHN}/enduser/systemuser/clients"),
            get(systemusers::list_clients).post(systemusers::link_client).delete(systemusers::unlink_client),
        ),
        r(format!("{AUTHN}/enduser/systemuser/clients/available"), get(systemusers::available_clients)),
        r(format!("{AUTHN}/enduser/systemuser/agents"), get(systemusers::agents)),
        // Altinn's PDP.
        r(pdp::XACML_PATH.to_owned(), post(pdp::xacml_decision)),
    ]
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let altinn = altinn_routes();
    let templates = Arc::new(altinn_path::Templates::new(altinn.iter().map(|(t, _)| t.as_str())));
    let app = altinn.into_iter().fold(Router::new(), |app, (template, methods)| app.route(&template, methods));
    let app = app
        // Native: facts from upstream registers.
        .route("/v1/parties", post(register::register_party))
        .route("/v1/access-packages", post(register::define_access_package))
        .route("/v1/resources/{resource_id}/policy", put(register::publish_policy).get(register::get_policy))
        .route(
            "/v1/client-relationships",
            post(register::grant_relationship).delete(register::revoke_relationship).get(register::list_relationships),
        )
        // Decisions.
        .route("/v1/decisions", post(pdp::native_decision))
        .route("/v1/ledger/status", get(status))
        .route("/v1/ledger/seals", post(seal))
        .route("/v1/ledger/quarantine", get(quarantine))
        // Operations.
        .route("/metrics", get(metrics::metrics))
        .route("/healthz", get(metrics::healthz))
        .route("/readyz", get(metrics::readyz))
        // Audit.
        .route("/v1/audit/system-users/{id}/history", get(audit::system_user_history))
        .route("/v1/audit/clients/{org_no}/history", get(audit::client_history))
        .route("/v1/audit/actors/{actor_id}/history", get(audit::actor_history))
        .route("/v1/audit/access", get(audit::who_could_act))
        // The auditor's page (static; its API calls carry the auditor's token).
        .route("/audit", get(|| async { axum::response::Redirect::permanent("/audit/") }))
        .route("/audit/", get(|| async { ui(UI_HTML, "text/html; charset=utf-8") }))
        // The pages a request's `confirmUrl` names (Altinn's paths): the request, read
        // with the customer's token, and how to answer it.
        .route(
            "/accessmanagement/ui/systemuser/request",
            get(|| async { ui(CONFIRM_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/accessmanagement/ui/systemuser/agentrequest",
            get(|| async { ui(CONFIRM_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/accessmanagement/ui/systemuser/changerequest",
            get(|| async { ui(CONFIRM_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/accessmanagement/ui/systemuser/confirm.js",
            get(|| async { ui(CONFIRM_JS, "text/javascript; charset=utf-8") }),
        )
        .route("/audit/audit.js", get(|| async { ui(UI_JS, "text/javascript; charset=utf-8") }))
        .route("/audit/audit.css", get(|| async { ui(UI_CSS, "text/css; charset=utf-8") }))
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
        if request.uri().path() != pdp::XACML_PATH {
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
    Ok(read(serde_json::to_value(status).expect("status serialises"), position))
}

/// An operator seals the ledger: the hash chain over every record so far goes on the log.
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

const UI_HTML: &str = include_str!("ui/audit.html");
const UI_JS: &str = include_str!("ui/audit.js");
const UI_CSS: &str = include_str!("ui/audit.css");
const CONFIRM_HTML: &str = include_str!("ui/confirm.html");
const CONFIRM_JS: &str = include_str!("ui/confirm.js");

/// A static part of the auditor's page, with a policy that allows only this origin's
/// scripts, styles and API calls.
fn ui(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
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

/// The records this replica could not apply, with their positions and reasons.
async fn quarantine(state: axum::extract::State<AppState>, auth: extract::Auth) -> Result<Response, ApiError> {
    use crate::auth::Role;
    use crate::domain::model::ReadModel;
    auth.require(&[Role::Operator, Role::Auditor])?;
    let model = state.ledger.model();
    let records = model.quarantined();
    Ok(read(serde_json::json!({"count": records.len(), "data": records}), model.position()))
}
