//! The cues the design rules look for: phrases a paper prints, where it prints them, and how
//! much each says. Kept apart from the rules (`design.rs`) so that the table reads as one.
//!
//! A cue *names* a design ("randomly assigned", "systematic review") or only *supports* one
//! ("double-blind", "MEDLINE", "heterogeneity"): a supporting cue counts only where a naming
//! cue of the same design fired too, so that a text-mining paper that searched MEDLINE is no
//! systematic review and a cohort that mentions heterogeneity no meta-analysis.

use std::sync::LazyLock;

use regex::Regex;

use super::DesignLabel;

/// Where on the paper a cue is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Region {
    /// The title.
    Title,
    /// The venue, the running heads' short lines and the start of the first page (an
    /// article-type label: "EDITORIAL", "Review").
    Masthead,
    /// The first pages: title, authors, abstract.
    Head,
    /// The text up to the reference list.
    Body,
}

impl Region {
    /// Every region.
    pub(super) const ALL: [Region; 4] =
        [Region::Title, Region::Masthead, Region::Head, Region::Body];

    /// Where, in words ("in the title").
    pub(super) fn words(self) -> &'static str {
        match self {
            Region::Title => "in the title",
            Region::Masthead => "at the head of the paper",
            Region::Head => "in the abstract",
            Region::Body => "in the text",
        }
    }
}

/// Whether a cue names a design or only supports one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// It says what the paper is.
    Names,
    /// It counts only beside a cue that names the same design.
    Supports,
}

/// One cue: a pattern in a region that speaks for a label with a weight.
pub(super) struct Cue {
    pub label: DesignLabel,
    pub region: Region,
    pub weight: f32,
    /// How many different phrases it counts (a lexicon: "mice", "western blot", "plasmid"
    /// are three signs of a laboratory), each with the weight.
    pub hits: usize,
    pub role: Role,
    pub pattern: Regex,
}

