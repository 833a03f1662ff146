//! Access packages' names as people read them, in bokmål and English, where the ledger
//! knows them: the ledger's `accesspackage.defined` events carry only the URN, so the
//! pages take names from Altinn's own catalogue (`PackageConstants.cs` in
//! `Altinn/altinn-authorization-tmp`, commit f7ff53bd: each package's `Name` and its `EN`
//! translation, spelt as there). A package not listed here is shown by the words of its
//! URN, beside the URN itself.

use super::i18n::Lang;

/// (URN slug, bokmål, English).
const NAMES: &[(&str, &str, &str)] = &[
    ("ansvarlig-revisor", "Ansvarlig revisor", "Auditor in charge"),
    ("forretningsforer-eiendom", "Forretningsforer eiendom", "Business manager real estate"),
    ("regnskapsforer-lonn", "Regnskapsfører lønn", "Accountant salary"),
    (
        "regnskapsforer-med-signeringsrettighet",
        "Regnskapsfører med signeringsrettighet",
        "Accountant with signing rights",
    ),
    (
        "regnskapsforer-uten-signeringsrettighet",
        "Regnskapsfører uten signeringsrettighet",
        "Accountant without signing rights",
    ),
    ("revisormedarbeider", "Revisormedarbeider", "Assistant auditor"),
    ("skatt-naering", "Skatt næring", "Business tax"),
    ("skattegrunnlag", "Skattegrunnlag", "Tax base"),
];

/// The package's name in `lang`, from its URN's last segment; else the segment's words
/// ("a-b-c" → "A b c").
pub fn name(urn: &str, lang: Lang) -> String {
    let slug = urn.rsplit(':').next().unwrap_or_default();
    if let Some((_, nb, en)) = NAMES.iter().find(|(s, _, _)| *s == slug) {
        return match lang {
            Lang::Nb => nb,
            Lang::En => en,
        }
        .to_string();
    }
    let words = slug.replace('-', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_package_has_altinns_name_and_an_unknown_one_its_urns_words() {
        let urn = "urn:altinn:accesspackage:regnskapsforer-med-signeringsrettighet";
        assert_eq!(name(urn, Lang::Nb), "Regnskapsfører med signeringsrettighet");
        assert_eq!(name(urn, Lang::En), "Accountant with signing rights");
        assert_eq!(name("urn:altinn:accesspackage:noe-nytt", Lang::En), "Noe nytt");
    }
}
