//! Altinn's own answers, as its source shapes them (`Altinn/altinn-authentication`,
//! `Altinn.Authorization.ProblemDetails` 5.4.0; see `docs/altinn-contract.md`):
//!
//! - problem documents with an `AUTH-000nn` code, Altinn's title and status;
//! - validation problems (`STD-00000`) listing `AUTH.VLD-000nn` errors with their paths;
//! - ASP.NET's own validation shape for a body it cannot read;
//! - bodies read as ASP.NET reads them: property names without regard to case, unknown
//!   members ignored (two members that differ only in case are still refused: the body
//!   would say two things).
//!
//! The ledger's own stable code rides along as the extension member `ledgerCode`.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use super::error::{ApiError, PROBLEM_JSON};
use super::extract::REQUEST_BODY_BYTES_MAX;
use crate::auth::{Principal, Role};
use crate::domain::ids::OrgNo;

/// Who reads an organisation's system users and requests: its people, and auditors.
pub const READERS: [Role; 3] = [Role::Admin, Role::ClientAdmin, Role::Auditor];

/// Items on one page of a vendor's list, as Altinn pages them (`PaginationOptions:Size`).
pub const PAGE_ITEMS_MAX: usize = 50;

/// Acting for the party is Altinn's PDP check on `{party}`, answered with an empty 403
/// when it fails; auditors read everything.
pub fn acts_for(who: &Principal, org: &OrgNo) -> Result<(), AltinnError> {
    if who.role == Role::Auditor || who.org.as_ref() == Some(org) {
        Ok(())
    } else {
        Err(AltinnError::Forbidden)
    }
}

/// Altinn's `Opaque<T>` continuation token: base64url, unpadded, of the value as JSON.
pub fn opaque<T: serde::Serialize>(value: &T) -> String {
    use base64::Engine;
    let json = serde_json::to_vec(value).expect("a token value serialises");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// The value in an `Opaque<T>` token; a token that is not one is ASP.NET's binding
/// failure on `token`.
pub fn from_opaque<T: DeserializeOwned>(token: &str) -> Result<T, AltinnError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok();
    bytes.and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(|| AltinnError::unbound("token", token))
}

/// One page of a vendor's list: the items whose key is at least `from`, in key order,
/// at most [`PAGE_ITEMS_MAX`], and the key the next page starts with, if any.
pub fn page<T, K: Ord + Copy>(mut items: Vec<T>, key: impl Fn(&T) -> K, from: Option<K>) -> (Vec<T>, Option<K>) {
    items.retain(|item| from.is_none_or(|from| key(item) >= from));
    items.sort_by_key(|item| key(item));
    let next = items.get(PAGE_ITEMS_MAX).map(&key);
    items.truncate(PAGE_ITEMS_MAX);
    (items, next)
}

/// Altinn's `Paginated<T>`: `links.next` (absent on the last page) and `data`.
pub fn paginated(data: Vec<Value>, next: Option<String>) -> Value {
    let links = match next {
        Some(next) => json!({"next": next}),
        None => json!({}),
    };
    json!({"links": links, "data": data})
}

/// One of Altinn's problems: its code, HTTP status and title, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthProblem {
    pub code: &'static str,
    pub status: u16,
    pub title: &'static str,
}

macro_rules! problems {
    ($($name:ident = $code:literal, $status:literal, $title:literal;)*) => {
        $(pub const $name: AuthProblem = AuthProblem { code: $code, status: $status, title: $title };)*
    };
}

