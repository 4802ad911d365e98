import { render } from "preact";
import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, Client, newClientID } from "./api";
import type { Button, BusinessMembership, Conversation, Me, Message, QuickReply, SyncEvent } from "./api";
import { Stream, StreamUnavailable } from "./stream";
import type { StreamStatus } from "./stream";
import {
  announcement, applyEvent, coalesce, dayLabel, deliveryState, emptyState, expireLocally, firstUnread, mergeList, mergeMessages, safeLink, sortConversations, splitLinks,
  systemLine, typingUsers,
} from "./state";
import { LegalHoldBanner, TimerMark, TimerPicker, ViewOnce } from "./disappearing";
import { NewGroup, Settings } from "./panels";
import { ExportButton } from "./exports";
import { AttachmentView, MediaImage } from "./media";
import { TeamInbox } from "./inbox";
import { iceBreakerPeer, quickReplyTarget, shownText } from "./rich";
import { Automated, Parts, SensitiveConfirm } from "./parts";
import { sensitiveQuestion } from "./sensitive";
import { BulkBar, Moderation, TriageNote } from "./moderation-ui";
import { isFiltered, sortRequests, toggle, whyFiltered } from "./moderation";
import type { SearchResult } from "./search";
import { Snippet } from "./snippet";
import { SubscribeLead, SubscribePage, subscribeToken } from "./subscribe";
import type { State } from "./state";

const TOKEN_KEY = "parley.token";
const folders = [["inbox", "Inbox"], ["requests", "Requests"], ["archived", "Archived"]] as const;

function App() {
  const [token, setToken] = useState(() => localStorage.getItem(TOKEN_KEY) ?? "");
  const client = useMemo(() => new Client(token), [token]);
  // notice is said on the sign-in screen after a sign-out (an account deletion's summary).
  const [notice, setNotice] = useState("");
  const signIn = (t: string) => { localStorage.setItem(TOKEN_KEY, t); setNotice(""); setToken(t); };
  const signOut = (said?: string) => { localStorage.removeItem(TOKEN_KEY); if (said) setNotice(said); setToken(""); };
  // A topic's opt-in link (/subscribe/{token}) asks to confirm once signed in.
  const [subscribe, setSubscribe] = useState(() => subscribeToken(location.pathname));
  const leaveSubscribe = () => { history.replaceState(null, "", "/"); setSubscribe(""); };
  if (!token) return <AuthScreen client={client} onAuth={signIn} notice={notice} lead={subscribe ? <SubscribeLead client={client} token={subscribe} /> : null} />;
  if (subscribe) return <SubscribePage client={client} token={subscribe} onDone={leaveSubscribe} onSignedOut={() => signOut()} />;
  return <Shell client={client} onSignOut={signOut} />;
}

function AuthScreen({ client, onAuth, notice, lead }: { client: Client; onAuth(token: string): void; notice?: string; lead?: ComponentChildren }) {
  const [mode, setMode] = useState<"in" | "up">("in");
  const [handle, setHandle] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  // challenge is set while the second step of a two-step login waits.
  const [challenge, setChallenge] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const auth = mode === "in" ? await client.login(handle, password) : await client.register(handle, password, name);
      if ("second_factor" in auth) setChallenge(auth.second_factor.challenge);
      else onAuth(auth.token);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Cannot reach the server");
    }
  };
  if (challenge) {
    return <SecondStep client={client} challenge={challenge} onAuth={onAuth} onBack={() => { setChallenge(""); setPassword(""); }} />;
  }
  return (
    <main class="auth">
      <h1>Parley</h1>
      {lead}
      {notice && <p class="notice" role="status">{notice}</p>}
      <div class="tabs" role="tablist" aria-label="Sign in or create an account" onKeyDown={(e) => {
        // Arrow keys move between the two tabs (the ARIA tabs pattern).
        if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
        const next = mode === "in" ? "up" : "in";
        setMode(next);
        document.getElementById("tab-" + next)?.focus();
      }}>
        <button role="tab" id="tab-in" aria-selected={mode === "in"} aria-controls="auth-form" tabIndex={mode === "in" ? 0 : -1} onClick={() => setMode("in")}>Sign in</button>
        <button role="tab" id="tab-up" aria-selected={mode === "up"} aria-controls="auth-form" tabIndex={mode === "up" ? 0 : -1} onClick={() => setMode("up")}>Create account</button>
      </div>
      <form id="auth-form" role="tabpanel" aria-labelledby={"tab-" + mode} onSubmit={submit}>
        <label>Handle<input name="handle" autocomplete="username" value={handle} onInput={(e) => setHandle(e.currentTarget.value)} required /></label>
        {mode === "up" && <label>Display name<input name="display_name" value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>}
        <label>Password<input name="password" type="password" autocomplete={mode === "in" ? "current-password" : "new-password"} value={password} onInput={(e) => setPassword(e.currentTarget.value)} required /></label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit">{mode === "in" ? "Sign in" : "Create account"}</button>
      </form>
    </main>
  );
}

/** SecondStep asks for the code of a two-step login. */
function SecondStep({ client, challenge, onAuth, onBack }: { client: Client; challenge: string; onAuth(token: string): void; onBack(): void }) {
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      onAuth((await client.completeLogin(challenge, code)).token);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && err.code === "unauthorized") { onBack(); return; }
      setError(err instanceof ApiError ? err.message : "Cannot reach the server");
    }
  };
  return (
    <main class="auth">
      <h1>Parley</h1>
      <form aria-label="Two-factor authentication" onSubmit={submit}>
        <label>Code from your authenticator app, or a recovery code
          <input name="code" autocomplete="one-time-code" inputMode="text" autoFocus value={code} onInput={(e) => setCode(e.currentTarget.value)} required />
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit">Verify</button>
        <button type="button" class="link" onClick={onBack}>Back</button>
      </form>
    </main>
  );
}

