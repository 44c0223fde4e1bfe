// The page: wires the views to the app's commands and events. Search logic lives in the engine;
// this file only asks, shows, and keeps the keyboard working everywhere.
import "./style.css";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open as openDialog } from "@tauri-apps/plugin-dialog";
import { api, type Answer, type IngestEvent, type Mode, type SearchResult, type Status } from "./api";
import { basename, count, debounce, escapeHtml, formatDuration, formatRate } from "./format";
import { applyEvent, emptyIngest, isDone, progress, stateLabel } from "./ingest";
import { displayTitle, moveSelection, renderLibrary, renderModels, renderResults } from "./views";
import { Viewer } from "./viewer";

type View = "search" | "viewer" | "library" | "model";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const search = $<HTMLInputElement>("search");
const resultsEl = $("results");
const viewer = new Viewer($("pdf"));

/** Search timings, for the E2E test and for anyone who opens the dev tools. */
interface Timing {
  query: string;
  /** From the keystroke that led to the search to the results painted. */
  keyToPaintMs: number;
  /** What the engine took. */
  engineMs: number;
}
const metrics: { searches: Timing[] } = { searches: [] };
(window as unknown as { medshelfMetrics: typeof metrics }).medshelfMetrics = metrics;

const state = {
  view: "search" as View,
  mode: "hybrid" as Mode,
  answer: undefined as Answer | undefined,
  selected: -1,
  status: undefined as Status | undefined,
  lastKeyAt: 0,
  searchSeq: 0,
  ingest: emptyIngest(),
  ingestOpen: true,
  open: undefined as { result: SearchResult; page: number } | undefined,
};

// ---------------------------------------------------------------- views and keyboard

function showView(view: View) {
  state.view = view;
  for (const v of ["search", "viewer", "library", "model"] as View[]) {
    $(`view-${v}`).hidden = v !== view;
  }
  if (view === "search") search.focus();
  if (view === "viewer") $("pdf").focus();
  if (view === "library") void loadLibrary();
  if (view === "model") renderModelState();
}

document.addEventListener("keydown", (e) => {
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && e.key.toLowerCase() === "o") {
    e.preventDefault();
    void pick(e.shiftKey);
    return;
  }
  if (ctrl && e.key.toLowerCase() === "l") {
    e.preventDefault();
    showView(state.view === "library" ? "search" : "library");
    return;
  }
  if (e.altKey && ["1", "2", "3"].includes(e.key)) {
    e.preventDefault();
    setMode((["hybrid", "lexical", "semantic"] as Mode[])[Number(e.key) - 1]);
    return;
  }
  if (e.key === "Escape") {
    if (state.view !== "search") {
      e.preventDefault();
      showView("search");
    } else if (document.activeElement === search && search.value) {
      e.preventDefault();
      search.value = "";
      void runSearch();
    }
    return;
  }
  if (state.view === "viewer" && document.activeElement?.tagName !== "INPUT") {
    if (e.key === "ArrowRight" || e.key === "PageDown") void turnPage(1);
    else if (e.key === "ArrowLeft" || e.key === "PageUp") void turnPage(-1);
    else if (e.key === "o") void openExternal();
    return;
  }
  if (state.view === "search") {
    const count = state.answer?.results.length ?? 0;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      select(moveSelection(state.selected, e.key === "ArrowDown" ? 1 : -1, count));
    } else if (e.key === "Enter" && count > 0) {
      e.preventDefault();
      void openResult(Math.max(0, state.selected));
    } else if (e.key === "/" && document.activeElement !== search) {
      e.preventDefault();
      search.focus();
    }
  }
});

// ---------------------------------------------------------------- search

search.addEventListener("input", () => {
  state.lastKeyAt = performance.now();
  debouncedSearch();
});
const debouncedSearch = debounce(() => void runSearch(), 120);

for (const button of document.querySelectorAll<HTMLButtonElement>(".mode")) {
  button.addEventListener("click", () => setMode(button.dataset.mode as Mode));
}

