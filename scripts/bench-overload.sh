#!/usr/bin/env bash
# Dispatch under a flood of campaign reads: a campaign of ROWS synthetic
# accounts on SQLite, `huikuan serve` (release build), then
# `huikuan dev bench-overload`: READ_RPS GetCampaign a second for SECONDS
# while 2 dialer-like workers lease and report; prints LeaseCalls p50/p99,
# what became of the reads and the server's peak memory.
# Usage: scripts/bench-overload.sh [ROWS] [READ_RPS] [SECONDS]
#        (defaults 200000, 2000, 20)
# BENCH_SERVER_BIN=path runs another build as the server (A/B; the load
# generator is always this build's).
set -euo pipefail
cd "$(dirname "$0")/.."
# Servers started here put the web console on a free port.
export HUIKUAN_CONSOLE_LISTEN=${HUIKUAN_CONSOLE_LISTEN:-127.0.0.1:0}
ROWS=${1:-200000}
READ_RPS=${2:-2000}
SECONDS_=${3:-20}
./scripts/ensure-deps.sh
./scripts/fetch-models.sh >/dev/null
cargo build --release -p huikuan-cli
BIN=${CARGO_TARGET_DIR:-target}/release/huikuan
SERVER_BIN=${BENCH_SERVER_BIN:-$BIN}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN" dev gen-portfolio --rows "$ROWS" -o "$WORK/p.csv"
HUIKUAN_DATA_DIR="$WORK/data" "$SERVER_BIN" import "$WORK/p.csv" --campaign flood --quiet
# Only an approved plan's calls are dialled: release them all for the load test.
HUIKUAN_DATA_DIR="$WORK/data" "$BIN" dev release-now --campaign flood >/dev/null
cat > "$WORK/bench.toml" <<TOML
[dispatch]
window_start = "00:00"
window_end = "24:00"
[speech]
enabled = false
TOML
export HUIKUAN_TOKEN=bench-token-0123456789 HUIKUAN_LISTEN=127.0.0.1:50998
HUIKUAN_LOG=warn HUIKUAN_DATA_DIR="$WORK/data" "$SERVER_BIN" --config "$WORK/bench.toml" serve 2>"$WORK/serve.log" & SERVER=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/50998) 2>/dev/null && break; sleep 0.1; done
echo "== $READ_RPS GetCampaign/s on a $ROWS-account campaign for ${SECONDS_}s, 2 workers leasing and reporting"
"$BIN" dev bench-overload --endpoint http://127.0.0.1:50998 --campaign flood \
  --read-rps "$READ_RPS" --seconds "$SECONDS_" --server-pid "$SERVER"
echo "== the same workers without the flood"
"$BIN" dev bench-overload --endpoint http://127.0.0.1:50998 --campaign flood \
  --read-rps 0 --seconds 10 --server-pid "$SERVER"
