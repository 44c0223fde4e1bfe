//! The commands the page may call, and the app's start-up. Each command checks its input, hands
//! the work to the engine off the UI thread, and returns what the page shows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use medshelf::library::LibraryStatus;
use medshelf::DocumentRow;
use serde::Serialize;
use tauri::{Manager, State};

use medshelf::writer::Job;
use medshelf::{Fault, Problem};

use crate::engine::Engine;

pub(crate) type Shared<'a> = State<'a, Arc<Engine>>;

/// What every command answers: its value, or a problem the page shows by its code.
pub(crate) type Answer<T> = Result<T, Problem>;

/// Builds and runs the app.
pub fn run() {
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .setup(|app| {
            let dir = medshelf::settings::get()
                .library_dir()
                .ok_or("no data folder on this system: set MEDSHELF_LIBRARY")?;
            let engine = Engine::start(app.handle().clone(), dir);
            // `medshelf-app PAPER.pdf FOLDER ...` indexes those as the window opens.
            let given: Vec<PathBuf> = std::env::args_os()
                .skip(1)
                .map(PathBuf::from)
                .filter(|p| p.exists())
                .collect();
            if !given.is_empty() {
                // Counted and announced off the main thread (a large folder takes a moment),
                // so that the window opens at once; the page replays the announcement.
                let (engine, app) = (engine.clone(), app.handle().clone());
                std::thread::spawn(move || {
                    if let Err(e) = engine.queue_found(&app, given, false) {
                        eprintln!("medshelf-app: cannot index the paths given: {e}");
                    }
                });
            }
            app.manage(engine);
            #[cfg(target_os = "linux")]
            if let Some(window) = app.get_webview_window("main") {
                crate::renderer::reload_when_it_ends(&window);
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            status,
            crate::search::search,
            crate::search::similar,
            index_paths,
            zotero_offer,
            import_zotero,
            cancel_indexing,
            documents,
            remove_paths,
            correct_record,
            copy_citation,
            export_records,
            allow_view,
            ocr_words,
            open_external,
            reveal,
            import_model,
            fetch_model,
            models,
            use_model,
            ingest_log,
        ])
        .run(tauri::generate_context!())
        .expect("error while running MedShelf");
}

/// The library's state as the page shows it.
#[derive(Serialize)]
pub struct AppStatus {
    /// Counts, model, failures, notice.
    #[serde(flatten)]
    status: LibraryStatus,
    /// Why the model found could not be used, where it could not.
    model_error: Option<String>,
    /// The folders the library was asked to index.
    folders: Vec<PathBuf>,
    /// The folders followed for changes now (all of `folders` once the first run is done).
    watching: Vec<PathBuf>,
    /// Whether an index job is running.
    busy: bool,
}

/// Counts, the model in use, the folders, and whether indexing is under way.
#[tauri::command]
async fn status(engine: Shared<'_>) -> Answer<AppStatus> {
    let engine = engine.inner().clone();
    blocking(move || {
        let searcher = engine.searcher()?;
        Ok(AppStatus {
            status: searcher.status()?,
            model_error: engine.model_error(),
            folders: searcher.folders()?,
            watching: engine.watching(),
            busy: engine.busy(),
        })
    })
    .await
}

/// What a drop or a pick queued.
#[derive(Serialize)]
pub struct Queued {
    job: u64,
    /// Every PDF found under what was given, in the order they will be read.
    files: Vec<PathBuf>,
    /// What was given but is neither a PDF nor a folder, or does not exist.
    skipped: Vec<PathBuf>,
}

/// Queues files and folders for indexing; each PDF found is announced at once.
#[tauri::command]
async fn index_paths(
    app: tauri::AppHandle,
    engine: Shared<'_>,
    paths: Vec<PathBuf>,
    retry_failed: Option<bool>,
) -> Answer<Queued> {
    let engine = engine.inner().clone();
    blocking(move || {
        let (wanted, skipped): (Vec<PathBuf>, Vec<PathBuf>) = paths
            .into_iter()
            .partition(|p| p.is_dir() || (p.is_file() && medshelf::extract::is_pdf_name(p)));
        if wanted.is_empty() {
            return Ok(Queued {
                job: 0,
                files: Vec::new(),
                skipped,
            });
        }
        let (job, files) = engine.queue_found(&app, wanted, retry_failed.unwrap_or(false))?;
        Ok(Queued {
            job,
            files,
            skipped,
        })
    })
    .await
}

/// What the page offers for Zotero: the folder to import (the one imported before, else the
/// one Zotero's settings name, else `~/Zotero`), whether it holds a Zotero database, the last
/// import, and the collections of the papers imported (the tree a search is scoped by).
#[derive(Serialize)]
struct ZoteroOffer {
    #[serde(serialize_with = "medshelf::paths::lossy")]
    dir: PathBuf,
    found: bool,
    imported: Option<medshelf::library::ZoteroSource>,
    collections: Vec<String>,
}

#[tauri::command]
async fn zotero_offer(engine: Shared<'_>) -> Answer<ZoteroOffer> {
    let searcher = engine.searcher()?;
    blocking(move || {
        let imported = searcher.zotero_source()?;
        let home = dirs::home_dir().unwrap_or_default();
        let dir = match &imported {
            Some(source) => source.dir.clone(),
            None => medshelf::zotero::default_dir(&home),
        };
        let mut collections = searcher.zotero_collections()?;
        // Every collection on the way down is a scope too ("A" for "A/B").
        let mut all = std::collections::BTreeSet::new();
        for c in collections.drain(..) {
            let parts: Vec<&str> = c.split('/').collect();
            for n in 1..=parts.len() {
                all.insert(parts[..n].join("/"));
            }
        }
        Ok(ZoteroOffer {
            found: dir.join("zotero.sqlite").is_file(),
            dir,
            imported,
            collections: all.into_iter().collect(),
        })
    })
    .await
}

/// Imports a Zotero library (read-only): its PDFs with the progress of any ingest, Zotero's
/// metadata, collections, tags, notes and annotations. Answers once it is done.
#[tauri::command]
async fn import_zotero(
    app: tauri::AppHandle,
    engine: Shared<'_>,
    dir: PathBuf,
) -> Answer<medshelf::library::ZoteroSummary> {
    let engine = engine.inner().clone();
    blocking(move || {
        let home = dirs::home_dir().unwrap_or_default();
        let prefs = medshelf::zotero::Prefs::load(&home);
        let dir = std::path::absolute(&dir).map_err(|e| cannot("read", &dir, e))?;
        let snapshot = medshelf::zotero::read(&dir, &prefs).map_err(medshelf::Error::from)?;
        let summary = engine.import_zotero(&app, snapshot)?;
        // From now on, what Zotero changes comes over by itself.
        engine.follow_zotero(&dir);
        Ok(summary)
    })
    .await
}

/// The current batch's `ingest` events, for a page that starts listening after it began.
#[tauri::command]
fn ingest_log(engine: Shared<'_>) -> Vec<serde_json::Value> {
    engine.ingest_log()
}

/// Stops indexing after the current file; queued drops are dropped.
#[tauri::command]
fn cancel_indexing(engine: Shared<'_>) {
    engine.cancel();
}

/// Every paper with its state.
#[tauri::command]
async fn documents(engine: Shared<'_>) -> Answer<Vec<DocumentRow>> {
    let searcher = engine.searcher()?;
    blocking(move || Ok(searcher.documents()?)).await
}

/// Takes papers out of the library (the files stay on disk).
#[tauri::command]
async fn remove_paths(engine: Shared<'_>, paths: Vec<PathBuf>) -> Answer<Vec<PathBuf>> {
    let engine = engine.inner().clone();
    blocking(move || engine.ask(|reply| Job::Remove { paths, reply })).await
}

/// Corrects a paper's record: `set` gives fields their new values (an empty value says the
/// paper has none), `reset` takes corrections back. Everything is checked before anything is
/// written; the record as now shown comes back.
#[tauri::command]
async fn correct_record(
    engine: Shared<'_>,
    path: PathBuf,
    set: Vec<(String, String)>,
    reset: Vec<String>,
) -> Answer<medshelf::metadata::Record> {
    use medshelf::metadata::{Edit, EditError, FIELDS};
    let set = set
        .iter()
        .map(|(field, value)| Edit::parse(field, value))
        .collect::<Result<Vec<_>, _>>()
        .map_err(medshelf::Error::from)?;
    let reset = reset
        .iter()
        .map(|f| {
            FIELDS
                .iter()
                .copied()
                .find(|known| known == f)
                .ok_or_else(|| EditError::UnknownField(f.clone()))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(medshelf::Error::from)?;
    let engine = engine.inner().clone();
    blocking(move || {
        engine.ask(|reply| Job::Correct {
            path,
            set,
            reset,
            reply,
        })
    })
    .await
}

/// Puts a paper's record (a result's or a library row's `meta`, as the page holds it) on the
/// clipboard as a reference in a style, and returns the text. The app writes the clipboard:
/// WebKitGTK refuses the page's Clipboard API, and the page needs no clipboard permission.
#[tauri::command]
async fn copy_citation(
    app: tauri::AppHandle,
    record: medshelf::metadata::Record,
    style: medshelf::cite::Style,
) -> Answer<String> {
    use tauri_plugin_clipboard_manager::ClipboardExt;
    blocking(move || {
        let text = medshelf::cite::cite(std::slice::from_ref(&record), style)?
            .pop()
            .unwrap_or_default();
        app.clipboard().write_text(text.clone()).map_err(|e| {
            let message = format!("cannot put the citation on the clipboard: {e}");
            Problem::new("cannot_copy", Fault::Machine, message)
        })?;
        Ok(text)
    })
    .await
}

/// Where an export went.
#[derive(Serialize)]
pub struct Exported {
    /// The file written (lossy: JSON needs UTF-8, a path need not be).
    path: String,
    /// How many papers it holds.
    papers: usize,
}

/// Asks where to save (the system's save dialog, offering `name` with the format's
/// extension), then writes the records there in `format`. Nothing when the person cancels.
/// The path comes from the dialog the person answered, never from the page.
#[tauri::command]
async fn export_records(
    app: tauri::AppHandle,
    records: Vec<medshelf::metadata::Record>,
    format: medshelf::cite::Format,
    name: String,
) -> Answer<Option<Exported>> {
    use tauri_plugin_dialog::DialogExt;
    blocking(move || {
        // A file name, whatever the page sent: no folders, no hidden files, no control
        // characters, short enough for any file system (a long question makes a long name).
        let cleaned: String = name
            .chars()
            .filter(|c| !matches!(c, '/' | '\\') && !c.is_control())
            .take(100)
            .collect();
        let stem = cleaned.trim().trim_start_matches('.').trim().to_string();
        let stem = if stem.is_empty() {
            "references".to_string()
        } else {
            stem
        };
        let picked = app
            .dialog()
            .file()
            .set_title(format!("Export {} references", format.name()))
            .set_file_name(format!("{stem}.{}", format.extension()))
            .add_filter(format.name(), &[format.extension()])
            .blocking_save_file();
        let Some(picked) = picked else {
            return Ok(None);
        };
        let path = picked.into_path().map_err(|e| {
            Problem::new(
                "cannot_save",
                Fault::User,
                format!("cannot save there: {e}"),
            )
        })?;
        let text = medshelf::cite::export(&records, format);
        std::fs::write(&path, text).map_err(|e| {
            let message = format!("cannot write {}: {e}", path.display());
            Problem::new("cannot_save", Fault::Machine, message)
        })?;
        Ok(Some(Exported {
            path: path.to_string_lossy().into_owned(),
            papers: records.len(),
        }))
    })
    .await
}

/// Lets the viewer read one of the library's files through the asset protocol. The protocol's
/// scope starts empty and grows only by files the library holds, so the page can never read
/// anything else on disk.
#[tauri::command]
async fn allow_view(app: tauri::AppHandle, engine: Shared<'_>, path: PathBuf) -> Answer<()> {
    let path = library_file(&engine, path).await?;
    app.asset_protocol_scope()
        .allow_file(&path)
        .map_err(|e| cannot("show", &path, e))
}

/// The words OCR read on a page of a library file (a scan), with their boxes, for the
/// viewer to highlight the passage on the page image; `null` for a page with its own text.
#[tauri::command]
async fn ocr_words(
    engine: Shared<'_>,
    path: PathBuf,
    page: u32,
) -> Answer<Option<Vec<medshelf::extract::OcrWord>>> {
    let searcher = engine.searcher()?;
    // The words the page's text holds: those OCR believes, none on a page it read as a
    // picture; so the highlight matches the passage found.
    blocking(move || {
        Ok(searcher
            .ocr_page(&path, page)?
            .filter(|p| !p.text().is_empty())
            .map(|p| p.words.into_iter().filter(|w| w.believed()).collect()))
    })
    .await
}

/// Opens a library file in the system's PDF viewer.
#[tauri::command]
async fn open_external(engine: Shared<'_>, path: PathBuf) -> Answer<()> {
    let path = library_file(&engine, path).await?;
    open::that_detached(&path).map_err(|e| cannot("open", &path, e))
}

/// Opens the folder that holds a library file.
#[tauri::command]
async fn reveal(engine: Shared<'_>, path: PathBuf) -> Answer<()> {
    let path = library_file(&engine, path).await?;
    let folder = path.parent().unwrap_or(Path::new("/"));
    open::that_detached(folder).map_err(|e| cannot("open", folder, e))
}

/// Installs a model folder the person picked and searches with it from now on (unless the
/// library's vectors came from another model: then it waits, installed, for a switch).
#[tauri::command]
async fn import_model(engine: Shared<'_>, dir: PathBuf) -> Answer<medshelf::ModelInfo> {
    let engine = engine.inner().clone();
    let offered = blocking(move || engine.ask(|reply| Job::ImportModel { dir, reply })).await?;
    Ok(model_info(offered))
}

/// Downloads MedEmbed-small-v0.1 from the hub (the only network use, and only on this
/// explicit request), verified, and searches with it from now on. Progress comes as `download`
/// events.
#[tauri::command]
async fn fetch_model(app: tauri::AppHandle, engine: Shared<'_>) -> Answer<medshelf::ModelInfo> {
    let engine = engine.inner().clone();
    let progress = engine.download_progress(&app);
    let request = medshelf::models::fetch::FetchRequest::new(None, None);
    let offered = blocking(move || {
        engine.ask(|reply| Job::FetchModel {
            request,
            progress,
            reply,
        })
    })
    .await?;
    Ok(model_info(offered))
}

/// The model a library was offered, whether it took it into use or keeps it for a switch.
fn model_info(offered: medshelf::library::Offered) -> medshelf::ModelInfo {
    match offered {
        medshelf::library::Offered::InUse(info) | medshelf::library::Offered::Installed(info) => {
            info
        }
    }
}

/// The models installed in the library, each checked, and the one in use.
#[tauri::command]
async fn models(engine: Shared<'_>) -> Answer<Vec<medshelf::models::InstalledModel>> {
    let dir = engine.searcher()?.dir().join("models");
    blocking(move || Ok(medshelf::models::list_models(&dir))).await
}

/// Switches the library to an installed model. The re-embedding runs in the background (as
/// `backfill` progress); searches keep the current model until it is complete.
#[tauri::command]
async fn use_model(engine: Shared<'_>, name: String) -> Answer<()> {
    let engine = engine.inner().clone();
    blocking(move || engine.ask(|reply| Job::UseModel { name, reply })).await
}

/// `path` if the library holds it, else an error: the page may only open the library's files.
pub(crate) async fn library_file(engine: &Shared<'_>, path: PathBuf) -> Answer<PathBuf> {
    let searcher = engine.searcher()?;
    blocking(move || {
        // A point lookup of the exact path: never a list of paths matched as text.
        if searcher.holds(&path)? {
            Ok(path)
        } else {
            let message = format!("{} is not in the library", path.display());
            Err(Problem::new("not_in_library", Fault::User, message))
        }
    })
    .await
}

/// The system could not show, open or reveal a file.
fn cannot(what: &str, path: &Path, e: impl std::fmt::Display) -> Problem {
    let message = format!("cannot {what} {}: {e}", path.display());
    Problem::new("cannot_open", Fault::Machine, message)
}

/// Runs engine work on the blocking pool, never on the UI thread.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Answer<T> + Send + 'static,
) -> Answer<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| Problem::new("internal", Fault::Internal, format!("internal error: {e}")))?
}
