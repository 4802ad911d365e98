package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/blob"
	"github.com/parleyhq/parley/channel"
	"github.com/parleyhq/parley/channel/instagram"
	"github.com/parleyhq/parley/channel/messenger"
	"github.com/parleyhq/parley/channel/whatsapp"
)

// graph is a local stand-in for the Graph API's send endpoints: it
// records every request and answers with what the test queued (success
// by default).
type graph struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	got []graphCall
	// answers are served first, then success.
	answers []graphAnswer
	// files are served to GET by path (the platforms' CDN, WhatsApp's
	// media endpoints); fails answers a path's next GETs with 500.
	files map[string][]byte
	fails map[string]int
	gets  []graphCall
}

type graphCall struct {
	Path, Auth string
	Body       map[string]any
}

type graphAnswer struct {
	status int
	body   string
}

func newGraph(t *testing.T) *graph {
	g := &graph{t: t, files: map[string][]byte{}, fails: map[string]int{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			g.get(w, r)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("graph: body is not JSON: %v", err)
		}
		g.mu.Lock()
		g.got = append(g.got, graphCall{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body})
		var a *graphAnswer
		if len(g.answers) > 0 {
			a = &g.answers[0]
			g.answers = g.answers[1:]
		}
		n := len(g.got)
		g.mu.Unlock()
		if a != nil {
			w.WriteHeader(a.status)
			_, _ = io.WriteString(w, a.body)
			return
		}
		if body["messaging_product"] == "whatsapp" {
			_, _ = io.WriteString(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.out`+string(rune('0'+n))+`"}]}`)
			return
		}
		_, _ = io.WriteString(w, `{"recipient_id":"x","message_id":"m_out`+string(rune('0'+n))+`"}`)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *graph) get(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.gets = append(g.gets, graphCall{Path: r.URL.Path, Auth: r.Header.Get("Authorization")})
	b, ok := g.files[r.URL.Path]
	fail := g.fails[r.URL.Path] > 0
	if fail {
		g.fails[r.URL.Path]--
	}
	g.mu.Unlock()
	switch {
	case fail:
		http.Error(w, "try later", http.StatusInternalServerError)
	case !ok:
		http.NotFound(w, r)
	default:
		_, _ = w.Write(b)
	}
}

func (g *graph) serve(path string, b []byte) {
	g.mu.Lock()
	g.files[path] = b
	g.mu.Unlock()
}

func (g *graph) getCalls() []graphCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]graphCall(nil), g.gets...)
}

func (g *graph) calls() []graphCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]graphCall(nil), g.got...)
}

func (g *graph) answer(status int, body string) {
	g.mu.Lock()
	g.answers = append(g.answers, graphAnswer{status, body})
	g.mu.Unlock()
}

// plainHTTP posts and gets with net/http: the app tests talk to their
// own loopback server (the server wires the SSRF-safe client instead).
type plainHTTP struct{}

var plainPoster plainHTTP

var _ channel.Getter = plainHTTP{}

func (plainHTTP) Post(ctx context.Context, url string, h http.Header, body []byte) (int, http.Header, []byte, error) {
	return plainDo(ctx, http.MethodPost, url, h, bytes.NewReader(body), channel.MaxAnswer)
}

func (plainHTTP) Get(ctx context.Context, url string, h http.Header, maxBody int64) (int, http.Header, []byte, error) {
	return plainDo(ctx, http.MethodGet, url, h, nil, maxBody+1)
}

func plainDo(ctx context.Context, method, url string, h http.Header, body io.Reader, max int64) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, nil, nil, err
	}
	if h != nil {
		req.Header = h
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, max))
	return resp.StatusCode, resp.Header, b, err
}

// channelShop is a shop whose app connects the three platforms to a
// local graph server, with an encryption key.
func channelShop(t *testing.T) (*shop, *graph) {
	s, g, _ := channelShopStore(t)
	return s, g
}

