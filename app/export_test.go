package app

import (
	"context"

	"github.com/parleyhq/parley"
)

// DirectFramesFromStore is DirectFrames with no send's hand: every frame
// read from the store, as on a node that committed none of them.
func (a *App) DirectFramesFromStore(ctx context.Context, events []*parley.Event) (map[int64]map[string][]byte, error) {
	var out map[int64]map[string][]byte
	err := a.view(ctx, func(tx parley.Tx) error {
		var todo []*parley.Event
		for _, e := range events {
			if e.Type == parley.EventMessageCreated {
				todo = append(todo, e)
			}
		}
		var err error
		out, err = directFrames(tx, todo)
		return err
	})
	return out, err
}

// HandsHold reports how many of events carry a send's hand that
// DirectFrames would use now, and how many users those hands hold.
func (a *App) HandsHold(events []*parley.Event) (hands, users int) {
	ht := handsOf(nil, events, a.frameWrites.Load())
	return len(ht.msgs), len(ht.users)
}
