package httpapi

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestReferenceUpToDate keeps docs/reference.md, the API reference page,
// equal to what openapi.json renders to, so that the page never drifts
// from the document the route tests hold to the code. After changing
// openapi.json:
//
//	PARLEY_UPDATE_REFERENCE=1 go test ./httpapi -run TestReferenceUpToDate
func TestReferenceUpToDate(t *testing.T) {
	spec, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := renderReference(spec)
	if err != nil {
		t.Fatal(err)
	}
	const path = "../docs/reference.md"
	if os.Getenv("PARLEY_UPDATE_REFERENCE") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || string(want) != got {
		t.Fatalf("docs/reference.md is not what openapi.json renders to (%v); run: PARLEY_UPDATE_REFERENCE=1 go test ./httpapi -run TestReferenceUpToDate", err)
	}
}

type jsonObj = map[string]any

var methodOrder = []string{"get", "post", "put", "patch", "delete"}

// renderReference turns the OpenAPI document into one Markdown page:
// operations grouped by tag, then every schema with its properties.
func renderReference(spec []byte) (string, error) {
	var doc jsonObj
	if err := json.Unmarshal(spec, &doc); err != nil {
		return "", err
	}
	var b strings.Builder
	info, _ := doc["info"].(jsonObj)
	fmt.Fprintf(&b, "# API reference\n\n")
	fmt.Fprintf(&b, "<!-- Generated from httpapi/openapi.json by `PARLEY_UPDATE_REFERENCE=1 go test ./httpapi -run TestReferenceUpToDate`; do not edit by hand. -->\n\n")
	fmt.Fprintf(&b, "%s, version %v. Conventions, errors, paging and the event stream are explained in [api.md](api.md); this page lists every operation and schema of [openapi.json](../httpapi/openapi.json).\n\n", str(info["title"]), info["version"])

	type op struct {
		method, path string
		o            jsonObj
	}
	byTag := map[string][]op{}
	paths, _ := doc["paths"].(jsonObj)
	for _, p := range sortedKeys(paths) {
		item, _ := paths[p].(jsonObj)
		for _, m := range methodOrder {
			o, ok := item[m].(jsonObj)
			if !ok {
				continue
			}
			tag := "other"
			if tags, _ := o["tags"].([]any); len(tags) > 0 {
				tag = str(tags[0])
			}
			byTag[tag] = append(byTag[tag], op{strings.ToUpper(m), p, o})
		}
	}
	var tagNames []string
	tagDesc := map[string]string{}
	for _, t := range arr(doc["tags"]) {
		to, _ := t.(jsonObj)
		tagNames = append(tagNames, str(to["name"]))
		tagDesc[str(to["name"])] = str(to["description"])
	}
	for _, t := range sortedKeys(byTag) {
		if !slices.Contains(tagNames, t) {
			tagNames = append(tagNames, t)
		}
	}

	b.WriteString("## Contents\n\n")
	for _, t := range tagNames {
		if len(byTag[t]) > 0 {
			fmt.Fprintf(&b, "- [%s](#%s) (%d)\n", t, anchor(t), len(byTag[t]))
		}
	}
	b.WriteString("- [Schemas](#schemas)\n\n")

	for _, t := range tagNames {
		ops := byTag[t]
		if len(ops) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n", t)
		if d := tagDesc[t]; d != "" {
			fmt.Fprintf(&b, "%s\n\n", d)
		}
		for _, o := range ops {
			fmt.Fprintf(&b, "### `%s %s`\n\n", o.method, o.path)
			if s := str(o.o["summary"]); s != "" {
				fmt.Fprintf(&b, "**%s**", s)
				if id := str(o.o["operationId"]); id != "" {
					fmt.Fprintf(&b, " (`%s`)", id)
				}
				b.WriteString("\n\n")
			}
			if d := str(o.o["description"]); d != "" {
				fmt.Fprintf(&b, "%s\n\n", d)
			}
			if sec, ok := o.o["security"].([]any); ok && len(sec) == 0 {
				b.WriteString("No authentication.\n\n")
			}
			if ps := arr(o.o["parameters"]); len(ps) > 0 {
				b.WriteString("| parameter | in | type | required | description |\n|---|---|---|---|---|\n")
				for _, p := range ps {
					po := resolve(doc, p)
					fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", str(po["name"]), str(po["in"]), typeOf(po["schema"]), yes(po["required"]), cell(str(po["description"])))
				}
				b.WriteString("\n")
			}
			if rb, ok := o.o["requestBody"].(jsonObj); ok {
				rb = resolve(doc, rb)
				for _, ct := range sortedKeys(obj(rb["content"])) {
					fmt.Fprintf(&b, "Request body (`%s`): %s\n\n", ct, typeOf(obj(obj(rb["content"])[ct])["schema"]))
				}
			}
			resps := obj(o.o["responses"])
			b.WriteString("| status | description | body |\n|---|---|---|\n")
			for _, code := range sortedKeys(resps) {
				r := resolve(doc, resps[code])
				body := ""
				for _, ct := range sortedKeys(obj(r["content"])) {
					body += fmt.Sprintf("`%s` %s ", ct, typeOf(obj(obj(r["content"])[ct])["schema"]))
				}
				fmt.Fprintf(&b, "| %s | %s | %s |\n", code, cell(str(r["description"])), strings.TrimSpace(body))
			}
			b.WriteString("\n")
		}
	}

	b.WriteString("## Schemas\n\n")
	schemas := obj(obj(doc["components"])["schemas"])
	for _, name := range sortedKeys(schemas) {
		s := obj(schemas[name])
		fmt.Fprintf(&b, "### %s\n\n", name)
		if d := str(s["description"]); d != "" {
			fmt.Fprintf(&b, "%s\n\n", d)
		}
		props := obj(s["properties"])
		if len(props) == 0 {
			fmt.Fprintf(&b, "Type: %s\n\n", typeOf(s))
			continue
		}
		required := map[string]bool{}
		for _, r := range arr(s["required"]) {
			required[str(r)] = true
		}
		b.WriteString("| property | type | required | description |\n|---|---|---|---|\n")
		for _, p := range sortedKeys(props) {
			po := obj(props[p])
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p, typeOf(po), yes(required[p]), cell(str(po["description"])))
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// typeOf writes a schema as a short type: a link to a named schema,
// []T for arrays, an enum's values, a|b for alternatives.
func typeOf(v any) string {
	s, ok := v.(jsonObj)
	if !ok {
		return ""
	}
	if ref := str(s["$ref"]); ref != "" {
		name := ref[strings.LastIndex(ref, "/")+1:]
		return fmt.Sprintf("[%s](#%s)", name, anchor(name))
	}
	for _, k := range []string{"allOf", "oneOf", "anyOf"} {
		if alts := arr(s[k]); len(alts) > 0 {
			var parts []string
			for _, a := range alts {
				if t := typeOf(a); t != "" && t != "object" {
					parts = append(parts, t)
				}
			}
			sep := " \\| "
			if k == "allOf" {
				sep = " & "
			}
			return strings.Join(parts, sep)
		}
	}
	if e := arr(s["enum"]); len(e) > 0 {
		var vals []string
		for _, x := range e {
			vals = append(vals, fmt.Sprintf("`%v`", x))
		}
		return strings.Join(vals, " \\| ")
	}
	if c, ok := s["const"]; ok {
		return fmt.Sprintf("`%v`", c)
	}
	t := s["type"]
	if ts := arr(t); len(ts) > 0 {
		var parts []string
		for _, x := range ts {
			parts = append(parts, str(x))
		}
		t = strings.Join(parts, " \\| ")
	}
	switch str(t) {
	case "array":
		return "[]" + typeOf(s["items"])
	case "":
		return "any"
	}
	out := str(t)
	if f := str(s["format"]); f != "" {
		out += " (" + f + ")"
	}
	return out
}

// resolve follows a $ref inside the document (parameters, responses,
// request bodies).
func resolve(doc jsonObj, v any) jsonObj {
	o := obj(v)
	ref := str(o["$ref"])
	if !strings.HasPrefix(ref, "#/") {
		return o
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		cur = obj(cur)[part]
	}
	return resolve(doc, cur)
}

func obj(v any) jsonObj { o, _ := v.(jsonObj); return o }
func arr(v any) []any   { a, _ := v.([]any); return a }
func str(v any) string  { s, _ := v.(string); return s }

func yes(v any) string {
	if b, _ := v.(bool); b {
		return "yes"
	}
	return ""
}

// cell keeps a description inside one table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.Join(strings.Fields(s), " ")
}

// anchor is GitHub's heading anchor for a simple heading.
func anchor(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", "-"))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
