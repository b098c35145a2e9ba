#!/usr/bin/env bash
# Live-call benchmark: the release `huikuan dialer` calls N simulated
# debtors at once (each a promise-to-pay conversation of four turns) through
# `huikuan sim` on loopback, for each N in BENCH_CONCURRENCY. The simulator
# measures voice-to-voice latency from outside the robot: the end of each
# debtor line (its last RTP frame) to the arrival of the first RTP packet of
# the robot's reply, and ("heard") to the first loud frame of it out of the
# phone's jitter buffer. Prints p50/p95 per N, the dialer's CPU seconds and
# peak memory.
#   BENCH_CONCURRENCY="1 4 8 10" ./scripts/bench-calls.sh
# Calls are dialed at BENCH_CPS per second (default 1), so N calls overlap
# for most of their length without every turn of every call coinciding.
# The simulator's own recognizer and voice run on the same cores; with
# BENCH_LISTEN=after_call its phones recognise the robot only after each
# call, once no call is up (turns taken on end of speech), as phones on
# other hosts would cost the robot's machine nothing.
# BENCH_PERSONA picks another persona file (e.g. one that cuts in on the
# robot: tests/data/bench/barge_in_mandarin.toml; barge-in is then timed
# from the phone's side), BENCH_LINE gives every phone's line echo and
# noise (e.g. '{ echo_delay_ms = 100, echo_db = -12, noise_dbfs = -50 }'),
# BENCH_CALLS makes each of the N phones take that many calls, and
# BENCH_ROBOT adds settings to [dialer.robot] (e.g. 'cancel_echo = false'),
# BENCH_SPEECH to [speech] (e.g. 'whisper_weights = "f16"').
set -euo pipefail
cd "$(dirname "$0")/.."
# Servers started here put the web console on a free port.
export HUIKUAN_CONSOLE_LISTEN=${HUIKUAN_CONSOLE_LISTEN:-127.0.0.1:0}
./scripts/ensure-deps.sh
./scripts/fetch-models.sh >/dev/null
# BENCH_BIN measures another build of huikuan (an A/B against an older
# commit) with the same script.
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$(realpath "$BENCH_BIN")
else
  cargo build --release -p huikuan-cli
  BIN=$(realpath "${CARGO_TARGET_DIR:-target}/release/huikuan")
fi
ROOT=$PWD
for N in ${BENCH_CONCURRENCY:-1 4 8 10}; do
  WORK=$(mktemp -d)
  GRPC=$((20000 + RANDOM % 20000)); SIP=$((40000 + RANDOM % 10000))
  mkdir -p "$WORK/personas" "$WORK/sim"
  echo "account_id,name,phones,dnc_phones,dialect,province,city,timezone,loan_id,product,principal,overdue_amount,due_date,days_past_due" > "$WORK/p.csv"
  PERSONA=${BENCH_PERSONA:-$ROOT/tests/data/personas/promise_mandarin.toml}
  DIALECT=$(sed -n 's/^dialect = "\(.*\)"/\1/p' "$PERSONA")
  LINE=""; [ -n "${BENCH_LINE:-}" ] && LINE="\nline = ${BENCH_LINE}"
  for i in $(seq 1 "$N"); do
    num=$(printf "1390000%04d" "$i")
    sed "s/^number = .*/number = \"$num\"\nlisten = \"${BENCH_LISTEN:-live}\"$LINE/" "$PERSONA" > "$WORK/personas/p$i.toml"
    for c in $(seq 1 "${BENCH_CALLS:-1}"); do
      echo "B$i-$c,张伟,$num,,$DIALECT,北京,北京,,,消费贷,5000.00,3250.50,2026-10-20,35" >> "$WORK/p.csv"
    done
  done
  TOTAL=$((N * ${BENCH_CALLS:-1}))
  cat > "$WORK/huikuan.toml" <<TOML
