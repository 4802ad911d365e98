// End-to-end test of the team inbox in a real headless Chromium against
// the real parley binary (as run.mjs): a business, an agent and a
// customer; the agent picks the conversation from Unassigned, writes a
// private note, answers with a saved reply, resolves; the customer rates
// with a quick reply; the agent sees the rating in Reports. The business
// connects a Messenger channel (then pauses and resumes it); a signed webhook brings a person's
// message in, shown with the Messenger badge.
//
//   PARLEY_BIN=/path/to/parley CHROMIUM=/usr/bin/chromium node e2e/inbox.mjs
//
// Screenshots go to SCREENSHOTS (default ../docs/screenshots).
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { allNamed as allNamedWith, apiClient, freePort, spawnParley, until, waitReady } from "./lib.mjs";

const bin = process.env.PARLEY_BIN;
if (!bin) throw new Error("set PARLEY_BIN to the parley binary");
const shots = process.env.SCREENSHOTS ?? new URL("../../docs/screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), "parley-e2e-inbox-"));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawnParley(bin, port, dataDir);
const password = "correct horse battery staple";

const { api } = apiClient(base);
const register = (handle, display_name, kind = "person") => api("", "POST", "/accounts", { handle, password, display_name, kind });

const allNamed = (page, screen) => allNamedWith(page, screen, ["switch", "tab", "option"]);

let browser;
const failures = [];
const pages = {};
const note = "@ben please check the warehouse, order 4411 is stuck";
try {
  if (!(await waitReady(base))) throw new Error("parley did not start");

  // Set-up through the API: the business, its team, a saved reply, CSAT.
  const shop = await register("acme", "Acme Outdoor", "business");
  await register("ann", "Ann Agent");
  const ben = await register("ben", "Ben Builder");
  await register("cara", "Cara Customer");
  await api(shop.token, "PUT", "/business/acme/agents/ann", {});
  await api(shop.token, "PUT", "/business/acme/agents/ben", {});
  await api(shop.token, "POST", "/business/acme/saved-replies", { shortcut: "hi", title: "Greeting", body: "Hello {{contact.first_name}}, {{agent.first_name}} here" });
  await api(shop.token, "POST", "/business/acme/saved-replies", { shortcut: "order", title: "Order status", body: "Your order {{conversation.order_id}} ships today" });
  const settings = await api(shop.token, "GET", "/business/acme/settings");
  await api(shop.token, "PUT", "/business/acme/settings", { ...settings, csat: true, show_agent_names: true });

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  async function signIn(handle) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const page = await ctx.newPage();
    pages[handle] = page;
    page.on("pageerror", (e) => failures.push(`${handle}: page error: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/.test(m.text())) failures.push(`${handle}: CSP violation: ${m.text()}`); });
    await page.goto(base + "/");
    await page.getByLabel("Handle").fill(handle);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).last().click();
    await page.getByText("Choose a conversation.").waitFor();
    return page;
  }
  const ann = await signIn("ann");
  const cara = await signIn("cara");

  // The customer writes to the business from the ordinary chat view.
  await cara.getByLabel("New message to").fill("acme");
  await cara.getByRole("button", { name: "Start" }).click();
  await cara.getByLabel("Message", { exact: true }).fill("Hi! My tent has not arrived yet.");
  await cara.keyboard.press("Enter");
  await cara.locator(".message.mine", { hasText: "My tent has not arrived" }).waitFor();
  // Customers never get the mode switch.
  assert.equal(await cara.getByRole("navigation", { name: "Mode" }).count(), 0, "a customer sees the team inbox switch");

  // The agent switches to the team inbox; the conversation is unassigned.
  await ann.getByRole("button", { name: "Team inbox: Acme Outdoor" }).click();
  await ann.getByRole("button", { name: /^Unassigned/ }).click();
  const row = ann.locator(".inbox-items .item", { hasText: "Cara Customer" });
  await row.waitFor();
  assert.match(await row.textContent(), /open/);
  assert.match(await row.textContent(), /Unassigned/);
  await ann.getByRole("button", { name: /^Unassigned/ }).locator(".count", { hasText: "1" }).waitFor();
  await row.click();
  await ann.locator(".inbox-conv .message", { hasText: "My tent has not arrived" }).waitFor();
  await allNamed(ann, "team inbox");
  // Opening a conversation puts the focus in the reply box.
  assert.equal(await ann.evaluate(() => document.activeElement?.id), "inbox-composer");
  const convID = await row.getAttribute("data-conversation");

  // Collision warning: another agent opens and types in it.
  await api(ben.token, "POST", `/business/acme/conversations/${convID}/presence`, { state: "viewing" });
  await ann.locator(".collision", { hasText: "Ben Builder is viewing" }).waitFor();
  await api(ben.token, "POST", `/business/acme/conversations/${convID}/presence`, { state: "typing" });
  await ann.locator(".collision", { hasText: "Ben Builder is typing" }).waitFor();
  await ann.screenshot({ path: join(shots, "inbox.png") });
  await api(ben.token, "POST", `/business/acme/conversations/${convID}/presence`, { state: "left" });
  await ann.locator(".collision").waitFor({ state: "detached" });

  // The customer typing shows in the inbox.
  await cara.getByLabel("Message", { exact: true }).pressSequentially("still there?", { delay: 20 });
  await ann.getByText("Cara Customer is typing…").waitFor({ timeout: 10000 });
  await cara.getByLabel("Message", { exact: true }).fill("");

  // Assign to me: the view counts follow.
  await ann.getByRole("button", { name: "Assign to me" }).click();
  await ann.getByLabel("Assignee").locator("option:checked", { hasText: "Ann Agent" }).waitFor({ state: "attached" });
  await ann.getByRole("button", { name: /^Mine/ }).locator(".count", { hasText: "1" }).waitFor();

  // A private note with a mention, by keyboard.
  await ann.getByRole("button", { name: "Private note" }).click();
  await ann.getByLabel("Private note", { exact: true }).fill(note);
  await ann.keyboard.press("Enter");
  const noteItem = ann.locator(".inbox-conv .note", { hasText: "order 4411 is stuck" });
  await noteItem.waitFor();
  assert.match(await noteItem.locator(".note-label").textContent(), /^Private note · Ann Agent/);
  assert.equal(await noteItem.locator(".mention").textContent(), "@ben");
  await ann.getByRole("button", { name: "Private note" }).click(); // back to replies

  // A saved reply whose variable has no value is shown, not sent.
  const composer = ann.getByLabel("Reply", { exact: true });
  await composer.pressSequentially("/order", { delay: 30 });
  await ann.getByRole("option", { name: /\/order/ }).waitFor();
  await composer.press("Enter");
  const preview = ann.getByRole("region", { name: "Saved reply preview" });
  await preview.getByText("{{conversation.order_id}} has no value in this conversation").waitFor();
  assert.ok(await preview.getByRole("button", { name: "Send saved reply" }).isDisabled(), "a reply with a missing variable can be sent");
  await composer.press("Escape");

  // "/hi" sends the rendered greeting.
  await composer.pressSequentially("/hi", { delay: 30 });
  await ann.getByRole("option", { name: /\/hi/ }).waitFor();
  await composer.press("Enter");
  await preview.getByText("Hello Cara, Ann here").waitFor();
  await ann.screenshot({ path: join(shots, "inbox-note.png") });
  await composer.press("Enter");
  await preview.waitFor({ state: "detached" });
  await ann.locator(".inbox-conv .message.mine", { hasText: "Hello Cara, Ann here" }).waitFor();

  // The customer gets the greeting with the agent's first name, never the note.
  await cara.locator(".message", { hasText: "Hello Cara, Ann here" }).locator(".sender", { hasText: "Acme Outdoor · Ann" }).waitFor({ timeout: 15000 });
  assert.ok(!(await cara.content()).includes("order 4411"), "the customer's page shows the private note");

  // Resolve: the customer is asked for a rating and taps 4.
  await ann.getByRole("button", { name: "Resolve" }).click();
  await ann.locator(".inbox-conv header .status", { hasText: "resolved" }).waitFor();
  const rating = cara.getByRole("group", { name: "Quick replies" });
  await rating.waitFor({ timeout: 15000 });
  assert.deepEqual(await rating.getByRole("button").allTextContents(), ["1", "2", "3", "4", "5"]);
  await cara.screenshot({ path: join(shots, "inbox-customer.png") });
  await rating.getByRole("button", { name: "4" }).click();
  await cara.locator(".message.mine .text", { hasText: /^4$/ }).waitFor();
  await rating.waitFor({ state: "detached" }); // the choices answer the latest message only
  assert.ok(!(await cara.content()).includes("order 4411"), "the customer's page shows the private note");
  // Nothing the customer's devices may sync mentions the note either.
  const caraToken = (await api("", "POST", "/sessions", { handle: "cara", password })).token;
  const caraSync = await api(caraToken, "GET", "/sync?since=1");
  assert.ok(!JSON.stringify(caraSync).includes("order 4411"), "the note reached the customer's sync");

  // Reports: CSAT 4.00, the histogram, the CSV.
  await ann.getByRole("button", { name: "Reports" }).click();
  await ann.locator(".csat-avg", { hasText: "CSAT 4.00 from 1 rating" }).waitFor();
  await ann.getByRole("table", { name: "SLA breaches and satisfaction" }).getByRole("row", { name: /Agent: Ann Agent/ }).getByRole("cell", { name: "4.00" }).waitFor();
  assert.match(await ann.locator(".histogram svg").getAttribute("aria-label"), /4: 1/);
  const [download] = await Promise.all([ann.waitForEvent("download"), ann.getByRole("button", { name: "Download CSV" }).click()]);
  const csv = readFileSync(await download.path(), "utf8");
  assert.match(csv, /^scope,name,opened,resolved/);
  assert.match(csv, /agent,ann,.*,1,4\.00/);
  await ann.screenshot({ path: join(shots, "inbox-reports.png") });

  // Settings (the business account is an admin of its own inbox).
  const shopPage = await signIn("acme");
  await shopPage.getByRole("button", { name: "Team inbox: Acme Outdoor" }).click();
  await shopPage.getByRole("button", { name: "Settings" }).click();
  await shopPage.getByText("Ben Builder @ben").waitFor();
  shopPage.on("dialog", (d) => d.accept());

  // Saved views: the admin adds two and removes one; the team sees them
  // after the built-in views, with their filters.
  const addView = async (name, fill) => {
    await shopPage.getByLabel("View name").fill(name);
    await fill();
    await shopPage.getByRole("button", { name: "Add view" }).click();
    await shopPage.getByText(`View "${name}" added.`).waitFor();
  };
  await addView("Closed cases", () => shopPage.locator('select[name="view_status"]').selectOption("resolved"));
  await addView("Wholesale", () => shopPage.locator('input[name="view_label"]').fill("Wholesale"));
  await addView("Unassigned open", async () => {
    await shopPage.getByLabel("Shows").selectOption("unassigned");
    await shopPage.locator('select[name="view_status"]').selectOption("open");
  });
  await shopPage.getByRole("button", { name: "Remove view Unassigned open" }).click();
  await shopPage.getByText('View "Unassigned open" removed.').waitFor();
  await allNamed(shopPage, "inbox settings");
  const stored = await api(shop.token, "GET", "/business/acme/settings");
  assert.deepEqual(stored.views, [{ name: "Closed cases", status: "resolved" }, { name: "Wholesale", label: "wholesale" }]);
  await shopPage.getByLabel("Only the assignee may reply").check();
  await shopPage.getByLabel("urgent first response minutes").fill("15");
  await shopPage.getByRole("button", { name: "Save settings" }).click();
  await shopPage.getByText("Settings saved.").waitFor();
  const saved = await api(shop.token, "GET", "/business/acme/settings");
  assert.equal(saved.only_assignee_replies, true);
  assert.equal(saved.sla.urgent.first_response_minutes, 15);
  assert.equal(saved.csat, true, "saving the form lost a setting");
  assert.equal(saved.views?.length, 2, "saving the rules lost the saved views");

  // Records: every conversation of the business in one signed export,
  // followed to its link; the server's verify accepts the ZIP.
  await shopPage.getByRole("button", { name: "Export all conversations" }).click();
  const zipLink = shopPage.getByRole("link", { name: "Download (ZIP)" });
  await zipLink.waitFor({ timeout: 30000 });
  const zip = await (await fetch(base + (await zipLink.getAttribute("href")))).arrayBuffer();
  const verified = await (await fetch(base + "/api/v1/exports/verify", { method: "POST",
    headers: { Authorization: "Bearer " + shop.token, "Content-Type": "application/zip" }, body: zip })).json();
  assert.equal(verified.ok, true, "the business's export does not verify: " + JSON.stringify(verified.problems));
  assert.equal(verified.scope, "business");
  let bizConvs = 0;
  for (const st of ["open", "pending", "snoozed", "resolved"]) bizConvs += (await api(shop.token, "GET", `/business/acme/conversations?status=${st}&limit=50`)).items.length;
  assert.ok(bizConvs >= 1 && verified.conversations.length === bizConvs,
    `the export holds ${verified.conversations.length} conversations, the inbox ${bizConvs}`);

  // The agent sees the saved views (on her next load) and they filter.
  await ann.reload();
  await ann.getByRole("button", { name: "Team inbox: Acme Outdoor" }).click();
  const views = ann.getByRole("navigation", { name: "Views" });
  await views.getByRole("button", { name: "Wholesale", exact: true }).waitFor();
  assert.deepEqual((await views.getByRole("button").allTextContents()).map((t) => t.replace(/\d+$/, "")),
    ["Mine", "Unassigned", "All", "Overdue", "Closed cases", "Wholesale"]);
  await views.getByRole("button", { name: "Closed cases", exact: true }).click();
  await ann.locator(".inbox-items .item", { hasText: "Cara Customer" }).waitFor();
  assert.equal(await views.getByRole("button", { name: "Closed cases", exact: true }).getAttribute("aria-current"), "true");
  assert.equal(await ann.getByLabel("Status").inputValue(), "resolved");
  await views.getByRole("button", { name: "Wholesale", exact: true }).click();
  await ann.getByText("No conversations here.").waitFor();
  await views.getByRole("button", { name: /^Mine/ }).click();
  assert.equal(await ann.getByLabel("Status").inputValue(), "", "a saved view's filter outlived it");

  // A phone-sized screen: the list gives way to the open conversation.
  await ann.setViewportSize({ width: 390, height: 800 });
  await ann.getByRole("button", { name: /^All/ }).click();
  await ann.locator(".inbox-items .item", { hasText: "Cara Customer" }).click();
  await ann.getByRole("button", { name: "Back" }).click();
  await ann.locator(".inbox-items .item", { hasText: "Cara Customer" }).waitFor();

  // Channels: the business connects a Messenger Page in its settings; a
  // person writes on Messenger (a webhook POST signed by the test as Meta
  // signs it) and the conversation carries the Messenger badge.
  await shopPage.getByRole("button", { name: "Channels", exact: true }).click();
  const chs = shopPage.getByRole("region", { name: "Channels" });
  await chs.getByLabel("Platform").selectOption("messenger");
  await chs.getByLabel("Name", { exact: true }).fill("Acme Page");
  await chs.getByLabel("Facebook Page id", { exact: true }).fill("104857600000001");
  await chs.getByLabel("Access token", { exact: true }).fill("EAAB-e2e-page-token");
  await chs.getByLabel("App secret", { exact: true }).fill("e2e-app-secret-123");
  await chs.getByLabel("Verify token", { exact: true }).fill("e2e-verify-token");
  await chs.getByRole("button", { name: "Connect", exact: true }).click();
  await chs.getByText("Connected.", { exact: true }).waitFor();
  const chRow = chs.getByRole("list", { name: "Connected channels" }).locator("li[data-channel]");
  await chRow.getByText("…oken", { exact: false }).first().waitFor();
  const chID = await chRow.getAttribute("data-channel");
  const hook = `${base}/hooks/meta/${chID}`;
  assert.equal(await (await fetch(`${hook}?hub.mode=subscribe&hub.verify_token=e2e-verify-token&hub.challenge=c42`)).text(), "c42");
  const now = Date.now();
  const hookBody = JSON.stringify({ object: "page", entry: [{ id: "104857600000001", time: now, messaging: [
    { sender: { id: "7000000000000009" }, recipient: { id: "104857600000001" }, timestamp: now, message: { mid: "m_e2e_1", text: "Hi from Messenger" } }] }] });
  const signature = "sha256=" + createHmac("sha256", "e2e-app-secret-123").update(hookBody).digest("hex");
  assert.equal((await fetch(hook, { method: "POST", headers: { "Content-Type": "application/json" }, body: hookBody })).status, 401, "an unsigned webhook was taken");
  const hooked = await fetch(hook, { method: "POST", headers: { "Content-Type": "application/json", "X-Hub-Signature-256": signature }, body: hookBody });
  assert.equal(hooked.status, 200, "the signed webhook was refused");
  await shopPage.getByRole("button", { name: /^All/ }).click();
  const chItem = shopPage.locator(".inbox-items .item", { hasText: "Hi from Messenger" });
  await chItem.locator(".channel-badge", { hasText: "Messenger" }).waitFor();
  await chItem.click();
  await shopPage.locator(".inbox-conv header .channel-badge", { hasText: "Messenger" }).waitFor();
  const modesNote = shopPage.getByRole("note", { name: "Sending on Messenger" });
  await modesNote.getByText(/Reply until/).waitFor();
  await shopPage.screenshot({ path: join(shots, "inbox-channel.png") });
  // Rotating the access token: the list shows its new last 4.
  await shopPage.getByRole("button", { name: "Channels", exact: true }).click();
  await chs.getByRole("button", { name: "Update credentials" }).click();
  await chs.getByLabel("New access token", { exact: true }).fill("EAAB-rotated-9999");
  await chs.getByRole("button", { name: "Save credentials" }).click();
  await chs.getByText("Credentials updated.", { exact: true }).waitFor();
  await chRow.getByText("…9999", { exact: false }).first().waitFor();
  // Health: the unsigned call was the last error, the signed one came
  // after it, so the channel is OK and shows both.
  await chRow.locator(".channel-status", { hasText: "OK" }).waitFor();
  assert.equal(await chRow.getAttribute("data-status"), "ok");
  await chRow.locator(".channel-error", { hasText: "no X-Hub-Signature-256 signature" }).waitFor();
  assert.ok(!(await chRow.locator(".channel-times").textContent()).includes("Last in: never"), "no last inbound time shown");

  // Pause: the pill says Paused; a signed webhook is still taken and
  // lands in the inbox; the composer says the channel is paused and a
  // reply is refused with the reason. Resume: OK again.
  await chRow.getByRole("button", { name: "Pause Acme Page" }).click();
  await chs.getByText("Paused: nothing is sent until you resume it.", { exact: true }).waitFor();
  await chRow.locator(".channel-status", { hasText: "Paused" }).waitFor();
  assert.equal(await chRow.getAttribute("data-status"), "disabled");
  const pausedBody = JSON.stringify({ object: "page", entry: [{ id: "104857600000001", time: now + 1000, messaging: [
    { sender: { id: "7000000000000009" }, recipient: { id: "104857600000001" }, timestamp: now + 1000, message: { mid: "m_e2e_2", text: "Still there while paused?" } }] }] });
  const pausedHook = await fetch(hook, { method: "POST", headers: { "Content-Type": "application/json",
    "X-Hub-Signature-256": "sha256=" + createHmac("sha256", "e2e-app-secret-123").update(pausedBody).digest("hex") }, body: pausedBody });
  assert.equal(pausedHook.status, 200, "a paused channel refused its webhook");
  await shopPage.getByRole("button", { name: /^All/ }).click();
  await shopPage.locator(".inbox-items .item", { hasText: "Still there while paused?" }).click();
  await shopPage.locator(".inbox-conv .message", { hasText: "Still there while paused?" }).waitFor();
  await modesNote.getByText(/paused — nothing is sent/).waitFor();
  const shopComposer = shopPage.getByLabel("Reply", { exact: true });
  await shopComposer.fill("A reply while paused");
  await shopComposer.press("Enter");
  await shopPage.getByRole("alert").filter({ hasText: "channel is paused" }).waitFor();
  await shopPage.screenshot({ path: join(shots, "inbox-channel-paused.png") });
  assert.equal(await shopPage.locator(".inbox-conv .message.mine", { hasText: "A reply while paused" }).count(), 0, "a reply went into a paused channel");
  await shopPage.getByRole("button", { name: "Channels", exact: true }).click();
  await chRow.getByRole("button", { name: "Resume Acme Page" }).click();
  await chs.getByText("Resumed.", { exact: true }).waitFor();
  await chRow.locator(".channel-status", { hasText: "OK" }).waitFor();
  assert.equal(await chRow.getAttribute("data-status"), "ok");

  // Within the window the team asks the person to opt in to a topic's
  // updates ("Ask for updates…"): the request shows as a card.
  await api(shop.token, "POST", "/business/acme/topics", { name: "Weekly deals" });
  await shopPage.getByRole("button", { name: /^All/ }).click();
  await shopPage.locator(".inbox-items .item", { hasText: "Still there while paused?" }).click();
  await shopPage.getByRole("button", { name: "Ask for updates…" }).click();
  const ask = shopPage.getByRole("form", { name: "Ask for updates" });
  await ask.getByLabel("Title").fill("Get our weekly deals");
  await ask.getByLabel("Frequency").selectOption("WEEKLY");
  await ask.getByRole("button", { name: "Send request" }).click();
  await shopPage.locator(".inbox-conv .optin-card", { hasText: "Asked to get Weekly deals updates weekly" }).waitFor();
  await shopPage.screenshot({ path: join(shots, "inbox-optin-request.png") });

  if (failures.length) throw new Error(failures.join("\n"));
  console.log("e2e inbox: ok (screenshots in " + shots + ")");
} catch (e) {
  console.error("e2e inbox: FAILED", e);
  for (const [n, p] of Object.entries(pages)) {
    try { await p.screenshot({ path: join(shots, `failure-inbox-${n}.png`) }); console.error(n, "errors:", await p.locator(".error").allTextContents()); } catch {}
  }
  process.exitCode = 1;
} finally {
  await browser?.close();
  const done = new Promise((r) => server.once("exit", r));
  server.kill("SIGTERM");
  await done;
  rmSync(dataDir, { recursive: true, force: true });
}
