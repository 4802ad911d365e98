package app

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestGuardPrefiltersChangeNothing: the one-pass checks that let the
// guard skip a regular expression never change what it finds — random
// texts made of what the patterns look for (digits, capitals, spaces,
// dashes, dots, "+") and the detector tests' real examples give the same
// findings with them and without.
func TestGuardPrefiltersChangeNothing(t *testing.T) {
	examples := []string{
		"card 4242 4242 4242 4242 please", "4111-1111-1111-1111", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000",
		"ssn 123-45-6789", "AB 12 34 56 C", "QQ123456C", "call +49 30 1234567", "password is hunter2hunter2",
		"order 123456 and 7890123", "AB1 2345 6789 0123", "x GB82WEST12345698765432 y", "pin: 4455",
		"my paſsword is hunter2hunter2", "PASSWORD = Tr0ub4dor&3",
	}
	r := rand.New(rand.NewPCG(7, 9))
	alphabet := "0123456789012345678901234567890123456789ABGCDEWTSNQZ   --.+()abſ"
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := 8 + r.IntN(60); n > 0; n-- {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		examples = append(examples, b.String())
	}
	found := map[string]int{}
	for _, text := range examples {
		for _, phones := range []bool{false, true} {
			with, without := scanSensitive(text, phones, true), scanSensitive(text, phones, false)
			if !reflect.DeepEqual(with, without) {
				t.Fatalf("%q (phones %v): %v with the prefilters, %v without", text, phones, with, without)
			}
			for _, f := range with {
				found[f.Kind]++
			}
		}
	}
	// The texts reach every detector: a prefilter that skipped too much
	// would show.
	t.Logf("findings by kind: %v", found)
	for _, k := range []string{SensitiveCard, SensitiveIBAN, SensitiveNationalID, SensitivePhone, SensitivePassword} {
		if found[k] == 0 {
			t.Errorf("no %s found in %d texts", k, len(examples))
		}
	}
}

// TestPasswordLikePhoneWarns: a password that is also a valid phone
// number warns a sender who did not ask about phone numbers (the phone
// finding used to cover it and then be dropped).
func TestPasswordLikePhoneWarns(t *testing.T) {
	text := "my password is +14155552671"
	if fs := FindSensitive(text); len(fs) != 1 || fs[0].Kind != SensitivePhone {
		t.Fatalf("with phones: %v", fs)
	}
	if fs := findSensitive(text, false); len(fs) != 1 || fs[0].Kind != SensitivePassword {
		t.Fatalf("without phones: %v", fs)
	}
}
