//! The page and the highlight: which of a paper's passages it opens at, and which of that
//! passage's sentences its snippet (the text the viewer highlights) shows.
//!
//! A paper's best passages compete for its page by their fused score plus the share of the
//! query's weight that their best window of sentences holds ("small to big"), measured on the
//! page-level sets (docs/EVALUATION.md, the right page).

use std::collections::{HashMap, HashSet};

use super::coverage::Coverage;
use super::snippet::snippet;
use super::window::best_window;
use crate::catalog::ChunkRow;
use crate::index::lexical::analyze;

/// How long a snippet may be, in characters.
pub(super) const SNIPPET_CHARS: usize = 280;

/// A query's distinct analysed terms, each with the weight it carries when a short window of
/// text is scored (its inverse document frequency: a rare word says more about where the
/// answer is than a common one).
#[derive(Debug, Clone, Default)]
pub struct TermWeights {
    terms: Vec<(String, f32)>,
    pub(super) total: f32,
}

impl TermWeights {
    /// Weights as given; negative or non-finite ones count as 0.
    pub fn new(terms: Vec<(String, f32)>) -> Self {
        let terms: Vec<(String, f32)> = terms
            .into_iter()
            .map(|(t, w)| (t, if w.is_finite() { w.max(0.0) } else { 0.0 }))
            .collect();
        let total = terms.iter().map(|t| t.1).sum();
        TermWeights { terms, total }
    }

    /// Every term of `query` weighing the same: where no index tells how rare a word is.
    pub fn uniform(query: &str) -> Self {
        let mut seen = HashSet::new();
        TermWeights::new(
            analyze(query)
                .into_iter()
                .filter(|t| seen.insert(t.0.clone()))
                .map(|t| (t.0, 1.0))
                .collect(),
        )
    }

    /// The terms.
    pub fn terms(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.0.as_str())
    }

    /// The terms with their weights.
    pub(super) fn entries(&self) -> impl Iterator<Item = (&str, f32)> {
        self.terms.iter().map(|t| (t.0.as_str(), t.1))
    }

    /// The sum of the weights.
    pub(super) fn total(&self) -> f32 {
        self.total
    }

    /// The share (0 to 1) of the weight whose terms are among `terms` (a text's analysed
    /// terms), each counted once.
    fn share_of(&self, terms: &[(String, usize)]) -> f32 {
        if self.total <= 0.0 {
            return 0.0;
        }
        let held: f32 = self
            .terms
            .iter()
            .filter(|(t, _)| terms.iter().any(|x| &x.0 == t))
            .map(|t| t.1)
            .sum();
        (held / self.total).clamp(0.0, 1.0)
    }

    pub(super) fn weight(&self, term: &str) -> Option<f32> {
        self.terms.iter().find(|t| t.0 == term).map(|t| t.1)
    }

    /// These weights, each scaled by the share of `texts` (analysed) that lack the term (plus
    /// [`WITHIN_FLOOR`]): a term in every one of them weighs almost nothing among them.
    fn within(&self, texts: &[Vec<(String, usize)>]) -> TermWeights {
        if texts.is_empty() {
            return self.clone();
        }
        let n = texts.len() as f32;
        TermWeights::new(
            self.terms
                .iter()
                .map(|(t, w)| {
                    let df = texts.iter().filter(|x| x.iter().any(|y| &y.0 == t)).count();
                    // A little of the global weight stays: a term in seven candidates of eight
                    // must not decide the window alone where the rarer ones weigh nothing.
                    (t.clone(), w * (1.0 - df as f32 / n + WITHIN_FLOOR))
                })
                .collect(),
        )
    }
}

/// What a term in every candidate keeps of its weight when the highlight is chosen.
const WITHIN_FLOOR: f32 = 0.05;
/// How many of a paper's best passages compete for its page.
const PAGE_CANDIDATES: usize = 8;
/// What a passage's score keeps when it is part of a reference list
/// ([`crate::chunk::is_reference_list`]): a bibliography names the question's subject in every
/// title and answers nothing, so it opens only where nothing else in the paper matches as well.
const REFERENCE_PRIOR: f32 = 0.5;
/// What a passage's score keeps when it is front matter that lists
/// ([`crate::chunk::is_front_matter`]: contents, abbreviations, a glossary), for the same
/// reason as a reference list's.
const FRONT_MATTER_PRIOR: f32 = 0.5;
/// Passages shorter than this (in bytes) have their fused score scaled down in proportion
/// when the page is chosen: a title page, a running head or a page's last lines match a
/// question about the paper's subject by its words alone, and answer nothing. A full passage
/// is about 1,000 to 1,500 bytes.
const FULL_PASSAGE_BYTES: usize = 800;

