//! JSON renderings of read-model records in Altinn's shapes (camelCase), and the
//! request shapes they mirror. Shared by the endpoint modules.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::domain::ids::{PackageUrn, Right};
use crate::domain::model::{Kv, ReadModel, SystemUser};

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
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
