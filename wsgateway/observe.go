package wsgateway

// Observer is told about streams, for metrics. Its methods run on the
// streams' goroutines: they must be quick and must not block.
type Observer interface {
	// StreamOpened reports a stream accepted after the upgrade.
	StreamOpened()
	// StreamClosed reports a stream's end with the close code the server
	// sent (1001 going away, 4001, 4008, 4009, 1008, 1011), or 0 when
	// the client closed first or the connection failed.
	StreamClosed(code int)
	// Delivered reports one event written to the device: a stored change
	// from its sync, or an ephemeral one (typing, presence).
	Delivered(ephemeral bool)
}

type nopObserver struct{}

func (nopObserver) StreamOpened()    {}
func (nopObserver) StreamClosed(int) {}
func (nopObserver) Delivered(bool)   {}
