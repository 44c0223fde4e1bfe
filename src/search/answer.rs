//! What kind of answer a question asks for, and whether a passage's words could give one.
//!
//! "How long is herceptin continued", "how often a spore test", "dexamethasone dose", "BMI
//! threshold", "can I give ibuprofen": a clinician's question often says what shape its answer
//! takes (a duration, a frequency, a dose, a cut-off, a recommendation), and the page that
//! answers holds that shape beside the question's words ("at least weekly", "cannot return
//! for five years", "25 nM dexamethasone"), where the page about the subject holds the words
//! alone. This is the answer-type step of classic question answering, kept to what a few
//! patterns can tell reliably; the page choice gives a passage whose best window holds the
//! asked kind a small bonus ([`crate::SearchOptions::answer_weight`], docs/EVALUATION.md,
//! "The kind of answer asked").

use regex::Regex;
use std::sync::LazyLock;

/// The kinds of answer a question asks for, a set (a question may ask for none), and the
/// side of a number it asks about, where it says one ("a cyst larger than 5 cm").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Asked {
    kinds: u8,
    bound: Option<Bound>,
}

/// A side of a number: "larger than 5 cm", "over 40 kg", "GFR <10 ml/min". Guidelines part
/// their advice at such numbers, in pairs of sections that differ by the sign alone
/// ("hepatic cyst types CE2 or CE3b ≤ 5 cm" and "... > 5 cm"), where the words cannot tell
/// the section asked for from its twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bound {
    /// Above the number (or at it: "at least", "≥"), else below it.
    above: bool,
    /// The number, in thousandths (so that the bound compares whole).
    milli: i64,
}

/// One kind of answer: how it is asked, and what in a passage gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// "how long", "how soon", "when can": a span of time ("5 years", "3–6 months").
    Duration,
    /// "how often": a rate in time ("weekly", "once a year", "every 3 months").
    Frequency,
    /// "what percent", "how common", "detection rate": a share ("40%", "two-thirds", "11 of 400").
    Proportion,
    /// "dose": an amount or a concentration of a drug ("500 mg", "10 mg/kg", "100 units",
    /// "100 nM").
    Dose,
    /// "threshold", "cut-off", "target": a bound ("> 27 kg/m2", "below 10 000").
    Threshold,
    /// "how many", "how much", "number of", asked of anything else: a number.
    Count,
    /// "can I give", "should", "is it safe": a recommendation ("is contraindicated",
    /// "WHO suggests against", "can be used").
    Advice,
}

const KINDS: [Kind; 7] = [
    Kind::Duration,
    Kind::Frequency,
    Kind::Proportion,
    Kind::Dose,
    Kind::Threshold,
    Kind::Count,
    Kind::Advice,
];

/// A number in words or digits, as a duration or a frequency gives it.
const NUMBER: &str = concat!(
    r"(?:\d+(?:[.,·]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve",
    r"|fifteen|twenty|thirty|forty|fifty|hundred|a few|several|dozen)",
);

