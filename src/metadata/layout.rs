//! The title and the authors as the first page sets them: the title is the largest text near
//! the top (over one or more lines of that size), the authors the line or two below it.
//!
//! The text alone cannot tell a title broken over three lines from the title and the first
//! line of the abstract; the font sizes can.

use crate::extract::{PageLayout, StyledLine};

use super::Author;

/// Lines below this share of the page's height are not a title (a title sits in the top part
/// of the first page; below it, a large section heading may be).
const TITLE_ZONE: f64 = 0.6;
/// How many of the first page's lines are looked at.
const MAX_LINES: usize = 80;

/// Words of mastheads and banners set large above a title ("RESEARCH ARTICLE", the journal's
/// name), never of a title itself.
const BANNER: [&str; 20] = [
    "journal",
    "volume",
    "vol.",
    "issn",
    "doi",
    "http",
    "www.",
    "copyright",
    "©",
    "received",
    "accepted",
    "published",
    "open access",
    "research article",
    "original article",
    "review article",
    "licen",
    "arxiv",
    "preprint",
    "proceedings",
];

/// Two sizes are the same style when they differ by less than this many points, or this
/// share of the larger.
fn same_size(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.6_f64.max(a.max(b) * 0.04)
}

/// The body text's size: the size most of the page's letters have.
fn body_size(lines: &[StyledLine]) -> f64 {
    let mut weights: Vec<(f64, usize)> = Vec::new();
    for l in lines {
        let n = l.text.chars().filter(|c| c.is_alphabetic()).count();
        match weights.iter_mut().find(|(s, _)| same_size(*s, l.size)) {
            Some(w) => w.1 += n,
            None => weights.push((l.size, n)),
        }
    }
    weights.iter().max_by_key(|w| w.1).map_or(0.0, |w| w.0)
}

/// Lines joined as a title reads: a line ending on a hyphen goes on without a space.
fn join(lines: &[&StyledLine]) -> String {
    let mut out = String::new();
    for l in lines {
        let text = crate::extract::normalize_chars(&l.text);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !out.is_empty() && !out.ends_with('-') {
            out.push(' ');
        }
        out.push_str(&text);
    }
    out
}

/// Where the title is among the first page's lines (their indices), and its text.
fn title_lines(page: &PageLayout) -> Option<(Vec<usize>, String)> {
    let lines = &page.lines[..page.lines.len().min(MAX_LINES)];
    let body = body_size(lines);
    let zone = if page.height > 0.0 {
        page.height * TITLE_ZONE
    } else {
        f64::INFINITY
    };
    // The sizes larger than the body's, largest first: the title is the largest text that
    // reads as a title (a banner or a journal's name may be larger still).
    let mut sizes: Vec<f64> = lines
        .iter()
        .filter(|l| l.top <= zone && l.size > body + 0.5)
        .map(|l| l.size)
        .collect();
    sizes.sort_by(|a, b| b.total_cmp(a));
    sizes.dedup_by(|a, b| same_size(*a, *b));
    for size in sizes.into_iter().take(4) {
        // Runs of consecutive lines of this size.
        let mut i = 0;
        while i < lines.len() {
            if !(same_size(lines[i].size, size) && lines[i].top <= zone) {
                i += 1;
                continue;
            }
            let start = i;
            while i < lines.len()
                && same_size(lines[i].size, size)
                && (i == start || (lines[i].top - lines[i - 1].top).abs() < size * 2.5)
            {
                i += 1;
            }
            // A banner set in the title's size just above it ("Research Article") is not
            // part of it: the run is read again without its leading banner lines.
            for first in start..i {
                let run: Vec<&StyledLine> = lines[first..i].iter().collect();
                let title = join(&run);
                if reads_as_title(&title) {
                    return Some(with_subtitle(lines, first..i, title, size, body));
                }
                if !is_banner(&lines[first].text) {
                    break;
                }
            }
        }
    }
    None
}

