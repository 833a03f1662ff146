//! Who is acting: bearer JWTs verified against configured keys, turned into a
//! [`Principal`] (role, organisation, person). Owns jsonwebtoken and key material.
//!
//! The ledger's own tokens are EdDSA (Ed25519). `ledger serve` without `--jwks` creates a
//! dev signing key in the data directory at run time and trusts only it; `ledger token`
//! signs with that key. In production the trusted keys come from a JWKS file and the dev
//! key is unused. Maskinporten's RS256 tokens are trusted too when its JWKS is given
//! ([`maskinporten`]), so a vendor's integration sends the token it sends to Altinn.

pub mod maskinporten;

use base64::Engine as _;
use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::domain::events::{Actor, ActorKind};
use crate::domain::ids::OrgNo;
use crate::domain::Authority;

pub const DEV_ISSUER: &str = "delegation-ledger-dev";
pub const AUDIENCE: &str = "delegation-ledger";
const DEV_KEY_FILE: &str = "dev-signing-key.pk8";
const DEV_JWKS_FILE: &str = "dev-jwks.json";
const DEV_KID: &str = "dev";
/// Most bytes of an Authorization header we look at.
pub const TOKEN_BYTES_MAX: usize = 8 * 1024;
/// Tokens whose signature was checked recently, remembered by their exact text so a
/// client that sends the same token on every call (a PDP client) pays for one Ed25519
/// verification, not one per request.
pub const VERIFIED_TOKENS_MAX: usize = 4096;
/// Seconds of clock skew allowed on `nbf` and `exp`.
const LEEWAY_S: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Vendor,
    Admin,
    ClientAdmin,
    ServiceOwner,
    Register,
    Operator,
    Auditor,
    Pdp,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Vendor,
        Role::Admin,
        Role::ClientAdmin,
        Role::ServiceOwner,
        Role::Register,
        Role::Operator,
        Role::Auditor,
        Role::Pdp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Vendor => "vendor",
            Role::Admin => "admin",
            Role::ClientAdmin => "client-admin",
            Role::ServiceOwner => "service-owner",
            Role::Register => "register",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
            Role::Pdp => "pdp",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The token's subject (a person id, or the client id of an integration).
    pub sub: String,
    pub role: Role,
    /// The organisation the bearer acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The person behind the token, when one is (admins, client admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// A verified caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub org: Option<OrgNo>,
    pub subject: String,
    pub person: Option<String>,
    /// The scopes of a Maskinporten token this service knows (`None` for the ledger's
    /// own tokens, whose role says it all); each route admits only its own scopes.
    pub scopes: Option<Vec<String>>,
}

impl Principal {
    /// The actor recorded on events: the person if there is one, else the token subject.
    pub fn actor(&self) -> Actor {
        let kind = match self.role {
            Role::Vendor => ActorKind::Vendor,
            Role::Register => ActorKind::Register,
            Role::ServiceOwner => ActorKind::ServiceOwner,
            Role::Operator => ActorKind::Operator,
            Role::Admin | Role::ClientAdmin | Role::Auditor | Role::Pdp => ActorKind::Person,
        };
        Actor { kind, id: self.person.clone().unwrap_or_else(|| self.subject.clone()) }
    }

    /// The authority commands run under; `None` for roles that act for no organisation
    /// and are no register (operators, auditors, PDP clients give no commands).
    pub fn authority(&self) -> Option<Authority> {
        match (&self.role, &self.org) {
            (Role::Register, _) => Some(Authority::Register),
            (Role::Operator, _) => Some(Authority::Operator),
            (_, Some(org)) => Some(Authority::Organisation(org.clone())),
            (_, None) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    Missing,
    Malformed(String),
    Invalid(String),
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::Missing => write!(f, "a bearer token is required"),
            AuthError::Malformed(why) => write!(f, "malformed bearer token: {why}"),
            AuthError::Invalid(why) => write!(f, "invalid bearer token: {why}"),
        }
    }
}

/// One issuer's keys and the rules its tokens are checked by.
struct Trusted {
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
}

impl Trusted {
    fn new(jwks: &JwkSet, validation: Validation) -> Result<Trusted, String> {
        let mut keys = Vec::new();
        for jwk in &jwks.keys {
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable key in JWKS: {e}"))?;
            keys.push((jwk.common.key_id.clone(), key));
        }
        if keys.is_empty() {
            return Err("the JWKS holds no keys".to_owned());
        }
        Ok(Trusted { keys, validation })
    }

