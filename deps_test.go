package parley_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/parleyhq/parley"

// packages parses the non-test files of every package in the module and
// returns, per package directory, its imports and whether it has a doc
// comment.
func packages(t *testing.T) map[string]struct {
	imports map[string]bool
	doc     bool
} {
	t.Helper()
	out := map[string]struct {
		imports map[string]bool
		doc     bool
	}{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" || d.Name() == "parley-data") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		p := out[dir]
		if p.imports == nil {
			p.imports = map[string]bool{}
		}
		for _, imp := range f.Imports {
			s, _ := strconv.Unquote(imp.Path.Value)
			p.imports[s] = true
		}
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name+" ") || f.Name.Name == "main" && f.Doc != nil {
			p.doc = true
		}
		out[dir] = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDependencies enforces the layering of DESIGN.md §4: the root package
// uses the standard library only; rules live in app, which knows no store
// or transport; transports never import a concrete store; stores know no
// rules or transports; only package metrics imports Prometheus.
func TestDependencies(t *testing.T) {
	pkgs := packages(t)
	if _, err := os.Stat("go.mod"); err != nil {
		t.Fatal("run from the module root")
	}
	for _, want := range []string{".", "app", "httpapi", "store/sqlite", "server", "cmd/parley"} {
		if _, ok := pkgs[want]; !ok {
			t.Fatalf("package %s not found; the walk is broken", want)
		}
	}
	for dir, p := range pkgs {
		for imp := range p.imports {
			internal := strings.HasPrefix(imp, module+"/") || imp == module
			rel := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			std := !strings.Contains(strings.Split(imp, "/")[0], ".")
			switch {
			case dir == ".":
				if !std {
					t.Errorf("root package imports %s; it may use the standard library only", imp)
				}
			case dir == "app":
				// media is a library (it measures files and knows no
				// rule, store or transport), so rules may use it.
				// records is one too: the export format and its verifier.
				// sealed is a library too: the keyring and cipher formats.
				// channel is one too: the platforms' formats (no rule,
				// store or transport of Parley's).
				if internal && rel != "" && rel != "media" && rel != "records" && rel != "sealed" && rel != "channel" {
					t.Errorf("app imports %s; rules must not depend on adapters", imp)
				}
			case dir == "sealed":
				if internal {
					t.Errorf("sealed imports %s; it is a library of its own", imp)
				}
			case dir == "records":
				if internal && rel != "" {
					t.Errorf("records imports %s; it is a library of its own", imp)
				}
			case dir == "channel" || strings.HasPrefix(dir, "channel/"):
				if internal && rel != "" && rel != "channel" && rel != "channel/meta" {
					t.Errorf("%s imports %s; the channels speak platforms' formats and nothing of Parley's but its names", dir, imp)
				}
			case dir == "media":
				if internal {
					t.Errorf("media imports %s; it is a library of its own", imp)
				}
			case strings.HasPrefix(dir, "store/"):
				if internal && rel != "" && !strings.HasPrefix(rel, "store/") && rel != "sealed" && rel != "sealed/sealedtest" {
					t.Errorf("%s imports %s; stores stay free of rules and transports", dir, imp)
				}
			case dir == "httpapi" || dir == "wsgateway":
				if strings.HasPrefix(rel, "store/") || rel == "server" {
					t.Errorf("%s imports %s; transports never import a concrete store", dir, imp)
				}
			case dir == "client":
				// The Go client stands alone: integrators import it
				// without the server's packages.
				if !std && imp != "github.com/coder/websocket" {
					t.Errorf("client imports %s; it may use the standard library and coder/websocket only", imp)
				}
			case strings.HasPrefix(dir, "examples/"):
				if internal && rel != "client" {
					t.Errorf("%s imports %s; examples use the public API through package client only", dir, imp)
				}
			}
			// Only package metrics speaks Prometheus; the others report
			// through observer interfaces it implements.
			if strings.HasPrefix(imp, "github.com/prometheus/") && dir != "metrics" {
				t.Errorf("%s imports %s; report through an observer that package metrics implements", dir, imp)
			}
		}
	}
}

// TestPackageDocs requires a package comment on every package.
func TestPackageDocs(t *testing.T) {
	for dir, p := range packages(t) {
		if !p.doc {
			t.Errorf("package in %s has no doc comment (// Package name ...)", dir)
		}
	}
}
