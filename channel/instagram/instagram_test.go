package instagram_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/channel/instagram"
)

func TestParseDocumentedPayloads(t *testing.T) {
	ch := instagram.New(nil, "", "v21.0")
	b, err := os.ReadFile("testdata/story_mention.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ch.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Kind != channel.KindStoryMention || evs[0].Attachments[0].Type != "story_mention" ||
		evs[0].Attachments[0].URL == "" || evs[1].Kind != channel.KindMessage || evs[1].Text != "Loved the new collection!" {
		t.Fatalf("story mention: %+v", evs)
	}
	b, err = os.ReadFile("testdata/unsend.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err = ch.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Kind != channel.KindUnsend || evs[0].TargetMID != "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAx" ||
		evs[1].Kind != channel.KindRead || evs[1].TargetMID != "MID_PLACEHOLDER" {
		t.Fatalf("unsend and read: %+v", evs)
	}
	if _, err := ch.Parse([]byte(`{"object":"page","entry":[]}`)); err == nil {
		t.Fatal("a Messenger body parsed as Instagram")
	}
	if ch.Capabilities().HumanAgent == 0 {
		t.Fatal("Instagram has the HUMAN_AGENT tag")
	}
}

// TestOnlyHumanAgentTag: Instagram messaging takes HUMAN_AGENT and no
// other tag, and has no notification messages: such a send is refused
// before any request.
func TestOnlyHumanAgentTag(t *testing.T) {
	posted := 0
	ch := instagram.New(channel.PosterFunc(func(context.Context, string, http.Header, []byte) (int, http.Header, []byte, error) {
		posted++
		return 200, nil, []byte(`{"recipient_id":"1","message_id":"m"}`), nil
	}), "http://127.0.0.1:1", "v21.0")
	caps := ch.Capabilities()
	if !caps.HasTag(channel.TagHumanAgent) || caps.HasTag(channel.TagPostPurchase) || caps.Notifications {
		t.Fatalf("capabilities: %+v", caps)
	}
	for _, mode := range []string{channel.ModeConfirmedEvent, channel.ModePostPurchase, channel.ModeAccountUpdate, channel.ModeNotification} {
		if _, err := ch.Send(context.Background(), channel.Account{ID: "1", AccessToken: "t"},
			channel.Outgoing{To: "2", Text: "x", Mode: mode, NotificationToken: "tok"}); err == nil {
			t.Fatalf("Instagram sent %s", mode)
		}
	}
	if _, err := ch.Send(context.Background(), channel.Account{ID: "1", AccessToken: "t"}, channel.Outgoing{To: "2", Text: "x", Mode: channel.ModeHumanAgent}); err != nil || posted != 1 {
		t.Fatalf("human agent: %v, %d posts", err, posted)
	}
}
