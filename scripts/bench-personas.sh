#!/usr/bin/env bash
# Robot task success across many debtors: the release `huikuan dialer`
# calls every persona of BENCH_PERSONAS (default tests/data/campaign: 20 per
# dialect, varied wording, hesitations, corrections, voices at other speeds
# and pitches, noisy and echoing lines) through `huikuan sim` on loopback,
# as one campaign on SQLite, BENCH_AT_ONCE calls at a time (default 2).
# Each persona says what its call should end with (`expect`: disposition,
# and for a promise its date and amount); the simulator writes that, as
# meant on the day of the call, into its record. Prints per dialect the
# share of calls that ended with the right disposition and, for promises,
# the exact date and amount; false promises (a promise stored where the
# debtor made none, or with other terms) are counted apart. Every call that
# went wrong is listed with what the robot heard, so it can be read.
#   ./scripts/bench-personas.sh
# BENCH_SPEECH adds settings to [speech], BENCH_ROBOT to [dialer.robot];
# BENCH_KEEP=1 keeps the work directory (database, simulator records);
# BENCH_LOG sets the services' log filter (huikuan_dialer=debug shows every
# turn heard with its confidence); BENCH_KEYS=off has every debtor answer
# aloud when the robot offers keys (`presses_keys = false`), for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
export HUIKUAN_CONSOLE_LISTEN=${HUIKUAN_CONSOLE_LISTEN:-127.0.0.1:0}
./scripts/ensure-deps.sh
./scripts/fetch-models.sh >/dev/null
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$(realpath "$BENCH_BIN")
else
  cargo build --release -p huikuan-cli --features huikuan-cli/talk
  BIN=$(realpath "${CARGO_TARGET_DIR:-target}/release/huikuan")
