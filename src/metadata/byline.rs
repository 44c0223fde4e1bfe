//! The authors as the first page prints them: the lines right under the title, in a size of
//! their own, read while every part reads as a person's name.

use crate::extract::{PageLayout, StyledLine};

use super::layout::{printed_at, same_size, title_lines};
use super::Author;

/// Words that name a place or a body, not a person: an affiliation line under the authors.
pub(super) const NOT_NAMES: [&str; 16] = [
    "university",
    "department",
    "institute",
    "hospital",
    "school",
    "college",
    "centre",
    "center",
    "faculty",
    "laboratory",
    "abstract",
    "received",
    "correspond",
    "email",
    "clinic",
    "division",
];

/// The authors as printed under the title: the lines right after it, in a size of their own,
/// cut at commas, "and" and "&", with affiliation marks (digits, stars, daggers) taken off.
/// Given only where every part reads as a person's name.
///
/// The title is found by its size, else (a title set no larger than the body) as the line or
/// lines that print `known_title`, the title read from the XMP or the Info dictionary.
pub(super) fn authors(page: &PageLayout, known_title: Option<&str>) -> Option<Vec<Author>> {
    let after = match title_lines(page) {
        Some((title, _)) => title.last()? + 1,
        None => printed_at(page, known_title?)?.1,
    };
    // Lines drawn after the title but set above its last line (a running head, a section's
    // name, an equation beside it) are not under it.
    let title_top = page.lines[after - 1].top;
    let under: Vec<StyledLine> = page.lines[after..]
        .iter()
        .filter(|l| l.top > title_top)
        .cloned()
        .collect();
    let lines = same_baseline(&under);
    let first = lines.first()?;
    // Line by line while the lines read as names: the affiliations (same size, often) end it.
    let mut accepted: Option<Vec<Author>> = None;
    let mut text = String::new();
    for l in lines.iter().take(6) {
        if !same_size(l.size, first.size) {
            break;
        }
        let (line, heading) =
            cut_at_heading(&clean(&cell_names(l).unwrap_or_else(|| l.text.clone())));
        let lower = line.to_lowercase();
        if NOT_NAMES.iter().any(|w| lower.contains(w)) || line.contains('@') {
            break;
        }
        let mut next = text.clone();
        // A name on a line of its own after names is one more of them, not the end of one.
        let one_more = accepted.is_some() && reads_as_name(&strip_marks(line.trim()));
        if one_more && !next.trim_end().ends_with(',') {
            next.push(',');
        }
        if !next.is_empty() && !next.ends_with('-') {
            next.push(' ');
        }
        next.push_str(line.trim());
        match names_in(&next) {
            Some(names) => {
                accepted = Some(names);
                text = next;
            }
            // A line broken inside a name ("Alexandre K." then "Dubé") reads on the next.
            None if next.trim_end().ends_with(',') || accepted.is_none() && !next.is_empty() => {
                text = next;
            }
            None => break,
        }
        if heading {
            break;
        }
    }
    accepted.filter(|a| !a.is_empty())
}

/// Authors printed in blocks of their own, side by side or one under another: each a name on
/// its line over its affiliation and its e-mail address (ACM's and IEEE's layouts: "Jan-Niklas
/// Antons" / "Quality and Usability Lab" / ... / "jan-niklas.antons@telekom.de"). A name
/// counts where an address within the next six lines is its own: the surname in the part
/// before the `@`. In the order the page draws them.
pub(super) fn contact_blocks(page: &PageLayout) -> Option<Vec<Author>> {
    let lines = &page.lines[..page.lines.len().min(120)];
    let mut found: Vec<Author> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let text = strip_marks(clean(&line.text).trim());
        if line.text.contains('@') || !reads_as_name(&text) || is_name_list(&text) {
            continue;
        }
        let Some(author) = Author::parse(&text) else {
            continue;
        };
        let own = lines.iter().skip(i + 1).take(6).any(|l| {
            l.text.split_whitespace().any(|w| {
                w.split_once('@').is_some_and(|(local, _)| {
                    mailbox_names(local, &author.family) || mailbox_initials(local, &author)
                })
            })
        });
        if own && !found.iter().any(|a| a == &author) {
            found.push(author);
        }
    }
    (!found.is_empty()).then_some(found)
}

