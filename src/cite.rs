//! Papers' records as citations (AMA, Vancouver, APA, formatted by hayagriva's CSL processor
//! with the styles it bundles) and as exports other tools read (BibTeX, RIS, CSL-JSON).
//!
//! The exports are written here, field by field, and read back in the tests by parsers that
//! are not ours (the `biblatex`, `biblib` and `citeworks-csl` crates), every field compared.

use std::collections::HashSet;

use hayagriva::citationberg::Style as CslStyle;
use hayagriva::{
    BibliographyDriver, BibliographyRequest, BufWriteFormat, CitationItem, CitationRequest,
};
use serde_json::{json, Value};

use crate::metadata::Record;

/// A citation style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Style {
    /// American Medical Association, 11th edition.
    Ama,
    /// NLM/Vancouver (Citing Medicine, 2nd edition).
    Vancouver,
    /// American Psychological Association, 7th edition.
    Apa,
}

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// BibTeX (`.bib`).
    Bibtex,
    /// RIS (`.ris`), as reference managers exchange it.
    Ris,
    /// CSL-JSON, as Zotero and pandoc read it.
    Csljson,
}

impl Format {
    /// The file name extension the format's files carry.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Bibtex => "bib",
            Format::Ris => "ris",
            Format::Csljson => "json",
        }
    }

    /// The format's name as people know it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Bibtex => "BibTeX",
            Format::Ris => "RIS",
            Format::Csljson => "CSL-JSON",
        }
    }
}

/// Keys for records, one each, unique: first author's surname, year, first title word
/// (`doe2021sepsis`), letters only, a suffix where two would be the same.
pub fn keys(records: &[Record]) -> Vec<String> {
    let mut seen = HashSet::new();
    records
        .iter()
        .map(|r| {
            let ascii = |s: &str| -> String {
                s.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_lowercase()
            };
            let author = r
                .authors
                .first()
                .map(|a| ascii(&a.family))
                .unwrap_or_default();
            let year = r.year.map(|y| y.to_string()).unwrap_or_default();
            let word = r
                .title
                .as_deref()
                .and_then(|t| t.split_whitespace().map(ascii).find(|w| w.len() > 3))
                .unwrap_or_default();
            let mut base = format!("{author}{year}{word}");
            if base.is_empty() {
                base = "paper".into();
            }
            let mut key = base.clone();
            let mut n = 1;
            while !seen.insert(key.clone()) {
                n += 1;
                key = format!("{base}{n}");
            }
            key
        })
        .collect()
}

