#!/usr/bin/env bash
# bench/stream/run.sh — event streaming: `watershed serve` ingest against PostgreSQL 15, in the
# same run, from a separate load process on loopback (bench/stream/README.md explains it).
#
# 1. Throughput: EVENTS small JSON events (~55 bytes) in HTTP batches of BATCH, CONNS concurrent
#    keep-alive connections, flat out; acknowledged = durable in the stream's log. Runs (RUNS):
#    `group_commit` (the default sync), `fsync` (`sync: fsync`, one fsync per request), and
#    `paced` (group commit, batches offered at RATE events/s: latency at the target rate). Also:
#    how long the lake writer needs after the last acknowledgement to have committed it all.
# 2. Latency: during each run a probe sends one marked event every PROBE_MS and measures
#    acknowledgement -> visible in the lake (stream.bench) and in the real-time mart, both from
#    the server's commit timestamps ("exact") and as seen by `watershed query` processes polling
#    back to back ("polled"), for probes sent during the load and after it ("after": includes
#    the lake writer catching up).
# 3. The peer: a throwaway PostgreSQL 15 cluster (defaults: fsync on, synchronous_commit on)
#    gets the same batches, each one `COPY bench_events(body) FROM STDIN` transaction into a
#    jsonb column, over the same number of connections.
# Prints a results table and watershed/postgres events/s ratios. Targets (issue): >= 200,000
# events/s with group commit, p99 acknowledgement -> visible <= 2 s. Nothing here fails on a
# number. Builds its load generator (bench/stream/load.cc) with g++ into a temp folder; expects
# $BUILD/watershed (make bench builds it). Environment:
#   BUILD (default build), EVENTS (2000000), BATCH (1000), CONNS (4), DURATION (0 = no limit;
#   seconds, stops a load early), PROBE_MS (200), POLL_GAP_MS (100: pause between polls),
#   TAIL (4: seconds of probes after the load), MAX_WAIT (stream batch max_wait; default: the
#   stream default, 1s), RUNS ("group_commit fsync paced"), RATE (200000) and PACED_SECONDS (8)
#   for `paced` (RATE x PACED_SECONDS events, stopped after PACED_SECONDS + 1 s), PG=0 skips
#   PostgreSQL.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$(realpath -m "${BUILD:-$root/build}")"
EVENTS="${EVENTS:-2000000}"
BATCH="${BATCH:-1000}"
CONNS="${CONNS:-4}"
DURATION="${DURATION:-0}"
PROBE_MS="${PROBE_MS:-200}"
POLL_GAP_MS="${POLL_GAP_MS:-100}"
TAIL="${TAIL:-4}"
MAX_WAIT="${MAX_WAIT:-}"
RUNS="${RUNS:-group_commit fsync paced}"
RATE="${RATE:-200000}"
PACED_SECONDS="${PACED_SECONDS:-8}"
PG="${PG:-1}"
ws="$BUILD/watershed"

die() { echo "bench/stream: $*" >&2; exit 1; }
[[ -x "$ws" ]] || die "$ws is missing: build first (make bench)"
for v in EVENTS BATCH CONNS DURATION PROBE_MS POLL_GAP_MS TAIL RATE PACED_SECONDS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, not '${!v}'"
done
command -v curl > /dev/null || die "curl is missing"
pg_bin="$(dirname "$(command -v pg_ctl 2> /dev/null || echo /usr/lib/postgresql/15/bin/pg_ctl)")"
if [[ "$PG" == 1 ]]; then
  [[ -x "$pg_bin/pg_ctl" && -x "$pg_bin/initdb" ]] || die "PostgreSQL's initdb/pg_ctl not found (PG=0 skips it)"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/watershed-bench-stream.XXXXXX")"
