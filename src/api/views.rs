//! JSON renderings of read-model records in Altinn's shapes (camelCase), and the
//! request shapes they mirror. Shared by the endpoint modules.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::domain::ids::{PackageUrn, Right};

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