function setMode(mode: Mode) {
  state.mode = mode;
  for (const b of document.querySelectorAll<HTMLButtonElement>(".mode")) {
    b.setAttribute("aria-checked", String(b.dataset.mode === mode));
  }
  state.lastKeyAt = performance.now();
  void runSearch();
  if (state.view === "search") search.focus();
}

/** Asks the engine and shows the answer. A new question starts at the top with the first
 * result selected; `keep` (the same question asked again because the library changed) keeps
 * the selected paper selected and the list where it was scrolled, so that ↓ then Enter opens
 * what the person chose. */
async function runSearch(keep = false) {
  const query = search.value.trim();
  const seq = ++state.searchSeq;
  const keyAt = state.lastKeyAt;
  if (!query) {
    state.answer = undefined;
    state.selected = -1;
    resultsEl.innerHTML = "";
    $("search-info").textContent = "";
    renderEmpty();
    return;
  }
  let answer: Answer;
  try {
    answer = await api.search(query, state.mode);
  } catch (e) {
    if (seq !== state.searchSeq) return;
    $("search-info").textContent = `Search failed: ${String(e)}`;
    return;
  }
  // A newer keystroke has asked since: its answer is the one to show.
  if (seq !== state.searchSeq) return;
  const scroller = resultsEl.closest("main") as HTMLElement;
  const same = keep && state.answer?.query === answer.query && state.answer?.mode === answer.mode;
  const chosen = same ? state.answer?.results[state.selected]?.path : undefined;
  const scrollTop = scroller.scrollTop;
  state.answer = answer;
  const kept = chosen === undefined ? -1 : answer.results.findIndex((r) => r.path === chosen);
  state.selected = kept >= 0 ? kept : answer.results.length ? 0 : -1;
  resultsEl.innerHTML = renderResults(answer.results, state.selected);
  scroller.scrollTop = same ? scrollTop : 0;
  renderEmpty();
  const n = answer.results.length;
  const info = $("search-info");
  const byMeaning = answer.results.filter((r) => r.meaning_only).length;
  const weak =
    n > 0 && byMeaning === n
      ? ` · none of your words occur in any paper: these are the nearest by meaning`
      : "";
  info.textContent = `${count(n, "paper")}${weak}${answer.notice ? ` · ${answer.notice}` : ""}`;
  info.classList.toggle("weak", weak !== "");
  // Two frames later the results are on screen: the first callback runs before the paint,
  // the timeout after it.
  requestAnimationFrame(() =>
    setTimeout(() => {
      const timing = {
        query,
        keyToPaintMs: performance.now() - keyAt,
        engineMs: answer.took_ms,
      };
      metrics.searches.push(timing);
      resultsEl.dataset.keyToPaintMs = timing.keyToPaintMs.toFixed(1);
      resultsEl.dataset.engineMs = timing.engineMs.toFixed(1);
      info.textContent += ` · ${Math.round(timing.engineMs)} ms`;
      info.title = `${Math.round(timing.keyToPaintMs)} ms from your last key to these results (a ${120} ms pause for typing included)`;
    }, 0),
  );
}

function select(index: number) {
  state.selected = index;
  for (const li of resultsEl.querySelectorAll<HTMLElement>(".result")) {
    const on = Number(li.dataset.index) === index;
    li.classList.toggle("selected", on);
    li.setAttribute("aria-selected", String(on));
    if (on) li.scrollIntoView({ block: "nearest" });
  }
  search.setAttribute("aria-activedescendant", index >= 0 ? `result-${index}` : "");
}

resultsEl.addEventListener("click", (e) => {
  const target = e.target as HTMLElement;
  const pageLink = target.closest<HTMLElement>(".page-link");
  const li = target.closest<HTMLElement>(".result");
  if (!li) return;
  const index = Number(li.dataset.index);
  select(index);
  void openResult(index, pageLink ? Number(pageLink.dataset.page) : undefined);
});

