// Package reliability holds the tests that prove Parley's promises from the
// outside: they build the real binary, run it as a separate process, hurt
// it (kill -9 under load) and then check every message a client was told
// about. It has no code of its own.
package reliability
