//go:build !unix

package server

import "testing"

// raiseFileLimit: no open file limit of the Unix kind here.
func raiseFileLimit(testing.TB) int { return 1 << 30 }
