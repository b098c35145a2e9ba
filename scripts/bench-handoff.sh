#!/usr/bin/env bash
# Handoff benchmark: the release `huikuan serve`, `huikuan sim` and
# `huikuan dialer` with N agents on auto-answer (standing lines), and N
# simulated debtors who ask the robot
# for a person at once. For each N in BENCH_AGENTS, BENCH_ROUNDS rounds of
# N calls; in each round, once all N calls have audio both ways, they stay
# bridged for BENCH_TALK_S seconds. Prints
#   * from the robot's handoff decision to two-way audio (the call record's
#     handoff_requested to the first packet of the agent's voice), p50/p95;
#   * the dialer's CPU per bridged call during the bridged window (share of
#     one core) and its memory (RSS) then;
#   * the delay the bridge adds to the debtor's voice on its way to the
#     browser (the call's playout delay plus up to one 20 ms tick);
#   * how far the live transcripts of the bridged calls fell behind (the
#     low-priority lane's backlog) and the agent's lines in each record;
#   * live quality flags: the agent's words end with a threat, which the
#     console's live check flags; from the end of the words (the agent's
#     clip on the wall clock) to the flag raised in the console, p50/p95
#     (the supervisor's floor shows it at its next refresh, <= 2 s later).
# The agents are `huikuan dev bench-agents` (WebRTC without a browser, so
# that the agents' side costs the machine little: in production their
# browsers run elsewhere), or with BENCH_AGENT=chromium pages in one
# headless Chromium (tests/browser/bench_agents.mjs).
#   BENCH_AGENTS="1 20" BENCH_ROUNDS=5 ./scripts/bench-handoff.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export HUIKUAN_CONSOLE_LISTEN=127.0.0.1:0
./scripts/ensure-deps.sh
./scripts/fetch-models.sh >/dev/null
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$(realpath "$BENCH_BIN")
else
  cargo build --release -p huikuan-cli
  BIN=$(realpath "${CARGO_TARGET_DIR:-target}/release/huikuan")
fi
ROOT=$PWD
ROUNDS=${BENCH_ROUNDS:-3}
TALK_S=${BENCH_TALK_S:-20}
for N in ${BENCH_AGENTS:-1 20}; do
  WORK=$(mktemp -d)
  GRPC=$((20000 + RANDOM % 20000)); SIP=$((40000 + RANDOM % 10000)); WEB=$((10000 + RANDOM % 10000))
  mkdir -p "$WORK/personas" "$WORK/sim"
  echo "account_id,name,phones,dnc_phones,dialect,province,city,timezone,loan_id,product,principal,overdue_amount,due_date,days_past_due" > "$WORK/p.csv"
  for i in $(seq 1 "$N"); do
    num=$(printf "1390000%04d" "$i")
    cat > "$WORK/personas/p$i.toml" <<TOML
number = "$num"
dialect = "mandarin"
listen = "after_call"
max_call_s = 1800
greeting = "喂？"
[[turns]]
say = "对，我就是张伟。"
[[turns]]
say = "我不想跟机器说话，给我转人工。"
TOML
    for r in $(seq 1 "$ROUNDS"); do
      echo "H$i-$r,张伟,$num,,mandarin,北京,北京,,,消费贷,5000.00,3250.50,2026-10-20,35" >> "$WORK/p.csv"
    done
  done
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
[dialer.trunk]
name = "sim"
proxy = "127.0.0.1:$SIP"
caller_id = "4008001234"
max_concurrent = $N
calls_per_second = ${BENCH_CPS:-2}
[console]
listen = "127.0.0.1:$WEB"
ring_timeout_seconds = 60
queue_wait_seconds = 900
wrap_up_seconds = 900
TOML
  export HUIKUAN_CONFIG="$WORK/huikuan.toml" HUIKUAN_LOG=warn
  unset HUIKUAN_CONSOLE_LISTEN
  "$BIN" import "$WORK/p.csv" --campaign bench --quiet >/dev/null
  "$BIN" dev release-now --campaign bench >/dev/null
  agents=()
  for i in $(seq 1 "$N"); do
    echo "bench-password-0123456789" | "$BIN" user add "agent$i" --role agent --skills mandarin --password-stdin >/dev/null
    agents+=("\"agent$i\"")
  done
  "$BIN" tts "您好张先生，我是客服王经理。请问您打算哪天还款？你再不还钱，就让你好看，后果自负。" --rate 48000 -o "$WORK/agent.wav" >/dev/null 2>&1
  # A pause after the words, so that they end a turn before the loop
  # starts again.
  python3 - "$WORK/agent.wav" "$WORK/agent-voice.wav" <<'PY'
