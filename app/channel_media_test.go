package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/channel"
)

// pngBytes is a real PNG of w×h pixels.
func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// messengerBody is a Messenger webhook body of one messaging event.
func messengerBody(event string) []byte {
	return []byte(`{"object":"page","entry":[{"id":"` + pageID + `","time":1700000000000,"messaging":[` + event + `]}]}`)
}

func TestChannelInboundWhatsAppMediaFetched(t *testing.T) {
	s, g := channelShop(t)
	ch := s.connect(parley.PlatformWhatsApp, phoneID)
	pic := pngBytes(t, 40, 30)
	sum := sha256.Sum256(pic)
	// The Graph API's media endpoint gives a short-lived URL, fetched
	// with the same token.
	g.serve("/v21.0/1003383421387256", []byte(fmt.Sprintf(`{"messaging_product":"whatsapp","url":%q,"mime_type":"image/png","sha256":%q,"file_size":"%d","id":"1003383421387256"}`,
		g.srv.URL+"/whatsapp_business/attachments/", hex.EncodeToString(sum[:]), len(pic))))
	g.serve("/whatsapp_business/attachments/", pic)
	s.hook(ch, fixture(t, "whatsapp", "messages.json"))
	conv := s.onlyConversation()

	ms := s.bizHistory(conv)
	img := ms[1]
	if img.Kind != "image" || img.Text != "This one" || len(img.Attachments) != 0 || img.Channel == nil ||
		len(img.Channel.Attachments) != 1 || img.Channel.Attachments[0].Status != "fetching" {
		t.Fatalf("before the fetch: %+v %+v", img, img.Channel)
	}
	if n, err := s.a.ChannelWorkTick(s.ctx); err != nil || n != 1 {
		t.Fatalf("work tick: %d %v", n, err)
	}
	gets := g.getCalls()
	if len(gets) != 2 || gets[0].Path != "/v21.0/1003383421387256" || gets[0].Auth != "Bearer EAAB-access-token-whatsapp" ||
		gets[1].Auth != "Bearer EAAB-access-token-whatsapp" {
		t.Fatalf("downloads: %+v", gets)
	}
	img = s.bizHistory(conv)[1]
	if len(img.Attachments) != 1 || img.Attachments[0].ContentType != "image/png" || img.Attachments[0].Width != 40 || img.Channel != nil {
		t.Fatalf("after the fetch: %+v", img)
	}
	// The team opens it as any media.
	f, err := s.a.OpenMedia(s.ctx, s.biz, img.Attachments[0].ID, false)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Nothing more to do, and a replay of the webhook fetches nothing.
	s.hook(ch, fixture(t, "whatsapp", "messages.json"))
	if n, _ := s.a.ChannelWorkTick(s.ctx); n != 0 {
		t.Fatalf("work after the fetch: %d", n)
	}
}

func TestChannelInboundAttachmentRetriedThenFailed(t *testing.T) {
	s, g := channelShop(t)
	ch := s.connect(parley.PlatformMessenger, pageID)
	pic := pngBytes(t, 8, 8)
	g.serve("/cdn/ok.png", pic)
	g.fails["/cdn/ok.png"] = 1
	body := messengerBody(`{"sender":{"id":"6000000000000001"},"recipient":{"id":"` + pageID + `"},"timestamp":1700000000000,
		"message":{"mid":"m_img","attachments":[{"type":"image","payload":{"url":"` + g.srv.URL + `/cdn/ok.png"}},
		{"type":"file","payload":{"url":"` + g.srv.URL + `/cdn/gone.pdf"}}]}}`)
	s.hook(ch, body)
	conv := s.onlyConversation()
	s.clock.Set(time.UnixMilli(1700000000000).Add(time.Minute))

	// First try: the image's CDN answers 500 (retried), the file 404
	// (failed for good: the link is gone).
	if n, err := s.a.ChannelWorkTick(s.ctx); err != nil || n != 1 {
		t.Fatalf("tick 1: %d %v", n, err)
	}
	m := s.bizHistory(conv)[0]
	if m.Kind != "file" || m.Channel == nil || len(m.Channel.Attachments) != 2 ||
		m.Channel.Attachments[0].Status != "fetching" || !strings.Contains(m.Channel.Attachments[0].Error, "500") ||
		m.Channel.Attachments[1].Status != "failed" || !strings.Contains(m.Channel.Attachments[1].Error, "404") {
		t.Fatalf("after tick 1: %+v", m.Channel)
	}
	// Not due before the backoff.
	if n, _ := s.a.ChannelWorkTick(s.ctx); n != 0 {
		t.Fatalf("tick before the backoff: %d", n)
	}
	s.clock.Advance(app.ChannelBackoff(1))
	if n, err := s.a.ChannelWorkTick(s.ctx); err != nil || n != 1 {
		t.Fatalf("tick 2: %d %v", n, err)
	}
	m = s.bizHistory(conv)[0]
	if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "image/png" || m.Channel == nil ||
		len(m.Channel.Attachments) != 1 || m.Channel.Attachments[0].Status != "failed" || m.Channel.Attachments[0].Type != "file" {
		t.Fatalf("after tick 2: %+v %+v", m, m.Channel)
	}
	s.clock.Advance(time.Hour)
	if n, _ := s.a.ChannelWorkTick(s.ctx); n != 0 {
		t.Fatalf("work after the end: %d", n)
	}
}

