// The keyboard, everywhere: Ctrl+O adds files (with Shift, folders), Ctrl+L the library,
// Alt+1/2/3 the modes, Esc back (or clears the question), ↑ ↓ Enter on results, ← → pages.
import type { Mode } from "../api";
import { moveSelection } from "../views";
import { pick } from "./ingest";
import { runSearch, search, select, setMode } from "./search";
import { showView, state } from "./state";
import { openExternal, openResult, turnPage } from "./viewer";

document.addEventListener("keydown", (e) => {
  // An open dialog (a paper's details) has the keyboard: Esc closes it, and no shortcut may
  // switch the view from under it.
  if (document.querySelector("dialog[open]")) return;
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
