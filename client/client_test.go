package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/server"
)

func TestAccountsAndTokens(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	alice := register(t, anon, "alice", "")
	register(t, anon, "bob", "")

	auth, err := anon.Login(ctx, client.LoginRequest{Handle: "alice", Password: "correct horse battery", Device: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	laptop := anon.WithToken(auth.Token)
	sessions, err := laptop.Sessions(ctx)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("sessions %+v %v", sessions, err)
	}
	bio := "Hi!"
	me, err := alice.UpdateMe(ctx, client.ProfileUpdate{Bio: &bio})
	if err != nil || me.Bio != "Hi!" || me.Handle != "alice" {
		t.Fatalf("update me %+v %v", me, err)
	}
	if err := alice.Follow(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	p, err := alice.User(ctx, "bob")
	if err != nil || !p.FollowedByMe || p.CanMessage == "" {
		t.Fatalf("profile %+v %v", p, err)
	}
	if err := alice.Block(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if blocks, err := alice.Blocks(ctx); err != nil || len(blocks) != 1 || blocks[0].Handle != "bob" {
		t.Fatalf("blocks %+v %v", blocks, err)
	}
	if err := alice.Unblock(ctx, "bob"); err != nil {
		t.Fatal(err)
	}

	// An API token may do what its scopes say, and no more.
	tok, err := alice.CreateToken(ctx, client.TokenRequest{Name: "script", Scopes: []string{client.ScopeRead}})
	if err != nil || tok.Token == "" {
		t.Fatalf("token %+v %v", tok, err)
	}
	script := anon.WithToken(tok.Token)
	if _, err := script.Me(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = script.StartDirect(ctx, "bob")
	if !errors.Is(err, client.ErrInsufficientScope) || client.AsError(err).Status != http.StatusForbidden {
		t.Fatalf("start with a read token: %v", err)
	}
	if toks, err := alice.Tokens(ctx); err != nil || len(toks) != 1 || toks[0].Token != "" {
		t.Fatalf("tokens %+v %v", toks, err)
	}
	if err := alice.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := script.Me(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("revoked token: %v", err)
	}

	if err := laptop.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := laptop.Me(ctx); !client.IsCode(err, client.CodeUnauthorized) {
		t.Fatalf("after logout: %v", err)
	}
}

func TestErrors(t *testing.T) {
	_, anon := start(t, func(c *server.Config) { c.App.LoginPerHandle = 1 })
	ctx := testContext(t)
	alice := register(t, anon, "alice", "")

	// 404, with a request id to quote.
	_, err := alice.Conversation(ctx, "no-such-conversation")
	e := client.AsError(err)
	if !errors.Is(err, client.ErrNotFound) || !client.IsNotFound(err) || e.Status != 404 || e.Title != "Not Found" || e.RequestID == "" {
		t.Fatalf("unknown conversation: %#v", err)
	}
	if errors.Is(err, client.ErrConflict) || errors.Is(err, &client.Error{Status: 403}) || !errors.Is(err, &client.Error{Status: 404}) {
		t.Fatalf("errors.Is matches the wrong targets: %v", err)
	}

	// 422 with the field at fault.
	_, err = anon.Register(ctx, client.RegisterRequest{Handle: "ab", Password: "correct horse battery"})
	if e := client.AsError(err); !errors.Is(err, client.ErrInvalid) || e.Status != 422 || e.Field != "handle" || e.Detail == "" {
		t.Fatalf("bad handle: %#v", err)
	}
	_, err = alice.Conversations(ctx, client.ConversationQuery{Limit: 500})
	if e := client.AsError(err); !client.IsCode(err, client.CodeInvalid) || e.Field != "limit" {
		t.Fatalf("a limit of 500: %#v", err)
	}

	// 429 with Retry-After: one login a minute per handle here.
	if _, err := anon.Login(ctx, client.LoginRequest{Handle: "alice", Password: "wrong password"}); !client.IsCode(err, client.CodeBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	_, err = anon.Login(ctx, client.LoginRequest{Handle: "alice", Password: "correct horse battery"})
	if e := client.AsError(err); !client.IsRateLimited(err) || e.Status != 429 || e.RetryAfter < time.Second {
		t.Fatalf("second login in a minute: %#v", err)
	}
	if !strings.Contains(err.Error(), "rate_limited") || !strings.Contains(err.Error(), "retry after") {
		t.Fatalf("error text %q", err)
	}
}

// lossy wraps a transport and spoils the answer to chosen requests after
// the server has processed them, as a network failure or a proxy's 503
// would.
type lossy struct {
	next  http.RoundTripper
	spoil func(*http.Request) string // "", "drop" or "503"
	count atomic.Int32
}

func (l *lossy) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	switch l.spoil(r) {
	case "drop":
		l.count.Add(1)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("connection reset by peer")
	case "503":
		l.count.Add(1)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return &http.Response{StatusCode: 503, Status: "503 Service Unavailable", Header: http.Header{"Content-Type": {"text/html"}},
			Body: io.NopCloser(strings.NewReader("<html>bad gateway</html>")), Request: r}, nil
	}
	return resp, nil
}

func TestSendRetriesWithTheSameClientID(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	alice := register(t, anon, "alice", "")
	bob := register(t, anon, "bob", "")
	if err := bob.Follow(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	conv, err := alice.StartDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"drop", "503"} {
		t.Run(mode, func(t *testing.T) {
			var spoiled atomic.Bool
			l := &lossy{next: http.DefaultTransport, spoil: func(r *http.Request) string {
				if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/messages") && spoiled.CompareAndSwap(false, true) {
					return mode
				}
				return ""
			}}
			flaky := alice.WithToken(alice.Token)
			flaky.HTTP = &http.Client{Transport: l}
			m, err := flaky.Send(ctx, conv.ID, client.SendRequest{Text: "once, " + mode})
			if err != nil {
				t.Fatal(err)
			}
			if l.count.Load() != 1 || m.ClientID == "" || m.Text != "once, "+mode {
				t.Fatalf("spoiled %d, message %+v", l.count.Load(), m)
			}
			// The server stored it once: the retry answered the original.
			page, err := bob.Messages(ctx, conv.ID, client.HistoryQuery{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, x := range page.Items {
				if x.Text == "once, "+mode {
					n++
					if x.ID != m.ID {
						t.Fatalf("stored %s, answered %s", x.ID, m.ID)
					}
				}
			}
			if n != 1 {
				t.Fatalf("stored %d times", n)
			}
		})
	}

	// Without retries the failure comes back, typed.
	l := &lossy{next: http.DefaultTransport, spoil: func(*http.Request) string { return "503" }}
	never := alice.WithToken(alice.Token)
	never.HTTP, never.MaxRetries = &http.Client{Transport: l}, -1
	_, err = never.Send(ctx, conv.ID, client.SendRequest{Text: "no retry"})
	if e := client.AsError(err); e == nil || e.Status != 503 || e.Code != "" || !strings.Contains(e.Detail, "bad gateway") || l.count.Load() != 1 {
		t.Fatalf("send through a failing proxy: %#v (%d tries)", err, l.count.Load())
	}

	// A repeated client_id answers the original message.
	first, err := alice.Send(ctx, conv.ID, client.SendRequest{ClientID: "fixed-1", Text: "first"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := alice.Send(ctx, conv.ID, client.SendRequest{ClientID: "fixed-1", Text: "second"})
	if err != nil || again.ID != first.ID || again.Text != "first" {
		t.Fatalf("repeat %+v %v", again, err)
	}
}

func TestConversationsAndHistory(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	alice := register(t, anon, "alice", "")
	bob := register(t, anon, "bob", "")
	conv, err := alice.StartDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 7; i++ {
		if i == 4 {
			// Bob does not follow Alice: her messages wait in his
			// requests until he accepts.
			reqs, err := bob.Conversations(ctx, client.ConversationQuery{Folder: "requests"})
			if err != nil || len(reqs.Items) != 1 || !reqs.Items[0].Request {
				t.Fatalf("requests %+v %v", reqs, err)
			}
			if c, err := bob.Accept(ctx, conv.ID); err != nil || c.Request || c.Folder != "inbox" {
				t.Fatalf("accept %+v %v", c, err)
			}
		}
		if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: fmt.Sprint("message ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Newest first page, then backward by cursor, ascending within pages.
	page, err := bob.Messages(ctx, conv.ID, client.HistoryQuery{Limit: 3})
	if err != nil || seqs(page.Items) != "5 6 7" || page.NextCursor == "" {
		t.Fatalf("newest page %s %q %v", seqs(page.Items), page.NextCursor, err)
	}
	page, err = bob.Messages(ctx, conv.ID, client.HistoryQuery{Cursor: page.NextCursor, Limit: 3})
	if err != nil || seqs(page.Items) != "2 3 4" {
		t.Fatalf("older page %s %v", seqs(page.Items), err)
	}
	page, err = bob.Messages(ctx, conv.ID, client.HistoryQuery{Forward: true, Limit: 2})
	if err != nil || seqs(page.Items) != "1 2" || page.NextCursor == "" {
		t.Fatalf("first page %s %v", seqs(page.Items), err)
	}
	page, err = bob.Messages(ctx, conv.ID, client.HistoryQuery{BeforeSeq: 3})
	if err != nil || seqs(page.Items) != "1 2" {
		t.Fatalf("before 3: %s %v", seqs(page.Items), err)
	}
	var all []client.Message
	for m, err := range bob.MessagesAfter(ctx, conv.ID, 2) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, *m)
	}
	if seqs(all) != "3 4 5 6 7" {
		t.Fatalf("after 2: %s", seqs(all))
	}

	// Edit, react, unsend, read.
	last := all[len(all)-1]
	if m, err := alice.Edit(ctx, conv.ID, last.ID, "message 7, edited"); err != nil || m.EditedAt == nil {
		t.Fatalf("edit %+v %v", m, err)
	}
	if edits, err := bob.Edits(ctx, conv.ID, last.ID); err != nil || len(edits) != 1 || edits[0].Text != "message 7" {
		t.Fatalf("edits %+v %v", edits, err)
	}
	if err := bob.React(ctx, conv.ID, last.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	page, err = alice.Messages(ctx, conv.ID, client.HistoryQuery{Limit: 1})
	if err != nil || len(page.Items[0].Reactions) != 1 || page.Items[0].Reactions[0].Emoji != "👍" {
		t.Fatalf("reactions %+v %v", page, err)
	}
	if err := bob.Unreact(ctx, conv.ID, last.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Unsend(ctx, conv.ID, last.ID); err != nil {
		t.Fatal(err)
	}
	if seq, err := bob.MarkRead(ctx, conv.ID, 7); err != nil || seq != 7 {
		t.Fatalf("read %d %v", seq, err)
	}
	if seq, err := bob.MarkDelivered(ctx, conv.ID, 6); err != nil || seq != 7 {
		t.Fatalf("delivered %d %v, want 7 (read implies delivered)", seq, err)
	}
	if err := bob.Typing(ctx, conv.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := bob.Typing(ctx, "no-such-conversation", false); !client.IsNotFound(err) {
		t.Fatalf("typing in a conversation bob is not in: %v", err)
	}

	// Folders, pins and mutes are Bob's own.
	if c, err := bob.Pin(ctx, conv.ID); err != nil || !c.Pinned {
		t.Fatalf("pin %+v %v", c, err)
	}
	if c, err := bob.Mute(ctx, conv.ID, client.Mute{DurationSeconds: 3600}); err != nil || c.MutedUntil == nil {
		t.Fatalf("mute %+v %v", c, err)
	}
	if c, err := bob.Archive(ctx, conv.ID); err != nil || c.Folder != "archived" {
		t.Fatalf("archive %+v %v", c, err)
	}
	got, err := bob.Conversation(ctx, conv.ID)
	if err != nil || got.Folder != "archived" || len(got.Members) != 2 || got.UnreadCount != 0 {
		t.Fatalf("conversation %+v %v", got, err)
	}

	// Groups.
	g, err := bob.CreateGroup(ctx, client.GroupRequest{Title: "Team", Members: []string{"alice", "nobody"}})
	if err != nil || g.Kind != "group" || len(g.Added) != 2 {
		t.Fatalf("group %+v %v", g, err)
	}
}

func TestMedia(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	alice := register(t, anon, "alice", "")
	bob := register(t, anon, "bob", "")
	if err := bob.Follow(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	conv, err := alice.StartDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	up, err := alice.Upload(ctx, "image", "dot.png", bytes.NewReader(buf.Bytes()))
	if err != nil || up.ContentType != "image/png" || up.Width != 40 || up.Sent {
		t.Fatalf("upload %+v %v", up, err)
	}
	m, err := alice.Send(ctx, conv.ID, client.SendRequest{Kind: "image", Attachments: []string{up.ID}, Text: "a dot"})
	if err != nil || len(m.Attachments) != 1 {
		t.Fatalf("send %+v %v", m, err)
	}
	d, err := bob.Download(ctx, up.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	got, _ := io.ReadAll(d.Body)
	if d.ContentType != "image/png" || len(got) == 0 {
		t.Fatalf("download %s, %d bytes", d.ContentType, len(got))
	}
	if th, err := bob.Thumbnail(ctx, up.ID); err != nil {
		t.Fatal(err)
	} else {
		th.Body.Close()
	}
	// Not a PNG, whatever its name says.
	if _, err := alice.Upload(ctx, "image", "cat.png", strings.NewReader("<html>hi</html>")); !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("html as an image: %v", err)
	}
	if _, err := anon.WithToken("prl_nope").Download(ctx, up.ID); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("download without a session: %v", err)
	}
}

func TestSync(t *testing.T) {
	_, anon := start(t)
	ctx := testContext(t)
	alice := register(t, anon, "alice", "")
	bob := register(t, anon, "bob", "")
	page, err := bob.Sync(ctx, client.SinceNow, 0)
	if err != nil || !page.Limited || page.Next <= 0 {
		t.Fatalf("a device that starts now: %+v %v", page, err)
	}
	if p, err := bob.Sync(ctx, 0, 0); err != nil || p.Limited || p.Next != page.Next {
		t.Fatalf("a new device from the beginning: %+v %v", p, err)
	}
	conv, err := alice.StartDirect(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	page, err = bob.Sync(ctx, page.Next, 0)
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("sync %+v %v", page, err)
	}
	e := page.Events[len(page.Events)-1]
	if e.Type != client.EventMessageCreated || e.Message == nil || e.Message.Text != "hello" || e.Pos > page.Next {
		t.Fatalf("event %+v", e)
	}
	// A long-poll answers as soon as something arrives.
	got := make(chan *client.SyncPage, 1)
	go func() {
		p, err := bob.Sync(ctx, page.Next, 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- p
	}()
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "are you there?"}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p == nil || len(p.Events) == 0 || p.Events[len(p.Events)-1].Message.Text != "are you there?" {
			t.Fatalf("long-poll %+v", p)
		}
	case <-ctx.Done():
		t.Fatal("the long-poll did not answer")
	}
	if _, err := bob.Sync(ctx, page.Next+1000000, 0); !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("since ahead of the server: %v", err)
	}
}

// seqs lists messages' seqs as "1 2 3".
func seqs(ms []client.Message) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = fmt.Sprint(m.Seq)
	}
	return strings.Join(s, " ")
}
