package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parleyhq/parley/app"
)

// BenchmarkAuthenticate measures app.Authenticate of 500 signed-in
// devices taken in turn: "cached" as requests find it (each token came by
// a moment ago), "uncached" with the cache emptied before every call —
// the session and user reads every request made before the cache. Besides
// ns/op it reports the whole process's CPU time per call (cpu-ns/op),
// which is what the 2-core machine pays.
//
//	go test -run '^$' -bench Authenticate -benchtime 20000x ./app
func BenchmarkAuthenticate(b *testing.B) {
	a := newApp(b)
	ctx := context.Background()
	tokens := make([]string, 500)
	for i := range tokens {
		r, err := a.Register(ctx, app.Registration{Handle: fmt.Sprintf("device%04d", i), Password: "correct horse battery"})
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = r.Token
		if _, err := a.Authenticate(ctx, r.Token); err != nil { // the first use is recorded
			b.Fatal(err)
		}
	}
	for _, cached := range []bool{true, false} {
		b.Run(map[bool]string{true: "cached", false: "uncached"}[cached], func(b *testing.B) {
			start := cpuTime(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if !cached {
					a.ForgetAllAuth()
				}
				if _, err := a.Authenticate(ctx, tokens[i%len(tokens)]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}
