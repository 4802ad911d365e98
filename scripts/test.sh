#!/usr/bin/env bash
# Runs Parley's whole test suite on a fresh machine: formatting, vet, and
# every test with the race detector, on SQLite and again on PostgreSQL. It
# installs what the tests need and starts a throwaway PostgreSQL cluster;
# the tests start Parley themselves on 127.0.0.1:0.
#
# scripts/test.sh reliability runs only the reliability and security
# suites of docs/reliability.md (crash, churn, disk full, several nodes,
# authorization matrix, bad input, model test, fuzzing, XSS in Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
case "$mode" in
  all | reliability) ;;
  *) echo "usage: scripts/test.sh [reliability]"; exit 2 ;;
esac

echo "== go version"
go version

echo "== tools the tests call (curl and jq run the API examples of docs/api.md)"
missing=""
for tool in curl jq; do command -v "$tool" >/dev/null || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...
# The parley binary builds for Windows and macOS too (docs/operations.md):
# vet them so that a Unix-only system call stays behind a build tag.
GOOS=windows go vet ./...
GOOS=darwin go vet ./...

echo "== web app: install, build (dist/ must match the sources), unit tests"
if ! command -v npm >/dev/null; then
  echo "npm is missing: install Node.js 20.19 or newer"; exit 1
fi
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)
if [ -n "$(git status --porcelain -- web/dist 2>/dev/null)" ]; then
  echo "web/dist is stale: run (cd web && npm run build) and commit it"; git status --short -- web/dist; exit 1
fi
if [ "$mode" = all ]; then (cd web && npx vitest run --reporter=dot); fi

