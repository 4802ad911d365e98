// Scrolling a long conversation in the web app, measured in headless
// Chromium: seeds N messages (default 10,000) through the API, opens the
// conversation, loads the whole history by scrolling up (the app pages
// 50 at a time), then scrolls from top to bottom frame by frame and
// reports frame times. Not part of CI; numbers go to BENCHMARKS.md.
//
//   PARLEY_BIN=/tmp/parley node e2e/scroll-bench.mjs [N]
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const N = Number(process.argv[2] ?? 10000);
const dataDir = mkdtempSync(join(tmpdir(), "parley-scroll-"));
const port = await new Promise((resolve) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); }); });
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.env.PARLEY_BIN, ["serve"], { env: { ...process.env, PARLEY_LISTEN: `127.0.0.1:${port}`, PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: "warn" }, stdio: "inherit" });
for (let i = 0; i < 300; i++) { try { if ((await fetch(base + "/readyz")).ok) break; } catch {} await new Promise((r) => setTimeout(r, 50)); }
const api = async (token, method, path, body) => {
  const r = await fetch(base + "/api/v1" + path, { method, headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status}`);
  return r.status === 204 ? null : r.json();
};
let browser;
try {
  const alice = await api("", "POST", "/accounts", { handle: "alice", password: "correct horse battery staple" });
  const carol = await api("", "POST", "/accounts", { handle: "carol", password: "correct horse battery staple" });
  await api(alice.token, "PUT", "/users/carol/follow");
  const dm = await api(carol.token, "POST", "/conversations", { kind: "direct", with: "alice" });
  let t = Date.now();
  for (let i = 0; i < N; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, j) => api(carol.token, "POST", `/conversations/${dm.id}/messages`,
      { text: `message ${i + j + 1}: ` + "lorem ipsum dolor sit amet ".repeat(1 + ((i + j) % 4)), client_id: `s${i + j}` })));
  }
  console.log(`seeded ${N} messages in ${Date.now() - t} ms`);
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
  await page.goto(base + "/");
  await page.evaluate((tok) => localStorage.setItem("parley.token", tok), alice.token);
  await page.reload();
  await page.locator(".conv").first().click();
  await page.locator(".message .text", { hasText: `message ${N}:` }).waitFor();
  await page.locator(".messages").evaluate((el, n) => { el.dataset.n = String(n); }, N);
  t = Date.now();
  while ((await page.locator(".message .text", { hasText: /^message 1: / }).count()) === 0) {
    await page.locator(".messages").evaluate((el) => { el.scrollTop = 0; });
    await page.waitForTimeout(50);
    if (Date.now() - t > 600000) throw new Error("history did not load");
  }
  console.log(`scrolled up through ${N} messages (fetched 50 a page) in ${Date.now() - t} ms; ${await page.locator(".messages .message").count()} in the page`);
  const frames = await page.locator(".messages").evaluate(async (el) => {
    el.scrollTop = 0;
    const times = [];
    let last = performance.now();
    const stop = performance.now() + 60000;
    while (performance.now() < stop && !el.querySelector(".message:last-of-type[data-seq]")?.textContent?.includes(`message ${el.dataset.n}:`)) {
      el.scrollTop += 120; // a brisk wheel
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      times.push(now - last);
      last = now;
    }
    return times;
  });
  frames.sort((a, b) => a - b);
  const q = (p) => frames[Math.min(frames.length - 1, Math.floor(frames.length * p))].toFixed(1);
  console.log(`scrolled down through all ${N} in ${frames.length} frames: frame time p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, p99 ${q(0.99)} ms, max ${frames[frames.length - 1].toFixed(1)} ms`);
} finally {
  await browser?.close();
  server.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
}
