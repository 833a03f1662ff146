//! Every refusal the HTTP API gives, and the one place where they become RFC 9457
//! `application/problem+json` responses with stable codes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::AuthError;
use crate::domain::model::VoidReason;
use crate::domain::{Kind, Rejection};
use crate::ledger::WriteError;
use crate::log::LogError;

pub const PROBLEM_JSON: &str = "application/problem+json";
/// What a 503 tells a client to wait before it tries again.
pub const RETRY_AFTER_SECONDS: u64 = 2;

#[derive(Debug)]
pub enum ApiError {
    Unauthenticated(AuthError),
    /// The caller's role may not use this endpoint.
    WrongRole(String),
    MalformedJson(String),
    InvalidBody(String),
    BodyTooLarge(usize),
    UnsupportedMediaType,
    InvalidParameter(String),
    NoRoute,
    MethodNotAllowed,
    Rejected(Rejection),
    Conflict(VoidReason),
    Unavailable(String),
    /// Commits kept landing during every scan for the read model's digest.
    DigestUnsettled(String),
    /// The write is durable but this replica cannot yet say whether it took effect.
    OutcomeUnknown(String),
    /// The storage cannot take writes now (disk full, read model failed); nothing was
    /// written. The detail is logged, not sent.
    StorageUnavailable(String),
    /// Too much is in flight; the request was shed rather than queued.
    Overloaded,
    /// The replica has not reached the `Ledger-Min-Position` the caller asked for.
    NotYetConsistent {
        wanted: u64,
        reached: u64,
    },
    Internal(String),
}

impl ApiError {
    /// The status, the problem's code and the detail a client may read (internal
    /// failures say only that they were logged).
    pub(crate) fn parts(&self) -> (StatusCode, &str, String) {
        use ApiError::*;
        match self {
            Unauthenticated(e) => (StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string()),
            WrongRole(why) => (StatusCode::FORBIDDEN, "role_not_allowed", why.clone()),
            MalformedJson(why) => (StatusCode::BAD_REQUEST, "malformed_json", why.clone()),
            InvalidBody(why) => (StatusCode::BAD_REQUEST, "invalid_body", why.clone()),
            BodyTooLarge(max) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", format!("request bodies are limited to {max} bytes"))
            }
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send Content-Type: application/json".to_owned(),
            ),
            InvalidParameter(why) => (StatusCode::BAD_REQUEST, "invalid_parameter", why.clone()),
            NoRoute => (StatusCode::NOT_FOUND, "no_such_endpoint", "no endpoint at this path".to_owned()),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method".to_owned(),
            ),
            Rejected(r) => {
                let status = match r.code.kind() {
                    Kind::Invalid => StatusCode::BAD_REQUEST,
                    Kind::NotFound => StatusCode::NOT_FOUND,
                    Kind::Forbidden => StatusCode::FORBIDDEN,
                    Kind::Conflict => StatusCode::CONFLICT,
                };
                (status, r.code.as_str(), r.message.clone())
            }
            Conflict(v) => {
                (StatusCode::CONFLICT, v.code.as_str(), format!("{} (the event was recorded as void)", v.message))
            }
            Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, "log_unavailable", why.clone()),
            DigestUnsettled(why) => (StatusCode::SERVICE_UNAVAILABLE, "digest_unsettled", why.clone()),
            OutcomeUnknown(why) => {
                (StatusCode::SERVICE_UNAVAILABLE, "outcome_unknown", format!("{why}; a retry is safe"))
            }
            StorageUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "the ledger's storage cannot take writes now; nothing was written. Retry later".to_owned(),
            ),
            Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the ledger is at its limit of requests in flight; retry after a moment".to_owned(),
            ),
            NotYetConsistent { wanted, reached } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "not_yet_consistent",
                format!("this replica has reached position {reached}, not yet the {wanted} asked for; retry shortly"),
            ),
            Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred; it was logged".to_owned())
            }
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        ApiError::Rejected(r)
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Rejected(r) => ApiError::Rejected(r),
            WriteError::Conflict(v) => ApiError::Conflict(v),
            WriteError::Log(LogError::Unavailable(why)) => ApiError::Unavailable(why),
            WriteError::Log(LogError::Refused(why)) => ApiError::InvalidBody(why),
            // The append failed before it was acknowledged (it cut back what it wrote).
            WriteError::Log(LogError::Io(e)) => ApiError::StorageUnavailable(format!("event log: {e}")),
            WriteError::Log(other) => ApiError::Internal(other.to_string()),
            WriteError::Storage(p) => ApiError::StorageUnavailable(p.to_string()),
            // Catching up before deciding failed: this command wrote nothing.
            WriteError::Project(crate::projector::ProjectError::Store(e)) => {
                ApiError::StorageUnavailable(e.to_string())
            }
            WriteError::Project(p) => ApiError::Internal(p.to_string()),
            e @ WriteError::OutcomeUnknown { .. } => ApiError::OutcomeUnknown(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, detail) = self.parts();
        match &self {
            // Internal text goes to the log only.
            ApiError::Internal(why) | ApiError::StorageUnavailable(why) => tracing::error!(%status, code, "{why}"),
            _ if status.is_server_error() => tracing::warn!(%status, code, "{detail}"),
            _ => tracing::debug!(%status, code, "{detail}"),
        }
        let body = json!({
            "type": format!("urn:delegation-ledger:problem:{code}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "code": code,
            "detail": detail,
        });
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let ApiError::Unauthenticated(_) = self {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Every 503 is temporary: say when to come back.
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}
