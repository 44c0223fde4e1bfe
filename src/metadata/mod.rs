//! A paper's bibliographic record, read offline from the PDF itself: its XMP packet, its Info
//! dictionary where that looks real, and patterns in the first pages' text.
//!
//! Every field keeps where it came from ([`Source`]), because sources differ in trust: XMP is
//! written by publishers' tools, the Info dictionary as often by a word processor ("Microsoft
//! Word - draft3.docx"), and the first page's text needs guessing. A DOI is given only when it
//! is certain ([`doi`]): a wrong DOI sends a clinician to another paper.

use std::path::Path;

use serde::{Deserialize, Serialize};

mod abstracts;
mod byline;
mod doi;
mod edit;
pub mod eval;
mod layout;
mod names;
mod record;
mod venue;
mod xmp;

pub use doi::{doi_in_pages, normalize_doi};
pub use edit::{Edit, EditError};
pub use names::Author;
use names::{plausible_authors, printed_name, split_names};
pub use record::{Record, FIELDS, READER};

/// Where a field's value came from, most trusted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A correction the user made: it always wins.
    User,
    /// Zotero's record of the item.
    Zotero,
    /// The PDF's XMP packet (`dc:title`, `prism:doi`, ...).
    Xmp,
    /// The PDF's Info dictionary.
    Info,
    /// The first page's layout.
    Layout,
    /// A pattern in the text (a DOI, a "Published" date).
    Pattern,
}

/// A value with its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> Field<T> {
    fn new(value: T, source: Source) -> Self {
        Field { value, source }
    }
}

/// What is known of a paper.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// Its title.
    pub title: Option<Field<String>>,
    /// Its authors, in order.
    pub authors: Option<Field<Vec<Author>>>,
    /// The year it was published.
    pub year: Option<Field<u16>>,
    /// The journal, preprint server or conference.
    pub venue: Option<Field<String>>,
    /// Its DOI, lower-case, without a resolver prefix; only where certain.
    pub doi: Option<Field<String>>,
    /// Its PubMed id, where the paper prints its own.
    pub pmid: Option<Field<String>>,
    /// Its PubMed Central id ("PMC1234567"), where the paper prints its own.
    pub pmcid: Option<Field<String>>,
    /// Its abstract, as the first pages print it.
    pub abstract_text: Option<Field<String>>,
}

/// The most authors a record keeps: a consortium paper lists hundreds, and a damaged Info
/// string could hold thousands of "names".
const MAX_AUTHORS: usize = 100;
/// The longest title kept, in characters.
const MAX_TITLE_CHARS: usize = 400;

/// The metadata of a PDF whose bytes and extracted text are given. Unreadable parts are left
/// out, never an error: a damaged Info dictionary or an XMP packet that is not XML leaves its
/// fields empty.
pub fn read(bytes: &[u8], text: &crate::Extracted) -> Metadata {
    let doc = lopdf::Document::load_mem(bytes).ok();
    let embedded = doc.as_ref().map(Embedded::of).unwrap_or_default();
    read_with(embedded, text)
}

/// What a PDF says of itself, apart from its pages: its XMP packet and Info dictionary, read
/// while the document is open for its text, so it is parsed once.
#[derive(Debug, Default)]
pub struct Embedded {
    xmp: xmp::Xmp,
    info: Info,
    /// The first page's lines as they were set (font sizes, positions), where it was read.
    pub(crate) first_page: crate::extract::PageLayout,
    /// The index of the page `first_page` was read from: the first with a text layer of its
    /// own.
    pub(crate) first_page_at: Option<usize>,
}

impl Embedded {
    /// Reads the XMP packet and the Info dictionary of an opened document; what cannot be read
    /// is left empty.
    pub fn of(doc: &lopdf::Document) -> Embedded {
        Embedded {
            xmp: xmp::packet(doc).map(|p| xmp::parse(&p)).unwrap_or_default(),
            info: info(doc),
            first_page: Default::default(),
            first_page_at: None,
        }
    }
}