/// A surname printed in capitals ("DOUGLAS", "VAN DER BERG") as a reference list spells it
/// ("Douglas", "Van Der Berg"); any other spelling ("McDonald", "de Vries") is kept.
fn family_case(family: &str) -> String {
    let letters = family.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2 || family.chars().any(char::is_lowercase) {
        return family.to_string();
    }
    let mut out = String::with_capacity(family.len());
    let mut start = true;
    for c in family.chars() {
        if start {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
        start = !c.is_alphabetic();
    }
    out
}

/// Text for hayagriva: its markup characters (`\`, `{`, `}`, `$`: escapes, verbatim groups, math)
/// escaped so that they print as themselves, and control characters (which its YAML reader
/// refuses, and which no reference holds) as spaces.
fn hayagriva_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '{' | '}' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A name for hayagriva: names are not markup, but its YAML reader refuses control characters.
fn hayagriva_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The records as hayagriva's YAML (JSON is YAML): an article in its journal.
fn hayagriva_library(records: &[Record], keys: &[String]) -> crate::Result<hayagriva::Library> {
    let mut entries = serde_json::Map::new();
    for (r, key) in records.iter().zip(keys) {
        let mut entry = serde_json::Map::new();
        entry.insert("type".into(), json!("article"));
        if let Some(title) = &r.title {
            entry.insert("title".into(), json!(hayagriva_text(title)));
        }
        if !r.authors.is_empty() {
            let authors: Vec<Value> = r
                .authors
                .iter()
                .map(|a| {
                    let mut p = json!({ "name": hayagriva_name(&family_case(&a.family)) });
                    if !a.given.is_empty() {
                        p["given-name"] = json!(hayagriva_name(&a.given));
                    }
                    p
                })
                .collect();
            entry.insert("author".into(), Value::Array(authors));
        }
        if let Some(year) = r.year {
            entry.insert("date".into(), json!(year.to_string()));
        }
        let mut serial = serde_json::Map::new();
        for (name, value) in [("doi", &r.doi), ("pmid", &r.pmid), ("pmcid", &r.pmcid)] {
            if let Some(v) = value {
                serial.insert(name.into(), json!(v));
            }
        }
        if !serial.is_empty() {
            entry.insert("serial-number".into(), Value::Object(serial));
        }
        // The paper is taken for a journal article also where its journal is not known: as
        // a bare `article`, the styles would call it a preprint ("Preprint posted online").
        let mut journal = json!({ "type": "periodical" });
        if let Some(venue) = &r.venue {
            journal["title"] = json!(hayagriva_text(venue));
        }
        entry.insert("parent".into(), journal);
        entries.insert(key.clone(), Value::Object(entry));
    }
    let yaml = Value::Object(entries).to_string();
    hayagriva::io::from_yaml_str(&yaml).map_err(|e| crate::Error::Bug {
        stage: "formatting a citation",
        message: e.to_string(),
    })
}

/// Gives every `cs:names` element without a `cs:name` child an empty one.
///
/// CSL lets a style set its name options once, on the style, and leave `cs:name` out
/// (NLM/Vancouver does: "Doe JA, Smith J" comes from the style's options); hayagriva renders
/// no names at all for such an element, so Vancouver references came out without authors.
/// An empty `cs:name` inherits the style's options, as the specification means. Elements under
/// `cs:substitute` are left alone: they take their parent's `cs:name`.
fn name_every_names(csl: &mut hayagriva::citationberg::IndependentStyle) {
    use hayagriva::citationberg::{LayoutRenderingElement as El, Name, NamesChild};
    fn walk(elements: &mut [El]) {
        for element in elements {
            match element {
                El::Names(names)
                    if !names
                        .children
                        .iter()
                        .any(|c| matches!(c, NamesChild::Name(_))) =>
                {
                    names.children.insert(0, NamesChild::Name(Name::default()));
                }
                El::Group(group) => walk(&mut group.children),
                El::Choose(choose) => {
                    walk(&mut choose.if_.children);
                    for branch in &mut choose.else_if {
                        walk(&mut branch.children);
                    }
                    if let Some(otherwise) = &mut choose.otherwise {
                        walk(&mut otherwise.children);
                    }
                }
                _ => {}
            }
        }
    }
    for m in &mut csl.macros {
        walk(&mut m.children);
    }
    walk(&mut csl.citation.layout.elements);
    if let Some(bibliography) = &mut csl.bibliography {
        walk(&mut bibliography.layout.elements);
    }
}

/// Each record as a reference in `style`, plain text, in the order given (without the
/// number a numbered style puts before it).
pub fn cite(records: &[Record], style: Style) -> crate::Result<Vec<String>> {
    use hayagriva::archive::ArchivedStyle;
    let archived = match style {
        Style::Ama => ArchivedStyle::AmericanMedicalAssociation,
        Style::Vancouver => ArchivedStyle::NlmCitationSequence,
        Style::Apa => ArchivedStyle::AmericanPsychologicalAssociation,
    };
    let CslStyle::Independent(mut csl) = archived.get() else {
        return Err(crate::Error::Bug {
            stage: "formatting a citation",
            message: format!("the bundled style {style:?} is not an independent style"),
        });
    };
    name_every_names(&mut csl);
    let locales = hayagriva::archive::locales();
    let keys = keys(records);
    let library = hayagriva_library(records, &keys)?;
    let mut driver = BibliographyDriver::new();
    for entry in library.iter() {
        driver.citation(CitationRequest::from_items(
            vec![CitationItem::with_entry(entry)],
            &csl,
            &locales,
        ));
    }
    let rendered = driver.finish(BibliographyRequest {
        style: &csl,
        locale: None,
        locale_files: &locales,
    });
    let items = rendered.bibliography.map(|b| b.items).unwrap_or_default();
    Ok(keys
        .iter()
        .map(|key| {
            let mut text = String::new();
            if let Some(item) = items.iter().find(|i| &i.key == key) {
                let _ = item.content.write_buf(&mut text, BufWriteFormat::Plain);
            }
            text.trim().to_string()
        })
        .collect())
}

/// The records in `format`, ready to write to a file.
pub fn export(records: &[Record], format: Format) -> String {
    let keys = keys(records);
    match format {
        Format::Bibtex => records
            .iter()
            .zip(&keys)
            .map(|(r, k)| bibtex(r, k))
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Ris => records.iter().map(ris).collect::<Vec<_>>().join("\n"),
        Format::Csljson => {
            let items: Vec<Value> = records
                .iter()
                .zip(&keys)
                .map(|(r, k)| csl_json(r, k))
                .collect();
            serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into()) + "\n"
        }
    }
}

