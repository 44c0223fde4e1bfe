// Adding papers (drop, pick) and the ingest panel: every file's state as the writer reports
// it, the batch's progress, rates and time left.
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open as openDialog } from "@tauri-apps/plugin-dialog";
import { api, type IngestEvent } from "../api";
import { basename, count, debounce, formatDuration, formatRate } from "../format";
import { applyEvent, describeBackfill, describeTidying, emptyIngest, isDone, progress } from "../ingest";
import { describe } from "../problem";
import { renderIngestFiles } from "../views";
import { loadStatus } from "./status";
import { $, state } from "./state";

/** What the page reloads once papers changed: set by main, which knows every view. */
let refresh: () => Promise<void> = async () => {};
export function onRefresh(f: () => Promise<void>) {
  refresh = f;
}

/** Queues files and folders for indexing; what is neither is named in the panel. */
export async function addPaths(paths: string[]) {
  if (!paths.length) return;
  try {
    const queued = await api.indexPaths(paths);
    if (queued.skipped.length) {
      showIngestError(`Not added (not a PDF or a folder): ${queued.skipped.map(basename).join(", ")}`);
    }
  } catch (e) {
    showIngestError(describe(e));
  }
}

function showIngestError(message: string) {
  $("ingest").hidden = false;
  const el = $("ingest-error");
  el.textContent = message;
  el.hidden = false;
}

/** Asks for files (or folders, with `folder`) and adds them. */
export async function pick(folder: boolean) {
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

let ingestFrame = 0;
function scheduleIngestRender() {
  if (!ingestFrame) ingestFrame = requestAnimationFrame(renderIngest);
}

function renderIngest() {
  ingestFrame = 0;
  const s = state.ingest;
  const panel = $("ingest");
  if (s.files.size === 0 && !s.error && !s.backfill && !s.tidying) {
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
  if (p.active && p.secondsLeft !== undefined && p.done < p.total)
    parts.push(p.secondsLeft < 1 ? "almost done" : `about ${formatDuration(p.secondsLeft)} left`);
  // The files are read and searchable by keywords; their passages get vectors now.
  if (s.backfill && p.done === p.total) {
    const indexed = [...s.files.values()].filter((f) => f.state === "indexed").length;
    parts.push(describeBackfill(s.backfill, indexed, Date.now()));
    bar.max = Math.max(1, s.backfill.total);
    bar.value = s.backfill.done;
  }
  if (s.tidying) parts.push(describeTidying(s.tidying));
  const failed = [...s.files.values()].filter((f) => f.state === "failed").length;
  if (failed) parts.push(`${failed} failed`);
  $("ingest-stats").textContent = parts.join(" · ");
  $("ingest-cancel").hidden = !p.active;
  $("ingest-close").hidden = p.active;
  const list = $("ingest-files");
  list.hidden = !state.ingestOpen;
  list.innerHTML = renderIngestFiles(s.files.values());
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
  await refresh();
}, 300);

/** Where a model download's progress goes: set by the model view. */
let download: (file: string, done: number, size: number) => void = () => {};
export function onDownload(f: (file: string, done: number, size: number) => void) {
  download = f;
}

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
    download(event.file, event.done, event.size);
    return;
  }
  applyEvent(state.ingest, event, event.at ?? Date.now());
  scheduleIngestRender();
  if (event.kind === "file" && isDone(event.state)) refreshAfterIndexing();
  if (event.kind === "finished" || event.kind === "reloaded") refreshAfterIndexing();
  if (event.kind === "error") showIngestError(event.problem ? describe(event.problem) : event.error);
}

/** Listens, then replays what the engine sent before the page listened (the papers given at
 * launch start before the page loads), then what came meanwhile: the panel is right from the
 * first event on. */
export async function followIngest() {
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
