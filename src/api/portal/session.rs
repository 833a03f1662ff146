//! Who is signed in to the pages, and whether a form really came from them.
//!
//! The pages take the same bearer token as the API and check it with the same verifier:
//! from the `Authorization` header (what an identity-aware proxy in front forwards) or,
//! failing that, from the session cookie the dev sign-in sets. Two tokens that disagree
//! are refused, never picked between.
//!
//! A form's CSRF token is a hash of the caller's bearer token: a page from another site
//! cannot know it (it cannot read the token, and the hash does not give it back), every
//! replica computes the same one without shared state, and it changes when the person
//! signs in again. Writes also need an `Origin` naming this service when the browser
//! sends one.

use axum::http::{header, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use super::i18n::{Lang, LANG_DEFAULT};

/// The cookie holding the dev sign-in's token.
pub const SESSION_COOKIE: &str = "ledger_session";
/// The cookie holding a language chosen with the switch.
pub const LANG_COOKIE: &str = "ledger_lang";
/// How long the dev sign-in's token and cookie last.
pub const SESSION_TTL_S: i64 = 8 * 3600;
/// How long a chosen language is remembered.
pub const LANG_COOKIE_MAX_AGE_S: i64 = 365 * 24 * 3600;

/// Why the caller's token could not be found.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// The `Authorization` header and the session cookie hold different tokens, or a
    /// header or cookie is given twice.
    Ambiguous,
    /// An `Authorization` header that is not `Bearer <token>`.
    NotBearer,
}

/// The value of cookie `name`, if exactly one is sent (two are ambiguous).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, TokenError> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            let Some((k, v)) = pair.trim().split_once('=') else { continue };
            if k == name {
                if found.is_some() {
                    return Err(TokenError::Ambiguous);
                }
                found = Some(v);
            }
        }
    }
    Ok(found)
}

/// The caller's bearer token: the `Authorization` header's, else the session cookie's.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, TokenError> {
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let from_header = match (authorizations.next(), authorizations.next()) {
        (Some(_), Some(_)) => return Err(TokenError::Ambiguous),
        (Some(v), None) => {
            let text = v.to_str().map_err(|_| TokenError::NotBearer)?;
            let token = text.strip_prefix("Bearer ").ok_or(TokenError::NotBearer)?;
            Some(token.trim().to_owned())
        }
        (None, _) => None,
    };
    let from_cookie = cookie(headers, SESSION_COOKIE)?.filter(|v| !v.is_empty());
    match (from_header, from_cookie) {
        (Some(h), Some(c)) if h != c => Err(TokenError::Ambiguous),
        (Some(h), _) => Ok(Some(h)),
        (None, c) => Ok(c.map(str::to_owned)),
    }
}

/// The CSRF token of forms made for the holder of `bearer`.
pub fn csrf_token(bearer: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"delegation-ledger csrf v1\0");
    hash.update(bearer.as_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given` is the CSRF token of `bearer` (compared in constant time).
pub fn csrf_matches(bearer: &str, given: &str) -> bool {
    let wanted = csrf_token(bearer);
    wanted.len() == given.len() && wanted.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Whether a write's `Origin` (when the browser sends one) is this service: the origin
/// of `public_url`, or that of the `Host` the request came to.
pub fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let public = public_url.trim_end_matches('/');
    let public_origin = public.find("://").map_or(public, |scheme| {
        let rest = &public[scheme + 3..];
        &public[..scheme + 3 + rest.find('/').unwrap_or(rest.len())]
    });
    if origin == public_origin {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    host.is_some_and(|host| origin == format!("http://{host}") || origin == format!("https://{host}"))
}

/// The page language: `?lang=` first, then the language cookie, then the browser's
/// `Accept-Language`, then bokmål.
pub fn language(headers: &HeaderMap, asked: Option<&str>) -> Lang {
    asked
        .and_then(Lang::parse)
        .or_else(|| cookie(headers, LANG_COOKIE).ok().flatten().and_then(Lang::parse))
        .or_else(|| {
            let accept = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
            Lang::from_accept_language(accept)
        })
        .unwrap_or(LANG_DEFAULT)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for the whole service; `Secure`
/// when the service is reached over HTTPS.
pub fn set_cookie(name: &str, value: &str, max_age_s: i64, public_url: &str) -> HeaderValue {
    let secure = if public_url.starts_with("https://") { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}");
    HeaderValue::from_str(&text).expect("cookie names and values here are header-safe")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_token_comes_from_the_header_or_the_cookie_and_two_different_ones_are_refused() {
        assert_eq!(bearer_token(&headers(&[("authorization", "Bearer abc")])), Ok(Some("abc".into())));
        assert_eq!(bearer_token(&headers(&[("cookie", "x=1; ledger_session=abc")])), Ok(Some("abc".into())));
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Bearer abc"), ("cookie", "ledger_session=abc")])),
            Ok(Some("abc".into()))
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Bearer abc"), ("cookie", "ledger_session=xyz")])),
            Err(TokenError::Ambiguous)
        );
        assert_eq!(
            bearer_token(&headers(&[("cookie", "ledger_session=a"), ("cookie", "ledger_session=b")])),
            Err(TokenError::Ambiguous)
        );
        assert_eq!(bearer_token(&headers(&[("authorization", "Basic abc")])), Err(TokenError::NotBearer));
        assert_eq!(bearer_token(&headers(&[])), Ok(None));
    }

    #[test]
    fn a_csrf_token_is_bound_to_its_bearer_token() {
        let t = csrf_token("token-a");
        assert!(csrf_matches("token-a", &t));
        assert!(!csrf_matches("token-b", &t));
        assert!(!csrf_matches("token-a", &t[1..]));
        assert!(!csrf_matches("token-a", ""));
    }

    #[test]
    fn a_write_from_another_origin_is_not_same_origin() {
        let public = "https://ledger.example.no/";
        assert!(same_origin(&headers(&[]), public));
        assert!(same_origin(&headers(&[("origin", "https://ledger.example.no")]), public));
        assert!(same_origin(&headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")]), public));
        assert!(!same_origin(&headers(&[("origin", "https://evil.example"), ("host", "ledger.example.no")]), public));
        assert!(!same_origin(&headers(&[("origin", "null")]), public));
    }

    #[test]
    fn the_language_is_asked_then_remembered_then_the_browsers() {
        let nb_browser = headers(&[("accept-language", "nb-NO,en;q=0.5")]);
        assert_eq!(language(&nb_browser, Some("en")), Lang::En);
        assert_eq!(language(&nb_browser, None), Lang::Nb);
        let remembered = headers(&[("accept-language", "nb"), ("cookie", "ledger_lang=en")]);
        assert_eq!(language(&remembered, None), Lang::En);
        assert_eq!(language(&headers(&[("accept-language", "de")]), None), Lang::Nb);
    }
}