/// The trial registration ids as a note ("Trial registration: NCT01234567").
fn trial_note(r: &Record) -> Option<String> {
    (!r.trial_ids.is_empty()).then(|| format!("Trial registration: {}", r.trial_ids.join(", ")))
}

/// A BibTeX value: braces written as commands, LaTeX's special characters escaped and
/// its ligatures broken, so that any text reads back as it was (whitespace runs aside: BibTeX
/// reads them as one space).
fn bib_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // TeX joins "--" into a dash and "``", "''" into curly quotes; an empty group
            // between keeps the characters as they were.
            '-' | '`' | '\'' if chars.peek() == Some(&c) => {
                out.push(c);
                out.push_str("{}");
            }
            // BibTeX counts braces even after a backslash: an unbalanced `\{` would run the
            // value past its end. The commands print a brace and leave none to count.
            '{' => out.push_str("\\textbraceleft{}"),
            '}' => out.push_str("\\textbraceright{}"),
            '%' | '&' | '#' | '$' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '\\' => out.push_str("\\textbackslash{}"),
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// One author as BibTeX reads names: "Family, Given", each part escaped. A part BibTeX would
/// take apart is kept whole in braces: a name without given names that has several words (a
/// group author: "WHO Solidarity Trial Consortium" would read as given names and a surname),
/// and any part with the word "and" or a comma in it.
fn bib_name(author: &crate::metadata::Author) -> String {
    let splits = |part: &str| {
        part.contains(',')
            || part
                .split_whitespace()
                .any(|w| w.eq_ignore_ascii_case("and"))
    };
    let guard = |part: &str, whole: bool| {
        if whole || splits(part) {
            format!("{{{}}}", bib_value(part))
        } else {
            bib_value(part)
        }
    };
    if author.given.is_empty() {
        guard(&author.family, author.family.contains(char::is_whitespace))
    } else {
        format!(
            "{}, {}",
            guard(&author.family, false),
            guard(&author.given, false)
        )
    }
}

fn bibtex(r: &Record, key: &str) -> String {
    let mut fields: Vec<(&str, String)> = Vec::new();
    if let Some(t) = &r.title {
        fields.push(("title", t.clone()));
    }
    if !r.authors.is_empty() {
        let names: Vec<String> = r.authors.iter().map(bib_name).collect();
        fields.push(("author", names.join(" and ")));
    }
    if let Some(y) = r.year {
        fields.push(("year", y.to_string()));
    }
    if let Some(v) = &r.venue {
        fields.push(("journal", v.clone()));
    }
    if let Some(d) = &r.doi {
        fields.push(("doi", d.clone()));
    }
    if let Some(p) = &r.pmid {
        fields.push(("pmid", p.clone()));
    }
    if let Some(p) = &r.pmcid {
        fields.push(("pmcid", p.clone()));
    }
    if let Some(a) = &r.abstract_text {
        fields.push(("abstract", a.clone()));
    }
    if let Some(n) = trial_note(r) {
        fields.push(("note", n));
    }
    let body: Vec<String> = fields
        .iter()
        .map(|(name, value)| {
            // A DOI is kept verbatim (its underscores are part of it), in braces of its own;
            // names are escaped part by part (`bib_name`).
            let value = match *name {
                "doi" => value.replace(['{', '}'], ""),
                "author" => value.clone(),
                _ => bib_value(value),
            };
            format!("  {name} = {{{value}}}")
        })
        .collect();
    format!("@article{{{key},\n{}\n}}\n", body.join(",\n"))
}

/// One RIS line: a tag, two spaces, a dash, a space and the value on one line.
fn ris_line(out: &mut String, tag: &str, value: &str) {
    let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
    out.push_str(&format!("{tag}  - {value}\n"));
}

fn ris(r: &Record) -> String {
    let mut out = String::new();
    ris_line(&mut out, "TY", "JOUR");
    if let Some(t) = &r.title {
        ris_line(&mut out, "TI", t);
    }
    for a in &r.authors {
        if a.given.is_empty() {
            // The comma says the whole is a surname (a group author), not "Given Family".
            ris_line(&mut out, "AU", &format!("{},", a.family));
        } else {
            ris_line(&mut out, "AU", &format!("{}, {}", a.family, a.given));
        }
    }
    if let Some(y) = r.year {
        ris_line(&mut out, "PY", &y.to_string());
    }
    if let Some(v) = &r.venue {
        ris_line(&mut out, "JF", v);
    }
    if let Some(d) = &r.doi {
        ris_line(&mut out, "DO", d);
    }
    // The PMID as the accession number (AN), as reference managers' PubMed imports write it;
    // C2 holds the PMCID.
    if let Some(p) = &r.pmid {
        ris_line(&mut out, "AN", p);
    }
    if let Some(p) = &r.pmcid {
        ris_line(&mut out, "C2", p);
    }
    if let Some(a) = &r.abstract_text {
        ris_line(&mut out, "AB", a);
    }
    if let Some(n) = trial_note(r) {
        ris_line(&mut out, "N1", &n);
    }
    out.push_str("ER  - \n");
    out
}

