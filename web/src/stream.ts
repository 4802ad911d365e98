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
      if ((e as { status?: number }).status === 401) return this.h.revoked();
      return this.retry();
    }
    const base = this.wsBase || `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
    const since = this.pos > 0 ? `&since=${this.pos}` : "";
    const ws = new WebSocket(`${base}/api/v1/stream?ticket=${encodeURIComponent(ticket)}${since}`);
    this.ws = ws;
    ws.onmessage = (msg) => {
      const f = JSON.parse(String(msg.data));
      if (f.type === "hello") {
        this.attempt = 0;
        this.h.status("live");
        if (f.limited) this.h.resync();
        this.pos = f.next;
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
      if (e.code === 4009) this.pos = 0; // too far behind: start over
      this.retry();
    };
  }

  private retry() {
    this.h.status("offline");
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.connect(), backoff(this.attempt++));
  }
}
