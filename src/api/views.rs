//! JSON renderings of read-model records in Altinn's shapes (camelCase), and the
//! request shapes they mirror. Shared by the endpoint modules.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::domain::events::UserType;
use crate::domain::ids::{Action, PackageUrn, ResourceId, Right};
use crate::domain::model::{Kv, ReadModel, Request, RequestStatus, SystemUser};
use crate::domain::Rejection;

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Altinn's right: `{"resource":[{"id":"urn:altinn:resource","value":"…"}], "action"?: "…"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RightDto {
    pub resource: Vec<AttributeDto>,
    #[serde(default)]
    pub action: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeDto {
    pub id: String,
    pub value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageDto {
    pub urn: String,
}

pub fn parse_right(dto: &RightDto) -> Result<Right, ApiError> {
    let resource = match dto.resource.as_slice() {
        [attr] if attr.id == "urn:altinn:resource" => ResourceId::parse(&attr.value)?,
        _ => {
            return Err(ApiError::InvalidBody(
                "a right names exactly one resource as {\"id\":\"urn:altinn:resource\",\"value\":…}".to_owned(),
            ))
        }
    };
    let action = dto.action.as_deref().map(Action::parse).transpose()?;
    Ok(Right { resource, action })
}

pub fn parse_rights(dtos: &[RightDto]) -> Result<Vec<Right>, ApiError> {
    dtos.iter().map(parse_right).collect()
}

pub fn parse_packages(dtos: &[PackageDto]) -> Result<Vec<PackageUrn>, Rejection> {
    dtos.iter().map(|p| PackageUrn::parse(&p.urn)).collect()
}

pub fn right_json(r: &Right) -> Value {
    let mut v = json!({"resource": [{"id": "urn:altinn:resource", "value": r.resource.as_str()}]});
    if let Some(a) = &r.action {
        v["action"] = json!(a.as_str());
    }
    v
}

pub fn packages_json(ps: &[PackageUrn]) -> Value {
    Value::Array(ps.iter().map(|p| json!({"urn": p.as_str()})).collect())
}

/// Altinn's request statuses; a `New` request past its time-to-live reads `Timedout`.
pub fn request_status(r: &Request, now: DateTime<Utc>) -> &'static str {
    match r.status {
        RequestStatus::New if r.is_expired(now) => "Timedout",
        RequestStatus::New => "New",
        RequestStatus::Accepted => "Accepted",
        RequestStatus::Rejected => "Rejected",
        RequestStatus::Withdrawn => "Withdrawn",
    }
}

pub fn request_json(r: &Request, now: DateTime<Utc>, public_url: &str) -> Value {
    let page = match r.user_type {
        UserType::Standard => "vendorrequest",
        UserType::Agent => "vendorclientrequest",
    };
    let mut v = json!({
        "id": r.id,
        "externalRef": r.external_ref,
        "systemId": r.system_id.as_str(),
        "partyOrgNo": r.party_org_no.as_str(),
        "accessPackages": packages_json(&r.access_packages),
        "status": request_status(r, now),
        "redirectUrl": r.redirect_url,
        "integrationTitle": r.integration_title,
        "confirmUrl": format!("{public_url}/authfront/ui/auth/{page}?id={}", r.id),
        "created": time(r.created),
        "expires": time(r.expires),
        "userType": r.user_type,
    });
    if r.user_type == UserType::Standard {
        v["rights"] = Value::Array(r.rights.iter().map(right_json).collect());
    }
    v
}

pub fn system_user_json<K: Kv + ?Sized>(model: &K, u: &SystemUser) -> Value {
    let party = model.party(&u.owner_org_no);
    json!({
        "id": u.id,
        "integrationTitle": u.integration_title,
        "systemId": u.system_id.as_str(),
        "partyId": party.as_ref().map(|p| p.party_id.to_string()),
        "partyUuid": party.as_ref().map(|p| p.party_uuid),
        "reporteeOrgNo": u.owner_org_no.as_str(),
        "created": time(u.created),
        "isDeleted": u.deleted.is_some(),
        "supplierOrgNo": u.system_id.vendor().as_str(),
        "externalRef": u.external_ref,
        "userType": u.user_type,
        "rights": u.rights.iter().map(right_json).collect::<Vec<_>>(),
        "accessPackages": packages_json(&u.access_packages),
    })
}