fi
PERSONAS=$(realpath "${BENCH_PERSONAS:-tests/data/campaign}")
AT_ONCE=${BENCH_AT_ONCE:-2}
WORK=$(mktemp -d)
if [ "${BENCH_KEYS:-on}" = off ]; then
  mkdir -p "$WORK/personas"
  for f in "$PERSONAS"/*.toml; do
    { echo "presses_keys = false"; cat "$f"; } > "$WORK/personas/$(basename "$f")"
  done
  PERSONAS="$WORK/personas"
fi
GRPC=$((20000 + RANDOM % 20000)); SIP=$((40000 + RANDOM % 10000))
mkdir -p "$WORK/sim"
# One account per persona, in the persona's dialect and region.
python3 - "$PERSONAS" > "$WORK/p.csv" <<'PY'
import glob, sys, tomllib
region = {"mandarin": "北京,北京", "sichuanese": "四川,成都", "cantonese": "广东,广州"}
print("account_id,name,phones,dnc_phones,dialect,province,city,timezone,loan_id,product,principal,overdue_amount,due_date,days_past_due")
for path in sorted(glob.glob(f"{sys.argv[1]}/*.toml")):
    p = tomllib.load(open(path, "rb"))
    print(f"P{p['number']},张伟,{p['number']},,{p['dialect']},{region[p['dialect']]},,,消费贷,5000.00,3250.50,2026-10-20,35")
PY
TOTAL=$(($(wc -l < "$WORK/p.csv") - 1))
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
max_calls = $AT_ONCE
platform = "易贷"
[speech]
${BENCH_SPEECH:-}
[dialer.robot]
${BENCH_ROBOT:-}
[dialer.trunk]
name = "sim"
proxy = "127.0.0.1:$SIP"
caller_id = "4008001234"
max_concurrent = $AT_ONCE
calls_per_second = 1
TOML
export HUIKUAN_CONFIG="$WORK/huikuan.toml" HUIKUAN_LOG=${BENCH_LOG:-warn}
"$BIN" import "$WORK/p.csv" --campaign personas --quiet >/dev/null
"$BIN" dev release-now --campaign personas >/dev/null
"$BIN" serve & SERVER=$!
"$BIN" sim --listen "127.0.0.1:$SIP" --personas "$PERSONAS" --out "$WORK/sim" >/dev/null 2>"$WORK/sim.log" & SIM=$!
trap 'kill $SERVER $SIM 2>/dev/null || true' EXIT
sleep 4
started=$(date +%s)
# A refused outcome makes the dialer exit non-zero: the calls are still
# scored (that call shows as "(no outcome)").
"$BIN" dialer --idle-exit-secs 5 >/dev/null || echo "the dialer had outcomes refused (logged above)"
for _ in $(seq 240); do
  [ "$(ls "$WORK/sim" | wc -l)" -ge "$TOTAL" ] && break
  sleep 0.5
done
echo "$TOTAL calls, $AT_ONCE at a time, in $(($(date +%s) - started)) s"
python3 - "$WORK" <<'PY'
import glob, json, sqlite3, sys
work = sys.argv[1]
db = sqlite3.connect(f"{work}/data/huikuan.db")
got = {}
for number, disp, date, fen, record in db.execute(
        "SELECT account_id, disposition, promise_date, promise_fen, call_record "
        "FROM call_attempts WHERE disposition IS NOT NULL"):
    got[number.removeprefix("P")] = (disp, date, fen, json.loads(record) if record else None)
rows = {}
wrong = []
for path in sorted(glob.glob(f"{work}/sim/*.json")):
    r = json.load(open(path))
    want = r.get("expected")
    if not want:
        continue
    dialect = r["persona"].split("_")[0]
    number = r["number"][-11:]
    disp, date, fen, record = got.get(number, ("(no outcome)", None, None, None))
    ok_disp = disp == want["disposition"]
    promise = want["disposition"] == "promise_to_pay"
    ok_terms = not promise or (date == want["promise_date"] and fen == want["promise_fen"])
    # A promise stored that the debtor did not make, or with other terms.
    false_promise = disp == "promise_to_pay" and not (promise and ok_terms)
    s = rows.setdefault(dialect, {"calls": 0, "right": 0, "disp": 0, "promises": 0, "terms": 0, "false": 0, "keys": 0})
    s["keys"] += any(l.get("speaker") == "debtor" and l.get("text", "").startswith("[DTMF")
                     for l in (record or {}).get("transcript", []))
    s["calls"] += 1
    s["disp"] += ok_disp
    s["right"] += ok_disp and ok_terms
    s["promises"] += promise
    s["terms"] += promise and ok_disp and ok_terms
    s["false"] += false_promise
    if not (ok_disp and ok_terms):
        heard = " | ".join(l["text"] for l in (record or {}).get("transcript", []) if l.get("speaker") == "debtor") if record else ""
        wrong.append(f"  {r['persona']}: {disp} {date} {fen} (want {want['disposition']} {want['promise_date']} {want['promise_fen']})\n      robot heard: {heard}")
print(f"{'dialect':<11} {'calls':>5} {'right':>7} {'disposition':>11} {'promises exact':>14} {'false promises':>14} {'keys pressed':>12}")
total = {"calls": 0, "right": 0, "disp": 0, "promises": 0, "terms": 0, "false": 0, "keys": 0}
for d in ["mandarin", "sichuanese", "cantonese"]:
    s = rows.get(d)
    if not s:
        continue
    for k in total:
        total[k] += s[k]
    print(f"{d:<11} {s['calls']:>5} {100 * s['right'] / s['calls']:>6.1f}% {100 * s['disp'] / s['calls']:>10.1f}% "
          f"{s['terms']:>6}/{s['promises']:<7} {s['false']:>14} {s['keys']:>12}")
if total["calls"]:
    print(f"{'all':<11} {total['calls']:>5} {100 * total['right'] / total['calls']:>6.1f}% {100 * total['disp'] / total['calls']:>10.1f}% "
          f"{total['terms']:>6}/{total['promises']:<7} {total['false']:>14} {total['keys']:>12}")
if wrong:
    print("wrong:")
    print("\n".join(wrong))
PY
[ -n "${BENCH_KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
