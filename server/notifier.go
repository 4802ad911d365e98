package server

import (
	"fmt"
	"log/slog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/bus/natsbus"
	"github.com/parleyhq/parley/realtime"
)

// Notifier tells the nodes sharing a database what a process that is not
// a node changed in it: an admin command (parley user suspend, …) run
// against a shared PostgreSQL database with no server of its own to go
// through. Without it the nodes would learn of a suspension or a reset
// password only when their verified-token caches expire (up to 5 s), and
// a suspended user's open streams on them would stay open. It publishes
// what the app reports after each commit — events, revoked sessions,
// changed accounts — on the nodes' NATS bus, as a node does.
type Notifier struct {
	bus *natsbus.Bus
	hub *realtime.Hub
	log *slog.Logger
}

// OpenNotifier connects to the bus of cfg (PARLEY_NATS_URL). It returns
// nil, nil when there is none: a single node on an embedded database
// takes admin commands over its admin socket instead.
func OpenNotifier(cfg Config, log *slog.Logger) (*Notifier, error) {
	if cfg.NATSURL == "" {
		return nil, nil
	}
	if log == nil {
		log = slog.Default()
	}
	b, err := natsbus.Open(cfg.NATSURL, natsbus.Options{Logger: log, Name: "parley-admin"})
	if err != nil {
		return nil, fmt.Errorf("PARLEY_NATS_URL: %w", err)
	}
	return &Notifier{bus: b, log: log}, nil
}

// Options are the app options that publish through n; pass them to
// app.New, then call Attach with the app. A nil Notifier gives none.
func (n *Notifier) Options() []app.Option {
	if n == nil {
		return nil
	}
	return []app.Option{
		app.WithNotify(func(evs []*parley.Event) {
			if n.hub != nil {
				n.hub.Publish(evs)
			}
		}),
		app.WithRevoke(func(user string, sessions []string) {
			if n.hub != nil {
				n.hub.RevokeSessions(user, sessions)
			}
		}),
		app.WithAuthChanged(func(users []string) {
			if n.hub != nil {
				n.hub.AuthChanged(users)
			}
		}),
	}
}

// Attach builds the hub that publishes for a (it holds no devices).
func (n *Notifier) Attach(a *app.App) error {
	if n == nil {
		return nil
	}
	h, err := realtime.New(a, n.bus, n.log)
	if err != nil {
		return err
	}
	n.hub = h
	return nil
}

// Close flushes what was published to the NATS server (for up to 2 s)
// and disconnects. A notification that could not be delivered is not an
// error of the command: the change is committed, and the nodes see it
// when their caches expire and their devices sync.
func (n *Notifier) Close() {
	if n == nil {
		return
	}
	if n.hub != nil {
		n.hub.Close()
	}
	n.bus.Close()
}
