// The team inbox: a business's customer conversations for its team (and
// for the business account itself). Views with counts, filters, the
// conversation with private notes, saved replies after "/", assignment and
// status, the collision warning, handover between the bot and people, and
// the contact panel. Reports and settings are in inbox-admin.tsx (loaded
// when first opened); the rules are in inbox-state.ts.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { ApiError, Business, newClientID } from "./api";
import type {
  AgentView, BusinessMembership, Client, ContactView, InboxCounts, InboxDetail, InboxItem, ItemChange, Me, Message, Note,
  RenderedReply, SavedReply, SavedView, SendModes, SyncEvent, UserSummary,
} from "./api";
import {
  applyPresence, applyThreadEvent, collisionWarning, emptyThread, errText, forInbox, handoverError, inboxEffect, mentionParts, mergeNotes, missingText,
  parseLabels, slashQuery, timeline, viewQuery, describeView,
} from "./inbox-state";
import type { Presence, Thread } from "./inbox-state";
import { announcement, coalesce, mergeMessages, splitLinks, TYPING_TTL } from "./state";
import { AttachmentView } from "./media";
import { shownText } from "./rich";
import { Automated, Masked, Parts, SensitiveConfirm } from "./parts";
import { sensitiveQuestion } from "./sensitive";
import { policyText } from "./campaigns";
import { deliveryText, modesText, optinCardText, optinRequestOpen, pendingFiles, tagChoices, platformName } from "./channels";
import { AskForUpdates } from "./optinrequest";

// Reports and settings (with the rules editor) load when first opened:
// most people never open them, and the first load stays small.
type AdminModule = typeof import("./inbox-admin");
let adminModule: Promise<AdminModule> | null = null;
type AdminScreen = "reports" | "settings" | "campaigns" | "channels";
const adminNames: Record<AdminScreen, string> = { reports: "Reports", settings: "Inbox settings", campaigns: "Campaigns", channels: "Channels" };

function Admin({ biz, which, onViews, subscribe }: { biz: Business; which: AdminScreen; onViews(v: SavedView[]): void; subscribe: Subscribe }) {
  const [m, setM] = useState<AdminModule | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    (adminModule ??= import("./inbox-admin")).then((x) => setM(() => x)).catch(() => { adminModule = null; setFailed(true); });
  }, []);
  if (!m) return <section class="settings" aria-label={adminNames[which]}><p role="status">{failed ? "Cannot load this screen: check the connection and open it again." : "Loading…"}</p></section>;
  return which === "reports" ? <m.Reports biz={biz} /> : which === "campaigns" ? <m.Campaigns biz={biz} subscribe={subscribe} />
    : which === "channels" ? <m.Channels biz={biz} />
    : <m.InboxSettings biz={biz} onViews={onViews} />;
}

/** Subscribe registers a listener of the stream's events; it returns the
 * function that removes it. */
export type Subscribe = (fn: (ev: SyncEvent) => void) => () => void;

export interface InboxProps {
  client: Client; me: Me; membership: BusinessMembership; subscribe: Subscribe;
  /** modes is the Chats / Team inbox switch, shown in the sidebar */
  modes: ComponentChildren;
  /** onRemoved: the user is no longer on the business's team */
  onRemoved(): void;
}

const views = [["mine", "Mine"], ["unassigned", "Unassigned"], ["all", "All"], ["overdue", "Overdue"]] as const;
const statuses = ["open", "pending", "snoozed", "resolved"] as const;
const priorities = ["low", "normal", "high", "urgent"] as const;

const who = (u?: UserSummary) => (u ? u.display_name || u.handle : "");

