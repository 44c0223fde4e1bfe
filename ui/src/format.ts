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

/** Letters and digits only, lower-cased, ligatures unfolded: what the engine's page text and
 * pdf.js's text items share whatever their spacing, hyphenation and line breaks. */
function letters(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "");
}

/**
 * Which text items of a PDF page belong to a passage (a snippet, which may begin and end in the
 * middle of an item). The items are read as one text, compared by letters and digits only, and
 * every item that overlaps the passage's place in it is marked. Where the passage is not found
 * whole (pdf.js and the engine read a glyph differently), the longest stretch of items that
 * read as the passage, in order, is marked instead ([`passageRun`]). Returns the items' indexes.
 */
export function passageItems(items: string[], passage: string, minLength = 4): number[] {
  const target = letters(passage);
  if (target.length === 0) return [];
  const owner: number[] = [];
  let joined = "";
  items.forEach((item, i) => {
    const l = letters(item);
    joined += l;
    for (let k = 0; k < l.length; k++) owner.push(i);
  });
  const at = joined.indexOf(target);
  if (at < 0) return passageRun(items, passage, minLength);
  const out: number[] = [];
  for (let k = at; k < at + target.length; k++) {
    if (out[out.length - 1] !== owner[k]) out.push(owner[k]);
  }
  return out;
}

/**
 * The fallback of [`passageItems`]: the one stretch of the page that reads as the passage, in
 * order. Where pdf.js gives a word an item of its own, every word of the passage occurs
 * somewhere on the page ("with", "have", "severe"), and the passage is one place. An item (at
 * least `minLength` characters, normalised) belongs to a stretch when it occurs in the passage
 * shortly after the stretch's previous item; a stretch runs on over shorter items and over at
 * most `maxGap` other items in a row (a footnote mark, a running head between two lines). The
 * stretch that covers the most of the passage wins, with the short items inside it.
 */
export function passageRun(
  items: string[],
  passage: string,
  minLength = 4,
  maxGap = 2,
): number[] {
  const hay = normalizeForMatch(passage);
  // How far ahead in the passage the next item may be found: a skipped word or two.
  const reach = 16;
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
    if (run.length > 0) {
      // A little way back too: pdf.js and the engine may split a hyphenated word differently.
      const found = hay.indexOf(needle, Math.max(0, at - 2));
      if (found >= 0 && found <= at + reach) {
        run.push(i);
        runChars += needle.length;
        gap = 0;
        at = found + needle.length;
        return;
      }
      if (++gap <= maxGap) return;
      close();
    }
    const found = hay.indexOf(needle);
    if (found >= 0) {
      run.push(i);
      runChars = needle.length;
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