chmod 755 "$work"  # the postgres user reaches its cluster below
server_pid=""
probe_pid=""
pg_data=""
cleanup() {
  [[ -n "$probe_pid" ]] && kill "$probe_pid" 2> /dev/null
  [[ -n "$server_pid" ]] && kill "$server_pid" 2> /dev/null && wait "$server_pid" 2> /dev/null
  if [[ -n "$pg_data" ]]; then as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop > /dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# PostgreSQL refuses root: run its tools as `postgres` then.
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The load generator and probe.
echo "building the load generator ..." >&2
g++ -std=c++20 -O2 -Wall -Wextra $(pkg-config --cflags cpp-httplib) -I/usr/include/postgresql \
  "$root/bench/stream/load.cc" -o "$work/stream_load" \
  -lcpp-httplib -lssl -lcrypto -lpq -lsqlite3 -lpthread || die "building bench/stream/load.cc failed"
load="$work/stream_load"
# A private copy of the binary: a rebuild during the run must not change what is measured.
cp "$ws" "$work/watershed"
ws="$work/watershed"
"$ws" --version > /dev/null 2>&1 || die "$BUILD/watershed does not run (being rebuilt?)"
export WATERSHED_TOKEN="bench-stream-$RANDOM$RANDOM"

# One watershed run: a fresh project with stream `bench`; $1 = group_commit, fsync or paced.
run_watershed() {
  local mode=$1 project="$work/ws-$1" port sync=$1 rate=0 events=$EVENTS duration=$DURATION
  if [[ "$mode" == paced ]]; then
    sync=group_commit rate=$RATE events=$((RATE * PACED_SECONDS)) duration=$((PACED_SECONDS + 1))
  fi
  mkdir -p "$project"
  {
    echo "name: stream_bench"
    echo "streams:"
    echo "  bench:"
    echo "    sync: $sync"
    [[ -n "$MAX_WAIT" ]] && echo "    batch: {max_wait: $MAX_WAIT}"
    echo "    accumulators:"
    echo "      - {name: probes, key: probe_id, windows: [1h], measures: [count]}"
    echo "      - {name: by_page, key: page, windows: [1m, 1h], measures: [count, {sum: amount}, {distinct: user}]}"
  } > "$project/watershed.yml"
  port=$(free_port)
  "$ws" --project "$project" -q serve --port "$port" > "$work/serve-$mode.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
    kill -0 "$server_pid" 2> /dev/null || { tail "$work/serve-$mode.log" >&2; die "watershed serve ($mode) exited"; }
    sleep 0.05
  done
  "$load" probe --port "$port" --stream bench --accumulator probes --project "$project" --ws "$ws" \
    --ready-file "$work/ready-$mode" --done-file "$work/done-$mode" --interval-ms "$PROBE_MS" \
    --poll-gap-ms "$POLL_GAP_MS" --tail-seconds "$TAIL" > "$work/probe-$mode.out" 2> "$work/probe-$mode.err" &
  probe_pid=$!
  for _ in $(seq 1200); do
    [[ -f "$work/ready-$mode" ]] && break
    kill -0 "$probe_pid" 2> /dev/null || { cat "$work/probe-$mode.err" >&2; die "probe ($mode) exited"; }
    sleep 0.05
  done
  echo "watershed ($mode): $events events ..." >&2
  "$load" ws --port "$port" --stream bench --events "$events" --batch "$BATCH" --conns "$CONNS" \
    --duration "$duration" --rate "$rate" --done-file "$work/done-$mode" > "$work/load-$mode.out" \
    || die "load ($mode) failed"
  wait "$probe_pid" || { cat "$work/probe-$mode.err" >&2; die "probe ($mode) failed"; }
  probe_pid=""
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  # Every acknowledged load event is in the lake (the probe events have no id).
  "$ws" --project "$project" -q query --format csv \
    "SELECT count(*), count(DISTINCT id) FROM stream.bench WHERE id IS NOT NULL" | tail -n 1 \
    > "$work/rows-$mode"
}

run_postgres() {
  local dir="$work/pg" port
  port=$(free_port)
  mkdir -p "$dir"
  [[ $EUID -eq 0 ]] && chown postgres "$dir"
  as_pg "$pg_bin/initdb" -D "$dir/data" --auth=trust -E UTF8 --no-sync > "$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log" >&2; die "initdb failed"; }
  pg_data="$dir/data"
  as_pg "$pg_bin/pg_ctl" -D "$pg_data" -w -l "$dir/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start > /dev/null || die "pg_ctl start failed"
  local conninfo="host=127.0.0.1 port=$port user=postgres dbname=postgres"
  psql_bin="$pg_bin/psql"
  [[ -x "$psql_bin" ]] || psql_bin=psql
  "$psql_bin" -q -X -v ON_ERROR_STOP=1 "$conninfo" \
    -c "CREATE TABLE bench_events (body jsonb NOT NULL)" > /dev/null || die "CREATE TABLE failed"
  "$psql_bin" -At -X "$conninfo" -c "SHOW fsync" -c "SHOW synchronous_commit" -c "SHOW wal_level" \
    | paste -sd' ' > "$work/pg-settings"
  echo "postgres: $EVENTS events ..." >&2
  "$load" pg --conninfo "$conninfo" --events "$EVENTS" --batch "$BATCH" --conns "$CONNS" \
    --duration "$DURATION" > "$work/load-pg.out" || die "PostgreSQL load failed"
  "$psql_bin" -At -X "$conninfo" -c "SELECT count(*) FROM bench_events" > "$work/rows-pg"
}