data_dir = "$WORK/data"
[server]
listen = "127.0.0.1:$GRPC"
token = "bench-token-0123456789"
[dispatch]
window_start = "00:00"
window_end = "24:00"
daily_cap = 1000
retry_after_minutes = 600
[dialer]
orchestrator = "http://127.0.0.1:$GRPC"
max_calls = $N
platform = "易贷"
[speech]
${BENCH_SPEECH:-}
[dialer.robot]
${BENCH_ROBOT:-}
[dialer.trunk]
name = "sim"
proxy = "127.0.0.1:$SIP"
caller_id = "4008001234"
max_concurrent = $N
calls_per_second = ${BENCH_CPS:-1}
TOML
  export HUIKUAN_CONFIG="$WORK/huikuan.toml" HUIKUAN_LOG=warn
  "$BIN" import "$WORK/p.csv" --campaign bench --quiet >/dev/null
  "$BIN" dev release-now --campaign bench >/dev/null
  "$BIN" serve & SERVER=$!
  HUIKUAN_LOG=${BENCH_SIM_LOG:-warn} "$BIN" sim --listen "127.0.0.1:$SIP" --personas "$WORK/personas" --out "$WORK/sim" >/dev/null 2>"$WORK/sim.log" & SIM=$!
  sleep 4
  /usr/bin/time -f "%U %S %M" -o "$WORK/time" "$BIN" dialer --idle-exit-secs 5 >/dev/null
  # The simulator files each record after the robot's BYE (and, with
  # listen = after_call, once it has recognised what it heard).
  for _ in $(seq 240); do
    [ "$(ls "$WORK/sim" | wc -l)" -ge "$TOTAL" ] && break
    sleep 0.5
  done
  sleep 1
  tck=$(getconf CLK_TCK)
  sim_cpu=$(awk -v t="$tck" '{printf "%.1f", ($14+$15)/t}' /proc/$SIM/stat 2>/dev/null || echo "?")
  kill $SERVER $SIM 2>/dev/null || true; wait $SERVER $SIM 2>/dev/null || true
  echo "      simulator CPU ${sim_cpu} s"
  python3 - "$WORK" "$TOTAL" <<'PY'
import json, glob, sys, statistics
work, n = sys.argv[1], int(sys.argv[2])
lat, heard, barge = [], [], []
for f in glob.glob(f"{work}/sim/*.json"):
    r = json.load(open(f))
    lat += r["response_ms"]
    heard += r.get("heard_response_ms", [])
    barge += r.get("barge_in_stop_ms", [])
user, sys_, rss = open(f"{work}/time").read().split()
cpu = float(user) + float(sys_)
def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")
print(f"N={n:>2}  turns={len(lat):>3}  p50={pct(lat, 50):>6.0f} ms  p95={pct(lat, 95):>6.0f} ms  max={max(lat) if lat else 0:>6.0f} ms  "
      f"(heard: p50={pct(heard, 50):.0f} p95={pct(heard, 95):.0f} ms)  "
      f"dialer CPU {cpu:.1f} s ({cpu / n:.1f} s/call)  peak RSS {int(rss) / 1024:.0f} MiB")
if barge:
    print(f"      barge-in, as the phone heard it: {len(barge)} cuts, stop p50={pct(barge, 50):.0f} p95={pct(barge, 95):.0f} max={max(barge)} ms")
PY
  sqlite3 "$WORK/data/huikuan.db" "select disposition, count(*) from call_attempts where status='completed' group by 1" 2>/dev/null | tr '\n' ' ' || true
  echo
  # The dialer's own figures per turn: recognizer time and its response time.
  # Read from each call's record (or, from builds before the call record,
  # the attempt's metrics column).
  { sqlite3 "$WORK/data/huikuan.db" "select json_extract(call_record, '$.figures') from call_attempts where call_record is not null" 2>/dev/null \
    || sqlite3 "$WORK/data/huikuan.db" "select metrics from call_attempts where metrics is not null" 2>/dev/null; } | python3 -c '
import json, sys, statistics
dec, resp, cuts, resumed, echo = [], [], [], 0, []
for line in sys.stdin:
    if not line.strip():
        continue
    m = json.loads(line)
    dec += m.get("decode_ms", []); resp += m.get("response_ms", [])
    cuts += m.get("barge_in_stop_ms", []); resumed += m.get("onsets_resumed", 0)
    if m.get("echo"): echo.append(m["echo"])
if dec:
    print(f"      dialer: decode p50 {statistics.median(dec):.0f} ms max {max(dec)} ms; its own response p50 {statistics.median(resp) if resp else 0:.0f} ms")
print(f"      dialer: {len(cuts)} barge-ins (stop from the VAD-assigned start p50 {statistics.median(cuts) if cuts else 0:.0f} ms), {resumed} onsets resumed")
if echo:
    ret = statistics.median(e["returned_dbfs"] for e in echo)
    res = statistics.median(e["residual_dbfs"] for e in echo)
    delay = statistics.median(e["delay_ms"] for e in echo)
    silenced = sum(e["silenced_ms"] for e in echo) / 1000
    print(f"      echo: returned {ret:.0f} dBFS, left {res:.0f} dBFS (medians of calls), delay {delay:.0f} ms, {silenced:.0f} s silenced")
' || true
  [ -n "${BENCH_KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
done
