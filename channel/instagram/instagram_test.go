package instagram_test

import (
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
