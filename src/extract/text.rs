//! A page's text made searchable: characters normalised (ligatures, soft hyphens, odd
//! spaces), running heads and page numbers taken out of the margins (kept apart for the
//! metadata reader), words broken across lines joined again.

use std::collections::{HashMap, HashSet};

pub(super) fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `max` bytes of `text` (all of it where shorter), cut back to a character boundary.
pub(crate) fn head_bytes(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Replaces typographic ligatures and invisible characters that break matching.
pub(crate) fn normalize_chars(s: &str) -> String {
    let restored;
    let s = if s.contains('\0') {
        restored = restore_unmapped(s);
        restored.as_str()
    } else {
        s
    };
    let accented;
    let s = if s.contains(SPACING_ACCENTS) {
        accented = place_accents(s);
        accented.as_str()
    } else {
        s
    };
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{FB00}' => out.push_str("ff"),
            '\u{FB01}' => out.push_str("fi"),
            '\u{FB02}' => out.push_str("fl"),
            '\u{FB03}' => out.push_str("ffi"),
            '\u{FB04}' => out.push_str("ffl"),
            '\u{FB05}' | '\u{FB06}' => out.push_str("st"),
            // Soft hyphens and zero-width characters only mark break opportunities.
            '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' => {}
            '\u{00A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' | '\t' | '\r' | '\u{000C}' => {
                out.push(' ')
            }
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// Accents TeX draws as glyphs of their own, apart from their letter: acute, diaeresis,
/// circumflex, tilde and caron before it, the cedilla after it ("Gr ´egory Mouni ´e",
/// "Franc¸ois"). The grave is left alone: TeX's opening quotes are grave accents.
const SPACING_ACCENTS: [char; 6] = [
    '\u{B4}', '\u{A8}', '\u{2C6}', '\u{2DC}', '\u{2C7}', '\u{B8}',
];

/// Each spacing accent and its letter as the one accented letter ("´e" as "é", "c¸" as "ç"),
/// where that letter exists. The space a reader puts before an accent drawn apart inside a
/// word ("Gr ´egory") goes too, where the letter is lower-case: words seldom start with an
/// accented small letter, and "d´Ecole" is rarer than "Andr ´e".
fn place_accents(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\u{B8}' {
            if let Some(with) = out.chars().last().and_then(|l| accented(l, c)) {
                out.pop();
                out.push(with);
                i += 1;
                continue;
            }
        } else if SPACING_ACCENTS.contains(&c) {
            if let Some(with) = chars.get(i + 1).and_then(|&l| accented(l, c)) {
                let inside_word = out.ends_with(' ')
                    && out.trim_end_matches(' ').len() + 1 == out.len()
                    && out
                        .trim_end()
                        .chars()
                        .last()
                        .is_some_and(char::is_alphabetic);
                if inside_word && with.is_lowercase() {
                    out.pop();
                }
                out.push(with);
                i += 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// `letter` with `accent` (a spacing accent), where Latin scripts have that letter.
fn accented(letter: char, accent: char) -> Option<char> {
    let (plain, marked) = match accent {
        '\u{B4}' => ("aeiouyAEIOUYcnszCNSZ\u{131}", "áéíóúýÁÉÍÓÚÝćńśźĆŃŚŹí"),
        '\u{A8}' => ("aeiouyAEIOUY\u{131}", "äëïöüÿÄËÏÖÜŸï"),
        '\u{2C6}' => ("aeiouAEIOU\u{131}", "âêîôûÂÊÎÔÛî"),
        '\u{2DC}' => ("anoANO", "ãñõÃÑÕ"),
        '\u{2C7}' => ("cszrenCSZREN", "čšžřěňČŠŽŘĚŇ"),
        '\u{B8}' => ("cstCST", "çşţÇŞŢ"),
        _ => return None,
    };
    let at = plain.chars().position(|p| p == letter)?;
    marked.chars().nth(at)
}

/// What a font without a Unicode map for some glyphs leaves as NUL: its ligatures ("In\0uenza",
/// "a\0er", "\0e") and, in some fonts, its spaces ("A\0Practical\0Primer", "P\0>\0.05").
/// Inside a word, the ligature the dictionary knows the word with ("Influenza", "after",
/// "The"), where Tesseract's dictionary is at hand, else nothing (as before); before a
/// capital, a digit or a sign, a space.
fn restore_unmapped(s: &str) -> String {
    // The ligatures fonts draw, the likeliest first; at a word's start "Th" ("The", "This",
    // "There") comes before "fi", which makes "fie" of "\0e".
    const INSIDE: [&str; 9] = ["fi", "ff", "fl", "ffi", "ffl", "ft", "tt", "st", "Th"];
    const START: [&str; 9] = ["Th", "fi", "fl", "ff", "ffi", "ffl", "ft", "st", "tt"];
    let mut out = String::with_capacity(s.len() + 16);
    // Word by word, each with the white space after it (a space or a line break) kept.
    for token in s.split_inclusive(char::is_whitespace) {
        let piece = token.trim_end_matches(char::is_whitespace);
        let space = &token[piece.len()..];
        if !piece.contains('\0') {
            out.push_str(token);
            continue;
        }
        let chars: Vec<char> = piece.chars().collect();
        // Where a NUL stands for a space, the word is cut there first.
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if c != '\0' {
                word.push(c);
                continue;
            }
            let before = i.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i + 1).copied();
            let letter_after = after.is_some_and(|a| a.is_alphabetic() && !a.is_uppercase());
            let letter_before = before.is_some_and(|b| b.is_alphabetic() || b == '\0');
            // A ligature starts a word ("\0e"), sits inside it ("a\0er") or ends it ("shi\0").
            if letter_after && (before.is_none() || letter_before)
                || after.is_none() && letter_before
            {
                word.push('\0');
            } else if before.is_some() && after.is_some() {
                word.push(' ');
            }
        }
        for part in word.split(' ') {
            if part.contains('\0') {
                out.push_str(&ligature(part, &INSIDE, &START));
            } else {
                out.push_str(part);
            }
            out.push(' ');
        }
        out.pop();
        out.push_str(space);
    }
    out
}

/// `word` with each NUL replaced by the ligature that makes a word the dictionary knows, or
/// dropped where none does (or no dictionary is at hand).
fn ligature(word: &str, inside: &[&str], start: &[&str]) -> String {
    let nuls = word.matches('\0').count();
    if nuls <= 2 {
        let at_start = word.starts_with('\0');
        let first: &[&str] = if at_start { start } else { inside };
        let second: &[&str] = if nuls == 2 { inside } else { &[""] };
        for a in first {
            for b in second {
                let candidate = word.replacen('\0', a, 1).replacen('\0', b, 1);
                // The word without what sticks to it: "Influenza," is looked up as "Influenza".
                let bare = candidate.trim_matches(|c: char| !c.is_alphabetic());
                match super::ocr::known_word(bare) {
                    Some(true) => return candidate,
                    Some(false) => {}
                    None => return word.replace('\0', ""),
                }
            }
        }
    }
    word.replace('\0', "")
}

/// A line's shape with digits blanked, so "Page 3" and "Page 4" count as the same running line.
pub(super) fn line_key(line: &str) -> String {
    line.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect::<String>()
        .to_lowercase()
}

pub(super) fn is_page_number(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    let rest = lower.strip_prefix("page").unwrap_or(&lower).trim();
    !rest.is_empty()
        && rest.len() <= 12
        && rest.chars().any(|c| c.is_ascii_digit())
        && rest
            .split(|c: char| c == '/' || c.is_whitespace())
            .all(|w| w.is_empty() || w == "of" || w.chars().all(|c| c.is_ascii_digit()))
}

/// How many lines at the top and bottom of a page may be running headers or footers.
const MARGIN_LINES: usize = 3;

/// Normalises every page of a document; see the module documentation.
pub fn normalize_pages(raw: &[String]) -> Vec<String> {
    split_running_heads(raw).0
}

/// The most running-head lines kept for the metadata reader, and the longest.
const MAX_RUNNING_HEADS: usize = 16;
const MAX_RUNNING_HEAD_CHARS: usize = 300;

/// [`normalize_pages`], and the distinct running-head lines it took out (page numbers aside).
pub fn split_running_heads(raw: &[String]) -> (Vec<String>, Vec<String>) {
    let pages: Vec<Vec<String>> = raw
        .iter()
        .map(|p| {
            normalize_chars(p)
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        })
        .collect();

    // Running heads alternate between odd and even pages, so a bit under half the pages
    // suffices; a long line needs a quarter: no sentence of a body repeats on a quarter of a
    // paper's pages, and a scan's heads are read a letter differently here and there, which
    // splits their count (WHO's 80-page guideline: its head read alike on 32 pages).
    let threshold = (pages.len() * 2 / 5).max(3);
    let long_threshold = (pages.len() / 4).max(3);
    let running = |key: &str, count: usize| {
        count >= threshold || (key.chars().count() >= LONG_HEAD && count >= long_threshold)
    };
    // Count each margin line's shape once per page; shapes on many pages are running heads.
    // A head found widens the margins past it, and the count is taken again: a preprint
    // server's three-line stamp fills the top margin and hides the paper's own head below it.
    let mut heads: HashSet<String> = HashSet::new();
    // Twice at most: each widening could reach further into a page of lines much alike.
    for _ in 0..2 {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for lines in &pages {
            let mut seen = HashSet::new();
            for i in margin_indices(lines, &heads) {
                let key = line_key(&lines[i]);
                if !key.is_empty() && seen.insert(key.clone()) {
                    *counts.entry(key).or_default() += 1;
                }
            }
        }
        let found: HashSet<String> = counts
            .into_iter()
            .filter(|(key, count)| running(key, *count))
            .map(|(key, _)| key)
            .collect();
        if found.is_subset(&heads) {
            break;
        }
        heads.extend(found);
    }

    let mut taken: Vec<String> = Vec::new();
    let pages = pages
        .iter()
        .map(|lines| {
            let margins = margin_indices(lines, &heads);
            let mut kept: Vec<&str> = Vec::with_capacity(lines.len());
            for (i, line) in lines.iter().enumerate() {
                let margin = margins.contains(&i);
                if margin && is_page_number(line) {
                    continue;
                }
                if margin && heads.contains(&line_key(line)) {
                    if taken.len() < MAX_RUNNING_HEADS
                        && line.chars().count() <= MAX_RUNNING_HEAD_CHARS
                        && !taken.contains(line)
                    {
                        taken.push(line.clone());
                    }
                    continue;
                }
                kept.push(line);
            }
            join_lines(&kept)
        })
        .collect();
    (pages, taken)
}

/// A line's shape at least this long is a long head (see [`split_running_heads`]).
const LONG_HEAD: usize = 30;

/// Indices of the first and last few non-empty lines of a page, where running heads (`heads`,
/// by [`line_key`]) and page numbers do not count against the few: the margin reaches past
/// them.
fn margin_indices(lines: &[String], heads: &HashSet<String>) -> Vec<usize> {
    let nonempty: Vec<usize> = (0..lines.len()).filter(|&i| !lines[i].is_empty()).collect();
    // On a short page the margins would swallow the body: only its first and last lines count.
    let long = nonempty.len() >= 4 * MARGIN_LINES;
    let margin = if long { MARGIN_LINES } else { 1 };
    // Nor does a short page's margin reach past anything.
    let passed =
        |i: usize| long && (is_page_number(&lines[i]) || heads.contains(&line_key(&lines[i])));
    let take = |order: &mut dyn Iterator<Item = usize>| {
        let mut out = Vec::new();
        let mut counted = 0;
        for i in order {
            if counted == margin {
                break;
            }
            if !passed(i) {
                counted += 1;
            }
            out.push(i);
        }
        out
    };
    let mut out = take(&mut nonempty.iter().copied());
    out.extend(take(&mut nonempty.iter().rev().copied()));
    out.sort_unstable();
    out.dedup();
    out
}

/// Joins a page's lines into prose: a word broken by a hyphen at a line end is rejoined, line
/// breaks become spaces, and blank lines become paragraph breaks.
pub(super) fn join_lines(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut pending_break = false;
    for line in lines {
        if line.is_empty() {
            pending_break = !out.is_empty();
            continue;
        }
        if out.is_empty() {
        } else if pending_break {
            out.push_str("\n\n");
        } else if ends_with_broken_word(&out) && line.starts_with(|c: char| c.is_lowercase()) {
            out.pop();
        } else {
            out.push(' ');
        }
        pending_break = false;
        out.push_str(line);
    }
    out
}

/// "inter-" at a line end followed by a lowercase word is a hyphenation, unless the hyphen follows
/// a digit or capital (IL-, COVID-), which marks a real compound.
pub(super) fn ends_with_broken_word(s: &str) -> bool {
    let mut rev = s.chars().rev();
    rev.next() == Some('-') && rev.next().is_some_and(|c| c.is_lowercase())
}

#[cfg(test)]
mod tests {
    #[test]
    fn accents_drawn_apart_join_their_letters() {
        assert_eq!(
            normalize_chars("Pierre-Franc\u{b8}ois Dutot, Gr \u{b4}egory Mouni \u{b4}e"),
            "Pierre-François Dutot, Grégory Mounié"
        );
        assert_eq!(
            normalize_chars("Schr\u{a8}odinger and \u{b4}Ecole"),
            "Schrödinger and École"
        );
        // A lone accent, or one before a letter that takes none, stays as it is.
        assert_eq!(
            normalize_chars("x \u{b4} 2 and \u{b4}q"),
            "x \u{b4} 2 and \u{b4}q"
        );
    }

    use super::{normalize_chars, split_running_heads};

    #[test]
    fn a_head_below_a_three_line_stamp_is_dropped_too() {
        // A preprint server's stamp fills the top margin's three lines; the paper's own head
        // is the fourth.
        let words = [
            "one", "two", "three", "four", "five", "six", "seven", "eight",
        ];
        let raw: Vec<String> = (1..=8)
            .map(|i| {
                let w = words[i - 1];
                format!(
                    "bioRxiv preprint doi: 10.1101/2021.05.12.443709; this version posted May 14\n\
                     was not certified by peer review) is the author/funder, who has granted\n\
                     available under aCC-BY-NC-ND 4.0 International license.\n\
                     Chromatin state barriers Blanco et al. 2021\n\
                     Body text of page {w} begins here.\n{w} two\n{w} three\n{w} four\n\
                     {w} five\n{w} six\n{w} seven\n{w} eight\nPage {i} of 8"
                )
            })
            .collect();
        let (pages, heads) = split_running_heads(&raw);
        assert_eq!(heads.len(), 4, "{heads:?}");
        for (page, w) in pages.iter().zip(words) {
            let start = format!("Body text of page {w} begins");
            assert!(page.starts_with(&start), "{page}");
            assert!(page.ends_with(&format!("{w} eight")), "{page}");
        }
    }

    #[test]
    fn a_long_head_read_alike_on_a_quarter_of_the_pages_is_dropped() {
        // A scan's head, read the same on 3 of 10 pages (under two in five) and a letter
        // apart on 2 others, which keep it.
        let head = "WHO recommendations: management of sickle-cell disease in pregnancy";
        let words = [
            "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
        ];
        let raw: Vec<String> = (0..10)
            .map(|i| {
                let top = match i {
                    1 | 4 | 7 => head.to_string(),
                    3 | 5 => head.replace("sickle", "sick1e"),
                    _ => format!("Summary of part {}", words[i % 8]),
                };
                let body: Vec<String> = words.iter().map(|w| format!("{w} of {i}")).collect();
                format!(
                    "{top}\nAbout page {}\n{}\n{i}",
                    words[i % 8],
                    body.join("\n")
                )
            })
            .collect();
        let (pages, heads) = split_running_heads(&raw);
        assert_eq!(heads, [head]);
        for (i, page) in pages.iter().enumerate() {
            let misread = [3, 5].contains(&i);
            assert_eq!(page.contains("recommendations"), misread, "{page}");
            assert!(page.contains("About page"), "{page}");
        }
    }

    #[test]
    fn glyphs_without_a_unicode_map_become_ligatures_or_spaces() {
        // Spaces drawn as unmapped glyphs, before capitals and signs, need no dictionary.
        assert_eq!(
            normalize_chars("A\0Practical\0Primer (P\0>\0.05)"),
            "A Practical Primer (P > .05)"
        );
        if super::super::ocr::known_word("after").is_none() {
            eprintln!("SKIPPED the ligatures: Tesseract's dictionary is not installed");
            assert_eq!(normalize_chars("a\0er"), "aer");
            return;
        }
        assert_eq!(
            normalize_chars("\0e In\0uenza di\0erence, con\0rmed a\0er the shi\0 \0is"),
            "The Influenza difference, confirmed after the shift This"
        );
        // A line break after the word stays where it was.
        assert_eq!(normalize_chars("In\0uenza\nvirus"), "Influenza\nvirus");
    }
}
