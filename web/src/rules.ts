// The automation rules editor's pure state: a rule as the form edits it
// (keywords as one comma-separated line), turning it back into the rule
// the server stores, checks before saving, reordering, plain-words
// summaries, and finding the rule a server error names. Free of the DOM
// so that unit tests cover it.
import type { Rule, RuleAction, RuleTestResult } from "./api";

export type RuleEvent = Rule["when"]["event"];
export type ActionType = RuleAction["type"];

/** RuleDraft is a rule in the editor. */
export interface RuleDraft {
  name: string; disabled: boolean; event: RuleEvent; label: string; keywords: string; regex: string;
  outside_hours: boolean; actions: RuleAction[]; stop: boolean;
}

export const eventNames: [RuleEvent, string][] = [
  ["message", "Any customer message"], ["first_message", "The first message of a conversation"], ["label_added", "A label is added"],
];
export const actionNames: [ActionType, string][] = [
  ["reply", "Reply with text"], ["saved_reply", "Reply with a saved reply"], ["label", "Add a label"], ["assign_team", "Assign to a team"],
  ["priority", "Set the priority"], ["handover", "Hand over to people"], ["webhook", "Notify the webhooks"],
];

/** Limits the server enforces, checked here first. */
export const MAX_RULES = 50, MAX_ACTIONS = 5, MAX_ICE_BREAKERS = 4;

export const newDraft = (): RuleDraft => ({
  name: "", disabled: false, event: "message", label: "", keywords: "", regex: "", outside_hours: false, actions: [{ type: "reply", text: "" }], stop: false,
});

/** newAction is an action of a type with its field empty. */
export function newAction(type: ActionType): RuleAction {
  return type === "priority" ? { type, priority: "high" } : { type };
}

export function toDraft(r: Rule): RuleDraft {
  return {
    name: r.name, disabled: !!r.disabled, event: r.when.event, label: r.when.label ?? "", keywords: (r.when.keywords ?? []).join(", "),
    regex: r.when.regex ?? "", outside_hours: !!r.when.outside_hours, actions: r.actions.map((a) => ({ ...a })), stop: !!r.stop,
  };
}

/** parseKeywords reads "Price, cost ,price" as ["price", "cost"]. */
export function parseKeywords(s: string): string[] {
  return [...new Set(s.split(",").map((k) => k.trim().toLowerCase()).filter(Boolean))];
}

/** cleanAction keeps only the field the action's type uses, trimmed. */
export function cleanAction(a: RuleAction): RuleAction {
  const t = (s?: string) => (s ?? "").trim();
  switch (a.type) {
    case "reply": return { type: a.type, text: t(a.text) };
    case "saved_reply": return { type: a.type, saved_reply: t(a.saved_reply) };
    case "label": return { type: a.type, label: t(a.label).toLowerCase() };
    case "assign_team": return { type: a.type, team: t(a.team) };
    case "priority": return { type: a.type, priority: a.priority || "high" };
    case "handover": return t(a.text) ? { type: a.type, text: t(a.text) } : { type: a.type };
    default: return { type: a.type };
  }
}

/** fromDraft is the rule the server stores: empty conditions and flags left out. */
export function fromDraft(d: RuleDraft): Rule {
  const when: Rule["when"] = { event: d.event };
  const keywords = parseKeywords(d.keywords);
  if (keywords.length) when.keywords = keywords;
  if (d.regex.trim()) when.regex = d.regex.trim();
  if (d.outside_hours) when.outside_hours = true;
  if (d.event === "label_added") when.label = d.label.trim().toLowerCase();
  const r: Rule = { name: d.name.trim(), when, actions: d.actions.map(cleanAction) };
  if (d.disabled) r.disabled = true;
  if (d.stop) r.stop = true;
  return r;
}

/** checkDraft says what keeps a rule from being added ("" when nothing). */
export function checkDraft(d: RuleDraft): string {
  const name = d.name.trim();
  if (!name) return "Give the rule a name.";
  if (name.length > 80) return "A rule's name has at most 80 characters.";
  if (d.event === "label_added" && !d.label.trim()) return "Say which label the rule waits for.";
  const kw = parseKeywords(d.keywords);
  if (kw.length > 20) return "At most 20 keywords.";
  if (kw.some((k) => k.length > 40)) return "A keyword has at most 40 characters.";
  if (d.regex.trim().length > 200) return "The pattern has at most 200 characters.";
  if (d.actions.length === 0) return "Add at least one action.";
  if (d.actions.length > MAX_ACTIONS) return `At most ${MAX_ACTIONS} actions.`;
  for (const [i, a] of d.actions.map(cleanAction).entries()) {
    const n = `Action ${i + 1}`;
    if (a.type === "reply" && !a.text) return `${n}: write the reply.`;
    if (a.type === "saved_reply" && !a.saved_reply) return `${n}: pick a saved reply.`;
    if (a.type === "label" && !a.label) return `${n}: name the label to add.`;
    if (a.type === "assign_team" && !a.team) return `${n}: pick a team.`;
  }
  return "";
}

