// End-to-end test of the web app in a real headless Chromium (Debian's,
// driven by playwright-core; no browser is downloaded) against the real
// parley binary on a temporary data directory.
//
//   PARLEY_BIN=/path/to/parley CHROMIUM=/usr/bin/chromium node e2e/run.mjs
//
// Screenshots of the main screens go to SCREENSHOTS (default
// ../docs/screenshots).
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import zlib from "node:zlib";

const bin = process.env.PARLEY_BIN;
if (!bin) throw new Error("set PARLEY_BIN to the parley binary");
const shots = process.env.SCREENSHOTS ?? new URL("../../docs/screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), "parley-e2e-"));

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const base = `http://127.0.0.1:${port}`;
let server = null;
async function startServer() {
  server = spawn(bin, ["serve"], { env: { ...process.env, PARLEY_LISTEN: `127.0.0.1:${port}`, PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: "warn" }, stdio: ["ignore", "inherit", "inherit"] });
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(base + "/readyz")).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("parley did not start");
}
async function stopServer() {
  const done = new Promise((r) => server.once("exit", r));
  server.kill("SIGTERM");
  await done;
}

// A small PNG made here: 24×16 pixels of one colour.
function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => { const len = Buffer.alloc(4); len.writeUInt32BE(data.length); const td = Buffer.concat([Buffer.from(type), data]); const c = Buffer.alloc(4); c.writeUInt32BE(crc(td)); return Buffer.concat([len, td, c]); };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([48, 86, 211], y * (w * 3 + 1) + 1 + x * 3);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

const xss = [
  "<script>window.__xss = 1</script>",
  '<img src=x onerror="window.__xss = 1">',
  "javascript:window.__xss=1",
  '<svg onload="window.__xss = 1"><script>window.__xss = 1</script></svg>',
  '<a href="javascript:window.__xss=1">click</a>',
];

