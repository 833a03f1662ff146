//! Any record on the log: decoding never panics; what decodes (and is of a current type)
//! encodes; what decodes is applied (once with no
//! append time, once with one the event's own time may run far ahead of), what does
//! not is quarantined, and none of it panics.
#![no_main]

use ledger::domain::events::Event;
use ledger::domain::model::MemKv;
use ledger::domain::{apply_record, quarantine};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut model = MemKv::default();
    match Event::decode(data) {
        Ok(event) => {
            // An event this build would write encodes; an older record read as its
            // current version is never encoded again (`Event::encode` refuses it).
            if event.written_as.is_none() {
                let _ = event.encode();
            }
            let _ = apply_record(&mut model, 0, data, &event, None);
            let appended = chrono::DateTime::from_timestamp(1_767_225_600, 0);
            let _ = apply_record(&mut MemKv::default(), 0, data, &event, appended);
        }
        Err(e) => quarantine(&mut model, 0, data, &e.to_string()),
    }
});