/// The metadata of a PDF from what it says of itself and its extracted text.
pub fn read_with(embedded: Embedded, text: &crate::Extracted) -> Metadata {
    // Blank pages before the first page of the paper hold nothing to read, nor does a cover
    // OCR read before the page the layout is of.
    let pages = crate::extract::opening_at(&text.pages, embedded.first_page_at);
    let heads = &text.running_heads;
    let Embedded {
        xmp,
        info,
        first_page: layout,
        ..
    } = embedded;
    let printed_title = layout::title(&layout);
    // The Info title, unless the page prints another in its title's size: Info titles are
    // often a series' or a proceedings' name, or carry the journal's after a dash.
    let info_title = text
        .title
        .clone()
        .filter(|t| info.title.as_deref() == Some(t.as_str()))
        .filter(|t| printed_title.as_deref().is_none_or(|p| titles_agree(t, p)));
    let title = xmp
        .title
        .filter(|t| crate::extract::plausible_title(t))
        .map(|t| Field::new(t, Source::Xmp))
        .or_else(|| info_title.map(|t| Field::new(t, Source::Info)))
        .or_else(|| printed_title.clone().map(|t| Field::new(t, Source::Layout)))
        // The first page's first title-like line, where no size told the title apart; with
        // the lines under it in its own size where it has one.
        .or_else(|| {
            let guess = text.title.clone()?;
            Some(match layout::completed(&layout, &guess) {
                Some(whole) => Field::new(whole, Source::Layout),
                None => Field::new(guess, Source::Pattern),
            })
        })
        .map(|f| Field::new(cut(&f.value, MAX_TITLE_CHARS), f.source));

    let parse_names = |names: Vec<String>| -> Vec<Author> {
        let mut list = names::parse_list(&names);
        list.truncate(MAX_AUTHORS);
        list
    };
    // An XMP creator may hold the whole list in one entry ("Krzysztof Bolejko, Lars Andersson").
    // An organisation's name ("Centers for Disease Control and Prevention") stays whole.
    let from_xmp = parse_names(
        xmp.creators
            .iter()
            .flat_map(|c| {
                if c.contains(',') {
                    split_names(c)
                } else {
                    vec![c.clone()]
                }
            })
            .collect(),
    );
    let from_info = info
        .author
        .map(|a| parse_names(split_names(&a)))
        .unwrap_or_default();
    // Where the page sets its title no larger than its body, the title the file names or the
    // first title-like line shows where the names begin, where the page prints it (the names
    // must then read as names, line by line, right under it).
    let named_title = title.as_ref().map(|f| f.value.as_str());
    let byline = byline::authors(&layout, named_title).filter(|a| plausible_authors(a));
    // Names in blocks of their own, each over its affiliation and e-mail address, where the
    // line under the title gives none, or only the first of them (the blocks side by side).
    let blocks = byline::contact_blocks(&layout).filter(|a| plausible_authors(a));
    let printed: Vec<Author> = match (byline, blocks) {
        (Some(line), Some(blocks))
            if blocks.len() > line.len() && line.iter().all(|a| blocks.contains(a)) =>
        {
            blocks
        }
        (Some(line), _) => line,
        (None, blocks) => blocks.unwrap_or_default(),
    };
    // The printed list where it holds every name the XMP or Info list gives and more: those
    // often name only the corresponding author.
    let fuller = |list: &[Author]| {
        printed.len() > list.len()
            && list
                .iter()
                .all(|a| printed.iter().any(|p| same_family(&p.family, &a.family)))
    };
    // A list the pages do not print is a file's account or a template's, not the authors.
    let trusted = |list: &[Author]| {
        !list.is_empty() && plausible_authors(list) && !fuller(list) && printed_name(list, pages)
    };
    let authors = if trusted(&from_xmp) {
        Some(Field::new(from_xmp, Source::Xmp))
    } else if trusted(&from_info) {
        Some(Field::new(from_info, Source::Info))
    } else if !printed.is_empty() {
        Some(Field::new(
            printed.iter().take(MAX_AUTHORS).cloned().collect(),
            Source::Layout,
        ))
    } else {
        None
    };

    // The first page's cues, else the running heads' ("bioRxiv preprint ... this version posted
    // May 14, 2021"), else the Info dictionary's dates where the first page or the heads print
    // that year too (a file made years after the paper, by a scanner or a repository, does not
    // print its making year).
    let heads_text = heads.join("\n");
    let first = pages.first().map(String::as_str).unwrap_or_default();
    // The first page line by line as it was set: the stored text joins a page's lines into
    // prose, and mastheads, footnotes and headings are lines.
    let first_lines = if layout.lines.is_empty() {
        first.to_string()
    } else {
        layout
            .lines
            .iter()
            .map(|l| crate::extract::normalize_chars(&l.text))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // The journal's citation line first (its head line, else what the running heads print on
    // every page): the year, which accepted and online dates may precede.
    let year = crate::extract::head_citation_year(&first_lines)
        .or_else(|| crate::extract::citation_year(&heads_text))
        .or_else(|| crate::extract::publication_year(first))
        .or_else(|| crate::extract::publication_year(&heads_text))
        .or_else(|| crate::extract::publication_year(&first_lines))
        // A preprint's only date: arXiv's stamp.
        .or_else(|| crate::extract::arxiv_year(&first_lines))
        .or_else(|| crate::extract::arxiv_year(first))
        // A guideline's or a review's copyright page, after its cover.
        .or_else(|| {
            let next: String = pages.iter().skip(1).take(3).map(String::as_str).collect();
            crate::extract::copyright_year(&next)
        })
        .map(|y| Field::new(y, Source::Pattern))
        .or_else(|| {
            [info.creation_date.as_deref(), info.mod_date.as_deref()]
                .into_iter()
                .flatten()
                .filter_map(date_year)
                .find(|y| {
                    let y = y.to_string();
                    first.contains(&y) || heads_text.contains(&y)
                })
                .map(|y| Field::new(y, Source::Info))
        });

    // The XMP's DOI where the text prints it too (anywhere, cue or not): publishers' tools put
    // the whole article's DOI into an excerpt of it as well, and a DOI the paper does not
    // print is not certain. Else the text's own rules.
    let printed = |d: &str| {
        pages
            .iter()
            .chain(heads)
            .any(|p| p.to_lowercase().contains(d))
    };
    let doi = xmp
        .doi
        .as_deref()
        .and_then(normalize_doi)
        .filter(|d| printed(d))
        .map(|d| Field::new(d, Source::Xmp))
        .or_else(|| doi_in_pages(pages, heads).map(|d| Field::new(d, Source::Pattern)));
    let venue = xmp
        .publication
        .filter(|v| v.chars().filter(|c| c.is_alphabetic()).count() >= 3)
        .map(|v| Field::new(cut(&v, 300), Source::Xmp))
        .or_else(|| {
            let doi = doi.as_ref().map(|d| d.value.as_str());
            venue::venue(first, &first_lines, heads, pages, doi)
                .map(|v| Field::new(v, Source::Pattern))
        });
    let (pmid, pmcid) = abstracts::pubmed_ids(pages, heads);
    Metadata {
        title,
        authors,
        year,
        venue,
        doi,
        pmid: pmid.map(|v| Field::new(v, Source::Pattern)),
        pmcid: pmcid.map(|v| Field::new(v, Source::Pattern)),
        abstract_text: abstracts::abstract_of(&first_lines, pages)
            .map(|v| Field::new(v, Source::Pattern)),
    }
}

/// The metadata of a PDF file, its pages extracted in this process (for `eval-meta`).
pub fn read_file(path: &Path) -> crate::Result<Metadata> {
    let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
    Ok(match crate::extract::extract_with_metadata(&bytes) {
        Ok((_, metadata)) => metadata,
        // No text (a scan) or no pages: what the file says of itself still counts.
        Err(_) => read(&bytes, &crate::Extracted::default()),
    })
}

/// What the Info dictionary alone says, taken as it is: the baseline `eval-meta` compares
/// with (what a tool that trusts the Info dictionary shows).
pub fn info_only(bytes: &[u8]) -> Metadata {
    let Some(doc) = lopdf::Document::load_mem(bytes).ok() else {
        return Metadata::default();
    };
    let info = info(&doc);
    let year = info.creation_date.as_deref().and_then(date_year);
    let authors: Vec<Author> = info
        .author
        .map(|a| {
            split_names(&a)
                .iter()
                .filter_map(|n| Author::parse(n))
                .collect()
        })
        .unwrap_or_default();
    Metadata {
        title: info
            .title
            .filter(|t| !t.is_empty())
            .map(|t| Field::new(t, Source::Info)),
        authors: (!authors.is_empty()).then(|| Field::new(authors, Source::Info)),
        year: year.map(|y| Field::new(y, Source::Info)),
        venue: None,
        doi: info
            .subject
            .as_deref()
            .and_then(doi::first_doi)
            .map(|d| Field::new(d, Source::Info)),
        ..Metadata::default()
    }
}

/// The Info dictionary's strings this module reads.
#[derive(Debug, Default)]
struct Info {
    title: Option<String>,
    author: Option<String>,
    subject: Option<String>,
    creation_date: Option<String>,
    mod_date: Option<String>,
}

/// The year of a PDF date (`D:20140102...`).
fn date_year(date: &str) -> Option<u16> {
    date.trim_start_matches("D:")
        .get(..4)?
        .parse::<u16>()
        .ok()
        .filter(|y| (1900..=2100).contains(y))
}

fn info(doc: &lopdf::Document) -> Info {
    let get = |key: &[u8]| crate::extract::info_string(doc, key);
    Info {
        title: get(b"Title"),
        author: get(b"Author"),
        subject: get(b"Subject"),
        creation_date: get(b"CreationDate"),
        mod_date: get(b"ModDate"),
    }
}

/// Whether two titles are the same title (one may hold the other: a subtitle, a series).
pub(crate) fn titles_agree(a: &str, b: &str) -> bool {
    let (a, b) = (eval::normalize(a), eval::normalize(b));
    !a.is_empty()
        && !b.is_empty()
        && ((a.contains(&b) && a.len() <= b.len() * 3 / 2) || b.contains(&a))
}

/// The keys two records of one article share: its DOI (lower-cased), and its title of four
/// words or more (normalised: case, punctuation, hyphenation) with its first author's surname.
/// Either key equal makes two records one article ([`same_work`]).
pub fn work_keys(record: &Record) -> [Option<String>; 2] {
    let doi = record.doi.as_ref().map(|d| d.trim().to_lowercase());
    let title = record.title.as_deref().map(eval::normalize);
    let first = record.authors.first().map(|a| eval::normalize(&a.family));
    let title = match (title, first) {
        (Some(t), Some(f)) if t.split(' ').count() >= 4 && !f.is_empty() => {
            Some(format!("{t}|{f}"))
        }
        _ => None,
    };
    [doi.filter(|d| !d.is_empty()), title]
}

/// Whether two records are one article (two downloads, a preprint and its published
/// version): the same DOI, or the same title of four words or more with the same first author.
/// Never by a title alone ("Editorial", "Introduction" head many papers), and a title that
/// merely contains the other is not the same.
pub fn same_work(a: &Record, b: &Record) -> bool {
    let (a, b) = (work_keys(a), work_keys(b));
    a.iter().zip(&b).any(|(x, y)| x.is_some() && x == y)
}

/// Whether two surnames are one, case and accents aside.
fn same_family(a: &str, b: &str) -> bool {
    eval::normalize(a) == eval::normalize(b)
}

/// `s` cut to at most `max` characters, at a character boundary.
fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_work_by_doi_or_by_title_and_first_author() {
        let record = |title: &str, first: &str, doi: Option<&str>| Record {
            title: Some(title.to_string()),
            authors: vec![Author {
                family: first.to_string(),
                given: String::new(),
            }],
            doi: doi.map(str::to_string),
            ..Record::default()
        };
        let published = record(
            "Albendazole for Cystic Echinococcosis",
            "Brunetti",
            Some("10.1/X"),
        );
        let preprint = record("Albendazole for cystic echinococcosis.", "BRUNETTI", None);
        assert!(same_work(&published, &preprint));
        assert!(same_work(
            &published,
            &record("Another title", "Other", Some("10.1/x"))
        ));
        // Another first author, a short title, a title within another: different papers.
        assert!(!same_work(
            &published,
            &record("Albendazole for Cystic Echinococcosis", "Kern", None)
        ));
        assert!(!same_work(
            &record("Editorial", "Smith", None),
            &record("Editorial", "Smith", None)
        ));
        assert!(!same_work(
            &published,
            &record(
                "Albendazole for Cystic Echinococcosis in Children",
                "Brunetti",
                None
            )
        ));
        assert!(!same_work(&Record::default(), &Record::default()));
    }

    #[test]
    fn garbage_bytes_give_an_empty_record() {
        assert_eq!(
            read(b"not a pdf", &crate::Extracted::default()),
            Metadata::default()
        );
        assert_eq!(info_only(&[0xff; 64]), Metadata::default());
    }
}
