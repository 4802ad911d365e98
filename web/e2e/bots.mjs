// End-to-end test of bots and automation in a real headless Chromium
// against the real parley binary (as run.mjs and inbox.mjs): a business
// makes a bot and its token in Settings; the bot, driven from Node with
// that token, answers a customer with quick replies, buttons and cards;
// the customer taps, asks for a human; the agent's team inbox follows the
// handover and gives the conversation back; a rule made in the inbox
// settings answers "what is the price?".
//
//   PARLEY_BIN=/path/to/parley CHROMIUM=/usr/bin/chromium node e2e/bots.mjs
//
// Screenshots go to SCREENSHOTS (default ../docs/screenshots).
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { allNamed as allNamedWith, apiClient, freePort, spawnParley, until, waitReady } from "./lib.mjs";

const bin = process.env.PARLEY_BIN;
if (!bin) throw new Error("set PARLEY_BIN to the parley binary");
const shots = process.env.SCREENSHOTS ?? new URL("../../docs/screenshots/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), "parley-e2e-bots-"));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawnParley(bin, port, dataDir);
const password = "correct horse battery staple";

const { call, api } = apiClient(base);
const register = (handle, display_name, kind = "person") => api("", "POST", "/accounts", { handle, password, display_name, kind });

const allNamed = (page, screen) => allNamedWith(page, screen, ["switch", "tab", "option", "region", "img"]);

let browser;
const failures = [];
const pages = {};
try {
  if (!(await waitReady(base))) throw new Error("parley did not start");
  const shop = await register("acme", "Acme Outdoor", "business");
  await register("ann", "Ann Agent");
  const caraAuth = await register("cara", "Cara Customer");
  await api(shop.token, "PUT", "/business/acme/agents/ann", {});

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  async function signIn(handle) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    const page = await ctx.newPage();
    pages[handle] = page;
    page.on("pageerror", (e) => failures.push(`${handle}: page error: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/.test(m.text())) failures.push(`${handle}: CSP violation: ${m.text()}`); });
    page.on("dialog", (d) => d.accept());
    await page.goto(base + "/");
    await page.getByLabel("Handle").fill(handle);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).last().click();
    await page.getByText("Choose a conversation.").waitFor();
    return page;
  }

  // The business makes a bot in Settings and a token for it; the secret
  // is shown once, copied, then rotated (the old one dies at once).
  const acme = await signIn("acme");
  await acme.getByRole("button", { name: "Settings" }).click();
  await acme.getByRole("heading", { name: "Bots" }).waitFor();
  await acme.getByLabel("Bot handle").fill("acmebot");
  await acme.getByLabel("Bot name").fill("Acme Assistant");
  await acme.getByRole("button", { name: "Create bot" }).click();
  await acme.getByText("Bot @acmebot created and added to your team inbox").waitFor();
  const panel = acme.getByRole("region", { name: "Bot @acmebot" });
  await panel.getByLabel("Token name").fill("faq");
  for (const scope of ["Read conversations and messages", "Send and edit messages", "Work in business inboxes"]) {
    assert.ok(await panel.getByLabel(scope).isChecked(), `a business's bot token does not default to "${scope}"`);
  }
  await panel.getByRole("button", { name: "Create token" }).click();
  const fresh = panel.getByRole("region", { name: "New token for @acmebot" });
  await fresh.getByText("you will not see it again").waitFor();
  const first = await fresh.getByLabel("Token", { exact: true }).inputValue();
  await fresh.getByRole("button", { name: "Copy" }).click();
  await fresh.getByText("Copied.").waitFor();
  assert.equal(await acme.evaluate(() => navigator.clipboard.readText()), first, "Copy did not copy the bot's token");
  assert.equal((await call(first, "GET", "/me")).body.handle, "acmebot");
  await panel.locator(".bot-tokens li", { hasText: "faq" }).getByRole("button", { name: "Rotate faq" }).click();
  await panel.getByText('Token "faq" rotated.').waitFor();
  await until(async () => (await fresh.getByLabel("Token", { exact: true }).inputValue()) !== first, "the rotated secret shows");
  await fresh.getByRole("button", { name: "Copy" }).click();
  const botToken = await acme.evaluate(() => navigator.clipboard.readText());
  assert.notEqual(botToken, first);
  assert.equal((await call(first, "GET", "/me")).status, 401, "the token rotated away still works");
  assert.equal((await call(botToken, "GET", "/me")).body.handle, "acmebot");
  await allNamed(acme, "settings with a bot");
  await fresh.getByRole("button", { name: "Done" }).click();
  assert.ok(!JSON.stringify(await acme.evaluate(() => ({ ...localStorage }))).includes(botToken), "the bot's secret is in the browser's storage");

  // The bot joined the team; the business sets ice breakers.
  await acme.getByRole("button", { name: "Team inbox: Acme Outdoor" }).click();
  await acme.getByRole("button", { name: "Settings" }).click();
  await acme.locator(".rows li", { hasText: "@acmebot" }).locator(".bot-badge", { hasText: "Bot" }).waitFor();
  await acme.getByLabel("Ice breaker 1").fill("Where is my order?");
  await acme.getByLabel("Ice breaker 2").fill("Do you ship abroad?");
  await acme.getByRole("button", { name: "Save automation" }).click();
  await acme.getByText("Automation saved.").waitFor();
  // (as a customer sees the profile: the business's own view has none)
  assert.deepEqual((await api(caraAuth.token, "GET", "/users/acme")).ice_breakers, ["Where is my order?", "Do you ship abroad?"]);

  // The customer opens a conversation with the business: the ice
  // breakers are offered, and tapping one sends it.
  const cara = await signIn("cara");
  await cara.getByLabel("New message to").fill("acme");
  await cara.getByRole("button", { name: "Start" }).click();
  const ice = cara.getByRole("group", { name: "Suggested questions" });
  await ice.waitFor();
  assert.deepEqual(await ice.getByRole("button").allTextContents(), ["Where is my order?", "Do you ship abroad?"]);
  await ice.getByRole("button", { name: "Where is my order?" }).click();
  await cara.locator(".message.mine", { hasText: "Where is my order?" }).waitFor();
  await ice.waitFor({ state: "detached" });

  // The bot finds the conversation; the bot holds it.
  const bot = (method, path, body) => call(botToken, method, path, body);
  const items = await until(async () => {
    const r = await bot("GET", "/business/acme/conversations?view=all");
    return r.body.items?.length ? r.body.items : null;
  }, "the bot sees the customer's conversation");
  const convID = items[0].conversation_id;
  assert.equal(items[0].control, "bot");
  let head = (await bot("GET", "/sync?since=now")).body.next;
  const botSend = async (body) => {
    for (;;) {
      const r = await bot("POST", `/business/acme/conversations/${convID}/messages`, { client_id: "bot-" + Math.random().toString(36).slice(2), ...body });
      if (r.status !== 429) return r;
      await new Promise((res) => setTimeout(res, 1000 * Number(r.headers.get("Retry-After") || 1)));
    }
  };
  // A javascript: link is refused by the server.
  const evil = await botSend({ text: "x", buttons: [{ type: "url", title: "Click", url: "javascript:alert(1)" }] });
  assert.equal(evil.status, 422, "a javascript: button was accepted");
  const sent = await botSend({
    text: "Hi Cara! I'm the Acme assistant. What can I do for you?",
    quick_replies: [{ title: "Track order", payload: "TRACK" }, { title: "Returns" }],
    buttons: [{ type: "postback", title: "Talk to sales", payload: "SALES" }, { type: "url", title: "Help centre", url: "https://help.acme.example/start" }],
    cards: [
      { title: "Trail tent 2P", subtitle: "2 people · 2.1 kg", buttons: [{ type: "postback", title: "Buy the tent", payload: "BUY_TENT" }] },
      { title: "Down sleeping bag", subtitle: "Comfort −5 °C", buttons: [{ type: "url", title: "Details", url: "https://shop.acme.example/bag" }] },
      { title: "Camp stove", subtitle: "Gas, 1.2 kW" },
    ],
  });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  assert.match(sent.body.text, /Reply with: Track order \/ Returns/, "the stored text has no fallback");

  // The customer sees it drawn: the Automated badge, the body without the
  // fallback, chips, buttons, a link showing its host, the carousel.
  const structured = cara.locator(".message", { hasText: "I'm the Acme assistant" });
  await structured.waitFor({ timeout: 15000 });
  await structured.getByRole("img", { name: /Automated/ }).waitFor();
  assert.equal(await structured.locator(".automated").textContent(), "Automated");
  assert.ok(!(await structured.locator(".text").textContent()).includes("Reply with"), "the fallback text is shown with the parts");
  const chips = cara.getByRole("group", { name: "Quick replies" });
  assert.deepEqual(await chips.getByRole("button").allTextContents(), ["Track order", "Returns"]);
  const link = structured.getByRole("link", { name: /Help centre/ });
  assert.equal(await link.getAttribute("href"), "https://help.acme.example/start");
  assert.equal(await link.getAttribute("target"), "_blank");
  assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
  assert.match(await link.textContent(), /help\.acme\.example/);
  const carousel = structured.getByRole("region", { name: "3 cards" });
  assert.equal(await carousel.getByRole("group", { name: /of 3/ }).count(), 3);
  assert.ok(await carousel.evaluate((el) => getComputedStyle(el).overflowX === "auto"), "the carousel does not scroll sideways");
  // Keyboard: the carousel takes the focus and its buttons are reachable.
  await carousel.focus();
  await cara.keyboard.press("Tab");
  assert.equal(await cara.evaluate(() => document.activeElement?.textContent), "Buy the tent");
  await allNamed(cara, "chat with a structured message");
  assert.equal(await cara.locator('a[href^="javascript"]').count(), 0);

  // The agent opens the conversation in the team inbox: the bot holds it.
  const ann = await signIn("ann");
  await ann.getByRole("button", { name: "Team inbox: Acme Outdoor" }).click();
  await ann.getByRole("button", { name: /^All/ }).click();
  const row = ann.locator(".inbox-items .item", { hasText: "Cara Customer" });
  await row.locator(".bot-badge", { hasText: "Bot" }).waitFor();
  await row.click();
  const handover = ann.getByRole("group", { name: "Handover" });
  await handover.getByText("Control: Bot").waitFor();
  const inboxMsg = ann.locator(".inbox-conv .message", { hasText: "I'm the Acme assistant" });
  await inboxMsg.getByRole("img", { name: /Automated/ }).waitFor();

  // Tapping the postback button: the bot sees the postback event.
  await structured.getByRole("button", { name: "Talk to sales" }).click();
  await structured.getByText("Sent “Talk to sales”").waitFor();
  const postback = await until(async () => {
    const r = await bot("GET", `/sync?since=${head}&timeout=1`);
    head = r.body.next;
    return r.body.events.find((e) => e.type === "postback");
  }, "the bot received the postback");
  assert.equal(postback.data.payload, "SALES");
  assert.equal(postback.data.title, "Talk to sales");
  assert.equal(postback.data.message_id, sent.body.id);
  assert.equal(postback.as, shop.user.id, "the bot's postback is not tagged with its business");
  await ann.locator(".inbox-conv .system.line", { hasText: "Customer tapped “Talk to sales”" }).waitFor();
  await cara.screenshot({ path: join(shots, "bot-structured.png") });

  // A quick reply sends its title with its payload; the chips go.
  await chips.getByRole("button", { name: "Track order" }).click();
  await cara.locator(".message.mine .text", { hasText: /^Track order$/ }).waitFor();
  await chips.waitFor({ state: "detached" });
  const history = (await bot("GET", `/business/acme/conversations/${convID}/messages?limit=5`)).body.items;
  assert.equal(history.find((m) => m.text === "Track order")?.quick_reply, "TRACK");

  // The customer asks for a human: people hold the conversation, the bot
  // is refused (409 human_control).
  await cara.getByLabel("Message", { exact: true }).fill("human");
  await cara.keyboard.press("Enter");
  await cara.locator(".message", { hasText: "a person from our team will answer" }).getByRole("img", { name: /Automated/ }).waitFor({ timeout: 15000 });
  await handover.getByText("Control: Human").waitFor();
  await ann.locator(".inbox-conv .system.line", { hasText: "Handed over to people: the customer asked for a person" }).waitFor();
  await row.locator(".bot-badge").waitFor({ state: "detached" });
  const refused = await botSend({ text: "Still here!" });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, "human_control");
  await ann.screenshot({ path: join(shots, "bot-handover.png") });

  // The agent gives it back; the bot may send again.
  await handover.getByRole("button", { name: "Give back to the bot" }).click();
  await handover.getByText("Control: Bot").waitFor();
  await ann.locator(".inbox-conv .system.line", { hasText: "Given back to the bot" }).waitFor();
  const back = await botSend({ text: "I'm back. Anything else?" });
  assert.equal(back.status, 201, JSON.stringify(back.body));
  await cara.locator(".message", { hasText: "I'm back. Anything else?" }).waitFor({ timeout: 15000 });
  await handover.getByRole("button", { name: "Take over from the bot" }).waitFor();
  await allNamed(ann, "team inbox with a bot");

  // Rules in the inbox settings: a broken one is refused with its name,
  // then a keyword rule, tried in the dry run and saved.
  await acme.getByRole("heading", { name: "Automation rules" }).waitFor();
  const editor = acme.locator("form.rule-editor");
  await editor.getByLabel("Rule name").fill("Broken");
  await editor.getByLabel(/^Pattern/).fill("(unclosed");
  await editor.getByRole("combobox", { name: /^Action 1/ }).selectOption("webhook");
  await editor.getByRole("button", { name: "Add rule" }).click();
  await acme.getByText('Rule "Broken" added: save to apply it.').waitFor();
  await acme.getByRole("button", { name: "Save automation" }).click();
  const refusal = acme.locator(".save-row .error");
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /rule "Broken": regex does not compile/);
  await acme.locator(".rules li.invalid", { hasText: "Broken" }).waitFor();
  await acme.getByRole("button", { name: "Delete Broken" }).click();
  await refusal.waitFor({ state: "detached" });

  await editor.getByLabel("Rule name").fill("Prices");
  await editor.getByLabel(/^Keywords/).fill("price");
  await editor.getByLabel("Reply text (action 1)").fill("Prices are on our website");
  await editor.getByRole("button", { name: "Add rule" }).click();
  await editor.getByLabel("Rule name").fill("Label sales");
  await editor.getByLabel(/^Keywords/).fill("buy, order");
  await editor.getByRole("combobox", { name: /^Action 1/ }).selectOption("label");
  await editor.getByLabel("Label to add (action 1)").fill("sales");
  await editor.getByRole("button", { name: "Add action" }).click();
  await editor.getByRole("combobox", { name: /^Action 2/ }).selectOption("priority");
  await editor.getByLabel("Priority (action 2)").selectOption("high");
  await editor.getByLabel("Stop: skip the later rules").check();
  await editor.getByRole("button", { name: "Add rule" }).click();
  // Reorder by keyboard: the moved rule keeps the focus.
  await acme.getByRole("button", { name: "Move Label sales up" }).focus();
  await acme.keyboard.press("Enter");
  assert.deepEqual(await acme.locator(".rules > li strong").allTextContents(), ["Label sales", "Prices"]);
  assert.equal(await acme.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Move Label sales down");
  await acme.keyboard.press("Enter");
  assert.deepEqual(await acme.locator(".rules > li strong").allTextContents(), ["Prices", "Label sales"]);
  // Turn it off and on; edit it.
  await acme.getByRole("switch", { name: "Rule Label sales on" }).uncheck();
  await acme.locator(".rules > li", { hasText: "Label sales" }).getByText("(off)").waitFor();
  await acme.getByRole("switch", { name: "Rule Label sales on" }).check();
  await acme.getByRole("button", { name: "Edit Label sales" }).click();
  assert.equal(await editor.getByLabel(/^Keywords/).inputValue(), "buy, order");
  await editor.getByLabel(/^Keywords/).fill("buy, order, purchase");
  await editor.getByRole("button", { name: "Update rule" }).click();
  await acme.locator(".rules > li", { hasText: "keywords buy, order, purchase" }).waitFor();

  // The dry run tries the unsaved rules.
  await acme.getByLabel("Customer message", { exact: true }).fill("what is the price?");
  await acme.getByRole("button", { name: "Test rules" }).click();
  await acme.locator(".test-result", { hasText: "1 rule would fire: Prices." }).waitFor();
  await acme.getByRole("button", { name: "Save automation" }).click();
  await acme.getByText("Automation saved.").waitFor();
  await allNamed(acme, "inbox settings with rules");
  await acme.getByRole("heading", { name: "Automation rules" }).evaluate((el) => el.scrollIntoView({ block: "start" }));
  await acme.screenshot({ path: join(shots, "rules-editor.png") });
  const stored = await api(shop.token, "GET", "/business/acme/settings");
  assert.deepEqual(stored.rules.map((r) => r.name), ["Prices", "Label sales"]);
  assert.deepEqual(stored.rules[0], { name: "Prices", when: { event: "message", keywords: ["price"] }, actions: [{ type: "reply", text: "Prices are on our website" }] });
  assert.deepEqual(stored.rules[1].actions, [{ type: "label", label: "sales" }, { type: "priority", priority: "high" }]);
  assert.deepEqual(stored.ice_breakers, ["Where is my order?", "Do you ship abroad?"], "saving the rules lost the ice breakers");

  // The rule answers the customer, marked Automated on both sides.
  await cara.getByLabel("Message", { exact: true }).fill("what is the price?");
  await cara.keyboard.press("Enter");
  const answer = cara.locator(".message:not(.mine)", { hasText: "Prices are on our website" });
  await answer.waitFor({ timeout: 15000 });
  await answer.getByRole("img", { name: /Automated/ }).waitFor();
  await ann.locator(".inbox-conv .message", { hasText: "Prices are on our website" }).getByRole("img", { name: /Automated/ }).waitFor();

  if (failures.length) throw new Error(failures.join("\n"));
  console.log("e2e bots: ok (screenshots in " + shots + ")");
} catch (e) {
  console.error("e2e bots: FAILED", e);
  for (const [n, p] of Object.entries(pages)) {
    try { await p.screenshot({ path: join(shots, `failure-bots-${n}.png`) }); console.error(n, "errors:", await p.locator(".error").allTextContents()); } catch {}
  }
  process.exitCode = 1;
} finally {
  await browser?.close();
  const done = new Promise((r) => server.once("exit", r));
  server.kill("SIGTERM");
  await done;
  rmSync(dataDir, { recursive: true, force: true });
}
