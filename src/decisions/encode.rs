//! An entry's JSON written by hand, for the decision log's hot path.
//!
//! Every answered decision is encoded once, on the thread that answers it. Through
//! serde_json's derived serialisation, escaping the entry's twenty-odd strings (its member
//! names among them) byte by byte was the largest cost an entry had in user space (a
//! sixth of the log's time per decision in a focused `perf` profile). Here the member
//! names are constants, ids and times are written from their fixed alphabets, and the
//! strings a caller or request chose (the caller's names, the action, the resource, the
//! organisation number, the reason) go through serde_json whenever they hold anything
//! it would escape. The bytes are those of `serde_json::to_vec(&entry)` exactly — the
//! tests hold them there for every member present and absent — so a reader, the topic's
//! consumers and [`Entry`]'s `Deserialize` see no difference.

use std::fmt::{self, Display, Write as _};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Answer, Caller, Endpoint};

/// An entry's members as the encoder reads them, borrowed from an [`Entry`](super::Entry)
/// read back or from a [`NewEntry`](super::NewEntry) being recorded.
pub(super) struct View<'a> {
    pub id: Uuid,
    pub time: DateTime<Utc>,
    pub endpoint: Endpoint,
    pub caller: &'a Caller,
    pub system_user: Option<Uuid>,
    pub action: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub party: Option<PartyView<'a>>,
    pub decision: Answer,
    /// Written as its `Display` shows it (a typed lack is written only here).
    pub reason: Option<&'a dyn Display>,
    pub position: u64,
    pub as_of: bool,
}

/// The party as the request named it, borrowed.
pub(super) enum PartyView<'a> {
    OrgNo(&'a str),
    PartyId(i64),
    PartyUuid(Uuid),
}

/// Appends the JSON of the entry `entry` shows to `out`.
pub(super) fn entry(entry: &View<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    uuid(entry.id, out);
    out.extend_from_slice(b",\"time\":");
    crate::timestamp::write_json(&entry.time, out);
    out.extend_from_slice(b",\"endpoint\":\"");
    out.extend_from_slice(entry.endpoint.as_str().as_bytes());
    out.extend_from_slice(b"\",\"caller\":{\"role\":");
    string(&entry.caller.role, out);
    out.extend_from_slice(b",\"subject\":");
    string(&entry.caller.subject, out);
    if let Some(org) = &entry.caller.org {
        out.extend_from_slice(b",\"org\":");
        string(org, out);
    }
    out.push(b'}');
    if let Some(system_user) = entry.system_user {
        out.extend_from_slice(b",\"systemUser\":");
        uuid(system_user, out);
    }
    if let Some(action) = entry.action {
        out.extend_from_slice(b",\"action\":");
        string(action, out);
    }
    if let Some(resource) = entry.resource {
        out.extend_from_slice(b",\"resource\":");
        string(resource, out);
    }
    if let Some(party) = &entry.party {
        out.extend_from_slice(b",\"party\":");
        self::party(party, out);
    }
    out.extend_from_slice(match entry.decision {
        Answer::Permit => b",\"decision\":\"Permit\"".as_slice(),
        Answer::NotApplicable => b",\"decision\":\"NotApplicable\"",
        Answer::Indeterminate => b",\"decision\":\"Indeterminate\"",
    });
    if let Some(reason) = entry.reason {
        out.extend_from_slice(b",\"reason\":");
        shown(reason, out);
    }
    out.extend_from_slice(b",\"position\":");
    number(entry.position, out);
    if entry.as_of {
        out.extend_from_slice(b",\"asOf\":true");
    }
    out.push(b'}');
}

fn party(party: &PartyView<'_>, out: &mut Vec<u8>) {
    match party {
        PartyView::OrgNo(org_no) => {
            out.extend_from_slice(b"{\"orgNo\":");
            string(org_no, out);
        }
        PartyView::PartyId(id) => {
            out.extend_from_slice(b"{\"partyId\":");
            number(*id, out);
        }
        PartyView::PartyUuid(id) => {
            out.extend_from_slice(b"{\"partyUuid\":");
            uuid(*id, out);
        }
    }
    out.push(b'}');
}

/// A uuid as serde writes it: hyphenated, lower case, quoted.
fn uuid(id: Uuid, out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
    out.push(b'"');
}

/// A string quoted as is where serde_json would escape nothing in it (no control
/// character, quote or backslash), else written by serde_json itself.
fn string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    escaped(text, out);
    out.push(b'"');
}

/// What `value` shows, quoted and escaped as serde_json escapes the same string: it is
/// written straight into `out`, piece by piece, each escaped alone (escaping is per
/// character, and `Display` hands over whole characters).
fn shown(value: &dyn Display, out: &mut Vec<u8>) {
    struct Escaping<'o>(&'o mut Vec<u8>);
    impl fmt::Write for Escaping<'_> {
        fn write_str(&mut self, piece: &str) -> fmt::Result {
            escaped(piece, self.0);
            Ok(())
        }
    }
    out.push(b'"');
    write!(Escaping(out), "{value}").expect("writing to memory cannot fail");
    out.push(b'"');
}

/// `text` as it stands between a JSON string's quotes.
fn escaped(text: &str, out: &mut Vec<u8>) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(text.as_bytes());
    } else {
        let start = out.len();
        serde_json::to_writer(&mut *out, text).expect("a string serialises");
        // serde_json wrote the quotes too; the caller writes its own.
        assert_eq!((out[start], out[out.len() - 1]), (b'"', b'"'), "serde_json quotes a string");
        out.pop();
        out.remove(start);
    }
}