    /// The claims of `token` under the first key that verifies it (one with the token's
    /// `kid`, or any when either has none).
    fn decode<C: serde::de::DeserializeOwned>(&self, token: &str, kid: &Option<String>) -> Result<C, AuthError> {
        let candidates = self.keys.iter().filter(|(k, _)| kid.is_none() || k.is_none() || k == kid);
        let mut last = AuthError::Invalid("no trusted key matches the token's kid".to_owned());
        for (_, key) in candidates {
            match jsonwebtoken::decode::<C>(token, key, &self.validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => last = AuthError::Invalid(e.to_string()),
            }
        }
        Err(last)
    }
}

/// The keys and rules tokens are checked against.
pub struct Verifier {
    own: Trusted,
    /// Maskinporten's keys, when its tokens are accepted.
    maskinporten: Option<Trusted>,
    /// Token text → who it names and the seconds (from, until) in which it is valid.
    /// Sound because the trusted keys never change for the life of a `Verifier` and
    /// only a token whose signature and claims verified is ever put here.
    verified: quick_cache::sync::Cache<String, (Principal, i64, i64)>,
}

impl Verifier {
    pub fn from_jwks(jwks: &JwkSet, issuer: &str) -> Result<Verifier, String> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_S as u64;
        Ok(Verifier {
            own: Trusted::new(jwks, validation)?,
            maskinporten: None,
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS_MAX),
        })
    }

    /// Also accepts Maskinporten's RS256 tokens signed by a key of `jwks`, issued by
    /// `issuer`, and, when `audience` is given, for it (Maskinporten sets `aud` only when
    /// the client asks for one; an operator who has its clients ask should require it).
    pub fn with_maskinporten(
        mut self,
        jwks: &JwkSet,
        issuer: &str,
        audience: Option<&str>,
    ) -> Result<Verifier, String> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        match audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            }
            None => {
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["exp", "iss"]);
            }
        }
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_S as u64;
        self.maskinporten = Some(Trusted::new(jwks, validation).map_err(|e| format!("Maskinporten: {e}"))?);
        Ok(self)
    }

    pub fn load_jwks(path: &Path, issuer: &str) -> Result<Verifier, String> {
        Verifier::from_jwks(&read_jwks(path)?, issuer)
    }

    /// Verifies `Authorization: Bearer …` and returns who it names.
    pub fn verify(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        self.verify_at(header, chrono::Utc::now().timestamp())
    }

    /// [`Verifier::verify`] with the clock read by the caller (`now_s`, Unix seconds),
    /// which decides whether a remembered token is still valid.
    pub fn verify_at(&self, header: Option<&str>, now_s: i64) -> Result<Principal, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        if header.len() > TOKEN_BYTES_MAX {
            return Err(AuthError::Malformed("too long".to_owned()));
        }
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| AuthError::Malformed("expected 'Bearer <token>'".to_owned()))?
            .trim();
        if let Some((principal, from_s, until_s)) = self.verified.get(token) {
            if now_s > until_s {
                self.verified.remove(token);
                return Err(AuthError::Invalid("ExpiredSignature".to_owned()));
            }
            if now_s >= from_s {
                return Ok(principal);
            }
        }
        let head = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        // The algorithm says whose token it is: the ledger's own keys are Ed25519,
        // Maskinporten's RSA.
        let (principal, from_s, until_s) = match (head.alg, &self.maskinporten) {
            (Algorithm::EdDSA, _) => {
                let claims: Claims = self.own.decode(token, &head.kid)?;
                let (from_s, until_s) = (claims.nbf, claims.exp);
                (principal(claims)?, from_s, until_s)
            }
            (Algorithm::RS256, Some(trusted)) => {
                let claims: maskinporten::Claims = trusted.decode(token, &head.kid)?;
                (maskinporten::principal(&claims)?, claims.nbf.unwrap_or(claims.iat), claims.exp)
            }
            (alg, _) => return Err(AuthError::Invalid(format!("algorithm {alg:?} is not accepted"))),
        };
        self.verified.insert(token.to_owned(), (principal.clone(), from_s - LEEWAY_S, until_s + LEEWAY_S));
        Ok(principal)
    }
}

/// A JWKS file's keys.
pub fn read_jwks(path: &Path) -> Result<JwkSet, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a JWKS: {e}", path.display()))
}

fn principal(claims: Claims) -> Result<Principal, AuthError> {
    let org = match &claims.org {
        Some(o) => Some(OrgNo::parse(o).map_err(|e| AuthError::Invalid(format!("org claim: {}", e.message)))?),
        None => None,
    };
    let needs_org = !matches!(claims.role, Role::Register | Role::Operator | Role::Auditor | Role::Pdp);
    if needs_org && org.is_none() {
        return Err(AuthError::Invalid(format!("a {} token must carry an org claim", claims.role.as_str())));
    }
    if claims.sub.is_empty() || claims.sub.len() > 200 || claims.sub.chars().any(char::is_control) {
        return Err(AuthError::Invalid("sub must be 1 to 200 printable characters".to_owned()));
    }
    if let Some(p) = &claims.person {
        if p.is_empty() || p.len() > 200 || p.chars().any(char::is_control) {
            return Err(AuthError::Invalid("person must be 1 to 200 printable characters".to_owned()));
        }
    }
    Ok(Principal { role: claims.role, org, subject: claims.sub, person: claims.person, scopes: None })
}

