// Typed wrappers over the app's commands and events (src-tauri/src/commands.rs). The page talks
// to the engine through these only.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { Problem } from "./problem";

export type Mode = "hybrid" | "lexical" | "semantic";

export interface PassageHit {
  page: number;
  snippet: string;
  score: number;
  start: number;
  end: number;
  /** The page's text was read by OCR (a scan). */
  ocr?: boolean;
}

/** A word OCR read on a scanned page (the engine's `extract::OcrWord`). */
export interface OcrWord {
  /** The word. */
  t: string;
  /** Tesseract's confidence, 0 to 100. */
  c: number;
  /** Its box: left, top, right, bottom, as shares of the page's width and height. */
  b: [number, number, number, number];
  /** It starts a line. */
  l?: boolean;
}

/** One author of a paper. */
export interface Author {
  family: string;
  given: string;
}

/** Where a field of a paper's record came from, most trusted first. */
export type Source = "user" | "zotero" | "xmp" | "info" | "layout" | "pattern";

/** What is known of a paper (the engine's `metadata::Record`). */
export interface Meta {
  title: string | null;
  authors: Author[];
  year: number | null;
  venue: string | null;
  doi: string | null;
  pmid: string | null;
  pmcid: string | null;
  trial_ids: string[];
  abstract: string | null;
  provenance: Partial<Record<string, Source>>;
  /** In `meta --json` and a correction's answer; results and rows carry it beside `meta`. */
  design?: Design | null;
}

/** A study design, in order of evidence level (the engine's `clinical::DesignLabel`). */
export type DesignLabel =
  | "meta-analysis"
  | "systematic-review"
  | "guideline"
  | "rct"
  | "non-randomised-trial"
  | "cohort"
  | "case-control"
  | "cross-sectional"
  | "case-report"
  | "narrative-review"
  | "editorial"
  | "basic-science"
  | "patient-information"
  | "other";

/** A paper's study design, how sure MedShelf is, and why (the engine's `clinical::Design`). */
export interface Design {
  label: DesignLabel;
  confidence: number;
  reasons: string[];
  source: "rules" | "classifier" | "user";
}

/** Another file of a result's article (the engine's `search::Version`). */
export interface Version {
  path: string;
  title: string | null;
  year: number | null;
  venue: string | null;
  doi: string | null;
}

/** Other papers of the library registered under one of a result's trials. */
export interface TrialGroup {
  id: string;
  papers: { path: string; title: string | null; year: number | null; design: DesignLabel | null }[];
}

/** A citation style (`medshelf cite --style`). */
export type CiteStyle = "vancouver" | "ama" | "apa";

/** An export format (`medshelf export --format`). */
export type ExportFormat = "bibtex" | "ris" | "csljson";

/** Where an export went. */
export interface Exported {
  path: string;
  papers: number;
}

export interface SearchResult {
  rank: number;
  path: string;
  title: string | null;
  year?: number;
  meta?: Meta;
  page: number;
  score: number;
  snippet: string;
  start: number;
  end: number;
  passages: PassageHit[];
  /** Hybrid mode: none of the query's words occur in this paper; it came by meaning alone. */
  meaning_only?: boolean;
  /** The best passage is the user's own words from Zotero, not the PDF's text. */
  source?: "note" | "annotation";
  /** The best passage's page was read by OCR (a scan). */
  ocr?: boolean;
  /** Where the paper sits in Zotero, for a paper imported from there. */
  zotero?: Zotero;
  /** Its study design; null where none was read. */
  design?: Design | null;
  /** Trials it shares with other papers of the library. */
  trials?: TrialGroup[];
  /** Other files of the same article, shown as this one result. */
  versions?: Version[];
}

/** Where a paper sits in Zotero (the engine's `zotero::Membership`). */
export interface Zotero {
  key: string;
  library: number;
  collections: string[];
  tags: string[];
  item_type: string;
}

/** What the page offers for Zotero: the folder to import, whether it holds a database, the
 * last import, the collections imported (with every collection on the way down). */
