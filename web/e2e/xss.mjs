// XSS corpus in a real headless Chromium (issue 13, item 9): 1,000+
// generated payloads — classic vectors, attribute breakouts, javascript:
// URLs, SVG/onload, markdown-ish links, unicode tricks — are seeded through
// the API into messages, display names, bios, group titles, file names and
// a business's consent topic
// (link-card titles need a page the server may fetch, which the binary
// refuses on loopback: app/fuzz_test.go's FuzzLinkCardText covers their
// text), then every view that shows them is opened. Passes when no payload
// ran (each calls __xssHit(n) or alert(n): the hook records, 'dialog'
// events are caught, the console is watched) AND none became markup: the
// CSP would block an inline handler, so a rendering bug could hide behind
// it; the DOM is searched for event-handler attributes, javascript: URLs
// and script-capable elements holding a payload.
//
//   PARLEY_BIN=/path/to/parley CHROMIUM=/usr/bin/chromium node e2e/xss.mjs
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { apiClient, freePort, spawnParley, until, waitReady } from "./lib.mjs";

const bin = process.env.PARLEY_BIN;
if (!bin) throw new Error("set PARLEY_BIN to the parley binary");
const dataDir = mkdtempSync(join(tmpdir(), "parley-xss-"));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
process.env.PARLEY_LIMITS_SEND_PER_CONVERSATION ??= "1000000";
process.env.PARLEY_LIMITS_SEND_BURST ??= "1000000";
const server = spawnParley(bin, port, dataDir);
const { call, api } = apiClient(base);

// --- the corpus ----------------------------------------------------------
let next = 0;
const js = (n) => [`__xssHit(${n})`, `alert(${n})`, `window['__xss'+'Hit'](${n})`];
const templates = [
  (j) => `<script>${j}</script>`,
  (j) => `<img src=x onerror=${j}>`,
  (j) => `<img src="x" onerror="${j}">`,
  (j) => `<svg onload=${j}>`,
  (j) => `<svg><script>${j}</script></svg>`,
  (j) => `<iframe src="javascript:${j}"></iframe>`,
  (j) => `<iframe srcdoc="<script>${j}</script>"></iframe>`,
  (j) => `<a href="javascript:${j}">x</a>`,
  (j) => `[x](javascript:${j})`,
  (j) => `[x](javascript&#58;${j})`,
  (j) => `![x](x" onerror="${j})`,
  (j) => `"><img src=x onerror=${j}>`,
  (j) => `'><svg onload=${j}>`,
  (j) => `</textarea><script>${j}</script>`,
  (j) => `</title><script>${j}</script>`,
  (j) => `<body onload=${j}>`,
  (j) => `<details open ontoggle=${j}>`,
  (j) => `<input autofocus onfocus=${j}>`,
  (j) => `<video><source onerror=${j}></video>`,
  (j) => `<math><mtext><table><mglyph><style><img src=x onerror=${j}>`,
  (j) => `<object data="javascript:${j}">`,
  (j) => `<embed src="javascript:${j}">`,
  (j) => `<base href="javascript:${j}//">`,
  (j) => `<form action="javascript:${j}"><button>x</button></form>`,
  (j) => `<div style="background:url(javascript:${j})">x</div>`,
  (j) => `javascript:${j}`,
  (j) => `JaVaScRiPt:${j}`,
  (j) => `java\tscript:${j}`,
  (j) => `&#106;avascript:${j}`,
  (j) => `<scr<script>ipt>${j}</script>`,
  (j) => `{{constructor.constructor('${j}')()}}`,
  (j) => "${" + j + "}",
  (j) => `<noscript><p title="</noscript><img src=x onerror=${j}>">`,
  (j) => `<a href="data:text/html,<script>${j}</script>">x</a>`,
  (j) => `\u202e<img src=x onerror=${j}>`,
  (j) => `<img\u200bsrc=x onerror=${j}>`,
  (j) => `＜script＞${j}＜/script＞`,
  (j) => `<svg><animate onbegin=${j} attributeName=x dur=1s>`,
  (j) => `<marquee onstart=${j}>x</marquee>`,
  (j) => `https://example.com/"onmouseover="${j}`,
  (j) => `https://example.com/<img src=x onerror=${j}>`,
  (j) => `<a href="https://x.example" onclick="${j}">x</a>`,
  (j) => `[click](https://example.com "t\\" onmouseover=\\"${j}")`,
  (j) => `<style>@import 'javascript:${j}';</style>`,
  (j) => `<meta http-equiv="refresh" content="0;url=javascript:${j}">`,
  (j) => `<xmp><script>${j}</script></xmp>`,
  (j) => "`<img src=x onerror=" + j + ">`",
  (j) => `**<img src=x onerror=${j}>**`,
  (j) => `> <svg/onload=${j}>`,
  (j) => `<img src=x:x onerror=${j}//`,
];
const wrappers = [(p) => p, (p) => "hi " + p, (p) => p + " bye", (p) => "line one\n" + p, (p) => "see https://example.com/a " + p,
  (p) => "\u202e" + p + "\u202c", (p) => "\u200b" + p];