function renderEmpty() {
  const empty = $("empty");
  const docs = state.status?.documents ?? 0;
  if (state.answer && state.answer.results.length === 0) {
    empty.innerHTML = `<p>No paper matches <strong>${escapeHtml(state.answer.query)}</strong>.</p>
      <p>Try other words${state.mode !== "hybrid" ? ", or the Hybrid mode" : ""}.</p>`;
  } else if (!state.answer && docs === 0 && state.ingest.open.size > 0) {
    empty.innerHTML = `<div class="drop-hint"><p class="big">Your papers are being indexed.</p>
      <p>Search as soon as the first is done; the panel below shows each file.</p></div>`;
  } else if (!state.answer && docs === 0) {
    empty.innerHTML = `<div class="drop-hint"><p class="big">Your library is empty.</p>
      <p>Drop PDFs or whole folders anywhere on this window, or press <kbd>Ctrl</kbd>+<kbd>O</kbd>.</p>
      <p>Everything stays on this computer.</p></div>`;
  } else if (!state.answer) {
    empty.innerHTML = `<p class="hint">${docs} ${docs === 1 ? "paper" : "papers"} in your library. Type a question;
      <kbd>↑</kbd> <kbd>↓</kbd> move, <kbd>Enter</kbd> opens, <kbd>Esc</kbd> goes back.</p>`;
  } else {
    empty.innerHTML = "";
  }
}

// ---------------------------------------------------------------- viewer

async function openResult(index: number, page?: number) {
  const result = state.answer?.results[index];
  if (!result) return;
  const target = page ?? result.page;
  state.open = { result, page: target };
  $("viewer-title").textContent = displayTitle(result.title, result.path);
  $("viewer-error").hidden = true;
  showView("viewer");
  const snippet =
    target === result.page
      ? result.snippet
      : (result.passages.find((p) => p.page === target)?.snippet ?? result.snippet);
  try {
    await api.allowView(result.path);
    const shown = await viewer.open(result.path, target, snippet);
    updatePageLabel(shown.page, shown.pages);
  } catch (e) {
    const err = $("viewer-error");
    err.textContent = `Cannot show ${basename(result.path)}: ${String(e)}. Try “Open in system viewer”.`;
    err.hidden = false;
  }
}

async function turnPage(delta: number) {
  if (!state.open) return;
  const next = state.open.page + delta;
  if (next < 1 || next > viewer.pageCount) return;
  state.open.page = next;
  const r = state.open.result;
  const snippet =
    next === r.page ? r.snippet : (r.passages.find((p) => p.page === next)?.snippet ?? "");
  const shown = await viewer.show(next, snippet);
  updatePageLabel(shown.page, shown.pages);
}

function updatePageLabel(page: number, pages: number) {
  $("viewer-page").textContent = `Page ${page} of ${pages}`;
}

async function openExternal() {
  if (!state.open) return;
  try {
    await api.openExternal(state.open.result.path);
  } catch (e) {
    const err = $("viewer-error");
    err.textContent = String(e);
    err.hidden = false;
  }
}

$("viewer-back").addEventListener("click", () => showView("search"));
$("viewer-prev").addEventListener("click", () => void turnPage(-1));
$("viewer-next").addEventListener("click", () => void turnPage(1));
$("viewer-external").addEventListener("click", () => void openExternal());

// ---------------------------------------------------------------- adding papers

async function addPaths(paths: string[]) {
  if (!paths.length) return;
  try {
    const queued = await api.indexPaths(paths);
    if (queued.skipped.length) {
      showIngestError(
        `Not added (not a PDF or a folder): ${queued.skipped.map(basename).join(", ")}`,
      );
    }
  } catch (e) {
    showIngestError(String(e));
  }
}

function showIngestError(message: string) {
  $("ingest").hidden = false;
  const el = $("ingest-error");
  el.textContent = message;
  el.hidden = false;
}

