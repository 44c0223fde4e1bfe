// What the page knows, shared by its views: one state object, the elements every view uses,
// and the switch between views. Views register what they do when shown or when the library's
// status changes, so that no view imports another's internals.
import type { Answer, Filter, Mode, SearchResult, Sort, Status } from "../api";
import { emptyIngest } from "../ingest";

export type View = "search" | "viewer" | "library" | "model";

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export const state = {
  view: "search" as View,
  mode: "hybrid" as Mode,
  /** The filters chosen beside the results, and the order. */
  filter: {} as Filter,
  sort: "relevance" as Sort,
  answer: undefined as Answer | undefined,
  selected: -1,
  status: undefined as Status | undefined,
  lastKeyAt: 0,
  searchSeq: 0,
  ingest: emptyIngest(),
  ingestOpen: true,
  open: undefined as { result: SearchResult; page: number } | undefined,
  /** The Zotero collections imported, the scopes a search may take. */
  collections: [] as string[],
  /** The paper (and page) whose like papers the result list shows instead of the question's. */
  similar: undefined as { path: string; page?: number } | undefined,
  /** Abbreviations the person keeps as typed, and senses chosen, until the box is emptied. */
  expand: { asTyped: [] as string[], senses: [] as [string, string][] },
};

const shown = new Map<View, () => void>();
const statusListeners: (() => void)[] = [];

/** Registers what a view does each time it is shown. */
export function onShow(view: View, f: () => void) {
  shown.set(view, f);
}

/** Registers what to redraw when the library's status changes. */
export function onStatus(f: () => void) {
  statusListeners.push(f);
}

/** Shows one view and hides the others. */
export function showView(view: View) {
  // A dialog belongs to the view it was opened in: it closes with it, never left inert.
  document.querySelectorAll<HTMLDialogElement>("dialog[open]").forEach((d) => d.close());
  state.view = view;
  for (const v of ["search", "viewer", "library", "model"] as View[]) {
    $(`view-${v}`).hidden = v !== view;
  }
  shown.get(view)?.();
}

/** Tells every view the status changed. */
export function statusChanged() {
  for (const f of statusListeners) f();
}
