//! `medshelf search`.

use std::io::IsTerminal;

use clap::Args;
use medshelf::clinical::DesignLabel;
use medshelf::{Fusion, Library, Mode, SearchOptions};

/// How hybrid search fuses keyword and meaning rankings.
#[derive(Clone, Copy, clap::ValueEnum)]
enum FusionKind {
    /// A weighted sum of min-max normalised scores (the default).
    Weighted,
    /// Reciprocal rank fusion, k = 60.
    Rrf,
}

/// The fusion flags shared by `search` and `eval`.
#[derive(Args)]
pub struct FusionArgs {
    /// How hybrid results are fused.
    #[arg(long, value_enum, default_value_t = FusionKind::Weighted)]
    fusion: FusionKind,
    /// The semantic side's weight in weighted fusion, 0 to 1.
    #[arg(long, value_name = "W", default_value_t = medshelf::search::DEFAULT_SEMANTIC_WEIGHT)]
    semantic_weight: f32,
    /// The semantic side's weight when a paper's passages are weighed to choose its page, 0 to 1.
    #[arg(long, value_name = "W", default_value_t = medshelf::search::DEFAULT_PAGE_SEMANTIC_WEIGHT)]
    page_semantic_weight: f32,
    /// How much a passage's best window of sentences (the most of the query's rarer words
    /// together) adds when a paper's page is chosen; 0 chooses by the fused score alone.
    #[arg(long, value_name = "W", default_value_t = medshelf::search::DEFAULT_WINDOW_WEIGHT)]
    window_weight: f32,
    /// How much the share of the question's words that a passage's page holds beyond the
    /// passage's own adds when a paper's page is chosen (hybrid mode, where windows are on); 0
    /// weighs the passage alone.
    #[arg(long, value_name = "W", default_value_t = medshelf::search::DEFAULT_PAGE_WEIGHT)]
    page_weight: f32,
    /// What a passage gains when the page is chosen if its best window holds the kind of
    /// answer the question asks for (a duration for "how long", a dose, a recommendation for
    /// "can I give"); 0 ignores the kind.
    #[arg(long, value_name = "W", default_value_t = medshelf::search::DEFAULT_ANSWER_WEIGHT)]
    answer_weight: f32,
}

impl FusionArgs {
    /// Search options with the ranking these flags ask for, the rest at their defaults.
    pub fn options(&self) -> anyhow::Result<SearchOptions> {
        anyhow::ensure!(
            self.window_weight >= 0.0 && self.window_weight.is_finite(),
            "--window-weight must be 0 or more, not {}",
            self.window_weight
        );
        anyhow::ensure!(
            self.page_weight >= 0.0 && self.page_weight.is_finite(),
            "--page-weight must be 0 or more, not {}",
            self.page_weight
        );
        anyhow::ensure!(
            self.answer_weight >= 0.0 && self.answer_weight.is_finite(),
            "--answer-weight must be 0 or more, not {}",
            self.answer_weight
        );
        Ok(SearchOptions {
            fusion: self.fusion()?,
            page_fusion: self.page_fusion()?,
            window_weight: self.window_weight,
            page_weight: self.page_weight,
            answer_weight: self.answer_weight,
            ..SearchOptions::default()
        })
    }

    /// The fusion these flags ask for.
    fn fusion(&self) -> anyhow::Result<Fusion> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.semantic_weight),
            "--semantic-weight must be between 0 and 1, not {}",
            self.semantic_weight
        );
        Ok(match self.fusion {
            FusionKind::Weighted => Fusion::Weighted {
                semantic_weight: self.semantic_weight,
            },
            FusionKind::Rrf => Fusion::Rrf { k: 60.0 },
        })
    }

    /// The fusion that chooses a paper's page.
    fn page_fusion(&self) -> anyhow::Result<Fusion> {
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.page_semantic_weight),
            "--page-semantic-weight must be between 0 and 1, not {}",
            self.page_semantic_weight
        );
        Ok(Fusion::Weighted {
            semantic_weight: self.page_semantic_weight,
        })
    }
}

