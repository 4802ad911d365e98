// End-to-end test of the web app in a real headless Chromium (Debian's,
// driven by playwright-core; no browser is downloaded) against the real
// parley binary on a temporary data directory.
//
//   PARLEY_BIN=/path/to/parley CHROMIUM=/usr/bin/chromium node e2e/run.mjs
//
// Screenshots of the main screens go to SCREENSHOTS (default
// ../docs/screenshots).
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { allNamed as allNamedWith, apiClient, freePort, spawnParley, until, waitReady } from "./lib.mjs";

const bin = process.env.PARLEY_BIN;
if (!bin) throw new Error("set PARLEY_BIN to the parley binary");
const shots = process.env.SCREENSHOTS ?? new URL("../../docs/screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), "parley-e2e-"));

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
let server = null;
async function startServer() {
  server = spawnParley(bin, port, dataDir);
  if (!(await waitReady(base))) throw new Error("parley did not start");
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

// totp computes an RFC 6238 code (SHA-1, 6 digits, 30 s) here, from the
// base32 secret the app shows, independently of the server.
function totp(secret, ms = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bits = [...secret.replace(/=+$/, "")].map((c) => alphabet.indexOf(c).toString(2).padStart(5, "0")).join("");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30000)));
  const h = createHmac("sha1", key).update(counter).digest();
  return String((h.readUInt32BE(h[19] & 15) & 0x7fffffff) % 1e6).padStart(6, "0");
}

const xss = [
  "<script>window.__xss = 1</script>",
  '<img src=x onerror="window.__xss = 1">',
  "javascript:window.__xss=1",
  '<svg onload="window.__xss = 1"><script>window.__xss = 1</script></svg>',
  '<a href="javascript:window.__xss=1">click</a>',
];

const { api } = apiClient(base);
const tokenOf = (page) => page.evaluate(() => localStorage.getItem("parley.token"));

const allNamed = (page, screen) => allNamedWith(page, screen, ["switch", "tab", "separator"]);

// focused describes the focused element and whether a focus ring shows
// (the composer's file input shows it on its label).
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: "body", ring: false, text: "" };
    const shown = el.classList.contains("visually-hidden") ? el.closest("label") ?? el : el;
    const cs = getComputedStyle(shown);
    return {
      tag: el.tagName.toLowerCase(), id: el.id, conversation: el.dataset.conversation ?? "", role: el.getAttribute("role") ?? "",
      text: (el.getAttribute("aria-label") || (el.labels?.[0]?.textContent) || el.textContent || "").trim().slice(0, 60),
      ring: cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2,
    };
  });
}
// tabUntil presses Tab until done(focused) holds, checking that every
// stop on the way shows its focus ring; it returns the stops.
async function tabUntil(page, done, max = 60, key = "Tab") {
  const stops = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const f = await focused(page);
    stops.push(f);
    assert.ok(f.tag !== "body", `Tab left the page after ${stops.map((x) => x.text).join(" → ")}`);
    assert.ok(f.ring, `no visible focus ring on ${f.tag} "${f.text}"`);
    if (done(f)) return stops;
  }
  throw new Error("not reached by Tab: " + stops.map((x) => `${x.tag} "${x.text}"`).join(" → "));
}

