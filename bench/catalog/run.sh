#!/usr/bin/env bash
# bench/catalog/run.sh — lake commits per second on the PostgreSQL catalog against the SQLite
# catalog, same commits, same run, with 1, 2 and 4 concurrent writers (bench/catalog/
# catalog_commits.cc: each commit adds one file with its statistics and advances a cursor).
# Both durable: SQLite synchronous=FULL (Watershed's default), PostgreSQL with its defaults
# (fsync on, synchronous_commit on) in a throwaway cluster on loopback TCP.
#
# Builds nothing: expects $BUILD/catalog_commits (`make bench` builds it). Environment:
#   BUILD    build folder (default: build)
#   COMMITS  commits per writer (default: 200)
# No number fails the script.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
BUILD="$(realpath -m "${BUILD:-build}")"
COMMITS="${COMMITS:-200}"
die() { echo "bench/catalog: $*" >&2; exit 1; }
[[ -x "$BUILD/catalog_commits" ]] || die "$BUILD/catalog_commits is missing: build first (make bench)"
bindir=""
for v in 17 16 15; do [[ -x "/usr/lib/postgresql/$v/bin/initdb" ]] && { bindir="/usr/lib/postgresql/$v/bin"; break; }; done
[[ -n "$bindir" ]] || die "PostgreSQL server binaries are missing (scripts/setup installs them)"

work="$(mktemp -d /tmp/ws_bench_cat.XXXXXX)"
as_pg=()
if [[ "$(id -u)" == 0 ]]; then
  chown postgres "$work"
  as_pg=(runuser -u postgres --)
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"${as_pg[@]}" "$bindir/initdb" -D "$work/data" --auth=trust -E UTF8 -U postgres > "$work/initdb.log" 2>&1 ||
  { cat "$work/initdb.log" >&2; die "initdb failed"; }
"${as_pg[@]}" "$bindir/pg_ctl" -D "$work/data" -w -l "$work/pg.log" \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $work" start > /dev/null ||
  { cat "$work/pg.log" >&2; die "the server did not start"; }
trap '"${as_pg[@]}" "$bindir/pg_ctl" -D "$work/data" -m immediate stop > /dev/null 2>&1 || true; rm -rf "$work"' EXIT

rate() {  # rate CATALOG WRITERS -> commits/s
  "$BUILD/catalog_commits" --catalog "$1" --writers "$2" --commits "$COMMITS" |
    sed -n 's/.*commits_per_s=\([0-9.]*\).*/\1/p'
}
echo "catalog commits: $COMMITS commits per writer, one file + stats + cursor each"
printf "%-8s %14s %14s %s\n" writers "sqlite c/s" "postgres c/s" "postgres / sqlite"
for w in 1 2 4; do
  "${as_pg[@]}" "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE w$w" > /dev/null
  s="$(rate "$work/sqlite-$w/catalog.db" "$w")"
  p="$(rate "postgres://postgres@127.0.0.1:$port/w$w" "$w")"
  awk -v w="$w" -v s="$s" -v p="$p" 'BEGIN { printf "%-8s %14.1f %14.1f %.2fx\n", w, s, p, p / s }'
done
