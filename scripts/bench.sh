#!/usr/bin/env bash
# The standard performance scenarios (issue 12), one after another, and a
# Markdown table of their results.
#
#   scripts/bench.sh                 # writes bench-results.md and prints it
#   OUT=/tmp/b.md scripts/bench.sh   # somewhere else
#   QUICK=1 scripts/bench.sh         # smaller data sets, a first look in ~3 min
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
cat "$out"
exit "$status"
