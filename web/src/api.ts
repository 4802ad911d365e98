// The one typed client of the Parley API used by every screen. Types mirror
// /api/v1/openapi.json (components.schemas); a test checks the routes used
// here exist in that document.

import { searchPath, type SearchPage, type SearchResult } from "./search";

export interface UserSummary { id: string; handle: string; display_name: string; kind: string; deleted?: boolean }
/** AccountDeletion is what deleting the account did (DELETE /me). */
export interface AccountDeletion {
  handle: string; policy: "erase" | "anonymise"; erased: number; kept: number; held: number; note?: string;
  sessions_ended: number; conversations_left: number; bots_retired: number; handle_reserved_until: string;
}
export interface Me extends UserSummary { bio: string; dm_policy: string; show_presence: boolean; read_receipts: boolean; created_at: string; server_admin?: boolean;
  /** the sensitive-data guard warns before sending a phone number */
  warn_phone?: boolean }
export interface Auth { user: Me; token: string; session_id: string }
/** SecondFactor is a login's answer when the account has 2FA: the code
 * goes to completeLogin with the challenge. */
export interface SecondFactor { second_factor: { challenge: string; expires_at: string; methods: string[] } }
export interface TwoFactorStatus { enabled: boolean; pending: boolean; recovery_codes_left: number }
export interface TwoFactorSetup { secret: string; otpauth_uri: string; qr_png: string }
export interface RecoveryCodes { recovery_codes: string[] }
export interface ReactionCount { emoji: string; count: number; me: boolean }
export interface Thumbnail { content_type: string; width: number; height: number }
export interface Attachment {
  id?: string; kind: string; content_type?: string; size?: number; width?: number; height?: number;
  duration_ms?: number; thumbnail?: Thumbnail; hidden?: boolean;
}
export interface Card { url: string; title?: string; description?: string; site_name?: string; image?: { id: string; width: number; height: number } }
export interface ReplyPreview { id: string; seq?: number; sender_id?: string; text?: string; deleted?: boolean; redacted?: boolean }
/** OptinRequestView is a Messenger opt-in request as its message shows it. */
export interface OptinRequestView { topic_id: string; topic: string; title: string; frequency: string; time_zone?: string; image?: string }
/** OptinRequest asks a person on Messenger to opt in to a topic's updates. */
export interface OptinRequest { topic: string; title: string; frequency: "DAILY" | "WEEKLY" | "MONTHLY"; image?: string }
export interface Message {
  id: string; conversation_id: string; seq: number; sender: UserSummary; client_id?: string; kind: string;
  text?: string; system?: Record<string, unknown>; reply_to?: ReplyPreview; created_at: string; edited_at?: string;
  deleted?: boolean; reactions?: ReactionCount[]; attachments?: Attachment[]; card?: Card;
  /** redacted: the sender (or a business admin) replaced the content by a placeholder (text). */
  redacted?: boolean;
  /** agent wrote a business's message (the business's side only); agent_name is what customers see. */
  agent?: UserSummary; agent_name?: string; quick_replies?: QuickReply[];
  /** A structured message's parts; body is its text without the fallback
   * that text ends with (the choices and links spelt out). */
  buttons?: Button[]; cards?: RichCard[]; body?: string;
  /** automated: no person wrote it (a bot, or the server for a business) */
  automated?: boolean;
  /** quick_reply: the payload of the quick reply this message answers */
  quick_reply?: string;
  /** optin_request: a notification messages opt-in request sent to a person on Messenger */
  optin_request?: OptinRequestView;
  /** masked: the server hid sensitive values in text (a business's team's view) */
  masked?: boolean;
  /** channel: a business message's delivery on Messenger, Instagram or
   * WhatsApp (status, and why it failed), or a person's files still being
   * fetched from the platform (the team's view). */
  channel?: ChannelDelivery;
  /** expires_at: when a disappearing message goes; expired: it went (a tombstone). */
  expires_at?: string; expired?: boolean;
  /** view_once: each recipient may open the attachment once; opened: a
   * recipient did (for the sender: someone did). */
  view_once?: boolean; opened?: boolean;
}
/** QuickReply is a tappable choice: tapping sends its title as text with
 * the payload as quick_reply. */