/// The paper filters shared by `search` and `export --query`.
#[derive(Args)]
pub struct FilterArgs {
    /// Only papers published in these years: 2019..2024, 2019.., ..2024 or 2021.
    #[arg(long, value_name = "RANGE")]
    year: Option<String>,
    /// Only papers by this author (a surname, or a full name), case and accents aside.
    #[arg(long, value_name = "NAME")]
    author: Option<String>,
    /// Only papers in this journal, preprint server or conference (words of its name).
    #[arg(long, value_name = "NAME")]
    venue: Option<String>,
    /// Only papers in this Zotero collection: nested names joined by / ("Cardiology/Heart
    /// failure"), case aside.
    #[arg(long, value_name = "PATH")]
    collection: Option<String>,
    /// With --collection: the papers of the collections inside it too.
    #[arg(long, requires = "collection")]
    with_subcollections: bool,
    /// Only papers with this Zotero tag (repeat for papers with all of them).
    #[arg(long, value_name = "TAG")]
    tag: Vec<String>,
    /// Only papers of these study designs, comma-separated (rct,systematic-review,
    /// meta-analysis,guideline,cohort,case-control,cross-sectional,case-report,...).
    #[arg(long, value_name = "DESIGNS", value_delimiter = ',')]
    design: Vec<String>,
}

