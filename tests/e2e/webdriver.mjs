// A small client for the W3C WebDriver protocol: the dozen endpoints the end-to-end test needs,
// over Node's own fetch. (WebdriverIO would pull in hundreds of packages for these.)

export class WebDriver {
  constructor(base) {
    this.base = base.replace(/\/$/, "");
    this.session = undefined;
  }

  async call(method, path, body) {
    const url = this.session && !path.startsWith("/session?") && path !== "/session"
      ? `${this.base}/session/${this.session}${path}`
      : `${this.base}${path}`;
    const res = await fetch(url, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok || (json.value && json.value.error)) {
      const v = json.value || {};
      throw new Error(`WebDriver ${method} ${path}: ${v.error || res.status}: ${v.message || ""}`);
    }
    return json.value;
  }

  async start(capabilities) {
    const value = await this.call("POST", "/session", {
      capabilities: { alwaysMatch: capabilities },
    });
    this.session = value.sessionId;
    return value;
  }

  async quit() {
    if (!this.session) return;
    try {
      await this.call("DELETE", "");
    } finally {
      this.session = undefined;
    }
  }

  /** Runs a script in the page; `args` arrive as `arguments`. */
  execute(script, ...args) {
    return this.call("POST", "/execute/sync", { script, args });
  }

  /** Runs a script that calls `arguments[arguments.length - 1]` with its result. */
  executeAsync(script, ...args) {
    return this.call("POST", "/execute/async", { script, args });
  }

  async find(css) {
    const value = await this.call("POST", "/element", { using: "css selector", value: css });
    return Object.values(value)[0];
  }

  sendKeys(element, text) {
    return this.call("POST", `/element/${element}/value`, { text });
  }

  click(element) {
    return this.call("POST", `/element/${element}/click`, {});
  }

  async screenshot() {
    return Buffer.from(await this.call("GET", "/screenshot"), "base64");
  }

  /** Polls `probe` (a page script returning a value) until it returns something truthy. A
   * poll that fails is tried again, up to four failures in a row: over thousands of polls
   * WebKitWebDriver now and then answers "Could not parse script result" for a probe that
   * returns a plain object, once (seen in CI while the app embedded on both cores). */
  async waitFor(what, probe, { timeoutMs = 60000, intervalMs = 100 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    let failures = 0;
    while (Date.now() < deadline) {
      try {
        last = await this.execute(probe);
        failures = 0;
      } catch (e) {
        if (++failures > 4) throw e;
        console.log(`e2e: a poll for ${what} failed, tried again: ${e.message}`);
        last = undefined;
      }
      if (last) return last;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
  }
}

/**
 * Starts tauri-driver on `port` (WebKitWebDriver on the next one) with `env` for the app it
 * launches, and waits until it answers. The driver's output, and with it the app's (WebKit
 * hands the app its own stderr), goes to the file `logFile`, or to null without one: never to
 * a pipe, since a child holding our pipes would keep the caller waiting. Returns the client and
 * a `stop()` that ends the driver.
 */
export async function startDriver(driverBin, port, env, logFile) {
  const { spawn } = await import("node:child_process");
  const { openSync, closeSync } = await import("node:fs");
  const sink = logFile ? openSync(logFile, "a") : "ignore";
  const driver = spawn(driverBin, ["--port", String(port), "--native-port", String(port + 1)], {
    env,
    stdio: ["ignore", sink, sink],
  });
  // The child holds its own copy of the file.
  if (typeof sink === "number") closeSync(sink);
  const wd = new WebDriver(`http://127.0.0.1:${port}`);
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      await wd.call("GET", "/status");
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`tauri-driver did not start: ${e.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    wd,
    async stop() {
      driver.kill();
      await new Promise((r) => (driver.exitCode !== null ? r() : driver.once("exit", r)));
    },
  };
}

/**
 * Removes a test's temporary folder. A WebKit process that has not quite ended may still be
 * writing into it (its shader cache), so the removal retries; and a folder left behind in /tmp
 * says so on stderr but never fails a run whose checks passed.
 */
export async function removeTemporary(dir) {
  const { rmSync } = await import("node:fs");
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  } catch (e) {
    console.error(`e2e: could not remove ${dir} (${e.code || e.message}); left in place`);
  }
}
