package whatsapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/channel/whatsapp"
)

var poster = channel.PosterFunc(func(ctx context.Context, url string, h http.Header, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, channel.MaxAnswer))
	return resp.StatusCode, resp.Header, b, err
})

func TestParseDocumentedPayloads(t *testing.T) {
	ch := whatsapp.New(poster, "", "v21.0")
	b, err := os.ReadFile("testdata/messages.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ch.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	if e := evs[0]; e.Kind != channel.KindMessage || e.Text != "Does it come in another colour?" || e.UserID != "16505551234" ||
		e.UserName != "Sheena Nelson" || e.AccountID != "106540352242922" || e.At.Unix() != 1700000000 {
		t.Fatalf("text: %+v", e)
	}
	if e := evs[1]; e.Attachments[0].MediaID != "1003383421387256" || e.Attachments[0].MIME != "image/jpeg" || e.Text != "This one" {
		t.Fatalf("image: %+v", e)
	}
	if e := evs[2]; e.Kind != channel.KindReaction || e.Emoji != "👍" || e.TargetMID != evs[0].MID || e.MID != "" {
		t.Fatalf("reaction: %+v", e)
	}
	if e := evs[3]; e.Kind != channel.KindPostback || e.Payload != "SIZE_M" || e.Title != "Medium" {
		t.Fatalf("button reply: %+v", e)
	}
	b, err = os.ReadFile("testdata/statuses.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err = ch.Parse(b)
	if err != nil || len(evs) != 2 || evs[0].Status != "delivered" || evs[1].Status != "read" || evs[1].Kind != channel.KindStatus {
		t.Fatalf("statuses: %+v %v", evs, err)
	}
}

func TestSendShapes(t *testing.T) {
	var got []map[string]any
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("body: %v", err)
		}
		if r.Header.Get("Authorization") != "Bearer wa-token" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", r.Header)
		}
		got, paths = append(got, m), append(paths, r.URL.Path)
		_, _ = io.WriteString(w, `{"messaging_product":"whatsapp","contacts":[{"input":"16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.sent"}]}`)
	}))
	defer srv.Close()
	ch := whatsapp.New(poster, srv.URL, "v21.0")
	acct := channel.Account{ID: "106540352242922", AccessToken: "wa-token"}
	if mid, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "16505551234", Text: "Blue and green too"}); err != nil || mid != "wamid.sent" {
		t.Fatalf("text: %q %v", mid, err)
	}
	if _, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "16505551234", Mode: channel.ModeTemplate, Template: "order_update", Language: "de"}); err != nil {
		t.Fatal(err)
	}
	if paths[0] != "/v21.0/106540352242922/messages" {
		t.Fatalf("path %q", paths[0])
	}
	text, tpl := got[0], got[1]
	if text["messaging_product"] != "whatsapp" || text["to"] != "16505551234" || text["type"] != "text" ||
		text["text"].(map[string]any)["body"] != "Blue and green too" || text["template"] != nil {
		t.Fatalf("text: %v", text)
	}
	tm := tpl["template"].(map[string]any)
	if tpl["type"] != "template" || tm["name"] != "order_update" || tm["language"].(map[string]any)["code"] != "de" || tpl["text"] != nil {
		t.Fatalf("template: %v", tpl)
	}
	if _, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "1", Text: "x", Mode: channel.ModeHumanAgent}); err == nil {
		t.Fatal("WhatsApp sent with the HUMAN_AGENT tag")
	}
}

func TestSendThroughputLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"y"}}`)
	}))
	defer srv.Close()
	_, err := whatsapp.New(poster, srv.URL, "v21.0").Send(context.Background(), channel.Account{ID: "1", AccessToken: "t"}, channel.Outgoing{To: "2", Text: "hi"})
	se, ok := err.(*channel.SendError)
	if !ok || !se.RateLimited || se.Code != 130429 {
		t.Fatalf("err %#v", err)
	}
}