export function TeamInbox({ client, me, membership, subscribe, modes, onRemoved }: InboxProps) {
  const business = membership.business;
  const biz = useMemo(() => new Business(client, business.handle), [client, business.handle]);
  const admin = membership.role === "admin";
  const isBusiness = me.id === business.id;
  const [screen, setScreen] = useState<"inbox" | AdminScreen>("inbox");
  const [view, setView] = useState<string>(isBusiness ? "all" : "mine");
  const [status, setStatus] = useState("");
  const [label, setLabel] = useState("");
  // A saved view adds team and assignee filters; saved is its name while
  // it is the one on screen.
  const [team, setTeam] = useState("");
  const [assignee, setAssignee] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const [savedViews, setSavedViews] = useState<SavedView[]>([]);
  const [teamNames, setTeamNames] = useState<Record<string, string>>({});
  const [items, setItems] = useState<InboxItem[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [counts, setCounts] = useState<InboxCounts | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [agents, setAgents] = useState<AgentView[]>([]);
  const [away, setAway] = useState(membership.away);
  const [presence, setPresence] = useState<Presence>({});
  const [error, setError] = useState("");
  const [, tick] = useState(0);
  const openRef = useRef(open);
  openRef.current = open;

  const load = async () => {
    try {
      const [page, c] = await Promise.all([biz.inbox({ view, status, label, team, assignee }), biz.counts()]);
      setItems(page.items);
      setNext(page.next_cursor);
      setCounts(c);
      setError("");
    } catch (err) {
      setError(errText(err, "Cannot load the inbox"));
    }
  };
  const loadRef = useRef(load);
  loadRef.current = load;
  // Loads never overlap, so an older answer never lands after a newer one
  // (each run uses the filters of its time).
  const reload = useMemo(() => coalesce(() => loadRef.current()), []);
  const more = async () => {
    try {
      const page = await biz.inbox({ view, status, label, team, assignee, cursor: next });
      setItems((cur) => [...cur, ...page.items.filter((it) => !cur.some((c) => c.conversation_id === it.conversation_id))]);
      setNext(page.next_cursor);
    } catch (err) {
      setError(errText(err, "Cannot load more"));
    }
  };
  const loadAgents = () => void biz.agents().then((r) => setAgents(r.items)).catch(() => {});
  useEffect(() => { void reload(); }, [biz, view, status, label, team, assignee]);
  const showViews = (vs: SavedView[]) => {
    setSavedViews(vs);
    if (vs.some((v) => v.team)) biz.teams().then((r) => setTeamNames(Object.fromEntries(r.items.map((t) => [t.id, t.name])))).catch(() => {});
  };
  const loadViews = () => void biz.settings().then((st) => showViews(st.views ?? [])).catch(() => {});
  const pickView = (v: string) => {
    // Leaving a saved view drops its filters.
    if (saved !== null) { setStatus(""); setLabel(""); }
    setSaved(null);
    setTeam("");
    setAssignee("");
    setScreen("inbox");
    setView(v);
    if (matchMedia("(max-width: 700px)").matches) setOpen(null); // on a phone the list replaces the conversation
  };
  const pickSaved = (sv: SavedView) => {
    const q = viewQuery(sv);
    setSaved(sv.name);
    setView(q.view);
    setStatus(q.status ?? "");
    setLabel(q.label ?? "");
    setTeam(q.team ?? "");
    setAssignee(q.assignee ?? "");
    setScreen("inbox");
    if (matchMedia("(max-width: 700px)").matches) setOpen(null);
  };
  useEffect(() => {
    loadAgents();
    loadViews();
    const ctx = { business: business.id, me: me.id };
    let timer: ReturnType<typeof setTimeout> | null = null;
    const t = setInterval(() => tick((n) => n + 1), 3000); // presence lapses
    const off = subscribe((ev) => {
      if (!forInbox(ev, ctx)) return;
      if (ev.type === "inbox.presence") return setPresence((p) => applyPresence(p, ev, me.id));
      const e = inboxEffect(ev, openRef.current);
      if (e.removed) return onRemoved();
      if (e.agents) loadAgents();
      if (ev.type === "resync") loadViews();
      // Bursts (a customer sending three lines) cost one fetch.
      if (e.list && !timer) timer = setTimeout(() => { timer = null; void reload(); }, 250);
    });
    return () => { off(); clearInterval(t); if (timer) clearTimeout(timer); };
  }, [biz]);

  const name = (id: string) => id === business.id ? who(business) : id === me.id ? "You"
    : who(agents.find((a) => a.user.id === id)?.user) || "A teammate";
  const count = (v: string) => !counts ? null : v === "all" ? counts.open : counts[v as keyof InboxCounts];
  const pick = (id: string) => { setScreen("inbox"); setOpen(id); };
  return (
    <div class={"shell inbox-shell" + (open && screen === "inbox" ? " has-open" : "")}>
      <aside class="sidebar" aria-label="Team inbox">
        <header>
          <strong>{who(business)}</strong>
          <span>
            <button class="link" aria-current={screen === "reports"} onClick={() => setScreen("reports")}>Reports</button>
            {admin && <button class="link" aria-current={screen === "campaigns"} onClick={() => setScreen("campaigns")}>Campaigns</button>}
            {admin && <button class="link" aria-current={screen === "channels"} onClick={() => setScreen("channels")}>Channels</button>}
            {admin && <button class="link" aria-current={screen === "settings"} onClick={() => setScreen("settings")}>Settings</button>}
          </span>
        </header>
        {modes}
        {!isBusiness && (
          <label class="check away">
            <input type="checkbox" checked={away} onChange={async (e) => {
              const v = e.currentTarget.checked;
              try { await biz.putAgent(me.handle, { away: v }); setAway(v); } catch (err) { setError(errText(err, "Not changed")); }
            }} /> Away (no automatic assignment)
          </label>
        )}
        <nav class="folders views" aria-label="Views">
          {views.map(([v, l]) => (
            <button key={v} aria-current={screen === "inbox" && saved === null && view === v} onClick={() => pickView(v)}>
              {l}{count(v) !== null && <span class={"count" + (v === "overdue" && count(v) ? " hot" : "")}>{count(v)}</span>}
            </button>
          ))}
          {savedViews.map((sv) => (
            <button key={"sv-" + sv.name} class="saved-view" aria-current={screen === "inbox" && saved === sv.name}
              title={describeView(sv, (id) => teamNames[id] ?? "a team")} onClick={() => pickSaved(sv)}>{sv.name}</button>
          ))}
        </nav>
        <div class="filters">
          <label>Status
            <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
              <option value="">{view === "all" ? "Any" : "Open and pending"}</option>
              {statuses.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </label>
          <label>Label
            <input type="search" placeholder="any" value={label} onChange={(e) => setLabel(e.currentTarget.value.trim().toLowerCase())} />
          </label>
        </div>
        {error && <p class="error" role="alert">{error}</p>}
        <ul class="list inbox-items">
          {items.map((it) => <ItemRow key={it.conversation_id} it={it} business={business.id} open={open === it.conversation_id} onOpen={pick} />)}
          {items.length === 0 && <li class="empty">No conversations here.</li>}
        </ul>
        {next && <button onClick={more}>More</button>}
      </aside>
      <main class="pane">
        {screen !== "inbox" ? <Admin key={screen} biz={biz} which={screen} onViews={showViews} subscribe={subscribe} />
          : open ? <InboxConversation key={open} client={client} biz={biz} business={business} me={me} id={open} agents={agents}
              presence={presence} name={name} subscribe={subscribe} onClose={() => setOpen(null)} onOpen={pick} onChanged={() => void reload()} />
          : <p class="placeholder">Choose a conversation.</p>}
      </main>
    </div>
  );
}

function ChannelBadge({ platform }: { platform: string }) {
  const name = platformName(platform);
  return name ? <span class={"channel-badge ch-" + platform} title={`Writes through ${name}`}>{name}</span> : null;
}

function ItemRow({ it, business, open, onOpen }: { it: InboxItem; business: string; open: boolean; onOpen(id: string): void }) {
  const m = it.last_message;
  const preview = !m ? "" : (m.sender.id === business ? "You: " : "") + (m.deleted ? "Unsent" : m.text ?? `[${m.kind}]`);
  return (
    <li>
      <button class={"conv item" + (open ? " open" : "")} aria-current={open} onClick={() => onOpen(it.conversation_id)} data-conversation={it.conversation_id}>
        <span class="name">{it.contact?.name ?? "Customer"}</span>
        {it.contact?.channel && <ChannelBadge platform={it.contact.channel} />}
        <span class={"status s-" + it.status}>{it.status}</span>
        <span class="preview">{preview}</span>
        <span class="meta">
          {it.overdue && <span class="overdue">Overdue</span>}
          {it.control === "bot" && <span class="bot-badge" title="The bot is answering">Bot</span>}
          {it.priority !== "normal" && <span class={"prio p-" + it.priority}>{it.priority}</span>}
          <span class="assignee">{it.assignee ? who(it.assignee) : "Unassigned"}</span>
          {it.labels.map((l) => <span key={l} class="chip">{l}</span>)}
        </span>
      </button>
    </li>
  );
}

interface ConvProps {
  client: Client; biz: Business; business: UserSummary; me: Me; id: string; agents: AgentView[]; presence: Presence;
  name(id: string): string; subscribe: Subscribe; onClose(): void; onOpen(id: string): void; onChanged(): void;
}

function InboxConversation(p: ConvProps) {
  const { biz, business, me, id } = p;
  const [detail, setDetail] = useState<InboxDetail | null>(null);
  const [thread, setThread] = useState<Thread>(emptyThread);
  const [text, setText] = useState("");
  const [noteMode, setNoteMode] = useState(false);
  const [error, setError] = useState("");
  const [replies, setReplies] = useState<SavedReply[]>([]);
  const [active, setActive] = useState(0);
  const [preview, setPreview] = useState<{ reply: SavedReply; r: RenderedReply } | null>(null);
  const [showContact, setShowContact] = useState(false);
  const [labels, setLabels] = useState("");
  const [snooze, setSnooze] = useState("");
  const [customerTyping, setCustomerTyping] = useState(0); // until when
  // A reply the server held for sensitive data, waiting for the agent.
  const [held, setHeld] = useState<{ text: string; client_id: string; question: string } | null>(null);
  const [confirming, setConfirming] = useState(false);
  const typingSent = useRef(0);
  const lookup = useRef(0);
  const readUpTo = useRef(0);
  const listRef = useRef<HTMLOListElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);

  const [modes, setModes] = useState<SendModes | null>(null);
  // sendAs is the update tag the next reply goes with ("" : the first
  // mode that fits).
  const [sendAs, setSendAs] = useState("");
  const loadModes = () => void biz.sendModes(id).then(setModes).catch(() => setModes(null));
  const loadItem = () => biz.detail(id).then((d) => {
    setDetail(d);
    setLabels(d.item.labels.join(", "));
    if (d.item.contact?.channel) loadModes();
  }).catch((err) => setError(errText(err, "Cannot load the conversation")));
  useEffect(() => {
    void loadItem();
    Promise.all([biz.messages(id), biz.notes(id)])
      .then(([page, notes]) => setThread((t) => ({ messages: mergeMessages(t.messages, page.items), notes: mergeNotes(t.notes, notes.items), complete: !page.next_cursor })))
      .catch((err) => setError(errText(err, "Cannot load the history")));
    // The collision warning: the team sees who has this conversation open.
    const hello = () => void biz.presence(id, "viewing").catch(() => {});
    hello();
    const t = setInterval(hello, 60000);
    const ctx = { business: business.id, me: me.id };
    const off = p.subscribe((ev) => {
      // The customer's typing reaches the team as it reaches the business
      // (ephemeral, without `as`): matched by the conversation.
      if (ev.type === "typing" && ev.conversation_id === id && ev.actor_id !== business.id) {
        return setCustomerTyping(ev.data?.typing ? Date.now() + TYPING_TTL : 0);
      }
      if (ev.type === "message.created" && ev.conversation_id === id && ev.message?.sender.id !== business.id) {
        setCustomerTyping(0);
        loadModes(); // the person wrote: a channel's window opens again
      }
      if (ev.conversation_id !== id || !forInbox(ev, ctx)) return;
      setThread((t) => applyThreadEvent(t, ev, id));
      const control = ev.data?.control;
      if (ev.type === "handover" && (control === "bot" || control === "human")) setDetail((d) => d && { ...d, item: { ...d.item, control } });
      if (inboxEffect(ev, id).item) void loadItem();
    });
    return () => { clearInterval(t); off(); void biz.presence(id, "left").catch(() => {}); };
  }, [id]);

  const entries = timeline(thread);
  const last = thread.messages[thread.messages.length - 1];
  useEffect(() => { listRef.current?.lastElementChild?.scrollIntoView({ block: "end" }); }, [entries.length]);
  useEffect(() => { inputRef.current?.focus(); }, []);
  // The customer's messages that arrive while it is open are read out.
  const [said, setSaid] = useState("");
  const seenLast = useRef("");
  useEffect(() => {
    if (!last) return;
    if (seenLast.current && seenLast.current !== last.id && last.sender.id !== business.id && last.kind !== "system") setSaid(announcement(last));
    seenLast.current = last.id;
  }, [last?.id]);
  useEffect(() => {
    // The customer sees "Seen" when someone on the team read it.
    if (last && last.sender.id !== business.id && last.seq > readUpTo.current) {
      readUpTo.current = last.seq;
      void biz.markRead(id, last.seq).catch(() => {});
    }
  }, [last?.id]);

  const loadOlder = async () => {
    const first = thread.messages[0];
    if (!first) return;
    try {
      const page = await biz.messages(id, first.seq);
      setThread((t) => ({ ...t, messages: mergeMessages(t.messages, page.items), complete: !page.next_cursor }));
    } catch (err) {
      setError(errText(err, "Cannot load earlier messages"));
    }
  };

  const [handoverNote, setHandoverNote] = useState("");
  const handover = async (to: "bot" | "human") => {
    setHandoverNote("");
    try {
      const item = await biz.handover(id, to);
      setDetail((d) => d && { ...d, item });
      p.onChanged();
    } catch (err) {
      setHandoverNote(handoverError(err));
    }
  };

  const change = async (ch: ItemChange) => {
    setError("");
    try {
      const item = await biz.update(id, ch);
      setDetail((d) => d && { ...d, item });
      setLabels(item.labels.join(", "));
      p.onChanged();
    } catch (err) {
      setError(errText(err, "Not changed"));
    }
  };

  const addMessage = (m: Message) => setThread((t) => ({ ...t, messages: mergeMessages(t.messages, [m]) }));
  const onType = (v: string) => {
    setText(v);
    if (v) setPreview(null);
    const q = noteMode ? null : slashQuery(v);
    const n = ++lookup.current;
    if (q === null) setReplies([]);
    else biz.savedReplies(q).then((r) => { if (n === lookup.current) { setReplies(r.items); setActive(0); } }).catch(() => {});
    if (!noteMode && v && q === null && Date.now() - typingSent.current > 3000) {
      typingSent.current = Date.now();
      void biz.presence(id, "typing").catch(() => {});
    }
  };
  const choose = async (r: SavedReply) => {
    lookup.current++;
    setReplies([]);
    setText("");
    setError("");
    try {
      setPreview({ reply: r, r: await biz.renderReply(r.id, id) });
    } catch (err) {
      setError(errText(err, "Cannot fill in the saved reply"));
    }
    inputRef.current?.focus();
  };
  const sendSaved = async () => {
    if (!preview || preview.r.missing.length > 0) return;
    setError("");
    try {
      addMessage(await biz.send(id, { client_id: newClientID(), saved_reply: preview.reply.id }));
      setPreview(null);
      p.onChanged();
    } catch (err) {
      if (err instanceof ApiError && err.code === "unresolved_variable") {
        // The contact changed since the preview: show what is missing now.
        biz.renderReply(preview.reply.id, id).then((r) => setPreview({ reply: preview.reply, r })).catch(() => {});
      }
      setError(policyText(err, "Not sent"));
    }
  };
  const submit = async () => {
    if (preview) return sendSaved();
    const body = inputRef.current?.value ?? text;
    if (!body.trim() || (!noteMode && slashQuery(body) !== null)) return;
    setText("");
    setError("");
    typingSent.current = 0;
    const client_id = newClientID();
    try {
      if (noteMode) {
        const n = await biz.addNote(id, body);
        setThread((t) => ({ ...t, notes: mergeNotes(t.notes, [n]) }));
      } else {
        addMessage(await biz.send(id, { client_id, text: body, ...(sendAs ? { send_mode: sendAs } : {}) }));
        setSendAs("");
        p.onChanged();
      }
    } catch (err) {
      const question = noteMode ? "" : sensitiveQuestion(err);
      if (question) return setHeld({ text: body, client_id, question });
      setText((cur) => cur || body);
      setError(policyText(err, noteMode ? "The note was not saved" : "Not sent"));
    }
  };
  const sendAnyway = async () => {
    if (!held) return;
    setConfirming(true);
    setError("");
    try {
      addMessage(await biz.send(id, { client_id: held.client_id, text: held.text, confirm_sensitive: true, ...(sendAs ? { send_mode: sendAs } : {}) }));
      setSendAs("");
      setHeld(null);
      p.onChanged();
      inputRef.current?.focus();
    } catch (err) {
      setError(policyText(err, "Not sent"));
    } finally {
      setConfirming(false);
    }
  };
  const editHeld = () => {
    if (!held) return;
    setText((cur) => cur || held.text);
    setHeld(null);
    inputRef.current?.focus();
  };
  const onKey = (e: KeyboardEvent) => {
    if (replies.length > 0) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        setActive((a) => (a + (e.key === "ArrowDown" ? 1 : replies.length - 1)) % replies.length);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        void choose(replies[Math.min(active, replies.length - 1)]);
        return;
      }
      if (e.key === "Escape") { setReplies([]); return; }
    }
    if (e.key === "Escape" && preview) { setPreview(null); return; }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      void submit();
    }
  };

  const item = detail?.item;
  const contactName = item?.contact?.name ?? detail?.contact?.name ?? "Customer";
  const warnings = collisionWarning(p.presence, id, p.name);
  const mineAssigned = item?.assignee?.id === me.id;
  const isBusiness = me.id === business.id;
  const people = p.agents.filter((a) => a.role !== "bot"); // bots are never assigned
  const hasBot = p.agents.length > people.length;
  return (
    <section class={"conversation inbox-conv" + (showContact ? " show-contact" : "")} aria-label={contactName}>
      <div class="conv-main">
        <header>
          <button class="link back" onClick={p.onClose}>Back</button>
          <h2>{contactName}</h2>
          {item?.contact?.channel && <ChannelBadge platform={item.contact.channel} />}
          {item && <span class={"status s-" + item.status}>{item.status}{item.snoozed_until && item.status === "snoozed" ? ` until ${new Date(item.snoozed_until).toLocaleString()}` : ""}</span>}
          {item?.overdue && <span class="overdue">Overdue</span>}
          <button class="link contact-toggle" aria-expanded={showContact} onClick={() => setShowContact((v) => !v)}>Contact</button>
        </header>
        {warnings.length > 0 && <p class="collision" role="status">{warnings.join(" · ")}</p>}
        {item && (
          <div class="item-actions" role="group" aria-label="Conversation actions">
            <label>Assignee
              <select value={item.assignee?.handle ?? ""} onChange={(e) => void change({ assignee: e.currentTarget.value })}>
                <option value="">Unassigned</option>
                {item.assignee && !people.some((a) => a.user.id === item.assignee!.id) && <option value={item.assignee.handle}>{who(item.assignee)}</option>}
                {people.map((a) => <option key={a.user.id} value={a.user.handle}>{who(a.user)}{a.user.id === me.id ? " (me)" : ""}{a.away ? " (away)" : ""}</option>)}
              </select>
            </label>
            {!mineAssigned && !isBusiness && <button onClick={() => void change({ assignee: me.handle })}>Assign to me</button>}
            <label>Priority
              <select value={item.priority} onChange={(e) => void change({ priority: e.currentTarget.value })}>
                {priorities.map((x) => <option key={x} value={x}>{x}</option>)}
              </select>
            </label>
            {item.status !== "open" && <button onClick={() => void change({ status: "open" })}>{item.status === "resolved" ? "Reopen" : "Open"}</button>}
            {item.status !== "pending" && <button onClick={() => void change({ status: "pending" })}>Pending</button>}
            {item.status !== "resolved" && <button class="primary" onClick={() => void change({ status: "resolved" })}>Resolve</button>}
            <form class="inline" onSubmit={(e) => { e.preventDefault(); if (snooze) void change({ status: "snoozed", snoozed_until: new Date(snooze).toISOString() }); }}>
              <label>Snooze until<input type="datetime-local" value={snooze} onInput={(e) => setSnooze(e.currentTarget.value)} required /></label>
              <button type="submit">Snooze</button>
            </form>
            <form class="inline" onSubmit={(e) => { e.preventDefault(); void change({ labels: parseLabels(labels) }); }}>
              <label>Labels<input value={labels} placeholder="billing, vip" onInput={(e) => setLabels(e.currentTarget.value)} /></label>
              <button type="submit">Save labels</button>
            </form>
          </div>
        )}
        {item && (hasBot || item.control === "bot") && (
          <div class="handover" role="group" aria-label="Handover">
            <span class={"control c-" + item.control}>Control: {item.control === "bot" ? "Bot" : "Human"}</span>
            {item.control === "bot"
              ? <button onClick={() => void handover("human")}>Take over from the bot</button>
              : <button onClick={() => void handover("bot")}>Give back to the bot</button>}
            <span class="muted">{item.control === "bot" ? "The bot answers; replying takes over too." : "People answer; the bot's sends are refused."}</span>
            {handoverNote && <p class="error" role="alert">{handoverNote}</p>}
          </div>
        )}
        <ol class="messages" ref={listRef} aria-label="Messages and private notes">
          {!thread.complete && thread.messages.length > 0 && <li class="older"><button onClick={loadOlder}>Earlier messages</button></li>}
          {entries.map((e) => e.kind === "note"
            ? <NoteItem key={"n" + e.n.id} n={e.n} />
            : e.kind === "line" ? <li key={e.l.id} class="system line">{e.l.text}</li>
            : <InboxMessage key={e.m.id} m={e.m} mine={e.m.sender.id === business.id} business={who(business)} contact={contactName} client={p.client} />)}
        </ol>
        <div class="status-line" aria-live="polite">{customerTyping > Date.now() ? `${contactName} is typing…` : ""}</div>
        <div class="visually-hidden" aria-live="polite">{said}</div>
        {error && <p class="error" role="alert">{error}</p>}
        {held && <SensitiveConfirm question={held.question} busy={confirming} onSend={() => void sendAnyway()} onEdit={editHeld} />}
        {preview && (
          <div class="reply-preview" role="region" aria-label="Saved reply preview">
            <strong>/{preview.reply.shortcut}{preview.reply.title ? ` — ${preview.reply.title}` : ""}</strong>
            <p class="text">{preview.r.text}</p>
            {preview.r.missing.length > 0 && <p class="error" role="alert">{missingText(preview.r.missing)}</p>}
            <button class="primary" disabled={preview.r.missing.length > 0} onClick={() => void sendSaved()}>Send saved reply</button>
            <button class="link" onClick={() => setPreview(null)}>Cancel</button>
          </div>
        )}
        {replies.length > 0 && (
          <ul class="suggestions" role="listbox" id="saved-replies" aria-label="Saved replies">
            {replies.map((r, i) => (
              <li key={r.id} id={"sr-" + r.id} role="option" aria-selected={i === active} class={i === active ? "active" : ""}
                onMouseDown={(e) => { e.preventDefault(); void choose(r); }}>
                <strong>/{r.shortcut}</strong> {r.title} <span class="muted">{r.body.slice(0, 60)}</span>
              </li>
            ))}
          </ul>
        )}
        {!noteMode && <SendModesLine modes={modes} sendAs={sendAs} setSendAs={setSendAs} />}
        {!noteMode && optinRequestOpen(modes) && <AskForUpdates biz={biz} conv={id} onSent={(m) => { addMessage(m); p.onChanged(); }} />}
        <form class={"composer" + (noteMode ? " note-mode" : "")} onSubmit={(e) => { e.preventDefault(); void submit(); }}>
          <button type="button" class="note-toggle" aria-pressed={noteMode} onClick={() => { setNoteMode((v) => !v); setReplies([]); setPreview(null); inputRef.current?.focus(); }}>
            Private note
          </button>
          <label class="visually-hidden" for="inbox-composer">{noteMode ? "Private note" : "Reply"}</label>
          <textarea id="inbox-composer" ref={inputRef} rows={2} value={text}
            placeholder={noteMode ? "Private note — only your team sees it; @handle mentions" : "Reply… (type / for saved replies)"}
            role="combobox" aria-expanded={replies.length > 0} aria-controls="saved-replies" aria-autocomplete="list"
            aria-activedescendant={replies[active] ? "sr-" + replies[active].id : undefined}
            onInput={(e) => onType(e.currentTarget.value)} onKeyDown={onKey} />
          <button type="submit" class="primary">{noteMode ? "Add note" : "Send"}</button>
        </form>
      </div>
      {detail?.contact && <ContactPanel key={detail.contact.id} biz={biz} contactId={detail.contact.id} current={id} onOpen={p.onOpen} />}
    </section>
  );
}

