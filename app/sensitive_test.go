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
		{"call me at +1 555 0100", nil},
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

func BenchmarkFindSensitive(b *testing.B) {
	text := "Hello, I ordered a blue jacket last week (order 123456) and it has not arrived yet; can you check? My phone is +49 30 1234567."
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(app.FindSensitive(text)) != 0 {
			b.Fatal("false positive")
		}
	}
}
