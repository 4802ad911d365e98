package realtime

import (
	"sync"
	"time"

	"github.com/parleyhq/parley/app"
)

// ephemeralQueue bounds the typing and presence events waiting for one
// device; past it they are dropped (they are ephemeral by nature).
const ephemeralQueue = 8

// deliverQueue bounds the pushed changes waiting for one device; past it
// the device syncs.
const deliverQueue = 16

// Device is one connected device (a WebSocket, or a long-poll waiting).
type Device struct {
	UserID    string
	SessionID string
	hub       *Hub

	wakeC chan struct{} // something new may exist: sync
	pushC chan *app.SyncEvent
	// deliverC holds stored changes hydrated once for many devices
	// (fanout.go); each is taken only by a device caught up to it.
	deliverC chan *app.Push

	once     sync.Once
	revoked  chan struct{}
	mu       sync.Mutex
	shutting bool

	// expires is when the device's session ends by itself (zero: never),
	// set before the device is registered and not changed after; expiry,
	// guarded by mu, is the timer that revokes the device then, and gone
	// stops it from being armed again once the device is unregistered.
	expires time.Time
	expiry  *time.Timer
	gone    bool

	// poll devices (long-poll requests) do not count for presence.
	poll bool
	// kick, when set, is called after every signal (wake, push, revoke),
	// so that a connection needs no goroutine of its own to wait for them.
	kick func()
	// offer, when set, is tried by the fan-out before a push is queued:
	// see RegisterStream.
	offer func(*app.Push) bool
}

func (d *Device) kicked() {
	if d.kick != nil {
		d.kick()
	}
}

// Wake returns a channel that receives when the device should sync.
func (d *Device) Wake() <-chan struct{} { return d.wakeC }

// Delivered returns the channel of stored changes pushed to the device
// as they are. The device may write a push p only when its position is
// at least p.After and below p.Pos, and then moves to p.Pos; a push at
// or below its position is old news; any other means it must sync.
func (d *Device) Delivered() <-chan *app.Push { return d.deliverC }

// Pushed returns the channel of ephemeral events for the device.
func (d *Device) Pushed() <-chan *app.SyncEvent { return d.pushC }

// Revoked is closed when the device must stop: its session ended (was
// revoked, or reached its expiry), or the server is shutting down (then
// ShuttingDown is true).
func (d *Device) Revoked() <-chan struct{} { return d.revoked }

// Expired reports whether the device's session is past its expiry by the
// app's clock. The device's timer revokes it then, but a timer may fire
// late (and a test's clock moves without it): what the device is about to
// write or accept must check this too, and treat the device as revoked.
func (d *Device) Expired() bool {
	return !d.expires.IsZero() && !d.hub.app.Now().Before(d.expires)
}

// Ended reports whether the device must stop: revoked or expired. It
// revokes an expired device, so it must not be called while the device's
// kick cannot run (the kick may take the caller's locks).
func (d *Device) Ended() bool {
	select {
	case <-d.revoked:
		return true
	default:
	}
	if d.Expired() {
		d.revoke()
		return true
	}
	return false
}

// armExpiry revokes the device once its session's expiry has passed by
// the app's clock, and otherwise sets its timer for the time left, to
// check again then (the app's clock may be a test's, which the timer
// does not follow: it is the clock that decides).
func (d *Device) armExpiry() {
	left := d.expires.Sub(d.hub.app.Now())
	if left <= 0 {
		d.revoke()
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gone {
		return
	}
	if d.expiry == nil {
		d.expiry = time.AfterFunc(left, d.armExpiry)
	} else {
		d.expiry.Reset(left)
	}
}

// stopExpiry stops the device's expiry timer for good (Unregister).
func (d *Device) stopExpiry() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gone = true
	if d.expiry != nil {
		d.expiry.Stop()
	}
}

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

// deliver queues a pushed change; a long-poll, or a device whose queue is
// full, syncs instead.
func (d *Device) deliver(p *app.Push) {
	if d.poll {
		d.wake()
		return
	}
	select {
	case d.deliverC <- p:
		d.hub.pushed.Add(1)
		d.kicked()
	default:
		d.wake()
	}
}

// handOver gives p to the device on the caller's goroutine when the
// device's offer takes it, and queues it otherwise; it reports whether
// the offer took it.
func (d *Device) handOver(p *app.Push) bool {
	if d.offer != nil && d.offer(p) {
		return true
	}
	d.deliver(p)
	return false
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
