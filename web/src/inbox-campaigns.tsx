// The team inbox's Campaigns screen (admins): topics people subscribe to,
// message templates (variables, a preview for a contact, approval), a
// segment builder with a live count, and campaigns — created, scheduled,
// paused, resumed or cancelled — with live progress from the stream's
// campaign.progress events (polling too, in case the stream is down).
// Loaded with inbox-admin.tsx.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Business, CampaignStats, CampaignView, ContactView, TemplateView, TopicView } from "./api";
import type { Subscribe } from "./inbox";
import { bucketLabel, campaignUpdate, describeSegment, emptySegment, progress, rate, segmentBody, skippedText, statBars, statSeries } from "./campaigns";
import type { SegmentForm } from "./campaigns";
import { errText } from "./inbox-state";

// share is n's exact width in the bar (the text rounds down).
const share = (n: number, total: number) => (total > 0 ? (n * 100) / total : 0) + "%";
const when = (iso: string | null) => iso ? new Date(iso).toLocaleString() : "";

export function Campaigns({ biz, subscribe }: { biz: Business; subscribe: Subscribe }) {
  const [topics, setTopics] = useState<TopicView[]>([]);
  const [templates, setTemplates] = useState<TemplateView[]>([]);
  const [campaigns, setCampaigns] = useState<CampaignView[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState("");
  const loadTopics = () => biz.topics().then((r) => setTopics(r.items)).catch((err) => setError(errText(err, "Cannot load the topics")));
  const loadTemplates = () => biz.templates().then((r) => setTemplates(r.items)).catch((err) => setError(errText(err, "Cannot load the templates")));
  const loadCampaigns = () => biz.campaigns().then((r) => setCampaigns(r.items)).catch((err) => setError(errText(err, "Cannot load the campaigns")));
  useEffect(() => { void loadTopics(); void loadTemplates(); void loadCampaigns(); }, [biz]);
  useEffect(() => subscribe((ev) => {
    const c = campaignUpdate(ev, "");
    if (c) setCampaigns((cs) => cs.map((x) => x.id === c.id ? c : x));
  }), [subscribe]);
  const topicName = (id: string) => topics.find((t) => t.id === id)?.name ?? "a deleted topic";
  const shown = campaigns.find((c) => c.id === open);
  return (
    <section class="settings campaigns" aria-label="Campaigns">
      <header><h2>Campaigns</h2></header>
      {error && <p class="error" role="alert">{error}</p>}
      {shown && <CampaignDetail key={shown.id} biz={biz} c={shown} subscribe={subscribe} topicName={topicName}
        onChange={(c) => setCampaigns((cs) => cs.map((x) => x.id === c.id ? c : x))} onClose={() => setOpen(null)} />}
      <h3>Campaigns</h3>
      <div class="table-wrap">
        <table class="report campaign-list">
          <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Sent</th><th scope="col">Skipped</th><th scope="col">Failed</th><th scope="col">Audience</th></tr></thead>
          <tbody>
            {campaigns.map((c) => {
              const p = progress(c);
              return (
                <tr key={c.id}>
                  <th scope="row"><button class="link" aria-current={open === c.id} onClick={() => setOpen(c.id)}>{c.name}</button></th>
                  <td>{c.status}</td><td>{p.sent}</td><td>{p.skipped}</td><td>{p.failed}</td><td>{p.total}</td>
                </tr>
              );
            })}
            {campaigns.length === 0 && <tr><td colSpan={6}>No campaigns yet.</td></tr>}
          </tbody>
        </table>
      </div>
      <NewCampaign biz={biz} topics={topics} templates={templates} topicName={topicName}
        onCreated={(c) => { setCampaigns((cs) => [c, ...cs.filter((x) => x.id !== c.id)]); setOpen(c.id); }} />
      <Templates biz={biz} topics={topics} templates={templates} onChange={loadTemplates} />
      <Topics biz={biz} topics={topics} onChange={loadTopics} />
    </section>
  );
}

function CampaignDetail({ biz, c, subscribe, topicName, onChange, onClose }: {
  biz: Business; c: CampaignView; subscribe: Subscribe; topicName(id: string): string; onChange(c: CampaignView): void; onClose(): void;
}) {
  const [note, setNote] = useState("");
  const live = c.status === "running" || c.status === "scheduled";
  // The stream's events update the list (and so this view); polling every
  // 2 s while the campaign runs covers a stream that is down.
  useEffect(() => {
    if (!live) return;
    const t = setInterval(() => { biz.campaign(c.id).then(onChange).catch(() => {}); }, 2000);
    return () => clearInterval(t);
  }, [c.id, live]);
  useEffect(() => subscribe((ev) => { const u = campaignUpdate(ev, c.id); if (u) onChange(u); }), [c.id]);
  const p = progress(c);
  const act = async (status: "running" | "paused" | "cancelled") => {
    setNote("");
    try { onChange(await biz.setCampaignStatus(c.id, status)); } catch (err) { setNote(errText(err, "Not changed")); }
  };
  const skipped = skippedText(c.skipped);
  return (
    <article class="campaign-detail" aria-labelledby="campaign-title">
      <header>
        <h3 id="campaign-title">{c.name}</h3>
        <button class="link" onClick={onClose}>Close</button>
      </header>
      <p>
        <span class="status">{c.status}</span> · {c.template?.name ?? "deleted template"}
        {c.topic && <> · topic {c.topic.name}</>} · {describeSegment(c.segment, topicName)}
        {c.scheduled_at && c.status === "scheduled" && <> · starts {when(c.scheduled_at)}</>}
      </p>
      <div class="progress-bar" role="progressbar" aria-label="Campaign progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={p.donePct}
        aria-valuetext={`${p.donePct}% handled: ${p.sent} sent, ${p.skipped} skipped, ${p.failed} failed of ${p.total}`}>
        <span class="sent" style={{ width: share(p.sent, p.total) }} />
        <span class="skipped" style={{ width: share(p.skipped, p.total) }} />
        <span class="failed" style={{ width: share(p.failed, p.total) }} />
      </div>
      <p class="stats" role="status" aria-live="polite">
        <span class="n-sent">{p.sent} sent</span> <span class="n-skipped">{p.skipped} skipped{skipped && ` (${skipped})`}</span>{" "}
        <span class="n-failed">{p.failed} failed</span> <span class="n-pending">{p.pending} waiting</span> <span>of {p.total}</span>
      </p>
      <p class="campaign-actions">
        {c.status === "running" && <button onClick={() => act("paused")}>Pause</button>}
        {(c.status === "paused" || c.status === "draft") && <button onClick={() => act("running")}>{c.status === "draft" ? "Send now" : "Resume"}</button>}
        {c.status !== "done" && c.status !== "cancelled" && <button onClick={() => act("cancelled")}>Cancel campaign</button>}
      </p>
      {note && <p class="error" role="alert">{note}</p>}
      <Stats biz={biz} c={c} />
    </article>
  );
}

const seriesNames: Record<string, string> = { sent: "Sent", read: "Read", replied: "Replied", opted_out: "Opted out" };

// Stats shows what the campaign did — delivered, read, replied, opted out —
// and a chart over time; it reloads when the campaign's progress moves
// (at most every 2 s while it runs).
function Stats({ biz, c }: { biz: Business; c: CampaignView }) {
  const [st, setSt] = useState<CampaignStats | null>(null);
  const [err, setErr] = useState("");
  const last = useRef(0);
  const handled = c.sent + c.failed + Object.values(c.skipped ?? {}).reduce((a, b) => a + b, 0);
  useEffect(() => {
    const wait = Math.max(0, last.current + 2000 - Date.now());
    const t = setTimeout(() => {
      last.current = Date.now();
      biz.campaignStats(c.id).then((v) => { setSt(v); setErr(""); }).catch((e) => setErr(errText(e, "Cannot load the statistics")));
    }, wait);
    return () => clearTimeout(t);
  }, [c.id, handled, c.status]);
  if (err) return <p class="error" role="alert">{err}</p>;
  if (!st) return null;
  const t = st.totals;
  const W = 600, H = 150;
  const bars = statBars(st.series, W, H);
  const label = (iso: string) => new Date(iso).toLocaleString([], st.bucket_seconds >= 86400
    ? { month: "short", day: "numeric" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  return (
    <section class="campaign-stats" aria-label="Campaign statistics">
      <h4>Results</h4>
      <p class="stats" role="status">
        <span class="n-delivered">{t.delivered} delivered ({rate(t.delivered, t.sent)})</span>{" "}
        <span class="n-read">{t.read} read ({rate(t.read, t.sent)})</span>{" "}
        <span class="n-replied">{t.replied} replied ({rate(t.replied, t.sent)})</span>{" "}
        <span class="n-opted-out">{t.opted_out} opted out ({rate(t.opted_out, t.sent)})</span>
      </p>
      {st.series.length > 0 ? (
        <figure class="chart">
          <svg viewBox={`0 0 ${W} ${H + 18}`} role="img"
            aria-label={`Campaign ${bucketLabel(st.bucket_seconds)}: ${t.sent} sent, ${t.read} read, ${t.replied} replied, ${t.opted_out} opted out`}>
            {bars.map((b, i) => (
              <rect key={i} class={"bar " + b.series} x={b.x} y={b.value ? Math.min(b.y, H - 1) : H} width={b.w} height={b.value ? Math.max(b.h, 1) : 0}>
                <title>{`${label(b.at)}: ${b.value} ${seriesNames[b.series].toLowerCase()}`}</title>
              </rect>
            ))}
            <line class="axis" x1={0} y1={H} x2={W} y2={H} />
            <text class="tick" x={0} y={H + 14}>{label(st.series[0].at ?? "")}</text>
            {st.series.length > 1 && <text class="tick" x={W} y={H + 14} text-anchor="end">{label(st.series[st.series.length - 1].at ?? "")}</text>}
          </svg>
          <figcaption>
            {statSeries.map((k) => <span key={k} class={"key " + k}>{seriesNames[k]}</span>)} · {bucketLabel(st.bucket_seconds)};
            replies and opt-outs count for {Math.round(st.attribution_hours / 24)} days after the message
          </figcaption>
        </figure>
      ) : <p>Nothing sent yet.</p>}
    </section>
  );
}

function NewCampaign({ biz, topics, templates, topicName, onCreated }: {
  biz: Business; topics: TopicView[]; templates: TemplateView[]; topicName(id: string): string; onCreated(c: CampaignView): void;
}) {
  const [name, setName] = useState("");
  const [template, setTemplate] = useState("");
  const [seg, setSeg] = useState<SegmentForm>(emptySegment);
  const [sendNow, setSendNow] = useState(true);
  const [at, setAt] = useState("");
  const [count, setCount] = useState<number | null>(null);
  const [note, setNote] = useState("");
  const ready = templates.filter((t) => t.status === "approved" && t.topic);
  const body = segmentBody(seg);
  const key = JSON.stringify(body);
  const seq = useRef(0);
  // The live count: 300 ms after the last change, the latest answer wins.
  useEffect(() => {
    const n = ++seq.current;
    const t = setTimeout(() => {
      biz.countSegment(body).then((r) => { if (n === seq.current) setCount(r.count); })
        .catch((err) => { if (n === seq.current) { setCount(null); setNote(errText(err, "Cannot count the segment")); } });
    }, 300);
    return () => clearTimeout(t);
  }, [key]);
  const submit = async (e: Event) => {
    e.preventDefault();
    setNote("");
    try {
      const c = await biz.createCampaign({ name: name.trim(), template, segment: body,
        ...(sendNow ? { send_now: true } : at ? { scheduled_at: new Date(at).toISOString() } : {}) });
      setName("");
      onCreated(c);
    } catch (err) {
      setNote(errText(err, "The campaign was not created"));
    }
  };
  const toggleTopic = (id: string, on: boolean) => setSeg({ ...seg, topics: on ? [...seg.topics, id] : seg.topics.filter((x) => x !== id) });
  return (
    <form class="new-campaign" aria-labelledby="new-campaign" onSubmit={submit}>
      <h3 id="new-campaign">New campaign</h3>
      <label>Campaign name<input value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} required /></label>
      <label>Template
        <select value={template} onChange={(e) => setTemplate(e.currentTarget.value)} required>
          <option value="">Choose an approved template</option>
          {ready.map((t) => <option key={t.id} value={t.id}>{t.name} ({t.topic?.name})</option>)}
        </select>
      </label>
      <p class="muted">It goes only to the segment's contacts subscribed to the template's topic.</p>
      <fieldset>
        <legend>Segment</legend>
        <label>Labels (comma separated)<input value={seg.labels} onInput={(e) => setSeg({ ...seg, labels: e.currentTarget.value })} /></label>
        <label>Attributes (one a line: key=value, or key for any value)
          <textarea rows={2} value={seg.attributes} onInput={(e) => setSeg({ ...seg, attributes: e.currentTarget.value })} />
        </label>
        {topics.length > 0 && (
          <fieldset class="topics">
            <legend>Subscribed to</legend>
            {topics.map((t) => (
              <label key={t.id} class="check"><input type="checkbox" checked={seg.topics.includes(t.id)} onChange={(e) => toggleTopic(t.id, e.currentTarget.checked)} /> {t.name}</label>
            ))}
          </fieldset>
        )}
        <label>Wrote in the last … days<input type="number" min={0} value={seg.activeWithin} onInput={(e) => setSeg({ ...seg, activeWithin: e.currentTarget.value })} /></label>
        <label>Silent for … days<input type="number" min={0} value={seg.inactiveFor} onInput={(e) => setSeg({ ...seg, inactiveFor: e.currentTarget.value })} /></label>
        <p class="segment-count" role="status" aria-live="polite">
          {describeSegment(body, topicName)}: {count === null ? "counting…" : `${count} contact${count === 1 ? "" : "s"}`}
        </p>
      </fieldset>
      <label class="check"><input type="checkbox" checked={sendNow} onChange={(e) => setSendNow(e.currentTarget.checked)} /> Send now</label>
      {!sendNow && <label>Start at (leave empty for a draft)<input type="datetime-local" value={at} onInput={(e) => setAt(e.currentTarget.value)} /></label>}
      <button type="submit" class="primary" disabled={!template}>Create campaign</button>
      {note && <p class="error" role="alert">{note}</p>}
    </form>
  );
}

function Templates({ biz, topics, templates, onChange }: { biz: Business; topics: TopicView[]; templates: TemplateView[]; onChange(): void }) {
  const [name, setName] = useState("");
  const [body, setBody] = useState("");
  const [topic, setTopic] = useState("");
  const [note, setNote] = useState("");
  const [contacts, setContacts] = useState<ContactView[]>([]);
  const [contact, setContact] = useState("");
  const [preview, setPreview] = useState<{ id: string; text: string; missing: string[] } | null>(null);
  useEffect(() => { biz.contacts().then((r) => setContacts(r.items)).catch(() => {}); }, [biz]);
  const create = async (e: Event) => {
    e.preventDefault();
    setNote("");
    try {
      await biz.createTemplate({ name: name.trim(), body, ...(topic ? { topic } : {}) });
      setName(""); setBody("");
      onChange();
    } catch (err) { setNote(errText(err, "The template was not saved")); }
  };
  const approve = async (t: TemplateView) => {
    setNote("");
    try { await biz.updateTemplate(t.id, { status: t.status === "approved" ? "draft" : "approved" }); onChange(); } catch (err) { setNote(errText(err, "Not changed")); }
  };
  const show = async (t: TemplateView) => {
    setNote("");
    try { setPreview({ id: t.id, ...(await biz.previewTemplate(t.id, contact)) }); } catch (err) { setNote(errText(err, "No preview")); }
  };
  return (
    <div class="templates">
      <h3>Templates</h3>
      <label>Preview for
        <select value={contact} onChange={(e) => { setContact(e.currentTarget.value); setPreview(null); }}>
          <option value="">Choose a contact</option>
          {contacts.map((c) => <option key={c.id} value={c.id}>{c.name || c.user?.handle || c.id}</option>)}
        </select>
      </label>
      <ul class="template-list">
        {templates.map((t) => (
          <li key={t.id}>
            <strong>{t.name}</strong> <span class={"tpl-status " + t.status}>{t.status}</span> {t.topic ? <>· {t.topic.name}</> : <>· not promotional</>}
            <p class="template-body">{t.body}</p>
            {t.variables.length > 0 && <p class="muted">Variables: {t.variables.join(", ")}</p>}
            <button onClick={() => approve(t)}>{t.status === "approved" ? `Back to draft: ${t.name}` : `Approve ${t.name}`}</button>{" "}
            <button disabled={!contact} onClick={() => show(t)}>Preview {t.name}</button>
            {preview?.id === t.id && (
              <blockquote class="preview" aria-label={`Preview of ${t.name}`}>
                {preview.text}
                {preview.missing.length > 0 && <p class="error">No value for {preview.missing.join(", ")}: this contact would be skipped.</p>}
              </blockquote>
            )}
          </li>
        ))}
        {templates.length === 0 && <li class="empty">No templates yet.</li>}
      </ul>
      <form class="new-template" aria-label="New template" onSubmit={create}>
        <label>Template name<input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>
        <label>Text (variables like {"{{contact.first_name}}"})<textarea rows={3} value={body} onInput={(e) => setBody(e.currentTarget.value)} required /></label>
        <label>Topic
          <select value={topic} onChange={(e) => setTopic(e.currentTarget.value)}>
            <option value="">None (not promotional)</option>
            {topics.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
        </label>
        <button type="submit">Add template</button>
      </form>
      {note && <p class="error" role="alert">{note}</p>}
    </div>
  );
}

function Topics({ biz, topics, onChange }: { biz: Business; topics: TopicView[]; onChange(): void }) {
  const [name, setName] = useState("");
  const [keyword, setKeyword] = useState("");
  const [description, setDescription] = useState("");
  const [note, setNote] = useState("");
  const create = async (e: Event) => {
    e.preventDefault();
    setNote("");
    try {
      await biz.createTopic({ name: name.trim(), description: description.trim(), keyword: keyword.trim() });
      setName(""); setKeyword(""); setDescription("");
      onChange();
    } catch (err) { setNote(errText(err, "The topic was not saved")); }
  };
  return (
    <div class="topics">
      <h3>Topics</h3>
      <ul class="topic-list">
        {topics.map((t) => (
          <li key={t.id}>
            <strong>{t.name}</strong>{t.keyword && <> · keyword <code>{t.keyword}</code></>} · button payload <code>{t.payload}</code> · link <code>{t.link_url ?? location.origin + t.link_path}</code>
            {t.description && <p class="muted">{t.description}</p>}
          </li>
        ))}
        {topics.length === 0 && <li class="empty">No topics yet: people subscribe to topics.</li>}
      </ul>
      <form class="new-topic" aria-label="New topic" onSubmit={create}>
        <label>Topic name<input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>
        <label>Keyword (optional)<input value={keyword} onInput={(e) => setKeyword(e.currentTarget.value)} /></label>
        <label>Description<input value={description} onInput={(e) => setDescription(e.currentTarget.value)} /></label>
        <button type="submit">Add topic</button>
      </form>
      {note && <p class="error" role="alert">{note}</p>}
    </div>
  );
}
