#!/usr/bin/env bash
# bench/normalize/run.sh — the normalize benchmark: Watershed's `load` against DuckDB's own
# read_json_auto -> Parquet on the same generated Crunchbase NDJSON file, in the same run.
#
# Builds nothing: expects $BUILD/watershed, $BUILD/duckdb_peer and $BUILD/gen_crunchbase
# (`make bench` builds them first). Environment:
#   BUILD     build folder (default: build, relative to the repository root)
#   SIZE_MB   input size in MiB (default: 256)
#   SEED      generator seed (default: 42)
#   DATA_DIR  where the input is generated once and kept (default: /tmp/watershed-bench)
# Prints one row per tool (wall seconds and peak RSS from /usr/bin/time, MB/s of input, root
# records per second) and the throughput ratio watershed/duckdb. Both tools run single-threaded.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
BUILD="$(realpath -m "${BUILD:-build}")"
SIZE_MB="${SIZE_MB:-256}"
SEED="${SEED:-42}"
DATA_DIR="${DATA_DIR:-/tmp/watershed-bench}"
THREADS=1

die() { echo "bench/normalize: $*" >&2; exit 1; }

for tool in gen_crunchbase duckdb_peer watershed; do
  [[ -x "$BUILD/$tool" ]] || die "$BUILD/$tool is missing: build first (make bench)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (apt-get install time)"
[[ "$SIZE_MB" =~ ^[1-9][0-9]*$ ]] || die "SIZE_MB must be a positive integer, not '$SIZE_MB'"

# The input, generated once per (size, seed) and reused by later runs.
mkdir -p "$DATA_DIR"
input="$DATA_DIR/crunchbase-organizations-${SIZE_MB}mb-seed${SEED}.ndjson"
if [[ ! -s "$input" ]]; then
  echo "generating $input ..." >&2
  "$BUILD/gen_crunchbase" --mb "$SIZE_MB" --seed "$SEED" --out "$input.tmp.$$"
  mv "$input.tmp.$$" "$input"
fi
rows="$(wc -l < "$input")"
bytes="$(stat -c %s "$input")"

work="$(mktemp -d "${TMPDIR:-/tmp}/watershed-bench-run.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Runs a command under /usr/bin/time; leaves "seconds peak_rss_kib" in $work/$name.time.
timed() {
  local name="$1"
  shift
  if ! /usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" > "$work/$name.log" 2>&1; then
    echo "bench/normalize: $name failed: $*" >&2
    tail -n 20 "$work/$name.log" >&2
    exit 1
  fi
}

# (a) Watershed: a fresh project (`watershed init DIR`), then one single-threaded load.
project="$work/project"
if ! "$BUILD/watershed" init "$project" > "$work/init.log" 2>&1; then
  echo "bench/normalize: watershed init failed in $project" >&2
  tail -n 20 "$work/init.log" >&2
  exit 1
fi
timed watershed "$BUILD/watershed" load "$input" --table crunchbase.organizations \
  --threads "$THREADS" --project "$project"

# (b) The peer: DuckDB read_json_auto -> zstd Parquet.
timed duckdb "$BUILD/duckdb_peer" "$input" "$work/duckdb.parquet" --threads "$THREADS"

echo
echo "normalize benchmark: $(basename "$input") ($SIZE_MB MiB, $rows root records, threads=$THREADS)"
awk -v bytes="$bytes" -v rows="$rows" \
    -v ws="$(cat "$work/watershed.time")" -v dk="$(cat "$work/duckdb.time")" '
  function row(tool, t,    f, secs, rss) {
    split(t, f, " "); secs = f[1]; rss = f[2] / 1024
    if (secs <= 0) secs = 0.01  # /usr/bin/time resolution
    printf "%-10s %9.2f %9.1f %12.0f %12.1f\n", tool, secs, bytes / 1048576 / secs, rows / secs, rss
    return bytes / secs
  }
  BEGIN {
    printf "%-10s %9s %9s %12s %12s\n", "tool", "seconds", "MB/s", "rows/s", "peak RSS MB"
    w = row("watershed", ws)
    d = row("duckdb", dk)
    printf "watershed/duckdb throughput: %.2fx\n", w / d
  }'
grep -h '^duckdb_peer ' "$work/duckdb.log" || true  # its own timing of the COPY alone