export interface QuickReply { title: string; payload: string }
/** Button is a postback (the sender receives the payload) or a link. */
export interface Button { type: "postback" | "url"; title: string; payload?: string; url?: string }
/** RichCard is one card of a carousel. */
export interface RichCard { title: string; subtitle?: string; buttons?: Button[] }
/** Profile is another user as GET /users/{handle} shows them. */
export interface Profile extends Partial<UserSummary> { handle: string; bio?: string; ice_breakers?: string[]; can_message?: string }
export interface Member { user: UserSummary; role: string; status: string; read_seq: number }
export interface Conversation {
  id: string; kind: "direct" | "group"; title?: string; last_seq: number; last_activity_at: string; member_count: number;
  folder: string; status: string; role: string; pinned: boolean; read_seq: number; unread_count: number;
  request: boolean; members?: Member[]; last_message?: Message;
  /** disappear_after: the disappearing-messages timer in seconds (0: off). */
  disappear_after?: number;
  /** legal_hold: a legal hold keeps the messages (timers and retention frozen). */
  legal_hold?: boolean;
  /** triage: a request's spam score and why (its recipient only). */
  triage?: Triage;
}
/** Triage is a request's spam score: the logistic of its signals' sum. */
export interface Triage { score: number; filtered: boolean; signals: Signal[] }
export interface Signal { name: string; detail: string; contribution: number }
export interface BulkResult { id: string; ok: boolean; code?: string; detail?: string }
export interface Filter { id: string; kind: "word" | "regex" | "domain_deny" | "domain_allow"; pattern: string; action: "hide" | "refuse" | "flag"; created_at: string }
export interface AccountView { id: string; handle: string; display_name: string; kind: string; suspended: boolean; banned?: boolean; created_at: string }
export interface ReportedMessage { id: string; seq: number; sender: UserSummary; kind: string; text: string; created_at: string; deleted?: boolean; reported?: boolean }
export interface ModReport {
  id: string; reason: string; detail?: string; created_at: string; status: "open" | "resolved"; resolution?: string;
  resolved_by?: UserSummary; note?: string; reporter?: UserSummary; target: AccountView; context?: ReportedMessage[];
}
export interface SyncEvent {
  pos?: number; type: string; conversation_id?: string; actor_id?: string; seq?: number; message?: Message;
  data?: Record<string, unknown>; created_at: string;
  /** as is the business's id on the changes a team member receives for it. */
  as?: string;
}
export interface Page<T> { items: T[]; next_cursor?: string }
/** ExportJob is an export being built, or built: download_url (signed,
 * no token needed) is set until expires_at. */
export interface ExportJob {
  id: string; scope: "conversation" | "account" | "business"; conversation_id?: string; business?: string;
  state: "queued" | "running" | "done" | "failed"; done: number; total: number; error?: string; size?: number;
  created_at: string; finished_at?: string; expires_at?: string; download_url?: string;
}
export interface MediaView extends Attachment { created_at: string; sent: boolean }

/** ApiError is a problem+json answer: code is stable, message is for people. */
export class ApiError extends Error {
  /** kinds: with sensitive_data, what the guard found (card_number, iban, …) */
  constructor(public status: number, public code: string, message: string, public field = "", public kinds: string[] = []) { super(message); }
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export class Client {
  constructor(public token = "", private base = "", private fetchFn: Fetch = (i, o) => fetch(i, o)) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers["Authorization"] = "Bearer " + this.token;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
    const res = await this.fetchFn(this.base + "/api/v1" + path, { method, headers, body: payload });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const data = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new ApiError(res.status, data?.code ?? "internal", data?.detail ?? res.statusText, data?.field,
      Array.isArray(data?.kinds) ? data.kinds.filter((k: unknown) => typeof k === "string") : []);
    return data as T;
  }