fn csl_json(r: &Record, key: &str) -> Value {
    let mut item = json!({ "id": key, "type": "article-journal" });
    let mut set = |name: &str, value: Option<Value>| {
        if let Some(v) = value {
            item[name] = v;
        }
    };
    set("title", r.title.as_ref().map(|t| json!(t)));
    set(
        "author",
        (!r.authors.is_empty()).then(|| {
            Value::Array(
                r.authors
                    .iter()
                    .map(|a| {
                        if a.given.is_empty() && a.family.contains(char::is_whitespace) {
                            // A group author: CSL's form for a name that is not a person's.
                            json!({ "literal": a.family })
                        } else if a.given.is_empty() {
                            json!({ "family": a.family })
                        } else {
                            json!({ "family": a.family, "given": a.given })
                        }
                    })
                    .collect(),
            )
        }),
    );
    set("issued", r.year.map(|y| json!({ "date-parts": [[y]] })));
    set("container-title", r.venue.as_ref().map(|v| json!(v)));
    set("DOI", r.doi.as_ref().map(|v| json!(v)));
    set("PMID", r.pmid.as_ref().map(|v| json!(v)));
    set("PMCID", r.pmcid.as_ref().map(|v| json!(v)));
    set("abstract", r.abstract_text.as_ref().map(|v| json!(v)));
    set("note", trial_note(r).map(|n| json!(n)));
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Author;

    fn record() -> Record {
        Record {
            title: Some("Early antibiotics in septic shock".into()),
            authors: vec![
                Author {
                    family: "Doe".into(),
                    given: "Jane A.".into(),
                },
                Author {
                    family: "Smith".into(),
                    given: "John".into(),
                },
            ],
            year: Some(2021),
            venue: Some("Critical Care".into()),
            doi: Some("10.1186/s13054-021-0001-x".into()),
            ..Record::default()
        }
    }

    #[test]
    fn the_three_styles_format_an_article() {
        let r = [record()];
        let ama = &cite(&r, Style::Ama).unwrap()[0];
        assert!(
            ama.starts_with("Doe JA, Smith J. Early antibiotics in septic shock."),
            "{ama}"
        );
        assert!(ama.contains("Critical Care"), "{ama}");
        assert!(ama.contains("2021"), "{ama}");
        assert!(ama.contains("10.1186/s13054-021-0001-x"), "{ama}");
        let vancouver = &cite(&r, Style::Vancouver).unwrap()[0];
        assert!(
            vancouver.starts_with("Doe JA, Smith J. Early antibiotics in septic shock."),
            "{vancouver}"
        );
        let apa = &cite(&r, Style::Apa).unwrap()[0];
        assert!(
            apa.starts_with("Doe, J. A., & Smith, J. (2021). Early antibiotics in septic shock."),
            "{apa}"
        );
    }

    #[test]
    fn capitals_surnames_are_cited_in_title_case_others_as_printed() {
        assert_eq!(family_case("DOUGLAS"), "Douglas");
        assert_eq!(family_case("AGYEMAN-DUAH"), "Agyeman-Duah");
        assert_eq!(family_case("O'BRIEN"), "O'Brien");
        assert_eq!(family_case("McDonald"), "McDonald");
        assert_eq!(family_case("de Vries"), "de Vries");
        assert_eq!(family_case("X"), "X");
    }

    #[test]
    fn a_paper_without_a_journal_is_not_called_a_preprint() {
        let r = [Record {
            venue: None,
            ..record()
        }];
        for style in [Style::Ama, Style::Vancouver, Style::Apa] {
            let text = &cite(&r, style).unwrap()[0];
            assert!(
                !text.to_lowercase().contains("preprint"),
                "{style:?}: {text}"
            );
            assert!(text.contains("2021"), "{style:?}: {text}");
        }
    }

    #[test]
    fn keys_are_unique_and_plain() {
        let r = [record(), record(), Record::default()];
        assert_eq!(keys(&r), ["doe2021early", "doe2021early2", "paper"]);
    }
}
