//! The OpenAPI 3.1 document of the whole service, served at `/openapi.json`.
//!
//! It is generated from the code so that it cannot drift: every route is built by
//! utoipa-axum's `routes!` from the handler's `#[utoipa::path]` annotation (path and
//! method written once), and [`complete`] then adds what every operation shares: the
//! parameters its path template names, the answers every entry point may give (bad
//! input, no or a bad token, a role that may not, overload), the Maskinporten scopes
//! [`super::scopes`] admits on it, and the links between operations that Schemathesis'
//! stateful phase and generated clients follow. The schemas here are documentation-only
//! shapes of bodies the handlers write; Schemathesis checks every answer against them.
//!
//! Roles: the ledger's tokens carry one role, and each operation lists the roles it
//! admits as the `bearer` requirement's array (OpenAPI 3.1 §4.8.30: role names for a
//! scheme that is not OAuth2). This module knows no handler and no rule.

use std::collections::BTreeMap;

use axum::http::Method;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat};
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder, Type};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::maskinporten;

/// The document's fixed part; [`complete`] adds the rest once the routes are known.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Delegation ledger",
        description = "System users as on Altinn, on an immutable event log: Altinn's own authentication \
                       and PDP endpoints, unchanged, and the ledger's native register, decision, audit and \
                       operations endpoints. Every write is an event; every read may be asked as of an \
                       earlier time (`at`) or ledger position (`atPosition`).",
        license(name = "Proprietary")
    ),
    tags(
        (name = "System register", description = "Altinn: vendors' systems"),
        (name = "System-user requests", description = "Altinn: a vendor asks, a customer approves"),
        (name = "Change requests", description = "Altinn: a vendor asks for more or fewer rights"),
        (name = "System users", description = "Altinn: the customer's and vendor's system users"),
        (name = "Client delegation", description = "Altinn: an agent system user's clients"),
        (name = "Decisions", description = "Altinn's PDP and the native decision endpoint"),
        (name = "Register", description = "Facts from upstream registers: parties, packages, policies, client relationships"),
        (name = "Audit", description = "Histories and who could act, with proof"),
        (name = "Ledger", description = "The log itself: status, seals, quarantine"),
        (name = "Operations", description = "Metrics, liveness and readiness"),
        (name = "Pages", description = "Pages for people: the auditor's view and the request pages"),
    ),
)]
pub struct ApiDoc;

/// A problem document (RFC 9457). The ledger's own endpoints answer with `type`,
/// `title`, `status`, `code` and `detail`; Altinn's endpoints answer as Altinn does:
/// `AUTH-000nn` problems with `code`, `STD-00000` with `validationErrors`, ASP.NET's
/// with `errors`, each with the ledger's reason in `ledgerCode`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // documentation only
pub struct Problem {
    #[schema(rename = "type", example = "urn:delegation-ledger:problem:invalid_body")]
    kind: Option<String>,
    title: Option<String>,
    status: Option<u16>,
    detail: Option<String>,
    /// The ledger's code, or Altinn's (`AUTH-00011`, `STD-00000`).
    code: Option<String>,
    status_description: Option<String>,
    /// The ledger's reason on an Altinn-shaped problem.
    ledger_code: Option<String>,
    validation_errors: Option<Vec<ValidationError>>,
    /// ASP.NET's model-state errors, by JSON path.
    errors: Option<BTreeMap<String, Vec<String>>>,
}

/// One broken rule of a `STD-00000` problem.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct ValidationError {
    #[schema(example = "VLD-00004")]
    code: String,
    title: String,
    paths: Vec<String>,
    detail: Option<String>,
}

/// `?at=` / `?atPosition=`: the answer as the ledger stood then (one of them at most).
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)] // documentation only
pub struct AsOf {
    /// The answer as of this time (RFC 3339).
    #[param(format = DateTime, example = "2026-03-01T09:00:00Z")]
    at: Option<String>,
    /// The answer as of this ledger position (events `0..atPosition`).
    #[param(minimum = 0)]
    at_position: Option<u64>,
}

