// The live stream: a WebSocket opened with a single-use ticket, resumed
// from the last position after any disconnect, with backoff.
import type { Client, Message, SyncEvent } from "./api";
import { backoff } from "./state";

export type StreamStatus = "connecting" | "live" | "offline";

export interface StreamHandlers {
  event(ev: SyncEvent): void;
  /** resync: the position is gone (first start, or too far behind):
   * reload the conversation list and history. */
  resync(): void;
  status(s: StreamStatus): void;
  /** revoked: the session ended (logout elsewhere, revoked). */
  revoked(): void;
}

/** StreamUnavailable: the stream could not answer a send (not connected,
 * dropped or late before the answer, or a refusal): ask over HTTP with
 * the same client_id, which answers with the stored message or the whole
 * refusal. */
export class StreamUnavailable extends Error {}

interface PendingSend {
  resolve(m: Message): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Stream {
  private ws: WebSocket | null = null;
  private pending = new Map<string, PendingSend>();
  private sendSeq = 0;
  private attempt = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private upSince = 0;
  pos = 0;

  constructor(private client: Client, private h: StreamHandlers, private wsBase = "") {}

  start() {
    this.stopped = false;
    void this.connect();
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000);
    this.ws = null;
    this.failPending("stopped");
  }

  /** sendMessage sends a message on the socket — body is that of POST
   * …/messages, client_id included — and resolves with the stored message
   * once it is committed. It rejects with StreamUnavailable when the
   * socket is not open, drops or stays silent past timeoutMs, or the
   * server refuses: the caller then sends over HTTP with the same
   * client_id (sendMessage in main.tsx). */
  sendMessage(conversationID: string, body: Record<string, unknown>, timeoutMs = 5000): Promise<Message> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new StreamUnavailable("not connected"));
    const id = `m${++this.sendSeq}`;
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new StreamUnavailable("no answer"));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      try {
        ws.send(JSON.stringify({ type: "send", id, conversation_id: conversationID, message: body }));
      } catch {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new StreamUnavailable("write failed"));
      }
    });
  }

  /** answered settles the send a sent or error frame answers; false when
   * the frame answers none of them. */
  private answered(f: { type: string; id?: string; code?: string; message?: Message }): boolean {
    const p = f.id ? this.pending.get(f.id) : undefined;
    if (!p || !f.id) return false;
    this.pending.delete(f.id);
    clearTimeout(p.timer);
    if (f.type === "sent" && f.message) p.resolve(f.message);
    else p.reject(new StreamUnavailable(f.code || "refused"));
    return true;
  }

  private failPending(why: string) {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new StreamUnavailable(why));
    }
  }

  /** send writes a client frame (typing, read, delivered, ping) and
   * reports whether the socket was open to take it. */
  send(frame: Record<string, unknown>): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private async connect() {
    if (this.stopped) return;
    this.h.status("connecting");
    let ticket: string;
    try {
      ticket = (await this.client.ticket()).ticket;
    } catch (e) {
      if (this.stopped) return;
      if ((e as { status?: number }).status === 401) return this.h.revoked();
      return this.retry();
    }
    if (this.stopped) return; // stopped while the ticket was on its way
    const base = this.wsBase || `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
    // A fresh start loads the lists itself (resync) and follows from the
    // head: since=now, not a replay of the history.
    const since = this.pos > 0 ? `&since=${this.pos}` : "&since=now";
    const ws = new WebSocket(`${base}/api/v1/stream?ticket=${encodeURIComponent(ticket)}${since}`);
    this.ws = ws;
    ws.onmessage = (msg) => {
      if (this.ws !== ws) return;
      const f = JSON.parse(String(msg.data));
      if (f.type === "hello") {
        this.upSince = Date.now();
        this.h.status("live");
        // hello comes before the replay it announces: the position moves
        // with each event received, so that a drop in the middle of the
        // replay resumes from the last event, not past the rest. Only a
        // fresh start (limited) takes the head at once.
        if (f.limited) {
          this.pos = f.next;
          this.h.resync();
        }
        return;
      }
      if (f.type === "position") {
        this.pos = Math.max(this.pos, f.next);
        return;
      }
      if (f.type === "pong") return;
      if ((f.type === "sent" || f.type === "error") && this.answered(f)) return;
      if (f.type === "sent" || f.type === "error") return; // a send given up on, or a refused typing frame
      if (f.pos) this.pos = Math.max(this.pos, f.pos);
      this.h.event(f as SyncEvent);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.failPending("closed");
      if (this.stopped) return;
      if (e.code === 4001) return this.h.revoked();
      // 4009: too far behind; 1008: a position this server does not know
      // (a restored database): both start over from a reload.
      if (e.code === 4009 || e.code === 1008) this.pos = 0;
      // The backoff starts again only after a connection that lasted: a
      // server that closes right after hello is not hammered.
      if (this.upSince && Date.now() - this.upSince > 5000) this.attempt = 0;
      this.upSince = 0;
      this.retry();
    };
  }

  private retry() {
    this.h.status("offline");
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.connect(), backoff(this.attempt++));
  }
}