fn number(n: impl serde::Serialize, out: &mut Vec<u8>) {
    serde_json::to_writer(out, &n).expect("a number serialises");
}

#[cfg(test)]
mod tests {
    use super::super::{Entry, Party};
    use super::*;
    use chrono::{TimeZone, Utc};

    /// Given an entry, when it is encoded here and by serde_json, then the bytes are the
    /// same, and reading them back gives the entry.
    fn agree(e: &Entry) {
        let mut ours = Vec::new();
        entry(&e.view(), &mut ours);
        let serde = serde_json::to_vec(e).unwrap();
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&serde));
        assert_eq!(&serde_json::from_slice::<Entry>(&ours).unwrap(), e);
    }

    fn full() -> Entry {
        Entry {
            id: Uuid::now_v7(),
            time: Utc.with_ymd_and_hms(2026, 12, 1, 4, 30, 0).unwrap() + chrono::Duration::nanoseconds(123_456_789),
            endpoint: Endpoint::Xacml,
            caller: Caller { role: "pdp".into(), subject: "ttd-pep".into(), org: Some("310000019".into()) },
            system_user: Some(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)),
            action: Some("read".into()),
            resource: Some("ttd-resource-1".into()),
            party: Some(Party::OrgNo("310000019".into())),
            decision: Answer::NotApplicable,
            reason: Some("no delegation of ttd-resource-1".into()),
            position: u64::MAX,
            as_of: true,
        }
    }

    #[test]
    fn every_member_present_or_absent_and_every_variant_is_written_as_serde_json_writes_it() {
        agree(&full());
        let bare = Entry {
            caller: Caller { role: String::new(), subject: String::new(), org: None },
            system_user: None,
            action: None,
            resource: None,
            party: None,
            reason: None,
            position: 0,
            as_of: false,
            ..full()
        };
        agree(&bare);
        for endpoint in [Endpoint::Xacml, Endpoint::Authorize, Endpoint::Native] {
            for decision in [Answer::Permit, Answer::NotApplicable, Answer::Indeterminate] {
                agree(&Entry { endpoint, decision, ..full() });
            }
        }
        for party in [
            Party::PartyId(-1),
            Party::PartyId(i64::MAX),
            Party::PartyUuid(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)),
        ] {
            agree(&Entry { party: Some(party), ..full() });
        }
        // Times chrono writes itself (a year past 9999).
        agree(&Entry { time: Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(), ..full() });
    }

    /// Given entries borrowed from answers as they are given (a typed lack, a Permit for a
    /// party named by id, an Indeterminate whose message needs escaping), when each is
    /// encoded, then its bytes are serde_json's of the entry it reads back as.
    #[test]
    fn an_entry_borrowed_from_its_answer_is_written_as_the_entry_it_reads_back_as() {
        use super::super::NewEntry;
        use crate::domain::ids::{Action, OrgNo, ResourceId};
        use crate::domain::pdp::{Decision, Missing, PartyRef, Query, Verdict};
        let caller = Caller { role: "pdp".into(), subject: "ttd-pep".into(), org: Some("310000019".into()) };
        let client = OrgNo::parse("310000035").unwrap();
        let query = |party| Query {
            system_user: Uuid::from_u128(7),
            action: Action::parse("read").unwrap(),
            resource: ResourceId::parse("ttd-resource").unwrap(),
            party,
        };
        let (by_org, by_id) = (query(PartyRef::OrgNo(client.clone())), query(PartyRef::PartyId(50_001)));
        let lacking = Decision::not_applicable(Missing::NotLinked(client));
        let permit = Decision {
            decision: Verdict::Permit,
            granted_by: vec![],
            missing: None,
            minimum_authentication_level: None,
        };
        let message = "body: expected `,` or `}` at \"x\"\n".to_owned();
        let time = full().time;
        let entries = [
            NewEntry::decided(time, Endpoint::Xacml, &caller, &by_org, &lacking, 41, false),
            NewEntry::decided(time, Endpoint::Authorize, &caller, &by_id, &permit, 42, true),
            NewEntry::given(time, Endpoint::Xacml, &caller, None, Answer::Indeterminate, Some(&message), 43, false),
        ];
        for new in entries {
            let mut ours = Vec::new();
            entry(&new.view(), &mut ours);
            let read_back = new.entry();
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&serde_json::to_vec(&read_back).unwrap())
            );
            assert_eq!(serde_json::from_slice::<Entry>(&ours).unwrap(), read_back);
        }
        assert_eq!(
            entries[0].entry().reason.as_deref(),
            Some("310000035 is not linked as a client of this system user")
        );
    }

    #[test]
    fn strings_holding_anything_serde_json_escapes_are_escaped_as_it_escapes_them() {
        // Every ASCII character alone and inside text, then text beyond ASCII.
        let mut texts: Vec<String> = (0u8..=0x7f).map(|b| char::from(b).to_string()).collect();
        texts.extend((0u8..=0x7f).map(|b| format!("a{}b", char::from(b))));
        texts.extend(["æøå", "\u{2028}", "\u{feff}x", "😀\"\\\n"].map(String::from));
        for text in texts {
            let caller = Caller { role: text.clone(), subject: text.clone(), org: Some(text.clone()) };
            agree(&Entry {
                caller,
                action: Some(text.clone()),
                resource: Some(text.clone()),
                party: Some(Party::OrgNo(text.clone())),
                reason: Some(text),
                ..full()
            });
        }
    }
}
