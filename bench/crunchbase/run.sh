#!/usr/bin/env bash
# bench/crunchbase/run.sh — the Crunchbase unloader against the emulator on loopback.
#
# 1. Limit off: a full unload of ORGS organizations (default 100000), end to end (HTTP, parse,
#    normalize, Parquet, commits): entities/s. Target >= 50,000/s.
# 2. Limit on (200 requests/minute on both sides): 399 requests of 10 entities; reports the most
#    requests the emulator accepted in any 60 s window (against the budget of 200), the 429s it
#    sent, and the rate after the initial burst. Targets: >= 99% of the budget, zero 429s.
#    Takes about a minute. Skip it with LIMITED=0.
# Builds nothing: expects $BUILD/watershed (make bench builds it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$(realpath -m "${BUILD:-$root/build}")"
ORGS="${ORGS:-100000}"
LIMITED="${LIMITED:-1}"
ws="$BUILD/watershed"
[[ -x "$ws" ]] || { echo "bench/crunchbase: $ws is missing: build first (make bench)" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/watershed-bench-cb.XXXXXX")"
emu_pid=""
cleanup() { [[ -n "$emu_pid" ]] && kill "$emu_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export CRUNCHBASE_API_KEY=bench-key

start_emulator() {  # args: extra emulator flags; sets $url
  "$ws" crunchbase-emulator --port 0 --key bench-key "$@" > "$work/emu.out" 2>&1 &
  emu_pid=$!
  for _ in $(seq 100); do
    url=$(grep -o 'http://[^ ]*/api/v4' "$work/emu.out" || true)
    [[ -n "$url" ]] && return 0
    sleep 0.1
  done
  echo "bench/crunchbase: the emulator did not start" >&2; cat "$work/emu.out" >&2; exit 1
}
stop_emulator() { kill "$emu_pid"; wait "$emu_pid" 2>/dev/null || true; emu_pid=""; }

echo "== full unload, limit off: $ORGS organizations"
start_emulator --orgs "$ORGS" --seed 1
"$ws" init "$work/p1" > /dev/null
t0=$(date +%s.%N)
"$ws" crunchbase --mode full --base-url "$url" --rate-limit 0 --project "$work/p1" -q | tail -n 1
t1=$(date +%s.%N)
n=$("$ws" query "SELECT count(*) FROM crunchbase.organizations" --format csv --project "$work/p1" | tail -n 1)
awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "entities: %d, seconds: %.2f, entities/s: %.0f (target >= 50000)\n", n, b - a, n / (b - a) }'
stop_emulator

if [[ "$LIMITED" == 1 ]]; then
  echo
  echo "== limit on: 200 requests/minute on client and emulator, 399 requests (398 pages of 10 entities and one deleted-entities call)"
  start_emulator --orgs 5000 --seed 1 --rate-limit 200
  "$ws" init "$work/p2" > /dev/null
  t0=$(date +%s.%N)
  "$ws" crunchbase --mode full --base-url "$url" --rate-limit 200 --page-size 10 \
    --max-pages 398 --commit-every 50 --project "$work/p2" -q | tail -n 1
  t1=$(date +%s.%N)
  stats=$(curl -s "${url%/api/v4}/_emulator/stats")
  echo "emulator stats: $stats"
  python3 - "$stats" "$t0" "$t1" <<'PY'
import json, sys
s = json.loads(sys.argv[1]); t0, t1 = float(sys.argv[2]), float(sys.argv[3])
peak = s.get("max_requests_in_window", 0); throttled = s.get("rate_limited", 0)
req = s.get("requests", 0); secs = t1 - t0
after_burst = (req - 200) / max(secs - 0.5, 1e-9) * 60 if secs > 1 else 0
print(f"requests: {req} in {secs:.1f} s; busiest 60 s window: {peak}/200 = {peak/2:.1f}% of the budget "
      f"(target >= 99%); 429s: {throttled} (target 0); after the first burst: {after_burst:.0f} requests/min")
PY
  stop_emulator
fi
