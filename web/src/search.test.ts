import { describe, expect, it } from "vitest";
import { searchPath, snippetSegments } from "./search";
import { Snippet } from "./snippet";

describe("snippetSegments", () => {
  it("joins neighbours, drops empties and keeps hits apart", () => {
    expect(snippetSegments([{ text: "…we had " }, { text: "" }, { text: "green" , hit: true }, { text: " " }, { text: "tea", hit: true }, { text: " at " }, { text: "noon" }]))
      .toEqual([{ text: "…we had ", mark: false }, { text: "green", mark: true }, { text: " ", mark: false }, { text: "tea", mark: true }, { text: " at noon", mark: false }]);
    expect(snippetSegments(undefined)).toEqual([]);
    expect(snippetSegments([{ text: 42 as unknown as string, hit: true }, { text: "x" }])).toEqual([{ text: "x", mark: false }]);
  });
});

// The vnode tree Snippet returns: a span whose children are strings (text
// nodes) and <mark> elements holding one string each.
type VNode = { type: unknown; props: { children?: unknown; dangerouslySetInnerHTML?: unknown } };

describe("Snippet", () => {
  it("draws markup in a message as text, hits in <mark>", () => {
    const v = Snippet({ parts: [{ text: "<img src=x onerror=alert(1)> " }, { text: "<b>tea</b>", hit: true }, { text: " & more" }] }) as unknown as VNode;
    expect(v.type).toBe("span");
    const kids = v.props.children as (string | VNode)[];
    expect(kids).toHaveLength(3);
    expect(kids[0]).toBe("<img src=x onerror=alert(1)> ");
    const mark = kids[1] as VNode;
    expect(mark.type).toBe("mark");
    expect(mark.props.children).toBe("<b>tea</b>");
    expect(mark.props.dangerouslySetInnerHTML).toBeUndefined();
    expect(kids[2]).toBe(" & more");
  });
});

describe("searchPath", () => {
  it("encodes the query", () => {
    expect(searchPath("tea & cake?", { cursor: "abc", limit: 20 })).toBe("/search?q=tea+%26+cake%3F&cursor=abc&limit=20");
    expect(searchPath("tea", { sort: "recent", cursor: "abc" })).toBe("/search?q=tea&sort=recent&cursor=abc");
  });
});