/// The title with its subtitle: the lines right under it in a size of their own, smaller
/// than the title's and larger than the body's ("Results From an International, Multicenter
/// Cohort Study"), which are not a name, a list of names or a banner. Joined with a colon, as
/// the title is cited.
fn with_subtitle(
    lines: &[StyledLine],
    run: std::ops::Range<usize>,
    mut title: String,
    size: f64,
    body: f64,
) -> (Vec<usize>, String) {
    let mut taken: Vec<usize> = run.collect();
    let Some(&last) = taken.last() else {
        return (taken, title);
    };
    let Some(next) = lines.get(last + 1) else {
        return (taken, title);
    };
    let sub_size = next.size;
    // A subtitle is set a little smaller than the title (16 points under 18); the authors'
    // names under a title are much smaller (12 under 17).
    if sub_size >= size
        || same_size(sub_size, size)
        || sub_size <= body + 0.5
        || sub_size < size * 0.8
    {
        return (taken, title);
    }
    let mut sub: Vec<&StyledLine> = Vec::new();
    let mut previous = &lines[last];
    for (i, l) in lines.iter().enumerate().skip(last + 1).take(3) {
        let close = (l.top - previous.top).abs() < size * 2.0;
        if !(same_size(l.size, sub_size) && close) {
            break;
        }
        let text = clean(&l.text);
        let text = text.trim();
        if text.split_whitespace().count() < 2
            || is_banner(text)
            || is_name_list(text)
            || reads_as_name(&strip_marks(text))
            || text
                .to_lowercase()
                .split(|c: char| !c.is_alphabetic())
                .any(|w| NOT_NAMES.contains(&w))
        {
            break;
        }
        sub.push(l);
        taken.push(i);
        previous = l;
    }
    let subtitle = join(&sub);
    if subtitle.split_whitespace().count() >= 3 {
        if !title.ends_with([':', '?', '.', '!']) {
            title.push(':');
        }
        title.push(' ');
        title.push_str(&subtitle);
    } else {
        taken.truncate(taken.len() - sub.len());
    }
    (taken, title)
}

/// Whether set-large text reads as a paper's title, not a banner.
fn reads_as_title(text: &str) -> bool {
    let words = text.split_whitespace().count();
    (3..=60).contains(&words)
        && crate::extract::plausible_title(text)
        && !is_banner(text)
        && !is_name_list(text)
}

/// Whether a line holds a masthead's or a banner's words.
fn is_banner(text: &str) -> bool {
    let lower = text.to_lowercase();
    BANNER.iter().any(|b| lower.contains(b))
}

/// Whether a line is a list of people's names (the authors, set as large as a title).
fn is_name_list(text: &str) -> bool {
    let parts = name_parts(text);
    parts.len() >= 2 && parts.iter().all(|p| reads_as_name(&strip_marks(p)))
}

