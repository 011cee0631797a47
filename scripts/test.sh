#!/usr/bin/env bash
# The one test command (`npm test`). Arguments are passed on to ava, e.g.
#   npm test -- tests/unit/redis.test.ts
#
# 1. makes sure the system has what the tests need (node 20+, npm deps, redis-server, chromium,
#    python3 for the independent hash-chain verifier tools/verify-chain.py);
# 2. starts a throw-away redis-server on 127.0.0.1:6379 when nothing answers there;
# 3. type-checks (tsc --noEmit, server and viewer) in the background while it builds the viewer (vite)
#    and runs ava with its normal reporter; tsc's output follows ava's;
# 4. prints, as the very last line, "N passed, N failed" (", N skipped" when there are any).
# Exit code: ava's; if ava passes but the type-check failed, 1.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The deployment tests (tests/deploy) also need Ansible, debootstrap and systemd-nspawn (a throw-away
# Debian 12 server), dpkg-dev (ops/offline-debs), shellcheck and nginx.
bash scripts/ensure-system.sh redis-server chromium fonts-dejavu-core fonts-hanazono python3 libxml2-utils libhttp-oai-perl rsync \
  ansible ansible-lint debootstrap systemd-container dpkg-dev shellcheck nginx || exit $?

# --- Redis on 127.0.0.1:6379 -----------------------------------------------------------------
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
if ! redis_answers; then
  echo "test: starting redis-server on 127.0.0.1:6379" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp >/dev/null ||
    echo "test: could not start redis-server on 127.0.0.1:6379" >&2
  for _ in $(seq 1 50); do
    redis_answers && break
    sleep 0.1
  done
  redis_answers || echo "test: warning: nothing answers PING on 127.0.0.1:6379; tests that need it will fail" >&2
fi

# --- type-check, in the background ---------------------------------------------------------
# tsc takes about 50 s of one core and nothing of the tests depends on it, so it runs beside ava
# (whose test files spend much of their time waiting on servers and workers) instead of before
# it. Its output is printed after ava's, before the summary line.
TSC_LOG="$(mktemp "${TMPDIR:-/tmp}/thukho-tsc.XXXXXX")"
( status=0
  npx tsc --noEmit -p . || status=$?
  npx tsc --noEmit -p viewer || status=$?
  exit "$status" ) >"$TSC_LOG" 2>&1 &
TSC_PID=$!

# --- the reading-room bundle (viewer/dist), which the site and the browser tests serve --------
npm run --silent build || echo "test: the viewer build failed (npm run build); browser tests will fail" >&2
# --- the server compiled for bin/thukho.js (every CLI run and worker starts faster; without it
# they run the sources through tsx, so a failed build slows the tests but changes no result)
npm run --silent build:server || echo "test: the server build failed (npm run build:server); thukho runs its sources through tsx" >&2

# --- ava -------------------------------------------------------------------------------------
LOG="$(mktemp "${TMPDIR:-/tmp}/thukho-ava.XXXXXX")"
# An interrupted run stops its type-check too (TSC_PID is emptied once it has been waited for).
trap 'rm -f "$LOG" "$TSC_LOG"; [ -z "$TSC_PID" ] || kill "$TSC_PID" 2>/dev/null' EXIT

AVA_ARGS=()
[ -t 1 ] && AVA_ARGS+=(--color) # keep colours for people even though the output goes through tee
npx ava "${AVA_ARGS[@]}" "$@" 2>&1 | tee "$LOG"
AVA_STATUS=${PIPESTATUS[0]}

TSC_STATUS=0
wait "$TSC_PID" || TSC_STATUS=$?
TSC_PID=""
cat "$TSC_LOG"
if [ "$TSC_STATUS" -ne 0 ]; then
  echo "test: type-check failed (npx tsc --noEmit -p . / -p viewer)" >&2
fi

# --- summary ---------------------------------------------------------------------------------
# ava prints "N tests passed" only when nothing failed; otherwise count the "✔ title" lines.
# Failures: failed tests and hooks, uncaught exceptions, unhandled rejections, tests pending
# after a timeout, and tests that never ran because their file crashed ("N tests remaining").
read -r PASSED FAILED SKIPPED < <(
  sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$LOG" | awk '
    function n(line) { match(line, /[0-9]+/); return substr(line, RSTART, RLENGTH) + 0 }
    /^[[:space:]]*✔ \[expected fail\]/ { next }
    /^[[:space:]]*✔ / { ticks++ }
    /^[[:space:]]*[0-9]+ tests? passed/ { passed = n($0); summary = 1 }
    /^[[:space:]]*[0-9]+ tests? failed/ { failed += n($0) }
    /^[[:space:]]*[0-9]+ hooks? failed/ { failed += n($0) }
    /^[[:space:]]*[0-9]+ uncaught exceptions?$/ { failed += n($0) }
    /^[[:space:]]*[0-9]+ unhandled rejections?$/ { failed += n($0) }
    /^[[:space:]]*[0-9]+ tests? remained pending after a timeout/ { failed += n($0) }
    /^[[:space:]]*✘ [0-9]+ tests? remaining in / { failed += n($0) }
    /^[[:space:]]*[0-9]+ tests? skipped/ { skipped = n($0) }
    END { if (!summary) passed = ticks; printf "%d %d %d\n", passed, failed + 0, skipped + 0 }
  '
)
if [ "$AVA_STATUS" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
  FAILED=1 # ava failed for a reason the summary does not count (no tests found, a crashed file, ...)
fi

STATUS=$AVA_STATUS
if [ "$STATUS" -eq 0 ] && [ "$TSC_STATUS" -ne 0 ]; then
  echo "test: type-check failed (see tsc output above)"
  STATUS=1
fi

if [ "$SKIPPED" -gt 0 ]; then
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
  echo "$PASSED passed, $FAILED failed"
fi
exit "$STATUS"
