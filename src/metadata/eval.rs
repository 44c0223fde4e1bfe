//! `medshelf eval-meta`: the metadata read from each PDF against a hand-checked table.
//!
//! The table (`../shared/data/metadata/truth_dev.tsv`) has a header row and the columns
//! `file`, `title`, `authors` (`Surname, Given ; ...`), `year`, `venue`, `doi`, and others
//! this module ignores (looked up by name, in any order). Values are compared after
//! normalisation (case, white space, punctuation, hyphenation). Each field is scored where the
//! table has a value, except the DOI, which is scored both ways: precision over the DOIs
//! given, recall over the DOIs the table has (a DOI given where the paper prints none is a
//! false one).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::extract::ReadOptions;

use serde::Serialize;

use super::{Author, Metadata};
use crate::error::{Error, Result};

/// One row of the table.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// The PDF's file name.
    pub file: String,
    /// Its title, or empty.
    pub title: String,
    /// Its authors' surnames, in order.
    pub families: Vec<String>,
    /// Its year, where printed.
    pub year: Option<u16>,
    /// Other years the notes call defensible.
    pub other_years: Vec<u16>,
    /// Its venue, or empty.
    pub venue: String,
    /// Its DOI, or empty.
    pub doi: String,
}

/// Reads a table.
pub fn load_truth(path: &Path) -> Result<Vec<Truth>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let Some(file_col) = col("file") else {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            message: "the header has no `file` column".into(),
        });
    };
    let mut rows = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let get = |name: &str| {
            col(name)
                .and_then(|i| fields.get(i))
                .map_or("", |s| s.trim())
        };
        let notes = get("notes");
        let years_in_notes = notes
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| w.len() == 4)
            .filter_map(|w| w.parse::<u16>().ok())
            .filter(|y| (1900..=2100).contains(y));
        rows.push(Truth {
            file: fields.get(file_col).unwrap_or(&"").to_string(),
            title: get("title").to_string(),
            families: get("authors")
                .split(" ; ")
                .filter(|a| !a.trim().is_empty() && a.trim() != "et al.")
                .map(|a| a.split(',').next().unwrap_or(a).trim().to_string())
                .collect(),
            year: get("year").parse().ok(),
            other_years: if notes.to_lowercase().contains("year") {
                years_in_notes.collect()
            } else {
                Vec::new()
            },
            venue: get("venue").to_string(),
            doi: get("doi").to_lowercase(),
        });
    }
    Ok(rows)
}

/// Letters and digits only, lower-case, words single-spaced: what two spellings of a title
/// share ("Heart-failure: a review" and "heart failure - A Review").
pub fn normalize(s: &str) -> String {
    let s = s.replace("-\n", "").replace('\u{ad}', "");
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One field's score for one reader.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FieldScore {
    /// Rows scored (the table has a value).
    pub rows: usize,
    /// Rows right.
    pub right: usize,
    /// `right / rows`.
    pub accuracy: f64,
}

/// The DOI's scores for one reader.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DoiScore {
    /// DOIs given.
    pub given: usize,
    /// Of those, right.
    pub right: usize,
    /// `right / given` (1 where none was given).
    pub precision: f64,
    /// DOIs the table has.
    pub printed: usize,
    /// `right / printed`.
    pub recall: f64,
}

/// One reader's scores.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scores {
    /// Per field: `title`, `first_author`, `authors`, `year`, `venue`.
    pub fields: BTreeMap<String, FieldScore>,
    /// The DOI.
    pub doi: DoiScore,
}

