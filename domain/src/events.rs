//! The event catalogue: every fact the ledger records, as CloudEvents 1.0 in structured
//! JSON mode. Types are past-tense facts, versioned in their name (`….v1`); a changed
//! payload is a new version, and old records on the log are never rewritten.
//!
//! This module owns the wire format of a log record: [`Event::encode`] and
//! [`Event::decode`] are the only way bytes become events and back. It knows nothing of
//! where records are stored.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

use super::ids::{Action, OrgNo, PackageUrn, RegisterRole, ResourceId, Right, SystemId};

/// Largest record the decoder accepts. Real events are a few KiB; a system with many
/// rights is the largest. The limit bounds memory for a hostile or corrupt record.
pub const RECORD_BYTES_MAX: usize = 256 * 1024;

pub const SPEC_VERSION: &str = "1.0";
pub const SOURCE: &str = "urn:delegation-ledger";
pub const CONTENT_TYPE: &str = "application/json";

/// Who caused an event. Recorded from the verified token, never from a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActorKind {
    /// A person acting for an organisation (customer admin, client admin).
    Person,
    /// A system vendor's integration.
    Vendor,
    /// The synchronisation from upstream registers (Enhetsregisteret, Altinn).
    Register,
    /// A service owner publishing resource policies.
    ServiceOwner,
    /// An operator (imports, seals).
    Operator,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
}

/// One event: the CloudEvents context attributes and the typed payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub time: DateTime<Utc>,
    /// The aggregate this event belongs to, e.g. `systemuser/<uuid>`.
    pub subject: String,
    pub actor: Actor,
    /// The organisation the actor acted for.
    pub on_behalf_of: Option<OrgNo>,
    pub correlation_id: Option<String>,
    /// The aggregate version the writer saw; `apply` voids the event if it moved on.
    /// `None` only for upstream register facts that are last-writer-wins by nature.
    pub expected_version: Option<u64>,
    pub data: EventData,
    /// The older type this record was written as, when decoding upcast its payload to
    /// the current version (see [`upcast_types`]); `None` for a record of the current
    /// type and for every event this build writes. The record's bytes stay as written.
    pub written_as: Option<&'static str>,
}

/// The structured-mode JSON of a CloudEvent as it lies on the log.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    specversion: String,
    id: Uuid,
    source: String,
    #[serde(rename = "type")]
    ty: String,
    time: DateTime<Utc>,
    subject: String,
    datacontenttype: String,
    dataschema: String,
    actorkind: ActorKind,
    actorid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    onbehalfof: Option<OrgNo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correlationid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expectedversion: Option<u64>,
    data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    TooLarge(usize),
    NotJson(String),
    NotACloudEvent(String),
    UnknownType(String),
    BadData { ty: String, why: String },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::TooLarge(n) => write!(f, "record of {n} bytes exceeds {RECORD_BYTES_MAX}"),
            DecodeError::NotJson(e) => write!(f, "record is not JSON: {e}"),
            DecodeError::NotACloudEvent(e) => write!(f, "record is not a ledger CloudEvent: {e}"),
            DecodeError::UnknownType(t) => write!(f, "unknown event type '{t}'"),
            DecodeError::BadData { ty, why } => write!(f, "invalid data for {ty}: {why}"),
        }
    }
}
impl std::error::Error for DecodeError {}

