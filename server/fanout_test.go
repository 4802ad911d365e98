package server

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
)

// TestStreamGroupFanout: with the fan-out path on for small groups, a
// group's messages (pushed to caught-up devices) interleaved with direct
// messages to one member, reactions and a removal (which make devices
// fall back to sync) reach every device once, in order, and each
// device's stream equals what a sync from where it started returns.
func TestStreamGroupFanout(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.FanoutMin = 2 })
	owner, ben, cid, dan, eve := ts.register("owner", "person"), ts.register("ben", "person"), ts.register("cid", "person"),
		ts.register("dan", "person"), ts.register("eve", "person")
	for _, u := range []*user{ben, cid, eve} {
		must(t, u.do("PUT", "/api/v1/users/owner/follow", nil), http.StatusNoContent)
	}
	g := must(t, owner.do("POST", "/api/v1/conversations", map[string]any{"kind": "group", "title": "g", "members": []string{"ben", "cid", "eve"}}),
		http.StatusCreated).JSON()["id"].(string)
	must(t, ben.do("PUT", "/api/v1/users/dan/follow", nil), http.StatusNoContent)
	dm := dan.direct("ben")

	type device struct {
		who string
		c   *streamClient
	}
	devs := []device{{"owner", ts.dial(t, owner.Token, 0)}, {"ben", ts.dial(t, ben.Token, 0)},
		{"ben", ts.dial(t, ts.login(t, "ben", "phone"), 0)}, {"cid", ts.dial(t, cid.Token, 0)}}
	const n = 40
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		var first string
		for i := range n {
			m := owner.send(g, "g"+strconv.Itoa(i))
			if i == 0 {
				first = m["id"].(string)
			}
			switch i {
			case 10, 20:
				must(t, cid.do("PUT", "/api/v1/conversations/"+g+"/messages/"+first+"/reactions/"+[]string{"👍", "🎉"}[i/10-1], nil), http.StatusNoContent)
			case 25:
				must(t, owner.do("DELETE", "/api/v1/conversations/"+g+"/members/eve", nil), http.StatusNoContent)
			}
		}
		owner.send(g, "g-last")
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			dan.send(dm, "d"+strconv.Itoa(i))
		}
		dan.send(dm, "d-last")
	}()
	wg.Wait()

	for _, d := range devs {
		gotG, gotD := false, d.who != "ben"
		evs := d.c.until(func(e streamEvent) bool {
			gotG = gotG || e.text() == "g-last"
			gotD = gotD || e.text() == "d-last"
			return gotG && gotD
		})
		var stream []string
		var last int64
		for _, e := range evs {
			if e.Pos <= 0 {
				continue // position frames, presence
			}
			if e.Pos <= last {
				t.Fatalf("%s: position %d after %d", d.who, e.Pos, last)
			}
			last = e.Pos
			stream = append(stream, fmt.Sprintf("%d %s %s", e.Pos, e.Type, e.text()))
		}
		// The same range through sync.
		var synced []string
		for since := d.c.hello.Next; ; {
			r := must(t, ts.do(map[string]string{"owner": owner.Token, "ben": ben.Token, "cid": cid.Token}[d.who], "GET",
				"/api/v1/sync?since="+strconv.FormatInt(since, 10), nil), http.StatusOK)
			var page struct {
				Events []streamEvent `json:"events"`
				Next   int64         `json:"next"`
				More   bool          `json:"more"`
			}
			decodeInto(t, r.Body, &page)
			for _, e := range page.Events {
				if e.Pos <= last {
					synced = append(synced, fmt.Sprintf("%d %s %s", e.Pos, e.Type, e.text()))
				}
			}
			if !page.More {
				break
			}
			since = page.Next
		}
		if fmt.Sprint(stream) != fmt.Sprint(synced) {
			t.Fatalf("%s: the stream and sync differ\nstream %v\nsync   %v", d.who, stream, synced)
		}
	}
}