problems! {
    REPORTEE_ORGNO_NOT_FOUND = "AUTH-00000", 400, "Can't resolve the Organisation Number from the logged in Reportee PartyId.";
    RIGHTS_NOT_FOUND_OR_NOT_DELEGABLE = "AUTH-00001", 400, "One or more Right not found or not delegable.";
    SYSTEM_USER_ALREADY_EXISTS = "AUTH-00004", 400, "Failed to create new SystemUser, existing SystemUser tied to the given System-Id.";
    REQUEST_NOT_FOUND = "AUTH-00010", 404, "The Id does not refer to a Request in our system.";
    SYSTEM_ID_NOT_FOUND = "AUTH-00011", 404, "The Id does not refer to a Registered System.";
    REQUEST_STATUS_NOT_NEW = "AUTH-00013", 409, "The Status of the Request is not New.";
    REDIRECT_URI_NOT_FOUND = "AUTH-00021", 400, "The RedirectUri was not found or not valid.";
    NO_REDIRECT_URIS_ON_SYSTEM = "AUTH-00026", 400, "No redirect uris are set for the system";
    AGENT_REQUEST_NOT_FOUND = "AUTH-00030", 404, "The Id does not refer to an AgentRequest in our system.";
    PARTY_REQUEST_MISMATCH = "AUTH-00041", 403, "Party does not match request's orgno";
    PARTY_AGENT_REQUEST_MISMATCH = "AUTH-00042", 403, "Party does not match agent request's orgno";
    MISSING_ACCESS_PACKAGE = "AUTH-00058", 400, "No AccessPackages found, an Agent SystemUser must have at least one";
    MISSING_RIGHTS_OR_PACKAGES = "AUTH-00059", 400, "No AccessPackages or Single Rights found, a SystemUser must have at least one";
    ACCESS_PACKAGE_NOT_FOUND = "AUTH-00063", 400, "One or more accesspackage is not found in the referenced system in the System Register.";
    ACCESS_PACKAGE_NOT_DELEGABLE_STANDARD = "AUTH-00064", 400, "One or more access packages cannot be delegated. Either they are intended for clients or they cannot be delegated further.";
    ACCESS_PACKAGE_NOT_DELEGABLE_AGENT = "AUTH-00065", 400, "One or more access packages cannot be delegated because they are not intended for client relationships";
    SYSTEM_USER_NOT_FOUND = "AUTH-00015", 404, "The SystemUser was not found.";
    DELETE_SYSTEM_USER_NOT_OWNED = "AUTH-00024", 403, "you don't have rights to delete this systemuser";
    CUSTOMER_DELEGATION_FAILED_TO_REVOKE = "AUTH-00031", 400, "Party does not match delegation facilitator.";
    EXPECTED_AGENT_USER_TYPE = "AUTH-00034", 400, "The system user type of the provided system user GUID is not an agent.";
    EXPECTED_STANDARD_USER_TYPE = "AUTH-00036", 400, "The system user type of the provided system user GUID is not standard.";
    USER_IS_NOT_ACCESS_MANAGER = "AUTH-00066", 403, "The request requires logged in user to have accessmanager write.";
    CLIENT_NOT_FOUND = "AUTH-00079", 400, "Client not found.";
    CLIENT_MISSING_ACCESS_PACKAGES = "AUTH-00080", 400, "Client does not have the accesspackages the agent system user requires";
}

/// One of Altinn's validation errors (`AUTH.VLD-000nn`): code and title, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vld {
    pub code: &'static str,
    pub title: &'static str,
}

macro_rules! validation_errors {
    ($($name:ident = $code:literal, $title:literal;)*) => {
        $(pub const $name: Vld = Vld { code: $code, title: $title };)*
    };
}