impl Asked {
    /// The kinds of answer `query` asks for: none where it only names a subject.
    pub fn of(query: &str) -> Asked {
        static CUES: LazyLock<[(Kind, Regex); 5]> = LazyLock::new(|| {
            let cue = |pattern: &str| Regex::new(&format!("(?i){pattern}")).expect("valid");
            [
                (
                    Kind::Duration,
                    cue(concat!(
                        r"how long|duration|for how many (?:days|weeks|months|years)",
                        r"|how many (?:days|weeks|months|years|hours|minutes|seconds)",
                        r"|how soon|when can|how much time",
                    )),
                ),
                (
                    Kind::Frequency,
                    cue(r"how often|how frequently|frequency|interval"),
                ),
                (
                    Kind::Proportion,
                    cue(concat!(
                        r"percent|%|fraction|proportion|how common|\brate\b|prevalence",
                        r"|incidence|how likely|what share",
                    )),
                ),
                (
                    Kind::Dose,
                    cue(r"\bdose|dosage|dosing|how much\b.*(?:give|take)"),
                ),
                (
                    Kind::Threshold,
                    cue(r"threshold|cut-?off|above what|below what|target"),
                ),
            ]
        });
        static COUNT: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"(?i)how many|how much|number of").expect("valid"));
        static ADVICE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(concat!(
                r"(?i)^\s*(?:can|could|should|is|are|do|does|may|must)\b",
                r"|\b(?:safe|recommended|allowed|ok)\b",
            ))
            .expect("valid")
        });
        let mut asked = Asked::default();
        for (kind, cue) in CUES.iter() {
            if cue.is_match(query) {
                asked.insert(*kind);
            }
        }
        // "How many" of something that is not a span, a share or a dose asks for a number.
        if asked.is_empty() && COUNT.is_match(query) {
            asked.insert(Kind::Count);
        }
        // A yes-or-no question ("can I give ...", "... in pregnancy?") asks for advice; a
        // question mark after a number asked for leaves it a number.
        if ADVICE.is_match(query) || (asked.is_empty() && query.trim_end().ends_with('?')) {
            asked.insert(Kind::Advice);
        }
        // The question's own bound: the first it states (a question rarely states two).
        asked.bound = bounds(query).next();
        asked
    }

    /// Whether the question asks for no particular kind of answer.
    pub fn is_empty(self) -> bool {
        self.kinds == 0
    }

    fn insert(&mut self, kind: Kind) {
        self.kinds |= 1 << kind as u8;
    }

    fn contains(self, kind: Kind) -> bool {
        self.kinds & (1 << kind as u8) != 0
    }

    /// Whether `text` holds an answer of a kind the question asks for. Where the question
    /// states a bound, a text that states it too answers, and a text that states only the
    /// other side of the same number answers the twin question, not this one.
    pub fn answered_by(self, text: &str) -> bool {
        if let Some(bound) = self.bound {
            let (mut same, mut other) = (false, false);
            for b in bounds(text).filter(|b| b.milli == bound.milli) {
                same |= b.above == bound.above;
                other |= b.above != bound.above;
            }
            if same {
                return true;
            }
            if other {
                return false;
            }
        }
        KINDS
            .iter()
            .any(|&kind| self.contains(kind) && holds(kind, text))
    }
}

/// The bounds `text` states: a comparison in words or signs before a number ("larger than 5",
/// "over 40", "≤ 5", "<10", "below 50k", "below 50 000").
fn bounds(text: &str) -> impl Iterator<Item = Bound> + '_ {
    static BOUND: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"(?i)(?:(?P<above>(?:\b(?:larger|greater|bigger|more|higher|longer|older|heavier)",
            r"\s+than|\b(?:over|above|exceeding|beyond|at\s+least)\b|>=|≥|>)\s*)",
            r"|(?P<below>(?:\b(?:smaller|less|lower|fewer|shorter|younger|lighter)\s+than",
            r"|\b(?:under|below|at\s+most|up\s+to)\b|<=|≤|<)\s*))",
            r"(?P<number>\d{1,3}(?:[ \u{2009}\u{202F},]\d{3})+(?:\.\d+)?",
            r"|(?P<decimal>\d+),\d+|\d+(?:\.\d+)?)",
            r"(?P<thousand>\s?k\b)?",
        ))
        .expect("valid")
    });
    BOUND.captures_iter(text).filter_map(|c| {
        // A comma not followed by three digits is a decimal comma ("below 0,5"); one that is
        // groups thousands ("50,000"), as English papers and most others write them.
        let digits: String = match c.name("decimal") {
            Some(_) => c["number"].replace(',', "."),
            None => c["number"]
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '.')
                .collect(),
        };
        let value: f64 = digits.parse().ok()?;
        let value = if c.name("thousand").is_some() {
            value * 1000.0
        } else {
            value
        };
        Some(Bound {
            above: c.name("above").is_some(),
            milli: (value * 1000.0).round() as i64,
        })
    })
}

/// Whether `text` holds an answer of this kind.
fn holds(kind: Kind, text: &str) -> bool {
    // One pattern a kind, in the order of [`KINDS`] (the kind's own number).
    static ANSWERS: LazyLock<Vec<Option<Regex>>> = LazyLock::new(|| {
        KINDS
            .iter()
            .map(|&kind| {
                answer_pattern(kind)
                    .map(|pattern| Regex::new(&format!("(?i){pattern}")).expect("valid"))
            })
            .collect()
    });
    match &ANSWERS[kind as usize] {
        Some(answer) => answer.is_match(text),
        None => holds_count(text),
    }
}

