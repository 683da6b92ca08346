#!/usr/bin/env bash
# Start-up time and idle memory of the release binary.
#
#   cargo build --release && scripts/bench-startup.sh
#
# Measures, for SQLite (and PostgreSQL when GATEHOUSE_TEST_POSTGRES_URL names a
# server where databases may be created): milliseconds from exec to the first
# 200 from /readyz — on a first start (empty data dir: key generation and
# migrations included) and on a restart — and the resident set size (VmRSS)
# once idle after start-up. Prints Markdown table rows for BENCHMARKS.md.
set -euo pipefail
bin=${GATEHOUSE_BIN:-${CARGO_TARGET_DIR:-target}/release/gatehouse}
[ -x "$bin" ] || { echo "no release binary at $bin (cargo build --release)" >&2; exit 1; }
runs=${RUNS:-5}
port=18391
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
pid=
ready_ms=0

now_ms() { date +%s%3N; }

# start URL_OR_EMPTY → sets $ready_ms and leaves the server running as $pid
start() {
  local db=$1 t0 t1
  t0=$(now_ms)
  if [ -n "$db" ]; then
    GATEHOUSE_BOOTSTRAP_TOKEN=bench-bootstrap-token "$bin" serve --listen 127.0.0.1:$port --data-dir "$work/data" --database-url "$db" >/dev/null 2>&1 &
  else
    GATEHOUSE_BOOTSTRAP_TOKEN=bench-bootstrap-token "$bin" serve --listen 127.0.0.1:$port --data-dir "$work/data" >/dev/null 2>&1 &
  fi
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do
    kill -0 "$pid" 2>/dev/null || { echo "server exited" >&2; exit 1; }
    sleep 0.005
  done
  t1=$(now_ms)
  ready_ms=$((t1 - t0))
}

stop() { kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() {
  local engine=$1 make_db=$2 first=() again=() rss=()
  for i in $(seq "$runs"); do
    rm -rf "$work/data"
    db=$($make_db "$i")
    start "$db"
    first+=("$ready_ms")
    sleep 1
    rss+=("$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")")
    stop
    start "$db"
    again+=("$ready_ms")
    stop
  done
  printf '| %s | start to ready, first start (empty database), median of %d | %s ms |\n' "$engine" "$runs" "$(printf '%s\n' "${first[@]}" | median)"
  printf '| %s | start to ready, restart, median of %d | %s ms |\n' "$engine" "$runs" "$(printf '%s\n' "${again[@]}" | median)"
  printf '| %s | idle RSS after start, median of %d | %s MiB |\n' "$engine" "$runs" "$(printf '%s\n' "${rss[@]}" | median | awk '{printf "%.1f", $1/1024}')"
}

sqlite_db() { echo ""; }
postgres_db() {
  local name="gh_startup_$$_$1"
  psql "$GATEHOUSE_TEST_POSTGRES_URL" -qAt -c "CREATE DATABASE $name" >/dev/null
  echo "${GATEHOUSE_TEST_POSTGRES_URL%/*}/$name"
}

echo "| engine | figure | value |"
echo "| --- | --- | --- |"
measure SQLite sqlite_db
if [ -n "${GATEHOUSE_TEST_POSTGRES_URL:-}" ]; then
  measure PostgreSQL postgres_db
  for i in $(seq "$runs"); do
    psql "$GATEHOUSE_TEST_POSTGRES_URL" -qAt -c "DROP DATABASE IF EXISTS gh_startup_$$_$i WITH (FORCE)" >/dev/null
  done
fi