/// Whether a mailbox's name starts with the person's initials, three or more ("gmd.eic" for
/// Greg M. Delgoffe).
fn mailbox_initials(local: &str, author: &Author) -> bool {
    let initials: String = author
        .given
        .split([' ', '-', '.'])
        .chain([author.family.as_str()])
        .filter_map(|w| w.chars().next())
        .flat_map(char::to_lowercase)
        .collect();
    let first = local.split(['.', '_', '-']).next().unwrap_or_default();
    initials.chars().count() >= 3 && first.to_lowercase() == initials
}

/// Whether a mailbox's name ("jan-niklas.antons", "sebastian.moeller") holds a surname of
/// three letters or more, its other letters aside. A letter outside ASCII stands for none to
/// two letters there ("Möller" as "moller", "moeller" or "mller").
fn mailbox_names(local: &str, family: &str) -> bool {
    let local: Vec<char> = local
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let family: Vec<char> = family
        .chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect();
    if family.iter().filter(|c| c.is_ascii()).count() < 3 {
        return false;
    }
    // at[j]: the family's letters so far can end just before local[j], the match having
    // started anywhere. One pass a letter, so a long name outside ASCII costs no more than
    // its length times the mailbox's.
    let mut at = vec![true; local.len() + 1];
    for c in &family {
        let mut next = vec![false; local.len() + 1];
        for j in 0..=local.len() {
            if !at[j] {
                continue;
            }
            if c.is_ascii() {
                if local.get(j) == Some(c) {
                    next[j + 1] = true;
                }
            } else {
                for n in 0..=2 {
                    if j + n <= local.len() {
                        next[j + n] = true;
                    }
                }
            }
        }
        at = next;
    }
    at.iter().any(|&end| end)
}

/// A line of names set apart in cells ("Dariusz R. Kowalski†    Eyal Nussbaum‡", drawn
/// with wide gaps and no commas) as a list: the cells joined with commas, where each reads
/// as a name.
fn cell_names(line: &StyledLine) -> Option<String> {
    if line.cells.is_empty() {
        return None;
    }
    let mut bounds = vec![0];
    bounds.extend(
        line.cells
            .iter()
            .copied()
            .filter(|&at| line.text.is_char_boundary(at)),
    );
    bounds.push(line.text.len());
    let cells: Vec<String> = bounds
        .windows(2)
        .map(|w| strip_marks(clean(&line.text[w[0]..w[1]]).trim()))
        .filter(|c| !c.is_empty())
        .collect();
    (cells.len() >= 2 && cells.iter().all(|c| reads_as_name(c))).then(|| cells.join(", "))
}

/// Lines drawn in pieces on one baseline (a name list whose superscript marks were set
/// apart: "M. Andrés Blanco" "1,19,*" ", David B. Sykes") joined into one, with the size of
/// the piece holding the most letters.
fn same_baseline(lines: &[StyledLine]) -> Vec<StyledLine> {
    let mut out: Vec<(StyledLine, usize)> = Vec::new();
    for l in lines.iter().take(200) {
        let letters = l.text.chars().filter(|c| c.is_alphabetic()).count();
        if let Some((last, most)) = out.last_mut() {
            if (l.top - last.top).abs() < last.size.max(l.size) * 0.5 {
                // Names set apart in a row ("Dariusz R. Kowalski†   Eyal Nussbaum‡") are a
                // list of names, not one long one.
                let apart = [last.text.rsplit(',').next().unwrap_or(""), l.text.as_str()]
                    .iter()
                    .all(|t| reads_as_name(&strip_marks(clean(t).trim())));
                last.text.push_str(if apart { ", " } else { " " });
                last.text.push_str(&l.text);
                if letters > *most {
                    last.size = l.size;
                    *most = letters;
                }
                continue;
            }
        }
        out.push((l.clone(), letters));
    }
    out.into_iter().map(|(l, _)| l).collect()
}

