//! The same ledger as Cedar sees it: entities and policies for `cedar-policy`, the engine
//! behind Amazon Verified Permissions, and its answers to the same questions.
//!
//! The model, from the folded [`Facts`]:
//! - `SystemUser::"<uuid>"` with `active`, `standard`, `owner` (a `Party`), `system` (a
//!   `System`), `packages` (strings) and `rights` (a set of `Resource`s); an agent's
//!   parents are the `Party`s of the clients it is linked to now.
//! - `Relationship::"<client>|<facilitator>"` with the `packages` the client gives.
//! - `System::"<id>"` with `active`; `Party::"<org>"`; `Resource::"<id>"`.
//! - One policy per resource and action, written from the resource's rules, so Cedar
//!   decides exactly the PDP's rule (DESIGN §PDP) and the two can be compared answer
//!   for answer.
//!
//! The request carries the party and the relationship between party and owner in its
//! context, as an application calling Verified Permissions would.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression,
};

use ledger::domain::ids::{OrgNo, ResourceId};
use ledger::domain::pdp::{PartyRef, Query};

use crate::facts::Facts;

pub struct Cedar {
    entities: Entities,
    policies: PolicySet,
    authorizer: Authorizer,
}

fn uid(kind: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(EntityTypeName::from_str(kind).expect("a type name"), EntityId::new(id))
}

fn relationship_id(client: &OrgNo, facilitator: &OrgNo) -> String {
    format!("{client}|{facilitator}")
}

/// A Cedar string literal (ids here are plain ASCII; quotes are escaped regardless).
fn literal(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Cedar {
    pub fn load(facts: &Facts) -> Result<Cedar, String> {
        let mut entities: Vec<Entity> = Vec::new();
        for org in &facts.parties {
            entities.push(Entity::new_no_attrs(uid("Party", org.as_str()), HashSet::new()));
        }
        for resource in facts.policies.keys() {
            entities.push(Entity::new_no_attrs(uid("Resource", resource.as_str()), HashSet::new()));
        }
        for (system, active) in &facts.systems {
            let attrs = HashMap::from([("active".to_owned(), RestrictedExpression::new_bool(*active))]);
            entities
                .push(Entity::new(uid("System", system.as_str()), attrs, HashSet::new()).map_err(|e| e.to_string())?);
        }
        for ((client, facilitator), packages) in &facts.relationships {
            let set = packages.iter().map(|p| RestrictedExpression::new_string(p.as_str().to_owned()));
            let attrs = HashMap::from([("packages".to_owned(), RestrictedExpression::new_set(set))]);
            let id = uid("Relationship", &relationship_id(client, facilitator));
            entities.push(Entity::new(id, attrs, HashSet::new()).map_err(|e| e.to_string())?);
        }
        for (id, user) in &facts.users {
            let packages = user.packages.iter().map(|p| RestrictedExpression::new_string(p.as_str().to_owned()));
            let rights = user.rights.iter().map(|r| RestrictedExpression::new_entity_uid(uid("Resource", r.as_str())));
            let attrs = HashMap::from([
                ("active".to_owned(), RestrictedExpression::new_bool(!user.deleted)),
                ("standard".to_owned(), RestrictedExpression::new_bool(user.standard)),
                ("owner".to_owned(), RestrictedExpression::new_entity_uid(uid("Party", user.owner.as_str()))),
                ("system".to_owned(), RestrictedExpression::new_entity_uid(uid("System", user.system.as_str()))),
                ("packages".to_owned(), RestrictedExpression::new_set(packages)),
                ("rights".to_owned(), RestrictedExpression::new_set(rights)),
            ]);
            let parents: HashSet<EntityUid> =
                facts.links.get(id).into_iter().flatten().map(|client| uid("Party", client.as_str())).collect();
            entities.push(Entity::new(uid("SystemUser", &id.to_string()), attrs, parents).map_err(|e| e.to_string())?);
        }
        let entities = Entities::from_entities(entities, None).map_err(|e| e.to_string())?;
        let policies = PolicySet::from_str(&policy_text(facts)).map_err(|e| e.to_string())?;
        Ok(Cedar { entities, policies, authorizer: Authorizer::new() })
    }

    /// The Cedar request for a PDP question (built before timing, as a caller would hold it).
    pub fn request(&self, facts: &Facts, q: &Query) -> Request {
        let PartyRef::OrgNo(party) = &q.party else { unreachable!("the benchmark asks by organisation number") };
        let owner = facts.users.get(&q.system_user).map(|u| u.owner.clone()).unwrap_or_else(|| party.clone());
        let context = Context::from_pairs([
            ("party".to_owned(), RestrictedExpression::new_entity_uid(uid("Party", party.as_str()))),
            (
                "relationship".to_owned(),
                RestrictedExpression::new_entity_uid(uid("Relationship", &relationship_id(party, &owner))),
            ),
        ])
        .expect("a context");
        Request::new(
            uid("SystemUser", &q.system_user.to_string()),
            uid("Action", q.action.as_str()),
            uid("Resource", q.resource.as_str()),
            context,
            None,
        )
        .expect("a request")
    }

    pub fn allows(&self, request: &Request) -> bool {
        self.authorizer.is_authorized(request, &self.policies, &self.entities).decision() == Decision::Allow
    }
}

/// One `permit` per resource and action, equivalent to the PDP's rule for it.
fn policy_text(facts: &Facts) -> String {
    let mut text = String::new();
    let mut resources: Vec<&ResourceId> = facts.policies.keys().collect();
    resources.sort();
    for resource in resources {
        // action → (packages that get it, whether a right gets it)
        let mut by_action: BTreeMap<String, (BTreeSet<String>, bool)> = BTreeMap::new();
        for rule in &facts.policies[resource] {
            for action in &rule.actions {
                let entry = by_action.entry(action.as_str().to_owned()).or_default();
                if let Some(p) = &rule.access_package {
                    entry.0.insert(p.as_str().to_owned());
                }
                entry.1 |= rule.right;
            }
        }
        for (action, (packages, right)) in by_action {
            let mut standard: Vec<String> = Vec::new();
            if !packages.is_empty() {
                let list: Vec<String> = packages.iter().map(|p| literal(p)).collect();
                standard.push(format!("principal.packages.containsAny([{}])", list.join(", ")));
            }
            if right {
                standard.push("principal.rights.contains(resource)".to_owned());
            }
            let agent: Vec<String> = packages
                .iter()
                .map(|p| {
                    format!(
                        "(principal.packages.contains({0}) && context.relationship.packages.contains({0}))",
                        literal(p)
                    )
                })
                .collect();
            let agent = if agent.is_empty() { "false".to_owned() } else { agent.join(" || ") };
            let standard = if standard.is_empty() { "false".to_owned() } else { standard.join(" || ") };
            text.push_str(&format!(
                "permit(principal, action == Action::{}, resource == Resource::{})\n\
                 when {{ principal.active && principal.system.active &&\n\
                 ((principal.standard && principal.owner == context.party && ({standard}))\n\
                 || (!principal.standard && principal in context.party && ({agent}))) }};\n",
                literal(&action),
                literal(resource.as_str()),
            ));
        }
    }
    text
}
