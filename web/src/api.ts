// The one typed client of the Parley API used by every screen. Types mirror
// /api/v1/openapi.json (components.schemas); a test checks the routes used
// here exist in that document.

export interface UserSummary { id: string; handle: string; display_name: string; kind: string }
export interface Me extends UserSummary { bio: string; dm_policy: string; show_presence: boolean; created_at: string }
export interface Auth { user: Me; token: string; session_id: string }
export interface ReactionCount { emoji: string; count: number; me: boolean }
export interface Thumbnail { content_type: string; width: number; height: number }
export interface Attachment {
  id?: string; kind: string; content_type?: string; size?: number; width?: number; height?: number;
  duration_ms?: number; thumbnail?: Thumbnail; hidden?: boolean;
}
export interface Card { url: string; title?: string; description?: string; site_name?: string; image?: { id: string; width: number; height: number } }
export interface ReplyPreview { id: string; seq?: number; sender_id?: string; text?: string; deleted?: boolean }
export interface Message {
  id: string; conversation_id: string; seq: number; sender: UserSummary; client_id?: string; kind: string;
  text?: string; system?: Record<string, unknown>; reply_to?: ReplyPreview; created_at: string; edited_at?: string;
  deleted?: boolean; reactions?: ReactionCount[]; attachments?: Attachment[]; card?: Card;
}
export interface Member { user: UserSummary; role: string; status: string; read_seq: number }
export interface Conversation {
  id: string; kind: "direct" | "group"; title?: string; last_seq: number; last_activity_at: string; member_count: number;
  folder: string; status: string; role: string; pinned: boolean; read_seq: number; unread_count: number;
  request: boolean; members?: Member[]; last_message?: Message;
}
export interface SyncEvent {
  pos?: number; type: string; conversation_id?: string; actor_id?: string; seq?: number; message?: Message;
  data?: Record<string, unknown>; created_at: string;
}
export interface Page<T> { items: T[]; next_cursor?: string }
export interface MediaView extends Attachment { created_at: string; sent: boolean }

/** ApiError is a problem+json answer: code is stable, message is for people. */
export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) { super(message); }
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
    if (!res.ok) throw new ApiError(res.status, data?.code ?? "internal", data?.detail ?? res.statusText);
    return data as T;
  }

  register(handle: string, password: string, display_name: string) {
    return this.request<Auth>("POST", "/accounts", { handle, password, display_name, kind: "person" });
  }
  login(handle: string, password: string) { return this.request<Auth>("POST", "/sessions", { handle, password, device: "web" }); }
  logout() { return this.request<void>("DELETE", "/sessions/current"); }
  me() { return this.request<Me>("GET", "/me"); }
  conversations(folder: string) { return this.request<Page<Conversation>>("GET", "/conversations?folder=" + encodeURIComponent(folder)); }
  conversation(id: string) { return this.request<Conversation>("GET", "/conversations/" + encodeURIComponent(id)); }
  startDirect(handle: string) { return this.request<Conversation>("POST", "/conversations", { kind: "direct", with: handle }); }
  accept(id: string) { return this.request<Conversation>("POST", `/conversations/${encodeURIComponent(id)}/accept`); }
  decline(id: string) { return this.request<void>("POST", `/conversations/${encodeURIComponent(id)}/decline`); }
  block(handle: string) { return this.request<void>("PUT", `/users/${encodeURIComponent(handle)}/block`); }
  messages(id: string, beforeSeq?: number) {
    const q = beforeSeq ? `?before_seq=${beforeSeq}&limit=50` : "?limit=50";
    return this.request<Page<Message>>("GET", `/conversations/${encodeURIComponent(id)}/messages${q}`);
  }
  send(id: string, body: { client_id: string; text?: string; kind?: string; attachments?: string[]; reply_to?: string }) {
    return this.request<Message>("POST", `/conversations/${encodeURIComponent(id)}/messages`, body);
  }
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
  ticket() { return this.request<{ ticket: string; expires_at: string }>("POST", "/stream/tickets"); }
  updateMe(p: Partial<Pick<Me, "display_name" | "bio" | "dm_policy" | "show_presence">>) { return this.request<Me>("PATCH", "/me", p); }
  sessions() { return this.request<Page<SessionView>>("GET", "/sessions"); }
  revokeSession(id: string) { return this.request<void>("DELETE", "/sessions/" + encodeURIComponent(id)); }
  blocks() { return this.request<Page<UserSummary>>("GET", "/me/blocks"); }
  unblock(handle: string) { return this.request<void>("DELETE", `/users/${encodeURIComponent(handle)}/block`); }
  createGroup(title: string, members: string[]) {
    return this.request<Conversation>("POST", "/conversations", { kind: "group", title, members });
  }
  addMembers(id: string, handles: string[]) { return this.request<unknown>("POST", `/conversations/${encodeURIComponent(id)}/members`, { members: handles }); }
  leave(id: string) { return this.request<void>("POST", `/conversations/${encodeURIComponent(id)}/leave`); }
  edit(id: string, mid: string, text: string) {
    return this.request<Message>("PATCH", `/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(mid)}`, { text });
  }
  unsend(id: string, mid: string) { return this.request<void>("DELETE", `/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(mid)}`); }
  react(id: string, mid: string, emoji: string, on: boolean) {
    return this.request<void>(on ? "PUT" : "DELETE",
      `/conversations/${encodeURIComponent(id)}/messages/${encodeURIComponent(mid)}/reactions/${encodeURIComponent(emoji)}`);
  }
}

export interface SessionView { id: string; device: string; created_at: string; last_used_at: string; current: boolean }

/** The API routes this client uses, checked against openapi.json in a test. */
export const usedRoutes = [
  "POST /api/v1/accounts", "POST /api/v1/sessions", "DELETE /api/v1/sessions/current", "GET /api/v1/me",
  "GET /api/v1/conversations", "GET /api/v1/conversations/{id}", "POST /api/v1/conversations",
  "POST /api/v1/conversations/{id}/accept", "POST /api/v1/conversations/{id}/decline", "PUT /api/v1/users/{handle}/block",
  "GET /api/v1/conversations/{id}/messages", "POST /api/v1/conversations/{id}/messages",
  "POST /api/v1/conversations/{id}/read", "POST /api/v1/media", "GET /api/v1/media/{id}",
  "GET /api/v1/media/{id}/thumbnail", "POST /api/v1/stream/tickets", "GET /api/v1/stream",
  "PATCH /api/v1/me", "GET /api/v1/sessions", "DELETE /api/v1/sessions/{id}", "GET /api/v1/me/blocks",
  "DELETE /api/v1/users/{handle}/block", "POST /api/v1/conversations/{id}/members", "POST /api/v1/conversations/{id}/leave",
  "PATCH /api/v1/conversations/{id}/messages/{mid}", "DELETE /api/v1/conversations/{id}/messages/{mid}",
  "PUT /api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}", "DELETE /api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}",
];

/** newClientID makes an idempotency key for a send. */
export function newClientID(): string {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return "web-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