func channelShopStore(t *testing.T) (*shop, *graph, parley.Store) {
	t.Helper()
	g := newGraph(t)
	db := openStore(t)
	clock := &fakeClock{t: time.Date(2023, 11, 14, 22, 0, 0, 0, time.UTC)} // just after the fixtures' timestamps
	s := &shop{t: t, clock: clock, ctx: context.Background()}
	blobs, err := blob.OpenDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.a = app.New(db, app.Config{Password: cheap, EncryptionKey: bytes.Repeat([]byte{7}, 32)}, app.WithClock(clock.Now),
		app.WithBlobs(blobs), app.WithPublicURL("https://parley.example"),
		app.WithChannels(messenger.New(plainPoster, g.srv.URL, "v21.0"), instagram.New(plainPoster, g.srv.URL, "v21.0"),
			whatsapp.New(plainPoster, g.srv.URL, "v21.0")))
	s.biz = s.register("acme", "Acme Store", parley.KindBusiness)
	s.admin = s.actAs(s.biz, "acme")
	return s, g, db
}

// messengerThread is a shop with an online agent (ann) and a Messenger
// channel, one customer's conversation from the text fixture, and the
// clock a minute after the customer wrote (the reply window open).
func messengerThread(t *testing.T) (*shop, *graph, *app.ChannelView, *app.BusinessActor, string) {
	t.Helper()
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	ch := s.connect(parley.PlatformMessenger, pageID)
	s.hook(ch, fixture(t, "messenger", "text.json"))
	conv := s.onlyConversation()
	s.clock.Set(time.UnixMilli(1700000000000).Add(time.Minute))
	return s, g, ch, agent, conv
}

const (
	pageID    = "104857600000001"
	igID      = "17841400000000001"
	phoneID   = "106540352242922"
	appSecret = "app-secret-0123456789"
)