export interface ZoteroOffer {
  dir: string;
  found: boolean;
  imported: { dir: string; imported_at: number; items: number; skipped: number } | null;
  collections: string[];
}

/** What an import did (the engine's `library::ZoteroSummary`). */
export interface ZoteroSummary {
  found: number;
  trashed: number;
  imported: number;
  unchanged: number;
  removed: number;
  files: number;
  notes: number;
  skipped: { key: string; title: string | null; path: string | null; reason: string }[];
  index: { indexed: number; unchanged: number; failed: number };
}

/** An abbreviation a question was widened by (the engine's `clinical::abbrev::Expansion`). */
export interface Expansion {
  abbreviation: string;
  expansion: string;
  /** `expansion`: the abbreviation was typed; `abbreviation`: the term was spelled out. */
  direction: "expansion" | "abbreviation";
  source: "library" | "table" | "user";
  papers: number;
  other_senses: string[];
}

/** What the person asked of expansion: abbreviations kept as typed, senses chosen. */
export interface ExpandChoice {
  asTyped: string[];
  senses: [string, string][];
}

export interface Answer {
  query: string;
  mode: Mode;
  results: SearchResult[];
  /** The abbreviations expanded (absent from an older engine). */
  expanded?: Expansion[];
  notice?: string;
  took_ms: number;
  /** Counts by year, venue and author over the question's best papers. */
  facets?: Facets;
}

/** The papers like a paper or one of its pages (the engine's `library::SimilarResponse`). */
export interface SimilarAnswer {
  source: { path: string; title: string | null; page: number | null };
  mode: Mode;
  /** The rare words the source shares with the library, as it writes them. */
  terms: string[];
  results: SearchResult[];
  /** Files of the same article, left out. */
  duplicates: string[];
  notice?: string;
  took_ms: number;
}

/** One value of a facet: what the filter takes, and how many papers it lets through. */
export interface FacetValue {
  value: string;
  count: number;
}

/** Counts beside the results (the engine's `search::Facets`). */
export interface Facets {
  papers: number;
  years: FacetValue[];
  venues: FacetValue[];
  authors: FacetValue[];
  designs?: FacetValue[];
}

/** The filters chosen beside the results. `years`: "2021" or "2019..2024". */
export interface Filter {
  years?: string;
  author?: string;
  venue?: string;
  /** A Zotero collection path; the app scopes by it with its sub-collections. */
  collection?: string;
  /** Study designs, comma-separated (`rct,cohort`). */
  design?: string;
}

/** The results' order. */
export type Sort = "relevance" | "date" | "evidence";

export interface ModelInfo {
  name: string;
  dim: number;
  pooling: string;
  max_tokens: number;
  /** "f32" or "int8". */
  precision?: string;
  /** Why the model runs at that precision. */
  precision_reason?: string;
  [key: string]: unknown;
}

export interface Status {
  library: string;
  documents: number;
  chunks: number;
  vectors: number;
  reference_passages?: number;
  /** Passages searchable by keywords that wait for their vectors (the second phase of indexing). */
  vectors_waiting?: number;
  papers_waiting?: number;
  failed: { path: string; error: string }[];
  model: ModelInfo | null;
  notice?: string;
  model_error: string | null;
  folders: string[];
  watching: string[];
  busy: boolean;
}

export interface Document {
  path: string;
  paths: string[];
  title: string | null;
  year: number | null;
  /** The record, for indexed papers. */
  meta?: Meta | null;
  /** Its study design, where read. */
  design?: Design | null;
  pages: number;
  chunks: number;
  status: "indexed" | "failed" | string;
  error: string | null;
  error_code: string | null;
}

export interface InstalledModel {
  name: string;
  path: string;
  info: ModelInfo | null;
  problem: string | null;
}

export interface Queued {
  job: number;
  files: string[];
  skipped: string[];
}

/** Every event carries its number in the engine's feed and the time it was sent (ms since the
 * epoch), so that a page that replays the feed skips what it saw and keeps rates right. */
export type IngestEvent = { seq?: number; at?: number } & IngestPayload;

