// Request triage, content filters and the moderators' reports page.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { Client, Filter, ModReport, Triage } from "./api";
import { bulkSummary, filterKindLabel, scorePercent, signalLines, whyFiltered } from "./moderation";

const problem = (err: unknown, fallback: string) => (err instanceof ApiError ? err.message : fallback);

/** BulkBar acts on the selected requests: accept, decline, delete or
 * report as spam, and says what happened to each. */
export function BulkBar({ client, selected, onDone }: { client: Client; selected: Set<string>; onDone(): void }) {
  const [note, setNote] = useState("");
  const act = async (action: "accept" | "decline" | "delete" | "spam") => {
    try {
      const r = await client.bulkRequests(action, [...selected]);
      setNote(bulkSummary(r.results));
    } catch (err) {
      setNote(problem(err, "Not done"));
    }
    onDone();
  };
  const n = selected.size;
  return (
    <div class="bulk" role="group" aria-label="Selected requests">
      <span>{n} selected</span>
      <button disabled={n === 0} onClick={() => act("accept")}>Accept selected</button>
      <button disabled={n === 0} onClick={() => act("decline")}>Decline selected</button>
      <button disabled={n === 0} onClick={() => act("delete")}>Delete selected</button>
      <button disabled={n === 0} onClick={() => act("spam")}>Report selected as spam</button>
      <p role="status">{note}</p>
    </div>
  );
}

/** TriageNote shows a request's score and, folded, why. */
export function TriageNote({ triage }: { triage?: Triage }) {
  if (!triage) return null;
  const lines = signalLines(triage);
  return (
    <details class="triage">
      <summary>{triage.filtered ? whyFiltered(triage) : "Why this order"} · {scorePercent(triage)}</summary>
      <ul>{lines.map((l) => <li key={l}>{l}</li>)}</ul>
    </details>
  );
}

/** FilterList manages the account's own filters (server false) or the
 * server's (an admin's page). */
export function FilterList({ client, server }: { client: Client; server: boolean }) {
  const [items, setItems] = useState<Filter[]>([]);
  const [kind, setKind] = useState("word");
  const [pattern, setPattern] = useState("");
  const [action, setAction] = useState("refuse");
  const [note, setNote] = useState("");
  const reload = async () => { try { setItems((await client.filters(server)).items); } catch (err) { setNote(problem(err, "Cannot load filters")); } };
  useEffect(() => { void reload(); }, []);
  const add = async (e: Event) => {
    e.preventDefault();
    setNote("");
    try {
      await client.addFilter(server, server ? { kind, pattern, action } : { kind, pattern });
      setPattern("");
      await reload();
    } catch (err) {
      setNote(problem(err, "Not added"));
    }
  };
  const kinds = server ? ["word", "regex", "domain_deny", "domain_allow"] : ["word", "regex", "domain_deny"];
  return (
    <>
      <h3>{server ? "Server filters" : "Request filters"}</h3>
      <p class="muted">{server ? "Every message is checked: refuse stops the send, flag lets it through and files a report."
        : "Requests containing these go to Filtered instead of Requests."}</p>
      <ul class="rows">
        {items.map((f) => (
          <li key={f.id}>
            <span>{filterKindLabel[f.kind] ?? f.kind}: <code>{f.pattern}</code>{server ? ` (${f.action})` : ""}</span>
            <button aria-label={`Remove filter ${f.pattern}`} onClick={async () => { await client.deleteFilter(server, f.id); await reload(); }}>Remove</button>
          </li>
        ))}
        {items.length === 0 && <li>None.</li>}
      </ul>
      <form class="filter-form" onSubmit={add}>
        <label>Kind
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            {kinds.map((k) => <option key={k} value={k}>{filterKindLabel[k]}</option>)}
          </select>
        </label>
        <label>Pattern<input name="pattern" value={pattern} maxLength={200} required onInput={(e) => setPattern(e.currentTarget.value)} /></label>
        {server && (
          <label>Action
            <select value={action} onChange={(e) => setAction(e.currentTarget.value)}>
              <option value="refuse">Refuse the message</option>
              <option value="flag">Let it through and report it</option>
            </select>
          </label>
        )}
        <button type="submit">Add filter</button>
        {note && <p class="error" role="alert">{note}</p>}
      </form>
    </>
  );
}

/** Moderation is the server admins' page: open reports with the reported
 * message in context, and the server's filters. */
export function Moderation({ client, onClose }: { client: Client; onClose(): void }) {
  const [reports, setReports] = useState<ModReport[]>([]);
  const [note, setNote] = useState("");
  const heading = useRef<HTMLHeadingElement>(null);
  const reload = async () => { try { setReports((await client.reports("open")).items); } catch (err) { setNote(problem(err, "Cannot load reports")); } };
  useEffect(() => { void reload(); heading.current?.focus(); }, []);
  return (
    <section class="settings moderation" aria-label="Moderation" onKeyDown={(e) => { if (e.key === "Escape" && !e.defaultPrevented) { e.preventDefault(); onClose(); } }}>
      <header><h2 tabIndex={-1} ref={heading}>Reports</h2><button class="link" onClick={onClose}>Close</button></header>
      {note && <p role="status">{note}</p>}
      {reports.length === 0 && <p>No open reports.</p>}
      <ul class="reports-queue">
        {reports.map((r) => <ReportItem key={r.id} client={client} r={r} onResolved={(msg) => { setNote(msg); void reload(); }} />)}
      </ul>
      <FilterList client={client} server={true} />
    </section>
  );
}

function ReportItem({ client, r, onResolved }: { client: Client; r: ModReport; onResolved(note: string): void }) {
  const [hide, setHide] = useState(false);
  const [err, setErr] = useState("");
  const who = `@${r.target.handle}`;
  const resolve = async (action: "dismiss" | "suspend" | "ban") => {
    if (action === "ban" && !confirm(`Ban ${who} for good?`)) return;
    try {
      await client.resolveReport(r.id, action, action === "ban" && hide);
      onResolved(`${action === "dismiss" ? "Dismissed" : action === "suspend" ? "Suspended" : "Banned"}: report about ${who}.`);
    } catch (e) {
      setErr(problem(e, "Not resolved"));
    }
  };
  return (
    <li class="report" aria-label={`Report about ${who}`}>
      <p><strong>{r.reason}</strong> about {who}{r.target.suspended ? " (suspended)" : ""} · {r.reporter ? `by @${r.reporter.handle}` : "by a server filter"} · {new Date(r.created_at).toLocaleString()}</p>
      {r.detail && <p class="muted">{r.detail}</p>}
      {r.context && r.context.length > 0 && (
        <ol class="context" aria-label="The reported message in context">
          {r.context.map((m) => (
            <li key={m.id} class={m.reported ? "reported" : ""}>
              <span class="who">@{m.sender.handle}</span> {m.deleted ? <em>unsent</em> : m.text}{m.reported && <span class="visually-hidden"> (reported)</span>}
            </li>
          ))}
        </ol>
      )}
      <div class="actions">
        <button onClick={() => resolve("dismiss")}>Dismiss</button>
        <button onClick={() => resolve("suspend")}>Suspend {who}</button>
        <label class="check"><input type="checkbox" checked={hide} onChange={(e) => setHide(e.currentTarget.checked)} /> Hide their messages</label>
        <button class="danger" onClick={() => resolve("ban")}>Ban {who}</button>
      </div>
      {err && <p class="error" role="alert">{err}</p>}
    </li>
  );
}
