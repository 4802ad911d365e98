package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
)

// TestChannels connects, reads and disconnects a channel on a real node,
// and asks the send modes of a Parley conversation.
func TestChannels(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	shop := register(t, anon, "shop", "business")
	alice := register(t, anon, "alice", "")
	b := shop.Business("shop")
	ch, err := b.ConnectChannel(ctx, client.ChannelInput{Platform: "whatsapp", Name: "Shop WhatsApp", AccountID: "106540352242922",
		AccessToken: "EAAB-whatsapp-token", AppSecret: "whatsapp-app-secret", VerifyToken: "whatsapp-verify"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Platform != "whatsapp" || ch.Language != "en_US" || ch.AccessToken != "…oken" || strings.Contains(ch.AppSecret, "whatsapp") ||
		ch.WebhookPath != "/hooks/meta/"+ch.ID {
		t.Fatalf("channel %+v", ch)
	}
	if cs, err := b.Channels(ctx); err != nil || len(cs) != 1 || cs[0].ID != ch.ID {
		t.Fatalf("channels %+v %v", cs, err)
	}
	if got, err := b.Channel(ctx, ch.ID); err != nil || got.AccountID != "106540352242922" {
		t.Fatalf("channel %+v %v", got, err)
	}
	// Rotating the access token: the answer shows its new last 4.
	tok := "EAAB-rotated-token-9876"
	if got, err := b.UpdateChannel(ctx, ch.ID, client.ChannelChange{AccessToken: &tok}); err != nil || got.AccessToken != "…9876" ||
		got.AppSecret != ch.AppSecret || !got.UpdatedAt.After(ch.CreatedAt.Add(-time.Second)) {
		t.Fatalf("update %+v %v", got, err)
	}
	var e *client.Error
	if _, err := b.UpdateChannel(ctx, ch.ID, client.ChannelChange{}); !errors.As(err, &e) || e.Status != 422 {
		t.Fatalf("an empty change: %v", err)
	}
	if _, err := alice.Business("shop").Channels(ctx); !errors.As(err, &e) || e.Status != 404 {
		t.Fatalf("a stranger lists channels: %v", err)
	}
	conv, err := alice.StartDirect(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "Hi"}); err != nil {
		t.Fatal(err)
	}
	if m, err := b.SendModes(ctx, conv.ID); err != nil || m.Channel != nil || len(m.Modes) != 1 || !m.Modes[0].Open {
		t.Fatalf("send modes %+v %v", m, err)
	}
	// A send mode is for channel conversations only.
	if _, err := b.Send(ctx, conv.ID, client.BusinessSendRequest{Text: "Shipped", SendMode: "post_purchase_update"}); !errors.As(err, &e) || e.Code != "invalid" {
		t.Fatalf("send_mode in a Parley conversation: %v", err)
	}
	// Pause, then resume.
	yes, no := true, false
	if got, err := b.UpdateChannel(ctx, ch.ID, client.ChannelChange{Disabled: &yes}); err != nil || !got.Disabled || got.Status != "disabled" || got.DisabledAt == nil {
		t.Fatalf("pause %+v %v", got, err)
	}
	if got, err := b.UpdateChannel(ctx, ch.ID, client.ChannelChange{Disabled: &no}); err != nil || got.Disabled || got.Status != "ok" || got.DisabledAt != nil {
		t.Fatalf("resume %+v %v", got, err)
	}
	if err := b.DisconnectChannel(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Channel(ctx, ch.ID); !errors.As(err, &e) || e.Code != "not_found" {
		t.Fatalf("after disconnecting: %v", err)
	}
}
