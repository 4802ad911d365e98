package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestMetricsWebhooksAndCampaigns drives a webhook through a failed and a
// successful attempt and a campaign to its end, and checks that the
// webhook and campaign metrics moved by exactly what happened.
func TestMetricsWebhooksAndCampaigns(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	rc := newHookReceiver(t)
	ts := hookServer(t, rc, clock)
	before := ts.scrape(t)
	delta := func(after scrape, name string, labels ...string) float64 {
		t.Helper()
		return after.value(t, name, labels...) - before.value(t, name, labels...)
	}

	// The receiver fails the first post and accepts the retry.
	rc.setBehave(func(a arrival, n int) (int, time.Duration) {
		if n == 0 {
			return http.StatusServiceUnavailable, 0
		}
		return http.StatusNoContent, 0
	})
	ann := ts.register("ann", "person")
	rc.subscribe(t, ann, "message.created")
	ben := ts.register("ben", "person")
	must(t, ann.do("PUT", "/api/v1/users/ben/follow", nil), http.StatusNoContent)
	ben.send(ben.direct("ann"), "hello ann")
	eventually(t, clock, 5*time.Second, "the retry delivered", func() bool {
		for _, a := range rc.all() {
			if a.OK {
				return true
			}
		}
		return false
	})
	ts.eventually(t, "the delivery counted", func(s scrape) bool {
		return s.value(t, "parley_webhook_deliveries_total", "result", "delivered") > before.value(t, "parley_webhook_deliveries_total", "result", "delivered")
	})

	// A campaign to the two customers who opted in by keyword.
	shop := regNamed(ts, "shop", "business", "Shop")
	topic := must(t, shop.do("POST", bz(shop, "/topics"), map[string]any{"name": "Offers", "keyword": "join"}), http.StatusCreated).JSON()["id"].(string)
	for _, c := range []*user{ann, ben} {
		c.send(c.direct("shop"), "join")
	}
	tpl := must(t, shop.do("POST", bz(shop, "/templates"), map[string]any{"name": "Sale", "body": "Hi {{contact.first_name}}, sale today",
		"topic": topic, "status": "approved"}), http.StatusCreated).JSON()["id"].(string)
	camp := must(t, shop.do("POST", bz(shop, "/campaigns"), map[string]any{"name": "Spring", "template": tpl, "send_now": true}),
		http.StatusCreated).JSON()["id"].(string)
	deadline := time.Now().Add(liveness)
	for {
		if err := ts.App.CampaignTick(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := must(t, shop.do("GET", bz(shop, "/campaigns/"+camp), nil), http.StatusOK).JSON()["status"]
		if st == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the campaign is still %v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}

	after := ts.scrape(t)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64 // exact change; -1: any increase
	}{
		{"parley_webhook_deliveries_total", []string{"result", "failed"}, 1},
		{"parley_webhook_deliveries_total", []string{"result", "delivered"}, -1},
		{"parley_webhook_deliveries_total", []string{"result", "dead"}, 0},
		{"parley_webhooks_disabled_total", nil, 0},
		{"parley_campaigns_total", []string{"event", "started"}, 1},
		{"parley_campaigns_total", []string{"event", "finished"}, 1},
		{"parley_campaign_recipients_total", []string{"result", "sent"}, 2},
		{"parley_campaign_recipients_total", []string{"result", "skipped"}, 0},
		{"parley_campaign_recipients_total", []string{"result", "failed"}, 0},
	} {
		got := delta(after, c.name, c.labels...)
		if c.want < 0 && got <= 0 || c.want >= 0 && got != c.want {
			want := fmt.Sprint(c.want)
			if c.want < 0 {
				want = "an increase"
			}
			t.Errorf("%s%v moved by %v, want %s", c.name, c.labels, got, want)
		}
	}
}
