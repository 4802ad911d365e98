package server

import (
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docBlock is one ```sh block of a document that calls the API.
type docBlock struct {
	line int
	text string
	skip string // why the block is not run, from a <!-- not run: … --> comment above it
}

var (
	shBlock  = regexp.MustCompile("(?s)```sh\n(.*?)```")
	notRunRe = regexp.MustCompile(`<!--\s*not run:\s*(.*?)\s*-->\s*$`)
)

// apiBlocks returns the curl examples of a document, in order.
func apiBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var out []docBlock
	for _, m := range shBlock.FindAllStringSubmatchIndex(doc, -1) {
		text := doc[m[2]:m[3]]
		if !strings.Contains(text, "$BASE") {
			continue
		}
		blk := docBlock{line: strings.Count(doc[:m[0]], "\n") + 1, text: text}
		if sm := notRunRe.FindStringSubmatch(strings.TrimRight(doc[:m[0]], " \n")); sm != nil {
			blk.skip = sm[1]
		}
		out = append(out, blk)
	}
	return out
}

// TestAPIDocExamples runs the curl examples of docs/api.md against a real
// server, so that the documentation cannot drift from the API: the quick
// start alone, then every later example after the quick start on a fresh
// server (they use its ALICE, BOB and CONV). curl fails on any 4xx or 5xx
// and jq on any answer that is not the JSON the example reads. A block
// preceded by <!-- not run: reason --> is skipped (it needs a real
// authenticator, say); the reason is logged.
func TestAPIDocExamples(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("DOC EXAMPLES DID NOT RUN: %s is missing (scripts/test.sh installs it)", tool)
		}
	}
	blocks := apiBlocks(t, "../docs/api.md")
	if len(blocks) < 3 || !strings.Contains(blocks[0].text, "BASE=http://127.0.0.1:8080/api/v1") {
		t.Fatalf("docs/api.md: the quick start (BASE=http://127.0.0.1:8080/api/v1) should be the first of the examples; found %d", len(blocks))
	}
	quick := blocks[0]
	run := func(t *testing.T, script string) {
		ts := startServer(t)
		dir := t.TempDir()
		writeJPEG(t, filepath.Join(dir, "photo.jpg"))
		// curl fails on HTTP errors, showing the problem; the examples
		// run with -e and pipefail, so any failure stops the block.
		prelude := "set -euo pipefail\ncurl() { command curl --fail-with-body --max-time 20 \"$@\"; }\n"
		script = strings.ReplaceAll(script, "http://127.0.0.1:8080", ts.URL())
		cmd := exec.Command("bash", "-c", prelude+script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n--- script\n%s\n--- output\n%s", err, script, out)
		}
	}
	t.Run("quick-start", func(t *testing.T) { run(t, quick.text) })
	for _, b := range blocks[1:] {
		t.Run("line-"+strconv.Itoa(b.line), func(t *testing.T) {
			if b.skip != "" {
				t.Skipf("docs/api.md:%d: not run: %s", b.line, b.skip)
			}
			run(t, quick.text+"\n"+b.text)
		})
	}
}

// writeJPEG writes a small real JPEG for the media example.
func writeJPEG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := 0; x < 64; x++ {
		for y := 0; y < 48; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 128, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, nil); err != nil {
		t.Fatal(err)
	}
}