func TestChannelEchoesAreNotDuplicated(t *testing.T) {
	s, g := channelShop(t)
	ch := s.connect(parley.PlatformMessenger, pageID)
	s.hook(ch, fixture(t, "messenger", "text.json"))
	conv := s.onlyConversation()
	_, agent := s.agent("ann", "Ann", true)
	s.clock.Set(time.UnixMilli(1700000000000).Add(time.Minute))
	if _, err := s.reply(agent, conv, "On its way"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	before := len(s.bizHistory(conv))
	// The platform sends our message back as an echo, and one the Page
	// wrote in Meta's own inbox: neither becomes a message.
	for _, mid := range []string{"m_out1", "m_from_meta_inbox"} {
		n := s.hook(ch, messengerBody(`{"sender":{"id":"`+pageID+`"},"recipient":{"id":"6000000000000001"},"timestamp":1700000060000,
			"message":{"mid":"`+mid+`","is_echo":true,"text":"On its way"}}`))
		if n != 0 {
			t.Fatalf("echo %s applied %d events", mid, n)
		}
	}
	if after := len(s.bizHistory(conv)); after != before || len(g.calls()) != 1 {
		t.Fatalf("messages %d -> %d, %d sends", before, after, len(g.calls()))
	}
}

// upload is an agent's upload of a PNG.
func (s *shop) uploadPNG(ba *app.BusinessActor) string {
	s.t.Helper()
	mv, err := s.a.Upload(s.ctx, ba.Actor, parley.MessageImage, bytes.NewReader(pngBytes(s.t, 16, 16)))
	if err != nil {
		s.t.Fatal(err)
	}
	return mv.ID
}

func TestChannelOutboundMediaAsSignedLink(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	wa := s.connect(parley.PlatformWhatsApp, phoneID)
	s.hook(wa, fixture(t, "whatsapp", "messages.json"))
	conv := s.onlyConversation()
	s.clock.Set(time.Unix(1700000050, 0).Add(time.Hour))

	id := s.uploadPNG(agent)
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "pic", Kind: parley.MessageImage, Text: "Here it is in blue",
		Attachments: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	calls := g.calls()
	if len(calls) != 1 || calls[0].Body["type"] != "image" {
		t.Fatalf("calls: %+v", calls)
	}
	imgPart := calls[0].Body["image"].(map[string]any)
	link, _ := imgPart["link"].(string)
	if imgPart["caption"] != "Here it is in blue" || !strings.HasPrefix(link, "https://parley.example/hooks/meta/"+wa.ID+"/media/"+id+"?") {
		t.Fatalf("image part: %+v", imgPart)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	f, err := s.a.OpenChannelMedia(s.ctx, wa.ID, id, q.Get("exp"), q.Get("sig"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if f.ContentType != "image/png" || len(got) == 0 {
		t.Fatalf("served %s, %d bytes", f.ContentType, len(got))
	}
	// A changed signature, another media and a late fetch are refused.
	bad := []byte(q.Get("sig"))
	bad[0] ^= 1
	if bad[0] == q.Get("sig")[0] {
		t.Fatal("signature not changed")
	}
	if _, err := s.a.OpenChannelMedia(s.ctx, wa.ID, id, q.Get("exp"), string(bad)); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("bad signature: %v", err)
	}
	other := s.uploadPNG(agent)
	if _, err := s.a.OpenChannelMedia(s.ctx, wa.ID, other, q.Get("exp"), q.Get("sig")); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("another media: %v", err)
	}
	s.clock.Advance(2 * time.Hour)
	if _, err := s.a.OpenChannelMedia(s.ctx, wa.ID, id, q.Get("exp"), q.Get("sig")); parley.ErrorCode(err) != parley.ELinkExpired {
		t.Fatalf("expired: %v", err)
	}
}

func TestChannelOutboundMediaRulesOnMessenger(t *testing.T) {
	s, g, ch, agent, conv := messengerThread(t)

	// Messenger takes a file or a text per message, and one file.
	id := s.uploadPNG(agent)
	_, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "c1", Kind: parley.MessageImage, Text: "caption", Attachments: []string{id}})
	if parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("caption on messenger: %v", err)
	}
	two := []string{s.uploadPNG(agent), s.uploadPNG(agent)}
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "c2", Kind: parley.MessageImage, Attachments: two}); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("two files on messenger: %v", err)
	}
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "c3", Kind: parley.MessageImage, Attachments: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	calls := g.calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	msg := calls[0].Body["message"].(map[string]any)
	att, _ := msg["attachment"].(map[string]any)
	if _, hasText := msg["text"]; hasText || att == nil || att["type"] != "image" ||
		!strings.HasPrefix(att["payload"].(map[string]any)["url"].(string), "https://parley.example/hooks/meta/"+ch.ID+"/media/") {
		t.Fatalf("message: %+v", msg)
	}
}