impl FilterArgs {
    /// The filter these flags ask for (blank values filter nothing).
    pub fn filter(&self) -> anyhow::Result<medshelf::search::PaperFilter> {
        let years = match &self.year {
            Some(range) => Some(
                medshelf::search::parse_years(range).map_err(|e| anyhow::anyhow!("--year: {e}"))?,
            ),
            None => None,
        };
        let nonblank = |s: &Option<String>| s.as_ref().filter(|s| !s.trim().is_empty()).cloned();
        Ok(medshelf::search::PaperFilter {
            years,
            author: nonblank(&self.author),
            venue: nonblank(&self.venue),
            collection: nonblank(&self.collection),
            subcollections: self.with_subcollections,
            tags: self
                .tag
                .iter()
                .filter(|t| !t.trim().is_empty())
                .cloned()
                .collect(),
            designs: self
                .design
                .iter()
                .filter(|d| !d.trim().is_empty())
                .map(|d| {
                    DesignLabel::parse(d).ok_or_else(|| {
                        anyhow::anyhow!(
                            "--design: '{d}' is not a design; the designs are {}",
                            DesignLabel::ALL.map(|l| l.as_str()).join(", ")
                        )
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        })
    }
}

#[derive(Args)]
pub struct SearchArgs {
    /// The question or keywords.
    #[arg(required = true, value_name = "QUERY", num_args = 1..)]
    query: Vec<String>,
    /// How many papers to show.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// hybrid (keywords and meaning), lexical (keywords) or semantic (meaning).
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    mode: Mode,
    #[command(flatten)]
    fusion: FusionArgs,
    #[command(flatten)]
    filter: FilterArgs,
    /// relevance (best match first), date (the best matches, newest first) or evidence (the
    /// best matches, the highest level of evidence first: meta-analyses, systematic reviews,
    /// guidelines, trials, cohorts...).
    #[arg(long, value_enum, default_value_t = medshelf::search::Sort::Relevance)]
    sort: medshelf::search::Sort,
    /// Count the question's best papers (up to 50) by year, venue, author and design: the values to
    /// filter by (`facets` in the JSON).
    #[arg(long)]
    facets: bool,
    /// Take the query as typed: no abbreviation expanded, no term abbreviated.
    #[arg(long)]
    no_expand: bool,
    /// Take this abbreviation as typed (repeatable): the others are still expanded.
    #[arg(long, value_name = "ABBREVIATION")]
    as_typed: Vec<String>,
    /// Expand an abbreviation in this sense (repeatable): "MS=mitral stenosis".
    #[arg(long, value_name = "ABBREVIATION=SENSE")]
    sense: Vec<String>,
    /// Print the results as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn search(library: Library, args: SearchArgs) -> anyhow::Result<()> {
    let query = args.query.join(" ");
    let opts = SearchOptions {
        mode: args.mode,
        limit: args.limit,
        filter: args.filter.filter()?,
        sort: args.sort,
        facets: args.facets,
        expand: medshelf::clinical::abbrev::ExpandOptions {
            enabled: !args.no_expand,
            off: args.as_typed.clone(),
            senses: args
                .sense
                .iter()
                .map(|s| {
                    s.split_once('=')
                        .map(|(a, l)| (a.trim().to_string(), l.trim().to_string()))
                        .filter(|(a, l)| !a.is_empty() && !l.is_empty())
                        .ok_or_else(|| {
                            anyhow::anyhow!("--sense: '{s}' is not ABBREVIATION=SENSE (e.g. \"MS=mitral stenosis\")")
                        })
                })
                .collect::<anyhow::Result<_>>()?,
        },
        ..args.fusion.options()?
    };
    let response = library.search(&query, &opts)?;
    if args.json {
        return super::print_json(&response);
    }
    if let Some(notice) = &response.notice {
        eprintln!("{notice}");
    }
    if !response.expanded.is_empty() {
        let shown: Vec<String> = response
            .expanded
            .iter()
            .map(|e| {
                let from = match e.source {
                    medshelf::clinical::abbrev::SenseSource::Library => " (your papers)",
                    medshelf::clinical::abbrev::SenseSource::User => " (your choice)",
                    medshelf::clinical::abbrev::SenseSource::Table => "",
                };
                let others = if e.other_senses.is_empty() {
                    String::new()
                } else {
                    format!("; or: {}", e.other_senses.join(", "))
                };
                match e.direction {
                    medshelf::clinical::abbrev::Direction::Expansion => {
                        format!("{} → {}{from}{others}", e.abbreviation, e.expansion)
                    }
                    medshelf::clinical::abbrev::Direction::Abbreviation => {
                        format!("{} → {}{from}", e.expansion, e.abbreviation)
                    }
                }
            })
            .collect();
        println!(
            "Also searched: {} (--no-expand to turn off)\n",
            shown.join(" · ")
        );
    }
    if response.results.is_empty() && opts.filter.is_empty() {
        println!("No passage matches \"{query}\".");
    } else if response.results.is_empty() {
        println!(
            "No paper that passes the filters (--year, --author, --venue, --collection, --tag, --design) \
             matches \"{query}\"."
        );
    }
    print_results(&response.results);
    if let Some(facets) = &response.facets {
        println!("\nAmong the best {} papers:", facets.papers);
        for (name, values) in [
            ("years", &facets.years),
            ("venues", &facets.venues),
            ("authors", &facets.authors),
            ("designs", &facets.designs),
        ] {
            let shown: Vec<String> = values
                .iter()
                .map(|v| format!("{} ({})", v.value, v.count))
                .collect();
            if !shown.is_empty() {
                println!("  {name:<8}{}", shown.join(" · "));
            }
        }
    }
    Ok(())
}

/// Prints results as `search` and `similar` show them: rank, title and design, byline, file
/// and page, the marked snippet, further pages, shared trials.
pub(super) fn print_results(results: &[medshelf::SearchResult]) {
    let color = std::io::stdout().is_terminal();
    for r in results {
        let title = r.title.as_deref().unwrap_or("(untitled)");
        match &r.design {
            Some(d) => println!("{}. {title}  [{}]", r.rank, d.label.human()),
            None => println!("{}. {title}", r.rank),
        }
        let byline: Vec<String> = [
            r.meta.first_author_short(),
            r.meta.venue.clone(),
            r.year.map(|y| y.to_string()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !byline.is_empty() {
            println!("   {}", byline.join(" · "));
        }
        match r.source.as_deref() {
            Some("annotation") => {
                println!("   {}  page {} (your annotation)", r.path.display(), r.page)
            }
            Some(_) => println!("   {}  (your note)", r.path.display()),
            None if r.ocr => println!("   {}  page {} (OCR)", r.path.display(), r.page),
            None => println!("   {}  page {}", r.path.display(), r.page),
        }
        for v in &r.versions {
            let about: Vec<String> = [v.venue.clone(), v.year.map(|y| y.to_string())]
                .into_iter()
                .flatten()
                .collect();
            match about.is_empty() {
                true => println!("   also as {}", v.path.display()),
                false => println!("   also as {} ({})", v.path.display(), about.join(", ")),
            }
        }
        println!("   {}", render(&r.snippet, color));
        if !r.passages.is_empty() {
            let pages: Vec<String> = r
                .passages
                .iter()
                .map(|p| match p.ocr {
                    true => format!("{} (OCR)", p.page),
                    false => p.page.to_string(),
                })
                .collect();
            println!("   also on page {}", pages.join(", "));
        }
        for trial in &r.trials {
            let n = trial.papers.len() + 1;
            println!("   {n} papers on this trial ({})", trial.id);
        }
    }
}

/// Turns the snippet's `<mark>` tags into bold on a terminal, or brackets elsewhere.
fn render(snippet: &str, color: bool) -> String {
    let (open, close) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("[", "]")
    };
    snippet
        .replace("<mark>", open)
        .replace("</mark>", close)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
