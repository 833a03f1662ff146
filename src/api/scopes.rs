//! Which Maskinporten scopes admit which route, as Altinn's authorization policies say
//! (`AuthenticationHost.cs`: `RequireScopeAnyOf`, per controller action). A token with
//! scopes is admitted only where this table names one of them; everywhere else (the
//! portal's, the PDP's and the ledger's own endpoints) it is refused, whatever role its
//! scopes give. The ledger's own tokens carry no scopes and are not looked at here.

use axum::http::Method;

use crate::auth::maskinporten::{
    AUTHORIZE, AUTHORIZE_ADMIN, REQUEST_READ, REQUEST_WRITE, SYSTEMREGISTER_ADMIN, SYSTEMREGISTER_WRITE,
    SYSTEMUSER_ADMIN, SYSTEMUSER_LOOKUP,
};

const SYSTEMREGISTER: &[&str] = &[SYSTEMREGISTER_WRITE, SYSTEMREGISTER_ADMIN];

/// The scopes, any one of which admits `method` on `path` (the canonical path the router
/// sees); empty where no Maskinporten token is admitted.
pub fn admitting(method: &Method, path: &str) -> &'static [&'static str] {
    if method == Method::POST && path == super::pdp::AUTHORIZE_PATH {
        return &[AUTHORIZE, AUTHORIZE_ADMIN];
    }
    let Some(rest) = path.strip_prefix(super::AUTHN) else { return &[] };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let read = method == Method::GET || method == Method::HEAD;
    match segments.as_slice() {
        ["systemregister", "vendor", ..] => SYSTEMREGISTER,
        ["systemuser", "vendor", "bysystem", _] => SYSTEMREGISTER,
        ["systemuser", "vendor", "byquery"] => &[REQUEST_WRITE],
        ["systemuser", "request" | "changerequest", "vendor", ..] if read => &[REQUEST_READ],
        ["systemuser", "request" | "changerequest", "vendor", ..] => &[REQUEST_WRITE],
        ["systemuser", "byExternalId"] => &[SYSTEMUSER_LOOKUP],
        ["systemuser", "internal", ..] => &[SYSTEMUSER_ADMIN],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vendor_reads_requests_with_the_read_scope_and_writes_with_the_write_scope() {
        let path = format!("{}/systemuser/request/vendor/0195c1e2-0000-7000-8000-0000000000aa", super::super::AUTHN);
        assert_eq!(admitting(&Method::GET, &path), &[REQUEST_READ]);
        assert_eq!(admitting(&Method::DELETE, &path), &[REQUEST_WRITE]);
        let portal = format!("{}/systemuser/request/0195c1e2-0000-7000-8000-0000000000aa", super::super::AUTHN);
        assert!(admitting(&Method::GET, &portal).is_empty(), "a person's route");
        assert!(admitting(&Method::POST, "/authorization/api/v1/decision").is_empty());
        assert!(admitting(&Method::POST, "/v1/parties").is_empty());
        assert_eq!(admitting(&Method::POST, "/authorization/api/v1/authorize"), &[AUTHORIZE, AUTHORIZE_ADMIN]);
    }
}
