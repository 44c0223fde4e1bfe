//! The title as the first page sets it: the largest text near the top (over one or more lines
//! of that size), with its subtitle; the names under it are read in [`super::byline`].
//!
//! The text alone cannot tell a title broken over three lines from the title and the first
//! line of the abstract; the font sizes can.

use crate::extract::{PageLayout, StyledLine};

use super::byline::{clean, is_name_list, reads_as_name, strip_marks, NOT_NAMES};

/// Lines below this share of the page's height are not a title (a title sits in the top part
/// of the first page; below it, a large section heading may be).
const TITLE_ZONE: f64 = 0.6;
/// A first page of at most this many lines is a cover (see [`title_lines`]).
const COVER_LINES: usize = 25;
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
pub(super) fn same_size(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.6_f64.max(a.max(b) * 0.04)
}

/// The body text's size: the size most of the page's letters have.
fn body_size(lines: &[StyledLine]) -> f64 {
    body_size_by(lines, same_size)
}

/// The size most of the page's letters have, sizes that `same` says are one counted together.
fn body_size_by(lines: &[StyledLine], same: fn(f64, f64) -> bool) -> f64 {
    let mut weights: Vec<(f64, usize)> = Vec::new();
    for l in lines {
        let n = l.text.chars().filter(|c| c.is_alphabetic()).count();
        match weights.iter_mut().find(|(s, _)| same(*s, l.size)) {
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
pub(super) fn title_lines(page: &PageLayout) -> Option<(Vec<usize>, String)> {
    let lines = &page.lines[..page.lines.len().min(MAX_LINES)];
    let body = body_size(lines);
    let zone = if page.height > 0.0 {
        page.height * TITLE_ZONE
    } else {
        f64::INFINITY
    };
    // The sizes larger than the body's, largest first: the title is the largest text that
    // reads as a title (a banner or a journal's name may be larger still).
    // A cover page (a guideline's, a report's) has little text, most of its letters the
    // title's: there the title may be the body's size, and may sit anywhere on the page.
    // Its title is still set far larger than its smallest text (a publisher's line), or in
    // a display size (20 points and more) that no body text has.
    let cover = lines.len() <= COVER_LINES;
    let zone = if cover { f64::INFINITY } else { zone };
    let smallest = lines.iter().map(|l| l.size).fold(f64::INFINITY, f64::min);
    let mut sizes: Vec<f64> = lines
        .iter()
        .filter(|l| {
            l.top <= zone
                && (l.size > body + 0.5
                    || cover && l.size >= body && (l.size >= smallest * 1.5 || l.size >= 20.0))
        })
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
    // A title that ends on a colon announces its subtitle: on a cover page, where most letters
    // are the title's, the subtitle is no larger than the "body".
    let announced = title.ends_with(':');
    // A subtitle is set a little smaller than the title (16 points under 18); the authors'
    // names under a title are much smaller (12 under 17).
    if sub_size >= size
        || same_size(sub_size, size)
        || (sub_size <= body + 0.5 && !announced)
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
        && !section_banner(text)
}

/// A journal's section set large in capitals above the title ("RESEARCH METHODS &
/// REPORTING", "CLINICAL PRACTICE GUIDELINE"): a few words, no lower-case letter. A title set
/// in capitals is longer.
fn section_banner(text: &str) -> bool {
    text.split_whitespace().count() <= 4 && !text.chars().any(char::is_lowercase)
}

/// Whether a line holds a masthead's or a banner's words.
fn is_banner(text: &str) -> bool {
    let lower = text.to_lowercase();
    BANNER.iter().any(|b| lower.contains(b))
}

/// The title as the first page sets it, where it can be told by its size.
pub(super) fn title(page: &PageLayout) -> Option<String> {
    title_lines(page).map(|(_, t)| t)
}

/// Two sizes are one font size, not merely close ones (a scan's OCR layer sets a title at 9.3
/// points over a body at 9.8).
fn exactly_same_size(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.05
}

/// A title read from the text (its first title-like line, [`crate::extract`]'s guess where no
/// size told the title apart) completed with the lines below it that are set in its own size:
/// a size of its own, even one close to the body's, marks the title's lines, so a title broken
/// after a word that may end a title ("... for the General" / "Fifth-order Shallow Water-wave
/// Models") is read whole. Where the title is set in the body's size, nothing tells where it
/// ends, and it is left as it is.
pub(super) fn completed(page: &PageLayout, title: &str) -> Option<String> {
    let (start, end) = printed_at(page, title)?;
    let lines = &page.lines;
    let size = lines[end - 1].size;
    // The body's size told exactly: [`body_size`] puts 9.3 and 9.8 points in one style.
    let body = body_size_by(&lines[..lines.len().min(MAX_LINES)], exactly_same_size);
    if exactly_same_size(size, body)
        || !lines[start..end]
            .iter()
            .all(|l| exactly_same_size(l.size, size))
    {
        return None;
    }
    let mut taken: Vec<&StyledLine> = lines[start..end].iter().collect();
    for l in lines.iter().skip(end).take(3) {
        let previous = taken.last()?;
        let below = l.top - previous.top;
        let text = clean(&l.text);
        let text = text.trim();
        if !exactly_same_size(l.size, size)
            || !(0.0..size * 2.0).contains(&below)
            || text.is_empty()
            || is_banner(text)
            || is_name_list(text)
            || reads_as_name(&strip_marks(text))
        {
            break;
        }
        taken.push(l);
    }
    let whole = join(&taken);
    (taken.len() > end - start && reads_as_title(&whole)).then_some(whole)
}

/// The first page's lines that print `title` (the first run of them within the first twenty
/// lines that does): their range.
pub(super) fn printed_at(page: &PageLayout, title: &str) -> Option<(usize, usize)> {
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
                return Some((start, i + 1));
            }
            if !title.starts_with(&printed) {
                break;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::byline::authors;

    fn line(text: &str, size: f64, top: f64) -> StyledLine {
        StyledLine {
            text: text.into(),
            size,
            top,
            cells: Vec::new(),
        }
    }

    fn page(lines: Vec<StyledLine>) -> PageLayout {
        PageLayout {
            lines,
            height: 792.0,
        }
    }

    /// A body of `n` lines of prose in `size` points from `top` down.
    fn body(size: f64, top: f64, n: usize) -> Vec<StyledLine> {
        (0..n)
            .map(|i| {
                let text = "we investigate the generalized model which describes the waves";
                line(text, size, top + i as f64 * size * 1.2)
            })
            .collect()
    }

    #[test]
    fn a_title_in_a_size_of_its_own_reads_over_its_lines_even_near_the_bodys() {
        // An OCR layer's title at 9.3 points over a 9.8-point body, broken after "General";
        // a running head and an equation drawn after it but above its last line.
        let guess = "Exact Solitary-wave Solutions for the General";
        let mut lines = vec![
            line("272", 8.1, 34.6),
            line(guess, 9.3, 55.2),
            line("Fifth-order Shallow Water-wave Models", 9.3, 67.0),
            line("Notes", 8.1, 34.8),
            line("(tanh^): - 2 ^ ( 0 [ - 8 4 0 a", 9.8, 56.9),
            line("Woo-Pyo Hong and Young-Dae Jung''", 9.8, 85.2),
            line(
                "Department of Physics, Catholic University of Taegu",
                8.1,
                98.3,
            ),
        ];
        lines.extend(body(9.8, 234.5, 30));
        let zfn = page(lines);
        let whole =
            "Exact Solitary-wave Solutions for the General Fifth-order Shallow Water-wave Models";
        assert_eq!(title(&zfn), None);
        assert_eq!(completed(&zfn, guess).as_deref(), Some(whole));
        let names = authors(&zfn, Some(whole)).unwrap();
        let families: Vec<&str> = names.iter().map(|a| a.family.as_str()).collect();
        assert_eq!(families, ["Hong", "Jung"]);

        // Set in the body's own size, nothing tells where a title ends: left as it was.
        let mut lines = vec![
            line(guess, 9.8, 55.2),
            line("Fifth-order Shallow Water-wave Models", 9.8, 67.0),
        ];
        lines.extend(body(9.8, 234.5, 30));
        assert_eq!(completed(&page(lines), guess), None);
    }

    #[test]
    fn a_title_ending_on_a_colon_takes_its_subtitle_on_a_cover() {
        let cover = page(vec![
            line("WHO guidelines for clinical", 28.0, 639.0),
            line("management of arboviral diseases:", 28.0, 670.7),
            line("dengue, chikungunya, Zika and yellow fever", 26.0, 700.5),
        ]);
        assert_eq!(
            title(&cover).as_deref(),
            Some("WHO guidelines for clinical management of arboviral diseases: dengue, chikungunya, Zika and yellow fever")
        );
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
        // A section's name set large in capitals is not the title.
        let bmj = page(vec![
            line("RESEARCH METHODS & REPORTING", 20.0, 60.0),
            line("The tool for assessing risk of bias in trials", 16.0, 100.0),
            line(
                "Body text body text body text body text body text.",
                9.0,
                160.0,
            ),
            line(
                "Body text body text body text body text body text.",
                9.0,
                172.0,
            ),
        ]);
        assert_eq!(
            title(&bmj).as_deref(),
            Some("The tool for assessing risk of bias in trials")
        );
        // A cover page: the title holds most of its letters, low on the page.
        let cover = page(vec![
            line("WHO guidelines", 60.0, 400.0),
            line("for the treatment of", 60.0, 470.0),
            line("patients with cystic", 60.0, 540.0),
            line("echinococcosis", 60.0, 610.0),
            line("World Health Organization", 12.0, 760.0),
        ]);
        assert_eq!(
            title(&cover).as_deref(),
            Some("WHO guidelines for the treatment of patients with cystic echinococcosis")
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
                crate::metadata::byline::authors(&page, None)
            );
        }
    }
}
