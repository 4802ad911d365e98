package realtime

import (
	"context"
	"sync"

	"github.com/parleyhq/parley/app"
)

// ephemeralQueue bounds the typing and presence events waiting for one
// device; past it they are dropped (they are ephemeral by nature).
const ephemeralQueue = 8

// Device is one connected device (a WebSocket, or a long-poll waiting).
type Device struct {
	UserID    string
	SessionID string
	hub       *Hub

	wakeC chan struct{} // something new may exist: sync
	pushC chan *app.SyncEvent

	once     sync.Once
	revoked  chan struct{}
	mu       sync.Mutex
	shutting bool

	// poll devices (long-poll requests) do not count for presence.
	poll bool
	// kick, when set, is called after every signal (wake, push, revoke),
	// so that a connection needs no goroutine of its own to wait for them.
	kick func()
}

func (d *Device) kicked() {
	if d.kick != nil {
		d.kick()
	}
}

// Wake returns a channel that receives when the device should sync.
func (d *Device) Wake() <-chan struct{} { return d.wakeC }

// Pushed returns the channel of ephemeral events for the device.
func (d *Device) Pushed() <-chan *app.SyncEvent { return d.pushC }

// Revoked is closed when the device must stop: its session ended, or the
// server is shutting down (then ShuttingDown is true).
func (d *Device) Revoked() <-chan struct{} { return d.revoked }

// ShuttingDown reports whether Revoked was closed by a server shutdown.
func (d *Device) ShuttingDown() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.shutting
}

func (d *Device) wake() {
	select {
	case d.wakeC <- struct{}{}:
	default: // a sync is already due; it will see this change too
	}
	d.kicked()
}

func (d *Device) push(e *app.SyncEvent) {
	select {
	case d.pushC <- e:
	default:
		d.hub.obs.EphemeralDropped()
	}
	d.kicked()
}

func (d *Device) revoke() {
	d.once.Do(func() { close(d.revoked) })
	d.kicked()
}

func (d *Device) shutdown() {
	d.mu.Lock()
	d.shutting = true
	d.mu.Unlock()
	d.revoke()
}

// Wait blocks until the device should sync, is revoked, or ctx ends. It
// reports whether a sync is due.
func (d *Device) Wait(ctx context.Context) bool {
	select {
	case <-d.wakeC:
		return true
	case <-d.revoked:
		return false
	case <-ctx.Done():
		return false
	}
}
