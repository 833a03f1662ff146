//! Identifiers of the domain and their validation: organisation numbers (modulus 11),
//! system ids, access-package URNs, resource ids, rights and the register roles.
//!
//! Every constructor here either returns a valid value or a [`Rejection`] with a
//! stable code, so nothing downstream has to re-validate an identifier.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::rejection::{Code, Rejection};

/// Longest identifier we accept anywhere (system slugs, resource ids, external refs).
/// Altinn's own ids are far shorter; the limit keeps keys and logs bounded.
pub const IDENTIFIER_BYTES_MAX: usize = 200;

/// A Norwegian organisation number: nine digits, the ninth a modulus-11 check digit.
/// Held inline (nine ASCII digits): a decision copies the numbers it names into its
/// proof, and a copy is then no allocation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgNo([u8; 9]);

impl OrgNo {
    pub fn parse(s: &str) -> Result<OrgNo, Rejection> {
        let invalid = || {
            Rejection::new(
                Code::InvalidOrgNumber,
                format!("'{}' is not a valid organisation number (nine digits, modulus-11 check digit)", truncate(s)),
            )
        };
        let bytes = s.as_bytes();
        if bytes.len() != 9 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(invalid());
        }
        const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
        let sum: u32 = bytes[..8].iter().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        let check = match sum % 11 {
            0 => 0,
            1 => return Err(invalid()),
            r => 11 - r,
        };
        if u32::from(bytes[8] - b'0') != check {
            return Err(invalid());
        }
        Ok(OrgNo(bytes.try_into().expect("nine bytes, checked above")))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("an organisation number is nine ASCII digits")
    }

    /// Parses Altinn's vendor notation `0192:<orgno>` as well as a bare number.
    pub fn parse_vendor_id(s: &str) -> Result<OrgNo, Rejection> {
        OrgNo::parse(s.strip_prefix("0192:").unwrap_or(s))
    }
}