/// A line without affiliation marks: digits (also line numbers of a manuscript), stars,
/// daggers, superscripts.
pub(super) fn clean(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_digit()
                || "*†‡§¶#∗⁎".contains(c)
                || ('\u{2070}'..='\u{209f}').contains(&c)
            {
                ' '
            } else {
                c
            }
        })
        .collect();
    crate::extract::normalize_chars(&text)
}

/// The line up to a heading that follows the names on it ("... Pentelute Affiliations"), and
/// whether there was one.
fn cut_at_heading(line: &str) -> (String, bool) {
    const HEADINGS: [&str; 4] = ["Affiliations", "Affiliation", "Abstract", "Keywords"];
    let words: Vec<&str> = line.split_whitespace().collect();
    match words
        .iter()
        .position(|w| HEADINGS.contains(&w.trim_end_matches(':')))
    {
        Some(i) => (words[..i].join(" "), true),
        None => (line.to_string(), false),
    }
}

/// The names of a list of authors, where every part of it reads as one.
fn names_in(text: &str) -> Option<Vec<Author>> {
    // A double-barrelled name broken after its hyphen reads "Phillips- Cremins".
    let text = text.replace("- ", "-");
    let parts = name_parts(&text);
    // Affiliation letters after a name ("Jane Doe a,b") come out as one-letter parts.
    let parts: Vec<&String> = parts
        .iter()
        .filter(|p| !(p.chars().count() == 1 && p.chars().all(|c| c.is_lowercase())))
        .collect();
    if parts.is_empty() || parts.len() > 100 {
        return None;
    }
    let names: Vec<String> = parts
        .iter()
        .map(|p| strip_marks(p))
        .filter(|p| reads_as_name(p))
        .collect();
    // Every part must read as a name.
    if names.len() != parts.len() {
        return None;
    }
    let names = super::names::parse_list(&names);
    (names.len() == parts.len()).then_some(names)
}

/// What OCR reads superscript affiliation marks, daggers and stars as: never a name's first
/// or last letter.
const OCR_MARKS: [char; 14] = [
    '\'', '’', '‘', '"', '”', '“', '^', '?', '!', '°', '®', '~', '|', '=',
];

/// A name with a trailing affiliation letter taken off ("Jane Doe a" to "Jane Doe"), and
/// footnote marks typed as quotes ("Young-Dae Jung''": a name never ends in an apostrophe).
pub(super) fn strip_marks(part: &str) -> String {
    let part = part.trim_end().trim_end_matches(|c| OCR_MARKS.contains(&c));
    let words: Vec<&str> = part.split_whitespace().collect();
    let mark = |w: &str| w.chars().count() == 1 && w.chars().all(char::is_lowercase);
    let keep = match words.last() {
        Some(w) if words.len() > 2 && mark(w) => words.len() - 1,
        _ => words.len(),
    };
    // OCR reads a superscript on the line above as a line of its own, joined to the names
    // on its baseline: "t Carlotta Biagi".
    let skip = usize::from(keep > 2 && mark(words[0]));
    words[skip..keep].join(" ")
}