import sys, wave
with wave.open(sys.argv[1]) as r:
    params, frames = r.getparams(), r.readframes(r.getnframes())
with wave.open(sys.argv[2], "wb") as w:
    w.setparams(params)
    w.writeframes(frames + b"\0" * (params.sampwidth * params.nchannels * params.framerate * 3))
PY
  "$BIN" serve 2>"$WORK/serve.log" & SERVER=$!
  "$BIN" sim --listen "127.0.0.1:$SIP" --personas "$WORK/personas" --out "$WORK/sim" >/dev/null 2>"$WORK/sim.log" & SIM=$!
  for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$WEB) 2>/dev/null && break; sleep 0.2; done
  cat > "$WORK/agents.json" <<JSON
{ "url": "http://127.0.0.1:$WEB", "agents": [$(IFS=,; echo "${agents[*]}")],
  "password": "bench-password-0123456789", "wav": "$WORK/agent-voice.wav",
  "rounds": $ROUNDS, "talk_s": $TALK_S, "settle_s": 90, "disposition": "refused", "limit_s": 1800 }
JSON
  if [ "${BENCH_AGENT:-rust}" = chromium ]; then
    node tests/browser/bench_agents.mjs "$WORK/agents.json" > "$WORK/agents.out" 2>"$WORK/agents.err" & NODE=$!
  else
    "$BIN" dev bench-agents "$WORK/agents.json" > "$WORK/agents.out" 2>"$WORK/agents.err" & NODE=$!
  fi
  for _ in $(seq 600); do grep -q READY "$WORK/agents.out" && break; sleep 0.5; done
  "$BIN" dialer --idle-exit-secs 20 >/dev/null 2>"$WORK/dialer.log" & DIALER=$!
  # The dialer's CPU ticks and memory, and the machine's busy ticks,
  # twice a second.
  (while kill -0 $DIALER 2>/dev/null; do
     echo "$(date +%s%3N) $(awk '{print $14+$15}' /proc/$DIALER/stat 2>/dev/null) $(awk '/VmRSS/{print $2}' /proc/$DIALER/status 2>/dev/null) $(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat) $(awk '{print $14+$15}' /proc/$SERVER/stat 2>/dev/null)"
     sleep 0.5
   done) > "$WORK/samples" & SAMPLER=$!
  wait $NODE || { echo "agents failed:"; cat "$WORK/agents.err"; }
  wait $DIALER || true
  wait $SAMPLER 2>/dev/null || true
  kill $SERVER $SIM 2>/dev/null || true; wait $SERVER $SIM 2>/dev/null || true
  python3 - "$WORK" "$N" "$(getconf CLK_TCK)" <<'PY'
import json, sqlite3, sys
work, n, tck = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")
samples = []
for line in open(f"{work}/samples"):
    parts = line.split()
    if len(parts) == 5:
        samples.append(tuple(int(p) for p in parts))
def at(ms):
    return min(samples, key=lambda s: abs(s[0] - ms))
windows, start = [], None
for line in open(f"{work}/agents.out"):
    if line.startswith("WINDOW_START"):
        start = (int(line.split()[1]), int(line.split()[2]))
    elif line.startswith("WINDOW_END") and start:
        windows.append((start[0], int(line.split()[1]), start[1]))
cpu_per_call, rss, machine, serve_per_call = [], [], [], []
for s, e, bridged in windows:
    a, b = at(s), at(e)
    if b[0] > a[0] and bridged:
        cpu_per_call.append((b[1] - a[1]) / tck / ((b[0] - a[0]) / 1000) / bridged)
        rss.append(max(x[2] for x in samples if a[0] <= x[0] <= b[0]) / 1024)
        machine.append((b[3] - a[3]) / tck / ((b[0] - a[0]) / 1000))
        serve_per_call.append((b[4] - a[4]) / tck / ((b[0] - a[0]) / 1000) / bridged)
