//! A paper's study design (randomised trial, systematic review, cohort...), read by rules from
//! its title and first pages, with the reasons a clinician can check.
//!
//! Clinicians weigh a paper by the kind of evidence it is before they read it. The label is
//! chosen by cues, each a phrase the paper prints ("randomly assigned" in the abstract,
//! "systematic review" in the title, a PRISMA flow diagram), weighed by where it stands: the
//! title says what a paper is, the abstract how it was done, the body only confirms. The
//! label with the most weight wins; its confidence grows with its lead over the next one, and
//! the cues that carried it are its reasons. A label always has a reason: where no cue speaks,
//! the reason says what was (not) found.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::extract::head_bytes;

use super::cues::{Region, Role, CUES};

/// A study design, in order of evidence level (a meta-analysis first, `other` last): the
/// order the best matches are shown in when the user asks for it (`--sort evidence`), ties
/// by relevance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DesignLabel {
    /// A quantitative synthesis of studies found systematically.
    MetaAnalysis,
    /// A systematic review without (or before) pooling.
    SystematicReview,
    /// A clinical practice guideline or consensus recommendation.
    Guideline,
    /// A randomised controlled trial.
    Rct,
    /// A trial without randomisation (single arm, before-after, quasi-experimental).
    NonRandomisedTrial,
    /// A cohort study (prospective or retrospective).
    Cohort,
    /// A case-control study (test-negative designs included).
    CaseControl,
    /// A cross-sectional study or survey.
    CrossSectional,
    /// A case report or case series.
    CaseReport,
    /// A narrative (non-systematic) review.
    NarrativeReview,
    /// An editorial, commentary or letter.
    Editorial,
    /// Laboratory, animal, computational or non-clinical research.
    BasicScience,
    /// Information written for patients.
    PatientInformation,
    /// Anything else: protocols, methods papers, qualitative studies.
    Other,
}

impl DesignLabel {
    /// Every label, in order of evidence level.
    pub const ALL: [DesignLabel; 14] = [
        DesignLabel::MetaAnalysis,
        DesignLabel::SystematicReview,
        DesignLabel::Guideline,
        DesignLabel::Rct,
        DesignLabel::NonRandomisedTrial,
        DesignLabel::Cohort,
        DesignLabel::CaseControl,
        DesignLabel::CrossSectional,
        DesignLabel::CaseReport,
        DesignLabel::NarrativeReview,
        DesignLabel::Editorial,
        DesignLabel::BasicScience,
        DesignLabel::PatientInformation,
        DesignLabel::Other,
    ];

    /// Its name in JSON and on the command line (`rct`, `systematic-review`...).
    pub fn as_str(self) -> &'static str {
        match self {
            DesignLabel::MetaAnalysis => "meta-analysis",
            DesignLabel::SystematicReview => "systematic-review",
            DesignLabel::Guideline => "guideline",
            DesignLabel::Rct => "rct",
            DesignLabel::NonRandomisedTrial => "non-randomised-trial",
            DesignLabel::Cohort => "cohort",
            DesignLabel::CaseControl => "case-control",
            DesignLabel::CrossSectional => "cross-sectional",
            DesignLabel::CaseReport => "case-report",
            DesignLabel::NarrativeReview => "narrative-review",
            DesignLabel::Editorial => "editorial",
            DesignLabel::BasicScience => "basic-science",
            DesignLabel::PatientInformation => "patient-information",
            DesignLabel::Other => "other",
        }
    }

    /// Its name as a clinician reads it.
    pub fn human(self) -> &'static str {
        match self {
            DesignLabel::MetaAnalysis => "meta-analysis",
            DesignLabel::SystematicReview => "systematic review",
            DesignLabel::Guideline => "guideline",
            DesignLabel::Rct => "randomised controlled trial",
            DesignLabel::NonRandomisedTrial => "non-randomised trial",
            DesignLabel::Cohort => "cohort study",
            DesignLabel::CaseControl => "case-control study",
            DesignLabel::CrossSectional => "cross-sectional study",
            DesignLabel::CaseReport => "case report or series",
            DesignLabel::NarrativeReview => "narrative review",
            DesignLabel::Editorial => "editorial",
            DesignLabel::BasicScience => "basic science",
            DesignLabel::PatientInformation => "patient information",
            DesignLabel::Other => "other",
        }
    }

    /// The label a name stands for (`rct`, `RCT`, `systematic-review`, `systematic review`);
    /// `None` for a name that is none.
    pub fn parse(name: &str) -> Option<DesignLabel> {
        let name = name.trim().to_lowercase().replace([' ', '_'], "-");
        let name = match name.as_str() {
            "non-randomized-trial" => "non-randomised-trial",
            "case-series" => "case-report",
            "review" => "narrative-review",
            other => other,
        };
        DesignLabel::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

impl std::fmt::Display for DesignLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who chose a paper's design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DesignSource {
    /// The rules of this module.
    Rules,
    /// A classifier (kept in the contract; MedShelf ships none yet).
    Classifier,
    /// The user's correction: it always wins.
    User,
}

