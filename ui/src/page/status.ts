// The library's status: counts, the model in use (or why none is), the folders, whether the
// writer is busy. Loaded at start and after every change; the notice bar says what it means.
import { api } from "../api";
import { describe } from "../problem";
import { $, state, statusChanged } from "./state";

export async function loadStatus() {
  try {
    state.status = await api.status();
  } catch (e) {
    $("notice-text").textContent = describe(e);
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
  statusChanged();
  if (s.busy && state.ingest.files.size === 0) {
    $("ingest").hidden = false;
    $("ingest-stats").textContent = "Indexing in the background…";
  }
}