/// What one row came to.
#[derive(Debug, Clone, Serialize)]
pub struct RowOutcome {
    /// The file.
    pub file: String,
    /// What MedShelf read.
    pub ours: Metadata,
    /// The fields it got wrong (or missed), where the table has a value.
    pub wrong: Vec<String>,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct MetaReport {
    /// The table.
    #[serde(serialize_with = "crate::paths::lossy")]
    pub table: PathBuf,
    /// Its rows.
    pub rows: usize,
    /// Files of the table that could not be read.
    pub missing: Vec<String>,
    /// MedShelf's reader.
    pub ours: Scores,
    /// The Info dictionary taken as it is.
    pub info_only: Scores,
    /// Each row.
    pub outcomes: Vec<RowOutcome>,
}

/// Reads every PDF of the table (in `pdfs`) both ways and scores them.
pub fn evaluate(table: &Path, pdfs: &Path) -> Result<MetaReport> {
    let truth = load_truth(table)?;
    let mut ours = Tally::default();
    let mut info = Tally::default();
    let mut missing = Vec::new();
    let mut outcomes = Vec::new();
    for t in &truth {
        let path = pdfs.join(&t.file);
        let Ok(bytes) = std::fs::read(&path) else {
            missing.push(t.file.clone());
            continue;
        };
        // The reading an index run stores (through the same extraction: the page's layout,
        // the second reader and OCR where they are installed); a file without text still
        // says what its XMP and Info say.
        let read = crate::extract::extract_file_with_metadata(&path, &ReadOptions::plain());
        let m = match read {
            Ok((_, m)) => m,
            Err(_) => super::read(&bytes, &crate::Extracted::default()),
        };
        let wrong = ours.add(t, &m);
        info.add(t, &super::info_only(&bytes));
        outcomes.push(RowOutcome {
            file: t.file.clone(),
            ours: m,
            wrong,
        });
    }
    Ok(MetaReport {
        table: table.to_path_buf(),
        rows: truth.len(),
        missing,
        ours: ours.scores(),
        info_only: info.scores(),
        outcomes,
    })
}

#[derive(Default)]
struct Tally {
    fields: BTreeMap<&'static str, (usize, usize)>,
    doi: DoiScore,
}

impl Tally {
    /// Scores one row; returns the fields it got wrong.
    fn add(&mut self, t: &Truth, m: &Metadata) -> Vec<String> {
        let mut wrong = Vec::new();
        let mut score = |name: &'static str, has: bool, right: bool| {
            if has {
                let e = self.fields.entry(name).or_default();
                e.0 += 1;
                e.1 += usize::from(right);
                if !right {
                    wrong.push(name.to_string());
                }
            }
        };
        let title = m.title.as_ref().map(|f| normalize(&f.value));
        score(
            "title",
            !t.title.is_empty(),
            title.as_deref() == Some(normalize(&t.title).as_str()),
        );
        let families: Vec<String> = m
            .authors
            .as_ref()
            .map(|f| {
                f.value
                    .iter()
                    .map(|a: &Author| normalize(&a.family))
                    .collect()
            })
            .unwrap_or_default();
        let truth_families: Vec<String> = t.families.iter().map(|f| normalize(f)).collect();
        score(
            "first_author",
            !truth_families.is_empty(),
            families.first() == truth_families.first(),
        );
        score(
            "authors",
            !truth_families.is_empty(),
            families.iter().collect::<BTreeSet<_>>() == truth_families.iter().collect(),
        );
        let year = m.year.as_ref().map(|f| f.value);
        score(
            "year",
            t.year.is_some(),
            year.is_some_and(|y| Some(y) == t.year || t.other_years.contains(&y)),
        );
        score(
            "venue",
            !t.venue.is_empty(),
            m.venue.as_ref().map(|f| normalize(&f.value)) == Some(normalize(&t.venue)),
        );
        if let Some(d) = &m.doi {
            self.doi.given += 1;
            if d.value == t.doi {
                self.doi.right += 1;
            } else {
                wrong.push("doi".into());
            }
        } else if !t.doi.is_empty() {
            wrong.push("doi".into());
        }
        self.doi.printed += usize::from(!t.doi.is_empty());
        wrong
    }

    fn scores(&self) -> Scores {
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        Scores {
            fields: self
                .fields
                .iter()
                .map(|(k, &(rows, right))| {
                    let accuracy = ratio(right, rows);
                    (
                        k.to_string(),
                        FieldScore {
                            rows,
                            right,
                            accuracy,
                        },
                    )
                })
                .collect(),
            doi: DoiScore {
                precision: ratio(self.doi.right, self.doi.given),
                recall: ratio(self.doi.right, self.doi.printed),
                ..self.doi.clone()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_folds_case_punctuation_and_hyphens() {
        assert_eq!(
            normalize("Heart-failure:  a Review"),
            "heart failure a review"
        );
        assert_eq!(normalize("cardio-\nvascular"), "cardiovascular");
    }

    #[test]
    fn a_table_reads_by_column_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tsv");
        std::fs::write(
            &path,
            "file\ttitle\tauthors\tyear\tvenue\tdoi\tnotes\n\
             a.pdf\tA title\tDoe, Jane ; Roe, J.\t2014\tBMC\t10.1/x\tyear could also be 2013\n",
        )
        .unwrap();
        let rows = load_truth(&path).unwrap();
        assert_eq!(rows[0].families, ["Doe", "Roe"]);
        assert_eq!(rows[0].year, Some(2014));
        assert_eq!(rows[0].other_years, [2013]);
    }
}
