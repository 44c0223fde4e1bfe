// The library view: every paper with its state and actions, the folders followed, the models.
import { api, type Document, type Meta } from "../api";
import { describe } from "../problem";
import { type LibraryOrder, libraryView, renderLibrary, renderLibraryHead } from "../library";
import { recordChanges, renderFolders, renderModels, renderRecordForm } from "../views";
import { copyCitation, exportRecords } from "./cite";
import { loadStatus } from "./status";
import { $, onShow, showView, state } from "./state";
import { openResult } from "./viewer";

// The filter has the keyboard when the library opens: type to narrow it at once.
onShow("library", () => {
  $("library-filter").focus();
  void loadLibrary();
});

/** The papers shown, by path: what the details form starts from. */
let shown = new Map<string, Document>();

/** Every paper as last loaded, the filter typed and the order chosen: the table is drawn
 * from these, without asking the engine again. */
let papers: Document[] = [];
let order: LibraryOrder = { column: "title", descending: false };
const filterEl = $<HTMLInputElement>("library-filter");

/** Draws the table: the papers the filter lets through, in the order chosen. */
function drawTable() {
  const filter = filterEl.value.trim();
  const rows = libraryView(papers, filter, order);
  $("library-head").innerHTML = renderLibraryHead(order);
  $("library-rows").innerHTML = renderLibrary(rows, filter !== "");
  $("library-count").textContent = filter ? `${rows.length} of ${papers.length} shown` : "";
}

filterEl.addEventListener("input", drawTable);
filterEl.addEventListener("keydown", (e) => {
  // Esc empties the filter first; an empty one lets Esc go back to the search.
  if (e.key === "Escape" && filterEl.value) {
    e.preventDefault();
    e.stopPropagation();
    filterEl.value = "";
    drawTable();
  }
});
$("library-head").addEventListener("click", (e) => {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button.sort");
  if (!button) return;
  const column = button.dataset.column as LibraryOrder["column"];
  // The same column again turns the order round; another starts ascending (years newest first).
  order = order.column === column ? { column, descending: !order.descending } : { column, descending: column === "year" };
  drawTable();
  $("library-head").querySelector<HTMLButtonElement>(`button[data-column="${column}"]`)?.focus();
});

/** The paper the details form shows and the record it was filled from: what the typed
 * values are compared with (a refresh of the list meanwhile must not turn untouched fields
 * into corrections). */
let editing: { path: string; meta: Meta } | null = null;

/** Opens the details form of a paper, focused on its first field. */
function openRecord(path: string, meta: Meta) {
  editing = { path, meta };
  const dialog = $("record-dialog") as HTMLDialogElement;
  dialog.innerHTML = renderRecordForm(path, meta);
  dialog.dataset.path = path;
  if (!dialog.open) dialog.showModal();
  dialog.querySelector<HTMLInputElement>("input")?.focus();
}

/** Saves the corrections the form asks for (or takes one back), then shows the library again. */
async function saveRecord(path: string, set: [string, string][], reset: string[]) {
  const dialog = $("record-dialog") as HTMLDialogElement;
  const error = dialog.querySelector<HTMLElement>("#record-error");
  try {
    const meta = await api.correctRecord(path, set, reset);
    await loadLibrary();
    if (reset.length > 0) {
      // Taken back: the form stays, showing what the PDF says now.
      openRecord(path, meta);
    } else {
      dialog.close();
      document.querySelector<HTMLButtonElement>(`button[data-action="details"][data-path="${CSS.escape(path)}"]`)?.focus();
    }
  } catch (e) {
    if (error) {
      error.textContent = describe(e);
      error.hidden = false;
    }
  }
}

$("record-dialog").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  if (!editing || editing.path !== form.dataset.path) return;
  const { path, meta } = editing;
  const typed: Record<string, string> = {};
  new FormData(form).forEach((v, k) => (typed[k] = String(v)));
  const set = recordChanges(meta, typed);
  if (set.length === 0) {
    ($("record-dialog") as HTMLDialogElement).close();
    return;
  }
  void saveRecord(path, set, []);
});
$("record-dialog").addEventListener("click", (e) => {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button");
  const path = ($("record-dialog") as HTMLDialogElement).dataset.path ?? "";
  if (button?.dataset.reset) void saveRecord(path, [], [button.dataset.reset]);
  else if (button?.dataset.action === "close-record") ($("record-dialog") as HTMLDialogElement).close();
});
$("record-dialog").addEventListener("keydown", (e) => {
  // Ctrl+Enter saves from the abstract's text area too (Enter there is a new line).
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
    e.preventDefault();
    $("record-dialog").querySelector<HTMLFormElement>("form")?.requestSubmit();
  }
});

/** Loads and shows the papers, the folders and the models. */
export async function loadLibrary() {
  const err = $("library-error");
  err.hidden = true;
  try {
    const [docs, status, models] = await Promise.all([api.documents(), api.status(), api.models()]);
    $("models").innerHTML = renderModels(models, status.model);
    state.status = status;
    papers = docs;
    shown = new Map(docs.map((d) => [d.path, d]));
    drawTable();
    const failed = docs.filter((d) => d.status === "failed").length;
    $("library-summary").textContent =
      `${docs.length} papers · ${status.chunks} passages${failed ? ` · ${failed} could not be read` : ""} · ` +
      (status.model
        ? `model ${status.model.name}${status.model.precision ? ` (${status.model.precision})` : ""}`
        : "keyword search only (no model)") +
      (status.vectors_waiting ? ` · ${status.vectors_waiting} passages waiting for vectors` : "") +
      ` · ${status.library}`;
    $("folders").innerHTML = renderFolders(status.folders, status.watching);
  } catch (e) {
    err.textContent = describe(e);
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
      case "cite":
        await copyCitation(shown.get(path)?.meta);
        break;
      case "details": {
        // The row shows the design beside the record; the form edits it with the rest.
        const doc = shown.get(path);
        if (doc?.meta) openRecord(path, { ...doc.meta, design: doc.design ?? null });
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
    err.textContent = describe(e);
    err.hidden = false;
  }
});
/** Copies the reference of the paper whose row has the focus (Alt+C). */
export function citeFocusedRow() {
  const row = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>("#library-rows tr");
  void copyCitation(row?.dataset.path ? shown.get(row.dataset.path)?.meta : undefined);
}

/** Saves every indexed paper's record (Alt+E). */
export function exportLibrary() {
  const records = [...shown.values()].filter((d) => d.status === "indexed").flatMap((d) => (d.meta ? [d.meta] : []));
  void exportRecords(records, "MedShelf library");
}
$("export-library").addEventListener("click", exportLibrary);

$("show-library").addEventListener("click", () => showView(state.view === "library" ? "search" : "library"));
$("library-back").addEventListener("click", () => showView("search"));