/// The cues, over lower-cased text with dashes as `-` and single spaces.
pub(super) static CUES: LazyLock<Vec<Cue>> = LazyLock::new(|| {
    use DesignLabel as L;
    use Region as R;
    const N: Role = Role::Names;
    const S: Role = Role::Supports;
    #[rustfmt::skip]
    let table: &[(L, R, f32, usize, Role, &str)] = &[
        // The title says what the paper is.
        (L::MetaAnalysis, R::Title, 10.0, 1, N, r"meta-?analy[sz]\w*|pooled analysis|network meta"),
        (L::SystematicReview, R::Title, 9.0, 1, N, r"systematic (?:literature )?review|scoping review|umbrella review|rapid review|cochrane review|evidence synthesis"),
        (L::Guideline, R::Title, 8.0, 1, N, r"guidelines?\b|recommendations\b|consensus (?:statement|conference|report)|position (?:statement|paper)|practice parameters?|clinical management of|standards of (?:medical )?care|clinical practice"),
        (L::Rct, R::Title, 9.0, 1, N, r"randomi[sz]ed,?(?: [a-z-]+,?){0,4} trial\b|randomi[sz]ed controlled study|\brct\b"),
        (L::Rct, R::Title, 3.0, 1, N, r"double-blind|placebo-controlled|phase (?:iii|3) trial"),
        (L::NonRandomisedTrial, R::Title, 8.0, 1, N, r"non-?randomi[sz]ed|single-arm|quasi-experimental|before-and-after|uncontrolled trial"),
        (L::Cohort, R::Title, 8.0, 1, N, r"cohort|longitudinal study|follow-up study|registry"),
        (L::CaseControl, R::Title, 9.0, 1, N, r"case-control|test-negative"),
        (L::CrossSectional, R::Title, 7.0, 1, N, r"cross-sectional|prevalence|survey\b|situational analysis"),
        (L::CaseReport, R::Title, 9.0, 1, N, r"case reports?\b|case series|\ba case of\b|\ba rare case\b|report of (?:a|an|two|three|four) cases?|\b\d+ (?:[a-z-]+ ){0,5}cases\b"),
        (L::NarrativeReview, R::Title, 6.0, 1, N, r"\breview\b|\boverview\b|\ba perspective\b|state of the art|\bupdate on\b|current concepts"),
        (L::Editorial, R::Title, 9.0, 1, N, r"\beditorial\b|\bcommentary\b|\bviewpoint\b|letter to the editor|in memoriam"),
        (L::PatientInformation, R::Title, 8.0, 1, N, r"patient information|information for patients|a guide for patients|patient guide|\bleaflet\b|\bbooklet\b|\byour\b"),
        (L::Other, R::Title, 8.0, 1, N, r"(?:study|trial|review|research) protocol|protocol (?:for|of) (?:a|an|the) "),
        (L::Other, R::Title, 4.0, 1, N, r"qualitative|focus groups?|experiences of"),
        (L::Other, R::Title, 6.0, 1, N, r"\btool for\b|\bchecklist\b|reporting (?:guidelines?|standards?)|guidance (?:for|on) (?:reporting|conducting)"),
        // An article-type label printed above the title.
        (L::Editorial, R::Masthead, 8.0, 1, N, r"\beditorial\b|\bcommentary\b|\bviewpoint\b"),
        (L::NarrativeReview, R::Masthead, 5.0, 1, N, r"\breview(?: article)?\b|\bmini-review\b"),
        (L::Other, R::Masthead, 4.0, 1, N, r"methods (?:&|and) reporting|study protocol|research methods"),
        (L::SystematicReview, R::Masthead, 8.0, 1, N, r"cochrane database of systematic reviews"),
        // The abstract says how it was done.
        (L::Rct, R::Head, 7.0, 1, N, r"randomly (?:assigned|allocated)|were randomi[sz]ed|underwent randomi[sz]ation|randomi[sz]ed (?:in a|to receive|\d:\d)|(?:this|a|the|our) (?:[a-z-]+,? ){0,5}randomi[sz]ed,? (?:[a-z-]+,? ){0,4}(?:trial|study)\b"),
        (L::Rct, R::Head, 2.0, 1, S, r"double-blind|placebo-controlled|allocation concealment|intention-to-treat"),
        (L::Rct, R::Head, 2.0, 1, S, r"trial registration|clinicaltrials\.gov|registered (?:at|with|in) "),
        (L::SystematicReview, R::Head, 3.0, 1, N, r"we searched|were searched|systematic(?:ally)? (?:literature )?(?:search|review)"),
        (L::SystematicReview, R::Head, 2.0, 2, S, r"medline|embase|cochrane (?:library|central|database)|web of science|pubmed|cinahl"),
        (L::SystematicReview, R::Head, 3.0, 1, N, r"\bprisma\b|\bprospero\b"),
        (L::SystematicReview, R::Head, 2.0, 2, S, r"data sources|study selection|eligibility criteria|included (?:studies|trials)"),
        (L::MetaAnalysis, R::Head, 3.0, 1, N, r"meta-?analy[sz]\w*"),
        (L::MetaAnalysis, R::Head, 5.0, 1, N, r"(?:we|this|the present|our) (?:[a-z]+ ){0,3}(?:systematic review and )?meta-?analys[ie]s|the meta-?analysis (?:used|included|showed|found|was)"),
        (L::MetaAnalysis, R::Head, 2.0, 1, S, r"pooled (?:analysis|estimate|risk|odds|data|mean|relative)|random-effects?|fixed-effects?|heterogeneity|forest plot|\bi2\b|\bi²"),
        (L::Guideline, R::Head, 3.0, 1, N, r"this guideline|these guidelines|guideline (?:development|group|panel|committee)"),
        (L::Guideline, R::Head, 3.0, 1, N, r"strength of (?:the )?recommendations?|grade (?:approach|methodology|system)|good practice (?:points?|statements?)|we recommend|are recommended|recommendations (?:are|were|for)"),
        (L::Guideline, R::Head, 2.0, 1, N, r"world health organi[sz]ation|national institute for health and care excellence|\bnice\b"),
        (L::NonRandomisedTrial, R::Head, 6.0, 1, N, r"non-?randomi[sz]ed (?:trial|study|controlled)|single-arm|quasi-experimental|open-label,? (?:single|phase (?:i|ii|1|2)\b)"),
        (L::Cohort, R::Head, 4.0, 1, N, r"cohort"),
        (L::Cohort, R::Head, 2.0, 2, N, r"prospectively (?:followed|enrolled|collected)|retrospective(?:ly)? (?:analy|review|study)|followed (?:up )?for|person-years|propensity[- ]score|hazard ratio|incidence"),
        (L::CaseControl, R::Head, 6.0, 1, N, r"case-control|matched controls|test-negative|controls were (?:matched|selected|recruited)"),
        (L::CrossSectional, R::Head, 5.0, 1, N, r"cross-sectional"),
        (L::CrossSectional, R::Head, 2.0, 2, N, r"\bsurvey\b|questionnaire"),
        (L::CrossSectional, R::Head, 2.0, 2, S, r"prevalence|checklists?|(?:describes|assessed) the (?:status|current)"),
        (L::CaseReport, R::Head, 6.0, 1, N, r"we (?:report|present|describe)(?: here)? (?:a|an|the|two|three) (?:[a-z-]+ ){0,3}(?:case|patient)|case (?:presentation|description|report)|a \d+-year-old (?:man|woman|male|female|boy|girl|patient|child)"),
        (L::NarrativeReview, R::Head, 3.0, 1, N, r"in this review|this review (?:summari|discuss|describ|focus|provid|highlight)|we review|here,? we (?:summari[sz]e|review|discuss|highlight)"),
        (L::NarrativeReview, R::Head, 2.0, 1, S, r"recent advances|we discuss|current (?:evidence|knowledge|understanding)"),
        (L::Editorial, R::Head, 3.0, 1, N, r"in this issue"),
        (L::BasicScience, R::Head, 1.5, 6, N, r"\b(?:mice|mouse|murine|rats?|monkeys?|macaques?|primates?|rodents?|neurons?|organoids?|in silico|bacteri\w+|phages?|genomes?|transcriptom\w*|proteom\w*|zebrafish|drosophila|c\. elegans|yeast|e\. coli|arabidopsis|in vitro|cell lines?|plasmids?|western blot|knock(?:out|down)|crispr|transfect\w*|recombinant|protein|enzymes?|gene expression|rna-seq|sequencing|crystal structure|molecular dynamics|simulations?|algorithms?|theorem|lemma|we propose|neural network|equations?|spectroscop\w*|quantum|semantic|corpus)\b"),
        (L::PatientInformation, R::Head, 3.0, 1, N, r"ask your (?:doctor|nurse|pharmacist|gp)|talk to your|this (?:leaflet|booklet)|information for patients|you may (?:need|have|be)"),
        (L::Other, R::Head, 3.0, 1, N, r"focus groups?|semi-structured interviews?|thematic analysis|qualitative (?:study|research|analysis)"),
        (L::Other, R::Head, 4.0, 1, N, r"study protocol|trial protocol|this protocol describes|risk of bias tool|tool for assessing (?:the )?risk of bias|reporting guideline"),
        // The body confirms.
        (L::SystematicReview, R::Body, 3.0, 1, N, r"\bprisma\b|flow diagram of (?:study|the) (?:selection|search)|search strategy"),
        (L::Rct, R::Body, 2.0, 1, N, r"\bconsort\b|randomly (?:assigned|allocated)|randomi[sz]ation (?:sequence|was|list)"),
        (L::CaseControl, R::Body, 2.0, 1, N, r"case-control|test-negative"),
        (L::Cohort, R::Body, 1.0, 1, N, r"cohort study|cohort of"),
    ];
    table
        .iter()
        .map(|&(label, region, weight, hits, role, pattern)| Cue {
            label,
            region,
            weight,
            hits,
            role,
            pattern: Regex::new(pattern).expect("a design cue's pattern"),
        })
        .collect()
});