let browser;
const failures = [];
const consoleText = [];
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
    p.on("console", (m) => consoleText.push(m.text()));
    p.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/.test(m.text())) failures.push("CSP violation: " + m.text()); });
  }

  async function register(page, handle, name) {
    await page.goto(base + "/");
    await page.getByRole("tab", { name: "Create account" }).click();
    if (handle === "alice") await allNamed(page, "sign-up");
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
  await allNamed(alice, "request");
  // In a request, links are plain text.
  assert.equal(await alice.locator(".messages a").count(), 0, "links are clickable in a request");
  await alice.screenshot({ path: join(shots, "request.png") });
  await alice.getByRole("button", { name: "Accept", exact: true }).click();
  await alice.getByRole("button", { name: /^Inbox/ }).click();
  await alice.locator(".conv").first().click();

  // They chat; each sees the other live, with typing and read markers.
  await bob.getByLabel("Message", { exact: true }).pressSequentially("typing now", { delay: 20 });
  await alice.getByText(/typing…/).waitFor({ timeout: 10000 });
  await bob.getByLabel("Message", { exact: true }).fill("");
  // With the stream live, the composer sends on it: no request of its own.
  const posts = [];
  const countPosts = (r) => { if (r.method() === "POST" && /\/messages$/.test(new URL(r.url()).pathname)) posts.push(r.url()); };
  alice.on("request", countPosts);
  await alice.getByLabel("Message", { exact: true }).fill("Yes! Size M?");
  await alice.getByRole("button", { name: "Send" }).click();
  await bob.locator(".message .text", { hasText: "Yes! Size M?" }).waitFor();
  await alice.locator(".message .text", { hasText: "Yes! Size M?" }).waitFor();
  alice.off("request", countPosts);
  assert.deepEqual(posts, [], "the composer sent over HTTP with the stream live");
  await alice.getByText("Seen").waitFor({ timeout: 10000 });

  // By keyboard alone: from a fresh load, Tab through the sidebar in order
  // to the conversation, Enter opens it with the focus in the composer,
  // Enter sends. Every stop shows a focus ring.
  await alice.goto(base + "/");
  await alice.getByText("Choose a conversation.").waitFor();
  await alice.locator(".conv", { hasText: /^Bob/ }).waitFor();
  const stops = await tabUntil(alice, (f) => f.conversation !== "");
  const at = (pred) => stops.findIndex(pred);
  const order = [at((f) => f.text === "Settings"), at((f) => /^Inbox/.test(f.text)), at((f) => f.text.startsWith("New message to")), at((f) => f.text === "Search"), stops.length - 1];
  assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])), "Tab order: " + stops.map((f) => f.text).join(" → "));
  await alice.keyboard.press("Enter");
  await alice.waitForFunction(() => document.activeElement?.id === "composer-text");
  // The new stream's presence snapshot: Bob, whose page is open, is online.
  await alice.locator(".conversation header .presence", { hasText: "Active now" }).waitFor({ timeout: 10000 });
  await alice.keyboard.type("Sent without the mouse");
  await alice.keyboard.press("Enter");
  await bob.locator(".message .text", { hasText: "Sent without the mouse" }).waitFor();
  // Shift+Tab from the composer reaches the newest message and its actions.
  const back = await tabUntil(alice, (f) => f.tag === "li", 10, "Shift+Tab");
  assert.match(back[back.length - 1].text, /Sent without the mouse/);
  // Settings open by keyboard with the focus on their title; Escape
  // closes them and gives the focus back to the Settings button.
  await alice.goto(base + "/");
  await alice.getByText("Choose a conversation.").waitFor();
  await tabUntil(alice, (f) => f.text === "Settings");
  await alice.keyboard.press("Enter");
  await alice.waitForFunction(() => document.activeElement?.textContent === "Settings" && document.activeElement.tagName === "H2");
  await tabUntil(alice, (f) => f.role === "switch");
  await alice.keyboard.press("Escape");
  await alice.getByRole("region", { name: "Settings" }).waitFor({ state: "detached" });
  await alice.waitForFunction(() => document.activeElement?.textContent === "Settings" && document.activeElement.tagName === "BUTTON", null, { timeout: 2000 });
  // The new-group form folds away with Escape too.
  await alice.getByText("New group").focus();
  await alice.keyboard.press("Enter");
  await alice.getByLabel("Group name").focus();
  await alice.keyboard.press("Escape");
  assert.equal(await alice.locator("details.group-form").evaluate((d) => d.open), false, "Escape left the new-group form open");
  assert.equal((await focused(alice)).text, "New group");
  await alice.locator(".conv", { hasText: /^Bob/ }).click();

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
  await allNamed(alice, "conversation");

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
  // A card number is held until the sender confirms it.
  await bob.getByLabel("Message", { exact: true }).fill("My card is 4242 4242 4242 4242");
  await bob.keyboard.press("Enter");
  await bob.getByRole("alert").filter({ hasText: "looks like it contains a card number. Anyone in this conversation will see it. Send anyway?" }).waitFor();
  await bob.getByRole("button", { name: "Send anyway" }).click();
  await alice.locator(".message .text", { hasText: "My card is 4242 4242 4242 4242" }).waitFor();
  await bob.locator(".sensitive-confirm").waitFor({ state: "detached" });
  // Search: Alice finds Bob's question by a word of it; the word is
  // marked, and the result opens the conversation at that message.
  await alice.getByLabel("Search messages").fill("jacket");
  await alice.getByRole("button", { name: "Find" }).click();
  const results = alice.getByRole("region", { name: "Search results" });
  const hit = results.locator(".result", { hasText: "blue jacket in stock" });
  await hit.waitFor();
  assert.equal(await hit.locator("mark").first().textContent(), "jacket");
  await hit.click();
  await alice.locator(".message.found", { hasText: "blue jacket" }).waitFor();
  await results.getByRole("button", { name: "Clear" }).click();
  await results.waitFor({ state: "detached" });

  // A group, created by Alice, reaches Bob live — as an invite in his
  // requests, since he does not follow her.
  await alice.getByText("New group").click();
  await alice.getByLabel("Group name").fill("Spring launch");
  await alice.getByLabel("Members (handles)").fill("bob");
  await alice.getByRole("button", { name: "Create group" }).click();
  await alice.getByRole("heading", { name: "Spring launch" }).waitFor();
  await bob.getByRole("button", { name: /^Requests/ }).click();
  await bob.locator(".conv", { hasText: "Spring launch" }).click();
  await bob.getByRole("button", { name: "Accept", exact: true }).click();
  await bob.getByRole("button", { name: /^Inbox/ }).click();
  await bob.locator(".conv", { hasText: "Spring launch" }).click();
  await alice.locator(".system", { hasText: "member joined" }).waitFor();
  await alice.getByLabel("Message", { exact: true }).fill("Welcome to the launch group");
  await alice.keyboard.press("Enter");
  await bob.locator(".message", { hasText: "Welcome to the launch group" }).waitFor();

  // "New messages": Bob writes twice in the direct conversation while
  // Alice is in the group; opening it shows the divider above the first
  // unread message, where it stays while she is there; the next time she
  // opens it, it is gone.
  const bobToken = await tokenOf(bob), aliceToken = await tokenOf(alice);
  const bobRow = alice.locator(".conv", { hasText: /^Bob/ });
  const dmAB = await bobRow.getAttribute("data-conversation");
  for (const t of ["First unread", "Second unread"]) await api(bobToken, "POST", `/conversations/${dmAB}/messages`, { text: t, client_id: "u-" + t.replace(/ /g, "-") });
  await bobRow.locator(".badge", { hasText: "2" }).waitFor();
  await bobRow.click();
  const divider = alice.getByRole("separator", { name: "New messages" });
  await divider.waitFor();
  const below = () => divider.evaluate((el) => el.closest("li").nextElementSibling?.textContent ?? "");
  assert.match(await below(), /First unread/);
  await bobRow.locator(".badge").waitFor({ state: "detached" }); // read
  await api(bobToken, "POST", `/conversations/${dmAB}/messages`, { text: "Third, while open", client_id: "u-third" });
  await alice.locator(".message .text", { hasText: "Third, while open" }).waitFor();
  assert.match(await below(), /First unread/);
  assert.equal(await alice.getByRole("separator").count(), 1);
  // The message that arrived while open was read out by the live region.
  await alice.locator('[aria-live="polite"]', { hasText: "Third, while open" }).waitFor({ state: "attached" });
  await alice.locator(".conv", { hasText: "Spring launch" }).click();
  await bobRow.click();
  await alice.locator(".message .text", { hasText: "Third, while open" }).waitFor();
  assert.equal(await alice.getByRole("separator", { name: "New messages" }).count(), 0, "the divider is back after reading");
  // Nothing was unread on opening: what arrives now brings no divider.
  await api(bobToken, "POST", `/conversations/${dmAB}/messages`, { text: "Fourth, live", client_id: "u-fourth" });
  await alice.locator(".message .text", { hasText: "Fourth, live" }).waitFor();
  assert.equal(await alice.getByRole("separator", { name: "New messages" }).count(), 0, "a divider for a message that arrived while open");

  // Export conversation: the job's progress, then a signed link to the ZIP.
  await alice.getByRole("button", { name: "Export", exact: true }).click();
  await alice.getByRole("button", { name: "Export conversation" }).click();
  const convLink = alice.getByRole("link", { name: "Download (ZIP)" });
  await convLink.waitFor({ timeout: 30000 });
  assert.match(await alice.getByRole("status").filter({ hasText: "Export ready" }).first().innerText(), /Export ready: \d+ messages/);
  const convZip = await alice.request.get(new URL(await convLink.getAttribute("href"), base).href);
  assert.equal(convZip.status(), 200, "the export link does not download");
  assert.equal((await convZip.body()).subarray(0, 2).toString(), "PK", "the export is not a ZIP");
  // Disappearing messages: Alice sets a timer; a system line says so, the
  // next message carries the timer mark; then she turns it off again.
  await alice.getByLabel("Disappearing messages").selectOption("300");
  await alice.locator(".system", { hasText: /set disappearing messages to 5 minutes$/ }).waitFor();
  await alice.getByLabel("Message", { exact: true }).fill("This one disappears");
  await alice.keyboard.press("Enter");
  await alice.locator(".message", { hasText: "This one disappears" }).getByRole("img", { name: /^Disappears / }).waitFor();
  await alice.getByLabel("Disappearing messages").selectOption("0");
  await alice.locator(".system", { hasText: /turned off disappearing messages$/ }).waitFor();
  // A legal hold placed by the server's administrator (the admin CLI,
  // through the running server) shows as a banner, live, until released.
  const adminCLI = (...args) => JSON.parse(execFileSync(bin, [...args, "--json"], { env: { ...process.env, PARLEY_DATA_DIR: dataDir } }).toString());
  const hold = adminCLI("hold", "place", "conversation", dmAB, "--reason", "e2e");
  await alice.getByRole("status").filter({ hasText: "Messages are kept: legal hold" }).waitFor();
  await alice.screenshot({ path: join(shots, "legal-hold.png") });
  adminCLI("hold", "release", hold.id);
  await alice.locator(".legal-hold").waitFor({ state: "detached" });

  // Settings: a name change, a closed inbox, the devices list.
  await bob.getByRole("button", { name: "Settings" }).click();
  await bob.getByLabel("Display name").fill("Bob B.");
  await bob.getByLabel("Who may message you").selectOption("closed");
  await bob.getByRole("button", { name: "Save" }).click();
  await bob.getByText("Saved.").waitFor();
  await bob.getByText("(this one)").waitFor();
  await bob.screenshot({ path: join(shots, "settings.png") });
  // Export my data, from settings.
  await bob.getByRole("button", { name: "Export my data" }).click();
  await bob.getByRole("link", { name: "Download (ZIP)" }).first().waitFor({ timeout: 30000 });

  // API tokens: one that may only read, its secret shown once.
  await ctxB.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  await bob.getByLabel("Token name").fill("ci-bot");
  assert.ok(await bob.getByLabel("Read conversations and messages").isChecked(), "read is not the default scope");
  assert.ok(!(await bob.getByLabel("Send and edit messages").isChecked()));
  await bob.getByLabel("Expires").selectOption({ label: "In 30 days" });
  await bob.getByRole("button", { name: "Create token" }).click();
  const fresh = bob.getByRole("region", { name: "New API token" });
  await fresh.getByText("you will not see it again").waitFor();
  const secretField = fresh.getByLabel("Token", { exact: true });
  assert.ok(await secretField.evaluate((el) => el === document.activeElement), "the new token does not have the focus");
  const secret = await secretField.inputValue();
  assert.match(secret, /^prl_/);
  await fresh.getByRole("button", { name: "Copy" }).click();
  await fresh.getByText("Copied.").waitFor();
  assert.equal(await bob.evaluate(() => navigator.clipboard.readText()), secret, "Copy did not copy the token");
  const tokenRow = bob.locator(".tokens li", { hasText: "ci-bot" });
  await tokenRow.waitFor();
  assert.match(await tokenRow.textContent(), /read · created .* · no use recorded yet · expires /);
  await bob.setViewportSize({ width: 1100, height: 1000 });
  await bob.getByRole("heading", { name: "API tokens" }).evaluate((el) => el.scrollIntoView({ block: "start" }));
  await bob.screenshot({ path: join(shots, "settings-tokens.png") });
  await allNamed(bob, "settings");
  // From a script it may read, not write.
  const asToken = (method, path, body) => fetch(base + "/api/v1" + path,
    { method, headers: { Authorization: "Bearer " + secret, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
  let r = await asToken("GET", "/conversations");
  assert.equal(r.status, 200, "GET with a read token");
  const someConv = (await r.json()).items[0];
  r = await asToken("POST", `/conversations/${someConv.id}/messages`, { text: "from a script", client_id: "script-1" });
  assert.equal(r.status, 403, "POST a message with a read-only token");
  assert.equal((await r.json()).code, "insufficient_scope");
  // The secret is never stored or logged, and leaves the page on "Done".
  const stored = await bob.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.ok(!stored.includes(secret), "the token's secret is in the browser's storage");
  assert.ok(!consoleText.some((t) => t.includes(secret)), "the token's secret was logged");
  await fresh.getByRole("button", { name: "Done" }).click();
  await fresh.waitFor({ state: "detached" });
  assert.ok(!(await bob.content()).includes(secret), "the secret is still in the page");
  // Revoked (after a confirmation), it stops working at once.
  await tokenRow.getByRole("button", { name: "Revoke ci-bot" }).click();
  await tokenRow.waitFor({ state: "detached" });
  assert.equal((await asToken("GET", "/conversations")).status, 401, "a revoked token still works");
  await bob.setViewportSize({ width: 1100, height: 720 });
  await bob.getByRole("button", { name: "Close" }).click();

  // Read receipts off (Alice): she sees no one's "Seen", not even the one
  // she saw before, and Bob does not see hers.
  const aliceRow = bob.locator(".conv", { hasText: /^Alice/ });
  await aliceRow.click();
  await alice.getByLabel("Message", { exact: true }).fill("Before receipts go off");
  await alice.keyboard.press("Enter");
  await bob.locator(".message .text", { hasText: "Before receipts go off" }).waitFor();
  await alice.locator(".status-line", { hasText: "Seen" }).waitFor({ timeout: 10000 });
  await alice.getByRole("button", { name: "Settings" }).click();
  const receipts = alice.getByRole("switch", { name: "Read receipts" });
  assert.ok(await receipts.isChecked(), "read receipts start off");
  await alice.getByText("When off, people won't see when you've read their messages, and you won't see theirs.").waitFor();
  await receipts.press("Space");
  await alice.getByText("Read receipts are off.").waitFor();
  assert.equal((await api(aliceToken, "GET", "/me")).read_receipts, false);
  // Escape closes the settings; the conversation comes back and the focus
  // goes to the Settings button, not to the conversation.
  await alice.keyboard.press("Escape");
  await alice.locator(".status-line").waitFor();
  await alice.waitForTimeout(300);
  assert.equal(await alice.evaluate(() => document.activeElement?.textContent), "Settings", "the focus did not return to Settings");
  const status = (page) => page.locator(".status-line").textContent();
  await alice.waitForFunction(() => /^(Delivered|Sent)$/.test(document.querySelector(".status-line")?.textContent ?? ""), null, { timeout: 5000 });
  const seqOf = async (page, text) => Number(await page.locator(".message", { hasText: text }).getAttribute("data-seq"));
  const readSeq = async (token) => (await api(token, "GET", `/conversations/${dmAB}`)).read_seq;
  await bob.getByLabel("Message", { exact: true }).fill("Did you read this?");
  await bob.keyboard.press("Enter");
  await alice.locator(".message .text", { hasText: "Did you read this?" }).waitFor();
  const asked = await seqOf(alice, "Did you read this?");
  await until(async () => (await readSeq(aliceToken)) >= asked, "Alice's device read Bob's question");
  await bob.locator(".status-line", { hasText: "Delivered" }).waitFor();
  await bob.waitForTimeout(1000);
  assert.doesNotMatch(await status(bob), /Seen/, "Bob sees Alice's read receipt while she has them off");
  await alice.getByLabel("Message", { exact: true }).fill("I did, privately");
  await alice.keyboard.press("Enter");
  await bob.locator(".message .text", { hasText: "I did, privately" }).waitFor();
  const answered = await seqOf(bob, "I did, privately");
  await until(async () => (await readSeq(bobToken)) >= answered, "Bob's device read Alice's answer");
  await alice.waitForTimeout(1000);
  assert.doesNotMatch(await status(alice), /Seen/, "Alice sees Bob's read receipt while hers are off");
  // Bob's page loaded afresh (member read positions from the server) shows no "Seen" either.
  await bob.reload();
  await aliceRow.click();
  await bob.locator(".message .text", { hasText: "I did, privately" }).waitFor();
  await bob.getByLabel("Message", { exact: true }).fill("Still there?");
  await bob.keyboard.press("Enter");
  await alice.locator(".message .text", { hasText: "Still there?" }).waitFor();
  const still = await seqOf(alice, "Still there?");
  await until(async () => (await readSeq(aliceToken)) >= still, "Alice's device read Bob's second question");
  await bob.waitForTimeout(1000);
  assert.doesNotMatch(await status(bob), /Seen/, "Bob sees Alice's read receipt after a reload");
  await bob.locator(".conv", { hasText: "Spring launch" }).click();

  // Long history: scrolling to the top loads earlier pages by itself.
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
  await alice.locator(".banner").waitFor({ state: "hidden", timeout: 30000 });
  await bob.locator(".banner").waitFor({ state: "hidden", timeout: 30000 });
  await bob.getByLabel("Message", { exact: true }).fill("after the restart");
  await bob.keyboard.press("Enter");
  await alice.locator(".message .text", { hasText: "after the restart" }).waitFor({ timeout: 15000 });

  // Two-factor authentication: Dana turns it on in settings with a code
  // computed here, gets recovery codes once, and the next sign-in asks
  // for a code. The login uses the next 30-second step (one step of skew
  // is accepted): the confirming code's step is spent.
  const ctxD = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  const dana = await ctxD.newPage();
  dana.on("pageerror", (e) => failures.push("page error: " + e.message));
  dana.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/.test(m.text())) failures.push("CSP violation: " + m.text()); });
  await register(dana, "dana", "Dana");
  await dana.getByRole("button", { name: "Settings" }).click();
  const tfa = dana.getByRole("region", { name: "Two-factor authentication" });
  await tfa.getByLabel("Password").fill("correct horse battery staple");
  await tfa.getByRole("button", { name: "Set up" }).click();
  const qr = tfa.getByRole("img", { name: "QR code for your authenticator app" });
  await qr.waitFor();
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), "the QR code did not load");
  const totpSecret = (await tfa.getByTestId("totp-secret").textContent()).trim();
  assert.match(totpSecret, /^[A-Z2-7]{32}$/);
  await tfa.getByLabel("Code from the app").fill(totp(totpSecret));
  await tfa.getByRole("button", { name: "Turn on" }).click();
  const recovery = tfa.getByRole("group", { name: "Recovery codes" });
  await recovery.waitFor();
  assert.equal(await recovery.locator("li").count(), 10, "ten recovery codes");
  const recoveryCode = (await recovery.locator("li").first().textContent()).trim();
  await allNamed(dana, "two-factor");
  await dana.screenshot({ path: join(shots, "settings-2fa.png") });
  await recovery.getByRole("button", { name: "Done, I saved them" }).click();
  await tfa.getByText("On · 10 recovery codes left.").waitFor();
  await dana.getByRole("button", { name: "Sign out", exact: true }).click();
  await dana.getByRole("tab", { name: "Sign in" }).click();
  await dana.getByLabel("Handle", { exact: true }).fill("dana");
  await dana.getByLabel("Password").fill("correct horse battery staple");
  await dana.getByRole("button", { name: "Sign in", exact: true }).last().click();
  const step2 = dana.getByRole("form", { name: "Two-factor authentication" });
  await step2.getByLabel("Code from your authenticator app, or a recovery code").fill("000000");
  await step2.getByRole("button", { name: "Verify" }).click();
  await step2.getByRole("alert").waitFor();
  await step2.getByLabel("Code from your authenticator app, or a recovery code").fill(totp(totpSecret, Date.now() + 30000));
  await step2.getByRole("button", { name: "Verify" }).click();
  await dana.getByText("Choose a conversation.").waitFor();

  // Dana deletes her account from settings: the password, a recovery
  // code (two-factor is on) and her handle typed to confirm; she lands
  // on the sign-in screen with a summary, and her password no longer works.
  await dana.getByRole("button", { name: "Settings" }).click();
  const del = dana.getByRole("region", { name: "Delete account" });
  await del.getByRole("button", { name: "Delete account…" }).click();
  const delForm = del.getByRole("form", { name: "Delete account" });
  await delForm.getByLabel("Password").fill("correct horse battery staple");
  await delForm.getByLabel("Two-factor code (if it is on)").fill(recoveryCode);
  await delForm.getByLabel("Type your handle to confirm").fill("dan");
  await delForm.getByRole("button", { name: "Delete my account for good" }).click();
  await del.getByRole("alert").getByText("Type your handle, dana, to confirm.").waitFor();
  await allNamed(dana, "delete account");
  await dana.screenshot({ path: join(shots, "settings-delete-account.png") });
  await delForm.getByLabel("Type your handle to confirm").fill("dana");
  await delForm.getByRole("button", { name: "Delete my account for good" }).click();
  await dana.getByRole("status").getByText("Your account @dana is deleted", { exact: false }).waitFor();
  assert.equal((await apiClient(base).call("", "POST", "/sessions", { handle: "dana", password: "correct horse battery staple" })).status, 401,
    "the deleted account still signs in");
  await ctxD.close();

  // Request triage: Alice filters requests about crypto; a stranger's
  // pitch lands in Filtered with the reason; she reports it as spam in
  // bulk; made a moderator, she bans the sender from the Reports page.
  await alice.getByRole("button", { name: "Settings" }).click();
  await alice.getByRole("textbox", { name: "Pattern" }).fill("crypto");
  await alice.getByRole("button", { name: "Add filter" }).click();
  await alice.locator(".rows li", { hasText: "crypto" }).waitFor();
  await alice.getByRole("region", { name: "Settings" }).getByRole("button", { name: "Close" }).click();
  const eve = await api("", "POST", "/accounts", { handle: "eve", password: "correct horse battery staple" });
  const ec = await api(eve.token, "POST", "/conversations", { kind: "direct", with: "alice" });
  await api(eve.token, "POST", `/conversations/${ec.id}/messages`, { client_id: "e1", text: "Cheap CRYPTO deal, double your money" });
  await alice.getByRole("button", { name: /^Requests/ }).first().click();
  await alice.getByRole("button", { name: /^Filtered \(1\)/ }).click();
  await alice.locator(".conv", { hasText: 'Matches your filter "crypto"' }).waitFor();
  await allNamed(alice, "filtered requests");
  await alice.screenshot({ path: join(shots, "requests-filtered.png") });
  await alice.getByLabel("Select eve").check();
  await alice.getByRole("group", { name: "Selected requests" }).getByRole("button", { name: "Report selected as spam" }).click();
  await alice.getByText("1 done.").waitFor();
  adminCLI("user", "promote", "alice");
  await alice.reload();
  await alice.getByRole("button", { name: "Reports", exact: true }).click();
  const report = alice.getByRole("listitem", { name: "Report about @eve" });
  await report.getByText("Cheap CRYPTO deal", { exact: false }).waitFor();
  await allNamed(alice, "moderation");
  await alice.screenshot({ path: join(shots, "moderation-reports.png") });
  await report.getByRole("button", { name: "Ban @eve" }).click();
  await alice.getByText("Banned: report about @eve.").waitFor();
  assert.equal((await apiClient(base).call(eve.token, "GET", "/me")).status, 401, "the banned account's session still works");
  await alice.getByRole("region", { name: "Moderation" }).getByRole("button", { name: "Close" }).click();

  // A phone-sized screen.
  await alice.setViewportSize({ width: 390, height: 800 });
  await alice.screenshot({ path: join(shots, "phone.png") });

  // The page's own headers: a strict CSP without inline script.
  const res = await fetch(base + "/");
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);

  // A relevance search ranks the 100 newest matches: with more, the
  // results say so and offer every match, newest first.
  await alice.setViewportSize({ width: 1100, height: 720 });
  const launch = (await api(aliceToken, "GET", "/conversations?folder=inbox")).items.find((c) => c.title === "Spring launch");
  for (let i = 0; i <= 100; i++) await api(aliceToken, "POST", `/conversations/${launch.id}/messages`, { text: `marmalade batch ${i}`, client_id: `marm-${i}` });
  await alice.getByLabel("Search messages").fill("marmalade");
  await alice.getByRole("button", { name: "Find" }).click();
  const many = alice.getByRole("region", { name: "Search results" });
  await many.getByText("Best matches among the 100 newest.").waitFor();
  await many.getByRole("button", { name: "Show all, newest first" }).click();
  await many.getByRole("status").getByText("Messages with “marmalade”, newest first").waitFor();
  await many.locator(".result", { hasText: "marmalade batch 100" }).waitFor();
  assert.equal(await many.getByText("Best matches among the 100 newest.").count(), 0, "a newest-first search says it was cut");
  await many.getByRole("button", { name: "More results" }).click();
  await many.locator(".result", { hasText: "marmalade batch 80" }).waitFor();
  assert.equal(await many.locator(".result").count(), 40);
  await many.getByRole("button", { name: "Clear" }).click();
  // A search with fewer matches does not say so.
  await alice.getByLabel("Search messages").fill("jacket");
  await alice.getByRole("button", { name: "Find" }).click();
  await many.locator(".result", { hasText: "blue jacket in stock" }).waitFor();
  assert.equal(await many.getByText("Best matches among the 100 newest.").count(), 0, "a search with few matches says it was cut");

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
