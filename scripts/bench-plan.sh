#!/usr/bin/env bash
# The planner at scale: a synthetic portfolio of BENCH_ROWS accounts
# (default 1,000,000) imported into SQLite (and PostgreSQL when
# reachable), tomorrow's plan made (time and peak memory of `huikuan
# plan`), then re-planning single accounts after outcomes (latency).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${BENCH_ROWS:-1000000}
cargo build --release -p huikuan-cli
BIN=$(pwd)/${CARGO_TARGET_DIR:-target}/release/huikuan
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$BIN" dev gen-portfolio --rows "$ROWS" -o "$WORK/p.csv"
cat > "$WORK/huikuan.toml" <<TOML
[planning]
robot_lines = 2000
[planning.rules]
skip_holidays = false
TOML
export HUIKUAN_CONFIG="$WORK/huikuan.toml" HUIKUAN_LOG=${HUIKUAN_LOG:-warn}
DAY=$(TZ=Asia/Shanghai date -d tomorrow +%F)
run() {
  echo "== $1: import $ROWS accounts"
  "$BIN" import "$WORK/p.csv" --campaign bench --quiet >/dev/null
  echo "== $1: plan $DAY"
  /usr/bin/time -f "plan: peak RSS %M KiB, wall %e s, user %U s, sys %S s" "$BIN" plan --campaign bench --date "$DAY"
  echo "== $1: re-plan one account after its outcome"
  "$BIN" dev bench-replan --campaign bench --date "$DAY" --accounts 300
}
HUIKUAN_DATA_DIR="$WORK/sqlite" run SQLite
PG=${HUIKUAN_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}
if [ "${BENCH_PG:-1}" != 0 ] && command -v psql >/dev/null && psql "$PG" -qc "SELECT 1" >/dev/null 2>&1; then
  psql "$PG" -qc "DROP DATABASE IF EXISTS huikuan_bench_plan" -c "CREATE DATABASE huikuan_bench_plan" >/dev/null
  DATABASE_URL=${PG%/*}/huikuan_bench_plan run PostgreSQL
fi
