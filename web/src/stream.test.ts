import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Client, Message } from "./api";
import { Stream, StreamUnavailable } from "./stream";

// FakeSocket stands in for the browser's WebSocket: the test plays the
// server, reading what the client wrote and answering with frames.
class FakeSocket {
  static OPEN = 1;
  static last: FakeSocket | null = null;
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  constructor(public url: string) { FakeSocket.last = this; }
  send(data: string) { this.sent.push(JSON.parse(data)); }
  close() { this.readyState = 3; }
  open() { this.readyState = FakeSocket.OPEN; this.frame({ type: "hello", next: 7, limited: false }); }
  frame(f: unknown) { this.onmessage?.({ data: JSON.stringify(f) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
}

const client = { ticket: async () => ({ ticket: "tkt_1" }) } as unknown as Client;
const handlers = { event: vi.fn(), resync: vi.fn(), status: vi.fn(), revoked: vi.fn() };
const stored: Message = { id: "m1", conversation_id: "c1", seq: 3, sender: { id: "a", handle: "a", display_name: "A", kind: "person" },
  kind: "text", text: "hi", created_at: "2026-01-01T00:00:00Z" };

async function connected(): Promise<[Stream, FakeSocket]> {
  const st = new Stream(client, handlers, "ws://test");
  st.start();
  await vi.waitFor(() => expect(FakeSocket.last?.url).toContain("ticket=tkt_1"));
  const ws = FakeSocket.last!;
  ws.open();
  return [st, ws];
}

describe("Stream.sendMessage", () => {
  beforeEach(() => { FakeSocket.last = null; vi.stubGlobal("WebSocket", FakeSocket); });
  afterEach(() => { vi.unstubAllGlobals(); vi.useRealTimers(); });

  it("sends a send frame and resolves with the message its sent frame carries", async () => {
    const [st, ws] = await connected();
    const p = st.sendMessage("c1", { client_id: "k1", text: "hi" });
    expect(ws.sent).toEqual([{ type: "send", id: "m1", conversation_id: "c1", message: { client_id: "k1", text: "hi" } }]);
    ws.frame({ type: "error", code: "invalid", detail: "no id: a typing frame's refusal" }); // answers no send
    ws.frame({ type: "sent", id: "m1", created: true, message: stored });
    await expect(p).resolves.toEqual(stored);
    expect(handlers.event).not.toHaveBeenCalled();
    st.stop();
  });

  it("rejects with StreamUnavailable on a refusal, a drop, silence and no socket", async () => {
    const [st, ws] = await connected();
    const refused = st.sendMessage("c1", { client_id: "k2", text: "card 4111 1111 1111 1111" });
    ws.frame({ type: "error", id: "m1", code: "sensitive_data", detail: "…" });
    await expect(refused).rejects.toBeInstanceOf(StreamUnavailable);

    const dropped = st.sendMessage("c1", { client_id: "k3", text: "x" });
    ws.drop();
    await expect(dropped).rejects.toBeInstanceOf(StreamUnavailable);
    await expect(st.sendMessage("c1", { client_id: "k4", text: "x" })).rejects.toBeInstanceOf(StreamUnavailable);
    st.stop();

    vi.useFakeTimers();
    const [st2, ws2] = await connected();
    const silent = st2.sendMessage("c1", { client_id: "k5", text: "x" }, 5000);
    const caught = expect(silent).rejects.toBeInstanceOf(StreamUnavailable);
    await vi.advanceTimersByTimeAsync(5000);
    await caught;
    // A late answer to a send given up on is dropped, not an event.
    ws2.frame({ type: "sent", id: "m1", created: true, message: stored });
    expect(handlers.event).not.toHaveBeenCalled();
    st2.stop();
  });
});