  register(handle: string, password: string, display_name: string) {
    return this.request<Auth>("POST", "/accounts", { handle, password, display_name, kind: "person" });
  }
  login(handle: string, password: string) { return this.request<Auth | SecondFactor>("POST", "/sessions", { handle, password, device: "web" }); }
  completeLogin(challenge: string, code: string) { return this.request<Auth>("POST", "/sessions/second-factor", { challenge, code }); }
  twoFactor() { return this.request<TwoFactorStatus>("GET", "/me/2fa"); }
  setupTwoFactor(password: string) { return this.request<TwoFactorSetup>("POST", "/me/2fa/setup", { password }); }
  confirmTwoFactor(code: string) { return this.request<RecoveryCodes>("POST", "/me/2fa/confirm", { code }); }
  /** deleteAccount deletes the signed-in account for good; code only when two-factor is on. */
  deleteAccount(password: string, code?: string) { return this.request<AccountDeletion>("DELETE", "/me", code ? { password, code } : { password }); }
  disableTwoFactor(password: string, code: string) { return this.request<void>("POST", "/me/2fa/disable", { password, code }); }
  newRecoveryCodes(password: string, code: string) { return this.request<RecoveryCodes>("POST", "/me/2fa/recovery-codes", { password, code }); }
  logout() { return this.request<void>("DELETE", "/sessions/current"); }
  me() { return this.request<Me>("GET", "/me"); }
  /** consentForm describes a topic's opt-in link; it needs no sign-in. */
  consentForm(token: string) { return this.request<ConsentForm>("GET", "/consent/" + encodeURIComponent(token)); }
  /** subscribe opts the signed-in person in to the link's topic. */
  subscribe(token: string) { return this.request<SubscriptionView>("POST", "/consent/" + encodeURIComponent(token)); }
  subscriptions() { return this.request<{ items: SubscriptionView[] }>("GET", "/me/subscriptions"); }
  /** unsubscribe opts out of one topic of a business, or of all of them (no topic). */
  unsubscribe(business: string, topic?: string) {
    return this.request<SubscriptionView>("DELETE", "/me/subscriptions/" + encodeURIComponent(business) + (topic ? "/" + encodeURIComponent(topic) : ""));
  }
  /** search finds messages the user may read (see GET /api/v1/search). */
  search(q: string, opts: { cursor?: string; conversation?: string; limit?: number; sort?: "relevance" | "recent" } = {}) {
    return this.request<SearchPage>("GET", searchPath(q, opts));
  }
  conversations(folder: string, filtered = false) {
    return this.request<Page<Conversation>>("GET", "/conversations?folder=" + encodeURIComponent(folder) + (filtered ? "&filtered=true" : ""));
  }
  /** bulkRequests accepts, declines, deletes or reports as spam many requests; each id gets its own result. */
  bulkRequests(action: "accept" | "decline" | "delete" | "spam", ids: string[]) {
    return this.request<{ results: BulkResult[] }>("POST", "/conversations/requests/bulk", { action, ids });
  }
  reportSpam(id: string) { return this.request<void>("POST", `/conversations/${encodeURIComponent(id)}/report-spam`); }
  /** filters are the account's own (server false) or, for server admins, the server's. */
  filters(server = false) { return this.request<{ items: Filter[] }>("GET", server ? "/admin/filters" : "/me/filters"); }
  addFilter(server: boolean, f: { kind: string; pattern: string; action?: string }) {
    return this.request<Filter>("POST", server ? "/admin/filters" : "/me/filters", f);
  }
  deleteFilter(server: boolean, id: string) { return this.request<void>("DELETE", (server ? "/admin/filters/" : "/me/filters/") + encodeURIComponent(id)); }
  reports(status = "open") { return this.request<Page<ModReport>>("GET", "/admin/reports?status=" + encodeURIComponent(status)); }
  resolveReport(id: string, action: "dismiss" | "suspend" | "ban", hide_messages = false, note = "") {
    return this.request<ModReport>("POST", `/admin/reports/${encodeURIComponent(id)}/resolve`, { action, hide_messages, note });
  }
  conversation(id: string) { return this.request<Conversation>("GET", "/conversations/" + encodeURIComponent(id)); }
  startDirect(handle: string) { return this.request<Conversation>("POST", "/conversations", { kind: "direct", with: handle }); }
  accept(id: string) { return this.request<Conversation>("POST", `/conversations/${encodeURIComponent(id)}/accept`); }
  decline(id: string) { return this.request<void>("POST", `/conversations/${encodeURIComponent(id)}/decline`); }
  block(handle: string) { return this.request<void>("PUT", `/users/${encodeURIComponent(handle)}/block`); }
  messages(id: string, beforeSeq?: number) {
    const q = beforeSeq ? `?before_seq=${beforeSeq}&limit=50` : "?limit=50";
    return this.request<Page<Message>>("GET", `/conversations/${encodeURIComponent(id)}/messages${q}`);
  }
  /** setDisappearing sets the conversation's timer (seconds, one of DISAPPEAR_TIMERS). */
  setDisappearing(id: string, seconds: number) {
    return this.request<Conversation>("PUT", `/conversations/${encodeURIComponent(id)}/disappearing`, { disappear_after: seconds });
  }
  send(id: string, body: { client_id: string; text?: string; kind?: string; attachments?: string[]; reply_to?: string; quick_reply?: string; confirm_sensitive?: boolean; view_once?: boolean }) {
    return this.request<Message>("POST", `/conversations/${encodeURIComponent(id)}/messages`, body);
  }
  /** postback taps a postback button: the message's sender gets the payload. */
  postback(id: string, mid: string, payload: string) {
    return this.request<void>("POST", `/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(mid)}/postback`, { payload });
  }
  profile(handle: string) { return this.request<Profile>("GET", "/users/" + encodeURIComponent(handle)); }
  markRead(id: string, seq: number) { return this.request<unknown>("POST", `/conversations/${encodeURIComponent(id)}/read`, { seq }); }
  /** upload sends a file; without a kind the server decides from the
   * content (a recorded voice note in WebM looks like video, so it says
   * "audio"). */
  upload(file: Blob, name: string, kind?: string) {
    const form = new FormData();
    if (kind) form.append("kind", kind); // before the file: the server reads parts in order
    form.append("file", file, name);
    return this.request<MediaView>("POST", "/media", form);
  }
  /** mediaURL fetches a media file with the token and returns a blob: URL
   * (an <img> cannot send the Authorization header). */
  async mediaURL(id: string, thumbnail = false, forceType = ""): Promise<string> {
    const res = await this.fetchFn(`${this.base}/api/v1/media/${encodeURIComponent(id)}${thumbnail ? "/thumbnail" : ""}`,
      { headers: { Authorization: "Bearer " + this.token } });
    if (!res.ok) throw new ApiError(res.status, "not_found", "media unavailable");
    const blob = await res.blob();
    return URL.createObjectURL(forceType ? new Blob([blob], { type: forceType }) : blob);
  }
  /** download fetches an authorized file as a Blob. */
  async download(path: string): Promise<Blob> {
    const res = await this.fetchFn(this.base + "/api/v1" + path, { headers: { Authorization: "Bearer " + this.token } });
    if (!res.ok) throw new ApiError(res.status, "internal", res.statusText || "download failed");
    return res.blob();
  }
  businesses() { return this.request<{ items: BusinessMembership[] }>("GET", "/business"); }
  ticket() { return this.request<{ ticket: string; expires_at: string }>("POST", "/stream/tickets"); }
  updateMe(p: Partial<Pick<Me, "display_name" | "bio" | "dm_policy" | "show_presence" | "read_receipts" | "warn_phone">>) { return this.request<Me>("PATCH", "/me", p); }
  /** API tokens for scripts and bots; a token's secret is only in the
   * answer to createToken, shown once and never stored. */
  tokens() { return this.request<{ items: TokenView[]; scopes: string[] }>("GET", "/tokens"); }
  createToken(name: string, scopes: string[], expires_in_days: number) {
    return this.request<TokenView>("POST", "/tokens", { name, scopes, expires_in_days });
  }
  revokeToken(id: string) { return this.request<void>("DELETE", "/tokens/" + encodeURIComponent(id)); }
  /** Bots the user owns, and their tokens (made, rotated and revoked by the owner). */
  bots() { return this.request<{ items: BotView[] }>("GET", "/bots"); }
  createBot(handle: string, display_name: string) { return this.request<BotView>("POST", "/bots", { handle, display_name }); }
  updateBot(handle: string, ch: { display_name?: string; bio?: string }) { return this.request<BotView>("PATCH", "/bots/" + encodeURIComponent(handle), ch); }
  retireBot(handle: string) { return this.request<void>("DELETE", "/bots/" + encodeURIComponent(handle)); }
  botTokens(handle: string) { return this.request<{ items: TokenView[]; scopes: string[] }>("GET", `/bots/${encodeURIComponent(handle)}/tokens`); }
  createBotToken(handle: string, name: string, scopes: string[], expires_in_days: number) {
    return this.request<TokenView>("POST", `/bots/${encodeURIComponent(handle)}/tokens`, { name, scopes, expires_in_days });
  }
  rotateBotToken(handle: string, id: string) {
    return this.request<TokenView>("POST", `/bots/${encodeURIComponent(handle)}/tokens/${encodeURIComponent(id)}/rotate`);
  }
  revokeBotToken(handle: string, id: string) { return this.request<void>("DELETE", `/bots/${encodeURIComponent(handle)}/tokens/${encodeURIComponent(id)}`); }
  sessions() { return this.request<Page<SessionView>>("GET", "/sessions"); }
  revokeSession(id: string) { return this.request<void>("DELETE", "/sessions/" + encodeURIComponent(id)); }
  blocks() { return this.request<Page<UserSummary>>("GET", "/me/blocks"); }
  unblock(handle: string) { return this.request<void>("DELETE", `/users/${encodeURIComponent(handle)}/block`); }
  createGroup(title: string, members: string[]) {
    return this.request<Conversation>("POST", "/conversations", { kind: "group", title, members });
  }
  addMembers(id: string, handles: string[]) { return this.request<unknown>("POST", `/conversations/${encodeURIComponent(id)}/members`, { members: handles }); }
  leave(id: string) { return this.request<void>("POST", `/conversations/${encodeURIComponent(id)}/leave`); }
  startExport(body: { scope: "conversation" | "account" | "business"; conversation_id?: string; business?: string }) {
    return this.request<ExportJob>("POST", "/exports", body);
  }
  exports() { return this.request<{ items: ExportJob[] }>("GET", "/exports"); }
  exportJob(id: string) { return this.request<ExportJob>("GET", `/exports/${encodeURIComponent(id)}`); }
  edit(id: string, mid: string, text: string, confirmSensitive = false) {
    return this.request<Message>("PATCH", `/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(mid)}`,
      confirmSensitive ? { text, confirm_sensitive: true } : { text });
  }
  redact(id: string, mid: string) { return this.request<Message>("POST", `/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(mid)}/redact`, {}); }
  unsend(id: string, mid: string) { return this.request<void>("DELETE", `/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(mid)}`); }
  react(id: string, mid: string, emoji: string, on: boolean) {
    return this.request<void>(on ? "PUT" : "DELETE",
      `/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(mid)}/reactions/${encodeURIComponent(emoji)}`);
  }
}