export type IngestPayload =
  | { kind: "queued"; job: number; files: string[] }
  | { kind: "started"; job: number; files: number }
  | {
      kind: "file";
      job: number;
      path: string;
      state: "extracting" | "ocr" | "embedding" | "indexed" | "unchanged" | "failed" | "removed";
      /** Its pages, once known; while in `ocr`, the pages that need OCR. */
      pages?: number;
      /** While in `ocr`: the page read now, counted among `pages`. */
      ocr_page?: number;
      chunks?: number;
      error?: string;
      /** The failure's stable code (`encrypted`, `no_text`, ...). */
      code?: string;
    }
  | {
      kind: "finished";
      job: number;
      summary: {
        cancelled: boolean;
        indexed: number;
        failed: number;
        unchanged: number;
        pages: number;
        seconds: number;
        /** Passages stored without vectors that the writer embeds next (the second phase). */
        vectors_waiting?: number;
      };
    }
  | { kind: "backfill"; job: number; done: number; total: number; papers_done?: number; papers?: number }
  | { kind: "tidying"; job: number; step: "remining"; papers: number }
  | { kind: "tidying"; job: number; step: "merging"; segments: number; into: number; passages: number }
  | { kind: "download"; file: string; done: number; size: number }
  | { kind: "error"; job: number; error: string; problem?: Problem }
  | { kind: "reloaded" };

export const api = {
  status: () => invoke<Status>("status"),
  search: (query: string, mode: Mode, filter: Filter = {}, sort: Sort = "relevance", limit = 20, expand?: ExpandChoice) =>
    invoke<Answer>("search", {
      query,
      mode,
      limit,
      ...filter,
      subcollections: filter.collection ? true : undefined,
      sort,
      asTyped: expand?.asTyped,
      senses: expand?.senses,
    }),
  /** The papers most like the paper at `path` (or its page `page`). */
  similar: (path: string, mode: Mode, page?: number, limit = 20) =>
    invoke<SimilarAnswer>("similar", { path, page, mode, limit }),
  zoteroOffer: () => invoke<ZoteroOffer>("zotero_offer"),
  importZotero: (dir: string) => invoke<ZoteroSummary>("import_zotero", { dir }),
  indexPaths: (paths: string[], retryFailed = false) =>
    invoke<Queued>("index_paths", { paths, retryFailed }),
  cancelIndexing: () => invoke<void>("cancel_indexing"),
  documents: () => invoke<Document[]>("documents"),
  removePaths: (paths: string[]) => invoke<string[]>("remove_paths", { paths }),
  /** Corrects a paper's record: `set` as [field, value] pairs, `reset` takes corrections back. */
  correctRecord: (path: string, set: [string, string][], reset: string[]) =>
    invoke<Meta>("correct_record", { path, set, reset }),
  /** Puts a paper's reference in a style on the clipboard; returns the text. */
  copyCitation: (record: Meta, style: CiteStyle) => invoke<string>("copy_citation", { record, style }),
  /** Asks where to save (the system's dialog) and writes the records there; null when the
   * person cancelled. */
  exportRecords: (records: Meta[], format: ExportFormat, name: string) =>
    invoke<Exported | null>("export_records", { records, format, name }),
  allowView: (path: string) => invoke<void>("allow_view", { path }),
  /** The words OCR read on a page of a scan, with their boxes; null for a page with text. */
  ocrWords: (path: string, page: number) => invoke<OcrWord[] | null>("ocr_words", { path, page }),
  openExternal: (path: string) => invoke<void>("open_external", { path }),
  reveal: (path: string) => invoke<void>("reveal", { path }),
  importModel: (dir: string) => invoke<ModelInfo>("import_model", { dir }),
  fetchModel: () => invoke<ModelInfo>("fetch_model"),
  models: () => invoke<InstalledModel[]>("models"),
  useModel: (name: string) => invoke<void>("use_model", { name }),
  ingestLog: () => invoke<IngestEvent[]>("ingest_log"),
  onIngest: (f: (e: IngestEvent) => void): Promise<UnlistenFn> =>
    listen<IngestEvent>("ingest", (e) => f(e.payload)),
};
