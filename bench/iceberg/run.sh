#!/usr/bin/env bash
# bench/iceberg/run.sh — what the Iceberg export adds to a lake commit, and how its metadata
# grows (bench/iceberg/iceberg_commits.cc). Peer: the same commits with the export off, same run.
#   1. Commit latency at 10, 100 and 1,000 files per commit (local lake, SQLite catalog), then
#      the same on an S3 lake in a moto_server started here (skipped without moto_server).
#   2. Metadata size over 1,000 one-file commits: the manifests of the current snapshot grow to
#      100, then the next commit rewrites them into one (lake/iceberg_export.h).
# Builds nothing: expects $BUILD/iceberg_commits (`make bench` builds it). Environment:
#   BUILD    build folder (default: build)
#   COMMITS  commits per latency row (default: 20)
#   GROWTH   commits of the growth run (default: 1000)
# No number fails the script.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
BUILD="$(realpath -m "${BUILD:-build}")"
COMMITS="${COMMITS:-20}"
GROWTH="${GROWTH:-1000}"
die() { echo "bench/iceberg: $*" >&2; exit 1; }
[[ -x "$BUILD/iceberg_commits" ]] || die "$BUILD/iceberg_commits is missing: build first (make bench)"
work="$(mktemp -d /tmp/ws_bench_iceberg.XXXXXX)"
trap 'rm -rf "$work"' EXIT

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" | tail -1; }
echo "commit latency: $COMMITS commits, each adding N files to one table (local lake)"
printf "%-8s %16s %16s %s\n" files "no export ms" "iceberg ms" "iceberg / none"
for n in 10 100 1000; do
  off="$("$BUILD/iceberg_commits" --lake "$work/off-$n" --files "$n" --commits "$COMMITS" --iceberg 0 | field ms_per_commit)"
  on="$("$BUILD/iceberg_commits" --lake "$work/on-$n" --files "$n" --commits "$COMMITS" --iceberg 1 | field ms_per_commit)"
  awk -v n="$n" -v a="$off" -v b="$on" 'BEGIN { printf "%-8s %16.2f %16.2f %.2fx\n", n, a, b, b / a }'
done

if command -v moto_server >/dev/null; then
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto=$!
  trap 'kill $moto 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.1; done
  echo
  echo "commit latency on an S3 lake (moto_server on loopback: every object a PUT)"
  printf "%-8s %16s %16s %s\n" files "no export ms" "iceberg ms" "iceberg / none"
  for n in 10 100 1000; do
    off="$("$BUILD/iceberg_commits" --lake "$work/s3off-$n" --files "$n" --commits "$COMMITS" --iceberg 0 --s3 "http://127.0.0.1:$port" | field ms_per_commit)"
    on="$("$BUILD/iceberg_commits" --lake "$work/s3on-$n" --files "$n" --commits "$COMMITS" --iceberg 1 --s3 "http://127.0.0.1:$port" | field ms_per_commit)"
    awk -v n="$n" -v a="$off" -v b="$on" 'BEGIN { printf "%-8s %16.2f %16.2f %.2fx\n", n, a, b, b / a }'
  done
else
  echo "(moto_server missing: the S3 rows are skipped)"
fi

echo
echo "metadata growth: $GROWTH commits of one file each"
printf "%-8s %14s %18s %16s %12s\n" commits "ms/commit" "metadata/ after gc" "metadata.json B" "manifests"
"$BUILD/iceberg_commits" --lake "$work/growth" --files 1 --commits "$GROWTH" --every 50 --iceberg 1 |
  while read -r line; do
    printf "%-8s %14s %18s %16s %12s\n" "$(field commit <<<"$line")" "$(field ms_per_commit <<<"$line")" \
      "$(field metadata_bytes <<<"$line")" "$(field metadata_json_bytes <<<"$line")" \
      "$(field data_manifests <<<"$line")"
  done
