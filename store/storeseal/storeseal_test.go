package storeseal

import (
	"errors"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/sealed"
	"github.com/parleyhq/parley/sealed/sealedtest"
)

// TestColumnsBound: a sealed column opens only as the same column of the
// same message.
func TestColumnsBound(t *testing.T) {
	k := sealedtest.Ring(t)
	m := &parley.Message{ID: "m1", Text: "body text", Card: `{"u":1}`, Data: `{"d":2}`}
	c, err := SealMessage(k, m)
	if err != nil {
		t.Fatal(err)
	}
	got := &parley.Message{ID: "m1", Text: c.Body, Card: c.Card, Data: c.Data}
	if err := OpenMessage(k, got); err != nil || got.Text != m.Text || got.Card != m.Card || got.Data != m.Data {
		t.Fatalf("round trip %+v %v", got, err)
	}
	for name, bad := range map[string]*parley.Message{
		"another message": {ID: "m2", Text: c.Body},
		"body as card":    {ID: "m1", Card: c.Body},
		"card as data":    {ID: "m1", Data: c.Card},
	} {
		if err := OpenMessage(k, bad); !errors.Is(err, sealed.ErrOpen) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !Current(k, c.Body) || Current(k, "plain") || !Current(nil, "plain") || !Current(k, "") {
		t.Error("Current")
	}
}

// BenchmarkSealOpenMessage is the CPU cost encryption at rest adds to one
// message: its body sealed on write and opened on read (card and data
// empty, as for most messages).
func BenchmarkSealOpenMessage(b *testing.B) {
	k := sealedtest.Ring(b)
	m := &parley.Message{ID: "0190f3c2a1b2c3d4e5f60718293a4b5c", Text: "hello, this is a benchmark message of ordinary length"}
	for b.Loop() {
		c, err := SealMessage(k, m)
		if err != nil {
			b.Fatal(err)
		}
		r := &parley.Message{ID: m.ID, Text: c.Body}
		if err := OpenMessage(k, r); err != nil {
			b.Fatal(err)
		}
	}
}
