//! Any bytes sent to the PDP: parsing never panics, and whatever parses is evaluated.
#![no_main]

use ledger::domain::model::MemKv;
use ledger::domain::xacml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let model = MemKv::default();
    let outcomes: Vec<xacml::Outcome> = xacml::parse(&body)
        .into_iter()
        .map(|parsed| match parsed {
            Ok(asked) => xacml::decide(&model, asked),
            Err(message) => xacml::Outcome::Indeterminate { status: xacml::STATUS_SYNTAX_ERROR, message },
        })
        .collect();
    // Both renderings: Altinn's (no messages) and the ledger's reasons; each serialises.
    for explain in [xacml::Explain::AsAltinn, xacml::Explain::Reasons] {
        serde_json::to_vec(&xacml::render(&outcomes, explain)).expect("an answer serialises");
    }
});
