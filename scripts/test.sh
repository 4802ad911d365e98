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

echo "== web app: install, build (dist/ must match the sources), unit tests"
if ! command -v npm >/dev/null; then
  echo "npm is missing: install Node.js 20.19 or newer"; exit 1
fi
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)
if [ -n "$(git status --porcelain -- web/dist 2>/dev/null)" ]; then
  echo "web/dist is stale: run (cd web && npm run build) and commit it"; git status --short -- web/dist; exit 1
fi
(cd web && npx vitest run --reporter=dot)

echo "== go test -race"
# -race needs cgo (gcc); the race detector keeps concurrency honest.
CGO_ENABLED=1 go test -race -count=1 -timeout 30m ./... 2>&1 | tee /tmp/parley-test.$$.log
status=${PIPESTATUS[0]}

if [ "$status" -eq 0 ]; then
  echo "== short fuzz runs (long runs: docs/testing.md)"
  # 10 s each: the property of each target is in its doc comment.
  for target in "FuzzDecodeFrame ./wsgateway" "FuzzInspect ./media" \
    "FuzzDecode ./httpapi" "FuzzQueryInt ./httpapi" \
    "FuzzNormalizeHandle ./app" "FuzzCheckEmoji ./app" "FuzzCleanText ./app" \
    "FuzzHistoryCursor ./app" "FuzzConversationCursor ./app" "FuzzInboxCursor ./app" \
    "FuzzFirstURL ./app" "FuzzLinkCardText ./app" \
    "FuzzAllowed ./outbound" "FuzzCheckURL ./outbound" "FuzzSignVerify ./webhook"; do
    set -- $target
    go test -run '^$' -fuzz "^$1\$" -fuzztime 10s "$2" 2>&1 | tail -3 | tee -a /tmp/parley-test.$$.log
    if [ "${PIPESTATUS[0]}" -ne 0 ]; then status=1; fi
  done
fi

if [ "$status" -eq 0 ]; then
  echo "== web app in a real browser (Debian's Chromium, installed if missing)"
  if ! command -v chromium >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  fi
  e2e_bin=$(mktemp -d)/parley
  go build -o "$e2e_bin" ./cmd/parley
  mkdir -p web/e2e/artifacts
  # The browser tests seed long histories faster than a person may send.
  export PARLEY_LIMITS_SEND_PER_CONVERSATION=1000000 PARLEY_LIMITS_SEND_BURST=1000000
  if ! (cd web && PARLEY_BIN="$e2e_bin" CHROMIUM="$(command -v chromium)" SCREENSHOTS="$PWD/e2e/artifacts" node e2e/run.mjs); then
    status=1
  fi
  if ! (cd web && PARLEY_BIN="$e2e_bin" CHROMIUM="$(command -v chromium)" SCREENSHOTS="$PWD/e2e/artifacts" node e2e/inbox.mjs); then
    status=1
  fi
  if ! (cd web && PARLEY_BIN="$e2e_bin" CHROMIUM="$(command -v chromium)" SCREENSHOTS="$PWD/e2e/artifacts" node e2e/bots.mjs); then
    status=1
  fi
fi

passed=$(grep -c '^ok ' /tmp/parley-test.$$.log || true)
failed=$(grep -c '^FAIL' /tmp/parley-test.$$.log || true)
rm -f /tmp/parley-test.$$.log
echo "packages: $passed passed, $failed failed"
exit "$status"
