package inproc_test

import (
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/bus/bustest"
	"github.com/parleyhq/parley/bus/inproc"
)

func TestBus(t *testing.T) {
	const queue = 256
	bustest.Run(t, func(t *testing.T) parley.Bus {
		b := inproc.New(queue)
		t.Cleanup(func() { b.Close() })
		return b
	}, queue)
}
