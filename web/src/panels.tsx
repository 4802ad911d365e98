// Settings (profile, privacy, devices, two-factor, API tokens, bots, subscriptions, blocked users)
// and the new-group form.
import { useEffect, useRef, useState } from "preact/hooks";
import { FilterList } from "./moderation-ui";
import { ApiError } from "./api";
import { YourData } from "./exports";
import type { BotView, Client, Me, SessionView, TokenView, UserSummary } from "./api";
import { TwoFactor } from "./twofactor";
import { DeleteAccount } from "./deleteaccount";
import { Subscriptions } from "./subscribe";

export function Settings({ client, me, onSaved, onClose, onDeleted }: { client: Client; me: Me; onSaved(m: Me): void; onClose(): void; onDeleted(summary: string): void }) {
  const [name, setName] = useState(me.display_name);
  const [bio, setBio] = useState(me.bio);
  const [policy, setPolicy] = useState(me.dm_policy);
  const [presence, setPresence] = useState(me.show_presence);
  const [sessions, setSessions] = useState<SessionView[]>([]);
  const [blocked, setBlocked] = useState<UserSummary[]>([]);
  const [note, setNote] = useState("");
  const reload = async () => {
    setSessions((await client.sessions()).items);
    setBlocked((await client.blocks()).items);
  };
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => { void reload(); heading.current?.focus(); }, []);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      onSaved(await client.updateMe({ display_name: name, bio, dm_policy: policy, show_presence: presence }));
      setNote("Saved.");
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "Not saved");
    }
  };
  return (
    <section class="settings" aria-label="Settings" onKeyDown={(e) => { if (e.key === "Escape" && !e.defaultPrevented) { e.preventDefault(); onClose(); } }}>
      <header><h2 tabIndex={-1} ref={heading}>Settings</h2><button class="link" onClick={onClose}>Close</button></header>
      <form onSubmit={save}>
        <label>Display name<input name="display_name" value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
        <label>Bio<textarea name="bio" rows={2} value={bio} onInput={(e) => setBio(e.currentTarget.value)} /></label>
        <label>Who may message you
          <select name="dm_policy" value={policy} onChange={(e) => setPolicy(e.currentTarget.value)}>
            <option value="open">Everyone (strangers land in requests)</option>
            <option value="following">Only people I follow</option>
            <option value="closed">Nobody new</option>
          </select>
        </label>
        <label class="check"><input type="checkbox" checked={presence} onChange={(e) => setPresence(e.currentTarget.checked)} /> Show when I am online</label>
        <button type="submit">Save</button>
        {note && <p role="status">{note}</p>}
      </form>
      <ReadReceipts client={client} me={me} onSaved={onSaved} />
      <h3>Devices</h3>
      <ul class="rows">
        {sessions.map((s) => (
          <li key={s.id}>
            <span>{s.device || "device"}{s.current ? " (this one)" : ""} · last used {new Date(s.last_used_at).toLocaleString()}</span>
            {!s.current && <button aria-label={`Sign out ${s.device || "device"} last used ${new Date(s.last_used_at).toLocaleString()}`}
              onClick={async () => { await client.revokeSession(s.id); await reload(); }}>Sign out</button>}
          </li>
        ))}
      </ul>
      <FilterList client={client} server={false} />
      <TwoFactor client={client} />
      <ApiTokens client={client} />
      <Bots client={client} me={me} />
      <Subscriptions client={client} />
      <YourData client={client} />
      <h3>Blocked</h3>
      <ul class="rows">
        {blocked.map((u) => (
          <li key={u.id}><span>@{u.handle}</span><button aria-label={`Unblock @${u.handle}`} onClick={async () => { await client.unblock(u.handle); await reload(); }}>Unblock</button></li>
        ))}
        {blocked.length === 0 && <li>Nobody.</li>}
      </ul>
      <DeleteAccount client={client} me={me} onDeleted={onDeleted} />
    </section>
  );
}

/** ReadReceipts is the privacy switch; it applies at once. */
function ReadReceipts({ client, me, onSaved }: { client: Client; me: Me; onSaved(m: Me): void }) {
  const [note, setNote] = useState("");
  const flip = async (on: boolean) => {
    try {
      onSaved(await client.updateMe({ read_receipts: on }));
      setNote(on ? "Read receipts are on." : "Read receipts are off.");
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "Not changed");
    }
  };
  const flipPhone = async (on: boolean) => {
    try {
      onSaved(await client.updateMe({ warn_phone: on }));
      setNote(on ? "You'll be asked before sending a phone number." : "Phone numbers send without asking.");
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "Not changed");
    }
  };
  return (
    <>
      <h3>Privacy</h3>
      <label class="check switch">
        <input type="checkbox" role="switch" name="read_receipts" checked={me.read_receipts} aria-describedby="receipts-help"
          onChange={(e) => void flip(e.currentTarget.checked)} /> Read receipts
      </label>
      <p id="receipts-help" class="muted">When off, people won't see when you've read their messages, and you won't see theirs.</p>
      <label class="check switch">
        <input type="checkbox" role="switch" name="warn_phone" checked={!!me.warn_phone} aria-describedby="warn-phone-help"
          onChange={(e) => void flipPhone(e.currentTarget.checked)} /> Ask before sending a phone number
      </label>
      <p id="warn-phone-help" class="muted">Card numbers, IBANs, ID numbers, passwords and keys always ask first. Phone numbers only do when this is on.</p>
      {note && <p role="status">{note}</p>}
    </>
  );
}

