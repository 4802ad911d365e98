import { describe, expect, it } from "vitest";
import type { Rule } from "./api";
import {
  checkDraft, cleanAction, describeRule, fromDraft, iceBreakerList, moveRule, newDraft, parseKeywords, putRule, removeRule, ruleInError, setEnabled,
  testSummary, toDraft,
} from "./rules";

const rule = (name: string, over: Partial<Rule> = {}): Rule => ({ name, when: { event: "message" }, actions: [{ type: "webhook" }], ...over });
const names = { team: (id: string) => (id === "t1" ? "Billing" : "a deleted team"), reply: (id: string) => (id === "r1" ? "/hi" : "(deleted)") };

describe("rule drafts", () => {
  it("turn into the rule the server stores, empty parts left out", () => {
    const d = { ...newDraft(), name: "  Prices ", keywords: "Price, cost ,price,", actions: [{ type: "reply" as const, text: " Prices are on our website ", label: "stale" }] };
    expect(fromDraft(d)).toEqual({ name: "Prices", when: { event: "message", keywords: ["price", "cost"] }, actions: [{ type: "reply", text: "Prices are on our website" }] });
    const full = { ...d, regex: " (?i)refund ", outside_hours: true, stop: true, disabled: true };
    expect(fromDraft(full)).toMatchObject({ when: { regex: "(?i)refund", outside_hours: true }, stop: true, disabled: true });
    const label = { ...newDraft(), name: "VIP", event: "label_added" as const, label: " VIP ", keywords: "ignored?" };
    expect(fromDraft(label).when).toEqual({ event: "label_added", keywords: ["ignored?"], label: "vip" });
  });

  it("round-trip through the editor", () => {
    const r: Rule = { name: "Refunds", disabled: true, stop: true, when: { event: "first_message", keywords: ["refund", "invoice"], regex: "\\d+", outside_hours: true },
      actions: [{ type: "label", label: "billing" }, { type: "assign_team", team: "t1" }, { type: "priority", priority: "urgent" }, { type: "handover", text: "money" }] };
    expect(toDraft(r).keywords).toBe("refund, invoice");
    expect(fromDraft(toDraft(r))).toEqual(r);
  });

  it("keep only the field an action's type uses", () => {
    expect(cleanAction({ type: "label", label: " VIP ", text: "x", team: "t" })).toEqual({ type: "label", label: "vip" });
    expect(cleanAction({ type: "handover", text: "  " })).toEqual({ type: "handover" });
    expect(cleanAction({ type: "priority" })).toEqual({ type: "priority", priority: "high" });
    expect(cleanAction({ type: "webhook", text: "x" })).toEqual({ type: "webhook" });
  });

  it("say what is missing before adding", () => {
    expect(checkDraft(newDraft())).toMatch(/name/);
    expect(checkDraft({ ...newDraft(), name: "x" })).toBe("Action 1: write the reply.");
    expect(checkDraft({ ...newDraft(), name: "x", event: "label_added", actions: [{ type: "webhook" }] })).toMatch(/label/);
    expect(checkDraft({ ...newDraft(), name: "x", actions: [] })).toMatch(/at least one action/);
    expect(checkDraft({ ...newDraft(), name: "x", actions: [{ type: "webhook" }, { type: "saved_reply" }] })).toBe("Action 2: pick a saved reply.");
    expect(checkDraft({ ...newDraft(), name: "x", actions: Array(6).fill({ type: "webhook" }) })).toMatch(/At most 5/);
    expect(checkDraft({ ...newDraft(), name: "x", keywords: Array.from({ length: 21 }, (_, i) => "k" + i).join(",") })).toMatch(/20 keywords/);
    expect(checkDraft({ ...newDraft(), name: "x", actions: [{ type: "assign_team", team: "t1" }] })).toBe("");
    expect(parseKeywords(" , ")).toEqual([]);
  });
});

describe("the rule list", () => {
  const list = [rule("a"), rule("b"), rule("c")];
  it("reorders with up and down, not past either end", () => {
    expect(moveRule(list, 1, -1).map((r) => r.name)).toEqual(["b", "a", "c"]);
    expect(moveRule(list, 1, 1).map((r) => r.name)).toEqual(["a", "c", "b"]);
    expect(moveRule(list, 0, -1)).toBe(list);
    expect(moveRule(list, 2, 1)).toBe(list);
    expect(list.map((r) => r.name)).toEqual(["a", "b", "c"]); // not changed in place
  });

  it("adds, replaces, deletes and turns rules on and off", () => {
    expect(putRule(list, null, rule("d")).map((r) => r.name)).toEqual(["a", "b", "c", "d"]);
    expect(putRule(list, 1, rule("B")).map((r) => r.name)).toEqual(["a", "B", "c"]);
    expect(removeRule(list, 0).map((r) => r.name)).toEqual(["b", "c"]);
    const off = setEnabled(list, 2, false);
    expect(off[2].disabled).toBe(true);
    expect("disabled" in setEnabled(off, 2, true)[2]).toBe(false);
    expect(off[0]).toBe(list[0]);
  });

  it("finds the rule a server error names", () => {
    const rs = [rule("refunds"), rule('say "hi"'), rule("café")];
    expect(ruleInError('rule "refunds": 1 to 5 actions', rs)).toBe(0);
    expect(ruleInError('rule "say \\"hi\\"": a reply needs text with known variables', rs)).toBe(1);
    expect(ruleInError('rule "café": regex does not compile: error parsing regexp', rs)).toBe(2);
    expect(ruleInError("rule 3 needs a name of at most 80 characters", rs)).toBe(2);
    expect(ruleInError("rule 9 needs a name", rs)).toBe(-1);
    expect(ruleInError("at most 4 ice breakers", rs)).toBe(-1);
  });

  it("describes rules and dry runs in words", () => {
    expect(describeRule({ name: "p", stop: true, when: { event: "message", keywords: ["price", "cost"], outside_hours: true },
      actions: [{ type: "reply", text: "Prices are on our website" }, { type: "assign_team", team: "t1" }, { type: "saved_reply", saved_reply: "r1" }] }, names))
      .toBe("Any customer message · keywords price, cost · outside hours → reply “Prices are on our website”, assign to Billing, saved reply /hi; stop");
    expect(describeRule({ name: "v", when: { event: "label_added", label: "vip" }, actions: [{ type: "priority", priority: "high" }, { type: "handover" }] }, names))
      .toBe("Label vip added → priority high, hand over");
    expect(testSummary({ open: true, fired: [] })).toBe("Business hours: open. No rule would fire.");
    expect(testSummary({ open: false, fired: [rule("a"), rule("b")] })).toBe("Business hours: closed. 2 rules would fire: a, b.");
    expect(iceBreakerList([" Where is my order? ", "", "  ", "Hours?", "x", "y"])).toEqual(["Where is my order?", "Hours?", "x", "y"]);
  });
});
