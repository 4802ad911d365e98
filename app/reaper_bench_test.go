package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// BenchmarkReap measures the reaper's purge rate: b.N expired text
// messages (each with a reaction) spread over 100 direct conversations,
// purged in batches of ReapBatch with their events. Setup writes the
// rows straight to the store, outside the timer.
func BenchmarkReap(b *testing.B) {
	c := newChatB(b)
	convs := []string{c.conv}
	for i := 1; i < 100; i++ {
		u := c.register(fmt.Sprintf("peer%03d", i))
		v, _, err := c.a.CreateDirect(c.ctx, c.ann, u.User.Handle)
		if err != nil {
			b.Fatal(err)
		}
		convs = append(convs, v.ID)
	}
	sent := c.clock.Now()
	expires := sent.Add(5 * time.Minute)
	for done := 0; done < b.N; {
		n := min(2000, b.N-done)
		if err := c.db.Update(c.ctx, func(tx parley.Tx) error {
			for i := 0; i < n; i++ {
				conv := convs[(done+i)%len(convs)]
				seq, err := tx.AllocSeq(conv, sent)
				if err != nil {
					return err
				}
				m := &parley.Message{ID: fmt.Sprintf("m%09d", done+i), ConversationID: conv, Seq: seq, SenderID: c.ann.User.ID,
					Kind: parley.MessageText, Text: "a disappearing message of ordinary length, about sixty bytes", CreatedAt: sent, ExpiresAt: &expires}
				if err := tx.CreateMessage(m); err != nil {
					return err
				}
				if _, err := tx.SetReaction(&parley.Reaction{MessageID: m.ID, UserID: c.bob.User.ID, Emoji: "👍", CreatedAt: sent}, true); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	c.clock.Advance(time.Hour)
	b.ResetTimer()
	start := time.Now()
	st, err := c.a.Reap(c.ctx)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if st.Purged != b.N {
		b.Fatalf("purged %d of %d", st.Purged, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}
