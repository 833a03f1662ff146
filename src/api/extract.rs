//! Extractors that turn every malformed input into an [`ApiError`], so that no axum
//! default plain-text rejection ever reaches a client.

use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::AppState;
use crate::auth::{Principal, Role};
use crate::domain::pdp::At;

/// Largest request body accepted anywhere.
pub const REQUEST_BODY_BYTES_MAX: usize = 256 * 1024;

/// A JSON body, parsed strictly: wrong syntax is `malformed_json`, a wrong shape is
/// `invalid_body`, too large is `body_too_large`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body's bytes, not yet parsed (for a caller that parses a large one off the
/// async workers): refused as [`JsonBody`] refuses a body of another media type, one
/// too large, or one that cannot be read.
pub struct JsonBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge(REQUEST_BODY_BYTES_MAX)
            } else {
                ApiError::InvalidBody(e.body_text())
            }
        })?;
        Ok(JsonBytes(bytes))
    }
}

/// Parses a JSON body. A member given twice in one object is refused: serde_json would
/// keep the last silently, and a body that says two things means neither.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let classify = |e: serde_json::Error| match e.classify() {
        serde_json::error::Category::Data => ApiError::InvalidBody(e.to_string()),
        _ => ApiError::MalformedJson(e.to_string()),
    };
    serde_json::from_slice::<Unique>(bytes).map_err(classify)?;
    serde_json::from_slice(bytes).map_err(classify)
}

/// Any JSON document in which no object names a member twice.
struct Unique;

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Unique;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                let key = crate::domain::ids::truncate(&key);
                return Err(serde::de::Error::custom(format!("the member '{key}' is given more than once")));
            }
            map.next_value::<Unique>()?;
        }
        Ok(Unique)
    }
}

pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|e: PathRejection| ApiError::InvalidParameter(e.body_text()))
    }
}

pub struct QueryParams<T>(pub T);

/// The query parameters every read endpoint shares; each endpoint's own parameters are
/// parsed without them.
const SHARED_QUERY_PARAMETERS: [&str; 2] = ["at", "atPosition"];

/// The query parameters Altinn binds as lists (`List<string>`), given once per value.
const LIST_QUERY_PARAMETERS: [&str; 1] = ["packages"];

/// The query's pairs; a parameter given twice is refused, never resolved by a pick
/// (a list parameter, each value once, is a list).
fn query_pairs(parts: &Parts) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
        .map_err(|e| ApiError::InvalidParameter(format!("malformed query string: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    let repeated = |(k, v): &&(String, String)| {
        let key = if LIST_QUERY_PARAMETERS.contains(&k.as_str()) { format!("{k}={v}") } else { k.clone() };
        !seen.insert(key)
    };
    if let Some((name, _)) = pairs.iter().find(repeated) {
        return Err(ApiError::InvalidParameter(format!(
            "the query parameter '{}' is given more than once",
            crate::domain::ids::truncate(name)
        )));
    }
    Ok(pairs)
}

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let own: Vec<(String, String)> =
            query_pairs(parts)?.into_iter().filter(|(k, _)| !SHARED_QUERY_PARAMETERS.contains(&k.as_str())).collect();
        let encoded = serde_urlencoded::to_string(&own).expect("pairs re-encode");
        serde_urlencoded::from_str(&encoded).map(QueryParams).map_err(|e| ApiError::InvalidParameter(e.to_string()))
    }
}

/// An endpoint's own query parameters as pairs, for those with list parameters.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let pairs = query_pairs(parts)?;
        Ok(QueryPairs(pairs.into_iter().filter(|(k, _)| !SHARED_QUERY_PARAMETERS.contains(&k.as_str())).collect()))
    }
}

/// `?at=<RFC 3339 time>` or `?atPosition=<n>`: read the ledger as it stood then.
pub struct AsOfParams(pub Option<At>);

pub fn parse_at(at: Option<&str>, at_position: Option<&str>) -> Result<Option<At>, ApiError> {
    match (at, at_position) {
        (Some(_), Some(_)) => Err(ApiError::InvalidParameter("give either at or atPosition, not both".to_owned())),
        (Some(t), None) => {
            chrono::DateTime::parse_from_rfc3339(t).map(|t| Some(At::Time(t.with_timezone(&chrono::Utc)))).map_err(
                |_| ApiError::InvalidParameter("at must be an RFC 3339 time, e.g. 2026-03-01T09:00:00Z".to_owned()),
            )
        }
        (None, Some(p)) => p
            .parse()
            .map(|p| Some(At::Position(p)))
            .map_err(|_| ApiError::InvalidParameter("atPosition must be a non-negative integer".to_owned())),
        (None, None) => Ok(None),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AsOfParams {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let pairs = query_pairs(parts)?;
        let find = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        parse_at(find("at"), find("atPosition")).map(AsOfParams)
    }
}

/// The verified caller. Every endpoint but the fallbacks takes one.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = authenticate(&parts.headers, state)?;
        if let Some(scopes) = &principal.scopes {
            let admitting = super::scopes::admitting(&parts.method, parts.uri.path());
            if !admitting.iter().any(|a| scopes.iter().any(|s| s == a)) {
                let needed = if admitting.is_empty() {
                    "none: no Maskinporten token".to_owned()
                } else {
                    admitting.join(" or ")
                };
                return Err(ApiError::WrongRole(format!(
                    "the token's scopes do not admit this endpoint (it takes {needed})"
                )));
            }
        }
        Ok(Auth(principal))
    }
}

/// The caller the `Authorization` header proves, or why not. Two such headers prove
/// nothing: neither is picked.
pub fn authenticate(headers: &axum::http::HeaderMap, state: &AppState) -> Result<Principal, ApiError> {
    let header = one_header(headers, header::AUTHORIZATION.as_str())?.map(|v| v.to_str().unwrap_or("\u{0}"));
    state.verifier.verify(header).map_err(ApiError::Unauthenticated)
}

/// The one value of a header the ledger reads, if given; a header given twice is
/// ambiguous and refused.
pub fn one_header<'a>(
    headers: &'a axum::http::HeaderMap,
    name: &str,
) -> Result<Option<&'a axum::http::HeaderValue>, ApiError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (_, Some(_)) => Err(ApiError::InvalidParameter(format!("the header {name} is given more than once"))),
        (one, None) => Ok(one),
    }
}

impl Auth {
    /// Admits the caller only if its role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<&Principal, ApiError> {
        if roles.contains(&self.0.role) {
            Ok(&self.0)
        } else {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::WrongRole(format!(
                "the role '{}' may not use this endpoint (allowed: {})",
                self.0.role.as_str(),
                allowed.join(", ")
            )))
        }
    }
}

/// `X-Correlation-ID`, if the caller sent a sane one; it is recorded on the events.
pub struct CorrelationId(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for CorrelationId {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        const CORRELATION_ID_BYTES_MAX: usize = 128;
        let value = one_header(&parts.headers, "x-correlation-id")?.and_then(|v| v.to_str().ok()).map(str::trim);
        match value {
            None => Ok(CorrelationId(None)),
            Some(v)
                if !v.is_empty() && v.len() <= CORRELATION_ID_BYTES_MAX && v.chars().all(|c| c.is_ascii_graphic()) =>
            {
                Ok(CorrelationId(Some(v.to_owned())))
            }
            Some(_) => Err(ApiError::InvalidParameter(format!(
                "X-Correlation-ID must be 1 to {CORRELATION_ID_BYTES_MAX} printable ASCII characters"
            ))),
        }
    }
}
