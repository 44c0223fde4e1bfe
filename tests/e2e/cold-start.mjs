// Cold start of the desktop app: from launching it to the results of a typed question painted,
// in a real WebKit window driven over WebDriver (tauri-driver + WebKitWebDriver) under Xvfb.
// scripts/bench-start runs this with:
//   MEDSHELF_START_APP       the app binary (absolute path; a release build)
//   MEDSHELF_START_BASELINE  optional: another build of the app, timed in turn with the first
//   MEDSHELF_START_LIBRARY   the library it opens (a copy is not made: it is only searched)
//   MEDSHELF_START_BASELINE_LIBRARY  the baseline's (default: the same); an older build refuses a
//                            library a newer one has migrated
//   MEDSHELF_START_QUERY     the question typed
//   MEDSHELF_START_RUNS      launches of each build (default 5)
//   MEDSHELF_START_OUT       where start.json goes
// Each launch: the session is asked for (WebKitWebDriver starts the app), the page says it is
// ready, the question is typed, and the page's search metrics give the time from the last key
// to the results painted (two animation frames after drawing them). The figure is the wait a
// user sees, typing excluded: from the app's process start (the kernel's record of it, to
// 10 ms) to the page ready for typing, plus the last key to the results painted. WebDriver's own
// start (half a second here, before it launches the app) is not counted; the raw times from
// asking for the session are printed beside. Readiness is read by polling every 20 ms, so a
// figure is up to about 25 ms late, the same for both builds.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTemporary, startDriver } from "./webdriver.mjs";

const need = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run scripts/bench-start)`);
  return v;
};
const app = need("MEDSHELF_START_APP");
const baseline = process.env.MEDSHELF_START_BASELINE || "";
const library = need("MEDSHELF_START_LIBRARY");
const baselineLibrary = process.env.MEDSHELF_START_BASELINE_LIBRARY || library;
const query = need("MEDSHELF_START_QUERY");
const runs = Number(process.env.MEDSHELF_START_RUNS || "5");
const out = need("MEDSHELF_START_OUT");
const driverBin = process.env.TAURI_DRIVER || "tauri-driver";
const port = 4447;

const hz = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
// When the machine booted, in milliseconds since the epoch (/proc/stat's btime is whole
// seconds: up to a second off).
const bootMs = Date.now() - Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;

/** When the newest process running `binary` started, in milliseconds since the epoch. */
function processStart(binary) {
  let newest;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) !== binary) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
      if (newest === undefined || ticks > newest) newest = ticks;
    } catch {}
  }
  if (newest === undefined) throw new Error(`no process runs ${binary}`);
  return bootMs + (newest / hz) * 1000;
}

/** One launch of `binary`: milliseconds from launch to the page ready and to results painted. */
async function launchOnce(binary, libraryDir) {
  const tmp = mkdtempSync(join(tmpdir(), "medshelf-start-"));
  const { wd, stop } = await startDriver(driverBin, port, {
    ...process.env,
    MEDSHELF_LIBRARY: libraryDir,
    XDG_DATA_HOME: join(tmp, "xdg-data"),
    XDG_CONFIG_HOME: join(tmp, "xdg-config"),
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME || join(process.env.HOME, ".cache"),
  });
  try {
    const launched = Date.now();
    await wd.start({ "tauri:options": { application: binary, args: [] } });
    await wd.waitFor("the page to be ready", "return document.body.dataset.ready === 'true'", { intervalMs: 20 });
    const readyAt = Date.now();
    const ready = readyAt - launched;
    const started = processStart(binary);
    // The first run shows the model screen where no model is found: this bench needs one.
    await wd.execute("const s = document.getElementById('search'); s.value = ''; s.focus();");
    const input = await wd.find("#search");
    await wd.sendKeys(input, query);
    const timing = await wd.waitFor(
      `results for ${JSON.stringify(query)}`,
      `const m = window.medshelfMetrics.searches;
       const last = m[m.length - 1];
       return last && last.query === ${JSON.stringify(query)} ? last : null;`,
      { intervalMs: 20 },
    );
    const painted = Date.now() - launched;
    const notice = await wd.execute("return document.getElementById('search-info').textContent");
    return {
      start_to_ready_ms: readyAt - started,
      waited_ms: readyAt - started + timing.keyToPaintMs,
      session_to_ready_ms: ready,
      session_to_painted_ms: painted,
      key_to_paint_ms: timing.keyToPaintMs,
      engine_ms: timing.engineMs,
      info: notice,
    };
  } finally {
    await wd.quit().catch(() => {});
    await stop();
    await removeTemporary(tmp);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const builds = baseline
  ? [["app", app, library], ["baseline", baseline, baselineLibrary]]
  : [["app", app, library]];
const results = Object.fromEntries(builds.map(([name]) => [name, []]));
// One untimed launch of each first: the first launch after a build pays for the page cache.
for (const [, binary, dir] of builds) await launchOnce(binary, dir);
for (let i = 0; i < runs; i++) {
  // In turn, so that neither build gains from the machine's moods.
  for (const [name, binary, dir] of i % 2 ? [...builds].reverse() : builds) {
    const r = await launchOnce(binary, dir);
    results[name].push(r);
    console.log(`start: ${name} run ${i + 1}: process start to page ready ${Math.round(r.start_to_ready_ms)} ms + last key to results painted ${Math.round(r.key_to_paint_ms)} ms (engine ${Math.round(r.engine_ms)} ms) = ${Math.round(r.waited_ms)} ms; from asking WebDriver: ready ${r.session_to_ready_ms} ms, painted ${r.session_to_painted_ms} ms; ${r.info}`);
  }
}
const summary = { query, library, runs };
for (const [name] of builds) {
  const rs = results[name];
  summary[name] = {
    waited_ms_p50: median(rs.map((r) => r.waited_ms)),
    start_to_ready_ms_p50: median(rs.map((r) => r.start_to_ready_ms)),
    key_to_paint_ms_p50: median(rs.map((r) => r.key_to_paint_ms)),
    session_to_painted_ms_p50: median(rs.map((r) => r.session_to_painted_ms)),
    runs: rs,
  };
}
if (baseline) summary.ratio = summary.app.waited_ms_p50 / summary.baseline.waited_ms_p50;
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "start.json"), JSON.stringify(summary, null, 2));
for (const [name] of builds) {
  const m = summary[name];
  console.log(`start: ${name}: launch to results painted, typing excluded: median ${Math.round(m.waited_ms_p50)} ms (page ready ${Math.round(m.start_to_ready_ms_p50)} ms after the process started, results ${Math.round(m.key_to_paint_ms_p50)} ms after the last key); from asking WebDriver for a session: ${m.session_to_painted_ms_p50} ms`);
}
if (baseline) console.log(`start: app / baseline: ${summary.ratio.toFixed(2)}x`);
