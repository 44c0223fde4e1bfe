//! People's names: an author as PDFs write one ("Surname, Given", "Given Surname" with its
//! particles), an author list as XMP and Info strings hold it, and the checks that tell a list
//! of people from a file's account, a publisher or a template's placeholder.

use serde::{Deserialize, Serialize};

/// One author, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// The surname.
    pub family: String,
    /// Given names or initials, where known.
    pub given: String,
}

impl Author {
    /// Splits a name as PDFs write it: "Surname, Given" or "Given Surname".
    pub fn parse(name: &str) -> Option<Author> {
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let name = name.trim_matches(|c: char| c == ',' || c == ';' || c.is_whitespace());
        if name.is_empty() || name.chars().count() > 100 || !name.chars().any(char::is_alphabetic) {
            return None;
        }
        if let Some((family, given)) = name.split_once(',') {
            return Some(Author {
                family: family.trim().to_string(),
                given: given.trim().to_string(),
            });
        }
        // "Given Family", the family taking its particles ("Ivo van Stokkum") and a suffix
        // ("Frederick Gmitter Jr.").
        const PARTICLES: [&str; 22] = [
            "van", "von", "de", "der", "den", "del", "della", "da", "di", "du", "la", "le", "ten",
            "ter", "dos", "das", "el", "El", "al", "Al", "bin", "ibn",
        ];
        const SUFFIXES: [&str; 6] = ["Jr.", "Jr", "Sr.", "Sr", "II", "III"];
        let words: Vec<&str> = name.split(' ').collect();
        // An organisation as an author ("Centers for Disease Control and Prevention"): its
        // whole name, where it joins its words with "for", "of", "and", "on" or "the".
        if words.len() >= 3
            && words[1..]
                .iter()
                .any(|w| ["for", "of", "and", "on", "the"].contains(w))
        {
            return Some(Author {
                family: name.to_string(),
                given: String::new(),
            });
        }
        let mut start = words.len() - 1;
        if start >= 2 && SUFFIXES.contains(&words[start]) {
            start -= 1;
        }
        while start >= 2 && PARTICLES.contains(&words[start - 1]) {
            start -= 1;
        }
        // A Spanish name carries two surnames, the father's first: a patronymic in -ez before
        // the last word is the first of them ("Ivan Rodriguez Montoya"), not a given name.
        if start >= 2 && start == words.len() - 1 && patronymic(words[start - 1]) {
            start -= 1;
        }
        Some(Author {
            family: words[start..].join(" "),
            given: words[..start].join(" "),
        })
    }
}

/// Parses a list of names, read as Vancouver writes them ("Alabsi S, Darrag AM": the surname,
/// then the initials run together) where the whole list is written so, else one by one
/// ([`Author::parse`]).
pub(super) fn parse_list<S: AsRef<str>>(names: &[S]) -> Vec<Author> {
    let names: Vec<String> = names.iter().map(|n| without_titles(n.as_ref())).collect();
    let vancouver = initials_last(&names);
    names
        .iter()
        .filter_map(|n| {
            let n = n.as_str();
            match (vancouver, n.trim().rsplit_once(' ')) {
                (true, Some((family, initials))) => Some(Author {
                    family: family.trim().to_string(),
                    given: initials.to_string(),
                }),
                _ => Author::parse(n),
            }
        })
        .collect()
}

/// A name without the titles a file's creator field puts around it: "Prof" and the like
/// before it, degrees after it ("Prof Heidi van Rooyen PhD", "Ruanne V Barnabas MBChB"),
/// where two words of the name are left.
fn without_titles(name: &str) -> String {
    const HONORIFICS: [&str; 9] = [
        "Prof",
        "Prof.",
        "Professor",
        "Dr",
        "Dr.",
        "Mr",
        "Mrs",
        "Ms",
        "Assoc.",
    ];
    let mut words: Vec<&str> = name.split_whitespace().collect();
    while words.len() > 2 && HONORIFICS.contains(&words[0]) {
        words.remove(0);
    }
    while words.len() > 2
        && words
            .last()
            .is_some_and(|w| super::byline::is_credential(w.trim_end_matches(',')))
    {
        words.pop();
    }
    // A comma left before a dropped degree ("Jane Doe, MD") is not a "Surname, Given" comma.
    let joined = words.join(" ");
    if name.contains(',') && !joined.contains(',') {
        return joined;
    }
    joined.trim_end_matches(',').to_string()
}