/** The scopes a token may have, in plain words. */
export const scopeLabels: Record<string, string> = {
  read: "Read conversations and messages",
  "messages:write": "Send and edit messages",
  "conversations:write": "Start and manage conversations",
  "profile:write": "Edit profile, follows and blocks",
  "media:write": "Upload media",
  "business:write": "Work in business inboxes",
  "webhooks:write": "Manage webhooks",
};
const expiries = [[0, "Never"], [30, "In 30 days"], [90, "In 90 days"], [365, "In a year"]] as const;

/** Made is a token just created or rotated: its secret lives in component
 * state only, until "Done": never stored (no localStorage), never logged. */
interface Made { name: string; secret: string }

/** SecretShown shows a new token's secret once, with Copy. */
function SecretShown({ made, label, onDone }: { made: Made; label: string; onDone(): void }) {
  const [copied, setCopied] = useState("");
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => { setCopied(""); ref.current?.focus(); }, [made]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(made.secret);
      setCopied("Copied.");
    } catch {
      ref.current?.select(); // the browser refused: select it for Ctrl+C
      setCopied("Press Ctrl+C (⌘C) to copy the selected token.");
    }
  };
  return (
    <div class="secret" role="region" aria-label={label}>
      <p><strong>Copy your new token "{made.name}" now: you will not see it again.</strong> Keep it like a password.</p>
      <div class="secret-row">
        <label class="grow">Token<input ref={ref} name="token_secret" readOnly value={made.secret} autocomplete="off" spellcheck={false}
          onFocus={(e) => e.currentTarget.select()} /></label>
        <button type="button" onClick={() => void copy()}>Copy</button>
        <button type="button" onClick={onDone}>Done</button>
      </div>
      <p role="status" class="muted">{copied}</p>
    </div>
  );
}

/** TokenRows lists tokens with Revoke (and Rotate, for a bot's). */
function TokenRows({ list, cls, revoke, rotate }: { list: TokenView[]; cls: string; revoke(t: TokenView): void; rotate?(t: TokenView): void }) {
  const when = (iso: string) => new Date(iso).toLocaleDateString();
  return (
    <ul class={"rows " + cls}>
      {list.map((t) => (
        <li key={t.id}>
          <span>
            <strong>{t.name}</strong> · {t.scopes.join(", ")}
            <span class="muted"> · created {when(t.created_at)} · {Date.parse(t.last_used_at) - Date.parse(t.created_at) > 1000 ? `last used ${when(t.last_used_at)}` : "no use recorded yet"}
              {" · "}{!t.expires_at ? "never expires" : Date.parse(t.expires_at) < Date.now() ? "expired" : `expires ${when(t.expires_at)}`}</span>
          </span>
          <span class="row-actions">
            {rotate && <button aria-label={`Rotate ${t.name}`} onClick={() => rotate(t)}>Rotate</button>}
            <button aria-label={`Revoke ${t.name}`} onClick={() => revoke(t)}>Revoke</button>
          </span>
        </li>
      ))}
      {list.length === 0 && <li>No tokens.</li>}
    </ul>
  );
}

/** TokenForm names a new token, its permissions and expiry. */
function TokenForm({ scopes, initial, prefix, onCreate }: { scopes: string[]; initial: string[]; prefix: string; onCreate(name: string, scopes: string[], days: number): Promise<string> }) {
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<string[]>(initial);
  const [days, setDays] = useState(90);
  const [note, setNote] = useState("");
  const create = async (e: Event) => {
    e.preventDefault();
    if (chosen.length === 0) return setNote("Choose at least one permission.");
    const err = await onCreate(name.trim(), scopes.filter((x) => chosen.includes(x)), days);
    setNote(err);
    if (!err) setName("");
  };
  return (
    <form class="token-form" onSubmit={create}>
      <label>Token name<input name={prefix + "token_name"} value={name} maxLength={100} placeholder="e.g. backup script" onInput={(e) => setName(e.currentTarget.value)} required /></label>
      <fieldset>
        <legend>What it may do</legend>
        {scopes.map((x) => (
          <label key={x} class="check">
            <input type="checkbox" name={prefix + "token_scope"} value={x} checked={chosen.includes(x)}
              onChange={(e) => { const on = e.currentTarget.checked; setChosen((c) => on ? [...c, x] : c.filter((y) => y !== x)); }} />
            {" "}{scopeLabels[x] ?? x}
          </label>
        ))}
      </fieldset>
      <label>Expires
        <select name={prefix + "token_expiry"} value={String(days)} onChange={(e) => setDays(Number(e.currentTarget.value))}>
          {expiries.map(([d, l]) => <option key={d} value={String(d)}>{l}</option>)}
        </select>
      </label>
      <button type="submit">Create token</button>
      {note && <p role="status">{note}</p>}
    </form>
  );
}