async function pick(folder: boolean) {
  const picked = await openDialog({
    multiple: true,
    directory: folder,
    title: folder ? "Add folders of PDFs" : "Add PDFs",
    filters: folder ? undefined : [{ name: "PDF", extensions: ["pdf", "PDF"] }],
  });
  if (!picked) return;
  await addPaths(Array.isArray(picked) ? picked : [picked]);
}

$("add-files").addEventListener("click", () => void pick(false));
$("add-folder").addEventListener("click", () => void pick(true));

// Tauri's native drop gives real paths. The same handler serves the E2E test, which emits the
// `tauri://drag-drop` event itself.
void getCurrentWebview().onDragDropEvent((event) => {
  const overlay = $("drop-overlay");
  const p = event.payload;
  if (p.type === "enter" || p.type === "over") overlay.hidden = false;
  else if (p.type === "leave") overlay.hidden = true;
  else if (p.type === "drop") {
    overlay.hidden = true;
    void addPaths(p.paths);
  }
});

// ---------------------------------------------------------------- ingest panel

let ingestFrame = 0;
function scheduleIngestRender() {
  if (!ingestFrame) ingestFrame = requestAnimationFrame(renderIngest);
}

function renderIngest() {
  ingestFrame = 0;
  const s = state.ingest;
  const panel = $("ingest");
  if (s.files.size === 0 && !s.error && !s.backfill) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const p = progress(s, Date.now());
  panel.dataset.active = String(p.active);
  const bar = $<HTMLProgressElement>("ingest-bar");
  bar.max = Math.max(1, p.total);
  bar.value = p.done;
  $("ingest-title").textContent = p.active ? "Indexing" : "Indexing done";
  const parts = p.total ? [`${p.done} of ${count(p.total, "file")}`] : [];
  if (p.pagesPerSecond > 0) parts.push(`${formatRate(p.pagesPerSecond)} pages/s`);
  if (p.active && p.secondsLeft !== undefined)
    parts.push(p.secondsLeft < 1 ? "almost done" : `about ${formatDuration(p.secondsLeft)} left`);
  if (s.backfill) {
    parts.push(`embedding passages for meaning search: ${s.backfill.done} of ${s.backfill.total}`);
    bar.max = Math.max(1, s.backfill.total);
    bar.value = s.backfill.done;
  }
  const failed = [...s.files.values()].filter((f) => f.state === "failed").length;
  if (failed) parts.push(`${failed} failed`);
  $("ingest-stats").textContent = parts.join(" · ");
  $("ingest-cancel").hidden = !p.active;
  $("ingest-close").hidden = p.active;
  const list = $("ingest-files");
  list.hidden = !state.ingestOpen;
  list.innerHTML = [...s.files.values()]
    .map(
      (f) => `<li class="file ${f.state}" data-path="${escapeHtml(f.path)}" data-state="${f.state}">
  <span class="file-name" title="${escapeHtml(f.path)}">${escapeHtml(basename(f.path))}</span>
  <span class="file-state">${escapeHtml(stateLabel(f))}</span></li>`,
    )
    .join("");
}

// Rates and time left move even when no event arrives.
setInterval(() => {
  if (state.ingest.open.size) scheduleIngestRender();
}, 1000);

$("ingest-cancel").addEventListener("click", () => void api.cancelIndexing());
$("ingest-close").addEventListener("click", () => {
  state.ingest = emptyIngest();
  scheduleIngestRender();
});
$("ingest-toggle").addEventListener("click", () => {
  state.ingestOpen = !state.ingestOpen;
  $("ingest-toggle").textContent = state.ingestOpen ? "Hide" : "Show";
  $("ingest-toggle").setAttribute("aria-expanded", String(state.ingestOpen));
  scheduleIngestRender();
});

const refreshAfterIndexing = debounce(async () => {
  await loadStatus();
  if (state.view === "library") await loadLibrary();
  // New papers may answer the question on screen: ask again, keeping the selection's place.
  if (state.view === "search" && search.value.trim()) await runSearch(true);
}, 300);