impl Event {
    /// The type of the record as it lies on the log (an upcast record keeps its own).
    pub fn type_name(&self) -> &'static str {
        self.written_as.unwrap_or_else(|| self.data.type_name())
    }

    /// The record for a new event. An upcast event is never written again: its record
    /// is already on the log, and writing its payload under the old type would forge it.
    pub fn encode(&self) -> Vec<u8> {
        assert!(self.written_as.is_none(), "an upcast {} record is never encoded again", self.type_name());
        let wire = Wire {
            specversion: SPEC_VERSION.to_owned(),
            id: self.id,
            source: SOURCE.to_owned(),
            ty: self.type_name().to_owned(),
            time: self.time,
            subject: self.subject.clone(),
            datacontenttype: CONTENT_TYPE.to_owned(),
            dataschema: schema_uri(self.type_name()),
            actorkind: self.actor.kind,
            actorid: self.actor.id.clone(),
            onbehalfof: self.on_behalf_of.clone(),
            correlationid: self.correlation_id.clone(),
            expectedversion: self.expected_version,
            data: self.data.to_json(),
        };
        serde_json::to_vec(&wire).expect("events always serialise")
    }

    pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
        if bytes.len() > RECORD_BYTES_MAX {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::NotJson(e.to_string()))?;
        let wire: Wire = serde_json::from_value(value).map_err(|e| DecodeError::NotACloudEvent(e.to_string()))?;
        if wire.specversion != SPEC_VERSION {
            return Err(DecodeError::NotACloudEvent(format!("specversion {}", wire.specversion)));
        }
        if wire.datacontenttype != CONTENT_TYPE {
            return Err(DecodeError::NotACloudEvent(format!("datacontenttype {}", wire.datacontenttype)));
        }
        if wire.dataschema != schema_uri(&wire.ty) {
            return Err(DecodeError::NotACloudEvent(format!("dataschema {} does not match type", wire.dataschema)));
        }
        let (data, written_as) = match UPCASTERS.iter().find(|(ty, _)| *ty == wire.ty) {
            Some((ty, upcast)) => (upcast(wire.data)?, Some(*ty)),
            None => (EventData::from_json(&wire.ty, wire.data)?, None),
        };
        let event = Event {
            id: wire.id,
            time: wire.time,
            subject: wire.subject,
            actor: Actor { kind: wire.actorkind, id: wire.actorid },
            on_behalf_of: wire.onbehalfof,
            correlation_id: wire.correlationid,
            expected_version: wire.expectedversion,
            data,
            written_as,
        };
        if event.subject != event.data.subject() {
            return Err(DecodeError::NotACloudEvent(format!(
                "subject '{}' does not name the event's aggregate '{}'",
                event.subject,
                event.data.subject()
            )));
        }
        Ok(event)
    }
}

/// A type's name without its version (`ledger.client.linked`): what a reader shows the
/// same way whatever version a record was written as.
pub fn family(type_name: &str) -> &str {
    match type_name.rsplit_once(".v") {
        Some((family, version)) if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) => family,
        _ => type_name,
    }
}

/// The `dataschema` URI of a type; the schema itself is `schemas/<type>.json`.
pub fn schema_uri(type_name: &str) -> String {
    format!("urn:delegation-ledger:schema:{type_name}")
}

// ---- payloads -------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartyRegistered {
    pub org_no: OrgNo,
    pub party_id: i64,
    pub party_uuid: Uuid,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessPackageDefined {
    pub urn: PackageUrn,
    /// May be given to a standard system user.
    pub assignable: bool,
    /// May be carried by an agent system user (re-delegated from clients).
    pub delegable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_package: Option<PackageUrn>,
    /// Holders of a single right on this resource get the rule's actions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub right: bool,
    pub actions: Vec<Action>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourcePolicyPublished {
    pub resource_id: ResourceId,
    /// The resource's title by language code (`nb`, `nn`, `en`), as Altinn's resource
    /// registry holds it: what a person is shown instead of the id. Since v2.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub title: BTreeMap<String, String>,
    pub rules: Vec<PolicyRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_authentication_level: Option<u8>,
}

/// `ledger.resourcepolicy.published.v1`: as v2 without a title.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourcePolicyPublishedV1 {
    resource_id: ResourceId,
    rules: Vec<PolicyRule>,
    #[serde(default)]
    minimum_authentication_level: Option<u8>,
}