/// A paper's design, how sure the choice is, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Design {
    /// The design.
    pub label: DesignLabel,
    /// How sure the choice is, 0 to 1 in hundredths (1 for the user's own).
    pub confidence: f64,
    /// What on the paper led to it, in words ("“randomly assigned” in the abstract"); never
    /// empty.
    pub reasons: Vec<String>,
    /// Who chose it.
    pub source: DesignSource,
}

impl Design {
    /// The design the user set.
    pub fn user(label: DesignLabel) -> Design {
        Design {
            label,
            confidence: 1.0,
            reasons: vec!["set by you".to_string()],
            source: DesignSource::User,
        }
    }
}

/// The length of the first pages' text read as the head (title, authors, abstract), in bytes.
const HEAD_CHARS: usize = 9000;
/// The length of the start read for an article-type label, in bytes.
const MASTHEAD_CHARS: usize = 400;
/// The most text read as the body, in bytes: methods sections come early, and a 300-page
/// guideline need not be read to its end.
const BODY_CHARS: usize = 120_000;
/// The most weight one label takes from one region: ten synonyms for "we searched" in an
/// abstract are one cue, not ten.
const REGION_CAP: f32 = 10.0;
/// Below this weight no label is chosen by its cues.
const MIN_WEIGHT: f32 = 3.0;

/// Clinical words: where the first pages hold none, the paper is not clinical research.
static CLINICAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:patients?|participants|subjects|children|adults|women|men|clinical|hospitals?|treatment|disease|health)\b")
        .expect("the clinical words")
});

