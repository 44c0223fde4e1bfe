//! Page-level evaluation: does a question open the right paper at the right page?
//!
//! A set is a TSV file of questions (`id`, `file`, `pages`, `question`, `answer`): `file` is a
//! PDF's path under a root folder (`../shared/data` for the development set in
//! `tests/fixtures/pages/`), `pages` every 1-based page that answers the question, `answer` a
//! sentence of the first such page. The papers are indexed as PDFs, the way a person's are
//! (together with whatever else the library holds: the other papers are the distractors), and
//! each question is asked in each mode.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::{Library, Mode, SearchOptions, SearchResult};

/// One question of a page-level set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuestion {
    /// Its id.
    pub id: String,
    /// The paper that answers it, relative to the set's root.
    pub file: PathBuf,
    /// Every page that answers it, 1-based, ascending.
    pub pages: Vec<u32>,
    /// The question, as typed.
    pub question: String,
    /// A sentence of the first answering page that answers it.
    pub answer: String,
}

/// Reads a set.
pub fn load_set(path: &Path) -> Result<Vec<PageQuestion>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |line: usize, why: &str| Error::BadInput {
        path: path.to_path_buf(),
        message: format!("line {line}: {why}"),
    };
    let mut set = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [id, file, pages, question, answer] = fields[..] else {
            return Err(bad(
                i + 1,
                "not five tab-separated fields (id, file, pages, question, answer)",
            ));
        };
        let pages: Vec<u32> = pages
            .split(',')
            .map(|p| p.trim().parse::<u32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad(i + 1, "pages are not comma-separated page numbers"))?;
        if pages.is_empty() || pages.contains(&0) {
            return Err(bad(i + 1, "no page, or a page 0 (pages count from 1)"));
        }
        set.push(PageQuestion {
            id: id.to_string(),
            file: PathBuf::from(file),
            pages,
            question: question.to_string(),
            answer: answer.to_string(),
        });
    }
    Ok(set)
}

/// What one question came to in one mode.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageOutcome {
    /// The question's id.
    pub id: String,
    /// The rank of the right paper among the papers answered (1-based), where in the first 10.
    pub paper_rank: Option<usize>,
    /// The page the right paper opens at.
    pub opened: Option<u32>,
    /// The rank of the first right page among the pages the paper's result lists (its best
    /// page first, then its other matching pages), where listed.
    pub page_rank: Option<usize>,
    /// Where the paper opens at a right page: whether the answering sentence lies inside the
    /// passage it highlights.
    pub answer_in_passage: Option<bool>,
    /// And whether it lies inside the snippet shown under the result.
    pub answer_in_snippet: Option<bool>,
}

impl PageOutcome {
    /// Whether the right paper, wherever it ranks in the first 10, opens at a right page.
    pub fn page_hit(&self) -> bool {
        self.page_rank == Some(1)
    }
}

/// The figures of one mode over a group of questions.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PageScores {
    /// Questions asked.
    pub questions: usize,
    /// Share of questions whose right paper (in the first 10) opens at a right page.
    pub page_hit: f64,
    /// Share whose first result is the right paper at a right page.
    pub page_hit_at_1: f64,
    /// Mean reciprocal rank of the right paper (0 past 10).
    pub paper_mrr: f64,
    /// Mean reciprocal rank of the first right page among the right paper's listed pages (0
    /// where none is listed or the paper is not in the first 10).
    pub page_mrr: f64,
    /// Of the questions whose paper opens at a right page, the share whose answering sentence
    /// lies inside the highlighted passage.
    pub answer_in_passage: f64,
    /// And inside the snippet under the result.
    pub answer_in_snippet: f64,
}

