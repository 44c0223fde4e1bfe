//! The search commands: a question asked, and the papers like a paper. Both run on Tauri's
//! blocking pool through the engine's [`medshelf::library::Searcher`], so they answer while
//! papers are being indexed.

use std::path::PathBuf;
use std::time::Instant;

use medshelf::library::{SimilarOptions, SimilarResponse};
use medshelf::{Fault, Mode, Problem, SearchOptions, SearchResponse};
use serde::Serialize;

use crate::commands::{blocking, library_file, Answer, Shared};

/// A search's answer with the time the engine took.
#[derive(Serialize)]
pub struct Found {
    #[serde(flatten)]
    response: SearchResponse,
    /// Milliseconds the engine spent, embedding the query included.
    took_ms: f64,
}

/// Answers a query.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub(crate) async fn search(
    engine: Shared<'_>,
    query: String,
    mode: Mode,
    limit: Option<usize>,
    years: Option<String>,
    author: Option<String>,
    venue: Option<String>,
    sort: Option<medshelf::search::Sort>,
    collection: Option<String>,
    subcollections: Option<bool>,
    design: Option<String>,
    as_typed: Option<Vec<String>>,
    senses: Option<Vec<(String, String)>>,
) -> Answer<Found> {
    let searcher = engine.searcher()?;
    // The filters chosen beside the results; a year range in the CLI's spelling.
    let years = match years.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        Some(range) => Some(
            medshelf::search::parse_years(range)
                .map_err(|e| Problem::new("bad_filter", Fault::User, format!("the years {e}")))?,
        ),
        None => None,
    };
    // Study designs as the CLI takes them: `rct,cohort`.
    let designs = design
        .iter()
        .flat_map(|list| list.split(','))
        .filter(|d| !d.trim().is_empty())
        .map(|d| {
            medshelf::clinical::DesignLabel::parse(d).ok_or_else(|| {
                Problem::new(
                    "bad_filter",
                    Fault::User,
                    format!("'{}' is not a study design", d.trim()),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let nonblank = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let filter = medshelf::search::PaperFilter {
        designs,
        years,
        author: nonblank(author),
        venue: nonblank(venue),
        collection: nonblank(collection),
        subcollections: subcollections.unwrap_or(false),
        ..Default::default()
    };
    blocking(move || {
        let started = Instant::now();
        let opts = SearchOptions {
            mode,
            limit: limit.unwrap_or(20).clamp(1, 200),
            filter,
            sort: sort.unwrap_or_default(),
            facets: true,
            // The chips the page shows: abbreviations kept as typed, senses chosen.
            expand: medshelf::clinical::abbrev::ExpandOptions {
                enabled: true,
                off: as_typed.unwrap_or_default(),
                senses: senses.unwrap_or_default(),
            },
            ..Default::default()
        };
        let response = searcher.search(&query, &opts)?;
        Ok(Found {
            response,
            took_ms: started.elapsed().as_secs_f64() * 1e3,
        })
    })
    .await
}

/// The papers like a paper, with the time the engine took.
#[derive(Serialize)]
pub struct Alike {
    #[serde(flatten)]
    response: SimilarResponse,
    /// Milliseconds the engine spent.
    took_ms: f64,
}

/// The papers most like a paper of the library, or like one of its pages ("more like this").
#[tauri::command]
pub(crate) async fn similar(
    engine: Shared<'_>,
    path: PathBuf,
    page: Option<u32>,
    mode: Option<Mode>,
    limit: Option<usize>,
) -> Answer<Alike> {
    if page == Some(0) {
        return Err(Problem::new(
            "no_such_page",
            Fault::User,
            "pages count from 1",
        ));
    }
    // Only a paper the library holds, named by its exact path.
    let path = library_file(&engine, path).await?;
    let searcher = engine.searcher()?;
    blocking(move || {
        let started = Instant::now();
        let opts = SimilarOptions {
            page,
            mode: mode.unwrap_or_default(),
            limit: limit.unwrap_or(20).clamp(1, 200),
        };
        let response = searcher.similar(&path, &opts)?;
        Ok(Alike {
            response,
            took_ms: started.elapsed().as_secs_f64() * 1e3,
        })
    })
    .await
}
