// End-to-end test of the team inbox's Campaigns screen in a real headless
// Chromium against the real parley binary (as inbox.mjs): a business, an
// admin and five customers who wrote in. Through the UI the admin makes a
// topic, a template (previewed for a contact, approved), a segment (live
// count) and a campaign sent now; the customers opt in by keyword or the
// API, one never does and one sends STOP. The progress reaches done with
// 2 sent and 1 skipped, and the API shows that the customers who did not
// consent got nothing. Then the topic's link as a page: a customer opens
// it signed out, signs in, subscribes, and unsubscribes in Settings.
//
//   PARLEY_BIN=/path/to/parley CHROMIUM=/usr/bin/chromium node e2e/campaigns.mjs
//
// Screenshots go to SCREENSHOTS (default ../docs/screenshots).
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { allNamed, apiClient, freePort, spawnParley, until, waitReady } from "./lib.mjs";

const bin = process.env.PARLEY_BIN;
if (!bin) throw new Error("set PARLEY_BIN to the parley binary");
const shots = process.env.SCREENSHOTS ?? new URL("../../docs/screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), "parley-e2e-campaigns-"));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawnParley(bin, port, dataDir);
const password = "correct horse battery staple";

const { api } = apiClient(base);
const register = (handle, display_name, kind = "person") => api("", "POST", "/accounts", { handle, password, display_name, kind });

let browser;
const failures = [];
let page;
const promo = "20% off";
try {
  if (!(await waitReady(base))) throw new Error("parley did not start");

  // Set-up through the API: the business, its admin, five customers who
  // each wrote once (a campaign only goes to people who wrote to you).
  const shop = await register("acme", "Acme Outdoor", "business");
  await register("ann", "Ann Admin");
  await api(shop.token, "PUT", "/business/acme/agents/ann", { role: "admin" });
  const customers = {};
  for (const [h, name] of [["dan", "Dan Keyword"], ["eve", "Eve Api"], ["gus", "Gus Nocity"], ["hal", "Hal Never"], ["fay", "Fay Stop"]]) {
    const u = await register(h, name);
    const conv = await api(u.token, "POST", "/conversations", { kind: "direct", with: "acme" });
    await api(u.token, "POST", `/conversations/${conv.id}/messages`, { client_id: `hi-${h}`, text: "Hello, any news?" });
    const contacts = await api(shop.token, "GET", `/business/acme/contacts?q=${encodeURIComponent(name)}`);
    assert.equal(contacts.items.length, 1, `the contact of ${h}`);
    customers[h] = { token: u.token, conv: conv.id, contact: contacts.items[0].id };
  }
  const say = (h, text) => api(customers[h].token, "POST", `/conversations/${customers[h].conv}/messages`, { client_id: `${h}-${text}`, text });
  await api(shop.token, "PATCH", `/business/acme/contacts/${customers.dan.contact}`, { attributes: { city: "Oslo" } });
  await api(shop.token, "PATCH", `/business/acme/contacts/${customers.eve.contact}`, { attributes: { city: "Bergen" } });
  await api(shop.token, "PATCH", `/business/acme/contacts/${customers.fay.contact}`, { attributes: { city: "Tromsø" } });
  await api(shop.token, "PATCH", `/business/acme/contacts/${customers.hal.contact}`, { attributes: { city: "Bodø" } });

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  page = await ctx.newPage();
  page.on("pageerror", (e) => failures.push(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/.test(m.text())) failures.push(`CSP violation: ${m.text()}`); });
  await page.goto(base + "/");
  await page.getByLabel("Handle").fill("ann");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).last().click();
  await page.getByText("Choose a conversation.").waitFor();
  await page.getByRole("button", { name: "Team inbox: Acme Outdoor" }).click();
  await page.getByRole("button", { name: "Campaigns", exact: true }).click();
  const screen = page.getByRole("region", { name: "Campaigns" });
  await screen.getByText("No topics yet").waitFor();

  // A topic with a keyword.
  await screen.getByLabel("Topic name").fill("Offers");
  await screen.getByLabel("Keyword (optional)").fill("join");
  await screen.getByLabel("Description").fill("Sales and discounts, at most weekly");
  await screen.getByRole("button", { name: "Add topic" }).click();
  await screen.locator(".topic-list li", { hasText: "Offers" }).waitFor();
  const topic = (await api(shop.token, "GET", "/business/acme/topics")).items.find((t) => t.name === "Offers");
  assert.equal(topic.keyword.toLowerCase(), "join");

  // Consent: Dan by keyword; Eve, Gus and Fay through the API; Fay then
  // sends STOP; Hal never opts in.
  await say("dan", "JOIN!");
  for (const h of ["eve", "gus", "fay"]) await api(shop.token, "PUT", `/business/acme/contacts/${customers[h].contact}/consent/${topic.id}`);
  await until(async () => (await api(shop.token, "GET", `/business/acme/contacts/${customers.dan.contact}/consent`)).topics.some((t) => t.topic.id === topic.id && t.opted_in), "the keyword opts Dan in");
  await say("fay", "stop");
  await until(async () => !!(await api(shop.token, "GET", `/business/acme/contacts/${customers.fay.contact}/consent`)).stopped_at, "STOP opts Fay out");

  // A template with variables; Gus has no city, so he will be skipped.
  await screen.locator(".new-template").getByLabel("Template name").fill("Spring sale");
  await screen.locator(".new-template textarea").fill("Hi {{contact.first_name}}, " + promo + " in {{contact.city}} this week!");
  await screen.locator(".new-template select").selectOption({ label: "Offers" });
  await screen.getByRole("button", { name: "Add template" }).click();
  const tpl = screen.locator(".template-list li", { hasText: "Spring sale" });
  await tpl.waitFor();
  assert.match(await tpl.textContent(), /draft/);
  assert.match(await tpl.textContent(), /Variables: contact\.first_name, contact\.city/);
  // Not approved yet: it cannot be chosen for a campaign.
  assert.equal(await screen.locator(".new-campaign select option", { hasText: "Spring sale" }).count(), 0);
  // Preview for Dan, then for Gus (missing the city).
  await screen.locator(".templates > label select").selectOption({ label: "Dan Keyword" });
  await tpl.getByRole("button", { name: "Preview Spring sale" }).click();
  await screen.getByLabel("Preview of Spring sale").getByText(`Hi Dan, ${promo} in Oslo this week!`).waitFor();
  await screen.locator(".templates > label select").selectOption({ label: "Gus Nocity" });
  await tpl.getByRole("button", { name: "Preview Spring sale" }).click();
  await screen.getByLabel("Preview of Spring sale").getByText(/No value for contact\.city/).waitFor();
  await tpl.getByRole("button", { name: "Approve Spring sale" }).click();
  await tpl.getByRole("button", { name: "Back to draft: Spring sale" }).waitFor();

  // The segment's live count: subscribed to Offers is Dan, Eve and Gus
  // (Fay sent STOP, Hal never opted in); a label nobody has makes it 0.
  const count = screen.locator(".segment-count");
  await screen.getByRole("checkbox", { name: "Offers" }).check();
  await until(async () => /subscribed to Offers: 3 contacts$/.test(await count.textContent()), "the live count of the Offers subscribers");
  await screen.getByLabel("Labels (comma separated)").fill("vip");
  await until(async () => /: 0 contacts$/.test(await count.textContent()), "the live count with a label nobody has");
  await screen.getByLabel("Labels (comma separated)").fill("");
  await until(async () => /: 3 contacts$/.test(await count.textContent()), "the live count back at 3");

  // The campaign, sent now; its progress reaches done.
  await screen.getByLabel("Campaign name").fill("Spring sale 2026");
  await screen.locator(".new-campaign select").selectOption({ label: "Spring sale (Offers)" });
  await allNamed(page, "campaigns", ["switch", "tab", "option", "progressbar"]);
  await screen.getByRole("button", { name: "Create campaign" }).click();
  const detail = screen.locator(".campaign-detail");
  await detail.getByRole("heading", { name: "Spring sale 2026" }).waitFor();
  await detail.locator(".status", { hasText: "done" }).waitFor({ timeout: 20000 });
  const bar = detail.getByRole("progressbar", { name: "Campaign progress" });
  assert.equal(await bar.getAttribute("aria-valuenow"), "100");
  assert.equal(await detail.locator(".n-sent").textContent(), "2 sent");
  assert.equal(await detail.locator(".n-skipped").textContent(), "1 skipped (1 missing a variable)");
  assert.equal(await detail.locator(".n-failed").textContent(), "0 failed");
  assert.match(await screen.locator(".campaign-list tbody tr", { hasText: "Spring sale 2026" }).textContent(), /done/);
  await page.locator("main.pane").evaluate((el) => el.scrollTo(0, 0));
  await screen.evaluate((el) => el.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, "campaigns.png"), fullPage: false });

  // The API agrees, and only those who consented got the message.
  const camps = (await api(shop.token, "GET", "/business/acme/campaigns")).items;
  assert.equal(camps.length, 1);
  const c = await api(shop.token, "GET", `/business/acme/campaigns/${camps[0].id}`);
  assert.deepEqual({ status: c.status, total: c.total, sent: c.sent, failed: c.failed, skipped: c.skipped },
    { status: "done", total: 3, sent: 2, failed: 0, skipped: { unresolved_variable: 1 } });
  const got = async (h) => (await api(customers[h].token, "GET", `/conversations/${customers[h].conv}/messages?limit=50`)).items
    .filter((m) => (m.text ?? "").includes(promo)).map((m) => m.text);
  assert.deepEqual(await got("dan"), [`Hi Dan, ${promo} in Oslo this week!`]);
  assert.deepEqual(await got("eve"), [`Hi Eve, ${promo} in Bergen this week!`]);
  assert.deepEqual(await got("gus"), [], "Gus (no city) got the campaign");
  assert.deepEqual(await got("hal"), [], "Hal, who never opted in, got the campaign");
  assert.deepEqual(await got("fay"), [], "Fay, who sent STOP, got the campaign");

  // Results: Dan reads and replies; reopened, the campaign shows it, and
  // its chart draws the series.
  const danMsgs = (await api(customers.dan.token, "GET", `/conversations/${customers.dan.conv}/messages?limit=50`)).items;
  const promoMsg = danMsgs.find((m) => (m.text ?? "").includes(promo));
  await api(customers.dan.token, "POST", `/conversations/${customers.dan.conv}/read`, { seq: promoMsg.seq });
  await api(customers.dan.token, "POST", `/conversations/${customers.dan.conv}/messages`, { client_id: "thanks-1", text: "Thanks, I'll come by" });
  const stats = await api(shop.token, "GET", `/business/acme/campaigns/${camps[0].id}/stats`);
  assert.deepEqual({ sent: stats.totals.sent, read: stats.totals.read, replied: stats.totals.replied, opted_out: stats.totals.opted_out },
    { sent: 2, read: 1, replied: 1, opted_out: 0 });
  await detail.getByRole("button", { name: "Close" }).click();
  await screen.locator(".campaign-list").getByRole("button", { name: "Spring sale 2026" }).click();
  const results = detail.getByRole("region", { name: "Campaign statistics" });
  await until(async () => (await results.locator(".n-replied").count()) > 0 && (await results.locator(".n-replied").textContent()) === "1 replied (50%)",
    "the campaign's results with Dan's reply");
  assert.equal(await results.locator(".n-read").textContent(), "1 read (50%)");
  assert.match(await results.getByRole("img").getAttribute("aria-label"), /2 sent, 1 read, 1 replied, 0 opted out$/);
  assert.ok(await results.locator("rect.bar.sent").count() >= 1, "the chart has bars");

  // A finished campaign offers no pause, resume or cancel.
  assert.equal(await detail.getByRole("button", { name: /^(Pause|Resume|Cancel campaign)$/ }).count(), 0);

  // A second campaign scheduled for next month, then cancelled.
  await screen.getByLabel("Campaign name").fill("Summer sale");
  await screen.locator(".new-campaign select").selectOption({ label: "Spring sale (Offers)" });
  await screen.getByRole("checkbox", { name: "Send now" }).uncheck();
  const later = new Date(Date.now() + 30 * 86400000);
  const local = `${later.getFullYear()}-${String(later.getMonth() + 1).padStart(2, "0")}-${String(later.getDate()).padStart(2, "0")}T10:00`;
  await screen.getByLabel("Start at (leave empty for a draft)").fill(local);
  await screen.getByRole("button", { name: "Create campaign" }).click();
  await detail.getByRole("heading", { name: "Summer sale" }).waitFor();
  await detail.locator(".status", { hasText: "scheduled" }).waitFor();
  await detail.getByRole("button", { name: "Cancel campaign" }).click();
  await detail.locator(".status", { hasText: "cancelled" }).waitFor();
  const summer = (await api(shop.token, "GET", "/business/acme/campaigns")).items.find((x) => x.name === "Summer sale");
  assert.equal(summer.status, "cancelled");
  assert.equal(summer.sent, 0);

  // The topic's link as a page: Hal, who never opted in, opens it signed
  // out, reads what it is for, signs in and subscribes; then he stops it
  // from his own settings. The admin's topic list shows that link.
  assert.equal(topic.link_path, "/subscribe/" + topic.form_token);
  assert.match(await screen.locator(".topic-list li", { hasText: "Offers" }).textContent(), new RegExp(base + topic.link_path));
  const halCtx = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const hal = await halCtx.newPage();
  hal.on("pageerror", (e) => failures.push(`page error (Hal): ${e.message}`));
  hal.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/.test(m.text())) failures.push(`CSP violation: ${m.text()}`); });
  await hal.goto(base + topic.link_path);
  await hal.getByText("Sign in or create an account to get Offers from Acme Outdoor.").waitFor();
  await hal.getByLabel("Handle").fill("hal");
  await hal.getByLabel("Password").fill(password);
  await hal.getByRole("button", { name: "Sign in", exact: true }).last().click();
  const sub = hal.getByRole("main", { name: "Subscribe" });
  await sub.getByRole("heading", { name: "Offers" }).waitFor();
  await sub.getByText("Sales and discounts, at most weekly").waitFor();
  await sub.getByText("Acme Outdoor @acme would like to send you messages about this.").waitFor();
  await sub.getByText("Signed in as @hal.").waitFor();
  await allNamed(hal, "subscribe page", ["button"]);
  await hal.screenshot({ path: join(shots, "subscribe.png"), fullPage: false });
  await sub.getByRole("button", { name: "Subscribe" }).click();
  await sub.getByRole("status").getByText("You will get Offers from Acme Outdoor.").waitFor();
  const halConsent = await api(shop.token, "GET", `/business/acme/contacts/${customers.hal.contact}/consent`);
  assert.deepEqual(halConsent.topics.filter((t) => t.topic.id === topic.id).map((t) => [t.opted_in, t.channel]), [[true, "form"]]);
  await sub.getByRole("button", { name: "Open Parley" }).click();
  await hal.getByText("Choose a conversation.").waitFor();
  assert.equal(new URL(hal.url()).pathname, "/");
  await hal.getByRole("button", { name: "Settings" }).click();
  const settings = hal.getByRole("region", { name: "Settings" });
  const row = settings.locator(".subscriptions li", { hasText: "Offers · Acme Outdoor" });
  await row.waitFor();
  await row.getByRole("button", { name: "Unsubscribe from Offers from Acme Outdoor" }).click();
  await settings.getByText("Unsubscribed from Offers from Acme Outdoor.").waitFor();
  await settings.locator(".subscriptions li", { hasText: "None." }).waitFor();
  await until(async () => !(await api(shop.token, "GET", `/business/acme/contacts/${customers.hal.contact}/consent`)).topics
    .some((t) => t.topic.id === topic.id && t.opted_in), "Hal's unsubscription reaches the business");
  // A link that does not exist says so.
  await hal.goto(base + "/subscribe/nosuchlinktoken2345");
  await hal.getByRole("alert").getByText(/This subscription link does not work any more/).waitFor();
  // A session that is over: the page signs out and keeps the link, and
  // signing in comes back to it.
  await hal.evaluate(() => localStorage.setItem("parley.token", "a-session-that-ended"));
  await hal.goto(base + topic.link_path);
  await hal.getByText("Sign in or create an account to get Offers from Acme Outdoor.").waitFor();
  await hal.getByLabel("Handle").fill("hal");
  await hal.getByLabel("Password").fill(password);
  await hal.getByRole("button", { name: "Sign in", exact: true }).last().click();
  await sub.getByRole("heading", { name: "Offers" }).waitFor();
  await halCtx.close();

  if (failures.length) throw new Error(failures.join("\n"));
  console.log("e2e campaigns: ok (screenshots in " + shots + ")");
} catch (e) {
  console.error("e2e campaigns: FAILED", e);
  try { await page?.screenshot({ path: join(shots, "failure-campaigns.png"), fullPage: true }); console.error("errors:", await page?.locator(".error").allTextContents()); } catch {}
  process.exitCode = 1;
} finally {
  await browser?.close();
  const done = new Promise((r) => server.once("exit", r));
  server.kill("SIGTERM");
  await done;
  rmSync(dataDir, { recursive: true, force: true });
}