/// What a paper is, by its title and venue (where known) and its pages' text. `heads` are
/// the running heads and feet taken out of the pages, where an article type ("REVIEW
/// ARTICLE", "Research Methods & Reporting") is often printed on every page.
pub fn classify(
    title: Option<&str>,
    venue: Option<&str>,
    heads: &[String],
    pages: &[String],
) -> Design {
    let own = super::trials::before_references(pages);
    let own = head_bytes(&own, BODY_CHARS);
    let body = fold(own);
    let head = head_bytes(&body, HEAD_CHARS);
    // The journal's name is often printed only in the running heads the reader took out.
    // Of the running heads, the short lines: an article type is a word or two ("REVIEW
    // ARTICLE"), a preprint server's notice ("not certified by peer review") a sentence.
    let labels: Vec<String> = heads
        .iter()
        .filter(|h| (1..=4).contains(&h.split_whitespace().count()))
        .take(20)
        .map(|h| fold(h))
        .collect();
    let masthead = format!(
        "{} | {} | {}",
        fold(venue.unwrap_or("")),
        labels.join(" | "),
        head_bytes(&body, MASTHEAD_CHARS)
    );
    let title = title.map(fold).unwrap_or_default();
    let text_of = |region: Region| match region {
        Region::Title => title.as_str(),
        Region::Masthead => masthead.as_str(),
        Region::Head => head,
        Region::Body => body.as_str(),
    };
    // Each label's weight per region, with the cues that gave it (the phrase as printed).
    let mut weights: HashMap<(DesignLabel, Region), f32> = HashMap::new();
    let mut reasons: HashMap<DesignLabel, Vec<(f32, String)>> = HashMap::new();
    // The phrases each cue found, then their weight: a supporting cue only where a cue
    // naming the same design fired.
    let found: Vec<(&super::cues::Cue, Vec<&str>)> = CUES
        .iter()
        .map(|cue| {
            let mut seen: Vec<&str> = Vec::new();
            for m in cue.pattern.find_iter(text_of(cue.region)) {
                let phrase = m.as_str().trim();
                if !seen.contains(&phrase) {
                    seen.push(phrase);
                }
                if seen.len() >= cue.hits {
                    break;
                }
            }
            (cue, seen)
        })
        .filter(|(_, seen)| !seen.is_empty())
        .collect();
    let named: Vec<DesignLabel> = found
        .iter()
        .filter(|(cue, _)| cue.role == Role::Names)
        .map(|(cue, _)| cue.label)
        .collect();
    for (cue, phrases) in found {
        if cue.role == Role::Supports && !named.contains(&cue.label) {
            continue;
        }
        for phrase in phrases {
            let slot = weights.entry((cue.label, cue.region)).or_default();
            let gained = (REGION_CAP - *slot).min(cue.weight).max(0.0);
            if gained > 0.0 {
                *slot += gained;
                reasons
                    .entry(cue.label)
                    .or_default()
                    .push((gained, format!("“{phrase}” {}", cue.region.words())));
            }
        }
    }
    // Laboratory words in a clinical abstract ("protein", "sequencing" in a cohort of
    // patients) do not make it laboratory research: each clinical word takes one back.
    let clinical = distinct(&CLINICAL, head);
    if let Some(w) = weights.get_mut(&(DesignLabel::BasicScience, Region::Head)) {
        *w = (*w - clinical as f32).max(0.0);
    }
    // The paper's own registration: a trial's id supports a trial the text names (a
    // laboratory paper on a trial's samples names the trial too); a PROSPERO record is a
    // systematic review's alone.
    let ids = super::trials::paper_trial_ids(pages);
    let trial = ids.iter().find(|id| !id.starts_with("CRD"));
    if let Some(id) = trial.filter(|_| named.contains(&DesignLabel::Rct)) {
        add(
            &mut weights,
            &mut reasons,
            DesignLabel::Rct,
            Region::Body,
            3.0,
            format!("a trial registration id ({id})"),
        );
    }
    if let Some(id) = ids.iter().find(|id| id.starts_with("CRD")) {
        add(
            &mut weights,
            &mut reasons,
            DesignLabel::SystematicReview,
            Region::Body,
            3.0,
            format!("a PROSPERO registration ({id})"),
        );
    }
    let mut totals: Vec<(DesignLabel, f32)> = DesignLabel::ALL
        .into_iter()
        .map(|label| {
            let sum = Region::ALL
                .into_iter()
                .map(|r| weights.get(&(label, r)).copied().unwrap_or(0.0))
                .sum();
            (label, sum)
        })
        .collect();
    settle_syntheses(&mut totals, &weights);
    // The heaviest label; among equals the higher level of evidence (the order of `ALL`).
    totals.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let (label, weight) = totals[0];
    let runner_up = totals[1].1;
    if weight < MIN_WEIGHT {
        let lab = weights.contains_key(&(DesignLabel::BasicScience, Region::Head));
        return unnamed(head, lab, pages.is_empty());
    }
    let mut why = reasons.remove(&label).unwrap_or_default();
    why.sort_by(|a, b| b.0.total_cmp(&a.0));
    let margin = weight - runner_up;
    Design {
        label,
        confidence: round2(0.35 + 0.64 * (1.0 - (f64::from(-margin) / 6.0).exp())),
        reasons: why.into_iter().take(4).map(|(_, r)| r).collect(),
        source: DesignSource::Rules,
    }
}

