// Import from Zotero: the dialog that proposes the Zotero folder (the one imported before, or
// the one Zotero's settings name), the import itself (its PDFs show in the ingest panel like any
// drop), and the collections that scope a search afterwards.
import { open as openDialog } from "@tauri-apps/plugin-dialog";
import { api, type ZoteroSummary } from "../api";
import { count } from "../format";
import { describe } from "../problem";
import { toast } from "./cite";
import { loadLibrary } from "./library";
import { $, onStatus, state } from "./state";

const dialog = $<HTMLDialogElement>("zotero-dialog");
const dirInput = $<HTMLInputElement>("zotero-dir");
const error = $("zotero-error");

/** Loads the collections imported (the scopes offered beside the results). */
export async function loadCollections() {
  try {
    state.collections = (await api.zoteroOffer()).collections;
  } catch {
    state.collections = [];
  }
}
onStatus(() => void loadCollections());

/** Opens the dialog with the proposed folder, the cursor in it. */
export async function openZoteroDialog() {
  error.hidden = true;
  try {
    const offer = await api.zoteroOffer();
    dirInput.value = offer.dir;
    $("zotero-found").textContent = offer.imported
      ? `Imported from here before (${count(offer.imported.items, "item")}): importing again brings over only what changed.`
      : offer.found
        ? "A Zotero library is there."
        : "No Zotero database there: choose the folder that holds zotero.sqlite.";
  } catch (e) {
    error.textContent = describe(e);
    error.hidden = false;
  }
  if (!dialog.open) dialog.showModal();
  dirInput.focus();
  dirInput.select();
}

/** The import's outcome in a sentence. */
function said(s: ZoteroSummary): string {
  const skipped = s.skipped.length ? `, ${count(s.skipped.length, "attachment")} skipped (not a PDF, missing or outside the folder)` : "";
  const failed = s.index.failed ? `, ${count(s.index.failed, "PDF")} could not be read` : "";
  return `Zotero: ${count(s.imported, "item")} imported, ${s.unchanged} unchanged, ${s.removed} removed; ${count(s.files, "PDF")}; your notes and annotations: ${s.notes}${skipped}${failed}.`;
}

async function startImport() {
  const dir = dirInput.value.trim();
  if (!dir) return;
  error.hidden = true;
  $<HTMLButtonElement>("zotero-start").disabled = true;
  try {
    // The dialog closes at once: the PDFs' progress shows in the ingest panel.
    const running = api.importZotero(dir);
    dialog.close();
    const summary = await running;
    toast(said(summary));
    await loadCollections();
    if (state.view === "library") await loadLibrary();
  } catch (e) {
    if (!dialog.open) dialog.showModal();
    error.textContent = describe(e);
    error.hidden = false;
    dirInput.focus();
  } finally {
    $<HTMLButtonElement>("zotero-start").disabled = false;
  }
}

$("zotero-form").addEventListener("submit", (e) => {
  e.preventDefault();
  void startImport();
});
$("zotero-cancel").addEventListener("click", () => dialog.close());
$("zotero-choose").addEventListener("click", async () => {
  const chosen = await openDialog({ directory: true, multiple: false, defaultPath: dirInput.value || undefined });
  if (typeof chosen === "string") dirInput.value = chosen;
  dirInput.focus();
});
for (const button of document.querySelectorAll<HTMLButtonElement>(".import-zotero")) {
  button.addEventListener("click", () => void openZoteroDialog());
}