/// The pattern of an answer of this kind (case aside); `None` for a count, which
/// [`holds_count`] tells.
fn answer_pattern(kind: Kind) -> Option<String> {
    let unit = concat!(
        r"(?:s|secs?|seconds?|min|mins|minutes?|h|hrs?|hours?|days?|weeks?|wks?|months?",
        r"|mos?|years?|yrs?)",
    );
    Some(match kind {
        Kind::Duration => format!(r"\b{NUMBER}(?:\s?[-–]\s?{NUMBER})?[\s-]?{unit}\b"),
        Kind::Frequency => format!(
            concat!(
                r"\b(?:once|twice|{number} times)\b|\bevery\b",
                r"|\b(?:daily|weekly|monthly|annually|yearly|fortnightly)\b",
                r"|\bper (?:day|week|month|year)\b|\ba (?:day|week|month|year)\b",
            ),
            number = NUMBER
        ),
        Kind::Proportion => concat!(
            r"\d\s?%|\bper ?cent\b",
            r"|\b(?:one|two|three|four)[- ](?:thirds?|quarters?|fifths?|halves|half)\b",
            r"|\bhalf\b|\b\d+ (?:of|in|out of) \d+|\b\d+/\d+\b|\bmajority\b",
        )
        .to_string(),
        // Molar units keep their case: "50 mm" is a length. Micro is also written "u" ("ug/mL",
        // "1 uM"), as plain text and OCR spell µ, and units "U" ("5000 U heparin", "50 U/mL"),
        // whose case keeps "5 u" (a letter in a list) out.
        Kind::Dose => concat!(
            r"\b\d+(?:[.,]\d+)?\s?(?:mg|g|µg|μg|ug|mcg|ng|ml|IU|units?|mmol|µmol|μmol|umol",
            r"|mEq|(?-i:[nµμum]M|U))\b",
        )
        .to_string(),
        Kind::Threshold => concat!(
            r"[<>≥≤]\s?\d",
            r"|\b(?:above|below|greater than|less than|at least|more than|over|under",
            r"|exceeding)\s\d",
        )
        .to_string(),
        Kind::Advice => concat!(
            r"\b(?:recommend\w*|suggest(?:s|ed)?|should|must|contraindicated|avoid\w*",
            r"|safe(?:ly|ty)?|not be (?:used|given)|can be (?:used|given)|indicated|advised?",
            r"|offer)\b",
        )
        .to_string(),
        Kind::Count => return None,
    })
}

