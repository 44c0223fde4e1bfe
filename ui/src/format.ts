// Small pure helpers shared by the views; each is unit-tested in format.test.ts.

/** Escapes text for use inside HTML. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * Makes an engine snippet safe to insert as HTML. The engine escapes the text and adds only
 * `<mark>` and `</mark>`; anything else that looks like a tag is escaped here anyway, so a
 * paper's text can never inject markup into the page.
 */
export function safeSnippet(snippet: string): string {
  return snippet
    .split(/(<\/?mark>)/)
    .map((part) =>
      part === "<mark>" || part === "</mark>"
        ? part
        : part.replace(/<|>/g, (c) => (c === "<" ? "&lt;" : "&gt;")),
    )
    .join("");
}

/** The snippet's text without its marks (entities decoded), for matching against the PDF. */
export function snippetText(snippet: string): string {
  return snippet
    .replace(/<\/?mark>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

/** The marked terms of a snippet, lower-cased and deduplicated. */
export function markedTerms(snippet: string): string[] {
  const terms = new Set<string>();
  for (const m of snippet.matchAll(/<mark>(.*?)<\/mark>/g)) {
    const t = snippetText(m[1]).trim().toLowerCase();
    if (t) terms.add(t);
  }
  return [...terms];
}

/** The last component of a path, for display. */
export function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** The folder part of a path. */
export function dirname(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i > 0 ? path.slice(0, i) : path;
}

/** A duration in seconds as a person reads it: "45 s", "3 min", "1 h 5 min". */
/** "1 page", "3 pages": a count with its noun, singular or plural. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString("en")} ${n === 1 ? singular : plural}`;
}

export function formatDuration(seconds: number): string {
  if (!isFinite(seconds) || seconds < 0) return "";
  if (seconds < 1) return "under a second";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

/** A number with one decimal below 10, none above: 3.4, 12. */
export function formatRate(value: number): string {
  if (!isFinite(value) || value <= 0) return "0";
  return value < 10 ? value.toFixed(1) : Math.round(value).toString();
}

/** Calls `f` once `ms` have passed without another call; the last arguments win. */
export function debounce<A extends unknown[]>(
  f: (...args: A) => void,
  ms: number,
): ((...args: A) => void) & { cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wrapped = (...args: A) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      f(...args);
    }, ms);
  };
  wrapped.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return wrapped;
}

/** Lower-cases and folds runs of white space and hyphenation, for comparing PDF text. */
export function normalizeForMatch(text: string): string {
  return text
    .toLowerCase()
    .replace(/\u00ad/g, "")
    .replace(/[\u2010-\u2015]/g, "-")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * Which text items of a PDF page belong to a passage: the items of the one stretch of the page
 * that reads as the passage, in order. Where pdf.js gives a word an item of its own, every word
 * of the passage occurs somewhere on the page ("with", "have", "severe"): marked wherever they
 * occur they would light up the page, and the passage is one place. An item (at least
 * `minLength` characters, normalised) belongs to a stretch when it occurs in the passage after
 * the stretch's previous item; a stretch runs on over shorter items and over at most `maxGap`
 * other items in a row (a footnote mark, a running head between two lines). The stretch that
 * covers the most of the passage wins, with the short items inside it. Returns the items'
 * indexes.
 */
export function passageItems(
  items: string[],
  passage: string,
  minLength = 4,
  maxGap = 2,
): number[] {
  const hay = normalizeForMatch(passage);
  let best: number[] = [];
  let bestChars = 0;
  let run: number[] = [];
  let runChars = 0;
  let gap = 0;
  let at = 0;
  const close = () => {
    if (runChars > bestChars) {
      best = run;
      bestChars = runChars;
    }
    run = [];
    runChars = 0;
    gap = 0;
    at = 0;
  };
  items.forEach((item, i) => {
    const needle = normalizeForMatch(item);
    if (needle.length < minLength) return;
    // A little way back: pdf.js and the engine may split a hyphenated word differently.
    let found = run.length > 0 ? hay.indexOf(needle, Math.max(0, at - 2)) : hay.indexOf(needle);
    if (found < 0 && run.length > 0 && (++gap > maxGap || hay.includes(needle))) {
      // The stretch has ended: this item may begin the next one.
      close();
      found = hay.indexOf(needle);
    }
    if (found >= 0) {
      run.push(i);
      runChars += needle.length;
      gap = 0;
      at = found + needle.length;
    }
  });
  close();
  if (best.length === 0) return best;
  // The short words inside the stretch ("of", "an") are the passage's too.
  const out: number[] = [];
  for (let i = best[0]; i <= best[best.length - 1]; i++) {
    const text = normalizeForMatch(items[i]);
    if (best.includes(i) || (text.length > 0 && text.length < minLength && hay.includes(text))) {
      out.push(i);
    }
  }
  return out;
}
