//! Altinn's routes as ASP.NET matches them: literal segments without regard to case, and
//! a trailing slash accepted. A request on the Altinn surface is rewritten to the
//! canonical spelling of the one route it matches before the router sees it; a path
//! that matches no route is left as it is (and answered 404 by the router).
//!
//! Where two routes match, the one with more literal segments wins, as in ASP.NET
//! (`…/request/vendor/{id}` before `…/request/{party}/{id}`); two equally literal
//! matches would be ambiguous and are left unrewritten.

/// One segment of a route template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter,
}

/// The Altinn surface's route templates (axum syntax: `{name}` is a parameter).
#[derive(Clone, Debug, Default)]
pub struct Templates(Vec<Vec<Segment>>);

/// Prefixes of the Altinn surface; other paths are matched exactly, as axum does.
const ALTINN_PREFIXES: [&str; 2] = ["/authentication/", "/authorization/"];

impl Templates {
    pub fn new<'a>(templates: impl IntoIterator<Item = &'a str>) -> Templates {
        Templates(
            templates
                .into_iter()
                .map(|t| {
                    segments(t)
                        .map(|s| {
                            if s.starts_with('{') && s.ends_with('}') {
                                Segment::Parameter
                            } else {
                                Segment::Literal(s.to_owned())
                            }
                        })
                        .collect()
                })
                .collect(),
        )
    }

    /// The canonical spelling of `path` if it is on the Altinn surface and matches one
    /// route better than any other, when that differs from `path`.
    pub fn canonical(&self, path: &str) -> Option<String> {
        let on_surface = ALTINN_PREFIXES.iter().any(|p| path.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)));
        if !on_surface {
            return None;
        }
        let given: Vec<&str> = segments(path).collect();
        let mut best: Option<(usize, &Vec<Segment>)> = None;
        let mut tied = false;
        for template in &self.0 {
            let Some(literals) = matches(template, &given) else { continue };
            match best {
                Some((b, _)) if b > literals => {}
                Some((b, _)) if b == literals => tied = true,
                _ => {
                    best = Some((literals, template));
                    tied = false;
                }
            }
        }
        let (_, template) = best.filter(|_| !tied)?;
        let canonical: String = template
            .iter()
            .zip(&given)
            .map(|(t, g)| match t {
                Segment::Literal(l) => format!("/{l}"),
                Segment::Parameter => format!("/{g}"),
            })
            .collect();
        (canonical != path).then_some(canonical)
    }
}

/// The non-empty segments of a path (a trailing slash adds none).
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.strip_suffix('/').unwrap_or(path).split('/').skip(1)
}

/// How many literal segments `template` matches in `given`, if it matches at all.
fn matches(template: &[Segment], given: &[&str]) -> Option<usize> {
    if template.len() != given.len() {
        return None;
    }
    let mut literals = 0;
    for (t, g) in template.iter().zip(given) {
        match t {
            Segment::Literal(l) if l.eq_ignore_ascii_case(g) => literals += 1,
            Segment::Literal(_) => return None,
            Segment::Parameter if g.is_empty() => return None,
            Segment::Parameter => {}
        }
    }
    Some(literals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Templates {
        Templates::new([
            "/authentication/api/v1/systemuser/request/vendor/{id}",
            "/authentication/api/v1/systemuser/request/{party}/{id}",
            "/authentication/api/v1/systemuser/{party}",
            "/authorization/api/v1/decision",
        ])
    }

    #[test]
    fn literals_match_without_regard_to_case_and_parameters_keep_theirs() {
        let t = templates();
        assert_eq!(
            t.canonical("/Authentication/API/v1/SystemUser/Request/Vendor/AbC").as_deref(),
            Some("/authentication/api/v1/systemuser/request/vendor/AbC")
        );
        assert_eq!(t.canonical("/authorization/api/v1/Decision").as_deref(), Some("/authorization/api/v1/decision"));
        assert_eq!(t.canonical("/authorization/api/v1/decision"), None, "already canonical");
    }

    #[test]
    fn a_trailing_slash_is_accepted() {
        let t = templates();
        assert_eq!(
            t.canonical("/authentication/api/v1/systemuser/51188/").as_deref(),
            Some("/authentication/api/v1/systemuser/51188")
        );
    }

    #[test]
    fn the_more_literal_route_wins_and_unknown_paths_are_left_alone() {
        let t = templates();
        // `vendor` is a literal of the first route and a party of the second: literal wins.
        assert_eq!(
            t.canonical("/authentication/api/v1/systemuser/request/VENDOR/x").as_deref(),
            Some("/authentication/api/v1/systemuser/request/vendor/x")
        );
        assert_eq!(t.canonical("/authentication/api/v1/nothing/here"), None);
        assert_eq!(t.canonical("/V1/decisions"), None, "the native surface is matched exactly");
        assert_eq!(t.canonical("/authentication/api/v1/systemuser//"), None, "an empty parameter matches nothing");
    }
}
