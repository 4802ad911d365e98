package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

func TestFindSensitive(t *testing.T) {
	cases := []struct {
		text  string
		kinds []string
	}{
		{"my card is 4242 4242 4242 4242 thanks", []string{app.SensitiveCard}},
		{"card 4111-1111-1111-1111", []string{app.SensitiveCard}},
		{"5500005555555559", []string{app.SensitiveCard}},
		{"4242 4242 4242 4241 fails Luhn", nil},
		{"order 1234567890123", nil}, // 13 digits that fail Luhn
		{"0000 0000 0000 0000", nil},
		{"call me at +1 555 0100", nil}, // too short for the North American plan
		{"IBAN DE89 3704 0044 0532 0130 00 please", []string{app.SensitiveIBAN}},
		{"GB82WEST12345698765432", []string{app.SensitiveIBAN}},
		{"GB82WEST12345698765433", nil}, // bad checksum
		{"key AKIAIOSFODNN7EXAMPLE ok", []string{app.SensitiveSecret}},
		{"sk_live_4eC39HqLyjWDarjtT1zdp7dc", []string{app.SensitiveSecret}},
		{"ghp_" + strings.Repeat("a1B2", 9), []string{app.SensitiveSecret}},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIE", []string{app.SensitiveSecret}},
		{"my password is hunter22", []string{app.SensitivePassword}},
		{"Password: s3cr3t!", []string{app.SensitivePassword}},
		{"I forgot my password yesterday", nil},
		{"pay 4242424242424242 to DE89370400440532013000, pwd=letmein1", []string{app.SensitiveCard, app.SensitiveIBAN, app.SensitivePassword}},
		{"my SSN is 078-05-1120", []string{app.SensitiveNationalID}},
		{"ssn 666-12-3456 / 000-12-3456 / 912-12-3456 / 123-00-4567 / 123-45-0000", nil}, // never issued
		{"ticket 123456789", nil},        // bare digits: too often something else
		{"NI number QQ 12 34 56 C", nil}, // Q is never a prefix letter
		{"NI number AB 12 34 56 C please", []string{app.SensitiveNationalID}},
		{"AB123456D", []string{app.SensitiveNationalID}},
		{"GB123456A", nil}, // GB is never issued
		{"nothing here", nil},
		// Phone numbers: international form in any country, national
		// form (of the default region, US) when grouped or named.
		{"call me at +1 415 555 2671", []string{app.SensitivePhone}},
		{"ring me on +44 20 7946 0958 tomorrow", []string{app.SensitivePhone}},
		{"+49 30 901820", []string{app.SensitivePhone}},
		{"0049 30 901820", []string{app.SensitivePhone}},
		{"+33 1 23 45 67 89", []string{app.SensitivePhone}},
		{"+91 98765 43210", []string{app.SensitivePhone}},
		{"my number: (415) 555-2671", []string{app.SensitivePhone}},
		{"415-555-2671", []string{app.SensitivePhone}},
		{"call me 4155552671", []string{app.SensitivePhone}},
		{"+49 12 3", nil},         // too short for any plan
		{"+1 123 456 7890", nil},  // no US area code starts with 1
		{"4155552671", nil},       // bare digits, no phone word: an id as often as not
		{"order 4155552671", nil}, // an order number
		{"order number is 4155552671", nil},
		{"ticket #415-555-2671", nil}, // after "#"
		{"invoice 2024-000123", nil},
		{"on 2026-11-27 at 10:30", nil}, // dates
		{"27.11.2026 or 11/27/2026", nil},
		{"tracking 1Z999AA10123456784", nil},
		{"call 911", nil},
		{"card 4242 4242 4242 4242, call me", []string{app.SensitiveCard}},    // a card, not a phone
		{"card 4242 4242 4242 4241, call me", nil},                            // a bad card is not a phone either (16 digits)
		{"my SSN is 078-05-1120, call me", []string{app.SensitiveNationalID}}, // 9 digits: an id
	}
	for _, c := range cases {
		var got []string
		for _, f := range app.FindSensitive(c.text) {
			got = append(got, f.Kind)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.kinds) {
			t.Errorf("%q: %v, want %v", c.text, got, c.kinds)
		}
	}
	if got := app.MaskSensitive("card 4242 4242 4242 4242, IBAN GB82WEST12345698765432, password: hunter22"); got != "card ••••4242, IBAN ••••5432, password: ••••" {
		t.Errorf("masked: %q", got)
	}
	if got := app.MaskSensitive("call +44 20 7946 0958 or (415) 555-2671"); got != "call •••• or ••••" {
		t.Errorf("masked phones: %q", got)
	}
}

