//! Any record on the log: decoding never panics; what decodes is applied, what does not
//! is quarantined, and neither panics.
#![no_main]

use ledger::domain::events::Event;
use ledger::domain::model::MemKv;
use ledger::domain::{apply_record, quarantine};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut model = MemKv::default();
    match Event::decode(data) {
        Ok(event) => {
            let _ = event.encode();
            let _ = apply_record(&mut model, 0, data, &event);
        }
        Err(e) => quarantine(&mut model, 0, data, &e.to_string()),
    }
});