const payloads = [];
for (const t of templates) for (const w of wrappers) for (let v = 0; v < 3; v++) {
  const n = ++next;
  payloads.push(w(t(js(n)[v])));
}
// Short ones for names and titles (64 and 100 characters).
const short = [];
for (const t of templates) for (const j of js(0)) {
  const n = ++next;
  const p = t(j.replace("(0)", `(${n})`));
  if (p.length <= 64 && !/[\t\n]/.test(p)) short.push(p);
}

let browser;
const failures = [];
try {
  if (!(await waitReady(base))) throw new Error("parley did not start");

  // --- seeding through the API -------------------------------------------
  const reg = async (handle, name) => (await api("", "POST", "/accounts", { handle, password: "correct horse battery staple", display_name: name, kind: "person" }));
  const alice = await reg("alice", "Alice");
  const people = [];
  for (let i = 0; i < 12; i++) {
    const u = await reg(`xss${i}`, short[i % short.length]);
    await api(u.token, "PATCH", "/me", { bio: payloads[i] });
    await api(alice.token, "PUT", `/users/xss${i}/follow`, undefined);
    await api(u.token, "PUT", "/users/alice/follow", undefined);
    people.push(u);
  }
  let seeded = { messages: 0, payloads: 0, names: people.length, bios: people.length, titles: 0, files: 0 };
  const send = async (token, conv, text, extra = {}) => {
    let r = await call(token, "POST", `/conversations/${conv}/messages`, { client_id: `x${++next}`, text, ...extra });
    if (r.status === 422 && r.body?.code === "sensitive_data") r = await call(token, "POST", `/conversations/${conv}/messages`, { client_id: `x${next}`, text, confirm_sensitive: true, ...extra });
    if (r.status >= 300) throw new Error(`send: ${r.status} ${JSON.stringify(r.body)}`);
    seeded.messages++;
  };
  // Groups titled with payloads, holding the corpus, 6 payloads a message
  // and at most 40 messages a conversation (one page of history).
  const convs = [];
  const perConv = 40 * 6;
  for (let g = 0; g * perConv < payloads.length; g++) {
    const title = short[(g * 7) % short.length];
    const c = await api(alice.token, "POST", "/conversations", { kind: "group", title, members: people.slice(0, 4).map((_, k) => `xss${k}`) });
    seeded.titles++;
    const chunk = payloads.slice(g * perConv, (g + 1) * perConv);
    for (let k = 0; k < chunk.length; k += 6) {
      const sender = people[(k / 6) % 4];
      await send(sender.token, c.id, chunk.slice(k, k + 6).join("\n"));
      seeded.payloads += chunk.slice(k, k + 6).length;
    }
    const end = `end-of-group-${g}`;
    await send(people[0].token, c.id, end);
    convs.push({ id: c.id, end });
  }
  // A direct conversation with the short ones and files with hostile names.
  const dm = await api(people[5].token, "POST", "/conversations", { kind: "direct", with: "alice" });
  for (let k = 0; k < short.length; k += 10) {
    await send(people[5].token, dm.id, short.slice(k, k + 10).join("\n"));
    seeded.payloads += short.slice(k, k + 10).length;
  }
  for (let k = 0; k < 20; k++) {
    const form = new FormData();
    form.append("kind", "file");
    form.append("file", new Blob([`hello ${k}\n`], { type: "text/plain" }), short[k] + ".txt");
    const r = await fetch(base + "/api/v1/media", { method: "POST", headers: { Authorization: "Bearer " + people[5].token }, body: form });
    if (r.status !== 201) { failures.push(`upload with a hostile name: ${r.status} ${await r.text()}`); continue; }
    const m = await r.json();
    await send(people[5].token, dm.id, short[k + 1], { kind: "file", attachments: [m.id] });
    seeded.files++;
  }
  await send(people[5].token, dm.id, "end-of-direct");
  convs.push({ id: dm.id, end: "end-of-direct" });
  // A stranger's request: its preview renders too.
  const stranger = await reg("stranger", short[3]);
  const req = await api(stranger.token, "POST", "/conversations", { kind: "direct", with: "alice" });
  for (let k = 0; k < 3; k++) await send(stranger.token, req.id, payloads[k * 11]);
  console.log(`seeded: ${JSON.stringify(seeded)}; ${payloads.length} message payloads + ${short.length} short ones`);
  assert.ok(seeded.payloads >= 1000, `only ${seeded.payloads} payloads seeded`);

  // --- the browser ----------------------------------------------------------
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  await ctx.addInitScript((token) => {
    localStorage.setItem("parley.token", token);
    window.__hits = [];
    window.__xssHit = (n) => { window.__hits.push(n); console.log("XSS-HIT " + n); };
  }, alice.token);
  const page = await ctx.newPage();
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on("console", (m) => { if (/XSS-HIT/.test(m.text())) failures.push("console: " + m.text()); });
  page.on("pageerror", (e) => failures.push("page error: " + e.message));

  // markup finds payloads that became elements: event-handler attributes,
  // script-capable URLs, dangerous elements, or attributes other than
  // text-bearing ones (aria-*, title, alt, value…) that carry a payload.
  const markup = () => page.evaluate(() => {
    const found = [];
    const textual = /^(aria-|data-)|^(title|alt|value|placeholder|download)$/;
    for (const el of document.querySelectorAll("*")) {
      const tag = el.tagName.toLowerCase();
      if (["iframe", "object", "embed", "base", "frame", "frameset", "meta", "marquee", "math"].includes(tag) && el.closest("body")) found.push("element " + tag);
      if (tag === "script" && el.closest("body")) found.push("script in body");
      for (const a of el.attributes) {
        const v = a.value;
        if (/^on/i.test(a.name)) found.push(`${tag}[${a.name}]`);
        if (/^(href|src|action|formaction|xlink:href|data|srcdoc)$/i.test(a.name) && /^\s*(javascript|data:text\/html|vbscript):/i.test(v.replace(/[\s\u0000-\u001f]/g, ""))) found.push(`${tag}[${a.name}=${v.slice(0, 40)}]`);
        if (/xssHit|alert\(/.test(v) && !textual.test(a.name)) found.push(`${tag}[${a.name}] holds a payload`);
      }
    }
    return found;
  });
  const check = async (where) => {
    await page.waitForTimeout(150); // let any onload/onerror fire
    const hits = await page.evaluate(() => window.__hits);
    if (hits.length) failures.push(`${where}: payloads ran: ${hits.join(", ")}`);
    if (dialogs.length) failures.push(`${where}: dialogs: ${dialogs.splice(0).join(", ")}`);
    const m = await markup();
    if (m.length) failures.push(`${where}: markup: ${[...new Set(m)].slice(0, 10).join("; ")}`);
  };

  await page.goto(base + "/");
  await page.locator(".conv").first().waitFor();
  await check("conversation list");
  let views = 1;
  for (const c of convs) {
    await page.locator(`.conv[data-conversation="${c.id}"]`).click();
    await page.locator(".message .text", { hasText: c.end }).waitFor({ timeout: 20000 });
    // Hover every message (mouseover handlers, action menus), then check.
    const n = await page.locator(".message").count();
    for (let i = 0; i < n; i += 5) await page.locator(".message").nth(i).hover({ timeout: 2000 }).catch(() => {});
    await check("conversation " + c.end);
    // The payloads are there, as text.
    const shown = await page.locator(".message .text", { hasText: /xssHit|alert\(/ }).count();
    if (shown < Math.min(n - 1, 30) * 0.9) failures.push(`conversation ${c.end}: only ${shown} of ${n} messages show their payloads as text`);
    views++;
  }
  // The request, and the profiles of the people with hostile names.
  await page.getByRole("button", { name: /^Requests/ }).click();
  await page.locator(".conv").first().click();
  await page.locator(".message").first().waitFor();
  await check("request");
  views++;
  // A topic's opt-in page and the Subscriptions settings, with a business,
  // topic and description named by payloads.
  const shop = await api("", "POST", "/accounts", { handle: "xssshop", password: "correct horse battery staple", display_name: short[2], kind: "business" });
  const topic = await api(shop.token, "POST", "/business/xssshop/topics", { name: short[4], description: short[6] });
  await page.goto(base + topic.link_path);
  const sub = page.getByRole("main", { name: "Subscribe" });
  await sub.getByRole("button", { name: "Subscribe" }).waitFor();
  await check("subscribe page");
  await sub.getByRole("button", { name: "Subscribe" }).click();
  await sub.getByRole("button", { name: "Open Parley" }).click();
  await page.getByRole("button", { name: "Settings" }).click();
  await page.locator(".subscriptions li button").first().waitFor();
  await check("subscriptions");
  views += 2;
  // The detector itself: markup made on purpose is found (the CSP keeps
  // its handler from running, which is why the DOM is searched at all).
  await page.evaluate(() => { const d = document.createElement("div"); d.id = "xss-canary"; d.innerHTML = '<img src=x onerror="__xssHit(0)"><a href="javascript:__xssHit(0)">x</a>'; document.body.append(d); });
  const canary = await markup();
  assert.ok(canary.some((f) => f.includes("onerror")) && canary.some((f) => f.includes("javascript:")), "the markup detector missed the canary: " + canary.join("; "));
  await page.evaluate(() => document.getElementById("xss-canary").remove());
  console.log(`views opened: ${views}; payloads checked: ${seeded.payloads + 2 * people.length + seeded.titles + seeded.files}`);
} catch (e) {
  failures.push(String(e?.stack ?? e));
} finally {
  await browser?.close();
  server.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
}
if (failures.length) {
  console.error("XSS suite FAILED:\n" + failures.join("\n"));
  process.exit(1);
}
console.log("XSS suite: 0 payloads ran, 0 became markup");
