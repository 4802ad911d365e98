package messenger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/channel/messenger"
)

// poster posts with net/http: these tests talk to their own server.
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

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDocumentedPayloads(t *testing.T) {
	ch := messenger.New(poster, "", "v21.0")
	evs, err := ch.Parse(fixture(t, "text.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != channel.KindMessage || evs[0].Text != "Hello, is my order shipped?" || evs[0].MID != "m_AbCdEf0001" ||
		evs[0].UserID != "6000000000000001" || evs[0].AccountID != "104857600000001" || !evs[0].At.Equal(time.UnixMilli(1700000000000)) {
		t.Fatalf("text: %+v", evs)
	}
	evs, err = ch.Parse(fixture(t, "mixed.json"))
	if err != nil {
		t.Fatal(err)
	}
	// In timestamp order, though the body lists the photo first.
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	want := []string{"message", "message", "reaction", "edit", "postback", "referral"}
	if len(kinds) != len(want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("kinds %v, want %v", kinds, want)
		}
	}
	if evs[0].MID != "m_AbCdEf0002" || evs[0].ReplyTo != "m_AbCdEf0001" || evs[1].Attachments[0].URL != "https://scontent.example.net/v/t1/photo.jpg" {
		t.Fatalf("order or attachment: %+v", evs[:2])
	}
	if evs[2].Emoji != "❤️" || evs[2].TargetMID != "m_AbCdEf0002" || evs[3].Text != "Here is a photo of the damaged box" ||
		evs[4].Payload != "HUMAN" || evs[5].Ref != "spring-sale" || evs[5].Source != "SHORTLINK" {
		t.Fatalf("details: %+v", evs[2:])
	}
	if _, err := ch.Parse([]byte(`{"object":"instagram","entry":[]}`)); err == nil {
		t.Fatal("another platform's body parsed")
	}
	if _, err := ch.Parse([]byte(`{"object":`)); err == nil {
		t.Fatal("broken JSON parsed")
	}
}

func TestSendShapes(t *testing.T) {
	var got []map[string]any
	var auth, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("body: %v", err)
		}
		got, auth, path = append(got, m), r.Header.Get("Authorization"), r.URL.Path
		_ = json.NewEncoder(w).Encode(map[string]string{"recipient_id": "6000000000000001", "message_id": "m_sent"})
	}))
	defer srv.Close()
	ch := messenger.New(poster, srv.URL, "v21.0")
	acct := channel.Account{ID: "104857600000001", AccessToken: "page-token"}
	mid, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "6000000000000001", Text: "Yes, it ships today", Mode: channel.ModeStandard})
	if err != nil || mid != "m_sent" {
		t.Fatalf("send: %q %v", mid, err)
	}
	if _, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "6000000000000001", Text: "Following up", Mode: channel.ModeHumanAgent}); err != nil {
		t.Fatal(err)
	}
	if path != "/v21.0/104857600000001/messages" || auth != "Bearer page-token" {
		t.Fatalf("path %q auth %q", path, auth)
	}
	std, tagged := got[0], got[1]
	if std["messaging_type"] != "RESPONSE" || std["tag"] != nil || std["recipient"].(map[string]any)["id"] != "6000000000000001" ||
		std["message"].(map[string]any)["text"] != "Yes, it ships today" {
		t.Fatalf("standard: %v", std)
	}
	if tagged["messaging_type"] != "MESSAGE_TAG" || tagged["tag"] != "HUMAN_AGENT" {
		t.Fatalf("human agent: %v", tagged)
	}
	if _, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "1", Text: "x", Mode: channel.ModeTemplate}); err == nil {
		t.Fatal("Messenger sent a template")
	}
}

