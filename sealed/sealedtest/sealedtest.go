// Package sealedtest gives tests of encryption at rest a keyring.
package sealedtest

import (
	"testing"

	"github.com/parleyhq/parley/sealed"
)

// Keyring returns a keyring holding data key 1 under a new master key,
// the master key, and data key 1 as wrapped under it.
func Keyring(tb testing.TB) (*sealed.Keyring, *sealed.MasterKey, sealed.WrappedKey) {
	tb.Helper()
	m, _, err := sealed.GenerateMasterKey()
	if err != nil {
		tb.Fatal(err)
	}
	k, err := sealed.NewDataKey(m, 1)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := sealed.NewKeyring(m, []sealed.WrappedKey{k})
	if err != nil {
		tb.Fatal(err)
	}
	return r, m, k
}

// Ring returns the keyring of Keyring alone.
func Ring(tb testing.TB) *sealed.Keyring {
	tb.Helper()
	r, _, _ := Keyring(tb)
	return r
}