func TestWhatsAppTemplateVariables(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	wa := s.connect(parley.PlatformWhatsApp, phoneID)
	s.hook(wa, fixture(t, "whatsapp", "messages.json"))
	conv := s.onlyConversation()
	tp, err := s.a.SaveTemplate(s.ctx, s.admin, "", app.TemplateInput{Name: ptr("order_shipped"),
		Body: ptr("Hi {{contact.first_name}}, order {{contact.order}} shipped. Thanks, {{contact.first_name}}!"), Status: ptr("approved")})
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Set(time.Unix(1700000050, 0).Add(30 * time.Hour))
	// No order number on the contact: refused before anything is stored.
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "t1", Template: tp.ID}); parley.ErrorCode(err) != parley.EUnresolvedVar {
		t.Fatalf("missing value: %v", err)
	}
	it := s.item(conv)
	order := "A-1001"
	if _, err := s.a.UpdateContact(s.ctx, s.admin, it.Contact.ID, app.ContactChange{Attributes: map[string]*string{"order": &order}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "t2", Template: tp.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	calls := g.calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	tpl := calls[0].Body["template"].(map[string]any)
	comps, _ := tpl["components"].([]any)
	if tpl["name"] != "order_shipped" || len(comps) != 1 {
		t.Fatalf("template: %+v", tpl)
	}
	body := comps[0].(map[string]any)
	params := body["parameters"].([]any)
	var vals []string
	for _, p := range params {
		pm := p.(map[string]any)
		if pm["type"] != "text" {
			t.Fatalf("parameter %+v", pm)
		}
		vals = append(vals, pm["text"].(string))
	}
	if body["type"] != "body" || strings.Join(vals, "|") != "Sheena|A-1001" {
		t.Fatalf("body component: %+v", body)
	}
}

func TestChannelEditsUnsendsAndReactions(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	wa := s.connect(parley.PlatformWhatsApp, phoneID)
	s.hook(wa, fixture(t, "whatsapp", "messages.json"))
	conv := s.onlyConversation()
	s.clock.Set(time.Unix(1700000050, 0).Add(time.Minute))

	sent, err := s.reply(agent, conv, "It comes in blue")
	if err != nil {
		t.Fatal(err)
	}
	queued, err := s.reply(agent, conv, "and in red")
	if err != nil {
		t.Fatal(err)
	}
	// A queued message may still be unsent: it never goes out.
	if err := s.a.Unsend(s.ctx, agent.Actor, conv, queued.ID); err != nil {
		t.Fatalf("unsend queued: %v", err)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(g.calls()); n != 1 {
		t.Fatalf("%d sends, want 1 (the unsent one stays)", n)
	}
	// Once the platform has it, an edit or an unsend is refused.
	if _, err := s.a.Edit(s.ctx, agent.Actor, conv, sent.ID, "It comes in navy"); parley.ErrorCode(err) != parley.EChannelUnsupported {
		t.Fatalf("edit: %v", err)
	}
	if err := s.a.Unsend(s.ctx, agent.Actor, conv, sent.ID); parley.ErrorCode(err) != parley.EChannelUnsupported {
		t.Fatalf("unsend: %v", err)
	}

	// Reactions to the person's message go out; removing it sends an
	// empty emoji.
	first := s.bizHistory(conv)[0]
	if err := s.a.React(s.ctx, agent.Actor, conv, first.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.ChannelWorkTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.a.React(s.ctx, agent.Actor, conv, first.ID, "👍", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.ChannelWorkTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.a.ChannelWorkTick(s.ctx); n != 0 {
		t.Fatalf("work after: %d", n)
	}
	calls := g.calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls", len(calls))
	}
	for i, want := range []string{"👍", ""} {
		c := calls[1+i]
		r, _ := c.Body["reaction"].(map[string]any)
		if c.Body["type"] != "reaction" || r == nil || r["emoji"] != want ||
			r["message_id"] != "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=" {
			t.Fatalf("reaction call %d: %+v", i, c.Body)
		}
	}
}

func TestMessengerReactionSenderAction(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	for _, tc := range []struct {
		platform, account, fixture, reaction string
	}{
		{parley.PlatformMessenger, pageID, "text.json", "😮"},
	} {
		ch := s.connect(tc.platform, tc.account)
		s.hook(ch, fixture(t, tc.platform, tc.fixture))
		conv := s.onlyConversation()
		first := s.bizHistory(conv)[0]
		if err := s.a.React(s.ctx, agent.Actor, conv, first.ID, tc.reaction, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.a.ChannelWorkTick(s.ctx); err != nil {
			t.Fatal(err)
		}
		calls := g.calls()
		if len(calls) != 1 {
			t.Fatalf("%d calls", len(calls))
		}
		p, _ := calls[0].Body["payload"].(map[string]any)
		if calls[0].Body["sender_action"] != "react" || p == nil || p["reaction"] != tc.reaction || p["message_id"] == "" {
			t.Fatalf("react call: %+v", calls[0].Body)
		}
	}
}

func TestUpdateChannelCredentials(t *testing.T) {
	s, g, db := channelShopStore(t)
	ch := s.connect(parley.PlatformMessenger, pageID)
	_, agent := s.agent("ann", "Ann", true)
	tok, secret, verify := "EAAB-rotated-token-4242", "new-app-secret-000", "new-verify-token"
	if _, err := s.a.UpdateChannel(s.ctx, agent, ch.ID, app.ChannelChange{AccessToken: &tok}); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("an agent rotates: %v", err)
	}
	short := "short"
	if _, err := s.a.UpdateChannel(s.ctx, s.admin, ch.ID, app.ChannelChange{AppSecret: &short}); parley.ErrorCode(err) != parley.EInvalid {
		t.Fatalf("a short secret: %v", err)
	}
	v, err := s.a.UpdateChannel(s.ctx, s.admin, ch.ID, app.ChannelChange{AccessToken: &tok, AppSecret: &secret, VerifyToken: &verify})
	if err != nil {
		t.Fatal(err)
	}
	if v.AccessToken != "…4242" || v.AppSecret != "…-000" || v.VerifyToken != "…oken" || v.Name != ch.Name {
		t.Fatalf("view %+v", v)
	}
	// Sealed in the store, like on connect.
	if err := db.View(s.ctx, func(tx parley.Tx) error {
		row, err := tx.Channel(ch.ID)
		if err != nil {
			return err
		}
		for _, v := range []string{row.AccessToken, row.AppSecret, row.VerifyToken} {
			if !strings.HasPrefix(v, "aesgcm1:") || strings.Contains(v, "rotated") || strings.Contains(v, "new-") {
				t.Errorf("stored secret %q is not sealed", v)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The old app secret no longer signs webhooks; the new one does. The
	// handshake takes the new verify token; sends carry the new token.
	body := fixture(t, "messenger", "text.json")
	if _, err := s.a.ChannelWebhook(s.ctx, ch.ID, body, channel.Sign(appSecret, body)); parley.ErrorCode(err) != parley.EUnauthorized {
		t.Fatalf("old secret: %v", err)
	}
	if _, err := s.a.ChannelWebhook(s.ctx, ch.ID, body, channel.Sign(secret, body)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.VerifyChannelWebhook(s.ctx, ch.ID, "subscribe", "verify-me-please", "c1"); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("old verify token: %v", err)
	}
	if c, err := s.a.VerifyChannelWebhook(s.ctx, ch.ID, "subscribe", verify, "c1"); err != nil || c != "c1" {
		t.Fatalf("new verify token: %q %v", c, err)
	}
	s.clock.Set(time.UnixMilli(1700000000000).Add(time.Minute))
	if _, err := s.reply(agent, s.onlyConversation(), "Yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if calls := g.calls(); len(calls) != 1 || calls[0].Auth != "Bearer "+tok {
		t.Fatalf("send with the new token: %+v", calls)
	}
	// Audited with the fields' names, never their values.
	rows, _, err := s.a.AuditLog(s.ctx, app.AuditQuery{Action: app.AuditChannelUpdate})
	if err != nil || len(rows) != 1 || rows[0].Details["changed"] != "access_token,app_secret,verify_token" || rows[0].TargetID != ch.ID {
		t.Fatalf("audit %+v %v", rows, err)
	}
	for _, v := range rows[0].Details {
		if strings.Contains(v, "rotated") || strings.Contains(v, "new-") {
			t.Fatalf("a secret in the audit log: %+v", rows[0].Details)
		}
	}
}