/// `X-Correlation-ID`: recorded on the events a write appends.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documentation only
pub struct Correlation {
    /// Printable ASCII, recorded on the events this write appends.
    #[param(rename = "X-Correlation-ID", min_length = 1, max_length = 128)]
    correlation_id: Option<String>,
}

/// What the path parameters of every template mean.
/// (name, description, format, pattern): a format or pattern only where every
/// operation with the parameter refuses a value outside it.
const PATH_PARAMETERS: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    ("system_id", "A system's id, `<vendor org number>_<name>`", None, None),
    ("id", "A request's, change request's or system user's id", Some("uuid"), None),
    ("party", "The customer's party id", None, Some("^[0-9]{1,10}$")),
    ("facilitator", "The facilitator's party UUID", Some("uuid"), None),
    ("org_no", "An organisation number (nine digits)", None, Some("^[0-9]{9}$")),
    ("external_ref", "The vendor's external reference", None, None),
    ("resource_id", "A resource id", None, None),
    ("actor_id", "An actor's id as the log records it", None, None),
    ("seq", "A decision's sequence number in the decision log", None, Some("^[0-9]{1,20}$")),
];

/// A link a client follows from one operation's answer to the next (OpenAPI §4.8.20).
struct Link {
    from: &'static str,
    status: &'static str,
    name: &'static str,
    to: &'static str,
    /// Parameter name and runtime expression.
    parameters: &'static [(&'static str, &'static str)],
}

/// The links between operations: a new request (201), or the one the vendor already
/// made with that external reference (200), is read, answered and withdrawn by its `id`; an approved agent request's id is the system user's, to which clients are
/// linked; a link is listed and undone by what it answered; a relationship and a
/// policy are read back where they were written.
const LINKS: &[Link] = &[
    link("request_vendor_create_standard", "201", "GetRequest", "request_vendor_get_standard", ID_OF_BODY),
    link("request_vendor_create_standard", "201", "WithdrawRequest", "request_vendor_delete", ID_OF_BODY),
    link("request_vendor_create_agent", "201", "GetAgentRequest", "request_vendor_get_agent", ID_OF_BODY),
    link("request_vendor_create_agent", "201", "ApproveAgentRequest", "request_approve_agent", ID_OF_BODY),
    link("request_vendor_create_agent", "201", "RejectAgentRequest", "request_reject_agent", ID_OF_BODY),
    link("request_vendor_create_standard", "200", "GetRequest", "request_vendor_get_standard", ID_OF_BODY),
    link("request_vendor_create_standard", "200", "WithdrawRequest", "request_vendor_delete", ID_OF_BODY),
    link("request_vendor_create_agent", "200", "GetAgentRequest", "request_vendor_get_agent", ID_OF_BODY),
    link("request_vendor_create_agent", "200", "ApproveAgentRequest", "request_approve_agent", ID_OF_BODY),
    link("request_vendor_create_agent", "200", "RejectAgentRequest", "request_reject_agent", ID_OF_BODY),
    link("request_get_for_party_agent", "200", "ApproveAgentRequest", "request_approve_agent", PARTY_AND_ID),
    link("request_get_for_party_standard", "200", "ApproveRequest", "request_approve_standard", PARTY_AND_ID),
    link("request_approve_agent", "200", "LinkClient", "client_link", &[("agent", "$request.path.id")]),
    link("request_approve_agent", "200", "ListClients", "client_list", &[("agent", "$request.path.id")]),
    link("client_link", "200", "UnlinkClient", "client_unlink", LINKED),
    link("client_link", "200", "ListClients", "client_list", &[("agent", "$response.body#/agent")]),
    link("changerequest_vendor_create", "201", "GetChangeRequest", "changerequest_vendor_get", ID_OF_BODY),
    link("changerequest_vendor_create", "201", "WithdrawChangeRequest", "changerequest_vendor_delete", ID_OF_BODY),
    link("systemuser_create", "200", "GetSystemUser", "systemuser_get", PARTY_OF_PATH_AND_ID),
    link("systemuser_create", "200", "DeleteSystemUser", "systemuser_delete", PARTY_OF_PATH_AND_ID),
    link(
        "grant_relationship",
        "201",
        "ListRelationships",
        "list_relationships",
        &[("facilitator", "$response.body#/facilitator")],
    ),
    link("grant_relationship", "201", "RevokeRelationship", "revoke_relationship", RELATIONSHIP),
    link("publish_policy", "200", "GetPolicy", "get_policy", &[("resource_id", "$request.path.resource_id")]),
];

