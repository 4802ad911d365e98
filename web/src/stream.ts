// The live stream: a WebSocket opened with a single-use ticket, resumed
// from the last position after any disconnect, with backoff.
import type { Client, SyncEvent } from "./api";
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

export class Stream {
  private ws: WebSocket | null = null;
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
      if (f.pos) this.pos = Math.max(this.pos, f.pos);
      this.h.event(f as SyncEvent);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
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
