package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// latency is a summary of one HDR histogram, in milliseconds.
type latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func summarize(h *hdrhistogram.Histogram) latency {
	ms := func(v int64) float64 { return float64(v) / 1000 }
	return latency{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)),
		Max: ms(h.Max()), Mean: h.Mean() / 1000,
	}
}

func printLoadTable(w io.Writer, r *loadResult) {
	mode := fmt.Sprintf("open loop at %g msg/s", r.Rate)
	if r.Mode == "closed" {
		mode = fmt.Sprintf("closed loop, %d senders", r.Senders)
	}
	fmt.Fprintf(w, "parley load against %s: shape %s, %d users × %d devices, %d conversations, %d streams (+%d idle)\n",
		r.Target, r.Shape, r.Users, r.Devices, r.Conversations, r.Streams-r.IdleStreams, r.IdleStreams)
	if r.Via == "ws" {
		mode += ", sent as stream frames"
	} else {
		mode += ", sent over HTTP"
	}
	fmt.Fprintf(w, "%s, %d-byte messages, %gs measured after %gs warm-up (setup took %.1fs)\n\n", mode, r.Size, r.Duration, r.Warmup, r.SetupSeconds)
	fmt.Fprintf(w, "%-10s %9s %9s %9s %9s %9s %9s %9s\n", "latency", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "mean ms")
	for _, l := range []struct {
		name string
		l    latency
	}{{"send→ack", r.Ack}, {"send→recv", r.Receive}} {
		fmt.Fprintf(w, "%-10s %9d %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f\n", l.name, l.l.Count, l.l.P50, l.l.P90, l.l.P99, l.l.P999, l.l.Max, l.l.Mean)
	}
	fmt.Fprintf(w, "\nsent %d, acked %d (%.0f/s), failed %d; deliveries %.0f/s\n", r.Sent, r.Acked, r.AckedPerSecond, r.Failed, r.DeliveredPerSec)
	fmt.Fprintf(w, "deliveries (warm-up included): expected %d, received %d, lost %d, duplicated %d, misdelivered %d, after a failed send %d\n",
		r.Expected, r.Received, r.Lost, r.Duplicated, r.Misdelivered, r.DeliveredDespite)
	if r.StreamsResumed > 0 {
		fmt.Fprintf(w, "streams ended by the server and resumed with since: %d (%d too far behind to replay)\n", r.StreamsResumed, r.ResumesLimited)
	}
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors: none")
	} else {
		codes := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			codes = append(codes, k)
		}
		sort.Strings(codes)
		fmt.Fprint(w, "errors:")
		for _, k := range codes {
			fmt.Fprintf(w, " %s=%d", k, r.Errors[k])
		}
		fmt.Fprintln(w)
	}
	for _, p := range []struct {
		name string
		u    *procUsage
	}{{"server", r.Server}, {"generator", r.Client}} {
		if p.u == nil {
			continue
		}
		fmt.Fprintf(w, "%-9s pid %d: RSS %s before setup, %s at start, %s at end; CPU %.2fs (%.0f%% of a core) while measuring\n",
			p.name, p.u.PID, mib(p.u.RSSBefore), mib(p.u.RSSStart), mib(p.u.RSSEnd), p.u.CPUSeconds, p.u.CPUPercent)
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// readProc returns a process's resident memory (VmRSS) and its CPU time
// (utime+stime, in clock ticks); pid may be "self".
func readProc(pid string) (rss, ticks int64, err error) {
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				rss = kb * 1024
			}
		}
	}
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return rss, ut + st, nil
}
