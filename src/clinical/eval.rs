//! `medshelf eval-design`: the design read from each PDF against a hand-labelled table.
//!
//! The table (`../shared/data/metadata/truth_dev.tsv`, `../shared/data/clinical/truth_dev.tsv`)
//! has a header row with `file` and `design` columns, in any order, among others. Each file is
//! read as an index run reads it (the same extraction, the same record) and its label compared:
//! accuracy, each class's precision and recall, the confusion table, and the two figures the
//! clinical issue sets targets for (trials; systematic reviews and meta-analyses together).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::{Design, DesignLabel};
use crate::error::{Error, Result};

/// One labelled file.
#[derive(Debug, Clone)]
pub struct DesignTruth {
    /// The PDF's file name.
    pub file: String,
    /// Its design.
    pub design: DesignLabel,
}

/// Reads a table; rows with an empty or unknown design are left out.
pub fn load_truth(path: &Path) -> Result<Vec<DesignTruth>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(file), Some(design)) = (col("file"), col("design")) else {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            message: "the header needs `file` and `design` columns".into(),
        });
    };
    Ok(lines
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            Some(DesignTruth {
                file: fields.get(file)?.trim().to_string(),
                design: DesignLabel::parse(fields.get(design)?)?,
            })
        })
        .filter(|t| !t.file.is_empty())
        .collect())
}

/// Precision and recall of one class (or a group of classes taken as one).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClassScore {
    /// Files the table gives this class.
    pub support: usize,
    /// Files given this class.
    pub predicted: usize,
    /// Files given it rightly.
    pub correct: usize,
    /// `correct / predicted` (1 where none was predicted).
    pub precision: f64,
    /// `correct / support` (1 where the table has none).
    pub recall: f64,
}

impl ClassScore {
    fn finish(mut self) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        self.precision = ratio(self.correct, self.predicted);
        self.recall = ratio(self.correct, self.support);
        self
    }
}

/// One file's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct DesignOutcome {
    /// The file.
    pub file: String,
    /// The table's label.
    pub truth: DesignLabel,
    /// What was read, with confidence and reasons.
    pub ours: Design,
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct DesignReport {
    /// The table.
    pub table: PathBuf,
    /// Files scored.
    pub rows: usize,
    /// Files of the table not found.
    pub missing: Vec<String>,
    /// The share labelled rightly.
    pub accuracy: f64,
    /// Each class's figures, by label.
    pub classes: BTreeMap<DesignLabel, ClassScore>,
    /// Randomised trials.
    pub rct: ClassScore,
    /// Systematic reviews and meta-analyses, as one class.
    pub synthesis: ClassScore,
    /// How many files of each true label (outer) got each label (inner).
    pub confusion: BTreeMap<DesignLabel, BTreeMap<DesignLabel, usize>>,
    /// Files whose label came without a reason (must stay 0).
    pub without_reason: usize,
    /// Seconds spent reading the files (extraction and record, the design included).
    pub extract_seconds: f64,
    /// Seconds the design rules take on the same text, timed apart: their share of an
    /// ingest's reading.
    pub classify_seconds: f64,
    /// Each file.
    pub outcomes: Vec<DesignOutcome>,
}

/// Reads every PDF of the table (in `pdfs`) and scores its design.
pub fn evaluate(table: &Path, pdfs: &Path) -> Result<DesignReport> {
    let truth = load_truth(table)?;
    let mut missing = Vec::new();
    let mut outcomes = Vec::new();
    let (mut extract_seconds, mut classify_seconds) = (0.0, 0.0);
    for t in &truth {
        let Ok(bytes) = std::fs::read(pdfs.join(&t.file)) else {
            missing.push(t.file.clone());
            continue;
        };
        let started = Instant::now();
        let read = crate::extract::extract_with_metadata(&bytes).ok();
        extract_seconds += started.elapsed().as_secs_f64();
        if let Some((e, _)) = &read {
            let record = e.metadata.as_deref();
            let started = Instant::now();
            let title = record
                .and_then(|r| r.title.as_deref())
                .or(e.title.as_deref());
            let venue = record.and_then(|r| r.venue.as_deref());
            std::hint::black_box(super::classify(title, venue, &e.running_heads, &e.pages));
            classify_seconds += started.elapsed().as_secs_f64();
        }
        // A file without text is labelled as a library would see it: nothing to read.
        let ours = read
            .and_then(|(e, _)| e.metadata.and_then(|m| m.design))
            .unwrap_or_else(|| super::classify(None, None, &[], &[]));
        outcomes.push(DesignOutcome {
            file: t.file.clone(),
            truth: t.design,
            ours,
        });
    }
    let mut report = score(table, truth.len() - missing.len(), missing, outcomes);
    report.extract_seconds = extract_seconds;
    report.classify_seconds = classify_seconds;
    Ok(report)
}