impl PageScores {
    fn of<'a>(outcomes: impl Iterator<Item = &'a PageOutcome>) -> Self {
        let mut s = PageScores::default();
        let mut hits = 0;
        for o in outcomes {
            s.questions += 1;
            s.page_hit += f64::from(u8::from(o.page_hit()));
            s.page_hit_at_1 += f64::from(u8::from(o.page_hit() && o.paper_rank == Some(1)));
            s.paper_mrr += o.paper_rank.map_or(0.0, |r| 1.0 / r as f64);
            s.page_mrr += o.page_rank.map_or(0.0, |r| 1.0 / r as f64);
            s.answer_in_passage += f64::from(u8::from(o.answer_in_passage == Some(true)));
            s.answer_in_snippet += f64::from(u8::from(o.answer_in_snippet == Some(true)));
            hits += usize::from(o.page_hit());
        }
        if hits > 0 {
            s.answer_in_passage /= hits as f64;
            s.answer_in_snippet /= hits as f64;
        }
        if s.questions > 0 {
            let n = s.questions as f64;
            s.page_hit /= n;
            s.page_hit_at_1 /= n;
            s.paper_mrr /= n;
            s.page_mrr /= n;
        }
        s
    }
}

/// What `medshelf eval-pages --json` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageReport {
    /// The set's file.
    pub set: PathBuf,
    /// Questions in the set.
    pub questions: usize,
    /// The model, if any.
    pub model: Option<String>,
    /// Per mode, over every question.
    pub modes: BTreeMap<String, PageScores>,
    /// Per mode, by the answering paper's length (`1-20 pages`, `21-50 pages`, `51+ pages`).
    pub by_length: BTreeMap<String, BTreeMap<String, PageScores>>,
    /// Per mode, each question's outcome.
    pub outcomes: BTreeMap<String, Vec<PageOutcome>>,
}

/// Scores one question's answer: where the right paper ranks, the page it opens, and where a
/// right page comes among the pages it lists.
pub fn outcome(q: &PageQuestion, path: &Path, results: &[SearchResult]) -> PageOutcome {
    let found = results.iter().take(10).position(|r| r.path == path);
    let result = found.map(|i| &results[i]);
    let listed: Vec<u32> = result
        .map(|r| {
            std::iter::once(r.page)
                .chain(r.passages.iter().map(|p| p.page))
                .collect()
        })
        .unwrap_or_default();
    PageOutcome {
        id: q.id.clone(),
        paper_rank: found.map(|i| i + 1),
        opened: result.map(|r| r.page),
        page_rank: listed
            .iter()
            .position(|p| q.pages.contains(p))
            .map(|i| i + 1),
        answer_in_passage: None,
        answer_in_snippet: None,
    }
}