/// A line cut where names are separated: commas, "and", "&", semicolons.
fn name_parts(text: &str) -> Vec<String> {
    text.replace(", and ", ",")
        .replace(" and ", ",")
        .replace(" & ", ",")
        .replace(';', ",")
        .split(',')
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// The title as the first page sets it, where it can be told by its size.
pub(super) fn title(page: &PageLayout) -> Option<String> {
    title_lines(page).map(|(_, t)| t)
}

/// Words that name a place or a body, not a person: an affiliation line under the authors.
const NOT_NAMES: [&str; 16] = [
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
        None => after_printed(page, known_title?)?,
    };
    let lines = same_baseline(&page.lines[after..]);
    let first = lines.first()?;
    // Line by line while the lines read as names: the affiliations (same size, often) end it.
    let mut accepted: Option<Vec<Author>> = None;
    let mut text = String::new();
    for l in lines.iter().take(6) {
        if !same_size(l.size, first.size) {
            break;
        }
        let (line, heading) = cut_at_heading(&clean(&l.text));
        let lower = line.to_lowercase();
        if NOT_NAMES.iter().any(|w| lower.contains(w)) || line.contains('@') {
            break;
        }
        let mut next = text.clone();
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

/// The index of the line after the lines that print `title` (the first of them within the
/// first twenty lines), where the page prints it.
fn after_printed(page: &PageLayout, title: &str) -> Option<usize> {
    let title = super::eval::normalize(title);
    let lines = &page.lines[..page.lines.len().min(20)];
    for start in 0..lines.len() {
        let mut printed = String::new();
        for (i, line) in lines.iter().enumerate().skip(start) {
            let text = super::eval::normalize(&line.text);
            if text.is_empty() {
                break;
            }
            if !printed.is_empty() {
                printed.push(' ');
            }
            printed.push_str(&text);
            if printed == title {
                return Some(i + 1);
            }
            if !title.starts_with(&printed) {
                break;
            }
        }
    }
    None
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
                last.text.push(' ');
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
fn clean(text: &str) -> String {
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
    let names: Vec<Author> = parts
        .iter()
        .map(|p| strip_marks(p))
        .filter(|p| reads_as_name(p))
        .filter_map(|p| Author::parse(&p))
        .collect();
    (names.len() == parts.len()).then_some(names)
}

/// A name with a trailing affiliation letter taken off ("Jane Doe a" to "Jane Doe").
fn strip_marks(part: &str) -> String {
    let words: Vec<&str> = part.split_whitespace().collect();
    let keep = match words.last() {
        Some(w)
            if words.len() > 2 && w.chars().count() == 1 && w.chars().all(char::is_lowercase) =>
        {
            words.len() - 1
        }
        _ => words.len(),
    };
    words[..keep].join(" ")
}

/// Two to five words, each capitalised or an initial (particles like "van", "de" aside).
fn reads_as_name(part: &str) -> bool {
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
        })
        && words
            .iter()
            .any(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, size: f64, top: f64) -> StyledLine {
        StyledLine {
            text: text.into(),
            size,
            top,
        }
    }

    fn page(lines: Vec<StyledLine>) -> PageLayout {
        PageLayout {
            lines,
            height: 792.0,
        }
    }

    #[test]
    fn the_title_is_the_largest_text_over_its_lines_and_the_authors_follow() {
        let p = page(vec![
            line("RESEARCH ARTICLE", 20.0, 40.0),
            line("Iron deficiency anaemia can be improved after", 16.0, 80.0),
            line("eradication of Helicobacter pylori", 16.0, 98.0),
            line("Xiaolu Huang1, Xinhua Qu2* and Weili Yan1", 11.0, 125.0),
            line("1 Department of Medicine, Some University", 8.0, 140.0),
            line(
                "Background: body text of the abstract goes here and on.",
                9.5,
                170.0,
            ),
            line(
                "More body text of the abstract, long enough to be the body.",
                9.5,
                182.0,
            ),
            line(
                "Even more body text so that the body size is this one.",
                9.5,
                194.0,
            ),
        ]);
        assert_eq!(
            title(&p).as_deref(),
            Some(
                "Iron deficiency anaemia can be improved after eradication of Helicobacter pylori"
            )
        );
        let names = authors(&p, None).unwrap();
        let families: Vec<&str> = names.iter().map(|a| a.family.as_str()).collect();
        assert_eq!(families, ["Huang", "Qu", "Yan"]);
        assert_eq!(names[1].given, "Xinhua");
    }

    #[test]
    fn no_larger_text_no_title_and_affiliations_are_not_authors() {
        let flat = page(vec![
            line("A paper set all in one size throughout", 10.0, 50.0),
            line("with nothing larger than its body text", 10.0, 62.0),
        ]);
        assert_eq!(title(&flat), None);
        let p = page(vec![
            line(
                "A study of sepsis in adults admitted to hospital",
                18.0,
                60.0,
            ),
            line(
                "Department of Medicine, University of Somewhere",
                10.0,
                90.0,
            ),
            line(
                "Body text body text body text body text body text.",
                9.0,
                120.0,
            ),
            line(
                "Body text body text body text body text body text.",
                9.0,
                132.0,
            ),
        ]);
        assert!(title(&p).is_some());
        assert_eq!(authors(&p, None), None);
    }

    #[test]
    fn a_banner_in_the_titles_size_and_names_drawn_in_pieces() {
        let p = page(vec![
            line("Research Article", 17.9, 148.6),
            line(
                "Patient Experiences of Structured Heart Failure",
                17.9,
                172.5,
            ),
            line("M. Andrés Blanco", 12.0, 206.3),
            line("1,19,*, David B. Sykes", 7.0, 202.4),
            line(", and Yang Shi", 12.0, 202.4),
            line("1 Department of Medicine, Some University", 9.0, 240.0),
            line(
                "Body text body text body text body text body text.",
                9.0,
                260.0,
            ),
        ]);
        assert_eq!(
            title(&p).as_deref(),
            Some("Patient Experiences of Structured Heart Failure")
        );
        let families: Vec<String> = authors(&p, None)
            .unwrap()
            .into_iter()
            .map(|a| a.family)
            .collect();
        assert_eq!(families, ["Blanco", "Sykes", "Shi"]);
        // A subtitle in a size between the title's and the body's joins the title.
        let sub = page(vec![
            line("Left Ventricular Unloading Is Associated With", 18.0, 140.0),
            line("Lower Mortality in Cardiogenic Shock", 18.0, 160.0),
            line(
                "Results From an International, Multicenter Cohort Study",
                16.0,
                184.0,
            ),
            line("Jane Doe, MD; John Roe, PhD", 11.0, 210.0),
            line(
                "Body text body text body text body text body text.",
                9.0,
                260.0,
            ),
            line(
                "Body text body text body text body text body text.",
                9.0,
                272.0,
            ),
        ]);
        assert_eq!(
            title(&sub).as_deref(),
            Some(
                "Left Ventricular Unloading Is Associated With Lower Mortality in Cardiogenic \
                 Shock: Results From an International, Multicenter Cohort Study"
            )
        );
        // A title no larger than the body is found by the title the file names.
        let flat = page(vec![
            line("A study of sepsis in adults", 10.0, 60.0),
            line("admitted to hospital", 10.0, 72.0),
            line("Jane Doe, John Roe", 10.0, 90.0),
            line(
                "Department of Medicine, University of Somewhere",
                10.0,
                100.0,
            ),
        ]);
        assert_eq!(title(&flat), None);
        let named = authors(
            &flat,
            Some("A Study of Sepsis in Adults Admitted to Hospital"),
        );
        assert_eq!(named.map(|a| a.len()), Some(2));
    }
}

#[cfg(test)]
mod dump {
    /// `MEDSHELF_DUMP_LAYOUT=file.pdf cargo test --lib dump_layout -- --ignored --nocapture`
    /// prints a first page's lines with their sizes: how the rules above were looked at.
    #[test]
    #[ignore]
    fn dump_layout() {
        let Ok(path) = std::env::var("MEDSHELF_DUMP_LAYOUT") else {
            return;
        };
        for path in path.split(':') {
            let bytes = std::fs::read(path).unwrap();
            let doc = lopdf::Document::load_mem(&bytes).unwrap();
            let mut page = crate::extract::layout_of_first_page(&doc);
            page.lines.truncate(40);
            println!("== {path} (height {})", page.height);
            for l in &page.lines {
                println!("{:5.1} {:6.1}  {}", l.size, l.top, l.text);
            }
            println!(
                "title: {:?}\nauthors: {:?}",
                super::title(&page),
                super::authors(&page, None)
            );
        }
    }
}