const ID_OF_BODY: &[(&str, &str)] = &[("id", "$response.body#/id")];
const PARTY_AND_ID: &[(&str, &str)] = &[("party", "$request.path.party"), ("id", "$request.path.id")];
const PARTY_OF_PATH_AND_ID: &[(&str, &str)] = &[("party", "$request.path.party"), ("id", "$response.body#/id")];
const LINKED: &[(&str, &str)] = &[("agent", "$response.body#/agent"), ("client", "$response.body#/client")];
const RELATIONSHIP: &[(&str, &str)] =
    &[("client", "$response.body#/client"), ("facilitator", "$response.body#/facilitator")];

const fn link(
    from: &'static str,
    status: &'static str,
    name: &'static str,
    to: &'static str,
    parameters: &'static [(&'static str, &'static str)],
) -> Link {
    Link { from, status, name, to, parameters }
}

/// Adds to `api` what every operation shares (see the module header), after the routes
/// have put their operations in.
pub fn complete(api: &mut utoipa::openapi::OpenApi) {
    add_components(api);
    for (path, item) in api.paths.paths.iter_mut() {
        for (method, operation) in operations_mut(item) {
            add_path_parameters(path, operation);
            add_shared_responses(operation, path.starts_with(super::AUTHN));
            add_scopes(&method, path, operation);
        }
    }
    add_links(api);
}

/// Every operation of a path, with its method.
pub fn operations_mut(item: &mut PathItem) -> Vec<(Method, &mut Operation)> {
    let PathItem { get, put, post, delete, .. } = item;
    [(Method::GET, get), (Method::PUT, put), (Method::POST, post), (Method::DELETE, delete)]
        .into_iter()
        .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
        .collect()
}

fn add_components(api: &mut utoipa::openapi::OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some(
            "The ledger's own token (EdDSA; `ledger token --role R` makes one locally). Its `role` claim is one of \
             the roles each operation lists; `org`, `party` and `person` scope it.",
        ))
        .build();
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    let scopes = Scopes::from_iter([
        (maskinporten::SYSTEMREGISTER_WRITE, "A vendor registers and changes its systems"),
        (maskinporten::SYSTEMREGISTER_ADMIN, "Altinn's administrators of the system register"),
        (maskinporten::REQUEST_WRITE, "A vendor asks for system users"),
        (maskinporten::REQUEST_READ, "A vendor reads its requests"),
        (maskinporten::SYSTEMUSER_LOOKUP, "A vendor looks up a system user by client id"),
        (maskinporten::SYSTEMUSER_ADMIN, "Altinn Register reads the system-user stream"),
    ]);
    let flow = Flow::ClientCredentials(ClientCredentials::new("https://maskinporten.no/token", scopes));
    let mut oauth = OAuth2::new([flow]);
    oauth.description = Some("A Maskinporten token (RS256), where the service trusts Maskinporten's keys".into());
    components.add_security_scheme("maskinporten", SecurityScheme::OAuth2(oauth));
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
            )
            .build()
    };
    components.responses.insert(
        "BadRequest".into(),
        RefOr::T(problem("Bad input: a parameter or body the operation cannot take; nothing is written")),
    );
    components.responses.insert("Unauthenticated".into(), RefOr::T(problem("No token, or one that is not valid")));
    components.responses.insert("Forbidden".into(), RefOr::T(problem("A role, organisation or party that may not")));
    let maybe_empty = |description: &str| RefOr::T(ResponseBuilder::new().description(description).build());
    components.responses.insert(
        "AltinnUnauthenticated".into(),
        maybe_empty("No token, or one that is not valid: a problem document, or empty where Altinn answers empty"),
    );
    components.responses.insert(
        "AltinnForbidden".into(),
        maybe_empty(
            "A role that may not (a problem document, `role_not_allowed`), or an organisation or party the token \
             does not act for (Altinn's empty 403)",
        ),
    );
    components.responses.insert("TooLarge".into(), RefOr::T(problem("The body is larger than the service takes")));
    components.responses.insert("NotJson".into(), RefOr::T(problem("The body is not `application/json`")));
    components.responses.insert(
        "Unavailable".into(),
        RefOr::T(problem("Overloaded, or storage unavailable; `Retry-After` says when to come back")),
    );
    let schemas: [(&str, RefOr<utoipa::openapi::schema::Schema>); 2] = [
        ("Problem", <Problem as utoipa::PartialSchema>::schema()),
        ("ValidationError", <ValidationError as utoipa::PartialSchema>::schema()),
    ];
    for (name, schema) in schemas {
        components.schemas.insert(name.to_owned(), schema);
    }
}

