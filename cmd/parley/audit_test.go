package main

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyhq/parley/app"
	_ "modernc.org/sqlite"
)

// TestAuditCommands: the operators' commands land in the audit log as the
// operator's; audit list filters and pages, export prints JSON lines, and
// verify passes until a row is changed in the database file, then names it.
func TestAuditCommands(t *testing.T) {
	c := newCLI(t)
	if code, _, errs := c.run("", "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	c.ok(nil, "", "user", "create", "alice")
	c.ok(nil, "", "business", "create", "shop")
	c.ok(nil, "", "business", "add-member", "shop", "alice")
	c.ok(nil, "", "token", "create", "alice", "--scopes", "read")
	c.ok(nil, "", "user", "suspend", "alice")

	var page struct {
		Items      []app.AuditRecordView
		NextCursor int64 `json:"next_cursor"`
	}
	c.ok(&page, "", "audit", "list")
	var got []string
	for _, r := range page.Items {
		got = append(got, r.Action+"/"+r.ActorID+"/"+r.UserAgent)
	}
	want := []string{"user.create/operator/parley user create", "user.create/operator/parley business create",
		"business.member_put/operator/parley business add-member", "token.create/operator/parley token create",
		"user.suspend/operator/parley user suspend"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("audit list:\n got %v\nwant %v", got, want)
	}
	c.ok(&page, "", "audit", "list", "--limit", "2", "--after", "1")
	if len(page.Items) != 2 || page.Items[0].Seq != 2 || page.NextCursor != 3 {
		t.Fatalf("second page: %+v", page)
	}
	c.ok(&page, "", "audit", "list", "--action", "user.create", "--since", "1h")
	if len(page.Items) != 2 {
		t.Fatalf("user.create in the last hour: %+v", page)
	}
	c.ok(&page, "", "audit", "list", "--actor", "alice")
	if len(page.Items) != 0 {
		t.Fatalf("alice did nothing herself: %+v", page)
	}
	c.fails(exitUsage, "usage", "", "audit", "list", "--since", "yesterday")

	code, out, errs := c.run("", "audit", "export")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 5 {
		t.Fatalf("export: exit %d, %d lines: %s %s", code, len(lines), out, errs)
	}
	var last app.AuditRecordView
	if err := json.Unmarshal([]byte(lines[4]), &last); err != nil || last.Seq != 5 || len(last.Hash) != 64 {
		t.Fatalf("last line %q: %v", lines[4], err)
	}

	if code, out, errs := c.run("", "audit", "verify"); code != 0 || !strings.Contains(out, "5 rows, head "+last.Hash) {
		t.Fatalf("verify: exit %d: %s %s", code, out, errs)
	}

	// Someone with the database file rewrites row 2 (the triggers stop
	// accidents, not an attacker with the file).
	db, err := sql.Open("sqlite", filepath.Join(c.dir, "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_log SET details = '{}' WHERE seq = 2`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update of the audit log: %v", err)
	}
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET details = '{"handle":"bob"}' WHERE seq = 2`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	code, out, errs = c.run("", "audit", "verify")
	if code != exitFailed || !strings.Contains(errs, "broken at row 2") || !strings.Contains(errs, "altered") {
		t.Fatalf("verify after tampering: exit %d: %s %s", code, out, errs)
	}
}
