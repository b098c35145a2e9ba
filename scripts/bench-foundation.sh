#!/usr/bin/env bash
# Foundation benchmarks: import of N synthetic rows (SQLite, and PostgreSQL
# when HUIKUAN_BENCH_PG names a database), then LeaseCalls+ReportOutcome
# round trips with 8 workers against `huikuan serve` on SQLite, reporting
# one outcome per call (one after another, then all of a leased batch at
# once) and then a whole leased batch per ReportOutcomes.
# Usage: scripts/bench-foundation.sh [ROWS]   (default 1000000)
# BENCH_PG=0 skips the PostgreSQL import.
set -euo pipefail
cd "$(dirname "$0")/.."
# Servers started here put the web console on a free port.
export HUIKUAN_CONSOLE_LISTEN=${HUIKUAN_CONSOLE_LISTEN:-127.0.0.1:0}
ROWS=${1:-1000000}
./scripts/ensure-deps.sh
# The binary links the sherpa-onnx library the model cache holds.
./scripts/fetch-models.sh >/dev/null
cargo build --release -p huikuan-cli
BIN=${CARGO_TARGET_DIR:-target}/release/huikuan
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$BIN" dev gen-portfolio --rows "$ROWS" -o "$WORK/p.csv"
echo "== import $ROWS rows, SQLite"
HUIKUAN_DATA_DIR="$WORK/sqlite" /usr/bin/time -f "peak RSS %M KiB, wall %e s" "$BIN" import "$WORK/p.csv" --campaign bench --quiet
# Only an approved plan's calls are dialled: release them all for the load test.
HUIKUAN_DATA_DIR="$WORK/sqlite" "$BIN" dev release-now --campaign bench >/dev/null
if [ "${BENCH_PG:-1}" != 0 ] && [ -z "${HUIKUAN_BENCH_PG:-}" ] && command -v psql >/dev/null && psql postgres://postgres@127.0.0.1:5432/test -qc "SELECT 1" >/dev/null 2>&1; then
  psql postgres://postgres@127.0.0.1:5432/test -qc "DROP DATABASE IF EXISTS huikuan_bench" -c "CREATE DATABASE huikuan_bench" >/dev/null
  HUIKUAN_BENCH_PG=postgres://postgres@127.0.0.1:5432/huikuan_bench
fi
if [ -n "${HUIKUAN_BENCH_PG:-}" ]; then
  echo "== import $ROWS rows, PostgreSQL"
  DATABASE_URL="$HUIKUAN_BENCH_PG" /usr/bin/time -f "peak RSS %M KiB, wall %e s" "$BIN" import "$WORK/p.csv" --campaign bench --quiet
  DATABASE_URL="$HUIKUAN_BENCH_PG" "$BIN" dev release-now --campaign bench >/dev/null
fi
echo "== LeaseCalls + ReportOutcome, 8 workers, SQLite (window open all day for the run)"
cat > "$WORK/bench.toml" <<TOML
[dispatch]
window_start = "00:00"
window_end = "24:00"
[speech]
enabled = false
TOML
export HUIKUAN_TOKEN=bench-token-0123456789 HUIKUAN_LISTEN=127.0.0.1:50999
HUIKUAN_DATA_DIR="$WORK/sqlite" "$BIN" --config "$WORK/bench.toml" serve 2>"$WORK/serve.log" & SERVER=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/50999) 2>/dev/null && break; sleep 0.1; done
"$BIN" dev bench-lease --endpoint http://127.0.0.1:50999 --workers 8 --batch 20 --seconds 20
echo "== LeaseCalls + ReportOutcome, a leased batch's reports sent at once, 8 workers, SQLite"
"$BIN" dev bench-lease --endpoint http://127.0.0.1:50999 --workers 8 --batch 20 --seconds 20 --concurrent-reports
echo "== LeaseCalls + ReportOutcomes (one per leased batch), 8 workers, SQLite"
"$BIN" dev bench-lease --endpoint http://127.0.0.1:50999 --workers 8 --batch 20 --seconds 20 --batch-reports
kill $SERVER; wait $SERVER || true
