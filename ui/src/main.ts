// The page: wires the views (ui/src/page/) to the app's commands and events. Search logic lives
// in the engine; the page only asks, shows, and keeps the keyboard working everywhere. All HTML
// is built by the tested renderers in views.ts.
import "./style.css";
import { followIngest, onRefresh } from "./page/ingest";
import "./page/keyboard";
import { loadLibrary } from "./page/library";
import "./page/model";
import { runSearch, search } from "./page/search";
import { state, showView } from "./page/state";
import { loadStatus } from "./page/status";
import { loadCollections } from "./page/zotero";

// Papers changed: the library view reloads, and new papers may answer the question on
// screen, so it is asked again, keeping the selection's place.
onRefresh(async () => {
  if (state.view === "library") await loadLibrary();
  if (state.view === "search" && search.value.trim()) await runSearch(true);
});

async function start() {
  await followIngest();
  await loadStatus();
  await loadCollections();
  const firstRun =
    state.status && !state.status.model && !localStorage.getItem("medshelf.model-screen-seen");
  showView(firstRun ? "model" : "search");
  document.body.dataset.ready = "true";
}

void start();
