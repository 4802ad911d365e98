package parley

import (
	"errors"
	"strings"
	"testing"
)

func TestChainEntryDigests(t *testing.T) {
	h := strings.Repeat("ab", 32)
	content, prev, hash, err := (&ChainEntry{PrevHash: ChainGenesis, Hash: h}).Digests()
	if err != nil || len(content) != 0 || len(prev) != 32 || len(hash) != 32 || hash[0] != 0xab {
		t.Fatalf("no content: %x %x %x %v", content, prev, hash, err)
	}
	if c, _, _, err := (&ChainEntry{ContentHash: h, PrevHash: h, Hash: h}).Digests(); err != nil || len(c) != 32 {
		t.Fatalf("content: %x %v", c, err)
	}
	for name, e := range map[string]ChainEntry{
		"not hex":      {ContentHash: "zz", PrevHash: h, Hash: h},
		"no hash":      {PrevHash: h},
		"no prev":      {Hash: h},
		"odd length":   {PrevHash: h, Hash: h[1:]},
		"prev not hex": {PrevHash: "g" + h[1:], Hash: h},
	} {
		var pe *Error
		if _, _, _, err := e.Digests(); !errors.As(err, &pe) || pe.Code != EInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}
