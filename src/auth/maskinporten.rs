//! Maskinporten's access tokens, as a vendor's integration sends them to Altinn: RS256,
//! signed by Maskinporten's keys (its JWKS, given with `--maskinporten-jwks`), with
//! `scope` (space separated) and `consumer` (`{"authority":"iso6523-actorid-upis",
//! "ID":"0192:<orgno>"}`) naming who asks.
//!
//! A token is turned into a [`Principal`] by its scopes: Altinn's vendor scopes make a
//! vendor acting for the consumer, Maskinporten's lookup scope the PDP role (which reads
//! `byExternalId`), Altinn's internal scope the register. Scopes of more than one of
//! these in one token are ambiguous and refused. Which route each scope opens is
//! [`crate::api::scopes`]; this module knows no routes.

use serde::Deserialize;

use super::{AuthError, Principal, Role};
use crate::domain::ids::OrgNo;

pub const ISSUER_DEFAULT: &str = "https://maskinporten.no/";
/// The ISO 6523 authority Maskinporten names organisations under.
const CONSUMER_AUTHORITY: &str = "iso6523-actorid-upis";
/// The ICD of Norwegian organisation numbers in a consumer's `ID`.
const NORWEGIAN_ORG_ICD: &str = "0192:";
/// Most scopes one token may carry (Maskinporten tokens carry a handful).
const SCOPES_MAX: usize = 64;

pub const SYSTEMREGISTER_WRITE: &str = "altinn:authentication/systemregister.write";
pub const SYSTEMREGISTER_ADMIN: &str = "altinn:authentication/systemregister.admin";
pub const REQUEST_WRITE: &str = "altinn:authentication/systemuser.request.write";
pub const REQUEST_READ: &str = "altinn:authentication/systemuser.request.read";
pub const SYSTEMUSER_LOOKUP: &str = "altinn:maskinporten/systemuser.read";
pub const SYSTEMUSER_ADMIN: &str = "altinn:authentication/systemuser.admin";
/// Altinn's external PDP (`/authorization/api/v1/authorize`), for service owners.
pub const AUTHORIZE: &str = "altinn:authorization/authorize";
pub const AUTHORIZE_ADMIN: &str = "altinn:authorization/authorize.admin";

/// The role each scope this service knows gives; other scopes (for other APIs) are
/// carried by the same tokens and ignored.
fn role_of(scope: &str) -> Option<Role> {
    match scope {
        SYSTEMREGISTER_WRITE | SYSTEMREGISTER_ADMIN | REQUEST_WRITE | REQUEST_READ => Some(Role::Vendor),
        SYSTEMUSER_LOOKUP => Some(Role::Pdp),
        SYSTEMUSER_ADMIN => Some(Role::Register),
        AUTHORIZE | AUTHORIZE_ADMIN => Some(Role::ServiceOwner),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
pub struct Claims {
    pub scope: String,
    pub consumer: Consumer,
    pub client_id: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct Consumer {
    pub authority: String,
    #[serde(rename = "ID")]
    pub id: String,
}

/// Who a verified Maskinporten token names.
pub fn principal(claims: &Claims) -> Result<Principal, AuthError> {
    let invalid = |why: String| Err(AuthError::Invalid(why));
    if claims.consumer.authority != CONSUMER_AUTHORITY {
        return invalid(format!("consumer.authority must be {CONSUMER_AUTHORITY}"));
    }
    let Some(org) = claims.consumer.id.strip_prefix(NORWEGIAN_ORG_ICD) else {
        return invalid(format!("consumer.ID must be {NORWEGIAN_ORG_ICD}<organisation number>"));
    };
    let org = OrgNo::parse(org).map_err(|e| AuthError::Invalid(format!("consumer.ID: {}", e.message)))?;
    let scopes: Vec<&str> = claims.scope.split_whitespace().collect();
    if scopes.len() > SCOPES_MAX {
        return invalid(format!("more than {SCOPES_MAX} scopes"));
    }
    let known: Vec<String> = scopes.iter().filter(|s| role_of(s).is_some()).map(|s| s.to_string()).collect();
    let mut roles: Vec<Role> = known.iter().filter_map(|s| role_of(s)).collect();
    roles.sort_by_key(|r| r.as_str());
    roles.dedup();
    let role = match roles.as_slice() {
        [one] => *one,
        [] => return invalid("the token carries no scope this service accepts".to_owned()),
        many => {
            let names: Vec<&str> = many.iter().map(|r| r.as_str()).collect();
            return invalid(format!("the token's scopes give more than one role ({}): ambiguous", names.join(", ")));
        }
    };
    let id = &claims.client_id;
    if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
        return invalid("client_id must be 1 to 200 printable characters".to_owned());
    }
    Ok(Principal {
        role,
        org: [Role::Vendor, Role::ServiceOwner].contains(&role).then_some(org),
        subject: format!("maskinporten:{id}"),
        person: None,
        scopes: Some(known),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(scope: &str, id: &str) -> Claims {
        Claims {
            scope: scope.to_owned(),
            consumer: Consumer { authority: CONSUMER_AUTHORITY.to_owned(), id: id.to_owned() },
            client_id: "c".to_owned(),
            iat: 0,
            exp: 1,
            nbf: None,
        }
    }

    #[test]
    fn vendor_scopes_make_a_vendor_of_the_consumer() {
        let p = principal(&claims(&format!("openid {REQUEST_WRITE} {REQUEST_READ}"), "0192:310000019")).unwrap();
        assert_eq!((p.role, p.org.map(|o| o.to_string())), (Role::Vendor, Some("310000019".to_owned())));
        assert_eq!(p.scopes, Some(vec![REQUEST_WRITE.to_owned(), REQUEST_READ.to_owned()]), "only known scopes kept");
    }

    #[test]
    fn scopes_of_two_roles_are_ambiguous_and_refused() {
        let both = principal(&claims(&format!("{REQUEST_WRITE} {SYSTEMUSER_ADMIN}"), "0192:310000019"));
        assert!(matches!(both, Err(AuthError::Invalid(why)) if why.contains("ambiguous")));
        let none = principal(&claims("openid profile", "0192:310000019"));
        assert!(matches!(none, Err(AuthError::Invalid(why)) if why.contains("no scope")));
        let foreign = principal(&claims(REQUEST_WRITE, "0007:310000019"));
        assert!(matches!(foreign, Err(AuthError::Invalid(why)) if why.contains("consumer.ID")));
    }
}