// The business inbox (routes under /api/v1/business/{handle}).
export interface BusinessMembership { business: UserSummary; role: "agent" | "admin"; away: boolean }
export interface AgentView {
  user: UserSummary; role: "agent" | "admin" | "bot"; away: boolean; online: boolean; max_open: number; open: number; teams: string[]; created_at: string;
}
export interface ContactSummary { id: string; name: string; user?: UserSummary; channel?: Platform }
export type Platform = "messenger" | "instagram" | "whatsapp";
export interface ChannelDelivery {
  platform: Platform; status: string; mode?: string; error?: string;
  attachments?: { type: string; name?: string; status: "fetching" | "failed"; error?: string }[];
}
export interface ChannelView {
  id: string; platform: Platform; name: string; account_id: string; app_id: string; language?: string;
  access_token: string; app_secret: string; verify_token: string; webhook_path: string; created_at: string; updated_at?: string;
  status: "ok" | "failing" | "disabled"; last_error?: string; last_error_at?: string; last_inbound_at?: string; last_outbound_at?: string; queued: number;
  /** paused by an admin: webhooks still taken, sends refused, the outbox held */
  disabled?: boolean; disabled_at?: string;
}
export interface ChannelInput {
  platform: Platform; name: string; account_id: string; app_id?: string; access_token: string; app_secret: string; verify_token: string; language?: string;
}
export type ChannelChange = Partial<Pick<ChannelInput, "name" | "app_id" | "language" | "access_token" | "app_secret" | "verify_token">> & { disabled?: boolean };
export interface SendModes {
  channel: { id: string; platform: Platform; name: string; disabled?: boolean } | null; last_inbound_at?: string;
  modes: { mode: string; open: boolean; until?: string; reason: string }[];
}
export type InboxStatus = "open" | "pending" | "snoozed" | "resolved";
export interface InboxItem {
  conversation_id: string; contact?: ContactSummary; status: InboxStatus; snoozed_until?: string; priority: string;
  assignee?: UserSummary; team_id?: string; labels: string[]; attributes: Record<string, string>; opened_at?: string;
  waiting_since?: string; first_reply_at?: string; resolved_at?: string; first_due_at?: string; resolve_due_at?: string;
  overdue: boolean; activity_at: string; last_message?: Message;
  /** who answers: the business's bot or its people (handover) */
  control?: "bot" | "human";
}
export interface InboxCounts { mine: number; unassigned: number; overdue: number; open: number }
export interface ContactView {
  id: string; name: string; user?: UserSummary; attributes: Record<string, string>; labels: string[]; notes: string;
  created_at: string; conversations?: InboxItem[];
}
export interface InboxDetail { item: InboxItem; conversation: Conversation; contact?: ContactView }
export interface ItemChange {
  status?: InboxStatus; snoozed_until?: string; priority?: string; assignee?: string; team?: string; labels?: string[];
  attributes?: Record<string, string | null>;
}
export interface Note { id: string; conversation_id: string; author: UserSummary; text: string; mentions: UserSummary[]; created_at: string }
export interface SavedReply { id: string; shortcut: string; title: string; body: string; variables: string[]; created_by: string; updated_at: string }
export interface RenderedReply { text: string; missing: string[] }
export interface Hours { time_zone: string; days: Record<string, string[]>; holidays?: string[] }
export interface SLATarget { first_response_minutes: number; resolution_minutes: number }
export interface BusinessSettings {
  show_agent_names: boolean; only_assignee_replies: boolean; auto_assign: "" | "round_robin" | "least_load"; default_team?: string;
  max_open_per_agent: number; reassign_after_minutes: number; hours?: Hours; away_message?: string;
  sla?: Record<string, SLATarget>; csat: boolean; csat_question?: string; views?: SavedView[];
  welcome?: string; ice_breakers?: string[]; rules?: Rule[];
  /** the team must use two-factor authentication to act as the business */
  require_two_factor?: boolean;
  /** show the team customers' card numbers, IBANs, ids, secrets, passwords unmasked */
  show_sensitive?: boolean;
  /** show the team customers' phone numbers unmasked (call-backs) */
  show_phone_numbers?: boolean;
}
/** Rule is an automation rule: when a customer message (or a label) matches, do actions. */
export interface Rule { name: string; disabled?: boolean; when: RuleWhen; actions: RuleAction[]; stop?: boolean }
export interface RuleWhen { event: "message" | "first_message" | "label_added"; keywords?: string[]; regex?: string; outside_hours?: boolean; label?: string }
export interface RuleAction {
  type: "reply" | "saved_reply" | "label" | "assign_team" | "priority" | "handover" | "webhook";
  text?: string; saved_reply?: string; label?: string; team?: string; priority?: string;
}
export interface RuleTestResult { open: boolean; fired: Rule[] }
/** SavedView is a named inbox filter the whole team sees; its fields are
 * the inbox query's (view "" means all). */