validation_errors! {
    VLD_ORG_IDENTIFIER = "AUTH.VLD-00000", "the org number identifier is not valid ISO6523 identifier";
    VLD_SYSTEM_ID_FORMAT = "AUTH.VLD-00001", "The system id does not match the format orgnumber_xxxx...";
    VLD_SYSTEM_ID_EXISTS = "AUTH.VLD-00002", "The system id already exists";
    VLD_RESOURCE_NOT_FOUND = "AUTH.VLD-00003", "One or more resources specified in rights were not found in Altinn's resource register.";
    VLD_CLIENT_ID_EXISTS = "AUTH.VLD-00004", "One of the client id is already tagged with an existing system";
    VLD_REDIRECT_URL_FORMAT = "AUTH.VLD-00005", "One or more of the redirect urls format is not valid. The valid format is https://xxx.xx";
    VLD_RESOURCE_DUPLICATES = "AUTH.VLD-00006", "One or more duplicate rights found";
    VLD_ACCESS_PACKAGE_DUPLICATES = "AUTH.VLD-00007", "One or more duplicate access package(s) found";
    VLD_ACCESS_PACKAGE_NOT_VALID = "AUTH.VLD-00008", "One or all the accesspackage(s) is not found in altinn's access packages or is not delegable";
    VLD_RESOURCE_ID_FORMAT = "AUTH.VLD-00009", "One or more resource id is in wrong format. The valid format is urn:altinn:resource";
    VLD_CLIENT_ID_DUPLICATES = "AUTH.VLD-00011", "Request contains duplicate client ids";
    VLD_SYSTEM_ID_MISMATCH = "AUTH.VLD-00012", "The system ID in the request body does not match the system ID in the URL";
    VLD_SYSTEM_ID_SPACES = "AUTH.VLD-00013", "System ID cannot have spaces in id (leading, trailing or in between the id)";
    VLD_AGENT_MISSING = "AUTH.VLD-00014", "The agent query parameter is missing or invalid";
    VLD_SYSTEM_USER_NOT_FOUND = "AUTH.VLD-00014", "System user not found";
    VLD_NOT_AGENT = "AUTH.VLD-00015", "SystemUser is not a valid system user of type agent";
    VLD_CLIENT_MISSING = "AUTH.VLD-00016", "The client query parameter is missing or invalid";
    VLD_VISIBLE_WITH_CLIENT_PACKAGE = "AUTH.VLD-00018", "Access packages meant for system user for client relations can't be used in combination with the flag isVisible: true";
}

/// The paths Altinn's system register names in its validation errors.
pub mod paths {
    pub const VENDOR_ID: &str = "/registersystemrequest/vendor/id";
    pub const SYSTEM_ID: &str = "/registersystemrequest/systemid";
    pub const ALLOWED_REDIRECT_URLS: &str = "/registersystemrequest/allowedredirecturls";
    pub const ACCESS_PACKAGES: &str = "/registersystemrequest/accesspackages";
    pub const RIGHTS: &str = "/registersystemrequest/rights/resource";
    pub const CLIENT_ID: &str = "/registersystemrequest/clientid";
    pub const AGENT: &str = "?agent";
    pub const CLIENT: &str = "?client";
}

/// One validation error of a `STD-00000` problem.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidationError {
    pub vld: Vld,
    pub paths: Vec<&'static str>,
    pub detail: Option<String>,
}

impl ValidationError {
    pub fn new(vld: Vld, path: &'static str) -> ValidationError {
        ValidationError { vld, paths: vec![path], detail: None }
    }
}

/// An `AUTH-000nn` problem document's parts.
#[derive(Debug)]
pub struct Problem {
    pub problem: AuthProblem,
    pub detail: Option<String>,
    pub extensions: Map<String, Value>,
    pub ledger_code: Option<&'static str>,
}

