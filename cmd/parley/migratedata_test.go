package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
)

// TestMigrateData moves an installation that served real traffic from
// SQLite to PostgreSQL and serves it again from there: accounts sign in,
// conversations keep their messages and sequence numbers, a device's sync
// position stays valid (new changes come after it), and the audit log
// verifies.
func TestMigrateData(t *testing.T) {
	dsn := pgtest.DSN(t) // skips (loudly) without PostgreSQL
	c := newCLI(t)
	url, stop := c.startServe()
	register := func(h string) string {
		code, r := post(t, url+"/api/v1/accounts", "", map[string]string{"handle": h, "password": "correct horse battery", "display_name": h})
		if code != http.StatusCreated {
			t.Fatalf("register %s: %d %v", h, code, r)
		}
		return r["token"].(string)
	}
	alice, bob := register("alice"), register("bob")
	put := func(token, path string) {
		req, _ := http.NewRequest("PUT", url+path, nil)
		if code, r := do(t, req, token); code >= 300 {
			t.Fatalf("PUT %s: %d %v", path, code, r)
		}
	}
	put(alice, "/api/v1/users/bob/follow")
	put(bob, "/api/v1/users/alice/follow")
	code, conv := post(t, url+"/api/v1/conversations", alice, map[string]string{"kind": "direct", "with": "bob"})
	if code >= 300 {
		t.Fatalf("direct: %d %v", code, conv)
	}
	convURL := url + "/api/v1/conversations/" + conv["id"].(string)
	for i := range 5 {
		if code, m := post(t, convURL+"/messages", alice, map[string]string{"text": fmt.Sprint("hello ", i), "client_id": fmt.Sprint("c", i)}); code != http.StatusCreated {
			t.Fatalf("send: %d %v", code, m)
		}
	}
	_, m := post(t, convURL+"/messages", bob, map[string]string{"text": "hi alice"})
	put(alice, "/api/v1/conversations/"+conv["id"].(string)+"/messages/"+m["id"].(string)+"/reactions/👍")
	// A sign-in writes an audit row, so the chain has something to verify.
	if code, r := post(t, url+"/api/v1/sessions", "", map[string]string{"handle": "bob", "password": "correct horse battery"}); code != http.StatusCreated {
		t.Fatalf("login: %d %v", code, r)
	}
	_, page := get(t, url+"/api/v1/sync?since=now", bob)
	since := int64(page["next"].(float64))
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Progress at every check (every 1,024 rows and each table's last).
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 0
	code, out, errs := c.run("", "migrate-data", "--from", "sqlite:"+filepath.Join(c.dir, "parley.db"), "--to", dsn)
	if code != 0 {
		t.Fatalf("migrate-data: %d\n%s\n%s", code, out, errs)
	}
	t.Log(out)
	for _, want := range []string{"users", "messages", "reactions", "chain verified", "tables analyzed", "every chain verified",
		"rows copied (100 %)", "1 of 1 conversations verified (100 %)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report does not mention %q:\n%s", want, out)
		}
	}
	// The planner knows the copied rows: the messages table's estimate
	// (pg_class.reltuples, written by ANALYZE in its own transaction;
	// -1 until a table is first analyzed) counts them.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tuples float64
	if err := db.QueryRow(`SELECT reltuples FROM pg_class WHERE oid = 'messages'::regclass`).Scan(&tuples); err != nil {
		t.Fatal(err)
	}
	if tuples < 1 {
		t.Errorf("messages: %v rows estimated after migrate-data", tuples)
	}
	// A chain entry altered in PostgreSQL is found and named (then put back).
	var tconv string
	var tidx int64
	var thash []byte
	if err := db.QueryRow(`SELECT conversation_id, idx, hash FROM chain_entries ORDER BY conversation_id, idx OFFSET 1 LIMIT 1`).Scan(&tconv, &tidx, &thash); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte{}, thash...)
	bad[0] ^= 1
	if _, err := db.Exec(`UPDATE chain_entries SET hash = $1 WHERE conversation_id = $2 AND idx = $3`, bad, tconv, tidx); err != nil {
		t.Fatal(err)
	}
	{
		ctx := context.Background()
		pc, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		pst, err := postgres.Open(dsn, postgres.Options{NoMigrate: true})
		if err != nil {
			t.Fatal(err)
		}
		_, _, verr := verifyChains(ctx, pc, pst, io.Discard)
		pst.Close()
		pc.Close(ctx)
		if verr == nil || !strings.Contains(verr.Error(), fmt.Sprintf("conversation %s breaks at entry %d", tconv, tidx)) &&
			!strings.Contains(verr.Error(), fmt.Sprintf("conversation %s breaks at entry %d", tconv, tidx+1)) {
			t.Errorf("a tampered entry %s/%d: %v", tconv, tidx, verr)
		}
	}
	if _, err := db.Exec(`UPDATE chain_entries SET hash = $1 WHERE conversation_id = $2 AND idx = $3`, thash, tconv, tidx); err != nil {
		t.Fatal(err)
	}
	// A second run refuses: the target is no longer empty.
	if code, _, _ := c.run("", "migrate-data", "--from", "sqlite:"+filepath.Join(c.dir, "parley.db"), "--to", dsn); code == 0 {
		t.Error("migrate-data into a database that holds data succeeded")
	}

	pg := newCLI(t)
	pg.extra = map[string]string{"PARLEY_DATABASE_URL": dsn}
	url, _ = pg.startServe()
	code, login := post(t, url+"/api/v1/sessions", "", map[string]string{"handle": "alice", "password": "correct horse battery"})
	if code != http.StatusCreated {
		t.Fatalf("login on PostgreSQL: %d %v", code, login)
	}
	convURL = url + "/api/v1/conversations/" + conv["id"].(string)
	_, msgs := get(t, convURL+"/messages", alice)
	if items := msgs["items"].([]any); len(items) != 6 {
		t.Fatalf("%d messages after the move, want 6", len(items))
	}
	code, next := post(t, convURL+"/messages", alice, map[string]string{"text": "from PostgreSQL", "client_id": "c0"})
	if code != http.StatusOK || next["text"] != "hello 0" {
		t.Errorf("the idempotency key did not survive: %d %v", code, next)
	}
	_, next = post(t, convURL+"/messages", alice, map[string]string{"text": "from PostgreSQL"})
	if next["seq"].(float64) != 7 {
		t.Errorf("seq %v after the move, want 7", next["seq"])
	}
	_, page = get(t, url+fmt.Sprintf("/api/v1/sync?since=%d", since), bob)
	evs := page["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["message"].(map[string]any)["text"] != "from PostgreSQL" {
		t.Errorf("bob's sync from his old position: %v", evs)
	}
}

// TestProgress: a long step says how far it is once per progressEvery,
// checking the clock every 1,024 items and at the last one.
func TestProgress(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	var b strings.Builder
	progressEvery = 0
	p := newProgress(&b, "messages", "rows copied", 3000)
	for range 3000 {
		p.add(1)
	}
	want := "  messages                     1024 of 3000 rows copied (34 %)\n" +
		"  messages                     2048 of 3000 rows copied (68 %)\n" +
		"  messages                     3000 of 3000 rows copied (100 %)\n"
	if b.String() != want {
		t.Errorf("progress:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	progressEvery = time.Hour
	p = newProgress(&b, "messages", "rows copied", 3000)
	for range 3000 {
		p.add(1)
	}
	if b.Len() != 0 {
		t.Errorf("a step within the first interval said %q", b.String())
	}
}
