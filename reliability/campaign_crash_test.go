package reliability

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/store/sqlite"
)

// cheap password hashing for the accounts the setup makes.
var cheap = app.PasswordParams{Time: 1, MemoryK: 1024, Threads: 1}

// The groups of customers of TestCampaignKillNine, by index modulo 12.
const (
	grpCapped     = 4  // opted in, had a promotion before: frequency cap
	grpQuiet      = 5  // opted in, in UTC+6, where it is quiet hours now
	grpFormA      = 6  // subscribed by the topic's link, never wrote
	grpFormB      = 7  // the same
	grpNever      = 8  // wrote, never opted in
	grpStopped    = 9  // opted in, then STOP before the campaign
	grpStopDuring = 10 // opted in, STOP while the campaign runs
	grpBlocker    = 11 // subscribed by link, then blocked the business
	// 0 to 3: opted in by keyword in their conversation.
)

// TestCampaignKillNine runs the parley binary, starts a throttled campaign
// over a couple of thousand contacts, SIGKILLs the server twice in the
// middle of it (some contacts send STOP between the kills), restarts it
// on the same data, lets it finish, and then checks every contact: each
// eligible one got the campaign exactly once; nobody without consent at
// the time got it (never opted in, STOP before, STOP during: nothing after
// the STOP); nobody over the frequency cap; nothing in quiet hours (those
// contacts still wait); a contact who blocked the business got nothing;
// the counts add up with the messages stored.
func TestCampaignKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes; skipped with -short")
	}
	const customers = 2400
	n := &node{t: t, addr: freeAddr(t), dir: t.TempDir()}
	n.start() // makes the data directory and its schema
	n.kill()

	// The setup goes through the application on the server's own
	// database, with cheap password hashing: 2,400 accounts through the
	// API would spend minutes hashing passwords.
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(n.dir, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(db, app.Config{Password: cheap, SendPerConversation: 1e9, SendBurst: 1e9})
	shopAuth, err := a.Register(ctx, app.Registration{Handle: "shop", Password: "campaign crash test", DisplayName: "Shop", Kind: parley.KindBusiness})
	if err != nil {
		t.Fatal(err)
	}
	shopActor, err := a.Authenticate(ctx, shopAuth.Token)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := a.ActAs(ctx, shopActor, "shop")
	if err != nil {
		t.Fatal(err)
	}
	// Quiet hours from 5 to 7 hours ahead of UTC now: it is quiet hours
	// in UTC+6 (Asia/Dhaka), not in UTC, for the test's duration.
	now := time.Now().UTC()
	quietStart, quietEnd := now.Add(5*time.Hour).Format("15:04"), now.Add(7*time.Hour).Format("15:04")
	st, err := a.Settings(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	st.Messaging.QuietStart, st.Messaging.QuietEnd = quietStart, quietEnd
	if _, err := a.PutSettings(ctx, admin, st); err != nil {
		t.Fatal(err)
	}
	topicName, kw := "Offers", "join"
	topic, err := a.SaveTopic(ctx, admin, "", app.TopicInput{Name: &topicName, Keyword: &kw})
	if err != nil {
		t.Fatal(err)
	}
	approved := parley.TemplateApproved
	mkTemplate := func(name, body string) *app.TemplateView {
		tv, err := a.SaveTemplate(ctx, admin, "", app.TemplateInput{Name: &name, Body: &body, Topic: &topic.ID, Status: &approved})
		if err != nil {
			t.Fatal(err)
		}
		return tv
	}
	earlier := mkTemplate("Earlier", "An earlier offer")
	sale := mkTemplate("Sale", "Hi {{contact.first_name}}, the crash sale is on")

	type customer struct {
		i      int
		token  string
		actor  *app.Actor
		conv   string // "" for those who never wrote
		zone   *time.Location
		stopAt time.Time // when their STOP was stored
	}
	custs := make([]*customer, customers)
	dhaka, err := time.LoadLocation("Asia/Dhaka")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, customers)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := func() error {
					c := &customer{i: i, zone: time.UTC}
					auth, err := a.Register(ctx, app.Registration{Handle: fmt.Sprintf("c%04d", i), Password: "campaign crash test",
						DisplayName: fmt.Sprintf("Cust%d Test", i)})
					if err != nil {
						return err
					}
					c.token = auth.Token
					if c.actor, err = a.Authenticate(ctx, auth.Token); err != nil {
						return err
					}
					custs[i] = c
					say := func(text string) error {
						_, _, err := a.Send(ctx, c.actor, c.conv, app.SendInput{ClientID: "setup-" + text, Text: text})
						return err
					}
					switch i % 12 {
					case grpFormA, grpFormB, grpBlocker:
						if _, err := a.ConsentFormSubmit(ctx, c.actor, topic.FormToken, "crash test form"); err != nil {
							return err
						}
						if i%12 == grpBlocker {
							return a.Block(ctx, c.actor, "shop", true)
						}
						return nil
					}
					conv, _, err := a.CreateDirect(ctx, c.actor, "shop")
					if err != nil {
						return err
					}
					c.conv = conv.ID
					if i%12 == grpNever {
						return say("hello")
					}
					if err := say("JOIN"); err != nil {
						return err
					}
					switch i % 12 {
					case grpStopped:
						return say("STOP")
					case grpCapped:
						_, _, err := a.BusinessSend(ctx, admin, c.conv, "", app.SendInput{ClientID: "earlier", Template: earlier.ID})
						return err
					case grpQuiet:
						c.zone = dhaka
						d, err := a.InboxConversation(ctx, admin, c.conv)
						if err != nil {
							return err
						}
						zone := "Asia/Dhaka"
						_, err = a.UpdateContact(ctx, admin, d.Item.Contact.ID, app.ContactChange{Attributes: map[string]*string{"timezone": &zone}})
						return err
					}
					return nil
				}(); err != nil {
					errs <- fmt.Errorf("customer %d: %w", i, err)
				}
			}
		}()
	}
	for i := range customers {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The campaign, on the real server: throttled so that the kills land
	// in the middle of it.
	n.start()
	defer func() { n.kill() }()
	var cmp struct {
		ID      string         `json:"id"`
		Status  string         `json:"status"`
		Total   int            `json:"total"`
		Sent    int            `json:"sent"`
		Failed  int            `json:"failed"`
		Pending int            `json:"pending"`
		Skipped map[string]int `json:"skipped"`
	}
	if code, err := call(n.addr, shopAuth.Token, "POST", "/api/v1/business/shop/campaigns",
		map[string]any{"name": "Crash sale", "template": sale.ID, "rate": 250, "send_now": true}, &cmp); err != nil || code != 201 {
		t.Fatalf("create campaign: %d %v\n%s", code, err, n.logs)
	}
	progress := func() {
		t.Helper()
		if code, err := call(n.addr, shopAuth.Token, "GET", "/api/v1/business/shop/campaigns/"+cmp.ID, nil, &cmp); err != nil || code != 200 {
			t.Fatalf("campaign: %d %v\n%s", code, err, n.logs)
		}
	}
	waitSent := func(atLeast int) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for progress(); cmp.Sent < atLeast; progress() {
			if time.Now().After(deadline) {
				t.Fatalf("campaign stuck at %+v\n%s", cmp, n.logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitSent(300)
	n.kill()
	t.Logf("first kill at %d sent", cmp.Sent)
	n.start()
	// STOP from a group while the campaign runs, through the API.
	var stops sync.WaitGroup
	for _, c := range custs {
		if c.i%12 != grpStopDuring {
			continue
		}
		stops.Add(1)
		go func() {
			defer stops.Done()
			call(n.addr, c.token, "POST", "/api/v1/conversations/"+c.conv+"/messages", map[string]any{"client_id": "stop-during", "text": "Stop"}, nil)
		}()
	}
	stops.Wait()
	waitSent(cmp.Sent + 400)
	n.kill()
	t.Logf("second kill at %d sent", cmp.Sent)
	n.start()

	// Done but for the contacts in quiet hours, who wait.
	quiet := 0
	for _, c := range custs {
		if c.i%12 == grpQuiet {
			quiet++
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for progress(); cmp.Pending > quiet; progress() {
		if time.Now().After(deadline) {
			t.Fatalf("campaign not settled: %+v\n%s", cmp, n.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.kill()
	t.Logf("settled: %+v", cmp)

	// Every contact, read from the database the server left.
	db, err = sqlite.Open(filepath.Join(n.dir, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a = app.New(db, app.Config{Password: cheap})
	admin, err = a.ActAs(ctx, shopActor, "shop")
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Campaign(ctx, admin, cmp.ID)
	if err != nil {
		t.Fatal(err)
	}
	inQuiet := func(at time.Time, loc *time.Location) bool {
		hm := at.In(loc).Format("15:04")
		if quietStart < quietEnd {
			return hm >= quietStart && hm < quietEnd
		}
		return hm >= quietStart || hm < quietEnd
	}
	received := 0
	for _, c := range custs {
		actor, err := a.Authenticate(ctx, c.token)
		if err != nil {
			t.Fatal(err)
		}
		convs, err := a.Conversations(ctx, actor, parley.FolderInbox, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		var campaign, promos []*app.MessageView
		stopAt := time.Time{}
		for _, conv := range convs.Items {
			page, err := a.Messages(ctx, actor, conv.ID, app.HistoryQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Items {
				switch {
				case strings.Contains(m.Text, "crash sale"):
					campaign = append(campaign, m)
					promos = append(promos, m)
				case m.Text == "An earlier offer":
					promos = append(promos, m)
				case strings.EqualFold(m.Text, "stop") && m.Sender.ID == actor.User.ID:
					stopAt = m.CreatedAt
				}
			}
		}
		received += len(campaign)
		if len(promos) > 1 {
			t.Errorf("customer %d (group %d): %d promotions within the 7-day cap of 1", c.i, c.i%12, len(promos))
		}
		for _, m := range campaign {
			if inQuiet(m.CreatedAt, c.zone) {
				t.Errorf("customer %d (group %d): campaign message at %s, quiet hours in %s", c.i, c.i%12, m.CreatedAt, c.zone)
			}
			if !stopAt.IsZero() && !m.CreatedAt.Before(stopAt) {
				t.Errorf("customer %d (group %d): campaign message at %s after STOP at %s", c.i, c.i%12, m.CreatedAt, stopAt)
			}
		}
		want := 1
		switch c.i % 12 {
		case grpCapped, grpQuiet, grpNever, grpStopped, grpBlocker:
			want = 0
		case grpStopDuring:
			want = len(campaign) // once at most (above), and before the STOP
			if want > 1 || stopAt.IsZero() {
				t.Errorf("customer %d: STOP during the campaign not stored (%v), %d campaign messages", c.i, stopAt, want)
			}
		}
		if len(campaign) != want {
			t.Errorf("customer %d (group %d): %d campaign messages, want %d", c.i, c.i%12, len(campaign), want)
		}
		if c.i%12 == grpBlocker && len(convs.Items) != 0 {
			t.Errorf("customer %d blocked the shop but has %d conversations", c.i, len(convs.Items))
		}
	}
	if received != v.Sent {
		t.Errorf("%d campaign messages stored, %d counted sent: %+v", received, v.Sent, v)
	}
	skipped := 0
	for _, k := range v.Skipped {
		skipped += k
	}
	if v.Pending != quiet || v.Sent+v.Failed+skipped+v.Pending != v.Total {
		t.Errorf("counts: %+v (quiet %d)", v, quiet)
	}
	waiting, cursor := 0, ""
	for {
		page, err := a.CampaignRecipients(ctx, admin, cmp.ID, parley.RecipientPending, cursor, 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			waiting++
			if r.Reason != parley.EQuietHours {
				t.Errorf("recipient %s waits for %q, not quiet hours", r.Contact.ID, r.Reason)
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if waiting != quiet {
		t.Errorf("%d recipients wait, %d contacts are in quiet hours", waiting, quiet)
	}
	if v.Sent < customers/2 || v.Skipped[parley.EFrequencyCap] == 0 || v.Failed == 0 {
		t.Errorf("the campaign did not exercise every case: %+v", v)
	}
}
