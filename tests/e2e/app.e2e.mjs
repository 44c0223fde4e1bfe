// End-to-end test of the desktop app: the real binary in a real WebKit window, driven over
// WebDriver (tauri-driver + WebKitWebDriver), under Xvfb. scripts/e2e builds what it needs and
// runs this with:
//   MEDSHELF_E2E_APP       the app binary (absolute path)
//   MEDSHELF_E2E_FIXTURES  the e2e_fixtures example binary
//   MEDSHELF_E2E_MODEL     the stand-in model folder
//   MEDSHELF_E2E_OUT       where screenshots and timings go (target/e2e)
// Exits non-zero on any failure.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, basename } from "node:path";
import { removeTemporary, startDriver } from "./webdriver.mjs";

const need = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run scripts/e2e)`);
  return v;
};
const app = need("MEDSHELF_E2E_APP");
const fixturesBin = need("MEDSHELF_E2E_FIXTURES");
const model = need("MEDSHELF_E2E_MODEL");
const out = need("MEDSHELF_E2E_OUT");
const driverBin = process.env.TAURI_DRIVER || "tauri-driver";
const port = 4444;

mkdirSync(out, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), "medshelf-e2e-"));
const library = join(tmp, "library");
const papers = join(tmp, "papers");
const zoteroSample = join(process.cwd(), "..", "shared", "data", "zotero", "zotero7-sample");
const fixture = JSON.parse(execFileSync(fixturesBin, [papers, zoteroSample], { encoding: "utf8" }));

const log = (...a) => console.log("e2e:", ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
  log(`ok: ${message}`);
}

/** Where each launch's driver and app output goes (`app-N.log` in the output folder): when a
 * session is lost, its tail says whether the app panicked, was killed or is still running. */
let launches = 0;
let appLog;

/** Starts tauri-driver with the app's environment, and a WebDriver session on the app. */
async function launch(env, args = []) {
  appLog = join(out, `app-${++launches}.log`);
  rmSync(appLog, { force: true });
  const { wd, stop } = await startDriver(driverBin, port, {
    ...process.env,
    MEDSHELF_LIBRARY: library,
    // Keep the app's own data (WebKit storage) out of the user's home.
    XDG_DATA_HOME: join(tmp, "xdg-data"),
    XDG_CONFIG_HOME: join(tmp, "xdg-config"),
    XDG_CACHE_HOME: join(tmp, "xdg-cache"),
    // GTK's settings kept in memory: no dconf (it needs a session bus that Xvfb lacks and
    // warns on every write, burying the app's own lines in its log).
    GSETTINGS_BACKEND: "memory",
    ...env,
  }, appLog);
  await wd.start({ "tauri:options": { application: app, args } });
  await wd.waitFor("the page to be ready", "return document.body.dataset.ready === 'true'");
  return {
    wd,
    async close() {
      // The app's processes, taken while they are still one tree: once the app ends, its
      // WebKit children are re-parented and no longer look like the app's. A renderer that
      // outlives the app still writes its shader cache into this test's folder (CI's run
      // failed once removing it: ENOTEMPTY on xdg-cache/mesa_shader_cache).
      const tree = appProcesses();
      await wd.quit().catch(() => {});
      await stop();
      // A session WebKit ended (its renderer gone) leaves the app to the test to end.
      await endProcesses(tree.concat(appProcesses()));
    },
  };
}

async function shot(wd, name) {
  // Let the page paint what the checks just saw: two frames, then a moment.
  await wd.executeAsync("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 150)));");
  const png = await wd.screenshot();
  writeFileSync(join(out, name), png);
  log(`screenshot ${join(out, name)} (${png.length} bytes)`);
}

const visible = (id) => `return !document.getElementById(${JSON.stringify(id)}).hidden`;

async function typeQuery(wd, query) {
  const before = await wd.execute("return window.medshelfMetrics.searches.length");
  await wd.execute("const s = document.getElementById('search'); s.value = ''; s.focus();");
  const input = await wd.find("#search");
  await wd.sendKeys(input, query);
  return wd.waitFor(
    `results for "${query}"`,
    `const m = window.medshelfMetrics.searches;
     const last = m[m.length - 1];
     return m.length > ${before} && last.query === ${JSON.stringify(query)} ? last : null;`,
  );
}

/** Ends these processes (SIGKILL to any still there) and waits, up to 5 s, until they are gone. */
async function endProcesses(procs) {
  const alive = (p) => {
    try {
      process.kill(p.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const p of procs) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
  for (const deadline = Date.now() + 5000; procs.some(alive) && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a process runs the app's binary. */
function appRunning() {
  return appProcesses().some((p) => p.self);
}

/** The app's processes: the one running its binary and all its descendants (the WebKit
 * processes that run the page), each with its name and CPU ticks so far. */
function appProcesses() {
  const procs = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) start after its last ')'.
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      let self = false;
      try {
        self = readlinkSync(`/proc/${pid}/exe`) === app;
      } catch {}
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      procs.push({ pid: Number(pid), name, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), self });
    } catch {}
  }
  const tree = new Set(procs.filter((p) => p.self).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!tree.has(p.pid) && tree.has(p.ppid)) grew = tree.add(p.pid) !== undefined;
  }
  return procs.filter((p) => tree.has(p.pid));
}

/** CPU seconds used so far by the app's processes. */
function cpuSeconds() {
  const hz = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  const mine = appProcesses();
  return {
    seconds: mine.reduce((a, p) => a + p.ticks, 0) / hz,
    processes: mine.length,
    each: Object.fromEntries(mine.map((p) => [`${p.name} ${p.pid}`, p.ticks / hz])),
  };
}

/** A new library given a folder of real papers at launch: the progress is right from the first
 * event, a new question starts at the top, ↓ then Enter after a pause opens the second result,
 * the app is idle when nothing happens, and the library view shows the model in use. */
async function realPapersAtLaunch(shared, attempt) {
  const real = join(tmp, `real-${attempt}`);
  mkdirSync(real);
  const picked = readdirSync(shared)
    .filter((f) => f.endsWith(".pdf"))
    .map((f) => ({ f, size: statSync(join(shared, f)).size }))
    .sort((a, b) => a.size - b.size || a.f.localeCompare(b.f))
    .slice(0, 12);
  for (const { f } of picked) symlinkSync(join(shared, f), join(real, f));
  session = await launch({ MEDSHELF_MODEL: model, MEDSHELF_LIBRARY: join(tmp, `library-real-${attempt}`) }, [real]);
  const wd = session.wd;
  const panel = `const t = document.getElementById('ingest-stats').textContent;
    const m = /(\\d+) of (\\d+) files?/.exec(t);
    return document.getElementById('ingest').hidden || !m ? null :
      { done: Number(m[1]), total: Number(m[2]), stats: t,
        title: document.getElementById('ingest-title').textContent,
        cancel: !document.getElementById('ingest-cancel').hidden };`;
  const first = await wd.waitFor("the launch job's progress", panel, { timeoutMs: 30000, intervalMs: 20 });
  check(first.total === picked.length, `the total is known from the first look: ${first.done} of ${first.total} files ("${first.title}")`);
  let sawActive = first.title === "Indexing" && first.cancel;
  if (sawActive) await shot(wd, "08-launch-progress.png");
  const totals = new Set([first.total]);
  // The second phase: every paper searchable by keywords, their vectors counted as they come.
  const meaning = await wd.waitFor(
    "the second phase (vectors after keywords)",
    `const p = (() => { ${panel} })();
     if (p) { window.__totals = (window.__totals || new Set()).add(p.total);
              if (p.title === 'Indexing' && p.cancel) window.__sawActive = true; }
     return p && /searchable by keywords · meaning: \\d+ of \\d+ papers?/.test(p.stats) ? p : null;`,
    { timeoutMs: 300000, intervalMs: 50 },
  );
  await shot(wd, "08b-meaning-phase.png");
  check(meaning.title === "Indexing" && meaning.cancel, `then the papers are searchable by keywords while their vectors come, with Cancel ("${meaning.stats}")`);
  const end = await wd.waitFor(
    "the launch job to finish",
    `const p = (() => { ${panel} })();
     if (p) { window.__totals = (window.__totals || new Set()).add(p.total);
              if (p.title === 'Indexing' && p.cancel) window.__sawActive = true; }
     return p && p.title === 'Indexing done' ? { ...p, totals: [...window.__totals], sawActive: !!window.__sawActive } : null;`,
    { timeoutMs: 300000, intervalMs: 100 },
  );
  end.totals.forEach((t) => totals.add(t));
  sawActive = sawActive || end.sawActive;
  check(totals.size === 1, `the total never grows (${[...totals].join(", ")})`);
  check(sawActive, "while it ran, the panel said Indexing and offered Cancel");
  check(end.done === picked.length && /pages\/s/.test(end.stats), `at the end: "${end.stats}"`);
  await sleep(3000);
  const later = await wd.execute(panel);
  check(later.stats === end.stats, `once done, the rates stand still ("${later.stats}")`);

  // A new question starts at the top of its results.
  await typeQuery(wd, "patients");
  const scrolled = await wd.execute(`const m = document.querySelector('main'); m.scrollTop = m.scrollHeight; return m.scrollTop;`);
  check(scrolled > 0, `the results scroll (${scrolled} px down)`);
  await typeQuery(wd, "blood pressure treatment");
  const top = await wd.execute("return document.querySelector('main').scrollTop");
  check(top === 0, `a new question's results open at the top (${top} px)`);

  // A question no paper holds the words of: the nearest papers by meaning, marked as such.
  await typeQuery(wd, "zxqv wbjk ploof");
  const weak = await wd.execute(`return { info: document.getElementById('search-info').textContent,
    marked: document.querySelectorAll('#results .result.meaning-only').length,
    all: document.querySelectorAll('#results .result').length };`);
  check(weak.all > 0 && weak.marked === weak.all && /none of your words/.test(weak.info), `nonsense is marked as such (${weak.marked} of ${weak.all}: "${weak.info}")`);
  await shot(wd, "11-meaning-only.png");

  // Facets, keyboard only: Alt+F reaches the first year, Enter filters by it (every result of
  // that year, at least as many as it counted), Enter on its chip takes it away, Esc goes back
  // to the question.
  await typeQuery(wd, "patients");
  const unfiltered = await wd.execute("return document.querySelectorAll('#results .result').length");
  const facet = await wd.waitFor(
    "the facets",
    `const b = document.querySelector('#facets:not([hidden]) button[data-facet="years"]');
     return b ? { year: b.dataset.value, count: Number(b.querySelector('.count').textContent) } : null;`,
  );
  await wd.sendKeys(await wd.find("#search"), "\uE00Af\uE000");
  check(await wd.execute("return !!document.activeElement?.dataset?.facet"), "Alt+F puts the focus on the first facet value");
  await shot(wd, "12-facets.png");
  await wd.sendKeys(await wd.find('#facets button[data-facet="years"]'), "\uE007");
  const filtered = await wd.waitFor(
    "the filtered results",
    `if (!document.querySelector('#facets button[data-remove="years"]')) return null;
     const rs = [...document.querySelectorAll('#results .result')];
     return { n: rs.length, years: rs.map((r) => r.querySelector('.byline')?.innerText ?? '') };`,
  );
  check(
    filtered.n >= facet.count && filtered.n > 0 && filtered.years.every((y) => y.includes(facet.year)),
    `Enter on ${facet.year} (${facet.count}) shows only papers of ${facet.year}: ${filtered.n} (${filtered.years.join(" | ")})`,
  );
  check(await wd.execute("return document.activeElement?.dataset?.remove === 'years'"), "the focus lands on the chosen filter's chip");
  await shot(wd, "12-facets-filtered.png");
  await wd.sendKeys(await wd.find('#facets button[data-remove="years"]'), "\uE007");
  const back = await wd.waitFor(
    "the filter taken away",
    "return document.querySelector('#facets button[data-remove]') ? null : document.querySelectorAll('#results .result').length;",
  );
  check(back === unfiltered, `Enter on the chip takes the filter away (${back} of ${unfiltered} results again)`);
  await wd.sendKeys(await wd.find('#facets button[data-facet="years"]'), "\uE00C");
  check(await wd.execute("return document.activeElement?.id === 'search'"), "Esc in the facets goes back to the question");

  // Study designs: every result wears its design's badge; Enter on a design keeps only papers
  // of that design; its chip takes it away; "Best evidence first" orders by level of evidence.
  const designs = `return [...document.querySelectorAll('#results .result')].map((r) => r.querySelector('.design')?.dataset.design ?? null);`;
  const badges = await wd.execute(designs);
  check(badges.length > 0 && badges.every(Boolean), `every result shows its study design (${badges.join(", ")})`);
  const design = await wd.waitFor(
    "the design facet",
    `const b = document.querySelector('#facets:not([hidden]) button[data-facet="design"]');
     return b ? { value: b.dataset.value, count: Number(b.querySelector('.count').textContent) } : null;`,
  );
  await wd.sendKeys(await wd.find('#facets button[data-facet="design"]'), "\uE007");
  const byDesign = await wd.waitFor(
    "the results of one design",
    `if (!document.querySelector('#facets button[data-remove="design"]')) return null; ${designs}`,
  );
  check(
    byDesign.length >= Math.min(design.count, 20) && byDesign.every((d) => d === design.value),
    `Enter on the design ${design.value} (${design.count}) shows only such papers (${byDesign.join(", ")})`,
  );
  await shot(wd, "12-design-filtered.png");
  await wd.sendKeys(await wd.find('#facets button[data-remove="design"]'), "\uE007");
  await wd.waitFor("the design filter taken away", "return document.querySelector('#facets button[data-remove]') ? null : true;");
  await wd.sendKeys(await wd.find('#facets button[data-sort="evidence"]'), "\uE007");
  const levels = ["meta-analysis", "systematic-review", "guideline", "rct", "non-randomised-trial", "cohort", "case-control",
    "cross-sectional", "case-report", "narrative-review", "editorial", "basic-science", "patient-information", "other"];
  const ordered = await wd.waitFor(
    "the results by evidence",
    `if (document.querySelector('#facets button[data-sort="evidence"]')?.getAttribute('aria-pressed') !== 'true') return null; ${designs}`,
  );
  const ranks = ordered.map((d) => levels.indexOf(d));
  check(ranks.every((r, i) => i === 0 || ranks[i - 1] <= r), `"Best evidence first" orders by level of evidence (${ordered.join(", ")})`);
  await wd.sendKeys(await wd.find('#facets button[data-sort="relevance"]'), "\uE007");
  await wd.waitFor("the relevance order back", `return document.querySelector('#facets button[data-sort="relevance"]')?.getAttribute('aria-pressed') === 'true' ? true : null;`);

  // Abbreviations: MMSE, which a paper here defines, is also searched spelled out and shown as
  // a chip under the box, the snippet marking both; Alt+X reaches the chip, Enter searches MMSE
  // as typed, Enter on its chip gives the expansion back, Esc returns to the question.
  await typeQuery(wd, "MMSE scores");
  const chip = await wd.waitFor(
    "the abbreviation chip",
    `const b = document.querySelector('#expansions:not([hidden]) button[data-as-typed="MMSE"]'); return b ? b.textContent : null;`,
  );
  check(/mini-mental state examination/i.test(chip), `typing MMSE also searches "${chip.replace(/\s+/g, " ").trim()}"`);
  // Every snippet marks the abbreviation where it holds it, and the expansion where it holds it.
  const snippets = await wd.execute(`return [...document.querySelectorAll('#results .snippet')].map((p) => ({
      text: p.textContent.toLowerCase(), marks: [...p.querySelectorAll('mark')].map((m) => m.textContent.toLowerCase()) }));`);
  const unmarked = snippets.filter(
    (p) => (/\bmmse\b/.test(p.text) && !p.marks.includes("mmse")) || (/mini-mental/.test(p.text) && !p.marks.some((m) => /mini|mental/.test(m))),
  );
  const both = snippets.filter((p) => p.marks.includes("mmse") || p.marks.some((m) => /mini|mental|examination/.test(m)));
  check(
    both.length > 0 && unmarked.length === 0,
    `the snippets mark the abbreviation and its expansion wherever they hold them (${both.length} marked, ${unmarked.length} not)`,
  );
  await shot(wd, "12-abbreviation-chips.png");
  await wd.sendKeys(await wd.find("#search"), "\uE00Ax\uE000");
  check(await wd.execute("return document.activeElement?.dataset?.asTyped === 'MMSE'"), "Alt+X puts the focus on the abbreviation's chip");
  await wd.sendKeys(await wd.find('#expansions button[data-as-typed="MMSE"]'), "\uE007");
  await wd.waitFor("MMSE searched as typed", `return document.querySelector('#expansions button[data-expand="MMSE"]') ? true : null;`);
  check(
    await wd.execute("return document.activeElement?.dataset?.expand === 'MMSE' && !document.querySelector('#expansions button[data-as-typed]')"),
    "Enter on the chip searches MMSE as typed, and the focus stays on its chip",
  );
  await wd.sendKeys(await wd.find('#expansions button[data-expand="MMSE"]'), "\uE007");
  await wd.waitFor("the expansion given back", `return document.querySelector('#expansions button[data-as-typed="MMSE"]') ? true : null;`);
  await wd.sendKeys(await wd.find('#expansions button[data-as-typed="MMSE"]'), "\uE00C");
  check(await wd.execute("return document.activeElement?.id === 'search'"), "Esc on the chips goes back to the question");

  await typeQuery(wd, "blood pressure treatment");

  // Three idle seconds, then ↓ and Enter: the second result opens (nothing re-ran the search
  // under the selection meanwhile).
  await wd.execute("document.querySelector('#results .result').dataset.probe = 'kept'");
  const second = await wd.execute("const r = document.querySelectorAll('#results .result')[1]; return r && r.querySelector('.result-title').textContent;");
  check(Boolean(second), `there is a second result ("${second}")`);
  await sleep(3000);
  check(await wd.execute("const r = document.querySelector('#results .result'); return r && r.dataset.probe === 'kept';"), "the results were not rebuilt while idle");
  await wd.sendKeys(await wd.find("#search"), "\uE015");
  await wd.sendKeys(await wd.find("#search"), "\uE007");
  const opened = await wd.waitFor("the viewer", `return document.getElementById('view-viewer').hidden ? null : document.getElementById('viewer-title').textContent;`);
  check(opened === second, `↓ then Enter opened the second result ("${opened}")`);
  await wd.waitFor("the page to render", "return document.getElementById('pdf').dataset.page ? true : null", { timeoutMs: 30000 });
  await wd.execute("document.querySelector('main').scrollTop = 400");
  await sleep(300);
  const bar = await wd.execute("const b = document.querySelector('.viewer-bar').getBoundingClientRect(); const m = document.querySelector('main').getBoundingClientRect(); return b.top - m.top;");
  check(Math.abs(bar) <= 1, `the viewer's toolbar stays on screen as the page scrolls (${bar} px)`);
  await shot(wd, "09-viewer-scrolled.png");
  // More like this, from the viewer's page (M) and from the selected result (Alt+M): papers
  // like it in the result list, never itself, the words they share named; Esc goes back to the
  // question's results.
  const openPath = await wd.execute("return document.querySelectorAll('#results .result')[1].dataset.path");
  const similarInfo = `const i = document.getElementById('search-info').textContent;
    return !document.getElementById('view-search').hidden && /papers? like/.test(i)
      ? { info: i, paths: [...document.querySelectorAll('#results .result')].map((r) => r.dataset.path) } : null;`;
  await wd.sendKeys(await wd.find("#pdf"), "m");
  const likePage = await wd.waitFor("the papers like the page", similarInfo);
  const typed = await wd.execute("return document.getElementById('search').value");
  check(typed === "blood pressure treatment", `the M pressed in the viewer does not land in the question box ("${typed}")`);
  check(
    /like page \d+ of/.test(likePage.info) && likePage.paths.length > 0 && !likePage.paths.includes(openPath),
    `M in the viewer shows papers like its page, never the paper itself ("${likePage.info}")`,
  );
  const backToQuestion = `return /papers? like/.test(document.getElementById('search-info').textContent) ? null : true;`;
  await wd.sendKeys(await wd.find("#search"), "\uE00C");
  await wd.waitFor("the question's results again", backToQuestion);
  const selectedPath = await wd.execute("return document.querySelector('#results .result.selected')?.dataset.path ?? null");
  await wd.sendKeys(await wd.find("#search"), "\uE00Am\uE000");
  const like = await wd.waitFor("the papers like the selected result", similarInfo);
  check(
    selectedPath !== null && /sharing/.test(like.info) && like.paths.length > 0 && !like.paths.includes(selectedPath),
    `Alt+M shows ${like.paths.length} papers like the selected result, never itself ("${like.info}")`,
  );
  await shot(wd, "20-more-like-this.png");
  await wd.sendKeys(await wd.find("#search"), "\uE00C");
  await wd.waitFor("the question's results after Esc", backToQuestion);
  const backTitle = await wd.execute("return document.querySelectorAll('#results .result')[1]?.querySelector('.result-title').textContent ?? null");
  check(backTitle === second, `Esc goes back from papers like it to the question's results ("${backTitle}")`);

  // Idle: ten seconds with nothing to do cost (almost) no CPU. WebKit keeps busy for a few
  // seconds after a view changes (about 2-3 s of CPU over the next 8 s under Xvfb, whatever
  // the page shows); idle begins after that.
  await sleep(8000);
  const idleFor = async (label) => {
    const before = cpuSeconds();
    await sleep(10000);
    const after = cpuSeconds();
    const each = Object.entries(after.each).map(([k, v]) => `${k}: ${(v - (before.each[k] ?? 0)).toFixed(2)} s`);
    log(`CPU over 10 idle seconds, ${label}: ${each.join(", ")}`);
    check(before.processes > 0, `the app's processes are found (${before.processes})`);
    return after.seconds - before.seconds;
  };
  // The search box has the focus, its caret blinking: WebKit repaints it twice a second (in
  // software, under Xvfb); the engine does nothing.
  const withCaret = await idleFor("the caret blinking in the search box");
  check(withCaret < 1.0, `idle for 10 s with the caret blinking, the app used ${withCaret.toFixed(2)} s of CPU`);
  await wd.execute("document.getElementById('search').blur()");
  await sleep(1000);
  const still = await idleFor("nothing on screen moving");
  check(still < 0.3, `idle for 10 s with nothing moving, the app used ${still.toFixed(2)} s of CPU`);

  // The library view names the model in use, though it is not installed in the library.
  await wd.execute("document.getElementById('show-library').click()");
  const inUse = await wd.waitFor(
    "the models section",
    `const li = document.querySelector('#models [data-model]'); return li ? li.innerText : null;`,
  );
  check(/in use/.test(inUse) && !/No model/.test(await wd.execute("return document.getElementById('models').innerText")), `the Models section shows the model in use ("${inUse.replace(/\s+/g, " ").slice(0, 80)}")`);
  const tallest = await wd.execute("return Math.max(...[...document.querySelectorAll('#library-rows tr')].map(r => r.getBoundingClientRect().height))");
  check(tallest < 60, `library rows are one line a paper (tallest ${tallest.toFixed(0)} px)`);
  const moreHidden = await wd.execute("return [...document.querySelectorAll('#library-rows .more-actions')].every((m) => m.closest('td').matches(':hover') || m.closest('tr').matches(':focus-within') || getComputedStyle(m).display === 'none')");
  check(moreHidden, "a row at rest shows only Open and Details; its other actions wait for the focus");
  const spill = await wd.execute("const s = document.querySelector('.library-scroll'); return s.scrollWidth - s.clientWidth");
  check(spill <= 0, `the library table fits its window (${spill} px past it)`);
  const fileShown = await wd.execute("return [...document.querySelectorAll('#library-rows .doc-file')].length");
  check(fileShown === picked.length, "each row names its file");
  await shot(wd, "10-library-real.png");

  // The table, keyboard only: the filter has the focus as the library opens; typing narrows
  // the rows to the papers that hold every word; a header sorts by its column (again: the
  // other way); Esc empties the filter, then goes back to the search.
  check(await wd.execute("return document.activeElement?.id === 'library-filter'"), "the library opens with the focus in its filter");
  const rowsAll = await wd.execute("return document.querySelectorAll('#library-rows tr[data-path]').length");
  const word = await wd.execute(`const t = [...document.querySelectorAll('#library-rows .doc-title')].map((e) => e.textContent)
      .flatMap((t) => t.split(/\s+/)).filter((w) => /^[A-Za-z]{7,}$/.test(w));
    return t[0] ?? null;`);
  await wd.sendKeys(await wd.find("#library-filter"), word);
  const narrowed = await wd.waitFor(
    "the filtered library",
    `const rows = [...document.querySelectorAll('#library-rows tr[data-path]')];
     return rows.length > 0 && rows.length < ${rowsAll} ? rows.map((r) => r.innerText.toLowerCase()) : null;`,
  );
  check(narrowed.every((t) => t.includes(word.toLowerCase())), `typing "${word}" keeps the ${narrowed.length} of ${rowsAll} papers that hold it`);
  await shot(wd, "21-library-filtered.png");
  await wd.sendKeys(await wd.find("#library-filter"), "\uE00C");
  check(
    await wd.execute(`return document.getElementById('library-filter').value === '' && !document.getElementById('view-library').hidden && document.querySelectorAll('#library-rows tr[data-path]').length === ${rowsAll}`),
    "Esc empties the filter and keeps the library",
  );
  await wd.execute("document.querySelector('#library-head button[data-column=\"year\"]').focus()");
  await wd.sendKeys(await wd.find('#library-head button[data-column="year"]'), "\uE007");
  const years = await wd.waitFor(
    "the library by year",
    `const th = document.querySelector('#library-head button[data-column="year"]')?.closest('th');
     return th?.getAttribute('aria-sort') === 'descending' ? [...document.querySelectorAll('#library-rows td.year')].map((t) => t.textContent) : null;`,
  );
  const blank = years.indexOf("");
  const known = (blank < 0 ? years : years.slice(0, blank)).map(Number);
  check(
    known.every((y, i) => i === 0 || known[i - 1] >= y) && (blank < 0 || years.slice(blank).every((y) => y === "")),
    `Enter on Year sorts newest first, papers without a year last (${years.join(", ")})`,
  );
  check(await wd.execute("return document.activeElement?.dataset?.column === 'year'"), "the focus stays on the header");
  // Back to the title order, which the steps below start from.
  await wd.execute("document.querySelector('#library-head button[data-column=\"title\"]').focus()");
  await wd.sendKeys(await wd.find('#library-head button[data-column="title"]'), "\uE007");
  await wd.waitFor(
    "the library by title",
    `return document.querySelector('#library-head button[data-column="title"]')?.closest('th')?.getAttribute('aria-sort') === 'ascending' ? true : null;`,
  );

  // A paper's details, corrected with the keyboard only: Details, the year typed over, Enter.
  const target = await wd.execute(
    `const b = document.querySelector('#library-rows button[data-action="details"]');
     if (!b) return null; b.focus(); return b.dataset.path;`,
  );
  check(target, "an indexed paper offers its details");
  await wd.sendKeys(await wd.find('#library-rows button[data-action="details"]'), "\uE007");
  await wd.waitFor("the details form", "return document.getElementById('record-dialog').open && document.activeElement.id === 'record-title'");
  await shot(wd, "11-details.png");
  const year = await wd.find("#record-year");
  await wd.execute("const y = document.getElementById('record-year'); y.value = ''; y.focus();");
  await wd.sendKeys(year, "1999\uE007");
  const row = await wd.waitFor(
    "the corrected year in the library",
    `const tr = [...document.querySelectorAll('#library-rows tr')].find(r => r.dataset.path === ${JSON.stringify(target)});
     return !document.getElementById('record-dialog').open && tr && /1999/.test(tr.querySelector('td.year')?.innerText ?? '') ? tr.innerText : null;`,
  );
  check(row, "Enter saves the correction and the row shows it");
  check(
    await wd.execute("return document.activeElement?.dataset?.action === 'details'"),
    "the focus is back on the paper's Details button",
  );
  // The correction says it is the user's, and a wrong value is refused with the reason.
  await wd.sendKeys(await wd.find('#library-rows button[data-action="details"]'), "\uE007");
  await wd.waitFor("the details form again", "return document.getElementById('record-dialog').open");
  const mine = await wd.execute(`return document.querySelector('#record-dialog [data-source="user"]')?.innerText`);
  check(/your correction/.test(mine ?? ""), `the year is marked as the user's ("${mine}")`);
  await wd.execute("const y = document.getElementById('record-year'); y.value = ''; y.focus();");
  await wd.sendKeys(await wd.find("#record-year"), "3021\uE007");
  const refused = await wd.waitFor(
    "the refusal",
    "const e = document.getElementById('record-error'); return e && !e.hidden ? e.innerText : null;",
  );
  check(/not a year/.test(refused), `an impossible year is refused: "${refused}"`);
  await shot(wd, "12-details-refused.png");
  await wd.sendKeys(await wd.find("#record-year"), "\uE00C");
  await wd.waitFor("the form closed by Esc", "return !document.getElementById('record-dialog').open");
  check(await wd.execute("return !document.getElementById('view-library').hidden"), "Esc closes the form, not the library");

  // A citation, keyboard only: Alt+C on the focused row copies its reference in the chosen
  // style (Vancouver), the corrected year in it; pasted into the search box, it is what the
  // clipboard holds.
  const details = await wd.find('#library-rows button[data-action="details"]');
  await wd.execute("document.querySelector('#library-rows button[data-action=\"details\"]').focus()");
  await wd.sendKeys(details, "\uE00Ac\uE000");
  const told = await wd.waitFor(
    "what Alt+C says",
    "const t = document.getElementById('toast'); return t.hidden ? null : { text: t.textContent, copied: t.dataset.copied ?? '' };",
  );
  const copied = told.copied;
  check(/1999/.test(copied) && copied.length > 20 && told.text.includes(copied), `Alt+C copied the row's reference with its corrected year ("${told.text}")`);
  await shot(wd, "13-citation-copied.png");
  await wd.sendKeys(details, "\uE00C");
  await wd.waitFor("the search view", visible("view-search"));
  const box = await wd.find("#search");
  await wd.execute("const s = document.getElementById('search'); s.value = ''; s.focus();");
  await wd.sendKeys(box, "\uE009v\uE000");
  const pasted = await wd.execute("return document.getElementById('search').value");
  check(pasted === copied, `the clipboard holds the reference ("${pasted}")`);

  // The library exported with the keyboard: Alt+E, the system's save dialog answered (by
  // xdotool: it is GTK's, outside the web view), and the file holds every indexed paper.
  await wd.execute("document.getElementById('search').value = ''");
  await wd.sendKeys(box, "\uE009l\uE000");
  await wd.waitFor("the library", visible("view-library"));
  const indexed = await wd.execute("return document.querySelectorAll('#library-rows button[data-action=\"cite\"]').length");
  const exportTo = join(tmp, "exported library.bib");
  await wd.sendKeys(await wd.find('#library-rows button[data-action="details"]'), "\uE00Ae\uE000");
  execFileSync("xdotool", ["search", "--sync", "--name", "Export BibTeX references", "windowfocus", "--sync", "%1",
    "key", "--clearmodifiers", "ctrl+a", "type", "--delay", "20", exportTo], { timeout: 30000 });
  await sleep(500);
  execFileSync("xdotool", ["key", "Return"], { timeout: 10000 });
  const said = await wd.waitFor(
    "the export's message",
    "const t = document.getElementById('toast'); return !t.hidden && /Exported/.test(t.textContent) ? t.textContent : null;",
    { timeoutMs: 30000 },
  );
  const written = existsSync(exportTo) ? readFileSync(exportTo, "utf8") : "";
  const entries = (written.match(/^@article\{/gm) ?? []).length;
  check(entries === indexed && indexed > 0, `the exported file holds every indexed paper (${entries} of ${indexed}: "${said}")`);
  await shot(wd, "14-library-exported.png");

  // The page's renderer killed (as a WebKit crash or its memory limit would): the app runs on,
  // says why and reloads the page in a new renderer. WebKit ends the WebDriver session with
  // the renderer, so this is the launch's last step; the proof is the app's own.
  const renderer = () => appProcesses().find((p) => p.name.startsWith("WebKitWebProces"));
  const killed = renderer();
  check(killed, `the page's renderer is found (${killed?.name} ${killed?.pid})`);
  process.kill(killed.pid, "SIGKILL");
  let again;
  for (const deadline = Date.now() + 30000; Date.now() < deadline; await sleep(200)) {
    again = renderer();
    if (again && again.pid !== killed.pid && /renderer ended.*reloading/.test(readFileSync(appLog, "utf8"))) break;
    again = undefined;
  }
  check(again && appRunning(), `with its renderer killed, the app runs on and reloads the page in a new one (${again?.pid})`);
}