/// A candidate's fused score against the paper's best, 0 to 1: the ratio where the best is
/// positive (the usual case: fused and keyword scores are, and cosines nearly always), else
/// min-max over the candidates (cosines all negative would make every ratio meaningless).
fn relative_score(score: f32, top: f32, bottom: f32) -> f32 {
    if top > 0.0 {
        (score / top).clamp(0.0, 1.0)
    } else if top > bottom {
        (score - bottom) / (top - bottom)
    } else {
        1.0
    }
}

/// A passage competing for its paper's page.
pub(super) struct Candidate<'a> {
    pub(super) row: &'a ChunkRow,
    /// Its fused score.
    pub(super) score: f32,
    /// What its snippet shows, as byte offsets into the passage text: its best window, or the
    /// whole passage where none was scored.
    pub(super) window: (usize, usize),
}

impl Candidate<'_> {
    /// The snippet: the window, cut and marked as [`snippet`] does, with an ellipsis wherever
    /// the passage goes on.
    pub(super) fn snippet(&self, terms: &HashSet<String>) -> String {
        let (a, b) = self.window;
        let text = &self.row.text;
        let inner = snippet(&text[a..b], terms, SNIPPET_CHARS);
        let mut out = String::with_capacity(inner.len() + 8);
        if a > 0 && !inner.starts_with('…') {
            out.push('…');
        }
        out.push_str(&inner);
        if b < text.len() && !inner.ends_with('…') {
            out.push('…');
        }
        out
    }
}

/// How a paper's passages compete for its page ([`choose_pages`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageWeights {
    /// What a passage's best window's share of the query's weight adds
    /// ([`crate::SearchOptions::window_weight`]).
    pub window: f32,
    /// What the share of the query's weight its page holds beyond its own adds
    /// ([`crate::SearchOptions::page_weight`]).
    pub page: f32,
    /// What a passage's best window adds when it holds the kind of answer `asked`
    /// ([`crate::SearchOptions::answer_weight`]).
    pub answer: f32,
    /// The kinds of answer the question asks for.
    pub asked: super::answer::Asked,
}

