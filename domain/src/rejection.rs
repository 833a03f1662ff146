//! Why a command was refused: a stable, machine-readable [`Code`] plus a sentence for
//! people. The domain never speaks HTTP; `api::error` maps each code's [`Kind`] to a
//! status in one place.

use std::fmt;

/// How a refusal should be understood by a caller; the HTTP layer maps these to statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The input itself is wrong (400 / 422).
    Invalid,
    /// Something the input names does not exist (404).
    NotFound,
    /// The caller is known but not entitled to do this (403).
    Forbidden,
    /// The ledger's current state forbids it (409).
    Conflict,
}

macro_rules! codes {
    ($($variant:ident => $code:literal, $kind:ident;)*) => {
        /// Stable error codes. They appear in problem documents and in void-event
        /// reasons on the log, so they are never renamed, only added.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            pub fn kind(self) -> Kind {
                match self { $(Code::$variant => Kind::$kind,)* }
            }

            pub fn parse(s: &str) -> Option<Code> {
                match s { $($code => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    InvalidOrgNumber => "invalid_org_number", Invalid;
    InvalidSystemId => "invalid_system_id", Invalid;
    InvalidAccessPackage => "invalid_access_package", Invalid;
    InvalidResourceId => "invalid_resource_id", Invalid;
    InvalidAction => "invalid_action", Invalid;
    InvalidRole => "invalid_role", Invalid;
    InvalidField => "invalid_field", Invalid;
    InvalidRedirectUrl => "invalid_redirect_url", Invalid;
    EmptyRequest => "empty_request", Invalid;
    RightsNotAllowedForAgent => "rights_not_allowed_for_agent", Invalid;
    RightNotInSystem => "right_not_in_system", Invalid;
    PackageNotInSystem => "access_package_not_in_system", Invalid;
    PackageNotAssignable => "access_package_not_assignable", Invalid;
    PackageNotDelegable => "access_package_not_delegable", Invalid;
    UnknownAccessPackage => "unknown_access_package", Invalid;
    UnknownResource => "unknown_resource", Invalid;
    PartyNotFound => "party_not_found", NotFound;
    SystemNotFound => "system_not_found", NotFound;
    RequestNotFound => "request_not_found", NotFound;
    ChangeRequestNotFound => "change_request_not_found", NotFound;
    SystemUserNotFound => "system_user_not_found", NotFound;
    RelationshipNotFound => "client_relationship_not_found", NotFound;
    ClientNotLinked => "client_not_linked", NotFound;
    DecisionNotFound => "decision_not_found", NotFound;
    NotSystemVendor => "not_system_vendor", Forbidden;
    NotRequestParty => "not_request_party", Forbidden;
    NotOwner => "not_owner", Forbidden;
    NotPolicyOwner => "not_policy_owner", Forbidden;
    SystemExists => "system_exists", Conflict;
    SystemDeleted => "system_deleted", Conflict;
    RequestNotNew => "request_not_new", Conflict;
    RequestExpired => "request_expired", Conflict;
    ChangeRequestIdInUse => "change_request_id_in_use", Conflict;
    SystemUserExists => "system_user_exists", Conflict;
    SystemUserDeleted => "system_user_deleted", Conflict;
    NotAgent => "not_agent_system_user", Conflict;
    ClientLacksPackage => "client_lacks_access_package", Conflict;
    UserTypeMismatch => "user_type_mismatch", Conflict;
    PartyIdInUse => "party_id_in_use", Conflict;
    NotEntitled => "not_entitled", Forbidden;
    VersionConflict => "version_conflict", Conflict;
    DuplicateEvent => "duplicate_event", Conflict;
    SealMismatch => "seal_mismatch", Conflict;
    TimeOutOfRange => "time_out_of_range", Invalid;
    DuplicateRight => "duplicate_right", Invalid;
    DuplicateAccessPackage => "duplicate_access_package", Invalid;
    DuplicateClientId => "duplicate_client_id", Invalid;
    ClientIdInUse => "client_id_in_use", Conflict;
    ClientPackageOnVisibleSystem => "client_package_on_visible_system", Invalid;
}

/// A refused command (or, on the log, the reason an event was void).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub code: Code,
    pub message: String,
}

impl Rejection {
    pub fn new(code: Code, message: impl Into<String>) -> Rejection {
        Rejection { code, message: message.into() }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {}", code.as_str());
            assert_eq!(Code::parse(code.as_str()), Some(*code));
        }
    }
}
