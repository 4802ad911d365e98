package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/loadkit"

	"github.com/coder/websocket"
)

// shapeSpec is a parsed -shape.
type shapeSpec struct {
	kind  string // pairs, group, inbox
	group int    // members per group (kind group)
}

func parseShape(s string, users int) (shapeSpec, error) {
	switch {
	case s == "pairs":
		if users < 2 {
			return shapeSpec{}, errors.New("shape pairs needs at least 2 users")
		}
		return shapeSpec{kind: "pairs"}, nil
	case s == "biggroup":
		if users < 2 {
			return shapeSpec{}, errors.New("shape biggroup needs at least 2 users")
		}
		return shapeSpec{kind: "group", group: users}, nil
	case s == "inbox":
		if users < 2 {
			return shapeSpec{}, errors.New("shape inbox needs at least 2 users (one business, one customer)")
		}
		return shapeSpec{kind: "inbox"}, nil
	case strings.HasPrefix(s, "group:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "group:"))
		if err != nil || n < 2 {
			return shapeSpec{}, fmt.Errorf("shape %q: want group:N with N ≥ 2", s)
		}
		if users < n {
			return shapeSpec{}, fmt.Errorf("shape %q needs at least %d users", s, n)
		}
		return shapeSpec{kind: "group", group: n}, nil
	}
	return shapeSpec{}, fmt.Errorf("unknown shape %q (want pairs, group:N, biggroup or inbox)", s)
}

// loadUser is a registered user; its token opens all its devices.
type loadUser struct {
	handle string
	token  string
	// conn is its first device's stream, for -via ws: replaced when the
	// stream resumes after the server closed it.
	conn *atomic.Pointer[devConn]
}

// devConn is one connection of a device's stream; dead is closed when it
// ended (sends waiting for an answer on it give up).
type devConn struct {
	conn *websocket.Conn
	dead chan struct{}
}

// streamHello is a stream's first frame.
type streamHello struct {
	Type    string `json:"type"`
	Next    int64  `json:"next"`
	Limited bool   `json:"limited"`
}

// loadConv is a conversation and its members (user indexes).
type loadConv struct {
	id      string
	members []int
	slot    map[int]int // user index → position in members
	url     string      // of its messages
}

// setupConversations makes the follows and conversations of the shape.
func setupConversations(ctx context.Context, lc *loadClient, shape shapeSpec, users []loadUser, workers int, logf func(string, ...any)) ([]*loadConv, error) {
	var convs []*loadConv
	newConv := func(members []int) *loadConv {
		c := &loadConv{members: members, slot: map[int]int{}}
		for i, u := range members {
			c.slot[u] = i
		}
		return c
	}
	follow := func(from, to int) error {
		return lc.as(users[from].token).Follow(ctx, users[to].handle)
	}
	direct := func(c *loadConv) error {
		a, b := c.members[0], c.members[1]
		v, err := lc.as(users[a].token).StartDirect(ctx, users[b].handle)
		if err != nil {
			return fmt.Errorf("direct conversation %s → %s: %w", users[a].handle, users[b].handle, err)
		}
		c.id = v.ID
		return nil
	}
	switch shape.kind {
	case "pairs":
		for i := 0; i+1 < len(users); i += 2 {
			convs = append(convs, newConv([]int{i, i + 1}))
		}
		logf("setting up %d pairs (mutual follows, direct conversations)", len(convs))
		return convs, loadkit.Parallel(ctx, workers, len(convs), func(i int) error {
			c := convs[i]
			a, b := c.members[0], c.members[1]
			if err := follow(a, b); err != nil {
				return err
			}
			if err := follow(b, a); err != nil { // so that a's conversation lands in b's inbox
				return err
			}
			return direct(c)
		})
	case "inbox":
		for i := 1; i < len(users); i++ {
			convs = append(convs, newConv([]int{i, 0})) // the customer starts it
		}
		logf("setting up an inbox: business %s, %d customers", users[0].handle, len(convs))
		return convs, loadkit.Parallel(ctx, workers, len(convs), func(i int) error { return direct(convs[i]) })
	}
	// Groups of shape.group members; a remainder of one joins the last group.
	for i := 0; i < len(users); i += shape.group {
		members := make([]int, 0, shape.group)
		for u := i; u < min(i+shape.group, len(users)); u++ {
			members = append(members, u)
		}
		if len(members) == 1 && len(convs) > 0 {
			last := convs[len(convs)-1]
			last.slot[members[0]] = len(last.members)
			last.members = append(last.members, members[0])
			continue
		}
		convs = append(convs, newConv(members))
	}
	logf("setting up %d groups of about %d (members follow the owner, then are added)", len(convs), shape.group)
	// Members follow their group's owner, so that adds join at once.
	type edge struct{ from, to int }
	var follows []edge
	for _, c := range convs {
		for _, u := range c.members[1:] {
			follows = append(follows, edge{u, c.members[0]})
		}
	}
	if err := loadkit.Parallel(ctx, workers, len(follows), func(i int) error { return follow(follows[i].from, follows[i].to) }); err != nil {
		return nil, err
	}
	return convs, loadkit.Parallel(ctx, workers, len(convs), func(i int) error {
		c := convs[i]
		owner := lc.as(users[c.members[0]].token)
		handles := make([]string, 0, len(c.members)-1)
		for _, u := range c.members[1:] {
			handles = append(handles, users[u].handle)
		}
		check := func(rs []client.AddResult) error {
			for _, r := range rs {
				if r.Result != "added" {
					return fmt.Errorf("adding %s to a group: %s %s", r.Handle, r.Result, r.Code)
				}
			}
			return nil
		}
		const perRequest = 200 // the server's limit of handles per add
		first := handles[:min(perRequest, len(handles))]
		v, err := owner.CreateGroup(ctx, client.GroupRequest{Title: "load test", Members: first})
		if err != nil {
			return fmt.Errorf("create group: %w", err)
		}
		if err := check(v.Added); err != nil {
			return err
		}
		c.id = v.ID
		for rest := handles[len(first):]; len(rest) > 0; {
			chunk := rest[:min(perRequest, len(rest))]
			rest = rest[len(chunk):]
			rs, err := owner.AddMembers(ctx, c.id, chunk...)
			if err != nil {
				return fmt.Errorf("add group members: %w", err)
			}
			if err := check(rs); err != nil {
				return err
			}
		}
		return nil
	})
}

// loadClient makes the API calls: the setup through package client (so
// that the load generator exercises it), the measured sends by hand (one
// attempt, a body built once, no retry and no decoding: what is timed is
// the server).
type loadClient struct {
	base string // …/api/v1
	http *http.Client
	api  *client.Client // anonymous; as gives one per token
}

func newLoadClient(base string, hc *http.Client) *loadClient {
	api := client.New(base, "")
	// The same connections; a server that stops answering fails the
	// setup instead of hanging it.
	api.HTTP = &http.Client{Transport: hc.Transport, Timeout: time.Minute}
	api.UserAgent = "parley load"
	return &loadClient{base: base + "/api/v1", http: hc, api: api}
}

// as returns the API client acting with token.
func (lc *loadClient) as(token string) *client.Client { return lc.api.WithToken(token) }

// apiError is a non-success answer; code is the problem's code.
type apiError struct {
	status int
	code   string
	detail string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("status %d %s: %s", e.status, e.code, e.detail)
}

func problem(status int, body []byte) *apiError {
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(body, &p)
	if p.Code == "" {
		p.Code = "http_" + strconv.Itoa(status)
	}
	return &apiError{status: status, code: p.Code, detail: p.Detail}
}

// send posts one message; on failure code names it: the problem's code,
// "timeout", or "transport".
func (lc *loadClient) send(ctx context.Context, path, token, clientID, text string) (string, error) {
	body, _ := json.Marshal(map[string]string{"client_id": clientID, "text": text})
	req, err := http.NewRequestWithContext(ctx, "POST", lc.base+path, bytes.NewReader(body))
	if err != nil {
		return "transport", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := lc.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "timeout", err
		}
		return "transport", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "transport", err
	}
	if resp.StatusCode != http.StatusCreated {
		p := problem(resp.StatusCode, b)
		if resp.StatusCode == http.StatusOK {
			p.code = "repeated_client_id"
		}
		return p.code, p
	}
	return "", nil
}

// dialStream opens a device stream and waits for its hello.
func dialStream(ctx context.Context, wsURL, token string) (*websocket.Conn, streamHello, error) {
	var h streamHello
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		return nil, h, err
	}
	conn.SetReadLimit(1 << 20)
	_, hello, err := conn.Read(dctx)
	if err != nil {
		conn.CloseNow()
		return nil, h, fmt.Errorf("waiting for hello: %w", err)
	}
	if json.Unmarshal(hello, &h) != nil || h.Type != "hello" {
		conn.CloseNow()
		return nil, h, fmt.Errorf("first frame %.200s, want hello", hello)
	}
	return conn, h, nil
}
