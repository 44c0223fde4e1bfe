//! The venue: a preprint server's stamp, or the journal's name in the running heads'
//! citation line ("Postgrad Med J 2010;86:272", "BMC Health Services Research 2014, 14:1",
//! "Nucleic Acids Research, 2024, Vol. 52", "Data in Brief 22 (2019) 451–457").

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// A name, then a year, then a volume or page number: the citation line's shape. The year
/// may sit in brackets after the volume ("Data in Brief 22 (2019)").
static CITATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^(?P<name>.*?[\p{L}.])\s*[,|]?\s*
          (?: \(?(?:19|20)\d{2}\)?\s*[,;:|]?\s*(?:vol(?:ume)?\.?\s*)?\d
            | \d{1,4}\s*\((?:19|20)\d{2}\)\s*\d )",
    )
    .expect("a valid pattern")
});

/// Preprint servers, by the name they stamp on every page.
const SERVERS: [&str; 4] = ["bioRxiv", "medRxiv", "arXiv", "Research Square"];

/// The venue the running heads (and the first page, for a server's stamp) name, where one
/// name is clear.
pub(crate) fn venue(first_page: &str, running_heads: &[String]) -> Option<String> {
    let heads = running_heads.join("\n");
    // A server's stamp: "bioRxiv preprint doi: ...", "arXiv:0908.0054v1 [hep-ph]".
    for server in SERVERS {
        let stamped = heads.contains(server)
            || first_page
                .char_indices()
                .nth(3000)
                .map_or(first_page, |(i, _)| &first_page[..i])
                .contains(&format!("{server}:"));
        if stamped {
            return Some(server.to_string());
        }
    }
    // The most frequent journal name among the heads' citation lines.
    let mut votes: HashMap<String, usize> = HashMap::new();
    for line in running_heads {
        if let Some(name) = CITATION
            .captures(line)
            .and_then(|c| clean(c.name("name")?.as_str()))
        {
            *votes.entry(name).or_default() += 1;
        }
    }
    let mut ranked: Vec<(String, usize)> = votes.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let first = ranked.first()?.clone();
    // A tie between two names is no answer.
    (ranked.get(1).is_none_or(|second| second.1 < first.1)).then_some(first.0)
}

/// The journal's name out of what precedes a citation line's year: after the authors
/// ("Doe et al.", "O. Sanni, A.P.I. Popoola /") and without trailing punctuation; `None` where
/// what is left does not read as a name.
fn clean(raw: &str) -> Option<String> {
    let mut name = raw;
    // Authors before a slash: "O. Sanni, A.P.I. Popoola / Data in Brief".
    if let Some(at) = name.rfind(" / ") {
        name = &name[at + 3..];
    }
    if let Some(at) = name.find("et al.") {
        name = &name[at + "et al.".len()..];
    }
    // Fields between bars: "Molecular Systems Biology Volume 20 | Issue 3 | March" names the
    // journal first.
    if let Some(first) = name
        .split(" | ")
        .find(|p| p.chars().any(char::is_alphabetic))
    {
        name = first;
    }
    // A volume after the name, a page number before it.
    let name = VOLUME.replace(name, "");
    let name = name
        .trim_start_matches(|c: char| c.is_ascii_digit() || c.is_whitespace())
        .trim_matches(|c: char| c.is_whitespace() || ",;:|/'".contains(c))
        .to_string();
    let lower = name.to_lowercase();
    let words = name.split_whitespace().count();
    let bad = [
        "page",
        "http",
        "doi",
        "copyright",
        "©",
        "downloaded",
        "license",
        "author",
    ];
    // A date's month before its year ("March 2024") is not a journal.
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let month = lower
        .split_whitespace()
        .any(|w| MONTHS.contains(&w.trim_matches('.')));
    let reads = (1..=12).contains(&words)
        && !month
        && name.chars().filter(|c| c.is_alphabetic()).count() >= 3
        && !bad.iter().any(|b| lower.contains(b))
        && !name.chars().any(|c| c.is_ascii_digit());
    reads.then_some(name)
}

/// "Volume 20", "Vol. 52" and what follows, after a journal's name.
static VOLUME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)[\s,]+vol(?:ume)?\.?\s*\d.*$").expect("a valid pattern"));

#[cfg(test)]
mod tests {
    use super::*;

    fn heads(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn journals_from_citation_lines() {
        for (line, name) in [
            (
                "Postgrad Med J 2010;86:272e278. doi:10.1136/pgmj.2009.089987",
                "Postgrad Med J",
            ),
            (
                "Agyeman-Duah et al. BMC Health Services Research 2014, 14:1 Page 2 of 10",
                "BMC Health Services Research",
            ),
            (
                "Nucleic Acids Research, 2024, Vol. 52, No. 7 3745",
                "Nucleic Acids Research",
            ),
            (
                "O. Sanni, A.P.I. Popoola / Data in Brief 22 (2019) 451–457",
                "Data in Brief",
            ),
            (
                "PNAS 2024 Vol. 121 No. 18 e2322520121 https://doi.org/10.1073/pnas.2322520121",
                "PNAS",
            ),
        ] {
            assert_eq!(venue("", &heads(&[line])).as_deref(), Some(name), "{line}");
        }
    }

    #[test]
    fn servers_by_their_stamp_and_nothing_from_other_heads() {
        let h = heads(&["bioRxiv preprint doi: https://doi.org/10.1101/2021.05.12.443709"]);
        assert_eq!(venue("", &h).as_deref(), Some("bioRxiv"));
        assert_eq!(
            venue("arXiv:0908.0054v1 [hep-ph] 1 Sep 2009", &[]).as_deref(),
            Some("arXiv")
        );
        assert_eq!(
            venue(
                "",
                &heads(&["Page 3 of 10", "Chromatin state barriers… Blanco et al."])
            ),
            None
        );
    }
}