/** Banner says when the stream is down. The live region stays in the page
 * so that screen readers announce its text when it appears. */
function Banner({ status }: { status: StreamStatus }) {
  return <div class="banner" role="status" aria-live="polite">{status === "live" ? "" : status === "offline" ? "Offline — reconnecting…" : "Connecting…"}</div>;
}

/** Badge is an unread count that reads as "3 unread". */
function Badge({ n }: { n: number }) {
  return <span class="badge">{n}<span class="visually-hidden"> unread</span></span>;
}

function title(c: Conversation, me: string): string {
  if (c.kind === "group") return c.title || "Group";
  const other = c.members?.find((m) => m.user.id !== me)?.user;
  return other ? other.display_name || other.handle : "Conversation";
}

function Shell({ client, onSignOut }: { client: Client; onSignOut(said?: string): void }) {
  const [me, setMe] = useState<Me | null>(null);
  const [state, setState] = useState<State>(emptyState);
  const [folder, setFolder] = useState<string>("inbox");
  const [open, setOpen] = useState<string | null>(null);
  const [status, setStatus] = useState<StreamStatus>("connecting");
  const [filter, setFilter] = useState("");
  // Message search: the query typed, the results shown (null: none), and
  // the message a result opened, to bring into view.
  const [query, setQuery] = useState("");
  // truncated: a relevance search ranked only its 100 newest matches.
  const [found, setFound] = useState<{ q: string; sort?: "recent"; items: SearchResult[]; next?: string; truncated?: boolean; error?: string } | null>(null);
  const [jump, setJump] = useState<string | null>(null);
  const [newHandle, setNewHandle] = useState("");
  const [error, setError] = useState("");
  const [showSettings, setShowSettings] = useState(false);
  const [showModeration, setShowModeration] = useState(false);
  // In the requests folder: the requests themselves or the hidden
  // "filtered" ones, and the requests selected for a bulk action.
  const [sub, setSub] = useState<"requests" | "filtered">("requests");
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [notify, setNotify] = useState(typeof Notification !== "undefined" ? Notification.permission : "denied");
  // The team inboxes the user works in, and which mode is on screen:
  // "chats" or a business's id.
  const [businesses, setBusinesses] = useState<BusinessMembership[]>([]);
  const [mode, setMode] = useState("chats");
  const bizIDs = useRef(new Set<string>());
  const settingsBtn = useRef<HTMLButtonElement>(null);
  // Set when the user opens a conversation: it then takes the focus (not
  // when it comes back on screen as settings close).
  const focusNext = useRef(false);
  const openConversation = (id: string) => { focusNext.current = true; setOpen(id); };
  const listeners = useRef(new Set<(ev: SyncEvent) => void>());
  const subscribe = (fn: (ev: SyncEvent) => void) => { listeners.current.add(fn); return () => { listeners.current.delete(fn); }; };
  const emit = (ev: SyncEvent) => { for (const fn of [...listeners.current]) fn(ev); };
  const loadBusinesses = () => client.businesses().then((r) => {
    bizIDs.current = new Set(r.items.map((b) => b.business.id));
    setBusinesses(r.items);
    setMode((m) => (m === "chats" || bizIDs.current.has(m) ? m : "chats"));
  }).catch(() => {});
  const openRef = useRef<string | null>(null);
  openRef.current = open;
  const meRef = useRef("");
  const streamRef = useRef<Stream | null>(null);

  // loadLists fetches the lists again. The stale mark is cleared before the
  // fetch, so an event that arrives while it runs marks the list stale again
  // and one more fetch follows (coalesce); fetches never overlap. (Clearing
  // it after the fetch lost a conversation created while an earlier fetch
  // was under way.)
  const loadLists = useMemo(() => coalesce(async () => {
    setState((s) => (s.listStale ? { ...s, listStale: false } : s));
    const all: Conversation[] = [];
    for (const [f] of folders) all.push(...(await client.conversations(f)).items);
    all.push(...(await client.conversations("requests", true)).items);
    setState((s) => ({ ...s, conversations: mergeList(s.conversations, all) }));
  }), [client]);

  useEffect(() => {
    let done = false;
    client.me().then((m) => {
      if (done) return;
      setMe(m);
      meRef.current = m.id;
      void loadLists();
      void loadBusinesses();
      const st = new Stream(client, {
        event: (ev) => {
          // A business's changes (as) belong to its team inbox, not to the
          // user's own chats; a business new to this list means the user
          // was just added to its team.
          if (ev.as && !bizIDs.current.has(ev.as)) void loadBusinesses();
          if (ev.type === "inbox.removed") void loadBusinesses();
          emit(ev);
          if (ev.as) return;
          setState((s) => applyEvent(s, ev, meRef.current, openRef.current));
          const m = ev.message;
          if (ev.type === "message.created" && m && m.sender.id !== meRef.current) {
            // This device has it: tell the sender's "Delivered".
            st.send({ type: "delivered", conversation_id: m.conversation_id, seq: m.seq });
            if (document.hidden && typeof Notification !== "undefined" && Notification.permission === "granted") {
              // Text only: a notification body is never markup.
              new Notification(m.sender.display_name || m.sender.handle, { body: m.text ?? `[${m.kind}]`, tag: m.conversation_id });
            }
          }
        },
        resync: () => { void loadLists(); void loadBusinesses(); emit({ type: "resync", created_at: new Date().toISOString() }); },
        status: setStatus,
        revoked: () => onSignOut(),
      });
      streamRef.current = st;
      st.start();
    }).catch((e) => { if (e instanceof ApiError && e.status === 401) onSignOut(); });
    return () => { done = true; streamRef.current?.stop(); };
  }, [client]);

  useEffect(() => { if (state.listStale) void loadLists(); }, [state.listStale]);

  const unread = Object.values(state.conversations).reduce((n, c) => n + (c.folder !== "archived" ? c.unread_count : 0), 0);
  useEffect(() => { document.title = unread > 0 ? `(${unread}) Parley` : "Parley"; }, [unread]);

  if (!me) return <main class="loading">Loading…</main>;
  const modes = businesses.length > 0 && (
    <nav class="modes" aria-label="Mode">
      <button aria-current={mode === "chats"} onClick={() => setMode("chats")}>Chats</button>
      {businesses.map((b) => (
        <button key={b.business.id} aria-current={mode === b.business.id} onClick={() => setMode(b.business.id)}>
          Team inbox: {b.business.display_name || b.business.handle}
        </button>
      ))}
    </nav>
  );
  const membership = businesses.find((b) => b.business.id === mode);
  if (membership) {
    return (
      <>
        <Banner status={status} />
        <TeamInbox key={membership.business.id} client={client} me={me} membership={membership} subscribe={subscribe} modes={modes}
          onRemoved={() => { setMode("chats"); void loadBusinesses(); }} />
      </>
    );
  }
  const inFolder = Object.values(state.conversations).filter((c) => c.folder === folder);
  const filteredCount = inFolder.filter(isFiltered).length;
  const list = (folder === "requests" ? sortRequests(inFolder.filter((c) => isFiltered(c) === (sub === "filtered"))) : sortConversations(inFolder))
    .filter((c) => title(c, me.id).toLowerCase().includes(filter.toLowerCase()));
  const startDM = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const c = await client.startDirect(newHandle.trim());
      setNewHandle("");
      await loadLists();
      setFolder(c.folder);
      openConversation(c.id);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Cannot start the conversation");
    }
  };
  // Results found through a business the user works for (as) belong to
  // its team inbox; the chats list shows the user's own.
  // searchSeq numbers the searches: an answer that comes after a newer
  // search was asked (another query, "Show all", Clear) is dropped.
  const searchSeq = useRef(0);
  const search = async (q: string, cursor?: string, sort?: "recent") => {
    const seq = ++searchSeq.current;
    try {
      const page = await client.search(q, { cursor, sort });
      if (seq !== searchSeq.current) return;
      const items = page.items.filter((r) => !r.as);
      setFound((f) => ({ q, sort, items: cursor && f ? [...f.items, ...items] : items, next: page.next_cursor, truncated: page.truncated }));
    } catch (err) {
      if (seq !== searchSeq.current) return;
      setFound({ q, sort, items: [], error: err instanceof ApiError ? err.message : "Search failed" });
    }
  };
  const openResult = (r: SearchResult) => {
    const c = state.conversations[r.message.conversation_id];
    if (c) setFolder(c.folder);
    setShowSettings(false);
    setJump(r.message.id);
    openConversation(r.message.conversation_id);
  };
  const current = open ? state.conversations[open] : undefined;
  return (
    <div class="shell">
      <Banner status={status} />
      <aside class="sidebar" aria-label="Conversations">
        <header>
          <strong>{me.display_name || me.handle}</strong>
          <span>
            <button class="link" ref={settingsBtn} aria-current={showSettings} onClick={() => { setShowModeration(false); setShowSettings(true); }}>Settings</button>
            {me.server_admin && <button class="link" aria-current={showModeration} onClick={() => { setShowSettings(false); setShowModeration(true); }}>Reports</button>}
            <button class="link" onClick={async () => { try { await client.logout(); } finally { onSignOut(); } }}>Sign out</button>
          </span>
        </header>
        {modes}
        {notify === "default" && <button class="link" onClick={async () => setNotify(await Notification.requestPermission())}>Turn on notifications</button>}
        <nav class="folders" aria-label="Folders">
          {folders.map(([f, label]) => {
            const n = Object.values(state.conversations).filter((c) => c.folder === f && !isFiltered(c)).reduce((a, c) => a + c.unread_count, 0);
            return <button key={f} aria-current={folder === f} onClick={() => setFolder(f)}>{label}{n > 0 && <Badge n={n} />}</button>;
          })}
        </nav>
        <form class="new" onSubmit={startDM}>
          <label>New message to<input name="to" placeholder="handle" value={newHandle} onInput={(e) => setNewHandle(e.currentTarget.value)} /></label>
          <button type="submit">Start</button>
        </form>
        {error && <p class="error" role="alert">{error}</p>}
        <details class="group-form" onKeyDown={(e) => {
          // Escape folds the form away and leaves the focus on its summary.
          const d = e.currentTarget;
          if (e.key === "Escape" && d.open) { e.preventDefault(); d.open = false; d.querySelector("summary")?.focus(); }
        }}><summary>New group</summary>
          <NewGroup client={client} onCreated={async (id) => { await loadLists(); setFolder("inbox"); openConversation(id); }} />
        </details>
        <label class="search">Search<input type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} /></label>
        {folder === "requests" && (
          <>
            <nav class="subfolders" aria-label="Requests">
              <button aria-current={sub === "requests"} onClick={() => { setSub("requests"); setSelected(new Set()); }}>Requests</button>
              <button aria-current={sub === "filtered"} onClick={() => { setSub("filtered"); setSelected(new Set()); }}>Filtered ({filteredCount})</button>
            </nav>
            <BulkBar client={client} selected={selected} onDone={() => { setSelected(new Set()); setOpen(null); void loadLists(); }} />
          </>
        )}
        <form class="msg-search" role="search" onSubmit={(e) => { e.preventDefault(); if (query.trim()) void search(query.trim()); }}>
          <label>Search messages<input type="search" name="q" maxLength={256} value={query} onInput={(e) => setQuery(e.currentTarget.value)} /></label>
          <button type="submit">Find</button>
        </form>
        {found && (
          <section class="results" aria-label="Search results">
            <header>
              <span role="status">{found.error ?? (found.items.length === 0 ? "No messages found." : `Messages with “${found.q}”${found.sort === "recent" ? ", newest first" : ""}`)}</span>
              <button class="link" onClick={() => { searchSeq.current++; setFound(null); setQuery(""); }}>Clear</button>
            </header>
            {found.truncated && (
              <p class="muted search-truncated">Best matches among the 100 newest. <button class="link" onClick={() => void search(found.q, undefined, "recent")}>Show all, newest first</button></p>
            )}
            <ul>
              {found.items.map((r) => {
                const c = state.conversations[r.message.conversation_id];
                return (
                  <li key={r.message.id}>
                    <button class="result" data-message={r.message.id} onClick={() => openResult(r)}>
                      <span class="name">{c ? title(c, me.id) : "Conversation"} · {r.message.sender.display_name || r.message.sender.handle}</span>
                      <Snippet parts={r.snippet} />
                    </button>
                  </li>
                );
              })}
            </ul>
            {found.next && <button class="link" onClick={() => void search(found.q, found.next, found.sort)}>More results</button>}

          </section>
        )}
        <ul class="list" aria-label={`${folders.find(([f]) => f === folder)?.[1]} conversations`}>
          {list.map((c) => (
            <li key={c.id} class={folder === "requests" ? "selectable" : ""}>
              {folder === "requests" && (
                <input type="checkbox" aria-label={`Select ${title(c, me.id)}`} checked={selected.has(c.id)} onChange={() => setSelected((s) => toggle(s, c.id))} />
              )}
              <button class={"conv" + (c.id === open ? " open" : "")} aria-current={c.id === open} onClick={() => { setShowSettings(false); openConversation(c.id); }} data-conversation={c.id}>
                <span class="name">{title(c, me.id)}</span>
                {c.unread_count > 0 && <Badge n={c.unread_count} />}
                <span class="preview">{isFiltered(c) ? whyFiltered(c.triage) : c.request ? "Message request" : c.last_message?.deleted ? "Unsent" : c.last_message?.text ?? (c.last_message ? `[${c.last_message.kind}]` : "")}</span>
              </button>
            </li>
          ))}
          {list.length === 0 && <li class="empty">Nothing here yet.</li>}
        </ul>
      </aside>
      <main class="pane">
        {showModeration ? <Moderation client={client} onClose={() => setShowModeration(false)} />
          : showSettings ? <Settings client={client} me={me} onSaved={setMe} onClose={() => { setShowSettings(false); setTimeout(() => settingsBtn.current?.focus()); }}
            onDeleted={(summary) => onSignOut(summary)} />
          : current ? <ConversationView key={current.id} client={client} me={me} conv={current} state={state} setState={setState} stream={streamRef.current}
              claimFocus={() => { const f = focusNext.current; focusNext.current = false; return f; }} onGone={() => { setOpen(null); void loadLists(); }}
              jumpTo={jump} onJumped={() => setJump(null)} />
          : <p class="placeholder">Choose a conversation.</p>}
      </main>
    </div>
  );
}

