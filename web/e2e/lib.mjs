// Helpers shared by the browser tests (run.mjs, inbox.mjs, bots.mjs): a
// real parley binary on a free loopback port, a small API client, polling,
// and the accessible-name check.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import assert from "node:assert/strict";

// freePort returns a loopback port nothing listens on.
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// spawnParley starts `parley serve` on port with dataDir; waitReady waits
// for it to answer /readyz.
export function spawnParley(bin, port, dataDir) {
  return spawn(bin, ["serve"], { env: { ...process.env, PARLEY_LISTEN: `127.0.0.1:${port}`, PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: "warn" }, stdio: ["ignore", "inherit", "inherit"] });
}
export async function waitReady(base) {
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(base + "/readyz")).ok) return true; } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

// apiClient returns call (any status, parsed body) and api (throws unless
// 2xx) for the server at base.
export function apiClient(base) {
  async function call(token, method, path, body) {
    const r = await fetch(base + "/api/v1" + path, { method, headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
  }
  async function api(token, method, path, body) {
    const r = await call(token, method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
  return { call, api };
}

// until polls f every 100 ms until it returns something truthy, which it
// returns, or throws after ms.
export async function until(f, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting until " + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// unnamed lists the controls on the page without an accessible name (an
// aria-label, aria-labelledby, a <label>, or their text), hidden ones
// included: message actions show only on hover or focus. roles adds ARIA
// roles to check beyond the native controls.
export function unnamed(page, roles) {
  return page.evaluate((roles) => {
    const nameOf = (el) => {
      const aria = el.getAttribute("aria-label")?.trim();
      if (aria) return aria;
      const by = el.getAttribute("aria-labelledby");
      if (by) {
        const t = by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? "").join(" ").trim();
        if (t) return t;
      }
      if (el.labels?.length) {
        const t = [...el.labels].map((l) => l.textContent).join(" ").trim();
        if (t) return t;
      }
      if (!["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName)) {
        const t = (el.textContent ?? "").trim() || el.querySelector("img[alt]")?.getAttribute("alt")?.trim();
        if (t) return t;
      }
      return el.getAttribute("title")?.trim() ?? "";
    };
    const sel = ['button, input:not([type="hidden"]), select, textarea, a[href], summary, [tabindex]:not([tabindex="-1"])',
      ...roles.map((r) => `[role="${r}"]`)].join(", ");
    return [...document.querySelectorAll(sel)].filter((el) => !nameOf(el)).map((el) => el.outerHTML.slice(0, 160));
  }, roles);
}
export async function allNamed(page, screen, roles) {
  assert.deepEqual(await unnamed(page, roles), [], `controls without an accessible name on the ${screen} screen`);
}