/** moveRule moves rule i one place up (-1) or down (+1); the order is the
 * order rules are evaluated in. Out of range, the list stays as it is. */
export function moveRule(rules: Rule[], i: number, by: -1 | 1): Rule[] {
  const j = i + by;
  if (i < 0 || i >= rules.length || j < 0 || j >= rules.length) return rules;
  const out = [...rules];
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

/** putRule replaces rule i, or appends when i is null. */
export function putRule(rules: Rule[], i: number | null, r: Rule): Rule[] {
  return i === null || i < 0 || i >= rules.length ? [...rules, r] : rules.map((x, k) => (k === i ? r : x));
}

export function removeRule(rules: Rule[], i: number): Rule[] {
  return rules.filter((_, k) => k !== i);
}

/** setEnabled turns rule i on or off (off rules are kept but never fire). */
export function setEnabled(rules: Rule[], i: number, on: boolean): Rule[] {
  return rules.map((r, k) => {
    if (k !== i) return r;
    const out = { ...r };
    if (on) delete out.disabled;
    else out.disabled = true;
    return out;
  });
}

/** Names resolve ids in summaries: teams and saved replies. */
export interface Names { team(id: string): string; reply(id: string): string }

const clip = (s: string, n = 40) => (s.length > n ? s.slice(0, n - 1) + "…" : s);

/** describeAction says an action in words: Reply "Prices are …". */
export function describeAction(a: RuleAction, names: Names): string {
  switch (a.type) {
    case "reply": return `reply “${clip(a.text ?? "")}”`;
    case "saved_reply": return `saved reply ${names.reply(a.saved_reply ?? "")}`;
    case "label": return `label ${a.label}`;
    case "assign_team": return `assign to ${names.team(a.team ?? "")}`;
    case "priority": return `priority ${a.priority}`;
    case "handover": return a.text ? `hand over (${clip(a.text, 30)})` : "hand over";
    default: return "notify webhooks";
  }
}

/** describeRule says when a rule fires and what it does, e.g.
 * "Any customer message · keywords price, cost → reply “…”; stop". */
export function describeRule(r: Rule, names: Names): string {
  const when = [eventNames.find(([e]) => e === r.when.event)?.[1] ?? r.when.event];
  if (r.when.event === "label_added" && r.when.label) when[0] = `Label ${r.when.label} added`;
  if (r.when.keywords?.length) when.push(`keywords ${r.when.keywords.join(", ")}`);
  if (r.when.regex) when.push(`matches /${r.when.regex}/`);
  if (r.when.outside_hours) when.push("outside hours");
  return `${when.join(" · ")} → ${r.actions.map((a) => describeAction(a, names)).join(", ")}${r.stop ? "; stop" : ""}`;
}

/** ruleInError finds the rule a validation error names: `rule "refunds":
 * …` (by name) or `rule 3 needs a name` (by position); -1 for none. */
export function ruleInError(message: string, rules: Rule[]): number {
  const named = /rule "((?:[^"\\]|\\.)*)"/.exec(message);
  if (named) {
    let name = named[1];
    try { name = JSON.parse(`"${named[1]}"`); } catch { /* shown as written */ }
    return rules.findIndex((r) => r.name.trim() === name);
  }
  const nth = /rule (\d+)\b/.exec(message);
  if (nth) {
    const i = Number(nth[1]) - 1;
    return i >= 0 && i < rules.length ? i : -1;
  }
  return -1;
}

/** testSummary says what a dry run found. */
export function testSummary(r: RuleTestResult): string {
  const hours = r.open ? "Business hours: open." : "Business hours: closed.";
  if (r.fired.length === 0) return `${hours} No rule would fire.`;
  return `${hours} ${r.fired.length === 1 ? "1 rule" : r.fired.length + " rules"} would fire: ${r.fired.map((x) => x.name).join(", ")}.`;
}

/** iceBreakerList trims the ice breaker fields and drops empty ones. */
export function iceBreakerList(fields: string[]): string[] {
  return fields.map((q) => q.trim()).filter(Boolean).slice(0, MAX_ICE_BREAKERS);
}