/// Every answer but success the Altinn surface gives, in the shape Altinn gives it.
#[derive(Debug)]
pub enum AltinnError {
    /// An `AUTH-000nn` problem, with a detail and extension members if any (boxed: it
    /// is the largest answer and would make every `Result` carry its size).
    Problem(Box<Problem>),
    /// `STD-00000` with these errors, and the ledger's code when there is one.
    Validation(Vec<ValidationError>, Option<&'static str>),
    /// ASP.NET's shape for a body it cannot read.
    ModelState { path: String, message: String, ledger_code: &'static str },
    /// ASP.NET's bare 404.
    NotFound(&'static str),
    /// A plain-text answer (empty for Altinn's bodiless 400s and 404s).
    Text(StatusCode, String),
    /// A bare JSON value with a status (Altinn's `NotFound(0)`).
    Json(StatusCode, Value),
    /// The problem Altinn writes by hand when a party is not in the register.
    PartyNotFound(String),
    /// Altinn's empty 403.
    Forbidden,
    /// Anything Altinn has no shape of its own for: the ledger's problem document.
    Native(ApiError),
}

impl AltinnError {
    /// An `AUTH-000nn` problem carrying the ledger's code and its message as the detail.
    pub fn problem(problem: AuthProblem, ledger_code: &'static str, detail: impl Into<String>) -> AltinnError {
        AltinnError::Problem(Box::new(Problem {
            problem,
            detail: Some(detail.into()),
            extensions: Map::new(),
            ledger_code: Some(ledger_code),
        }))
    }

    /// ASP.NET's answer when a route or query value does not bind to its parameter's
    /// type (a `Guid` that is not one, an `int` that is not a number).
    pub fn unbound(parameter: &str, value: &str) -> AltinnError {
        AltinnError::ModelState {
            path: parameter.to_owned(),
            message: format!("The value '{}' is not valid.", crate::domain::ids::truncate(value)),
            ledger_code: "invalid_parameter",
        }
    }

    /// One validation error at one path.
    pub fn invalid(vld: Vld, path: &'static str, detail: Option<String>, ledger_code: &'static str) -> AltinnError {
        AltinnError::Validation(vec![ValidationError { vld, paths: vec![path], detail }], Some(ledger_code))
    }
}

impl From<ApiError> for AltinnError {
    fn from(e: ApiError) -> Self {
        AltinnError::Native(e)
    }
}

impl IntoResponse for AltinnError {
    fn into_response(self) -> Response {
        match self {
            AltinnError::Problem(p) => problem_document(*p),
            AltinnError::Validation(errors, code) => validation_problem(&errors, code),
            AltinnError::ModelState { path, message, ledger_code } => model_state_problem(&path, &message, ledger_code),
            AltinnError::NotFound(code) => not_found_problem(code),
            AltinnError::Text(status, message) if message.is_empty() => status.into_response(),
            AltinnError::Text(status, message) => text(status, message),
            AltinnError::Json(status, value) => (status, axum::Json(value)).into_response(),
            AltinnError::PartyNotFound(detail) => {
                let body = json!({"title": "Party not found", "status": 404, "detail": detail, "ledgerCode": "party_not_found"});
                problem_response(StatusCode::NOT_FOUND, body)
            }
            AltinnError::Forbidden => StatusCode::FORBIDDEN.into_response(),
            AltinnError::Native(e) => e.into_response(),
        }
    }
}

fn problem_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// An `AUTH-000nn` problem document: Altinn's members, then its extensions.
fn problem_document(Problem { problem: p, detail, extensions, ledger_code }: Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut body = json!({
        "type": format!("urn:altinn:error:{}", p.code),
        "title": p.title,
        "status": p.status,
        "code": p.code,
        "statusDescription": status.canonical_reason().unwrap_or("Error"),
    });
    if let Some(d) = detail {
        body["detail"] = json!(d);
    }
    if let Some(c) = ledger_code {
        body["ledgerCode"] = json!(c);
    }
    if let Value::Object(map) = &mut body {
        map.extend(extensions);
    }
    problem_response(status, body)
}

/// A `STD-00000` validation problem listing `errors`.
pub fn validation_problem(errors: &[ValidationError], ledger_code: Option<&str>) -> Response {
    let errors: Vec<Value> = errors
        .iter()
        .map(|e| {
            let mut v = json!({"code": e.vld.code, "title": e.vld.title, "paths": e.paths});
            if let Some(d) = &e.detail {
                v["detail"] = json!(d);
            }
            v
        })
        .collect();
    let mut body = json!({
        "type": "urn:altinn:error:STD-00000",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "code": "STD-00000",
        "statusDescription": "Bad Request",
        "validationErrors": errors,
    });
    if let Some(c) = ledger_code {
        body["ledgerCode"] = json!(c);
    }
    problem_response(StatusCode::BAD_REQUEST, body)
}

/// ASP.NET's answer to a body it cannot read (syntax, a missing required member, a
/// wrong type): `errors` keyed by the JSON path.
pub fn model_state_problem(path: &str, message: &str, ledger_code: &str) -> Response {
    let body = json!({
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": {path: [message]},
        "ledgerCode": ledger_code,
    });
    problem_response(StatusCode::BAD_REQUEST, body)
}

/// ASP.NET's bare 404 (`NotFound()`).
pub fn not_found_problem(ledger_code: &str) -> Response {
    let body = json!({
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        "title": "Not Found",
        "status": 404,
        "ledgerCode": ledger_code,
    });
    problem_response(StatusCode::NOT_FOUND, body)
}

/// A plain-text answer, as some of Altinn's actions give.
pub fn text(status: StatusCode, message: String) -> Response {
    let mut response = (status, message).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// Altinn's `Right` as a body holds it (member names lower-cased).
#[derive(serde::Deserialize, Debug)]
pub struct RightBody {
    pub resource: Vec<AttributeBody>,
    #[serde(default)]
    pub action: Option<String>,
}

/// Altinn's `AttributePair`.
#[derive(serde::Deserialize, Debug)]
pub struct AttributeBody {
    pub id: String,
    pub value: String,
}

/// Altinn's `AccessPackage`.
#[derive(serde::Deserialize, Debug)]
pub struct PackageBody {
    pub urn: Option<String>,
}

/// Members whose values are free-form maps (language → text): their keys are data,
/// kept as sent.
const FREE_FORM_MEMBERS: [&str; 2] = ["name", "description"];

/// A body read as ASP.NET reads Altinn's DTOs: member names without regard to case
/// (each is lower-cased before `T`, whose fields are named in lower case, reads it),
/// unknown members ignored. Two members of one object that differ only in case are
/// refused.
pub struct AltinnJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AltinnJson<T> {
    type Rejection = AltinnError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AltinnError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType.into());
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge(REQUEST_BODY_BYTES_MAX)
            } else {
                ApiError::InvalidBody(e.body_text())
            }
        })?;
        let unreadable =
            |path: String, message: String| AltinnError::ModelState { path, message, ledger_code: "invalid_body" };
        if bytes.is_empty() {
            return Err(unreadable(String::new(), "A non-empty request body is required.".to_owned()));
        }
        // Duplicates refused first, exactly as on the native surface; a body that is no
        // JSON is answered in ASP.NET's shape.
        let value: Value = super::extract::parse_json(&bytes).map_err(|e| match e {
            ApiError::MalformedJson(why) => {
                AltinnError::ModelState { path: "$".to_owned(), message: why, ledger_code: "malformed_json" }
            }
            ApiError::InvalidBody(why) => unreadable("$".to_owned(), why),
            other => AltinnError::Native(other),
        })?;
        let value = lower_case_keys(value).map_err(|why| unreadable("$".to_owned(), why))?;
        let mut track = serde_path_to_error::Track::new();
        let deserializer = serde_path_to_error::Deserializer::new(value, &mut track);
        T::deserialize(deserializer).map(AltinnJson).map_err(|e| {
            let path = track.path().to_string();
            let path = if path == "." { "$".to_owned() } else { format!("$.{path}") };
            unreadable(path, e.to_string())
        })
    }
}