export interface SavedView { name: string; view?: string; status?: string; team?: string; label?: string; assignee?: string }
export interface TeamView { id: string; name: string; members: UserSummary[] }
export interface VolumeBucket { start: string; opened: number; resolved: number }
export interface ReportRow {
  agent?: UserSummary; team_id?: string; team_name?: string; opened: number; resolved: number; first_responses: number;
  first_response_p50_ms: number; first_response_p90_ms: number; resolution_p50_ms: number; resolution_p90_ms: number;
  first_response_breaches: number; resolution_breaches: number; csat_count: number; csat_average: number;
}
export interface Report {
  from: string; to: string; bucket: "hour" | "day"; time_zone: string; volume: VolumeBucket[]; totals: ReportRow;
  agents: ReportRow[]; teams: ReportRow[]; overdue_now: number; csat_histogram: number[];
}
export interface InboxQuery { view: string; status?: string; label?: string; team?: string; assignee?: string; cursor?: string }
export interface ReportQuery { from?: string; to?: string; bucket?: string; tz?: string }

/** Business is the typed client of one business's inbox. */
export class Business {
  private base: string;
  constructor(private c: Client, public handle: string) { this.base = "/business/" + encodeURIComponent(handle); }
  /** client is the signed-in user's, who acts for the business. */
  get client(): Client { return this.c; }
  private conv(id: string) { return `${this.base}/conversations/${encodeURIComponent(id)}`; }
  agents() { return this.c.request<{ items: AgentView[] }>("GET", this.base + "/agents"); }
  putAgent(handle: string, ch: { role?: string; away?: boolean; max_open?: number }) {
    return this.c.request<AgentView>("PUT", `${this.base}/agents/${encodeURIComponent(handle)}`, ch);
  }
  removeAgent(handle: string) { return this.c.request<void>("DELETE", `${this.base}/agents/${encodeURIComponent(handle)}`); }
  teams() { return this.c.request<{ items: TeamView[] }>("GET", this.base + "/teams"); }
  settings() { return this.c.request<BusinessSettings>("GET", this.base + "/settings"); }
  channels() { return this.c.request<{ items: ChannelView[] }>("GET", this.base + "/channels"); }
  connectChannel(in_: ChannelInput) { return this.c.request<ChannelView>("POST", this.base + "/channels", in_); }
  updateChannel(id: string, ch: ChannelChange) { return this.c.request<ChannelView>("PATCH", `${this.base}/channels/${encodeURIComponent(id)}`, ch); }
  deleteChannel(id: string) { return this.c.request<void>("DELETE", `${this.base}/channels/${encodeURIComponent(id)}`); }
  sendModes(conv: string) { return this.c.request<SendModes>("GET", `${this.conv(conv)}/send-modes`); }
  putSettings(s: BusinessSettings) { return this.c.request<BusinessSettings>("PUT", this.base + "/settings", s); }
  inbox(q: InboxQuery) {
    const p = new URLSearchParams({ view: q.view });
    if (q.status) p.set("status", q.status);
    if (q.label) p.set("label", q.label);
    if (q.team) p.set("team", q.team);
    if (q.assignee) p.set("assignee", q.assignee);
    if (q.cursor) p.set("cursor", q.cursor);
    return this.c.request<Page<InboxItem>>("GET", `${this.base}/conversations?${p}`);
  }
  counts() { return this.c.request<InboxCounts>("GET", this.base + "/counts"); }
  detail(id: string) { return this.c.request<InboxDetail>("GET", this.conv(id)); }
  update(id: string, ch: ItemChange) { return this.c.request<InboxItem>("PATCH", this.conv(id), ch); }
  messages(id: string, beforeSeq?: number) {
    return this.c.request<Page<Message>>("GET", `${this.conv(id)}/messages?limit=50${beforeSeq ? "&before_seq=" + beforeSeq : ""}`);
  }
  send(id: string, body: { client_id: string; text?: string; saved_reply?: string; confirm_sensitive?: boolean; send_mode?: string; optin_request?: OptinRequest }) {
    return this.c.request<Message>("POST", `${this.conv(id)}/messages`, body);
  }
  markRead(id: string, seq: number) { return this.c.request<unknown>("POST", `${this.conv(id)}/read`, { seq }); }
  presence(id: string, state: "viewing" | "typing" | "left") { return this.c.request<void>("POST", `${this.conv(id)}/presence`, { state }); }
  notes(id: string) { return this.c.request<{ items: Note[] }>("GET", `${this.conv(id)}/notes`); }
  addNote(id: string, text: string) { return this.c.request<Note>("POST", `${this.conv(id)}/notes`, { text }); }
  savedReplies(q = "") { return this.c.request<{ items: SavedReply[] }>("GET", `${this.base}/saved-replies?q=${encodeURIComponent(q)}`); }
  saveReply(id: string | null, r: { shortcut?: string; title?: string; body?: string }) {
    return id ? this.c.request<SavedReply>("PATCH", `${this.base}/saved-replies/${encodeURIComponent(id)}`, r)
      : this.c.request<SavedReply>("POST", `${this.base}/saved-replies`, r);
  }
  deleteReply(id: string) { return this.c.request<void>("DELETE", `${this.base}/saved-replies/${encodeURIComponent(id)}`); }
  renderReply(id: string, conversation: string) {
    return this.c.request<RenderedReply>("GET", `${this.base}/saved-replies/${encodeURIComponent(id)}/render?conversation=${encodeURIComponent(conversation)}`);
  }
  contact(id: string) { return this.c.request<ContactView>("GET", `${this.base}/contacts/${encodeURIComponent(id)}`); }
  updateContact(id: string, ch: { name?: string; notes?: string; labels?: string[]; attributes?: Record<string, string | null> }) {
    return this.c.request<ContactView>("PATCH", `${this.base}/contacts/${encodeURIComponent(id)}`, ch);
  }
  private reportQuery(q: ReportQuery, format = "") {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v) p.set(k, v);
    if (format) p.set("format", format);
    return `${this.base}/reports?${p}`;
  }
  report(q: ReportQuery) { return this.c.request<Report>("GET", this.reportQuery(q)); }
  /** reportCSV fetches the CSV with the token (a link cannot send it). */
  reportCSV(q: ReportQuery) { return this.c.download(this.reportQuery(q, "csv")); }
  /** handover passes control: to "human" (take over from the bot) or back to "bot". */
  handover(id: string, to: "bot" | "human", reason?: string) {
    return this.c.request<InboxItem>("POST", `${this.conv(id)}/handover`, reason ? { to, reason } : { to });
  }
  /** testRules is a dry run of rules (unsaved ones when given). */
  testRules(t: { text: string; at?: string; rules?: Rule[] }) { return this.c.request<RuleTestResult>("POST", this.base + "/rules/test", t); }
  contacts(q = "") { return this.c.request<Page<ContactView>>("GET", `${this.base}/contacts?limit=50&q=${encodeURIComponent(q)}`); }
  topics() { return this.c.request<{ items: TopicView[] }>("GET", this.base + "/topics"); }
  createTopic(t: { name: string; description?: string; keyword?: string }) { return this.c.request<TopicView>("POST", this.base + "/topics", t); }
  templates() { return this.c.request<{ items: TemplateView[] }>("GET", this.base + "/templates"); }
  createTemplate(t: { name: string; body: string; topic?: string }) { return this.c.request<TemplateView>("POST", this.base + "/templates", t); }
  updateTemplate(id: string, ch: { name?: string; body?: string; topic?: string; status?: "draft" | "approved" }) {
    return this.c.request<TemplateView>("PATCH", `${this.base}/templates/${encodeURIComponent(id)}`, ch);
  }
  previewTemplate(id: string, contact: string) {
    return this.c.request<{ text: string; missing: string[] }>("GET", `${this.base}/templates/${encodeURIComponent(id)}/preview?contact=${encodeURIComponent(contact)}`);
  }
  countSegment(s: Segment) { return this.c.request<{ count: number }>("POST", this.base + "/segments/count", s); }
  campaigns() { return this.c.request<{ items: CampaignView[] }>("GET", this.base + "/campaigns"); }
  campaign(id: string) { return this.c.request<CampaignView>("GET", `${this.base}/campaigns/${encodeURIComponent(id)}`); }
  campaignStats(id: string) { return this.c.request<CampaignStats>("GET", `${this.base}/campaigns/${encodeURIComponent(id)}/stats`); }
  createCampaign(c: CampaignInput) { return this.c.request<CampaignView>("POST", this.base + "/campaigns", c); }
  setCampaignStatus(id: string, status: "scheduled" | "running" | "paused" | "cancelled", scheduled_at?: string) {
    return this.c.request<CampaignView>("PUT", `${this.base}/campaigns/${encodeURIComponent(id)}/status`, scheduled_at ? { status, scheduled_at } : { status });
  }
}

