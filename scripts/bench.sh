#!/usr/bin/env bash
# The standard performance scenarios (issue 12), one after another, and a
# Markdown table of their results.
#
#   scripts/bench.sh                 # writes bench-results.md and prints it
#   OUT=/tmp/b.md scripts/bench.sh   # somewhere else
#   QUICK=1 scripts/bench.sh         # smaller data sets, a first look in ~3 min
#
# After the Go benchmarks, end-to-end runs of `parley load` against
# `parley serve` as its own process (open loop at 1,000 and 5,000 msg/s,
# closed loop with 256 senders; over HTTP and as stream frames), parsed from `parley load -json` (needs python3
# and curl).
#
# Run it on a quiet machine: every scenario's load driver runs in the same
# process as the server and shares its CPUs, and anything else running
# moves the tails (p99) most. The table records the machine, the load
# average before each scenario and the exact command, as BENCHMARKS.md
# wants them.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench-results.md}
raw=$(mktemp /tmp/parley-bench.XXXXXX)
trap 'rm -f "$raw"' EXIT

conversations=50000
members=10000
if [ -n "${QUICK:-}" ]; then
	conversations=5000
	members=1000
fi

# name | environment | go test arguments
scenarios=(
	"send, 256 senders (app.Send, group commit)||./app -bench BenchmarkSend/senders=256 -benchtime 20000x"
	"send→receive over WebSocket, 1,000 devices, 1,000 msg/s||./server -bench BenchmarkStreamLatency -benchtime 10000x"
	"catch-up of a device 5,000 messages behind||./app -bench BenchmarkCatchUp -benchtime 20x"
	"conversation list, first page, $conversations conversations|PARLEY_BENCH_CONVERSATIONS=$conversations|./app -bench BenchmarkConversationList -benchtime 2000x"
	"fan-out to a $members-member group|PARLEY_BENCH_MEMBERS=$members|./server -bench BenchmarkGroupFanout -benchtime 10x"
	"team inbox views, 100,000 conversations||./app -bench BenchmarkInboxViews -benchtime 500x"
)

{
	echo "# Parley benchmark run, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(go version | cut -d' ' -f3); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
	echo
	echo "| scenario | load avg before | result | command |"
	echo "|---|---:|---|---|"
} >"$out"

status=0
for s in "${scenarios[@]}"; do
	IFS='|' read -r name env args <<<"$s"
	load=$(cut -d' ' -f1 /proc/loadavg)
	echo "== $name" >&2
	# shellcheck disable=SC2086
	if ! env $env go test -run '^$' $args -timeout 30m >"$raw" 2>&1; then
		status=1
		result="FAILED: $(grep -m1 -E 'FAIL|Error|panic' "$raw" | tr '|' '/')"
	else
		# "BenchmarkX-2  N  ns/op  v1 unit1  v2 unit2 ..." → "v1 unit1, v2 unit2"
		result=$(grep -E '^Benchmark' "$raw" | tail -1 | awk '{
			r = ""
			for (i = 3; i < NF; i += 2) {
				if ($(i+1) == "ns/op" || $(i+1) == "B/op" || $(i+1) == "allocs/op") continue
				r = r (r == "" ? "" : ", ") $i " " $(i+1)
			}
			print r
		}')
	fi
	cat "$raw" >&2
	echo "| $name | $load | $result | \`${env:+$env }go test -run '^\$' $args\` |" >>"$out"
done

# End to end: `parley serve` as its own process, `parley load` against it
# over HTTP and WebSockets (docs/benchmarking.md). The generator shares the
# CPUs with the server.
bin=$(mktemp -d /tmp/parley-bench-bin.XXXXXX)
trap 'rm -f "$raw"; rm -rf "$bin"' EXIT
if ! go build -o "$bin/parley" ./cmd/parley; then
	echo "| parley load | – | FAILED: go build | – |" >>"$out"
	cat "$out"
	exit 1
fi
users=400
if [ -n "${QUICK:-}" ]; then
	users=100
fi
# name | parley load arguments
loads=(
	"end to end, $((users / 2)) pairs, 1,000 msg/s open loop|-users $users -shape pairs -rate 1000 -duration 20s"
	"end to end, $((users / 2)) pairs, 1,000 msg/s open loop, sent as stream frames|-users $users -shape pairs -rate 1000 -duration 20s -via ws"
	"end to end, $((users / 2)) pairs, 5,000 msg/s open loop, sent as stream frames|-users $users -shape pairs -rate 5000 -duration 10s -via ws"
	"end to end, $((users / 2)) pairs, 256 senders closed loop|-users $users -shape pairs -rate 0 -senders 256 -duration 10s"
	"end to end, $((users / 2)) pairs, 256 senders closed loop, sent as stream frames|-users $users -shape pairs -rate 0 -senders 256 -duration 10s -via ws"
)
port=$((20000 + RANDOM % 20000))
for l in "${loads[@]}"; do
	IFS='|' read -r name args <<<"$l"
	data=$(mktemp -d /tmp/parley-bench-data.XXXXXX)
	PARLEY_DATA_DIR=$data/data PARLEY_LISTEN=127.0.0.1:$port PARLEY_LOG_LEVEL=warn \
		PARLEY_LIMITS_SEND_PER_CONVERSATION=1000000 PARLEY_LIMITS_SEND_BURST=1000000 \
		PARLEY_LIMITS_REGISTRATIONS_PER_HOUR=1000000 "$bin/parley" serve >"$data/server.log" 2>&1 &
	server=$!
	for _ in $(seq 100); do
		curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	load=$(cut -d' ' -f1 /proc/loadavg)
	echo "== $name" >&2
	if ! kill -0 "$server" 2>/dev/null; then
		status=1
		echo "| $name | $load | FAILED: parley serve exited: $(tail -c 300 "$data/server.log" | tr '|\n' '/ ') | |" >>"$out"
		rm -rf "$data"
		port=$((port + 1))
		continue
	fi
	# shellcheck disable=SC2086
	if "$bin/parley" load -target "http://127.0.0.1:$port" $args -pid "$server" -json -quiet >"$raw" 2>"$data/load.err"; then
		result=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
a, v, s = r["ack_latency"], r["receive_latency"], r.get("server") or {}
print("%.0f acked/s; send→receive p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms; ack p99 %.2f ms; lost %d, duplicated %d, misdelivered %d; server CPU %.0f %%, RSS %.0f MiB" % (
    r["acked_per_second"], v["p50_ms"], v["p99_ms"], v["p999_ms"], a["p99_ms"], r["lost"], r["duplicated"], r["misdelivered"],
    s.get("cpu_percent", 0), s.get("rss_end_bytes", 0) / 1048576))
' "$raw")
	else
		status=1
		result="FAILED: $(head -c 300 "$data/load.err" | tr '|\n' '/ ')"
	fi
	cat "$raw" >&2
	kill "$server" 2>/dev/null
	wait "$server" 2>/dev/null
	rm -rf "$data"
	echo "| $name | $load | $result | \`parley load $args\` against \`parley serve\` (send limits lifted) |" >>"$out"
	port=$((port + 1))
done
cat "$out"
exit "$status"
