#!/usr/bin/env bash
# Runs Parley's whole test suite on a fresh machine: formatting, vet, and
# every test with the race detector. It installs what the tests need and
# starts nothing by hand: the tests start Parley themselves on 127.0.0.1:0.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go version"
go version

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
# -race needs cgo (gcc); the race detector keeps concurrency honest.
CGO_ENABLED=1 go test -race -count=1 -timeout 30m ./... 2>&1 | tee /tmp/parley-test.$$.log
status=${PIPESTATUS[0]}

if [ "$status" -eq 0 ]; then
  echo "== short fuzz runs (long runs: docs/testing.md)"
  for target in "FuzzDecodeFrame ./wsgateway" "FuzzInspect ./media"; do
    set -- $target
    go test -run '^$' -fuzz "$1" -fuzztime 15s "$2" 2>&1 | tail -3 | tee -a /tmp/parley-test.$$.log
    if [ "${PIPESTATUS[0]}" -ne 0 ]; then status=1; fi
  done
fi

passed=$(grep -c '^ok ' /tmp/parley-test.$$.log || true)
failed=$(grep -c '^FAIL' /tmp/parley-test.$$.log || true)
rm -f /tmp/parley-test.$$.log
echo "packages: $passed passed, $failed failed"
exit "$status"