/// Lower-cases every member name, but the keys of free-form maps; refuses two names
/// that become one.
fn lower_case_keys(value: Value) -> Result<Value, String> {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, v) in map {
                let name = key.to_lowercase();
                let v = if FREE_FORM_MEMBERS.contains(&name.as_str()) { v } else { lower_case_keys(v)? };
                if out.insert(name, v).is_some() {
                    let shown = crate::domain::ids::truncate(&key);
                    return Err(format!(
                        "the member '{shown}' is given twice (member names are read without regard to case)"
                    ));
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items.into_iter().map(lower_case_keys).collect::<Result<_, _>>().map(Value::Array),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_read_without_regard_to_case_but_not_inside_free_form_maps() {
        let v = json!({"Id": "x", "Vendor": {"ID": "0192:1"}, "Name": {"NB": "a"}, "ClientId": ["c"]});
        let lowered = lower_case_keys(v).unwrap();
        assert_eq!(lowered, json!({"id": "x", "vendor": {"id": "0192:1"}, "name": {"NB": "a"}, "clientid": ["c"]}));
    }

    #[test]
    fn two_names_differing_only_in_case_are_refused() {
        let err = lower_case_keys(json!({"id": "a", "ID": "b"})).unwrap_err();
        assert!(err.contains("given twice"), "{err}");
    }
}