export interface TopicView { id: string; name: string; description: string; keyword: string; form_path: string; link_path: string; link_url?: string; payload: string; created_at: string }
/** ConsentForm is what a topic's opt-in link subscribes to (GET /consent/{token}). */
export interface ConsentForm { business: UserSummary; topic: { id: string; name: string }; description: string }
/** SubscriptionView is a person's consent at one business, every topic of it. */
export interface SubscriptionView {
  business: UserSummary; stopped_at: string | null;
  topics: { topic: { id: string; name: string }; opted_in: boolean; channel?: string; at?: string }[];
}
export interface TopicSummary { id: string; name: string }
export interface TemplateView {
  id: string; name: string; body: string; topic: TopicSummary | null; status: "draft" | "approved"; variables: string[];
  approved_by?: string; approved_at?: string; created_at: string; updated_at: string;
}
/** Segment is an audience: every condition set must hold. */
export interface Segment {
  labels?: string[]; attributes?: Record<string, string>; topics?: string[]; active_within_days?: number; inactive_for_days?: number;
}
export interface CampaignView {
  id: string; name: string; template: TemplateView | null; topic: TopicSummary | null; segment: Segment; status: string;
  scheduled_at: string | null; rate: number; created_at: string; started_at: string | null; ended_at: string | null;
  total: number; sent: number; failed: number; skipped: Record<string, number> | null; pending: number;
}
/** CampaignPoint is what happened to a campaign's recipients in one bucket
 * of time (at its start), or over the whole campaign (no at). */