echo "== PostgreSQL: a throwaway cluster for the PostgreSQL runs (Debian's package, installed if missing)"
# The PostgreSQL store's suite, and the app and server suites a second
# time, run on it. It lives in a temp dir, listens on loopback and on a
# socket in that dir, and is stopped and deleted on exit.
pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(pg_bindir)" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
PGBIN=$(pg_bindir)
pgdir=$(mktemp -d /tmp/parley-pg.XXXXXX)
# PostgreSQL refuses to run as root: as root, the cluster is the postgres user's.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$pgdir"
stop_postgres() {
  as_pg "$PGBIN/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap stop_postgres EXIT
as_pg "$PGBIN/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C >"$pgdir/initdb.log" 2>&1 \
  || { cat "$pgdir/initdb.log"; exit 1; }
pgport=""
for attempt in 1 2 3 4 5 6 7 8; do
  port=$((20000 + RANDOM % 40000))
  if as_pg "$PGBIN/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -t 60 \
      -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=300 -c synchronous_commit=on" start >/dev/null; then
    pgport=$port; break
  fi
done
if [ -z "$pgport" ]; then echo "PostgreSQL did not start:"; cat "$pgdir/log"; exit 1; fi
export PARLEY_TEST_POSTGRES="postgres://postgres@127.0.0.1:$pgport/postgres?sslmode=disable"
"$PGBIN/postgres" --version

# From here on each step records its failure in status and the script goes
# on, so that one failure does not hide the others (set -e would stop it).
# -race needs cgo (gcc); the race detector keeps concurrency honest.
set +e
if [ "$mode" = reliability ]; then
  echo "== reliability suites (docs/reliability.md): crash, churn, disk full, several nodes"
  CGO_ENABLED=1 go test -race -count=1 -timeout 30m -v ./reliability 2>&1 | tee /tmp/parley-test.$$.log
  status=${PIPESTATUS[0]}
  echo "== authorization matrix, bad-input corpus, model-based property test"
  CGO_ENABLED=1 go test -race -count=1 -timeout 30m -v \
    -run 'TestAuthorization|TestUnauthenticated|TestBusinessAuthorization|TestBadInput' ./server 2>&1 | tee -a /tmp/parley-test.$$.log
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then status=1; fi
  CGO_ENABLED=1 go test -race -count=1 -timeout 30m -v -run TestModel ./app 2>&1 | tee -a /tmp/parley-test.$$.log
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then status=1; fi
else
  echo "== go test -race (SQLite; store/postgres on PostgreSQL)"
  CGO_ENABLED=1 go test -race -count=1 -timeout 30m ./... 2>&1 | tee /tmp/parley-test.$$.log
  status=${PIPESTATUS[0]}

  echo "== go test -race again on PostgreSQL: the app and API suites"
  CGO_ENABLED=1 PARLEY_TEST_STORE=postgres go test -race -count=1 -timeout 30m ./app ./server 2>&1 | tee -a /tmp/parley-test.$$.log
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then status=1; fi

  echo "== go test -race again with encryption at rest (PARLEY_TEST_ENCRYPTION=1): the app and API suites"
  CGO_ENABLED=1 PARLEY_TEST_ENCRYPTION=1 go test -race -count=1 -timeout 30m ./app ./server 2>&1 | tee -a /tmp/parley-test.$$.log
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then status=1; fi
fi

if [ "$status" -eq 0 ]; then
  echo "== short fuzz runs (long runs: docs/testing.md)"
  findings=0
  engine=0
  # 10 s each: the property of each target is in its doc comment.
  for target in "FuzzDecodeFrame ./wsgateway" "FuzzInspect ./media" \
    "FuzzDecode ./httpapi" "FuzzQueryInt ./httpapi" \
    "FuzzNormalizeHandle ./app" "FuzzCheckEmoji ./app" "FuzzCleanText ./app" \
    "FuzzHistoryCursor ./app" "FuzzConversationCursor ./app" "FuzzInboxCursor ./app" \
    "FuzzFirstURL ./app" "FuzzLinkCardText ./app" \
    "FuzzAllowed ./outbound" "FuzzCheckURL ./outbound" "FuzzSignVerify ./webhook"; do
    set -- $target
    # These 10 s explore new random inputs, so what they find differs from
    # run to run: a finding is shown in full (input and the command that
    # replays it) but does not fail the build. Every committed seed and
    # past finding (testdata/fuzz/) already ran as a blocking test above.
    if go test -run '^$' -fuzz "^$1\$" -fuzztime 10s "$2" >/tmp/parley-fuzz.$$.log 2>&1; then
      tail -2 /tmp/parley-fuzz.$$.log
      if grep -q 'no fuzz tests to fuzz' /tmp/parley-fuzz.$$.log; then
        findings=$((findings + 1))
        echo "!!! FUZZ TARGET $1 is not in $2 (renamed? update this list)"
      fi
    elif ! grep -q 'Failing input written to' /tmp/parley-fuzz.$$.log &&
      grep -Eq 'context deadline exceeded|no crash will be recorded|communicating with fuzzing process' /tmp/parley-fuzz.$$.log; then
      # The engine's own stops, with no input recorded (Go's
      # internal/fuzz): -fuzztime ran out while it was talking to a
      # worker, or a worker was killed by a signal no input causes (the
      # OOM killer): they say nothing of the code under test.
      engine=$((engine + 1))
      echo "!!! fuzz run of $1 ($2) stopped by the fuzzing engine, no input recorded (not a finding):"; tail -15 /tmp/parley-fuzz.$$.log
    else
      findings=$((findings + 1))
      echo "!!! FUZZ FINDING in $1 ($2): commit the input below as a seed with its fix"; tail -60 /tmp/parley-fuzz.$$.log
    fi
  done
  rm -f /tmp/parley-fuzz.$$.log
  echo "fuzz findings: ${findings}; runs stopped by the engine: ${engine} (see above; neither fails the build)"
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
  if [ "$mode" = all ]; then
    for suite in run inbox bots campaigns; do
      if ! (cd web && PARLEY_BIN="$e2e_bin" CHROMIUM="$(command -v chromium)" SCREENSHOTS="$PWD/e2e/artifacts" node "e2e/$suite.mjs"); then
        status=1
      fi
    done
  fi
  # 1,000+ XSS payloads in messages, names, titles and file names.
  if ! (cd web && PARLEY_BIN="$e2e_bin" CHROMIUM="$(command -v chromium)" node e2e/xss.mjs); then
    status=1
  fi
fi

passed=$(grep -c '^ok ' /tmp/parley-test.$$.log || true)
failed=$(grep -c $'^FAIL\t' /tmp/parley-test.$$.log || true)
tests_failed=$(grep -c '^--- FAIL' /tmp/parley-test.$$.log || true)
rm -f /tmp/parley-test.$$.log
echo "packages: $passed passed, $failed failed; failing tests: $tests_failed"
exit "$status"