/// Whether every name of a list ends in its initials run together without dots ("Smith JA"),
/// after a surname that is not initials itself. One of them at least must be a lone letter
/// or letters without a vowel ("S", "KL"): "Jun MA, Wei LI" is two given names before two
/// surnames set in capitals.
fn initials_last<S: AsRef<str>>(names: &[S]) -> bool {
    let initials =
        |w: &str| (1..=3).contains(&w.chars().count()) && w.chars().all(|c| c.is_ascii_uppercase());
    let mut unpronounceable = false;
    let all = names.iter().all(|n| {
        let words: Vec<&str> = n.as_ref().split_whitespace().collect();
        let Some((last, rest)) = words.split_last() else {
            return false;
        };
        if !initials(last) || rest.is_empty() || rest.iter().any(|w| initials(w)) {
            return false;
        }
        unpronounceable |= last.len() == 1 || !last.contains(['A', 'E', 'I', 'O', 'U', 'Y']);
        true
    });
    !names.is_empty() && all && unpronounceable
}

/// A Spanish patronymic surname: capitalised, ending in "-ez" ("Fernandez", "Rodríguez").
fn patronymic(word: &str) -> bool {
    word.chars().count() >= 5
        && word.chars().next().is_some_and(char::is_uppercase)
        && word.chars().all(char::is_alphabetic)
        && word.ends_with("ez")
}