impl From<ResourcePolicyPublishedV1> for ResourcePolicyPublished {
    fn from(v1: ResourcePolicyPublishedV1) -> Self {
        let ResourcePolicyPublishedV1 { resource_id, rules, minimum_authentication_level } = v1;
        ResourcePolicyPublished { resource_id, title: BTreeMap::new(), rules, minimum_authentication_level }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemDefinition {
    pub system_id: SystemId,
    pub vendor_org_no: OrgNo,
    /// Language code (`nb`, `nn`, `en`) to text.
    pub name: BTreeMap<String, String>,
    pub description: BTreeMap<String, String>,
    pub rights: Vec<Right>,
    pub access_packages: Vec<PackageUrn>,
    pub client_ids: Vec<String>,
    pub allowed_redirect_urls: Vec<String>,
    pub is_visible: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemDeleted {
    pub system_id: SystemId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    Standard,
    Agent,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestCreated {
    pub request_id: Uuid,
    pub user_type: UserType,
    pub system_id: SystemId,
    pub party_org_no: OrgNo,
    pub external_ref: String,
    pub rights: Vec<Right>,
    pub access_packages: Vec<PackageUrn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_title: Option<String>,
    /// After this instant the request can no longer be approved (time-to-live).
    pub expires: DateTime<Utc>,
}

/// A request answered (approved, rejected), or escalated to the customer's access
/// managers, by the customer organisation it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestDecided {
    pub request_id: Uuid,
    pub party_org_no: OrgNo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestWithdrawn {
    pub request_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemUserCreated {
    /// Equals the id of the request it was created from.
    pub system_user_id: Uuid,
    pub user_type: UserType,
    pub system_id: SystemId,
    pub owner_org_no: OrgNo,
    pub external_ref: String,
    pub rights: Vec<Right>,
    pub access_packages: Vec<PackageUrn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_title: Option<String>,
}

/// The owner's own agent system user acts for the owner too, with the packages it
/// carries (Altinn's "self" delegation of an agent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemUserSelfDelegated {
    pub system_user_id: Uuid,
    pub owner_org_no: OrgNo,
    pub access_packages: Vec<PackageUrn>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemUserSelfRevoked {
    pub system_user_id: Uuid,
    pub owner_org_no: OrgNo,
}

/// A vendor asks the owner of a standard system user to change what it may do: rights
/// and packages to add, and to take away. The id is the vendor's correlation id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRequestCreated {
    pub change_request_id: Uuid,
    pub system_user_id: Uuid,
    pub system_id: SystemId,
    pub party_org_no: OrgNo,
    pub required_rights: Vec<Right>,
    pub unwanted_rights: Vec<Right>,
    pub required_access_packages: Vec<PackageUrn>,
    pub unwanted_access_packages: Vec<PackageUrn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// After this instant the change request can no longer be approved (time-to-live).
    pub expires: DateTime<Utc>,
}

/// A change request answered (approved, rejected) by the system user's owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRequestDecided {
    pub change_request_id: Uuid,
    pub system_user_id: Uuid,
    pub party_org_no: OrgNo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRequestWithdrawn {
    pub change_request_id: Uuid,
    pub system_user_id: Uuid,
}

/// What a system user may do, after an approved change request: its rights and packages
/// whole, as they now stand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemUserRightsChanged {
    pub system_user_id: Uuid,
    pub owner_org_no: OrgNo,
    pub rights: Vec<Right>,
    pub access_packages: Vec<PackageUrn>,
    pub change_request_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemUserDeleted {
    pub system_user_id: Uuid,
    pub owner_org_no: OrgNo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientRelationshipGranted {
    pub client_org_no: OrgNo,
    pub facilitator_org_no: OrgNo,
    /// The register role that brings the packages; absent when the client delegated them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RegisterRole>,
    /// The packages this grant gives, spelled out even for a role so that history does
    /// not depend on a table that may change.
    pub access_packages: Vec<PackageUrn>,
    /// Single rights the client delegates (a resource, optionally one action): never
    /// with a role. Since v2.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rights: Vec<Right>,
}

/// `ledger.clientrelationship.granted.v1`: as v2 without single rights.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientRelationshipGrantedV1 {
    client_org_no: OrgNo,
    facilitator_org_no: OrgNo,
    #[serde(default)]
    role: Option<RegisterRole>,
    access_packages: Vec<PackageUrn>,
}

impl From<ClientRelationshipGrantedV1> for ClientRelationshipGranted {
    fn from(v1: ClientRelationshipGrantedV1) -> Self {
        let ClientRelationshipGrantedV1 { client_org_no, facilitator_org_no, role, access_packages } = v1;
        ClientRelationshipGranted { client_org_no, facilitator_org_no, role, access_packages, rights: Vec::new() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientRelationshipRevoked {
    pub client_org_no: OrgNo,
    pub facilitator_org_no: OrgNo,
    /// Revoke only what this role brought; with neither field the whole relationship ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RegisterRole>,
    /// Revoke only this client-delegated package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_package: Option<PackageUrn>,
    /// Revoke only this client-delegated right (exactly as it was delegated). Since v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<Right>,
}

/// `ledger.clientrelationship.revoked.v1`: as v2 without a single right.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientRelationshipRevokedV1 {
    client_org_no: OrgNo,
    facilitator_org_no: OrgNo,
    #[serde(default)]
    role: Option<RegisterRole>,
    #[serde(default)]
    access_package: Option<PackageUrn>,
}

impl From<ClientRelationshipRevokedV1> for ClientRelationshipRevoked {
    fn from(v1: ClientRelationshipRevokedV1) -> Self {
        let ClientRelationshipRevokedV1 { client_org_no, facilitator_org_no, role, access_package } = v1;
        ClientRelationshipRevoked { client_org_no, facilitator_org_no, role, access_package, right: None }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientLinked {
    pub system_user_id: Uuid,
    pub client_org_no: OrgNo,
    pub facilitator_org_no: OrgNo,
    /// Restricts the link to these of the agent's packages. With `rights`, absent on
    /// both meaning everything the agent carries (every v1 link); either given, the link
    /// gives exactly what the two name. Since v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_packages: Option<Vec<PackageUrn>>,
    /// Restricts the link to these single rights (each covered by one of the agent's).
    /// Since v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<Vec<Right>>,
}

impl ClientLinked {
    /// What the link is restricted to, or `None` for everything the agent carries.
    pub fn subset(&self) -> Option<Subset> {
        match (&self.access_packages, &self.rights) {
            (None, None) => None,
            (packages, rights) => Some(Subset {
                access_packages: packages.clone().unwrap_or_default(),
                rights: rights.clone().unwrap_or_default(),
            }),
        }
    }
}

/// A part of what an agent carries, that one client link gives (NAV's "A06/A07 only").
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subset {
    pub access_packages: Vec<PackageUrn>,
    pub rights: Vec<Right>,
}

impl Subset {
    pub fn is_empty(&self) -> bool {
        self.access_packages.is_empty() && self.rights.is_empty()
    }
}

/// `ledger.client.linked.v1`: a link to everything the agent carries.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientLinkedV1 {
    system_user_id: Uuid,
    client_org_no: OrgNo,
    facilitator_org_no: OrgNo,
}

impl From<ClientLinkedV1> for ClientLinked {
    fn from(v1: ClientLinkedV1) -> Self {
        let ClientLinkedV1 { system_user_id, client_org_no, facilitator_org_no } = v1;
        ClientLinked { system_user_id, client_org_no, facilitator_org_no, access_packages: None, rights: None }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnlinkReason {
    /// A client administrator removed the client.
    Requested,
    /// The agent system user was deleted (cascade).
    SystemUserDeleted,
    /// The client relationship no longer carries every package of the agent (cascade).
    RelationshipRevoked,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientUnlinked {
    pub system_user_id: Uuid,
    pub client_org_no: OrgNo,
    pub facilitator_org_no: OrgNo,
    pub reason: UnlinkReason,
    /// For a cascade, the event that caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause_event_id: Option<Uuid>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LedgerSealed {
    /// The number of records this seal covers: it is itself the record at this index.
    pub position: u64,
    /// The hash chain over those records (hex SHA-256).
    pub chain_hash: String,
}

macro_rules! catalogue {
    ($($variant:ident($payload:ty) => $name:literal;)*) => {
        /// The typed payload of an event; the variant decides the CloudEvents `type`.
        #[derive(Clone, Debug, PartialEq)]
        pub enum EventData { $($variant($payload),)* }

        /// Every event type this build knows, in catalogue order.
        pub const EVENT_TYPES: &[&str] = &[$($name,)*];

        impl EventData {
            pub fn type_name(&self) -> &'static str {
                match self { $(EventData::$variant(_) => $name,)* }
            }

            /// The payload as the `data` of its CloudEvent.
            pub fn to_json(&self) -> serde_json::Value {
                match self {
                    $(EventData::$variant(p) => serde_json::to_value(p).expect("payloads serialise"),)*
                }
            }

            fn from_json(ty: &str, data: serde_json::Value) -> Result<EventData, DecodeError> {
                match ty {
                    $($name => Ok(EventData::$variant(payload(ty, data)?)),)*
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }
        }
    };
}

catalogue! {
    PartyRegistered(PartyRegistered) => "ledger.party.registered.v1";
    AccessPackageDefined(AccessPackageDefined) => "ledger.accesspackage.defined.v1";
    ResourcePolicyPublished(ResourcePolicyPublished) => "ledger.resourcepolicy.published.v2";
    SystemRegistered(SystemDefinition) => "ledger.system.registered.v1";
    SystemUpdated(SystemDefinition) => "ledger.system.updated.v1";
    SystemRegisteredV2(SystemDefinition) => "ledger.system.registered.v2";
    SystemUpdatedV2(SystemDefinition) => "ledger.system.updated.v2";
    SystemDeleted(SystemDeleted) => "ledger.system.deleted.v1";
    RequestCreated(RequestCreated) => "ledger.systemuserrequest.created.v2";
    RequestApproved(RequestDecided) => "ledger.systemuserrequest.approved.v1";
    RequestRejected(RequestDecided) => "ledger.systemuserrequest.rejected.v1";
    RequestWithdrawn(RequestWithdrawn) => "ledger.systemuserrequest.withdrawn.v1";
    RequestEscalated(RequestDecided) => "ledger.systemuserrequest.escalated.v1";
    SystemUserCreated(SystemUserCreated) => "ledger.systemuser.created.v1";
    SystemUserDeleted(SystemUserDeleted) => "ledger.systemuser.deleted.v1";
    ChangeRequestCreated(ChangeRequestCreated) => "ledger.systemuserchangerequest.created.v1";
    ChangeRequestApproved(ChangeRequestDecided) => "ledger.systemuserchangerequest.approved.v1";
    ChangeRequestRejected(ChangeRequestDecided) => "ledger.systemuserchangerequest.rejected.v1";
    ChangeRequestWithdrawn(ChangeRequestWithdrawn) => "ledger.systemuserchangerequest.withdrawn.v1";
    SystemUserRightsChanged(SystemUserRightsChanged) => "ledger.systemuser.rightschanged.v1";
    SystemUserCreatedByOwner(SystemUserCreated) => "ledger.systemuser.createdbyowner.v1";
    SystemUserSelfDelegated(SystemUserSelfDelegated) => "ledger.systemuser.selfdelegated.v1";
    SystemUserSelfRevoked(SystemUserSelfRevoked) => "ledger.systemuser.selfrevoked.v1";
    ClientRelationshipGranted(ClientRelationshipGranted) => "ledger.clientrelationship.granted.v2";
    ClientRelationshipRevoked(ClientRelationshipRevoked) => "ledger.clientrelationship.revoked.v2";
    ClientLinked(ClientLinked) => "ledger.client.linked.v2";
    ClientUnlinked(ClientUnlinked) => "ledger.client.unlinked.v1";
    LedgerSealed(LedgerSealed) => "ledger.ledger.sealed.v1";
}

/// Reads an older record's payload as its current version.
type Upcaster = fn(serde_json::Value) -> Result<EventData, DecodeError>;

/// Older types this build still reads, each with its upcaster. Their records are never
/// rewritten, and nothing this build writes has one of these types. An upcast never
/// changes what a payload means: what v1 said, v2 says the same way (a v1 policy has
/// no title).
const UPCASTERS: &[(&str, Upcaster)] = &[
    ("ledger.resourcepolicy.published.v1", |data| {
        let v1: ResourcePolicyPublishedV1 = payload("ledger.resourcepolicy.published.v1", data)?;
        Ok(EventData::ResourcePolicyPublished(v1.into()))
    }),
    // Same shape; v2 lets an agent request ask for single rights (`rules::RequestRules`),
    // and a v1 record is held to v1's rule by its `written_as`.
    ("ledger.systemuserrequest.created.v1", |data| {
        Ok(EventData::RequestCreated(payload("ledger.systemuserrequest.created.v1", data)?))
    }),
    ("ledger.clientrelationship.granted.v1", |data| {
        let v1: ClientRelationshipGrantedV1 = payload("ledger.clientrelationship.granted.v1", data)?;
        Ok(EventData::ClientRelationshipGranted(v1.into()))
    }),
    ("ledger.clientrelationship.revoked.v1", |data| {
        let v1: ClientRelationshipRevokedV1 = payload("ledger.clientrelationship.revoked.v1", data)?;
        Ok(EventData::ClientRelationshipRevoked(v1.into()))
    }),
    ("ledger.client.linked.v1", |data| {
        let v1: ClientLinkedV1 = payload("ledger.client.linked.v1", data)?;
        Ok(EventData::ClientLinked(v1.into()))
    }),
];

/// Every older type this build reads (each has a schema in `schemas/`, as current ones do).
pub fn upcast_types() -> impl Iterator<Item = &'static str> {
    UPCASTERS.iter().map(|(ty, _)| *ty)
}

fn payload<T: DeserializeOwned>(ty: &str, data: serde_json::Value) -> Result<T, DecodeError> {
    serde_json::from_value(data).map_err(|e| DecodeError::BadData { ty: ty.to_owned(), why: e.to_string() })
}

/// Aggregate ids used as CloudEvents `subject` and as the key of aggregate versions.
pub mod subject {
    use super::*;
    pub fn party(org: &OrgNo) -> String {
        format!("party/{org}")
    }
    pub fn access_package(urn: &PackageUrn) -> String {
        format!("accesspackage/{urn}")
    }
    pub fn resource(id: &ResourceId) -> String {
        format!("resource/{id}")
    }
    pub fn system(id: &SystemId) -> String {
        format!("system/{id}")
    }
    /// A request and the system user made from it share one id and one lifecycle,
    /// client links included: so a link racing a deletion is a version conflict.
    pub fn system_user(id: &Uuid) -> String {
        format!("systemuser/{id}")
    }
    pub fn relationship(client: &OrgNo, facilitator: &OrgNo) -> String {
        format!("clientrelationship/{client}/{facilitator}")
    }
    /// Seals belong to the ledger as a whole.
    pub const LEDGER: &str = "ledger";
}

impl EventData {
    /// The aggregate this payload belongs to.
    pub fn subject(&self) -> String {
        use EventData::*;
        match self {
            PartyRegistered(p) => subject::party(&p.org_no),
            AccessPackageDefined(p) => subject::access_package(&p.urn),
            ResourcePolicyPublished(p) => subject::resource(&p.resource_id),
            SystemRegistered(p) | SystemUpdated(p) | SystemRegisteredV2(p) | SystemUpdatedV2(p) => {
                subject::system(&p.system_id)
            }
            SystemDeleted(p) => subject::system(&p.system_id),
            RequestCreated(p) => subject::system_user(&p.request_id),
            RequestApproved(p) | RequestRejected(p) => subject::system_user(&p.request_id),
            RequestWithdrawn(p) => subject::system_user(&p.request_id),
            RequestEscalated(p) => subject::system_user(&p.request_id),
            SystemUserCreated(p) => subject::system_user(&p.system_user_id),
            SystemUserDeleted(p) => subject::system_user(&p.system_user_id),
            // A change request belongs to its system user's lifecycle: its approval
            // racing the user's deletion is a version conflict.
            ChangeRequestCreated(p) => subject::system_user(&p.system_user_id),
            ChangeRequestApproved(p) | ChangeRequestRejected(p) => subject::system_user(&p.system_user_id),
            ChangeRequestWithdrawn(p) => subject::system_user(&p.system_user_id),
            SystemUserRightsChanged(p) => subject::system_user(&p.system_user_id),
            SystemUserCreatedByOwner(p) => subject::system_user(&p.system_user_id),
            SystemUserSelfDelegated(p) => subject::system_user(&p.system_user_id),
            SystemUserSelfRevoked(p) => subject::system_user(&p.system_user_id),
            ClientRelationshipGranted(p) => subject::relationship(&p.client_org_no, &p.facilitator_org_no),
            ClientRelationshipRevoked(p) => subject::relationship(&p.client_org_no, &p.facilitator_org_no),
            ClientLinked(p) => subject::system_user(&p.system_user_id),
            ClientUnlinked(p) => subject::system_user(&p.system_user_id),
            LedgerSealed(_) => subject::LEDGER.to_owned(),
        }
    }

    /// The clients an event concerns (for their audit history).
    pub fn clients(&self) -> Option<&OrgNo> {
        use EventData::*;
        match self {
            ClientRelationshipGranted(p) => Some(&p.client_org_no),
            ClientRelationshipRevoked(p) => Some(&p.client_org_no),
            ClientLinked(p) => Some(&p.client_org_no),
            ClientUnlinked(p) => Some(&p.client_org_no),
            _ => None,
        }
    }

    /// The system definition this event writes, of whichever version (a reader that
    /// follows systems asks this, so a new version cannot slip past it).
    pub fn system_definition(&self) -> Option<&SystemDefinition> {
        use EventData::*;
        match self {
            SystemRegistered(d) | SystemUpdated(d) | SystemRegisteredV2(d) | SystemUpdatedV2(d) => Some(d),
            _ => None,
        }
    }

    /// The system user whose record this event changes (Altinn's Register follows these).
    pub fn system_user_changed(&self) -> Option<Uuid> {
        use EventData::*;
        match self {
            SystemUserCreated(p) | SystemUserCreatedByOwner(p) => Some(p.system_user_id),
            SystemUserDeleted(p) => Some(p.system_user_id),
            SystemUserRightsChanged(p) => Some(p.system_user_id),
            SystemUserSelfDelegated(p) => Some(p.system_user_id),
            SystemUserSelfRevoked(p) => Some(p.system_user_id),
            _ => None,
        }
    }

    /// The event that caused this one, for recorded cascades.
    pub fn cause(&self) -> Option<Uuid> {
        match self {
            EventData::ClientUnlinked(p) => p.cause_event_id,
            _ => None,
        }
    }

    /// The organisation that owns the aggregate: the Kafka record key, so one
    /// organisation's events stay together even if a topic is ever partitioned.
    pub fn owner(&self) -> String {
        use EventData::*;
        match self {
            PartyRegistered(p) => p.org_no.to_string(),
            AccessPackageDefined(_) | ResourcePolicyPublished(_) => String::new(),
            SystemRegistered(p) | SystemUpdated(p) | SystemRegisteredV2(p) | SystemUpdatedV2(p) => {
                p.vendor_org_no.to_string()
            }
            SystemDeleted(p) => p.system_id.vendor().to_string(),
            RequestCreated(p) => p.party_org_no.to_string(),
            RequestApproved(p) | RequestRejected(p) | RequestEscalated(p) => p.party_org_no.to_string(),
            RequestWithdrawn(_) => String::new(),
            SystemUserCreated(p) => p.owner_org_no.to_string(),
            SystemUserDeleted(p) => p.owner_org_no.to_string(),
            ChangeRequestCreated(p) => p.party_org_no.to_string(),
            ChangeRequestApproved(p) | ChangeRequestRejected(p) => p.party_org_no.to_string(),
            ChangeRequestWithdrawn(_) => String::new(),
            SystemUserRightsChanged(p) => p.owner_org_no.to_string(),
            SystemUserCreatedByOwner(p) => p.owner_org_no.to_string(),
            SystemUserSelfDelegated(p) => p.owner_org_no.to_string(),
            SystemUserSelfRevoked(p) => p.owner_org_no.to_string(),
            ClientRelationshipGranted(p) => p.facilitator_org_no.to_string(),
            ClientRelationshipRevoked(p) => p.facilitator_org_no.to_string(),
            ClientLinked(p) => p.facilitator_org_no.to_string(),
            ClientUnlinked(p) => p.facilitator_org_no.to_string(),
            LedgerSealed(_) => String::new(),
        }
    }
}