function InboxMessage({ m, mine, business, contact, client }: { m: Message; mine: boolean; business: string; contact: string; client: Client }) {
  if (m.kind === "system") return <li class="system">{String(m.system?.action ?? "").replace(/_/g, " ")}</li>;
  const sender = mine ? (m.agent ? `${who(m.agent)} · ${business}` : `${business} · automatic`) : contact;
  // An opt-in request shows as its card, not its words.
  const text = m.optin_request ? "" : shownText(m);
  const delivery = mine && !m.deleted ? deliveryText(m.channel) : null;
  return (
    <li class={"message" + (mine ? " mine" : "")} data-id={m.id} tabIndex={0}>
      <span class="sender">{sender}{m.automated && <Automated />}{m.masked && <Masked />}</span>
      {m.deleted ? <em class="unsent">Message unsent</em> : (
        <div class="body">
          {text && <p class="text">{splitLinks(text).map((part, i) => part.href
            ? <a key={i} href={part.href} target="_blank" rel="noopener noreferrer nofollow">{part.text}</a>
            : <span key={i}>{part.text}</span>)}</p>}
          {m.attachments?.map((a, i) => <AttachmentView key={a.id ?? i} a={a} client={client} />)}
          {pendingFiles(m).map((f, i) => <p key={"pf" + i} class={"channel-file" + (f.failed ? " failed" : "")} role={f.failed ? "note" : undefined}>{f.text}</p>)}
          {m.optin_request && (
            <p class="optin-card" role="note"><strong>{optinCardText(m.optin_request)}</strong> — “{m.optin_request.title}”</p>
          )}
          <Parts m={m} follow />
          {m.quick_replies && <span class="muted">Choices: {m.quick_replies.map((q) => q.title).join(" · ")}</span>}
        </div>
      )}
      <time dateTime={m.created_at}>{new Date(m.created_at).toLocaleString([], { dateStyle: "short", timeStyle: "short" })}</time>
      {delivery && <span class={"delivery" + (delivery.failed ? " failed" : "")}>{delivery.text}</span>}
    </li>
  );
}

