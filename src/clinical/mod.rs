//! What a clinician reads a paper by before reading it: the kind of evidence it is
//! ([`design`]) and the trial it reports ([`trials`]). Pure functions over a paper's text, run
//! where the text is read (the extraction worker) and stored with the paper's record.

pub mod abbrev;
mod cues;
pub mod design;
pub mod eval;
pub mod trials;

pub use design::{classify, Design, DesignLabel, DesignSource};
pub use trials::{paper_trial_ids, trial_ids};

/// The registrations that are a paper's own, given its design: a study's registry ids; a
/// systematic review's PROSPERO record only (the trials it includes are other papers'); none
/// for designs that are not registered (a guideline, a narrative review, a case report name
/// the trials they discuss).
pub fn own_registrations(design: DesignLabel, ids: Vec<String>) -> Vec<String> {
    use DesignLabel as L;
    match design {
        L::MetaAnalysis | L::SystematicReview => {
            ids.into_iter().filter(|id| id.starts_with("CRD")).collect()
        }
        L::Rct
        | L::NonRandomisedTrial
        | L::Cohort
        | L::CaseControl
        | L::CrossSectional
        | L::Other => ids
            .into_iter()
            .filter(|id| !id.starts_with("CRD"))
            .collect(),
        L::Guideline
        | L::CaseReport
        | L::NarrativeReview
        | L::Editorial
        | L::BasicScience
        | L::PatientInformation => Vec::new(),
    }
}