let session;
let failed = false;
try {
  // MEDSHELF_E2E_ONLY=real runs the last part alone (while working on it).
  if (process.env.MEDSHELF_E2E_ONLY !== "real") {
    // ---- First launch, no model: the first-run screen, and keyword search works meanwhile.
    // HF_ENDPOINT points at a port nobody listens on: the machine is offline for this launch.
    session = await launch({ MEDSHELF_MODEL: "", HF_ENDPOINT: "http://127.0.0.1:9" });
    let wd = session.wd;
    check(await wd.execute(visible("view-model")), "without a model, the first-run screen shows");
    const modelText = await wd.execute("return document.getElementById('view-model').innerText");
    check(/MedEmbed-small-v0\.1/.test(modelText), "it names the model to get and where");
    await shot(wd, "00-first-run.png");
    await wd.click(await wd.find("#model-skip"));
    check(await wd.execute("return document.activeElement.id === 'search'"), "skipping it puts the cursor in the search box");
    const notice = await wd.execute("return document.getElementById('notice').hidden ? '' : document.getElementById('notice-text').textContent");
    check(/keyword/i.test(notice), `the app says it searches by keywords only ("${notice.slice(0, 60)}…")`);

    // No network from the page: the CSP itself refuses a request to anywhere but the app.
    const violation = await wd.executeAsync(`
      const done = arguments[0];
      document.addEventListener("securitypolicyviolation", (e) => done(e.violatedDirective), { once: true });
      fetch("http://127.0.0.1:9/").catch(() => {});
      setTimeout(() => done(null), 2000);`);
    check(violation && violation.startsWith("connect-src"), `the CSP blocks the page's own network requests (${violation})`);

    // Downloading without a network (HF_ENDPOINT points at a closed port) says so, plainly.
    await wd.execute("document.getElementById('notice-action').click()");
    await wd.waitFor("the model screen", visible("view-model"));
    await wd.click(await wd.find("#model-fetch"));
    const fetchError = await wd.waitFor(
      "the download's error",
      "const e = document.getElementById('model-error'); return e.hidden ? null : e.textContent;",
      { timeoutMs: 30000 },
    );
    check(/cannot reach http:\/\/127\.0\.0\.1/.test(fetchError) && /import/.test(fetchError), `without a network the download says so ("${fetchError.slice(0, 90)}…")`);
    check(!existsSync(join(library, "models")) || readdirSync(join(library, "models")).length === 0, "and leaves nothing in models/");

    // The first-run screen's import, through the command it calls once the folder is picked.
    // (WebKitWebDriver reports a command's rejection as a script error: its message is the
    // command's error, which is what the screen shows.)
    const importModel = (dir) =>
      wd
        .executeAsync(
          `const done = arguments[1];
           window.__TAURI_INTERNALS__.invoke("import_model", { dir: arguments[0] })
             .then((info) => done({ ok: info.name }), (e) => done({ error: e.message ?? String(e), code: e.code, fault: e.fault }));`,
          dir,
        )
        .catch((e) => ({ error: e.message }));
    const notAModel = join(tmp, "not-a-model");
    mkdirSync(notAModel);
    writeFileSync(join(notAModel, "config.json"), "{}");
    const refused = await importModel(notAModel);
    check(refused.error && /tokenizer|missing|config/i.test(refused.error), `a folder that is not a model is refused with a reason ("${(refused.error || "").slice(0, 80)}")`);
    // Commands fail with a typed problem, which the page words by its code. (Caught in the
    // page and polled for: WebKitWebDriver turns the rejection itself into a script error.)
    await wd.execute(
      `window.__problem = undefined;
       window.__TAURI_INTERNALS__.invoke("import_model", { dir: arguments[0] })
         .then(() => { window.__problem = "accepted"; }, (e) => { window.__problem = e; });`,
      notAModel,
    );
    const problem = await wd.waitFor("the typed problem", "return window.__problem ?? null;");
    check(
      problem.code === "model" && problem.fault === "user" && /tokenizer|missing|config/i.test(problem.message),
      `as a typed problem: {code: ${problem.code}, fault: ${problem.fault}, message: "${String(problem.message).slice(0, 60)}…"}`,
    );
    const imported = await importModel(model);
    check(imported.ok, `the stand-in model folder is imported (${imported.ok || imported.error})`);
    await wd.waitFor("the keyword-only notice to go", "return document.getElementById('notice').hidden");
    check(true, "with the model imported, the keyword-only notice is gone");
    await session.close();
    session = undefined;

    // ---- Second launch, with the stand-in model, on the still empty library.
    session = await launch({ MEDSHELF_MODEL: model });
    wd = session.wd;
    check(await wd.execute(visible("view-search")), "with a model, the app opens on search");
    check(await wd.execute("return document.activeElement.id === 'search'"), "the search box has the focus on launch");
    check(/library is empty/i.test(await wd.execute("return document.getElementById('empty').innerText")), "the empty library says how to add papers");
    await shot(wd, "01-empty-library.png");

    // Drop the three papers. A real OS drop cannot be made under Xvfb; the event Tauri emits for
    // one reaches the page's drop handler the same way.
    await wd.execute(
      `window.__TAURI_INTERNALS__.invoke("plugin:event|emit", {
         event: "tauri://drag-drop", payload: { paths: arguments[0], position: { x: 300, y: 300 } } });`,
      [...fixture.files, fixture.broken],
    );
    const inProgress = await wd.waitFor(
      "the ingest panel",
      `const files = [...document.querySelectorAll('#ingest-files .file')];
       return files.length === 4 ? files.map(f => f.dataset.state) : null;`,
      { timeoutMs: 20000, intervalMs: 20 },
    );
    log(`ingest panel states right after the drop: ${inProgress.join(", ")}`);
    if (inProgress.every((s) => s === "indexed")) log("warning: indexing finished before the screenshot");
    await shot(wd, "02-ingest-in-progress.png");
    const states = await wd.waitFor(
      "every dropped file to be done",
      `const f = [...document.querySelectorAll('#ingest-files .file')];
       const done = f.every(x => ['indexed', 'failed'].includes(x.dataset.state));
       return f.length === 4 && done ? f.map(x => [x.querySelector('.file-name').textContent, x.dataset.state, x.querySelector('.file-state').textContent, x.dataset.code ?? '', x.querySelector('.file-state').title]) : null;`,
      { timeoutMs: 300000, intervalMs: 250 },
    );
    const byName = Object.fromEntries(states.map(([n, st, label, code, why]) => [n, { st, label, code, why }]));
    check(fixture.files.every((f) => byName[basename(f)].st === "indexed"), "the three dropped papers are indexed");
    const bad = byName[basename(fixture.broken)];
    check(
      bad.st === "failed" && bad.code !== "" && bad.label.length > "failed: ".length + 5 && bad.why.length > 10,
      `the broken file failed alone, with a reason worded by its code (${bad.code}: "${bad.label}"; on hover "${bad.why.slice(0, 90)}")`,
    );

    // ---- Search: the right paper and page first.
    const timing = await typeQuery(wd, fixture.question);
    const first = await wd.execute(
      `const r = document.querySelector('#results .result');
       return r && { path: r.dataset.path, page: Number(r.dataset.page), text: r.innerText, marks: r.querySelectorAll('mark').length,
                     year: r.querySelector('.year') && r.querySelector('.year').textContent };`,
    );
    check(first && first.path === fixture.expected_file, `the first result is ${basename(fixture.expected_file)} (got ${first && basename(first.path)})`);
    check(first.page === fixture.expected_page, `at page ${fixture.expected_page} (got ${first.page})`);
    check(first.marks > 0, "the query's terms are highlighted in the passage");
    check(first.year === String(fixture.expected_year), `the result shows the paper's year (${first.year})`);
    check(await wd.execute("return document.querySelector('#results .result').getAttribute('aria-selected') === 'true'"), "the first result is selected for the keyboard");
    await shot(wd, "03-results.png");

    // Readable at 200 %: the layout reflows instead of running off the side.
    const zoomed = await wd.executeAsync(`
      const done = arguments[0];
      document.documentElement.style.zoom = "2";
      requestAnimationFrame(() => requestAnimationFrame(() => {
        const html = document.documentElement;
        const box = document.getElementById("search").getBoundingClientRect();
        done({ overflow: html.scrollWidth - html.clientWidth, searchWidth: box.width });
      }));`);
    check(zoomed.overflow <= 1, `at 200 % zoom nothing runs off the side (${zoomed.overflow} px)`);
    await shot(wd, "06-zoom-200.png");
    await wd.execute("document.documentElement.style.zoom = ''");

    // ---- Read: Enter opens the viewer at the page, the passage highlighted.
    await wd.sendKeys(await wd.find("#search"), "\uE007");
    const shown = await wd.waitFor(
      "the viewer to show the page",
      `const pdf = document.getElementById('pdf');
       const layer = pdf.querySelector('.textLayer');
       if (document.getElementById('view-viewer').hidden || !layer || !pdf.dataset.page) return null;
       return { page: Number(pdf.dataset.page), pages: Number(pdf.dataset.pages),
                highlighted: Number(pdf.dataset.highlighted),
                text: layer.textContent.replace(/\\s+/g, ' '),
                label: document.getElementById('viewer-page').textContent,
                canvas: pdf.querySelector('canvas').width };`,
      { timeoutMs: 30000 },
    );
    check(shown.page === fixture.expected_page, `the viewer shows page ${fixture.expected_page} (${shown.label})`);
    check(shown.text.includes(fixture.expected_phrase), "that page's text is the answer's");
    check(shown.highlighted > 0, `the passage is highlighted (${shown.highlighted} text runs)`);
    check(shown.canvas > 0, "the page is rendered");
    await sleep(300);
    await shot(wd, "04-viewer.png");

    // ---- Esc goes back, with the focus in the search box.
    await wd.sendKeys(await wd.find("#pdf"), "\uE00C");
    await wd.waitFor("the results again", visible("view-search"));
    check(await wd.execute("return document.activeElement.id === 'search'"), "Esc returns to the results with the focus in the search box");

    // ---- Library view.
    await wd.execute("document.getElementById('show-library').click()");
    const rows = await wd.waitFor(
      "the library table",
      `const r = [...document.querySelectorAll('#library-rows tr[data-path]')];
       return r.length === 4 ? r.map(x => x.innerText) : null;`,
    );
    check(rows.filter((r) => /\bindexed\b/.test(r)).length === 3, "the library lists the three papers as indexed");
    check(rows.some((r) => /failed: /.test(r)), "and the broken file as failed, with its reason");
    await shot(wd, "05-library.png");
    await wd.execute("document.getElementById('library-back').click()");

    // ---- A scan (pages that are pictures only): OCR reads it, the result says so, and the
    // viewer highlights the passage over the page image.
    await wd.execute(
      `window.__TAURI_INTERNALS__.invoke("plugin:event|emit", {
         event: "tauri://drag-drop", payload: { paths: arguments[0], position: { x: 300, y: 300 } } });`,
      [fixture.scan],
    );
    const scanName = basename(fixture.scan);
    const scanState = await wd.waitFor(
      "the scan to be indexed",
      `const f = [...document.querySelectorAll('#ingest-files .file')]
         .find(x => x.querySelector('.file-name').textContent === ${JSON.stringify(scanName)});
       return f && ['indexed', 'failed'].includes(f.dataset.state) ? [f.dataset.state, f.querySelector('.file-state').textContent] : null;`,
      { timeoutMs: 120000, intervalMs: 100 },
    );
    check(scanState[0] === "indexed", `the scanned guideline is indexed by OCR (${scanState[1]})`);
    await typeQuery(wd, fixture.scan_question);
    const scanHit = await wd.execute(
      `const r = document.querySelector('#results .result');
       return r && { path: r.dataset.path, page: Number(r.dataset.page), meta: r.querySelector('.result-meta').textContent };`,
    );
    check(scanHit && scanHit.path === fixture.scan, `the scan answers "${fixture.scan_question}" (got ${scanHit && basename(scanHit.path)})`);
    check(scanHit.page === fixture.scan_page && /page \d+ \(OCR\)/.test(scanHit.meta), `at page ${fixture.scan_page}, marked as OCR (${scanHit.meta})`);
    await shot(wd, "04c-scan-result.png");
    await wd.sendKeys(await wd.find("#search"), "\uE007");
    const scanShown = await wd.waitFor(
      "the viewer to show the scanned page",
      `const pdf = document.getElementById('pdf');
       const layer = pdf.querySelector('.ocrLayer');
       if (document.getElementById('view-viewer').hidden || !layer || pdf.dataset.ocr !== 'true') return null;
       const marked = [...layer.querySelectorAll('.passage')].map(x => x.textContent).join(' ');
       const box = layer.querySelector('.passage') && layer.querySelector('.passage').getBoundingClientRect();
       return { page: Number(pdf.dataset.page), highlighted: Number(pdf.dataset.highlighted), marked,
                label: document.getElementById('viewer-page').textContent, boxHeight: box ? box.height : 0 };`,
      { timeoutMs: 30000 },
    );
    check(scanShown.page === fixture.scan_page && /\(OCR\)/.test(scanShown.label), `the viewer opens the scan at page ${fixture.scan_page} (${scanShown.label})`);
    check(scanShown.highlighted > 0 && /warfarin/i.test(scanShown.marked) && scanShown.boxHeight > 4,
      `the passage is highlighted on the page image (${scanShown.highlighted} words: "${scanShown.marked.slice(0, 60)}")`);
    await sleep(300);
    await shot(wd, "04d-scan-viewer.png");
    await wd.sendKeys(await wd.find("#pdf"), "\uE00C");
    await wd.waitFor("the results again", visible("view-search"));

    // ---- Keystroke to painted results, over several questions (the first one above included).
    const timings = [timing];
    for (const q of ["lactic acidosis kidney", "hip fractures vitamin D", "mortality at 28 days", "randomisation stratified by centre"]) {
      timings.push(await typeQuery(wd, q));
    }
    const keyToPaint = timings.map((t) => t.keyToPaintMs).sort((a, b) => a - b);
    const engine = timings.map((t) => t.engineMs).sort((a, b) => a - b);
    const median = (xs) => xs[Math.floor(xs.length / 2)];
    const report = {
      searches: timings,
      median_key_to_paint_ms: median(keyToPaint),
      median_engine_ms: median(engine),
      debounce_ms: 120,
      note: "key_to_paint: from the last keystroke to the results on screen, the 120 ms typing pause included; engine: the search command alone (query embedding included), debug build",
    };
    writeFileSync(join(out, "timings.json"), JSON.stringify(report, null, 2));

    // ---- Import from Zotero (keyboard only): Ctrl+Shift+Z proposes a folder, the folder is
    // typed, Enter imports; a collection beside the results scopes the search; an annotation
    // of the user's own words answers and says so.
    if (!fixture.zotero_dir) {
      if (process.env.MEDSHELF_REQUIRE_SHARED) throw new Error(`${zoteroSample} is absent`);
      log(`skip: Zotero import (${zoteroSample} is absent)`);
    } else {
      await wd.execute("document.getElementById('search').focus()");
      await wd.sendKeys(await wd.find("#search"), "\uE009\uE008z\uE000");
      await wd.waitFor("the Zotero dialog", "return document.getElementById('zotero-dialog').open && document.activeElement.id === 'zotero-dir' ? true : null;");
      check(true, "Ctrl+Shift+Z opens the Zotero dialog with the cursor in the folder");
      await shot(wd, "15-zotero-dialog.png");
      const dirBox = await wd.find("#zotero-dir");
      await wd.execute("document.getElementById('zotero-dir').value = ''");
      await wd.sendKeys(dirBox, fixture.zotero_dir + "\uE007");
      const told = await wd.waitFor(
        "the import to finish",
        "const t = document.getElementById('toast'); return !t.hidden && /^Zotero:/.test(t.textContent) ? t.textContent : null;",
        { timeoutMs: 120000, intervalMs: 250 },
      );
      check(/3 items imported/.test(told), `the import says what it did ("${told}")`);
      await shot(wd, "16-zotero-imported.png");
      await typeQuery(wd, "metformin procalcitonin");
      const both = await wd.execute("return document.querySelectorAll('#results .result').length");
      check(both >= 2, `both papers answer before scoping (${both})`);
      await wd.waitFor("the collection tree", `return document.querySelector('#facets:not([hidden]) button[data-facet="collection"][data-value="Infection"]') ? true : null;`);
      await wd.sendKeys(await wd.find("#search"), "\uE00Af\uE000");
      // Down through the facets to the collection "Infection" (its sub-collection Sepsis below it).
      for (let i = 0; i < 20; i++) {
        if (await wd.execute("return document.activeElement?.dataset?.value === 'Infection'")) break;
        await wd.sendKeys(await wd.find("#facets button:focus"), "\uE015");
      }
      check(await wd.execute("return document.activeElement?.dataset?.value === 'Infection'"), "the collection tree is reached with the arrows");
      await shot(wd, "17-zotero-collections.png");
      await wd.sendKeys(await wd.find("#facets button:focus"), "\uE007");
      const scoped = await wd.waitFor(
        "the scoped results",
        `if (!document.querySelector('#facets button[data-remove="collection"]')) return null;
         return [...document.querySelectorAll('#results .result .result-title')].map((t) => t.innerText);`,
      );
      check(
        scoped.length === 1 && /Procalcitonin/.test(scoped[0]),
        `Enter on the collection Infection scopes the search to it and its sub-collection Sepsis (${scoped.join(" | ")})`,
      );
      await shot(wd, "18-zotero-scoped.png");
      await wd.sendKeys(await wd.find('#facets button[data-remove="collection"]'), "\uE007");
      await wd.waitFor("the scope taken away", "return document.querySelector('#facets button[data-remove]') ? null : true;");
      await typeQuery(wd, fixture.zotero_word);
      const own = await wd.execute("const r = document.querySelector('#results .result'); return r ? r.innerText : '';");
      check(/your annotation/.test(own) && /page 5/.test(own), `the annotation answers, marked as the user's own, at its page (${own.replace(/\s+/g, " ").slice(0, 120)})`);
      await shot(wd, "19-zotero-annotation.png");
    }

    // ---- Switch models: a second one is installed, then chosen in the library view; the
    // re-embedding runs in the background and the library then uses it.
    const installed = await wd
      .executeAsync(
        `const done = arguments[1];
         window.__TAURI_INTERNALS__.invoke("import_model", { dir: arguments[0] }).then((i) => done(i.name), (e) => done("error: " + (e.message ?? e)));`,
        fixture.tiny_model,
      )
      .catch((e) => `error: ${e.message}`);
    check(installed === "tiny-bert", `a second model is installed beside the one in use (${installed})`);
    await wd.execute("document.getElementById('show-library').click()");
    const useButton = await wd.waitFor(
      "the Use button",
      `return document.querySelector('button[data-action="use-model"][data-name="tiny-bert"]') ? true : null;`,
    );
    check(useButton && /in use/.test(await wd.execute("return document.querySelector('[data-model=\"all-MiniLM-L6-v2\"]').innerText")), "the library view shows the model in use and offers the other");
    await wd.execute(`document.querySelector('button[data-action="use-model"][data-name="tiny-bert"]').click()`);
    await wd.waitFor(
      "the switch to finish",
      `const li = document.querySelector('[data-model="tiny-bert"]'); return li && /in use/.test(li.innerText);`,
      { timeoutMs: 120000, intervalMs: 250 },
    );
    check(true, "after re-embedding in the background, the library uses the new model");
    await shot(wd, "07-models.png");
    log(`keystroke to painted results: median ${report.median_key_to_paint_ms.toFixed(0)} ms (engine ${report.median_engine_ms.toFixed(1)} ms)`);
    await session.close();
    session = undefined;
  }

  // ---- Third launch: real papers given at launch (as `scripts/run FOLDER` does), a new library.
  const shared = join(process.cwd(), "..", "shared", "data", "pdfs");
  if (!existsSync(shared)) {
    if (process.env.MEDSHELF_REQUIRE_SHARED) throw new Error(`${shared} is absent`);
    log(`skip: real papers at launch (${shared} is absent)`);
  } else {
    // A renderer that crashes is WebKit's fault, not the page's. CI once lost this part's
    // session with the message a renderer's end gives ("session deleted because of page
    // crash or hang"). The app survives it (it reloads its page: checked at the end of this
    // part), but WebKit ends the WebDriver session with it. Then, and only then (the app's
    // own log says the renderer crashed, and the app still runs), this part runs once more,
    // in a new library.
    for (let attempt = 1; ; attempt++) {
      try {
        await realPapersAtLaunch(shared, attempt);
        break;
      } catch (e) {
        const rendererCrashed = /renderer ended because it crashed/.test(readFileSync(appLog, "utf8"));
        if (attempt > 1 || !/invalid session id/.test(e.message) || !rendererCrashed || !appRunning()) throw e;
        log(`WebKit's renderer crashed (the app reloaded its page) and the session went with it: this part runs once more (${e.message})`);
        await session.close();
        session = undefined;
      }
    }
  }
} catch (e) {
  failed = true;
  console.error(`e2e: FAILED: ${e.stack || e}`);
  if (appLog) {
    const running = appRunning();
    console.error(`e2e: the app is ${running ? "still running" : "no longer running"}; the last of ${appLog}:`);
    const lines = existsSync(appLog) ? readFileSync(appLog, "utf8").trimEnd().split("\n") : [];
    for (const line of lines.slice(-40)) console.error(`e2e: | ${line}`);
  }
  if (session) await shot(session.wd, "failure.png").catch(() => {});
} finally {
  if (session) await session.close();
  await removeTemporary(tmp);
}
process.exit(failed ? 1 : 0);