/// Whether `text` holds a number that counts something: not a year, a citation ("[12]",
/// "(6)"), a section ("2.2.1") or part of a name ("A549", "5mC").
fn holds_count(text: &str) -> bool {
    static DIGITS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\d+(?:[.,]\d+)?").expect("valid"));
    static WORDS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"(?i)\b(?:two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred",
            r"|thousand|million|billion|dozens?)\b",
        ))
        .expect("valid")
    });
    let glued = |c: char| c.is_alphanumeric() || c == '_';
    let counts = DIGITS.find_iter(text).any(|m| {
        let before = text[..m.start()].chars().next_back();
        let mut after = text[m.end()..].chars();
        let next = after.next();
        let year = m.len() == 4 && (m.as_str().starts_with("19") || m.as_str().starts_with("20"));
        let cited_or_named = before.is_some_and(|c| glued(c) || "[(.,".contains(c))
            || next.is_some_and(|c| glued(c) || "])".contains(c));
        let section = next == Some('.') && after.next().is_some_and(|c| c.is_ascii_digit());
        !(year || cited_or_named || section)
    });
    counts || WORDS.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds a question asks for, by name, for readable assertions.
    fn kinds(query: &str) -> Vec<Kind> {
        let asked = Asked::of(query);
        KINDS.into_iter().filter(|&k| asked.contains(k)).collect()
    }

    #[test]
    fn questions_say_what_kind_of_answer_they_want() {
        use Kind::*;
        assert_eq!(
            kinds("how long is herceptin continued in early HER2+ breast cancer"),
            [Duration]
        );
        assert_eq!(
            kinds("when can a survivor go back to screening"),
            [Duration]
        );
        assert_eq!(
            kinds("how often spore test for office autoclave"),
            [Frequency]
        );
        assert_eq!(
            kinds("what percent of bronchiolitis is due to rhinovirus"),
            [Proportion]
        );
        assert_eq!(kinds("paracetamol dose if GFR <10 ml/min"), [Dose]);
        assert_eq!(
            kinds("BMI threshold to start anti-obesity drugs"),
            [Threshold]
        );
        assert_eq!(
            kinds("how many neutrophils does the marrow produce"),
            [Count]
        );
        assert_eq!(
            kinds("can I give ibuprofen for chikungunya joint pain"),
            [Advice]
        );
        assert_eq!(
            kinds("transfuse platelets with count below 50k but no bleeding?"),
            [Advice]
        );
        // A span asked in days is a duration, not a bare number; a question mark after it
        // asks no advice.
        assert_eq!(
            kinds("for how many weeks were antiarrhythmics given?"),
            [Duration]
        );
        // A subject alone asks for nothing in particular.
        assert!(Asked::of("rhinovirus bronchiolitis asthma").is_empty());
        assert!(Asked::of("").is_empty());
    }

    #[test]
    fn passages_hold_the_kind_asked_or_not() {
        let asked = |q: &str, text: &str| Asked::of(q).answered_by(text);
        assert!(asked(
            "how long",
            "cannot return to BreastScreen for five years after"
        ));
        assert!(asked("how long", "follow-up at 3–6 months"));
        assert!(!asked(
            "how long",
            "Women who have had breast cancer see their doctor."
        ));
        assert!(asked(
            "how often",
            "is used at least weekly for each sterilizer"
        ));
        assert!(asked("how often", "once a year thereafter"));
        assert!(!asked(
            "how often",
            "Sterile packs are labeled with a load number."
        ));
        assert!(asked("what percent", "up to 40% of asymptomatic children"));
        assert!(asked("what fraction", "Around two-thirds of individuals"));
        assert!(asked("what fraction", "from 2·8% (11 of 400 individuals)"));
        assert!(asked("dose", "500 mg every 8 hours"));
        assert!(asked("dose", "a loading dose of 150 mg/kg"));
        assert!(asked("dose", "treated with 100 nM dexamethasone"));
        assert!(asked("dose", "supplemented with 50 ug/mL streptomycin"));
        assert!(asked("dose", "treated with 1 uM pladienolide B"));
        assert!(asked("dose", "heparin 5000 U subcutaneously"));
        assert!(asked("dose", "insulin 0.1 U/kg per hour"));
        // Millimetres are not millimoles: the molar units keep their case.
        assert!(!asked("dose", "a cyst of 50 mm"));
        assert!(!asked("dose", "FKBP5 in A549 cells (Figure 2)"));
        assert!(asked("threshold", "in individuals with a BMI >27 kg/m2"));
        assert!(asked("threshold", "a count below 10 000 per microlitre"));
        assert!(asked(
            "can I give",
            "NSAIDs are contraindicated until dengue is excluded"
        ));
        assert!(asked(
            "can I give",
            "WHO suggests against prophylactic transfusion"
        ));
        assert!(!asked(
            "can I give",
            "Dengue is caused by one of four viruses."
        ));
    }

    #[test]
    fn a_bound_asked_is_answered_by_its_side_of_the_number_not_the_other() {
        let asked = |q: &str, text: &str| Asked::of(q).answered_by(text);
        let q = "CE2 or CE3b hepatic cyst larger than 5 cm recommended treatment";
        assert!(asked(
            q,
            "types CE2 or CE3b > 5 cm, surgery combined with ALB"
        ));
        assert!(asked(q, "types CE2 or CE3b>5 cm"));
        // Its twin section: a recommendation, and still not this question's answer.
        assert!(!asked(
            q,
            "In patients with types CE2 or CE3b ≤ 5 cm, we recommend ALB"
        ));
        // A text without the number answers as the kinds asked say.
        assert!(asked(q, "we recommend surgery"));
        assert!(!asked(q, "Cysts were staged by ultrasound."));
        assert!(asked(
            "paracetamol dose if GFR <10 ml/min",
            "GFR <10 ml/min: 500 mg every 8 hours"
        ));
        assert!(asked(
            "platelets below 50k?",
            "a count below 50 000 per microlitre"
        ));
        assert!(!asked(
            "platelets below 50k?",
            "counts above 50,000 are safe"
        ));
        assert!(asked("adult over 40 kg", "Adults ≥40 kg: 150 mg/kg"));
        // A decimal comma is a decimal point, not the end of the number.
        assert!(asked("lactate below 0,5", "lactate below 0.5 mmol/L"));
        assert!(!asked("lactate below 0,5", "lactate above 0,5 mmol/L"));
        assert!(!asked("lactate below 0,5", "lactate below 0 mmol/L"));
        // Another number on the other side is another bound.
        assert!(asked(
            "can I give it under 10 years?",
            "should be given above 65 years"
        ));
    }

    #[test]
    fn each_kind_is_at_its_own_number_in_the_list() {
        // `holds` finds a kind's pattern by the kind's number.
        for (i, kind) in KINDS.iter().enumerate() {
            assert_eq!(*kind as usize, i, "{kind:?}");
        }
    }

    #[test]
    fn a_count_is_not_a_year_a_citation_a_section_or_a_name() {
        assert!(holds_count("more than 25 billion neutrophils"));
        assert!(holds_count("in 205 transcription site images"));
        assert!(holds_count("three or more episodes"));
        assert!(!holds_count("as reported in 2019 [12] and (6)"));
        assert!(!holds_count("2.2.1 Dengue in A549 and 5mC"));
        assert!(!holds_count("no number here"));
    }
}