for mode in $RUNS; do
  [[ "$mode" =~ ^(group_commit|fsync|paced)$ ]] || die "RUNS holds '$mode' (group_commit, fsync, paced)"
  [[ "$mode" != paced || "$RATE" -gt 0 ]] || die "RATE must be > 0 for the paced run"
done
for mode in $RUNS; do run_watershed "$mode"; done
[[ "$PG" == 1 ]] && run_postgres

# ---- the table -------------------------------------------------------------------------------
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$1" | head -n 1; }
echo
echo "stream benchmark: $EVENTS events in batches of $BATCH, $CONNS connections, loopback," \
  "$(nproc) cores, $(date -u +%Y-%m-%d)"
printf '%-24s %12s %8s %10s %10s %8s %14s\n' "ingest (ack = durable)" "events/s" "MB/s" \
  "req p50 ms" "req p99 ms" "429s" "lake catch-up"
row() {  # label file
  local f=$2 catchup
  catchup=$(field "$f" lake_catchup_s)
  printf '%-24s %12.0f %8.1f %10.1f %10.1f %8s %14s\n' "$1" "$(field "$f" events_per_s)" \
    "$(field "$f" mb_per_s)" "$(field "$f" req_p50_ms)" "$(field "$f" req_p99_ms)" \
    "$(field "$f" throttled)" "${catchup:+${catchup} s}"
}
label() { if [[ "$1" == paced ]]; then echo "paced $RATE/s"; else echo "$1"; fi; }
for mode in $RUNS; do row "watershed $(label "$mode")" "$work/load-$mode.out"; done
[[ "$PG" == 1 ]] && row "postgres COPY (jsonb)" "$work/load-pg.out"
if [[ "$PG" == 1 ]]; then
  pg_rate=$(field "$work/load-pg.out" events_per_s)
  for mode in ${RUNS/paced/}; do
    awk -v m="$mode" -v w="$(field "$work/load-$mode.out" events_per_s)" -v p="$pg_rate" \
      'BEGIN { printf "ratio watershed %s / postgres: %.2fx\n", m, w / p }'
  done
  echo "postgres settings (fsync synchronous_commit wal_level): $(cat "$work/pg-settings");" \
    "rows: $(cat "$work/rows-pg")"
fi
for mode in $RUNS; do
  echo "lake check ($mode): rows, distinct ids with an id = $(cat "$work/rows-$mode")" \
    "(acknowledged: $(field "$work/load-$mode.out" events))"
done

echo
printf '%-14s %-9s %-7s %-5s %7s %8s %8s %8s %12s\n' "ack -> visible" "path" "how" "phase" \
  "probes" "p50 ms" "p99 ms" "max ms" "poll p50/max"
for mode in $RUNS; do
  grep '^RESULT path=' "$work/probe-$mode.out" | sed 's/^RESULT //' | awk -v m="$(label "$mode")" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      poll = v["poll_p50_ms"] == "nan" ? "-" : v["poll_p50_ms"] "/" v["poll_max_ms"]
      if (v["poll_failures"] > 0) poll = poll " (" v["poll_failures"] " failed)"
      printf "%-14s %-9s %-7s %-5s %7s %8s %8s %8s %12s\n", m, v["path"], v["how"], v["phase"],
             v["probes"] (v["unseen"] > 0 ? "(-" v["unseen"] ")" : ""), v["p50_ms"], v["p99_ms"],
             v["max_ms"], poll }'
done
echo "exact = the server's commit timestamps (catalog snapshot / mart row updated_at);" \
  "polled = when a \`watershed query\` process first returned the probe (granularity: one poll" \
  "+ ${POLL_GAP_MS} ms gap; a failed poll counts as not visible)."
echo "targets: >= 200,000 events/s (group commit); p99 ack -> visible <= 2,000 ms."