/// Text reduced to its lowercase letters and digits: the engine's text and pdftotext's differ
/// in spaces, hyphens at line ends and punctuation, never in the words themselves.
fn letters(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A snippet's text: its marks taken out and its entities read back.
fn snippet_text(snippet: &str) -> String {
    snippet
        .replace("<mark>", "")
        .replace("</mark>", "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Whether `answer` lies inside `text`, compared by letters and digits.
pub fn holds_answer(text: &str, answer: &str) -> bool {
    let answer = letters(answer);
    !answer.is_empty() && letters(text).contains(&answer)
}

/// The length group a paper of `pages` pages is reported in.
pub fn length_group(pages: u32) -> &'static str {
    match pages {
        0..=20 => "1-20 pages",
        21..=50 => "21-50 pages",
        _ => "51+ pages",
    }
}

/// Asks every question of `set` (papers under `root`, already indexed in `library`) in each of
/// `modes`, and scores the answers.
pub fn evaluate_pages(
    library: &Library,
    set_path: &Path,
    set: &[PageQuestion],
    root: &Path,
    modes: &[Mode],
    base: &SearchOptions,
) -> Result<PageReport> {
    let lengths: HashMap<PathBuf, u32> = library
        .documents()?
        .into_iter()
        .flat_map(|d| {
            let pages = d.pages;
            d.paths.into_iter().map(move |p| (p, pages))
        })
        .collect();
    let mut report = PageReport {
        set: set_path.to_path_buf(),
        questions: set.len(),
        model: library.model().map(|m| m.name.clone()),
        modes: BTreeMap::new(),
        by_length: BTreeMap::new(),
        outcomes: BTreeMap::new(),
    };
    for &mode in modes {
        let opts = SearchOptions {
            mode,
            limit: 10,
            ..base.clone()
        };
        let mut outcomes = Vec::with_capacity(set.len());
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, q) in set.iter().enumerate() {
            let path = std::path::absolute(root.join(&q.file)).map_err(|e| Error::io(root, e))?;
            let answer = library.search(&q.question, &opts)?;
            let mut o = outcome(q, &path, &answer.results);
            if o.page_hit() {
                let r = answer
                    .results
                    .iter()
                    .find(|r| r.path == path)
                    .expect("found");
                let page = library.page_text(&path, r.page)?.unwrap_or_default();
                let passage = page.get(r.start..r.end).unwrap_or_default();
                o.answer_in_passage = Some(holds_answer(passage, &q.answer));
                o.answer_in_snippet = Some(holds_answer(&snippet_text(&r.snippet), &q.answer));
            }
            outcomes.push(o);
            let group = length_group(lengths.get(&path).copied().unwrap_or(0));
            groups.entry(group.to_string()).or_default().push(i);
        }
        let name = mode.as_str().to_string();
        report
            .modes
            .insert(name.clone(), PageScores::of(outcomes.iter()));
        let by_length = groups
            .into_iter()
            .map(|(g, idx)| (g, PageScores::of(idx.iter().map(|&i| &outcomes[i]))))
            .collect();
        report.by_length.insert(name.clone(), by_length);
        report.outcomes.insert(name, outcomes);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::PassageHit;

    fn result(path: &str, page: u32, others: &[u32]) -> SearchResult {
        SearchResult {
            rank: 1,
            path: path.into(),
            title: None,
            year: None,
            page,
            score: 1.0,
            snippet: String::new(),
            start: 0,
            end: 0,
            passages: others
                .iter()
                .map(|&page| PassageHit {
                    page,
                    snippet: String::new(),
                    score: 0.5,
                    start: 0,
                    end: 0,
                    source: None,
                    ocr: false,
                })
                .collect(),
            meaning_only: false,
            meta: Default::default(),
            design: None,
            source: None,
            ocr: false,
            zotero: None,
            versions: Vec::new(),
            trials: Vec::new(),
        }
    }

    #[test]
    fn a_question_is_scored_by_the_paper_the_page_it_opens_and_the_pages_it_lists() {
        let q = PageQuestion {
            id: "q1".into(),
            file: "a.pdf".into(),
            pages: vec![7, 9],
            question: "dose".into(),
            answer: "x".into(),
        };
        let results = [result("/d/b.pdf", 1, &[]), result("/d/a.pdf", 3, &[9, 12])];
        let o = outcome(&q, Path::new("/d/a.pdf"), &results);
        assert_eq!(
            (o.paper_rank, o.opened, o.page_rank),
            (Some(2), Some(3), Some(2))
        );
        assert!(!o.page_hit());
        let hit = outcome(&q, Path::new("/d/a.pdf"), &[result("/d/a.pdf", 9, &[])]);
        assert!(hit.page_hit());
        let missed = outcome(&q, Path::new("/d/c.pdf"), &results);
        assert_eq!((missed.paper_rank, missed.page_rank), (None, None));
        assert!(holds_answer(
            "The dose is 500 mg twice daily,\nreduced in renal impair-\nment.",
            "500 mg twice daily, reduced in renal impairment"
        ));
        assert!(!holds_answer("The dose is 250 mg.", "500 mg"));
        assert_eq!(
            snippet_text("a <mark>b</mark> &lt;c&gt; &amp;"),
            "a b <c> &"
        );
        let s = PageScores::of([o, hit, missed].iter());
        assert_eq!(s.questions, 3);
        assert!((s.page_hit - 1.0 / 3.0).abs() < 1e-9);
        assert!((s.page_hit_at_1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((s.paper_mrr - (0.5 + 1.0) / 3.0).abs() < 1e-9);
        assert!((s.page_mrr - (0.5 + 1.0) / 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_set_is_read_and_a_malformed_line_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("set.tsv");
        std::fs::write(
            &path,
            "id\tfile\tpages\tquestion\tanswer\nq1\tclinical/a.pdf\t12,40\tdose in ckd\tReduce the dose.\n",
        )
        .unwrap();
        let set = load_set(&path).unwrap();
        assert_eq!(set[0].pages, vec![12, 40]);
        assert_eq!(set[0].file, Path::new("clinical/a.pdf"));
        std::fs::write(&path, "header\nq1\ta.pdf\tseven\tq\ta\n").unwrap();
        let err = load_set(&path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