interface ViewProps {
  client: Client; me: Me; conv: Conversation; state: State; setState(f: (s: State) => State): void;
  stream: Stream | null; onGone(): void;
  /** claimFocus says (once) whether the user just opened the conversation */
  claimFocus(): boolean;
  /** jumpTo is a message (a search result) to bring into view once loaded */
  jumpTo?: string | null; onJumped?(): void;
}

type SendBody = { text?: string; kind?: string; attachments?: string[]; reply_to?: string; quick_reply?: string; view_once?: boolean };

/** sendMessage sends on the live stream, without a request of its own,
 * and over HTTP when the stream cannot answer: not connected, dropped or
 * late before the answer, or a refusal — with the same client_id, so a
 * send that went through is answered with its message, and a refusal
 * comes back whole (the sensitive-data question, the field at fault). */
function sendMessage(client: Client, stream: Stream | null, convID: string, body: Parameters<Client["send"]>[1]): Promise<Message> {
  // One conversation's messages go one after another: a send that falls
  // back to HTTP after a silent stream must not be overtaken by the next
  // one on the stream (the server keeps the order of one transport only).
  const prev = sendChains.get(convID) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(() => sendOnce(client, stream, convID, body));
  const tail = next.catch(() => undefined);
  sendChains.set(convID, tail);
  void tail.then(() => { if (sendChains.get(convID) === tail) sendChains.delete(convID); });
  return next;
}