let browser;
const failures = [];
try {
  await startServer();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"] });
  const ctxA = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const ctxB = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const alice = await ctxA.newPage();
  const bob = await ctxB.newPage();
  globalThis.__alice = alice; globalThis.__bob = bob;
  alice.on("console", (m) => { if (/EDIT|SUBMIT/.test(m.text())) console.log("alice:", m.text()); });
  if (process.env.E2E_DEBUG) { alice.on("websocket", (ws) => ws.on("framereceived", (f) => console.log("alice <", String(f.payload).slice(0, 160)))); bob.on("websocket", (ws) => { console.log("bob ws open", ws.url().slice(0, 60)); ws.on("close", () => console.log("bob ws closed")); ws.on("framesent", (f) => console.log("bob >", String(f.payload).slice(0, 160))); ws.on("framereceived", (f) => console.log("bob <", String(f.payload).slice(0, 100))); }); }
  for (const p of [alice, bob]) {
    p.on("pageerror", (e) => failures.push("page error: " + e.message));
    p.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/.test(m.text())) failures.push("CSP violation: " + m.text()); });
  }

  async function register(page, handle, name) {
    await page.goto(base + "/");
    await page.getByRole("tab", { name: "Create account" }).click();
    await page.getByLabel("Handle").fill(handle);
    await page.getByLabel("Display name").fill(name);
    await page.getByLabel("Password").fill("correct horse battery staple");
    if (handle === "alice") await page.screenshot({ path: join(shots, "sign-up.png") });
    await page.getByRole("button", { name: "Create account", exact: true }).last().click();
    await page.getByText("Choose a conversation.").waitFor();
  }
  await register(alice, "alice", "Alice");
  // Bob's display name is hostile too: names render as text.
  await register(bob, "bob", 'Bob <img src=x onerror="window.__xss=1">');

  // Bob writes to Alice, a stranger: it lands in her requests, live.
  await bob.getByLabel("New message to").fill("alice");
  await bob.getByRole("button", { name: "Start" }).click();
  await bob.getByLabel("Message", { exact: true }).fill("Hi Alice, is the blue jacket in stock? https://example.com/jacket");
  await bob.keyboard.press("Enter");
  await alice.getByRole("button", { name: /^Requests/ }).click();
  await alice.locator(".conv").first().click();
  await alice.getByRole("region", { name: "Message request" }).waitFor();
  // In a request, links are plain text.
  assert.equal(await alice.locator(".messages a").count(), 0, "links are clickable in a request");
  await alice.screenshot({ path: join(shots, "request.png") });
  await alice.getByRole("button", { name: "Accept" }).click();
  await alice.getByRole("button", { name: /^Inbox/ }).click();
  await alice.locator(".conv").first().click();

  // They chat; each sees the other live, with typing and read markers.
  await bob.getByLabel("Message", { exact: true }).pressSequentially("typing now", { delay: 20 });
  await alice.getByText(/typing…/).waitFor({ timeout: 10000 });
  await bob.getByLabel("Message", { exact: true }).fill("");
  await alice.getByLabel("Message", { exact: true }).fill("Yes! Size M?");
  await alice.getByRole("button", { name: "Send" }).click();
  await bob.locator(".message .text", { hasText: "Yes! Size M?" }).waitFor();
  await alice.getByText("Seen").waitFor({ timeout: 10000 });

  // An attachment round trip.
  await alice.locator('.composer input[type="file"]').setInputFiles({ name: "jacket.png", mimeType: "image/png", buffer: png(24, 16) });
  const img = bob.locator(".message img.media").last();
  await img.waitFor({ timeout: 15000 });
  assert.ok(await img.evaluate((el) => el.complete && el.naturalWidth > 0), "the image did not load");

  // A voice note, recorded from Chromium's fake microphone.
  await alice.getByRole("button", { name: "Record" }).click();
  await alice.waitForTimeout(1200);
  await alice.getByRole("button", { name: "Stop and send" }).click();
  await bob.locator(".message audio.voice").last().waitFor({ timeout: 15000 });
  await alice.locator(".message audio.voice").last().waitFor({ timeout: 15000 });

  // The XSS corpus renders as inert text.
  for (const x of xss) {
    await bob.getByLabel("Message", { exact: true }).fill(x);
    await bob.keyboard.press("Enter");
  }
  await alice.locator(".message .text", { hasText: xss[xss.length - 1] }).waitFor();
  for (const page of [alice, bob]) {
    assert.equal(await page.evaluate(() => window.__xss), undefined, "script ran");
    assert.equal(await page.locator(".messages script, .messages svg, .messages img[src='x'], .sidebar img").count(), 0, "markup was rendered");
    assert.equal(await page.locator('a[href^="javascript:"]').count(), 0, "a javascript: link exists");
  }
  for (const x of xss) assert.ok(await alice.locator(".message .text", { hasText: x }).count() > 0, "missing as text: " + x);
  await alice.screenshot({ path: join(shots, "conversation.png") });

  // Reactions, replies, edits and unsends, live on the other side. The
  // action buttons are used from the keyboard: Tab onto the message, then
  // to the button (messages off screen take their real size only when
  // shown, so a mouse aimed at them may land elsewhere).
  const press = async (msg, name) => {
    await msg.focus();
    const b = msg.getByRole("button", { name });
    await b.focus();
    await b.press("Enter");
  };
  for (const p of [alice, bob]) p.on("dialog", (d) => d.accept());
  const bobsFirst = alice.locator(".message", { hasText: "Hi Alice, is the blue jacket" });
  await press(bobsFirst, "React 👍");
  await bob.locator(".message", { hasText: "Hi Alice, is the blue jacket" }).locator(".reactions", { hasText: "👍 1" }).waitFor();
  const alicesReply = bob.locator(".message", { hasText: "Yes! Size M?" });
  await press(alicesReply, "Reply");
  await bob.getByLabel("Message", { exact: true }).fill("Great, I'll take it");
  await bob.keyboard.press("Enter");
  await alice.locator(".message", { hasText: "Great, I'll take it" }).locator("blockquote", { hasText: "Yes! Size M?" }).waitFor();
  const mine = alice.locator(".message.mine", { hasText: "Yes! Size M?" });
  await press(mine, "Edit");
  await alice.getByLabel("Message", { exact: true }).fill("Yes! Size M or L?");
  await alice.keyboard.press("Enter");
  await bob.locator(".message", { hasText: "Yes! Size M or L?" }).locator("time", { hasText: "edited" }).waitFor();
  const oops = bob.locator(".message.mine", { hasText: "Great, I'll take it" });
  await press(oops, "Unsend");
  await alice.locator(".message .unsent").first().waitFor();
  assert.equal(await alice.locator(".message", { hasText: "Great, I'll take it" }).count(), 0, "unsent text still shown");

  // A group, created by Alice, reaches Bob live — as an invite in his
  // requests, since he does not follow her.
  await alice.getByText("New group").click();
  await alice.getByLabel("Group name").fill("Spring launch");
  await alice.getByLabel("Members (handles)").fill("bob");
  await alice.getByRole("button", { name: "Create group" }).click();
  await alice.getByRole("heading", { name: "Spring launch" }).waitFor();
  await bob.getByRole("button", { name: /^Requests/ }).click();
  await bob.locator(".conv", { hasText: "Spring launch" }).click();
  await bob.getByRole("button", { name: "Accept" }).click();
  await bob.getByRole("button", { name: /^Inbox/ }).click();
  await bob.locator(".conv", { hasText: "Spring launch" }).click();
  await alice.locator(".system", { hasText: "member joined" }).waitFor();
  await alice.getByLabel("Message", { exact: true }).fill("Welcome to the launch group");
  await alice.keyboard.press("Enter");
  await bob.locator(".message", { hasText: "Welcome to the launch group" }).waitFor();

  // Settings: a name change, a closed inbox, the devices list.
  await bob.getByRole("button", { name: "Settings" }).click();
  await bob.getByLabel("Display name").fill("Bob B.");
  await bob.getByLabel("Who may message you").selectOption("closed");
  await bob.getByRole("button", { name: "Save" }).click();
  await bob.getByText("Saved.").waitFor();
  await bob.getByText("(this one)").waitFor();
  await bob.screenshot({ path: join(shots, "settings.png") });
  await bob.getByRole("button", { name: "Close" }).click();

  // Long history: scrolling to the top loads earlier pages by itself.
  const api = async (token, method, path, body) => {
    const r = await fetch(base + "/api/v1" + path, { method, headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? null : r.json();
  };
  const carol = await api("", "POST", "/accounts", { handle: "carol", password: "correct horse battery staple" });
  await api(carol.token, "PUT", "/users/alice/follow");
  await api((await api("", "POST", "/sessions", { handle: "alice", password: "correct horse battery staple" })).token, "PUT", "/users/carol/follow");
  const dm = await api(carol.token, "POST", "/conversations", { kind: "direct", with: "alice" });
  const total = 600;
  for (let i = 0; i < total; i += 20) {
    await Promise.all(Array.from({ length: 20 }, (_, j) => api(carol.token, "POST", `/conversations/${dm.id}/messages`, { text: `history ${i + j + 1}`, client_id: `h${i + j}` })));
  }
  await alice.locator(".conv", { hasText: "carol" }).click();
  await alice.locator(".message .text", { hasText: `history ${total}` }).first().waitFor();
  // Scrolling up reaches the first message; the page never holds more
  // than a window of the history, and "Jump to the latest" comes back.
  const deadline = Date.now() + 60000;
  while ((await alice.locator(".message .text", { hasText: /^history 1$/ }).count()) === 0) {
    if (Date.now() > deadline) throw new Error("scrolling up never reached the first message");
    await alice.locator(".messages").evaluate((el) => { el.scrollTop = 0; });
    await alice.waitForTimeout(100);
  }
  const inPage = await alice.locator(".messages .message").count();
  assert.ok(inPage <= 150, `${inPage} messages in the page; the window is 150`);
  await alice.getByRole("button", { name: "Jump to the latest" }).click();
  await alice.locator(".message .text", { hasText: `history ${total}` }).waitFor();
  await alice.locator(".conv", { hasText: "Spring launch" }).click();

  // The server restarts: the app shows it is offline, then resumes the
  // stream and gets what was sent meanwhile.
  await stopServer();
  await alice.getByText(/Offline|Connecting/).waitFor({ timeout: 15000 });
  await startServer();
  await alice.locator(".banner").waitFor({ state: "detached", timeout: 30000 });
  await bob.locator(".banner").waitFor({ state: "detached", timeout: 30000 });
  await bob.getByLabel("Message", { exact: true }).fill("after the restart");
  await bob.keyboard.press("Enter");
  await alice.locator(".message .text", { hasText: "after the restart" }).waitFor({ timeout: 15000 });

  // A phone-sized screen.
  await alice.setViewportSize({ width: 390, height: 800 });
  await alice.screenshot({ path: join(shots, "phone.png") });

  // The page's own headers: a strict CSP without inline script.
  const res = await fetch(base + "/");
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  if (failures.length) throw new Error(failures.join("\n"));
  console.log("e2e: ok (screenshots in " + shots + ")");
} catch (e) {
  console.error("e2e: FAILED", e);
  for (const [n, p] of [["alice", globalThis.__alice], ["bob", globalThis.__bob]]) { if (p) { try { await p.screenshot({ path: join(shots, `failure-${n}.png`) }); console.error(n, "errors:", await p.locator(".error").allTextContents()); } catch {} } }
  process.exitCode = 1;
} finally {
  await browser?.close();
  if (server && server.exitCode === null) await stopServer();
  rmSync(dataDir, { recursive: true, force: true });
}
