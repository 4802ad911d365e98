package app_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/channel"
)

func TestWhatsAppTemplateHeaderAndButtons(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	wa := s.connect(parley.PlatformWhatsApp, phoneID)
	s.hook(wa, fixture(t, "whatsapp", "messages.json"))
	conv := s.onlyConversation()
	parts := &app.TemplateWhatsApp{
		Header: &channel.TemplateHeader{Type: "document", Link: "https://shop.example/invoices/{{contact.order}}.pdf", Filename: "Invoice {{contact.order}}.pdf"},
		Buttons: []channel.TemplateButton{
			{SubType: "quick_reply", Index: 0, Param: "stop-{{contact.order}}"},
			{SubType: "url", Index: 1, Param: "{{contact.tracking}}"},
		},
	}
	tp, err := s.a.SaveTemplate(s.ctx, s.admin, "", app.TemplateInput{Name: ptr("invoice"), Body: ptr("Hi {{contact.first_name}}, your invoice."),
		WhatsApp: parts, Status: ptr("approved")})
	if err != nil {
		t.Fatal(err)
	}
	if tp.WhatsApp == nil || tp.WhatsApp.Header.Filename != "Invoice {{contact.order}}.pdf" || len(tp.WhatsApp.Buttons) != 2 {
		t.Fatalf("saved parts: %+v", tp.WhatsApp)
	}
	s.clock.Set(time.Unix(1700000050, 0).Add(30 * time.Hour))
	// The body fills in, the header's and buttons' variables do not: refused.
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "t1", Template: tp.ID}); parley.ErrorCode(err) != parley.EUnresolvedVar {
		t.Fatalf("missing header/button values: %v", err)
	}
	it := s.item(conv)
	set := func(k, v string) {
		t.Helper()
		if _, err := s.a.UpdateContact(s.ctx, s.admin, it.Contact.ID, app.ContactChange{Attributes: map[string]*string{k: &v}}); err != nil {
			t.Fatal(err)
		}
	}
	set("order", "A-1001")
	// Only the button's variable is missing now.
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "t2", Template: tp.ID}); parley.ErrorCode(err) != parley.EUnresolvedVar {
		t.Fatalf("missing button value: %v", err)
	}
	set("tracking", "ZX81")
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "t3", Template: tp.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	calls := g.calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	got, _ := json.Marshal(calls[0].Body["template"].(map[string]any)["components"])
	want := `[{"parameters":[{"document":{"filename":"Invoice A-1001.pdf","link":"https://shop.example/invoices/A-1001.pdf"},"type":"document"}],"type":"header"},` +
		`{"parameters":[{"text":"Sheena","type":"text"}],"type":"body"},` +
		`{"index":"0","parameters":[{"payload":"stop-A-1001","type":"payload"}],"sub_type":"quick_reply","type":"button"},` +
		`{"index":"1","parameters":[{"text":"ZX81","type":"text"}],"sub_type":"url","type":"button"}]`
	if string(got) != want {
		t.Fatalf("components\n got %s\nwant %s", got, want)
	}

	// A link variable whose value makes no https address is as good as
	// missing.
	img, err := s.a.SaveTemplate(s.ctx, s.admin, "", app.TemplateInput{Name: ptr("photo"), Body: ptr("New in"),
		WhatsApp: &app.TemplateWhatsApp{Header: &channel.TemplateHeader{Type: "image", Link: "{{contact.photo}}"}}, Status: ptr("approved")})
	if err != nil {
		t.Fatal(err)
	}
	set("photo", "http://insecure.example/p.jpg")
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "t4", Template: img.ID}); parley.ErrorCode(err) != parley.EUnresolvedVar {
		t.Fatalf("http link: %v", err)
	}

	// Changing the parts of an approved template makes it a draft again.
	changed, err := s.a.SaveTemplate(s.ctx, s.admin, img.ID, app.TemplateInput{WhatsApp: &app.TemplateWhatsApp{}})
	if err != nil || changed.Status != parley.TemplateDraft || changed.WhatsApp != nil {
		t.Fatalf("parts removed: %+v %v", changed, err)
	}
}

func TestTemplateWhatsAppPartsChecked(t *testing.T) {
	s, _ := channelShop(t)
	for _, tw := range []*app.TemplateWhatsApp{
		{Header: &channel.TemplateHeader{Type: "video", Link: "https://x.example/v.mp4"}},
		{Header: &channel.TemplateHeader{Type: "text"}},
		{Header: &channel.TemplateHeader{Type: "image", Link: "http://x.example/a.png"}},
		{Header: &channel.TemplateHeader{Type: "image", Link: "https://x.example/a.png", Filename: "a.png"}},
		{Header: &channel.TemplateHeader{Type: "text", Text: "Hi {{agent.name}}"}},
		{Buttons: []channel.TemplateButton{{SubType: "call", Index: 0, Param: "x"}}},
		{Buttons: []channel.TemplateButton{{SubType: "url", Index: 0, Param: "a"}, {SubType: "url", Index: 0, Param: "b"}}},
		{Buttons: []channel.TemplateButton{{SubType: "quick_reply", Index: 10, Param: "x"}}},
		{Buttons: []channel.TemplateButton{{SubType: "quick_reply", Index: 0, Param: " "}}},
		{Buttons: []channel.TemplateButton{{SubType: "url", Index: 0, Param: "{{nope}}"}}},
	} {
		if _, err := s.a.SaveTemplate(s.ctx, s.admin, "", app.TemplateInput{Name: ptr("bad"), Body: ptr("Hello"), WhatsApp: tw}); parley.ErrorCode(err) != parley.EInvalid {
			b, _ := json.Marshal(tw)
			t.Errorf("%s: %v", b, err)
		}
	}
}