/// A systematic review that pools its studies is a meta-analysis, and one that does not is
/// not: the title decides where it names one; otherwise the review's pooling cues do.
fn settle_syntheses(
    totals: &mut [(DesignLabel, f32)],
    weights: &HashMap<(DesignLabel, Region), f32>,
) {
    let get = |l: DesignLabel, r: Region| weights.get(&(l, r)).copied().unwrap_or(0.0);
    let title_ma = get(DesignLabel::MetaAnalysis, Region::Title) > 0.0;
    let title_sr = get(DesignLabel::SystematicReview, Region::Title) > 0.0;
    let total = |totals: &[(DesignLabel, f32)], l: DesignLabel| {
        totals
            .iter()
            .find(|(x, _)| *x == l)
            .map_or(0.0, |(_, w)| *w)
    };
    let synthesis =
        total(totals, DesignLabel::MetaAnalysis) + total(totals, DesignLabel::SystematicReview);
    // Reviews searched systematically are one kind of evidence: their cues add up, and the
    // title (or the pooling) says which of the two it is.
    let winner = if title_ma {
        DesignLabel::MetaAnalysis
    } else if title_sr {
        DesignLabel::SystematicReview
    } else if get(DesignLabel::MetaAnalysis, Region::Head) >= 5.0 {
        DesignLabel::MetaAnalysis
    } else {
        DesignLabel::SystematicReview
    };
    // Pooling words alone (a trial's "heterogeneity", a cohort's "pooled data") are no review.
    let searched = get(DesignLabel::SystematicReview, Region::Title)
        + get(DesignLabel::SystematicReview, Region::Head)
        + get(DesignLabel::SystematicReview, Region::Masthead)
        + get(DesignLabel::MetaAnalysis, Region::Title)
        + if get(DesignLabel::MetaAnalysis, Region::Head) >= 5.0 {
            3.0
        } else {
            0.0
        };
    for (l, w) in totals.iter_mut() {
        match *l {
            DesignLabel::MetaAnalysis | DesignLabel::SystematicReview if searched < 3.0 => {
                *w = w.min(get(*l, Region::Title));
            }
            l if l == winner => *w = synthesis,
            DesignLabel::MetaAnalysis | DesignLabel::SystematicReview => *w = 0.0,
            _ => {}
        }
    }
}

/// The label where no cue spoke: clinical words without a named design are `other`; no
/// clinical words at all, research outside the clinic.
fn unnamed(head: &str, lab: bool, empty: bool) -> Design {
    let clinical = distinct(&CLINICAL, head);
    let (label, reason) = if empty {
        (
            DesignLabel::Other,
            "the paper has no text to read".to_string(),
        )
    } else if clinical >= 3 && !lab {
        (
            DesignLabel::Other,
            "no study design is named in the title or the abstract".to_string(),
        )
    } else {
        (
            DesignLabel::BasicScience,
            "no patients or participants in the abstract: laboratory, computational or non-clinical research".to_string(),
        )
    };
    Design {
        label,
        confidence: 0.4,
        reasons: vec![reason],
        source: DesignSource::Rules,
    }
}

