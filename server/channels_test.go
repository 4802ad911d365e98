package server

import (
	"bytes"
	"encoding/json"
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

// metaServer stands in for the Graph API's Send endpoint on loopback and
// records what it is sent.
type metaServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []map[string]any
	paths []string
}

func newMetaServer(t *testing.T) *metaServer {
	m := &metaServer{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		m.mu.Lock()
		m.calls, m.paths = append(m.calls, body), append(m.paths, r.URL.Path+" "+r.Header.Get("Authorization"))
		m.mu.Unlock()
		_, _ = io.WriteString(w, `{"recipient_id":"6000000000000001","message_id":"m_from_graph"}`)
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *metaServer) recorded() ([]map[string]any, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]map[string]any(nil), m.calls...), append([]string(nil), m.paths...)
}

// hookPost posts a raw body to a channel's webhook with a signature
// header ("" for none).
func (ts *testServer) hookPost(t *testing.T, id string, body []byte, sig string) *response {
	t.Helper()
	req, err := http.NewRequest("POST", ts.URL()+"/hooks/meta/"+id, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(channel.SignatureHeader, sig)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("webhook answer %d with Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// TestMessengerChannelEndToEnd runs a real node whose Messenger channel
// points at a local server through the SSRF-safe client: the handshake,
// signed and unsigned webhook calls, the conversation in the inbox, an
// agent's reply going out through the Send API with the documented
// shape, and the Page's secrets never coming back.
func TestMessengerChannelEndToEnd(t *testing.T) {
	graph := newMetaServer(t)
	clock := &testClock{t: time.UnixMilli(1700000000000).UTC().Add(time.Minute)}
	ts := startServer(t, func(c *Config) {
		c.Clock = clock.Now
		c.Channels = ChannelsConfig{MessengerURL: graph.URL, SendPoll: 20 * time.Millisecond}
	})
	w := newBizWorld(t, ts, "chn", "Channel Shop")
	ch := must(t, w.admin.do("POST", bz(w.biz, "/channels"), map[string]any{"platform": "messenger", "name": "Shop Page",
		"account_id": "104857600000001", "access_token": "EAAB-page-token-secret", "app_secret": "page-app-secret",
		"verify_token": "page-verify-token"}), http.StatusCreated)
	if strings.Contains(string(ch.Body), "EAAB-page") || strings.Contains(string(ch.Body), "page-app-secret") || strings.Contains(string(ch.Body), "page-verify-token") {
		t.Fatalf("secrets in the answer: %s", ch.Body)
	}
	id := ch.JSON()["id"].(string)
	list := must(t, w.admin.do("GET", bz(w.biz, "/channels"), nil), http.StatusOK)
	if strings.Contains(string(list.Body), "EAAB-page") || len(list.Items()) != 1 {
		t.Fatalf("list: %s", list.Body)
	}
	// Agents and other businesses' people do not manage channels.
	wantProblem(t, w.agent1.do("GET", bz(w.biz, "/channels"), nil), http.StatusForbidden, "forbidden")
	wantProblem(t, w.customer.do("GET", bz(w.biz, "/channels/"+id), nil), http.StatusNotFound, "not_found")

	// The subscription handshake.
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"page-verify-token"}, "hub.challenge": {"CHALLENGE_ACCEPTED"}}
	resp, err := ts.client.Get(ts.URL() + "/hooks/meta/" + id + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "CHALLENGE_ACCEPTED" {
		t.Fatalf("handshake: %d %q", resp.StatusCode, b)
	}
	q.Set("hub.verify_token", "guess")
	resp, err = ts.client.Get(ts.URL() + "/hooks/meta/" + id + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("handshake with a wrong token: %d", resp.StatusCode)
	}

	body, err := os.ReadFile("../channel/messenger/testdata/text.json")
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, ts.hookPost(t, id, body, ""), http.StatusUnauthorized, "unauthorized")
	wantProblem(t, ts.hookPost(t, id, body, channel.Sign("wrong-secret", body)), http.StatusUnauthorized, "unauthorized")
	altered := bytes.Replace(body, []byte("shipped"), []byte("shopped"), 1)
	wantProblem(t, ts.hookPost(t, id, altered, channel.Sign("page-app-secret", body)), http.StatusUnauthorized, "unauthorized")
	big := append([]byte(`{"object":"page","pad":"`), bytes.Repeat([]byte("a"), 3<<20)...)
	wantProblem(t, ts.hookPost(t, id, big, channel.Sign("page-app-secret", big)), http.StatusRequestEntityTooLarge, "too_large")
	if r := must(t, ts.hookPost(t, id, body, channel.Sign("page-app-secret", body)), http.StatusOK).JSON(); r["applied"] != float64(1) {
		t.Fatalf("applied %v", r)
	}
	if r := must(t, ts.hookPost(t, id, body, channel.Sign("page-app-secret", body)), http.StatusOK).JSON(); r["applied"] != float64(0) {
		t.Fatalf("replay applied %v", r)
	}

	// The conversation is in the inbox like any other.
	var conv, contact string
	for _, it := range must(t, w.agent1.do("GET", bz(w.biz, "/conversations?view=all"), nil), http.StatusOK).Items() {
		if c, _ := it["contact"].(map[string]any); c != nil && strings.HasPrefix(c["name"].(string), "Messenger user") {
			conv, contact = it["conversation_id"].(string), c["id"].(string)
		}
	}
	if conv == "" {
		t.Fatal("the Messenger conversation is not in the inbox")
	}
	modes := must(t, w.agent1.do("GET", bz(w.biz, "/conversations/"+conv+"/send-modes"), nil), http.StatusOK).JSON()
	if modes["channel"].(map[string]any)["platform"] != "messenger" {
		t.Fatalf("send modes %v", modes)
	}
	bizReply(t, w.biz, w.agent1, conv, map[string]any{"text": "It ships today"}, http.StatusCreated)
	deadline := time.Now().Add(10 * time.Second)
	for {
		calls, paths := graph.recorded()
		if len(calls) == 1 {
			if paths[0] != "/v21.0/104857600000001/messages Bearer EAAB-page-token-secret" || calls[0]["messaging_type"] != "RESPONSE" ||
				calls[0]["message"].(map[string]any)["text"] != "It ships today" || calls[0]["recipient"].(map[string]any)["id"] != "6000000000000001" {
				t.Fatalf("Send API call %s %v", paths[0], calls[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Send API calls", len(calls))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The message shows its delivery status to the team.
	for {
		ms := must(t, w.agent1.do("GET", bz(w.biz, "/conversations/"+conv+"/messages"), nil), http.StatusOK).Items()
		last := ms[len(ms)-1]
		if c, _ := last["channel"].(map[string]any); c != nil && c["status"] == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("last message %v", last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Within the window the agent asks the person to opt in to a topic:
	// the notification_messages template with the topic id as payload;
	// the person's optin webhook for that payload is their consent.
	topic := must(t, w.admin.do("POST", bz(w.biz, "/topics"), map[string]any{"name": "Weekly deals"}), http.StatusCreated).JSON()["id"].(string)
	wantProblem(t, w.agent1.do("POST", bz(w.biz, "/conversations/"+conv+"/messages"), map[string]any{"send_mode": "optin_request",
		"optin_request": map[string]any{"topic": "nope", "title": "Deals", "frequency": "WEEKLY"}}), http.StatusUnprocessableEntity, "invalid")
	req := bizReply(t, w.biz, w.agent1, conv, map[string]any{"send_mode": "optin_request",
		"optin_request": map[string]any{"topic": topic, "title": "Get our weekly deals", "frequency": "WEEKLY"}}, http.StatusCreated)
	if or, _ := req["optin_request"].(map[string]any); or == nil || or["topic_id"] != topic || or["topic"] != "Weekly deals" {
		t.Fatalf("opt-in request message %v", req)
	}
	for {
		calls, _ := graph.recorded()
		if len(calls) == 2 {
			att, _ := calls[1]["message"].(map[string]any)["attachment"].(map[string]any)
			if att == nil || calls[1]["messaging_type"] != "RESPONSE" || att["payload"].(map[string]any)["template_type"] != "notification_messages" ||
				att["payload"].(map[string]any)["payload"] != topic {
				t.Fatalf("opt-in request Send API call %v", calls[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Send API calls", len(calls))
		}
		time.Sleep(20 * time.Millisecond)
	}
	optin := []byte(`{"object":"page","entry":[{"id":"104857600000001","time":1700000120000,"messaging":[{"sender":{"id":"6000000000000001"},` +
		`"recipient":{"id":"104857600000001"},"timestamp":1700000120000,"optin":{"type":"notification_messages","payload":"` + topic +
		`","title":"Get our weekly deals","notification_messages_token":"NOTIF_TOKEN_E2E","notification_messages_frequency":"WEEKLY"}}]}]}`)
	if r := must(t, ts.hookPost(t, id, optin, channel.Sign("page-app-secret", optin)), http.StatusOK).JSON(); r["applied"] != float64(1) {
		t.Fatalf("opt-in applied %v", r)
	}
	consent := must(t, w.agent1.do("GET", bz(w.biz, "/contacts/"+contact+"/consent"), nil), http.StatusOK).JSON()
	optedIn := false
	for _, tc := range consent["topics"].([]any) {
		tc := tc.(map[string]any)
		optedIn = optedIn || (tc["topic"].(map[string]any)["id"] == topic && tc["opted_in"] == true)
	}
	if !optedIn {
		t.Fatalf("consent after the opt-in: %v", consent)
	}

	// After 8 days nobody may write free-form; a non-promotional update
	// goes with the tag the agent chooses.
	clock.Advance(8 * 24 * time.Hour)
	wantProblem(t, w.agent1.do("POST", bz(w.biz, "/conversations/"+conv+"/messages"), map[string]any{"text": "Hello?"}), http.StatusForbidden, "window_closed")
	bizReply(t, w.biz, w.agent1, conv, map[string]any{"text": "Your parcel was delivered", "send_mode": "post_purchase_update"}, http.StatusCreated)
	for {
		calls, _ := graph.recorded()
		if len(calls) == 3 {
			if calls[2]["messaging_type"] != "MESSAGE_TAG" || calls[2]["tag"] != "POST_PURCHASE_UPDATE" {
				t.Fatalf("tagged Send API call %v", calls[2])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Send API calls", len(calls))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Paused: the webhook still takes messages, replies are 409
	// channel_disabled, the channel says disabled; resumed, it says ok.
	paused := must(t, w.admin.do("PATCH", bz(w.biz, "/channels/"+id), map[string]any{"disabled": true}), http.StatusOK).JSON()
	if paused["status"] != "disabled" || paused["disabled"] != true {
		t.Fatalf("paused channel %v", paused)
	}
	wantProblem(t, w.agent1.do("POST", bz(w.biz, "/conversations/"+conv+"/messages"), map[string]any{"text": "Paused?", "send_mode": "account_update"}),
		http.StatusConflict, "channel_disabled")
	must(t, ts.hookPost(t, id, body, channel.Sign("page-app-secret", body)), http.StatusOK)
	resumed := must(t, w.admin.do("PATCH", bz(w.biz, "/channels/"+id), map[string]any{"disabled": false}), http.StatusOK).JSON()
	if resumed["status"] == "disabled" || resumed["disabled"] != false {
		t.Fatalf("resumed channel %v", resumed)
	}
	must(t, w.admin.do("DELETE", bz(w.biz, "/channels/"+id), nil), http.StatusNoContent)
	wantProblem(t, ts.hookPost(t, id, body, channel.Sign("page-app-secret", body)), http.StatusUnauthorized, "unauthorized")
}