/** ApiTokens lists, creates and revokes the user's API tokens. */
function ApiTokens({ client }: { client: Client }) {
  const [list, setList] = useState<TokenView[]>([]);
  const [scopes, setScopes] = useState<string[]>(Object.keys(scopeLabels));
  const [made, setMade] = useState<Made | null>(null);
  const [note, setNote] = useState("");
  const reload = () => client.tokens().then((r) => { setList(r.items); if (r.scopes?.length) setScopes(r.scopes); })
    .catch((err) => setNote(err instanceof ApiError ? err.message : "Cannot load the tokens"));
  useEffect(() => { void reload(); }, []);
  const create = async (name: string, sc: string[], days: number) => {
    try {
      const t = await client.createToken(name, sc, days);
      setMade({ name: t.name, secret: t.token ?? "" });
      await reload();
      return "";
    } catch (err) {
      return err instanceof ApiError ? err.message : "The token was not created";
    }
  };
  const revoke = async (t: TokenView) => {
    if (!confirm(`Revoke the token "${t.name}"? Anything using it stops working at once.`)) return;
    try {
      await client.revokeToken(t.id);
      setNote(`Token "${t.name}" revoked.`);
      await reload();
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "Not revoked");
    }
  };
  return (
    <>
      <h3>API tokens</h3>
      <p class="muted">Tokens let scripts and bots use your account through the API, with only the permissions you give them.</p>
      {made && <SecretShown made={made} label="New API token" onDone={() => setMade(null)} />}
      <TokenRows list={list} cls="tokens" revoke={(t) => void revoke(t)} />
      {note && <p role="status">{note}</p>}
      <TokenForm scopes={scopes} initial={["read"]} prefix="" onCreate={create} />
    </>
  );
}

/** Bots lists the user's bots, creates, renames and retires them. A
 * business's bots join its team inbox. */
function Bots({ client, me }: { client: Client; me: Me }) {
  const [list, setList] = useState<BotView[]>([]);
  const [handle, setHandle] = useState("");
  const [name, setName] = useState("");
  const [open, setOpen] = useState("");
  const [note, setNote] = useState("");
  const business = me.kind === "business";
  const reload = () => client.bots().then((r) => setList(r.items)).catch((err) => setNote(err instanceof ApiError ? err.message : "Cannot load the bots"));
  useEffect(() => { void reload(); }, []);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const b = await client.createBot(handle.trim().replace(/^@/, ""), name.trim());
      setHandle("");
      setName("");
      setNote(`Bot @${b.user.handle} created${business ? " and added to your team inbox" : ""}. Make it a token below.`);
      setOpen(b.user.handle);
      await reload();
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "The bot was not created");
    }
  };
  const retire = async (b: BotView) => {
    if (!confirm(`Retire @${b.user.handle}? Its tokens stop working at once${business ? " and it leaves your team" : ""}; its messages stay.`)) return;
    try {
      await client.retireBot(b.user.handle);
      setNote(`Bot @${b.user.handle} retired.`);
      await reload();
    } catch (err) {
      setNote(err instanceof ApiError ? err.message : "Not retired");
    }
  };
  return (
    <>
      <h3>Bots</h3>
      <p class="muted">
        A bot is an account of its own that acts only through tokens you make for it.{" "}
        {business ? "Your bots join your team inbox and answer customers as you while they hold a conversation; give them a token that may read and work in business inboxes. " : ""}
        Everything a bot sends is marked Automated.
      </p>
      <ul class="rows bots">
        {list.map((b) => (
          <li key={b.user.id} class="bot-row">
            <div class="bot-head">
              <span><strong>{b.user.display_name || b.user.handle}</strong> @{b.user.handle} · {b.tokens === 1 ? "1 token" : `${b.tokens} tokens`}</span>
              <span class="row-actions">
                <button aria-expanded={open === b.user.handle} aria-label={`Tokens of @${b.user.handle}`} onClick={() => setOpen(open === b.user.handle ? "" : b.user.handle)}>Tokens</button>
                <button aria-label={`Retire @${b.user.handle}`} onClick={() => void retire(b)}>Retire</button>
              </span>
            </div>
            {open === b.user.handle && <BotPanel client={client} bot={b} business={business} onChanged={() => void reload()} />}
          </li>
        ))}
        {list.length === 0 && <li>No bots.</li>}
      </ul>
      <form class="inline-form bot-form" onSubmit={create}>
        <label>Bot handle<input name="bot_handle" value={handle} placeholder="acmebot" onInput={(e) => setHandle(e.currentTarget.value)} required /></label>
        <label>Bot name<input name="bot_name" value={name} maxLength={64} placeholder="Acme Assistant" onInput={(e) => setName(e.currentTarget.value)} /></label>
        <button type="submit">Create bot</button>
      </form>
      {note && <p role="status">{note}</p>}
    </>
  );
}

