// Inbox settings for admins: the welcome message, ice breakers and the
// automation rules editor (list, add, edit, delete, reorder, turn on and
// off), with a dry run of the unsaved rules. The editor's rules are in
// rules.ts.
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Business, BusinessSettings, Rule, RuleAction, SavedReply, TeamView } from "./api";
import { errText } from "./inbox-state";
import {
  MAX_ACTIONS, MAX_ICE_BREAKERS, MAX_RULES, actionNames, checkDraft, describeRule, eventNames, fromDraft, iceBreakerList, moveRule, newAction,
  newDraft, putRule, removeRule, ruleInError, setEnabled, testSummary, toDraft,
} from "./rules";
import type { ActionType, Names, RuleDraft, RuleEvent } from "./rules";

const pad = (xs: string[] = []) => [...xs, "", "", "", ""].slice(0, MAX_ICE_BREAKERS);

/** Automation edits welcome, ice_breakers and rules and saves them on top
 * of the settings as stored (the form above keeps its own unsaved edits). */
export function Automation({ biz, initial, onSaved }: { biz: Business; initial: BusinessSettings; onSaved(s: BusinessSettings): void }) {
  const [welcome, setWelcome] = useState(initial.welcome ?? "");
  const [ice, setIce] = useState(() => pad(initial.ice_breakers));
  const [rules, setRules] = useState<Rule[]>(initial.rules ?? []);
  const [dirty, setDirty] = useState(false);
  // The rule in the editor: its index, or null for a new one.
  const [editing, setEditing] = useState<number | null>(null);
  const [draft, setDraft] = useState<RuleDraft>(newDraft);
  const [draftNote, setDraftNote] = useState("");
  const [error, setError] = useState<{ text: string; rule: number } | null>(null);
  const [note, setNote] = useState("");
  const [teams, setTeams] = useState<TeamView[]>([]);
  const [replies, setReplies] = useState<SavedReply[]>([]);
  useEffect(() => {
    biz.teams().then((r) => setTeams(r.items)).catch(() => {});
    biz.savedReplies().then((r) => setReplies(r.items)).catch(() => {});
  }, [biz]);
  const names: Names = {
    team: (id) => teams.find((t) => t.id === id)?.name ?? "a deleted team",
    reply: (id) => { const r = replies.find((x) => x.id === id); return r ? "/" + r.shortcut : "(deleted)"; },
  };
  const change = (next: Rule[]) => { setRules(next); setDirty(true); setNote(""); setError((e) => e && { ...e, rule: -1 }); };
  // Reordering keeps the focus on the rule that moved.
  const move = (i: number, by: -1 | 1) => {
    change(moveRule(rules, i, by));
    setTimeout(() => {
      const row = document.querySelectorAll<HTMLElement>(".rules > li")[i + by];
      const btns = row ? [...row.querySelectorAll<HTMLButtonElement>("button[data-move]")] : [];
      (btns.find((b) => b.dataset.move === String(by) && !b.disabled) ?? btns.find((b) => !b.disabled))?.focus();
    });
  };

  const save = async (e?: Event) => {
    e?.preventDefault();
    setError(null);
    setNote("");
    try {
      const cur = await biz.settings();
      const st = await biz.putSettings({ ...cur, welcome: welcome.trim(), ice_breakers: iceBreakerList(ice), rules });
      setRules(st.rules ?? []);
      setIce(pad(st.ice_breakers));
      setDirty(false);
      setDraftNote("");
      onSaved(st);
      setNote("Automation saved.");
    } catch (err) {
      // A 422 names the rule at fault ("rule \"x\": …"): it is marked in the list.
      setError({ text: errText(err, "Not saved"), rule: err instanceof ApiError ? ruleInError(err.message, rules) : -1 });
    }
  };
  const edit = (i: number | null) => {
    setEditing(i);
    setDraft(i === null ? newDraft() : toDraft(rules[i]));
    setDraftNote("");
    document.getElementById("rule-name")?.focus();
  };
  const submitDraft = (e: Event) => {
    e.preventDefault();
    const bad = checkDraft(draft);
    if (bad) return setDraftNote(bad);
    if (editing === null && rules.length >= MAX_RULES) return setDraftNote(`At most ${MAX_RULES} rules.`);
    const r = fromDraft(draft);
    change(putRule(rules, editing, r));
    setDraft(newDraft());
    setEditing(null);
    setDraftNote(`Rule "${r.name}" ${editing === null ? "added" : "changed"}: save to apply it.`);
  };
  const setD = <K extends keyof RuleDraft>(k: K, v: RuleDraft[K]) => setDraft((d) => ({ ...d, [k]: v }));
  const setAction = (i: number, a: RuleAction) => setD("actions", draft.actions.map((x, k) => (k === i ? a : x)));

  return (
    <>
      <h3 id="automation">Automation</h3>
      <form class="automation" onSubmit={save}>
        <label>Welcome message (sent after a customer's first message)
          <textarea name="welcome" rows={2} maxLength={1000} value={welcome} onInput={(e) => { setWelcome(e.currentTarget.value); setDirty(true); }} />
        </label>
        <fieldset>
          <legend>Ice breakers: questions customers can tap before writing</legend>
          {ice.map((q, i) => (
            <label key={i}>Ice breaker {i + 1}
              <input name="ice_breaker" value={q} maxLength={80} onInput={(e) => { const v = e.currentTarget.value; setIce((cur) => cur.map((x, k) => (k === i ? v : x))); setDirty(true); }} />
            </label>
          ))}
        </fieldset>
      </form>
      <h4>Automation rules</h4>
      <p class="muted">Checked in order on every customer message (and when labels are added); each one that matches does its actions.</p>
      <ol class="rows rules">
        {rules.map((r, i) => (
          <li key={i} class={(r.disabled ? "off" : "") + (error?.rule === i ? " invalid" : "")} aria-invalid={error?.rule === i || undefined}>
            <span>
              <strong>{r.name}</strong>{r.disabled ? " (off)" : ""}
              <span class="muted"> {describeRule(r, names)}</span>
              {error?.rule === i && <span class="error"> — {error.text}</span>}
            </span>
            <span class="row-actions">
              <label class="check switch"><input type="checkbox" role="switch" checked={!r.disabled} aria-label={`Rule ${r.name} on`}
                onChange={(e) => change(setEnabled(rules, i, e.currentTarget.checked))} /></label>
              <button aria-label={`Move ${r.name} up`} data-move="-1" disabled={i === 0} onClick={() => move(i, -1)}>↑</button>
              <button aria-label={`Move ${r.name} down`} data-move="1" disabled={i === rules.length - 1} onClick={() => move(i, 1)}>↓</button>
              <button aria-label={`Edit ${r.name}`} onClick={() => edit(i)}>Edit</button>
              <button aria-label={`Delete ${r.name}`} onClick={() => {
                if (!confirm(`Delete the rule "${r.name}"?`)) return;
                change(removeRule(rules, i));
                if (error?.rule === i) setError(null); // the rule at fault is gone
                if (editing === i) edit(null);
              }}>Delete</button>
            </span>
          </li>
        ))}
        {rules.length === 0 && <li>No rules yet.</li>}
      </ol>
      <form class="rule-editor" onSubmit={submitDraft} aria-labelledby="rule-editor-title">
        <h4 id="rule-editor-title">{editing === null ? "New rule" : `Edit rule: ${rules[editing]?.name ?? ""}`}</h4>
        <label>Rule name<input id="rule-name" name="rule_name" value={draft.name} maxLength={80} onInput={(e) => setD("name", e.currentTarget.value)} /></label>
        <fieldset>
          <legend>When</legend>
          <label>Event
            <select name="rule_event" value={draft.event} onChange={(e) => setD("event", e.currentTarget.value as RuleEvent)}>
              {eventNames.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
            </select>
          </label>
          {draft.event === "label_added" && <label>Label to wait for<input name="rule_label" value={draft.label} onInput={(e) => setD("label", e.currentTarget.value)} /></label>}
          {draft.event !== "label_added" && (
            <>
              <label>Keywords (comma separated; any of them, as whole words)<input name="rule_keywords" value={draft.keywords} placeholder="price, cost" onInput={(e) => setD("keywords", e.currentTarget.value)} /></label>
              <label>Pattern (regular expression, RE2)<input name="rule_regex" value={draft.regex} maxLength={200} placeholder="(?i)order\s+#?\d+" spellcheck={false} onInput={(e) => setD("regex", e.currentTarget.value)} /></label>
              <label class="check"><input type="checkbox" name="rule_outside_hours" checked={draft.outside_hours} onChange={(e) => setD("outside_hours", e.currentTarget.checked)} /> Only outside business hours</label>
            </>
          )}
        </fieldset>
        <fieldset>
          <legend>Then</legend>
          {draft.actions.map((a, i) => (
            <div key={i} class="rule-action">
              <label>Action {i + 1}
                <select name="rule_action" value={a.type} onChange={(e) => setAction(i, newAction(e.currentTarget.value as ActionType))}>
                  {actionNames.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
                </select>
              </label>
              <ActionField a={a} n={i + 1} teams={teams} replies={replies} set={(x) => setAction(i, x)} />
              {draft.actions.length > 1 && <button type="button" aria-label={`Remove action ${i + 1}`} onClick={() => setD("actions", draft.actions.filter((_, k) => k !== i))}>Remove</button>}
            </div>
          ))}
          {draft.actions.length < MAX_ACTIONS && <button type="button" onClick={() => setD("actions", [...draft.actions, newAction("label")])}>Add action</button>}
        </fieldset>
        <label class="check"><input type="checkbox" name="rule_stop" checked={draft.stop} onChange={(e) => setD("stop", e.currentTarget.checked)} /> Stop: skip the later rules when this one fires</label>
        <label class="check"><input type="checkbox" name="rule_off" checked={draft.disabled} onChange={(e) => setD("disabled", e.currentTarget.checked)} /> Off for now</label>
        <button type="submit">{editing === null ? "Add rule" : "Update rule"}</button>
        {editing !== null && <button type="button" class="link" onClick={() => edit(null)}>Cancel</button>}
        <p role="status" class="muted">{draftNote}</p>
      </form>
      <div class="save-row">
        <button type="button" class="primary" onClick={() => void save()}>Save automation</button>
        {dirty && <span class="muted">Unsaved changes</span>}
        {error && <p class="error" role="alert">{error.text}</p>}
        {note && <p role="status">{note}</p>}
      </div>
      <RuleTest biz={biz} rules={rules} names={names} />
    </>
  );
}

function ActionField({ a, n, teams, replies, set }: { a: RuleAction; n: number; teams: TeamView[]; replies: SavedReply[]; set(a: RuleAction): void }) {
  switch (a.type) {
    case "reply":
      return <label>Reply text (action {n})<textarea name="rule_reply" rows={2} value={a.text ?? ""} placeholder="Thanks {{contact.first_name}}, …" onInput={(e) => set({ ...a, text: e.currentTarget.value })} /></label>;
    case "saved_reply":
      return (
        <label>Saved reply (action {n})
          <select name="rule_saved_reply" value={a.saved_reply ?? ""} onChange={(e) => set({ ...a, saved_reply: e.currentTarget.value })}>
            <option value="">Choose…</option>
            {replies.map((r) => <option key={r.id} value={r.id}>/{r.shortcut}{r.title ? ` — ${r.title}` : ""}</option>)}
          </select>
        </label>
      );
    case "label":
      return <label>Label to add (action {n})<input name="rule_add_label" value={a.label ?? ""} onInput={(e) => set({ ...a, label: e.currentTarget.value })} /></label>;
    case "assign_team":
      return (
        <label>Team (action {n})
          <select name="rule_team" value={a.team ?? ""} onChange={(e) => set({ ...a, team: e.currentTarget.value })}>
            <option value="">Choose…</option>
            {teams.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
        </label>
      );
    case "priority":
      return (
        <label>Priority (action {n})
          <select name="rule_priority" value={a.priority ?? "high"} onChange={(e) => set({ ...a, priority: e.currentTarget.value })}>
            {["low", "normal", "high", "urgent"].map((x) => <option key={x} value={x}>{x}</option>)}
          </select>
        </label>
      );
    case "handover":
      return <label>Reason (action {n})<input name="rule_reason" value={a.text ?? ""} maxLength={500} placeholder="refund request" onInput={(e) => set({ ...a, text: e.currentTarget.value })} /></label>;
    default:
      return <p class="muted">Sends a rule.triggered event to the business's webhooks.</p>;
  }
}

/** RuleTest is the dry run: which of the rules as edited (saved or not)
 * would fire for a message at a time; nothing is sent. */
function RuleTest({ biz, rules, names }: { biz: Business; rules: Rule[]; names: Names }) {
  const [text, setText] = useState("");
  const [at, setAt] = useState("");
  const [result, setResult] = useState<{ summary: string; fired: Rule[] } | null>(null);
  const [error, setError] = useState("");
  const run = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const r = await biz.testRules(at ? { text, at: new Date(at).toISOString(), rules } : { text, rules });
      setResult({ summary: testSummary(r), fired: r.fired });
    } catch (err) {
      setResult(null);
      setError(errText(err, "Cannot test the rules"));
    }
  };
  return (
    <section class="rule-test" aria-labelledby="rule-test-title">
      <h4 id="rule-test-title">Test rules</h4>
      <p class="muted">Tries the rules above, saved or not, on a message; nothing is sent.</p>
      <form class="inline-form" onSubmit={run}>
        <label>Customer message<input name="test_text" value={text} onInput={(e) => setText(e.currentTarget.value)} required /></label>
        <label>At (optional)<input type="datetime-local" name="test_at" value={at} onInput={(e) => setAt(e.currentTarget.value)} /></label>
        <button type="submit">Test rules</button>
      </form>
      <div role="status" class="test-result">
        {result && <p>{result.summary}</p>}
        {result && result.fired.length > 0 && <ol>{result.fired.map((r, i) => <li key={i}><strong>{r.name}</strong> <span class="muted">{describeRule(r, names)}</span></li>)}</ol>}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
