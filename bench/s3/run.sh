#!/usr/bin/env bash
# bench/s3/run.sh — the lake on S3 against the lake in a local folder, same data, same run:
# `watershed load` of one generated Crunchbase NDJSON file into a local project and into a
# project whose lake is s3:// on a local moto_server; then the same aggregate query over each:
# local, S3 cold (the read cache deleted first) and S3 warm (cache filled).
#
# Builds nothing: expects $BUILD/watershed and $BUILD/gen_crunchbase (`make bench` builds
# them). Environment:
#   BUILD     build folder (default: build)
#   SIZE_MB   input size in MiB (default: 64)
#   DATA_DIR  where the input is generated once and kept (default: /tmp/watershed-bench)
# moto_server keeps objects in memory in Python: it is far slower than S3 itself, so the
# ratios are an upper bound on the overhead of our S3 path (signing, checksums, cache), not a
# forecast of AWS. No number fails the script.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
BUILD="$(realpath -m "${BUILD:-build}")"
SIZE_MB="${SIZE_MB:-64}"
DATA_DIR="${DATA_DIR:-/tmp/watershed-bench}"

die() { echo "bench/s3: $*" >&2; exit 1; }
for tool in gen_crunchbase watershed; do
  [[ -x "$BUILD/$tool" ]] || die "$BUILD/$tool is missing: build first (make bench)"
done
command -v moto_server > /dev/null || die "moto_server is missing (scripts/setup installs it)"

mkdir -p "$DATA_DIR"
input="$DATA_DIR/crunchbase-organizations-${SIZE_MB}mb-seed42.ndjson"
if [[ ! -s "$input" ]]; then
  echo "generating $input ..." >&2
  "$BUILD/gen_crunchbase" --mb "$SIZE_MB" --seed 42 --out "$input.tmp.$$"
  mv "$input.tmp.$$" "$input"
fi
rows="$(wc -l < "$input")"

work="$(mktemp -d "${TMPDIR:-/tmp}/watershed-bench-s3.XXXXXX")"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
moto_server -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; wait $moto 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/moto-api/" > /dev/null 2>&1 && break
  sleep 0.1
done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench S3_ENDPOINT="http://127.0.0.1:$port"

"$BUILD/watershed" init "$work/local" > /dev/null
"$BUILD/watershed" init "$work/s3" > /dev/null
cat > "$work/s3/watershed.yml" <<YAML
name: bench-s3
storage:
  lake: s3://bench-lake/watershed
  s3:
    region: us-east-1
    endpoint_url: \${S3_ENDPOINT}
    create_bucket: true
YAML

# seconds NAME CMD...: runs CMD, appends "NAME SECONDS" to $work/times.
seconds() {
  local name="$1"
  shift
  local start end
  start="$(date +%s.%N)"
  if ! "$@" > "$work/$name.log" 2>&1; then
    echo "bench/s3: $name failed: $*" >&2
    tail -n 20 "$work/$name.log" >&2
    exit 1
  fi
  end="$(date +%s.%N)"
  awk -v a="$start" -v b="$end" -v n="$name" 'BEGIN { printf "%s %.3f\n", n, b - a }' >> "$work/times"
}
sql='SELECT count(*) AS n, count(DISTINCT uuid) AS orgs FROM crunchbase.organizations'
seconds load_local "$BUILD/watershed" load "$input" --table crunchbase.organizations --project "$work/local"
seconds load_s3 "$BUILD/watershed" load "$input" --table crunchbase.organizations --project "$work/s3"
seconds query_local "$BUILD/watershed" query "$sql" --format csv --project "$work/local"
rm -rf "$work/s3/.watershed/cache"
seconds query_s3_cold "$BUILD/watershed" query "$sql" --format csv --project "$work/s3"
seconds query_s3_warm "$BUILD/watershed" query "$sql" --format csv --project "$work/s3"
cmp -s <(tail -n 1 "$work/query_local.log") <(tail -n 1 "$work/query_s3_warm.log") ||
  die "the S3 and local answers differ: $(tail -n 1 "$work/query_local.log") vs $(tail -n 1 "$work/query_s3_warm.log")"
lake_mb="$(du -sm "$work/local/lake" | cut -f1)"

echo
echo "s3 benchmark: $(basename "$input") ($SIZE_MB MiB, $rows root records; lake $lake_mb MiB of Parquet; moto_server on loopback)"
awk -v mb="$SIZE_MB" '
  { t[$1] = $2 }
  END {
    printf "%-16s %9s %s\n", "step", "seconds", "vs local"
    printf "%-16s %9.2f %s\n", "load local", t["load_local"], "1.00x"
    printf "%-16s %9.2f %.2fx  (%.1f MiB/s of input)\n", "load s3", t["load_s3"], t["load_s3"] / t["load_local"], mb / t["load_s3"]
    printf "%-16s %9.2f %s\n", "query local", t["query_local"], "1.00x"
    printf "%-16s %9.2f %.2fx\n", "query s3 cold", t["query_s3_cold"], t["query_s3_cold"] / t["query_local"]
    printf "%-16s %9.2f %.2fx\n", "query s3 warm", t["query_s3_warm"], t["query_s3_warm"] / t["query_local"]
  }' "$work/times"
echo "answer: $(tail -n 1 "$work/query_local.log")"
