import { snippetSegments, type SnippetPart } from "./search";

/** Snippet draws a search result's snippet: text nodes, the query's words
 * in <mark>. Preact makes a string child a text node, so nothing in the
 * message can become markup. */
export function Snippet({ parts }: { parts: SnippetPart[] | undefined }) {
  return <span class="snippet">{snippetSegments(parts).map((s, i) => (s.mark ? <mark key={i}>{s.text}</mark> : s.text))}</span>;
}
