//! Access packages' names as people read them, in bokmål and English: the ledger's
//! `accesspackage.defined` events carry only the URN, so the pages take names from
//! Altinn's own catalogue, `altinn-packages.tsv` beside this file (slug, bokmål name,
//! English name, as `PackageConstants.cs` in `Altinn/altinn-authorization-tmp` spells
//! them; the source and commit are in the file's first line). A package not in it is
//! shown by the words of its URN, beside the URN itself.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::i18n::Lang;

const CATALOGUE: &str = include_str!("altinn-packages.tsv");

/// slug → (bokmål, English); lines starting with `#` are comments.
fn catalogue() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static NAMES: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        CATALOGUE
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut fields = l.split('\t');
                Some((fields.next()?, (fields.next()?, fields.next().unwrap_or(""))))
            })
            .collect()
    })
}

/// The package's name in `lang`, from its URN's last segment (bokmål where Altinn has
/// no English name); else the segment's words ("a-b-c" → "A b c").
pub fn name(urn: &str, lang: Lang) -> String {
    let slug = urn.rsplit(':').next().unwrap_or_default();
    if let Some((nb, en)) = catalogue().get(slug) {
        return match lang {
            Lang::En if !en.is_empty() => en,
            _ => nb,
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
    fn the_catalogue_has_a_name_for_every_line_and_each_slug_once() {
        let lines: Vec<&str> = CATALOGUE.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        for line in &lines {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "slug, bokmål, English: {line:?}");
            assert!(!fields[0].is_empty() && !fields[1].is_empty(), "{line:?}");
        }
        assert_eq!(catalogue().len(), lines.len(), "each slug once");
    }

    #[test]
    fn a_known_package_has_altinns_name_and_an_unknown_one_its_urns_words() {
        let urn = "urn:altinn:accesspackage:regnskapsforer-med-signeringsrettighet";
        assert_eq!(name(urn, Lang::Nb), "Regnskapsfører med signeringsrettighet");
        assert_eq!(name(urn, Lang::En), "Accountant with signing rights");
        assert_eq!(name("urn:altinn:accesspackage:noe-nytt", Lang::En), "Noe nytt");
    }
}