/** The last feed event applied: a replayed or repeated event is applied once. */
let lastSeq = 0;
/** Events that arrive while the feed is being replayed wait here. */
let early: IngestEvent[] | undefined = [];

function onIngest(event: IngestEvent) {
  if (event.seq !== undefined) {
    if (event.seq <= lastSeq) return;
    lastSeq = event.seq;
  }
  if (event.kind === "download") {
    showDownload(event.file, event.done, event.size);
    return;
  }
  applyEvent(state.ingest, event, event.at ?? Date.now());
  scheduleIngestRender();
  if (event.kind === "file" && isDone(event.state)) refreshAfterIndexing();
  if (event.kind === "finished" || event.kind === "reloaded") refreshAfterIndexing();
  if (event.kind === "error") showIngestError(event.error);
}

/** Listens, then replays what the engine sent before the page listened (the papers given at
 * launch start before the page loads), then what came meanwhile: the panel is right from the
 * first event on. */
async function followIngest() {
  await api.onIngest((event) => (early ? early.push(event) : onIngest(event)));
  try {
    for (const event of await api.ingestLog()) onIngest(event);
  } catch {
    // An older engine without a log: the live events alone.
  }
  const waiting = early ?? [];
  early = undefined;
  for (const event of waiting) onIngest(event);
}

// ---------------------------------------------------------------- library view

async function loadLibrary() {
  const err = $("library-error");
  err.hidden = true;
  try {
    const [docs, status, models] = await Promise.all([api.documents(), api.status(), api.models()]);
    $("models").innerHTML = renderModels(models, status.model);
    state.status = status;
    $("library-rows").innerHTML = renderLibrary(docs);
    const failed = docs.filter((d) => d.status === "failed").length;
    $("library-summary").textContent =
      `${docs.length} papers · ${status.chunks} passages${failed ? ` · ${failed} could not be read` : ""} · ` +
      (status.model ? `model ${status.model.name}` : "keyword search only (no model)") +
      ` · ${status.library}`;
    $("folders").innerHTML = status.folders.length
      ? status.folders
          .map(
            (f) => `<li><span>${escapeHtml(f)}</span>
  <span class="watch-state">${status.watching.includes(f) ? "followed: changes are picked up as they happen" : "not followed"}</span>
  <button data-action="rescan" data-path="${escapeHtml(f)}">Rescan</button></li>`,
          )
          .join("")
      : `<li class="empty">No folders yet: drop a folder to add every PDF in it.</li>`;
  } catch (e) {
    err.textContent = String(e);
    err.hidden = false;
  }
}

$("view-library").addEventListener("click", async (e) => {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-action]");
  if (!button) return;
  const path = button.dataset.path ?? "";
  const err = $("library-error");
  err.hidden = true;
  try {
    switch (button.dataset.action) {
      case "view": {
        state.answer = {
          query: "",
          mode: state.mode,
          took_ms: 0,
          results: [
            { rank: 1, path, title: null, page: 1, score: 0, snippet: "", start: 0, end: 0, passages: [] },
          ],
        };
        await openResult(0, 1);
        break;
      }
      case "reindex":
        await api.indexPaths([path], true);
        break;
      case "use-model": {
        const name = button.dataset.name ?? "";
        button.disabled = true;
        button.textContent = "Switching…";
        await api.useModel(name);
        button.textContent = "Re-embedding: see the progress below";
        break;
      }
      case "rescan":
        await api.indexPaths([path]);
        break;
      case "reveal":
        await api.reveal(path);
        break;
      case "remove":
        // Two presses: the first asks, the second removes.
        if (button.dataset.confirm !== "yes") {
          button.dataset.confirm = "yes";
          button.textContent = "Remove: sure?";
          return;
        }
        await api.removePaths([path]);
        await loadLibrary();
        await loadStatus();
        break;
    }
  } catch (e) {
    err.textContent = String(e);
    err.hidden = false;
  }
});
$("show-library").addEventListener("click", () => showView(state.view === "library" ? "search" : "library"));
$("library-back").addEventListener("click", () => showView("search"));