const sendChains = new Map<string, Promise<unknown>>();

async function sendOnce(client: Client, stream: Stream | null, convID: string, body: Parameters<Client["send"]>[1]): Promise<Message> {
  if (stream) {
    try {
      return await stream.sendMessage(convID, body);
    } catch (err) {
      if (!(err instanceof StreamUnavailable)) throw err;
    }
  }
  return client.send(convID, body);
}

function ConversationView({ client, me, conv, state, setState, stream, onGone, claimFocus, jumpTo, onJumped }: ViewProps) {
  const [exporting, setExporting] = useState(false);
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const [older, setOlder] = useState(true);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  // A send the server held for sensitive data, waiting for the sender.
  const [held, setHeld] = useState<{ body: SendBody; client_id: string; question: string; reply: Message | null } | null>(null);
  const [confirming, setConfirming] = useState(false);
  // The next picture or file goes as view-once media.
  const [viewOnce, setViewOnce] = useState(false);
  const topRef = useRef<HTMLLIElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const recorder = useRef<MediaRecorder | null>(null);
  const [recording, setRecording] = useState(false);
  const canRecord = typeof MediaRecorder !== "undefined" && !!navigator.mediaDevices?.getUserMedia;
  const listRef = useRef<HTMLOListElement>(null);
  const typingSent = useRef(0);
  const messages = state.messages[conv.id] ?? [];
  const [, tick] = useState(0);
  // The reader's place when the conversation was opened: the "New
  // messages" divider stays above the first message after it until the
  // conversation is closed.
  const [openedAt] = useState(() => ({ read: conv.read_seq, last: conv.last_seq }));
  const unreadID = firstUnread(messages, openedAt.read, openedAt.last, me.id);
  // What the live region last said about a message that arrived.
  const [said, setSaid] = useState("");
  const placed = useRef(false);
  const seenLast = useRef("");
  // Opening a conversation puts the focus where one writes (or on its
  // title for a request, which has no composer).
  useEffect(() => { if (claimFocus()) (inputRef.current ?? document.getElementById("conv-title"))?.focus(); }, []);

  useEffect(() => {
    client.messages(conv.id).then((p) => {
      setState((s) => ({ ...s, messages: { ...s.messages, [conv.id]: mergeMessages(s.messages[conv.id], p.items) } }));
      setOlder(p.items.length >= 50);
    }).catch(() => setError("Cannot load the history"));
    const t = setInterval(() => tick((n) => n + 1), 2000); // typing indicators lapse
    return () => clearInterval(t);
  }, [conv.id]);

  // Only a window of the loaded history is in the page (WINDOW messages,
  // `below` of the newest hidden when the reader has scrolled far up), so
  // a conversation of any length costs the same to show and to scroll.
  const [below, setBelow] = useState(0);
  const end = messages.length - Math.min(below, messages.length);
  const start = Math.max(0, end - WINDOW);
  const shown = messages.slice(start, end);
  const bottomRef = useRef<HTMLLIElement>(null);
  // Before the window moves, remember where a message on screen was, and
  // after, put it back there: the reader's place does not jump.
  const anchor = useRef<{ id: string; top: number } | null>(null);
  const keepPlace = () => {
    const list = listRef.current;
    const el = list?.querySelector<HTMLElement>(".message[data-id]");
    if (list && el) anchor.current = { id: el.dataset.id!, top: el.offsetTop - list.scrollTop };
  };
  useLayoutEffect(() => {
    const list = listRef.current, a = anchor.current;
    anchor.current = null;
    const el = a && list?.querySelector<HTMLElement>(`.message[data-id="${CSS.escape(a.id)}"]`);
    if (list && a && el) list.scrollTop = el.offsetTop - a.top;
  }, [start, end]);

  const last = messages[messages.length - 1];
  useEffect(() => {
    // The first time, the divider (if any) comes into view; afterwards
    // the newest message does, unless the reader went far up.
    const divider = !placed.current && listRef.current?.querySelector(".unread-divider");
    if (divider) divider.scrollIntoView({ block: "start" });
    else if (below === 0) listRef.current?.lastElementChild?.scrollIntoView({ block: "end" });
    if (last && !conv.request && last.seq > conv.read_seq) void client.markRead(conv.id, last.seq).catch(() => {});
    // A message from someone else that arrives while the conversation is
    // open is read out (not the history shown on opening).
    if (last && placed.current && seenLast.current !== last.id && last.sender.id !== me.id && last.kind !== "system") setSaid(announcement(last));
    if (last) { placed.current = true; seenLast.current = last.id; }
  }, [last?.id]);

  // A search result opened here: once its message is on the page, it
  // comes into view with the focus. (One older than the loaded history
  // is not fetched: the conversation just opens.)
  useEffect(() => {
    if (!jumpTo) return;
    const el = listRef.current?.querySelector<HTMLElement>(`.message[data-id="${CSS.escape(jumpTo)}"]`);
    if (!el) return;
    // After the effect that shows the newest message on opening.
    setTimeout(() => { el.scrollIntoView({ block: "center" }); el.focus(); el.classList.add("found"); onJumped?.(); });
  }, [jumpTo, messages.length]);

  // Reaching the top shows earlier messages, fetching them when needed;
  // reaching the bottom of a window moved up brings the newer ones back.
  useEffect(() => {
    const top = topRef.current, bottom = bottomRef.current;
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        keepPlace();
        if (e.target === top) {
          if (start > 0) setBelow((b) => Math.min(b + STEP, messages.length - WINDOW));
          else if (older) void loadOlder();
        } else {
          setBelow((b) => Math.max(0, b - STEP));
        }
      }
    });
    if (top) io.observe(top);
    if (bottom) io.observe(bottom);
    return () => io.disconnect();
  }, [start, end, older, messages.length]);

  const loadOlder = async () => {
    const first = messages[0];
    if (!first || first.seq <= 1) return setOlder(false);
    const p = await client.messages(conv.id, first.seq);
    setOlder(p.items.length >= 50);
    setState((s) => ({ ...s, messages: { ...s.messages, [conv.id]: mergeMessages(s.messages[conv.id], p.items) } }));
  };

  // send answers true when sent, "held" when the server wants the sender
  // to confirm sensitive data (the same client_id sends it then).
  const send = async (body: SendBody, reply: Message | null = null, client_id = newClientID(), confirm = false): Promise<boolean | "held"> => {
    setError("");
    try {
      const m = await sendMessage(client, stream, conv.id, { client_id, ...body, ...(confirm ? { confirm_sensitive: true } : {}) });
      setState((s) => ({ ...s, messages: { ...s.messages, [conv.id]: mergeMessages(s.messages[conv.id], [m]) } }));
      return true;
    } catch (err) {
      const question = sensitiveQuestion(err);
      if (question) { setHeld({ body, client_id, question, reply }); return "held"; }
      setError(err instanceof ApiError ? err.message : "Not sent: the server cannot be reached");
      return false;
    }
  };
  const sendAnyway = async () => {
    if (!held) return;
    setConfirming(true);
    const ok = await send(held.body, held.reply, held.client_id, true);
    setConfirming(false);
    if (ok === true) { setHeld(null); inputRef.current?.focus(); }
  };
  const editHeld = () => {
    if (!held) return;
    setText((cur) => cur || (held.body.text ?? ""));
    setReplyTo((cur) => cur ?? held.reply);
    setHeld(null);
    inputRef.current?.focus();
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    // The field itself, not state that may not have caught up with the
    // last keystroke yet.
    const text = inputRef.current?.value ?? "";
    if (!text.trim()) return;
    if (editing) {
      try {
        let m: Message;
        try {
          m = await client.edit(conv.id, editing.id, text);
        } catch (err) {
          // The guard checks edits too: ask, then save with the confirmation.
          const question = sensitiveQuestion(err);
          if (!question) throw err;
          if (!window.confirm(question.replace("Send anyway?", "Save anyway?"))) return;
          m = await client.edit(conv.id, editing.id, text, true);
        }
        setState((s) => ({ ...s, messages: { ...s.messages, [conv.id]: mergeMessages(s.messages[conv.id], [m]) } }));
        setEditing(null);
        setText("");
      } catch (err) {
        setError(err instanceof ApiError ? err.message : "Not edited");
      }
      return;
    }
    // The composer empties at once, so that what is typed while the send
    // is in flight is kept; a failed send puts the text back.
    const body = text;
    const reply = replyTo;
    setText("");
    setReplyTo(null);
    stream?.send({ type: "typing", conversation_id: conv.id, typing: false });
    typingSent.current = 0; // the next keystroke starts a new typing spell
    if ((await send(reply ? { text: body, reply_to: reply.id } : { text: body }, reply)) === false) {
      setText((cur) => cur || body);
      setReplyTo((cur) => cur ?? reply);
    }
  };
  const onType = (v: string) => {
    setText(v);
    const now = Date.now();
    if (v && now - typingSent.current > 3000 && stream?.send({ type: "typing", conversation_id: conv.id, typing: true })) {
      typingSent.current = now;
    }
  };
  const attach = async (files: FileList | File[]) => {
    setError("");
    for (const f of Array.from(files).slice(0, 10)) {
      try {
        const up = await client.upload(f, f.name);
        await send({ kind: up.kind, attachments: [up.id!], ...(viewOnce ? { view_once: true } : {}) });
      } catch (err) {
        setError(err instanceof ApiError ? err.message : "Upload failed");
      }
    }
    setViewOnce(false);
  };

  // A voice note: record from the microphone, then upload and send it as
  // audio. Browsers that cannot record simply show no button.
  const toggleRecording = async () => {
    if (recorder.current) {
      recorder.current.stop();
      return;
    }
    setError("");
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"].find((t) => MediaRecorder.isTypeSupported(t));
      const rec = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      const chunks: Blob[] = [];
      rec.ondataavailable = (e) => { if (e.data.size > 0) chunks.push(e.data); };
      rec.onstop = async () => {
        stream.getTracks().forEach((t) => t.stop());
        recorder.current = null;
        setRecording(false);
        const blob = new Blob(chunks, { type: rec.mimeType });
        try {
          const up = await client.upload(blob, "voice-note" + (rec.mimeType.includes("ogg") ? ".ogg" : ".webm"), "audio");
          await send({ kind: "audio", attachments: [up.id!] });
        } catch (err) {
          setError(err instanceof ApiError ? err.message : "The voice note was not sent");
        }
      };
      recorder.current = rec;
      rec.start();
      setRecording(true);
    } catch {
      setError("The microphone is not available");
    }
  };
  const mineLast = [...messages].reverse().find((m) => m.sender.id === me.id && m.kind !== "system");
  const delivery = mineLast ? deliveryState(state, conv.id, mineLast.seq, (conv.members ?? []).filter((m) => m.user.id !== me.id).map((m) => m.read_seq), me.read_receipts !== false) : "";
  // Chips answer the latest message only; ice breakers open an empty
  // conversation with a business.
  const chipsOn = quickReplyTarget(messages, me.id);
  const peer = iceBreakerPeer(conv, messages, me.id);
  const [ice, setIce] = useState<string[]>([]);
  useEffect(() => {
    setIce([]);
    if (peer) client.profile(peer).then((p) => setIce(p.ice_breakers ?? [])).catch(() => {});
  }, [peer]);
  const actions: MessageActions = {
    quick: (q) => void send({ text: q.title, quick_reply: q.payload }),
    postback: (m, b) => client.postback(conv.id, m.id, b.payload ?? ""),
    reply: (m) => { setEditing(null); setReplyTo(m); document.getElementById("composer-text")?.focus(); },
    edit: (m) => { setReplyTo(null); setEditing(m); setText(m.text ?? ""); document.getElementById("composer-text")?.focus(); },
    redact: async (m) => {
      if (!confirm("Redact this message? Everyone will see \u201cThis message was redacted\u201d instead; its text, files and edit history are deleted.")) return;
      try { await client.redact(conv.id, m.id); } catch (err) { setError(err instanceof ApiError ? err.message : "Not redacted"); }
    },
    unsend: async (m) => {
      if (!confirm("Unsend this message for everyone?")) return;
      try { await client.unsend(conv.id, m.id); } catch (err) { setError(err instanceof ApiError ? err.message : "Not unsent"); }
    },
    react: async (m, emoji) => {
      const mine = m.reactions?.some((r) => r.emoji === emoji && r.me) ?? false;
      try { await client.react(conv.id, m.id, emoji, !mine); } catch (err) { setError(err instanceof ApiError ? err.message : "Reaction failed"); }
    },
  };
  const typers = typingUsers(state, conv.id).map((id) => conv.members?.find((m) => m.user.id === id)?.user.display_name ?? "Someone");
  let lastDay = "";
  return (
    <section class="conversation" aria-label={title(conv, me.id)}
      onDragOver={(e) => e.preventDefault()} onDrop={(e) => { e.preventDefault(); if (e.dataTransfer?.files) void attach(e.dataTransfer.files); }}>
      <header>
        <h2 id="conv-title" tabIndex={-1}>{title(conv, me.id)}</h2>
        {conv.kind === "group" && <span class="members">{conv.member_count} members</span>}
        {conv.kind === "direct" && conv.members?.some((m) => m.user.id !== me.id && state.online[m.user.id]) && <span class="presence">Active now</span>}
        {conv.kind === "group" && !conv.request && <button class="link" onClick={async () => { if (confirm("Leave this group?")) { await client.leave(conv.id); onGone(); } }}>Leave</button>}
        <TimerPicker client={client} conv={conv} onError={setError} />
        {!conv.request && <button class="link" aria-expanded={exporting} onClick={() => setExporting((v) => !v)}>Export</button>}
      </header>
      {exporting && <ExportButton key={conv.id} client={client} label="Export conversation" request={{ scope: "conversation", conversation_id: conv.id }} />}
      {conv.legal_hold && <LegalHoldBanner />}
      {conv.request && (
        <div class="request" role="region" aria-label="Message request">
          <p>This is a message request. Media is hidden and links are not clickable until you accept.</p>
          <TriageNote triage={conv.triage} />
          <button onClick={async () => { await client.accept(conv.id); setState((s) => ({ ...s, listStale: true })); }}>Accept</button>
          <button onClick={async () => { await client.decline(conv.id); onGone(); }}>Decline</button>
          {conv.kind === "direct" && <button onClick={async () => { await client.reportSpam(conv.id); onGone(); }}>Report spam</button>}
          <button onClick={async () => { const o = conv.members?.find((m) => m.user.id !== me.id); if (o) { await client.block(o.user.handle); onGone(); } }}>Block</button>
        </div>
      )}
      <ol class="messages" ref={listRef} aria-label="Messages">
        {(older || start > 0) && messages.length > 0 && <li class="older" ref={topRef}><button onClick={() => { keepPlace(); if (start > 0) setBelow((b) => Math.min(b + STEP, messages.length - WINDOW)); else void loadOlder(); }}>Earlier messages</button></li>}
        {shown.map((m) => {
          const day = dayLabel(m.created_at);
          const sep = day !== lastDay ? (lastDay = day) : "";
          return [
            sep && <li class="day" key={"d" + m.id}>{sep}</li>,
            m.id === unreadID && <li class="unread-divider" key="unread"><span role="separator" aria-label="New messages">New messages</span></li>,
            <MessageItem key={m.id} m={expireLocally(m, !!conv.legal_hold)} mine={m.sender.id === me.id} client={client} request={conv.request} actions={actions} chips={m.id === chipsOn} />,
          ];
        })}
        {below > 0 && <li class="newer" ref={bottomRef}><button onClick={() => { setBelow(0); anchor.current = null; }}>Jump to the latest</button></li>}
      </ol>
      <div class="status-line" aria-live="polite">
        {typers.length > 0 ? `${typers.join(", ")} typing…` : delivery}
      </div>
      <div class="visually-hidden" aria-live="polite" data-testid="new-message-live">{said}</div>
      {error && <p class="error" role="alert">{error}</p>}
      {held && <SensitiveConfirm question={held.question} busy={confirming} onSend={() => void sendAnyway()} onEdit={editHeld} />}
      {(replyTo || editing) && (
        <div class="composer-mode" role="status">
          {replyTo ? `Replying to ${replyTo.sender.display_name || replyTo.sender.handle}: ${(replyTo.text ?? "").slice(0, 80)}` : "Editing your message"}
          <button class="link" onClick={() => { setReplyTo(null); setEditing(null); setText(""); }}>Cancel</button>
        </div>
      )}
      {peer && ice.length > 0 && (
        <div class="ice-breakers" role="group" aria-label="Suggested questions">
          <span class="muted">Ask {title(conv, me.id)}:</span>
          {ice.map((q) => <button key={q} type="button" onClick={() => void send({ text: q })}>{q}</button>)}
        </div>
      )}
      {!conv.request && (
        <form class="composer" onSubmit={submit}>
          <button type="button" class={"view-once-toggle" + (viewOnce ? " on" : "")} aria-pressed={viewOnce} title="Send the next picture or file as view once"
            onClick={() => setViewOnce((v) => !v)}>View once</button>
          <label class="file">Attach<input type="file" class="visually-hidden" multiple onChange={(e) => { const f = e.currentTarget.files; if (f) void attach(f); e.currentTarget.value = ""; }} /></label>
          {canRecord && <button type="button" class={recording ? "recording" : ""} aria-pressed={recording} onClick={() => void toggleRecording()}>{recording ? "Stop and send" : "Record"}</button>}
          <label class="visually-hidden" for="composer-text">Message</label>
          <textarea id="composer-text" ref={inputRef} name="message" rows={1} value={text} placeholder="Message…"
            onInput={(e) => onType(e.currentTarget.value)}
            onPaste={(e) => { const f = e.clipboardData?.files; if (f && f.length) { e.preventDefault(); void attach(f); } }}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); void submit(e); }
              if (e.key === "Escape" && (replyTo || editing)) { e.preventDefault(); setReplyTo(null); setEditing(null); setText(""); }
            }} />
          <button type="submit">Send</button>
        </form>
      )}
    </section>
  );
}