func TestSendRateLimited(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"fbtrace_id":"x"}}`)
	}))
	defer srv.Close()
	_, err := messenger.New(poster, srv.URL, "v21.0").Send(context.Background(), channel.Account{ID: "1", AccessToken: "t"},
		channel.Outgoing{To: "2", Text: "hi"})
	se, ok := err.(*channel.SendError)
	if !ok || !se.RateLimited || se.Code != 613 {
		t.Fatalf("err %#v", err)
	}
}

func TestParseOptin(t *testing.T) {
	evs, err := messenger.New(poster, "", "v21.0").Parse(fixture(t, "optin.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The checkbox plugin's opt-in is no notification messages opt-in:
	// skipped. The opt-in comes before the stop (timestamps).
	if len(evs) != 2 || evs[0].Kind != channel.KindOptin || evs[1].Kind != channel.KindOptin {
		t.Fatalf("events: %+v", evs)
	}
	in, stop := evs[0].Optin, evs[1].Optin
	if in.Token != "NOTIF_TOKEN_PLACEHOLDER_1" || in.Frequency != "WEEKLY" || in.Timezone != "Europe/Paris" || in.Payload != "topic-deals" ||
		in.Title != "Weekly deals" || !in.Expires.Equal(time.UnixMilli(1723600100000)) || in.Stopped || in.Resumed {
		t.Fatalf("opt-in: %+v", in)
	}
	if !stop.Stopped || stop.Token != "NOTIF_TOKEN_PLACEHOLDER_1" || stop.Payload != "topic-deals" || evs[1].UserID != "6000000000000001" {
		t.Fatalf("stop: %+v", stop)
	}
}

// TestSendTagsAndNotifications checks the documented shapes of the update
// tags (messaging_type MESSAGE_TAG with the tag) and of a notification
// message (recipient by token, no messaging_type), and that a
// notification message without a token is not sent.
func TestSendTagsAndNotifications(t *testing.T) {
	var got []map[string]any
	srv := sendAPI(t, &got, "m_sent")
	ch := messenger.New(poster, srv.URL, "v21.0")
	acct := channel.Account{ID: "104857600000001", AccessToken: "page-token"}
	for _, tc := range []struct{ mode, tag string }{
		{channel.ModeConfirmedEvent, "CONFIRMED_EVENT_UPDATE"},
		{channel.ModePostPurchase, "POST_PURCHASE_UPDATE"},
		{channel.ModeAccountUpdate, "ACCOUNT_UPDATE"},
	} {
		got = nil
		if _, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "6000000000000001", Text: "Your order shipped", Mode: tc.mode}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0]["messaging_type"] != "MESSAGE_TAG" || got[0]["tag"] != tc.tag ||
			got[0]["recipient"].(map[string]any)["id"] != "6000000000000001" {
			t.Fatalf("%s: %v", tc.mode, got)
		}
	}
	got = nil
	if _, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "6000000000000001", Text: "This week's deals", Mode: channel.ModeNotification,
		NotificationToken: "NOTIF_TOKEN_1"}); err != nil {
		t.Fatal(err)
	}
	rcpt := got[0]["recipient"].(map[string]any)
	if len(rcpt) != 1 || rcpt["notification_messages_token"] != "NOTIF_TOKEN_1" || got[0]["messaging_type"] != nil || got[0]["tag"] != nil ||
		got[0]["message"].(map[string]any)["text"] != "This week's deals" {
		t.Fatalf("notification message: %v", got[0])
	}
	got = nil
	if _, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "6000000000000001", Text: "x", Mode: channel.ModeNotification}); err == nil || len(got) != 0 {
		t.Fatalf("a notification message without a token went out: %v %v", err, got)
	}
	caps := ch.Capabilities()
	if !caps.Notifications || !caps.HasTag(channel.TagPostPurchase) || !caps.HasTag(channel.TagHumanAgent) {
		t.Fatalf("capabilities: %+v", caps)
	}
}

// TestSendOptinRequest checks the documented shape of the notification
// messages opt-in request: messaging_type RESPONSE, recipient by id, the
// notification_messages template with title, payload, frequency and the
// optional image and time zone; without a request it is not sent.
func TestSendOptinRequest(t *testing.T) {
	var got []map[string]any
	srv := sendAPI(t, &got, "m_req")
	ch := messenger.New(poster, srv.URL, "v21.0")
	acct := channel.Account{ID: "104857600000001", AccessToken: "page-token"}
	req := &channel.OptinRequest{Title: "Weekly deals", Payload: "topic_1", Frequency: channel.FrequencyWeekly, Timezone: "Europe/Paris",
		ImageURL: "https://parley.example/hooks/meta/ch/media/m1?exp=1&sig=x"}
	mid, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "6000000000000001", Text: "fallback", Mode: channel.ModeOptinRequest, Optin: req})
	if err != nil || mid != "m_req" {
		t.Fatalf("send: %q %v", mid, err)
	}
	b := got[0]
	msg := b["message"].(map[string]any)
	att := msg["attachment"].(map[string]any)
	p := att["payload"].(map[string]any)
	if b["messaging_type"] != "RESPONSE" || b["tag"] != nil || b["recipient"].(map[string]any)["id"] != "6000000000000001" || msg["text"] != nil ||
		att["type"] != "template" || p["template_type"] != "notification_messages" || p["title"] != "Weekly deals" || p["payload"] != "topic_1" ||
		p["notification_messages_frequency"] != "WEEKLY" || p["notification_messages_timezone"] != "Europe/Paris" || p["image_url"] != req.ImageURL || len(p) != 6 {
		t.Fatalf("opt-in request: %v", b)
	}
	// Without image and time zone the keys are left out.
	got = nil
	if _, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "6000000000000001", Mode: channel.ModeOptinRequest,
		Optin: &channel.OptinRequest{Title: "Daily tips", Payload: "topic_2", Frequency: channel.FrequencyDaily}}); err != nil {
		t.Fatal(err)
	}
	p = got[0]["message"].(map[string]any)["attachment"].(map[string]any)["payload"].(map[string]any)
	if _, ok := p["image_url"]; ok || p["notification_messages_timezone"] != nil || p["notification_messages_frequency"] != "DAILY" {
		t.Fatalf("plain opt-in request: %v", p)
	}
	got = nil
	if _, err := ch.Send(context.Background(), acct, channel.Outgoing{To: "6000000000000001", Mode: channel.ModeOptinRequest}); err == nil || len(got) != 0 {
		t.Fatalf("an opt-in request without its request went out: %v %v", err, got)
	}
}

// sendAPI is a local Send API: it appends each request's JSON body to got
// and answers with messageID.
func sendAPI(t *testing.T, got *[]map[string]any, messageID string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("body: %v", err)
		}
		*got = append(*got, m)
		_ = json.NewEncoder(w).Encode(map[string]string{"recipient_id": "6000000000000001", "message_id": messageID})
	}))
	t.Cleanup(srv.Close)
	return srv
}