// ---------------------------------------------------------------- model

function renderModelState() {
  const s = state.status;
  $("model-state").textContent = s?.model
    ? `In use now: ${s.model.name} (${s.model.dim} dimensions).`
    : (s?.model_error ?? "No model is installed: MedShelf searches by keywords only, and works fully that way.");
}

$("model-import").addEventListener("click", async () => {
  const err = $("model-error");
  err.hidden = true;
  const dir = await openDialog({ directory: true, title: "Choose the model folder" });
  if (!dir || Array.isArray(dir)) return;
  const button = $<HTMLButtonElement>("model-import");
  button.disabled = true;
  button.textContent = "Checking the model…";
  try {
    const info = await api.importModel(dir);
    await loadStatus();
    $("model-state").textContent = `Installed: ${info.name} (${info.dim} dimensions). Searching by meaning now.`;
  } catch (e) {
    err.textContent = `This folder cannot be used: ${String(e)}`;
    err.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = "Choose model folder…";
  }
});
$("model-fetch").addEventListener("click", async () => {
  const err = $("model-error");
  err.hidden = true;
  const button = $<HTMLButtonElement>("model-fetch");
  button.disabled = true;
  button.textContent = "Downloading…";
  $("model-download").hidden = false;
  $("model-download-text").textContent = "Asking the hub…";
  try {
    const info = await api.fetchModel();
    await loadStatus();
    $("model-state").textContent = `Installed: ${info.name} (${info.dim} dimensions), every file verified. Searching by meaning now.`;
  } catch (e) {
    err.textContent = `The download did not complete: ${String(e)}`;
    err.hidden = false;
  } finally {
    $("model-download").hidden = true;
    button.disabled = false;
    button.textContent = "Download MedEmbed-small-v0.1";
  }
});

function showDownload(file: string, done: number, size: number) {
  const bar = $<HTMLProgressElement>("model-download-bar");
  bar.max = Math.max(1, size);
  bar.value = done;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  $("model-download-text").textContent = `${file}: ${mb(done)} of ${mb(size)} MB`;
}

$("model-skip").addEventListener("click", () => {
  localStorage.setItem("medshelf.model-screen-seen", "1");
  showView("search");
});
$("notice-action").addEventListener("click", () => showView("model"));

// ---------------------------------------------------------------- status

async function loadStatus() {
  try {
    state.status = await api.status();
  } catch (e) {
    $("notice-text").textContent = String(e);
    $("notice").hidden = false;
    $("notice-action").hidden = true;
    return;
  }
  const s = state.status;
  const notice = $("notice");
  if (!s.model) {
    $("notice-text").textContent =
      s.model_error ??
      "Keyword search only: no embedding model is installed, so MedShelf matches your words but not their meaning.";
    $("notice-action").hidden = false;
    notice.hidden = false;
  } else {
    notice.hidden = true;
  }
  for (const b of document.querySelectorAll<HTMLButtonElement>(".mode")) {
    const needsModel = b.dataset.mode !== "lexical";
    b.classList.toggle("degraded", needsModel && !s.model);
    if (needsModel && !s.model) b.title = "Needs a model: searches by keywords for now";
  }
  if (state.view === "search") renderEmpty();
  if (state.view === "model") renderModelState();
  if (s.busy && state.ingest.files.size === 0) {
    $("ingest").hidden = false;
    $("ingest-stats").textContent = "Indexing in the background…";
  }
}

async function start() {
  await followIngest();
  await loadStatus();
  const firstRun =
    state.status && !state.status.model && !localStorage.getItem("medshelf.model-screen-seen");
  showView(firstRun ? "model" : "search");
  document.body.dataset.ready = "true";
}

void start();
