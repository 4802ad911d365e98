// Message search: what a result's snippet shows. The server sends a
// snippet as parts of plain text with the query's words marked; the app
// draws each part as a text node, hits inside <mark>, never as HTML.
import type { Message } from "./api";

/** SnippetPart is a piece of a snippet; hit marks a word of the query. */
export interface SnippetPart { text: string; hit?: boolean }
/** SearchResult is one message found (see GET /api/v1/search). */
export interface SearchResult { message: Message; snippet: SnippetPart[]; score?: number; as?: string }
/** SearchPage is a page of results; truncated: a relevance search ranked only its 100 newest matches. */
export interface SearchPage { items: SearchResult[]; next_cursor?: string; truncated?: boolean }

/** Segment is a run of snippet text to draw, marked or not. */
export interface Segment { text: string; mark: boolean }

/** snippetSegments turns a snippet into the runs to draw: empty parts
 * dropped, neighbours of the same kind joined, anything that is not a
 * string shown as nothing — so a result can only ever become text. */
export function snippetSegments(parts: SnippetPart[] | undefined): Segment[] {
  const out: Segment[] = [];
  for (const p of parts ?? []) {
    const text = typeof p?.text === "string" ? p.text : "";
    if (text === "") continue;
    const mark = p.hit === true;
    const last = out[out.length - 1];
    if (last && last.mark === mark) last.text += text;
    else out.push({ text, mark });
  }
  return out;
}

/** searchPath is the query string of a search. */
export function searchPath(q: string, opts: { cursor?: string; conversation?: string; limit?: number; sort?: "relevance" | "recent" } = {}): string {
  const p = new URLSearchParams({ q });
  if (opts.sort) p.set("sort", opts.sort);
  if (opts.cursor) p.set("cursor", opts.cursor);
  if (opts.conversation) p.set("conversation", opts.conversation);
  if (opts.limit) p.set("limit", String(opts.limit));
  return "/search?" + p.toString();
}