func (s *shop) connect(platform, account string) *app.ChannelView {
	s.t.Helper()
	v, err := s.a.ConnectChannel(s.ctx, s.admin, app.ChannelInput{Platform: platform, Name: "Acme " + platform, AccountID: account,
		AccessToken: "EAAB-access-token-" + platform, AppSecret: appSecret, VerifyToken: "verify-me-please"})
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

func fixture(t *testing.T, platform, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../channel/" + platform + "/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hook posts a body to the channel's webhook, signed.
func (s *shop) hook(ch *app.ChannelView, body []byte) int {
	s.t.Helper()
	n, err := s.a.ChannelWebhook(s.ctx, ch.ID, body, channel.Sign(appSecret, body))
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

// onlyConversation is the one conversation of the inbox.
func (s *shop) onlyConversation() string {
	s.t.Helper()
	page, err := s.a.Inbox(s.ctx, s.admin, app.InboxQuery{View: "all"})
	if err != nil {
		s.t.Fatal(err)
	}
	if len(page.Items) != 1 {
		s.t.Fatalf("%d conversations in the inbox, want 1", len(page.Items))
	}
	return page.Items[0].ConversationID
}

func (s *shop) bizHistory(conv string) []*app.MessageView {
	s.t.Helper()
	page, err := s.a.Messages(s.ctx, s.biz, conv, app.HistoryQuery{Limit: 100})
	if err != nil {
		s.t.Fatal(err)
	}
	return page.Items
}

func TestChannelsOnlyForAdminsOfTheBusiness(t *testing.T) {
	s, _, db := channelShopStore(t)
	ch := s.connect(parley.PlatformMessenger, pageID)
	// The secrets are sealed in the store.
	if err := db.View(s.ctx, func(tx parley.Tx) error {
		row, err := tx.Channel(ch.ID)
		if err != nil {
			return err
		}
		for _, v := range []string{row.AccessToken, row.AppSecret, row.VerifyToken} {
			if !strings.HasPrefix(v, "aesgcm1:") || strings.Contains(v, "EAAB") || strings.Contains(v, appSecret) || strings.Contains(v, "verify-me") {
				t.Errorf("stored secret %q is not sealed", v)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ch.AccessToken != "…ger" && !strings.HasPrefix(ch.AccessToken, "…") || strings.Contains(ch.AccessToken, "EAAB") ||
		ch.AppSecret != "…6789" || ch.VerifyToken != "…ease" || ch.WebhookPath != "/hooks/meta/"+ch.ID {
		t.Fatalf("view shows %+v", ch)
	}
	_, agent := s.agent("ann", "Ann", true)
	if _, err := s.a.Channels(s.ctx, agent); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("agent lists channels: %v", err)
	}
	if _, err := s.a.ConnectChannel(s.ctx, agent, app.ChannelInput{Platform: "instagram", AccountID: igID, AccessToken: "x123456789",
		AppSecret: appSecret, VerifyToken: "verify-me-please"}); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("agent connects: %v", err)
	}
	if err := s.a.DisconnectChannel(s.ctx, agent, ch.ID); parley.ErrorCode(err) != parley.EForbidden {
		t.Fatalf("agent disconnects: %v", err)
	}
	// The admin of another business does not see this one's channel.
	other := s.register("globex", "Globex", parley.KindBusiness)
	oba := s.actAs(other, "globex")
	if _, err := s.a.Channel(s.ctx, oba, ch.ID); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("another business reads the channel: %v", err)
	}
	if err := s.a.DisconnectChannel(s.ctx, oba, ch.ID); parley.ErrorCode(err) != parley.ENotFound {
		t.Fatalf("another business disconnects the channel: %v", err)
	}
	if list, _ := s.a.Channels(s.ctx, oba); len(list) != 0 {
		t.Fatalf("another business lists %v", list)
	}
	// One Page connects once.
	if _, err := s.a.ConnectChannel(s.ctx, oba, app.ChannelInput{Platform: "messenger", AccountID: pageID, AccessToken: "x123456789",
		AppSecret: appSecret, VerifyToken: "verify-me-please"}); parley.ErrorCode(err) != parley.EConflict {
		t.Fatalf("second connection of a page: %v", err)
	}
	for _, in := range []app.ChannelInput{
		{Platform: "telegram", AccountID: "1", AccessToken: "x123456789", AppSecret: appSecret, VerifyToken: "verify-me-please"},
		{Platform: "messenger", AccountID: "page/../x", AccessToken: "x123456789", AppSecret: appSecret, VerifyToken: "verify-me-please"},
		{Platform: "messenger", AccountID: "2", AccessToken: "short", AppSecret: appSecret, VerifyToken: "verify-me-please"},
		{Platform: "messenger", AccountID: "2", AccessToken: "x123456789", AppSecret: appSecret, VerifyToken: "v"},
	} {
		if _, err := s.a.ConnectChannel(s.ctx, s.admin, in); parley.ErrorCode(err) != parley.EInvalid {
			t.Fatalf("%+v: %v", in, err)
		}
	}
	if err := s.a.DisconnectChannel(s.ctx, s.admin, ch.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.a.Channels(s.ctx, s.admin); len(list) != 0 {
		t.Fatalf("after disconnecting: %v", list)
	}
}

func TestChannelWebhookSignatureAndHandshake(t *testing.T) {
	s, _ := channelShop(t)
	ch := s.connect(parley.PlatformMessenger, pageID)
	body := fixture(t, "messenger", "text.json")
	for name, sig := range map[string]string{
		"missing":      "",
		"wrong secret": channel.Sign("another-secret", body),
		"altered body": channel.Sign(appSecret, append([]byte(" "), body...)),
		"garbage":      "sha256=not-hex",
	} {
		if _, err := s.a.ChannelWebhook(s.ctx, ch.ID, body, sig); parley.ErrorCode(err) != parley.EUnauthorized {
			t.Errorf("%s signature: %v", name, err)
		}
	}
	if _, err := s.a.ChannelWebhook(s.ctx, "no-such-channel", body, channel.Sign(appSecret, body)); parley.ErrorCode(err) != parley.EUnauthorized {
		t.Errorf("unknown channel: %v", err)
	}
	page, _ := s.a.Inbox(s.ctx, s.admin, app.InboxQuery{View: "all"})
	if len(page.Items) != 0 {
		t.Fatal("an unsigned call reached the inbox")
	}
	if got, err := s.a.VerifyChannelWebhook(s.ctx, ch.ID, "subscribe", "verify-me-please", "1158201444"); err != nil || got != "1158201444" {
		t.Fatalf("handshake: %q %v", got, err)
	}
	for _, tc := range [][2]string{{"subscribe", "wrong-token"}, {"unsubscribe", "verify-me-please"}, {"subscribe", ""}} {
		if _, err := s.a.VerifyChannelWebhook(s.ctx, ch.ID, tc[0], tc[1], "1158201444"); parley.ErrorCode(err) != parley.EForbidden {
			t.Errorf("handshake %v: %v", tc, err)
		}
	}
	if s.hook(ch, body) != 1 {
		t.Fatal("the signed call was not applied")
	}
}

func TestChannelInboundIntoTheInbox(t *testing.T) {
	s, _ := channelShop(t)
	ann, _ := s.agent("ann", "Ann", true)
	s.settings(func(st *app.BusinessSettings) { st.AutoAssign = app.AssignRoundRobin })
	ch := s.connect(parley.PlatformMessenger, pageID)
	if n := s.hook(ch, fixture(t, "messenger", "text.json")); n != 1 {
		t.Fatalf("applied %d", n)
	}
	// A replay of the same call changes nothing.
	if n := s.hook(ch, fixture(t, "messenger", "text.json")); n != 0 {
		t.Fatalf("replay applied %d", n)
	}
	conv := s.onlyConversation()
	it := s.item(conv)
	if it.Status != "open" || it.Assignee == nil || it.Assignee.ID != ann.User.ID || it.Contact.Channel != "messenger" {
		t.Fatalf("inbox item %+v", it)
	}
	ms := s.bizHistory(conv)
	if len(ms) != 1 || ms[0].Text != "Hello, is my order shipped?" || ms[0].Sender.Kind != "external" {
		t.Fatalf("history %+v", ms)
	}
	// The mixed body lists the photo before the text it follows: the
	// platform's timestamps order them.
	s.hook(ch, fixture(t, "messenger", "mixed.json"))
	s.hook(ch, fixture(t, "messenger", "mixed.json"))
	ms = s.bizHistory(conv)
	var texts []string
	for _, m := range ms {
		texts = append(texts, m.Text)
	}
	// The photo is an image message whose file is being fetched
	// (channel_media_test.go follows the fetch).
	want := []string{"Hello, is my order shipped?", "Here is a photo of the damaged box", "", "Talk to a person"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Fatalf("history\n got %q\nwant %q", texts, want)
	}
	if ms[2].Kind != "image" || ms[2].Channel == nil || len(ms[2].Channel.Attachments) != 1 || ms[2].Channel.Attachments[0].Status != "fetching" {
		t.Fatalf("the photo: %+v", ms[2])
	}
	if ms[1].EditedAt == nil || ms[1].ReplyTo == nil || ms[1].ReplyTo.ID != ms[0].ID || len(ms[1].Reactions) != 1 || ms[1].Reactions[0].Emoji != "❤️" {
		t.Fatalf("edit, reply and reaction: %+v", ms[1])
	}
	if ms[3].QuickReply != "HUMAN" {
		t.Fatalf("postback payload: %+v", ms[3])
	}
	d, err := s.a.InboxConversation(s.ctx, s.admin, conv)
	if err != nil {
		t.Fatal(err)
	}
	if d.Contact == nil || d.Contact.Attributes["messenger_id"] != "6000000000000001" || d.Contact.Attributes["referral_ref"] != "spring-sale" {
		t.Fatalf("contact %+v", d.Contact)
	}
}

func TestChannelUnsendAndStoryMention(t *testing.T) {
	s, _ := channelShop(t)
	ch := s.connect(parley.PlatformInstagram, igID)
	s.hook(ch, fixture(t, "instagram", "story_mention.json"))
	conv := s.onlyConversation()
	ms := s.bizHistory(conv)
	if len(ms) != 2 || !strings.HasPrefix(ms[0].Text, "Mentioned you in their story\n[story_mention] https://") {
		t.Fatalf("story mention: %+v", ms)
	}
	s.hook(ch, fixture(t, "instagram", "unsend.json"))
	ms = s.bizHistory(conv)
	if !ms[1].Deleted || ms[1].Text != "" {
		t.Fatalf("unsend: %+v", ms[1])
	}
}

func TestChannelWindowAndTags(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	_, botUser, bot := botShopOn(t, s)
	_ = botUser
	ch := s.connect(parley.PlatformMessenger, pageID)
	s.hook(ch, fixture(t, "messenger", "text.json")) // the person wrote at 1700000000 (2023-11-14T22:13:20Z)
	conv := s.onlyConversation()
	last := time.UnixMilli(1700000000000).UTC()

	s.clock.Set(last.Add(time.Hour))
	modes, err := s.a.SendModes(s.ctx, agent, conv)
	if err != nil {
		t.Fatal(err)
	}
	if modes.Channel == nil || modes.Channel.Platform != "messenger" || len(modes.Modes) != 7 || !modes.Modes[0].Open || !modes.Modes[1].Open {
		t.Fatalf("modes within the window: %+v", modes)
	}
	if _, err := s.reply(agent, conv, "Yes, it ships today"); err != nil {
		t.Fatal(err)
	}
	// Bots may answer within the window.
	if _, err := s.a.Handover(s.ctx, s.admin, conv, "bot", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.botSay(bot, conv, app.SendInput{Text: "Anything else?"}); err != nil {
		t.Fatal(err)
	}

	// 25 hours on: a bot may not, a person may with the HUMAN_AGENT tag.
	s.clock.Set(last.Add(25 * time.Hour))
	if _, err := s.botSay(bot, conv, app.SendInput{Text: "Still there?"}); parley.ErrorCode(err) != parley.EWindowClosed {
		t.Fatalf("bot after 24 h: %v", err)
	}
	modes, _ = s.a.SendModes(s.ctx, agent, conv)
	if modes.Modes[0].Open || !modes.Modes[1].Open || modes.Modes[1].Until == nil || !modes.Modes[1].Until.Equal(last.Add(7*24*time.Hour)) {
		t.Fatalf("modes after 25 h: %+v", modes)
	}
	if _, err := s.reply(agent, conv, "Sorry for the wait: it shipped"); err != nil {
		t.Fatal(err)
	}
	// 8 days on: nobody.
	s.clock.Set(last.Add(8 * 24 * time.Hour))
	if _, err := s.reply(agent, conv, "Hello again"); parley.ErrorCode(err) != parley.EWindowClosed {
		t.Fatalf("agent after 7 days: %v", err)
	}
	modes, _ = s.a.SendModes(s.ctx, agent, conv)
	if modes.Modes[0].Open || modes.Modes[1].Open || modes.Modes[1].Reason == "" {
		t.Fatalf("modes after 8 days: %+v", modes)
	}

	if n, err := s.a.ChannelSendTick(s.ctx); err != nil || n != 3 {
		t.Fatalf("tick: %d %v", n, err)
	}
	calls := g.calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls", len(calls))
	}
	for i, wantTag := range []string{"", "", "HUMAN_AGENT"} {
		c := calls[i]
		tag, _ := c.Body["tag"].(string)
		if c.Path != "/v21.0/"+pageID+"/messages" || c.Auth != "Bearer EAAB-access-token-messenger" || tag != wantTag ||
			c.Body["recipient"].(map[string]any)["id"] != "6000000000000001" {
			t.Fatalf("call %d: %+v", i, c)
		}
	}
	ms := s.bizHistory(conv)
	last3 := ms[len(ms)-1]
	if last3.Channel == nil || last3.Channel.Status != "sent" || last3.Channel.Mode != "human_agent" {
		t.Fatalf("delivery status: %+v", last3.Channel)
	}
}

// botShopOn adds a bot with a token to the shop.
func botShopOn(t *testing.T, s *shop) (*shop, *app.Actor, *app.BusinessActor) {
	if _, err := s.a.CreateBot(s.ctx, s.biz, app.BotInput{Handle: "acmebot", DisplayName: "Acme Assistant"}); err != nil {
		t.Fatal(err)
	}
	tok, err := s.a.CreateBotToken(s.ctx, s.biz, "acmebot", app.TokenInput{Name: "prod", Scopes: []string{"read", "business:write"}})
	if err != nil {
		t.Fatal(err)
	}
	actor, err := s.a.Authenticate(s.ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	return s, actor, s.actAs(actor, "acme")
}

func TestWhatsAppTemplatesOutsideTheWindow(t *testing.T) {
	s, g := channelShop(t)
	_, agent := s.agent("ann", "Ann", true)
	ch := s.connect(parley.PlatformWhatsApp, phoneID)
	s.hook(ch, fixture(t, "whatsapp", "messages.json"))
	conv := s.onlyConversation()
	if ms := s.bizHistory(conv); len(ms) != 3 || ms[0].Sender.DisplayName != "Sheena Nelson" || len(ms[0].Reactions) != 1 {
		t.Fatalf("history %+v", ms)
	}
	tp, err := s.a.SaveTemplate(s.ctx, s.admin, "", app.TemplateInput{Name: ptr("order_update"), Body: ptr("Your order has an update"), Status: ptr("approved")})
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Set(time.Unix(1700000050, 0).Add(30 * time.Hour))
	if _, err := s.reply(agent, conv, "Blue is back in stock"); parley.ErrorCode(err) != parley.EWindowClosed {
		t.Fatalf("free-form after 24 h: %v", err)
	}
	modes, _ := s.a.SendModes(s.ctx, agent, conv)
	if len(modes.Modes) != 2 || modes.Modes[0].Open || modes.Modes[1].Mode != "template" || !modes.Modes[1].Open {
		t.Fatalf("modes %+v", modes)
	}
	s.n++
	if _, _, err := s.a.BusinessSend(s.ctx, agent, conv, "", app.SendInput{ClientID: "tpl1", Template: tp.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.ChannelSendTick(s.ctx); err != nil {
		t.Fatal(err)
	}
	calls := g.calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	b := calls[0].Body
	tpl, _ := b["template"].(map[string]any)
	if calls[0].Path != "/v21.0/"+phoneID+"/messages" || b["messaging_product"] != "whatsapp" || b["type"] != "template" || b["to"] != "16505551234" ||
		tpl["name"] != "order_update" || tpl["language"].(map[string]any)["code"] != "en_US" {
		t.Fatalf("template call %+v", calls[0])
	}
	// The platform's statuses move the message to delivered, then read.
	ms := s.bizHistory(conv)
	sent := ms[len(ms)-1]
	if sent.Channel == nil || sent.Channel.Status != "sent" {
		t.Fatalf("sent: %+v", sent.Channel)
	}
	statuses := strings.ReplaceAll(string(fixture(t, "whatsapp", "statuses.json")), "MID_PLACEHOLDER", "wamid.out1")
	if n := s.hook(ch, []byte(statuses)); n != 2 {
		t.Fatalf("statuses applied %d", n)
	}
	ms = s.bizHistory(conv)
	if got := ms[len(ms)-1].Channel; got.Status != "read" {
		t.Fatalf("after statuses: %+v", got)
	}
	if n := s.hook(ch, []byte(statuses)); n != 0 {
		t.Fatalf("replayed statuses applied %d", n)
	}
}

func TestChannelRateLimitBackoffAndFailure(t *testing.T) {
	s, g, _, agent, conv := messengerThread(t)
	g.answer(400, `{"error":{"message":"Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613}}`)
	if _, err := s.reply(agent, conv, "One moment"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.a.ChannelSendTick(s.ctx); n != 1 {
		t.Fatalf("first tick tried %d", n)
	}
	ms := s.bizHistory(conv)
	if got := ms[len(ms)-1].Channel; got.Status != "queued" || !strings.Contains(got.Error, "rate limit") {
		t.Fatalf("after a rate limit: %+v", got)
	}
	// Not due again before the backoff has passed.
	s.clock.Advance(10 * time.Second)
	if n, _ := s.a.ChannelSendTick(s.ctx); n != 0 {
		t.Fatalf("retried after 10 s: %d", n)
	}
	s.clock.Advance(25 * time.Second)
	if n, _ := s.a.ChannelSendTick(s.ctx); n != 1 {
		t.Fatalf("not retried after the backoff: %d", n)
	}
	ms = s.bizHistory(conv)
	if got := ms[len(ms)-1].Channel; got.Status != "sent" || got.Error != "" {
		t.Fatalf("after the retry: %+v", got)
	}
	// A refusal is final and shown on the message.
	g.answer(400, `{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10}}`)
	if _, err := s.reply(agent, conv, "And another thing"); err != nil {
		t.Fatal(err)
	}
	s.a.ChannelSendTick(s.ctx)
	ms = s.bizHistory(conv)
	if got := ms[len(ms)-1].Channel; got.Status != "failed" || !strings.Contains(got.Error, "outside of allowed window") {
		t.Fatalf("after a refusal: %+v", got)
	}
	if len(g.calls()) != 3 {
		t.Fatalf("%d calls", len(g.calls()))
	}
}
