package main

// Reading the config file (TOML, YAML or env lines) and printing the
// effective configuration with secrets masked.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/pelletier/go-toml/v2"
)

// where names a value's origin in an error message.
func where(v settingValue, st setting, file string) string {
	switch {
	case strings.HasPrefix(v.Source, "file "):
		if isStructured(file) {
			return "config " + file + ": " + st.key
		}
		return "config " + file + ": " + st.env()
	case strings.HasPrefix(v.Source, "env "):
		return st.env()
	case strings.HasPrefix(v.Source, "flag "):
		return strings.TrimPrefix(v.Source, "flag ")
	}
	return st.key + " (default)"
}

func isStructured(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".toml", ".yaml", ".yml":
		return true
	}
	return false
}

// readConfigFile reads a config file into setting key → value text.
func readConfigFile(path string) (map[string]string, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var tree map[string]any
	switch strings.ToLower(filepath.Ext(path)) {
	case ".toml":
		if err := toml.Unmarshal(buf, &tree); err != nil {
			var derr *toml.DecodeError
			if errors.As(err, &derr) {
				row, col := derr.Position()
				return nil, fmt.Errorf("config %s:%d:%d: %v", path, row, col, derr)
			}
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	case ".yaml", ".yml":
		if err := yaml.Unmarshal(buf, &tree); err != nil {
			return nil, fmt.Errorf("config %s: %s", path, yaml.FormatError(err, false, false))
		}
	default:
		return readEnvFile(path, buf)
	}
	out := map[string]string{}
	if err := flatten(path, "", tree, out); err != nil {
		return nil, err
	}
	return out, nil
}

// flatten walks a decoded TOML or YAML document into dotted keys.
func flatten(path, prefix string, tree map[string]any, out map[string]string) error {
	keys := make([]string, 0, len(tree))
	for k := range tree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := prefix + k
		v := tree[k]
		if st, ok := settingByKey(key); ok {
			text, err := fileText(st, v)
			if err != nil {
				return fmt.Errorf("config %s: %s: %w", path, key, err)
			}
			out[key] = text
			continue
		}
		if sub, ok := v.(map[string]any); ok && isSection(key) {
			if err := flatten(path, key+".", sub, out); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("config %s: unknown key %q; %s", path, key, suggest(key, false))
	}
	return nil
}

// isSection reports whether some setting's key starts with prefix + ".".
func isSection(prefix string) bool {
	for _, st := range settingTable {
		if strings.HasPrefix(st.key, prefix+".") {
			return true
		}
	}
	return false
}

// fileText turns a TOML or YAML value into the text the environment
// would carry.
func fileText(st setting, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case []any:
		if st.kind != kindList {
			return "", fmt.Errorf("a list is not allowed here; write one value, e.g. %s", example(st))
		}
		var parts []string
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("%v is not a string; write a list of strings, e.g. [\"a\", \"b\"]", e)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	case map[string]any:
		if st.key == "media.types" {
			return mediaTypesText(x)
		}
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("%v is not a value Parley reads here; write e.g. %s", v, example(st))
}

// mediaTypesText turns a [media.types] table (kind = ["type", …]) into
// the environment's kind=type,type;kind=type.
func mediaTypesText(m map[string]any) (string, error) {
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var entries []string
	for _, k := range kinds {
		var types []string
		switch x := m[k].(type) {
		case string:
			types = []string{x}
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return "", fmt.Errorf("%s: %v is not a content type; write e.g. %s = [\"application/pdf\"]", k, e, k)
				}
				types = append(types, s)
			}
		default:
			return "", fmt.Errorf("%s: write a list of content types, e.g. %s = [\"application/pdf\"]", k, k)
		}
		entries = append(entries, k+"="+strings.Join(types, ","))
	}
	return strings.Join(entries, ";"), nil
}

func example(st setting) string {
	switch st.kind {
	case kindBool:
		return "true"
	case kindList:
		return `["a", "b"]`
	}
	if st.def != "" {
		return strconv.Quote(st.def)
	}
	return `""`
}

// readEnvFile reads lines of PARLEY_NAME=value (# starts a comment).
func readEnvFile(path string, buf []byte) (map[string]string, error) {
	byEnv := map[string]string{}
	for _, st := range settingTable {
		byEnv[st.env()] = st.key
	}
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(buf))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !strings.HasPrefix(k, "PARLEY_") {
			return nil, fmt.Errorf("config %s:%d: want PARLEY_NAME=value (or name the file .toml or .yaml)", path, n)
		}
		key, known := byEnv[k]
		if !known {
			return nil, fmt.Errorf("config %s:%d: unknown setting %s; %s", path, n, k, suggest(k, true))
		}
		vals[key] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return vals, sc.Err()
}

// ---- printing ----

// secretWords mark settings whose values are never shown.
var secretWords = []string{"secret", "token", "password", "key"}

// masked returns the value as parley config print shows it: secrets
// replaced, passwords in URLs hidden.
func masked(key, value string) string {
	if value == "" {
		return ""
	}
	for _, w := range secretWords {
		if strings.Contains(strings.ToLower(key), w) {
			return "********"
		}
	}
	if strings.Contains(value, "://") || strings.Contains(strings.ToLower(value), "password=") {
		return maskURL(value)
	}
	return value
}

// maskURL hides the password of a URL's user info and of password=
// parameters.
func maskURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "********"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if q := u.Query(); len(q) > 0 {
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") || strings.Contains(strings.ToLower(k), "secret") {
				q.Set(k, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), "xxxxx", "********")
}

// printTOML writes the values as a TOML file, each with its source: the
// output is itself a valid parley.toml.
func printTOML(w *bytes.Buffer, vals []settingValue) {
	section := ""
	for _, v := range vals {
		key := v.Key
		if i := strings.IndexByte(key, '.'); i >= 0 {
			if sec := key[:i]; sec != section {
				section = sec
				fmt.Fprintf(w, "\n[%s]\n", sec)
			}
			key = key[i+1:]
		}
		fmt.Fprintf(w, "%-22s = %-32s # %s\n", key, tomlValue(v), v.Source)
	}
}

func tomlValue(v settingValue) string {
	text := masked(v.Key, v.Value)
	switch v.kind {
	case kindBool:
		if _, err := strconv.ParseBool(text); err == nil {
			return strings.ToLower(text)
		}
	case kindNumber:
		if _, err := strconv.ParseFloat(text, 64); err == nil {
			return text
		}
	case kindList:
		items := splitList(text)
		q := make([]string, len(items))
		for i, s := range items {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return strconv.Quote(text)
}
