#!/usr/bin/env bash
# bench/scheduler/run.sh — scheduling overhead per task, without the tasks' own work.
#
# 1. One pipeline of 10,000 `noop` tasks (100 layers of 100; each task after one of the layer
#    before): `watershed run big`.
# 2. 1,000 pipelines of 10 `noop` tasks (chains), each with one due interval:
#    `watershed scheduler --once` runs all of them.
# Prints wall time and milliseconds per task for each. Target < 1 ms per task (Airflow's
# scheduler spends 1-2 ms per task examining it, and seconds to start one). Builds nothing:
# expects $BUILD/watershed (make bench builds it). Note: `noop` tasks are join points resolved
# inside the executor; `shell`/`load`/... tasks also pay a process start (~5-10 ms) each.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$(realpath -m "${BUILD:-$root/build}")"
ws="$BUILD/watershed"
[[ -x "$ws" ]] || { echo "bench/scheduler: $ws is missing: build first" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/watershed-bench-sched.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$ws" init "$work/p" > /dev/null
python3 - "$work/p/watershed.yml" <<'PY'
import sys
with open(sys.argv[1], "a") as f:
    f.write("pipelines:\n  big:\n    max_parallel: 64\n    tasks:\n")
    for layer in range(100):
        for i in range(100):
            after = f", after: [l{layer-1}_{i}]" if layer else ""
            f.write(f"      l{layer}_{i}: {{type: noop{after}}}\n")
    for p in range(1000):
        f.write(f"  p{p}:\n    schedule: \"every 1d\"\n    start: 2026-01-01\n    tasks:\n")
        for t in range(10):
            after = f", after: [t{t-1}]" if t else ""
            f.write(f"      t{t}: {{type: noop{after}}}\n")
PY
measure() {  # name tasks command...
  local name=$1 tasks=$2
  shift 2
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > "$work/$name.log" 2>&1 || { echo "bench/scheduler: $name failed"; tail "$work/$name.log"; exit 1; }
  t1=$(date +%s.%N)
  awk -v n="$name" -v k="$tasks" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "%-36s %6d tasks  %7.2f s  %6.3f ms/task (target < 1)\n", n, k, b - a, (b - a) * 1000 / k }'
}
measure "one DAG of 10,000 tasks" 10000 "$ws" --project "$work/p" run big --date 2026-01-01
measure "1,000 pipelines of 10 (scheduler)" 10000 \
  "$ws" --project "$work/p" scheduler --once --until 2026-01-01T12:00:00Z
runs=$("$ws" --project "$work/p" runs | grep -c success || true)
echo "successful runs recorded: $runs (expected 1001)"