/** BotPanel is one bot's name and tokens (made, rotated, revoked). */
function BotPanel({ client, bot, business, onChanged }: { client: Client; bot: BotView; business: boolean; onChanged(): void }) {
  const h = bot.user.handle;
  const [list, setList] = useState<TokenView[]>([]);
  const [scopes, setScopes] = useState<string[]>(Object.keys(scopeLabels));
  const [made, setMade] = useState<Made | null>(null);
  const [name, setName] = useState(bot.user.display_name);
  const [note, setNote] = useState("");
  const fail = (err: unknown, text: string) => setNote(err instanceof ApiError ? err.message : text);
  const reload = () => client.botTokens(h).then((r) => { setList(r.items); if (r.scopes?.length) setScopes(r.scopes); onChanged(); })
    .catch((err) => fail(err, "Cannot load the tokens"));
  useEffect(() => { void client.botTokens(h).then((r) => { setList(r.items); if (r.scopes?.length) setScopes(r.scopes); }).catch((err) => fail(err, "Cannot load the tokens")); }, [h]);
  const create = async (n: string, sc: string[], days: number) => {
    try {
      const t = await client.createBotToken(h, n, sc, days);
      setMade({ name: t.name, secret: t.token ?? "" });
      await reload();
      return "";
    } catch (err) {
      return err instanceof ApiError ? err.message : "The token was not created";
    }
  };
  const rotate = async (t: TokenView) => {
    if (!confirm(`Rotate "${t.name}"? The current secret stops working at once.`)) return;
    try {
      const fresh = await client.rotateBotToken(h, t.id);
      setMade({ name: fresh.name, secret: fresh.token ?? "" });
      setNote(`Token "${t.name}" rotated.`);
      await reload();
    } catch (err) {
      fail(err, "Not rotated");
    }
  };
  const revoke = async (t: TokenView) => {
    if (!confirm(`Revoke the token "${t.name}" of @${h}? Anything using it stops working at once.`)) return;
    try {
      await client.revokeBotToken(h, t.id);
      setNote(`Token "${t.name}" revoked.`);
      await reload();
    } catch (err) {
      fail(err, "Not revoked");
    }
  };
  return (
    <div class="bot-panel" role="region" aria-label={`Bot @${h}`}>
      <form class="inline-form" onSubmit={async (e) => {
        e.preventDefault();
        try { await client.updateBot(h, { display_name: name.trim() }); setNote("Name saved."); onChanged(); } catch (err) { fail(err, "Not saved"); }
      }}>
        <label>Name of @{h}<input name="bot_display_name" value={name} maxLength={64} onInput={(e) => setName(e.currentTarget.value)} required /></label>
        <button type="submit">Rename</button>
      </form>
      {made && <SecretShown made={made} label={`New token for @${h}`} onDone={() => setMade(null)} />}
      <TokenRows list={list} cls="bot-tokens" revoke={(t) => void revoke(t)} rotate={(t) => void rotate(t)} />
      {note && <p role="status">{note}</p>}
      <TokenForm scopes={scopes} prefix="bot_" initial={business ? ["read", "messages:write", "business:write"] : ["read", "messages:write"]} onCreate={create} />
    </div>
  );
}

export function NewGroup({ client, onCreated }: { client: Client; onCreated(id: string): void }) {
  const [title, setTitle] = useState("");
  const [members, setMembers] = useState("");
  const [error, setError] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const handles = members.split(/[\s,]+/).map((h) => h.replace(/^@/, "")).filter(Boolean);
      const c = await client.createGroup(title, handles);
      setTitle("");
      setMembers("");
      onCreated(c.id);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Cannot create the group");
    }
  };
  return (
    <form class="new-group" onSubmit={submit}>
      <label>Group name<input name="group_title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} required /></label>
      <label>Members (handles)<input name="group_members" value={members} onInput={(e) => setMembers(e.currentTarget.value)} /></label>
      <button type="submit">Create group</button>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}
