// The library view: every paper with its state and actions, the folders followed, the models.
import { api } from "../api";
import { describe } from "../problem";
import { renderFolders, renderLibrary, renderModels } from "../views";
import { loadStatus } from "./status";
import { $, onShow, showView, state } from "./state";
import { openResult } from "./viewer";

onShow("library", () => void loadLibrary());

/** Loads and shows the papers, the folders and the models. */
export async function loadLibrary() {
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
$("show-library").addEventListener("click", () => showView(state.view === "library" ? "search" : "library"));
$("library-back").addEventListener("click", () => showView("search"));