/// Orders a paper's passages (best fused score first) for its page, best page first.
///
/// Each of the first [`PAGE_CANDIDATES`] scores its fused score relative to the paper's best
/// (scaled down when it is short, see [`FULL_PASSAGE_BYTES`]), plus `weights.window` times its
/// best window's share of the query's weight, plus `weights.page` times the share its whole
/// page holds beyond the passage's own (its text from `page_text`; [`super::coverage`]), all
/// scaled by
/// [`REFERENCE_PRIOR`] for a passage of references; the candidates are ordered by that score,
/// and the passages past them follow in fused order. The usual miss was a page about the
/// question's subject beside the page that answers it: the window asks where the question's
/// rarer words come together, the page whether the words the passage lacks are around it. A
/// page is read only for a candidate that could still come first with it. No `weights` keeps
/// the fused order and whole-passage snippets (the ranking before windows, for comparison).
///
/// The window each snippet shows is chosen with the query's terms weighed again within these
/// candidates: a word in every one of them (the paper's subject) says nothing about where in
/// the passage the answer is (docs/EVALUATION.md, page level).
pub(super) fn choose_pages<'a>(
    list: &[(&'a ChunkRow, f32)],
    weights: &TermWeights,
    choice: Option<PageWeights>,
    coverage: &mut Coverage<'_>,
    page_text: &mut dyn FnMut(&ChunkRow) -> Option<String>,
) -> Vec<Candidate<'a>> {
    let whole = |row: &'a ChunkRow, score| Candidate {
        row,
        score,
        window: (0, row.text.len()),
    };
    let Some(choice) = choice else {
        return list.iter().map(|&(row, score)| whole(row, score)).collect();
    };
    if list.is_empty() {
        return Vec::new();
    }
    let n = list.len().min(PAGE_CANDIDATES);
    let analysed: Vec<Vec<(String, usize)>> = list[..n]
        .iter()
        .map(|(row, _)| {
            analyze(&row.text)
                .into_iter()
                .map(|(t, a, _)| (t, a))
                .collect()
        })
        .collect();
    let within = weights.within(&analysed);
    let top = list[0].1;
    let bottom = list[..n].iter().map(|c| c.1).fold(top, f32::min);
    // Each candidate's score without its page, and what scales it.
    let mut scored: Vec<(Option<f32>, Candidate<'a>)> = Vec::with_capacity(list.len());
    let mut prior = vec![1.0f32; n];
    for (i, &(row, score)) in list.iter().enumerate() {
        let Some(terms) = analysed.get(i) else {
            scored.push((None, whole(row, score)));
            continue;
        };
        let (window, share) = best_window(&row.text, terms, weights);
        // Where the question's words meet, the page that answers says what it asks for: a
        // duration, a dose, a recommendation (search/answer.rs).
        let typed = choice.answer > 0.0 && choice.asked.answered_by(&row.text[window.0..window.1]);
        let (shown, shown_share) = best_window(&row.text, terms, &within);
        let window = match (shown_share > 0.0, share > 0.0) {
            (true, _) => shown,
            (false, true) => window,
            (false, false) => (0, row.text.len()),
        };
        let relative = relative_score(score, top, bottom);
        let fullness = (row.text.len() as f32 / FULL_PASSAGE_BYTES as f32).min(1.0);
        if crate::chunk::is_reference_list(row.page, &row.text) {
            prior[i] = REFERENCE_PRIOR;
        } else if crate::chunk::is_front_matter(&row.text) {
            prior[i] = FRONT_MATTER_PRIOR;
        }
        let own =
            relative * fullness + choice.window * share + if typed { choice.answer } else { 0.0 };
        scored.push((Some(own), Candidate { row, score, window }));
    }
    // The pages, best candidate first, for as long as one could still come first: a page adds
    // at most `choice.page`, and each is read once.
    let mut page_score: HashMap<u32, f32> = HashMap::new();
    let mut order: Vec<usize> = (0..n).collect();
    let key = |i: usize| scored[i].0.unwrap_or(0.0) * prior[i];
    order.sort_by(|&a, &b| key(b).total_cmp(&key(a)));
    let mut shares: HashMap<u32, f32> = HashMap::new();
    let mut best = f32::MIN;
    for i in order {
        let own = scored[i].0.unwrap_or(0.0);
        let row = scored[i].1.row;
        let mut total = own * prior[i];
        // Only what the passage lacks counts: its own words are in its fused score and window
        // already, and counted twice they outweigh meaning ("exercise help fatigue cancer"
        // opened a page with all four words and no answer). So a passage that holds most of
        // the query cannot gain much, and its page is not read unless that could put it first.
        let held = weights.share_of(&analysed[i]);
        if choice.page > 0.0 && (own + choice.page * (1.0 - held)) * prior[i] > best {
            let share = *shares
                .entry(row.page)
                .or_insert_with(|| page_text(row).map_or(0.0, |t| coverage.share(&t)));
            let gain = (share - held).max(0.0);
            total = (own + choice.page * gain) * prior[i];
        }
        best = best.max(total);
        let page = page_score.entry(row.page).or_insert(f32::MIN);
        *page = page.max(total);
    }
    // The page chosen, its passages compete by their own scores for which one is shown: what
    // the page adds says where the answer is, not which of its passages holds it.
    for (s, p) in scored.iter_mut().zip(&prior) {
        s.0 = s.0.map(|own| own * p);
    }
    let rank = |s: &(Option<f32>, Candidate<'a>)| match s.0 {
        Some(own) => (page_score[&s.1.row.page], own),
        None => (f32::MIN, f32::MIN),
    };
    // Stable: passages past the candidates keep their fused order, after the candidates.
    scored.sort_by(|a, b| {
        let (a, b) = (rank(a), rank(b));
        b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1))
    });
    scored.into_iter().map(|s| s.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ChunkId;

    fn row(id: ChunkId, page: u32, text: &str) -> ChunkRow {
        ChunkRow {
            id,
            document: 1,
            page,
            start: 0,
            end: text.len(),
            text: text.to_string(),
            source: None,
            ocr: false,
        }
    }

    #[test]
    fn the_page_that_answers_beats_the_page_about_the_subject() {
        let filler = "Patients were followed in clinic and reviewed at each visit. ".repeat(14);
        let about = row(
            1,
            20,
            &format!("{filler}Trigeminal neuralgia is a painful condition of the face."),
        );
        let answers = row(
            2,
            21,
            &format!(
                "{filler}Carbamazepine for trigeminal neuralgia: the initial dose is 200 mg \
                 daily, increased every second day."
            ),
        );
        let title = row(3, 1, "Trigeminal neuralgia: a guideline");
        let list = [(&title, 1.0), (&about, 0.9), (&answers, 0.7)];
        let weights = TermWeights::uniform("carbamazepine starting dose trigeminal neuralgia");
        let choice = Some(PageWeights {
            window: 1.0,
            page: 0.0,
            answer: 0.0,
            asked: Default::default(),
        });
        let mut coverage = Coverage::new(&weights);
        let chosen = choose_pages(&list, &weights, choice, &mut coverage, &mut |_| None);
        assert_eq!(chosen[0].row.page, 21);
        // The snippet is the answering window, not the passage's start.
        let terms: HashSet<String> = weights.terms().map(str::to_string).collect();
        let shown = chosen[0].snippet(&terms);
        assert!(shown.starts_with("…<mark>Carbamazepine</mark>"), "{shown}");
        // Weight 0: the fused order and whole passages, as before windows.
        let fused = choose_pages(&list, &weights, None, &mut coverage, &mut |_| None);
        assert_eq!(fused[0].row.page, 1);
        assert_eq!(fused[1].window, (0, about.text.len()));
    }

    #[test]
    fn the_page_that_says_how_long_beats_the_page_that_says_the_words() {
        // The booklet's case: both pages hold the question's words; only one says when.
        let filler = "Your care team will talk with you about what suits you best. ".repeat(14);
        let about = row(
            1,
            64,
            &format!(
                "{filler}A breast cancer survivor can go back to BreastScreen when her \
                 doctor agrees."
            ),
        );
        let answers = row(
            2,
            63,
            &format!(
                "{filler}A breast cancer survivor can go back to BreastScreen five years \
                 after her diagnosis."
            ),
        );
        let list = [(&about, 1.0), (&answers, 0.95)];
        let query = "when can a breast cancer survivor go back to BreastScreen";
        let weights = TermWeights::uniform(query);
        let page = |answer: f32| {
            let choice = Some(PageWeights {
                window: 0.25,
                page: 0.0,
                answer,
                asked: super::super::answer::Asked::of(query),
            });
            let mut coverage = Coverage::new(&weights);
            choose_pages(&list, &weights, choice, &mut coverage, &mut |_| None)[0]
                .row
                .page
        };
        assert_eq!(page(crate::search::DEFAULT_ANSWER_WEIGHT), 63);
        // Without the kind of answer, the words and the fused score choose the other page.
        assert_eq!(page(0.0), 64);
    }

    #[test]
    fn the_words_around_a_passage_count_for_its_page() {
        let filler = "Patients were followed in clinic and reviewed at each visit. ".repeat(14);
        let about = row(
            1,
            20,
            &format!("{filler}In trigeminal neuralgia the dose is adjusted to the effect."),
        );
        let answers = row(
            2,
            21,
            &format!("{filler}1. Carbamazepine. The initial dose is 200 mg daily."),
        );
        // Page 21 names the disease in the title of the table below the passage.
        let pages = HashMap::from([
            (20, about.text.clone()),
            (
                21,
                format!(
                    "{} Table 20 Treatment of trigeminal neuralgia",
                    answers.text
                ),
            ),
        ]);
        let list = [(&about, 1.0), (&answers, 0.95)];
        let weights = TermWeights::uniform("carbamazepine dose trigeminal neuralgia");
        let mut coverage = Coverage::new(&weights);
        let mut read = Vec::new();
        let mut page_text = |r: &ChunkRow| {
            read.push(r.page);
            pages.get(&r.page).cloned()
        };
        let choose = |page, coverage: &mut Coverage<'_>, text: &mut dyn FnMut(&ChunkRow) -> _| {
            let choice = Some(PageWeights {
                window: 0.25,
                page,
                answer: 0.0,
                asked: Default::default(),
            });
            choose_pages(&list, &weights, choice, coverage, text)[0]
                .row
                .page
        };
        assert_eq!(choose(0.0, &mut coverage, &mut page_text), 20);
        let page = crate::search::DEFAULT_PAGE_WEIGHT;
        assert_eq!(choose(page, &mut coverage, &mut page_text), 21);
        assert_eq!(
            read,
            [20, 21],
            "each page read once, and only with a page weight"
        );
    }

    #[test]
    fn a_reference_list_opens_only_where_nothing_else_matches() {
        let refs = row(
            1,
            40,
            "19. Khuroo MS, Dar MY, Yattoo GN, Zargar SA, Javaid G, Khan BA, et al. Percutaneous \
             drainage versus albendazole therapy in hepatic hydatidosis. Gastroenterology. \
             1993;104(5):1452-9. 20. Khuroo MS, Wani NA, Javid G, Khan BA, Yattoo GN, Shah AH, \
             et al. Percutaneous drainage compared with surgery for hepatic hydatid cysts. N Engl \
             J Med. 1997;337(13):881-7.",
        );
        assert!(crate::chunk::is_reference_list(40, &refs.text));
        let body = row(
            2,
            35,
            &format!(
                "{}Albendazole is not given before the surgery of a small hydatid cyst.",
                "The cysts were staged by ultrasound before any treatment was chosen. ".repeat(12)
            ),
        );
        let query = "albendazole before surgery hydatid cyst";
        assert_eq!(pages_chosen(&refs, &body, 0.7, query), (35, 40));
    }

    /// The page `list` (scored 1.0) and `body` (scored `score`) open at for `query`, together
    /// and `list` alone.
    fn pages_chosen(list: &ChunkRow, body: &ChunkRow, score: f32, query: &str) -> (u32, u32) {
        let weights = TermWeights::uniform(query);
        let mut coverage = Coverage::new(&weights);
        let choice = Some(PageWeights {
            window: 0.25,
            page: 0.0,
            answer: 0.0,
            asked: Default::default(),
        });
        let mut chosen = |candidates: &[(&ChunkRow, f32)]| {
            choose_pages(candidates, &weights, choice, &mut coverage, &mut |_| None)[0]
                .row
                .page
        };
        (
            chosen(&[(list, 1.0), (body, score)]),
            chosen(&[(list, 1.0)]),
        )
    }

    #[test]
    fn a_list_of_abbreviations_opens_only_where_nothing_else_matches() {
        // A full page of a guideline's list, scored well above the passage that answers:
        // without the prior the list would open.
        let list = row(
            1,
            8,
            &format!(
                "vi Abbreviations and acronyms ALB albendazole CE cystic echinococcosis {}",
                "CT computed tomography GDG Guideline Development Group ICU intensive care unit \
                 RCT randomized controlled trial WHO World Health Organization "
                    .repeat(7)
            ),
        );
        let body = row(
            2,
            24,
            &format!(
                "{}Albendazole is contraindicated in the first trimester of pregnancy.",
                "Cysts at risk of rupture were staged by ultrasound before treatment. ".repeat(12)
            ),
        );
        assert!(crate::chunk::is_front_matter(&list.text));
        let query = "albendazole pregnancy echinococcosis";
        assert_eq!(pages_chosen(&list, &body, 0.6, query), (24, 8));
    }

    #[test]
    fn relative_scores_stay_in_range_whatever_the_sign() {
        assert_eq!(relative_score(0.5, 1.0, 0.2), 0.5);
        // A negative cosine below a positive best is worth nothing, not less than nothing.
        assert_eq!(relative_score(-0.1, 0.4, -0.1), 0.0);
        // All negative: the order is kept by min-max.
        assert_eq!(relative_score(-0.02, -0.02, -0.3), 1.0);
        assert_eq!(relative_score(-0.3, -0.02, -0.3), 0.0);
        assert_eq!(relative_score(0.0, 0.0, 0.0), 1.0);
    }
}
