//go:build !linux

package wsgateway

import "log/slog"

// poller is Linux only; elsewhere every stream reads on a goroutine of
// its own.
type poller struct{}

func newPoller(*slog.Logger) *poller { return &poller{} }

func (p *poller) watch(*stream) bool { return false }

func (p *poller) rearm(*stream) error { return nil }

func (p *poller) unwatch(*stream) {}