db = sqlite3.connect(f"{work}/data/huikuan.db")
handoff, playout, dispositions, agent_lines = [], [], {}, []
for (record,) in db.execute("SELECT call_record FROM call_attempts WHERE status = 'completed'"):
    r = json.loads(record)
    dispositions[r["disposition"]] = dispositions.get(r["disposition"], 0) + 1
    asked = [e["at_ms"] for e in r["timeline"] if e["event"] == "handoff_requested"]
    audio = [e["at_ms"] for e in r["timeline"] if e["event"] == "agent_audio"]
    if asked and audio:
        handoff.append(audio[0] - asked[0])
        agent_lines.append(sum(1 for l in r["transcript"] if l["speaker"] == "agent"))
    media = (r.get("figures") or {}).get("media") or {}
    if "playout_delay_ms" in media:
        playout.append(media["playout_delay_ms"])
print(f"N={n:>2}  calls={sum(dispositions.values())} {dispositions}")
print(f"      handoff decision to two-way audio: p50={pct(handoff, 50):.0f} ms  p95={pct(handoff, 95):.0f} ms  max={max(handoff) if handoff else 0} ms  ({len(handoff)} calls)")
if cpu_per_call:
    print(f"      bridged window ({len(windows)} x {windows[0][1] - windows[0][0]} ms, {[w[2] for w in windows]} calls at once): dialer CPU per call {100 * sum(cpu_per_call) / len(cpu_per_call):.1f}% of a core, RSS {max(rss):.0f} MiB; serve (console relaying standing lines) {100 * sum(serve_per_call) / len(serve_per_call):.1f}% per call; the whole machine (agents, simulated phones too) {max(machine):.2f} cores busy")
agents = [json.loads(l) for l in open(f"{work}/agents.out") if l.startswith("{")]
if agents:
    calls = agents[-1]["calls"]
    relayed = sum(1 for c in calls if c.get("relayed"))
    firsts = [c["first_audio_ms"] for c in calls if c.get("first_audio_ms") is not None]
    print(f"      agents: {relayed} of {len(calls)} calls on standing lines; accept to the debtor's first packet p50={pct(firsts, 50)} ms max={max(firsts) if firsts else '-'} ms")
if agent_lines:
    print(f"      agent's lines transcribed per bridged call (in the saved record): p50={pct(agent_lines, 50)} min={min(agent_lines)}")
if playout:
    print(f"      debtor to browser: playout delay p50={pct(playout, 50):.0f} ms max={max(playout)} ms (+ up to one 20 ms tick)")
# Live quality flags: from the end of the agent's words (its clip's end,
# on the wall clock of its latest loop) to the flag in the console's log.
import re, wave, datetime
with wave.open(f"{work}/agent.wav") as w:
    speech_ms = 1000 * w.getnframes() / w.getframerate()
loops = {}
for line in open(f"{work}/agents.out"):
    if line.startswith("MIC_LOOP"):
        _, who, ms = line.split()
        loops.setdefault(who, []).append(int(ms))
call_agent = {c.get("call"): c["agent"] for c in (agents[-1]["calls"] if agents else [])}
flag_delays, flagged_calls = [], set()
for line in open(f"{work}/serve.log"):
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    if "live quality flag" not in line:
        continue
    m = re.search(r"call=(\S+)", line)
    when = datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp() * 1000
    who = call_agent.get(m.group(1)) if m else None
    ends = [l + speech_ms for l in loops.get(who, []) if l + speech_ms <= when]
    if ends:
        flag_delays.append(when - max(ends))
        flagged_calls.add(m.group(1))
print(f"      live quality flags: {len(flag_delays)} raised on {len(flagged_calls)} of {len(handoff)} bridged calls; end of the words to the flag p50={pct(flag_delays, 50):.0f} ms p95={pct(flag_delays, 95):.0f} ms max={max(flag_delays) if flag_delays else 0:.0f} ms (+ <= 2 s to the floor's next refresh)")
PY
  # The low-priority transcript lane's backlog, when it fell behind.
  behind=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/dialer.log" | grep -o 'waiting=[0-9]*' | cut -d= -f2 | sort -n | tail -1 || true)
  echo "      live transcripts: ${behind:-never} utterances waiting at most (warned every 25)"
  rm -rf "$WORK"
  export HUIKUAN_CONSOLE_LISTEN=127.0.0.1:0
done