/// The template's `{name}` parameters the annotation did not describe itself.
fn add_path_parameters(path: &str, operation: &mut Operation) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    for name in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
        let declared = parameters
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.name == name && p.parameter_in == ParameterIn::Path));
        if declared {
            continue;
        }
        let known = PATH_PARAMETERS.iter().find(|(n, ..)| *n == name);
        let (_, description, format, pattern) =
            known.unwrap_or_else(|| panic!("path parameter {{{name}}} of {path} is not in PATH_PARAMETERS"));
        let format = format.map(|f| SchemaFormat::Custom(f.to_owned()));
        let schema =
            ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).format(format).pattern(*pattern);
        let parameter: Parameter = ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(*description))
            .schema(Some(schema))
            .build();
        parameters.push(RefOr::T(parameter));
    }
}

/// The answers any operation may give besides its own: 400 where it takes input, 401
/// and 403 where it needs a token, 413 and 415 where it takes a body, 503 everywhere.
/// On Altinn's surface 401 and 403 may be Altinn's empty answers, so no body is
/// promised there.
fn add_shared_responses(operation: &mut Operation, altinn: bool) {
    let takes_input = operation.request_body.is_some() || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut shared = vec![];
    if takes_input {
        shared.push(("400", "BadRequest"));
    }
    if secured {
        if altinn {
            shared.extend([("401", "AltinnUnauthenticated"), ("403", "AltinnForbidden")]);
        } else {
            shared.extend([("401", "Unauthenticated"), ("403", "Forbidden")]);
        }
    }
    if operation.request_body.is_some() {
        shared.extend([("413", "TooLarge"), ("415", "NotJson")]);
    }
    shared.push(("503", "Unavailable"));
    for (status, name) in shared {
        let responses = &mut operation.responses.responses;
        if !responses.contains_key(status) {
            responses.insert(status.to_owned(), RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}

/// Where a Maskinporten token is admitted ([`super::scopes::admitting`]), the
/// operation's security says so beside the ledger's own token.
fn add_scopes(method: &Method, path: &str, operation: &mut Operation) {
    let scopes = super::scopes::admitting(method, path);
    if scopes.is_empty() {
        return;
    }
    let requirement = SecurityRequirement::new("maskinporten", scopes.iter().copied());
    operation.security.get_or_insert_with(Vec::new).push(requirement);
}

fn add_links(api: &mut utoipa::openapi::OpenApi) {
    for Link { from, status, name, to, parameters } in LINKS {
        let mut link = LinkBuilder::new().operation_id(*to);
        for (parameter, expression) in *parameters {
            link = link.parameter(*parameter, *expression);
        }
        assert!(find_operation(api, to).is_some(), "link {name}: no operation {to}");
        let operation = find_operation(api, from).unwrap_or_else(|| panic!("link {name}: no operation {from}"));
        let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) else {
            panic!("link {name}: {from} documents no {status} of its own");
        };
        response.links.insert((*name).to_owned(), RefOr::T(link.build()));
    }
}

fn find_operation<'a>(api: &'a mut utoipa::openapi::OpenApi, id: &str) -> Option<&'a mut Operation> {
    api.paths
        .paths
        .values_mut()
        .flat_map(|item| operations_mut(item).into_iter().map(|(_, op)| op))
        .find(|op| op.operation_id.as_deref() == Some(id))
}

