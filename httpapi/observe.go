package httpapi

import "time"

// Observer is told about requests, for metrics. Its methods run in the
// requests: they must be quick and must not block.
type Observer interface {
	// Request reports a finished request: route is the pattern the router
	// matched ("" when none did), status the code written.
	Request(route string, status int, d time.Duration)
	// PollStarted and PollEnded bracket a long-poll sync that registered
	// to wait for changes; result is one of the Poll constants.
	PollStarted()
	PollEnded(result string)
	// Synced reports the events one sync response carried.
	Synced(events int)
}

// How a long-poll sync ended, as reported to Observer.PollEnded.
const (
	PollChanges      = "changes"       // answered with changes (or a too-old position)
	PollTimeout      = "timeout"       // nothing new within the timeout
	PollShutdown     = "shutdown"      // the server is going away
	PollSessionEnded = "session_ended" // the session was revoked
	PollClientGone   = "client_gone"   // the client went away
	PollError        = "error"         // the sync failed
)

type nopObserver struct{}

func (nopObserver) Request(string, int, time.Duration) {}
func (nopObserver) PollStarted()                       {}
func (nopObserver) PollEnded(string)                   {}
func (nopObserver) Synced(int)                         {}
