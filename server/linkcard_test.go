package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/mediatest"
)

// cardSite serves a page with Open Graph tags and its picture, counting
// requests.
func cardSite(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/post":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><html><head><title>Fallback</title>
<meta property="og:title" content="Spring <b>collection</b> is here">
<meta property="og:description" content="Forty new pieces.
Free shipping.">
<meta property="og:site_name" content="Shop">
<meta property="og:image" content="/img/cover.png">
</head><body><script>alert(1)</script></body></html>`)
		case "/img/cover.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(mediatest.PNG(1200, 630))
		case "/file.zip":
			w.Header().Set("Content-Type", "application/zip")
			w.Write(mediatest.ZIP())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func lastMessage(t *testing.T, u *user, conv string) map[string]any {
	t.Helper()
	items := must(t, u.do("GET", "/api/v1/conversations/"+conv+"/messages", nil), http.StatusOK).Items()
	return items[len(items)-1]
}

// waitCard polls until the last message has a card.
func waitCard(t *testing.T, u *user, conv string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, ok := lastMessage(t, u, conv)["card"].(map[string]any); ok {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no link card arrived")
	return nil
}

// TestLinkCards: a URL in a message gets a card with the page's title,
// description, site and a picture stored by the server; the card arrives
// on the stream as message.updated.
func TestLinkCards(t *testing.T) {
	site, hits := cardSite(t)
	ts := startServer(t, func(c *Config) { c.OutboundAllowLoopback = true })
	alice, bob, conv := friends(ts, "alice", "bob")
	stream := ts.dial(t, bob.Token, 0)

	alice.send(conv, "new drop: "+site.URL+"/post.")
	card := waitCard(t, bob, conv)
	if card["url"] != site.URL+"/post" || card["title"] != "Spring <b>collection</b> is here" ||
		card["description"] != "Forty new pieces. Free shipping." || card["site_name"] != "Shop" {
		t.Fatalf("card %v", card)
	}
	img := card["image"].(map[string]any)
	if img["width"].(float64) != 320 || img["height"].(float64) != 168 {
		t.Fatalf("card image %v", img)
	}
	got := must(t, bob.download("/api/v1/media/"+img["id"].(string)), http.StatusOK)
	if got.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("card image type %q", got.Header.Get("Content-Type"))
	}
	// The picture is not an attachment.
	if _, ok := lastMessage(t, bob, conv)["attachments"]; ok {
		t.Fatal("the card picture shows as an attachment")
	}
	evs := stream.until(func(e streamEvent) bool { return e.Type == "message.updated" })
	if last := evs[len(evs)-1]; !strings.Contains(string(last.Message), `"card"`) {
		t.Fatalf("message.updated without the card: %s", last.Message)
	}
	// An outsider cannot fetch the picture.
	eve := ts.register("eve", "person")
	wantProblem(t, eve.download("/api/v1/media/"+img["id"].(string)), http.StatusNotFound, "not_found")

	// Not HTML: no card. A private address: never fetched.
	before := hits.Load()
	alice.send(conv, "zip: "+site.URL+"/file.zip")
	alice.send(conv, "metadata: http://169.254.169.254/latest/meta-data/")
	time.Sleep(300 * time.Millisecond)
	if c := lastMessage(t, bob, conv)["card"]; c != nil {
		t.Fatalf("card for a private address: %v", c)
	}
	if hits.Load()-before > 1 {
		t.Fatalf("%d requests for a zip and a private address", hits.Load()-before)
	}
}

// TestNoLinkCardsInRequests: a stranger's link in a request is never
// fetched: the recipient sees plain text until they accept.
func TestNoLinkCardsInRequests(t *testing.T) {
	site, hits := cardSite(t)
	ts := startServer(t, func(c *Config) { c.OutboundAllowLoopback = true })
	alice, stranger := ts.register("alice", "person"), ts.register("stranger", "person")
	conv := stranger.direct("alice")
	stranger.send(conv, "win a prize "+site.URL+"/post")
	time.Sleep(500 * time.Millisecond)
	if hits.Load() != 0 {
		t.Fatalf("the server fetched a link inside a request (%d requests)", hits.Load())
	}
	if c := lastMessage(t, alice, conv)["card"]; c != nil {
		t.Fatalf("card in a request: %v", c)
	}
}
