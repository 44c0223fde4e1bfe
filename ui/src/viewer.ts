// The in-app PDF viewer: pdf.js renders the page to a canvas with its text layer on top, and
// the text items that belong to the matching passage are highlighted. The file is read through
// Tauri's asset protocol, which the app opens to this one file just before (allow_view).
import * as pdfjs from "pdfjs-dist/legacy/build/pdf.mjs";
import workerUrl from "pdfjs-dist/legacy/build/pdf.worker.min.mjs?url";
import { convertFileSrc } from "@tauri-apps/api/core";
import type { OcrWord } from "./api";
import { passageItems, snippetText } from "./format";

pdfjs.GlobalWorkerOptions.workerSrc = workerUrl;

type Doc = Awaited<ReturnType<typeof pdfjs.getDocument>["promise"]>;

export interface Shown {
  path: string;
  page: number;
  pages: number;
  /** How many text items were highlighted as the passage. */
  highlighted: number;
  /** The page's words are OCR's (a scan): highlighted over the page image. */
  ocr: boolean;
}

/** Where the viewer asks for a scanned page's OCR words (null for a page with text). */
export type OcrSource = (path: string, page: number) => Promise<OcrWord[] | null>;

export class Viewer {
  private doc?: Doc;
  private path?: string;
  private renderTask?: { cancel(): void; promise: Promise<unknown> };
  private generation = 0;

  constructor(
    private readonly container: HTMLElement,
    private readonly ocrWords?: OcrSource,
  ) {}

  /** Opens `path` (already allowed) at `page`, highlighting `snippet` there. */
  async open(path: string, page: number, snippet: string): Promise<Shown> {
    if (this.path !== path || !this.doc) {
      await this.doc?.destroy();
      this.doc = undefined;
      this.path = path;
      const task = pdfjs.getDocument({
        url: convertFileSrc(path),
        // The CSP forbids eval; pdf.js has a path without it.
        isEvalSupported: false,
        // No fonts or maps from the network: there is none.
        useSystemFonts: true,
        disableFontFace: false,
      });
      this.doc = await task.promise;
    }
    return this.show(page, snippet);
  }

  get pageCount(): number {
    return this.doc?.numPages ?? 0;
  }

  /** Renders one page of the open document, fitted to the container's width. */
  async show(pageNumber: number, snippet: string): Promise<Shown> {
    const doc = this.doc;
    if (!doc || !this.path) throw new Error("no document is open");
    const generation = ++this.generation;
    this.renderTask?.cancel();
    const number = Math.min(Math.max(1, pageNumber), doc.numPages);
    const page = await doc.getPage(number);
    const base = page.getViewport({ scale: 1 });
    const width = Math.max(320, this.container.clientWidth - 32);
    const scale = width / base.width;
    const viewport = page.getViewport({ scale });
    const ratio = window.devicePixelRatio || 1;

    const pageDiv = document.createElement("div");
    pageDiv.className = "pdf-page";
    pageDiv.dataset.page = String(number);
    pageDiv.style.width = `${Math.floor(viewport.width)}px`;
    pageDiv.style.height = `${Math.floor(viewport.height)}px`;
    pageDiv.style.setProperty("--scale-factor", String(scale));
    pageDiv.style.setProperty("--total-scale-factor", String(scale));
    const canvas = document.createElement("canvas");
    canvas.width = Math.floor(viewport.width * ratio);
    canvas.height = Math.floor(viewport.height * ratio);
    canvas.setAttribute("aria-label", `Page ${number}`);
    const textDiv = document.createElement("div");
    textDiv.className = "textLayer";
    pageDiv.append(canvas, textDiv);

    const task = page.render({
      canvas,
      viewport,
      transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : undefined,
    });
    this.renderTask = task;
    try {
      await task.promise;
    } catch (e) {
      if (generation !== this.generation) return this.shown(number, 0);
      throw e;
    }
    if (generation !== this.generation) return this.shown(number, 0);
    // A scanned page: its words are OCR's, laid over the image at their boxes; a page that
    // cannot be asked (an OCR lookup failing) is shown with its own text layer.
    const words = this.ocrWords ? await this.ocrWords(this.path, number).catch(() => null) : null;
    if (generation !== this.generation) return this.shown(number, 0);
    let highlighted: number;
    if (words && words.length > 0) {
      const layer = ocrLayer(words, viewport.height);
      textDiv.replaceWith(layer);
      highlighted = highlight(
        [...layer.children] as HTMLElement[],
        words.map((w) => w.t),
        snippet,
      );
    } else {
      const textLayer = new pdfjs.TextLayer({
        textContentSource: page.streamTextContent(),
        container: textDiv,
        viewport,
      });
      await textLayer.render();
      highlighted = highlight(textLayer.textDivs, textLayer.textContentItemsStr, snippet);
    }
    const ocr = Boolean(words && words.length > 0);
    this.container.replaceChildren(pageDiv);
    this.container.dataset.page = String(number);
    this.container.dataset.pages = String(doc.numPages);
    this.container.dataset.highlighted = String(highlighted);
    this.container.dataset.ocr = String(ocr);
    const first = pageDiv.querySelector(".passage");
    first?.scrollIntoView({ block: "center" });
    return this.shown(number, highlighted, ocr);
  }

  private shown(page: number, highlighted: number, ocr = false): Shown {
    return { path: this.path ?? "", page, pages: this.doc?.numPages ?? 0, highlighted, ocr };
  }

  /** Closes the document and frees pdf.js's worker memory for it. */
  async close(): Promise<void> {
    this.generation++;
    this.renderTask?.cancel();
    await this.doc?.destroy();
    this.doc = undefined;
    this.path = undefined;
    this.container.replaceChildren();
  }
}

/** A scanned page's words, one invisible span each over its box (positions in shares of the
 * page, so the layer fits the page at any zoom), sized to the box's height in pixels. */
function ocrLayer(words: OcrWord[], pageHeight: number): HTMLElement {
  const layer = document.createElement("div");
  layer.className = "ocrLayer";
  for (const w of words) {
    const [l, t, r, b] = w.b;
    const span = document.createElement("span");
    span.textContent = w.t;
    span.style.left = `${l * 100}%`;
    span.style.top = `${t * 100}%`;
    span.style.width = `${(r - l) * 100}%`;
    span.style.height = `${(b - t) * 100}%`;
    span.style.fontSize = `${Math.max(1, (b - t) * pageHeight)}px`;
    layer.append(span);
  }
  return layer;
}

/** Marks the text items that belong to the passage. (Marking every item that holds a query
 * term would light up running heads and half the page; the passage is what was found.) */
function highlight(divs: HTMLElement[], items: string[], snippet: string): number {
  const passage = passageItems(items, snippetText(snippet));
  for (const i of passage) divs[i]?.classList.add("passage");
  return passage.length;
}