interface MessageActions {
  /** quick sends a quick reply: its title as text, with its payload */
  quick(q: QuickReply): void;
  /** postback taps a postback button of someone else's message */
  postback(m: Message, b: Button): Promise<void>;
  reply(m: Message): void;
  edit(m: Message): void;
  unsend(m: Message): void;
  redact(m: Message): void;
  react(m: Message, emoji: string): void;
}

const quickReactions = ["👍", "❤️", "😂"];

/** WINDOW messages are in the page at most; STEP is how far it moves. */
const WINDOW = 150;
const STEP = 50;

function MessageItem({ m, mine, client, request, actions, chips }: { m: Message; mine: boolean; client: Client; request: boolean; actions: MessageActions; chips: boolean }) {
  if (m.kind === "system") return <li class="system">{systemLine(m)}</li>;
  const text = shownText(m);
  return (
    <li class={"message" + (mine ? " mine" : "")} data-seq={m.seq} data-id={m.id} tabIndex={0}>
      <span class="sender">{m.sender.display_name || m.sender.handle}{m.agent_name ? ` · ${m.agent_name}` : ""}{m.automated && <Automated />}</span>
      {m.reply_to && <blockquote class="reply">{m.reply_to.deleted ? "Unsent message" : m.reply_to.text ?? "A message"}</blockquote>}
      {m.deleted ? <em class="unsent">{m.expired ? "Message expired" : "Message unsent"}</em> : m.redacted ? <em class="unsent">{m.text}</em> : (
        <div class="body">
          {text && <p class="text">{splitLinks(text).map((part, i) => part.href && !request
            ? <a key={i} href={part.href} target="_blank" rel="noopener noreferrer nofollow">{part.text}</a>
            : <span key={i}>{part.text}</span>)}</p>}
          {m.attachments?.map((a, i) => m.view_once && !a.hidden && a.id
            ? <ViewOnce key={a.id} m={m} a={a} mine={mine} client={client} />
            : <AttachmentView key={a.id ?? i} a={a} client={client} />)}
          {m.card && !request && safeLink(m.card.url) && (
            <a class="card" href={safeLink(m.card.url)!} target="_blank" rel="noopener noreferrer nofollow">
              {m.card.image && <MediaImage client={client} id={m.card.image.id} alt="" />}
              <strong>{m.card.title}</strong>
              {m.card.description && <span>{m.card.description}</span>}
              {m.card.site_name && <small>{m.card.site_name}</small>}
            </a>
          )}
          {/* Buttons and links stay inert in a request, like its links. */}
          <Parts m={m} follow={!request} tap={!mine && !request ? (b) => actions.postback(m, b) : undefined} />
          {/* Choices answer the latest message only (a rating request). */}
          {chips && !request && m.quick_replies && (
            <span class="quick-replies" role="group" aria-label="Quick replies">
              {m.quick_replies.map((q, i) => <button key={i} onClick={() => actions.quick(q)}>{q.title}</button>)}
            </span>
          )}
          {m.reactions && m.reactions.length > 0 && <span class="reactions">{m.reactions.map((r) => `${r.emoji} ${r.count}`).join("  ")}</span>}
        </div>
      )}
      <time dateTime={m.created_at}>{new Date(m.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}{m.edited_at ? " · edited" : ""}</time>
      {m.expires_at && !m.deleted && <TimerMark at={m.expires_at} />}
      {!m.deleted && !request && (
        <span class="actions">
          {quickReactions.map((e) => <button key={e} aria-label={`React ${e}`} onClick={() => actions.react(m, e)}>{e}</button>)}
          <button onClick={() => actions.reply(m)}>Reply</button>
          {mine && m.kind === "text" && <button onClick={() => actions.edit(m)}>Edit</button>}
          {mine && <button onClick={() => actions.unsend(m)}>Unsend</button>}
          {mine && !m.redacted && <button onClick={() => actions.redact(m)}>Redact</button>}
        </span>
      )}
    </li>
  );
}

render(<App />, document.getElementById("app")!);