// TestPhoneRegion: national numbers are read in the server's region;
// international ones in any.
func TestPhoneRegion(t *testing.T) {
	defer app.SetPhoneRegion(app.PhoneRegion())
	if app.SetPhoneRegion("XX") || app.ValidPhoneRegion("XX") {
		t.Fatal("an unknown region was taken")
	}
	if !app.SetPhoneRegion("de") || app.PhoneRegion() != "DE" {
		t.Fatalf("region %q", app.PhoneRegion())
	}
	for text, phone := range map[string]bool{
		"ruf mich an: 030 901820": true, // Berlin, national form
		"call +1 415 555 2671":    true,
		"Bestellung 030 901820":   true, // no "order" word in English: still a phone
		"order 030 901820":        false,
	} {
		fs := app.FindSensitive(text)
		if got := len(fs) == 1 && fs[0].Kind == app.SensitivePhone; got != phone {
			t.Errorf("DE: %q: %v, want phone %v", text, fs, phone)
		}
	}
}

func TestSensitiveGuardOnSend(t *testing.T) {
	s := newShop(t)
	_, ann := s.agent("ann", "Ann", true)
	c, conv := s.customer("Cara")
	before := s.history(c, conv)
	_, _, err := s.a.Send(s.ctx, c, conv, app.SendInput{ClientID: "card", Text: "here: 4242 4242 4242 4242"})
	if parley.ErrorCode(err) != parley.ESensitiveData || !strings.Contains(parley.ErrorMessage(err), "card number") {
		t.Fatalf("unconfirmed: %v", err)
	}
	if s.history(c, conv) != before {
		t.Fatal("a warned send was stored")
	}
	m, _, err := s.a.Send(s.ctx, c, conv, app.SendInput{ClientID: "card", Text: "here: 4242 4242 4242 4242", ConfirmSensitive: true})
	if err != nil || m.Text != "here: 4242 4242 4242 4242" {
		t.Fatalf("confirmed: %+v %v", m, err)
	}
	// The same client_id without the confirmation is the same message.
	if again, created, err := s.a.Send(s.ctx, c, conv, app.SendInput{ClientID: "card", Text: "here: 4242 4242 4242 4242"}); err != nil || created || again.ID != m.ID {
		t.Fatalf("retry: %v %v", created, err)
	}
	// The customer sees their own text; the team sees it masked, in the
	// conversation and in the inbox list.
	if h := s.history(c, conv); !strings.Contains(h, "4242 4242 4242 4242") {
		t.Fatalf("customer's history: %s", h)
	}
	page, err := s.a.Messages(s.ctx, ann.Actor, conv, app.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	last := page.Items[len(page.Items)-1]
	if last.Text != "here: ••••4242" || !last.Masked {
		t.Fatalf("team sees %q (masked %v)", last.Text, last.Masked)
	}
	list, _ := s.a.Inbox(s.ctx, ann, app.InboxQuery{View: "all"})
	if lm := list.Items[0].LastMessage; lm == nil || strings.Contains(lm.Text, "4242 4242") {
		t.Fatalf("inbox list shows %+v", lm)
	}
	s.settings(func(st *app.BusinessSettings) { st.ShowSensitive = true })
	page, _ = s.a.Messages(s.ctx, ann.Actor, conv, app.HistoryQuery{Limit: 10})
	if last := page.Items[len(page.Items)-1]; last.Text != "here: 4242 4242 4242 4242" || last.Masked {
		t.Fatalf("with masking off the team sees %q", last.Text)
	}
}

// TestPhoneGuard: a phone number never stops a send unless the sender
// asked for the warning; a business's team sees it masked unless the
// business shows phone numbers (show_sensitive does not); the customer
// sees their own number.
func TestPhoneGuard(t *testing.T) {
	s := newShop(t)
	_, ann := s.agent("ann", "Ann", true)
	c, conv := s.customer("Cara")
	const text = "please call me back on +44 20 7946 0958"
	s.say(c, conv, text) // no warning, no confirmation
	// Person to person, too.
	bob := s.register("bob", "Bob", parley.KindPerson)
	direct, _, err := s.a.CreateDirect(s.ctx, c, "bob")
	if err != nil {
		t.Fatal(err)
	}
	s.say(c, direct.ID, "my mobile is (415) 555-2671")

	last := func() *app.MessageView {
		t.Helper()
		page, err := s.a.Messages(s.ctx, ann.Actor, conv, app.HistoryQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return page.Items[len(page.Items)-1]
	}
	if m := last(); m.Text != "please call me back on ••••" || !m.Masked {
		t.Fatalf("team sees %q (masked %v)", m.Text, m.Masked)
	}
	if h := s.history(c, conv); !strings.Contains(h, "+44 20 7946 0958") {
		t.Fatalf("the customer's own history: %s", h)
	}
	if h := s.history(bob, direct.ID); !strings.Contains(h, "(415) 555-2671") {
		t.Fatalf("person to person, nothing is masked: %s", h)
	}
	list, _ := s.a.Inbox(s.ctx, ann, app.InboxQuery{View: "all"})
	if lm := list.Items[0].LastMessage; lm == nil || strings.Contains(lm.Text, "7946") {
		t.Fatalf("inbox list shows %+v", lm)
	}
	s.settings(func(st *app.BusinessSettings) { st.ShowSensitive = true })
	if m := last(); !m.Masked {
		t.Fatalf("show_sensitive unmasked the phone number: %q", m.Text)
	}
	s.settings(func(st *app.BusinessSettings) { st.ShowSensitive, st.ShowPhoneNumbers = false, true })
	if m := last(); m.Text != text || m.Masked {
		t.Fatalf("with show_phone_numbers the team sees %q", m.Text)
	}
	// Phone numbers shown, cards still masked.
	s.n++
	if _, _, err := s.a.Send(s.ctx, c, conv, app.SendInput{Text: "card 4242 4242 4242 4242, phone +44 20 7946 0958", ConfirmSensitive: true}); err != nil {
		t.Fatal(err)
	}
	if m := last(); m.Text != "card ••••4242, phone +44 20 7946 0958" {
		t.Fatalf("cards masked, phones shown: %q", m.Text)
	}

	// A sender who asked to be warned is.
	on := true
	if me, err := s.a.UpdateProfile(s.ctx, c, app.ProfileUpdate{WarnPhone: &on}); err != nil || !me.WarnPhone {
		t.Fatalf("warn_phone: %+v %v", me, err)
	}
	c.User.WarnPhone = true // the actor is loaded per request
	_, _, err = s.a.Send(s.ctx, c, direct.ID, app.SendInput{ClientID: "ph", Text: "my mobile is (415) 555-2671"})
	if parley.ErrorCode(err) != parley.ESensitiveData || !strings.Contains(parley.ErrorMessage(err), "phone") {
		t.Fatalf("warned sender: %v", err)
	}
	if _, _, err := s.a.Send(s.ctx, c, direct.ID, app.SendInput{ClientID: "ph", Text: "my mobile is (415) 555-2671", ConfirmSensitive: true}); err != nil {
		t.Fatalf("confirmed: %v", err)
	}
}

// TestSensitiveGuardOnEdit: an edit goes through the guard like a send
// (warned, then confirmed), and the team sees the edited text and the
// earlier versions masked.
func TestSensitiveGuardOnEdit(t *testing.T) {
	s := newShop(t)
	_, ann := s.agent("ann", "Ann", true)
	c, conv := s.customer("Cara")
	m := s.say(c, conv, "my card is in the next message")
	_, err := s.a.Edit(s.ctx, c, conv, m.ID, "my card is 4242 4242 4242 4242")
	if parley.ErrorCode(err) != parley.ESensitiveData || !strings.Contains(parley.ErrorMessage(err), "card number") {
		t.Fatalf("unconfirmed edit: %v", err)
	}
	if h := s.history(c, conv); strings.Contains(h, "4242") {
		t.Fatalf("a warned edit was saved: %s", h)
	}
	// A phone number in an edit does not warn (the sender did not ask).
	if _, err := s.a.Edit(s.ctx, c, conv, m.ID, "call me: +44 20 7946 0958"); err != nil {
		t.Fatalf("edit with a phone number: %v", err)
	}
	v, err := s.a.EditMessage(s.ctx, c, conv, m.ID, app.EditInput{Text: "my card is 4242 4242 4242 4242", ConfirmSensitive: true})
	if err != nil || v.Text != "my card is 4242 4242 4242 4242" || v.EditedAt == nil {
		t.Fatalf("confirmed edit: %+v %v", v, err)
	}
	page, err := s.a.Messages(s.ctx, ann.Actor, conv, app.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := byID(page.Items, m.ID); got.Text != "my card is ••••4242" || !got.Masked {
		t.Fatalf("team sees the edit as %q", got.Text)
	}
	hist, err := s.a.EditHistory(s.ctx, ann.Actor, conv, m.ID)
	if err != nil || len(hist) != 2 {
		t.Fatalf("team's edit history: %+v %v", hist, err)
	}
	for _, e := range hist {
		if strings.Contains(e.Text, "7946") {
			t.Fatalf("the team sees an earlier version unmasked: %q", e.Text)
		}
	}
	own, err := s.a.EditHistory(s.ctx, c, conv, m.ID)
	if err != nil || len(own) != 2 || !strings.Contains(own[1].Text+own[0].Text, "+44 20 7946 0958") {
		t.Fatalf("the customer's own edit history: %+v %v", own, err)
	}
}

func BenchmarkFindSensitive(b *testing.B) {
	text := "Hello, I ordered a blue jacket last week (order 123456) and it has not arrived yet; can you check? My phone is +49 30 1234567."
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if fs := app.FindSensitive(text); len(fs) != 1 || fs[0].Kind != app.SensitivePhone {
			b.Fatalf("found %v", fs)
		}
	}
}

// BenchmarkFindSensitivePlain is a message with no number worth parsing
// (fewer than 7 digits): what most messages cost.
func BenchmarkFindSensitivePlain(b *testing.B) {
	text := "Hello, I ordered a blue jacket last week (order 123456) and it has not arrived yet; can you check where it is please?"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if fs := app.FindSensitive(text); len(fs) != 0 {
			b.Fatalf("found %v", fs)
		}
	}
}