/// Two to five words, each capitalised or an initial (particles like "van", "de" aside).
pub(super) fn reads_as_name(part: &str) -> bool {
    const PARTICLES: [&str; 9] = ["van", "von", "de", "der", "den", "da", "di", "du", "la"];
    let words: Vec<&str> = part.split_whitespace().collect();
    (2..=5).contains(&words.len())
        && words.iter().all(|w| {
            PARTICLES.contains(w)
                || w.chars().next().is_some_and(char::is_uppercase)
                    && w.chars().all(|c| c.is_alphabetic() || ".-'’".contains(c))
                    // A double-barrelled name has capitals on both sides ("Jan-Niklas");
                    // "Fifth-order" and "Water-wave" are a title's words.
                    && !w
                        .split('-')
                        .skip(1)
                        .any(|p| p.chars().next().is_some_and(char::is_lowercase))
                    // A possessive is a place's name ("Shanghai No. 9 People's Hospital").
                    && !w.ends_with("'s")
                    && !w.ends_with("’s")
        })
        && words
            .iter()
            .any(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
}

/// Whether a line is a list of people's names (the authors, set as large as a title).
pub(super) fn is_name_list(text: &str) -> bool {
    let parts = name_parts(text);
    parts.len() >= 2 && parts.iter().all(|p| reads_as_name(&strip_marks(p)))
}

/// A line cut where names are separated: commas, "and", "&", semicolons; without the degrees
/// and memberships printed after the names ("Jane Doe, MD, PhD", "Ed Chang, Member, IEEE").
fn name_parts(text: &str) -> Vec<String> {
    let mut text = format!(" {text} ");
    // Names set apart by a rule, a middle dot or a bullet ("Lars Bendtsen · Steffen Birk";
    // OCR reads a dagger between names as "|").
    for separator in [" | ", " · ", " • ", " - ", " – "] {
        text = text.replace(separator, " , ");
    }
    let parts: Vec<String> = text
        .replace(", and ", ",")
        .replace(" and ", ",")
        .replace(" & ", ",")
        .replace(';', ",")
        .split(',')
        .map(|p| {
            // OCR's readings of affiliation marks around a name ("Castro-Pena,” Heta
            // Javeri", "Masuda “=, MD") are no part of it: a word of marks alone goes, and a
            // word's marks at its ends.
            p.split_whitespace()
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .map(|w| w.trim_matches(|c| OCR_MARKS.contains(&c)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|p| !p.is_empty())
        .collect();
    // A line set in capitals ("JUN MA, MD") tells a degree from a name by place alone.
    let capitals = !text.chars().any(char::is_lowercase);
    parts
        .into_iter()
        .filter(|p| {
            !p.split(' ')
                .all(|w| is_credential(w) || MEMBERSHIPS.contains(&w))
        })
        .map(|p| {
            let words: Vec<&str> = p.split(' ').collect();
            let mut keep = words.len();
            while keep > 2 && !capitals && is_credential(words[keep - 1]) {
                keep -= 1;
            }
            words[..keep].join(" ")
        })
        .collect()
}

/// The words of a learned society's grade printed after an author's name (IEEE's "Senior
/// Member, IEEE", "Fellow, IEEE").
const MEMBERSHIPS: [&str; 12] = [
    "Member", "Senior", "Fellow", "Student", "Life", "Graduate", "IEEE", "ACM", "SIAM", "OSA",
    "SPIE", "AAAS",
];

/// Whether a word is an academic or clinical degree or post-nominal ("MD", "Ph.D.", "MBChB",
/// "FRCP"): one of the usual ones, written with a dot or at least two capitals (so that the
/// surnames "Ma" and "Do" stay names).
pub(super) fn is_credential(word: &str) -> bool {
    const DEGREES: [&str; 64] = [
        "md", "phd", "mph", "msc", "ms", "bsc", "bs", "ba", "ma", "mba", "mbbs", "mbchb", "mb",
        "bch", "chb", "bchir", "frcp", "frcpc", "frcs", "frcsc", "frcpath", "frcog", "frcr",
        "frcpch", "frcpsych", "facp", "facc", "facs", "faha", "fesc", "fccp", "fasn", "fidsa",
        "fracp", "fracs", "mrcp", "mrcs", "mrcgp", "rn", "bsn", "msn", "dnp", "pharmd", "rph",
        "do", "dphil", "drph", "scd", "dsc", "dds", "dmd", "mhs", "mhsc", "msce", "mscr", "dpt",
        "jd", "psyd", "faap", "facog", "facep", "mmed", "mpharm", "bpharm",
    ];
    let bare: String = word
        .trim_end_matches([')', ','])
        .chars()
        .filter(|&c| c != '.')
        .collect();
    let capitals = bare.chars().filter(|c| c.is_uppercase()).count();
    (word.contains('.') || capitals >= 2)
        && bare.chars().all(|c| c.is_ascii_alphabetic())
        && DEGREES.contains(&bare.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn families(text: &str) -> Option<Vec<String>> {
        names_in(text).map(|n| n.into_iter().map(|a| a.family).collect())
    }

    fn at(text: &str, top: f64) -> StyledLine {
        StyledLine {
            text: text.into(),
            size: 8.5,
            top,
            cells: Vec::new(),
        }
    }

    #[test]
    fn names_ocr_read_with_their_marks_are_names() {
        let read = |line: &str| families(&clean(line));
        assert_eq!(
            read("Jose Cadena,'””~ Norys A. Castro-Pena,” Heta Javeri,” Brian Hernandez,’"),
            Some(vec![
                "Cadena".into(),
                "Castro-Pena".into(),
                "Javeri".into(),
                "Hernandez".into()
            ])
        );
        assert_eq!(
            read("Ahmed Salih’ | Aman Sutaria* | Zeinab Montaser® |"),
            Some(vec!["Salih".into(), "Sutaria".into(), "Montaser".into()])
        );
        assert_eq!(
            read("Masaharu Masuda “=, MD, PhD; Paulino Ramirez, PhD?”?, Wenyan Sun"),
            Some(vec!["Masuda".into(), "Ramirez".into(), "Sun".into()])
        );
        assert_eq!(
            read("Lars Bendtsen · Steffen Birk · Helge Kasch"),
            Some(vec!["Bendtsen".into(), "Birk".into(), "Kasch".into()])
        );
        // A name keeps its inner apostrophe; prose is still no list of names.
        assert_eq!(read("Aoife O'Farrell"), Some(vec!["O'Farrell".into()]));
        assert_eq!(read("the | patients were seen"), None);
        assert_eq!(read("\"Shanghai No.9 People’s"), None);
        assert_eq!(
            read("t Carlotta Biagi, Alessandro Rocca"),
            Some(vec!["Biagi".into(), "Rocca".into()])
        );
    }

    #[test]
    fn names_over_their_own_addresses_are_the_authors() {
        let block = |name: &str, mail: &str, top: f64| {
            vec![
                at(name, top),
                at("Quality and Usability Lab", top + 12.0),
                at("TU Berlin", top + 24.0),
                at("10587 Berlin, Germany", top + 36.0),
                at(mail, top + 48.0),
            ]
        };
        let mut lines = vec![at("Abstract", 200.0)];
        lines.extend(block(
            "Jan-Niklas Antons",
            "jan-niklas.antons@telekom.de",
            219.4,
        ));
        lines.extend(block(
            "Sebastian Möller",
            "sebastian.moeller@telekom.de",
            301.8,
        ));
        // Initials for a mailbox ("Email: gmd.eic.immunology@gmail.com").
        lines.extend(block(
            "Greg M. Delgoffe",
            "Email: gmd.eic.immunology@gmail.com",
            400.0,
        ));
        // A name over somebody else's address is not taken.
        lines.extend(block("Julia Seebode", "office@tu-berlin.de", 500.0));
        let page = PageLayout {
            lines,
            height: 792.0,
        };
        let found = contact_blocks(&page).unwrap();
        let families: Vec<&str> = found.iter().map(|a| a.family.as_str()).collect();
        assert_eq!(families, ["Antons", "Möller", "Delgoffe"]);
        assert!(mailbox_names("pfdutot", "Dutot") && mailbox_names("gregory.mounie", "Mounié"));
        assert!(!mailbox_names("info", "Li") && !mailbox_names("antons", "Arndt"));
        // A long name outside ASCII is looked for in one pass, not in every way it could match.
        let long = format!("{}xyz", "ж".repeat(60));
        assert!(!mailbox_names("abc.defghijklmnopqrstuvw", &long));
    }

    #[test]
    fn degrees_and_memberships_after_names_are_not_names() {
        assert_eq!(
            families("Jane Doe, MD, PhD, Rahul Mehta MBBS, FRCP, and Jun Ma, M.D."),
            Some(vec!["Doe".into(), "Mehta".into(), "Ma".into()])
        );
        assert_eq!(
            families("Ed Chang and Avideh Zakhor, Member, IEEE"),
            Some(vec!["Chang".into(), "Zakhor".into()])
        );
        // Surnames that are also degrees' letters stay names.
        assert_eq!(
            families("Wei Ma, Thi Do"),
            Some(vec!["Ma".into(), "Do".into()])
        );
        assert!(is_credential("Ph.D.") && is_credential("MBChB") && !is_credential("Ma"));
    }
}