/// Text by language code (`nb`, `nn`, `en`), at least one.
pub struct LocalisedText;

impl utoipa::PartialSchema for LocalisedText {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder};
        let text = ObjectBuilder::new().schema_type(utoipa::openapi::Type::String);
        ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Object)
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(text.into()))))
            .min_properties(Some(1))
            .description(Some("Text by language code (`nb`, `nn`, `en`), at least one"))
            .examples([serde_json::json!({"nb": "Maestro", "en": "Maestro"})])
            .into()
    }
}

impl ToSchema for LocalisedText {}

/// Altinn's `Right`: one resource (`urn:altinn:resource`), optionally one action.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct Right {
    #[schema(min_items = 1)]
    resource: Vec<AttributePair>,
    #[schema(nullable = false)]
    action: Option<String>,
}

/// Altinn's `AttributePair`.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct AttributePair {
    #[schema(example = "urn:altinn:resource")]
    id: String,
    #[schema(example = "ske-krav-og-betalinger")]
    value: String,
}

/// Altinn's `AccessPackage`.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct AccessPackage {
    #[schema(example = "urn:altinn:accesspackage:skattegrunnlag", pattern = "^urn:altinn:accesspackage:[a-z0-9-]+$")]
    urn: String,
}

/// A page of Altinn's paginated lists: `links.next` while there is more.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct Paginated<T: ToSchema> {
    links: PageLinks,
    data: Vec<T>,
}

#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct PageLinks {
    #[schema(nullable = false)]
    next: Option<String>,
}

/// The ledger's status (`GET /v1/ledger/status`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // documentation only
pub struct LedgerStatus {
    /// Records on the log.
    head_position: u64,
    /// Records applied to this replica's read model.
    projected_position: u64,
    /// SHA-256 of the read model; equal digests at equal positions mean equal models.
    read_model_digest: String,
    quarantined_records: u64,
    /// Which log: the embedded file or a Kafka topic.
    log: String,
    /// Where decisions are recorded, and the sequence numbers it keeps; `null` on an
    /// instance started for a benchmark without it.
    decision_log: Option<DecisionLogStatus>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // documentation only
pub struct DecisionLogStatus {
    /// `embedded:<dir>` or `kafka:<topic>`.
    storage: String,
    /// The oldest decision kept (earlier ones are past the retention).
    first: u64,
    /// One past the newest decision.
    head: u64,
    /// On Kafka: this replica's decisions not yet on the decision topic (kept on its disk
    /// until they are); null on the embedded log.
    unshipped: Option<u64>,
}

/// A seal: the records it covers and the hash chain's value over them.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // documentation only
pub struct Seal {
    sealed_records: u64,
    chain_hash: String,
    /// The seal's own position on the log.
    position: u64,
}

#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct QuarantineList {
    count: u64,
    data: Vec<QuarantinedRecord>,
}

/// A record on the log that is not an event this build can apply.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct QuarantinedRecord {
    index: u64,
    reason: String,
    bytes: u64,
    sha256: String,
    /// The start of the record, for people (lossy UTF-8).
    preview: String,
    /// The hash chain after this record (hex; it covers the record's bytes).
    chain: String,
}