/// The dev signing key of a data directory, created on first use.
pub struct DevKey {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl DevKey {
    /// Loads the key in `keys_dir`, generating it (mode 0600) if it does not exist.
    pub fn load_or_create(keys_dir: &Path) -> Result<DevKey, String> {
        use ring::signature::KeyPair as _;
        let path = keys_dir.join(DEV_KEY_FILE);
        let read = || std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()));
        let pkcs8 = if path.exists() {
            read()?
        } else {
            std::fs::create_dir_all(keys_dir).map_err(|e| format!("cannot create {}: {e}", keys_dir.display()))?;
            let rng = ring::rand::SystemRandom::new();
            let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "key generation failed")?;
            match write_private(&path, doc.as_ref()) {
                Ok(()) => doc.as_ref().to_vec(),
                // Another replica sharing this key directory created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    read()?
                }
                Err(e) => return Err(format!("cannot write {}: {e}", path.display())),
            }
        };
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| format!("{} is not an Ed25519 PKCS#8 key", path.display()))?;
        let key = DevKey { public: pair.public_key().as_ref().to_vec(), pkcs8 };
        std::fs::write(keys_dir.join(DEV_JWKS_FILE), serde_json::to_vec_pretty(&key.jwks_json()).expect("json"))
            .map_err(|e| format!("cannot write the dev JWKS: {e}"))?;
        Ok(key)
    }

    /// Loads an existing dev key; `ledger token` must not invent one the server lacks.
    pub fn load(keys_dir: &Path) -> Result<DevKey, String> {
        if !keys_dir.join(DEV_KEY_FILE).exists() {
            return Err(format!(
                "no dev signing key in {}; start `ledger serve` on this data directory once to create it",
                keys_dir.display()
            ));
        }
        DevKey::load_or_create(keys_dir)
    }

    fn jwks_json(&self) -> serde_json::Value {
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.public);
        serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": DEV_KID, "x": x}]})
    }

    pub fn verifier(&self) -> Verifier {
        let jwks: JwkSet = serde_json::from_value(self.jwks_json()).expect("dev JWKS is valid");
        Verifier::from_jwks(&jwks, DEV_ISSUER).expect("dev key is usable")
    }

    /// Signs a token for `role` acting for `org`, valid for `ttl_s` seconds from `now_s`.
    pub fn mint(&self, role: Role, org: Option<&OrgNo>, person: Option<&str>, now_s: i64, ttl_s: i64) -> String {
        let claims = Claims {
            iss: DEV_ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: person.map(str::to_owned).unwrap_or_else(|| match org {
                Some(org) => format!("{}:{org}", role.as_str()),
                None => role.as_str().to_owned(),
            }),
            role,
            org: org.map(|o| o.to_string()),
            person: person.map(str::to_owned),
            iat: now_s,
            nbf: now_s,
            exp: now_s + ttl_s,
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims (tests use this for expired or foreign-issuer tokens).
    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(DEV_KID.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8)).expect("EdDSA signing")
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> (tempfile::TempDir, DevKey) {
        let dir = tempfile::tempdir().unwrap();
        let key = DevKey::load_or_create(dir.path()).unwrap();
        (dir, key)
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_has_expired() {
        let (_dir, key) = key();
        let verifier = key.verifier();
        let now = chrono::Utc::now().timestamp();
        let header = format!("Bearer {}", key.mint(Role::Pdp, None, None, now, 60));
        assert_eq!(verifier.verify_at(Some(&header), now).unwrap().role, Role::Pdp);
        assert_eq!(verifier.verify_at(Some(&header), now + 60 + LEEWAY_S).unwrap().role, Role::Pdp);
        let late = verifier.verify_at(Some(&header), now + 61 + LEEWAY_S);
        assert!(matches!(&late, Err(AuthError::Invalid(why)) if why.contains("Expired")), "{late:?}");
    }

    #[test]
    fn a_tampered_token_is_refused_after_the_genuine_one_was_remembered() {
        let (_dir, key) = key();
        let verifier = key.verifier();
        let now = chrono::Utc::now().timestamp();
        let token = key.mint(Role::Pdp, None, None, now, 60);
        verifier.verify_at(Some(&format!("Bearer {token}")), now).unwrap();
        // Flip one character of the signature.
        let mut tampered = token.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        let answer = verifier.verify_at(Some(&format!("Bearer {tampered}")), now);
        assert!(matches!(answer, Err(AuthError::Invalid(_))), "{answer:?}");
    }
}
