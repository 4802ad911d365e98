//go:build unix

package loadkit

import (
	"strings"
	"testing"
)

// TestRaiseFileLimit: from a lowered soft limit, RaiseFileLimit lifts it
// to the hard one when that covers what is wanted, leaves it alone when
// the soft one already does, and says what to lower when the hard one
// does not.
func TestRaiseFileLimit(t *testing.T) {
	soft, hard, err := FileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if hard < 256 {
		t.Skipf("hard open file limit %d is too low to lower", hard)
	}
	t.Cleanup(func() { SetFileLimit(soft) })
	if err := SetFileLimit(128); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := FileLimit(); s != 128 {
		t.Fatalf("soft limit %d after SetFileLimit(128)", s)
	}
	if err := RaiseFileLimit(100, "lower n"); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := FileLimit(); s != 128 {
		t.Fatalf("soft limit %d: raised though 128 covered 100", s)
	}
	if err := RaiseFileLimit(200, "lower n"); err != nil {
		t.Fatal(err)
	}
	// The hard limit where the system honours it (macOS caps an
	// unlimited one at kern.maxfilesperproc).
	if s, h, _ := FileLimit(); s < 200 || s > h || h != hard {
		t.Fatalf("soft / hard limit %d / %d after raising 200, hard was %d", s, h, hard)
	}
	if err := RaiseFileLimit(hard+1, "lower n"); err == nil || !strings.Contains(err.Error(), "lower n") {
		t.Fatalf("above the hard limit: %v, want an error with the hint", err)
	}
	if err := SetFileLimit(hard + 1000); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := FileLimit(); s > hard || s < 200 {
		t.Fatalf("SetFileLimit above the hard limit left the soft one at %d (hard %d)", s, hard)
	}
}