/// How many different phrases of `pattern` occur in `text`.
fn distinct(pattern: &Regex, text: &str) -> usize {
    let mut seen: Vec<&str> = pattern.find_iter(text).map(|m| m.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

fn add(
    weights: &mut HashMap<(DesignLabel, Region), f32>,
    reasons: &mut HashMap<DesignLabel, Vec<(f32, String)>>,
    label: DesignLabel,
    region: Region,
    weight: f32,
    reason: String,
) {
    *weights.entry((label, region)).or_default() += weight;
    reasons.entry(label).or_default().push((weight, reason));
}

/// Lower-case, dashes as `-`, white space single: one spelling for the patterns.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        let c = match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' => '-',
            '\u{00AD}' => continue,
            c => c,
        };
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.extend(c.to_lowercase());
    }
    // "Randomized- controlled" where a line broke after the dash.
    out.replace("- ", "-")
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(title: &str, abstract_text: &str) -> Design {
        classify(
            Some(title),
            None,
            &[],
            &[format!("{title}\n{abstract_text}")],
        )
    }

    #[test]
    fn labels_round_trip_by_name() {
        for l in DesignLabel::ALL {
            assert_eq!(DesignLabel::parse(l.as_str()), Some(l));
            let json = serde_json::to_string(&l).unwrap();
            assert_eq!(json, format!("\"{}\"", l.as_str()));
        }
        assert_eq!(DesignLabel::parse("RCT"), Some(DesignLabel::Rct));
        assert_eq!(
            DesignLabel::parse("Systematic review"),
            Some(DesignLabel::SystematicReview)
        );
        assert_eq!(DesignLabel::parse("trial"), None);
    }

    #[test]
    fn a_trial_is_read_from_its_abstract() {
        let d = label(
            "Exercise for smoking cessation in pregnancy",
            "Methods: 789 women were randomly assigned to physical activity or usual care. \
             Trial registration: ISRCTN48600346.",
        );
        assert_eq!(d.label, DesignLabel::Rct);
        assert!(
            d.reasons.iter().any(|r| r.contains("randomly assigned")),
            "{d:?}"
        );
        assert!(d.confidence > 0.7, "{d:?}");
    }

    #[test]
    fn a_review_of_trials_is_not_a_trial() {
        let d = label(
            "Fibrosis-guided ablation: a meta-analysis of randomized controlled trials",
            "We searched MEDLINE and Embase for randomized controlled trials. Pooled risk ratios \
             were computed with random-effects models.",
        );
        assert_eq!(d.label, DesignLabel::MetaAnalysis, "{d:?}");
        let d = label(
            "Handheld echocardiography: a systematic review to inform WHO guidelines",
            "In this systematic review and meta-analysis, we searched Embase and MEDLINE.",
        );
        assert_eq!(d.label, DesignLabel::SystematicReview, "{d:?}");
    }

    #[test]
    fn case_reports_cohorts_and_guidelines() {
        let d = label(
            "Sweet syndrome: a case report",
            "We present a 54-year-old woman with fever.",
        );
        assert_eq!(d.label, DesignLabel::CaseReport);
        let d = label(
            "Risk factors for seroconversion among hospital staff",
            "A prospective cohort of 531 staff was followed for four months; incidence was 6.6%.",
        );
        assert_eq!(d.label, DesignLabel::Cohort, "{d:?}");
        let d = label(
            "Guidelines for the treatment of cystic echinococcosis",
            "These guidelines give recommendations for clinicians.",
        );
        assert_eq!(d.label, DesignLabel::Guideline);
    }

    #[test]
    fn every_label_has_a_reason() {
        for (title, text) in [
            ("", ""),
            (
                "Noisy matrix decomposition",
                "We prove a theorem on convex relaxation.",
            ),
            (
                "Heart failure in the clinic",
                "Patients with heart disease in hospital treatment.",
            ),
            ("Ωμέγα", "Τα αποτελέσματα της μελέτης."),
        ] {
            let d = label(title, text);
            assert!(!d.reasons.is_empty(), "{title}: {d:?}");
            assert!((0.0..=1.0).contains(&d.confidence));
        }
        assert!(!classify(None, None, &[], &[]).reasons.is_empty());
    }

    #[test]
    fn a_registration_in_the_references_only_makes_no_trial() {
        let body = "We describe the history of anticoagulation in clinical practice.\n".repeat(60);
        let pages = vec![
            body.clone(),
            format!("{body}\nReferences\n1. A trial of X. NCT01234567. Randomly assigned.\n"),
        ];
        let d = classify(Some("Anticoagulation through the ages"), None, &[], &pages);
        assert_ne!(d.label, DesignLabel::Rct, "{d:?}");
    }
}