/// Splits an author list: on `;`, on " and ", and on `,` where no name holds a comma of its
/// own ("Smith J, Jones K" rather than "Smith, John").
pub(super) fn split_names(list: &str) -> Vec<String> {
    let list = list.replace(" and ", ";").replace(" & ", ";");
    let parts: Vec<&str> = list.split(';').collect();
    // "Smith J, Jones K, Lee M", or full names ("Krzysztof Bolejko, Lars Andersson"), not
    // "Van Orden, J. W." (a surname, then initials).
    let full_name = |p: &str| {
        let words: Vec<&str> = p.split_whitespace().collect();
        let long =
            |w: &&str| w.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !w.ends_with('.');
        words.len() >= 2 && words.first().is_some_and(long) && words.last().is_some_and(long)
    };
    let commas = list.matches(',').count();
    // Full names between commas, the last after "and": "Carlotta Biagi, Alessandro Rocca
    // and Marcello Lanari".
    let comma_lists = parts.len() == 1
        && (commas >= 2 || (commas == 1 && list.split(',').all(full_name)))
        || commas >= 1 && parts.iter().all(|p| p.split(',').all(full_name));
    parts
        .iter()
        .flat_map(|p| {
            if comma_lists {
                p.split(',').map(str::trim).collect::<Vec<_>>()
            } else {
                vec![p.trim()]
            }
        })
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether the first author's surname is printed on the first two pages (a page without text
/// cannot tell, and does not refuse). Compared on the longest run of plain letters of the
/// surname, so that an accent drawn apart ("Lindstro¨m") still matches, and without spaces,
/// so that letters set apart by kerning ("Grüsc ho w") do too.
pub(super) fn printed_name(authors: &[Author], pages: &[String]) -> bool {
    let text: String = pages
        .iter()
        .take(2)
        .flat_map(|p| p.chars())
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if text.trim().is_empty() {
        return true;
    }
    let Some(first) = authors.first() else {
        return false;
    };
    let family = first.family.to_lowercase();
    let core = family
        .split(|c: char| !c.is_ascii_alphabetic())
        .max_by_key(|w| w.len())
        .unwrap_or_default();
    core.len() < 3 || text.contains(core)
}

/// Info authors that are a person's names, not the account that made the file.
pub(super) fn plausible_authors(authors: &[Author]) -> bool {
    // Accounts, tools and publishers: a publisher's tool writes its own name as the creator
    // ("Cambridge Journals"). Words that begin so ("Administrator", "Publishing"), and words
    // that are so whole (a "Press", never "Pressman").
    const BEGINS: [&str; 14] = [
        "admin",
        "microsoft",
        "adobe",
        "elsevier",
        "springer",
        "wiley",
        "publish",
        "journal",
        "associat",
        "societ",
        "institut",
        "universit",
        "committee",
        "organi",
    ];
    // "OPEN ACCESS" over a title is a label, not a person.
    const WHOLE: [&str; 10] = [
        "user", "owner", "author", "unknown", "press", "ltd", "inc", "ieee", "acm", "access",
    ];
    authors.iter().all(|a| {
        let name = format!("{} {}", a.given, a.family).to_lowercase();
        !name
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| BEGINS.iter().any(|n| word.starts_with(n)) || WHOLE.contains(&word))
            && !name.chars().any(|c| c.is_ascii_digit())
            // A surname starts with a capital (or a particle: "van Stokkum"), has two letters
            // or more and no markup: not "al.}", not an e-mail's "antons.jan-niklas".
            && a.family.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && !a.family.contains(['{', '}', '@', '\\'])
            && (a.family.chars().next().is_some_and(char::is_uppercase) || a.family.contains(' '))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_in_vancouver_style_reads_surname_first() {
        let families = |list: &[&str]| -> Vec<(String, String)> {
            parse_list(list)
                .into_iter()
                .map(|a| (a.family, a.given))
                .collect()
        };
        assert_eq!(
            families(&["Alabsi S", "Alhadainy HA", "Darrag AM"]),
            [("Alabsi", "S"), ("Alhadainy", "HA"), ("Darrag", "AM")]
                .map(|(f, g)| (f.to_string(), g.to_string()))
        );
        // Given names before surnames set in capitals, and ordinary names, stay as they are.
        assert_eq!(
            families(&["Jun MA", "Wei LI"]),
            [("MA", "Jun"), ("LI", "Wei")].map(|(f, g)| (f.to_string(), g.to_string()))
        );
        assert_eq!(families(&["Jane Doe", "Smith JA"])[0].0, "Doe");
    }

    #[test]
    fn names_split_both_ways() {
        assert_eq!(
            Author::parse("Smith, John A."),
            Some(Author {
                family: "Smith".into(),
                given: "John A.".into()
            })
        );
        assert_eq!(Author::parse("John A. Smith").unwrap().family, "Smith");
        assert_eq!(
            Author::parse("Ivo H. M. van Stokkum").unwrap().family,
            "van Stokkum"
        );
        assert_eq!(
            Author::parse("Frederick Gmitter Jr.").unwrap().family,
            "Gmitter Jr."
        );
        assert_eq!(Author::parse("Smith").unwrap().given, "");
        assert_eq!(Author::parse(" ; "), None);
        let names = split_names("Zeng, J.; Van Orden, J. W. and Roberts, W.");
        assert_eq!(names, ["Zeng, J.", "Van Orden, J. W.", "Roberts, W."]);
        assert_eq!(split_names("Smith J, Jones K, Lee M").len(), 3);
    }

    #[test]
    fn titles_around_names_in_a_files_creator_field_are_not_names() {
        let families = |names: &[&str]| -> Vec<(String, String)> {
            parse_list(names)
                .into_iter()
                .map(|a| (a.family, a.given))
                .collect()
        };
        assert_eq!(
            families(&[
                "Prof Heidi van Rooyen PhD",
                "Ruanne V Barnabas MBChB",
                "Torin T Schaafsma MSc"
            ]),
            [
                ("van Rooyen".to_string(), "Heidi".to_string()),
                ("Barnabas".to_string(), "Ruanne V".to_string()),
                ("Schaafsma".to_string(), "Torin T".to_string()),
            ]
        );
        // Two words stay two words: a surname that reads as a degree is kept ("Jun MA").
        assert_eq!(families(&["Jun MA"])[0].0, "MA");
        assert_eq!(families(&["Doe, Jane"])[0].0, "Doe");
        let list =
            split_names("Carlotta Biagi, Alessandro Rocca, Giulia Poletti and Marcello Lanari");
        assert_eq!(list.len(), 4, "{list:?}");
        assert_eq!(parse_list(&list)[0].family, "Biagi");
        assert!(!plausible_authors(&parse_list(&["OPEN ACCESS"])));
        let cdc = Author::parse("Centers for Disease Control and Prevention").unwrap();
        assert_eq!(
            (cdc.family.as_str(), cdc.given.as_str()),
            ("Centers for Disease Control and Prevention", "")
        );
    }

    #[test]
    fn accounts_are_not_authors() {
        let a = [Author::parse("Administrator").unwrap()];
        assert!(!plausible_authors(&a));
        let b = [Author::parse("Jane Doe").unwrap()];
        assert!(plausible_authors(&b));
        let c = [Author::parse("Cambridge Journals").unwrap()];
        assert!(!plausible_authors(&c));
        // A word that merely starts like one is a name still ("Pressman").
        let d = [Author::parse("Ann Pressman").unwrap()];
        assert!(plausible_authors(&d));
    }

    #[test]
    fn two_part_surnames_and_names_the_pages_print() {
        for (name, family) in [
            ("Ivan Rodriguez Montoya", "Rodriguez Montoya"),
            ("Michael El Beyrouthy", "El Beyrouthy"),
            ("Juan Carlos Martinez", "Martinez"),
        ] {
            assert_eq!(Author::parse(name).unwrap().family, family, "{name}");
        }
        let xmp = [Author::parse("Sabine Grüschow").unwrap()];
        // Letters set apart by kerning, an accent drawn apart: printed still.
        assert!(printed_name(&xmp, &["Sabine Grüsc ho w1".into()]));
        assert!(!printed_name(&xmp, &["Another paper by Jane Doe".into()]));
        // A page without text cannot tell.
        assert!(printed_name(&xmp, &[String::new()]));
        assert_eq!(
            split_names("Krzysztof Bolejko, Lars Andersson"),
            ["Krzysztof Bolejko", "Lars Andersson"]
        );
    }
}
