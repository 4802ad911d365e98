package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/channel"
)

// TestWhatsAppChannelMediaEndToEnd runs a real node whose WhatsApp
// channel points at a local Graph API through the SSRF-safe client: a
// person's photo is fetched by media id into Parley media, an agent's
// photo goes out as a signed link the platform fetches from the node, an
// edit of a sent message is refused, and the credentials are rotated.
func TestWhatsAppChannelMediaEndToEnd(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 24, 16))
	for x := 0; x < 24; x++ {
		img.Set(x, x%16, color.RGBA{G: 200, A: 255})
	}
	var pic bytes.Buffer
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pic.Bytes())
	var mu sync.Mutex
	var sends []string
	var graph *httptest.Server
	graph = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer EAAB-wa-token" && r.Header.Get("Authorization") != "Bearer EAAB-wa-rotated" {
			http.Error(w, `{"error":{"message":"bad token","code":190}}`, http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v21.0/1003383421387256":
			fmt.Fprintf(w, `{"messaging_product":"whatsapp","url":%q,"mime_type":"image/png","sha256":%q,"file_size":%d,"id":"1003383421387256"}`,
				graph.URL+"/whatsapp_business/attachments/", hex.EncodeToString(sum[:]), pic.Len())
		case r.Method == http.MethodGet && r.URL.Path == "/whatsapp_business/attachments/":
			_, _ = w.Write(pic.Bytes())
		case r.Method == http.MethodPost:
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			sends = append(sends, string(b))
			n := len(sends)
			mu.Unlock()
			fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.out%d"}]}`, n)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(graph.Close)
	recorded := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), sends...)
	}
	clock := &testClock{t: time.Unix(1700000050, 0).UTC().Add(time.Minute)}
	ts := startServer(t, func(c *Config) {
		c.Clock = clock.Now
		c.PublicURL = "https://parley.example"
		c.Channels = ChannelsConfig{WhatsAppURL: graph.URL, SendPoll: 20 * time.Millisecond}
	})
	w := newBizWorld(t, ts, "wam", "WA Shop")
	ch := must(t, w.admin.do("POST", bz(w.biz, "/channels"), map[string]any{"platform": "whatsapp", "name": "Shop WhatsApp",
		"account_id": "106540352242922", "access_token": "EAAB-wa-token", "app_secret": "wa-app-secret", "verify_token": "wa-verify-token"}), http.StatusCreated)
	id := ch.JSON()["id"].(string)
	body, err := os.ReadFile("../channel/whatsapp/testdata/messages.json")
	if err != nil {
		t.Fatal(err)
	}
	must(t, ts.hookPost(t, id, body, channel.Sign("wa-app-secret", body)), http.StatusOK)
	var conv string
	for _, it := range must(t, w.agent1.do("GET", bz(w.biz, "/conversations?view=all"), nil), http.StatusOK).Items() {
		if c, _ := it["contact"].(map[string]any); c != nil && c["channel"] == "whatsapp" {
			conv = it["conversation_id"].(string)
		}
	}
	if conv == "" {
		t.Fatal("the WhatsApp conversation is not in the inbox")
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ms := must(t, w.agent1.do("GET", bz(w.biz, "/conversations/"+conv+"/messages"), nil), http.StatusOK).Items()
		if atts, _ := ms[1]["attachments"].([]any); len(atts) == 1 {
			a := atts[0].(map[string]any)
			if ms[1]["kind"] != "image" || a["content_type"] != "image/png" || ms[1]["text"] != "This one" {
				t.Fatalf("the fetched photo: %v", ms[1])
			}
			if dl := w.agent1.download("/api/v1/media/" + a["id"].(string)); dl.Status != 200 || !bytes.Equal(dl.Body, pic.Bytes()) {
				t.Fatalf("download: %d, %d bytes", dl.Status, len(dl.Body))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the photo was not fetched: %v", ms[1])
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The agent's photo goes out as a signed link on the public URL.
	up := must(t, w.agent1.upload("image", "blue.png", pic.Bytes()), http.StatusCreated).JSON()
	sent := bizReply(t, w.biz, w.agent1, conv, map[string]any{"kind": "image", "attachments": []string{up["id"].(string)}, "text": "In blue"}, http.StatusCreated)
	var link string
	for {
		if s := recorded(); len(s) == 1 {
			if !strings.Contains(s[0], `"type":"image"`) || !strings.Contains(s[0], `"caption":"In blue"`) {
				t.Fatalf("Send API call %s", s[0])
			}
			i := strings.Index(s[0], `"link":"`)
			link = s[0][i+len(`"link":"`):]
			link = strings.ReplaceAll(link[:strings.Index(link, `"`)], `\u0026`, "&")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no Send API call")
		}
		time.Sleep(20 * time.Millisecond)
	}
	u, err := url.Parse(link)
	if err != nil || u.Host != "parley.example" {
		t.Fatalf("link %q: %v", link, err)
	}
	platform := &user{ts: ts} // Meta's fetcher: no token
	got := platform.download(u.RequestURI())
	if got.Status != 200 || !bytes.Equal(got.Body, pic.Bytes()) || got.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("the platform's fetch: %d %v", got.Status, got.Header)
	}
	q := u.Query()
	q.Set("sig", strings.Repeat("0", 64))
	wantProblem(t, platform.download(u.Path+"?"+q.Encode()), http.StatusNotFound, "not_found")

	// Once sent, an edit cannot follow it to WhatsApp.
	for {
		ms := must(t, w.agent1.do("GET", bz(w.biz, "/conversations/"+conv+"/messages"), nil), http.StatusOK).Items()
		if c, _ := ms[len(ms)-1]["channel"].(map[string]any); c != nil && c["status"] == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the photo was not marked sent")
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantProblem(t, w.agent1.do("PATCH", bz(w.biz, "/conversations/"+conv+"/messages/"+sent["id"].(string)), map[string]any{"text": "In navy"}),
		http.StatusConflict, "channel_unsupported")

	// Rotated credentials: the answer shows the new last 4, sends use it.
	rot := must(t, w.admin.do("PATCH", bz(w.biz, "/channels/"+id), map[string]any{"access_token": "EAAB-wa-rotated"}), http.StatusOK).JSON()
	if rot["access_token"] != "…ated" || strings.Contains(fmt.Sprint(rot), "EAAB") {
		t.Fatalf("rotated: %v", rot)
	}
	wantProblem(t, w.agent1.do("PATCH", bz(w.biz, "/channels/"+id), map[string]any{"access_token": "EAAB-x"}), http.StatusForbidden, "forbidden")
	bizReply(t, w.biz, w.agent1, conv, map[string]any{"text": "Anything else?"}, http.StatusCreated)
	for len(recorded()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no second Send API call")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
