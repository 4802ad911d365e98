package app_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// TestSendFloodAcrossDevices: one sender with several devices and tokens
// shares one budget per conversation; repeats of sent messages are never
// refused; the budget refills.
func TestSendFloodAcrossDevices(t *testing.T) {
	s := newShop(t)
	ann := s.register("ann", "Ann", parley.KindPerson)
	ben := s.register("ben", "Ben", parley.KindPerson)
	if err := s.a.Follow(s.ctx, ben, "ann", true); err != nil {
		t.Fatal(err)
	}
	conv, _, err := s.a.CreateDirect(s.ctx, ann, "ben")
	if err != nil {
		t.Fatal(err)
	}
	devices := []*app.Actor{ann, s.reg("ann"), s.reg("ann")}
	tok, err := s.a.CreateToken(s.ctx, ann, app.TokenInput{Name: "script", Scopes: []string{"messages:write"}})
	if err != nil {
		t.Fatal(err)
	}
	script, _ := s.a.Authenticate(s.ctx, tok.Token)
	devices = append(devices, script)
	var mu sync.Mutex
	sent, limited := 0, 0
	var wg sync.WaitGroup
	for d, dev := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				_, _, err := s.a.Send(s.ctx, dev, conv.ID, app.SendInput{ClientID: fmt.Sprintf("d%d-%d", d, i), Text: "flood"})
				var pe *parley.Error
				mu.Lock()
				switch {
				case err == nil:
					sent++
				case errors.As(err, &pe) && pe.Code == parley.ERateLimited && pe.RetryAfter > 0:
					limited++
				default:
					t.Errorf("send: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// The clock stands still: the burst (30) is all there is, give or take
	// the sends in flight when it ran out.
	if sent < 30 || sent > 30+len(devices) || sent+limited != 80 {
		t.Fatalf("%d sent, %d limited of 80 from %d devices; want about 30 sent", sent, limited, len(devices))
	}
	// A repeat of a send that went through is answered even now.
	if m, created, err := s.a.Send(s.ctx, ann, conv.ID, app.SendInput{ClientID: "d0-0", Text: "flood"}); err != nil || created || m == nil {
		t.Fatalf("repeat while limited: %v %v", created, err)
	}
	// Other conversations have their own budget; the budget refills.
	other, _, err := s.a.CreateGroup(s.ctx, ann, app.GroupInput{Title: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.a.Send(s.ctx, ann, other.ID, app.SendInput{ClientID: "x", Text: "hi"}); err != nil {
		t.Fatalf("another conversation: %v", err)
	}
	s.clock.Advance(time.Second)
	if _, _, err := s.a.Send(s.ctx, ann, conv.ID, app.SendInput{ClientID: "later", Text: "hi"}); err != nil {
		t.Fatalf("after a second: %v", err)
	}
}

// TestConcurrentRepeatsAreNeverLimited: one client_id sent 100 times at once
// is one message, and no answer is a 429.
func TestConcurrentRepeatsAreNeverLimited(t *testing.T) {
	s := newShop(t)
	ann := s.register("ann", "Ann", parley.KindPerson)
	g, _, err := s.a.CreateGroup(s.ctx, ann, app.GroupInput{Title: "g"})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 100)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, _, err := s.a.Send(s.ctx, ann, g.ID, app.SendInput{ClientID: "same", Text: "once"})
			if err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			ids[i] = m.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("different messages for one client_id: %s %s", id, ids[0])
		}
	}
}

func TestNewConversationsPerDay(t *testing.T) {
	s := newShop(t)
	young := s.register("young", "Young", parley.KindPerson)
	var targets []string
	for i := range 21 {
		h := fmt.Sprintf("target%02d", i)
		s.register(h, h, parley.KindPerson)
		targets = append(targets, h)
	}
	for _, h := range targets[:20] {
		if _, _, err := s.a.CreateDirect(s.ctx, young, h); err != nil {
			t.Fatalf("conversation with %s: %v", h, err)
		}
	}
	_, _, err := s.a.CreateDirect(s.ctx, young, targets[20])
	var pe *parley.Error
	if !errors.As(err, &pe) || pe.Code != parley.ERateLimited || pe.RetryAfter <= 0 {
		t.Fatalf("21st new conversation of a young account: %v", err)
	}
	if _, _, err := s.a.CreateGroup(s.ctx, young, app.GroupInput{Title: "also counted"}); parley.ErrorCode(err) != parley.ERateLimited {
		t.Fatalf("a group past the limit: %v", err)
	}
	// Opening an existing conversation is not a new one.
	if _, _, err := s.a.CreateDirect(s.ctx, young, targets[0]); err != nil {
		t.Fatalf("reopening: %v", err)
	}
	// A day later the window has moved on.
	s.clock.Advance(24*time.Hour + time.Second)
	if _, _, err := s.a.CreateDirect(s.ctx, young, targets[20]); err != nil {
		t.Fatalf("the next day: %v", err)
	}
	// Older accounts get the larger allowance.
	s.clock.Advance(7 * 24 * time.Hour)
	for i := range 25 {
		h := fmt.Sprintf("more%02d", i)
		s.register(h, h, parley.KindPerson)
		if _, _, err := s.a.CreateDirect(s.ctx, young, h); err != nil {
			t.Fatalf("an older account's conversation %d: %v", i, err)
		}
	}
}

func TestRegistrationsPerAddress(t *testing.T) {
	s := newShop(t)
	for i := range 20 {
		if _, err := s.a.Register(s.ctx, app.Registration{Handle: fmt.Sprintf("signup%02d", i), Password: "correct horse battery", Address: "203.0.113.7"}); err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
	}
	_, err := s.a.Register(s.ctx, app.Registration{Handle: "signup99", Password: "correct horse battery", Address: "203.0.113.7"})
	if parley.ErrorCode(err) != parley.ERateLimited {
		t.Fatalf("21st sign-up from one address: %v", err)
	}
	if _, err := s.a.Register(s.ctx, app.Registration{Handle: "elsewhere", Password: "correct horse battery", Address: "198.51.100.1"}); err != nil {
		t.Fatalf("another address: %v", err)
	}
	if _, err := s.a.Register(s.ctx, app.Registration{Handle: "local", Password: "correct horse battery", Address: "127.0.0.1"}); err != nil {
		t.Fatalf("loopback: %v", err)
	}
}
