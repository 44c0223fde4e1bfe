// The keyboard, everywhere: Ctrl+O adds files (with Shift, folders), Ctrl+L the library,
// Alt+1/2/3 the modes, Esc back (or clears the question), ↑ ↓ Enter on results, ← → pages,
// Alt+C copies a citation (the selected result, the focused library row), Alt+E exports, `/` in
// the library goes to its filter,
// Alt+X goes to the abbreviations a question was widened by (← → there, Enter takes one away
// or chooses another sense, Esc back), Alt+F goes to the facets beside the results (↑ ↓ Enter there, Esc back; a Zotero collection
// there scopes the search), Alt+M shows the papers like the selected one (M in the viewer: like
// the page; Esc back to the question's results), Ctrl+Shift+Z imports from Zotero.
import type { Mode } from "../api";
import { moveSelection } from "../views";
import { pick } from "./ingest";
import { citeFocusedRow, exportLibrary } from "./library";
import { citeSelected, exportResults, focusExpansions, focusFacets, leaveSimilar, runSearch, search, select, setMode, similarToSelected } from "./search";
import { $, showView, state } from "./state";
import { openExternal, openResult, similarToPage, turnPage } from "./viewer";
import { openZoteroDialog } from "./zotero";

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
  if (ctrl && e.shiftKey && (e.code === "KeyZ" || e.key.toLowerCase() === "z")) {
    e.preventDefault();
    void openZoteroDialog();
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
  if (e.altKey && !ctrl && (e.code === "KeyF" || e.key.toLowerCase() === "f") && state.view === "search") {
    e.preventDefault();
    focusFacets();
    return;
  }
  if (e.altKey && !ctrl && (e.code === "KeyX" || e.key.toLowerCase() === "x") && state.view === "search") {
    e.preventDefault();
    focusExpansions();
    return;
  }
  if (e.altKey && !ctrl && (e.code === "KeyM" || e.key.toLowerCase() === "m") && state.view === "search") {
    e.preventDefault();
    similarToSelected();
    return;
  }
  // By the key's place as well as its letter: Alt+C types "ç" on some layouts.
  const letter = e.code === "KeyC" || e.key.toLowerCase() === "c" ? "c" : e.code === "KeyE" || e.key.toLowerCase() === "e" ? "e" : "";
  if (e.altKey && !ctrl && letter) {
    const cite = letter === "c";
    if (state.view === "search") {
      e.preventDefault();
      if (cite) citeSelected();
      else exportResults();
    } else if (state.view === "library") {
      e.preventDefault();
      if (cite) citeFocusedRow();
      else exportLibrary();
    }
    return;
  }
  if (e.key === "Escape") {
    if (state.view !== "search") {
      e.preventDefault();
      showView("search");
    } else if (leaveSimilar()) {
      e.preventDefault();
      search.focus();
    } else if (document.activeElement !== search) {
      e.preventDefault();
      search.focus();
    } else if (search.value) {
      e.preventDefault();
      search.value = "";
      void runSearch();
    }
    return;
  }
  // "/" in the library goes to its filter, as it goes to the question in the search.
  if (state.view === "library" && e.key === "/" && !["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName ?? "")) {
    e.preventDefault();
    $("library-filter").focus();
    return;
  }
  // A letter alone, not a shortcut of the system's (Ctrl+M, Cmd+M).
  const plain = !ctrl && !e.altKey;
  if (state.view === "viewer" && document.activeElement?.tagName !== "INPUT") {
    if (e.key === "ArrowRight" || e.key === "PageDown") void turnPage(1);
    else if (e.key === "ArrowLeft" || e.key === "PageUp") void turnPage(-1);
    else if (plain && e.key.toLowerCase() === "o") void openExternal();
    else if (plain && e.key.toLowerCase() === "m") {
      // The results view takes the focus to the question box at once: the letter must not
      // land in it.
      e.preventDefault();
      similarToPage();
    }
    return;
  }
  // A button or a select with the focus (a facet, the citation tools) takes its own arrows
  // and Enter; "/" and Esc still lead back to the question.
  const control = ["BUTTON", "SELECT"].includes(document.activeElement?.tagName ?? "");
  if (state.view === "search" && control) {
    if (e.key === "/") {
      e.preventDefault();
      search.focus();
    }
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