impl TryFrom<String> for OrgNo {
    type Error = Rejection;
    fn try_from(s: String) -> Result<Self, Rejection> {
        OrgNo::parse(&s)
    }
}
impl From<OrgNo> for String {
    fn from(o: OrgNo) -> String {
        o.as_str().to_owned()
    }
}
impl fmt::Display for OrgNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<vendor orgno>_<slug>`: the slug is non-empty and holds no whitespace or control
/// characters (it becomes part of storage keys, so `\0` must never appear).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SystemId(String);

impl SystemId {
    pub fn parse(s: &str) -> Result<SystemId, Rejection> {
        let invalid = |why: &str| {
            Rejection::new(Code::InvalidSystemId, format!("'{}' is not a valid system id: {why}", truncate(s)))
        };
        let Some((org, slug)) = s.split_once('_') else {
            return Err(invalid("expected <vendor org number>_<name>"));
        };
        OrgNo::parse(org).map_err(|_| invalid("the part before '_' must be the vendor's organisation number"))?;
        if slug.is_empty() || s.len() > IDENTIFIER_BYTES_MAX {
            return Err(invalid("the name part must hold 1 to 190 characters"));
        }
        if slug.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("no spaces or control characters allowed"));
        }
        Ok(SystemId(s.to_owned()))
    }

    /// The vendor is named by the id itself, so ownership cannot drift from the id.
    pub fn vendor(&self) -> OrgNo {
        OrgNo::parse(&self.0[..9]).expect("a system id starts with its vendor's valid organisation number")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for SystemId {
    type Error = Rejection;
    fn try_from(s: String) -> Result<Self, Rejection> {
        SystemId::parse(&s)
    }
}
impl From<SystemId> for String {
    fn from(o: SystemId) -> String {
        o.0
    }
}
impl fmt::Display for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `urn:altinn:accesspackage:<name>`, the name in lower-case letters, digits and dashes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackageUrn(String);

pub const PACKAGE_URN_PREFIX: &str = "urn:altinn:accesspackage:";

impl PackageUrn {
    pub fn parse(s: &str) -> Result<PackageUrn, Rejection> {
        let name = s.strip_prefix(PACKAGE_URN_PREFIX).unwrap_or("");
        let ok = !name.is_empty()
            && s.len() <= IDENTIFIER_BYTES_MAX
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(Rejection::new(
                Code::InvalidAccessPackage,
                format!("'{}' is not an access package URN (urn:altinn:accesspackage:<name>)", truncate(s)),
            ));
        }
        Ok(PackageUrn(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for PackageUrn {
    type Error = Rejection;
    fn try_from(s: String) -> Result<Self, Rejection> {
        PackageUrn::parse(&s)
    }
}
impl From<PackageUrn> for String {
    fn from(o: PackageUrn) -> String {
        o.0
    }
}
impl fmt::Display for PackageUrn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resource id from the resource registry (`ske-mva-rapportering`): letters, digits,
/// `-`, `_` and `.`; the same rule Altinn's resource registry applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceId(String);

impl ResourceId {
    pub fn parse(s: &str) -> Result<ResourceId, Rejection> {
        let ok = !s.is_empty()
            && s.len() <= IDENTIFIER_BYTES_MAX
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !ok {
            return Err(Rejection::new(
                Code::InvalidResourceId,
                format!("'{}' is not a resource id (letters, digits, '-', '_', '.')", truncate(s)),
            ));
        }
        Ok(ResourceId(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for ResourceId {
    type Error = Rejection;
    fn try_from(s: String) -> Result<Self, Rejection> {
        ResourceId::parse(&s)
    }
}
impl From<ResourceId> for String {
    fn from(o: ResourceId) -> String {
        o.0
    }
}
impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An action name from a resource policy (`read`, `write`, `sign`…).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Action(String);

impl Action {
    pub fn parse(s: &str) -> Result<Action, Rejection> {
        let ok = !s.is_empty()
            && s.len() <= 100
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' || b == b':');
        if !ok {
            return Err(Rejection::new(Code::InvalidAction, format!("'{}' is not an action name", truncate(s))));
        }
        Ok(Action(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Action {
    type Error = Rejection;
    fn try_from(s: String) -> Result<Self, Rejection> {
        Action::parse(&s)
    }
}
impl From<Action> for String {
    fn from(o: Action) -> String {
        o.0
    }
}

/// A single right: a resource and, optionally, one action on it (no action means every
/// action the resource's policy gives to holders of a single right).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Right {
    pub resource: ResourceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

impl fmt::Display for Right {
    /// `resource` or `resource/action`, as a person reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.action {
            Some(action) => write!(f, "{}/{}", self.resource, action.as_str()),
            None => write!(f, "{}", self.resource),
        }
    }
}

impl Right {
    /// True when this right (as a system holds it) covers `wanted` (as a request asks it).
    pub fn covers(&self, wanted: &Right) -> bool {
        self.resource == wanted.resource && (self.action.is_none() || self.action == wanted.action)
    }
}

/// The Central Coordinating Register roles that bring access packages to a facilitator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RegisterRole {
    #[serde(rename = "REGN")]
    Regn,
    #[serde(rename = "REVI")]
    Revi,
    #[serde(rename = "FFOR")]
    Ffor,
}

impl RegisterRole {
    pub fn parse(s: &str) -> Result<RegisterRole, Rejection> {
        match s {
            "REGN" => Ok(RegisterRole::Regn),
            "REVI" => Ok(RegisterRole::Revi),
            "FFOR" => Ok(RegisterRole::Ffor),
            _ => Err(Rejection::new(
                Code::InvalidRole,
                format!("'{}' is not a register role (REGN, REVI or FFOR)", truncate(s)),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RegisterRole::Regn => "REGN",
            RegisterRole::Revi => "REVI",
            RegisterRole::Ffor => "FFOR",
        }
    }

    /// The access packages a facilitator holds for a client through this role
    /// (the reference table in `altinn-reference.md`).
    pub fn packages(self) -> Vec<PackageUrn> {
        let names: &[&str] = match self {
            RegisterRole::Regn => &[
                "regnskapsforer-med-signeringsrettighet",
                "regnskapsforer-uten-signeringsrettighet",
                "regnskapsforer-lonn",
            ],
            RegisterRole::Revi => &["ansvarlig-revisor", "revisormedarbeider"],
            RegisterRole::Ffor => &["forretningsforer-eiendom"],
        };
        names.iter().map(|n| PackageUrn(format!("{PACKAGE_URN_PREFIX}{n}"))).collect()
    }
}

/// Shortens user input quoted back in error messages, so a hostile 1 MB string does
/// not come back in the problem document.
pub fn truncate(s: &str) -> String {
    const SHOWN_CHARS_MAX: usize = 64;
    let mut out: String = s.chars().take(SHOWN_CHARS_MAX).filter(|c| !c.is_control()).collect();
    if s.chars().count() > SHOWN_CHARS_MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_numbers_need_a_valid_check_digit() {
        for ok in ["310000019", "310000027", "974760673"] {
            assert!(OrgNo::parse(ok).is_ok(), "{ok} should be valid");
        }
        for bad in ["310000018", "31000001", "3100000190", "31000001a", "", " 310000019"] {
            assert_eq!(OrgNo::parse(bad).unwrap_err().code, Code::InvalidOrgNumber, "{bad:?}");
        }
    }

    #[test]
    fn remainder_one_has_no_check_digit() {
        // 00000004x: weights give 4*2=8, 8 % 11 = 8 -> check 3; find a remainder-1 prefix:
        // 10000000x: 1*3 = 3 -> check 8. 40000000x: 4*3=12, 12 % 11 = 1 -> invalid for every x.
        for x in 0..=9 {
            assert!(OrgNo::parse(&format!("40000000{x}")).is_err());
        }
    }

    #[test]
    fn system_ids_name_their_vendor() {
        let id = SystemId::parse("310000019_maestro").unwrap();
        assert_eq!(id.vendor().as_str(), "310000019");
        for bad in ["310000019", "310000019_", "310000018_x", "310000019_a b", "x_y", "310000019_a\u{0}b"] {
            assert_eq!(SystemId::parse(bad).unwrap_err().code, Code::InvalidSystemId, "{bad:?}");
        }
    }

    #[test]
    fn package_urns_are_checked() {
        assert!(PackageUrn::parse("urn:altinn:accesspackage:skattegrunnlag").is_ok());
        for bad in ["skattegrunnlag", "urn:altinn:accesspackage:", "urn:altinn:accesspackage:Skatt", "urn:x:y"] {
            assert!(PackageUrn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_right_without_action_covers_every_action_on_its_resource() {
        let any = Right { resource: ResourceId::parse("r").unwrap(), action: None };
        let write = Right { resource: ResourceId::parse("r").unwrap(), action: Some(Action::parse("write").unwrap()) };
        assert!(any.covers(&write));
        assert!(!write.covers(&any));
        assert!(write.covers(&write));
    }
}
