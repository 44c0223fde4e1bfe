//! A paper's title and the Info dictionary's strings: the Info title where it looks like a
//! real title (not "Microsoft Word - draft3.doc"), else the first page's first lines that read
//! as a title; Info strings decoded (UTF-16, PDFDocEncoding, HTML entities).

use super::{collapse_whitespace, normalize_chars};

pub(super) fn info_title(doc: &lopdf::Document) -> Option<String> {
    info_string(doc, b"Title")
}

/// A string of the Info dictionary (`Title`, `Author`...), decoded and with its white space
/// collapsed; `None` where it is absent, empty or not a string.
pub(crate) fn info_string(doc: &lopdf::Document, key: &[u8]) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let info = match info {
        lopdf::Object::Reference(id) => doc.get_dictionary(*id).ok()?,
        lopdf::Object::Dictionary(d) => d,
        _ => return None,
    };
    let value = match info.get(key).ok()? {
        lopdf::Object::String(bytes, _) => decode_pdf_string(bytes),
        lopdf::Object::Reference(id) => match doc.get_object(*id).ok()? {
            lopdf::Object::String(bytes, _) => decode_pdf_string(bytes),
            _ => return None,
        },
        _ => return None,
    };
    let value = collapse_whitespace(&decode_entities(&normalize_chars(&value)));
    (!value.is_empty()).then_some(value)
}

/// Some producers write HTML entities into the Info title (`&rsquo;`, `&#x02010;`).
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest[..rest.len().min(12)].find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "rsquo" | "lsquo" => Some('\''),
                "ndash" | "mdash" => Some('-'),
                e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                // U+2010 HYPHEN reads as a plain hyphen, so the title's terms stay searchable.
                out.push(if c == '\u{2010}' { '-' } else { c });
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes a PDF text string: UTF-16 with a byte-order mark, else PDFDocEncoding (Latin-1 here).
/// Bytes past ASCII that read as UTF-8 are taken as UTF-8: some producers write it without a
/// mark, and read as Latin-1 an author "Providência" became "ProvidÃªncia" in the record and in
/// every citation of the paper. Latin-1 text that is also valid UTF-8 needs a run such as "Ã"
/// and "ª" side by side, which no title or name holds.
fn decode_pdf_string(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0xFE, 0xFF]) {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(&bytes[3..]).into_owned()
    } else if let (false, Ok(text)) = (bytes.is_ascii(), std::str::from_utf8(bytes)) {
        text.to_string()
    } else {
        bytes.iter().map(|&b| b as char).collect()
    }
}

/// Producers often put a file name or a placeholder in the Info title; those are not titles.
pub(crate) fn plausible_title(title: &str) -> bool {
    let lower = title.to_lowercase();
    let words = title.split_whitespace().count();
    let junk = [
        ".pdf",
        ".doc",
        ".tex",
        ".dvi",
        "untitled",
        "microsoft word",
        "title",
        "manuscript",
    ];
    title.chars().count() >= 8
        && title.chars().count() <= 300
        && words >= 2
        && !junk
            .iter()
            .any(|j| lower.ends_with(j) || lower.starts_with(j))
        && title.chars().filter(|c| c.is_alphabetic()).count() * 2 > title.chars().count()
}

/// The first line of the first page that reads like a title: several words, mostly letters, and
/// none of the masthead words journals put above it.
pub(crate) fn first_page_title(page: &str) -> Option<String> {
    const MASTHEAD: [&str; 32] = [
        "doi",
        "http",
        "www.",
        "journal",
        "volume",
        "vol.",
        "issn",
        "©",
        "copyright",
        "received",
        "accepted",
        "published",
        "open access",
        "article",
        "research",
        "license",
        "licence",
        "arxiv",
        "preprint",
        "page",
        "citation",
        "press",
        "publishing",
        "permission",
        "rights",
        "corporation",
        "proceedings",
        "template",
        "university",
        "department",
        "abstract",
        "keywords",
    ];
    // A title broken over lines goes on while a line ends on a word that cannot end a title.
    const DANGLING: [&str; 14] = [
        "a", "an", "the", "of", "for", "in", "on", "to", "and", "with", "by", "from", "via", "at",
    ];
    let lines: Vec<String> = page
        .lines()
        .map(|l| collapse_whitespace(&normalize_chars(l)))
        .filter(|l| !l.is_empty())
        .take(25)
        .collect();
    let start = lines.iter().position(|line| {
        let lower = line.to_lowercase();
        let words = line.split_whitespace().count();
        let letters = line.chars().filter(|c| c.is_alphabetic()).count();
        (3..=40).contains(&words)
            && line.len() <= 250
            && letters * 10 >= line.chars().count() * 7
            && !line.ends_with(',')
            && !MASTHEAD.iter().any(|m| lower.contains(m))
    })?;
    let mut title = lines[start].clone();
    for next in &lines[start + 1..] {
        let last = title.rsplit(' ').next().unwrap_or("").to_lowercase();
        if title.len() + next.len() > 250 || !DANGLING.contains(&last.as_str()) {
            break;
        }
        title.push(' ');
        title.push_str(next);
    }
    Some(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_decode_entities_and_join_broken_lines() {
        assert_eq!(
            decode_entities("Apollo&rsquo;s COVID&#x02010;19 &amp; more"),
            "Apollo's COVID-19 & more"
        );
        let page = "Journal of Things\nUnderstanding the barriers to setting up a\nhealthcare quality programme\nJ. Smith,";
        assert_eq!(
            first_page_title(page).as_deref(),
            Some("Understanding the barriers to setting up a healthcare quality programme")
        );
    }

    #[test]
    fn an_info_string_in_utf8_without_a_mark_is_read_as_utf8() {
        assert_eq!(decode_pdf_string("Providência".as_bytes()), "Providência");
        // Latin-1 that is not UTF-8 stays Latin-1; ASCII is ASCII either way.
        assert_eq!(decode_pdf_string(b"Provid\xeancia"), "Providência");
        assert_eq!(decode_pdf_string(b"Smith J"), "Smith J");
    }

    #[test]
    fn titles_from_info_are_checked() {
        assert!(plausible_title("Interleukin-6 blockade in sepsis"));
        assert!(!plausible_title("Microsoft Word - draft3.doc"));
        assert!(!plausible_title("untitled"));
    }
}