fn score(
    table: &Path,
    rows: usize,
    missing: Vec<String>,
    outcomes: Vec<DesignOutcome>,
) -> DesignReport {
    let mut classes: BTreeMap<DesignLabel, ClassScore> = BTreeMap::new();
    let mut confusion: BTreeMap<DesignLabel, BTreeMap<DesignLabel, usize>> = BTreeMap::new();
    let (mut rct, mut synthesis) = (ClassScore::default(), ClassScore::default());
    let is_synthesis =
        |l: DesignLabel| matches!(l, DesignLabel::SystematicReview | DesignLabel::MetaAnalysis);
    let mut right = 0;
    for o in &outcomes {
        let (truth, ours) = (o.truth, o.ours.label);
        right += usize::from(truth == ours);
        classes.entry(truth).or_default().support += 1;
        let c = classes.entry(ours).or_default();
        c.predicted += 1;
        c.correct += usize::from(truth == ours);
        *confusion.entry(truth).or_default().entry(ours).or_default() += 1;
        let is_rct = |l: DesignLabel| l == DesignLabel::Rct;
        for (group, member) in [
            (&mut rct, &is_rct as &dyn Fn(DesignLabel) -> bool),
            (&mut synthesis, &is_synthesis),
        ] {
            group.support += usize::from(member(truth));
            group.predicted += usize::from(member(ours));
            group.correct += usize::from(member(truth) && member(ours));
        }
    }
    DesignReport {
        table: table.to_path_buf(),
        rows,
        missing,
        accuracy: if outcomes.is_empty() {
            0.0
        } else {
            right as f64 / outcomes.len() as f64
        },
        classes: classes.into_iter().map(|(l, c)| (l, c.finish())).collect(),
        rct: rct.finish(),
        synthesis: synthesis.finish(),
        confusion,
        without_reason: outcomes
            .iter()
            .filter(|o| o.ours.reasons.is_empty())
            .count(),
        extract_seconds: 0.0,
        classify_seconds: 0.0,
        outcomes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(truth: DesignLabel, ours: DesignLabel) -> DesignOutcome {
        DesignOutcome {
            file: String::new(),
            truth,
            ours: Design::user(ours),
        }
    }

    #[test]
    fn figures_add_up() {
        use DesignLabel::*;
        let report = score(
            Path::new("t.tsv"),
            4,
            Vec::new(),
            vec![
                outcome(Rct, Rct),
                outcome(Rct, Cohort),
                outcome(MetaAnalysis, SystematicReview),
                outcome(Cohort, Rct),
            ],
        );
        assert_eq!(report.accuracy, 0.25);
        assert_eq!(report.rct.precision, 0.5);
        assert_eq!(report.rct.recall, 0.5);
        // A meta-analysis read as a systematic review is right as a synthesis.
        assert_eq!(report.synthesis.precision, 1.0);
        assert_eq!(report.classes[&MetaAnalysis].recall, 0.0);
        assert_eq!(report.confusion[&Rct][&Cohort], 1);
    }

    #[test]
    fn a_table_without_a_design_column_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tsv");
        std::fs::write(&path, "file\ttitle\na.pdf\tA\n").unwrap();
        assert!(load_truth(&path).is_err());
        std::fs::write(&path, "title\tdesign\tfile\nA\tRCT\ta.pdf\nB\t\tb.pdf\n").unwrap();
        let rows = load_truth(&path).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].design, DesignLabel::Rct);
    }
}