export interface CampaignPoint {
  at?: string; sent: number; delivered: number; read: number; replied: number; opted_out: number; failed: number;
  skipped: Record<string, number>;
}
/** CampaignStats is a campaign's outcome: totals and a series over time. */
export interface CampaignStats {
  campaign: string; status: string; total: number; pending: number; bucket_seconds: number; attribution_hours: number;
  totals: CampaignPoint; series: CampaignPoint[];
}
export interface CampaignInput { name: string; template: string; segment?: Segment; rate?: number; scheduled_at?: string; send_now?: boolean }

export interface BotView { user: UserSummary; owner: UserSummary; bio: string; created_at: string; tokens: number }
export interface SessionView { id: string; device: string; created_at: string; last_used_at: string; current: boolean }
export interface TokenView {
  id: string; name: string; scopes: string[]; created_at: string; last_used_at: string; expires_at?: string;
  /** the secret: only in the answer that created the token */
  token?: string;
}

/** The API routes this client uses, checked against openapi.json in a test. */
export const usedRoutes = [
  "POST /api/v1/conversations/requests/bulk", "POST /api/v1/conversations/{id}/report-spam",
  "GET /api/v1/me/filters", "POST /api/v1/me/filters", "DELETE /api/v1/me/filters/{id}",
  "GET /api/v1/admin/filters", "POST /api/v1/admin/filters", "DELETE /api/v1/admin/filters/{id}",
  "GET /api/v1/admin/reports", "POST /api/v1/admin/reports/{id}/resolve",
  "POST /api/v1/accounts", "POST /api/v1/sessions", "GET /api/v1/search", "DELETE /api/v1/sessions/current", "GET /api/v1/me",
  "GET /api/v1/conversations", "GET /api/v1/conversations/{id}", "POST /api/v1/conversations",
  "POST /api/v1/conversations/{id}/accept", "POST /api/v1/conversations/{id}/decline", "PUT /api/v1/users/{handle}/block",
  "GET /api/v1/conversations/{id}/messages", "POST /api/v1/conversations/{id}/messages",
  "POST /api/v1/conversations/{id}/read", "POST /api/v1/media", "GET /api/v1/media/{id}",
  "GET /api/v1/media/{id}/thumbnail", "POST /api/v1/stream/tickets", "GET /api/v1/stream",
  "PATCH /api/v1/me", "GET /api/v1/sessions", "DELETE /api/v1/sessions/{id}", "GET /api/v1/me/blocks",
  "DELETE /api/v1/users/{handle}/block", "POST /api/v1/conversations/{id}/members", "POST /api/v1/conversations/{id}/leave",
  "PATCH /api/v1/conversations/{id}/messages/{mid}", "DELETE /api/v1/conversations/{id}/messages/{mid}",
  "PUT /api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}", "DELETE /api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}",
  "GET /api/v1/business", "GET /api/v1/business/{business}/agents", "PUT /api/v1/business/{business}/agents/{handle}",
  "DELETE /api/v1/business/{business}/agents/{handle}", "GET /api/v1/business/{business}/settings", "PUT /api/v1/business/{business}/settings",
  "GET /api/v1/business/{business}/conversations", "GET /api/v1/business/{business}/counts", "GET /api/v1/business/{business}/conversations/{id}",
  "PATCH /api/v1/business/{business}/conversations/{id}", "GET /api/v1/business/{business}/conversations/{id}/messages",
  "POST /api/v1/business/{business}/conversations/{id}/messages", "POST /api/v1/business/{business}/conversations/{id}/read",
  "POST /api/v1/business/{business}/conversations/{id}/presence", "GET /api/v1/business/{business}/conversations/{id}/notes",
  "POST /api/v1/business/{business}/conversations/{id}/notes", "GET /api/v1/business/{business}/saved-replies",
  "POST /api/v1/business/{business}/saved-replies", "PATCH /api/v1/business/{business}/saved-replies/{reply}",
  "DELETE /api/v1/business/{business}/saved-replies/{reply}", "GET /api/v1/business/{business}/saved-replies/{reply}/render",
  "GET /api/v1/business/{business}/contacts/{contact}", "PATCH /api/v1/business/{business}/contacts/{contact}",
  "GET /api/v1/business/{business}/reports", "GET /api/v1/business/{business}/teams",
  "GET /api/v1/tokens", "POST /api/v1/tokens", "DELETE /api/v1/tokens/{id}",
  "POST /api/v1/exports", "GET /api/v1/exports", "GET /api/v1/exports/{id}", "GET /api/v1/exports/{id}/download",
  "POST /api/v1/conversations/{id}/messages/{mid}/postback", "GET /api/v1/users/{handle}",
  "GET /api/v1/bots", "POST /api/v1/bots", "PATCH /api/v1/bots/{handle}", "DELETE /api/v1/bots/{handle}",
  "GET /api/v1/bots/{handle}/tokens", "POST /api/v1/bots/{handle}/tokens", "POST /api/v1/bots/{handle}/tokens/{id}/rotate",
  "DELETE /api/v1/bots/{handle}/tokens/{id}", "POST /api/v1/business/{business}/conversations/{id}/handover",
  "POST /api/v1/business/{business}/rules/test",
  "GET /api/v1/business/{business}/contacts", "GET /api/v1/business/{business}/topics", "POST /api/v1/business/{business}/topics",
  "GET /api/v1/business/{business}/templates", "POST /api/v1/business/{business}/templates", "PATCH /api/v1/business/{business}/templates/{template}",
  "GET /api/v1/business/{business}/templates/{template}/preview", "POST /api/v1/business/{business}/segments/count",
  "GET /api/v1/business/{business}/campaigns", "POST /api/v1/business/{business}/campaigns",
  "GET /api/v1/business/{business}/campaigns/{campaign}", "PUT /api/v1/business/{business}/campaigns/{campaign}/status",
  "GET /api/v1/business/{business}/campaigns/{campaign}/stats",
  "POST /api/v1/sessions/second-factor", "GET /api/v1/me/2fa", "POST /api/v1/me/2fa/setup", "POST /api/v1/me/2fa/confirm",
  "POST /api/v1/me/2fa/disable", "POST /api/v1/me/2fa/recovery-codes",
  "GET /api/v1/business/{business}/channels", "POST /api/v1/business/{business}/channels",
  "PATCH /api/v1/business/{business}/channels/{channel}", "DELETE /api/v1/business/{business}/channels/{channel}",
  "GET /api/v1/business/{business}/conversations/{id}/send-modes",
];

/** newClientID makes an idempotency key for a send. */
export function newClientID(): string {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return "web-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
