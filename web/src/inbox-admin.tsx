// The team inbox's reports (a volume chart, response times, SLA, CSAT,
// a CSV download) and, for admins, its settings: team members, saved
// replies, saved views, hours, away message, SLAs, CSAT and assignment
// rules, and automation (inbox-rules.tsx). A chunk of its own, loaded when
// reports or settings are first opened.
import { useEffect, useState } from "preact/hooks";
import type { AgentView, Business, BusinessSettings, Report, ReportQuery, ReportRow, SavedReply, SavedView, TeamView, VolumeBucket } from "./api";
import { cleanView, describeView, duration, errText, parseIntervals, volumeBars, weekdays } from "./inbox-state";
import { Automation } from "./inbox-rules";
import { ExportButton } from "./exports";

export { Campaigns } from "./inbox-campaigns";
export { Channels } from "./inbox-channels";

const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const dateInput = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
const localDay = (s: string, plusDays = 0) => {
  const [y, m, d] = s.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays);
};

export function Reports({ biz }: { biz: Business }) {
  const [from, setFrom] = useState(() => dateInput(new Date(Date.now() - 6 * 86400000)));
  const [to, setTo] = useState(() => dateInput(new Date()));
  const [bucket, setBucket] = useState("day");
  const [rep, setRep] = useState<Report | null>(null);
  const [error, setError] = useState("");
  // Whole local days, sent as instants: a date alone would mean UTC.
  const query = (): ReportQuery => {
    const end = localDay(to, 1);
    return { from: localDay(from).toISOString(), to: (end.getTime() > Date.now() ? new Date() : end).toISOString(), bucket, tz: localZone() };
  };
  const load = async () => {
    setError("");
    try {
      setRep(await biz.report(query()));
    } catch (err) {
      setError(errText(err, "Cannot load the report"));
    }
  };
  useEffect(() => { void load(); }, [biz]);
  const csv = async () => {
    try {
      const blob = await biz.reportCSV(query());
      const url = URL.createObjectURL(new Blob([blob], { type: "text/csv" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = `${biz.handle}-report-${from}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      setError(errText(err, "The download failed"));
    }
  };
  const rows: [string, ReportRow][] = rep ? [["All conversations", rep.totals],
    ...rep.agents.map((r): [string, ReportRow] => ["Agent: " + (r.agent?.display_name || r.agent?.handle || "former member"), r]),
    ...rep.teams.map((r): [string, ReportRow] => ["Team: " + (r.team_name || "deleted team"), r])] : [];
  return (
    <section class="settings reports" aria-label="Reports">
      <header><h2>Reports</h2></header>
      <form class="report-form" onSubmit={(e) => { e.preventDefault(); void load(); }}>
        <label>From<input type="date" value={from} max={to} onInput={(e) => setFrom(e.currentTarget.value)} required /></label>
        <label>To<input type="date" value={to} min={from} onInput={(e) => setTo(e.currentTarget.value)} required /></label>
        <label>By
          <select value={bucket} onChange={(e) => setBucket(e.currentTarget.value)}>
            <option value="day">day</option>
            <option value="hour">hour</option>
          </select>
        </label>
        <button type="submit">Show</button>
        <button type="button" onClick={csv}>Download CSV</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {rep && (
        <>
          <p class="stats">
            <span>{rep.totals.opened} opened</span> <span>{rep.totals.resolved} resolved</span>{" "}
            <span>{rep.overdue_now} overdue now</span>{" "}
            <span class="csat-avg">CSAT {rep.totals.csat_count ? rep.totals.csat_average.toFixed(2) : "–"}{rep.totals.csat_count ? ` from ${rep.totals.csat_count} rating${rep.totals.csat_count > 1 ? "s" : ""}` : ""}</span>
          </p>
          <VolumeChart volume={rep.volume} hourly={rep.bucket === "hour"} />
          <div class="table-wrap">
            <table class="report">
              <caption>Response times ({rep.time_zone})</caption>
              <thead>
                <tr>
                  <th scope="col">Who</th><th scope="col">Opened</th><th scope="col">Resolved</th>
                  <th scope="col">First response p50</th><th scope="col">p90</th><th scope="col">Resolution p50</th><th scope="col">p90</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(([name, r], i) => (
                  <tr key={i}>
                    <th scope="row">{name}</th><td>{r.opened}</td><td>{r.resolved}</td>
                    <td>{duration(r.first_response_p50_ms)}</td><td>{duration(r.first_response_p90_ms)}</td>
                    <td>{duration(r.resolution_p50_ms)}</td><td>{duration(r.resolution_p90_ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="table-wrap">
            <table class="report">
              <caption>SLA breaches and satisfaction</caption>
              <thead>
                <tr>
                  <th scope="col">Who</th><th scope="col">First response breaches</th><th scope="col">Resolution breaches</th>
                  <th scope="col">CSAT average</th><th scope="col">Ratings</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(([name, r], i) => (
                  <tr key={i}>
                    <th scope="row">{name}</th><td>{r.first_response_breaches}</td><td>{r.resolution_breaches}</td>
                    <td>{r.csat_count ? r.csat_average.toFixed(2) : "–"}</td><td>{r.csat_count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Histogram counts={rep.csat_histogram} />
        </>
      )}
    </section>
  );
}

function VolumeChart({ volume, hourly }: { volume: VolumeBucket[]; hourly: boolean }) {
  const W = 600, H = 150;
  const label = (iso: string) => hourly
    ? new Date(iso).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit" })
    : new Date(iso).toLocaleDateString([], { month: "short", day: "numeric" });
  const bars = volumeBars(volume, W, H, label);
  const opened = volume.reduce((n, b) => n + b.opened, 0), resolved = volume.reduce((n, b) => n + b.resolved, 0);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H + 18}`} role="img" aria-label={`Conversations ${hourly ? "per hour" : "per day"}: ${opened} opened, ${resolved} resolved`}>
        {bars.map((b, i) => (
          <rect key={i} class={"bar " + b.series} x={b.x} y={b.value ? Math.min(b.y, H - 1) : H} width={b.w} height={b.value ? Math.max(b.h, 1) : 0}>
            <title>{`${b.label}: ${b.value} ${b.series}`}</title>
          </rect>
        ))}
        <line class="axis" x1={0} y1={H} x2={W} y2={H} />
        {volume.length > 0 && <text class="tick" x={0} y={H + 14}>{label(volume[0].start)}</text>}
        {volume.length > 1 && <text class="tick" x={W} y={H + 14} text-anchor="end">{label(volume[volume.length - 1].start)}</text>}
      </svg>
      <figcaption><span class="key opened">Opened</span> <span class="key resolved">Resolved</span></figcaption>
    </figure>
  );
}

function Histogram({ counts }: { counts: number[] }) {
  const max = Math.max(1, ...counts);
  return (
    <figure class="chart histogram">
      <figcaption>CSAT ratings</figcaption>
      <svg viewBox="0 0 300 110" role="img" aria-label={"CSAT ratings: " + counts.map((n, i) => `${i + 1}: ${n}`).join(", ")}>
        {counts.map((n, i) => (
          <g key={i}>
            <text class="tick" x={0} y={i * 22 + 15}>{i + 1}★</text>
            <rect class="bar resolved" x={30} y={i * 22 + 4} width={(n / max) * 230} height={14} />
            <text class="tick" x={36 + (n / max) * 230} y={i * 22 + 15}>{n}</text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

export function InboxSettings({ biz, onViews }: { biz: Business; onViews(v: SavedView[]): void }) {
  const [s, setS] = useState<BusinessSettings | null>(null);
  const [hoursOn, setHoursOn] = useState(false);
  const [tz, setTz] = useState(localZone);
  const [days, setDays] = useState<Record<string, string>>({});
  const [note, setNote] = useState("");
  useEffect(() => {
    biz.settings().then((v) => {
      setS(v);
      setHoursOn(!!v.hours);
      if (v.hours) setTz(v.hours.time_zone);
      setDays(Object.fromEntries(weekdays.map((d) => [d, (v.hours?.days[d] ?? (v.hours ? [] : d === "sat" || d === "sun" ? [] : ["09:00-17:00"])).join(", ")])));
    }).catch((err) => setNote(errText(err, "Cannot load the settings")));
  }, [biz]);
  if (!s) return <section class="settings" aria-label="Inbox settings"><p>{note || "Loading…"}</p></section>;
  const set = <K extends keyof BusinessSettings>(k: K, v: BusinessSettings[K]) => setS({ ...s, [k]: v });
  const sla = (p: string, k: "first_response_minutes" | "resolution_minutes", v: number) => {
    const cur = { first_response_minutes: 0, resolution_minutes: 0, ...s.sla?.[p], [k]: Math.max(0, v || 0) };
    set("sla", { ...s.sla, [p]: cur });
  };
  const save = async (e: Event) => {
    e.preventDefault();
    const slaOut = Object.fromEntries(Object.entries(s.sla ?? {}).filter(([, t]) => t.first_response_minutes > 0 || t.resolution_minutes > 0));
    const out: BusinessSettings = {
      ...s, sla: slaOut,
      hours: hoursOn ? { time_zone: tz.trim(), days: Object.fromEntries(weekdays.map((d) => [d, parseIntervals(days[d] ?? "")]).filter(([, v]) => v.length > 0)), holidays: s.hours?.holidays } : undefined,
    };
    try {
      const st = await biz.putSettings(out);
      setS(st);
      onViews(st.views ?? []);
      setNote("Settings saved.");
    } catch (err) {
      setNote(errText(err, "Not saved"));
    }
  };
  return (
    <section class="settings" aria-label="Inbox settings">
      <header><h2>Inbox settings</h2></header>
      <TeamMembers biz={biz} />
      <SavedReplies biz={biz} />
      <SavedViews biz={biz} views={s.views ?? []} onChange={(views) => { setS((cur) => cur && { ...cur, views }); onViews(views); }} />
      <h3>Rules</h3>
      <form onSubmit={save}>
        <label>Automatic assignment
          <select value={s.auto_assign} onChange={(e) => set("auto_assign", e.currentTarget.value as BusinessSettings["auto_assign"])}>
            <option value="">By hand</option>
            <option value="round_robin">Round robin</option>
            <option value="least_load">Least load</option>
          </select>
        </label>
        <label class="check"><input type="checkbox" checked={s.only_assignee_replies} onChange={(e) => set("only_assignee_replies", e.currentTarget.checked)} /> Only the assignee may reply (admins always may)</label>
        <label class="check"><input type="checkbox" checked={!!s.require_two_factor} onChange={(e) => set("require_two_factor", e.currentTarget.checked)} /> Team members must use two-factor authentication</label>
        <label class="check"><input type="checkbox" checked={s.show_agent_names} onChange={(e) => set("show_agent_names", e.currentTarget.checked)} /> Show customers the first name of the agent who replies</label>
        <label class="check"><input type="checkbox" name="show_phone_numbers" checked={!!s.show_phone_numbers} onChange={(e) => set("show_phone_numbers", e.currentTarget.checked)} /> Show the team customers' phone numbers (for call-backs; masked otherwise)</label>
        <label class="check"><input type="checkbox" name="show_sensitive" checked={!!s.show_sensitive} onChange={(e) => set("show_sensitive", e.currentTarget.checked)} /> Show the team customers' card numbers, IBANs, ID numbers, secrets and passwords (masked otherwise)</label>
        <label class="check"><input type="checkbox" checked={s.csat} onChange={(e) => set("csat", e.currentTarget.checked)} /> Ask for a rating (CSAT) when a conversation is resolved</label>
        {s.csat && <label>Rating question<input value={s.csat_question ?? ""} placeholder="How would you rate our help? …" onInput={(e) => set("csat_question", e.currentTarget.value)} /></label>}
        <fieldset>
          <legend>Business hours</legend>
          <label class="check"><input type="checkbox" checked={hoursOn} onChange={(e) => setHoursOn(e.currentTarget.checked)} /> Use business hours (otherwise always open)</label>
          {hoursOn && (
            <>
              <label>Time zone<input value={tz} placeholder="Europe/Berlin" onInput={(e) => setTz(e.currentTarget.value)} required /></label>
              <div class="days">
                {weekdays.map((d) => (
                  <label key={d}>{d}<input value={days[d] ?? ""} placeholder="closed" onInput={(e) => setDays({ ...days, [d]: e.currentTarget.value })} /></label>
                ))}
              </div>
              <p class="muted">Intervals like 09:00-12:00, 13:00-17:30; empty is closed.</p>
            </>
          )}
          <label>Away message (sent outside business hours)<textarea rows={2} value={s.away_message ?? ""} onInput={(e) => set("away_message", e.currentTarget.value)} /></label>
        </fieldset>
        <fieldset>
          <legend>SLA targets in minutes (0: none)</legend>
          <div class="table-wrap">
            <table class="sla">
              <thead><tr><th scope="col">Priority</th><th scope="col">First response</th><th scope="col">Resolution</th></tr></thead>
              <tbody>
                {(["urgent", "high", "normal", "low"] as const).map((p) => (
                  <tr key={p}>
                    <th scope="row">{p}</th>
                    <td><input type="number" min={0} aria-label={`${p} first response minutes`} value={s.sla?.[p]?.first_response_minutes ?? 0} onInput={(e) => sla(p, "first_response_minutes", e.currentTarget.valueAsNumber)} /></td>
                    <td><input type="number" min={0} aria-label={`${p} resolution minutes`} value={s.sla?.[p]?.resolution_minutes ?? 0} onInput={(e) => sla(p, "resolution_minutes", e.currentTarget.valueAsNumber)} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </fieldset>
        <button type="submit" class="primary">Save settings</button>
        {note && <p role="status">{note}</p>}
      </form>
      <Automation biz={biz} initial={s} onSaved={(st) => setS((cur) => cur && { ...cur, welcome: st.welcome, ice_breakers: st.ice_breakers, rules: st.rules })} />
      <h3>Records</h3>
      <p class="muted">A ZIP of every conversation of the business as the team sees it: JSON, a readable transcript with media, and a signed record anyone can check with <code>parley verify</code>. Admins only.</p>
      <ExportButton client={biz.client} label="Export all conversations" request={{ scope: "business", business: biz.handle }} />
    </section>
  );
}

function TeamMembers({ biz }: { biz: Business }) {
  const [agents, setAgents] = useState<AgentView[]>([]);
  const [handle, setHandle] = useState("");
  const [role, setRole] = useState("agent");
  const [note, setNote] = useState("");
  const reload = () => biz.agents().then((r) => setAgents(r.items)).catch((err) => setNote(errText(err, "Cannot load the team")));
  useEffect(() => { void reload(); }, [biz]);
  const run = async (f: () => Promise<unknown>, done: string) => {
    try {
      await f();
      setNote(done);
      await reload();
      return true;
    } catch (err) {
      setNote(errText(err, "Not changed"));
      return false;
    }
  };
  return (
    <>
      <h3>Team members</h3>
      <ul class="rows">
        {agents.map((a) => (
          <li key={a.user.id}>
            <span>{a.user.display_name || a.user.handle} @{a.user.handle}{a.role === "bot" ? <> <span class="bot-badge">Bot</span></> : a.away ? " (away)" : ""}{a.role === "bot" ? "" : ` · ${a.open} open`}</span>
            <span class="row-actions">
              {a.role !== "bot" && <select aria-label={`Role of ${a.user.handle}`} value={a.role} onChange={(e) => void run(() => biz.putAgent(a.user.handle, { role: e.currentTarget.value }), "Role changed.")}>
                <option value="agent">agent</option>
                <option value="admin">admin</option>
              </select>}
              <button aria-label={`Remove @${a.user.handle}`} onClick={() => { if (confirm(`Remove @${a.user.handle} from the team?`)) void run(() => biz.removeAgent(a.user.handle), "Removed."); }}>Remove</button>
            </span>
          </li>
        ))}
        {agents.length === 0 && <li>Nobody yet.</li>}
      </ul>
      <form class="inline-form" onSubmit={async (e) => {
        e.preventDefault();
        if (await run(() => biz.putAgent(handle.trim().replace(/^@/, ""), { role }), "Added.")) setHandle("");
      }}>
        <label>Add by handle<input name="agent_handle" value={handle} onInput={(e) => setHandle(e.currentTarget.value)} required /></label>
        <label>Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="agent">agent</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit">Add member</button>
      </form>
      {note && <p role="status">{note}</p>}
    </>
  );
}

function SavedReplies({ biz }: { biz: Business }) {
  const [list, setList] = useState<SavedReply[]>([]);
  const [editing, setEditing] = useState<string | null>(null);
  const [shortcut, setShortcut] = useState("");
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [note, setNote] = useState("");
  const reload = () => biz.savedReplies().then((r) => setList(r.items)).catch(() => {});
  useEffect(() => { void reload(); }, [biz]);
  const edit = (r: SavedReply | null) => {
    setEditing(r?.id ?? null);
    setShortcut(r?.shortcut ?? "");
    setTitle(r?.title ?? "");
    setBody(r?.body ?? "");
  };
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      await biz.saveReply(editing, { shortcut, title, body });
      setNote(editing ? "Saved reply changed." : "Saved reply created.");
      edit(null);
      await reload();
    } catch (err) {
      setNote(errText(err, "Not saved"));
    }
  };
  return (
    <>
      <h3>Saved replies</h3>
      <ul class="rows">
        {list.map((r) => (
          <li key={r.id}>
            <span><strong>/{r.shortcut}</strong> {r.title} <span class="muted">{r.body.slice(0, 60)}</span></span>
            <span class="row-actions">
              <button aria-label={`Edit /${r.shortcut}`} onClick={() => edit(r)}>Edit</button>
              <button aria-label={`Delete /${r.shortcut}`} onClick={async () => {
                if (!confirm(`Delete /${r.shortcut}?`)) return;
                try { await biz.deleteReply(r.id); await reload(); } catch (err) { setNote(errText(err, "Not deleted")); }
              }}>Delete</button>
            </span>
          </li>
        ))}
        {list.length === 0 && <li>None yet.</li>}
      </ul>
      <form onSubmit={save}>
        <div class="inline-form">
          <label>Shortcut<input name="reply_shortcut" value={shortcut} placeholder="hi" onInput={(e) => setShortcut(e.currentTarget.value)} required /></label>
          <label>Title<input name="reply_title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} /></label>
        </div>
        <label>Reply text<textarea name="reply_body" rows={3} value={body} placeholder="Hello {{contact.first_name}}, {{agent.first_name}} here" onInput={(e) => setBody(e.currentTarget.value)} required /></label>
        <p class="muted">Variables: {"{{contact.first_name}} {{contact.name}} {{contact.<attribute>}} {{conversation.<attribute>}} {{agent.first_name}} {{agent.name}} {{business.name}}"}</p>
        <button type="submit">{editing ? "Save reply" : "Create reply"}</button>
        {editing && <button type="button" class="link" onClick={() => edit(null)}>Cancel</button>}
        {note && <p role="status">{note}</p>}
      </form>
    </>
  );
}

const viewChoices = [["all", "All"], ["mine", "Mine (whoever looks)"], ["unassigned", "Unassigned"], ["overdue", "Overdue"], ["team", "A team's"]] as const;
const emptyView = (): SavedView => ({ name: "", view: "all", status: "", team: "", label: "", assignee: "" });

/** SavedViews adds and removes the named filters the whole team sees in
 * its view list. A change is saved at once, on top of the settings as
 * stored (the rules form below keeps its own unsaved edits). */
function SavedViews({ biz, views, onChange }: { biz: Business; views: SavedView[]; onChange(v: SavedView[]): void }) {
  const [form, setForm] = useState<SavedView>(emptyView);
  const [teams, setTeams] = useState<TeamView[]>([]);
  const [agents, setAgents] = useState<AgentView[]>([]);
  const [note, setNote] = useState("");
  useEffect(() => {
    biz.teams().then((r) => setTeams(r.items)).catch(() => {});
    biz.agents().then((r) => setAgents(r.items)).catch(() => {});
  }, [biz]);
  const teamName = (id: string) => teams.find((t) => t.id === id)?.name ?? "a deleted team";
  const persist = async (next: SavedView[], done: string) => {
    try {
      const cur = await biz.settings();
      const st = await biz.putSettings({ ...cur, views: next });
      onChange(st.views ?? []);
      setNote(done);
      return true;
    } catch (err) {
      setNote(errText(err, "Not saved"));
      return false;
    }
  };
  const add = async (e: Event) => {
    e.preventDefault();
    const { view, error } = cleanView(form, views);
    if (!view) return setNote(error ?? "");
    if (await persist([...views, view], `View "${view.name}" added.`)) setForm(emptyView());
  };
  const set = (k: keyof SavedView, v: string) => setForm((f) => ({ ...f, [k]: v }));
  return (
    <>
      <h3>Saved views</h3>
      <p class="muted">Named filters shown to the whole team after Mine, Unassigned, All and Overdue.</p>
      <ul class="rows">
        {views.map((v) => (
          <li key={v.name}>
            <span><strong>{v.name}</strong> <span class="muted">{describeView(v, teamName)}</span></span>
            <button aria-label={`Remove view ${v.name}`} onClick={() => {
              if (confirm(`Remove the view "${v.name}" for the whole team?`)) void persist(views.filter((x) => x.name !== v.name), `View "${v.name}" removed.`);
            }}>Remove</button>
          </li>
        ))}
        {views.length === 0 && <li>None yet.</li>}
      </ul>
      <form class="inline-form saved-view-form" onSubmit={add}>
        <label>View name<input name="view_name" value={form.name} maxLength={60} onInput={(e) => set("name", e.currentTarget.value)} required /></label>
        <label>Shows
          <select name="view_view" value={form.view} onChange={(e) => set("view", e.currentTarget.value)}>
            {viewChoices.filter(([v]) => v !== "team" || teams.length > 0).map(([v, l]) => <option key={v} value={v}>{l}</option>)}
          </select>
        </label>
        {teams.length > 0 && (
          <label>Team
            <select name="view_team" value={form.team} onChange={(e) => set("team", e.currentTarget.value)}>
              <option value="">Any team</option>
              {teams.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
            </select>
          </label>
        )}
        <label>Status
          <select name="view_status" value={form.status} onChange={(e) => set("status", e.currentTarget.value)}>
            <option value="">Any</option>
            {["open", "pending", "snoozed", "resolved"].map((x) => <option key={x} value={x}>{x}</option>)}
          </select>
        </label>
        <label>Label<input name="view_label" value={form.label} placeholder="any" onInput={(e) => set("label", e.currentTarget.value)} /></label>
        <label>Assignee
          <select name="view_assignee" value={form.assignee} onChange={(e) => set("assignee", e.currentTarget.value)}>
            <option value="">Anyone</option>
            {agents.map((a) => <option key={a.user.id} value={a.user.handle}>{a.user.display_name || a.user.handle}</option>)}
          </select>
        </label>
        <button type="submit">Add view</button>
      </form>
      {note && <p role="status">{note}</p>}
    </>
  );
}