/** SendModesLine tells the agent how a reply goes out in a channel
 * conversation: the modes open now and why the others are not. */
function SendModesLine({ modes, sendAs, setSendAs }: { modes: SendModes | null; sendAs: string; setSendAs: (m: string) => void }) {
  const t = modesText(modes);
  if (!t || !modes?.channel) return null;
  const name = platformName(modes.channel.platform);
  const tags = tagChoices(modes);
  return (
    <div class={"send-modes" + (modes.channel.disabled ? " paused" : "")} role="note" aria-label={`Sending on ${name}`}>
      <span>{name}: {modes.channel.disabled ? "paused — nothing is sent" : t.open.length ? "open — " + t.open.join(" · ") : "no free-form reply is possible now"}</span>
      {tags.length > 0 && (
        <label class="send-as">Send as{" "}
          <select value={sendAs} onChange={(e) => setSendAs((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">Reply (the mode that fits)</option>
            {tags.map((m) => <option key={m.mode} value={m.mode}>{m.name} (not promotional)</option>)}
          </select>
        </label>
      )}
      {t.closed.length > 0 && <ul>{t.closed.map((c, i) => <li key={i} class="muted">{c}</li>)}</ul>}
    </div>
  );
}

function NoteItem({ n }: { n: Note }) {
  return (
    <li class="note" data-note={n.id} tabIndex={0}>
      <span class="note-label">Private note · {who(n.author)}</span>
      <p class="text">{mentionParts(n.text, n.mentions.map((u) => u.handle)).map((x, i) => x.mention
        ? <strong key={i} class="mention">{x.text}</strong> : <span key={i}>{x.text}</span>)}</p>
      <time dateTime={n.created_at}>{new Date(n.created_at).toLocaleString([], { dateStyle: "short", timeStyle: "short" })}</time>
    </li>
  );
}

function ContactPanel({ biz, contactId, current, onOpen }: { biz: Business; contactId: string; current: string; onOpen(id: string): void }) {
  const [c, setC] = useState<ContactView | null>(null);
  const [notes, setNotes] = useState("");
  const [labels, setLabels] = useState("");
  const [key, setKey] = useState("");
  const [val, setVal] = useState("");
  const [msg, setMsg] = useState("");
  useEffect(() => {
    biz.contact(contactId).then((v) => { setC(v); setNotes(v.notes); setLabels(v.labels.join(", ")); })
      .catch((err) => setMsg(errText(err, "Cannot load the contact")));
  }, [contactId]);
  const save = async (ch: Parameters<Business["updateContact"]>[1], done = "Saved.") => {
    try {
      const v = await biz.updateContact(contactId, ch);
      setC((old) => ({ ...v, conversations: old?.conversations }));
      setMsg(done);
      return true;
    } catch (err) {
      setMsg(errText(err, "Not saved"));
      return false;
    }
  };
  if (!c) return <aside class="contact-panel" aria-label="Contact">{msg || "Loading…"}</aside>;
  return (
    <aside class="contact-panel" aria-label="Contact">
      <h3>{c.name}</h3>
      {c.user && <p class="muted">@{c.user.handle}</p>}
      <h4>Attributes</h4>
      <dl class="attrs">
        {Object.entries(c.attributes).map(([k, v]) => (
          <div key={k}><dt>{k}</dt><dd>{v}</dd><button class="link" aria-label={`Remove ${k}`} onClick={() => void save({ attributes: { [k]: null } })}>Remove</button></div>
        ))}
        {Object.keys(c.attributes).length === 0 && <div class="muted">None yet.</div>}
      </dl>
      <form class="attr-form" onSubmit={async (e) => {
        e.preventDefault();
        if (key.trim() && await save({ attributes: { [key.trim()]: val } })) { setKey(""); setVal(""); }
      }}>
        <label>Attribute<input value={key} placeholder="order_id" onInput={(e) => setKey(e.currentTarget.value)} /></label>
        <label>Value<input value={val} onInput={(e) => setVal(e.currentTarget.value)} /></label>
        <button type="submit">Add</button>
      </form>
      <form onSubmit={(e) => { e.preventDefault(); void save({ labels: parseLabels(labels) }); }}>
        <label>Contact labels<input value={labels} onInput={(e) => setLabels(e.currentTarget.value)} /></label>
        <button type="submit">Save contact labels</button>
      </form>
      <h4>Conversations</h4>
      <ul class="past">
        {(c.conversations ?? []).map((it) => (
          <li key={it.conversation_id}>
            <button class="link" aria-current={it.conversation_id === current} onClick={() => onOpen(it.conversation_id)}>
              {new Date(it.activity_at).toLocaleDateString()} · {it.status}{it.last_message?.text ? ` — ${it.last_message.text.slice(0, 40)}` : ""}
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={(e) => { e.preventDefault(); void save({ notes }, "Notes saved."); }}>
        <label>Notes about this contact<textarea rows={4} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} /></label>
        <button type="submit">Save notes</button>
      </form>
      {msg && <p role="status">{msg}</p>}
    </aside>
  );
}
